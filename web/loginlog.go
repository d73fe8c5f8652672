package web

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// loginLog writes sign-in events, and the use of the certificate that
// verified each successful login, with group commit. A caller returns once
// its record is committed, as if it had written it alone; but records that
// arrive while a batch is being written wait for the next one, and go in a
// single transaction. At low load every login still writes at once; under
// load, or a flood of refused responses, N logins cost one commit instead
// of 2N, and the certificate row is updated once per batch, not per login.
type loginLog struct {
	dir directory.Store
	log *slog.Logger

	mu      sync.Mutex
	pending []*loginRecord
	busy    bool // a writer is draining pending
}

type loginRecord struct {
	ev   *directory.SignInEvent
	done chan error // buffered: the writer never blocks on it
}

const (
	// loginBatchMax bounds one transaction.
	loginBatchMax = 256
	// loginWriteTimeout bounds one batch's write, whichever request
	// happens to carry it.
	loginWriteTimeout = 10 * time.Second
)

// record stores ev (and, when it is a success verified by a certificate,
// that certificate's use) and waits until it is committed or ctx ends. A
// caller that gives up still has its record written.
func (l *loginLog) record(ctx context.Context, ev *directory.SignInEvent) error {
	r := &loginRecord{ev: ev, done: make(chan error, 1)}
	l.mu.Lock()
	l.pending = append(l.pending, r)
	if l.busy {
		l.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l.busy = true
	l.mu.Unlock()
	// This caller writes batches until its own record is in, then hands
	// what is left to a goroutine, so no request carries others' load for
	// long. Only the busy writer takes batches, and busy is cleared only
	// under the lock with nothing pending, so there is one writer at most.
	for {
		l.writeBatch()
		select {
		case err := <-r.done:
			l.mu.Lock()
			idle := len(l.pending) == 0
			if idle {
				l.busy = false
			}
			l.mu.Unlock()
			if !idle {
				go l.drain()
			}
			return err
		default:
		}
	}
}

// drain writes batches until nothing is pending, then clears busy.
func (l *loginLog) drain() {
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.busy = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.writeBatch()
	}
}

// writeBatch writes up to loginBatchMax pending records and reports the
// outcome to each. The caller is the busy writer.
func (l *loginLog) writeBatch() {
	l.mu.Lock()
	n := min(len(l.pending), loginBatchMax)
	batch := slices.Clone(l.pending[:n])
	l.pending = slices.Delete(l.pending, 0, n)
	l.mu.Unlock()
	if n == 0 {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), loginWriteTimeout)
	defer cancel()
	events := make([]*directory.SignInEvent, len(batch))
	for i, r := range batch {
		events[i] = r.ev
	}
	err := l.dir.RecordLogins(ctx, events, certificateUses(events))
	if errors.Is(err, directory.ErrInvalid) && len(batch) > 1 {
		// One record the store refuses must not cost the others theirs.
		for _, r := range batch {
			one := []*directory.SignInEvent{r.ev}
			r.done <- l.dir.RecordLogins(ctx, one, certificateUses(one))
		}
		return
	}
	for _, r := range batch {
		r.done <- err
	}
}

// certificateUses sums the successful logins of events per certificate,
// in a fixed order so that instances writing at once lock rows alike.
func certificateUses(events []*directory.SignInEvent) []directory.CertificateUse {
	var uses []directory.CertificateUse
	for _, ev := range events {
		if !ev.Success || ev.CertSHA256 == "" {
			continue
		}
		i := slices.IndexFunc(uses, func(u directory.CertificateUse) bool {
			return u.CompanyID == ev.CompanyID && u.SHA256 == ev.CertSHA256
		})
		if i < 0 {
			uses = append(uses, directory.CertificateUse{CompanyID: ev.CompanyID, SHA256: ev.CertSHA256, At: ev.At, Count: 1})
			continue
		}
		uses[i].Count++
		if ev.At.After(uses[i].At) {
			uses[i].At = ev.At
		}
	}
	slices.SortFunc(uses, func(a, b directory.CertificateUse) int {
		return cmp.Or(cmp.Compare(a.CompanyID, b.CompanyID), cmp.Compare(a.SHA256, b.SHA256))
	})
	return uses
}

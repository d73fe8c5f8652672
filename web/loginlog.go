package web

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ssogate/ssogate/internal/batch"
	"github.com/ssogate/ssogate/sso/directory"
)

// loginLog writes sign-in events, and the use of the certificate that
// verified each successful login, with group commit (internal/batch): a
// caller returns once its record is committed, as if it had written it
// alone, but records that arrive while a batch is being written go
// together in the next transaction. Under load, or a flood of refused
// responses, N logins cost one commit instead of 2N, and the certificate
// row is updated once per batch, not per login.
type loginLog struct {
	b batch.Batcher[*directory.SignInEvent, struct{}]
}

const (
	// loginBatchMax bounds one transaction.
	loginBatchMax = 256
	// loginWriteTimeout bounds one batch's write.
	loginWriteTimeout = 10 * time.Second
)

func newLoginLog(dir directory.Store) *loginLog {
	l := &loginLog{}
	l.b.Max, l.b.Timeout = loginBatchMax, loginWriteTimeout
	l.b.Do = func(ctx context.Context, events []*directory.SignInEvent) []batch.Result[struct{}] {
		res := make([]batch.Result[struct{}], len(events))
		err := dir.RecordLogins(ctx, events, certificateUses(events))
		if err != nil && len(events) > 1 {
			// One record the store refuses (say, text PostgreSQL cannot
			// hold, from a hostile response) must not cost the others
			// theirs: write them one by one.
			for i, ev := range events {
				one := []*directory.SignInEvent{ev}
				res[i].Err = dir.RecordLogins(ctx, one, certificateUses(one))
			}
			return res
		}
		for i := range res {
			res[i].Err = err
		}
		return res
	}
	return l
}

// record stores ev (and, for a success verified by a certificate, that
// certificate's use) and waits until it is committed or ctx ends. A caller
// that gives up still has its record written.
func (l *loginLog) record(ctx context.Context, ev *directory.SignInEvent) error {
	_, err := l.b.Call(ctx, ev)
	return err
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

// failureFolder keeps a flood of identical refused sign-ins (junk ACS
// POSTs, one broken set-up hit by everyone) from writing a record each:
// within foldWindow of a stored refusal, the same company, reason, detail
// and NameID is counted, not stored. The next identical refusal after the
// window is stored with that count in its detail, so the diagnostics page
// still says how many there were. Per instance, bounded in memory.
type failureFolder struct {
	mu sync.Mutex
	m  map[string]*foldEntry
}

type foldEntry struct {
	stored time.Time // when the last identical refusal was stored
	folded int       // identical refusals since, not stored
	last   time.Time
}

const (
	foldWindow = time.Minute
	foldMax    = 10000
)

// admit reports whether a refusal with key k at now is to be stored, and
// if so, how many identical ones were folded since the last stored one
// (and when the last of them was).
func (f *failureFolder) admit(k string, now time.Time) (store bool, folded int, last time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.m[k]
	if e != nil && now.Sub(e.stored) < foldWindow && now.Sub(e.stored) >= 0 {
		e.folded++
		e.last = now
		return false, 0, time.Time{}
	}
	if f.m == nil || len(f.m) >= foldMax {
		f.m = make(map[string]*foldEntry, 256)
	}
	if e != nil {
		folded, last = e.folded, e.last
	}
	f.m[k] = &foldEntry{stored: now}
	return true, folded, last
}

package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// batchStore records the batches RecordLogins receives. Each write takes a
// little time, as a commit does, so records arriving meanwhile queue up.
type batchStore struct {
	directory.Store // only RecordLogins is called
	mu              sync.Mutex
	batches         [][]*directory.SignInEvent
	uses            []directory.CertificateUse
	writing         int
	overlap         bool
}

func (b *batchStore) RecordLogins(_ context.Context, events []*directory.SignInEvent, uses []directory.CertificateUse) error {
	b.mu.Lock()
	b.writing++
	if b.writing > 1 {
		b.overlap = true
	}
	b.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writing--
	for _, ev := range events {
		if strings.HasPrefix(ev.Reason, "bad") {
			return fmt.Errorf("%w: reason %q", directory.ErrInvalid, ev.Reason)
		}
	}
	b.batches = append(b.batches, events)
	b.uses = append(b.uses, uses...)
	return nil
}

func TestLoginLogGroupsConcurrentRecords(t *testing.T) {
	st := &batchStore{}
	l := &loginLog{dir: st}
	const n = 200
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ev := &directory.SignInEvent{CompanyID: 1, At: at.Add(time.Duration(i) * time.Second), Success: i%2 == 0,
				Reason: fmt.Sprintf("r%d", i), CertSHA256: "aa"}
			errs <- l.record(context.Background(), ev)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.overlap {
		t.Fatal("two batches were written at once")
	}
	seen := map[string]bool{}
	for _, b := range st.batches {
		if len(b) > loginBatchMax {
			t.Fatalf("a batch of %d records", len(b))
		}
		for _, ev := range b {
			if seen[ev.Reason] {
				t.Fatalf("%s written twice", ev.Reason)
			}
			seen[ev.Reason] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d records written", len(seen), n)
	}
	if len(st.batches) >= n/2 {
		t.Fatalf("%d transactions for %d concurrent records: no grouping", len(st.batches), n)
	}
	var count int64
	var last time.Time
	for _, u := range st.uses {
		count += u.Count
		if u.At.After(last) {
			last = u.At
		}
	}
	if count != n/2 || !last.Equal(at.Add((n-2)*time.Second)) {
		t.Fatalf("certificate uses: %d logins, last %v; want %d successes, last %v", count, last, n/2, at.Add((n-2)*time.Second))
	}
	l.mu.Lock()
	if l.busy || len(l.pending) != 0 {
		t.Fatalf("after the burst: busy %v, %d pending", l.busy, len(l.pending))
	}
	l.mu.Unlock()
}

// A record the store refuses costs only itself: the rest of its batch is
// written one by one.
func TestLoginLogRefusedRecordAlone(t *testing.T) {
	st := &batchStore{}
	l := &loginLog{dir: st}
	var wg sync.WaitGroup
	results := make(map[string]error)
	var mu sync.Mutex
	for _, reason := range []string{"a", "b", "bad", "c", "d", "e"} {
		wg.Go(func() {
			err := l.record(context.Background(), &directory.SignInEvent{CompanyID: 1, Reason: reason})
			mu.Lock()
			results[reason] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	for reason, err := range results {
		if (err != nil) != (reason == "bad") {
			t.Fatalf("%s: %v", reason, err)
		}
	}
	written := 0
	for _, b := range st.batches {
		written += len(b)
	}
	if written != 5 {
		t.Fatalf("%d records written, want 5", written)
	}
}

// A caller that gives up still has its record written by the writer.
func TestLoginLogCallerGivesUp(t *testing.T) {
	st := &batchStore{}
	l := &loginLog{dir: st}
	// Hold the writer: a first record is being written when the second
	// arrives with a context that is already done.
	l.mu.Lock()
	l.busy = true
	l.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.record(ctx, &directory.SignInEvent{CompanyID: 1, Reason: "late"}); err == nil {
		t.Fatal("record returned nil for a caller that gave up while queued")
	}
	l.drain()
	if len(st.batches) != 1 || st.batches[0][0].Reason != "late" {
		t.Fatalf("batches %v", st.batches)
	}
}

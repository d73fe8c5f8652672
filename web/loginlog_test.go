package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// batchStore records the batches RecordLogins receives. Its first write
// waits at gate, as a slow commit would, so records arriving meanwhile
// queue up. Events whose reason starts with "bad" are refused, as the store
// refuses an invalid event: the whole batch.
type batchStore struct {
	directory.Store // only RecordLogins is called
	mu              sync.Mutex
	batches         [][]*directory.SignInEvent
	uses            []directory.CertificateUse
	calls           int
	gate, entered   chan struct{}
}

func newBatchStore() *batchStore {
	return &batchStore{gate: make(chan struct{}), entered: make(chan struct{})}
}

// queueBehindFirst records first, waits until it is being written, records
// the others on their own goroutines, waits until all of them are queued
// for the next batch, and lets the first write finish. It returns each
// record's error by index (first is index 0).
func queueBehindFirst(t *testing.T, st *batchStore, l *loginLog, first *directory.SignInEvent, rest []*directory.SignInEvent) []error {
	t.Helper()
	errs := make([]error, len(rest)+1)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = l.record(context.Background(), first) })
	<-st.entered
	for i, ev := range rest {
		wg.Go(func() { errs[i+1] = l.record(context.Background(), ev) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.b.Pending() != len(rest) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records queued after 10s", l.b.Pending(), len(rest))
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(st.gate)
	wg.Wait()
	return errs
}

func (b *batchStore) RecordLogins(_ context.Context, events []*directory.SignInEvent, uses []directory.CertificateUse) error {
	b.mu.Lock()
	b.calls++
	first := b.calls == 1
	b.mu.Unlock()
	if first {
		close(b.entered)
		<-b.gate
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range events {
		if strings.HasPrefix(ev.Reason, "bad") {
			return fmt.Errorf("%w: reason %q", directory.ErrInvalid, ev.Reason)
		}
		if strings.ContainsRune(ev.NameID, 0) {
			return errors.New("ERROR: invalid byte sequence for encoding \"UTF8\": 0x00 (SQLSTATE 22021)")
		}
	}
	b.batches = append(b.batches, events)
	b.uses = append(b.uses, uses...)
	return nil
}

// Concurrent logins share transactions, and their certificate uses add up
// per certificate with the latest time.
func TestLoginLogGroupsRecords(t *testing.T) {
	st := newBatchStore()
	l := newLoginLog(st)
	const n = 200
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	evs := make([]*directory.SignInEvent, n)
	for i := range n {
		cert := "aa"
		if i%4 == 0 {
			cert = "bb"
		}
		evs[i] = &directory.SignInEvent{CompanyID: 1, At: at.Add(time.Duration(i) * time.Second), Success: i%2 == 0,
			Reason: fmt.Sprintf("r%d", i), CertSHA256: cert}
	}
	for i, err := range queueBehindFirst(t, st, l, evs[0], evs[1:]) {
		if err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	written := 0
	for _, b := range st.batches {
		written += len(b)
	}
	// The first alone, then the n-1 queued behind it in one transaction.
	if written != n || len(st.batches) != 2 {
		t.Fatalf("%d records in %d transactions; want %d in 2", written, len(st.batches), n)
	}
	count := map[string]int64{}
	last := map[string]time.Time{}
	for _, u := range st.uses {
		count[u.SHA256] += u.Count
		if u.At.After(last[u.SHA256]) {
			last[u.SHA256] = u.At
		}
	}
	// Successes are the even i; "bb" signed those divisible by 4.
	if count["aa"] != 50 || count["bb"] != 50 || !last["bb"].Equal(at.Add(196*time.Second)) || !last["aa"].Equal(at.Add(198*time.Second)) {
		t.Fatalf("certificate uses %v, last %v", count, last)
	}
}

// A record the store refuses costs only itself: the rest of its batch is
// written one by one.
func TestLoginLogRefusedRecordAlone(t *testing.T) {
	st := newBatchStore()
	l := newLoginLog(st)
	reasons := []string{"a", "b", "bad", "c", "d", "nul", "e", "f", "g"}
	var rest []*directory.SignInEvent
	for _, reason := range reasons {
		ev := &directory.SignInEvent{CompanyID: 1, Reason: reason}
		if reason == "nul" {
			ev.NameID = "evil\x00@contoso.com" // a database error, not ErrInvalid
		}
		rest = append(rest, ev)
	}
	errs := queueBehindFirst(t, st, l, &directory.SignInEvent{CompanyID: 1, Reason: "first"}, rest)
	if errs[0] != nil {
		t.Fatalf("first: %v", errs[0])
	}
	for i, reason := range reasons {
		if err := errs[i+1]; (err != nil) != (reason == "bad" || reason == "nul") {
			t.Fatalf("%s: %v", reason, err)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	written := 0
	for _, b := range st.batches {
		written += len(b)
	}
	// The refused batch of nine was written again one by one: first, then
	// the seven good records alone.
	if written != 8 || len(st.batches) != 8 {
		t.Fatalf("%d records written in %d transactions, want 8 in 8", written, len(st.batches))
	}
}

func TestCertificateUsesOrder(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	got := certificateUses([]*directory.SignInEvent{
		{CompanyID: 2, Success: true, CertSHA256: "aa", At: at},
		{CompanyID: 1, Success: true, CertSHA256: "bb", At: at},
		{CompanyID: 1, Success: true, CertSHA256: "aa", At: at.Add(time.Minute)},
		{CompanyID: 1, Success: true, CertSHA256: "aa", At: at},
		{CompanyID: 1, Success: false, CertSHA256: "aa", At: at.Add(time.Hour)}, // a refusal is no use
		{CompanyID: 1, Success: true, At: at},                                   // a password sign-in
	})
	want := []directory.CertificateUse{
		{CompanyID: 1, SHA256: "aa", At: at.Add(time.Minute), Count: 2},
		{CompanyID: 1, SHA256: "bb", At: at, Count: 1},
		{CompanyID: 2, SHA256: "aa", At: at, Count: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("certificateUses = %v, want %v", got, want)
	}
}

package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ssogate/ssogate/sso/directory"
)

// batchStore records the batches RecordLogins receives; each write takes a
// little time, as a commit does, so records arriving meanwhile queue up.
// Events whose reason starts with "bad" are refused, as the store refuses
// an invalid event: the whole batch.
type batchStore struct {
	directory.Store // only RecordLogins is called
	mu              sync.Mutex
	batches         [][]*directory.SignInEvent
	uses            []directory.CertificateUse
}

func (b *batchStore) RecordLogins(_ context.Context, events []*directory.SignInEvent, uses []directory.CertificateUse) error {
	time.Sleep(2 * time.Millisecond)
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
	st := &batchStore{}
	l := newLoginLog(st)
	const n = 200
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cert := "aa"
			if i%4 == 0 {
				cert = "bb"
			}
			ev := &directory.SignInEvent{CompanyID: 1, At: at.Add(time.Duration(i) * time.Second), Success: i%2 == 0,
				Reason: fmt.Sprintf("r%d", i), CertSHA256: cert}
			if err := l.record(context.Background(), ev); err != nil {
				t.Errorf("record: %v", err)
			}
		})
	}
	wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	written := 0
	for _, b := range st.batches {
		written += len(b)
	}
	if written != n || len(st.batches) >= n/2 {
		t.Fatalf("%d records in %d transactions; want %d in far fewer", written, len(st.batches), n)
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
	st := &batchStore{}
	l := newLoginLog(st)
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]error{}
	for _, reason := range []string{"a", "b", "bad", "c", "d", "nul", "e", "f", "g"} {
		wg.Go(func() {
			ev := &directory.SignInEvent{CompanyID: 1, Reason: reason}
			if reason == "nul" {
				ev.NameID = "evil\x00@contoso.com" // a database error, not ErrInvalid
			}
			err := l.record(context.Background(), ev)
			mu.Lock()
			results[reason] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	for reason, err := range results {
		if (err != nil) != (reason == "bad" || reason == "nul") {
			t.Fatalf("%s: %v", reason, err)
		}
	}
	written := 0
	for _, b := range st.batches {
		written += len(b)
	}
	if written != 7 {
		t.Fatalf("%d records written, want 7", written)
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

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"ab\u00e6\u00f8\u00e5", 3, "ab"}, // æ is 2 bytes: never cut in half
		{"ab\u00e6\u00f8\u00e5", 4, "ab\u00e6"},
		{"a\x00b", 10, "a\uFFFDb"}, // NUL
		{"a\xffb", 10, "a\uFFFDb"}, // broken UTF-8
		{"\u6f22\u5b57", 2, ""},    // a 3-byte character does not fit
	} {
		got := truncate(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) || len(got) > max(c.n, len(c.want)) {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

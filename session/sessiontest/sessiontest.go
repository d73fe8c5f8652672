// Package sessiontest is the conformance suite every session.Store passes:
// memstore with its clock, redisstore on a real Redis.
//
// The suite's clock is the real time plus an offset the suite moves
// forward. Session lifetimes are judged by the store's injected clock, so
// the suite jumps it (hours in no time); one-shot values, replay records and
// counters expire by the server's own TTLs on Redis, so those cases use
// short real lifetimes and really wait (a few hundred milliseconds).
//
// This package imports only session and the standard library.
package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/session"
)

// Clock is the suite's clock: real time plus an offset.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance jumps the clock forward by d without waiting.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// NewStore makes an empty store for one test, reading time from now; it
// must arrange its own cleanup with t.Cleanup.
type NewStore func(t *testing.T, now func() time.Time) session.Store

// Run runs the whole suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s session.Store, clk *Clock)
	}{
		{"CreateGetTouchDelete", testCRUD},
		{"CreateRefusesBadInput", testCreateInvalid},
		{"IdleExpiry", testIdle},
		{"AbsoluteExpiry", testAbsolute},
		{"TouchNeverPastExpiresAt", testTouchCap},
		{"TouchDoesNotResurrect", testTouchNoResurrect},
		{"ListAndRevokeEmployee", testEmployee},
		{"RevokeFamily", testFamily},
		{"PutTake", testPutTake},
		{"TakeSingleUse", testTakeConcurrent},
		{"Consume", testConsume},
		{"ConsumeConcurrent", testConsumeConcurrent},
		{"Count", testCount},
		{"CountConcurrent", testCountConcurrent},
		{"KeysAreExact", testKeysExact},
		{"Ping", func(t *testing.T, s session.Store, _ *Clock) { must(t, s.Ping(ctx()), "ping") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := &Clock{}
			s := newStore(t, clk.Now)
			c.fn(t, s, clk)
		})
	}
}

// Shared checks two stores on the same backend (two instances of the
// gateway) see one another's writes: a replay on the second instance, a
// value taken on the other one, a revoke on either.
func Shared(t *testing.T, a, b session.Store, clk *Clock) {
	t.Helper()
	c := ctx()
	now := clk.Now()
	must(t, a.Consume(c, "assertion-1", now.Add(time.Minute)), "consume on a")
	if err := b.Consume(c, "assertion-1", now.Add(time.Minute)); !errors.Is(err, session.ErrReplayed) {
		t.Fatalf("a replay on a second instance: got %v, want ErrReplayed", err)
	}
	must(t, a.Put(c, "req-1", []byte("v"), time.Minute), "put on a")
	if v, err := b.Take(c, "req-1"); err != nil || string(v) != "v" {
		t.Fatalf("take on b: %q, %v", v, err)
	}
	if _, err := a.Take(c, "req-1"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("take on a after b took it: %v, want ErrNotFound", err)
	}
	s := newSession(clk, 1, "emp-1", "")
	must(t, a.Create(c, s), "create on a")
	got, err := b.Get(c, s.ID)
	must(t, err, "get on b")
	sameSession(t, got, s)
	if n, err := b.RevokeEmployee(c, 1, "emp-1"); err != nil || n != 1 {
		t.Fatalf("revoke on b: %d, %v; want 1", n, err)
	}
	if _, err := a.Get(c, s.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("get on a after revoke on b: %v, want ErrNotFound", err)
	}
}

func ctx() context.Context { return context.Background() }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var seq atomic.Int64

// newSession returns a fresh session (not stored) with a 30m idle and 12h
// absolute lifetime.
func newSession(clk *Clock, companyID int64, employeeID, family string) *session.Session {
	now := clk.Now()
	n := seq.Add(1)
	return &session.Session{
		ID:          session.Key(session.NewSecret()),
		Kind:        session.KindBrowser,
		CompanyID:   companyID,
		Company:     fmt.Sprintf("co%d", companyID),
		EmployeeID:  employeeID,
		CreatedAt:   now.Add(time.Duration(n) * time.Microsecond),
		LastSeen:    now,
		IdleTimeout: 30 * time.Minute,
		ExpiresAt:   now.Add(12 * time.Hour),
		Family:      family,
		Via:         "saml:idp",
		CertSHA256:  "ab12",
		UserAgent:   "test",
		RemoteIP:    "192.0.2.1",
	}
}

func sameSession(t *testing.T, got, want *session.Session) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.CompanyID != want.CompanyID ||
		got.Company != want.Company || got.EmployeeID != want.EmployeeID || got.AdminID != want.AdminID ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeen.Equal(want.LastSeen) ||
		got.IdleTimeout != want.IdleTimeout || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.Family != want.Family || got.ClientID != want.ClientID || got.Via != want.Via ||
		got.CertSHA256 != want.CertSHA256 || got.UserAgent != want.UserAgent || got.RemoteIP != want.RemoteIP {
		t.Fatalf("session differs:\n got  %+v\n want %+v", *got, *want)
	}
}

func gone(t *testing.T, s session.Store, id, when string) {
	t.Helper()
	if got, err := s.Get(ctx(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("%s: Get = %+v, %v; want ErrNotFound", when, got, err)
	}
}

func alive(t *testing.T, s session.Store, id, when string) *session.Session {
	t.Helper()
	got, err := s.Get(ctx(), id)
	if err != nil {
		t.Fatalf("%s: Get: %v; want the live session", when, err)
	}
	return got
}

func testCRUD(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	want := newSession(clk, 1, "emp-1", "")
	want.ClientID, want.AdminID = "client", 7
	must(t, s.Create(c, want), "create")
	got := alive(t, s, want.ID, "after create")
	sameSession(t, got, want)

	// The store keeps its own copy.
	got.EmployeeID = "someone-else"
	sameSession(t, alive(t, s, want.ID, "after mutating a returned copy"), want)

	if err := s.Create(c, want); !errors.Is(err, session.ErrExists) {
		t.Fatalf("second Create with the same id: %v, want ErrExists", err)
	}
	gone(t, s, session.Key("never issued"), "unknown id")

	clk.Advance(10 * time.Minute)
	at := clk.Now()
	must(t, s.Touch(c, want.ID, at), "touch")
	got = alive(t, s, want.ID, "after touch")
	if !got.LastSeen.Equal(at) {
		t.Fatalf("LastSeen after touch = %v, want %v", got.LastSeen, at)
	}
	// An older time does not move LastSeen back.
	must(t, s.Touch(c, want.ID, at.Add(-time.Minute)), "touch with an older time")
	if got := alive(t, s, want.ID, "after older touch"); !got.LastSeen.Equal(at) {
		t.Fatalf("LastSeen moved back to %v", got.LastSeen)
	}

	must(t, s.Delete(c, want.ID), "delete")
	gone(t, s, want.ID, "after delete")
	must(t, s.Delete(c, want.ID), "delete again")
	if err := s.Touch(c, want.ID, clk.Now()); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Touch after delete: %v, want ErrNotFound", err)
	}
	gone(t, s, want.ID, "after touching a deleted session")
	if l, err := s.ListEmployee(c, 1, "emp-1"); err != nil || len(l) != 0 {
		t.Fatalf("ListEmployee after delete: %d sessions, %v", len(l), err)
	}
}

func testCreateInvalid(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	noID := newSession(clk, 1, "emp-1", "")
	noID.ID = ""
	if err := s.Create(c, noID); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Create without id: %v, want ErrInvalid", err)
	}
	expired := newSession(clk, 1, "emp-1", "")
	expired.ExpiresAt = clk.Now().Add(-time.Second)
	if err := s.Create(c, expired); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Create of an expired session: %v, want ErrInvalid", err)
	}
	gone(t, s, expired.ID, "expired session after refused Create")
	if l, _ := s.ListEmployee(c, 1, "emp-1"); len(l) != 0 {
		t.Fatalf("refused Creates left %d sessions listed", len(l))
	}
}

func testIdle(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	sess := newSession(clk, 1, "emp-1", "") // idle 30m
	must(t, s.Create(c, sess), "create")
	clk.Advance(29 * time.Minute)
	alive(t, s, sess.ID, "29m idle")
	must(t, s.Touch(c, sess.ID, clk.Now()), "touch at 29m")
	clk.Advance(29 * time.Minute)
	alive(t, s, sess.ID, "29m after the touch")
	clk.Advance(2 * time.Minute)
	gone(t, s, sess.ID, "31m after the touch")
	if err := s.Touch(c, sess.ID, clk.Now()); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Touch of an idle-expired session: %v, want ErrNotFound", err)
	}
	gone(t, s, sess.ID, "after touching an idle-expired session")
	if l, err := s.ListEmployee(c, 1, "emp-1"); err != nil || len(l) != 0 {
		t.Fatalf("ListEmployee lists an expired session: %d, %v", len(l), err)
	}
	if n, err := s.RevokeEmployee(c, 1, "emp-1"); err != nil || n != 0 {
		t.Fatalf("RevokeEmployee counted an expired session: %d, %v", n, err)
	}
}

func testAbsolute(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	sess := newSession(clk, 1, "emp-1", "")
	sess.IdleTimeout = time.Hour
	sess.ExpiresAt = clk.Now().Add(2 * time.Hour)
	must(t, s.Create(c, sess), "create")
	for range 2 {
		clk.Advance(50 * time.Minute)
		must(t, s.Touch(c, sess.ID, clk.Now()), "touch")
	}
	clk.Advance(19 * time.Minute) // 1h59m
	alive(t, s, sess.ID, "before the absolute end")
	clk.Advance(2 * time.Minute)
	gone(t, s, sess.ID, "after the absolute end, though touched")

	noIdle := newSession(clk, 1, "emp-1", "")
	noIdle.IdleTimeout = 0
	noIdle.ExpiresAt = clk.Now().Add(time.Hour)
	must(t, s.Create(c, noIdle), "create without idle limit")
	clk.Advance(59 * time.Minute)
	alive(t, s, noIdle.ID, "no idle limit, before the end")
	clk.Advance(2 * time.Minute)
	gone(t, s, noIdle.ID, "no idle limit, after the end")
}

func testTouchCap(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	sess := newSession(clk, 1, "emp-1", "")
	sess.IdleTimeout = 45 * time.Minute
	sess.ExpiresAt = clk.Now().Add(time.Hour)
	must(t, s.Create(c, sess), "create")
	clk.Advance(30 * time.Minute)
	must(t, s.Touch(c, sess.ID, clk.Now()), "touch")
	got := alive(t, s, sess.ID, "after touch")
	if !got.Expiry().Equal(sess.ExpiresAt) {
		t.Fatalf("Expiry after touch = %v, want capped at ExpiresAt %v", got.Expiry(), sess.ExpiresAt)
	}
	// Even a touch stamped far ahead cannot pass ExpiresAt.
	must(t, s.Touch(c, sess.ID, clk.Now().Add(10*time.Hour)), "touch far ahead")
	if got := alive(t, s, sess.ID, "after far touch"); !got.Expiry().Equal(sess.ExpiresAt) || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("Expiry = %v, ExpiresAt = %v; want both %v", got.Expiry(), got.ExpiresAt, sess.ExpiresAt)
	}
	clk.Advance(31 * time.Minute)
	gone(t, s, sess.ID, "past ExpiresAt")
}

func testTouchNoResurrect(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	for i := range 20 {
		sess := newSession(clk, 1, "emp-1", "")
		must(t, s.Create(c, sess), "create")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := s.Touch(c, sess.ID, clk.Now()); err != nil && !errors.Is(err, session.ErrNotFound) {
					t.Errorf("touch: %v", err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				err = s.Delete(c, sess.ID)
			} else {
				_, err = s.RevokeEmployee(c, 1, "emp-1")
			}
			if err != nil {
				t.Errorf("delete: %v", err)
			}
		}()
		wg.Wait()
		gone(t, s, sess.ID, fmt.Sprintf("round %d: deleted while being touched", i))
	}
}

func ids(l []session.Session) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s.ID] = true
	}
	return m
}

func testEmployee(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	web := newSession(clk, 1, "emp-1", "")
	bearer := newSession(clk, 1, "emp-1", "fam-1")
	bearer.Kind = session.KindBearer
	other := newSession(clk, 1, "emp-2", "")
	otherCo := newSession(clk, 2, "emp-1", "") // same employee id, other company
	short := newSession(clk, 1, "emp-1", "")
	short.IdleTimeout = time.Minute
	for _, x := range []*session.Session{web, bearer, other, otherCo, short} {
		must(t, s.Create(c, x), "create")
	}
	clk.Advance(2 * time.Minute) // short is now idle-expired

	l, err := s.ListEmployee(c, 1, "emp-1")
	must(t, err, "list")
	if got := ids(l); len(l) != 2 || !got[web.ID] || !got[bearer.ID] {
		t.Fatalf("ListEmployee(1, emp-1) = %v, want exactly the web and bearer sessions", got)
	}
	for _, x := range l {
		if x.CompanyID != 1 || x.EmployeeID != "emp-1" {
			t.Fatalf("listed a session of %d/%s", x.CompanyID, x.EmployeeID)
		}
	}
	if l, _ := s.ListEmployee(c, 1, "EMP-1"); len(l) != 0 {
		t.Fatalf("employee ids are exact: ListEmployee(1, EMP-1) listed %d", len(l))
	}
	if l, _ := s.ListEmployee(c, 3, "emp-1"); len(l) != 0 {
		t.Fatalf("ListEmployee(3, emp-1) listed %d", len(l))
	}

	n, err := s.RevokeEmployee(c, 1, "emp-1")
	must(t, err, "revoke")
	if n != 2 {
		t.Fatalf("RevokeEmployee = %d, want 2", n)
	}
	gone(t, s, web.ID, "web session after revoke")
	gone(t, s, bearer.ID, "bearer token after revoke")
	alive(t, s, other.ID, "another employee of the company")
	alive(t, s, otherCo.ID, "the same employee id at another company")
	if l, _ := s.ListEmployee(c, 1, "emp-1"); len(l) != 0 {
		t.Fatalf("ListEmployee after revoke listed %d", len(l))
	}
	if n, err := s.RevokeEmployee(c, 1, "emp-1"); err != nil || n != 0 {
		t.Fatalf("second RevokeEmployee = %d, %v; want 0", n, err)
	}
	// A login after the revoke works and is listed.
	again := newSession(clk, 1, "emp-1", "")
	must(t, s.Create(c, again), "create after revoke")
	if l, _ := s.ListEmployee(c, 1, "emp-1"); len(l) != 1 || l[0].ID != again.ID {
		t.Fatalf("ListEmployee after a new login = %v", ids(l))
	}
	if l, _ := s.ListEmployee(c, 2, "emp-1"); len(l) != 1 || l[0].ID != otherCo.ID {
		t.Fatalf("ListEmployee(2, emp-1) = %v", ids(l))
	}
}

func testFamily(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	var fam []*session.Session
	for range 3 {
		x := newSession(clk, 1, "emp-1", "fam-a")
		x.Kind = session.KindRefresh
		must(t, s.Create(c, x), "create")
		fam = append(fam, x)
	}
	otherFam := newSession(clk, 1, "emp-1", "fam-b")
	must(t, s.Create(c, otherFam), "create")
	n, err := s.RevokeFamily(c, "fam-a")
	must(t, err, "revoke family")
	if n != 3 {
		t.Fatalf("RevokeFamily = %d, want 3", n)
	}
	for _, x := range fam {
		gone(t, s, x.ID, "family member after RevokeFamily")
	}
	alive(t, s, otherFam.ID, "member of another family")
	if n, err := s.RevokeFamily(c, "fam-a"); err != nil || n != 0 {
		t.Fatalf("second RevokeFamily = %d, %v", n, err)
	}
	if l, _ := s.ListEmployee(c, 1, "emp-1"); len(l) != 1 || l[0].ID != otherFam.ID {
		t.Fatalf("ListEmployee after RevokeFamily = %v, want only the other family's token", ids(l))
	}
}

// shortTTL is long enough for a loaded machine to do a write and a read,
// short enough to wait for.
const shortTTL = 150 * time.Millisecond

func testPutTake(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	in := []byte("pending request")
	must(t, s.Put(c, "k1", in, time.Minute), "put")
	in[0] = 'X' // the store keeps its own copy
	v, err := s.Take(c, "k1")
	if err != nil || string(v) != "pending request" {
		t.Fatalf("Take = %q, %v", v, err)
	}
	if _, err := s.Take(c, "k1"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Take: %v, want ErrNotFound", err)
	}
	if _, err := s.Take(c, "never-put"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take of a missing key: %v, want ErrNotFound", err)
	}
	must(t, s.Put(c, "k2", []byte("one"), time.Minute), "put")
	must(t, s.Put(c, "k2", []byte("two"), time.Minute), "overwrite")
	if v, err := s.Take(c, "k2"); err != nil || string(v) != "two" {
		t.Fatalf("Take after overwrite = %q, %v", v, err)
	}
	if err := s.Put(c, "k3", []byte("x"), 0); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Put with ttl 0: %v, want ErrInvalid", err)
	}
	must(t, s.Put(c, "k4", []byte("x"), shortTTL), "put short")
	time.Sleep(shortTTL + 100*time.Millisecond)
	if _, err := s.Take(c, "k4"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take after ttl: %v, want ErrNotFound", err)
	}
}

// race starts n goroutines at once and returns how many fn calls
// succeeded and the unexpected errors.
func race(n int, fn func() error, expected error) (wins int, errs []error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, expected):
				errs = append(errs, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins, errs
}

func testTakeConcurrent(t *testing.T, s session.Store, _ *Clock) {
	c := ctx()
	for round := range 10 {
		key := fmt.Sprintf("code-%d", round)
		must(t, s.Put(c, key, []byte("v"), time.Minute), "put")
		wins, errs := race(16, func() error {
			v, err := s.Take(c, key)
			if err == nil && string(v) != "v" {
				return fmt.Errorf("took %q", v)
			}
			return err
		}, session.ErrNotFound)
		if wins != 1 || len(errs) > 0 {
			t.Fatalf("round %d: %d of 16 concurrent Takes won (want exactly 1); errors %v", round, wins, errs)
		}
	}
}

func testConsume(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	until := clk.Now().Add(5 * time.Minute)
	must(t, s.Consume(c, "id-1", until), "first consume")
	if err := s.Consume(c, "id-1", until); !errors.Is(err, session.ErrReplayed) {
		t.Fatalf("replay: %v, want ErrReplayed", err)
	}
	if err := s.Consume(c, "id-1", until.Add(time.Hour)); !errors.Is(err, session.ErrReplayed) {
		t.Fatalf("replay with a later until: %v, want ErrReplayed", err)
	}
	must(t, s.Consume(c, "id-2", until), "another id")
	if err := s.Consume(c, "id-3", clk.Now().Add(-time.Second)); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Consume with until in the past: %v, want ErrInvalid", err)
	}
	must(t, s.Consume(c, "id-4", clk.Now().Add(shortTTL)), "consume short")
	time.Sleep(shortTTL + 100*time.Millisecond)
	must(t, s.Consume(c, "id-4", clk.Now().Add(time.Minute)), "consume after the record ended")
	if err := s.Consume(c, "id-4", clk.Now().Add(time.Minute)); !errors.Is(err, session.ErrReplayed) {
		t.Fatalf("replay of the re-recorded id: %v", err)
	}
}

func testConsumeConcurrent(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	for round := range 10 {
		key := fmt.Sprintf("assertion-%d", round)
		until := clk.Now().Add(time.Minute)
		wins, errs := race(16, func() error { return s.Consume(c, key, until) }, session.ErrReplayed)
		if wins != 1 || len(errs) > 0 {
			t.Fatalf("round %d: %d of 16 concurrent Consumes won (want 1); errors %v", round, wins, errs)
		}
	}
}

func testCount(t *testing.T, s session.Store, _ *Clock) {
	c := ctx()
	// A read of a missing counter does not create it.
	if n, ttl, err := s.Count(c, "acct", 0, time.Minute); err != nil || n != 0 || ttl != 0 {
		t.Fatalf("Count(0) of a missing counter = %d, %s, %v; want 0, 0", n, ttl, err)
	}
	if n, _, err := s.Count(c, "acct", 1, time.Minute); err != nil || n != 1 {
		t.Fatalf("Count(+1) after a read = %d, %v; want 1 (the read must not create the counter)", n, err)
	}
	// Later calls never extend the window: the TTL is the rest of the first.
	n, ttl, err := s.Count(c, "acct", 2, time.Hour)
	must(t, err, "count +2")
	if n != 3 || ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("Count(+2) = %d, %s; want 3 and at most the first window (1m), not the second", n, ttl)
	}
	if n, _, err := s.Count(c, "acct", -1, time.Minute); err != nil || n != 2 {
		t.Fatalf("Count(-1) = %d, %v; want 2", n, err)
	}
	if n, _, err := s.Count(c, "acct2", 1, time.Minute); err != nil || n != 1 {
		t.Fatalf("Count(+1) of another key = %d, %v; want 1", n, err)
	}
	if n, ttl, err := s.Count(c, "acct", 0, time.Minute); err != nil || n != 2 || ttl <= 0 {
		t.Fatalf("Count(0) = %d, %s, %v; want 2 and a positive TTL", n, ttl, err)
	}
	if _, _, err := s.Count(c, "acct", 1, 0); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Count with window 0: %v, want ErrInvalid", err)
	}
	// The window starts at the first non-zero delta and ends on time.
	if n, ttl, err := s.Count(c, "short", 1, shortTTL); err != nil || n != 1 || ttl <= 0 || ttl > shortTTL {
		t.Fatalf("Count(+1) of a new counter = %d, %s, %v; want 1 and a TTL of at most %s", n, ttl, err, shortTTL)
	}
	time.Sleep(shortTTL + 100*time.Millisecond)
	if n, ttl, err := s.Count(c, "short", 0, shortTTL); err != nil || n != 0 || ttl != 0 {
		t.Fatalf("Count(0) after the window = %d, %s, %v; want 0, 0", n, ttl, err)
	}
	if n, _, err := s.Count(c, "short", 1, shortTTL); err != nil || n != 1 {
		t.Fatalf("Count(+1) after the window = %d, %v; want a new window at 1", n, err)
	}
}

// testCountConcurrent: concurrent adds each see a distinct value, so a
// limit checked on the returned value admits exactly limit callers (the
// lockout rests on this).
func testCountConcurrent(t *testing.T, s session.Store, _ *Clock) {
	c := ctx()
	const limit = 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	admitted := 0
	wins, errs := race(40, func() error {
		n, _, err := s.Count(c, "lock", 1, time.Minute)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[n] {
			return fmt.Errorf("value %d seen twice", n)
		}
		seen[n] = true
		if n <= limit {
			admitted++
		}
		return nil
	}, nil)
	if wins != 40 || len(errs) > 0 || admitted != limit {
		t.Fatalf("40 concurrent Count(+1): %d ok, errors %v, %d under the limit of %d", wins, errs, admitted, limit)
	}
}

func testKeysExact(t *testing.T, s session.Store, clk *Clock) {
	c := ctx()
	a := newSession(clk, 1, "emp-1", "")
	b := newSession(clk, 2, "emp-1", "")
	must(t, s.Create(c, a), "create a")
	must(t, s.Create(c, b), "create b")
	if got := alive(t, s, a.ID, "a by its id"); got.CompanyID != 1 || got.ID != a.ID {
		t.Fatalf("Get(a) returned company %d id %s", got.CompanyID, got.ID)
	}
	if got := alive(t, s, b.ID, "b by its id"); got.CompanyID != 2 || got.ID != b.ID {
		t.Fatalf("Get(b) returned company %d id %s", got.CompanyID, got.ID)
	}
	for _, k := range []string{"", strings.ToUpper(a.ID), a.ID[:32], a.ID + " ", " " + a.ID, a.ID + "\x00", "*", a.ID[:63] + "?"} {
		gone(t, s, k, fmt.Sprintf("Get(%q)", k))
		if err := s.Touch(c, k, clk.Now()); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Touch(%q): %v, want ErrNotFound", k, err)
		}
	}
	// The one-shot namespaces are separate from each other and exact.
	must(t, s.Put(c, "req:abc", []byte("v"), time.Minute), "put")
	if _, err := s.Take(c, "req:ABC"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take of a differently cased key: %v", err)
	}
	if _, err := s.Take(c, "req:ab"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take of a prefix key: %v", err)
	}
	must(t, s.Consume(c, "req:abc", clk.Now().Add(time.Minute)), "consume shares no key space with put")
	if n, _, err := s.Count(c, "req:abc", 1, time.Minute); err != nil || n != 1 {
		t.Fatalf("Count shares key space: %d, %v", n, err)
	}
	if _, err := s.Take(c, a.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take by a session id returned something: %v", err)
	}
	if v, err := s.Take(c, "req:abc"); err != nil || string(v) != "v" {
		t.Fatalf("Take = %q, %v", v, err)
	}
	alive(t, s, a.ID, "a after the one-shot calls")
}

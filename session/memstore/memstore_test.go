package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/sessiontest"
)

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		s := New(Options{Now: now})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// Memory stays bounded without a background goroutine: records that expire
// and are never read again are swept by later writes.
func TestSweepBoundsMemory(t *testing.T) {
	clk := &sessiontest.Clock{}
	s := New(Options{Now: clk.Now})
	ctx := context.Background()
	for i := range 5000 {
		now := clk.Now()
		sess := &session.Session{
			ID: session.Key(session.NewSecret()), Kind: session.KindBrowser, CompanyID: 1,
			EmployeeID: "e", LastSeen: now, IdleTimeout: time.Minute, ExpiresAt: now.Add(time.Hour),
		}
		if err := s.Create(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.Consume(ctx, session.Key(sess.ID), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Count(ctx, "n"+sess.ID, 1, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "v"+sess.ID, []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			clk.Advance(2 * time.Minute) // everything written so far is dead
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// 5000 of each were written; at most ~100 of each are live at the end.
	if n := s.size(); n > 4*100+max(sweepMin, 4*4*100)+4 {
		t.Fatalf("%d records held after writing 20000 mostly expired ones; the sweep is not bounding memory", n)
	}
	if n := len(s.byEmp[empKey{1, "e"}]); n > len(s.sessions) {
		t.Fatalf("employee index holds %d ids for %d sessions", n, len(s.sessions))
	}
}

func TestClosed(t *testing.T) {
	s := New(Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != ErrClosed {
		t.Fatalf("Ping after Close: %v", err)
	}
	if _, err := s.Get(context.Background(), "x"); err != ErrClosed {
		t.Fatalf("Get after Close: %v", err)
	}
}

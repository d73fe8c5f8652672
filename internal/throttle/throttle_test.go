package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/memstore"
)

// The session store is the Counter every caller hands in.
var _ throttle.Counter = session.Store(nil)

// clock is a settable clock for the in-process store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLimitWindow(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	l := throttle.Limit{Store: memstore.New(memstore.Options{Now: clk.Now}), Max: 3, Window: time.Minute}
	for i := range 3 {
		if w, err := l.Hit(ctx, "k"); err != nil || w != 0 {
			t.Fatalf("event %d within the limit: wait %s, %v", i+1, w, err)
		}
		clk.Advance(10 * time.Second)
	}
	// 30 s into the window: the fourth event waits for the other 30.
	w, err := l.Hit(ctx, "k")
	must(t, err)
	if w != 30*time.Second {
		t.Fatalf("past the limit: wait %s, want 30s (the rest of the window)", w)
	}
	// Another key has its own budget.
	if w, err := l.Hit(ctx, "other"); err != nil || w != 0 {
		t.Fatalf("another key: wait %s, %v", w, err)
	}
	// Near the end the wait is at least MinWait.
	clk.Advance(29*time.Second + 900*time.Millisecond)
	if w, _ := l.Hit(ctx, "k"); w != throttle.MinWait {
		t.Fatalf("100 ms before the end: wait %s, want %s", w, throttle.MinWait)
	}
	// The window rolls over: a fresh budget from the next event on.
	clk.Advance(100 * time.Millisecond)
	for i := range 3 {
		if w, err := l.Hit(ctx, "k"); err != nil || w != 0 {
			t.Fatalf("event %d of the next window: wait %s, %v", i+1, w, err)
		}
	}
	if w, _ := l.Hit(ctx, "k"); w != time.Minute {
		t.Fatalf("past the limit in the new window: wait %s, want 1m", w)
	}
	// Undo gives events back: two undone, two more fit.
	must(t, l.Undo(ctx, "k"))
	must(t, l.Undo(ctx, "k"))
	if w, _ := l.Hit(ctx, "k"); w != 0 {
		t.Fatalf("after undo: wait %s", w)
	}
	if w, _ := l.Hit(ctx, "k"); w == 0 {
		t.Fatal("undo gave back more than it took")
	}
}

// failing is a Counter whose store is down.
type failing struct{ err error }

func (f failing) Count(context.Context, string, int64, time.Duration) (int64, time.Duration, error) {
	return 0, 0, f.err
}

// A counting failure reaches the caller with its cause (a sign-in turns a
// session-store outage into 503, not into a refusal or a pass).
func TestErrorsKeepTheirCause(t *testing.T) {
	ctx := context.Background()
	down := failing{fmt.Errorf("dial: %w", session.ErrUnavailable)}
	l := throttle.Limit{Store: down, Max: 1, Window: time.Minute}
	s := throttle.Slowdown{Store: down, Free: 1, Window: time.Minute, Base: time.Second, Cap: time.Minute}
	m := throttle.Memo{Store: down, TTL: time.Hour}
	for name, err := range map[string]error{
		"Limit.Hit":      second(l.Hit(ctx, "k")),
		"Limit.Undo":     l.Undo(ctx, "k"),
		"Slowdown.Count": second(s.Count(ctx, "k")),
		"Slowdown.Take":  second(s.Take(ctx, "k")),
		"Slowdown.Undo":  s.Undo(ctx, "k"),
		"Memo.Note":      m.Note(ctx, "k"),
		"Memo.Has":       second(m.Has(ctx, "k")),
	} {
		if !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("%s: %v, want the store's outage", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// Concurrent events each see their own count: exactly Max get through, on
// the in-process store and on Redis.
func TestLimitConcurrent(t *testing.T) {
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			l := throttle.Limit{Store: b.Sessions(t), Max: 10, Window: time.Minute}
			passed := race(t, 64, func() (time.Duration, error) { return l.Hit(ctx, "burst") })
			if passed != 10 {
				t.Fatalf("%d of 64 concurrent events passed a limit of 10", passed)
			}
		})
	}
}

// race runs n calls of f at once and counts those that returned no wait.
func race(t *testing.T, n int, f func() (time.Duration, error)) int {
	t.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		passed int
		errs   []error
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w, err := f()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if w == 0 {
				passed++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return passed
}

func TestSlowdownDelays(t *testing.T) {
	s := throttle.Slowdown{Base: time.Second, Cap: 30 * time.Second}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i, w := range want {
		if d := s.Delay(int64(i)); d != w*time.Second {
			t.Errorf("Delay(%d) = %s, want %s", i, d, w*time.Second)
		}
	}
	if d := s.Delay(1 << 40); d != 30*time.Second {
		t.Errorf("Delay(huge) = %s", d)
	}
	if d := s.Delay(-1); d != time.Second {
		t.Errorf("Delay(-1) = %s", d)
	}
}

func TestSlowdown(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := memstore.New(memstore.Options{Now: clk.Now})
	s := throttle.Slowdown{Store: st, Free: 2, Window: 15 * time.Minute, Base: time.Second, Cap: 30 * time.Second}
	for i := range 2 {
		if slowed, err := s.Count(ctx, "acct"); err != nil || slowed {
			t.Fatalf("free event %d: slowed %v, %v", i+1, slowed, err)
		}
	}
	count := func() int64 {
		n, _, err := st.Count(ctx, "acct", 0, time.Minute)
		must(t, err)
		return n
	}
	// Past the free events: the first takes the slot for 1 s ...
	if slowed, _ := s.Count(ctx, "acct"); !slowed {
		t.Fatal("third event not slowed")
	}
	if w, err := s.Take(ctx, "acct"); err != nil || w != 0 {
		t.Fatalf("first slowed event: wait %s, %v", w, err)
	}
	// ... a second one within it waits for the slot and is given back.
	s.Count(ctx, "acct")
	clk.Advance(400 * time.Millisecond)
	if w, _ := s.Take(ctx, "acct"); w != throttle.MinWait {
		t.Fatalf("while the slot is held: wait %s, want %s", w, throttle.MinWait)
	}
	if n := count(); n != 3 {
		t.Fatalf("account count %d after a refused event, want 3 (it was given back)", n)
	}
	// Once the slot frees the next event takes it for 2 s, then 4 s.
	for _, hold := range []time.Duration{2 * time.Second, 4 * time.Second} {
		clk.Advance(hold)
		s.Count(ctx, "acct")
		if w, _ := s.Take(ctx, "acct"); w != 0 {
			t.Fatalf("after the slot freed: wait %s", w)
		}
		s.Count(ctx, "acct")
		clk.Advance(hold / 2)
		if w, _ := s.Take(ctx, "acct"); w != hold/2 {
			t.Fatalf("half-way through a %s slot: wait %s", hold, w)
		}
	}
	// The window ends: free events again.
	clk.Advance(15 * time.Minute)
	if slowed, _ := s.Count(ctx, "acct"); slowed {
		t.Fatal("slowed in a new window")
	}
}

// Of concurrent events racing for a free slot exactly one gets it, and
// every refused one is given back.
func TestSlowdownConcurrent(t *testing.T) {
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := b.Sessions(t)
			s := throttle.Slowdown{Store: st, Free: 0, Window: time.Minute, Base: 10 * time.Second, Cap: time.Minute}
			passed := race(t, 32, func() (time.Duration, error) {
				if slowed, err := s.Count(ctx, "acct"); err != nil || !slowed {
					return 0, fmt.Errorf("count: slowed %v, %v", slowed, err)
				}
				return s.Take(ctx, "acct")
			})
			if passed != 1 {
				t.Fatalf("%d of 32 concurrent events took the slot", passed)
			}
			if n, _, err := st.Count(ctx, "acct", 0, time.Minute); err != nil || n != 1 {
				t.Fatalf("account count %d (%v), want 1: only the event that ran", n, err)
			}
		})
	}
}

func TestMemo(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := throttle.Memo{Store: memstore.New(memstore.Options{Now: clk.Now}), TTL: time.Hour}
	if ok, err := m.Has(ctx, "k"); err != nil || ok {
		t.Fatalf("unknown key: %v %v", ok, err)
	}
	must(t, m.Note(ctx, "k"))
	clk.Advance(59 * time.Minute)
	must(t, m.Note(ctx, "k")) // does not extend
	if ok, _ := m.Has(ctx, "k"); !ok {
		t.Fatal("noted key forgotten")
	}
	clk.Advance(time.Minute)
	if ok, _ := m.Has(ctx, "k"); ok {
		t.Fatal("remembered past its TTL from the first note")
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"2001:db8:1:2::1":         "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"not an address":          "not an address",
		"":                        "",
	} {
		if got := throttle.ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for in, want := range map[time.Duration]int{
		0: 1, time.Millisecond: 1, time.Second: 1, time.Second + 1: 2, 59500 * time.Millisecond: 60, 15 * time.Minute: 900,
	} {
		if got := throttle.Seconds(in); got != want {
			t.Errorf("Seconds(%s) = %d, want %d", in, got, want)
		}
	}
}

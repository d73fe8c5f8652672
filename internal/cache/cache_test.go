package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func counter(n *atomic.Int64, v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v + strconv.FormatInt(n.Add(1), 10), nil }
}

func TestFreshForTTLOnTheCallersClock(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string](10, time.Second, clk.now)
	var n atomic.Int64
	ctx := context.Background()
	a, _ := c.Get(ctx, "k", counter(&n, "v"), nil)
	clk.add(999 * time.Millisecond)
	b, _ := c.Get(ctx, "k", counter(&n, "v"), nil)
	clk.add(time.Millisecond)
	d, _ := c.Get(ctx, "k", counter(&n, "v"), nil)
	if a != "v1" || b != "v1" || d != "v2" {
		t.Fatalf("got %s %s %s, want v1 v1 v2", a, b, d)
	}
	// A clock that went back does not make an entry fresh for longer.
	clk.add(-time.Hour)
	if e, _ := c.Get(ctx, "k", counter(&n, "v"), nil); e != "v3" {
		t.Fatalf("after the clock went back: %s", e)
	}
}

func TestBoundedEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := New[string](3, time.Hour, nil)
	var n atomic.Int64
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		c.Get(ctx, k, counter(&n, k), nil)
	}
	c.Get(ctx, "a", counter(&n, "a"), nil) // a is now the most recent
	c.Get(ctx, "d", counter(&n, "d"), nil) // evicts b only
	if c.Len() != 3 {
		t.Fatalf("len %d", c.Len())
	}
	if _, ok := c.Peek("b"); ok {
		t.Fatal("b survived")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Peek(k); !ok {
			t.Fatalf("%s was evicted", k)
		}
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	c := New[string](10, time.Hour, nil)
	var loads atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{})
	load := func(context.Context) (string, error) {
		if loads.Add(1) == 1 {
			close(started)
		}
		<-release
		return "v", nil
	}
	var wg sync.WaitGroup
	results := make(chan string, 20)
	wg.Add(1)
	go func() { defer wg.Done(); v, _ := c.Get(context.Background(), "k", load, nil); results <- v }()
	<-started
	for range 19 {
		wg.Add(1)
		go func() { defer wg.Done(); v, _ := c.Get(context.Background(), "k", load, nil); results <- v }()
	}
	// The 19 latecomers are either waiting on the flight or will find the
	// cached value: either way no second load may run.
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != "v" {
			t.Fatalf("got %q", v)
		}
	}
	if got := loads.Load(); got != 1 {
		t.Fatalf("%d loads, want 1", got)
	}
}

func TestKeepAndErrorsAreNotCached(t *testing.T) {
	c := New[string](10, time.Hour, nil)
	ctx := context.Background()
	var n atomic.Int64
	closed := func(v string) bool { return v != "closed1" }
	if v, _ := c.Get(ctx, "k", counter(&n, "closed"), closed); v != "closed1" {
		t.Fatal(v)
	}
	if _, ok := c.Peek("k"); ok {
		t.Fatal("a value keep refused was cached")
	}
	boom := errors.New("boom")
	if _, err := c.Get(ctx, "e", func(context.Context) (string, error) { return "", boom }, nil); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok := c.Peek("e"); ok {
		t.Fatal("an error was cached")
	}
}

func TestForgetDuringALoadKeepsItsResultOut(t *testing.T) {
	c := New[string](10, time.Hour, nil)
	inLoad, release := make(chan struct{}), make(chan struct{})
	done := make(chan string)
	go func() {
		v, _ := c.Get(context.Background(), "k", func(context.Context) (string, error) {
			close(inLoad)
			<-release
			return "stale", nil
		}, nil)
		done <- v
	}()
	<-inLoad
	c.Forget("k") // a change was made while the old value was being read
	close(release)
	if v := <-done; v != "stale" {
		t.Fatal(v)
	}
	if _, ok := c.Peek("k"); ok {
		t.Fatal("a load that began before Forget stored its result")
	}
}

func TestCallerStopsWaitingWhenItsContextEnds(t *testing.T) {
	c := New[string](10, time.Hour, nil)
	release := make(chan struct{})
	loadCtxErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	inLoad := make(chan struct{})
	errc := make(chan error)
	go func() {
		_, err := c.Get(ctx, "k", func(lctx context.Context) (string, error) {
			close(inLoad)
			<-release
			loadCtxErr <- lctx.Err()
			return "v", nil
		}, nil)
		errc <- err
	}()
	<-inLoad
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	close(release)
	if err := <-loadCtxErr; err != nil {
		t.Fatalf("the shared load saw its first caller's cancellation: %v", err)
	}
	// The load itself was not cancelled and serves the next caller.
	v, err := c.Get(context.Background(), "k", func(context.Context) (string, error) { return "second", nil }, nil)
	if err != nil || (v != "v" && v != "second") {
		t.Fatalf("%q %v", v, err)
	}
}

func TestZeroTTLAlwaysLoads(t *testing.T) {
	c := New[string](10, 0, nil)
	var n atomic.Int64
	a, _ := c.Get(context.Background(), "k", counter(&n, "v"), nil)
	b, _ := c.Get(context.Background(), "k", counter(&n, "v"), nil)
	if a == b || c.Len() != 0 {
		t.Fatalf("%s %s len %d", a, b, c.Len())
	}
}

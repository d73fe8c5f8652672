package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// recorder is a Do that records what it was given. When gate is set, its
// first batch waits for it, as a slow commit would, so that the test can
// queue the others deterministically.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	inDo    int
	overlap bool
	gate    chan struct{}
	entered chan struct{} // closed when the first batch is in Do
}

func (r *recorder) do(_ context.Context, items []int) []Result[string] {
	r.mu.Lock()
	r.inDo++
	r.overlap = r.overlap || r.inDo > 1
	first := len(r.batches) == 0 && r.gate != nil
	r.mu.Unlock()
	if first {
		close(r.entered)
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inDo--
	r.batches = append(r.batches, items)
	out := make([]Result[string], len(items))
	for i, it := range items {
		if it%7 == 3 {
			out[i].Err = fmt.Errorf("item %d refused", it)
			continue
		}
		out[i].Val = fmt.Sprint("v", it)
	}
	return out
}

// waitFor polls cond (the batcher's own state, under its lock) until it
// holds: the calls being queued run on their own goroutines.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestConcurrentCallsShareBatches(t *testing.T) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{})}
	b := &Batcher[int, string]{Do: r.do, Max: 16}
	const n = 300
	var wg sync.WaitGroup
	got := make([]Result[string], n)
	call := func(i int) {
		wg.Go(func() {
			v, err := b.Call(context.Background(), i)
			got[i] = Result[string]{v, err}
		})
	}
	call(0)
	<-r.entered // item 0 is in flight alone, held at the gate
	for i := 1; i < n; i++ {
		call(i)
	}
	waitFor(t, func() bool { return b.Pending() == n-1 })
	close(r.gate)
	wg.Wait()
	for i, g := range got {
		if i%7 == 3 {
			if g.Err == nil || g.Err.Error() != fmt.Sprintf("item %d refused", i) {
				t.Fatalf("item %d: %+v, want its own error", i, g)
			}
		} else if g.Err != nil || g.Val != fmt.Sprint("v", i) {
			t.Fatalf("item %d: %+v, want its own value", i, g)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overlap {
		t.Fatal("two batches were in flight at once")
	}
	seen := map[int]bool{}
	for _, bt := range r.batches {
		if len(bt) > 16 {
			t.Fatalf("a batch of %d items, Max 16", len(bt))
		}
		for _, it := range bt {
			if seen[it] {
				t.Fatalf("item %d sent twice", it)
			}
			seen[it] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d items sent", len(seen), n)
	}
	// Item 0 alone, then the n-1 queued items in full batches of Max.
	if want := 1 + (n-1+15)/16; len(r.batches) != want {
		t.Fatalf("%d batches for %d calls queued behind one, want %d", len(r.batches), n-1, want)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy || len(b.pending) != 0 {
		t.Fatalf("after the burst: busy %v, %d pending", b.busy, len(b.pending))
	}
}

func TestLoneCallRunsAtOnce(t *testing.T) {
	r := &recorder{}
	b := &Batcher[int, string]{Do: r.do}
	for i := range 3 {
		if v, err := b.Call(context.Background(), i); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("call %d: %q %v", i, v, err)
		}
	}
	if len(r.batches) != 3 {
		t.Fatalf("sequential calls made %d batches, want 3 (one each, no waiting)", len(r.batches))
	}
}

// A caller that gives up still has its item handled.
func TestCallerGivesUp(t *testing.T) {
	r := &recorder{}
	b := &Batcher[int, string]{Do: r.do}
	b.busy = true // a batch is in flight
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Call(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Call with a done context while queued: %v", err)
	}
	b.drain()
	if len(r.batches) != 1 || r.batches[0][0] != 1 {
		t.Fatalf("batches %v", r.batches)
	}
}

// A Do that panics fails its batch and leaves the Batcher usable.
func TestPanicInDo(t *testing.T) {
	calls := 0
	b := &Batcher[int, int]{Do: func(_ context.Context, items []int) []Result[int] {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return []Result[int]{{Val: items[0] * 2}}
	}}
	if _, err := b.Call(context.Background(), 1); err == nil {
		t.Fatal("a panicking Do reported no error")
	}
	if v, err := b.Call(context.Background(), 21); err != nil || v != 42 {
		t.Fatalf("after the panic: %d %v", v, err)
	}
}

func TestShortResultAndTimeout(t *testing.T) {
	b := &Batcher[int, int]{Timeout: 50 * time.Millisecond, Do: func(ctx context.Context, items []int) []Result[int] {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("Do's context has no deadline despite Timeout")
		}
		return nil
	}}
	if _, err := b.Call(context.Background(), 1); !errors.Is(err, errShortResult) {
		t.Fatalf("Do returning no results: %v", err)
	}
}

// Wait outlasts callers that gave up: at shutdown their items are still
// handled before the process exits.
func TestWaitForItemsOfCallersThatGaveUp(t *testing.T) {
	release := make(chan struct{})
	var handled sync.Map
	b := &Batcher[int, string]{Do: func(_ context.Context, items []int) []Result[string] {
		<-release
		for _, it := range items {
			handled.Store(it, true)
		}
		return make([]Result[string], len(items))
	}}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatalf("Wait on an idle batcher: %v", err)
	}
	go b.Call(context.Background(), 1) // in flight, blocked in Do
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.busy })
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := b.Call(ctx, 2); gaveUp <- err }() // queued behind 1
	waitFor(t, func() bool { return b.Pending() == 1 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller that gave up: %v", err)
	}
	short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer stop()
	if err := b.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait while a batch is blocked: %v", err)
	}
	close(release)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	for _, it := range []int{1, 2} {
		if _, ok := handled.Load(it); !ok {
			t.Fatalf("item %d was not handled before Wait returned", it)
		}
	}
}

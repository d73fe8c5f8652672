// Package batch coalesces concurrent calls into batches, in the manner of
// a database's group commit: a call that finds no batch in flight is sent
// at once, alone; calls that arrive while a batch is in flight wait for it
// and go out together in the next. At low load
// every call runs alone and immediately; under load N calls cost one round
// trip (one commit, one pipelined write and read) instead of N.
//
// There is at most one batch in flight per Batcher, no timer, and no
// goroutine while idle. A caller that finds nothing in flight sends its
// item alone and returns; if items queued meanwhile, a goroutine takes over
// sending them, so no caller carries others' load.
package batch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Result is the outcome of one item.
type Result[Out any] struct {
	Val Out
	Err error
}

// Batcher runs Do on batches of at most Max items (Max ≤ 0: no bound).
type Batcher[In, Out any] struct {
	// Do handles a batch and returns one Result per item, in order. Its
	// context is not the caller's (the batch serves many callers): it ends
	// after Timeout (no bound when 0).
	Do      func(ctx context.Context, items []In) []Result[Out]
	Max     int
	Timeout time.Duration

	mu      sync.Mutex
	pending []*call[In, Out]
	busy    bool          // a batch is in flight; its sender sends the next
	idle    chan struct{} // closed when busy is cleared (made by Wait)
}

type call[In, Out any] struct {
	in   In
	res  Result[Out]
	done chan struct{}
}

// Pending is how many items wait for the next batch.
func (b *Batcher[In, Out]) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Call adds in to the next batch and waits for its result or for ctx to
// end. An item whose caller gave up is still handled.
func (b *Batcher[In, Out]) Call(ctx context.Context, in In) (Out, error) {
	b.mu.Lock()
	if !b.busy {
		// Nothing in flight (so nothing pending: busy is cleared only with
		// nothing pending): a batch of one, sent by this caller at once.
		b.busy = true
		b.mu.Unlock()
		r := b.once(in)
		b.release()
		return r.Val, r.Err
	}
	// A batch is in flight: wait for the next, which the sender in flight
	// (or the goroutine it hands over to) sends.
	c := &call[In, Out]{in: in, done: make(chan struct{})}
	b.pending = append(b.pending, c)
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.res.Val, c.res.Err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// release ends a lone sender's turn: busy is cleared if nothing is
// pending, else a goroutine takes over.
func (b *Batcher[In, Out]) release() {
	b.mu.Lock()
	idle := len(b.pending) == 0
	if idle {
		b.setIdle()
	}
	b.mu.Unlock()
	if !idle {
		go b.drain()
	}
}

// setIdle clears busy and wakes Wait; b.mu is held.
func (b *Batcher[In, Out]) setIdle() {
	b.busy = false
	if b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
}

// Wait returns once nothing is in flight or pending, or when ctx ends:
// at shutdown, it lets the items of callers that gave up be written.
func (b *Batcher[In, Out]) Wait(ctx context.Context) error {
	b.mu.Lock()
	if !b.busy {
		b.mu.Unlock()
		return nil
	}
	if b.idle == nil {
		b.idle = make(chan struct{})
	}
	ch := b.idle
	b.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// once runs Do for a single item.
func (b *Batcher[In, Out]) once(in In) Result[Out] {
	ctx, cancel := b.context()
	defer cancel()
	res := b.run(ctx, []In{in})
	if len(res) == 0 {
		return Result[Out]{Err: errShortResult}
	}
	return res[0]
}

// drain sends batches until nothing is pending, then clears busy.
func (b *Batcher[In, Out]) drain() {
	for {
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.setIdle()
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.send()
	}
}

// send takes the next batch off pending, runs Do, and reports to each call.
// The caller is the busy sender.
func (b *Batcher[In, Out]) send() {
	b.mu.Lock()
	n := len(b.pending)
	if b.Max > 0 {
		n = min(n, b.Max)
	}
	calls := slices.Clone(b.pending[:n])
	b.pending = slices.Delete(b.pending, 0, n)
	b.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := b.context()
	defer cancel()
	items := make([]In, n)
	for i, c := range calls {
		items[i] = c.in
	}
	res := b.run(ctx, items)
	for i, c := range calls {
		if i < len(res) {
			c.res = res[i]
		} else {
			c.res.Err = errShortResult
		}
		close(c.done)
	}
}

// run is Do, with a panic turned into an error for every item: a sender
// that died would leave busy set and every later call waiting.
func (b *Batcher[In, Out]) run(ctx context.Context, items []In) (res []Result[Out]) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("batch: Do panicked: %v", p)
			res = make([]Result[Out], len(items))
			for i := range res {
				res[i].Err = err
			}
		}
	}()
	return b.Do(ctx, items)
}

type shortResult struct{}

func (shortResult) Error() string { return "batch: Do returned fewer results than items" }

var errShortResult error = shortResult{}

// context is Do's context: not any caller's, bounded by Timeout.
func (b *Batcher[In, Out]) context() (context.Context, context.CancelFunc) {
	if b.Timeout > 0 {
		return context.WithTimeout(context.Background(), b.Timeout)
	}
	return context.Background(), func() {}
}

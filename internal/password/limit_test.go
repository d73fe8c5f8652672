package password

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLimiterBoundsConcurrentHashes: with n slots, a burst of 16 checks
// runs at most n at once and the rest fail with ErrBusy at once, without
// computing anything.
func TestLimiterBoundsConcurrentHashes(t *testing.T) {
	const n, burst = 2, 16
	l := NewLimiter(n)
	var inFlight, peak, computed atomic.Int64
	release := make(chan struct{})
	entered := make(chan struct{}, burst)
	l.verify = func(string, string) error {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		computed.Add(1)
		entered <- struct{}{}
		<-release
		inFlight.Add(-1)
		return ErrMismatch
	}
	var wg sync.WaitGroup
	var busy atomic.Int64
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); _ = l.Verify("h", "pw") }()
	}
	for range n {
		<-entered // both slots are held
	}
	for range burst - n {
		if err := l.Verify("h", "pw"); errors.Is(err, ErrBusy) {
			busy.Add(1)
		}
	}
	if _, err := l.Hash("a long enough password"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash while full: %v, want ErrBusy", err)
	}
	close(release)
	wg.Wait()
	if peak.Load() != n || computed.Load() != n || busy.Load() != burst-n {
		t.Fatalf("peak %d, computed %d, busy %d; want %d, %d, %d", peak.Load(), computed.Load(), busy.Load(), n, n, burst-n)
	}
	if l.Ran() != n || l.Busy() != burst-n+1 {
		t.Fatalf("Ran %d Busy %d", l.Ran(), l.Busy())
	}
	// Slots are given back: a real check runs again.
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	l.verify = Verify
	if err := l.Verify(h, "correct horse battery staple"); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	if _, err := l.Hash("short"); err == nil || errors.Is(err, ErrBusy) {
		t.Fatalf("a short password must be refused before taking a slot: %v", err)
	}
	if NewLimiter(0).Size() < 1 {
		t.Fatal("NewLimiter(0) has no slot")
	}
}

package throttle_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/throttle"
)

func TestLocalBucket(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l := throttle.NewLocal(2, 3, 0) // 2 a second, 3 at once
	for i := range 3 {
		if w := l.Allow("a", now); w != 0 {
			t.Fatalf("burst event %d: wait %s", i+1, w)
		}
	}
	if w := l.Allow("a", now); w != 500*time.Millisecond {
		t.Fatalf("past the burst: wait %s, want 500ms (one token at 2/s)", w)
	}
	// A refused event takes nothing: the token still comes after 500 ms.
	if w := l.Allow("a", now.Add(499*time.Millisecond)); w != time.Millisecond {
		t.Fatalf("1 ms early: wait %s", w)
	}
	if w := l.Allow("a", now.Add(500*time.Millisecond)); w != 0 {
		t.Fatalf("after refill: wait %s", w)
	}
	// Another key is not affected.
	if w := l.Allow("b", now); w != 0 {
		t.Fatalf("another key: wait %s", w)
	}
	// Idle long enough, the whole burst is back.
	later := now.Add(time.Minute)
	for i := range 3 {
		if w := l.Allow("a", later); w != 0 {
			t.Fatalf("refilled burst event %d: wait %s", i+1, w)
		}
	}
}

func TestLocalOff(t *testing.T) {
	l := throttle.NewLocal(0, 5, 0)
	if l != nil {
		t.Fatal("rate 0 is no limit: want nil")
	}
	for range 100 {
		if w := l.Allow("a", time.Now()); w != 0 {
			t.Fatalf("nil limiter refused: %s", w)
		}
	}
	if l.Len() != 0 {
		t.Fatal("nil limiter holds keys")
	}
}

// Memory is bounded: a flood of new keys never holds more than maxKeys
// buckets, and drops the least recently used first, so a client active
// during the flood keeps its (spent) bucket.
func TestLocalBounded(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l := throttle.NewLocal(1, 1, 100)
	if w := l.Allow("busy", now); w != 0 {
		t.Fatalf("first event: %s", w)
	}
	for i := range 10000 {
		l.Allow("flood-"+strconv.Itoa(i), now)
		if i%50 == 0 {
			if w := l.Allow("busy", now); w == 0 {
				t.Fatalf("after %d flood keys the busy client's spent bucket was dropped", i)
			}
		}
		if n := l.Len(); n > 100 {
			t.Fatalf("%d keys held, bound 100", n)
		}
	}
	if w := l.Allow("flood-0", now); w != 0 {
		t.Fatalf("an evicted key starts with a full bucket: wait %s", w)
	}
}

// Concurrent events on one key share its bucket: exactly the burst passes
// at one instant, while other goroutines churn keys (under the bound in
// the first run, far past it in the second, where only the bound and the
// race detector are checked).
func TestLocalConcurrent(t *testing.T) {
	for _, bound := range []int{1000, 50} {
		now := time.Now()
		l := throttle.NewLocal(1, 10, bound)
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			passed = map[string]int{}
		)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					key := "k" + strconv.Itoa(i%4)
					if g%2 == 1 {
						key = "other-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
					}
					if l.Allow(key, now) == 0 {
						mu.Lock()
						passed[key]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if n := l.Len(); n > bound {
			t.Fatalf("%d keys held, bound %d", n, bound)
		}
		if bound < 400 {
			continue
		}
		for i := range 4 {
			if n := passed["k"+strconv.Itoa(i)]; n != 10 {
				t.Errorf("key k%d: %d events passed at one instant, want the burst of 10", i, n)
			}
		}
	}
}

package throttle

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds a Local's buckets unless NewLocal is told
// otherwise.
const DefaultMaxKeys = 50000

// Local is a token bucket per key in this process: Rate events per second
// sustained, Burst at once. It holds at most maxKeys buckets; past that
// the least recently used goes first (the one most likely refilled, so
// dropping it loses nothing). A nil *Local allows everything.
type Local struct {
	rate  rate.Limit
	burst int

	mu  sync.Mutex
	lru *simplelru.LRU[string, *rate.Limiter]
}

// NewLocal returns a limiter of perSecond events per key, burst at once,
// over at most maxKeys keys (0: DefaultMaxKeys). perSecond <= 0 means no
// limit: it returns nil.
func NewLocal(perSecond float64, burst, maxKeys int) *Local {
	if perSecond <= 0 {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	lru, err := simplelru.NewLRU[string, *rate.Limiter](maxKeys, nil)
	if err != nil {
		panic("throttle: " + err.Error()) // only for a size < 1, excluded above
	}
	return &Local{rate: rate.Limit(perSecond), burst: max(burst, 1), lru: lru}
}

// Allow takes one event for key at now. It returns 0 when the event may
// go ahead; otherwise how long until it could, and nothing is taken.
func (l *Local) Allow(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.lru.Get(key)
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.lru.Add(key, lim)
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return MinWait
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// Len is the number of keys held.
func (l *Local) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

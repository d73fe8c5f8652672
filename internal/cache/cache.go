// Package cache is the gateway's one per-instance read-through cache:
// bounded (the least recently used entries go first, never the whole cache
// at once), each entry fresh for a TTL measured on the caller's clock, and
// one load per key at a time (concurrent misses of a key share one load,
// so an expiring hot entry costs the database one read, not one per
// request).
//
// It holds only what a short staleness cannot turn into a security hole:
// callers decide with keep which loaded values may be cached.
package cache

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Cache maps string keys to values of type V.
type Cache[V any] struct {
	ttl time.Duration
	now func() time.Time
	lru *lru.Cache[string, entry[V]]
	sf  singleflight.Group
	// gen changes on every Forget and Purge: a load that began before one
	// does not store its (possibly stale) result. mu makes "gen unchanged,
	// store" one step against "change gen, drop".
	mu  sync.Mutex
	gen uint64
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache of at most size entries, each fresh for ttl (ttl <= 0
// turns caching off: every Get loads). now is the clock (nil = time.Now).
func New[V any](size int, ttl time.Duration, now func() time.Time) *Cache[V] {
	if now == nil {
		now = time.Now
	}
	l, err := lru.New[string, entry[V]](max(size, 1))
	if err != nil {
		panic(err) // only for a size below 1, excluded above
	}
	return &Cache[V]{ttl: ttl, now: now, lru: l}
}

// Get returns the fresh value for key, or loads it. load runs without the
// caller's cancellation (it may serve other callers too), so it must bound
// its own time; the caller stops waiting when ctx ends. keep says whether a
// loaded value may be cached (nil = always); a load's error is never cached.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(ctx context.Context) (V, error), keep func(V) bool) (V, error) {
	if c.ttl <= 0 {
		return load(ctx)
	}
	if e, ok := c.lru.Get(key); ok {
		if age := c.now().Sub(e.at); age >= 0 && age < c.ttl {
			return e.v, nil
		}
	}
	ch := c.sf.DoChan(key, func() (any, error) {
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		at := c.now()
		v, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if (keep == nil || keep(v)) && c.gen == gen {
			c.lru.Add(key, entry[V]{v: v, at: at})
		} else {
			c.lru.Remove(key)
		}
		c.mu.Unlock()
		return v, nil
	})
	select {
	case r := <-ch:
		v, _ := r.Val.(V)
		return v, r.Err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Peek returns the cached value for key, fresh or not, without loading.
func (c *Cache[V]) Peek(key string) (V, bool) {
	e, ok := c.lru.Peek(key)
	return e.v, ok
}

// Put stores v for key as loaded now.
func (c *Cache[V]) Put(key string, v V) {
	c.lru.Add(key, entry[V]{v: v, at: c.now()})
}

// Forget drops key (after a change made in this process), so the next Get
// loads it afresh.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	c.gen++
	c.lru.Remove(key)
	c.mu.Unlock()
}

// Purge drops every entry.
func (c *Cache[V]) Purge() {
	c.mu.Lock()
	c.gen++
	c.lru.Purge()
	c.mu.Unlock()
}

// Len is the number of entries held, fresh or not.
func (c *Cache[V]) Len() int { return c.lru.Len() }

package identity

import (
	"sync"
	"time"
)

// mintCache keeps minted assertions by (audience, claims) until their
// reuse deadline. It is bounded by two generations: when the current map
// holds max/2 entries it becomes the old one and the previous old one is
// dropped; a hit in the old map moves the entry back. Any change of a
// claim (roles, email, ...) is a different key, so it gets a new assertion.
type mintCache struct {
	mu       sync.Mutex
	half     int
	cur, old map[string]cached
}

type cached struct {
	tok       string
	iat, till time.Time
}

func newMintCache(max int) *mintCache {
	h := max / 2
	if h < 1 {
		h = 1
	}
	return &mintCache{half: h, cur: make(map[string]cached, h)}
}

// get looks k up; the []byte key costs no allocation on a hit.
func (c *mintCache) get(k []byte, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cur[string(k)]
	if !ok {
		if e, ok = c.old[string(k)]; ok {
			delete(c.old, string(k))
			c.store(string(k), e)
		}
	}
	if !ok || !now.Before(e.till) || now.Before(e.iat) {
		return "", false
	}
	return e.tok, true
}

func (c *mintCache) put(k, tok string, iat, till time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(k, cached{tok: tok, iat: iat, till: till})
}

func (c *mintCache) store(k string, e cached) {
	if _, ok := c.cur[k]; !ok && len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[string]cached, c.half)
	}
	c.cur[k] = e
}

// len is the number of entries held (for tests).
func (c *mintCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

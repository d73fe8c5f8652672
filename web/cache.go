package web

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// ttlCache keeps values read from the directory for a short time per
// instance, so a session check (/api/me, every API call behind the gateway)
// costs one session-store read instead of a session read plus database
// reads. Entries older than ttl are read again; a zero ttl turns it off.
// Only values that keep access open are stored (an active employee, an
// existing client): what closes access is never served from it.
type ttlCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	fetched time.Time
}

const ttlCacheMax = 50000

// get returns the fresh cached value for k, or loads it. keep says whether
// a loaded value may be cached.
func (tc *ttlCache[V]) get(now time.Time, k string, load func() (V, error), keep func(V) bool) (V, error) {
	if tc.ttl <= 0 {
		return load()
	}
	tc.mu.Lock()
	c, ok := tc.m[k]
	tc.mu.Unlock()
	if age := now.Sub(c.fetched); ok && age >= 0 && age < tc.ttl {
		return c.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	tc.mu.Lock()
	if keep(v) {
		if tc.m == nil || len(tc.m) >= ttlCacheMax {
			tc.m = make(map[string]ttlEntry[V], 1024)
		}
		tc.m[k] = ttlEntry[V]{v: v, fetched: now}
	} else {
		delete(tc.m, k)
	}
	tc.mu.Unlock()
	return v, nil
}

// forget drops one entry (after a change made in this process).
func (tc *ttlCache[V]) forget(k string) {
	tc.mu.Lock()
	delete(tc.m, k)
	tc.mu.Unlock()
}

func cacheKey(companyID int64, id string) string {
	return strconv.FormatInt(companyID, 10) + "/" + id
}

// The employee behind a live session. Suspension, deletion and an admin's
// deactivation revoke the sessions themselves, which the session read sees
// at once; this cache only bounds how long an instance may show an old name
// or title, and how long a row changed behind the gateway's back (without
// revocation) could still pass the active check: at most SettingsTTL.
// The returned employee must not be modified.
func (s *Server) cachedEmployee(ctx context.Context, companyID int64, id string) (*directory.Employee, error) {
	return s.employees.get(s.now(), cacheKey(companyID, id),
		func() (*directory.Employee, error) { return s.dir.GetEmployee(ctx, companyID, id) },
		func(e *directory.Employee) bool { return e.Active && e.Visible() })
}

// clientRegistered reports whether a mobile client still exists: tokens of
// a removed client stop working within SettingsTTL.
func (s *Server) clientRegistered(ctx context.Context, companyID int64, clientID string) (bool, error) {
	ok, err := s.clients.get(s.now(), cacheKey(companyID, clientID), func() (bool, error) {
		_, err := s.dir.GetOAuthClient(ctx, companyID, clientID)
		if err == nil {
			return true, nil
		}
		if errors.Is(err, directory.ErrNotFound) {
			return false, nil
		}
		return false, err
	}, func(ok bool) bool { return ok })
	return ok, err
}

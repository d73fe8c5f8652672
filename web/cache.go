package web

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ssogate/ssogate/internal/cache"
	"github.com/ssogate/ssogate/sso/directory"
)

// ttlCache keeps values read from the directory for a short time per
// instance, so a session check (/api/me, every request behind the gateway)
// costs one session-store read instead of a session read plus database
// reads. Entries older than the TTL are read again; a zero TTL turns it
// off. Only values that keep access open are stored (an active employee, an
// existing client): what closes access is never served from it.
type ttlCache[V any] struct{ c *cache.Cache[V] }

// cacheSize bounds each per-instance cache (least recently used go first).
const cacheSize = 50000

func newTTLCache[V any](ttl time.Duration, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{c: cache.New[V](cacheSize, ttl, now)}
}

// get returns the fresh cached value for k, or loads it (one load per key
// at a time). keep says whether a loaded value may be cached.
func (tc *ttlCache[V]) get(ctx context.Context, k string, load func(ctx context.Context) (V, error), keep func(V) bool) (V, error) {
	return tc.c.Get(ctx, k, load, keep)
}

// forget drops one entry (after a change made in this process).
func (tc *ttlCache[V]) forget(k string) { tc.c.Forget(k) }

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
	return s.employees.get(ctx, cacheKey(companyID, id),
		func(ctx context.Context) (*directory.Employee, error) { return s.dir.GetEmployee(ctx, companyID, id) },
		func(e *directory.Employee) bool { return e.Active && e.Visible() })
}

// clientRegistered reports whether a mobile client still exists: tokens of
// a removed client stop working within SettingsTTL.
func (s *Server) clientRegistered(ctx context.Context, companyID int64, clientID string) (bool, error) {
	ok, err := s.clients.get(ctx, cacheKey(companyID, clientID), func(ctx context.Context) (bool, error) {
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

// consoleCaches are the caches a console change makes stale in this
// process.
type consoleCaches struct{ s *Server }

func (cc consoleCaches) ForgetCompany(slug string) { cc.s.companies.Invalidate(slug) }

func (cc consoleCaches) ForgetOAuthClient(companyID int64, clientID string) {
	cc.s.clients.forget(cacheKey(companyID, clientID))
}

func (cc consoleCaches) ForgetSCIMTokens() { cc.s.scim.ForgetTokens() }

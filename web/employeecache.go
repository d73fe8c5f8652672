package web

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// employeeCache keeps the employees behind live sessions for SettingsTTL,
// so a session check (/api/me, every API call behind the gateway) costs one
// session-store read instead of a session read plus a database read.
//
// It is not what ends access: suspension, deletion and an admin's
// deactivation revoke the sessions themselves, which the session read sees
// at once. The cache only bounds how long an instance may show an
// employee's old name or title, and how long a row changed behind the
// gateway's back (no revocation) could still pass the active check: at
// most SettingsTTL (0 turns the cache off). Only active, visible employees
// are cached.
type employeeCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedEmployee
}

type cachedEmployee struct {
	e       *directory.Employee
	fetched time.Time
}

const employeeCacheMax = 50000

func employeeKey(companyID int64, id string) string {
	return strconv.FormatInt(companyID, 10) + "/" + id
}

// get returns the employee, from the cache when fresh. The returned value
// must not be modified.
func (ec *employeeCache) get(ctx context.Context, dir directory.Store, now time.Time, companyID int64, id string) (*directory.Employee, error) {
	if ec.ttl <= 0 {
		return dir.GetEmployee(ctx, companyID, id)
	}
	k := employeeKey(companyID, id)
	ec.mu.Lock()
	c, ok := ec.m[k]
	ec.mu.Unlock()
	if ok && now.Sub(c.fetched) < ec.ttl && now.Sub(c.fetched) >= 0 {
		return c.e, nil
	}
	e, err := dir.GetEmployee(ctx, companyID, id)
	if err != nil {
		return nil, err
	}
	ec.mu.Lock()
	if e.Active && e.Visible() {
		if ec.m == nil || len(ec.m) >= employeeCacheMax {
			ec.m = make(map[string]cachedEmployee, 1024)
		}
		ec.m[k] = cachedEmployee{e: e, fetched: now}
	} else {
		delete(ec.m, k)
	}
	ec.mu.Unlock()
	return e, nil
}

// forget drops one employee (after a change made in this process).
func (ec *employeeCache) forget(companyID int64, id string) {
	ec.mu.Lock()
	delete(ec.m, employeeKey(companyID, id))
	ec.mu.Unlock()
}

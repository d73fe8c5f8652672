package web

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

func TestEmployeeCache(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	co := &directory.Company{Slug: "acme", Name: "Acme"}
	if err := st.CreateCompany(ctx, co); err != nil {
		t.Fatal(err)
	}
	e := &directory.Employee{CompanyID: co.ID, UserName: "a@acme.example", GivenName: "A", FamilyName: "B", Active: true}
	if err := st.CreateEmployee(ctx, e); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	clock := t0
	now := func() time.Time { return clock }
	s := &Server{dir: st, now: now, employees: newTTLCache[*directory.Employee](2*time.Second, now)}
	got, err := s.cachedEmployee(ctx, co.ID, e.ID)
	if err != nil || got.Title != "" {
		t.Fatalf("first read: %v %v", got, err)
	}
	e.Title, e.Active = "Chef", false
	if err := st.UpdateEmployee(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the cached (active) record answers...
	clock = t0.Add(time.Second)
	if got, _ := s.cachedEmployee(ctx, co.ID, e.ID); got.Title != "" || !got.Active {
		t.Fatalf("within the TTL: %+v", got)
	}
	// ...after it, the database does, and an inactive record is not kept.
	clock = t0.Add(2 * time.Second)
	if got, _ := s.cachedEmployee(ctx, co.ID, e.ID); got.Title != "Chef" || got.Active {
		t.Fatalf("after the TTL: %+v", got)
	}
	if _, ok := s.employees.c.Peek(cacheKey(co.ID, e.ID)); ok {
		t.Fatal("an inactive employee was cached")
	}
	// forget drops an entry at once.
	e.Active = true
	_ = st.UpdateEmployee(ctx, e)
	clock = t0.Add(3 * time.Second)
	s.cachedEmployee(ctx, co.ID, e.ID)
	s.employees.forget(cacheKey(co.ID, e.ID))
	if _, ok := s.employees.c.Peek(cacheKey(co.ID, e.ID)); ok {
		t.Fatal("forget kept the entry")
	}
	// A clock that goes backwards does not extend an entry.
	clock = t0.Add(10 * time.Second)
	s.cachedEmployee(ctx, co.ID, e.ID)
	e.Title = "Boss"
	_ = st.UpdateEmployee(ctx, e)
	clock = t0.Add(5 * time.Second)
	if got, _ := s.cachedEmployee(ctx, co.ID, e.ID); got.Title != "Boss" {
		t.Fatalf("backwards clock served a cached record: %+v", got)
	}
	// A zero TTL never caches.
	off := &Server{dir: st, now: time.Now, employees: newTTLCache[*directory.Employee](0, time.Now)}
	off.cachedEmployee(ctx, co.ID, e.ID)
	if off.employees.c.Len() != 0 {
		t.Fatal("a zero TTL cached")
	}
}

// countingStore counts GetCompany reads.
type countingStore struct {
	directory.Store
	reads atomic.Int64
}

func (c *countingStore) GetCompany(ctx context.Context, slug string) (*directory.Company, error) {
	c.reads.Add(1)
	return c.Store.GetCompany(ctx, slug)
}

// TestUnknownCompanyIsRemembered: requests for a made-up company cost one
// database read per SettingsTTL, not one each; a company created meanwhile
// is found once the TTL has passed.
func TestUnknownCompanyIsRemembered(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &countingStore{Store: st}
	clock := time.Now()
	s := &Server{dir: cs, now: func() time.Time { return clock }}
	s.cfg.SettingsTTL = 2 * time.Second
	s.companies = newCompanyCache(s)
	for range 100 {
		if _, err := s.companies.get(ctx, "nobody"); !errors.Is(err, directory.ErrNotFound) {
			t.Fatalf("unknown company: %v", err)
		}
	}
	if n := cs.reads.Load(); n != 1 {
		t.Fatalf("%d database reads for 100 requests to an unknown company", n)
	}
	if err := st.CreateCompany(ctx, &directory.Company{Slug: "nobody", Name: "Now somebody"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if tn, err := s.companies.get(ctx, "nobody"); err != nil || tn.Company.Name != "Now somebody" {
		t.Fatalf("after the TTL: %v %v", tn, err)
	}
}

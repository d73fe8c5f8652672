package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
)

func eachDialect(t *testing.T, fn func(t *testing.T, s *Store, companyID int64)) {
	t.Helper()
	for _, tc := range []struct{ name, url string }{
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "m.db")},
		{"postgres", testenv.PostgresURL(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.url, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			c := &directory.Company{Slug: "m", Name: "M"}
			if err := s.CreateCompany(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			fn(t, s, c.ID)
		})
	}
}

// TestManagerStatements covers the one-statement methods SCIM uses.
func TestManagerStatements(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, s *Store, cid int64) {
		ctx := context.Background()
		mk := func(name, mgr, ref string) *directory.Employee {
			t.Helper()
			e := &directory.Employee{CompanyID: cid, UserName: name + "@x.com", Email: name + "@mail.x.com",
				ExternalID: name, ManagerID: mgr, ManagerRef: ref, Active: true}
			if err := s.CreateEmployee(ctx, e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		ceo := mk("ceo", "", "")
		vp := mk("vp", ceo.ID, "")
		lead := mk("lead", vp.ID, "")
		dev := mk("dev", lead.ID, "")

		chain, err := s.ManagerChain(ctx, cid, dev.ID, 100)
		if err != nil || !slices.Equal(chain, []string{dev.ID, lead.ID, vp.ID, ceo.ID}) {
			t.Fatalf("chain of dev = %v, %v", chain, err)
		}
		if chain, _ = s.ManagerChain(ctx, cid, dev.ID, 2); !slices.Equal(chain, []string{dev.ID, lead.ID}) {
			t.Fatalf("chain limited to 2 = %v", chain)
		}
		if chain, _ = s.ManagerChain(ctx, cid, "nobody", 100); len(chain) != 0 {
			t.Fatalf("chain of an unknown id = %v", chain)
		}
		if chain, _ = s.ManagerChain(ctx, cid+1000, dev.ID, 100); len(chain) != 0 {
			t.Fatalf("chain through another company = %v", chain)
		}
		// A hard-deleted manager in the middle is still followed; a
		// hard-deleted start has no chain.
		del := time.Now()
		dl := *lead
		dl.DeletedAt = &del
		if err := s.UpdateEmployee(ctx, &dl); err != nil {
			t.Fatal(err)
		}
		if chain, _ = s.ManagerChain(ctx, cid, dev.ID, 100); !slices.Equal(chain, []string{dev.ID, lead.ID, vp.ID, ceo.ID}) {
			t.Fatalf("chain through a hard-deleted manager = %v", chain)
		}
		if chain, _ = s.ManagerChain(ctx, cid, lead.ID, 100); len(chain) != 0 {
			t.Fatalf("chain of a hard-deleted employee = %v", chain)
		}

		// Cycles through the one-statement walk are refused, and nothing is written.
		uc := *ceo
		uc.ManagerID = dev.ID
		if err := s.UpdateEmployee(ctx, &uc); err == nil || !isInvalid(err) {
			t.Fatalf("cycle ceo→dev→…→ceo: %v", err)
		}
		uc.ManagerID = "nobody"
		if err := s.UpdateEmployee(ctx, &uc); err == nil || !isInvalid(err) {
			t.Fatalf("unknown manager: %v", err)
		}
		// A loop already in the data (written behind the store's back) is
		// refused rather than extended, and the walk ends.
		a, b := mk("a", "", ""), mk("b", "", "")
		if _, err := s.writer.ExecContext(ctx, s.q(`UPDATE employees SET manager_id = ? WHERE id = ?`), b.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.writer.ExecContext(ctx, s.q(`UPDATE employees SET manager_id = ? WHERE id = ?`), a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		x := mk("x", "", "")
		x.ManagerID = a.ID
		if err := s.UpdateEmployee(ctx, x); err == nil || !isInvalid(err) {
			t.Fatalf("manager above a loop: %v", err)
		}

		// RecomputeApprovers: only visible employees with an active, visible report.
		before, _ := s.GetEmployee(ctx, cid, vp.ID)
		if err := s.RecomputeApprovers(ctx, cid, ceo.ID, vp.ID, dev.ID, "", "unknown", ceo.ID); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{ceo.ID: true, vp.ID: false, dev.ID: false} {
			e, _ := s.GetEmployee(ctx, cid, id)
			if e.IsApprover != want {
				t.Fatalf("%s approver = %v, want %v", e.UserName, e.IsApprover, want)
			}
		}
		after, _ := s.GetEmployee(ctx, cid, vp.ID)
		if after.Version != before.Version {
			t.Fatal("a record whose role did not change was written")
		}
		c1, _ := s.GetEmployee(ctx, cid, ceo.ID)
		dv := *vp
		dv.Active = false
		if err := s.UpdateEmployee(ctx, &dv); err != nil {
			t.Fatal(err)
		}
		if err := s.RecomputeApprovers(ctx, cid, ceo.ID); err != nil {
			t.Fatal(err)
		}
		if c2, _ := s.GetEmployee(ctx, cid, ceo.ID); c2.IsApprover || c2.Version != c1.Version+1 {
			t.Fatalf("ceo with an inactive report only: approver %v, version %d → %d", c2.IsApprover, c1.Version, c2.Version)
		}

		// FindEmployeeByUserNameOrEmail.
		u, m, err := s.FindEmployeeByUserNameOrEmail(ctx, cid, " DEV@X.com ", "CEO@mail.x.com")
		if err != nil || u == nil || u.ID != dev.ID || m == nil || m.ID != ceo.ID {
			t.Fatalf("by userName and email: %v %v %v", u, m, err)
		}
		u, m, _ = s.FindEmployeeByUserNameOrEmail(ctx, cid, "dev@x.com", "dev@mail.x.com")
		if u == nil || m == nil || u.ID != dev.ID || m.ID != dev.ID {
			t.Fatalf("both on one employee: %v %v", u, m)
		}
		u, m, _ = s.FindEmployeeByUserNameOrEmail(ctx, cid, "none@x.com", "")
		if u != nil || m != nil {
			t.Fatalf("no match: %v %v", u, m)
		}
		u, m, _ = s.FindEmployeeByUserNameOrEmail(ctx, cid, "lead@x.com", "lead@mail.x.com")
		if u != nil || m != nil {
			t.Fatalf("a hard-deleted employee matched: %v %v", u, m)
		}

		// ListByManagerRefs.
		p1, p2, p3 := mk("p1", "", "ref-1"), mk("p2", "", "ref-2"), mk("p3", "", "ref-3")
		got, err := s.ListByManagerRefs(ctx, cid, "ref-2", "", "ref-1", "ref-2")
		if err != nil || len(got) != 2 || got[0].ID != p1.ID || got[1].ID != p2.ID {
			t.Fatalf("ListByManagerRefs = %v, %v", got, err)
		}
		_ = p3
		if got, _ = s.ListByManagerRefs(ctx, cid); len(got) != 0 {
			t.Fatalf("no refs: %v", got)
		}
	})
}

func isInvalid(err error) bool { return err != nil && errors.Is(err, directory.ErrInvalid) }

// TestAnalyzeAfterCreates: on PostgreSQL the store analyzes employees once
// it has committed statsFirst new employees while the table had no
// statistics, and not in the middle of the transaction that creates them.
func TestAnalyzeAfterCreates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, testenv.PostgresURL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &directory.Company{Slug: "a", Name: "A"}
	if err := s.CreateCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	reltuples := func() float64 {
		var n float64
		if err := s.writer.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'employees'::regclass`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err = s.InTx(ctx, func(tx directory.Store) error {
		for i := range statsFirst + 10 {
			if err := tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: fmt.Sprintf("u%d@x.com", i)}); err != nil {
				return err
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := reltuples(); n >= 0 {
			return fmt.Errorf("analyzed inside the transaction (reltuples %v)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for reltuples() < statsFirst {
		if time.Now().After(deadline) {
			t.Fatalf("employees not analyzed after %d creates (reltuples %v)", statsFirst+10, reltuples())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConcurrentManagerChanges: two transactions that would each close
// half of a cycle never both succeed (the lock and the checks in the UPDATE).
func TestConcurrentManagerChanges(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, s *Store, cid int64) {
		ctx := context.Background()
		for round := range 20 {
			a := &directory.Employee{CompanyID: cid, UserName: fmt.Sprintf("a%d@x.com", round)}
			b := &directory.Employee{CompanyID: cid, UserName: fmt.Sprintf("b%d@x.com", round)}
			for _, e := range []*directory.Employee{a, b} {
				if err := s.CreateEmployee(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			errs := make(chan error, 2)
			set := func(e *directory.Employee, mgr string) {
				errs <- s.InTx(ctx, func(tx directory.Store) error {
					cur, err := tx.GetEmployee(ctx, cid, e.ID)
					if err != nil {
						return err
					}
					cur.ManagerID = mgr
					if err := tx.UpdateEmployee(ctx, cur); err != nil {
						return err
					}
					time.Sleep(5 * time.Millisecond) // hold the transaction open
					return nil
				})
			}
			go set(a, b.ID)
			go set(b, a.ID)
			ok := 0
			for range 2 {
				if err := <-errs; err == nil {
					ok++
				} else if !errors.Is(err, directory.ErrInvalid) {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			ga, _ := s.GetEmployee(ctx, cid, a.ID)
			gb, _ := s.GetEmployee(ctx, cid, b.ID)
			if ok != 1 || (ga.ManagerID == b.ID && gb.ManagerID == a.ID) {
				t.Fatalf("round %d: %d of two opposite manager links written (a→%q, b→%q)", round, ok, ga.ManagerID, gb.ManagerID)
			}
		}
	})
}

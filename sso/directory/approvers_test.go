package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

func eachStore(t *testing.T, fn func(t *testing.T, st directory.Store, companyID int64)) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "d.db") }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			st, err := sqlstore.Open(context.Background(), b.url(t), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			c := &directory.Company{Slug: "acme", Name: "Acme", NameIDMode: directory.NameIDUPN}
			if err := st.CreateCompany(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			fn(t, st, c.ID)
		})
	}
}

func TestApproverRules(t *testing.T) {
	eachStore(t, func(t *testing.T, st directory.Store, cid int64) {
		ctx := context.Background()
		mk := func(name, ext, dept string) string {
			t.Helper()
			e := &directory.Employee{CompanyID: cid, UserName: name + "@x.com", GivenName: name, FamilyName: "F",
				ExternalID: ext, Department: dept, Active: true, Source: directory.SourceSCIM, EntraLinked: true}
			if err := st.CreateEmployee(ctx, e); err != nil {
				t.Fatal(err)
			}
			return e.ID
		}
		load := func(id string) *directory.Employee {
			t.Helper()
			e, err := st.GetEmployee(ctx, cid, id)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		boss := mk("boss", "boss", "")
		ann := mk("ann", "ann", "Sales")
		bob := mk("bob", "bob", "Sales")

		// Resolve by id; approver role follows.
		if err := directory.SetManager(ctx, st, cid, ann, boss); err != nil {
			t.Fatal(err)
		}
		if load(ann).ManagerID != boss || !load(boss).IsApprover {
			t.Fatalf("set manager: %+v", load(ann))
		}
		// Self and cycles refused.
		if err := directory.SetManager(ctx, st, cid, ann, ann); !errors.Is(err, directory.ErrInvalid) {
			t.Fatalf("self manager: %v", err)
		}
		if err := directory.SetManager(ctx, st, cid, bob, ann); err != nil {
			t.Fatal(err)
		}
		if err := directory.SetManager(ctx, st, cid, boss, bob); !errors.Is(err, directory.ErrInvalid) {
			t.Fatalf("cycle boss→bob→ann→boss accepted: %v", err)
		}
		// Deferred: the manager does not exist yet.
		if err := directory.SetManager(ctx, st, cid, bob, "carl"); err != nil {
			t.Fatal(err)
		}
		if e := load(bob); e.ManagerID != "" || e.ManagerRef != "carl" || load(ann).IsApprover {
			t.Fatalf("pending: %+v, ann approver %v", e, load(ann).IsApprover)
		}
		carl := mk("carl", "carl", "")
		if err := directory.ResolvePending(ctx, st, cid, load(carl)); err != nil {
			t.Fatal(err)
		}
		if e := load(bob); e.ManagerID != carl || e.ManagerRef != "" || !load(carl).IsApprover {
			t.Fatalf("resolve: %+v", e)
		}
		// A pending link that would close a cycle stays pending.
		dan := mk("dan", "dan", "")
		if err := directory.SetManager(ctx, st, cid, dan, "eve"); err != nil {
			t.Fatal(err)
		}
		eve := &directory.Employee{CompanyID: cid, UserName: "eve@x.com", GivenName: "E", FamilyName: "F", ExternalID: "eve",
			ManagerID: dan, Active: true, Source: directory.SourceSCIM, EntraLinked: true}
		if err := st.CreateEmployee(ctx, eve); err != nil {
			t.Fatal(err)
		}
		if err := directory.ResolvePending(ctx, st, cid, eve); err != nil {
			t.Fatal(err)
		}
		if load(dan).ManagerID != "" {
			t.Fatal("ResolvePending closed a cycle")
		}
		// Inactive reports do not make an approver.
		a := load(ann)
		a.Active = false
		if err := st.UpdateEmployee(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := directory.RecomputeApproverRole(ctx, st, cid, boss); err != nil {
			t.Fatal(err)
		}
		if load(boss).IsApprover {
			t.Fatal("boss manages only an inactive employee")
		}
		a.Active = true
		if err := st.UpdateEmployee(ctx, a); err != nil {
			t.Fatal(err)
		}
		// Clearing removes the link and the role.
		if err := directory.SetManager(ctx, st, cid, ann, ""); err != nil {
			t.Fatal(err)
		}
		if load(ann).ManagerID != "" {
			t.Fatal("not cleared")
		}
		if err := directory.SetManager(ctx, st, cid, ann, boss); err != nil {
			t.Fatal(err)
		}

		// Approvers: manager, then department approvers.
		deptApprover := mk("dora", "dora", "")
		if err := st.AddDepartmentApprover(ctx, cid, "sales", deptApprover); err != nil {
			t.Fatal(err)
		}
		if err := st.AddDepartmentApprover(ctx, cid, "Sales", ann); err != nil { // ann approves Sales but not herself
			t.Fatal(err)
		}
		got, err := directory.Approvers(ctx, st, cid, ann)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].EmployeeID != boss || got[0].Kind != directory.ApproverManager ||
			got[1].EmployeeID != deptApprover || got[1].Kind != directory.ApproverDepartment {
			t.Fatalf("approvers: %+v", got)
		}
		// Only the selected approver: no department approvers.
		e := load(ann)
		e.OnlySelectedApprover = true
		if err := st.UpdateEmployee(ctx, e); err != nil {
			t.Fatal(err)
		}
		if got, _ := directory.Approvers(ctx, st, cid, ann); len(got) != 1 || got[0].EmployeeID != boss {
			t.Fatalf("only selected: %+v", got)
		}
		// Self-approver: the manager is ignored.
		e = load(ann)
		e.SelfApprover = true
		if err := st.UpdateEmployee(ctx, e); err != nil {
			t.Fatal(err)
		}
		if got, _ := directory.Approvers(ctx, st, cid, ann); len(got) != 1 || got[0].EmployeeID != ann || got[0].Kind != directory.ApproverSelf {
			t.Fatalf("self approver: %+v", got)
		}
		// An inactive manager is no approver; department approvers remain.
		e = load(bob)
		if err := directory.SetManager(ctx, st, cid, bob, boss); err != nil {
			t.Fatal(err)
		}
		b := load(boss)
		b.Active = false
		if err := st.UpdateEmployee(ctx, b); err != nil {
			t.Fatal(err)
		}
		if got, _ := directory.Approvers(ctx, st, cid, bob); len(got) != 2 || got[0].EmployeeID != deptApprover {
			t.Fatalf("inactive manager: %+v", got)
		}
		_ = e
	})
}

package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

func TestSetActiveAndMarkDeleted(t *testing.T) {
	now := time.Date(2026, 3, 14, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // 15 March in UTC
	e := &directory.Employee{Active: true}
	e.SetActive(false, now)
	if e.Active || e.TerminationDate != "2026-03-15" {
		t.Fatalf("deactivated: %+v", e)
	}
	e.SetActive(false, now.Add(48*time.Hour))
	if e.TerminationDate != "2026-03-15" {
		t.Fatalf("deactivating again moved the termination date: %q", e.TerminationDate)
	}
	e.SetActive(true, now)
	if !e.Active || e.TerminationDate != "" {
		t.Fatalf("reactivated: %+v", e)
	}
	// A hard delete dates an active employee today and keeps a suspended
	// one's date.
	e.MarkDeleted(now)
	if e.Active || e.TerminationDate != "2026-03-15" || e.DeletedAt == nil || e.Visible() {
		t.Fatalf("deleted: %+v", e)
	}
	s := &directory.Employee{Active: false, TerminationDate: "2026-01-31"}
	s.MarkDeleted(now)
	if s.TerminationDate != "2026-01-31" || s.Visible() {
		t.Fatalf("deleted after a suspension: %+v", s)
	}
	n := &directory.Employee{Active: false} // created inactive: no date yet
	n.MarkDeleted(now)
	if n.TerminationDate != "2026-03-15" {
		t.Fatalf("deleted without a date: %+v", n)
	}
}

// TestSettle: the one rule of what follows a change to an employee, for
// every writer (admin service, import, SCIM).
func TestSettle(t *testing.T) {
	eachStore(t, func(t *testing.T, st directory.Store, cid int64) {
		ctx := context.Background()
		now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
		mk := func(name, manager string, admin bool) *directory.Employee {
			t.Helper()
			e := &directory.Employee{CompanyID: cid, UserName: name + "@x.com", GivenName: name, FamilyName: "F",
				ManagerID: manager, Active: true, IsAdmin: admin, Source: directory.SourceSCIM, EntraLinked: true}
			if err := st.CreateEmployee(ctx, e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		load := func(id string) *directory.Employee {
			t.Helper()
			e, err := st.GetEmployee(ctx, cid, id)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		// write applies fn to the stored employee, writes it and settles.
		write := func(id string, fn func(e *directory.Employee)) (*directory.Employee, directory.Aftermath) {
			t.Helper()
			e := load(id)
			before := *e
			fn(e)
			if err := st.UpdateEmployee(ctx, e); err != nil {
				t.Fatal(err)
			}
			fx, err := directory.Settle(ctx, st, cid, directory.Change{Before: &before, After: e})
			if err != nil || len(fx) != 1 || fx[0].EmployeeID != id {
				t.Fatalf("settle: %v %+v", err, fx)
			}
			return e, fx[0]
		}

		boss, other := mk("boss", "", true), mk("other", "", false)
		// Created: the new employee's manager becomes an approver.
		ann := mk("ann", boss.ID, false)
		fx, err := directory.Settle(ctx, st, cid, directory.Change{After: ann})
		if err != nil || len(fx) != 1 || fx[0] != (directory.Aftermath{EmployeeID: ann.ID}) || !load(boss.ID).IsApprover {
			t.Fatalf("created: %v %+v, boss approver %v", err, fx, load(boss.ID).IsApprover)
		}
		// A change that touches neither access, manager nor roles asks for nothing.
		if _, a := write(ann.ID, func(e *directory.Employee) { e.Title = "Payroll" }); a != (directory.Aftermath{EmployeeID: ann.ID}) {
			t.Fatalf("title change: %+v", a)
		}
		// The manager changes: both managers' roles follow.
		write(ann.ID, func(e *directory.Employee) { e.ManagerID = other.ID })
		if load(boss.ID).IsApprover || !load(other.ID).IsApprover {
			t.Fatal("after the manager change the old manager must lose the approver role and the new one get it")
		}
		// Deactivated: sessions end, the manager's role is recomputed in st.
		_, a := write(ann.ID, func(e *directory.Employee) { e.SetActive(false, now) })
		if !a.EndSessions || a.EndAdminSessions || load(other.ID).IsApprover {
			t.Fatalf("deactivated: %+v, manager approver %v", a, load(other.ID).IsApprover)
		}
		// Reactivated: no session ends, the role comes back.
		if _, a := write(ann.ID, func(e *directory.Employee) { e.SetActive(true, now) }); a.EndSessions || !load(other.ID).IsApprover {
			t.Fatalf("reactivated: %+v", a)
		}
		// The admin role taken away: only the console sessions end.
		if _, a := write(boss.ID, func(e *directory.Employee) { e.IsAdmin = false }); a.EndSessions || !a.EndAdminSessions {
			t.Fatalf("admin role removed: %+v", a)
		}
		// Deleted (after a suspension): sessions end again, and the deleted
		// manager's own role goes; After is read again, as stored.
		write(other.ID, func(e *directory.Employee) { e.SetActive(false, now) })
		e, a := write(other.ID, func(e *directory.Employee) { e.MarkDeleted(now) })
		stored := load(other.ID)
		if !a.EndSessions || stored.IsApprover || e.IsApprover || e.Version != stored.Version {
			t.Fatalf("deleted: %+v, stored approver %v, After version %d vs %d", a, stored.IsApprover, e.Version, stored.Version)
		}
	})
}

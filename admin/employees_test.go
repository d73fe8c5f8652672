package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

func TestEmployeeOperations(t *testing.T) {
	ctx := context.Background()
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			_, err := f.importCSV(t, header+",isAdmin\nboss@a.example,boss@a.example,Bo,Ss,true\nolaf@a.example,olaf@a.example,Olaf,Berg,true\n", false)
			testenv.Must(t, err, "import")
			boss, olaf := f.get(t, "boss@a.example"), f.get(t, "olaf@a.example")
			testenv.Must(t, directory.SetManager(ctx, f.dir, f.co.ID, olaf.ID, boss.ID), "set manager")
			me := admin.Actor{Name: "admin:boss@a.example", EmployeeID: boss.ID}
			var rf *usererr.Error

			if _, err := f.svc.SetRoles(ctx, me, f.co.ID, boss.ID, admin.Roles{}); !errors.As(err, &rf) || f.get(t, "boss@a.example").IsAdmin == false {
				t.Fatalf("an admin took their own role: %v", err)
			}
			if _, err := f.svc.Deactivate(ctx, me, f.co.ID, boss.ID); !errors.As(err, &rf) {
				t.Fatalf("an admin deactivated themselves: %v", err)
			}
			if _, err := f.svc.SetIdentity(ctx, me, f.co.ID, olaf.ID, "olaf berg", ""); !errors.As(err, &rf) || rf.Kind() != usererr.Invalid {
				t.Fatalf("a sign-in name with a space: %v", err)
			}

			adminSID, browserSID := f.session(t, olaf, session.KindAdmin), f.session(t, olaf, session.KindBrowser)
			if _, err := f.svc.SetRoles(ctx, me, f.co.ID, olaf.ID, admin.Roles{SelfApprover: true}); err != nil {
				t.Fatal(err)
			}
			if f.alive(adminSID) || !f.alive(browserSID) || f.get(t, "olaf@a.example").IsAdmin || !f.get(t, "olaf@a.example").SelfApprover {
				t.Fatalf("after taking the admin role: admin session %v, browser session %v", f.alive(adminSID), f.alive(browserSID))
			}

			if _, err := f.svc.Deactivate(ctx, me, f.co.ID, olaf.ID); err != nil {
				t.Fatal(err)
			}
			if got := f.get(t, "olaf@a.example"); got.Active || got.TerminationDate == "" || f.alive(browserSID) || f.get(t, "boss@a.example").IsApprover {
				t.Fatalf("after deactivation: %+v, session alive %v, boss approver %v", got, f.alive(browserSID), f.get(t, "boss@a.example").IsApprover)
			}
			if _, err := f.svc.Deactivate(ctx, me, f.co.ID, olaf.ID); !errors.As(err, &rf) {
				t.Fatalf("deactivating twice: %v", err)
			}
			if _, err := f.svc.Activate(ctx, me, f.co.ID, olaf.ID); err != nil {
				t.Fatal(err)
			}
			if got := f.get(t, "olaf@a.example"); !got.Active || got.TerminationDate != "" || !f.get(t, "boss@a.example").IsApprover {
				t.Fatalf("after activation: %+v", got)
			}
			// Detach: Entra lets go of the record; asking twice is refused.
			linked := f.get(t, "olaf@a.example")
			linked.EntraLinked, linked.EntraObjectID, linked.Source = true, "8c1b3a4e-2f5d-4c7a-9e1b-0a2b3c4d5e6f", directory.SourceSCIM
			testenv.Must(t, f.dir.UpdateEmployee(ctx, linked), "link by hand")
			if _, err := f.svc.Detach(ctx, me, f.co.ID, olaf.ID); err != nil {
				t.Fatal(err)
			}
			if got := f.get(t, "olaf@a.example"); got.EntraLinked || got.EntraObjectID != "" || got.Source != directory.SourceLocal {
				t.Fatalf("after detach: %+v", got)
			}
			if _, err := f.svc.Detach(ctx, me, f.co.ID, olaf.ID); !errors.As(err, &rf) {
				t.Fatalf("detaching twice: %v", err)
			}
			audit, err := f.dir.ListAudit(ctx, f.co.ID, 100)
			testenv.Must(t, err, "audit")
			seen := map[string]bool{}
			for _, a := range audit {
				if a.Actor == me.Name {
					seen[a.Action] = true
				}
			}
			for _, want := range []string{"employee.roles", "employee.deactivate", "employee.activate", "employee.detach"} {
				if !seen[want] {
					t.Errorf("no audit entry %s by %s: %v", want, me.Name, seen)
				}
			}
		})
	}
}

// TestLink: re-linking to Entra names the object id, refuses a malformed
// one and one another employee holds, turns a detached employee back into
// one Entra may manage (its local password removed), and ends its sessions.
// detachedAndLinked creates Ola, detached from Entra (managed locally), and
// Kim, provisioned by Entra and linked to objectID.
func (f *fixture) detachedAndLinked(t *testing.T, objectID string) (ola, kim *directory.Employee) {
	t.Helper()
	ctx := context.Background()
	ola = &directory.Employee{CompanyID: f.co.ID, UserName: "ola@a.example", Email: "ola@a.example", GivenName: "Ola", FamilyName: "N",
		Active: true, Source: directory.SourceLocal}
	testenv.Must(t, f.dir.CreateEmployee(ctx, ola), "create detached")
	kim = &directory.Employee{CompanyID: f.co.ID, UserName: "kim@a.example", Email: "kim@a.example", GivenName: "Kim", FamilyName: "N",
		Active: true, Source: directory.SourceSCIM, EntraLinked: true, EntraObjectID: objectID}
	testenv.Must(t, f.dir.CreateEmployee(ctx, kim), "create linked")
	return ola, kim
}

func TestLink(t *testing.T) {
	ctx := context.Background()
	const oid, other = "8c1b3a4e-2f5d-4c7a-9e1b-0a2b3c4d5e6f", "11111111-2222-3333-4444-555555555555"
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ola, kim := f.detachedAndLinked(t, other)
			testenv.Must(t, f.dir.SetEmployeePassword(ctx, f.co.ID, ola.ID, "$argon2id$v=19$m=32768,t=2,p=1$c2FsdA$aGFzaA"), "password")
			sid := f.session(t, ola, session.KindBrowser)
			me := admin.Actor{Name: "cli"}
			var rf *usererr.Error
			for _, bad := range []string{"", "ola@a.example", "8c1b3a4e2f5d4c7a9e1b0a2b3c4d5e6f", oid + "0"} {
				if _, err := f.svc.Link(ctx, me, f.co.ID, ola.ID, bad); !errors.As(err, &rf) || rf.Kind() != usererr.Invalid {
					t.Fatalf("Link(%q): %v, want an invalid-value refusal", bad, err)
				}
			}
			if _, err := f.svc.Link(ctx, me, f.co.ID, ola.ID, other); !errors.As(err, &rf) || !strings.Contains(rf.Message(), kim.ID) {
				t.Fatalf("Link to an object id Kim holds: %v", err)
			}
			e, err := f.svc.Link(ctx, me, f.co.ID, ola.ID, " 8C1B3A4E-2F5D-4C7A-9E1B-0A2B3C4D5E6F ")
			testenv.Must(t, err, "link")
			got := f.get(t, "ola@a.example")
			if got.EntraObjectID != oid || got.Source != directory.SourceImport || got.EntraLinked || e.EntraObjectID != oid {
				t.Fatalf("after Link: %+v", got)
			}
			if _, err := f.dir.GetEmployeePassword(ctx, f.co.ID, ola.ID); !errors.Is(err, directory.ErrNotFound) {
				t.Fatalf("the local password survived the link: %v", err)
			}
			if f.alive(sid) {
				t.Fatal("a session made before the link survived it")
			}
			if _, err := f.svc.Link(ctx, me, f.co.ID, ola.ID, oid); !errors.As(err, &rf) {
				t.Fatalf("linking twice to the same id: %v", err)
			}
			// A person who moved to a new Entra account: re-link Kim.
			if _, err := f.svc.Link(ctx, me, f.co.ID, kim.ID, "99999999-8888-7777-6666-555555555555"); err != nil {
				t.Fatal(err)
			}
			if k := f.get(t, "kim@a.example"); k.EntraObjectID != "99999999-8888-7777-6666-555555555555" || !k.EntraLinked || k.Source != directory.SourceSCIM {
				t.Fatalf("re-linked Entra employee: %+v", k)
			}
			audit, err := f.dir.ListAudit(ctx, f.co.ID, 10)
			testenv.Must(t, err, "audit")
			n := 0
			for _, a := range audit {
				if a.Action == "employee.link" && a.Actor == "cli" {
					n++
				}
			}
			if n != 2 {
				t.Fatalf("%d employee.link audit entries, want 2", n)
			}
		})
	}
}

// failingRecompute is a directory whose RecomputeApprovers fails, inside
// transactions too.
type failingRecompute struct{ directory.Store }

var errRecompute = errors.New("recompute failed")

func (f failingRecompute) InTx(ctx context.Context, fn func(tx directory.Store) error) error {
	return f.Store.InTx(ctx, func(tx directory.Store) error { return fn(failingRecompute{tx}) })
}

func (failingRecompute) RecomputeApprovers(context.Context, int64, ...string) error {
	return errRecompute
}

// TestActivityIsAtomic: (de)activating an employee and recomputing their
// manager's approver role are one transaction, as in SCIM and the import:
// when the recomputation fails nothing is written (no half-done change
// whose approver role nobody can fix by hand), and no session ends.
func TestActivityIsAtomic(t *testing.T) {
	ctx := context.Background()
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			_, err := f.importCSV(t, header+"\nboss@a.example,boss@a.example,Bo,Ss\nolaf@a.example,olaf@a.example,Olaf,Berg\n", false)
			testenv.Must(t, err, "import")
			boss, olaf := f.get(t, "boss@a.example"), f.get(t, "olaf@a.example")
			testenv.Must(t, directory.SetManager(ctx, f.dir, f.co.ID, olaf.ID, boss.ID), "set manager")
			sid := f.session(t, olaf, session.KindBrowser)
			broken := &admin.Service{Dir: failingRecompute{f.dir}, Sessions: f.ss}
			me := admin.Actor{Name: "cli"}

			_, err = broken.Deactivate(ctx, me, f.co.ID, olaf.ID)
			if !errors.Is(err, errRecompute) || errors.Is(err, admin.ErrAfterCommit) {
				t.Fatalf("Deactivate with a failing recomputation: %v, want the failure, nothing committed", err)
			}
			if got := f.get(t, "olaf@a.example"); !got.Active || got.TerminationDate != "" || !f.get(t, "boss@a.example").IsApprover || !f.alive(sid) {
				t.Fatalf("a failed deactivation left %+v, boss approver %v, session alive %v", got, f.get(t, "boss@a.example").IsApprover, f.alive(sid))
			}
			if n := len(f.audits(t, "employee.deactivate")); n != 0 {
				t.Fatalf("%d audit entries for a deactivation that did not happen", n)
			}

			_, err = f.svc.Deactivate(ctx, me, f.co.ID, olaf.ID)
			testenv.Must(t, err, "deactivate")
			if _, err := broken.Activate(ctx, me, f.co.ID, olaf.ID); !errors.Is(err, errRecompute) || errors.Is(err, admin.ErrAfterCommit) {
				t.Fatalf("Activate with a failing recomputation: %v", err)
			}
			if got := f.get(t, "olaf@a.example"); got.Active || f.get(t, "boss@a.example").IsApprover {
				t.Fatalf("a failed activation left %+v", got)
			}
		})
	}
}

// TestDepartmentApprovers: adding and removing a department approver is a
// service operation with its validation, refusals and audit entry.
func TestDepartmentApprovers(t *testing.T) {
	ctx := context.Background()
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			_, err := f.importCSV(t, header+",active\nlars@a.example,lars@a.example,Lars,J,true\nsofie@a.example,sofie@a.example,Sofie,B,false\n", false)
			testenv.Must(t, err, "import")
			lars, sofie := f.get(t, "lars@a.example"), f.get(t, "sofie@a.example")
			me := admin.Actor{Name: "admin:it@a.example"}
			approvers := func() []string {
				t.Helper()
				ids, err := f.dir.ListDepartmentApprovers(ctx, f.co.ID, "sales")
				testenv.Must(t, err, "list")
				return ids
			}
			var rf *usererr.Error
			for _, bad := range []string{"", "   ", strings.Repeat("x", 201)} {
				if _, err := f.svc.AddDepartmentApprover(ctx, me, f.co.ID, lars.ID, bad); !errors.As(err, &rf) || rf.Kind() != usererr.Invalid {
					t.Fatalf("department %q: %v, want an invalid-value refusal", bad, err)
				}
			}
			if _, err := f.svc.AddDepartmentApprover(ctx, me, f.co.ID, sofie.ID, "Sales"); !errors.As(err, &rf) || rf.Kind() != usererr.Conflict {
				t.Fatalf("an inactive employee as approver: %v", err)
			}
			if _, err := f.svc.AddDepartmentApprover(ctx, me, f.co.ID, "no-such-id", "Sales"); !errors.Is(err, directory.ErrNotFound) {
				t.Fatalf("an unknown employee: %v", err)
			}
			if _, err := f.svc.AddDepartmentApprover(ctx, me, f.co.ID, lars.ID, " Sales "); err != nil {
				t.Fatal(err)
			}
			if ids := approvers(); len(ids) != 1 || ids[0] != lars.ID {
				t.Fatalf("approvers of Sales: %v", ids)
			}
			if _, err := f.svc.AddDepartmentApprover(ctx, me, f.co.ID, lars.ID, "SALES"); !errors.As(err, &rf) || rf.Code() != "already_department_approver" {
				t.Fatalf("adding twice: %v", err)
			}
			if _, err := f.svc.RemoveDepartmentApprover(ctx, me, f.co.ID, lars.ID, "sales"); err != nil {
				t.Fatal(err)
			}
			if ids := approvers(); len(ids) != 0 {
				t.Fatalf("approvers after removal: %v", ids)
			}
			if _, err := f.svc.RemoveDepartmentApprover(ctx, me, f.co.ID, lars.ID, "Sales"); !errors.As(err, &rf) || rf.Kind() != usererr.Conflict {
				t.Fatalf("removing twice: %v", err)
			}
			add, rm := f.audits(t, "employee.department_approver.add"), f.audits(t, "employee.department_approver.remove")
			want := "employee=" + lars.ID + " (lars@a.example) department="
			if len(add) != 1 || len(rm) != 1 || add[0].Actor != me.Name || add[0].Detail != want+`"Sales"` || rm[0].Detail != want+`"sales"` {
				t.Fatalf("audit: add %+v remove %+v", add, rm)
			}
		})
	}
}

func TestEndSessions(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "console"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			_, err := f.importCSV(t, "userName,email,givenName,familyName\nmaja@acme.example,maja@acme.example,Maja,Berg\nole@acme.example,ole@acme.example,Ole,Dahl\n", false)
			testenv.Must(t, err, "import")
			maja, ole := f.get(t, "maja@acme.example"), f.get(t, "ole@acme.example")
			one, two, hers := f.session(t, maja, session.KindBrowser), f.session(t, maja, session.KindAdmin), f.session(t, ole, session.KindBrowser)

			if err := f.svc.EndSession(ctx, who, f.co.ID, maja.ID, hers); kindOf(err) != usererr.NotFound || !f.alive(hers) {
				t.Fatalf("ending Ole's session as Maja's: %v", err)
			}
			testenv.Must(t, f.svc.EndSession(ctx, who, f.co.ID, maja.ID, one), "end one")
			if f.alive(one) || !f.alive(two) {
				t.Fatal("EndSession ended the wrong sessions")
			}
			if _, err := f.svc.EndSessions(ctx, who, f.co.ID, "no-such-id"); kindOf(err) != usererr.NotFound {
				t.Fatalf("an unknown employee: %v", err)
			}
			other := &directory.Company{Slug: "beta", Name: "Beta", NameIDMode: directory.NameIDUPN}
			testenv.Must(t, f.dir.CreateCompany(ctx, other), "company")
			if _, err := f.svc.EndSessions(ctx, who, other.ID, maja.ID); kindOf(err) != usererr.NotFound || !f.alive(two) {
				t.Fatalf("beta ended acme's employee's sessions: %v", err)
			}
			n, err := f.svc.EndSessions(ctx, who, f.co.ID, maja.ID)
			testenv.Must(t, err, "end all")
			if n != 1 || f.alive(two) || !f.alive(hers) {
				t.Fatalf("EndSessions ended %d; Maja's admin session alive %v, Ole's %v", n, f.alive(two), f.alive(hers))
			}
			a := f.audits(t, "sessions.revoke")
			if len(a) != 2 || !strings.Contains(a[0].Detail+a[1].Detail, "revoked=1") || !strings.Contains(a[0].Detail+a[1].Detail, "kind=browser") {
				t.Fatalf("audit: %+v", a)
			}
		})
	}
}

func TestSetLocalPassword(t *testing.T) {
	ctx := context.Background()
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	who := admin.Actor{Name: "console"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ola, kim := f.detachedAndLinked(t, "11111111-2222-3333-4444-555555555555")

			if err := f.svc.SetLocalPassword(ctx, who, f.co.ID, ola.ID, "correct horse battery staple"); err == nil {
				t.Fatal("a password that is not an encoded hash was stored")
			}
			if err := f.svc.SetLocalPassword(ctx, who, f.co.ID, kim.ID, hash); kindOf(err) != usererr.Conflict {
				t.Fatalf("a password for an employee Entra manages: %v", err)
			}
			if _, err := f.dir.GetEmployeePassword(ctx, f.co.ID, kim.ID); !errors.Is(err, directory.ErrNotFound) {
				t.Fatalf("the refused password was stored: %v", err)
			}
			testenv.Must(t, f.svc.SetLocalPassword(ctx, who, f.co.ID, ola.ID, hash), "set")
			got, err := f.dir.GetEmployeePassword(ctx, f.co.ID, ola.ID)
			if err != nil || got != hash {
				t.Fatalf("stored %q, %v", got, err)
			}
			if a := f.audits(t, "employee.password"); len(a) != 1 || !strings.Contains(a[0].Detail, ola.ID) || strings.Contains(a[0].Detail, "argon2") {
				t.Fatalf("audit: %+v", a)
			}
		})
	}
}

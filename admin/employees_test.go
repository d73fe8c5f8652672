package admin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
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
			var rf *admin.Refusal

			if _, err := f.svc.SetRoles(ctx, me, f.co.ID, boss.ID, admin.Roles{}); !errors.As(err, &rf) || f.get(t, "boss@a.example").IsAdmin == false {
				t.Fatalf("an admin took their own role: %v", err)
			}
			if _, err := f.svc.Deactivate(ctx, me, f.co.ID, boss.ID); !errors.As(err, &rf) {
				t.Fatalf("an admin deactivated themselves: %v", err)
			}
			if _, err := f.svc.SetIdentity(ctx, me, f.co.ID, olaf.ID, "olaf berg", ""); !errors.As(err, &rf) || !rf.Invalid {
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
			audit, err := f.dir.ListAudit(ctx, f.co.ID, 100)
			testenv.Must(t, err, "audit")
			seen := map[string]bool{}
			for _, a := range audit {
				if a.Actor == me.Name {
					seen[a.Action] = true
				}
			}
			for _, want := range []string{"employee.roles", "employee.deactivate", "employee.activate"} {
				if !seen[want] {
					t.Errorf("no audit entry %s by %s: %v", want, me.Name, seen)
				}
			}
		})
	}
}

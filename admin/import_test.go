package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

type fixture struct {
	svc *admin.Service
	dir directory.Store
	ss  session.Store
	co  *directory.Company
}

func setup(t *testing.T, b teststores.Backend) *fixture {
	t.Helper()
	f := &fixture{dir: b.Dir(t), ss: b.Sessions(t)}
	f.co = &directory.Company{Slug: "acme", Name: "Acme", NameIDMode: directory.NameIDUPN}
	testenv.Must(t, f.dir.CreateCompany(context.Background(), f.co), "create company")
	f.svc = &admin.Service{Dir: f.dir, Sessions: f.ss}
	return f
}

func (f *fixture) importCSV(t *testing.T, csv string, dry bool) (*admin.ImportResult, error) {
	t.Helper()
	im, err := admin.ParseCSV(strings.NewReader(csv))
	testenv.Must(t, err, "parse")
	return f.svc.ImportEmployees(context.Background(), "test", f.co, im, dry)
}

func (f *fixture) get(t *testing.T, userName string) *directory.Employee {
	t.Helper()
	e, err := f.dir.FindEmployeeByUserName(context.Background(), f.co.ID, userName)
	testenv.Must(t, err, "find %s", userName)
	return e
}

func (f *fixture) session(t *testing.T, e *directory.Employee, kind session.Kind) string {
	t.Helper()
	now := time.Now()
	id := session.Key(session.NewSecret())
	testenv.Must(t, f.ss.Create(context.Background(), &session.Session{ID: id, Kind: kind, CompanyID: f.co.ID, Company: f.co.Slug,
		EmployeeID: e.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}), "create session")
	return id
}

func (f *fixture) alive(id string) bool {
	_, err := f.ss.Get(context.Background(), id)
	return err == nil
}

const header = "userName,email,givenName,familyName"

func TestImport(t *testing.T) {
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("explicit deactivation ends sessions and the manager's approver role", func(t *testing.T) {
				f := setup(t, b)
				_, err := f.importCSV(t, header+",active\nboss@a.example,boss@a.example,Bo,Ss,true\nolaf@a.example,olaf@a.example,Olaf,Berg,true\n", false)
				testenv.Must(t, err, "first import")
				boss, olaf := f.get(t, "boss@a.example"), f.get(t, "olaf@a.example")
				testenv.Must(t, directory.SetManager(context.Background(), f.dir, f.co.ID, olaf.ID, boss.ID), "set manager")
				if !f.get(t, "boss@a.example").IsApprover {
					t.Fatal("the manager is not an approver after the link")
				}
				sid := f.session(t, olaf, session.KindBrowser)

				res, err := f.importCSV(t, header+",active\nolaf@a.example,olaf@a.example,Olaf,Berg,false\n", false)
				testenv.Must(t, err, "deactivating import")
				if res.Deactivated != 1 || !res.Changes[0].Deactivated {
					t.Fatalf("result: %+v", res)
				}
				if got := f.get(t, "olaf@a.example"); got.Active || got.TerminationDate == "" {
					t.Fatalf("olaf: active=%v termination=%q", got.Active, got.TerminationDate)
				}
				if f.alive(sid) {
					t.Fatal("the deactivated employee's session survived")
				}
				if f.get(t, "boss@a.example").IsApprover {
					t.Fatal("the manager of nobody active is still an approver")
				}

				// Only an explicit active=true brings them back, and says so.
				res, err = f.importCSV(t, header+",active\nolaf@a.example,olaf@a.example,Olaf,Berg,true\n", false)
				testenv.Must(t, err, "reactivating import")
				if res.Reactivated != 1 || !f.get(t, "olaf@a.example").Active || f.get(t, "olaf@a.example").TerminationDate != "" {
					t.Fatalf("reactivation: %+v", res)
				}
				if !f.get(t, "boss@a.example").IsApprover {
					t.Fatal("the manager's approver role did not come back")
				}
			})

			t.Run("removing the admin role ends only admin sessions", func(t *testing.T) {
				f := setup(t, b)
				_, err := f.importCSV(t, header+",isAdmin\nmaja@a.example,maja@a.example,Maja,Holm,true\n", false)
				testenv.Must(t, err, "first import")
				maja := f.get(t, "maja@a.example")
				adminSID, browserSID := f.session(t, maja, session.KindAdmin), f.session(t, maja, session.KindBrowser)
				res, err := f.importCSV(t, header+",isAdmin\nmaja@a.example,maja@a.example,Maja,Holm,false\n", false)
				testenv.Must(t, err, "de-roling import")
				if res.AdminRemoved != 1 || f.get(t, "maja@a.example").IsAdmin {
					t.Fatalf("result: %+v", res)
				}
				if f.alive(adminSID) || !f.alive(browserSID) {
					t.Fatalf("admin session alive=%v, browser session alive=%v", f.alive(adminSID), f.alive(browserSID))
				}
			})

			t.Run("an empty yes/no cell changes nothing", func(t *testing.T) {
				f := setup(t, b)
				_, err := f.importCSV(t, header+",isAdmin,active\nmaja@a.example,maja@a.example,Maja,Holm,true,false\n", false)
				testenv.Must(t, err, "first import")
				res, err := f.importCSV(t, header+",isAdmin,active\nmaja@a.example,maja@a.example,Maja,Holm,,\n", false)
				testenv.Must(t, err, "second import")
				if got := f.get(t, "maja@a.example"); !got.IsAdmin || got.Active || res.Unchanged != 1 {
					t.Fatalf("admin=%v active=%v result=%+v", got.IsAdmin, got.Active, res)
				}
			})

			t.Run("dry run writes nothing, conflicts included", func(t *testing.T) {
				f := setup(t, b)
				_, err := f.importCSV(t, header+",title\nmaja@a.example,maja@a.example,Maja,Holm,Lead\n", false)
				testenv.Must(t, err, "first import")
				res, err := f.importCSV(t, header+",title\nmaja@a.example,maja@a.example,Maja,Holm,Chief\nnew@a.example,new@a.example,New,Person,\n", true)
				testenv.Must(t, err, "dry run")
				if !res.DryRun || res.Created != 1 || res.Updated != 1 || res.Changes[0].Fields[0] != (admin.FieldChange{Field: "title", Old: "Lead", New: "Chief"}) {
					t.Fatalf("dry run result: %+v", res)
				}
				if f.get(t, "maja@a.example").Title != "Lead" {
					t.Fatal("the dry run changed the title")
				}
				if _, err := f.dir.FindEmployeeByUserName(context.Background(), f.co.ID, "new@a.example"); !errors.Is(err, directory.ErrNotFound) {
					t.Fatalf("the dry run created an employee: %v", err)
				}
				audit, err := f.dir.ListAudit(context.Background(), f.co.ID, 100)
				testenv.Must(t, err, "audit")
				for _, a := range audit {
					if strings.Contains(a.Detail, "Chief") || strings.Contains(a.Detail, "new@a.example") {
						t.Fatalf("the dry run left an audit entry: %+v", a)
					}
				}
				// A conflict shows in a dry run as in a real one.
				_, err = f.importCSV(t, header+"\nother@a.example,maja@a.example,Other,Person\n", true)
				var ce *directory.ConflictError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "line 2") {
					t.Fatalf("dry-run conflict: %v", err)
				}
			})

			t.Run("one bad row leaves everything as it was", func(t *testing.T) {
				f := setup(t, b)
				_, err := f.importCSV(t, header+"\nmaja@a.example,maja@a.example,Maja,Holm\n", false)
				testenv.Must(t, err, "first import")
				linked := f.get(t, "maja@a.example")
				linked.EntraLinked = true
				testenv.Must(t, f.dir.UpdateEmployee(context.Background(), linked), "link")
				_, err = f.importCSV(t, header+"\nfirst@a.example,first@a.example,First,Row\nmaja@a.example,maja@a.example,Changed,Holm\n", false)
				var rf *usererr.Error
				if !errors.As(err, &rf) || !strings.Contains(rf.Message(), "managed by Entra") {
					t.Fatalf("import over an Entra-managed employee: %v", err)
				}
				if _, err := f.dir.FindEmployeeByUserName(context.Background(), f.co.ID, "first@a.example"); !errors.Is(err, directory.ErrNotFound) {
					t.Fatalf("the refused import kept its first row: %v", err)
				}
			})
		})
	}
}

func TestParseCSV(t *testing.T) {
	im, err := admin.ParseCSV(strings.NewReader("\xef\xbb\xbfUserName;Mail;givenName;familyName;Title\nmaja@a.example;maja@a.example;Maja;Holm;Lead\n"))
	testenv.Must(t, err, "semicolons and a BOM")
	if strings.Join(im.Columns, ",") != "userName,email,givenName,familyName,title" || im.Rows[0].Values["title"] != "Lead" || im.Rows[0].Line != 2 {
		t.Fatalf("parsed: %+v", im)
	}
	for name, tc := range map[string]struct{ csv, want string }{
		"unknown column":  {header + ",shoeSize\n", `"shoeSize" is not a known field`},
		"twice":           {header + ",title,Title\n", "appears twice"},
		"missing":         {"userName,givenName,familyName\n", "must name email"},
		"bad yes/no":      {header + ",active\na@a,a@a,A,B,maybe\n", `active "maybe" is not true or false`},
		"duplicate user":  {header + "\na@a,a@a,A,B\nA@a,b@a,A,B\n", "line 3: userName A@a already on line 2"},
		"required values": {header + "\na@a,a@a,,B\n", "line 2: userName, givenName and familyName are required"},
		"too many fields": {header + "\na@a,a@a,A,B,C\n", "line 2: more fields than the header"},
	} {
		if _, err := admin.ParseCSV(strings.NewReader(tc.csv)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

// TestImportResolvesPendingManagers: an employee Entra provisioned with a
// manager ssogate did not know yet (a pending reference to the manager's
// externalId) reports to the manager once an import brings them, by a new
// row or by setting the externalId of an existing one; the manager is then
// an approver. A dry run says so and changes nothing.
func TestImportResolvesPendingManagers(t *testing.T) {
	ctx := context.Background()
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			waits := func(userName, ref string) *directory.Employee {
				e := &directory.Employee{CompanyID: f.co.ID, UserName: userName, Email: userName, GivenName: "R", FamilyName: "E",
					Active: true, Source: directory.SourceSCIM, EntraLinked: true, ManagerRef: ref}
				testenv.Must(t, f.dir.CreateEmployee(ctx, e), "create %s", userName)
				return e
			}
			ida, kim := waits("ida@a.example", "ext-boss"), waits("kim@a.example", "ext-lead")

			const row = header + ",externalId\nboss@a.example,boss@a.example,Bo,Ss,ext-boss\n"
			res, err := f.importCSV(t, row, true)
			testenv.Must(t, err, "dry run")
			if !res.Changes[0].ManagerLinked || f.get(t, ida.UserName).ManagerID != "" {
				t.Fatalf("dry run: %+v; Ida's manager %q", res.Changes[0], f.get(t, ida.UserName).ManagerID)
			}
			res, err = f.importCSV(t, row, false)
			testenv.Must(t, err, "import")
			boss := f.get(t, "boss@a.example")
			if got := f.get(t, ida.UserName); got.ManagerID != boss.ID || got.ManagerRef != "" || !boss.IsApprover || !res.Changes[0].ManagerLinked {
				t.Fatalf("after the import: Ida %+v, boss approver %v", got, boss.IsApprover)
			}

			// An existing employee given the externalId Kim waits for.
			res, err = f.importCSV(t, header+"\nlead@a.example,lead@a.example,Le,Ad\n", false)
			testenv.Must(t, err, "lead")
			if got := f.get(t, kim.UserName); got.ManagerID != "" || res.Changes[0].ManagerLinked {
				t.Fatalf("an employee without externalId became someone's manager: Kim %+v", got)
			}
			res, err = f.importCSV(t, header+",externalId\nlead@a.example,lead@a.example,Le,Ad,ext-lead\n", false)
			testenv.Must(t, err, "lead's externalId")
			lead := f.get(t, "lead@a.example")
			if got := f.get(t, kim.UserName); got.ManagerID != lead.ID || !lead.IsApprover || !res.Changes[0].ManagerLinked {
				t.Fatalf("after setting the externalId: Kim %+v, lead %+v", got, lead)
			}
		})
	}
}

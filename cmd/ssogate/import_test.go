package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/redisstore"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// TestImportDeactivationRevokesSessions: a re-import that marks someone
// inactive ends their sessions in the shared store, like SCIM does.
func TestImportDeactivationRevokesSessions(t *testing.T) {
	redisURL, _ := testenv.RedisURL(t)
	dir := t.TempDir()
	env := map[string]string{"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "gw.db"), "SSOGATE_REDIS_URL": redisURL, "SSOGATE_LOG_LEVEL": "warn"}
	mustCLI(t, env, "", "company", "create", "acme")
	csv := filepath.Join(dir, "p.csv")
	os.WriteFile(csv, []byte("userName,email,givenName,familyName,active\nmaja@acme.example,maja@acme.example,Maja,Holm,true\n"), 0o600)
	mustCLI(t, env, "", "employees", "import", "acme", "--file", csv)

	ctx := context.Background()
	st, err := sqlstore.Open(ctx, env["SSOGATE_DATABASE_URL"], sqlstore.Options{})
	testenv.Must(t, err, "open")
	c, _ := st.GetCompany(ctx, "acme")
	e, err := st.FindEmployeeByUserName(ctx, c.ID, "maja@acme.example")
	testenv.Must(t, err, "find")
	st.Close()
	rs, err := redisstore.Open(ctx, redisURL, redisstore.Options{})
	testenv.Must(t, err, "redis")
	defer rs.Close()
	now := time.Now()
	id := session.Key(session.NewSecret())
	testenv.Must(t, rs.Create(ctx, &session.Session{ID: id, Kind: session.KindBrowser, CompanyID: c.ID, Company: "acme",
		EmployeeID: e.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}), "create session")

	os.WriteFile(csv, []byte("userName,email,givenName,familyName,active\nmaja@acme.example,maja@acme.example,Maja,Holm,false\n"), 0o600)
	out := mustCLI(t, env, "", "employees", "import", "acme", "--file", csv)
	if !strings.Contains(out, "1 updated") {
		t.Fatalf("re-import: %s", out)
	}
	if _, err := rs.Get(ctx, id); err == nil {
		t.Fatal("the deactivated employee's session survived the import")
	}
	st, _ = sqlstore.Open(ctx, env["SSOGATE_DATABASE_URL"], sqlstore.Options{})
	defer st.Close()
	got, _ := st.GetEmployee(ctx, c.ID, e.ID)
	if got.Active || got.TerminationDate == "" {
		t.Fatalf("after the import: active=%v termination=%q", got.Active, got.TerminationDate)
	}
}

// TestReimportWithFewerColumnsChangesOnlyThose: a spreadsheet that leaves
// out title, isAdmin and active changes nobody's title, admin role or
// active flag (a re-import once cleared the admin role and the title and
// silently re-activated people who had left).
func TestReimportWithFewerColumnsChangesOnlyThose(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "gw.db"), "SSOGATE_LOG_LEVEL": "warn"}
	mustCLI(t, env, "", "company", "create", "acme")
	csv := filepath.Join(dir, "p.csv")
	os.WriteFile(csv, []byte("userName,email,givenName,familyName,title,isAdmin,active\n"+
		"maja@acme.example,maja@acme.example,Maja,Holm,HR lead,true,true\n"+
		"olaf@acme.example,olaf@acme.example,Olaf,Berg,Driver,false,false\n"), 0o600)
	mustCLI(t, env, "", "employees", "import", "acme", "--file", csv)

	// The second export has only the required columns and a new given name.
	os.WriteFile(csv, []byte("userName,email,givenName,familyName\n"+
		"maja@acme.example,maja@acme.example,Majken,Holm\n"+
		"olaf@acme.example,olaf@acme.example,Olaf,Berg\n"), 0o600)
	out := mustCLI(t, env, "", "employees", "import", "acme", "--file", csv, "--dry-run")
	if !strings.Contains(out, `givenName "Maja" → "Majken"`) || !strings.Contains(out, "dry run, nothing was changed") || strings.Contains(out, "olaf") {
		t.Fatalf("dry run printed:\n%s", out)
	}
	ctx := context.Background()
	check := func(wantGiven string) {
		t.Helper()
		st, err := sqlstore.Open(ctx, env["SSOGATE_DATABASE_URL"], sqlstore.Options{})
		testenv.Must(t, err, "open")
		defer st.Close()
		c, _ := st.GetCompany(ctx, "acme")
		maja, err := st.FindEmployeeByUserName(ctx, c.ID, "maja@acme.example")
		testenv.Must(t, err, "find maja")
		olaf, err := st.FindEmployeeByUserName(ctx, c.ID, "olaf@acme.example")
		testenv.Must(t, err, "find olaf")
		if maja.GivenName != wantGiven || maja.Title != "HR lead" || !maja.IsAdmin || !maja.Active {
			t.Fatalf("maja after re-import: given=%q title=%q admin=%v active=%v", maja.GivenName, maja.Title, maja.IsAdmin, maja.Active)
		}
		if olaf.Active || olaf.Title != "Driver" {
			t.Fatalf("olaf after re-import: active=%v title=%q", olaf.Active, olaf.Title)
		}
	}
	check("Maja")
	out = mustCLI(t, env, "", "employees", "import", "acme", "--file", csv)
	if !strings.Contains(out, "1 updated, 1 unchanged") {
		t.Fatalf("re-import printed:\n%s", out)
	}
	check("Majken")
}

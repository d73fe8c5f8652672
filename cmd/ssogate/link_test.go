package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// TestEmployeesLink: `ssogate employees link` binds an employee to the
// Entra object id it names (by --user or --id), refuses a malformed one
// with one clear line, and the audit log records it.
func TestEmployeesLink(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "gw.db"), "SSOGATE_LOG_LEVEL": "warn"}
	mustCLI(t, env, "", "company", "create", "acme")
	csv := filepath.Join(dir, "p.csv")
	testenv.Must(t, os.WriteFile(csv, []byte("userName,email,givenName,familyName\nola@acme.example,ola@acme.example,Ola,N\n"), 0o600), "csv")
	mustCLI(t, env, "", "employees", "import", "acme", "--file", csv)

	if _, _, err := cli(t, env, "", "employees", "link", "acme", "--user", "ola@acme.example", "--object-id", "not-a-guid"); err == nil || !strings.Contains(err.Error(), "Object ID") {
		t.Fatalf("malformed object id: %v", err)
	}
	if _, _, err := cli(t, env, "", "employees", "link", "acme", "--object-id", "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"); err == nil {
		t.Fatal("link without --id or --user accepted")
	}
	out := mustCLI(t, env, "", "employees", "link", "acme", "--user", "ola@acme.example", "--object-id", "6F1C2D3E-4A5B-4C6D-8E7F-901A2B3C4D5E")
	if !strings.Contains(out, "to Entra object 6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e") {
		t.Fatalf("output: %q", out)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, env["SSOGATE_DATABASE_URL"], sqlstore.Options{})
	testenv.Must(t, err, "open")
	defer st.Close()
	c, _ := st.GetCompany(ctx, "acme")
	e, err := st.FindEmployeeByUserName(ctx, c.ID, "ola@acme.example")
	testenv.Must(t, err, "find")
	if e.EntraObjectID != "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e" {
		t.Fatalf("object id %q", e.EntraObjectID)
	}
	audit, err := st.ListAudit(ctx, c.ID, 10)
	testenv.Must(t, err, "audit")
	if len(audit) == 0 || audit[0].Action != "employee.link" || audit[0].Actor != "cli" {
		t.Fatalf("audit %+v", audit)
	}
}

package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// TestSCIMClientCommands: `scim client add` prints what to paste into
// Entra's OAuth2 Client Credentials Grant once; `list` shows secrets with
// expiry and never a secret; `add --client-id` rotates; `remove` removes a
// secret or the client; `sso show` names the fields for both modes.
func TestSCIMClientCommands(t *testing.T) {
	env := map[string]string{
		"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gw.db"),
		"SSOGATE_PUBLIC_URL":   "https://sso.example.com",
		"SSOGATE_LOG_LEVEL":    "warn",
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme A/S")
	show := mustCLI(t, env, "", "sso", "show", "acme")
	for _, want := range []string{"Tenant URL", "https://sso.example.com/c/acme/scim/v2", "Secret Token", "OAuth2 Client Credentials Grant",
		"Token Endpoint", "https://sso.example.com/c/acme/scim/oauth/token", "ssogate scim client add acme"} {
		if !strings.Contains(show, want) {
			t.Errorf("sso show lacks %q:\n%s", want, show)
		}
	}
	field := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s+(\S+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s in:\n%s", name, out)
		}
		return m[1]
	}
	out := mustCLI(t, env, "", "scim", "client", "add", "acme", "--label", "Entra", "--expires", "2y")
	id, secret := field(out, "Client Identifier"), field(out, "Client Secret")
	if field(out, "Token Endpoint") != "https://sso.example.com/c/acme/scim/oauth/token" || field(out, "Tenant URL") != "https://sso.example.com/c/acme/scim/v2" ||
		!strings.HasPrefix(id, "scim-") || !strings.HasPrefix(secret, "ssg_scimsecret_") || len(secret) < 50 {
		t.Fatalf("scim client add:\n%s", out)
	}
	if _, _, err := cli(t, env, "", "scim", "client", "add", "acme", "--expires", "5y"); err == nil || !strings.Contains(err.Error(), "1y, 2y or 3y") {
		t.Fatalf("a 5-year secret: %v", err)
	}
	if _, _, err := cli(t, env, "", "scim", "client", "add", "acme", "--client-id", "scim-nosuch"); err == nil || !strings.Contains(err.Error(), "no SCIM client") {
		t.Fatalf("secret for an unknown client: %v", err)
	}
	out = mustCLI(t, env, "", "scim", "client", "add", "acme", "--client-id", id)
	if field(out, "Client Identifier") != id || field(out, "Client Secret") == secret {
		t.Fatalf("second secret:\n%s", out)
	}
	secret2 := field(out, "Client Secret")
	list := mustCLI(t, env, "", "scim", "client", "list", "acme")
	if strings.Count(list, id) != 2 || strings.Contains(list, secret) || strings.Contains(list, secret2) || !strings.Contains(list, "valid") {
		t.Fatalf("scim client list:\n%s", list)
	}
	show = mustCLI(t, env, "", "sso", "show", "acme")
	if !strings.Contains(show, id) || !strings.Contains(show, "2 valid secret(s)") || strings.Contains(show, secret) {
		t.Fatalf("sso show with a client:\n%s", show)
	}
	// Remove the first secret by the id `list` shows.
	firstSecret := regexp.MustCompile(`(?m)^` + id + `\s+Entra\s+(\d+)\s`).FindStringSubmatch(list)
	if firstSecret == nil {
		t.Fatalf("no secret id in:\n%s", list)
	}
	if _, _, err := cli(t, env, "", "scim", "client", "remove", "acme", id, "--secret", "99999"); err == nil {
		t.Fatal("removing a secret the client does not have succeeded")
	}
	mustCLI(t, env, "", "scim", "client", "remove", "acme", id, "--secret", firstSecret[1])
	if list := mustCLI(t, env, "", "scim", "client", "list", "acme"); strings.Count(list, id) != 1 {
		t.Fatalf("after removing a secret:\n%s", list)
	}
	mustCLI(t, env, "", "scim", "client", "remove", "acme", id)
	if list := mustCLI(t, env, "", "scim", "client", "list", "acme"); strings.Contains(list, id) {
		t.Fatalf("after removing the client:\n%s", list)
	}
	if _, _, err := cli(t, env, "", "scim", "client", "remove", "acme", id); err == nil || !strings.Contains(err.Error(), "no SCIM client") {
		t.Fatalf("removing twice: %v", err)
	}
	if _, _, err := cli(t, env, "", "scim", "client", "remove", "acme"); err == nil {
		t.Fatal("remove without a client id succeeded")
	}
	// A secret near its end is flagged in the list, an expired one too.
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, env["SSOGATE_DATABASE_URL"], sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.GetCompany(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	// Clients made in the past: the service on a clock set back.
	back := func(t time.Time) *admin.Service { return &admin.Service{Dir: st, Now: func() time.Time { return t }} }
	soon, _, err := back(time.Now().AddDate(-1, 0, 10)).AddSCIMClient(ctx, cliActor, c.ID, "soon", 1)
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := back(time.Now().AddDate(-2, 0, 0)).AddSCIMClient(ctx, cliActor, c.ID, "old", 1)
	if err != nil {
		t.Fatal(err)
	}
	list = mustCLI(t, env, "", "scim", "client", "list", "acme")
	if !regexp.MustCompile(soon.ClientID+`\s.*expires in (9|10) days`).MatchString(list) || !regexp.MustCompile(old.ClientID+`\s.*expired`).MatchString(list) {
		t.Fatalf("expiry states in scim client list:\n%s", list)
	}
}

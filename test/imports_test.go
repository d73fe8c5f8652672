package test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/ssogate/ssogate"

// TestImportRules keeps the dependency direction of docs/architecture.md:
// cmd → web → {sso, sso/scim, session, certs} → sso/directory, with
// protocol, storage and HTTP kept apart. It reads the transitive
// dependencies of every package with `go list -deps`.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		deps[f[0]] = f[1:]
	}
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	type rule struct {
		pkg       string // package (exact) or prefix ending in "/..."
		forbidden []string
	}
	concrete := []string{mod + "/sso/directory/sqlstore", mod + "/session/redisstore", mod + "/session/memstore"}
	storage := []string{mod + "/sso/directory/sqlstore", "github.com/jackc/pgx", "modernc.org/sqlite", "database/sql",
		"github.com/redis/go-redis", mod + "/session"}
	rules := []rule{
		{mod + "/sso", append([]string{"github.com/labstack/echo", mod + "/web", mod + "/sso/directory", mod + "/sso/scim"}, storage...)},
		{mod + "/sso/ssotest", append([]string{"github.com/labstack/echo", mod + "/web", mod + "/sso/directory", "testing"}, storage...)},
		{mod + "/session/...", []string{mod + "/sso", mod + "/web", mod + "/sso/directory", "github.com/labstack/echo", "github.com/crewjam/saml"}},
		{mod + "/sso/directory", []string{"net/http", "github.com/crewjam/saml", mod + "/sso/scim", mod + "/session", "github.com/labstack/echo"}},
		{mod + "/sso/directory/sqlstore", []string{"net/http", "github.com/crewjam/saml", mod + "/session", mod + "/web"}},
		{mod + "/sso/scim", []string{"github.com/labstack/echo", mod + "/web", mod + "/session", mod + "/sso/directory/sqlstore", "github.com/crewjam/saml"}},
		{mod + "/certs", []string{"net/http", mod + "/sso", mod + "/web", mod + "/session", "database/sql"}},
		{mod + "/config", []string{mod + "/"}},
		{mod + "/internal/throttle", []string{mod + "/", "net/http"}},
		{mod + "/internal/scimcred", []string{mod + "/", "net/http"}},
		{mod + "/admin", []string{"github.com/labstack/echo", "github.com/crewjam/saml", mod + "/web", mod + "/cmd",
			mod + "/sso/scim", mod + "/sso/directory/sqlstore", mod + "/session/redisstore", mod + "/session/memstore"}},
		{mod + "/identity", []string{"net/http", "database/sql", "github.com/labstack/echo", mod + "/web", mod + "/session", mod + "/sso/directory/sqlstore", mod + "/sso/scim"}},
		{mod + "/web", []string{mod + "/cmd", mod + "/sso/ssotest", mod + "/sso/directory/sqlstore", mod + "/session/redisstore", mod + "/session/memstore"}},
		// The handler packages below web get what they need from web
		// through their Options; what they share with web and with each
		// other lives in web/internal/..., the one part of web they reach.
		{mod + "/web/oauthserver", append([]string{mod + "/web", mod + "/cmd", mod + "/admin", mod + "/sso/scim", mod + "/sso/ssotest",
			"github.com/crewjam/saml", "database/sql", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/redis/go-redis"}, concrete...)},
		{mod + "/web/console", append([]string{mod + "/web", mod + "/cmd", mod + "/web/oauthserver", mod + "/sso/ssotest", mod + "/sso/scim",
			"github.com/crewjam/saml", "database/sql", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/redis/go-redis"}, concrete...)},
		{mod + "/web/internal/...", append([]string{mod + "/web", mod + "/cmd", mod + "/admin", mod + "/sso/ssotest",
			"github.com/crewjam/saml", "database/sql"}, concrete...)},
	}
	// allowed are the exceptions to a rule's forbidden packages.
	allowed := map[string][]string{
		mod + "/web/oauthserver":  {mod + "/web/internal/..."},
		mod + "/web/console":      {mod + "/web/internal/..."},
		mod + "/web/internal/...": {mod + "/web/internal/..."},
	}
	matches := func(pkg, pattern string) bool {
		if p, ok := strings.CutSuffix(pattern, "/..."); ok {
			return pkg == p || strings.HasPrefix(pkg, p+"/")
		}
		return pkg == pattern
	}
	checked := 0
	for pkg, ds := range deps {
		for _, r := range rules {
			if !matches(pkg, r.pkg) {
				continue
			}
			checked++
			for _, d := range ds {
				if slices.ContainsFunc(allowed[r.pkg], func(a string) bool { return matches(d, a) }) {
					continue
				}
				for _, f := range r.forbidden {
					if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") && f != mod+"/" || (f == mod+"/" && strings.HasPrefix(d, f)) {
						t.Errorf("%s must not depend on %s (it does, through %s)", pkg, f, d)
					}
				}
			}
		}
		// Nothing but cmd and tests may reach the fake IdP or the web layer.
		for _, d := range ds {
			if (d == mod+"/sso/ssotest" || d == mod+"/web") && !strings.HasPrefix(pkg, mod+"/cmd/") && !strings.HasPrefix(pkg, mod+"/test") {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d rules applied; the package list changed", checked)
	}
}

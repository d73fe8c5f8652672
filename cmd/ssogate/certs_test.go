package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/sso/ssotest"
)

// TestCertificateCommands: set-cert and retire-cert go through the admin
// service, with the console's rules: the last trusted certificate stays
// while SSO is on, a SHA-1 may be typed as Entra shows it, a SHA-256 works
// too, and a re-paste says so.
func TestCertificateCommands(t *testing.T) {
	env := map[string]string{"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gw.db"), "SSOGATE_LOG_LEVEL": "warn"}
	one, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		t.Fatal(err)
	}
	two, err := ssotest.New(one.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme")
	mustCLI(t, env, one.CertificateBase64(), "sso", "set-cert", "acme", "--file", "-")
	if out := mustCLI(t, env, one.CertificateBase64(), "sso", "set-cert", "acme", "--file", "-"); !strings.Contains(out, "trusted again") {
		t.Fatalf("re-paste: %s", out)
	}
	out := mustCLI(t, env, two.CertificateBase64(), "sso", "set-cert", "acme", "--file", "-")
	sha1Two := thumbprintOf(out)
	mustCLI(t, env, "", "sso", "configure", "acme", "--enabled", "true", "--entra-identifier", one.Issuer)

	if _, _, err := cli(t, env, "", "sso", "configure", "acme", "--entra-identifier", "sts.windows.net/x"); err == nil || !strings.Contains(err.Error(), "is not a URL") {
		t.Fatalf("an identifier that is not a URL: %v", err)
	}
	// The first certificate by its SHA-1, lower case with colons.
	sha1One := thumbprintOf(mustCLI(t, env, one.CertificateBase64(), "sso", "set-cert", "acme", "--file", "-"))
	colons := strings.ToLower(sha1One[:2] + ":" + sha1One[2:])
	if out := mustCLI(t, env, "", "sso", "retire-cert", "acme", "--sha1", colons); !strings.Contains(out, sha1One) {
		t.Fatalf("retire by SHA-1: %s", out)
	}
	_, _, err = cli(t, env, "", "sso", "retire-cert", "acme", "--sha1", sha1Two)
	if err == nil || !strings.Contains(err.Error(), "only trusted certificate") {
		t.Fatalf("retiring the last certificate with SSO on: %v", err)
	}
	mustCLI(t, env, "", "sso", "configure", "acme", "--enabled", "false")
	mustCLI(t, env, "", "sso", "retire-cert", "acme", "--sha1", sha1Two)
	if _, _, err := cli(t, env, "", "sso", "retire-cert", "acme", "--sha1", sha1Two); err == nil || !strings.Contains(err.Error(), "trusts no such certificate") {
		t.Fatalf("retiring a retired certificate: %v", err)
	}
}

// thumbprintOf is the thumbprint set-cert names at the end of its first
// line ("trusted certificate 9F2C…").
func thumbprintOf(out string) string {
	f := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	return f[len(f)-1]
}

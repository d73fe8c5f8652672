package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSSOConfigureSingleLogout(t *testing.T) {
	env := map[string]string{
		"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gw.db"),
		"SSOGATE_PUBLIC_URL":   "https://sso.example.com",
		"SSOGATE_LOG_LEVEL":    "warn",
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme A/S")
	show := mustCLI(t, env, "", "sso", "show", "acme")
	if !strings.Contains(show, "Logout Url (optional; Single Logout off") || !strings.Contains(show, "https://sso.example.com/c/acme/saml/slo") {
		t.Fatalf("sso show lacks the Logout Url:\n%s", show)
	}
	if out := mustCLI(t, env, "", "sso", "configure", "acme", "--slo", "true"); !strings.Contains(out, "slo=true") {
		t.Fatalf("configure --slo: %s", out)
	}
	if show := mustCLI(t, env, "", "sso", "show", "acme"); !strings.Contains(show, "Single Logout on)") {
		t.Fatalf("sso show after --slo true:\n%s", show)
	}
	if _, _, err := cli(t, env, "", "sso", "configure", "acme", "--slo", "maybe"); err == nil || !strings.Contains(err.Error(), "--slo") {
		t.Fatalf("--slo maybe: %v", err)
	}
}

package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/certs"
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

func TestSSOTokenEncryptionCommands(t *testing.T) {
	env := map[string]string{
		"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gw.db"),
		"SSOGATE_PUBLIC_URL":   "https://sso.example.com",
		"SSOGATE_LOG_LEVEL":    "warn",
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme A/S")
	if _, _, err := cli(t, env, "", "sso", "encryption-cert", "acme"); err == nil || !strings.Contains(err.Error(), "--encryption optional") {
		t.Fatalf("encryption-cert before any key: %v", err)
	}
	if _, _, err := cli(t, env, "", "sso", "configure", "acme", "--encryption", "sometimes"); err == nil || !strings.Contains(err.Error(), "--encryption") {
		t.Fatalf("--encryption sometimes: %v", err)
	}
	out := mustCLI(t, env, "", "sso", "configure", "acme", "--encryption", "optional")
	if !strings.Contains(out, "encryption=optional new_key=") {
		t.Fatalf("configure --encryption optional: %s", out)
	}
	cer := mustCLI(t, env, "", "sso", "encryption-cert", "acme")
	info, err := certs.Parse(cer, time.Now())
	if err != nil {
		t.Fatalf("the printed certificate is not what Entra imports: %v\n%s", err, cer)
	}
	show := mustCLI(t, env, "", "sso", "show", "acme")
	if !strings.Contains(show, "Token encryption  optional") && !strings.Contains(show, "Token encryption") || !strings.Contains(show, info.SHA1) {
		t.Fatalf("sso show lacks token encryption:\n%s", show)
	}
	// Switching to required keeps the key (no second one is made).
	if out := mustCLI(t, env, "", "sso", "configure", "acme", "--encryption", "required"); strings.Contains(out, "new_key") {
		t.Fatalf("a second key was made: %s", out)
	}
	out = mustCLI(t, env, "", "sso", "encryption-rotate", "acme")
	if !strings.Contains(out, "new encryption certificate") {
		t.Fatalf("rotate: %s", out)
	}
	if _, _, err := cli(t, env, "", "sso", "encryption-rotate", "acme"); err == nil || !strings.Contains(err.Error(), "--finish") {
		t.Fatalf("a third key: %v", err)
	}
	if cer2 := mustCLI(t, env, "", "sso", "encryption-cert", "acme"); cer2 == cer {
		t.Fatal("encryption-cert still prints the old certificate after a rotate")
	}
	if old := mustCLI(t, env, "", "sso", "encryption-cert", "acme", "--sha1", info.SHA1); old != cer {
		t.Fatal("--sha1 does not pick the old certificate")
	}
	if out := mustCLI(t, env, "", "sso", "encryption-rotate", "acme", "--finish"); !strings.Contains(out, "retired encryption key "+info.SHA1) {
		t.Fatalf("finish: %s", out)
	}
	if _, _, err := cli(t, env, "", "sso", "encryption-cert", "acme", "--sha1", info.SHA1); err == nil {
		t.Fatal("a retired certificate is still offered")
	}
}

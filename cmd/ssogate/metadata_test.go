package main

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ssogate/ssogate/sso/ssotest"
)

// TestMetadataCommands: `sso configure --metadata-url` and `sso refresh`
// against a loopback HTTPS server, verified through the system trust
// store, which honours SSL_CERT_FILE (no test-only option on this path).
// The system pool is read once per process, so this test must be the
// first in the binary to verify a TLS certificate without explicit roots.
func TestMetadataCommands(t *testing.T) {
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		t.Fatal(err)
	}
	next, err := ssotest.New(idp.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	doc, err := idp.FederationMetadata(false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(doc)
	}))
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)
	t.Setenv("SSL_CERT_DIR", dir)
	host := strings.TrimPrefix(srv.URL, "https://")
	env := map[string]string{
		"SSOGATE_DATABASE_URL":   "sqlite:" + filepath.Join(dir, "gw.db"),
		"SSOGATE_PUBLIC_URL":     "https://sso.example.com",
		"SSOGATE_LOG_LEVEL":      "error",
		"SSOGATE_METADATA_HOSTS": host,
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme A/S")
	metaURL := srv.URL + "/" + idp.TenantID + "/federationmetadata/2007-06/federationmetadata.xml?appid=1"

	// Not an allowed host, not https: refused, nothing stored.
	for _, bad := range []string{"https://evil.example/federationmetadata.xml", "http://" + host + "/m"} {
		if _, _, err := cli(t, env, "", "sso", "configure", "acme", "--metadata-url", bad); err == nil || !strings.Contains(err.Error(), "--metadata-url") {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	if _, _, err := cli(t, env, "", "sso", "refresh", "acme"); err == nil || !strings.Contains(err.Error(), "no metadata URL") {
		t.Fatalf("refresh without a URL: %v", err)
	}

	out := mustCLI(t, env, "", "sso", "configure", "acme", "--metadata-url", metaURL)
	for _, want := range []string{"trusted certificate " + sha1Of(idp), "Entra Identifier set to " + idp.Issuer} {
		if !strings.Contains(out, want) {
			t.Fatalf("configure --metadata-url lacks %q:\n%s", want, out)
		}
	}
	if out := mustCLI(t, env, "", "sso", "refresh", "acme"); !strings.Contains(out, "nothing changed") {
		t.Fatalf("refresh without change:\n%s", out)
	}
	mu.Lock()
	doc, err = idp.FederationMetadata(false, next.Cert)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, env, "", "sso", "refresh", "acme"); !strings.Contains(out, "trusted certificate "+sha1Of(next)) {
		t.Fatalf("refresh after Entra added a certificate:\n%s", out)
	}
	show := mustCLI(t, env, "", "sso", "show", "acme")
	for _, want := range []string{metaURL, "trusted (from metadata)", sha1Of(next), "ok"} {
		if !strings.Contains(show, want) {
			t.Fatalf("sso show lacks %q:\n%s", want, show)
		}
	}
	// Garbage: the refresh fails, says why, and changes nothing.
	mu.Lock()
	doc = []byte("<html>maintenance</html>")
	mu.Unlock()
	if _, _, err := cli(t, env, "", "sso", "refresh", "acme"); err == nil || !strings.Contains(err.Error(), "invalid") || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("refresh of garbage: %v", err)
	}
	if show := mustCLI(t, env, "", "sso", "show", "acme"); strings.Count(show, "trusted (from metadata)") != 2 || !strings.Contains(show, "invalid") {
		t.Fatalf("after a failed refresh:\n%s", show)
	}
	if out := mustCLI(t, env, "", "sso", "configure", "acme", "--metadata-url", ""); !strings.Contains(out, "removed the metadata URL") {
		t.Fatalf("remove: %s", out)
	}
}

func sha1Of(idp *ssotest.IdP) string {
	return strings.ToUpper(hexSHA1(idp.Cert.Raw))
}

func hexSHA1(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

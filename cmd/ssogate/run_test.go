package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/ssotest"
)

// cli runs one command in-process against the environment env.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func mustCLI(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, env, stdin, args...)
	if err != nil {
		t.Fatalf("ssogate %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestAdminCommandsConnectAnEntraTenant(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "gw.db"),
		"SSOGATE_PUBLIC_URL":   "https://sso.example.com",
		"SSOGATE_LOG_LEVEL":    "warn",
	}
	out := mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme A/S")
	if !strings.Contains(out, "created company acme") {
		t.Fatalf("company create: %s", out)
	}
	if _, _, err := cli(t, env, "", "company", "create", "acme"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate company: %v", err)
	}
	show := mustCLI(t, env, "", "sso", "show", "acme")
	for _, want := range []string{"https://sso.example.com/c/acme/saml/metadata", "https://sso.example.com/c/acme/saml/acs",
		"https://sso.example.com/c/acme/login", "https://sso.example.com/c/acme/scim/v2"} {
		if !strings.Contains(show, want) {
			t.Errorf("sso show lacks %s:\n%s", want, show)
		}
	}
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		t.Fatal(err)
	}
	// The paste box: stdin, CRLF line endings, no BEGIN/END lines.
	pemText := idp.CertificateBase64()
	body := strings.Join(strings.Split(pemText, "\n")[1:len(strings.Split(pemText, "\n"))-2], "\r\n")
	out = mustCLI(t, env, body, "sso", "set-cert", "acme", "--file", "-")
	if !strings.Contains(out, "trusted certificate") {
		t.Fatalf("set-cert: %s", out)
	}
	// A private key is refused with a reason, and nothing changes.
	_, _, err = cli(t, env, "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "sso", "set-cert", "acme", "--file", "-")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "private key") {
		t.Fatalf("private key paste: %v", err)
	}
	mustCLI(t, env, "", "sso", "configure", "acme", "--nameid", "mail", "--enabled", "true", "--entra-identifier", idp.Issuer)
	if _, _, err := cli(t, env, "", "sso", "configure", "acme", "--nameid", "transient"); err == nil {
		t.Fatal("bad nameid accepted")
	}
	show = mustCLI(t, env, "", "sso", "show", "acme")
	if !strings.Contains(show, idp.Issuer) || !strings.Contains(show, "mail") || !strings.Contains(show, "SSO enabled        true") && !strings.Contains(show, "true") {
		t.Fatalf("sso show after configure:\n%s", show)
	}
	csvPath := filepath.Join(dir, "people.csv")
	os.WriteFile(csvPath, []byte("\ufeffuserName;email;givenName;familyName;department\r\nmaja@acme.example;Maja.Holm@acme.example;Maja;Holm;Finance\r\nlars@acme.example;lars@acme.example;Lars;Jensen;IT\r\n"), 0o600)
	out = mustCLI(t, env, "", "employees", "import", "acme", "--file", csvPath)
	if !strings.Contains(out, "2 created") {
		t.Fatalf("import: %s", out)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("userName,email,givenName\nx@acme.example,x@acme.example,X\n"), 0o600)
	if _, _, err := cli(t, env, "", "employees", "import", "acme", "--file", bad); err == nil || !strings.Contains(err.Error(), "the header row must name familyName") {
		t.Fatalf("bad import: %v", err)
	}
	list := mustCLI(t, env, "", "employees", "list", "acme")
	if !strings.Contains(list, "maja@acme.example") || !strings.Contains(list, "2 of 2") {
		t.Fatalf("employees list:\n%s", list)
	}
	tok := strings.TrimSpace(mustCLI(t, env, "", "scim", "token", "acme"))
	if len(tok) < 32 || strings.ContainsAny(tok, " \n") {
		t.Fatalf("scim token printed %q", tok)
	}
	mustCLI(t, env, "", "oauth", "client", "add", "acme", "--client-id", "mobile", "--redirect-uri", "com.example.app:/oauth2redirect", "--redirect-uri", "https://app.example.com/cb")
	if _, _, err := cli(t, env, "", "oauth", "client", "add", "acme", "--client-id", "evil", "--redirect-uri", "myapp:/cb"); err == nil {
		t.Fatal("a non reverse-DNS custom scheme was accepted")
	}
	if out := mustCLI(t, env, "", "oauth", "client", "list", "acme"); !strings.Contains(out, "com.example.app:/oauth2redirect") {
		t.Fatalf("oauth client list: %s", out)
	}
	// The CLI refuses what the console refuses (admin.Service checks both):
	// before, it registered a client id the authorize endpoint can never
	// match (outside RFC 6749's VSCHAR) and took labels of any length.
	for _, args := range [][]string{
		{"oauth", "client", "add", "acme", "--client-id", "mobile-äpp", "--redirect-uri", "com.example.app:/cb"},
		{"oauth", "client", "add", "acme", "--client-id", "mobile2", "--name", strings.Repeat("n", 101), "--redirect-uri", "com.example.app:/cb"},
		{"scim", "token", "acme", "--label", strings.Repeat("l", 101)},
		{"scim", "client", "add", "acme", "--label", "two\nlines"},
	} {
		if _, _, err := cli(t, env, "", args...); err == nil {
			t.Errorf("ssogate %s: accepted", strings.Join(args[:3], " "))
		}
	}
	if _, _, err := cli(t, env, "", "oauth", "client", "add", "acme", "--client-id", "mobile", "--redirect-uri", "com.example.app:/x"); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("a second client mobile: %v", err)
	}
	if _, _, err := cli(t, env, "", "sso", "show", "nosuch"); err == nil || !strings.Contains(err.Error(), "unknown company") {
		t.Fatalf("unknown company: %v", err)
	}
	if _, _, err := cli(t, map[string]string{"SSOGATE_SESSION_IDLE": "forever"}, "", "serve"); err == nil || !strings.Contains(err.Error(), "SSOGATE_SESSION_IDLE") {
		t.Fatalf("bad config: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDemoSignsInThroughTheFakeEntra runs `ssogate demo` and signs in as a
// newcomer would: the M365 tile of the fake Entra, then /api/me.
func TestDemoSignsInThroughTheFakeEntra(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"SSOGATE_ADDR": addr, "SSOGATE_METRICS_ADDR": metricsAddr, "SSOGATE_LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuf
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out)
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "ssogate demo is running") {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), base+"/c/demo/") {
		t.Fatalf("demo output lacks the URL to click:\n%s", out.String())
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(base+"/fake-entra/myapps", url.Values{"user": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(resp)
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no SAML form: %s", page)
	}
	resp, err = c.PostForm(base+"/c/demo/saml/acs", url.Values{"SAMLResponse": {strings.NewReplacer("&#43;", "+", "&#61;", "=").Replace(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	if home := readAll(resp); resp.StatusCode != 200 || !strings.Contains(home, "Maja") {
		t.Fatalf("after the tile: %d %s", resp.StatusCode, home)
	}
	resp, err = c.Get(base + "/c/demo/api/me")
	if err != nil {
		t.Fatal(err)
	}
	if me := readAll(resp); resp.StatusCode != 200 || !strings.Contains(me, `"userName":"maja.holm@demo.example"`) {
		t.Fatalf("/api/me: %d %s", resp.StatusCode, me)
	}
	// The metrics (which name every company) are on their own listener,
	// not on the public one.
	resp, err = c.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if m := readAll(resp); resp.StatusCode != 200 || !strings.Contains(m, `ssogate_logins_total{outcome="success",reason="ok"} 1`) {
		t.Fatalf("metrics listener: %d\n%s", resp.StatusCode, m)
	}
	// On the public listener they answer only a scraper on this host, never
	// a request that came through a proxy.
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if m := readAll(resp); resp.StatusCode != http.StatusNotFound || strings.Contains(m, "ssogate_") {
		t.Fatalf("/metrics on the public listener through a proxy: %d\n%s", resp.StatusCode, m)
	}
	// Maja is the demo's admin: her fresh SSO session opens the console.
	resp, err = c.Get(base + "/c/demo/admin/login/sso")
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(resp); resp.StatusCode != 200 || !strings.Contains(page, "Demo Company") || resp.Request.URL.Path != "/c/demo/admin/" {
		t.Fatalf("admin console: %d at %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	_, _, err := cli(t, map[string]string{"SSOGATE_ADDR": "0.0.0.0:8080"}, "", "demo")
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("demo on 0.0.0.0: %v", err)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// Serving runs the collector at serveGCPercent unless GOGC says otherwise.
func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)

	t.Setenv("GOGC", "")
	if got := tuneGC(); got != "400" {
		t.Fatalf("tuneGC without GOGC = %q", got)
	}
	if prev := debug.SetGCPercent(100); prev != serveGCPercent {
		t.Fatalf("GC percent after tuneGC = %d, want %d", prev, serveGCPercent)
	}
	t.Setenv("GOGC", "150")
	if got := tuneGC(); got != "150" {
		t.Fatalf("tuneGC with GOGC=150 = %q", got)
	}
	if prev := debug.SetGCPercent(100); prev != 100 {
		t.Fatalf("tuneGC overrode the operator's GOGC: percent %d", prev)
	}
}

// TestMisspeltSettingIsRefused: a misspelt SSOGATE_* variable stops the
// program with the name it probably meant, beside every other problem.
func TestMisspeltSettingIsRefused(t *testing.T) {
	var out, errb bytes.Buffer
	err := runEnviron(context.Background(), []string{"config"}, []string{"SSOGATE_REDIS_ULR=redis://x", "SSOGATE_SESSION_IDLE=soon", "HOME=/root"},
		strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "SSOGATE_REDIS_ULR: not a setting; did you mean SSOGATE_REDIS_URL?") ||
		!strings.Contains(err.Error(), "SSOGATE_SESSION_IDLE") {
		t.Fatalf("err = %v", err)
	}
	out.Reset()
	if err := runEnviron(context.Background(), []string{"config"}, []string{"SSOGATE_LOG_LEVEL=warn"}, strings.NewReader(""), &out, &errb); err != nil ||
		!strings.Contains(out.String(), "SSOGATE_REDIS_URL") {
		t.Fatalf("a valid environment: %v\n%s", err, out.String())
	}
}

// A metrics address that cannot be bound stops the start with a message
// naming the setting, instead of serving without metrics unnoticed.
func TestMetricsAddressInUseStopsTheStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"SSOGATE_ADDR": freeAddr(t), "SSOGATE_METRICS_ADDR": ln.Addr().String(),
		"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gw.db"), "SSOGATE_LOG_LEVEL": "error"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out syncBuf
	err = run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "SSOGATE_METRICS_ADDR") {
		t.Fatalf("serve with a taken metrics address: %v", err)
	}
}

// sso configure --login-url takes only a Microsoft sign-in host or one in
// SSOGATE_IDP_LOGIN_HOSTS: a company's Login URL is where every employee's
// browser is sent.
func TestLoginURLMustBeAMicrosoftOrAllowedHost(t *testing.T) {
	env := map[string]string{
		"SSOGATE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gw.db"),
		"SSOGATE_PUBLIC_URL":   "https://sso.example.com",
		"SSOGATE_LOG_LEVEL":    "warn",
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme A/S")
	for _, bad := range []string{"https://evil.example/saml2", "http://login.microsoftonline.com/t/saml2", "https://idp.corp.example/saml2"} {
		if _, _, err := cli(t, env, "", "sso", "configure", "acme", "--login-url", bad); err == nil || !strings.Contains(err.Error(), "SSOGATE_IDP_LOGIN_HOSTS") {
			t.Errorf("--login-url %s: %v", bad, err)
		}
	}
	mustCLI(t, env, "", "sso", "configure", "acme", "--login-url", "https://login.partner.microsoftonline.cn/t/saml2")
	env["SSOGATE_IDP_LOGIN_HOSTS"] = "idp.corp.example"
	mustCLI(t, env, "", "sso", "configure", "acme", "--login-url", "https://idp.corp.example/saml2")
	if out := mustCLI(t, env, "", "sso", "show", "acme"); !strings.Contains(out, "https://idp.corp.example/saml2") {
		t.Fatalf("sso show:\n%s", out)
	}
}

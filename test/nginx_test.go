package test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
)

// nginxSnippet returns the nginx configuration of docs/forward-auth.md
// (the fenced block after its "tested by" marker) with the gateway, the
// product and the listen address put in: the test runs the documented
// configuration itself, not a copy of it.
func nginxSnippet(t *testing.T, gateway, product, listen string) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/forward-auth.md")
	testenv.Must(t, err, "read docs/forward-auth.md")
	m := regexp.MustCompile("(?s)<!-- nginx: the block below is tested[^>]*-->\\s*```nginx\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/forward-auth.md has no tested nginx block")
	}
	conf := string(m[1])
	for _, r := range [][2]string{{"server 127.0.0.1:8080;", "server " + gateway + ";"}, {"server 127.0.0.1:3000;", "server " + product + ";"},
		{"listen 80;", "listen " + listen + ";"}} {
		if strings.Count(conf, r[0]) != 1 {
			t.Fatalf("docs/forward-auth.md: %q must appear exactly once in the nginx block", r[0])
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	return conf
}

// startNginx runs nginx in the foreground as a child of the test, on
// loopback, with every path (pid, logs, temp files) in a temporary folder;
// it is stopped when the test ends. It returns nginx's base URL.
func startNginx(t *testing.T, gateway, product string) string {
	t.Helper()
	bin := testenv.Nginx(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "free port")
	listen := ln.Addr().String()
	ln.Close()
	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		testenv.Must(t, os.Mkdir(filepath.Join(dir, d), 0o700), "temp dir")
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, nginxSnippet(t, gateway, product, listen))
	path := filepath.Join(dir, "nginx.conf")
	testenv.Must(t, os.WriteFile(path, []byte(conf), 0o600), "write nginx.conf")
	if out, err := exec.Command(bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	testenv.Must(t, cmd.Start(), "start nginx")
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatal("nginx exited at start")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s", listen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + listen
}

// TestNginxAuthRequest runs a real nginx with the documented configuration
// in front of a product, asking /auth/request for every product request.
func TestNginxAuthRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, func(c *configT) { c.UpstreamAudience = "https://hr.example.com" })
		p := newProduct(t)
		front := startNginx(t, strings.TrimPrefix(g.URL, "http://"), strings.TrimPrefix(p.srv.URL, "http://"))
		maja := g.employee(t, "maja.holm@acme.example")

		// Signed in (the cookie jar sends the gateway's host-only cookie to
		// the same host on nginx's port): the product sees Maja, verifiably.
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		fu, _ := url.Parse(front)
		br.jar.SetCookies(fu, []*http.Cookie{{Name: "product_session", Value: "p1"}})
		ck := g.sessionCookie(br)
		resp := send(t, br, http.MethodGet, front+"/c/acme/reports/2026?q=a%20b", nil,
			"X-Ssogate-User", "ceo@acme.example", "X-Ssogate-Employee-Id", "1", "Authorization", "Basic dTpw")
		sr := seenOf(t, resp)
		if sr.Path != "/c/acme/reports/2026" || sr.Query != "q=a%20b" {
			t.Fatalf("product saw %s?%s", sr.Path, sr.Query)
		}
		for k, v := range map[string]string{"X-Ssogate-Employee-Id": maja.ID, "X-Ssogate-Company": "acme",
			"X-Ssogate-User": "maja.holm@acme.example", "X-Ssogate-Email": "maja.holm@acme.example", "Authorization": "Basic dTpw"} {
			if got := strings.Join(sr.Header.Values(k), "|"); got != v {
				t.Errorf("product header %s = %q, want %q", k, got, v)
			}
		}
		if c := sr.Header.Get("Cookie"); strings.Contains(c, "ssogate") || strings.Contains(c, ck.Value) || !strings.Contains(c, "product_session=p1") {
			t.Errorf("cookies the product got through nginx: %q", c)
		}
		claims := g.verifyAssertion(t, sr.Header.Get("X-Ssogate-Assertion"), "https://hr.example.com")
		if claims["sub"] != maja.ID || claims["company"] != "acme" || claims["userName"] != "maja.holm@acme.example" {
			t.Fatalf("claims %v", claims)
		}
		// The bearer token is checked and not passed on.
		pk := newPKCE()
		g.addClient(g.company, appClientID, appRedirect, appLink)
		access, _ := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", pk), pk))
		sr = seenOf(t, send(t, newBrowser(), http.MethodGet, front+"/c/acme/api/leave", nil, "Accept", "application/json",
			"Authorization", "Bearer "+access))
		if sr.Header.Get("Authorization") != "" || sr.Header.Get("X-Ssogate-Employee-Id") != maja.ID {
			t.Fatalf("bearer through nginx: %v", sr.Header)
		}

		// Not signed in: the browser is sent to the login, with the way back;
		// an API call gets 401 JSON; the product sees neither.
		n := p.count()
		anon := newBrowser()
		r := send(t, anon, http.MethodGet, front+"/c/acme/reports/2026?q=a%20b", nil)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != g.URL+"/c/acme/login?return_to="+url.QueryEscape("/c/acme/reports/2026?q=a%20b") {
			t.Fatalf("navigation without session through nginx: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		lr := send(t, anon, http.MethodGet, r.Header.Get("Location"), nil)
		if lr.StatusCode != http.StatusFound || !strings.Contains(lr.Header.Get("Location"), "/fake-entra/saml2") {
			t.Fatalf("the login nginx sent the browser to: %d %q", lr.StatusCode, lr.Header.Get("Location"))
		}
		r = send(t, anon, http.MethodPost, front+"/c/acme/api/leave", strings.NewReader("{}"), "Accept", "application/json")
		var e map[string]string
		_ = json.NewDecoder(r.Body).Decode(&e)
		if r.StatusCode != http.StatusUnauthorized || e["error"] != "unauthorized" || r.Header.Get("WWW-Authenticate") != `Bearer realm="ssogate"` {
			t.Fatalf("API call without session through nginx: %d %v %q", r.StatusCode, e, r.Header.Get("WWW-Authenticate"))
		}
		// acme's session at globex, and a path nginx or the product would
		// normalise into another company: refused.
		g.createCompanyOnce(t, "globex")
		if r := send(t, br, http.MethodGet, front+"/c/globex/x", nil); r.StatusCode != http.StatusFound ||
			!strings.HasPrefix(r.Header.Get("Location"), g.URL+"/c/globex/login?") {
			t.Fatalf("acme's session at globex through nginx: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		conn, err := net.Dial("tcp", fu.Host)
		testenv.Must(t, err, "dial nginx")
		fmt.Fprintf(conn, "GET /c/acme/%%2e%%2e/globex/x HTTP/1.1\r\nHost: %s\r\nCookie: %s=%s\r\nConnection: close\r\n\r\n", fu.Host, ck.Name, ck.Value)
		buf := make([]byte, 64)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, _ := conn.Read(buf)
		conn.Close()
		if !strings.HasPrefix(string(buf[:k]), "HTTP/1.1 403") {
			t.Fatalf("dot segments through nginx: %q", buf[:k])
		}
		// Logout ends it at once.
		if r := send(t, br, http.MethodPost, g.URL+"/c/acme/logout", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.StatusCode)
		}
		if r := send(t, br, http.MethodGet, front+"/c/acme/x", nil); r.StatusCode != http.StatusFound {
			t.Fatalf("after logout through nginx: %d", r.StatusCode)
		}
		if p.count() != n {
			t.Fatalf("the product received %d refused requests", p.count()-n)
		}
	})
}

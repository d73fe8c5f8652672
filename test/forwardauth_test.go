package test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
)

// askVerify asks /auth/verify (or /auth/request) about a request the way
// Traefik (or nginx) does: the client's headers, plus the description of
// the original request.
func (g *gw) ask(t *testing.T, endpoint string, br *browser, method, uri string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.URL+endpoint, nil)
	testenv.Must(t, err, "request")
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if endpoint == "/auth/request" {
		req.Header.Set("X-Original-Method", method)
		req.Header.Set("X-Original-URI", uri)
	} else {
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", uri)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "hr.example.com")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := br.Do(req)
	testenv.Must(t, err, "GET %s", endpoint)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestForwardAuthEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b, func(c *configT) { c.UpstreamAudience = "https://hr.example.com" })
		maja := g.employee(t, "maja.holm@acme.example")
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		anon := newBrowser()
		for _, ep := range []string{"/auth/verify", "/auth/request"} {
			// Signed in: 200 with the identity headers and a verifiable assertion.
			r := g.ask(t, ep, br, "GET", "/c/acme/reports/2026?q=1", "X-Forwarded-For", "6.6.6.6")
			if r.StatusCode != http.StatusOK || r.Header.Get("X-Ssogate-Employee-Id") != maja.ID ||
				r.Header.Get("X-Ssogate-Company") != "acme" || r.Header.Get("X-Ssogate-User") != "maja.holm@acme.example" ||
				r.Header.Get("X-Ssogate-Email") != "maja.holm@acme.example" || r.Header.Get("Set-Cookie") != "" {
				t.Fatalf("%s signed in: %d %v", ep, r.StatusCode, r.Header)
			}
			claims := g.verifyAssertion(t, r.Header.Get("X-Ssogate-Assertion"), "https://hr.example.com")
			if claims["sub"] != maja.ID || claims["company"] != "acme" {
				t.Fatalf("%s claims %v", ep, claims)
			}
			// Not signed in, a browser navigation: /auth/verify redirects to
			// the company's login on SSOGATE_PUBLIC_URL; /auth/request says
			// 401 and names the login in Location for nginx's error_page.
			login := g.URL + "/c/acme/login?return_to=" + url.QueryEscape("/c/acme/reports/2026?q=1")
			r = g.ask(t, ep, anon, "GET", "/c/acme/reports/2026?q=1")
			want := http.StatusFound
			if ep == "/auth/request" {
				want = http.StatusUnauthorized
			}
			if r.StatusCode != want || r.Header.Get("Location") != login {
				t.Fatalf("%s navigation without session: %d %q", ep, r.StatusCode, r.Header.Get("Location"))
			}
			// Not a navigation: 401 JSON, no Location.
			for _, tc := range []struct{ method, accept string }{{"POST", "text/html"}, {"GET", "application/json"}, {"", "text/html"}} {
				r = g.ask(t, ep, anon, tc.method, "/c/acme/api/leave", "Accept", tc.accept)
				var e map[string]string
				_ = json.NewDecoder(r.Body).Decode(&e)
				if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Location") != "" || e["error"] != "unauthorized" ||
					r.Header.Get("WWW-Authenticate") != `Bearer realm="ssogate"` {
					t.Fatalf("%s %+v without session: %d %q %v", ep, tc, r.StatusCode, r.Header.Get("Location"), e)
				}
			}
			// Another company's URI with acme's session: as if not signed in.
			g.createCompanyOnce(t, "globex")
			r = g.ask(t, ep, br, "GET", "/c/globex/x")
			if r.StatusCode != want || !strings.HasPrefix(r.Header.Get("Location"), g.URL+"/c/globex/login?") {
				t.Fatalf("%s acme's session at globex: %d %q", ep, r.StatusCode, r.Header.Get("Location"))
			}
			// URIs no session can pass: 403.
			for _, uri := range []string{"", "/", "/other/x", "/c/nosuch/x", "/c/acme/../globex/x", "/c/acme/%2e%2e/globex/",
				"/c/acme/a%2fb", "//evil.example/c/acme/", "https://evil.example/c/acme/", "/c/acme//x", "/c/ACME/x"} {
				r = g.ask(t, ep, br, "GET", uri)
				if r.StatusCode != http.StatusForbidden || r.Header.Get("X-Ssogate-Assertion") != "" {
					t.Errorf("%s %q: %d", ep, uri, r.StatusCode)
				}
			}
		}
		// A mobile token passes; one of another company does not.
		pk := newPKCE()
		access, _ := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", pk), pk))
		if r := g.ask(t, "/auth/request", newBrowser(), "GET", "/c/acme/api/x", "Authorization", "Bearer "+access); r.StatusCode != http.StatusOK ||
			r.Header.Get("X-Ssogate-Employee-Id") != maja.ID {
			t.Fatalf("bearer: %d", r.StatusCode)
		}
		if r := g.ask(t, "/auth/request", newBrowser(), "GET", "/c/globex/api/x", "Authorization", "Bearer "+access); r.StatusCode != http.StatusUnauthorized ||
			!strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Fatalf("acme's bearer at globex: %d", r.StatusCode)
		}
		if r := g.ask(t, "/auth/request", newBrowser(), "GET", "/c/acme/api/x", "Authorization", "Bearer "+session.NewSecret()); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown bearer: %d", r.StatusCode)
		}
		// No signing key: 503, no identity.
		g.ident.fail.Store(true)
		r := g.ask(t, "/auth/verify", br, "GET", "/c/acme/x")
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("X-Ssogate-User") != "" {
			t.Fatalf("mint failing: %d %v", r.StatusCode, r.Header)
		}
		g.ident.fail.Store(false)
		// Logout ends it at once.
		if r := send(t, br, http.MethodPost, g.URL+"/c/acme/logout", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.StatusCode)
		}
		if r := g.ask(t, "/auth/request", br, "GET", "/c/acme/x"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("after logout: %d", r.StatusCode)
		}
		// The description of the request is never taken as the client's address.
		if strings.Contains(g.logText(), "6.6.6.6") {
			t.Fatal("X-Forwarded-For was taken as the client address without SSOGATE_TRUST_PROXY_HEADERS")
		}
	})
}

// createCompanyOnce creates a second company with the same fake Entra.
func (g *gw) createCompanyOnce(t *testing.T, slug string) {
	t.Helper()
	if _, err := g.dir.GetCompany(t.Context(), slug); err == nil {
		return
	}
	g.createCompany(slug, slug, g.idp)
}

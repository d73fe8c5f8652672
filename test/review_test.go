package test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
)

// Regression tests for the findings of an outside security review, each
// through the real router on both store pairs.

// SSOGATE_PUBLIC_URL in capitals is still https: the session cookie is
// __Host- and Secure and HSTS is sent (a case-sensitive compare once turned
// all of it off).
func TestPublicURLInCapitalsKeepsCookiesSecure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var host string
		g := newGW(t, b, func(c *configT) {
			host = strings.TrimPrefix(c.PublicURL, "http://")
			c.PublicURL = "HTTPS://" + host + "/"
		})
		a := g.assertion("acme", "maja.holm@acme.example")
		a.ACSURL = "https://" + host + "/c/acme/saml/acs"
		a.Audience = "https://" + host + "/c/acme/saml/metadata"
		resp := g.postACS(newBrowser(), "acme", g.signed(a), "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("ACS %d: %s\n%s", resp.StatusCode, body(t, resp), g.logText())
		}
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "ssogate_session") {
				session = c
			}
		}
		if session == nil || session.Name != "__Host-ssogate_session" || !session.Secure {
			t.Fatalf("session cookie %+v: want __Host-ssogate_session, Secure", session)
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Fatal("no HSTS on an https deployment")
		}
	})
}

// Logout refuses a cross-site POST (another site's auto-submitting form)
// and keeps the session; the app's own form (same-origin) signs out.
func TestLogoutRefusesCrossSitePOST(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		br := newBrowser()
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		ck := g.sessionCookie(br)
		if ck == nil {
			t.Fatal("not signed in")
		}
		logout := func(hdr map[string]string) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/logout", strings.NewReader(""))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := br.Do(req)
			testenv.Must(t, err, "logout")
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		for _, hdr := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			{"Sec-Fetch-Site": "same-site", "Origin": "http://evil.127.0.0.1.nip.io"},
			{"Origin": "https://evil.example"}, // a browser without Sec-Fetch-Site
			{"Origin": "null"},
		} {
			resp := logout(hdr)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-site logout %v: %d, want 403", hdr, resp.StatusCode)
			}
			if code, _ := g.me(br, "acme"); code != http.StatusOK {
				t.Fatalf("a refused cross-site logout ended the session (%v): /api/me %d", hdr, code)
			}
		}
		resp := logout(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": g.URL})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("same-origin logout: %d", resp.StatusCode)
		}
		if _, err := g.sess.Get(context.Background(), session.Key(ck.Value)); err == nil {
			t.Fatal("session survives a same-origin logout")
		}
	})
}

// /static/ serves the assets and never a directory listing.
func TestStaticHasNoDirectoryListing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		br := newBrowser()
		for _, p := range []string{"/static/", "/static", "/static/./", "/static/%2e/"} {
			resp, err := br.Get(g.URL + p)
			testenv.Must(t, err, "GET %s", p)
			page := body(t, resp)
			if resp.StatusCode == http.StatusOK || strings.Contains(page, "admin.css") {
				t.Errorf("GET %s: %d lists the directory:\n%s", p, resp.StatusCode, page)
			}
		}
		resp, err := br.Get(g.URL + "/static/admin.css")
		testenv.Must(t, err, "GET admin.css")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("admin.css: %d", resp.StatusCode)
		}
	})
}

// /metrics names every company (certificate expiry per company): it is
// served on its own listener, never on the public one.
func TestMetricsAreNotOnThePublicListener(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		for _, p := range []string{"/metrics", "/metrics/", "/Metrics", "/c/acme/metrics"} {
			resp, err := http.Get(g.URL + p)
			testenv.Must(t, err, "GET %s", p)
			if m := body(t, resp); resp.StatusCode != http.StatusNotFound || strings.Contains(m, "ssogate_") {
				t.Errorf("public %s: %d\n%s", p, resp.StatusCode, m)
			}
		}
		resp, err := http.Get(g.metricsURL + "/metrics")
		testenv.Must(t, err, "GET metrics listener")
		if m := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(m, `ssogate_logins_total{outcome="success",reason="ok"} 1`) {
			t.Fatalf("metrics listener: %d\n%s", resp.StatusCode, m)
		}
	})
}

package test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/redisstore"
	"github.com/ssogate/ssogate/sso/directory"
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
		for _, p := range []string{"/metrics/", "/Metrics", "/c/acme/metrics"} {
			resp, err := http.Get(g.URL + p)
			testenv.Must(t, err, "GET %s", p)
			if m := body(t, resp); resp.StatusCode != http.StatusNotFound || strings.Contains(m, "ssogate_") {
				t.Errorf("public %s: %d\n%s", p, resp.StatusCode, m)
			}
		}
		// On the public listener, /metrics answers a scraper on this host
		// (the test's direct loopback connection) and nobody whose request
		// came through a proxy.
		for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP"} {
			req, _ := http.NewRequest(http.MethodGet, g.URL+"/metrics", nil)
			req.Header.Set(h, "for=198.51.100.7")
			resp, err := http.DefaultClient.Do(req)
			testenv.Must(t, err, "GET /metrics with %s", h)
			if m := body(t, resp); resp.StatusCode != http.StatusNotFound || strings.Contains(m, "ssogate_") {
				t.Errorf("public /metrics through a proxy (%s): %d\n%s", h, resp.StatusCode, m)
			}
		}
		resp, err := http.Get(g.URL + "/metrics")
		testenv.Must(t, err, "GET public /metrics from this host")
		if m := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(m, "ssogate_logins_total") {
			t.Errorf("public /metrics from this host: %d\n%s", resp.StatusCode, m)
		}
		resp, err = http.Get(g.metricsURL + "/metrics")
		testenv.Must(t, err, "GET metrics listener")
		if m := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(m, `ssogate_logins_total{outcome="success",reason="ok"} 1`) {
			t.Fatalf("metrics listener: %d\n%s", resp.StatusCode, m)
		}
	})
}

// encodedEscapes are return targets that look like paths of acme but that a
// browser (or a second decoding) resolves into another company's space or
// onto another host.
var encodedEscapes = []string{
	"/c/acme/%2e%2e/beta/login",
	"/c/acme/%2E%2E/beta/login",
	"/c/acme/.%2e/beta/",
	"/c/acme/%252e%252e/beta/",
	"/c/acme/..%2fbeta/",
	"/c/acme/..%5cbeta/",
	"/c/acme/%2f%2fevil.example/",
	"/c/acme//evil.example/",
	"/c/acme/%5c%5cevil.example/",
	"//evil.example/c/acme/",
	"/\\evil.example/c/acme/",
}

// RelayState, return_to and the console's next all go through one check:
// percent-encoded dot segments, slashes and backslashes, double encoding
// and scheme-relative hosts land on the company's own start page.
func TestEncodedDotSegmentsStayInTheCompany(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		for _, bad := range encodedEscapes {
			// IdP-initiated: RelayState from Entra.
			r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), bad)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/acme/" {
				t.Errorf("RelayState %q → %d %q, want /c/acme/", bad, r.StatusCode, r.Header.Get("Location"))
			}
			// SP-initiated: return_to kept in the pending request.
			acs := g.spLogin(t, newBrowser(), "/c/acme/login?return_to="+url.QueryEscape(bad), 0)
			if acs.StatusCode != http.StatusSeeOther || acs.Header.Get("Location") != "/c/acme/" {
				t.Errorf("return_to %q → %d %q, want /c/acme/", bad, acs.StatusCode, acs.Header.Get("Location"))
			}
		}
		// A good target still works both ways.
		r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "/c/acme/files/q1%20report")
		if r.Header.Get("Location") != "/c/acme/files/q1%20report" {
			t.Errorf("plain RelayState → %q", r.Header.Get("Location"))
		}
		// The console's next, for an admin who is signed in.
		g.addAdmin(t, g.company, "it@acme.example", "correct horse battery staple")
		a := g.adminLogin(t, "acme", "it@acme.example", "correct horse battery staple")
		for _, bad := range append([]string{"/c/acme/admin/%2e%2e/%2e%2e/beta/admin/", "/c/acme/admin/..%2f..%2fbeta/admin/"}, encodedEscapes...) {
			resp, err := a.Get(g.URL + "/c/acme/admin/login?next=" + url.QueryEscape(bad))
			testenv.Must(t, err, "admin login next")
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/c/acme/admin/" {
				t.Errorf("next %q → %d %q, want /c/acme/admin/", bad, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
}

// A company admin cannot turn GET /c/{co}/login into a redirect to a page of
// their choosing: the Login URL must be on a Microsoft sign-in host (or one
// the operator allowed), in the console, in the CLI (cmd tests) and when
// the browser is sent there, whatever the database holds.
func TestIdPLoginURLOnlyMicrosoftOrAllowedHosts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, "it@acme.example", "correct horse battery staple")
		a := g.adminLogin(t, "acme", "it@acme.example", "correct horse battery staple")
		for _, phish := range []string{"https://evil.example/saml2", "https://login.microsoftonline.com.evil.example/t/saml2", "http://login.microsoftonline.com/t/saml2"} {
			r := a.post(t, "/sso", url.Values{"enabled": {"on"}, "nameid": {"upn"}, "identifier": {g.idp.Issuer}, "login_url": {phish}})
			page := body(t, r)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not a Microsoft sign-in address") {
				t.Fatalf("console accepted Login URL %q: %d", phish, r.StatusCode)
			}
		}
		co, err := g.dir.GetCompany(context.Background(), "acme")
		testenv.Must(t, err, "company")
		if strings.Contains(co.IDPLoginURL, "evil") || strings.HasPrefix(co.IDPLoginURL, "http://login.") {
			t.Fatalf("a refused Login URL was stored: %q", co.IDPLoginURL)
		}
		// A Microsoft national cloud is accepted.
		expectDone(t, a.post(t, "/sso", url.Values{"enabled": {"on"}, "nameid": {"upn"}, "identifier": {g.idp.Issuer},
			"login_url": {"https://login.microsoftonline.us/0000/saml2"}}), "sso")

		// A phishing URL already in the directory is never redirected to:
		// the Login URL derived from the Entra Identifier is used instead.
		co, err = g.dir.GetCompany(context.Background(), "acme")
		testenv.Must(t, err, "company")
		co.IDPLoginURL = "https://evil.example/saml2"
		testenv.Must(t, g.dir.UpdateCompanySettings(context.Background(), co), "plant a bad Login URL")
		resp, err := newBrowser().Get(g.URL + "/c/acme/login")
		testenv.Must(t, err, "login")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://login.microsoftonline.com/") {
			t.Fatalf("login with a planted Login URL: %d %q\n%s", resp.StatusCode, loc, g.logText())
		}
		// Without an Identifier to derive from, the login is refused with a
		// page, never sent to the planted host.
		co.EntraIdentifier, co.PinnedIssuer = "", ""
		testenv.Must(t, g.dir.UpdateCompanySettings(context.Background(), co), "no identifier")
		resp, err = newBrowser().Get(g.URL + "/c/acme/login")
		testenv.Must(t, err, "login")
		page := body(t, resp)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(resp.Header.Get("Location"), "evil") || !strings.Contains(page, "Login URL") {
			t.Fatalf("login with a planted Login URL and no identifier: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
		}
	})
}

// consumeLog records every replay record the gateway asks the session
// store for, and passes the call on to the real store.
type consumeLog struct {
	session.Store
	mu    sync.Mutex
	calls map[string]time.Time
}

func (c *consumeLog) Consume(ctx context.Context, key string, until time.Time) error {
	c.mu.Lock()
	c.calls[key] = until
	c.mu.Unlock()
	return c.Store.Consume(ctx, key, until)
}

func (c *consumeLog) snapshot() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Replay records are per company and live only until the assertion could
// last be accepted (IssueInstant + max issue delay + skew), whatever
// NotOnOrAfter the IdP wrote; an assertion refused before the replay check
// leaves none. On Redis the key's TTL is read back.
func TestReplayRecordsArePerCompanyAndShortLived(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var st session.Store
		var ttl func(key string) time.Duration
		if b.share {
			u, prefix := testenv.RedisURL(t)
			rs, err := redisstore.Open(context.Background(), u, redisstore.Options{Prefix: prefix})
			testenv.Must(t, err, "open redis")
			t.Cleanup(func() { rs.Close() })
			opt, err := redis.ParseURL(u)
			testenv.Must(t, err, "redis url")
			raw := redis.NewClient(opt)
			t.Cleanup(func() { raw.Close() })
			ttl = func(key string) time.Duration {
				d, err := raw.PTTL(context.Background(), prefix+"u:"+key).Result()
				testenv.Must(t, err, "PTTL")
				return d
			}
			st = rs
		} else {
			st = b.sess(t)
		}
		log := &consumeLog{Store: st, calls: map[string]time.Time{}}
		g := newGWOn(t, b.dir(t), log, nil)

		// Refused before the replay check: wrong audience. No record.
		bad := g.assertion("acme", "maja.holm@acme.example")
		bad.Audience = g.URL + "/c/other/saml/metadata"
		bad.NotOnOrAfter = time.Now().AddDate(10, 0, 0)
		if r := g.postACS(newBrowser(), "acme", g.signed(bad), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("wrong audience: %d", r.StatusCode)
		}
		if calls := log.snapshot(); len(calls) != 0 {
			t.Fatalf("a refused assertion made replay records: %v", calls)
		}

		// Accepted, with a ten-year NotOnOrAfter.
		issued := time.Now().UTC().Truncate(time.Second)
		a := g.assertion("acme", "maja.holm@acme.example")
		a.IssueInstant = issued
		a.NotOnOrAfter = issued.AddDate(10, 0, 0)
		a.ConfirmationNotOnOrAfter = a.NotOnOrAfter
		signed := g.signed(a)
		if r := g.postACS(newBrowser(), "acme", signed, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d %s", r.StatusCode, body(t, r))
		}
		calls := log.snapshot()
		if len(calls) != 1 {
			t.Fatalf("replay records: %v", calls)
		}
		limit := issued.Add(g.cfg.SAMLMaxIssueDelay + g.cfg.SAMLClockSkew)
		for key, until := range calls {
			if want := "saml:assertion:" + strconv.FormatInt(g.company.ID, 10) + ":"; !strings.HasPrefix(key, want) {
				t.Errorf("replay key %q is not under the company (%s…)", key, want)
			}
			if until.After(limit) {
				t.Errorf("replay record until %v, past IssueInstant + delay + skew (%v)", until, limit)
			}
			if ttl != nil {
				if d := ttl(key); d <= 0 || d > time.Until(limit)+time.Second {
					t.Errorf("Redis TTL of %s is %v, want at most %v", key, d, time.Until(limit))
				}
			}
		}
		// The same assertion again is a replay, still refused.
		if r := g.postACS(newBrowser(), "acme", signed, ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("replay: %d", r.StatusCode)
		}
	})
}

// entraAnswer starts an SP-initiated login in br and lets the fake Entra
// answer it for user i, without posting the answer: the SAMLResponse and
// RelayState an attacker would carry off.
func (g *gw) entraAnswer(t *testing.T, br *browser, i int) url.Values {
	t.Helper()
	resp, err := br.Get(g.URL + "/c/acme/login")
	testenv.Must(t, err, "login")
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.Contains(loc.Path, "/fake-entra/") {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"SAMLRequest": {loc.Query().Get("SAMLRequest")}, "RelayState": {loc.Query().Get("RelayState")}, "user": {strconv.Itoa(i)}}
	idp, err := br.PostForm(g.URL+"/fake-entra/saml2", form)
	testenv.Must(t, err, "fake entra")
	v := formValues(body(t, idp))
	if v.Get("SAMLResponse") == "" || v.Get("RelayState") == "" {
		t.Fatalf("fake Entra gave no answer: %v", v)
	}
	return v
}

// Login CSRF: an attacker starts a sign-in in their own browser, lets Entra
// answer it for their own account, and makes the victim's browser post that
// answer. The ACS refuses it, with a reason, before the assertion is
// consumed; the attacker's browser could still use it, and IdP-initiated
// (tile) sign-ins, which answer no request, keep working.
func TestSPInitiatedAnswerIsBoundToTheBrowserThatAsked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		attacker := newBrowser()
		for name, victim := range map[string]func() *browser{
			"fresh browser": newBrowser,
			"browser with its own pending sign-in": func() *browser {
				v := newBrowser()
				resp, err := v.Get(g.URL + "/c/acme/login")
				testenv.Must(t, err, "victim login")
				resp.Body.Close()
				return v
			},
		} {
			answer := g.entraAnswer(t, attacker, 0)
			v := victim()
			resp, err := v.PostForm(g.URL+"/c/acme/saml/acs", answer)
			testenv.Must(t, err, "post ACS")
			page := body(t, resp)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "started in another browser") {
				t.Fatalf("%s: the attacker's answer was accepted: %d %q\n%s", name, resp.StatusCode, resp.Header.Get("Location"), page)
			}
			if g.sessionCookie(v) != nil {
				t.Fatalf("%s: a session cookie was set", name)
			}
			if ev := g.lastSignIn(t, g.company); ev.Success || ev.Reason != "other_browser" {
				t.Fatalf("%s: diagnostics record %+v", name, ev)
			}
		}
		// The browser that asked signs in normally.
		answer := g.entraAnswer(t, attacker, 0)
		resp, err := attacker.PostForm(g.URL+"/c/acme/saml/acs", answer)
		testenv.Must(t, err, "post ACS")
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the browser that asked: %d", resp.StatusCode)
		}
		// IdP-initiated (the M365 tile) needs no binding.
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("IdP-initiated: %d", r.StatusCode)
		}
	})
}

// On https the binding cookie crosses Entra's cross-site POST: SameSite=None,
// Secure, __Host-.
func TestLoginBindingCookieAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, func(c *configT) { c.PublicURL = strings.Replace(c.PublicURL, "http://", "https://", 1) })
		resp, err := newBrowser().Get(g.URL + "/c/acme/login")
		testenv.Must(t, err, "login")
		resp.Body.Close()
		var ck *http.Cookie
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "ssogate_login") {
				ck = c
			}
		}
		if ck == nil || ck.Name != "__Host-ssogate_login" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteNoneMode || ck.Path != "/" || ck.MaxAge <= 0 {
			t.Fatalf("login binding cookie: %+v", ck)
		}
	})
}

func (g *gw) failures(t *testing.T) []directory.SignInEvent {
	t.Helper()
	list, err := g.dir.ListSignIns(context.Background(), g.company.ID, true, 0)
	testenv.Must(t, err, "list sign-ins")
	return list
}

// A flood of identical junk ACS POSTs writes one sign-in record a minute,
// not one each; a different refusal is still recorded at once.
func TestIdenticalRefusalsAreFolded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		for range 30 {
			if r := g.postACS(newBrowser(), "acme", "bm90IHhtbA==", ""); r.StatusCode != http.StatusBadRequest {
				t.Fatalf("junk ACS POST: %d", r.StatusCode)
			}
		}
		if list := g.failures(t); len(list) != 1 || list[0].Reason != "malformed" {
			t.Fatalf("30 identical refusals stored %d records: %+v", len(list), list)
		}
		g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "stranger@acme.example")), "")
		if list := g.failures(t); len(list) != 2 || list[0].Reason != "unknown_employee" {
			t.Fatalf("a different refusal: %+v", list)
		}
		mr, err := http.Get(g.metricsURL + "/metrics")
		testenv.Must(t, err, "metrics")
		if m := body(t, mr); !strings.Contains(m, "ssogate_signin_failures_folded_total 29") ||
			!strings.Contains(m, `ssogate_logins_total{outcome="refused",reason="malformed"} 30`) {
			t.Fatalf("metrics do not count every refusal:\n%s", m)
		}
	})
}

// Each client address has a sign-in rate: beyond it GET /login and the ACS
// answer 429 with Retry-After and write nothing (no pending request, no
// record); another address is not affected.
func TestSignInRequestsAreRateLimitedPerClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, func(c *configT) { c.SigninRate, c.SigninBurst, c.TrustProxyHeaders = 1, 5, true })
		from := func(ip, method, path string, form url.Values) *http.Response {
			var rd *strings.Reader
			if form != nil {
				rd = strings.NewReader(form.Encode())
			} else {
				rd = strings.NewReader("")
			}
			req, _ := http.NewRequest(method, g.URL+path, rd)
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Header.Set("X-Forwarded-For", ip)
			resp, err := newBrowser().Do(req)
			testenv.Must(t, err, "%s %s", method, path)
			resp.Body.Close()
			return resp
		}
		codes := map[int]int{}
		for range 20 {
			codes[from("198.51.100.7", http.MethodGet, "/c/acme/login", nil).StatusCode]++
		}
		if codes[http.StatusFound] < 5 || codes[http.StatusFound] > 7 || codes[http.StatusTooManyRequests] < 13 {
			t.Fatalf("20 GET /login from one address: %v, want about 5 redirects and the rest 429", codes)
		}
		r := from("198.51.100.7", http.MethodPost, "/c/acme/saml/acs", url.Values{"SAMLResponse": {"bm90IHhtbA=="}})
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("ACS over the limit: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
		}
		if list := g.failures(t); len(list) != 0 {
			t.Fatalf("a rate-limited request left records: %+v", list)
		}
		if r := from("203.0.113.9", http.MethodGet, "/c/acme/login", nil); r.StatusCode != http.StatusFound {
			t.Fatalf("another address: %d", r.StatusCode)
		}
		// IPv6 clients are limited per /64.
		codes = map[int]int{}
		for i := range 12 {
			codes[from("2001:db8:1:2::"+strconv.Itoa(i+1), http.MethodGet, "/c/acme/login", nil).StatusCode]++
		}
		if codes[http.StatusTooManyRequests] < 5 {
			t.Fatalf("12 logins from one IPv6 /64: %v", codes)
		}
	})
}

// Sign-in records older than SSOGATE_SIGNIN_LOG_RETENTION are deleted, by
// one instance per hour.
func TestSignInRecordsExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, func(c *configT) { c.SigninLogRetention = 30 * 24 * time.Hour })
		ctx := context.Background()
		old := time.Now().AddDate(0, 0, -31)
		for i := range 3 {
			testenv.Must(t, g.dir.RecordSignIn(ctx, &directory.SignInEvent{CompanyID: g.company.ID, At: old.Add(time.Duration(i) * time.Minute),
				Reason: "malformed", Detail: "junk"}), "old record")
		}
		g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "stranger@acme.example")), "")
		n, err := g.web.PruneSignInLog(ctx)
		testenv.Must(t, err, "prune")
		if n != 3 {
			t.Fatalf("pruned %d, want the 3 old records", n)
		}
		if list := g.failures(t); len(list) != 1 || list[0].Reason != "unknown_employee" {
			t.Fatalf("left: %+v", list)
		}
		// A second instance in the same hour leaves it to the first.
		if n, err := g.web.PruneSignInLog(ctx); err != nil || n != 0 {
			t.Fatalf("second run in the hour: %d %v", n, err)
		}
	})
}

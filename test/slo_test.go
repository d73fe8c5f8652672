package test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// enableSLO switches Single Logout on for the gateway's company, as
// `ssogate sso configure acme --slo true` does.
func (g *gw) enableSLO(t *testing.T, on bool) {
	t.Helper()
	ctx := context.Background()
	c, err := g.dir.GetCompany(ctx, "acme")
	testenv.Must(t, err, "get company")
	c.SLOEnabled = on
	testenv.Must(t, g.dir.UpdateCompanySettings(ctx, c), "enable SLO")
}

// mobileToken gives the employee a mobile access token straight in the
// session store (what the OAuth token endpoint stores).
func (g *gw) mobileToken(t *testing.T, userName string) string {
	t.Helper()
	ctx := context.Background()
	e, err := g.dir.FindEmployeeByUserName(ctx, g.company.ID, userName)
	testenv.Must(t, err, "find employee")
	secret := session.NewSecret()
	now := time.Now()
	testenv.Must(t, g.sess.Create(ctx, &session.Session{ID: session.Key(secret), Kind: session.KindBearer, CompanyID: g.company.ID,
		Company: "acme", EmployeeID: e.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), Via: "oauth"}), "create token")
	return secret
}

func (g *gw) meBearer(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/c/acme/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err, "GET /api/me with a token")
	resp.Body.Close()
	return resp.StatusCode
}

func (g *gw) sloURL() string { return g.URL + "/c/acme/saml/slo" }

func get(t *testing.T, br *browser, u string) *http.Response {
	t.Helper()
	resp, err := br.Get(u)
	testenv.Must(t, err, "GET %s", u)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestSingleLogoutFromEntraEndsEveryBrowserSessionNotMobileTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.enableSLO(t, true)
		b1, b2, other := newBrowser(), newBrowser(), newBrowser()
		g.postACS(b1, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		g.postACS(b2, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		g.postACS(other, "acme", g.signed(g.assertion("acme", "lars.jensen@acme.example")), "")
		token := g.mobileToken(t, "maja.holm@acme.example")

		target := g
		if b.share { // a second instance on the same stores answers Entra
			target = newGWOn(t, g.dir, g.sess, g, func(c *configT) { // the company's Login URL is the first instance's fake Entra
				c.IDPLoginHosts = append(c.IDPLoginHosts, strings.TrimPrefix(g.URL, "http://"))
			})
		}
		u, err := g.idp.LogoutRequestURL(ssotest.Logout{Destination: target.sloURL(), NameID: "Maja.Holm@acme.example", RelayState: "entra-relay", ID: "_lr1"})
		testenv.Must(t, err, "logout request")
		resp := get(t, b1, u)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("LogoutRequest answered %d: %s\n%s", resp.StatusCode, body(t, resp), target.logText())
		}
		info, err := ssotest.DecodeLogout(resp.Header.Get("Location"))
		testenv.Must(t, err, "decode LogoutResponse")
		if info.Kind != "LogoutResponse" || info.InResponseTo != "_lr1" || info.Status != ssotest.StatusSuccess ||
			info.Issuer != target.URL+"/c/acme/saml/metadata" || info.To != g.URL+"/fake-entra/saml2" || info.RelayState != "entra-relay" {
			t.Fatalf("LogoutResponse: %+v", info)
		}
		for i, br := range []*browser{b1, b2} {
			if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
				t.Fatalf("browser %d still signed in after Entra's logout: %d", i, code)
			}
		}
		if code, _ := g.me(other, "acme"); code != http.StatusOK {
			t.Fatalf("another employee was signed out: %d", code)
		}
		if code := g.meBearer(t, token); code != http.StatusOK {
			t.Fatalf("the mobile token stopped working after a browser logout: %d", code)
		}
		// The same LogoutRequest again is refused and ends nothing new.
		g.postACS(b1, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		again := get(t, newBrowser(), u)
		if again.StatusCode != http.StatusForbidden || !strings.Contains(body(t, again), "could not be verified") {
			t.Fatalf("replayed LogoutRequest: %d", again.StatusCode)
		}
		if code, _ := g.me(b1, "acme"); code != http.StatusOK {
			t.Fatalf("a replayed LogoutRequest ended a new session: %d", code)
		}
	})
}

func TestSingleLogoutFromEntraBySessionIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.enableSLO(t, true)
		br := newBrowser()
		a := g.assertion("acme", "maja.holm@acme.example")
		a.AssertionID = "_sess-" + ssotest.NewTenantID()
		g.postACS(br, "acme", g.signed(a), "")
		// Entra's broadcast may name the user by a pairwise identifier the
		// gateway cannot match; the SessionIndex (the assertion ID) it
		// handed out at sign-in still finds the session.
		u, err := g.idp.LogoutRequestURL(ssotest.Logout{Destination: g.sloURL(), NameID: "H0EPlI1hHuuvn5N6-rgMR7aZzBCBTjfS6pFVIksD0Ds",
			NameIDFormat: ssotest.NameIDPersistent, SessionIndex: a.AssertionID})
		testenv.Must(t, err, "logout request")
		if resp := get(t, newBrowser(), u); resp.StatusCode != http.StatusFound {
			t.Fatalf("LogoutRequest answered %d\n%s", resp.StatusCode, g.logText())
		}
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("session survives a LogoutRequest naming its SessionIndex: %d", code)
		}
		// An unmatched user is no error: Entra gets Success, nothing ends.
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		u, _ = g.idp.LogoutRequestURL(ssotest.Logout{Destination: g.sloURL(), NameID: "nobody@acme.example"})
		if resp := get(t, newBrowser(), u); resp.StatusCode != http.StatusFound {
			t.Fatalf("LogoutRequest for an unknown user answered %d", resp.StatusCode)
		}
		if code, _ := g.me(br, "acme"); code != http.StatusOK {
			t.Fatalf("a LogoutRequest for someone else ended the session: %d", code)
		}
	})
}

func deflateB64(s string) string { return ssotest.RedirectEncode(s) }

func TestSingleLogoutHostileRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.enableSLO(t, true)
		br := newBrowser()
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		attacker, err := rsa.GenerateKey(rand.Reader, 2048)
		testenv.Must(t, err, "key")
		lr := func(l ssotest.Logout) string {
			if l.Destination == "" {
				l.Destination = g.sloURL()
			}
			if l.NameID == "" {
				l.NameID = "maja.holm@acme.example"
			}
			u, err := g.idp.LogoutRequestURL(l)
			testenv.Must(t, err, "logout request")
			return u
		}
		var bomb bytes.Buffer
		w, _ := flate.NewWriter(&bomb, flate.BestCompression)
		_, _ = w.Write([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` + strings.Repeat(" ", 8<<20)))
		_ = w.Close()
		cases := []struct {
			name string
			url  string
			want int
		}{
			{"wrong issuer", lr(ssotest.Logout{Issuer: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"}), 403},
			{"stale", lr(ssotest.Logout{IssueInstant: time.Now().Add(-time.Hour)}), 403},
			{"from the future", lr(ssotest.Logout{IssueInstant: time.Now().Add(time.Hour)}), 403},
			{"other destination", lr(ssotest.Logout{Destination: g.URL + "/c/acme/saml/slo?x=1"}), 403},
			{"signed by an attacker", lr(ssotest.Logout{Sign: true, Key: attacker}), 403},
			{"signed with SHA-1", lr(ssotest.Logout{Sign: true, SHA1: true}), 403},
			{"no SAMLRequest", g.sloURL(), 400},
			{"not base64", g.sloURL() + "?SAMLRequest=%25%25%25", 400},
			{"not deflated", g.sloURL() + "?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("<x/>"))), 400},
			{"not XML", g.sloURL() + "?SAMLRequest=" + url.QueryEscape(deflateB64("hello")), 400},
			{"a DOCTYPE", g.sloURL() + "?SAMLRequest=" + url.QueryEscape(deflateB64(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:LogoutRequest>`)), 400},
			{"an AuthnRequest", g.sloURL() + "?SAMLRequest=" + url.QueryEscape(ssotest.EncodeAuthnRequest("_a", g.idp.Issuer, "", g.URL)), 400},
			{"a deflate bomb", g.sloURL() + "?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(bomb.Bytes())), 400},
			{"a LogoutResponse nobody asked for", func() string {
				u, _ := g.idp.LogoutResponseURL(ssotest.Logout{Destination: g.sloURL(), InResponseTo: "id-x", RelayState: strings.Repeat("a", 22)})
				return u
			}(), 403},
		}
		for _, tc := range cases {
			resp := get(t, newBrowser(), tc.url)
			page := body(t, resp)
			if resp.StatusCode != tc.want || !strings.Contains(page, "<html") {
				t.Errorf("%s: %d (want %d) %.200s", tc.name, resp.StatusCode, tc.want, page)
			}
			if code, _ := g.me(br, "acme"); code != http.StatusOK {
				t.Fatalf("%s ended the session: %d", tc.name, code)
			}
		}
		// A request Entra signs with its own key (query signature) is accepted.
		if resp := get(t, newBrowser(), lr(ssotest.Logout{Sign: true})); resp.StatusCode != http.StatusFound {
			t.Fatalf("a validly signed LogoutRequest answered %d\n%s", resp.StatusCode, g.logText())
		}
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("a validly signed LogoutRequest left the session: %d", code)
		}
		// With Single Logout off, even a genuine request ends nothing.
		g.enableSLO(t, false)
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		if resp := get(t, newBrowser(), lr(ssotest.Logout{})); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("LogoutRequest with SLO off: %d", resp.StatusCode)
		}
		if code, _ := g.me(br, "acme"); code != http.StatusOK {
			t.Fatalf("a LogoutRequest ended a session with SLO off: %d", code)
		}
		if strings.Contains(g.logText(), `level=ERROR`) {
			t.Fatalf("an error was logged:\n%s", g.logText())
		}
	})
}

func TestSingleLogoutFromHere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.enableSLO(t, true)
		br := newBrowser()
		if acs := g.spLogin(t, br, "/c/acme/login", 0); acs.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", acs.StatusCode)
		}
		token := g.mobileToken(t, "maja.holm@acme.example")
		resp, err := br.PostForm(g.URL+"/c/acme/logout", nil)
		testenv.Must(t, err, "logout")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, g.URL+"/fake-entra/saml2?") {
			t.Fatalf("sign-out: %d %q, want a redirect to Entra", resp.StatusCode, loc)
		}
		info, err := ssotest.DecodeLogout(loc)
		testenv.Must(t, err, "decode LogoutRequest")
		if info.Kind != "LogoutRequest" || info.NameID != "maja.holm@acme.example" || info.NameIDFormat != ssotest.NameIDEmail ||
			info.SessionIndex == "" || info.Issuer != g.URL+"/c/acme/saml/metadata" || info.Destination != g.URL+"/fake-entra/saml2" ||
			len(info.RelayState) != 22 || strings.HasPrefix(info.ID, "0") {
			t.Fatalf("LogoutRequest: %+v", info)
		}
		// The session ended here before the browser left.
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("session alive while at Entra: %d", code)
		}
		entra := get(t, br, loc)
		back := entra.Header.Get("Location")
		if entra.StatusCode != http.StatusFound || !strings.HasPrefix(back, g.sloURL()+"?") {
			t.Fatalf("fake Entra: %d %q %s", entra.StatusCode, back, body(t, entra))
		}
		done := get(t, br, back)
		if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/c/acme/signed-out" {
			t.Fatalf("LogoutResponse: %d %q\n%s", done.StatusCode, done.Header.Get("Location"), g.logText())
		}
		if code := g.meBearer(t, token); code != http.StatusOK {
			t.Fatalf("the mobile token ended with the browser sign-out: %d", code)
		}
		// The same answer again, or one for another request, is not trusted.
		if again := get(t, br, back); again.StatusCode != http.StatusForbidden || !strings.Contains(body(t, again), "could not be verified") {
			t.Fatalf("replayed LogoutResponse: %d", again.StatusCode)
		}
		g.spLogin(t, br, "/c/acme/login", 0)
		resp, err = br.PostForm(g.URL+"/c/acme/logout", nil)
		testenv.Must(t, err, "logout")
		info, _ = ssotest.DecodeLogout(resp.Header.Get("Location"))
		for _, l := range []ssotest.Logout{
			{InResponseTo: "id-someone-else"},
			{InResponseTo: info.ID, Issuer: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"},
			{InResponseTo: info.ID, Status: ssotest.StatusResponder},
		} {
			l.Destination, l.RelayState = g.sloURL(), info.RelayState
			u, _ := g.idp.LogoutResponseURL(l)
			if r := get(t, br, u); r.StatusCode != http.StatusForbidden {
				t.Fatalf("LogoutResponse %+v: %d", l, r.StatusCode)
			}
		}
		// With Single Logout off, signing out stays local.
		g.enableSLO(t, false)
		g.spLogin(t, br, "/c/acme/login", 0)
		resp, err = br.PostForm(g.URL+"/c/acme/logout", nil)
		testenv.Must(t, err, "logout")
		if resp.Header.Get("Location") != "/c/acme/signed-out" {
			t.Fatalf("sign-out with SLO off went to %q", resp.Header.Get("Location"))
		}
	})
}

func TestMetadataListsSingleLogout(t *testing.T) {
	g := newGW(t, backends()[0])
	md := body(t, get(t, newBrowser(), g.URL+"/c/acme/saml/metadata"))
	if !strings.Contains(md, `SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="`+g.sloURL()+`"`) {
		t.Fatalf("metadata lacks the SLO service: %s", md)
	}
}

func TestAdminSingleLogoutSetting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		code, page := a.get(t, "/admin/sso")
		if code != http.StatusOK || !strings.Contains(page, g.sloURL()) || !strings.Contains(page, `data-copy-target="val-logout-url"`) || !strings.Contains(page, `id="slo"`) {
			t.Fatalf("SSO page (%d) lacks the Logout Url or the Single Logout switch", code)
		}
		expectDone(t, a.post(t, "/sso", url.Values{"enabled": {"on"}, "nameid": {"upn"}, "identifier": {g.idp.Issuer},
			"login_url": {g.URL + "/fake-entra/saml2"}, "slo": {"on"}}), "sso")
		c, err := g.dir.GetCompany(context.Background(), "acme")
		testenv.Must(t, err, "get company")
		if !c.SLOEnabled || !c.SSOEnabled {
			t.Fatalf("Single Logout not saved: %+v", c)
		}
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "sso.configure", "slo=true") {
			t.Fatalf("not audited: %+v", g.audit(t, g.company))
		}
		// Effective at once: Entra's LogoutRequest is honoured.
		br := newBrowser()
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		u, _ := g.idp.LogoutRequestURL(ssotest.Logout{Destination: g.sloURL(), NameID: "maja.holm@acme.example"})
		if r := get(t, newBrowser(), u); r.StatusCode != http.StatusFound {
			t.Fatalf("LogoutRequest after switching SLO on: %d", r.StatusCode)
		}
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("session survives: %d", code)
		}
	})
}

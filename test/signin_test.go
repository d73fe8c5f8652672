package test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// forEachBackend runs the test on SQLite + in-process sessions and on
// PostgreSQL + Redis, in parallel with the other end-to-end tests: each
// gateway has its own database (file or schema), Redis key prefix, fake
// Entra and metrics registry.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func TestIdPInitiatedLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		br := newBrowser()
		resp := g.postACS(br, "acme", g.signed(g.assertion("acme", " Maja.Holm@ACME.example ")), "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/c/acme/" {
			t.Fatalf("ACS: %d %q, want 303 to /c/acme/\n%s", resp.StatusCode, resp.Header.Get("Location"), g.logText())
		}
		ck := g.sessionCookie(br)
		if ck == nil {
			t.Fatal("no session cookie set")
		}
		raw := resp.Header.Values("Set-Cookie")
		joined := strings.Join(raw, "\n")
		if !strings.Contains(joined, "HttpOnly") || !strings.Contains(joined, "SameSite=Lax") {
			t.Fatalf("session cookie attributes: %s", joined)
		}
		code, me := g.me(br, "acme")
		if code != http.StatusOK || me["userName"] != "maja.holm@acme.example" || me["company"] != "acme" || me["active"] != true {
			t.Fatalf("/api/me = %d %v", code, me)
		}
		ev := g.lastSignIn(t, g.company)
		if !ev.Success || ev.CertSHA256 == "" {
			t.Fatalf("sign-in event %+v", ev)
		}
		list, err := g.dir.ListCertificates(context.Background(), g.company.ID, false)
		testenv.Must(t, err, "list certs")
		if list[0].LastUsedAt == nil || list[0].UseCount != 1 || list[0].SHA256 != ev.CertSHA256 {
			t.Fatalf("certificate use not recorded: %+v", list[0])
		}
		// The start page shows the employee.
		resp2, err := br.Get(g.URL + "/c/acme/")
		testenv.Must(t, err, "GET start")
		if page := body(t, resp2); resp2.StatusCode != 200 || !strings.Contains(page, "Maja") {
			t.Fatalf("start page %d: %s", resp2.StatusCode, page)
		}
		if logs := g.logText(); strings.Contains(logs, ck.Value) {
			t.Fatal("the session cookie value reached the log")
		}
		// Neither the assertion nor the NameID (PII) is logged, on success
		// or refusal (a tampered one: signature broken).
		resp3 := g.signed(g.assertion("acme", "lars.jensen@acme.example"))
		tampered := resp3[:len(resp3)/2] + "AAAA" + resp3[len(resp3)/2+4:]
		g.postACS(newBrowser(), "acme", tampered, "")
		logs := g.logText()
		for _, secret := range []string{resp3[100:160], tampered[100:160], "lars.jensen@acme.example", "maja.holm@acme.example"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the log holds %q", secret)
			}
		}
	})
}

// spLogin follows an SP-initiated login through the fake Entra, choosing the
// user at index i, and returns the ACS response.
func (g *gw) spLogin(t *testing.T, br *browser, path string, i int) *http.Response {
	t.Helper()
	resp, err := br.Get(g.URL + path)
	testenv.Must(t, err, "GET %s", path)
	for resp.StatusCode == http.StatusFound && !strings.Contains(resp.Header.Get("Location"), "/fake-entra/") {
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "http") {
			loc = g.URL + loc
		}
		resp, err = br.Get(loc)
		testenv.Must(t, err, "GET %s", loc)
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, g.URL+"/fake-entra/saml2?") {
		t.Fatalf("expected a redirect to Entra, got %d %q", resp.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	if relay := u.Query().Get("RelayState"); relay == "" || len(relay) > 80 || strings.Contains(relay, "/") {
		t.Fatalf("RelayState must be a short opaque key, got %q", relay)
	}
	form := url.Values{"SAMLRequest": {u.Query().Get("SAMLRequest")}, "RelayState": {u.Query().Get("RelayState")}, "user": {string(rune('0' + i))}}
	idpResp, err := br.PostForm(g.URL+"/fake-entra/saml2", form)
	testenv.Must(t, err, "POST fake entra")
	page := body(t, idpResp)
	if idpResp.StatusCode != 200 {
		t.Fatalf("fake Entra refused the AuthnRequest: %d %s", idpResp.StatusCode, page)
	}
	v := formValues(page)
	acs, err := br.PostForm(g.URL+"/c/acme/saml/acs", v)
	testenv.Must(t, err, "POST ACS")
	t.Cleanup(func() { acs.Body.Close() })
	return acs
}

func TestSPInitiatedLoginReturnsToThePageFirstAskedFor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		br := newBrowser()
		acs := g.spLogin(t, br, "/c/acme/login?return_to=/c/acme/api/me%3Fx%3D1", 0)
		if acs.StatusCode != http.StatusSeeOther || acs.Header.Get("Location") != "/c/acme/api/me?x=1" {
			t.Fatalf("ACS: %d %q\n%s", acs.StatusCode, acs.Header.Get("Location"), g.logText())
		}
		if code, me := g.me(br, "acme"); code != 200 || me["userName"] != "maja.holm@acme.example" {
			t.Fatalf("/api/me %d %v", code, me)
		}
		// The start page of an unauthenticated browser starts the same flow.
		br2 := newBrowser()
		acs2 := g.spLogin(t, br2, "/c/acme/", 0)
		if acs2.StatusCode != http.StatusSeeOther || acs2.Header.Get("Location") != "/c/acme/" {
			t.Fatalf("start page flow: %d %q", acs2.StatusCode, acs2.Header.Get("Location"))
		}
		// The object id Entra sent is now bound to the employee.
		e, err := g.dir.FindEmployeeByUserName(context.Background(), g.company.ID, "maja.holm@acme.example")
		testenv.Must(t, err, "find")
		if e.EntraObjectID != "11111111-1111-1111-1111-111111111111" {
			t.Fatalf("object id not bound: %q", e.EntraObjectID)
		}
	})
}

func TestSPInitiatedStateIsSingleUseAndSharedAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if !b.share {
			t.Skip("the in-process store is per instance by design")
		}
		g1 := newGW(t, b)
		g2 := newGWOn(t, g1.dir, g1.sess, g1)
		br := newBrowser()
		// Start on instance 1, let the POST land on instance 2.
		resp, err := br.Get(g1.URL + "/c/acme/login")
		testenv.Must(t, err, "login")
		u, _ := url.Parse(resp.Header.Get("Location"))
		req := u.Query().Get("SAMLRequest")
		relay := u.Query().Get("RelayState")
		idpResp, err := br.PostForm(g1.URL+"/fake-entra/saml2", url.Values{"SAMLRequest": {req}, "RelayState": {relay}, "user": {"0"}})
		testenv.Must(t, err, "idp")
		v := formValues(body(t, idpResp))
		// Instance 2 has the audience of instance 1 only if URLs match; they
		// differ by port, so re-sign for instance 2's URLs with the same
		// request id: what matters is the shared state.
		a := g2.assertion("acme", "maja.holm@acme.example")
		inResp := requestIDOf(t, req)
		a.InResponseTo = inResp
		v.Set("SAMLResponse", g2.signed(a))
		acs := g2.postACS(br, "acme", v.Get("SAMLResponse"), relay)
		if acs.StatusCode != http.StatusSeeOther {
			t.Fatalf("instance 2 refused a request started on instance 1: %d\n%s", acs.StatusCode, g2.logText())
		}
		// The same state cannot be used twice, on either instance.
		a.AssertionID = ""
		again := g1.postACS(newBrowser(), "acme", g2.signed(a), relay)
		if again.StatusCode != http.StatusForbidden {
			t.Fatalf("second use of the request state: %d", again.StatusCode)
		}
	})
}

func TestReplayIsRefusedEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		resp := g.signed(g.assertion("acme", "maja.holm@acme.example"))
		if r := g.postACS(newBrowser(), "acme", resp, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use: %d", r.StatusCode)
		}
		br := newBrowser()
		r := g.postACS(br, "acme", resp, "")
		if r.StatusCode != http.StatusForbidden || g.sessionCookie(br) != nil {
			t.Fatalf("replay: %d, cookie %v", r.StatusCode, g.sessionCookie(br))
		}
		if ev := g.lastSignIn(t, g.company); ev.Success || ev.Reason != "replay" {
			t.Fatalf("replay not recorded: %+v", ev)
		}
		if b.share {
			g2 := newGWOn(t, g.dir, g.sess, g)
			// Same company, same stores, another instance: the assertion
			// (for instance 1's URLs) must be refused as a replay, not for
			// its audience: sign one for instance 2, use it there, then
			// replay it on instance 2 again through a third instance.
			r2 := g2.signed(g2.assertion("acme", "maja.holm@acme.example"))
			if x := g2.postACS(newBrowser(), "acme", r2, ""); x.StatusCode != http.StatusSeeOther {
				t.Fatalf("instance 2 first use: %d", x.StatusCode)
			}
			g3 := newGWOn(t, g.dir, g.sess, g, func(c *configT) { c.PublicURL = g2.URL })
			if x := g3.postACS(newBrowser(), "acme", r2, ""); x.StatusCode != http.StatusForbidden {
				t.Fatalf("replay on another instance: %d\n%s", x.StatusCode, g3.logText())
			}
			if ev := g.lastSignIn(t, g.company); ev.Reason != "replay" {
				t.Fatalf("cross-instance replay reason %q", ev.Reason)
			}
		}
	})
}

func TestOneSessionPerBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		br := newBrowser()
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		first := g.sessionCookie(br)
		if first == nil {
			t.Fatal("no first session")
		}
		// A second login in the same browser (another person at a shared PC).
		r := g.postACS(br, "acme", g.signed(g.assertion("acme", "lars.jensen@acme.example")), "")
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("second login: %d", r.StatusCode)
		}
		second := g.sessionCookie(br)
		if second == nil || second.Value == first.Value {
			t.Fatal("the second login must issue a new session id")
		}
		if _, err := g.sess.Get(context.Background(), session.Key(first.Value)); err == nil {
			t.Fatal("the first session is still alive server-side")
		}
		// The old cookie, replayed by someone who copied it, is dead.
		old := newBrowser()
		u, _ := url.Parse(g.URL + "/")
		old.jar.SetCookies(u, []*http.Cookie{{Name: first.Name, Value: first.Value, Path: "/"}})
		if code, _ := g.me(old, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("old session still works: %d", code)
		}
		if _, me := g.me(br, "acme"); me["userName"] != "lars.jensen@acme.example" {
			t.Fatalf("browser now belongs to %v", me["userName"])
		}
	})
}

func TestLogoutEndsTheSessionAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		br := newBrowser()
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		ck := g.sessionCookie(br)
		resp, err := br.PostForm(g.URL+"/c/acme/logout", nil)
		testenv.Must(t, err, "logout")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout %d", resp.StatusCode)
		}
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("after logout /api/me = %d", code)
		}
		if _, err := g.sess.Get(context.Background(), session.Key(ck.Value)); err == nil {
			t.Fatal("session survives logout server-side")
		}
	})
}

func TestRevocationEndsEverySessionOfAnEmployee(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		b1, b2 := newBrowser(), newBrowser()
		g.postACS(b1, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		g.postACS(b2, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		e, err := g.dir.FindEmployeeByUserName(context.Background(), g.company.ID, "maja.holm@acme.example")
		testenv.Must(t, err, "find")
		n, err := g.sess.RevokeEmployee(context.Background(), g.company.ID, e.ID)
		testenv.Must(t, err, "revoke")
		if n != 2 {
			t.Fatalf("revoked %d sessions, want 2", n)
		}
		for _, br := range []*browser{b1, b2} {
			if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
				t.Fatalf("revoked session still works: %d", code)
			}
		}
	})
}

func TestRefusedEmployees(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		// A NameID longer than the record keeps, cut where a two-byte
		// character would be split, is still recorded (as valid UTF-8).
		long := strings.Repeat("a", 255) + strings.Repeat("ø", 20) + "@acme.example"
		cases := []struct{ nameID, reason string }{
			{"stranger@acme.example", "unknown_employee"},
			{"sofie.berg@acme.example", "inactive_employee"},
			{long, "unknown_employee"},
		}
		for _, c := range cases {
			br := newBrowser()
			r := g.postACS(br, "acme", g.signed(g.assertion("acme", c.nameID)), "")
			page := body(t, r)
			if r.StatusCode != http.StatusForbidden || g.sessionCookie(br) != nil {
				t.Fatalf("%s: %d", c.nameID, r.StatusCode)
			}
			if !strings.Contains(page, "administrator") {
				t.Fatalf("%s: the page must say whom to ask: %s", c.nameID, page)
			}
			want := c.nameID
			if c.nameID == long {
				want = strings.Repeat("a", 255) // 256 bytes would split the first ø
			}
			if ev := g.lastSignIn(t, g.company); ev.Reason != c.reason || ev.NameID != want {
				t.Fatalf("%.40s: recorded %+v", c.nameID, ev)
			}
		}
		// A hard-deleted employee is unknown.
		e, err := g.dir.FindEmployeeByUserName(ctx, g.company.ID, "lars.jensen@acme.example")
		testenv.Must(t, err, "find")
		now := time.Now()
		e.DeletedAt, e.Active = &now, false
		testenv.Must(t, g.dir.UpdateEmployee(ctx, e), "delete")
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "lars.jensen@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("hard-deleted employee signed in: %d", r.StatusCode)
		}
	})
}

func TestNameIDModeMail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		c := *g.company
		c.NameIDMode = directory.NameIDMail
		testenv.Must(t, g.dir.UpdateCompanySettings(ctx, &c), "mail mode")
		br := newBrowser()
		// Lars's UPN differs from his mail: only the mail matches now.
		if r := g.postACS(br, "acme", g.signed(g.assertion("acme", "LARS@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("mail mode login: %d\n%s", r.StatusCode, g.logText())
		}
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "lars.jensen@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("UPN accepted in mail mode: %d", r.StatusCode)
		}
	})
}

func TestObjectIDSurvivesRenameAndCannotBindTwice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		a := g.assertion("acme", "maja.holm@acme.example")
		a.ObjectID = "22222222-2222-2222-2222-222222222222"
		if r := g.postACS(newBrowser(), "acme", g.signed(a), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first login %d", r.StatusCode)
		}
		// Entra renames her (domain change) before the directory follows.
		a.NameID = "maja.holm@acme-group.example"
		a.AssertionID = ""
		br := newBrowser()
		if r := g.postACS(br, "acme", g.signed(a), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login after UPN change %d\n%s", r.StatusCode, g.logText())
		}
		if _, me := g.me(br, "acme"); me["userName"] != "maja.holm@acme.example" {
			t.Fatalf("object id matched someone else: %v", me)
		}
		// Another employee presenting the same object id must not bind it.
		a2 := g.assertion("acme", "lars.jensen@acme.example")
		a2.ObjectID = "33333333-3333-3333-3333-333333333333"
		g.postACS(newBrowser(), "acme", g.signed(a2), "")
		lars, _ := g.dir.FindEmployeeByUserName(ctx, g.company.ID, "lars.jensen@acme.example")
		// Lars's name now arrives with Maja's object id: refused.
		a3 := g.assertion("acme", "lars.jensen@acme.example")
		a3.ObjectID = "44444444-4444-4444-4444-444444444444"
		if r := g.postACS(newBrowser(), "acme", g.signed(a3), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("a different object id for a bound employee was accepted: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "objectid_conflict" {
			t.Fatalf("reason %q", ev.Reason)
		}
		if lars.EntraObjectID != "33333333-3333-3333-3333-333333333333" {
			t.Fatalf("lars bound to %q", lars.EntraObjectID)
		}
	})
}

func TestCertificateRolloverWithoutDowntime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		next, err := ssotest.New(g.idp.Issuer)
		testenv.Must(t, err, "next cert")
		// The admin pastes the new certificate while the old one still signs.
		newInfo := g.trust(g.company, next.CertificateBase64(), false)
		oldSigned := g.signed(g.assertion("acme", "maja.holm@acme.example"))
		if r := g.postACS(newBrowser(), "acme", oldSigned, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("old certificate refused during rollover: %d", r.StatusCode)
		}
		// Entra switches ("Make certificate active").
		a := g.assertion("acme", "maja.holm@acme.example")
		a.Key, a.Cert = next.Key, next.Cert
		if r := g.postACS(newBrowser(), "acme", g.signed(a), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("new certificate refused: %d\n%s", r.StatusCode, g.logText())
		}
		if ev := g.lastSignIn(t, g.company); ev.CertSHA256 != newInfo.SHA256 {
			t.Fatalf("login not attributed to the new certificate: %+v", ev)
		}
		// The admin retires the old one: its signatures stop working.
		old, err := certsOf(g, g.idp)
		testenv.Must(t, err, "old cert")
		testenv.Must(t, g.dir.RetireCertificate(ctx, g.company.ID, old, time.Now()), "retire")
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("retired certificate still accepted: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "unknown_certificate" || !strings.Contains(ev.Detail, certSHA1(g.idp)) {
			t.Fatalf("diagnostics for the retired certificate: %+v", ev)
		}
	})
}

func TestSSODisabledAndUnknownCompany(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		c := *g.company
		c.SSOEnabled = false
		testenv.Must(t, g.dir.UpdateCompanySettings(ctx, &c), "disable")
		r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		if r.StatusCode != http.StatusForbidden || !strings.Contains(body(t, r), "switched off") {
			t.Fatalf("disabled SSO: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "sso_disabled" {
			t.Fatalf("reason %q", ev.Reason)
		}
		if r := g.postACS(newBrowser(), "nosuchco", "x", ""); r.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown company: %d", r.StatusCode)
		}
	})
}

func TestTrustOnFirstUseIssuerPinning(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		c := *g.company
		c.EntraIdentifier = ""
		testenv.Must(t, g.dir.UpdateCompanySettings(ctx, &c), "unset identifier")
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first login: %d\n%s", r.StatusCode, g.logText())
		}
		got, err := g.dir.GetCompany(ctx, "acme")
		testenv.Must(t, err, "get")
		if got.PinnedIssuer != g.idp.Issuer {
			t.Fatalf("pinned %q", got.PinnedIssuer)
		}
		// Another tenant's issuer, even signed by the trusted key, is refused now.
		a := g.assertion("acme", "maja.holm@acme.example")
		a.Issuer = "https://sts.windows.net/99999999-9999-9999-9999-999999999999/"
		if r := g.postACS(newBrowser(), "acme", g.signed(a), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("foreign issuer after pinning: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "wrong_issuer" {
			t.Fatalf("reason %q (%s)", ev.Reason, ev.Detail)
		}
	})
}

func TestCompaniesAreIsolated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		// A second company in the SAME Entra tenant (same issuer and key).
		other := g.createCompany("globex", "Globex", g.idp)
		_ = other
		// An assertion made for acme, posted to globex's ACS.
		r := g.postACS(newBrowser(), "globex", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("acme's assertion accepted at globex: %d", r.StatusCode)
		}
		// An acme session is useless at globex.
		br := newBrowser()
		g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		if code, _ := g.me(br, "globex"); code != http.StatusUnauthorized {
			t.Fatalf("acme session at globex: %d", code)
		}
	})
}

func TestRelayStateIsSameSiteOnly(t *testing.T) {
	g := newGW(t, backends()[0])
	cases := map[string]string{
		"":                                 "/c/acme/",
		"/c/acme/reports?y=2026":           "/c/acme/reports?y=2026",
		g.URL + "/c/acme/absence":          "/c/acme/absence",
		"https://evil.example/c/acme/":     "/c/acme/",
		"//evil.example/c/acme/":           "/c/acme/",
		"/\\evil.example":                  "/c/acme/",
		"\\\\evil.example":                 "/c/acme/",
		"javascript:alert(1)":              "/c/acme/",
		"/c/acme/\t/evil":                  "/c/acme/",
		"/c/acme/\n//evil.example":         "/c/acme/",
		"/c/acme/../globex/":               "/c/acme/",
		"http://" + "evil.example@" + "x/": "/c/acme/",
		"/c/globex/":                       "/c/acme/",
		"data:text/html,hi":                "/c/acme/",
	}
	for relay, want := range cases {
		r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), relay)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("RelayState %q → %d %q, want %q", relay, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	// return_to on the login start obeys the same rule.
	br := newBrowser()
	for _, bad := range []string{"https://evil.example/", "//evil.example", "/\\evil"} {
		resp, err := br.Get(g.URL + "/c/acme/login?return_to=" + url.QueryEscape(bad))
		testenv.Must(t, err, "login")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), g.URL+"/fake-entra/") {
			t.Fatalf("login with return_to %q: %d %q", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestACSHostileTransport(t *testing.T) {
	g := newGW(t, backends()[0])
	br := newBrowser()
	// SAMLResponse by GET is not accepted.
	resp, err := br.Get(g.URL + "/c/acme/saml/acs?SAMLResponse=" + url.QueryEscape(g.signed(g.assertion("acme", "maja.holm@acme.example"))))
	testenv.Must(t, err, "GET acs")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET ACS: %d", resp.StatusCode)
	}
	// A 12 MB body.
	big := strings.NewReader("SAMLResponse=" + strings.Repeat("A", 12<<20))
	resp, err = br.Post(g.URL+"/c/acme/saml/acs", "application/x-www-form-urlencoded", big)
	testenv.Must(t, err, "big POST")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("12 MB body: %d", resp.StatusCode)
	}
	for name, v := range map[string]string{"empty": "", "not base64": "%%%***", "not xml": "aGVsbG8gd29ybGQ="} {
		r := g.postACS(newBrowser(), "acme", v, "")
		if r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Errorf("%s SAMLResponse: %d", name, r.StatusCode)
		}
	}
	// No 5xx was ever answered, and every refusal left a reason in the log.
	if logs := g.logText(); strings.Contains(logs, "status=5") {
		t.Fatalf("a 5xx was answered:\n%s", logs)
	}
}

func TestMetadataHealthAndMetrics(t *testing.T) {
	g := newGW(t, backends()[0])
	br := newBrowser()
	resp, err := br.Get(g.URL + "/c/acme/saml/metadata")
	testenv.Must(t, err, "metadata")
	md := body(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(md, `entityID="`+g.URL+`/c/acme/saml/metadata"`) || !strings.Contains(md, g.URL+"/c/acme/saml/acs") {
		t.Fatalf("metadata %d: %s", resp.StatusCode, md)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		r, err := br.Get(g.URL + p)
		testenv.Must(t, err, "GET %s", p)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
	}
	g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
	g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "stranger@acme.example")), "")
	r, err := br.Get(g.metricsURL + "/metrics")
	testenv.Must(t, err, "metrics")
	m := body(t, r)
	for _, want := range []string{`ssogate_logins_total{outcome="success",reason="ok"} 1`,
		`ssogate_logins_total{outcome="refused",reason="unknown_employee"} 1`, "ssogate_acs_duration_seconds_bucket"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("security headers missing")
	}
}

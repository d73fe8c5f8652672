package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
)

const (
	adminEmail    = "it@acme.example"
	adminPassword = "correct horse battery staple"
)

// adminClient is a cookie-keeping client signed in to one company's console.
type adminClient struct {
	*browser
	g    *gw
	slug string
}

// addAdmin creates a break-glass admin as `ssogate admin create` does.
func (g *gw) addAdmin(t *testing.T, c *directory.Company, email, pw string) {
	t.Helper()
	hash, err := password.Hash(pw)
	testenv.Must(t, err, "hash")
	testenv.Must(t, g.dir.CreateAdmin(context.Background(), &directory.Admin{CompanyID: c.ID, Email: email, PasswordHash: hash}), "create admin")
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfFrom returns the CSRF token of the first form of a page.
func csrfFrom(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// adminLogin signs a new client in with the break-glass password.
func (g *gw) adminLogin(t *testing.T, slug, email, pw string) *adminClient {
	t.Helper()
	a := &adminClient{browser: newBrowser(), g: g, slug: slug}
	code, page := a.get(t, "/admin/login")
	if code != http.StatusOK {
		t.Fatalf("login page: %d %s", code, page)
	}
	r := a.postForm(t, "/c/"+slug+"/admin/login", url.Values{"csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/"+slug+"/admin/" {
		t.Fatalf("admin login: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), body(t, r))
	}
	return a
}

// get fetches a console path (relative to /c/{slug}) and returns status and body.
func (a *adminClient) get(t *testing.T, p string) (int, string) {
	t.Helper()
	resp, err := a.Get(a.g.URL + "/c/" + a.slug + p)
	testenv.Must(t, err, "GET %s", p)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *adminClient) postForm(t *testing.T, fullPath string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.g.URL+fullPath, strings.NewReader(form.Encode()))
	testenv.Must(t, err, "request")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.Do(req)
	testenv.Must(t, err, "POST %s", fullPath)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// csrf returns the token the browser holds (the value of its CSRF cookie,
// which every console form echoes).
func (a *adminClient) csrf(t *testing.T) string {
	t.Helper()
	u, _ := url.Parse(a.g.URL + "/")
	for _, c := range a.jar.Cookies(u) {
		if strings.Contains(c.Name, "ssogate_csrf") {
			return c.Value
		}
	}
	t.Fatal("no CSRF cookie")
	return ""
}

// post submits a console form (path relative to /c/{slug}/admin) with the
// CSRF token.
func (a *adminClient) post(t *testing.T, p string, form url.Values) *http.Response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", a.csrf(t))
	return a.postForm(t, "/c/"+a.slug+"/admin"+p, form)
}

// expectDone checks a change answered 303 back with ?done=code.
func expectDone(t *testing.T, r *http.Response, code string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "done="+code) {
		t.Fatalf("want 303 done=%s, got %d %q\n%s", code, r.StatusCode, r.Header.Get("Location"), body(t, r))
	}
}

func (g *gw) audit(t *testing.T, c *directory.Company) []directory.AuditEntry {
	t.Helper()
	list, err := g.dir.ListAudit(context.Background(), c.ID, 100)
	testenv.Must(t, err, "list audit")
	return list
}

func hasAudit(list []directory.AuditEntry, actor, action, detailPart string) bool {
	for _, a := range list {
		if a.Actor == actor && a.Action == action && strings.Contains(a.Detail, detailPart) {
			return true
		}
	}
	return false
}

func (g *gw) employee(t *testing.T, userName string) *directory.Employee {
	t.Helper()
	e, err := g.dir.FindEmployeeByUserName(context.Background(), g.company.ID, userName)
	testenv.Must(t, err, "find %s", userName)
	return e
}

// pastes are the classic paste mistakes with what the message must say.
func pasteMistakes(t *testing.T) []struct{ name, paste, reason, says string } {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	testenv.Must(t, err, "key")
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	testenv.Must(t, err, "marshal key")
	expired, err := ssotest.SelfSigned(key, ssotest.CertCN, time.Now().AddDate(-3, 0, 0), time.Now().AddDate(0, 0, -2))
	testenv.Must(t, err, "expired cert")
	b64 := func(der []byte) string {
		return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	}
	metadata := `<?xml version="1.0" encoding="utf-8"?><EntityDescriptor ID="_x" entityID="https://sts.windows.net/x/" xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><RoleDescriptor><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>MIIC8DCC</X509Certificate></X509Data></KeyInfo></KeyDescriptor></RoleDescriptor></EntityDescriptor>`
	return []struct{ name, paste, reason, says string }{
		{"private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})), string(certs.ReasonPrivateKey), "private key"},
		{"metadata xml", metadata, string(certs.ReasonMetadataXML), "metadata"},
		{"expired", b64(expired.Raw), string(certs.ReasonExpired), "expired"},
		{"garbage", "hello, this is my certificate!", string(certs.ReasonNotBase64), "Certificate (Base64)"},
	}
}

func TestAdminBreakGlassSignInAndThrottling(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		// Not signed in: the console sends the browser to its sign-in page.
		anon := &adminClient{browser: newBrowser(), g: g, slug: "acme"}
		resp, err := anon.Get(g.URL + "/c/acme/admin/employees?q=x")
		testenv.Must(t, err, "GET")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/c/acme/admin/login?next="+url.QueryEscape("/c/acme/admin/employees?q=x") {
			t.Fatalf("anonymous console: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		code, page := anon.get(t, "/admin/login")
		if code != 200 || !strings.Contains(page, "Sign in with Microsoft") || !strings.Contains(page, `type="password"`) {
			t.Fatalf("login page %d:\n%s", code, page)
		}
		tok := csrfFrom(t, page)
		// A wrong password is refused without saying which half was wrong.
		r := anon.postForm(t, "/c/acme/admin/login", url.Values{"csrf": {tok}, "email": {adminEmail}, "password": {"wrong password!!"}})
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(body(t, r), "email or password is wrong") {
			t.Fatalf("wrong password: %d", r.StatusCode)
		}
		r = anon.postForm(t, "/c/acme/admin/login", url.Values{"csrf": {tok}, "email": {"nobody@acme.example"}, "password": {adminPassword}})
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown admin: %d", r.StatusCode)
		}
		// The right password works, and makes an admin session with its own cookie.
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		u, _ := url.Parse(g.URL + "/")
		var names []string
		for _, c := range a.jar.Cookies(u) {
			names = append(names, c.Name)
			if strings.Contains(c.Name, "ssogate_session") {
				t.Fatalf("the console set a cookie named like the browser session: %s", c.Name)
			}
		}
		if !strings.Contains(strings.Join(names, ","), session.AdminCookie) {
			t.Fatalf("no admin cookie: %v", names)
		}
		code, page = a.get(t, "/admin/")
		if code != 200 || !strings.Contains(page, "Overview") || !strings.Contains(page, adminEmail) {
			t.Fatalf("overview %d:\n%s", code, page)
		}
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "admin.signin", "via=password") {
			t.Fatal("sign-in not audited")
		}
		// The admin session is not a browser session: /api/me refuses it.
		if code, _ := g.me(a.browser, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("admin cookie accepted as an employee session: %d", code)
		}
		// Security headers on console pages.
		resp, err = a.Get(g.URL + "/c/acme/admin/")
		testenv.Must(t, err, "GET")
		h := resp.Header
		resp.Body.Close()
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("security headers: %v", h)
		}
		// Sign out ends the admin session at once.
		r = a.post(t, "/logout", nil)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.StatusCode)
		}
		if code, _ := a.get(t, "/admin/"); code != http.StatusSeeOther {
			t.Fatalf("console after logout: %d", code)
		}
		// Throttling: after 5 failures the account is locked, even for the
		// right password; another account from another address is not.
		att := &adminClient{browser: newBrowser(), g: g, slug: "acme"}
		_, page = att.get(t, "/admin/login")
		tok = csrfFrom(t, page)
		for i := 0; i < 4; i++ { // the wrong password above was the first failure
			r := att.postForm(t, "/c/acme/admin/login", url.Values{"csrf": {tok}, "email": {adminEmail}, "password": {fmt.Sprintf("guess number %d", i)}})
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, r.StatusCode)
			}
		}
		r = att.postForm(t, "/c/acme/admin/login", url.Values{"csrf": {tok}, "email": {" IT@acme.example "}, "password": {adminPassword}})
		if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(body(t, r), "Too many failed sign-ins") {
			t.Fatalf("locked account accepted: %d", r.StatusCode)
		}
		if logs := g.logText(); strings.Contains(logs, adminPassword) || strings.Contains(logs, "guess number") {
			t.Fatal("a password reached the log")
		}
	})
}

func TestAdminCSRF(t *testing.T) {
	t.Parallel()
	g := newGW(t, backends()[0])
	g.addAdmin(t, g.company, adminEmail, adminPassword)
	a := g.adminLogin(t, "acme", adminEmail, adminPassword)
	_, page := a.get(t, "/admin/sso")
	if csrfFrom(t, page) != a.csrf(t) {
		t.Fatal("the form's token is not the cookie's")
	}
	form := url.Values{"enabled": {""}, "nameid": {"mail"}}
	// No token, a wrong token, and a cross-site browser request are refused.
	if r := a.postForm(t, "/c/acme/admin/sso", form); r.StatusCode != http.StatusForbidden {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	bad := url.Values{"csrf": {"x" + a.csrf(t)}, "nameid": {"mail"}}
	if r := a.postForm(t, "/c/acme/admin/sso", bad); r.StatusCode != http.StatusForbidden || !strings.Contains(body(t, r), "form has expired") {
		t.Fatalf("wrong token: %d", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/admin/sso", strings.NewReader(url.Values{"csrf": {a.csrf(t)}, "nameid": {"mail"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := a.Do(req)
	testenv.Must(t, err, "cross-site POST")
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
	c, err := g.dir.GetCompany(context.Background(), "acme")
	testenv.Must(t, err, "get")
	if !c.SSOEnabled || c.NameIDMode != directory.NameIDUPN {
		t.Fatalf("a refused form changed the settings: %+v", c)
	}
	// The CSRF cookie is Strict and HttpOnly.
	r := a.postForm(t, "/c/acme/admin/login", url.Values{})
	var raw string
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.Contains(v, "ssogate_csrf") {
			raw = v
		}
	}
	resp2, err := newBrowser().Get(g.URL + "/c/acme/admin/login")
	testenv.Must(t, err, "GET login")
	resp2.Body.Close()
	for _, v := range resp2.Header.Values("Set-Cookie") {
		if strings.Contains(v, "ssogate_csrf") {
			raw = v
		}
	}
	if !strings.Contains(raw, "SameSite=Strict") || !strings.Contains(raw, "HttpOnly") {
		t.Fatalf("CSRF cookie: %q", raw)
	}
	// The ACS and SCIM take cross-site POSTs without any CSRF token.
	if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("ACS behind CSRF: %d", r.StatusCode)
	}
}

func TestAdminOfOneCompanyCanDoNothingAtAnother(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		globex := g.createCompany("globex", "Globex", g.idp)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		g.addAdmin(t, globex, "boss@globex.example", adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		// Same password, other company: the acme admin is unknown there.
		other := &adminClient{browser: a.browser, g: g, slug: "globex"}
		_, page := other.get(t, "/admin/login")
		r := other.postForm(t, "/c/globex/admin/login", url.Values{"csrf": {csrfFrom(t, page)}, "email": {adminEmail}, "password": {adminPassword}})
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("acme admin signed in at globex: %d", r.StatusCode)
		}
		a = g.adminLogin(t, "acme", adminEmail, adminPassword)
		other = &adminClient{browser: a.browser, g: g, slug: "globex"}
		for _, p := range []string{"/admin/", "/admin/sso", "/admin/employees", "/admin/audit", "/admin/diagnostics"} {
			if code, _ := other.get(t, p); code != http.StatusSeeOther {
				t.Fatalf("acme admin at globex %s: %d", p, code)
			}
		}
		lars, err := g.dir.FindEmployeeByUserName(ctx, globex.ID, "lars.jensen@acme.example")
		testenv.Must(t, err, "find globex lars")
		for _, p := range []string{"/sso", "/employees/" + lars.ID + "/identity", "/employees/" + lars.ID + "/sessions/revoke", "/provisioning/tokens"} {
			r := other.post(t, p, url.Values{"nameid": {"mail"}, "username": {"evil"}, "email": {"evil@x.example"}})
			if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/c/globex/admin/login") {
				t.Fatalf("acme admin POST at globex %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
			}
		}
		// Nor can the acme console reach a globex employee by id.
		if code, _ := a.get(t, "/admin/employees/"+lars.ID); code != http.StatusNotFound {
			t.Fatalf("globex employee through the acme console: %d", code)
		}
		if r := a.post(t, "/employees/"+lars.ID+"/identity", url.Values{"username": {"evil"}, "email": {"evil@x.example"}}); r.StatusCode != http.StatusNotFound {
			t.Fatalf("globex employee edited through the acme console: %d", r.StatusCode)
		}
		got, err := g.dir.GetCompany(ctx, "globex")
		testenv.Must(t, err, "get globex")
		l2, err := g.dir.GetEmployee(ctx, globex.ID, lars.ID)
		testenv.Must(t, err, "get lars")
		toks, err := g.dir.ListSCIMTokens(ctx, globex.ID)
		testenv.Must(t, err, "tokens")
		if got.NameIDMode != directory.NameIDUPN || l2.UserName != "lars.jensen@acme.example" || len(toks) != 0 {
			t.Fatalf("globex changed: %+v %+v %d tokens", got, l2, len(toks))
		}
		if len(g.audit(t, globex)) != 0 {
			t.Fatalf("globex audit: %+v", g.audit(t, globex))
		}
	})
}

func TestAdminSSOSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		br := newBrowser()
		// Maja is an employee without the admin role: refused.
		acs := g.spLogin(t, br, "/c/acme/admin/login/sso", 0)
		if acs.StatusCode != http.StatusSeeOther || acs.Header.Get("Location") != "/c/acme/admin/login/sso?attempt=1" {
			t.Fatalf("ACS: %d %q\n%s", acs.StatusCode, acs.Header.Get("Location"), g.logText())
		}
		resp, err := br.Get(g.URL + acs.Header.Get("Location"))
		testenv.Must(t, err, "GET handoff")
		if page := body(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "not a setup admin") {
			t.Fatalf("non-admin: %d %s", resp.StatusCode, page)
		}
		// With the admin role she gets an admin session.
		maja := g.employee(t, "maja.holm@acme.example")
		maja.IsAdmin = true
		testenv.Must(t, g.dir.UpdateEmployee(ctx, maja), "make admin")
		br2 := newBrowser()
		acs = g.spLogin(t, br2, "/c/acme/admin/login/sso", 0)
		resp, err = br2.Get(g.URL + acs.Header.Get("Location"))
		testenv.Must(t, err, "GET handoff")
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/c/acme/admin/" {
			t.Fatalf("admin handoff: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		a := &adminClient{browser: br2, g: g, slug: "acme"}
		if code, page := a.get(t, "/admin/"); code != 200 || !strings.Contains(page, "maja.holm@acme.example") {
			t.Fatalf("console via SSO: %d", code)
		}
		// The admin session is listed with her sessions and dies with the role.
		sess, err := g.sess.ListEmployee(ctx, g.company.ID, maja.ID)
		testenv.Must(t, err, "list sessions")
		kinds := map[session.Kind]int{}
		for _, s := range sess {
			kinds[s.Kind]++
		}
		if kinds[session.KindAdmin] != 1 || kinds[session.KindBrowser] != 2 {
			t.Fatalf("sessions: %v", kinds)
		}
		maja.IsAdmin = false
		testenv.Must(t, g.dir.UpdateEmployee(ctx, maja), "remove admin")
		if code, _ := a.get(t, "/admin/"); code != http.StatusSeeOther {
			t.Fatalf("console after losing the role: %d", code)
		}
		// With SSO off, the SSO button is gone and the handoff refuses.
		c := *g.company
		c.SSOEnabled = false
		testenv.Must(t, g.dir.UpdateCompanySettings(ctx, &c), "disable")
		code, page := (&adminClient{browser: newBrowser(), g: g, slug: "acme"}).get(t, "/admin/login")
		if code != 200 || strings.Contains(page, "Sign in with Microsoft") || !strings.Contains(page, "switched off") {
			t.Fatalf("login page with SSO off: %s", page)
		}
	})
}

func TestAdminSSOSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		code, page := a.get(t, "/admin/sso")
		for _, want := range []string{g.URL + "/c/acme/saml/metadata", g.URL + "/c/acme/saml/acs", g.URL + "/c/acme/login", g.URL + "/c/acme/scim/v2", `data-copy-target="val-reply-url"`, `src="/static/admin.js"`} {
			if !strings.Contains(page, want) {
				t.Fatalf("SSO page (%d) lacks %q", code, want)
			}
		}
		if strings.Contains(page, "<script>") {
			t.Fatal("inline script")
		}
		// A bad identifier is refused inline and nothing changes.
		r := a.post(t, "/sso", url.Values{"enabled": {"on"}, "nameid": {"upn"}, "identifier": {"sts windows net"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, r), "is not a URL") {
			t.Fatalf("bad identifier: %d", r.StatusCode)
		}
		// Switch SSO off and NameID to mail: effective at once.
		expectDone(t, a.post(t, "/sso", url.Values{"nameid": {"mail"}, "identifier": {g.idp.Issuer}, "login_url": {g.URL + "/fake-entra/saml2"}, "name": {"Acme A/S"}}), "sso")
		c, err := g.dir.GetCompany(ctx, "acme")
		testenv.Must(t, err, "get")
		if c.SSOEnabled || c.NameIDMode != directory.NameIDMail {
			t.Fatalf("settings not saved: %+v", c)
		}
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "lars@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("SSO still on: %d", r.StatusCode)
		}
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "sso.configure", "enabled=false nameid=mail") {
			t.Fatalf("not audited: %+v", g.audit(t, g.company))
		}
		expectDone(t, a.post(t, "/sso", url.Values{"enabled": {"on"}, "nameid": {"mail"}, "identifier": {g.idp.Issuer}, "login_url": {g.URL + "/fake-entra/saml2"}}), "sso")
		// Lars signs in by work email now.
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "lars@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("mail NameID: %d\n%s", r.StatusCode, g.logText())
		}
		// The audit page shows who did what.
		code, page = a.get(t, "/admin/audit")
		if code != 200 || !strings.Contains(page, "sso.configure") || !strings.Contains(page, "admin:"+adminEmail) {
			t.Fatalf("audit page %d", code)
		}
	})
}

func TestAdminCertificateRollover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		oldSHA1 := certSHA1(g.idp)
		// Paste mistakes get an inline message saying what to paste instead.
		for _, m := range pasteMistakes(t) {
			r := a.post(t, "/certificates", url.Values{"certificate": {m.paste}})
			page := body(t, r)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="paste-error"`) ||
				!strings.Contains(page, `data-reason="`+m.reason+`"`) || !strings.Contains(strings.ToLower(page), strings.ToLower(m.says)) {
				t.Fatalf("%s: %d\n%s", m.name, r.StatusCode, page)
			}
			if strings.Contains(page, "PRIVATE KEY") {
				t.Fatalf("%s: the paste was echoed back", m.name)
			}
		}
		list, err := g.dir.ListCertificates(ctx, g.company.ID, true)
		testenv.Must(t, err, "list")
		if len(list) != 1 {
			t.Fatalf("a refused paste was stored: %d certs", len(list))
		}
		// The new certificate is pasted while the old one still signs.
		next, err := ssotest.New(g.idp.Issuer)
		testenv.Must(t, err, "next")
		expectDone(t, a.post(t, "/certificates", url.Values{"certificate": {"\r\n" + next.CertificateBase64()}}), "cert-added")
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("old certificate during rollover: %d", r.StatusCode)
		}
		as := g.assertion("acme", "maja.holm@acme.example")
		as.Key, as.Cert = next.Key, next.Cert
		if r := g.postACS(newBrowser(), "acme", g.signed(as), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("new certificate during rollover: %d\n%s", r.StatusCode, g.logText())
		}
		code, page := a.get(t, "/admin/certificates")
		newSHA1 := certSHA1(next)
		i := strings.Index(page, `data-sha1="`+newSHA1+`"`)
		if code != 200 || i < 0 || !strings.Contains(page[i:min(len(page), i+600)], "Signing now") || !strings.Contains(page, oldSHA1) {
			t.Fatalf("certificates page %d:\n%s", code, page)
		}
		// Retire the old one: its signatures are refused from now on.
		oldSHA256, _ := certsOf(g, g.idp)
		expectDone(t, a.post(t, "/certificates/"+oldSHA256+"/retire", nil), "cert-retired")
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("retired certificate accepted: %d", r.StatusCode)
		}
		// The last trusted certificate cannot be retired.
		newSHA256 := certSHA256(next)
		if r := a.post(t, "/certificates/"+newSHA256+"/retire", nil); r.StatusCode != http.StatusConflict {
			t.Fatalf("retired the last certificate: %d", r.StatusCode)
		}
		au := g.audit(t, g.company)
		if !hasAudit(au, "admin:"+adminEmail, "cert.add", newSHA1) || !hasAudit(au, "admin:"+adminEmail, "cert.retire", oldSHA1) {
			t.Fatalf("audit: %+v", au)
		}
	})
}

func certSHA256(idp *ssotest.IdP) string {
	info := certs.Describe(idp.Cert)
	return info.SHA256
}

func TestAdminAutomaticRetirementAndExpiryBanner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		oldSHA256, _ := certsOf(g, g.idp)
		next, err := ssotest.New(g.idp.Issuer)
		testenv.Must(t, err, "next")
		g.trust(g.company, next.CertificateBase64(), false)
		// A third certificate that never signed and expires in 20 days.
		soon, err := ssotest.SelfSigned(next.Key, "soon", time.Now().Add(-time.Hour), time.Now().AddDate(0, 0, 20))
		testenv.Must(t, err, "soon")
		soonInfo := certs.Describe(soon)
		testenv.Must(t, g.dir.AddCertificate(ctx, &directory.Certificate{CompanyID: g.company.ID, DER: soonInfo.DER, Subject: soonInfo.Subject,
			SHA1: soonInfo.SHA1, SHA256: soonInfo.SHA256, NotBefore: soonInfo.NotBefore, NotAfter: soonInfo.NotAfter, AddedAt: time.Now()}, false), "add soon")
		// The banner is on every console page.
		for _, p := range []string{"/admin/", "/admin/employees", "/admin/audit"} {
			_, page := a.get(t, p)
			if !strings.Contains(page, "banner-warning") || !strings.Contains(page, soonInfo.SHA1) {
				t.Fatalf("%s: no expiry banner", p)
			}
		}
		// Old signed ten days ago, the new one since: with auto-retirement
		// at 7 days the old one goes; the never-used one stays.
		testenv.Must(t, g.dir.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: g.company.ID, SHA256: oldSHA256, At: time.Now().AddDate(0, 0, -10), Count: 1}}), "mark old")
		testenv.Must(t, g.dir.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: g.company.ID, SHA256: certSHA256(next), At: time.Now().AddDate(0, 0, -9), Count: 1}}), "mark new")
		if r := a.post(t, "/certificates/auto-retire", url.Values{"days": {"-1"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad days: %d", r.StatusCode)
		}
		expectDone(t, a.post(t, "/certificates/auto-retire", url.Values{"days": {"7"}}), "auto-retire")
		a.get(t, "/admin/certificates")
		trusted, err := g.dir.ListCertificates(ctx, g.company.ID, false)
		testenv.Must(t, err, "list")
		var got []string
		for _, c := range trusted {
			got = append(got, c.SHA256)
		}
		if len(trusted) != 2 || strings.Contains(strings.Join(got, ","), oldSHA256) {
			t.Fatalf("after automatic retirement: %v", got)
		}
		if !hasAudit(g.audit(t, g.company), "auto-retire", "cert.retire", certSHA1(g.idp)) {
			t.Fatalf("automatic retirement not audited: %+v", g.audit(t, g.company))
		}
		// Under 7 days of silence nothing is retired.
		testenv.Must(t, g.dir.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: g.company.ID, SHA256: certSHA256(next), At: time.Now().AddDate(0, 0, -3), Count: 1}}), "mark new")
		testenv.Must(t, g.dir.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: g.company.ID, SHA256: soonInfo.SHA256, At: time.Now(), Count: 1}}), "mark soon")
		a.get(t, "/admin/")
		trusted, _ = g.dir.ListCertificates(ctx, g.company.ID, false)
		if len(trusted) != 2 {
			t.Fatalf("retired too early: %d trusted", len(trusted))
		}
	})
}

func TestAdminProvisioningTokensAndLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		tokenRE := regexp.MustCompile(`id="val-token">([^<]+)<`)
		r := a.post(t, "/provisioning/tokens", url.Values{"label": {"Entra prod"}})
		page := body(t, r)
		m := tokenRE.FindStringSubmatch(page)
		if r.StatusCode != 200 || m == nil || !strings.Contains(page, "shown only on this page") {
			t.Fatalf("mint: %d\n%s", r.StatusCode, page)
		}
		tok := html.UnescapeString(m[1])
		scimGet := func(tok, filter string) int {
			req, _ := http.NewRequest(http.MethodGet, g.URL+"/c/acme/scim/v2/Users?filter="+url.QueryEscape(filter), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			testenv.Must(t, err, "scim")
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := scimGet(tok, `userName eq "x"`); code != 200 {
			t.Fatalf("minted token refused by SCIM: %d", code)
		}
		_, list := a.get(t, "/admin/provisioning")
		if strings.Contains(list, tok) || !strings.Contains(list, "Entra prod") {
			t.Fatal("the token list shows the token, or not its label")
		}
		// A SCIM create and a refused one land in the log.
		post := func(body string) int {
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/scim/v2/Users", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err := http.DefaultClient.Do(req)
			testenv.Must(t, err, "scim post")
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := post(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nora@acme.example","active":true,"name":{"givenName":"Nora","familyName":"Lind"},"emails":[{"type":"work","value":"nora@acme.example","primary":true}]}`); code != 201 {
			t.Fatalf("SCIM create: %d", code)
		}
		if code := post(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nora@acme.example","active":true,"name":{"givenName":"Nora","familyName":"Lind"}}`); code != 409 {
			t.Fatalf("SCIM duplicate: %d", code)
		}
		_, okLog := a.get(t, "/admin/provisioning?employee=nora@acme.example&outcome=ok")
		_, errLog := a.get(t, "/admin/provisioning?outcome=error")
		if !strings.Contains(okLog, "nora@acme.example") || strings.Contains(okLog, "uniqueness") {
			t.Fatalf("ok filter:\n%s", okLog)
		}
		if !strings.Contains(errLog, "uniqueness") || strings.Contains(errLog, "201 ok") {
			t.Fatalf("error filter:\n%s", errLog)
		}
		_, other := a.get(t, "/admin/provisioning?employee=lars.jensen@acme.example")
		if strings.Contains(other, "nora@acme.example</a>") {
			t.Fatal("employee filter leaks other employees")
		}
		// Rotate: the old token stops at once, the new one works.
		ctx := context.Background()
		toks, err := g.dir.ListSCIMTokens(ctx, g.company.ID)
		testenv.Must(t, err, "tokens")
		r = a.post(t, fmt.Sprintf("/provisioning/tokens/%d/rotate", toks[0].ID), nil)
		page = body(t, r)
		m = tokenRE.FindStringSubmatch(page)
		if r.StatusCode != 200 || m == nil {
			t.Fatalf("rotate: %d", r.StatusCode)
		}
		tok2 := html.UnescapeString(m[1])
		if scimGet(tok, `userName eq "x"`) != 401 || scimGet(tok2, `userName eq "x"`) != 200 {
			t.Fatal("rotation did not swap the tokens")
		}
		toks, _ = g.dir.ListSCIMTokens(ctx, g.company.ID)
		var active int64
		for _, tk := range toks {
			if tk.RevokedAt == nil {
				active = tk.ID
			}
		}
		expectDone(t, a.post(t, fmt.Sprintf("/provisioning/tokens/%d/revoke", active), nil), "token-revoked")
		if scimGet(tok2, `userName eq "x"`) != 401 {
			t.Fatal("revoked token still works")
		}
		// A revoked token is not rotated again; a label the service refuses
		// comes back on the page.
		if r := a.post(t, fmt.Sprintf("/provisioning/tokens/%d/rotate", active), nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("rotating a revoked token: %d", r.StatusCode)
		}
		if r := a.post(t, "/provisioning/tokens", url.Values{"label": {strings.Repeat("x", 101)}}); r.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body(t, r), "too long") {
			t.Fatalf("a 101-character label: %d", r.StatusCode)
		}
		au := g.audit(t, g.company)
		for _, act := range []string{"scim.token.mint", "scim.token.rotate", "scim.token.revoke"} {
			if !hasAudit(au, "admin:"+adminEmail, act, "id=") {
				t.Fatalf("%s not audited", act)
			}
		}
		if strings.Contains(g.logText(), tok) {
			t.Fatal("a token reached the log")
		}
	})
}

func TestAdminEmployees(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		// Search and filters.
		_, page := a.get(t, "/admin/employees")
		if !strings.Contains(page, "Maja Holm") || strings.Contains(page, "Sofie Berg") {
			t.Fatal("default list must show active employees only")
		}
		_, page = a.get(t, "/admin/employees?status=inactive")
		if strings.Contains(page, "Maja Holm") || !strings.Contains(page, "Sofie Berg") {
			t.Fatal("inactive filter")
		}
		_, page = a.get(t, "/admin/employees?status=all&q=JENSEN")
		if !strings.Contains(page, "Lars Jensen") || strings.Contains(page, "Maja Holm") {
			t.Fatal("search")
		}
		// Edit email: a taken one is refused inline, a free one saved.
		lars := g.employee(t, "lars.jensen@acme.example")
		r := a.post(t, "/employees/"+lars.ID+"/identity", url.Values{"username": {lars.UserName}, "email": {"maja.holm@acme.example"}})
		if r.StatusCode != http.StatusConflict || !strings.Contains(body(t, r), "Another employee already has this work email") {
			t.Fatalf("taken email: %d", r.StatusCode)
		}
		expectDone(t, a.post(t, "/employees/"+lars.ID+"/identity", url.Values{"username": {lars.UserName}, "email": {"lars.jensen@new.example"}}), "identity")
		if g.employee(t, "lars.jensen@acme.example").Email != "lars.jensen@new.example" {
			t.Fatal("email not saved")
		}
		// Approval settings and department approvers.
		expectDone(t, a.post(t, "/employees/"+lars.ID+"/roles", url.Values{"self_approver": {"on"}, "only_selected": {"on"}}), "roles")
		l := g.employee(t, "lars.jensen@acme.example")
		if !l.SelfApprover || !l.OnlySelectedApprover || l.IsAdmin {
			t.Fatalf("roles: %+v", l)
		}
		expectDone(t, a.post(t, "/employees/"+lars.ID+"/departments", url.Values{"department": {"Sales"}}), "department-added")
		ids, err := g.dir.ListDepartmentApprovers(ctx, g.company.ID, "sales")
		testenv.Must(t, err, "dept approvers")
		if len(ids) != 1 || ids[0] != lars.ID {
			t.Fatalf("department approvers: %v", ids)
		}
		_, page = a.get(t, "/admin/employees/"+lars.ID)
		if !strings.Contains(page, "Sales") || !strings.Contains(page, "lars.jensen@new.example") {
			t.Fatal("employee page")
		}
		for _, c := range []struct {
			path, dep string
			code      int
			msg       string
		}{
			{"/departments", "sales", http.StatusConflict, "already approves for sales"},
			{"/departments", " ", http.StatusUnprocessableEntity, "Enter the department"},
			{"/departments/remove", "Finance", http.StatusConflict, "does not approve for that department"},
		} {
			r := a.post(t, "/employees/"+lars.ID+c.path, url.Values{"department": {c.dep}})
			if b := body(t, r); r.StatusCode != c.code || !strings.Contains(b, c.msg) {
				t.Fatalf("%s %q: %d, want %d with %q", c.path, c.dep, r.StatusCode, c.code, c.msg)
			}
		}
		expectDone(t, a.post(t, "/employees/"+lars.ID+"/departments/remove", url.Values{"department": {"Sales"}}), "department-gone")
		sofie := g.employee(t, "sofie.berg@acme.example")
		if r := a.post(t, "/employees/"+sofie.ID+"/departments", url.Values{"department": {"Sales"}}); r.StatusCode != http.StatusConflict ||
			!strings.Contains(body(t, r), "Only active employees") {
			t.Fatalf("an inactive employee as department approver: %d", r.StatusCode)
		}
		// Activate an inactive (imported) employee.
		expectDone(t, a.post(t, "/employees/"+sofie.ID+"/activate", nil), "activated")
		if s := g.employee(t, "sofie.berg@acme.example"); !s.Active || s.TerminationDate != "" {
			t.Fatalf("activate: %+v", s)
		}
		au := g.audit(t, g.company)
		for _, act := range []string{"employee.identity", "employee.roles", "employee.department_approver.add", "employee.department_approver.remove", "employee.activate"} {
			if !hasAudit(au, "admin:"+adminEmail, act, "employee=") {
				t.Fatalf("%s not audited", act)
			}
		}
	})
}

// entraLinked adds an employee Entra manages that Entra suspended (a
// person who moved to another Entra tenant).
func (g *gw) entraLinked(t *testing.T, userName string, active bool) *directory.Employee {
	t.Helper()
	e := &directory.Employee{CompanyID: g.company.ID, UserName: userName, Email: userName, GivenName: "Ola", FamilyName: "Nordmann",
		Source: directory.SourceSCIM, EntraLinked: true, Active: active, EntraObjectID: "22222222-2222-2222-2222-222222222222"}
	if !active {
		e.TerminationDate = time.Now().UTC().Format("2006-01-02")
	}
	testenv.Must(t, g.dir.CreateEmployee(context.Background(), e), "create entra employee")
	return e
}

func TestAdminDetachThenLocalLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		ola := g.entraLinked(t, "ola@acme.example", false)
		// Entra manages Ola: no local activation, no local password.
		if r := a.post(t, "/employees/"+ola.ID+"/activate", nil); r.StatusCode != http.StatusConflict || !strings.Contains(body(t, r), "detach them from Entra first") {
			t.Fatalf("activate an Entra employee: %d", r.StatusCode)
		}
		if r := a.post(t, "/employees/"+ola.ID+"/password", url.Values{"password": {"a long password 1"}, "password2": {"a long password 1"}}); r.StatusCode != http.StatusConflict {
			t.Fatalf("password for an Entra employee: %d", r.StatusCode)
		}
		// The confirmation says what changes; the POST needs the confirmation.
		code, page := a.get(t, "/admin/employees/"+ola.ID+"/detach")
		for _, want := range []string{"What changes", "provisioning stops managing", "22222222-2222-2222-2222-222222222222", "no undo"} {
			if code != 200 || !strings.Contains(page, want) {
				t.Fatalf("confirmation page lacks %q", want)
			}
		}
		if r := a.post(t, "/employees/"+ola.ID+"/detach", nil); r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "/detach") {
			t.Fatalf("detach without confirmation: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/detach", url.Values{"confirm": {"yes"}}), "detached")
		o := g.employee(t, "ola@acme.example")
		if o.EntraLinked || o.Source != directory.SourceLocal || o.EntraObjectID != "" || o.ID != ola.ID {
			t.Fatalf("after detach: %+v", o)
		}
		// SCIM can no longer change Ola.
		tok := mintToken(t, g)
		req, _ := http.NewRequest(http.MethodPatch, g.URL+"/c/acme/scim/v2/Users/"+ola.ID,
			strings.NewReader(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "scim patch")
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("SCIM changed a detached employee: %d", resp.StatusCode)
		}
		// Activate locally, set a local password.
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/activate", nil), "activated")
		if r := a.post(t, "/employees/"+ola.ID+"/password", url.Values{"password": {"short"}, "password2": {"short"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("short password: %d", r.StatusCode)
		}
		const olaPW = "fjord-lighthouse-42"
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/password", url.Values{"password": {olaPW}, "password2": {olaPW}}), "password")
		hash, err := g.dir.GetEmployeePassword(ctx, g.company.ID, ola.ID)
		testenv.Must(t, err, "get password")
		if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, olaPW) {
			t.Fatalf("stored password: %q", hash)
		}
		au := g.audit(t, g.company)
		for _, act := range []string{"employee.detach", "employee.activate", "employee.password"} {
			if !hasAudit(au, "admin:"+adminEmail, act, ola.ID) {
				t.Fatalf("%s not audited", act)
			}
		}
		for _, e := range au {
			if strings.Contains(e.Detail, olaPW) || strings.Contains(e.Detail, "argon2") {
				t.Fatal("the password reached the audit log")
			}
		}
		// Ola signs in with it at /c/acme/login?method=password.
		br := newBrowser()
		resp, err = br.Get(g.URL + "/c/acme/login?method=password&return_to=/c/acme/api/me")
		testenv.Must(t, err, "login page")
		page = body(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(page, `id="local-signin"`) || !strings.Contains(page, "Sign in with Microsoft") {
			t.Fatalf("password form with SSO on: %d\n%s", resp.StatusCode, page)
		}
		lc := &adminClient{browser: br, g: g, slug: "acme"}
		r := lc.postForm(t, "/c/acme/login", url.Values{"csrf": {csrfFrom(t, page)}, "username": {"OLA@acme.example"}, "password": {"wrong password 123"}, "return_to": {"/c/acme/api/me"}})
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong local password: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "local_password" || !strings.Contains(ev.Detail, "wrong password") {
			t.Fatalf("failure not recorded: %+v", ev)
		}
		r = lc.postForm(t, "/c/acme/login", url.Values{"csrf": {csrfFrom(t, page)}, "username": {"OLA@acme.example"}, "password": {olaPW}, "return_to": {"/c/acme/api/me"}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/acme/api/me" {
			t.Fatalf("local login: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), body(t, r))
		}
		if code, me := g.me(br, "acme"); code != 200 || me["userName"] != "ola@acme.example" {
			t.Fatalf("/api/me after local login: %d %v", code, me)
		}
		// Entra-managed employees never sign in with a password (no CSRF either).
		r = lc.postForm(t, "/c/acme/login", url.Values{"username": {"ola@acme.example"}, "password": {olaPW}})
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("password login without CSRF token: %d", r.StatusCode)
		}
		// With SSO off, /c/acme/login is the password form (no Entra redirect).
		c := *g.company
		c.SSOEnabled = false
		testenv.Must(t, g.dir.UpdateCompanySettings(ctx, &c), "disable")
		resp, err = newBrowser().Get(g.URL + "/c/acme/login")
		testenv.Must(t, err, "login with SSO off")
		page = body(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(page, "switched off") || strings.Contains(page, "Sign in with Microsoft") {
			t.Fatalf("login page with SSO off: %d", resp.StatusCode)
		}
		// Deactivating Ola ends her session at once.
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/deactivate", nil), "deactivated")
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("session survived deactivation: %d", code)
		}
		// Throttling: five failures lock the account.
		_, page = lc.get(t, "/login")
		tok = csrfFrom(t, page)
		for i := 0; i < 5; i++ {
			if r := lc.postForm(t, "/c/acme/login", url.Values{"csrf": {tok}, "username": {"maja.holm@acme.example"}, "password": {"nope nope nope"}}); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, r.StatusCode)
			}
		}
		r = lc.postForm(t, "/c/acme/login", url.Values{"csrf": {tok}, "username": {"maja.holm@acme.example"}, "password": {"nope nope nope"}})
		if r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("throttle: %d", r.StatusCode)
		}
	})
}

// mintToken makes a SCIM token straight in the directory.
func mintToken(t *testing.T, g *gw) string {
	t.Helper()
	tok, _, err := mintSCIMToken(context.Background(), g.dir, g.company.ID, "test")
	testenv.Must(t, err, "mint")
	return tok
}

func TestAdminSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		b1, b2 := newBrowser(), newBrowser()
		g.postACS(b1, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		g.postACS(b2, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		maja := g.employee(t, "maja.holm@acme.example")
		_, page := a.get(t, "/admin/employees/"+maja.ID)
		sidRE := regexp.MustCompile(`/sessions/([0-9a-f]{64})/revoke`)
		sids := sidRE.FindAllStringSubmatch(page, -1)
		if len(sids) != 2 || !strings.Contains(page, "saml:idp") || !strings.Contains(page, "just now") {
			t.Fatalf("sessions listed: %d\n%s", len(sids), page)
		}
		// Revoke one: exactly one browser is signed out.
		expectDone(t, a.post(t, "/employees/"+maja.ID+"/sessions/"+sids[0][1]+"/revoke", nil), "session-revoked")
		c1, _ := g.me(b1, "acme")
		c2, _ := g.me(b2, "acme")
		if c1+c2 != 200+401 {
			t.Fatalf("after revoking one: %d %d", c1, c2)
		}
		// Another employee's session id is refused.
		lars := g.employee(t, "lars.jensen@acme.example")
		if r := a.post(t, "/employees/"+lars.ID+"/sessions/"+sids[1][1]+"/revoke", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("revoked a session through another employee: %d", r.StatusCode)
		}
		expectDone(t, a.post(t, "/employees/"+maja.ID+"/sessions/revoke", nil), "sessions-revoked")
		c1, _ = g.me(b1, "acme")
		c2, _ = g.me(b2, "acme")
		if c1 != 401 || c2 != 401 {
			t.Fatalf("after revoking all: %d %d", c1, c2)
		}
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "sessions.revoke", maja.ID) {
			t.Fatal("revocation not audited")
		}
	})
}

func TestAdminDiagnostics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		// Wrong audience, unknown certificate, unknown employee, clock skew.
		wrong := g.assertion("acme", "maja.holm@acme.example")
		wrong.Audience = "https://gw.example/wrong"
		g.postACS(newBrowser(), "acme", g.signed(wrong), "")
		rogue, err := ssotest.New(g.idp.Issuer)
		testenv.Must(t, err, "rogue")
		ra := g.assertion("acme", "maja.holm@acme.example")
		ra.Key, ra.Cert = rogue.Key, rogue.Cert
		g.postACS(newBrowser(), "acme", g.signed(ra), "")
		g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "stranger@acme.example")), "")
		skew := g.assertion("acme", "maja.holm@acme.example")
		skew.IssueInstant = time.Now().Add(10 * time.Minute)
		g.postACS(newBrowser(), "acme", g.signed(skew), "")
		code, page := a.get(t, "/admin/diagnostics")
		if code != 200 {
			t.Fatalf("diagnostics: %d", code)
		}
		page = html.UnescapeString(page)
		for _, want := range []string{
			`data-reason="wrong_audience"`, "Identifier (Entity ID) must be exactly " + g.URL + "/c/acme/saml/metadata", "https://gw.example/wrong",
			`data-reason="unknown_certificate"`, "Paste the new certificate", certSHA1(rogue),
			`data-reason="unknown_employee"`, "Switch NameID to user.mail", "stranger@acme.example",
			`data-reason="clock_skew"`, "Measured offset", "ahead of this server",
		} {
			if !strings.Contains(page, want) {
				t.Fatalf("diagnostics lack %q", want)
			}
		}
		_, all := a.get(t, "/admin/diagnostics?show=all")
		if !strings.Contains(all, "Failed sign-ins") {
			t.Fatal("tabs")
		}
		_, ov := a.get(t, "/admin/")
		if !strings.Contains(ov, "4</strong> failed sign-ins") {
			t.Fatalf("overview count:\n%s", ov)
		}
	})
}

// With the per-instance caches on (SSOGATE_SETTINGS_TTL), a SCIM token
// revoked in the console stops at once on that instance; one revoked
// elsewhere (the CLI, another instance) stops within the TTL.
func TestSCIMTokenRevocationWithCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const ttl = 400 * time.Millisecond
		g := newGW(t, b, func(c *config.Config) { c.SettingsTTL = ttl })
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		ctx := context.Background()
		get := func(tok string) int {
			code, _ := g.scimCall(t, tok, "GET", "/Users?filter="+url.QueryEscape(`userName eq "x"`), "")
			return code
		}
		console, cli := mintToken(t, g), mintToken(t, g)
		if get(console) != 200 || get(cli) != 200 { // both now cached
			t.Fatal("fresh tokens refused")
		}
		toks, err := g.dir.ListSCIMTokens(ctx, g.company.ID)
		testenv.Must(t, err, "tokens")
		idOf := func(tok string) int64 {
			sum := sha256.Sum256([]byte(tok))
			for _, tk := range toks {
				if bytes.Equal(tk.Hash, sum[:]) {
					return tk.ID
				}
			}
			t.Fatal("minted token not listed")
			return 0
		}
		expectDone(t, a.post(t, fmt.Sprintf("/provisioning/tokens/%d/revoke", idOf(console)), nil), "token-revoked")
		if code := get(console); code != 401 {
			t.Fatalf("a token revoked in the console answered %d on the same instance", code)
		}
		// As `ssogate scim token --revoke` does: straight in the directory.
		testenv.Must(t, g.dir.RevokeSCIMToken(ctx, g.company.ID, idOf(cli), time.Now()), "revoke")
		deadline := time.Now().Add(ttl + 2*time.Second)
		for get(cli) != 401 {
			if time.Now().After(deadline) {
				t.Fatalf("a token revoked by the CLI still works %s later (TTL %s)", ttl+2*time.Second, ttl)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

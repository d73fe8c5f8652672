package test

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// Real-browser tests of the admin console (headless Chromium): certificate
// rollover with inline paste errors (flow 1), detach then local password
// sign-in (flow 4), and sign-in diagnostics after a failed login (flow 5).
// Each saves screenshots under test/output/screenshots.

// waitFlash waits for the page's success message to contain want (the
// page after a form's redirect).
func waitFlash(t *testing.T, g *gw, ctx context.Context, want string) {
	t.Helper()
	js := `(function(){var f=document.querySelector(".flash.ok");return !!f && f.textContent.indexOf(` + strconvQuote(want) + `)>=0})()`
	// Evaluate again and again: the form's navigation replaces the page
	// under a running poll.
	var last error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		last = err
	}
	t.Fatalf("waiting for %q: %v\n%s", want, last, g.logText())
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// submitForm fills a form's fields (CSS selector within the form → value)
// and clicks its submit button, in one script run in the page, retried
// until the form is there. Right after a redirect, DevTools' node ids of
// the page being replaced go stale under a SetValue or Click ("No node with
// given id found"); a script always acts on the live document. The click
// runs just after the script returns, so its navigation never swallows the
// answer and a retry never submits twice.
func submitForm(t *testing.T, g *gw, ctx context.Context, form string, fields map[string]string) {
	t.Helper()
	var set strings.Builder
	for sel, v := range fields {
		set.WriteString(`e=f.querySelector(` + strconvQuote(sel) + `);if(!e)return false;e.value=` + strconvQuote(v) + `;`)
	}
	js := `(function(){var f=document.querySelector(` + strconvQuote(form) + `),e;if(!f||document.readyState==="loading")return false;` +
		set.String() + `var b=f.querySelector("button[type=submit]")||f.querySelector("button");if(!b)return false;setTimeout(function(){b.click()},0);return true})()`
	var last error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		last = err
	}
	t.Fatalf("submit %s: not found (%v)\n%s", form, last, g.logText())
}

// do runs browser steps, failing the test with the gateway's log.
func do(t *testing.T, g *gw, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, g.logText())
	}
}

// text returns the visible text of the first element matching css. It
// reads the live document with JavaScript, retrying while the element is
// absent: right after a form's redirect, DevTools node ids of the page being
// replaced go stale, which made node-based queries flaky.
func text(t *testing.T, g *gw, ctx context.Context, css string) string {
	t.Helper()
	js := `(function(){var e=document.querySelector(` + strconvQuote(css) + `);return e?e.innerText:null})()`
	var last error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[*string](js))
		if err == nil && s != nil {
			return *s
		}
		last = err
	}
	t.Fatalf("text of %s: not found (%v)\n%s", css, last, g.logText())
	return ""
}

// chromeAdminLogin signs the browser in to acme's console with the
// break-glass password.
func chromeAdminLogin(t *testing.T, g *gw, ctx context.Context) {
	t.Helper()
	do(t, g, ctx, "admin sign-in",
		chromedp.Navigate(g.URL+"/c/acme/admin/"),
		chromedp.WaitVisible(chromedp.ID("password-signin")),
		chromedp.SetValue(chromedp.ID("email"), adminEmail),
		chromedp.SetValue(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS("#password-signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("nav.side")),
	)
}

// chromePostACS makes the browser POST a SAMLResponse to acme's ACS from a
// page of another origin, as Entra's form does after the Microsoft 365 tile.
func chromePostACS(t *testing.T, g *gw, ctx context.Context, samlResponse string) {
	t.Helper()
	page := `<!doctype html><title>Entra</title><form id="f" method="post" action="` + g.URL + `/c/acme/saml/acs">` +
		`<input type="hidden" name="SAMLResponse" value="` + samlResponse + `"><button id="go" type="submit">Continue</button></form>`
	do(t, g, ctx, "post to the ACS",
		chromedp.Navigate("data:text/html;base64,"+base64.StdEncoding.EncodeToString([]byte(page))),
		chromedp.Click(chromedp.ID("go")),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
}

func TestBrowserAdminCertificateRollover(t *testing.T) {
	g := newGW(t, backends()[0])
	g.addAdmin(t, g.company, adminEmail, adminPassword)
	ctx := newChrome(t)
	chromeAdminLogin(t, g, ctx)
	screenshot(t, ctx, "admin-overview")

	// SSO settings: the values for Entra, each with a working copy button.
	do(t, g, ctx, "SSO settings",
		chromedp.Navigate(g.URL+"/c/acme/admin/sso"),
		chromedp.WaitVisible(chromedp.CSS(`button.copy[data-copy-target="val-reply-url"]`)),
		chromedp.Click(chromedp.CSS(`button.copy[data-copy-target="val-reply-url"]`)),
	)
	// The label changes when the clipboard promise settles.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('button.copy[data-copy-target="val-reply-url"]').textContent !== "Copy"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("copy button never reacted: %v", err)
	}
	label := text(t, g, ctx, `button.copy[data-copy-target="val-reply-url"]`)
	if label != "Copied" && label != "Press Ctrl+C" {
		t.Fatalf("copy button after a click: %q (admin.js not running?)", label)
	}
	if v := text(t, g, ctx, "#val-reply-url"); v != g.URL+"/c/acme/saml/acs" {
		t.Fatalf("Reply URL shown: %q", v)
	}
	time.Sleep(1700 * time.Millisecond) // let the button label settle for the screenshot
	screenshot(t, ctx, "admin-sso-settings")

	// Paste mistakes: each gets its inline message, nothing is stored.
	for _, m := range pasteMistakes(t) {
		do(t, g, ctx, "paste "+m.name,
			chromedp.Navigate(g.URL+"/c/acme/admin/certificates"),
			chromedp.WaitVisible(chromedp.ID("certificate")),
			chromedp.SetValue(chromedp.ID("certificate"), m.paste),
			chromedp.Click(chromedp.CSS("#paste-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("paste-error")),
		)
		msg := text(t, g, ctx, "#paste-error")
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(m.says)) {
			t.Fatalf("%s: inline message %q lacks %q", m.name, msg, m.says)
		}
		if m.name == "private key" {
			screenshot(t, ctx, "admin-cert-paste-error")
		}
	}

	// The new certificate is pasted while the old one still signs.
	next, err := ssotest.New(g.idp.Issuer)
	testenv.Must(t, err, "next")
	oldSHA1, newSHA1 := certSHA1(g.idp), certSHA1(next)
	do(t, g, ctx, "paste the new certificate",
		chromedp.Navigate(g.URL+"/c/acme/admin/certificates"),
		chromedp.SetValue(chromedp.ID("certificate"), next.CertificateBase64()),
		chromedp.Click(chromedp.CSS("#paste-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`article[data-sha1="`+newSHA1+`"]`)),
	)
	// Logins signed by the old and, after Entra's switch, the new certificate
	// both work during the rollover window.
	chromePostACS(t, g, ctx, g.signed(g.assertion("acme", "maja.holm@acme.example")))
	if h := text(t, g, ctx, "main"); !strings.Contains(h, "Signed in as Maja Holm") {
		t.Fatalf("login signed by the old certificate: %q", h)
	}
	a := g.assertion("acme", "maja.holm@acme.example")
	a.Key, a.Cert = next.Key, next.Cert
	chromePostACS(t, g, ctx, g.signed(a))
	if h := text(t, g, ctx, "main"); !strings.Contains(h, "Signed in as Maja Holm") {
		t.Fatalf("login signed by the new certificate: %q", h)
	}
	// The console shows the new certificate signing, with its use.
	do(t, g, ctx, "certificates", chromedp.Navigate(g.URL+"/c/acme/admin/certificates"))
	newCard := text(t, g, ctx, `article[data-sha1="`+newSHA1+`"]`)
	if !strings.Contains(newCard, "Signing now") || !strings.Contains(text(t, g, ctx, `article[data-sha1="`+newSHA1+`"] .use-count`), "1") {
		t.Fatalf("new certificate card: %q", newCard)
	}
	screenshot(t, ctx, "admin-certificates")
	// Retire the old one.
	do(t, g, ctx, "retire the old certificate", chromedp.Click(chromedp.CSS(`article[data-sha1="`+oldSHA1+`"] form button`)))
	waitFlash(t, g, ctx, "Certificate retired")
	if c := text(t, g, ctx, `article[data-sha1="`+oldSHA1+`"]`); !strings.Contains(c, "Retired") {
		t.Fatalf("old certificate card after retiring: %q", c)
	}
	chromePostACS(t, g, ctx, g.signed(g.assertion("acme", "maja.holm@acme.example")))
	if h := text(t, g, ctx, "main"); !strings.Contains(h, "Sign-in refused") {
		t.Fatalf("the retired certificate still signs in: %q", h)
	}
}

func TestBrowserAdminDetachThenLocalLogin(t *testing.T) {
	g := newGW(t, backends()[0])
	g.addAdmin(t, g.company, adminEmail, adminPassword)
	ola := g.entraLinked(t, "ola@acme.example", false)
	ctx := newChrome(t)
	chromeAdminLogin(t, g, ctx)
	do(t, g, ctx, "find Ola",
		chromedp.Navigate(g.URL+"/c/acme/admin/employees?status=inactive"),
		chromedp.WaitVisible(chromedp.ID("employees")),
	)
	if list := text(t, g, ctx, "#employees"); !strings.Contains(list, "Ola Nordmann") || strings.Contains(list, "Maja Holm") {
		t.Fatalf("inactive filter: %q", list)
	}
	do(t, g, ctx, "all employees", chromedp.Navigate(g.URL+"/c/acme/admin/employees?status=all"), chromedp.WaitVisible(chromedp.ID("employees")))
	screenshot(t, ctx, "admin-employees")
	do(t, g, ctx, "search",
		chromedp.SetValue(chromedp.ID("q"), "nordmann"),
		chromedp.Click(chromedp.CSS("#employee-search button")),
	)
	// The unfiltered list already shows Ola: wait for the results page
	// itself before touching its nodes, or the click lands on a node of the
	// page being replaced.
	waitLocation(t, ctx, "q=nordmann")
	do(t, g, ctx, "open Ola",
		chromedp.WaitVisible(chromedp.CSS(`#employees a[href$="/employees/`+ola.ID+`"]`)),
		chromedp.Click(chromedp.CSS(`#employees a[href$="/employees/`+ola.ID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("detach-link")),
	)
	if m := text(t, g, ctx, "#managed-by"); m != "Managed by Entra" {
		t.Fatalf("managed by: %q", m)
	}
	do(t, g, ctx, "open the detach confirmation",
		chromedp.Click(chromedp.ID("detach-link")),
		chromedp.WaitVisible(chromedp.ID("confirm-detach")),
	)
	if p := text(t, g, ctx, "main"); !strings.Contains(p, "What changes") || !strings.Contains(p, "provisioning stops managing") {
		t.Fatalf("confirmation: %q", p)
	}
	screenshot(t, ctx, "admin-detach-confirm")
	do(t, g, ctx, "detach", chromedp.Click(chromedp.ID("confirm-detach")))
	waitFlash(t, g, ctx, "detached from Entra")
	submitForm(t, g, ctx, "#activate-form", nil)
	waitFlash(t, g, ctx, "Employee activated")
	submitForm(t, g, ctx, "#password-form", map[string]string{"#password": "fjord-lighthouse-42", "#password2": "fjord-lighthouse-42"})
	waitFlash(t, g, ctx, "Local password set")
	if m := text(t, g, ctx, "#managed-by"); !strings.Contains(m, "detached") {
		t.Fatalf("managed by after detach: %q", m)
	}
	screenshot(t, ctx, "admin-employee")
	// Ola signs in with the local password (SSO stays on for everyone else).
	do(t, g, ctx, "local password sign-in",
		chromedp.Navigate(g.URL+"/c/acme/login?method=password"),
		chromedp.WaitVisible(chromedp.ID("local-signin")),
		chromedp.SetValue(chromedp.ID("username"), "ola@acme.example"),
		chromedp.SetValue(chromedp.ID("password"), "fjord-lighthouse-42"),
	)
	screenshot(t, ctx, "local-password-signin")
	do(t, g, ctx, "submit",
		chromedp.Click(chromedp.CSS("#local-signin button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/logout"]`)),
	)
	if h := text(t, g, ctx, "main"); !strings.Contains(h, "Signed in as Ola Nordmann") {
		t.Fatalf("home after local sign-in: %q", h)
	}
}

func TestBrowserAdminDiagnosticsAndProvisioning(t *testing.T) {
	g := newGW(t, backends()[0])
	g.addAdmin(t, g.company, adminEmail, adminPassword)
	ctx := newChrome(t)
	chromeAdminLogin(t, g, ctx)
	// A failed login in the browser: Entra's Identifier is wrong.
	wrong := g.assertion("acme", "maja.holm@acme.example")
	wrong.Audience = "https://acme.example/wrong-identifier"
	chromePostACS(t, g, ctx, g.signed(wrong))
	if h := text(t, g, ctx, "main"); !strings.Contains(h, "Sign-in refused") {
		t.Fatalf("refusal page: %q", h)
	}
	// The console shows it, with expected vs received and the Entra field to fix.
	do(t, g, ctx, "diagnostics",
		chromedp.Navigate(g.URL+"/c/acme/admin/diagnostics"),
		chromedp.WaitVisible(chromedp.CSS(`article[data-reason="wrong_audience"]`)),
	)
	ev := text(t, g, ctx, `article[data-reason="wrong_audience"]`)
	for _, want := range []string{"Wrong Identifier (Entity ID)", "https://acme.example/wrong-identifier", "Basic SAML Configuration → Identifier (Entity ID) must be exactly " + g.URL + "/c/acme/saml/metadata"} {
		if !strings.Contains(ev, want) {
			t.Fatalf("diagnostics entry lacks %q:\n%s", want, ev)
		}
	}
	screenshot(t, ctx, "admin-diagnostics")
	// Provisioning: a token is shown once.
	do(t, g, ctx, "mint a SCIM token",
		chromedp.Navigate(g.URL+"/c/acme/admin/provisioning"),
		chromedp.SetValue(chromedp.ID("label"), "Entra production"),
		chromedp.Click(chromedp.CSS("#mint-form button")),
		chromedp.WaitVisible(chromedp.ID("val-token")),
	)
	if tok := text(t, g, ctx, "#val-token"); !strings.HasPrefix(tok, "scim_") && len(tok) < 40 {
		t.Fatalf("token shown: %q", tok)
	}
	screenshot(t, ctx, "admin-scim-token")
	do(t, g, ctx, "provisioning", chromedp.Navigate(g.URL+"/c/acme/admin/provisioning"), chromedp.WaitVisible(chromedp.ID("log-filter")))
	screenshot(t, ctx, "admin-provisioning")
	do(t, g, ctx, "audit", chromedp.Navigate(g.URL+"/c/acme/admin/audit"), chromedp.WaitVisible(chromedp.ID("audit")))
	if a := text(t, g, ctx, "#audit"); !strings.Contains(a, "scim.token.mint") || !strings.Contains(a, "admin:"+adminEmail) {
		t.Fatalf("audit: %q", a)
	}
	screenshot(t, ctx, "admin-audit")
}

// waitLocation waits until the page's URL contains part.
func waitLocation(t *testing.T, ctx context.Context, part string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.Contains(loc, part) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser never reached a URL with %q (at %q, %v)", part, loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/identity"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
	"github.com/ssogate/ssogate/web"
)

// backend names a pair of real stores the end-to-end suite runs on.
type backend struct {
	name  string
	dir   func(t testing.TB) directory.Store
	sess  func(t testing.TB) session.Store
	share bool // two instances share the session store (Redis)
}

func backends() []backend {
	var out []backend
	for _, b := range teststores.All() {
		out = append(out, backend{name: b.Name, dir: b.Dir, sess: b.Sessions, share: b.Shared})
	}
	return out
}

// gw is one running gateway (a real HTTP server on loopback) with a fake
// Entra mounted beside it and a company "acme" set up as an admin would.
type gw struct {
	t       *testing.T
	srv     *httptest.Server
	URL     string
	dir     directory.Store
	sess    session.Store
	idp     *ssotest.IdP
	company *directory.Company
	cfg     config.Config
	logs    *strings.Builder

	// metricsURL is the separate metrics listener (SSOGATE_METRICS_ADDR).
	metricsURL string
	web        *web.Server
	ident      *gwIdentity          // the assertion signer (its keys live in dir, shared by gateways on it)
	reg        *prometheus.Registry // the gateway's metrics
}

type gwOpt func(*config.Config)

func newGW(t *testing.T, b backend, opts ...gwOpt) *gw {
	t.Helper()
	return newGWOn(t, b.dir(t), b.sess(t), nil, opts...)
}

// newGWOn starts a gateway over existing stores; idp nil = a new fake Entra
// and a new company.
func newGWOn(t *testing.T, dir directory.Store, sess session.Store, shared *gw, opts ...gwOpt) *gw {
	t.Helper()
	g := &gw{t: t, dir: dir, sess: sess, logs: &strings.Builder{}}
	srv := httptest.NewUnstartedServer(nil)
	g.URL = "http://" + srv.Listener.Addr().String()
	cfg := config.Defaults()
	cfg.Addr = srv.Listener.Addr().String()
	cfg.PublicURL = g.URL
	cfg.SettingsTTL = 0
	cfg.IDPLoginHosts = []string{cfg.Addr} // the fake Entra beside it
	cfg.SigninRate = 0                     // every test client is 127.0.0.1; the limit has its own test
	if shared != nil {                     // or beside the first instance
		cfg.IDPLoginHosts = append(cfg.IDPLoginHosts, shared.cfg.Addr)
	}
	for _, o := range opts {
		o(&cfg)
	}
	testenv.Must(t, cfg.Validate(), "config")
	g.cfg = cfg
	ctx := context.Background()
	if shared != nil {
		g.idp, g.company = shared.idp, shared.company
	} else {
		idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
		testenv.Must(t, err, "fake entra")
		g.idp = idp
		g.company = g.createCompany("acme", "Acme A/S", idp)
	}
	users := []ssotest.User{
		{NameID: "maja.holm@acme.example", ObjectID: "11111111-1111-1111-1111-111111111111", Email: "maja.holm@acme.example", GivenName: "Maja", FamilyName: "Holm"},
		{NameID: "nobody@acme.example", Email: "nobody@acme.example", GivenName: "No", FamilyName: "Body"},
	}
	mux := http.NewServeMux()
	mux.Handle("/fake-entra/saml2", g.idp.Handler(users, g.URL+"/c/acme/saml/metadata"))
	if shared == nil {
		g.idp.LogoutURL = g.URL + "/c/acme/saml/slo" // Entra: Logout Url
	}
	mux.Handle("/fake-entra/signout", g.idp.SignOutHandler(users))
	logger := slog.New(slog.NewTextHandler(syncWriter{g.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g.reg = prometheus.NewRegistry()
	signer, err := identity.New(identity.Options{Issuer: cfg.PublicURL, Store: dir})
	testenv.Must(t, err, "identity signer")
	g.ident = &gwIdentity{inner: signer}
	s, err := web.New(web.Deps{Config: cfg, Dir: dir, Sessions: sess, Logger: logger, Identity: g.ident, Registry: g.reg,
		Mounts: map[string]http.Handler{"/fake-entra": mux}})
	testenv.Must(t, err, "web.New")
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	g.web = s
	ms := httptest.NewServer(s.MetricsHandler())
	t.Cleanup(ms.Close)
	g.metricsURL = ms.URL
	g.srv = srv
	_ = ctx
	return g
}

// createCompany sets up a company as the README tells an admin to.
func (g *gw) createCompany(slug, name string, idp *ssotest.IdP) *directory.Company {
	g.t.Helper()
	ctx := context.Background()
	c := &directory.Company{Slug: slug, Name: name, SSOEnabled: true, NameIDMode: directory.NameIDUPN,
		EntraIdentifier: idp.Issuer, IDPLoginURL: g.URL + "/fake-entra/saml2"}
	testenv.Must(g.t, g.dir.CreateCompany(ctx, c), "create company")
	g.trust(c, idp.CertificateBase64(), false)
	for _, e := range []directory.Employee{
		{UserName: "maja.holm@acme.example", Email: "maja.holm@acme.example", GivenName: "Maja", FamilyName: "Holm", Active: true},
		{UserName: "lars.jensen@acme.example", Email: "lars@acme.example", GivenName: "Lars", FamilyName: "Jensen", Active: true},
		{UserName: "sofie.berg@acme.example", Email: "sofie@acme.example", GivenName: "Sofie", FamilyName: "Berg", Active: false, TerminationDate: "2026-01-31"},
	} {
		e.CompanyID, e.Source = c.ID, directory.SourceImport
		testenv.Must(g.t, g.dir.CreateEmployee(ctx, &e), "create employee %s", e.UserName)
	}
	c, err := g.dir.GetCompany(ctx, slug)
	testenv.Must(g.t, err, "get company")
	return c
}

func (g *gw) trust(c *directory.Company, pemText string, retireOthers bool) *certs.Info {
	g.t.Helper()
	info, err := certs.Parse(pemText, time.Now())
	testenv.Must(g.t, err, "parse cert")
	testenv.Must(g.t, g.dir.AddCertificate(context.Background(), &directory.Certificate{CompanyID: c.ID, DER: info.DER,
		Subject: info.Subject, SHA1: info.SHA1, SHA256: info.SHA256, NotBefore: info.NotBefore, NotAfter: info.NotAfter,
		AddedAt: time.Now()}, retireOthers), "add cert")
	return info
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	*http.Client
	jar *cookiejar.Jar
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{Client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, jar: jar}
}

// entraObjectIDs are the object ids the fake Entra's users carry (as in
// its login page's user list). Entra sends the objectidentifier claim in
// every assertion, and an employee bound to one is refused without it.
var entraObjectIDs = map[string]string{"maja.holm@acme.example": "11111111-1111-1111-1111-111111111111"}

// assertion is an Entra-shaped IdP-initiated assertion for slug, with the
// user's object id when the fake Entra knows one.
func (g *gw) assertion(slug, nameID string) ssotest.Assertion {
	return ssotest.Assertion{ACSURL: g.URL + "/c/" + slug + "/saml/acs", Audience: g.URL + "/c/" + slug + "/saml/metadata",
		NameID: nameID, Email: nameID, GivenName: "Given", FamilyName: "Family",
		ObjectID: entraObjectIDs[strings.ToLower(strings.TrimSpace(nameID))]}
}

func (g *gw) signed(a ssotest.Assertion) string {
	g.t.Helper()
	s, err := g.idp.ResponseBase64(a)
	testenv.Must(g.t, err, "sign response")
	return s
}

// postACS posts a SAMLResponse (and RelayState) like Entra's auto-submit form.
func (g *gw) postACS(b *browser, slug, samlResponse, relay string) *http.Response {
	g.t.Helper()
	form := url.Values{"SAMLResponse": {samlResponse}}
	if relay != "" {
		form.Set("RelayState", relay)
	}
	resp, err := b.PostForm(g.URL+"/c/"+slug+"/saml/acs", form)
	testenv.Must(g.t, err, "post ACS")
	g.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// me calls /api/me and returns the status and decoded body.
func (g *gw) me(b *browser, slug string) (int, map[string]any) {
	g.t.Helper()
	resp, err := b.Get(g.URL + "/c/" + slug + "/api/me")
	testenv.Must(g.t, err, "GET /api/me")
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func (g *gw) sessionCookie(b *browser) *http.Cookie {
	u, _ := url.Parse(g.URL + "/")
	for _, c := range b.jar.Cookies(u) {
		if strings.Contains(c.Name, "ssogate_session") {
			return c
		}
	}
	return nil
}

func (g *gw) lastSignIn(t *testing.T, c *directory.Company) directory.SignInEvent {
	t.Helper()
	list, err := g.dir.ListSignIns(context.Background(), c.ID, false, 1)
	testenv.Must(t, err, "list sign-ins")
	if len(list) == 0 {
		t.Fatal("no sign-in event recorded")
	}
	return list[0]
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var hiddenRE = regexp.MustCompile(`name="(SAMLResponse|RelayState)" value="([^"]*)"`)

// formValues reads the hidden fields of an auto-submitting SAML form.
func formValues(html string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(html, -1) {
		v.Set(m[1], unescapeHTML(m[2]))
	}
	return v
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#x2F;", "/").Replace(s)
}

// syncWriter lets the logger write to a builder from several goroutines.
type syncWriter struct{ b *strings.Builder }

var logMu = make(chan struct{}, 1)

func (w syncWriter) Write(p []byte) (int, error) {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return w.b.WriteString(string(p))
}

func (g *gw) logText() string {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return g.logs.String()
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

package main

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/demoproduct"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
	"github.com/ssogate/ssogate/web"
)

// demoUsers are the people of the demo company at the fake Entra. The last
// two show refusals: an inactive employee and a Microsoft account that is
// no employee at all.
var demoUsers = []struct {
	user             ssotest.User
	employee, active bool
	admin            bool
}{
	{ssotest.User{NameID: "maja.holm@demo.example", Email: "maja.holm@demo.example", GivenName: "Maja", FamilyName: "Holm"}, true, true, true},
	{ssotest.User{NameID: "lars.jensen@demo.example", Email: "lars.jensen@demo.example", GivenName: "Lars", FamilyName: "Jensen"}, true, true, false},
	{ssotest.User{NameID: "sofie.berg@demo.example", Email: "sofie.berg@demo.example", GivenName: "Sofie", FamilyName: "Berg (inactive)"}, true, false, false},
	{ssotest.User{NameID: "guest@partner.example", Email: "guest@partner.example", GivenName: "Guest", FamilyName: "(not an employee)"}, false, false, false},
}

// demo runs the gateway with a built-in fake Entra and a demo company. The
// fake IdP exists only here: throwaway keys made at start, loopback only.
func (e *env) demo(ctx context.Context, args []string) error {
	fs := e.newFlags("demo")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(e.cfg.Addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("demo runs a fake identity provider and listens on loopback only; SSOGATE_ADDR=%s is not loopback", e.cfg.Addr)
	}
	if e.getenv("SSOGATE_DRAIN_DELAY") == "" {
		e.cfg.DrainDelay = 0 // no load balancer in front of a demo
	}
	if e.getenv("SSOGATE_DATABASE_URL") == "" {
		dir, err := os.MkdirTemp("", "ssogate-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		e.cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "demo.db")
	}
	dir, sess, closeStores, err := e.openStores(ctx)
	if err != nil {
		return err
	}
	defer closeStores()

	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		return err
	}
	slug := "demo"
	base := e.cfg.PublicURL + "/c/" + slug
	// The fake Entra's sign-in page is on the gateway's own loopback
	// address: allow it as the demo company's Login URL.
	if pub, err := url.Parse(e.cfg.PublicURL); err == nil {
		e.cfg.IDPLoginHosts = append(e.cfg.IDPLoginHosts, pub.Host)
	}
	if err := seedDemo(ctx, dir, idp, slug, e.cfg.PublicURL+"/fake-entra/saml2"); err != nil {
		return fmt.Errorf("seed demo company: %w", err)
	}
	users := make([]ssotest.User, len(demoUsers))
	for i, u := range demoUsers {
		users[i] = u.user
		users[i].ObjectID = ssotest.NewTenantID() // a fresh GUID, as Entra's objectidentifier
	}
	product, stopProduct, err := e.startDemoProduct(ctx, host)
	if err != nil {
		return fmt.Errorf("demo product: %w", err)
	}
	defer stopProduct()
	mux := http.NewServeMux()
	mux.Handle("/fake-entra/saml2", idp.Handler(users, base+"/saml/metadata"))
	mux.Handle("/fake-entra/myapps", myApps(idp, users, base))
	idp.LogoutURL = base + "/saml/slo" // Single Logout is on for the demo company
	mux.Handle("/fake-entra/signout", idp.SignOutHandler(users))
	ready := func(addr string) {
		fmt.Fprintf(e.stdout, `
ssogate demo is running (fake Entra, throwaway keys, data in a temporary database).

  Open the app (SP-initiated sign-in):    %s/
  The Microsoft 365 tile (IdP-initiated): %s/fake-entra/myapps
  Your profile once signed in:            %s/api/me
  Setup admin console (Maja is admin):    %s/admin/
  SP metadata:                            %s/saml/metadata
  Sign out at Microsoft (Single Logout):  %s/fake-entra/signout?user=0
  Signing keys of X-Ssogate-Assertion:    %s/.well-known/jwks.json

The app at %s/ is the demo HR product (%s, loopback only), proxied by ssogate:
it verifies X-Ssogate-Assertion against the JWKS and greets the employee with the verified claims.

Press Ctrl-C to stop.
`, base, e.cfg.PublicURL, base, base, base, e.cfg.PublicURL, e.cfg.PublicURL, base, product)
	}
	return e.listenAndServe(ctx, web.Deps{Config: e.cfg, Dir: dir, Sessions: sess, Logger: e.log,
		Mounts: map[string]http.Handler{"/fake-entra": mux}}, ready)
}

func seedDemo(ctx context.Context, st directory.Store, idp *ssotest.IdP, slug, loginURL string) error {
	c := &directory.Company{Slug: slug, Name: "Demo Company", SSOEnabled: true, NameIDMode: directory.NameIDUPN,
		EntraIdentifier: idp.Issuer, IDPLoginURL: loginURL, SLOEnabled: true}
	if err := st.CreateCompany(ctx, c); err != nil {
		return err
	}
	if _, err := (&admin.Service{Dir: st}).AddCertificate(ctx, admin.Actor{Name: "demo"}, c.ID, idp.CertificateBase64(), false); err != nil {
		return err
	}
	for _, u := range demoUsers {
		if !u.employee {
			continue
		}
		emp := &directory.Employee{CompanyID: c.ID, UserName: u.user.NameID, Email: u.user.Email, GivenName: u.user.GivenName,
			FamilyName: u.user.FamilyName, Active: u.active, IsAdmin: u.admin, Source: directory.SourceImport, Department: "People"}
		if !u.active {
			emp.TerminationDate = time.Now().UTC().Format("2006-01-02")
		}
		if err := st.CreateEmployee(ctx, emp); err != nil {
			return err
		}
	}
	return nil
}

var myAppsPage = template.Must(template.New("myapps").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>My Apps (fake Entra)</title></head><body style="font-family:system-ui;max-width:36rem;margin:3rem auto">
<h1>My Apps <small>(fake Entra, demo only)</small></h1>
<p>Click the app tile as one of these people: Entra posts an unsolicited (IdP-initiated) response to the Reply URL.</p>
{{range $i, $u := .Users}}<form method="post"><input type="hidden" name="user" value="{{$i}}">
<button type="submit">Demo Company app tile, as {{$u.GivenName}} {{$u.FamilyName}} ({{$u.NameID}})</button></form><br>{{end}}
</body></html>`))

var myAppsPost = template.Must(template.New("post").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body><form method="post" action="{{.ACS}}"><input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
<p>Signed in at the fake Entra.</p><button type="submit" id="continue">Continue to the app</button></form></body></html>`))

// myApps is the fake Microsoft 365 app launcher: IdP-initiated sign-in.
func myApps(idp *ssotest.IdP, users []ssotest.User, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodGet {
			_ = myAppsPage.Execute(w, map[string]any{"Users": users})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		i, err := strconv.Atoi(r.FormValue("user"))
		if err != nil || i < 0 || i >= len(users) {
			http.Error(w, "unknown user", http.StatusBadRequest)
			return
		}
		u := users[i]
		resp, err := idp.ResponseBase64(ssotest.Assertion{ACSURL: base + "/saml/acs", Audience: base + "/saml/metadata",
			NameID: u.NameID, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, ObjectID: u.ObjectID})
		if err != nil {
			http.Error(w, "signing failed", http.StatusInternalServerError)
			return
		}
		_ = myAppsPost.Execute(w, map[string]any{"ACS": template.URL(base + "/saml/acs"), "SAMLResponse": resp})
	})
}

// startDemoProduct runs the demo HR product on its own loopback port and
// makes it the gateway's upstream (unless SSOGATE_UPSTREAM names another).
func (e *env) startDemoProduct(ctx context.Context, host string) (string, func(), error) {
	if e.cfg.Upstream != "" {
		return e.cfg.Upstream, func() {}, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", nil, err
	}
	u := "http://" + ln.Addr().String()
	aud := e.cfg.UpstreamAudience
	if aud == "" {
		aud = u
	}
	ctx, cancel := context.WithCancel(ctx)
	p, err := demoproduct.New(ctx, demoproduct.Options{JWKSURL: e.cfg.PublicURL + "/.well-known/jwks.json",
		Issuer: e.cfg.PublicURL, Audience: aud, Logger: e.log.With("component", "demo-product")})
	if err != nil {
		cancel()
		ln.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e.cfg.Upstream = u
	return u, func() { cancel(); srv.Close() }, nil
}

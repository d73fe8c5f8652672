// Package demoproduct is the small "HR product" `ssogate demo` runs behind
// the gateway. It does what a real product should: it trusts no plain
// header, verifies X-Ssogate-Assertion against the gateway's JWKS with a
// maintained JWKS client (keyfunc) and JWT library (golang-jwt), pinning
// the algorithm, issuer and audience and requiring an expiry, and checks
// that the assertion's company is the one in the path. Then it greets the
// employee with the verified claims.
//
// It is demo code: it imports nothing of the gateway.
package demoproduct

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Header is the request header the gateway puts the assertion in.
const Header = "X-Ssogate-Assertion"

// Options configure the product.
type Options struct {
	// JWKSURL is the gateway's /.well-known/jwks.json.
	JWKSURL string
	// Issuer is the gateway's public URL (the iss to expect).
	Issuer string
	// Audience is this product's own origin (or SSOGATE_UPSTREAM_AUDIENCE).
	Audience string
	// RefreshInterval is how often the key set is fetched again (default
	// 5m; keep it below SSOGATE_SIGNING_KEY_LEAD).
	RefreshInterval time.Duration
	Logger          *slog.Logger
}

// Claims are the assertion's claims the product reads.
type Claims struct {
	Company  string   `json:"company"`
	UserName string   `json:"userName"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	SID      string   `json:"sid"`
	jwt.RegisteredClaims
}

// Product is the demo product's HTTP handler.
type Product struct {
	o      Options
	kf     keyfunc.Keyfunc
	parser *jwt.Parser
	log    *slog.Logger
}

// New builds the product. The key set is fetched in the background (ctx
// ends that) and again on an unknown key id, so the gateway need not be up
// yet.
func New(ctx context.Context, o Options) (*Product, error) {
	if o.JWKSURL == "" || o.Issuer == "" || o.Audience == "" {
		return nil, errors.New("demoproduct: JWKS URL, issuer and audience are required")
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	log := o.Logger
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{o.JWKSURL}, keyfunc.Override{
		RefreshInterval: o.RefreshInterval,
		HTTPTimeout:     5 * time.Second,
		// An assertion signed by a key not yet fetched triggers a fetch,
		// at most every 10 s.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(10*time.Second), 1),
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(_ context.Context, err error) { log.Warn("demo product: JWKS fetch failed", "err", err) }
		},
	})
	if err != nil {
		return nil, err
	}
	p := &Product{o: o, kf: kf, log: log,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(o.Issuer), jwt.WithAudience(o.Audience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second))}
	return p, nil
}

// Verify checks an assertion and returns its claims.
func (p *Product) Verify(ctx context.Context, tok string) (*Claims, error) {
	c := &Claims{}
	if _, err := p.parser.ParseWithClaims(tok, c, p.kf.KeyfuncCtx(ctx)); err != nil {
		return nil, err
	}
	if c.Subject == "" || c.Company == "" {
		return nil, errors.New("assertion without sub or company")
	}
	return c, nil
}

func (p *Product) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	tok := r.Header.Get(Header)
	if tok == "" {
		p.refuse(w, http.StatusUnauthorized, "No identity assertion came with this request: reach the product through ssogate.")
		return
	}
	c, err := p.Verify(r.Context(), tok)
	if err != nil {
		p.log.Info("demo product: assertion refused", "err", err)
		p.refuse(w, http.StatusUnauthorized, "The identity assertion did not verify.")
		return
	}
	company, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/c/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/c/") || company != c.Company {
		p.refuse(w, http.StatusForbidden, "This assertion is for another company.")
		return
	}
	kid, _ := jwtHeaderKID(tok)
	_ = page.Execute(w, map[string]any{"C": c, "Path": r.URL.Path, "KID": kid,
		"Exp": c.ExpiresAt.UTC().Format(time.RFC3339), "Iat": c.IssuedAt.UTC().Format(time.RFC3339),
		"Aud": strings.Join(c.Audience, " "), "Logout": "/c/" + c.Company + "/logout"})
}

func (p *Product) refuse(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	_ = refused.Execute(w, msg)
}

func jwtHeaderKID(tok string) (string, error) {
	t, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		return "", err
	}
	k, _ := t.Header["kid"].(string)
	return k, nil
}

var page = template.Must(template.New("product").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Demo HR product</title></head><body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<p><small>Demo HR product — behind ssogate</small></p>
<h1 id="greeting">Hello, {{.C.Name}}</h1>
<p>This page trusts no plain header. It verified <code>X-Ssogate-Assertion</code> (ES256, issuer, audience,
expiry) with the keys at ssogate's <code>/.well-known/jwks.json</code>; these are the verified claims:</p>
<table id="claims">
<tr><th align="left">sub (employee id)</th><td id="sub">{{.C.Subject}}</td></tr>
<tr><th align="left">company</th><td id="company">{{.C.Company}}</td></tr>
<tr><th align="left">userName</th><td id="userName">{{.C.UserName}}</td></tr>
<tr><th align="left">email</th><td id="email">{{.C.Email}}</td></tr>
<tr><th align="left">roles</th><td id="roles">{{range $i, $r := .C.Roles}}{{if $i}}, {{end}}{{$r}}{{else}}(none){{end}}</td></tr>
<tr><th align="left">iss</th><td>{{.C.Issuer}}</td></tr>
<tr><th align="left">aud</th><td>{{.Aud}}</td></tr>
<tr><th align="left">iat / exp</th><td>{{.Iat}} / {{.Exp}}</td></tr>
<tr><th align="left">kid</th><td>{{.KID}}</td></tr>
</table>
<p>You asked for <code>{{.Path}}</code>.</p>
<form method="post" action="{{.Logout}}"><button type="submit">Sign out</button></form>
</body></html>`))

var refused = template.Must(template.New("refused").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Not signed in</title></head><body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<h1>Not signed in</h1><p>{{.}}</p></body></html>`))

package web

import (
	"crypto/x509"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/identity"
	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/fedsync"
	"github.com/ssogate/ssogate/sso/scim"
	"github.com/ssogate/ssogate/web/console"
	"github.com/ssogate/ssogate/web/internal/httpx"
	"github.com/ssogate/ssogate/web/oauthserver"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps is everything the web layer needs; the caller (cmd) builds it.
type Deps struct {
	Config   config.Config
	Dir      directory.Store
	Sessions session.Store
	Logger   *slog.Logger
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// Registry receives the gateway's metrics (nil = a new registry).
	Registry *prometheus.Registry
	// Identity signs the assertion handed to the product and serves the
	// JWKS (nil = the identity package's signer).
	Identity Identity
	// MetadataRootCAs verifies federation metadata servers (nil = the
	// system trust store). Tests set it; serve leaves it nil.
	MetadataRootCAs *x509.CertPool
	// MetadataTimeout bounds one metadata fetch (0 = fedmeta's default).
	MetadataTimeout time.Duration
	// Mounts adds handlers under path prefixes that get no security
	// headers of ours (the demo's fake Entra). Never set by `serve`.
	Mounts map[string]http.Handler
}

// Server is the gateway's HTTP application.
type Server struct {
	cfg       config.Config
	public    *url.URL
	dir       directory.Store
	sessions  session.Store
	log       *slog.Logger
	now       func() time.Time
	e         *echo.Echo
	tmpl      *template.Template
	browser   *session.Manager
	companies *companyCache
	employees *ttlCache[*directory.Employee]
	clients   *ttlCache[bool]
	metrics   *metrics
	scim      *scim.Handler
	oauth     *oauthserver.Server
	console   *console.Console
	logins    *loginLog
	admin     *admin.Service
	views     viewCache
	ssoOpts   sso.Options
	keyTouch  keyTouches
	keySealer *keySealer
	// identity mints X-Ssogate-Assertion and serves the JWKS.
	identity Identity
	upstream *upstream // nil without SSOGATE_UPSTREAM

	// csrf protects the forms of the console and the password sign-in
	// (httpx.CSRF: one cookie for both).
	csrf echo.MiddlewareFunc
	// sameOrigin refuses cross-site browser POSTs where no CSRF token is
	// carried (logout).
	sameOrigin *http.CrossOriginProtection
	draining   atomic.Bool // set by Drain: /readyz answers 503

	// syncer follows each company's federation metadata.
	syncer *fedsync.Syncer
	// hashes bounds concurrent argon2id hashes (SSOGATE_PASSWORD_CONCURRENCY).
	hashes *password.Limiter

	// limiter bounds sign-in requests per client (nil = no limit);
	// folded keeps identical refused sign-ins from being stored again.
	limiter *throttle.Local
	folded  failureFolder
}

// New builds the application and its routes.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	d.Config.PublicURL = config.NormalizePublicURL(d.Config.PublicURL)
	pub, err := url.Parse(d.Config.PublicURL)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, pkg := range []fs.FS{oauthserver.Templates, console.Templates} {
		if tmpl, err = tmpl.ParseFS(pkg, "templates/*.html"); err != nil {
			return nil, err
		}
	}
	s := &Server{
		cfg: d.Config, public: pub, dir: d.Dir, sessions: d.Sessions, log: d.Logger, now: d.Now, tmpl: tmpl,
		ssoOpts: sso.Options{Now: d.Now, MaxIssueDelay: d.Config.SAMLMaxIssueDelay, ClockSkew: d.Config.SAMLClockSkew,
			AllowSHA1: d.Config.SAMLAllowSHA1},
	}
	s.identity = d.Identity
	if d.Config.Upstream != "" {
		if s.upstream, err = s.newUpstream(); err != nil {
			return nil, err
		}
	}
	s.logins = newLoginLog(d.Dir)
	if s.keySealer, err = newKeySealer(d.Config.SigningKeySecret); err != nil {
		return nil, err
	}
	s.admin = &admin.Service{Dir: d.Dir, Sessions: d.Sessions, Now: d.Now,
		CheckLoginURL:    func(u string) error { return sso.CheckLoginURL(u, d.Config.IDPLoginHosts) },
		CheckMetadataURL: func(u string) error { return s.syncer.Fetcher.CheckURL(u) },
		NewEncryptionKey: func(co *directory.Company, now time.Time) (*directory.EncryptionKey, error) {
			return MakeEncryptionKey(co, d.Config.SigningKeySecret, now)
		},
		// A change to an employee, from the console or SCIM, is seen at
		// once by this process (others: within SettingsTTL).
		Changed: func(companyID int64, id string) { s.employees.forget(cacheKey(companyID, id)) }}
	s.limiter = throttle.NewLocal(float64(d.Config.SigninRate), int(d.Config.SigninBurst), 0)
	s.csrf = httpx.CSRF(d.Config.Secure(), console.SessionLifetime)
	s.sameOrigin = http.NewCrossOriginProtection()
	if err := s.sameOrigin.AddTrustedOrigin(pub.Scheme + "://" + pub.Host); err != nil {
		return nil, fmt.Errorf("SSOGATE_PUBLIC_URL as a trusted origin: %w", err)
	}
	s.hashes = password.NewLimiter(int(d.Config.PasswordConcurrency))
	s.browser = &session.Manager{
		Store: d.Sessions,
		Cookie: session.CookieConfig{
			Name: session.CookieName(d.Config.CookieName, d.Config.Secure()), Secure: d.Config.Secure(),
			Path: "/", SameSite: http.SameSiteLaxMode,
		},
		Now: d.Now, Idle: d.Config.SessionIdle, Absolute: d.Config.SessionAbsolute,
	}
	s.companies = newCompanyCache(s)
	s.employees = newTTLCache[*directory.Employee](d.Config.SettingsTTL, d.Now)
	s.clients = newTTLCache[bool](d.Config.SettingsTTL, d.Now)
	s.metrics = newMetrics(d.Registry)
	if s.identity == nil {
		signer, err := identity.New(identity.Options{Issuer: d.Config.PublicURL, Store: d.Dir, TTL: d.Config.AssertionTTL,
			Rotation: d.Config.SigningKeyRotation, Lead: d.Config.SigningKeyLead, MaxAge: d.Config.JWKSMaxAge,
			Secret: []byte(d.Config.SigningKeySecret), Now: d.Now, Logger: d.Logger.With("component", "identity")})
		if err != nil {
			return nil, err
		}
		s.identity = signer
	}
	s.syncer = s.newSyncer(d)
	if s.oauth, err = s.newOAuthServer(); err != nil {
		return nil, err
	}
	if s.console, err = s.newConsole(); err != nil {
		return nil, err
	}
	s.scim = scim.New(scim.Options{Store: d.Dir, Settler: s.admin, Throttle: d.Sessions, Logger: d.Logger.With("component", "scim"),
		Now: d.Now, MaxBody: d.Config.SCIMMaxBody, TokenTTL: d.Config.SettingsTTL,
		ClientIP: func(r *http.Request) string { return s.e.IPExtractor(r) }})

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = echo.ExtractIPDirect()
	if d.Config.TrustProxyHeaders {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic", "path", c.Request().URL.Path, "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(s.accessLog)
	e.Use(s.signinLimit)
	mounts := make([]string, 0, len(d.Mounts))
	for prefix, h := range d.Mounts {
		prefix = "/" + strings.Trim(prefix, "/")
		mounts = append(mounts, prefix+"/")
		e.Any(prefix+"/*", echo.WrapHandler(h))
	}
	e.Use(s.securityHeaders(mounts))
	s.e = e
	s.routes()
	return s, nil
}

// Handler returns the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.e }

// MetricsHandler serves GET /metrics (Prometheus text format) for the
// separate listener at SSOGATE_METRICS_ADDR, with /healthz beside it. The
// metrics name every company (certificate expiry gauges), so the public
// listener answers them only to a local scraper (localMetrics).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

// localMetrics serves /metrics on the public listener to a scraper on this
// host only: the connection's own peer must be a loopback address and the
// request must carry no forwarding header (a reverse proxy on this host
// adds one), so no client elsewhere, directly or through a proxy, ever
// reads it. Everyone else gets 404, as for an unknown path.
func (s *Server) localMetrics(c echo.Context) error {
	r := c.Request()
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil || !ip.IsLoopback() ||
		r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-IP") != "" {
		return echo.ErrNotFound
	}
	s.metrics.handler.ServeHTTP(c.Response(), r)
	return nil
}

func (s *Server) routes() {
	e := s.e
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", http.FileServer(http.FS(filesOnly{static})))))
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.localMetrics)
	e.GET("/.well-known/jwks.json", s.jwks)
	// Forward-auth for a proxy in front (any method: some proxies ask with
	// the original one; the body is never read).
	e.Any("/auth/verify", s.authVerify)
	e.Any("/auth/request", s.authRequest)

	c := e.Group("/c/:company")
	c.GET("", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/c/"+c.Param("company")+"/") })
	if s.upstream != nil {
		// The product: /c/{company}/ and every path that is not ours.
		c.Any("/", s.proxy)
		c.Any("/*", s.proxy)
	} else {
		c.GET("/", s.home)
	}
	// GET /login starts SP-initiated SSO (s.login) unless SSO is off or the
	// user asked for the password form (employees detached from Entra);
	// POST /login is that password sign-in. Both carry the console's CSRF.
	c.GET("/login", s.loginOrPassword, s.csrf)
	c.POST("/login", s.passwordLogin, s.csrf)
	c.POST("/logout", s.logout)
	c.GET("/signed-out", s.signedOut)
	c.GET("/saml/metadata", s.metadata)
	c.POST("/saml/acs", s.acs)
	c.GET("/saml/slo", s.slo)
	c.GET("/api/me", s.me)
	c.GET("/api/employees/:id/approvers", s.approvers)
	c.Any("/scim/v2", s.scimHandler)
	c.Any("/scim/v2/*", s.scimHandler)
	c.Any("/scim/oauth/token", s.scimToken)
	s.oauth.Routes(c)
	s.console.Routes(c)
}

// filesOnly serves files and nothing else: opening a directory fails as if
// it did not exist, so the file server answers 404 instead of a listing.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil || st.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}

// newOAuthServer builds the mobile app's authorization server
// (/c/{company}/oauth/...) over this server's company cache, browser
// sessions, login and pages.
func (s *Server) newOAuthServer() (*oauthserver.Server, error) {
	return oauthserver.New(oauthserver.Options{
		Sessions: s.sessions, Browser: s.browser, Dir: s.dir, Logger: s.log, Now: s.now,
		Company: func(c echo.Context) (*directory.Company, error) {
			t, err := s.tenantOf(c)
			if err != nil {
				return nil, err
			}
			return t.Company, nil
		},
		Login:      s.sendToLogin,
		Render:     s.render,
		NoteOutage: s.noteOutage,
		CountToken: func(outcome string) { s.metrics.oauthTokens.WithLabelValues(outcome).Inc() },
		CodeTTL:    s.cfg.OAuthCodeTTL, AccessTTL: s.cfg.OAuthAccessTTL, RefreshTTL: s.cfg.OAuthRefreshTTL,
		ConsentTTL: s.cfg.SAMLRequestTTL,
	})
}

// newConsole builds the setup admin console (/c/{company}/admin/...) over
// this server's company cache, browser sessions, password checks, caches,
// metadata follower and pages.
func (s *Server) newConsole() (*console.Console, error) {
	return console.New(console.Options{
		Dir: s.dir, Sessions: s.sessions, Admin: s.admin, Browser: s.browser, Logger: s.log, Now: s.now,
		Passwords: consolePasswords{s}, Caches: consoleCaches{s}, Metadata: consoleMetadata{s},
		PublicURL: s.cfg.PublicURL, Secure: s.cfg.Secure(), AdminIdle: s.cfg.AdminIdle,
		MetadataInterval: s.cfg.MetadataInterval, CSRF: s.csrf,
		Tenant: func(c echo.Context) (*console.Tenant, error) {
			t, err := s.tenantOf(c)
			if err != nil {
				return nil, err
			}
			return &console.Tenant{Company: t.Company, Certs: t.Certs, SSOReady: t.SP != nil,
				DerivedLoginURL: derivedLoginURL(t.Company)}, nil
		},
		Login:  s.sendToLogin,
		Render: s.render,
	})
}

// sendToLogin sends a browser to the company's sign-in, which returns it
// to returnTo once signed in.
func (s *Server) sendToLogin(c echo.Context, co *directory.Company, returnTo string) error {
	return c.Redirect(http.StatusFound, "/c/"+co.Slug+"/login?return_to="+url.QueryEscape(returnTo))
}

// render executes a template into the response.
func (s *Server) render(c echo.Context, status int, name string, data any) error {
	var b strings.Builder
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

func (s *Server) securityHeaders(skip []string) echo.MiddlewareFunc {
	secure := s.cfg.Secure()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := c.Request().URL.Path
			for _, m := range skip {
				if strings.HasPrefix(p, m) {
					return next(c)
				}
			}
			h := c.Response().Header()
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Cache-Control", "no-store")
			if secure {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			return next(c)
		}
	}
}

// accessLog logs one line per request: never the query string (it can carry
// OAuth codes), never cookies or bodies.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if p := c.Request().URL.Path; p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/static/") {
			return nil
		}
		s.log.LogAttrs(c.Request().Context(), slog.LevelDebug, "http",
			slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
			slog.Int("status", c.Response().Status), slog.Duration("took", time.Since(start)),
			slog.String("ip", c.RealIP()))
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// Package console is the setup admin console under /c/{company}/admin:
// its pages (overview, SSO settings and token encryption, certificates,
// provisioning, employees, mobile apps, sign-in diagnostics, audit log) and
// their sign-in, the console session (a second cookie, KindAdmin, the
// shorter SSOGATE_ADMIN_IDLE lifetime), with the break-glass password
// sign-in of setup admins and the SSO sign-in of employees with the admin
// role.
//
// The boundary follows ownership. The console owns its pages, its sessions
// and how a setup admin signs in to it. web keeps what the rest of the
// gateway needs too: the browser session and the SAML login (the console's
// SSO sign-in sends the browser there and reads the browser session back),
// company resolution and its settings cache, the employees' password form
// at /c/{company}/login (it makes a browser session), the password
// throttle and the bounded password checks both sign-ins use, the metrics
// and the error handler. web hands those in, through Options, as narrow
// interfaces and functions. The business rules of every change are
// admin.Service's; the console parses forms, calls it and presents the
// result. What the console shares with web (the CSRF protection of both
// password forms, the redirect target check, the sign-in refusals) is in
// web/internal/httpx.
//
// It must not import web (web imports it), cmd, web/oauthserver, SAML or a
// concrete store.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/fedsync"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Templates holds the console's pages (templates/*.html). web parses them
// into its own set, beside the "admin_head" block they use, and renders
// them through Options.Render.
//
//go:embed templates/*.html
var Templates embed.FS

// Every handler behind requireAdmin acts on the company of the URL only and
// only with an admin session of that company: an admin of company A can do
// nothing at company B (Manager.CurrentFor refuses the session, and every
// lookup below is keyed by the company's id).

const (
	// SessionLifetime is the absolute lifetime of a console session; the
	// CSRF cookie of the console's forms lives as long.
	SessionLifetime = 8 * time.Hour
	ctxAdmin        = "ssogate.admin"
)

// Tenant is the company of a request as web's settings cache sees it.
type Tenant struct {
	Company *directory.Company
	Certs   []directory.Certificate // trusted (not retired)
	// SSOReady: a service provider could be built from the settings (a
	// trusted certificate exists).
	SSOReady bool
	// DerivedLoginURL is the Login URL Entra derives from the Identifier
	// ("" when none can be derived), shown while none is set.
	DerivedLoginURL string
}

// BrowserSessions finds the browser's session at a company (the one the
// SAML login made); session.ErrNotFound means there is none.
type BrowserSessions interface {
	CurrentFor(ctx context.Context, r *http.Request, companyID int64) (*session.Session, error)
}

var _ BrowserSessions = (*session.Manager)(nil)

// Attempt is one password sign-in attempt's throttle counters.
type Attempt interface {
	// Admit counts the attempt before its password is checked and says how
	// long the client must wait (0: check it now).
	Admit(ctx context.Context) (time.Duration, error)
	// Succeeded gives the counts of a successful sign-in back.
	Succeeded(ctx context.Context) error
}

// Passwords is the password machinery web shares with the console: the
// sign-in throttle and the bounded, counted argon2id checks. Verify and
// Hash return password.ErrBusy when every check is in use.
type Passwords interface {
	AdminAttempt(companyID int64, email, ip string) Attempt
	Verify(encoded, pw string) error
	Hash(pw string) (string, error)
}

// Caches are web's per-instance caches that a change made in the console
// makes stale in this process (other instances see it within
// SSOGATE_SETTINGS_TTL). An employee changed through admin.Service is
// dropped by the service itself (admin.Service.Changed).
type Caches interface {
	ForgetCompany(slug string)
	ForgetOAuthClient(companyID int64, clientID string)
	ForgetSCIMTokens()
}

// Metadata is web's federation metadata follower (setting the URL is
// admin.Service.SetMetadataURL, which checks it).
type Metadata interface {
	// Refresh fetches the company's metadata now and applies it.
	Refresh(ctx context.Context, co *directory.Company) (*fedsync.Change, error)
}

// Options is what web hands the console. Every field is required but
// Logger and Now.
type Options struct {
	Dir       directory.Store
	Sessions  session.Store
	Admin     *admin.Service
	Browser   BrowserSessions
	Passwords Passwords
	Caches    Caches
	Metadata  Metadata
	Logger    *slog.Logger     // nil: discard
	Now       func() time.Time // nil: time.Now

	// PublicURL is SSOGATE_PUBLIC_URL, normalized (no trailing slash).
	PublicURL string
	// Secure: the gateway is served over https (Secure, __Host- cookies).
	Secure bool
	// AdminIdle is a console session's idle lifetime (SSOGATE_ADMIN_IDLE).
	AdminIdle time.Duration
	// MetadataInterval is SSOGATE_METADATA_INTERVAL, shown on the SSO page.
	MetadataInterval time.Duration
	// CSRF is httpx.CSRF, the one protection of the console's forms and of
	// web's password form (one cookie).
	CSRF echo.MiddlewareFunc

	// Tenant resolves the request's :company; its error is a
	// *httpx.ErrorPage for an unknown company, or a failure.
	Tenant func(c echo.Context) (*Tenant, error)
	// Login sends a browser to the company's SAML sign-in, which returns
	// it to returnTo (a path of the gateway) once signed in.
	Login func(c echo.Context, co *directory.Company, returnTo string) error
	// Render writes one of Templates with data.
	Render func(c echo.Context, status int, name string, data any) error
}

// Console serves /c/{company}/admin.
type Console struct {
	dir       directory.Store
	sessions  session.Store
	admin     *admin.Service
	browser   BrowserSessions
	passwords Passwords
	caches    Caches
	metadata  Metadata
	log       *slog.Logger
	now       func() time.Time

	public           *url.URL
	publicURL        string
	metadataInterval time.Duration
	csrf             echo.MiddlewareFunc
	adminSessions    *session.Manager

	tenant func(echo.Context) (*Tenant, error)
	login  func(echo.Context, *directory.Company, string) error
	render func(echo.Context, int, string, any) error
}

// New checks o and builds the console.
func New(o Options) (*Console, error) {
	var missing []error
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"Dir", o.Dir != nil}, {"Sessions", o.Sessions != nil}, {"Admin", o.Admin != nil}, {"Browser", o.Browser != nil},
		{"Passwords", o.Passwords != nil}, {"Caches", o.Caches != nil}, {"Metadata", o.Metadata != nil},
		{"PublicURL", o.PublicURL != ""}, {"AdminIdle", o.AdminIdle > 0}, {"MetadataInterval", o.MetadataInterval > 0},
		{"CSRF", o.CSRF != nil}, {"Tenant", o.Tenant != nil}, {"Login", o.Login != nil}, {"Render", o.Render != nil},
	} {
		if !f.ok {
			missing = append(missing, errors.New("console: Options."+f.name+" is required"))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	pub, err := url.Parse(o.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("console: Options.PublicURL: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Console{dir: o.Dir, sessions: o.Sessions, admin: o.Admin, browser: o.Browser, passwords: o.Passwords,
		caches: o.Caches, metadata: o.Metadata, log: o.Logger, now: o.Now,
		public: pub, publicURL: o.PublicURL, metadataInterval: o.MetadataInterval, csrf: o.CSRF,
		adminSessions: newAdminSessions(o),
		tenant:        o.Tenant, login: o.Login, render: o.Render}, nil
}

// adminCtx is the signed-in admin of one request.
type adminCtx struct {
	t     *Tenant
	sess  *session.Session
	email string // what the audit log shows after "admin:"
}

func (a *adminCtx) actor() string { return "admin:" + a.email }

// who is the admin as the service layer names them.
func (a *adminCtx) who() admin.Actor {
	return admin.Actor{Name: a.actor(), EmployeeID: a.sess.EmployeeID}
}

func (a *adminCtx) base() string { return "/c/" + a.t.Company.Slug + "/admin" }

// companyURL returns the absolute URL of a path under /c/{slug}.
func (s *Console) companyURL(slug, p string) string {
	return s.publicURL + "/c/" + slug + p
}

// Routes adds the console to a /c/:company group.
func (s *Console) Routes(g *echo.Group) {
	a := g.Group("/admin", s.csrf)
	a.GET("", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, "/c/"+c.Param("company")+"/admin/")
	})
	a.GET("/login", s.adminLoginPage)
	a.POST("/login", s.adminPasswordLogin)
	a.GET("/login/sso", s.adminSSOLogin)
	a.POST("/logout", s.adminLogout)

	p := a.Group("", s.requireAdmin)
	p.GET("/", s.adminOverview)
	p.GET("/sso", s.adminSSOPage)
	p.POST("/sso", s.adminSSOSave)
	p.POST("/sso/metadata", s.adminMetadataSave)
	p.POST("/sso/metadata/refresh", s.adminMetadataRefresh)
	p.GET("/sso/encryption", s.adminEncryptionPage)
	p.POST("/sso/encryption", s.adminEncryptionSave)
	p.POST("/sso/encryption/rotate", s.adminEncryptionRotate)
	p.POST("/sso/encryption/finish", s.adminEncryptionFinish)
	p.GET("/sso/encryption/cert/:sha1", s.adminEncryptionCert)
	p.GET("/certificates", s.adminCertsPage)
	p.POST("/certificates", s.adminCertAdd)
	p.POST("/certificates/auto-retire", s.adminCertAutoRetire)
	p.POST("/certificates/:sha256/retire", s.adminCertRetire)
	p.GET("/provisioning", s.adminProvisioningPage)
	p.POST("/provisioning/tokens", s.adminTokenMint)
	p.POST("/provisioning/tokens/:id/rotate", s.adminTokenRotate)
	p.POST("/provisioning/tokens/:id/revoke", s.adminTokenRevoke)
	p.POST("/provisioning/clients", s.adminSCIMClientAdd)
	p.POST("/provisioning/clients/:client/secrets", s.adminSCIMSecretAdd)
	p.POST("/provisioning/clients/:client/secrets/:id/remove", s.adminSCIMSecretRemove)
	p.POST("/provisioning/clients/:client/remove", s.adminSCIMClientRemove)
	p.GET("/employees", s.adminEmployeesPage)
	p.GET("/employees/:id", s.adminEmployeePage)
	p.POST("/employees/:id/identity", s.adminEmployeeIdentity)
	p.POST("/employees/:id/roles", s.adminEmployeeRoles)
	p.POST("/employees/:id/departments", s.adminEmployeeDepartmentAdd)
	p.POST("/employees/:id/departments/remove", s.adminEmployeeDepartmentRemove)
	p.POST("/employees/:id/activate", s.adminEmployeeActivate)
	p.POST("/employees/:id/deactivate", s.adminEmployeeDeactivate)
	p.GET("/employees/:id/detach", s.adminEmployeeDetachPage)
	p.POST("/employees/:id/detach", s.adminEmployeeDetach)
	p.POST("/employees/:id/link", s.adminEmployeeLink)
	p.POST("/employees/:id/password", s.adminEmployeePassword)
	p.POST("/employees/:id/sessions/revoke", s.adminEmployeeRevokeSessions)
	p.POST("/employees/:id/sessions/:sid/revoke", s.adminEmployeeRevokeSession)
	p.GET("/apps", s.adminAppsPage)
	p.POST("/apps", s.adminAppAdd)
	p.POST("/apps/:client/remove", s.adminAppRemove)
	p.GET("/diagnostics", s.adminDiagnostics)
	p.GET("/audit", s.adminAudit)
}

// newAdminSessions is the Manager of admin sessions: its own cookie (never
// named like the browser session cookie), KindAdmin so an employee's
// browser session or bearer token is worth nothing here, and the admin idle
// lifetime. Lax, not Strict: the SSO sign-in reaches the console through
// Entra's cross-site POST and its redirects.
func newAdminSessions(o Options) *session.Manager {
	abs := max(SessionLifetime, o.AdminIdle)
	return &session.Manager{
		Store: o.Sessions,
		Cookie: session.CookieConfig{Name: session.CookieName(session.AdminCookie, o.Secure), Secure: o.Secure,
			Path: "/", SameSite: http.SameSiteLaxMode},
		Now: o.Now, Idle: o.AdminIdle, Absolute: abs, Kind: session.KindAdmin,
	}
}

// currentAdmin returns the admin of this request, or nil when there is no
// valid admin session for company t. An admin session whose admin was
// removed, or whose employee lost the admin role or was deactivated, is
// deleted on sight.
func (s *Console) currentAdmin(c echo.Context, t *Tenant) (*adminCtx, error) {
	ctx := c.Request().Context()
	m := s.adminSessions
	sess, err := m.CurrentFor(ctx, c.Request(), t.Company.ID)
	if errors.Is(err, session.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admin session: %w", err)
	}
	drop := func() (*adminCtx, error) {
		_ = s.sessions.Delete(ctx, sess.ID)
		m.ExpireCookie(c.Response())
		return nil, nil
	}
	ac := &adminCtx{t: t, sess: sess}
	switch {
	case sess.AdminID != 0:
		a, err := s.dir.GetAdmin(ctx, t.Company.ID, sess.AdminID)
		if errors.Is(err, directory.ErrNotFound) {
			return drop()
		}
		if err != nil {
			return nil, fmt.Errorf("load admin: %w", err)
		}
		ac.email = a.Email
	case sess.EmployeeID != "":
		e, err := s.dir.GetEmployee(ctx, t.Company.ID, sess.EmployeeID)
		if errors.Is(err, directory.ErrNotFound) {
			return drop()
		}
		if err != nil {
			return nil, fmt.Errorf("load admin employee: %w", err)
		}
		if !e.Active || !e.Visible() || !e.IsAdmin {
			return drop()
		}
		ac.email = firstNonEmpty(e.Email, e.UserName)
	default:
		return drop()
	}
	return ac, nil
}

// requireAdmin lets a request through only with an admin session of the
// URL's company; otherwise it sends the browser to the console's sign-in.
// It also applies the company's automatic certificate retirement, so the
// pages show the trusted set as it is now.
func (s *Console) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := s.tenant(c)
		if err != nil {
			return err
		}
		ac, err := s.currentAdmin(c, t)
		if err != nil {
			return err
		}
		if ac == nil {
			dest := "/c/" + t.Company.Slug + "/admin/login"
			if c.Request().Method == http.MethodGet {
				dest += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			}
			return c.Redirect(http.StatusSeeOther, dest)
		}
		if n, err := s.autoRetireCertificates(c.Request().Context(), t.Company); err != nil {
			s.log.Warn("automatic certificate retirement", "company", t.Company.Slug, "err", err)
		} else if n > 0 {
			s.caches.ForgetCompany(t.Company.Slug)
			if t, err = s.tenant(c); err != nil {
				return err
			}
			ac.t = t
		}
		c.Set(ctxAdmin, ac)
		return next(c)
	}
}

func adminOf(c echo.Context) *adminCtx {
	ac, _ := c.Get(ctxAdmin).(*adminCtx)
	return ac
}

// auditOnly records an event that changes nothing in the directory (a
// session revocation, a sign-in).
func (s *Console) auditOnly(ctx context.Context, companyID int64, actor, action, detail string) {
	if err := s.dir.AppendAudit(ctx, &directory.AuditEntry{CompanyID: companyID, At: s.now(), Actor: actor,
		Action: action, Detail: httpx.Truncate(detail, 1000)}); err != nil {
		s.log.Error("append audit", "action", action, "err", err)
	}
}

// adminView is what every console page template receives.
type adminView struct {
	Title   string
	Nav     string // which menu entry is current
	Company *directory.Company
	Base    string // /c/{slug}/admin
	Actor   string
	CSRF    string
	Banners []certBanner
	Notice  string // the result of the last change
	Error   string // why the last change was refused
	Data    any

	// MetadataWarning: the federation metadata cannot be used ("" = fine).
	MetadataWarning string
}

// notices are the fixed texts a redirect after a change may show (?done=).
var notices = map[string]string{
	"sso":              "SSO settings saved. Every instance uses them within seconds.",
	"cert-added":       "Certificate added. It is trusted next to the others until you retire one.",
	"cert-readded":     "This certificate was already known; it is trusted again.",
	"cert-retired":     "Certificate retired. Sign-ins signed with it are refused from now on.",
	"auto-retire":      "Automatic retirement setting saved.",
	"metadata-off":     "The App Federation Metadata Url is removed. The certificates it brought stay trusted until you retire them.",
	"token-revoked":    "Token revoked. Entra's provisioning with it now fails with 401.",
	"secret-removed":   "Client secret removed, with the access tokens Entra obtained with it.",
	"client-removed":   "SCIM client removed, with its secrets and access tokens: Entra's provisioning with it now fails.",
	"identity":         "Sign-in name and email saved.",
	"roles":            "Roles and approval settings saved.",
	"department-added": "Department approver added.",
	"department-gone":  "Department approver removed.",
	"activated":        "Employee activated.",
	"deactivated":      "Employee deactivated and signed out everywhere.",
	"detached":         "Employee detached from Entra. They are now managed here and sign in only with a local password.",
	"linked":           "Employee linked to the Entra account: they sign in with Microsoft as that account only, and were signed out everywhere.",
	"password":         "Local password set. Tell the employee in person; it is not shown again.",
	"sessions-revoked": "Sessions revoked: the employee is signed out everywhere.",
	"session-revoked":  "Session revoked.",
	"app-added":        "App registered. It can sign in with its client id and these redirect URIs.",
	"app-removed":      "App removed. Its tokens stop working within seconds.",
}

// adminPage renders a console page inside the frame.
func (s *Console) adminPage(c echo.Context, status int, tmpl, title, nav string, data any, errMsg string) error {
	ac := adminOf(c)
	v := &adminView{Title: title, Nav: nav, Company: ac.t.Company, Base: ac.base(), Actor: ac.email, CSRF: httpx.CSRFToken(c),
		Banners: certBanners(ac.t.Certs, s.now()), MetadataWarning: metadataWarning(ac.t.Company), Notice: notices[c.QueryParam("done")], Error: errMsg, Data: data}
	return s.render(c, status, tmpl, v)
}

// settingsDone finishes a change to the company's settings made from a
// console page: a refusal of the service (a *usererr.Error) is shown on
// that page again (page, with status refused); another error is a failure
// (what failed); success drops the company from web's settings cache and
// redirects to path under the console with the notice of code.
func (s *Console) settingsDone(c echo.Context, err error, what string, page func(c echo.Context, status int, errMsg string) error,
	refused int, path, code string) error {
	if ue, ok := usererr.As(err); ok {
		return page(c, refused, ue.Message())
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ac := adminOf(c)
	s.caches.ForgetCompany(ac.t.Company.Slug)
	return done(c, ac.base()+path, code)
}

// done redirects after a successful change (POST → 303 → GET).
func done(c echo.Context, path, code string) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return c.Redirect(http.StatusSeeOther, path+sep+"done="+url.QueryEscape(code))
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// Time formats used by the console (always UTC, always explicit).
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

// ago says how long ago t was, in the largest whole unit.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

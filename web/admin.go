package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// The setup admin console lives under /c/{company}/admin. This file holds
// its routes, the admin session (a second cookie, KindAdmin, the shorter
// SSOGATE_ADMIN_IDLE lifetime), CSRF protection, the page frame and the
// audit helper. The pages are in admin_*.go.
//
// Every handler behind requireAdmin acts on the company of the URL only and
// only with an admin session of that company: an admin of company A can do
// nothing at company B (Manager.CurrentFor refuses the session, and every
// lookup below is keyed by the company's id).

const (
	// adminAbsolute is the absolute lifetime of an admin session.
	adminAbsolute = 8 * time.Hour
	// csrfField is the hidden form field carrying the CSRF token.
	csrfField = "csrf"
	// csrfCookie is the CSRF cookie's base name ("__Host-" on https).
	csrfCookie = "ssogate_csrf"
	ctxAdmin   = "ssogate.admin"
	ctxCSRF    = "csrf"
)

// adminCtx is the signed-in admin of one request.
type adminCtx struct {
	t     *tenant
	sess  *session.Session
	email string // what the audit log shows after "admin:"
}

func (a *adminCtx) actor() string { return "admin:" + a.email }

// who is the admin as the service layer names them.
func (a *adminCtx) who() admin.Actor {
	return admin.Actor{Name: a.actor(), EmployeeID: a.sess.EmployeeID}
}

func (a *adminCtx) base() string { return "/c/" + a.t.Company.Slug + "/admin" }

func (s *Server) adminRoutes(g *echo.Group) {
	csrf := s.csrfMiddleware()

	// GET /login starts SP-initiated SSO (s.login) unless SSO is off or the
	// user asked for the password form (employees detached from Entra);
	// POST /login is that password sign-in.
	g.GET("/login", s.loginOrPassword, csrf)
	g.POST("/login", s.passwordLogin, csrf)

	a := g.Group("/admin", csrf)
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

// csrfMiddleware protects every form of the console and of the password
// sign-in: a random token in a SameSite=Strict, HttpOnly cookie that the
// form must echo in its hidden "csrf" field. Browsers that send
// Sec-Fetch-Site are checked by it first (same-origin only for writes).
// It is never applied to the ACS, SCIM or the OAuth token endpoint: none of
// them is registered in this file.
func (s *Server) csrfMiddleware() echo.MiddlewareFunc {
	secure := s.cfg.Secure()
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + csrfField,
		ContextKey:     ctxCSRF,
		CookieName:     session.CookieName(csrfCookie, secure),
		CookiePath:     "/",
		CookieSecure:   secure,
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteStrictMode,
		CookieMaxAge:   int(adminAbsolute / time.Second),
		ErrorHandler: func(err error, c echo.Context) error {
			return refuse(http.StatusForbidden, "csrf", "Form expired",
				"This form has expired or was not sent from this page.",
				"Go back, reload the page and submit the form again.", err)
		},
	})
}

func csrfToken(c echo.Context) string {
	v, _ := c.Get(ctxCSRF).(string)
	return v
}

// adminSessions is the Manager of admin sessions: its own cookie (never
// named like the browser session cookie), KindAdmin so an employee's
// browser session or bearer token is worth nothing here, and the admin idle
// lifetime. Lax, not Strict: the SSO sign-in reaches the console through
// Entra's cross-site POST and its redirects.
func (s *Server) adminSessions() *session.Manager {
	idle := s.cfg.AdminIdle
	abs := adminAbsolute
	if idle > abs {
		abs = idle
	}
	return &session.Manager{
		Store: s.sessions,
		Cookie: session.CookieConfig{Name: session.CookieName(session.AdminCookie, s.cfg.Secure()), Secure: s.cfg.Secure(),
			Path: "/", SameSite: http.SameSiteLaxMode},
		Now: s.now, Idle: idle, Absolute: abs, Kind: session.KindAdmin,
	}
}

// currentAdmin returns the admin of this request, or nil when there is no
// valid admin session for company t. An admin session whose admin was
// removed, or whose employee lost the admin role or was deactivated, is
// deleted on sight.
func (s *Server) currentAdmin(c echo.Context, t *tenant) (*adminCtx, error) {
	ctx := c.Request().Context()
	m := s.adminSessions()
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
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := s.tenantOf(c)
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
			s.companies.Invalidate(t.Company.Slug)
			if t, err = s.tenantOf(c); err != nil {
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

// change runs fn and the audit entry for it in one transaction: a change
// is kept only together with its audit entry.
func (s *Server) change(ctx context.Context, ac *adminCtx, action, detail string, fn func(tx directory.Store) error) error {
	return s.dir.InTx(ctx, func(tx directory.Store) error {
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: ac.t.Company.ID, At: s.now(), Actor: ac.actor(),
			Action: action, Detail: truncate(detail, 1000)})
	})
}

// auditOnly records an event that changes nothing in the directory (a
// session revocation, a sign-in).
func (s *Server) auditOnly(ctx context.Context, companyID int64, actor, action, detail string) {
	if err := s.dir.AppendAudit(ctx, &directory.AuditEntry{CompanyID: companyID, At: s.now(), Actor: actor,
		Action: action, Detail: truncate(detail, 1000)}); err != nil {
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
func (s *Server) adminPage(c echo.Context, status int, tmpl, title, nav string, data any, errMsg string) error {
	ac := adminOf(c)
	v := &adminView{Title: title, Nav: nav, Company: ac.t.Company, Base: ac.base(), Actor: ac.email, CSRF: csrfToken(c),
		Banners: certBanners(ac.t.Certs, s.now()), MetadataWarning: metadataWarning(ac.t.Company), Notice: notices[c.QueryParam("done")], Error: errMsg, Data: data}
	return s.render(c, status, tmpl, v)
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

package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Sign-in to the console.
//
// Setup admins sign in either with SSO (an active employee with the admin
// role, after a fresh SAML login) or with the break-glass local password
// made by `ssogate admin create`, which keeps working when SSO is off or
// its certificate is broken. Password attempts are counted and throttled
// before any hash runs (Options.Passwords: web's throttle, shared with the
// employees' password form), and the hashes themselves are bounded
// (SSOGATE_PASSWORD_CONCURRENCY): beyond the bound an attempt is answered
// 503 at once.

const (
	// ssoFreshness: the SAML login an admin session is made from must be at
	// most this old, so an employee's day-old browser session cannot open
	// the console.
	ssoFreshness = 5 * time.Minute
)

// adminLoginView is the console's sign-in page.
type adminLoginView struct {
	Company *directory.Company
	CSRF    string
	Next    string
	Email   string
	Error   string
	Notice  string
	SSO     bool   // SSO sign-in is possible
	SSONote string // why not, when not
}

func (s *Console) adminLoginView(c echo.Context, t *Tenant) *adminLoginView {
	v := &adminLoginView{Company: t.Company, CSRF: httpx.CSRFToken(c), Next: s.adminNext(c.FormValue("next"), t.Company.Slug)}
	switch {
	case !t.Company.SSOEnabled:
		v.SSONote = "Single sign-on is switched off for this company: use your local admin password."
	case !t.SSOReady:
		v.SSONote = "Single sign-on is not set up yet (no trusted certificate): use your local admin password."
	default:
		v.SSO = true
	}
	if c.QueryParam("done") == "signed-out" {
		v.Notice = "You are signed out of the admin console."
	}
	return v
}

// adminLoginPage: GET /c/{company}/admin/login. An admin who is already
// signed in goes straight to the console.
func (s *Console) adminLoginPage(c echo.Context) error {
	t, err := s.tenant(c)
	if err != nil {
		return err
	}
	if ac, err := s.currentAdmin(c, t); err == nil && ac != nil {
		return c.Redirect(http.StatusSeeOther, s.adminNext(c.QueryParam("next"), t.Company.Slug))
	}
	return s.render(c, http.StatusOK, "admin_login.html", s.adminLoginView(c, t))
}

// adminPasswordLogin: POST /c/{company}/admin/login (break-glass).
func (s *Console) adminPasswordLogin(c echo.Context) error {
	t, err := s.tenant(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := s.adminLoginView(c, t)
	email := strings.TrimSpace(c.FormValue("email"))
	pw := c.FormValue("password")
	v.Email = email
	if email == "" || pw == "" || len(email) > 320 || len(pw) > password.MaxLength {
		v.Error = "Enter your admin email and password."
		return s.render(c, http.StatusBadRequest, "admin_login.html", v)
	}
	thr := s.passwords.AdminAttempt(t.Company.ID, email, c.RealIP())
	wait, err := thr.Admit(ctx)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.log.Warn("admin sign-in throttled", "company", t.Company.Slug, "ip", c.RealIP())
		httpx.SetRetryAfter(c.Response(), wait)
		v.Error = httpx.LockedMessage(wait)
		return s.render(c, http.StatusTooManyRequests, "admin_login.html", v)
	}
	a, err := s.dir.GetAdminByEmail(ctx, t.Company.ID, email)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("load admin: %w", err)
	}
	hash := password.Dummy()
	if a != nil {
		hash = a.PasswordHash
	}
	verr := s.passwords.Verify(hash, pw)
	if errors.Is(verr, password.ErrBusy) {
		httpx.SetRetryAfter(c.Response(), httpx.BusyRetry)
		v.Error = httpx.BusyMessage
		return s.render(c, httpx.BusyStatus, "admin_login.html", v)
	}
	if a == nil || verr != nil {
		if verr != nil && !errors.Is(verr, password.ErrMismatch) {
			s.log.Error("admin password hash unreadable", "company", t.Company.Slug, "err", verr)
		}
		s.log.Info("admin sign-in failed", "company", t.Company.Slug, "ip", c.RealIP(), "known_account", a != nil)
		v.Error = "The email or password is wrong."
		return s.render(c, http.StatusUnauthorized, "admin_login.html", v)
	}
	if err := thr.Succeeded(ctx); err != nil {
		s.log.Warn("admin sign-in: reset throttle", "company", t.Company.Slug, "err", err)
	}
	if _, err := s.adminSessions.Login(ctx, c.Response(), c.Request(), &session.Session{
		CompanyID: t.Company.ID, Company: t.Company.Slug, AdminID: a.ID, Via: "password",
		UserAgent: httpx.Truncate(c.Request().UserAgent(), 200), RemoteIP: c.RealIP(),
	}); err != nil {
		return fmt.Errorf("create admin session: %w", err)
	}
	s.auditOnly(ctx, t.Company.ID, "admin:"+a.Email, "admin.signin", "via=password ip="+c.RealIP())
	return c.Redirect(http.StatusSeeOther, v.Next)
}

// adminSSOLogin: GET /c/{company}/admin/login/sso. Without a fresh SAML
// session it starts one (SP-initiated, returning here); with one, it makes
// an admin session when the employee has the admin role.
func (s *Console) adminSSOLogin(c echo.Context) error {
	t, err := s.tenant(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := s.adminLoginView(c, t)
	if !v.SSO {
		v.Error = v.SSONote
		return s.render(c, http.StatusConflict, "admin_login.html", v)
	}
	slug := t.Company.Slug
	sess, err := s.browser.CurrentFor(ctx, c.Request(), t.Company.ID)
	if err != nil && !errors.Is(err, session.ErrNotFound) {
		return fmt.Errorf("browser session: %w", err)
	}
	fresh := err == nil && strings.HasPrefix(sess.Via, "saml:") && sess.EmployeeID != "" &&
		s.now().Sub(sess.CreatedAt) <= ssoFreshness
	if !fresh {
		if c.QueryParam("attempt") != "" {
			// Back from Entra without a usable session (cookies blocked?).
			v.Error = "Signing in with Microsoft did not complete. Allow cookies for this site and try again, or use your local admin password."
			return s.render(c, http.StatusUnauthorized, "admin_login.html", v)
		}
		return s.login(c, t.Company, "/c/"+slug+"/admin/login/sso?attempt=1")
	}
	e, err := s.dir.GetEmployee(ctx, t.Company.ID, sess.EmployeeID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("load employee: %w", err)
	}
	if e == nil || !e.Active || !e.Visible() || !e.IsAdmin {
		who := "This account"
		if e != nil {
			who = e.UserName
		}
		return httpx.Refuse(http.StatusForbidden, "not_admin", "Not a setup admin",
			who+" is signed in, but is not a setup admin of "+t.Company.Name+".",
			"Ask a setup admin to give you the admin role (Employees → your name → Roles), or sign in with a local admin password.", nil)
	}
	if _, err := s.adminSessions.Login(ctx, c.Response(), c.Request(), &session.Session{
		CompanyID: t.Company.ID, Company: slug, EmployeeID: e.ID, Via: "sso", CertSHA256: sess.CertSHA256,
		UserAgent: httpx.Truncate(c.Request().UserAgent(), 200), RemoteIP: c.RealIP(),
	}); err != nil {
		return fmt.Errorf("create admin session: %w", err)
	}
	s.auditOnly(ctx, t.Company.ID, "admin:"+firstNonEmpty(e.Email, e.UserName), "admin.signin", "via=sso ip="+c.RealIP())
	return c.Redirect(http.StatusSeeOther, "/c/"+slug+"/admin/")
}

// adminLogout: POST /c/{company}/admin/logout.
func (s *Console) adminLogout(c echo.Context) error {
	t, err := s.tenant(c)
	if err != nil {
		return err
	}
	if err := s.adminSessions.Logout(c.Request().Context(), c.Response(), c.Request()); err != nil {
		return fmt.Errorf("admin logout: %w", err)
	}
	return c.Redirect(http.StatusSeeOther, "/c/"+t.Company.Slug+"/admin/login?done=signed-out")
}

// adminNext returns a safe console path to land on after sign-in.
func (s *Console) adminNext(raw, slug string) string {
	return httpx.Target(s.public, raw, "/c/"+slug+"/admin/")
}

package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// Sign-in to the console, and the local password sign-in of employees
// detached from Entra.
//
// Setup admins sign in either with SSO (an active employee with the admin
// role, after a fresh SAML login) or with the break-glass local password
// made by `ssogate admin create`, which keeps working when SSO is off or
// its certificate is broken. Password attempts are counted and throttled
// before any hash runs (throttle.go), and the hashes themselves are bounded
// (SSOGATE_PASSWORD_CONCURRENCY): beyond the bound an attempt is answered
// 503 at once.

const (
	// ssoFreshness: the SAML login an admin session is made from must be at
	// most this old, so an employee's day-old browser session cannot open
	// the console.
	ssoFreshness = 5 * time.Minute
)

// dummyHash is verified against when the account does not exist, so a
// wrong email costs the same time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := password.Hash(session.NewSecret())
	if err != nil {
		panic("web: hash dummy password: " + err.Error())
	}
	return h
})

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

func (s *Server) adminLoginView(c echo.Context, t *tenant) *adminLoginView {
	v := &adminLoginView{Company: t.Company, CSRF: csrfToken(c), Next: s.adminNext(c.FormValue("next"), t.Company.Slug)}
	switch {
	case !t.Company.SSOEnabled:
		v.SSONote = "Single sign-on is switched off for this company: use your local admin password."
	case t.SP == nil:
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
func (s *Server) adminLoginPage(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	if ac, err := s.currentAdmin(c, t); err == nil && ac != nil {
		return c.Redirect(http.StatusSeeOther, s.adminNext(c.QueryParam("next"), t.Company.Slug))
	}
	return s.render(c, http.StatusOK, "admin_login.html", s.adminLoginView(c, t))
}

// adminPasswordLogin: POST /c/{company}/admin/login (break-glass).
func (s *Server) adminPasswordLogin(c echo.Context) error {
	t, err := s.tenantOf(c)
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
	thr := s.loginThrottle("admin", t.Company.ID, c.RealIP())
	wait, err := thr.admitAddress(ctx)
	if err == nil && wait == 0 {
		wait, err = thr.admitAccount(ctx, nameAccount(email))
	}
	if err != nil {
		return err
	}
	if wait > 0 {
		s.log.Warn("admin sign-in throttled", "company", t.Company.Slug, "ip", c.RealIP())
		setRetryAfter(c, wait)
		v.Error = lockedMessage(wait)
		return s.render(c, http.StatusTooManyRequests, "admin_login.html", v)
	}
	a, err := s.dir.GetAdminByEmail(ctx, t.Company.ID, email)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("load admin: %w", err)
	}
	hash := dummyHash()
	if a != nil {
		hash = a.PasswordHash
	}
	verr := s.verifyPassword(hash, pw)
	if errors.Is(verr, password.ErrBusy) {
		setRetryAfter(c, busyRetry)
		v.Error = errBusy
		return s.render(c, busyStatus, "admin_login.html", v)
	}
	if a == nil || verr != nil {
		if verr != nil && !errors.Is(verr, password.ErrMismatch) {
			s.log.Error("admin password hash unreadable", "company", t.Company.Slug, "err", verr)
		}
		s.log.Info("admin sign-in failed", "company", t.Company.Slug, "ip", c.RealIP(), "known_account", a != nil)
		v.Error = "The email or password is wrong."
		return s.render(c, http.StatusUnauthorized, "admin_login.html", v)
	}
	if err := thr.succeeded(ctx); err != nil {
		s.log.Warn("admin sign-in: reset throttle", "company", t.Company.Slug, "err", err)
	}
	if _, err := s.adminSessions().Login(ctx, c.Response(), c.Request(), &session.Session{
		CompanyID: t.Company.ID, Company: t.Company.Slug, AdminID: a.ID, Via: "password",
		UserAgent: truncate(c.Request().UserAgent(), 200), RemoteIP: c.RealIP(),
	}); err != nil {
		return fmt.Errorf("create admin session: %w", err)
	}
	s.auditOnly(ctx, t.Company.ID, "admin:"+a.Email, "admin.signin", "via=password ip="+c.RealIP())
	return c.Redirect(http.StatusSeeOther, v.Next)
}

// adminSSOLogin: GET /c/{company}/admin/login/sso. Without a fresh SAML
// session it starts one (SP-initiated, returning here); with one, it makes
// an admin session when the employee has the admin role.
func (s *Server) adminSSOLogin(c echo.Context) error {
	t, err := s.tenantOf(c)
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
		back := "/c/" + slug + "/admin/login/sso?attempt=1"
		return c.Redirect(http.StatusFound, "/c/"+slug+"/login?return_to="+url.QueryEscape(back))
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
		return refuse(http.StatusForbidden, "not_admin", "Not a setup admin",
			who+" is signed in, but is not a setup admin of "+t.Company.Name+".",
			"Ask a setup admin to give you the admin role (Employees → your name → Roles), or sign in with a local admin password.", nil)
	}
	if _, err := s.adminSessions().Login(ctx, c.Response(), c.Request(), &session.Session{
		CompanyID: t.Company.ID, Company: slug, EmployeeID: e.ID, Via: "sso", CertSHA256: sess.CertSHA256,
		UserAgent: truncate(c.Request().UserAgent(), 200), RemoteIP: c.RealIP(),
	}); err != nil {
		return fmt.Errorf("create admin session: %w", err)
	}
	s.auditOnly(ctx, t.Company.ID, "admin:"+firstNonEmpty(e.Email, e.UserName), "admin.signin", "via=sso ip="+c.RealIP())
	return c.Redirect(http.StatusSeeOther, "/c/"+slug+"/admin/")
}

// adminLogout: POST /c/{company}/admin/logout.
func (s *Server) adminLogout(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	if err := s.adminSessions().Logout(c.Request().Context(), c.Response(), c.Request()); err != nil {
		return fmt.Errorf("admin logout: %w", err)
	}
	return c.Redirect(http.StatusSeeOther, "/c/"+t.Company.Slug+"/admin/login?done=signed-out")
}

// localLoginView is the employees' password sign-in page.
type localLoginView struct {
	Company  *directory.Company
	CSRF     string
	ReturnTo string
	UserName string
	Error    string
	SSO      bool // SSO is on: offer it instead
}

// loginOrPassword: GET /c/{company}/login. With SSO on (and no
// ?method=password) it is the SP-initiated login of saml.go, unchanged.
// Otherwise it shows the password form for employees an admin detached
// from Entra and gave a local password.
func (s *Server) loginOrPassword(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	if t.Company.SSOEnabled && c.QueryParam("method") != "password" {
		return s.login(c)
	}
	return s.render(c, http.StatusOK, "admin_local_login.html", &localLoginView{Company: t.Company, CSRF: csrfToken(c),
		ReturnTo: s.safeTarget(c.QueryParam("return_to"), t.Company.Slug), SSO: t.Company.SSOEnabled})
}

// localLoginAllowed: only employees detached from Entra sign in with a
// password; everyone Entra manages signs in through Entra (its MFA and
// conditional access apply).
func localLoginAllowed(e *directory.Employee) bool {
	return e != nil && e.Visible() && e.Active && !e.EntraLinked && e.Source == directory.SourceLocal
}

// passwordLogin: POST /c/{company}/login.
func (s *Server) passwordLogin(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	co := t.Company
	name := strings.TrimSpace(c.FormValue("username"))
	pw := c.FormValue("password")
	v := &localLoginView{Company: co, CSRF: csrfToken(c), ReturnTo: s.safeTarget(c.FormValue("return_to"), co.Slug),
		UserName: name, SSO: co.SSOEnabled}
	if name == "" || pw == "" || len(name) > 320 || len(pw) > password.MaxLength {
		v.Error = "Enter your sign-in name (or work email) and your password."
		return s.render(c, http.StatusBadRequest, "admin_local_login.html", v)
	}
	ip := c.RealIP()
	// The address is counted before the employee is looked up, the
	// account (the employee the name resolves to, whichever name was
	// typed) before the password is checked.
	thr := s.loginThrottle("employee", co.ID, ip)
	wait, err := thr.admitAddress(ctx)
	if err != nil {
		return err
	}
	var e *directory.Employee
	if wait == 0 {
		e, err = s.dir.FindEmployeeByUserName(ctx, co.ID, name)
		if errors.Is(err, directory.ErrNotFound) {
			e, err = s.dir.FindEmployeeByEmail(ctx, co.ID, name)
		}
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return fmt.Errorf("find employee: %w", err)
		}
		account := nameAccount(name)
		if e != nil {
			account = employeeAccount(e.ID)
		}
		if wait, err = thr.admitAccount(ctx, account); err != nil {
			return err
		}
	}
	if wait > 0 {
		s.recordFailure(ctx, co, "local_password", "password sign-in throttled after repeated failures", name, ip)
		setRetryAfter(c, wait)
		v.Error = lockedMessage(wait)
		return s.render(c, http.StatusTooManyRequests, "admin_local_login.html", v)
	}
	hash, why := "", ""
	switch {
	case e == nil:
		why = "no employee has this sign-in name or email"
	case !localLoginAllowed(e):
		why = fmt.Sprintf("employee %s (%s) may not use a local password: it is inactive or managed by Entra (detach it first)", e.ID, e.UserName)
	default:
		hash, err = s.dir.GetEmployeePassword(ctx, co.ID, e.ID)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return fmt.Errorf("load password: %w", err)
		}
		if hash == "" {
			why = fmt.Sprintf("employee %s (%s) has no local password: set one on the employee's page", e.ID, e.UserName)
		}
	}
	verr := s.verifyPassword(firstNonEmpty(hash, dummyHash()), pw)
	if errors.Is(verr, password.ErrBusy) {
		setRetryAfter(c, busyRetry)
		v.Error = errBusy
		return s.render(c, busyStatus, "admin_local_login.html", v)
	}
	if why == "" && verr != nil {
		why = fmt.Sprintf("wrong password for employee %s (%s)", e.ID, e.UserName)
	}
	if why != "" {
		s.recordFailure(ctx, co, "local_password", why, name, ip)
		s.metrics.logins.WithLabelValues("refused", "local_password").Inc()
		v.Error = "The sign-in name or password is wrong, or you have no local password. Ask your administrator."
		return s.render(c, http.StatusUnauthorized, "admin_local_login.html", v)
	}
	if err := thr.succeeded(ctx); err != nil {
		s.log.Warn("password sign-in: reset throttle", "company", co.Slug, "err", err)
	}
	s.destroyBoundSession(c)
	sess, err := s.browser.Login(ctx, c.Response(), c.Request(), &session.Session{
		Kind: session.KindBrowser, CompanyID: co.ID, Company: co.Slug, EmployeeID: e.ID, Via: "password",
		UserAgent: truncate(c.Request().UserAgent(), 200), RemoteIP: ip,
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	s.setBindCookie(c, sess.ID, sess.ExpiresAt)
	if err := s.logins.record(ctx, &directory.SignInEvent{CompanyID: co.ID, At: s.now(), Success: true, Reason: "ok",
		Detail: "password", NameID: truncate(name, 256), EmployeeID: e.ID, RemoteIP: ip}); err != nil {
		s.log.Warn("record sign-in", "company", co.Slug, "err", err)
	}
	s.metrics.logins.WithLabelValues("success", "password").Inc()
	s.log.Info("signed in", "company", co.Slug, "employee", e.ID, "via", "password")
	return c.Redirect(http.StatusSeeOther, v.ReturnTo)
}

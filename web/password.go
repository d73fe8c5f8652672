package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/console"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// The local password sign-in of employees detached from Entra, at
// /c/{company}/login: it makes a browser session like the SAML login, so it
// is web's (the console's own sign-in is web/console's). Attempts are
// counted and throttled before any hash runs (throttle.go), and the hashes
// themselves are bounded (SSOGATE_PASSWORD_CONCURRENCY): beyond the bound
// an attempt is answered 503 at once.

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
	return s.render(c, http.StatusOK, "password_login.html", &localLoginView{Company: t.Company, CSRF: httpx.CSRFToken(c),
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
	v := &localLoginView{Company: co, CSRF: httpx.CSRFToken(c), ReturnTo: s.safeTarget(c.FormValue("return_to"), co.Slug),
		UserName: name, SSO: co.SSOEnabled}
	if name == "" || pw == "" || len(name) > 320 || len(pw) > password.MaxLength {
		v.Error = "Enter your sign-in name (or work email) and your password."
		return s.render(c, http.StatusBadRequest, "password_login.html", v)
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
		httpx.SetRetryAfter(c.Response(), wait)
		v.Error = httpx.LockedMessage(wait)
		return s.render(c, http.StatusTooManyRequests, "password_login.html", v)
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
	if hash == "" {
		hash = password.Dummy()
	}
	verr := s.verifyPassword(hash, pw)
	if errors.Is(verr, password.ErrBusy) {
		httpx.SetRetryAfter(c.Response(), httpx.BusyRetry)
		v.Error = httpx.BusyMessage
		return s.render(c, httpx.BusyStatus, "password_login.html", v)
	}
	if why == "" && verr != nil {
		why = fmt.Sprintf("wrong password for employee %s (%s)", e.ID, e.UserName)
	}
	if why != "" {
		s.recordFailure(ctx, co, "local_password", why, name, ip)
		s.metrics.logins.WithLabelValues("refused", "local_password").Inc()
		v.Error = "The sign-in name or password is wrong, or you have no local password. Ask your administrator."
		return s.render(c, http.StatusUnauthorized, "password_login.html", v)
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

// consolePasswords hands the console the throttle and the bounded password
// checks the employees' form uses, so both sign-ins share one budget of
// hashes and one metric.
type consolePasswords struct{ s *Server }

func (p consolePasswords) AdminAttempt(companyID int64, email, ip string) console.Attempt {
	return adminAttempt{p.s.loginThrottle("admin", companyID, ip), email}
}

func (p consolePasswords) Verify(encoded, pw string) error { return p.s.verifyPassword(encoded, pw) }

func (p consolePasswords) Hash(pw string) (string, error) { return p.s.hashPassword(pw) }

// adminAttempt is a console sign-in attempt's throttle: the address, then
// the account of the typed email.
type adminAttempt struct {
	t     *loginThrottle
	email string
}

func (a adminAttempt) Admit(ctx context.Context) (time.Duration, error) {
	wait, err := a.t.admitAddress(ctx)
	if err == nil && wait == 0 {
		wait, err = a.t.admitAccount(ctx, nameAccount(a.email))
	}
	return wait, err
}

func (a adminAttempt) Succeeded(ctx context.Context) error { return a.t.succeeded(ctx) }

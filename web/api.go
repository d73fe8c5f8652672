package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/cache"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// principal is who a request acts for.
type principal struct {
	Session  *session.Session
	Employee *directory.Employee
}

var errNoPrincipal = errors.New("no valid session or token")

// authenticate returns the employee behind the request: a bearer token
// (mobile) when an Authorization header is present, else the browser
// session cookie. Both must belong to company t and to an active,
// not-deleted employee.
func (s *Server) authenticate(c echo.Context, t *tenant) (*principal, error) {
	return s.authenticateRequest(c.Request(), t, false)
}

// isBearer reports whether an Authorization header value uses the Bearer
// scheme (case-insensitive, RFC 9110 §11.1).
func isBearer(h string) bool {
	return len(h) >= 6 && strings.EqualFold(h[:6], "bearer") && (len(h) == 6 || h[6] == ' ')
}

// authenticateRequest is authenticate for any request that carries the
// client's credentials (the proxied request, or the one a forward-auth
// proxy asks about). With otherSchemes, an Authorization header of another
// scheme than Bearer (the product's own Basic auth, say) is left to the
// product and the cookie decides; a Bearer header is always ours to check.
func (s *Server) authenticateRequest(req *http.Request, t *tenant, otherSchemes bool) (*principal, error) {
	ctx := req.Context()
	var sess *session.Session
	var err error
	if h := req.Header.Get("Authorization"); h != "" && (!otherSchemes || isBearer(h)) {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" || len(tok) > 200 {
			return nil, errNoPrincipal
		}
		sess, err = s.sessions.Get(ctx, session.Key(strings.TrimSpace(tok)))
		if err == nil && sess.Kind != session.KindBearer {
			return nil, errNoPrincipal
		}
	} else {
		sess, err = s.browser.Current(ctx, req)
		if err == nil && sess.Kind != session.KindBrowser {
			return nil, errNoPrincipal
		}
	}
	if errors.Is(err, session.ErrNotFound) {
		return nil, errNoPrincipal
	}
	if err != nil {
		return nil, fmt.Errorf("session lookup: %w", err)
	}
	if sess.CompanyID != t.Company.ID || sess.EmployeeID == "" {
		return nil, errNoPrincipal
	}
	if sess.Kind == session.KindBearer && sess.ClientID != "" {
		ok, err := s.clientRegistered(ctx, t.Company.ID, sess.ClientID)
		if err != nil {
			return nil, fmt.Errorf("oauth client lookup: %w", err)
		}
		if !ok { // the app was removed: its tokens end with it
			_ = s.sessions.Delete(ctx, sess.ID)
			return nil, errNoPrincipal
		}
	}
	e, err := s.cachedEmployee(ctx, t.Company.ID, sess.EmployeeID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, errNoPrincipal
	}
	if err != nil {
		return nil, fmt.Errorf("load employee: %w", err)
	}
	if !e.Active || !e.Visible() {
		// Revocation normally removed the session already; refuse anyway.
		_ = s.sessions.Delete(ctx, sess.ID)
		return nil, errNoPrincipal
	}
	return &principal{Session: sess, Employee: e}, nil
}

func unauthorized(cause error) *errorPage {
	return refuse(http.StatusUnauthorized, "unauthorized", "Not signed in",
		"A valid session cookie or bearer token is required.", "", cause)
}

// home is the company's start page.
func (s *Server) home(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	p, err := s.authenticate(c, t)
	if errors.Is(err, errNoPrincipal) {
		return c.Redirect(http.StatusFound, "/c/"+t.Company.Slug+"/login?return_to=/c/"+t.Company.Slug+"/")
	}
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "home.html", map[string]any{"Company": t.Company, "Employee": p.Employee})
}

// logout ends the browser session at once, then (Single Logout) sends the
// browser on to Entra when the company uses it. A cross-site POST (another
// site's form or script) is refused before anything is touched: signing a
// victim out is a nuisance and a step in login-CSRF chains.
func (s *Server) logout(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	if err := s.sameOrigin.Check(c.Request()); err != nil {
		return refuse(http.StatusForbidden, "cross_site", "Sign-out refused",
			"The sign-out request came from another site.", "Use the Sign out button of the app itself.", err)
	}
	ctx := c.Request().Context()
	// The session is read before it ends: a Single Logout needs its
	// subject. A store error only means no Single Logout.
	sess, _ := s.browser.CurrentFor(ctx, c.Request(), t.Company.ID)
	if err := s.browser.Logout(ctx, c.Response(), c.Request()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.clearBindCookie(c)
	if to := s.startSingleLogout(ctx, t, sess); to != "" {
		return c.Redirect(http.StatusSeeOther, to)
	}
	return c.Redirect(http.StatusSeeOther, "/c/"+t.Company.Slug+"/signed-out")
}

func (s *Server) signedOut(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "signedout.html", t.Company)
}

// employeeView is the JSON form of an employee for /api.
type employeeView struct {
	ID               string `json:"id"`
	Company          string `json:"company"`
	UserName         string `json:"userName"`
	Email            string `json:"email"`
	GivenName        string `json:"givenName"`
	FamilyName       string `json:"familyName"`
	DisplayName      string `json:"displayName,omitempty"`
	Title            string `json:"title,omitempty"`
	Department       string `json:"department,omitempty"`
	ManagerID        string `json:"managerId,omitempty"`
	Country          string `json:"country,omitempty"`
	Active           bool   `json:"active"`
	IsApprover       bool   `json:"isApprover"`
	IsAdmin          bool   `json:"isAdmin"`
	TerminationDate  string `json:"terminationDate,omitempty"`
	EmployeeNumber   string `json:"employeeNumber,omitempty"`
	DateOfEmployment string `json:"dateOfEmployment,omitempty"`
}

func viewOf(slug string, e *directory.Employee) employeeView {
	return employeeView{ID: e.ID, Company: slug, UserName: e.UserName, Email: e.Email, GivenName: e.GivenName,
		FamilyName: e.FamilyName, DisplayName: e.DisplayName, Title: e.Title, Department: e.Department,
		ManagerID: e.ManagerID, Country: e.Country, Active: e.Active, IsApprover: e.IsApprover, IsAdmin: e.IsAdmin,
		TerminationDate: e.TerminationDate, EmployeeNumber: e.EmployeeNumber, DateOfEmployment: e.DateOfEmployment}
}

// me answers the signed-in employee as JSON.
func (s *Server) me(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	p, err := s.authenticate(c, t)
	if errors.Is(err, errNoPrincipal) {
		if c.Request().Header.Get("Authorization") != "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		return unauthorized(err)
	}
	if err != nil {
		return err
	}
	body, err := s.views.render(t.Company.Slug, p.Employee, s.cfg.SettingsTTL > 0)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

// viewCache keeps the JSON of /api/me per cached employee record. The
// employee cache hands out the same immutable *Employee until its entry is
// read again, so the same pointer means the same answer; a new record (a
// change, or the cache's next read) is rendered anew.
type viewCache struct {
	once sync.Once
	c    *cache.Cache[viewEntry]
}

type viewEntry struct {
	emp  *directory.Employee
	slug string
	body []byte
}

// render returns e's view as JSON, from the cache when keep (the employee
// cache is on, so records are shared and immutable).
func (vc *viewCache) render(slug string, e *directory.Employee, keep bool) ([]byte, error) {
	k := slug + "/" + e.ID
	if keep {
		vc.once.Do(func() { vc.c = cache.New[viewEntry](cacheSize, time.Duration(math.MaxInt64), nil) })
		if v, ok := vc.c.Peek(k); ok && v.emp == e && v.slug == slug {
			return v.body, nil
		}
	}
	body, err := json.Marshal(viewOf(slug, e))
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	if keep {
		vc.c.Put(k, viewEntry{emp: e, slug: slug, body: body})
	}
	return body, nil
}

// scimHandler hands /c/{company}/scim/v2/... to the SCIM handler.
func (s *Server) scimHandler(c echo.Context) error {
	slug := c.Param("company")
	var co *directory.Company
	if directory.ValidSlug(slug) {
		t, err := s.companies.get(c.Request().Context(), slug)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		if t != nil {
			co = t.Company
		}
	}
	if co == nil {
		return c.Blob(http.StatusNotFound, "application/scim+json; charset=utf-8", []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"unknown company in the Tenant URL: check the URL pasted into Entra"}`))
	}
	base := "/c/" + slug + "/scim/v2"
	sub := strings.TrimPrefix(c.Request().URL.Path, base)
	s.scim.ServeCompany(c.Response(), c.Request(), co, sub, s.cfg.PublicURL+base)
	s.metrics.scim.WithLabelValues(scimMethod(c.Request().Method), strconv.Itoa(c.Response().Status)).Inc()
	if c.Response().Status == http.StatusServiceUnavailable { // logged by the SCIM handler
		s.metrics.unavailable.WithLabelValues("database", "scim").Inc()
	}
	return nil
}

// scimMethod bounds the method label to the ones SCIM uses.
func scimMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return "other"
}

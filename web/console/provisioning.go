package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Provisioning page: SCIM tokens (minted, rotated, revoked; each shown
// once, stored hashed) and the provisioning log.

type tokenRow struct {
	ID                       int64
	Label                    string
	Created, LastUsed        string
	Revoked                  string
	Active                   bool
	LastUsedAgo, CreatedDate string
}

type provLogRow struct {
	At, Operation, EmployeeID, UserName, Outcome, Change string
	Status                                               int
	OK                                                   bool
}

type provisioningView struct {
	TenantURL     string
	TokenEndpoint string
	Clients       []scimClientRow
	Tokens        []tokenRow
	Active        int
	Log           []provLogRow
	Employee      string // filter as typed
	Outcome       string // "", "ok", "error"
	Filtered      bool
}

func (s *Console) provisioningViewOf(c echo.Context) (*provisioningView, error) {
	ac := adminOf(c)
	ctx := c.Request().Context()
	co := ac.t.Company
	v := &provisioningView{TenantURL: s.companyURL(co.Slug, "/scim/v2"), TokenEndpoint: s.companyURL(co.Slug, "/scim/oauth/token")}
	var err error
	if v.Clients, err = s.scimClientRows(c); err != nil {
		return nil, err
	}
	toks, err := s.dir.ListSCIMTokens(ctx, co.ID)
	if err != nil {
		return nil, fmt.Errorf("list SCIM tokens: %w", err)
	}
	now := s.now()
	for _, t := range toks {
		r := tokenRow{ID: t.ID, Label: t.Label, Created: fmtTime(t.CreatedAt), LastUsed: fmtTimePtr(t.LastUsed),
			Revoked: fmtTimePtr(t.RevokedAt), Active: t.RevokedAt == nil}
		if t.LastUsed != nil {
			r.LastUsedAgo = ago(now, *t.LastUsed)
		}
		if r.Active {
			v.Active++
		}
		v.Tokens = append(v.Tokens, r)
	}
	v.Employee = strings.TrimSpace(c.QueryParam("employee"))
	v.Outcome = c.QueryParam("outcome")
	if v.Outcome != "ok" && v.Outcome != "error" {
		v.Outcome = ""
	}
	q := directory.ProvisioningQuery{CompanyID: co.ID, Outcome: v.Outcome, Limit: 200}
	if v.Employee != "" {
		// The filter takes an employee id, sign-in name or email.
		q.EmployeeID = v.Employee
		for _, find := range []func() (*directory.Employee, error){
			func() (*directory.Employee, error) { return s.dir.FindEmployeeByUserName(ctx, co.ID, v.Employee) },
			func() (*directory.Employee, error) { return s.dir.FindEmployeeByEmail(ctx, co.ID, v.Employee) },
		} {
			e, err := find()
			if err == nil {
				q.EmployeeID = e.ID
				break
			}
			if !errors.Is(err, directory.ErrNotFound) {
				return nil, err
			}
		}
	}
	v.Filtered = v.Employee != "" || v.Outcome != ""
	entries, err := s.dir.ListProvisioning(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list provisioning log: %w", err)
	}
	for _, p := range entries {
		v.Log = append(v.Log, provLogRow{At: fmtTime(p.At), Operation: p.Operation, EmployeeID: p.EmployeeID, UserName: p.UserName,
			Outcome: p.Outcome, Change: httpx.Truncate(p.Change, 600), Status: p.Status, OK: p.Outcome == "ok"})
	}
	return v, nil
}

// adminProvisioningPage: GET /admin/provisioning?employee=…&outcome=ok|error.
func (s *Console) adminProvisioningPage(c echo.Context) error {
	v, err := s.provisioningViewOf(c)
	if err != nil {
		return err
	}
	return s.adminPage(c, http.StatusOK, "admin_provisioning.html", "Provisioning", "provisioning", v, "")
}

// tokenView is the page that shows a new token, once.
type tokenView struct {
	Token     string
	ID        int64
	Label     string
	TenantURL string
	Rotated   int64 // the token this one replaced (revoked), 0 = none
}

// adminTokenMint: POST /admin/provisioning/tokens.
func (s *Console) adminTokenMint(c echo.Context) error {
	ac := adminOf(c)
	tok, rec, err := s.admin.MintSCIMToken(c.Request().Context(), ac.who(), ac.t.Company.ID, c.FormValue("label"))
	if err != nil {
		return s.provisioningRefused(c, err, "mint SCIM token")
	}
	return s.adminPage(c, http.StatusOK, "admin_token.html", "New SCIM token", "provisioning",
		&tokenView{Token: tok, ID: rec.ID, Label: rec.Label, TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2")}, "")
}

// provisioningRefused presents a failed operation of the provisioning
// page: an invalid input is shown on the page again (422); another refusal
// of the service (no such token or client) is rendered as such by web's
// error handler; anything else is a failure of what.
func (s *Console) provisioningRefused(c echo.Context, err error, what string) error {
	if ue, ok := usererr.As(err); ok && ue.Kind() == usererr.Invalid {
		return s.provisioningError(c, http.StatusUnprocessableEntity, ue.Message())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// idParam reads the numeric {id} of a token or secret URL; a malformed one
// is 0, which names none.
func idParam(c echo.Context) int64 {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// adminTokenRotate: POST /admin/provisioning/tokens/{id}/rotate mints a
// replacement with the same label and revokes the old token at once.
func (s *Console) adminTokenRotate(c echo.Context) error {
	ac := adminOf(c)
	old := idParam(c)
	tok, rec, err := s.admin.RotateSCIMToken(c.Request().Context(), ac.who(), ac.t.Company.ID, old)
	if err != nil {
		return s.provisioningRefused(c, err, "rotate SCIM token")
	}
	s.caches.ForgetSCIMTokens() // the old token stops here at once; elsewhere within SSOGATE_SETTINGS_TTL
	return s.adminPage(c, http.StatusOK, "admin_token.html", "New SCIM token", "provisioning",
		&tokenView{Token: tok, ID: rec.ID, Label: rec.Label, TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2"), Rotated: old}, "")
}

// adminTokenRevoke: POST /admin/provisioning/tokens/{id}/revoke.
func (s *Console) adminTokenRevoke(c echo.Context) error {
	ac := adminOf(c)
	if err := s.admin.RevokeSCIMToken(c.Request().Context(), ac.who(), ac.t.Company.ID, idParam(c)); err != nil {
		return s.provisioningRefused(c, err, "revoke SCIM token")
	}
	s.caches.ForgetSCIMTokens()
	return done(c, ac.base()+"/provisioning", "token-revoked")
}

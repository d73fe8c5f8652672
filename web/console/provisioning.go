package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/scim"
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
	ctx := c.Request().Context()
	label := strings.TrimSpace(c.FormValue("label"))
	if len(label) > 100 {
		v, err := s.provisioningViewOf(c)
		if err != nil {
			return err
		}
		return s.adminPage(c, http.StatusUnprocessableEntity, "admin_provisioning.html", "Provisioning", "provisioning", v, "The label is too long (100 characters at most).")
	}
	var tok string
	var id int64
	err := s.dir.InTx(ctx, func(tx directory.Store) error {
		var err error
		if tok, id, err = scim.MintToken(ctx, tx, ac.t.Company.ID, label); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: ac.t.Company.ID, At: s.now(), Actor: ac.actor(),
			Action: "scim.token.mint", Detail: fmt.Sprintf("id=%d label=%q", id, label)})
	})
	if err != nil {
		return fmt.Errorf("mint SCIM token: %w", err)
	}
	return s.adminPage(c, http.StatusOK, "admin_token.html", "New SCIM token", "provisioning",
		&tokenView{Token: tok, ID: id, Label: label, TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2")}, "")
}

func (s *Console) tokenOf(c echo.Context) (*directory.SCIMToken, error) {
	ac := adminOf(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err == nil {
		toks, err := s.dir.ListSCIMTokens(c.Request().Context(), ac.t.Company.ID)
		if err != nil {
			return nil, fmt.Errorf("list SCIM tokens: %w", err)
		}
		for i := range toks {
			if toks[i].ID == id && toks[i].RevokedAt == nil {
				return &toks[i], nil
			}
		}
	}
	return nil, httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "This company has no such active SCIM token.", "", nil)
}

// adminTokenRotate: POST /admin/provisioning/tokens/{id}/rotate mints a
// replacement with the same label and revokes the old token at once.
func (s *Console) adminTokenRotate(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	old, err := s.tokenOf(c)
	if err != nil {
		return err
	}
	var tok string
	var id int64
	err = s.dir.InTx(ctx, func(tx directory.Store) error {
		var err error
		if tok, id, err = scim.MintToken(ctx, tx, ac.t.Company.ID, old.Label); err != nil {
			return err
		}
		if err := tx.RevokeSCIMToken(ctx, ac.t.Company.ID, old.ID, s.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: ac.t.Company.ID, At: s.now(), Actor: ac.actor(),
			Action: "scim.token.rotate", Detail: fmt.Sprintf("id=%d replaces id=%d (revoked)", id, old.ID)})
	})
	if err != nil {
		return fmt.Errorf("rotate SCIM token: %w", err)
	}
	s.caches.ForgetSCIMTokens() // the old token stops here at once; elsewhere within SSOGATE_SETTINGS_TTL
	return s.adminPage(c, http.StatusOK, "admin_token.html", "New SCIM token", "provisioning",
		&tokenView{Token: tok, ID: id, Label: old.Label, TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2"), Rotated: old.ID}, "")
}

// adminTokenRevoke: POST /admin/provisioning/tokens/{id}/revoke.
func (s *Console) adminTokenRevoke(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	old, err := s.tokenOf(c)
	if err != nil {
		return err
	}
	if err := s.change(ctx, ac, "scim.token.revoke", fmt.Sprintf("id=%d", old.ID), func(tx directory.Store) error {
		return tx.RevokeSCIMToken(ctx, ac.t.Company.ID, old.ID, s.now())
	}); err != nil {
		return fmt.Errorf("revoke SCIM token: %w", err)
	}
	s.caches.ForgetSCIMTokens()
	return done(c, ac.base()+"/provisioning", "token-revoked")
}

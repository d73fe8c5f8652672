package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/scimcred"
)

// Provisioning page, OAuth 2.0 client credentials: the clients Entra's
// OAuth2 Client Credentials Grant uses (created, given a second secret for
// rotation, removed; each secret shown once, stored hashed).

type scimSecretRow struct {
	ID                         int64
	Created, Expires, LastUsed string
	Expired                    bool
	DaysLeft                   int // set within secretWarnDays of the expiry
}

// secretWarnDays: a secret this close to its expiry is flagged, so the
// admin rotates it before Entra's token requests start failing.
const secretWarnDays = 30

type scimClientRow struct {
	ClientID, Label, Created string
	Secrets                  []scimSecretRow
	Valid                    int
}

// scimClientRows lists the company's clients for the provisioning page.
func (s *Console) scimClientRows(c echo.Context) ([]scimClientRow, error) {
	ac := adminOf(c)
	list, err := s.dir.ListSCIMClients(c.Request().Context(), ac.t.Company.ID)
	if err != nil {
		return nil, fmt.Errorf("list SCIM clients: %w", err)
	}
	now := s.now()
	rows := make([]scimClientRow, 0, len(list))
	for _, cl := range list {
		r := scimClientRow{ClientID: cl.ClientID, Label: cl.Label, Created: fmtTime(cl.CreatedAt)}
		for _, sec := range cl.Secrets {
			sr := scimSecretRow{ID: sec.ID, Created: fmtTime(sec.CreatedAt), Expires: sec.ExpiresAt.UTC().Format("2006-01-02"),
				LastUsed: fmtTimePtr(sec.LastUsed), Expired: !now.Before(sec.ExpiresAt)}
			if !sr.Expired {
				r.Valid++
				if left := sec.ExpiresAt.Sub(now); left < secretWarnDays*24*time.Hour {
					sr.DaysLeft = max(int(left.Hours()/24), 1)
				}
			}
			r.Secrets = append(r.Secrets, sr)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// scimClientView is the page that shows a new client secret, once.
type scimClientView struct {
	ClientID, Secret, Expires, Label string
	TenantURL, TokenEndpoint         string
	Added                            bool // a second secret for an existing client
}

func (s *Console) provisioningError(c echo.Context, status int, msg string) error {
	v, err := s.provisioningViewOf(c)
	if err != nil {
		return err
	}
	return s.adminPage(c, status, "admin_provisioning.html", "Provisioning", "provisioning", v, msg)
}

// secretYears reads the secret lifetime chosen on the form (1y, 2y, 3y);
// one that does not parse is 0 years, which the service refuses.
func secretYears(c echo.Context) int {
	years, err := scimcred.ParseSecretYears(c.FormValue("expires"))
	if err != nil {
		return 0
	}
	return years
}

// adminSCIMClientAdd: POST /admin/provisioning/clients.
func (s *Console) adminSCIMClientAdd(c echo.Context) error {
	ac := adminOf(c)
	cl, secret, err := s.admin.AddSCIMClient(c.Request().Context(), ac.who(), ac.t.Company.ID, c.FormValue("label"), secretYears(c))
	if err != nil {
		return s.provisioningRefused(c, err, "create SCIM client")
	}
	return s.adminPage(c, http.StatusOK, "admin_scim_client.html", "New SCIM client", "provisioning", &scimClientView{
		ClientID: cl.ClientID, Secret: secret, Expires: cl.Secrets[0].ExpiresAt.Format("2006-01-02"), Label: cl.Label,
		TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2"), TokenEndpoint: s.companyURL(ac.t.Company.Slug, "/scim/oauth/token")}, "")
}

// adminSCIMSecretAdd: POST /admin/provisioning/clients/{client}/secrets
// adds a secret (rotation: the others stay valid until removed).
func (s *Console) adminSCIMSecretAdd(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	sec, secret, err := s.admin.AddSCIMClientSecret(ctx, ac.who(), ac.t.Company.ID, c.Param("client"), secretYears(c))
	if err != nil {
		return s.provisioningRefused(c, err, "add SCIM client secret")
	}
	label := ""
	if cl, err := s.dir.GetSCIMClient(ctx, ac.t.Company.ID, c.Param("client")); err == nil {
		label = cl.Label
	}
	return s.adminPage(c, http.StatusOK, "admin_scim_client.html", "New client secret", "provisioning", &scimClientView{
		ClientID: c.Param("client"), Secret: secret, Expires: sec.ExpiresAt.Format("2006-01-02"), Label: label, Added: true,
		TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2"), TokenEndpoint: s.companyURL(ac.t.Company.Slug, "/scim/oauth/token")}, "")
}

// adminSCIMSecretRemove: POST /admin/provisioning/clients/{client}/secrets/{id}/remove.
func (s *Console) adminSCIMSecretRemove(c echo.Context) error {
	ac := adminOf(c)
	if err := s.admin.RemoveSCIMClientSecret(c.Request().Context(), ac.who(), ac.t.Company.ID, c.Param("client"), idParam(c)); err != nil {
		return s.provisioningRefused(c, err, "remove SCIM client secret")
	}
	s.caches.ForgetSCIMTokens() // its access tokens stop here at once; elsewhere within SSOGATE_SETTINGS_TTL
	return done(c, ac.base()+"/provisioning", "secret-removed")
}

// adminSCIMClientRemove: POST /admin/provisioning/clients/{client}/remove.
func (s *Console) adminSCIMClientRemove(c echo.Context) error {
	ac := adminOf(c)
	if err := s.admin.RemoveSCIMClient(c.Request().Context(), ac.who(), ac.t.Company.ID, c.Param("client")); err != nil {
		return s.provisioningRefused(c, err, "remove SCIM client")
	}
	s.caches.ForgetSCIMTokens()
	return done(c, ac.base()+"/provisioning", "client-removed")
}

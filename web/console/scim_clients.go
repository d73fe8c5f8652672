package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/scim"
	"github.com/ssogate/ssogate/web/internal/httpx"
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

func secretYears(c echo.Context) (int, bool) {
	years, err := scim.ParseSecretYears(c.FormValue("expires"))
	return years, err == nil
}

// adminSCIMClientAdd: POST /admin/provisioning/clients.
func (s *Console) adminSCIMClientAdd(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	label := strings.TrimSpace(c.FormValue("label"))
	if len(label) > 100 {
		return s.provisioningError(c, http.StatusUnprocessableEntity, "The label is too long (100 characters at most).")
	}
	years, ok := secretYears(c)
	if !ok {
		return s.provisioningError(c, http.StatusUnprocessableEntity, "Choose a secret lifetime of 1, 2 or 3 years.")
	}
	var cl *directory.SCIMClient
	var secret string
	err := s.dir.InTx(ctx, func(tx directory.Store) error {
		var err error
		if cl, secret, err = scim.CreateClient(ctx, tx, ac.t.Company.ID, label, years, s.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: ac.t.Company.ID, At: s.now(), Actor: ac.actor(), Action: "scim.client.add",
			Detail: fmt.Sprintf("client_id=%s label=%q expires=%s", cl.ClientID, label, cl.Secrets[0].ExpiresAt.Format("2006-01-02"))})
	})
	if err != nil {
		return fmt.Errorf("create SCIM client: %w", err)
	}
	return s.adminPage(c, http.StatusOK, "admin_scim_client.html", "New SCIM client", "provisioning", &scimClientView{
		ClientID: cl.ClientID, Secret: secret, Expires: cl.Secrets[0].ExpiresAt.Format("2006-01-02"), Label: label,
		TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2"), TokenEndpoint: s.companyURL(ac.t.Company.Slug, "/scim/oauth/token")}, "")
}

// scimClientOf loads the company's client named in the URL.
func (s *Console) scimClientOf(c echo.Context) (*directory.SCIMClient, error) {
	ac := adminOf(c)
	cl, err := s.dir.GetSCIMClient(c.Request().Context(), ac.t.Company.ID, c.Param("client"))
	if errors.Is(err, directory.ErrNotFound) {
		return nil, httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "This company has no such SCIM client.", "", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("load SCIM client: %w", err)
	}
	return cl, nil
}

// adminSCIMSecretAdd: POST /admin/provisioning/clients/{client}/secrets
// adds a secret (rotation: the others stay valid until removed).
func (s *Console) adminSCIMSecretAdd(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	cl, err := s.scimClientOf(c)
	if err != nil {
		return err
	}
	years, ok := secretYears(c)
	if !ok {
		return s.provisioningError(c, http.StatusUnprocessableEntity, "Choose a secret lifetime of 1, 2 or 3 years.")
	}
	var sec *directory.SCIMClientSecret
	var secret string
	err = s.dir.InTx(ctx, func(tx directory.Store) error {
		var err error
		if sec, secret, err = scim.AddClientSecret(ctx, tx, ac.t.Company.ID, cl.ClientID, years, s.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: ac.t.Company.ID, At: s.now(), Actor: ac.actor(), Action: "scim.client.secret.add",
			Detail: fmt.Sprintf("client_id=%s secret=%d expires=%s", cl.ClientID, sec.ID, sec.ExpiresAt.Format("2006-01-02"))})
	})
	if err != nil {
		return fmt.Errorf("add SCIM client secret: %w", err)
	}
	return s.adminPage(c, http.StatusOK, "admin_scim_client.html", "New client secret", "provisioning", &scimClientView{
		ClientID: cl.ClientID, Secret: secret, Expires: sec.ExpiresAt.Format("2006-01-02"), Label: cl.Label, Added: true,
		TenantURL: s.companyURL(ac.t.Company.Slug, "/scim/v2"), TokenEndpoint: s.companyURL(ac.t.Company.Slug, "/scim/oauth/token")}, "")
}

// adminSCIMSecretRemove: POST /admin/provisioning/clients/{client}/secrets/{id}/remove.
func (s *Console) adminSCIMSecretRemove(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	cl, err := s.scimClientOf(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	found := false
	for _, sec := range cl.Secrets {
		found = found || (err == nil && sec.ID == id)
	}
	if !found {
		return httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "This SCIM client has no such secret.", "", nil)
	}
	if err := s.change(ctx, ac, "scim.client.secret.remove", fmt.Sprintf("client_id=%s secret=%d", cl.ClientID, id), func(tx directory.Store) error {
		return tx.RemoveSCIMClientSecret(ctx, ac.t.Company.ID, id)
	}); err != nil {
		return fmt.Errorf("remove SCIM client secret: %w", err)
	}
	s.caches.ForgetSCIMTokens() // its access tokens stop here at once; elsewhere within SSOGATE_SETTINGS_TTL
	return done(c, ac.base()+"/provisioning", "secret-removed")
}

// adminSCIMClientRemove: POST /admin/provisioning/clients/{client}/remove.
func (s *Console) adminSCIMClientRemove(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	cl, err := s.scimClientOf(c)
	if err != nil {
		return err
	}
	if err := s.change(ctx, ac, "scim.client.remove", "client_id="+cl.ClientID, func(tx directory.Store) error {
		return tx.RemoveSCIMClient(ctx, ac.t.Company.ID, cl.ClientID)
	}); err != nil {
		return fmt.Errorf("remove SCIM client: %w", err)
	}
	s.caches.ForgetSCIMTokens()
	return done(c, ac.base()+"/provisioning", "client-removed")
}

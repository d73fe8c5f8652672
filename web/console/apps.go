package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/oauthsyntax"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Mobile apps page: the company's registered OAuth clients (client id,
// name, exact redirect URIs), added and removed here or with
// `ssogate oauth client add|list|remove`. Removing a client ends its tokens
// (the session check refuses tokens of a client that is gone).

type appRow struct {
	ClientID, Name, Created string
	RedirectURIs            []string
}

type appsView struct {
	Authorize, Token string
	Apps             []appRow
	// the add form, as typed (after a refusal)
	ClientID, Name, URIs string
}

func (s *Console) appsViewOf(c echo.Context) (*appsView, error) {
	ac := adminOf(c)
	list, err := s.dir.ListOAuthClients(c.Request().Context(), ac.t.Company.ID)
	if err != nil {
		return nil, fmt.Errorf("list OAuth clients: %w", err)
	}
	v := &appsView{Authorize: s.companyURL(ac.t.Company.Slug, "/oauth/authorize"), Token: s.companyURL(ac.t.Company.Slug, "/oauth/token")}
	for _, cl := range list {
		v.Apps = append(v.Apps, appRow{ClientID: cl.ClientID, Name: cl.Name, Created: fmtTime(cl.CreatedAt), RedirectURIs: cl.RedirectURIs})
	}
	return v, nil
}

// adminAppsPage: GET /admin/apps.
func (s *Console) adminAppsPage(c echo.Context) error {
	v, err := s.appsViewOf(c)
	if err != nil {
		return err
	}
	return s.adminPage(c, http.StatusOK, "admin_apps.html", "Mobile apps", "apps", v, "")
}

// adminAppAdd: POST /admin/apps (client_id, name, redirect_uris one per line).
func (s *Console) adminAppAdd(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	id := strings.TrimSpace(c.FormValue("client_id"))
	name := strings.TrimSpace(c.FormValue("name"))
	raw := c.FormValue("redirect_uris")
	var uris []string
	for _, line := range strings.Split(raw, "\n") {
		if u := strings.TrimSpace(line); u != "" {
			uris = append(uris, u)
		}
	}
	refused := func(msg string) error {
		v, err := s.appsViewOf(c)
		if err != nil {
			return err
		}
		v.ClientID, v.Name, v.URIs = id, name, raw
		return s.adminPage(c, http.StatusUnprocessableEntity, "admin_apps.html", "Mobile apps", "apps", v, msg)
	}
	switch {
	case id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n") || !oauthsyntax.VSChar(id, 128):
		return refused("The client id is required: the value the app sends as client_id (no spaces, at most 128 characters).")
	case len(name) > 100:
		return refused("The name is too long (100 characters at most).")
	case len(uris) == 0:
		return refused("Enter at least one redirect URI, one per line.")
	case len(uris) > 20:
		return refused("At most 20 redirect URIs per app.")
	}
	for _, u := range uris {
		if err := oauthsyntax.CheckRedirectURI(u); err != nil {
			return refused(err.Error())
		}
	}
	err := s.change(ctx, ac, "oauth.client.add", "client_id="+id+" redirect_uris="+strings.Join(uris, " "), func(tx directory.Store) error {
		return tx.AddOAuthClient(ctx, &directory.OAuthClient{CompanyID: ac.t.Company.ID, ClientID: id, Name: name, RedirectURIs: uris, CreatedAt: s.now()})
	})
	if errors.Is(err, directory.ErrConflict) {
		return refused("An app with this client id is already registered.")
	}
	if errors.Is(err, directory.ErrInvalid) {
		return refused("One of the values is too long.")
	}
	if err != nil {
		return fmt.Errorf("add OAuth client: %w", err)
	}
	s.caches.ForgetOAuthClient(ac.t.Company.ID, id)
	return done(c, ac.base()+"/apps", "app-added")
}

// adminAppRemove: POST /admin/apps/{client}/remove.
func (s *Console) adminAppRemove(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	id := c.Param("client")
	err := s.change(ctx, ac, "oauth.client.remove", "client_id="+id, func(tx directory.Store) error {
		return tx.RemoveOAuthClient(ctx, ac.t.Company.ID, id)
	})
	if errors.Is(err, directory.ErrNotFound) {
		return httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "This company has no such app.", "", err)
	}
	if err != nil {
		return fmt.Errorf("remove OAuth client: %w", err)
	}
	s.caches.ForgetOAuthClient(ac.t.Company.ID, id)
	return done(c, ac.base()+"/apps", "app-removed")
}

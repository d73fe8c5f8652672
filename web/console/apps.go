package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/usererr"
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
	id := strings.TrimSpace(c.FormValue("client_id"))
	name := c.FormValue("name")
	raw := c.FormValue("redirect_uris")
	var uris []string
	for _, line := range strings.Split(raw, "\n") {
		if u := strings.TrimSpace(line); u != "" {
			uris = append(uris, u)
		}
	}
	_, err := s.admin.AddOAuthClient(c.Request().Context(), ac.who(), ac.t.Company.ID, id, name, uris)
	if ue, ok := usererr.As(err); ok {
		// The form again, as typed, with the reason.
		v, err := s.appsViewOf(c)
		if err != nil {
			return err
		}
		v.ClientID, v.Name, v.URIs = id, name, raw
		return s.adminPage(c, http.StatusUnprocessableEntity, "admin_apps.html", "Mobile apps", "apps", v, ue.Message())
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
	id := c.Param("client")
	if err := s.admin.RemoveOAuthClient(c.Request().Context(), ac.who(), ac.t.Company.ID, id); err != nil {
		return fmt.Errorf("remove OAuth client: %w", err)
	}
	s.caches.ForgetOAuthClient(ac.t.Company.ID, id)
	return done(c, ac.base()+"/apps", "app-removed")
}

package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// scimToken is the SCIM OAuth token endpoint (client credentials grant):
// POST /c/{company}/scim/oauth/token. sso/scim answers it; an unknown
// company gets an RFC 6749 error body here.
func (s *Server) scimToken(c echo.Context) error {
	slug := c.Param("company")
	var co *directory.Company
	if directory.ValidSlug(slug) {
		t, err := s.companies.get(c.Request().Context(), slug)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			// The error handler answers an RFC 6749 body: 503 with
			// Retry-After for an outage, else server_error.
			return fmt.Errorf("scim token: load company %q: %w", slug, err)
		}
		if t != nil {
			co = t.Company
		}
	}
	if co == nil {
		httpx.NoStore(c.Response())
		return c.JSON(http.StatusNotFound, map[string]string{"error": "invalid_request",
			"error_description": "unknown company in the token endpoint URL: check the Token Endpoint pasted into Entra"})
	}
	s.scim.ServeToken(c.Response(), c.Request(), co)
	return nil
}

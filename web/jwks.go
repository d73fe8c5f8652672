package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// jwks: GET /.well-known/jwks.json, the public keys that verify
// X-Ssogate-Assertion. Public and process-wide; verifiers may cache it for
// the max-age, which is shorter than the time a new key is published
// before it signs.
func (s *Server) jwks(c echo.Context) error {
	doc, err := s.identity.JWKS(c.Request().Context())
	if err != nil {
		return refuse(http.StatusServiceUnavailable, "keys_unavailable", "Temporarily unavailable",
			"The signing keys could not be read.", "Try again in a moment.", err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.identity.MaxAge().Seconds())))
	return c.Blob(http.StatusOK, "application/json", doc)
}

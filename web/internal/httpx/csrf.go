package httpx

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ssogate/ssogate/session"
)

const (
	// CSRFField is the hidden form field carrying the CSRF token.
	CSRFField = "csrf"
	// csrfCookie is the CSRF cookie's base name ("__Host-" on https).
	csrfCookie = "ssogate_csrf"
	csrfKey    = "csrf"
)

// CSRF protects the forms of the console and of the password sign-in: a
// random token in a SameSite=Strict, HttpOnly cookie kept for maxAge, which
// the form must echo in its hidden CSRFField. Browsers that send
// Sec-Fetch-Site are checked by it first (same-origin only for writes). A
// refused form is a 403 "csrf" refusal. web builds one and applies it to
// those forms only: never to the ACS, SCIM or the OAuth token endpoint.
func CSRF(secure bool, maxAge time.Duration) echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + CSRFField,
		ContextKey:     csrfKey,
		CookieName:     session.CookieName(csrfCookie, secure),
		CookiePath:     "/",
		CookieSecure:   secure,
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteStrictMode,
		CookieMaxAge:   int(maxAge / time.Second),
		ErrorHandler: func(err error, c echo.Context) error {
			return Refuse(http.StatusForbidden, "csrf", "Form expired",
				"This form has expired or was not sent from this page.",
				"Go back, reload the page and submit the form again.", err)
		},
	})
}

// CSRFToken is the token a page behind CSRF puts in its forms.
func CSRFToken(c echo.Context) string {
	v, _ := c.Get(csrfKey).(string)
	return v
}

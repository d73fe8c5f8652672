package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// A form behind CSRF gets its token from a cookie of its own (HttpOnly,
// SameSite=Strict, __Host- on https); a POST passes only when it echoes
// that token in the csrf field, and is otherwise refused as an expired
// form (403 "csrf"), before the handler runs.
func TestCSRF(t *testing.T) {
	e := echo.New()
	var refused error
	e.HTTPErrorHandler = func(err error, c echo.Context) { refused = err; _ = c.NoContent(599) }
	ran := 0
	h := func(c echo.Context) error { ran++; return c.String(http.StatusOK, CSRFToken(c)) }
	e.GET("/form", h, CSRF(true, 8*time.Hour))
	e.POST("/form", h, CSRF(true, 8*time.Hour))

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://sso.example.com/form", nil))
	token := rec.Body.String()
	var cookie *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "__Host-ssogate_csrf" {
			cookie = ck
		}
	}
	if token == "" || cookie == nil || cookie.Value != token {
		t.Fatalf("GET: token %q, cookies %v", token, rec.Result().Cookies())
	}
	if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" ||
		cookie.Expires.Before(time.Now().Add(8*time.Hour-time.Minute)) || cookie.Expires.After(time.Now().Add(8*time.Hour+time.Minute)) {
		t.Errorf("cookie attributes: %+v", cookie)
	}

	post := func(field string) *httptest.ResponseRecorder {
		refused = nil
		r := httptest.NewRequest(http.MethodPost, "https://sso.example.com/form", strings.NewReader(url.Values{CSRFField: {field}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		return rec
	}
	before := ran
	for _, bad := range []string{"", "not-the-token", token + "x"} {
		post(bad)
		var ue *ErrorPage
		if !errors.As(refused, &ue) || ue.Status != http.StatusForbidden || ue.Code() != "csrf" || ue.Title != "Form expired" {
			t.Errorf("POST with %q: refusal %v", bad, refused)
		}
	}
	if ran != before {
		t.Fatalf("a refused POST reached the handler")
	}
	if rec := post(token); rec.Code != http.StatusOK || refused != nil {
		t.Fatalf("POST with the token: %d %v", rec.Code, refused)
	}
}

func TestCSRFPlainHTTPCookieName(t *testing.T) {
	e := echo.New()
	e.GET("/form", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, CSRF(false, time.Hour))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/form", nil))
	cks := rec.Result().Cookies()
	if len(cks) != 1 || cks[0].Name != "ssogate_csrf" || cks[0].Secure {
		t.Fatalf("cookies on http: %+v", cks)
	}
}

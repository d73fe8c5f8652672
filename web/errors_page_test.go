package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/usererr"
)

// newErrorServer is just enough Server for errorHandler: templates and a
// log the test reads.
func newErrorServer(t *testing.T) (*Server, *bytes.Buffer) {
	t.Helper()
	tmpl, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	return &Server{log: slog.New(slog.NewTextHandler(&logs, nil)), tmpl: tmpl}, &logs
}

func serveError(s *Server, method, path string, err error) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.errorHandler(err, echo.New().NewContext(httptest.NewRequest(method, path, nil), rec))
	return rec
}

// TestErrorHandlerRendersServiceRefusals: a handler may return a service's
// *usererr.Error as it is (wrapped or not); the answer's status follows its
// Kind, the body shows its message (a page, JSON with its code, or a SCIM
// error), and the cause is logged, never shown.
func TestErrorHandlerRendersServiceRefusals(t *testing.T) {
	s, logs := newErrorServer(t)
	const secret = "pq: relation employees: secret internal detail"
	for _, tc := range []struct {
		kind   usererr.Kind
		status int
	}{
		{usererr.Invalid, http.StatusUnprocessableEntity},
		{usererr.Conflict, http.StatusConflict},
		{usererr.NotFound, http.StatusNotFound},
		{usererr.Forbidden, http.StatusForbidden},
		{usererr.Unavailable, http.StatusServiceUnavailable},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			logs.Reset()
			msg := "This employee is already " + tc.kind.String() + "."
			err := fmt.Errorf("activate: %w", usererr.Wrap(errors.New(secret), tc.kind, "some_code", msg))

			page := serveError(s, http.MethodPost, "/c/acme/admin/employees/7/activate", err)
			if body := page.Body.String(); page.Code != tc.status || !strings.Contains(body, msg) || !strings.Contains(body, "some_code") || strings.Contains(body, "secret") {
				t.Fatalf("page: %d %q", page.Code, body)
			}

			api := serveError(s, http.MethodGet, "/c/acme/api/me", err)
			var got map[string]string
			if e := json.Unmarshal(api.Body.Bytes(), &got); e != nil || api.Code != tc.status || got["error"] != "some_code" || got["error_description"] != msg {
				t.Fatalf("JSON: %d %q", api.Code, api.Body.String())
			}

			sc := serveError(s, http.MethodPost, "/c/acme/scim/v2/Users", err)
			var body struct{ Status, Detail string }
			if e := json.Unmarshal(sc.Body.Bytes(), &body); e != nil || sc.Code != tc.status || body.Detail != msg || body.Status != fmt.Sprint(tc.status) {
				t.Fatalf("SCIM: %d %q", sc.Code, sc.Body.String())
			}

			if !strings.Contains(logs.String(), secret) || !strings.Contains(logs.String(), "code=some_code") {
				t.Fatalf("the cause was not logged: %s", logs.String())
			}
		})
	}
}

// TestErrorPageKeepsItsPresentation: refuse's own status, title and action
// win over the Kind; the page is also a usererr.Error to callers that look
// for one, and its Error() is the safe message only.
func TestErrorPageKeepsItsPresentation(t *testing.T) {
	s, logs := newErrorServer(t)
	cause := errors.New("redis: secret address 10.0.0.7")
	p := refuse(http.StatusTooManyRequests, "rate_limited", "Too many sign-in attempts", "Wait a minute.", "Then try again.", cause)
	if p.Error() != "Wait a minute." || !errors.Is(p, cause) {
		t.Fatalf("Error() %q, cause reachable %v", p.Error(), errors.Is(p, cause))
	}
	rec := serveError(s, http.MethodGet, "/c/acme/login", fmt.Errorf("login: %w", p))
	body := rec.Body.String()
	for _, want := range []string{"Too many sign-in attempts", "Wait a minute.", "Then try again.", "rate_limited"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q: %s", want, body)
		}
	}
	if rec.Code != http.StatusTooManyRequests || strings.Contains(body, "secret") {
		t.Fatalf("%d %s", rec.Code, body)
	}
	if !strings.Contains(logs.String(), "secret address") {
		t.Fatalf("cause not logged: %s", logs.String())
	}
	// Anything else is a 500 with a fixed message.
	rec = serveError(s, http.MethodGet, "/c/acme/api/me", errors.New("nil pointer in secret place"))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") || !strings.Contains(rec.Body.String(), `"internal"`) {
		t.Fatalf("internal: %d %s", rec.Code, rec.Body.String())
	}
}

package oauthserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

func TestNewNamesEveryMissingOption(t *testing.T) {
	_, err := New(Options{CodeTTL: time.Minute})
	if err == nil {
		t.Fatal("New accepted empty options")
	}
	for _, name := range []string{"Sessions", "Browser", "Dir", "Company", "Login", "Render", "NoteOutage", "AccessTTL", "RefreshTTL", "ConsentTTL"} {
		if !strings.Contains(err.Error(), "Options."+name+" is required") {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "CodeTTL") {
		t.Errorf("the error names a field that was set: %v", err)
	}
}

// Neither a store nor a browser session is reached in these tests: the
// embedded nil interfaces panic if they are.
type unusedStore struct{ Store }
type noBrowser struct{ BrowserSessions }

// clients is a directory with one registered client at company 1.
type clients struct{ Directory }

func (clients) GetOAuthClient(_ context.Context, companyID int64, id string) (*directory.OAuthClient, error) {
	if companyID == 1 && id == "app" {
		return &directory.OAuthClient{CompanyID: 1, ClientID: "app", RedirectURIs: []string{"com.example.app:/cb"}}, nil
	}
	return nil, directory.ErrNotFound
}

// harness is a server under /c/:company whose Options record what the
// server asked of web.
type harness struct {
	e        *echo.Echo
	company  error // what Options.Company answers (nil: acme)
	handled  error // what the server returned to web's error handler
	outages  []string
	outcomes []string
}

func newHarness(t *testing.T) *harness {
	h := &harness{e: echo.New()}
	srv, err := New(Options{
		Sessions: unusedStore{}, Browser: noBrowser{}, Dir: clients{},
		Company: func(c echo.Context) (*directory.Company, error) {
			if h.company != nil {
				return nil, h.company
			}
			return &directory.Company{ID: 1, Slug: "acme", Name: "Acme", SSOEnabled: true}, nil
		},
		Login: func(echo.Context, *directory.Company, string) error { t.Error("Login called"); return nil },
		Render: func(echo.Context, int, string, any) error {
			t.Error("Render called")
			return nil
		},
		NoteOutage: func(c echo.Context, store string, _ error) {
			h.outages = append(h.outages, store)
			c.Response().Header().Set("Retry-After", "5")
		},
		CountToken: func(o string) { h.outcomes = append(h.outcomes, o) },
		CodeTTL:    time.Minute, AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour, ConsentTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.e.HTTPErrorHandler = func(err error, c echo.Context) {
		h.handled = err
		_ = c.NoContent(599)
	}
	srv.Routes(h.e.Group("/c/:company"))
	return h
}

func (h *harness) do(method, target, form string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(form))
	if form != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, r)
	return w
}

// Until client_id and redirect_uri are known good, the authorization
// endpoint answers with an error page for web to render, never with a
// redirect (no open redirector).
func TestAuthorizeNeverRedirectsToAnUntrustedURI(t *testing.T) {
	h := newHarness(t)
	for name, q := range map[string]url.Values{
		"unknown client":          {"client_id": {"other"}, "redirect_uri": {"https://evil.example/cb"}},
		"unregistered uri":        {"client_id": {"app"}, "redirect_uri": {"https://evil.example/cb"}},
		"a prefix of the uri":     {"client_id": {"app"}, "redirect_uri": {"com.example.app:/cb/evil"}},
		"repeated redirect_uri":   {"client_id": {"app"}, "redirect_uri": {"com.example.app:/cb", "https://evil.example/cb"}},
		"client_id not printable": {"client_id": {"app\n"}, "redirect_uri": {"com.example.app:/cb"}},
	} {
		h.handled = nil
		q.Set("response_type", "code")
		w := h.do(http.MethodGet, "/c/acme/oauth/authorize?"+q.Encode(), "")
		var ue *httpx.ErrorPage
		if w.Code != 599 || w.Header().Get("Location") != "" || !errors.As(h.handled, &ue) || ue.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, Location %q, error %v", name, w.Code, w.Header().Get("Location"), h.handled)
		}
	}
	// Once both are good, errors go back to the app.
	w := h.do(http.MethodGet, "/c/acme/oauth/authorize?client_id=app&redirect_uri=com.example.app:/cb&state=s&response_type=token", "")
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || !strings.HasPrefix(loc, "com.example.app:/cb?error=unsupported_response_type&") {
		t.Errorf("a trusted redirect URI: status %d, Location %q", w.Code, loc)
	}
}

// Options.Company's errors: a refusal (an unknown company) is the client's
// invalid_request with the refusal's status; anything else is ours, and an
// outage is a 503 that web counts (NoteOutage). Every answer is no-store
// and counted by its outcome.
func TestTokenEndpointAnswersForTheCompanyResolver(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		status  int
		code    string
		outages int
	}{
		{"unknown company", httpx.Refuse(http.StatusNotFound, "unknown_company", "", "", "", nil), http.StatusNotFound, "invalid_request", 0},
		{"database down", fmt.Errorf("load company: %w", directory.ErrUnavailable), http.StatusServiceUnavailable, "temporarily_unavailable", 1},
		{"broken", errors.New("load company: bad row"), http.StatusInternalServerError, "server_error", 0},
	} {
		for _, path := range []string{"/c/acme/oauth/token", "/c/acme/oauth/revoke"} {
			h := newHarness(t)
			h.company = c.err
			w := h.do(http.MethodPost, path, "grant_type=authorization_code&client_id=app")
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: body %q", c.name, path, w.Body)
			}
			if w.Code != c.status || body["error"] != c.code || w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: %d %v, Cache-Control %q", c.name, path, w.Code, body, w.Header().Get("Cache-Control"))
			}
			if len(h.outages) != c.outages || (c.outages > 0 && w.Header().Get("Retry-After") == "") {
				t.Errorf("%s %s: outages noted %v", c.name, path, h.outages)
			}
			if len(h.outcomes) != 1 || h.outcomes[0] != c.code {
				t.Errorf("%s %s: counted %v", c.name, path, h.outcomes)
			}
		}
	}
}

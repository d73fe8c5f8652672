package test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // a second connection that holds SQLite's write lock

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/memstore"
	"github.com/ssogate/ssogate/session/redisstore"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// An outage answer as a browser, an API caller, Entra's provisioning or the
// mobile app sees it. Each must come within outageBound: the stores run
// with short deadlines here (500 ms statements, 300 ms Redis calls).
const outageBound = 1500 * time.Millisecond

type answer struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, a.body)
	}
	return m
}

func doReq(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	start := time.Now()
	resp, err := c.Do(req)
	testenv.Must(t, err, "%s %s", req.Method, req.URL.Path)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b), time.Since(start)}
}

func (g *gw) scimReq(t *testing.T, token, method, path, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, g.URL+"/c/acme/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	return doReq(t, nil, req)
}

func (g *gw) acsReq(t *testing.T, br *browser, samlResponse string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/saml/acs", strings.NewReader(url.Values{"SAMLResponse": {samlResponse}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doReq(t, br.Client, req)
}

func (g *gw) meReq(t *testing.T, br *browser) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/c/acme/api/me", nil)
	return doReq(t, br.Client, req)
}

func bounded(t *testing.T, what string, a answer) {
	t.Helper()
	if a.took > outageBound {
		t.Errorf("%s took %s during an outage (bound %s)", what, a.took, outageBound)
	}
	if a.header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
}

// wantOutagePage: the employee is told to try again, not that sign-in was
// refused.
func wantOutagePage(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(a.body, "temporarily unavailable") || strings.Contains(a.body, "refused") {
		t.Fatalf("%s: want the 503 try-again page, got %d %s\n%s", what, a.status, a.header.Get("Content-Type"), a.body)
	}
	bounded(t, what, a)
}

func wantOutageJSON(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") ||
		a.json(t)["error"] != "temporarily_unavailable" {
		t.Fatalf("%s: want 503 JSON temporarily_unavailable, got %d %s", what, a.status, a.body)
	}
	bounded(t, what, a)
}

// wantSCIMOutage: a SCIM Error (RFC 7644 §3.12) Entra retries.
func wantSCIMOutage(t *testing.T, what string, a answer) {
	t.Helper()
	m := map[string]any{}
	_ = json.Unmarshal([]byte(a.body), &m)
	schemas, _ := m["schemas"].([]any)
	if a.status != http.StatusServiceUnavailable || !strings.HasPrefix(a.header.Get("Content-Type"), "application/scim+json") ||
		len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || m["status"] != "503" || m["detail"] == "" {
		t.Fatalf("%s: want a SCIM Error 503, got %d %s %s", what, a.status, a.header.Get("Content-Type"), a.body)
	}
	bounded(t, what, a)
}

const newcomer = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","active":true,` +
	`"name":{"givenName":"New","familyName":"Comer"},"emails":[{"type":"work","primary":true,"value":"%s"}]}`

func newcomerJSON(user string) string {
	return strings.NewReplacer("%s", user).Replace(newcomer)
}

// TestOutageAnswers503OnTheEmbeddedStores: SQLite's write lock held by
// another process (a CLI import, a backup) for longer than the statement
// deadline makes writes an outage: SCIM answers a SCIM 503 and the ACS a
// try-again page, and both work again once the lock is gone.
func TestOutageAnswers503OnTheEmbeddedStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	dir, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{StatementTimeout: 300 * time.Millisecond})
	testenv.Must(t, err, "open sqlite")
	t.Cleanup(func() { dir.Close() })
	g := newGWOn(t, dir, memstore.New(memstore.Options{}), nil)
	tok := mintToken(t, g)

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	testenv.Must(t, err, "open second connection")
	defer other.Close()
	conn, err := other.Conn(ctx)
	testenv.Must(t, err, "conn")
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	testenv.Must(t, err, "take the write lock")

	wantSCIMOutage(t, "SCIM POST while the database is locked", g.scimReq(t, tok, http.MethodPost, "/Users", newcomerJSON("new.comer@acme.example")))
	// Maja's first login binds her Entra object id: a write.
	a := g.assertion("acme", "maja.holm@acme.example")
	a.ObjectID = "11111111-1111-1111-1111-111111111111"
	wantOutagePage(t, "ACS while the database is locked", g.acsReq(t, newBrowser(), g.signed(a)))
	if !strings.Contains(g.logText(), "store unavailable") || strings.Contains(g.logText(), "sign-in refused") {
		t.Fatalf("the outage is not logged as one:\n%s", g.logText())
	}

	_, err = conn.ExecContext(ctx, "ROLLBACK")
	testenv.Must(t, err, "release the write lock")
	if r := g.scimReq(t, tok, http.MethodPost, "/Users", newcomerJSON("new.comer@acme.example")); r.status != http.StatusCreated {
		t.Fatalf("SCIM POST after the lock: %d %s", r.status, r.body)
	}
	if r := g.acsReq(t, newBrowser(), g.signed(a)); r.status != http.StatusSeeOther {
		t.Fatalf("ACS after the lock: %d %s", r.status, r.body)
	}
}

// TestOutageAnswers503OnPostgresAndRedis: Redis and PostgreSQL behind a
// proxy the test takes down and stalls while two gateways serve.
func TestOutageAnswers503OnPostgresAndRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pgURL := testenv.PostgresURL(t)
	redisURL, prefix := testenv.RedisURL(t)
	pgProxy, redisProxy := newFaultProxy(t, hostOf(t, pgURL)), newFaultProxy(t, hostOf(t, redisURL))
	dir, err := sqlstore.Open(ctx, withHost(t, pgURL, pgProxy.Addr()), sqlstore.Options{StatementTimeout: 500 * time.Millisecond})
	testenv.Must(t, err, "open postgres")
	t.Cleanup(func() { dir.Close() })
	sess, err := redisstore.Open(ctx, withHost(t, redisURL, redisProxy.Addr()), redisstore.Options{Prefix: prefix, Timeout: 300 * time.Millisecond})
	testenv.Must(t, err, "open redis")
	t.Cleanup(func() { sess.Close() })

	g := newGWOn(t, dir, sess, nil) // reads the company on every request
	cached := newGWOn(t, dir, sess, g, func(c *configT) { c.SettingsTTL = time.Minute })
	g.addClient(g.company, appClientID, appRedirect)
	tok := mintToken(t, g)
	br := g.signedInBrowser(t, "maja.holm@acme.example")
	if r := cached.scimReq(t, tok, http.MethodGet, "/Users?count=1", ""); r.status != http.StatusOK {
		t.Fatalf("SCIM before the outage: %d %s", r.status, r.body)
	}

	t.Run("redis down", func(t *testing.T) {
		redisProxy.set("down")
		defer redisProxy.set("up")
		wantOutagePage(t, "ACS", g.acsReq(t, newBrowser(), g.signed(g.assertion("acme", "maja.holm@acme.example"))))
		wantOutageJSON(t, "/api/me", g.meReq(t, br))
		fwd, _ := http.NewRequest(http.MethodGet, g.URL+"/auth/request", nil)
		fwd.Header.Set("X-Original-URI", "/c/acme/timesheets")
		wantOutageJSON(t, "nginx auth_request", doReq(t, br.Client, fwd))
		p := newPKCE()
		r := g.postToken(t, "acme", "token", url.Values{"grant_type": {"authorization_code"}, "code": {session.NewSecret()},
			"code_verifier": {p.verifier}, "redirect_uri": {appRedirect}, "client_id": {appClientID}})
		wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("token endpoint 503 without Retry-After: %v", r.header)
		}
		g.enableSLO(t, true)
		defer g.enableSLO(t, false)
		u, err := g.idp.LogoutRequestURL(ssotest.Logout{Destination: g.sloURL(), NameID: "maja.holm@acme.example", ID: "_lr-outage"})
		testenv.Must(t, err, "LogoutRequest")
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		wantOutagePage(t, "Entra's LogoutRequest", doReq(t, newBrowser().Client, req))
		failures, err := dir.ListSignIns(ctx, g.company.ID, true, 10)
		testenv.Must(t, err, "list sign-in failures")
		if len(failures) != 0 {
			t.Fatalf("the outage was stored as a refused sign-in: %+v", failures)
		}
		logs := g.logText()
		if !strings.Contains(logs, "store unavailable") || !strings.Contains(logs, "store=sessions") || strings.Contains(logs, "sign-in refused") {
			t.Fatalf("the outage is not logged as one:\n%s", logs)
		}
	})
	t.Run("redis stalled", func(t *testing.T) {
		redisProxy.set("stall")
		defer redisProxy.set("up")
		wantOutageJSON(t, "/api/me", g.meReq(t, br))
		wantOutagePage(t, "ACS", g.acsReq(t, newBrowser(), g.signed(g.assertion("acme", "maja.holm@acme.example"))))
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/readyz", nil)
		r := doReq(t, nil, req)
		if r.status != http.StatusServiceUnavailable || r.json(t)["sessions"] == "ok" || r.json(t)["database"] != "ok" || r.took > g.cfg.ReadyTimeout+200*time.Millisecond {
			t.Fatalf("/readyz with Redis stalled: %d %s in %s (limit %s)", r.status, r.body, r.took, g.cfg.ReadyTimeout)
		}
	})
	t.Run("redis back", func(t *testing.T) {
		if r := g.meReq(t, br); r.status != http.StatusOK {
			t.Fatalf("/api/me after Redis came back: %d %s", r.status, r.body)
		}
		if r := g.acsReq(t, newBrowser(), g.signed(g.assertion("acme", "maja.holm@acme.example"))); r.status != http.StatusSeeOther {
			t.Fatalf("ACS after Redis came back: %d %s", r.status, r.body)
		}
	})
	t.Run("postgres down", func(t *testing.T) {
		pgProxy.set("down")
		defer pgProxy.set("up")
		// The company lookup fails before the SCIM handler runs ...
		wantSCIMOutage(t, "SCIM GET, company not cached", g.scimReq(t, tok, http.MethodGet, "/Users?count=1", ""))
		// ... or inside it, with the company and token cached.
		wantSCIMOutage(t, "SCIM POST, company cached", cached.scimReq(t, tok, http.MethodPost, "/Users", newcomerJSON("pg.down@acme.example")))
		wantOutagePage(t, "ACS", g.acsReq(t, newBrowser(), g.signed(g.assertion("acme", "maja.holm@acme.example"))))
		wantOutageJSON(t, "/api/me", g.meReq(t, br))
		r := g.postToken(t, "acme", "token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {session.NewSecret()}, "client_id": {appClientID}})
		wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	})
	t.Run("postgres stalled", func(t *testing.T) {
		pgProxy.set("stall")
		defer pgProxy.set("up")
		wantSCIMOutage(t, "SCIM GET", g.scimReq(t, tok, http.MethodGet, "/Users?count=1", ""))
	})
	t.Run("postgres back", func(t *testing.T) {
		if r := g.scimReq(t, tok, http.MethodPost, "/Users", newcomerJSON("pg.back@acme.example")); r.status != http.StatusCreated {
			t.Fatalf("SCIM after PostgreSQL came back: %d %s", r.status, r.body)
		}
		if r := g.meReq(t, br); r.status != http.StatusOK {
			t.Fatalf("/api/me after PostgreSQL came back: %d %s", r.status, r.body)
		}
	})
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	testenv.Must(t, err, "parse URL")
	return u.Host
}

func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	u, err := url.Parse(raw)
	testenv.Must(t, err, "parse URL")
	u.Host = host
	return u.String()
}

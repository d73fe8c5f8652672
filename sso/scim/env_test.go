package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

const testBase = "https://gw.example.com/c/acme/scim/v2"

// revokes is the session store behind the admin.Service SCIM settles
// through (as web wires it): it records RevokeEmployee calls.
type revokes struct {
	mu   sync.Mutex
	ids  []string
	down bool // the session store is out: every revocation fails
}

func (r *revokes) RevokeEmployee(_ context.Context, _ int64, id string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return 0, errors.New("session store unreachable")
	}
	r.ids = append(r.ids, id)
	return 1, nil
}

func (r *revokes) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *revokes) ListEmployee(context.Context, int64, string) ([]session.Session, error) {
	return nil, nil
}

func (r *revokes) Delete(context.Context, string) error { return nil }

func (r *revokes) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.ids {
		if x == id {
			n++
		}
	}
	return n
}

// counter is an in-process throttle.Counter (the window never ends: tests
// are short; a counter lives on for its whole window).
type counter struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counter) Count(_ context.Context, key string, delta int64, window time.Duration) (int64, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[key] += delta
	return c.m[key], window, nil
}

type env struct {
	t     testing.TB
	st    directory.Store
	h     *Handler
	c     *directory.Company
	token string
	now   time.Time
	rev   *revokes
	thr   *counter
}

type backend struct {
	name string
	open func(t testing.TB) directory.Store
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) directory.Store {
			return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "dir.db"))
		}},
		{"postgres", func(t testing.TB) directory.Store {
			return openStore(t, testenv.PostgresURL(t))
		}},
	}
}

func openStore(t testing.TB, url string) directory.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), url, sqlstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newEnv(t testing.TB, st directory.Store) *env {
	t.Helper()
	ctx := context.Background()
	c := &directory.Company{Slug: testenv.RandomName("acme"), Name: "Acme", NameIDMode: directory.NameIDUPN}
	if err := st.CreateCompany(ctx, c); err != nil {
		t.Fatalf("create company: %v", err)
	}
	tok, _, err := mintToken(ctx, st, c.ID, "entra")
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	e := &env{t: t, st: st, c: c, token: tok, rev: &revokes{}, thr: &counter{},
		now: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)}
	e.h = New(Options{Store: st, Settler: e.settler(st), Throttle: e.thr, Now: func() time.Time { return e.now }})
	return e
}

// settler is the admin service over st whose session store is e.rev.
func (e *env) settler(st directory.Store) Settler {
	return &admin.Service{Dir: st, Sessions: e.rev, Now: func() time.Time { return e.now }}
}

// each runs fn as a subtest on SQLite and on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			fn(t, newEnv(t, b.open(t)))
		})
	}
}

type resp struct {
	code int
	hdr  http.Header
	raw  string
	body map[string]any
}

// do sends a SCIM request; target is what follows the base URL
// ("/Users?filter=…"), written as Entra writes it on the wire.
func (e *env) do(method, target, body string, hdr ...string) *resp {
	e.t.Helper()
	return e.doAs(e.c, e.token, method, target, body, hdr...)
}

func (e *env) doAs(c *directory.Company, token, method, target, body string, hdr ...string) *resp {
	e.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, "/c/acme/scim/v2"+target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	} else {
		r = httptest.NewRequest(method, "/c/acme/scim/v2"+target, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
		} else {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := httptest.NewRecorder()
	sub, _, _ := strings.Cut(target, "?")
	e.h.ServeCompany(w, r, c, sub, testBase)
	out := &resp{code: w.Code, hdr: w.Header(), raw: w.Body.String()}
	if out.raw != "" {
		if err := json.Unmarshal([]byte(out.raw), &out.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON (%d): %q", method, target, w.Code, out.raw)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			e.t.Fatalf("%s %s: content type %q", method, target, ct)
		}
	}
	return out
}

// must checks the status and returns the response.
func (r *resp) must(t testing.TB, code int) *resp {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.raw)
	}
	return r
}

// scimErr checks an RFC 7644 error body.
func (r *resp) scimErr(t testing.TB, code int, scimType string) {
	t.Helper()
	r.must(t, code)
	if got := r.body["status"]; got != itoa(int64(code)) {
		t.Fatalf("error status %v (%T), want the string %q", got, got, itoa(int64(code)))
	}
	if s, _ := r.body["schemas"].([]any); len(s) != 1 || s[0] != schemaError {
		t.Fatalf("error schemas %v", r.body["schemas"])
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		t.Fatalf("scimType %q, want %q (%s)", got, scimType, r.raw)
	}
	if d, _ := r.body["detail"].(string); d == "" {
		t.Fatalf("error without detail: %s", r.raw)
	}
}

// get walks a decoded JSON value: get(m, "name", "givenName"),
// get(m, "emails", 0, "value").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// typed finds attr[type eq typ] in a resource.
func typed(res map[string]any, attr, typ string) map[string]any {
	l, _ := res[attr].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		if t, _ := m["type"].(string); strings.EqualFold(t, typ) {
			return m
		}
	}
	return nil
}

func countTyped(res map[string]any, attr, typ string) int {
	n := 0
	l, _ := res[attr].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		if t, _ := m["type"].(string); strings.EqualFold(t, typ) {
			n++
		}
	}
	return n
}

func (e *env) employee(id string) *directory.Employee {
	e.t.Helper()
	emp, err := e.st.GetEmployee(context.Background(), e.c.ID, id)
	if err != nil {
		e.t.Fatalf("get employee %s: %v", id, err)
	}
	return emp
}

// user returns a minimal Entra-shaped POST body.
func user(upn, given, family string, extra ...string) string {
	m := map[string]any{
		"schemas":  []string{URNCore, URNEnterprise},
		"userName": upn, "active": true, "externalId": strings.Split(upn, "@")[0],
		"name":   map[string]any{"givenName": given, "familyName": family, "formatted": given + " " + family},
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": strings.ToLower(upn)}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = json.RawMessage(extra[i+1])
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func patchBody(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// The credentials of these tests are issued as the CLI and the console
// issue them: by admin.Service, on the given clock.

func mintToken(ctx context.Context, st directory.Store, companyID int64, label string) (string, int64, error) {
	tok, rec, err := (&admin.Service{Dir: st}).MintSCIMToken(ctx, admin.Actor{Name: "test"}, companyID, label)
	if err != nil {
		return "", 0, err
	}
	return tok, rec.ID, nil
}

func createClient(ctx context.Context, st directory.Store, companyID int64, label string, years int, now time.Time) (*directory.SCIMClient, string, error) {
	svc := &admin.Service{Dir: st, Now: func() time.Time { return now }}
	return svc.AddSCIMClient(ctx, admin.Actor{Name: "test"}, companyID, label, years)
}

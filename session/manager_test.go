package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/memstore"
	"github.com/ssogate/ssogate/session/sessiontest"
)

type fixture struct {
	clk   *sessiontest.Clock
	store *memstore.Store
	m     *session.Manager
}

func newFixture(secure bool) *fixture {
	clk := &sessiontest.Clock{}
	st := memstore.New(memstore.Options{Now: clk.Now})
	return &fixture{clk: clk, store: st, m: &session.Manager{
		Store:    st,
		Cookie:   session.NewCookieConfig(session.BrowserCookie, secure),
		Now:      clk.Now,
		Idle:     30 * time.Minute,
		Absolute: 8 * time.Hour,
	}}
}

func employee() *session.Session {
	return &session.Session{CompanyID: 1, Company: "acme", EmployeeID: "emp-1", Via: "saml:idp"}
}

// login runs Login on a request carrying cookies and returns the new
// session and the cookie set.
func (f *fixture) login(t *testing.T, s *session.Session, cookies ...*http.Cookie) (*session.Session, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest("POST", "https://sso.example.com/c/acme/saml/acs", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	got, err := f.m.Login(context.Background(), w, r, s)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	set := w.Result().Cookies()
	if len(set) != 1 {
		t.Fatalf("Login set %d cookies, want 1", len(set))
	}
	return got, set[0]
}

func (f *fixture) current(cookies ...*http.Cookie) (*session.Session, error) {
	r := httptest.NewRequest("GET", "https://sso.example.com/c/acme/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return f.m.Current(context.Background(), r)
}

func TestCookieName(t *testing.T) {
	if got := session.CookieName("ssogate_session", true); got != "__Host-ssogate_session" {
		t.Fatalf("secure: %q", got)
	}
	if got := session.CookieName("ssogate_session", false); got != "ssogate_session" {
		t.Fatalf("plain: %q", got)
	}
	if strings.Contains(session.AdminCookie, session.BrowserCookie) {
		t.Fatalf("admin cookie %q contains the browser cookie's name", session.AdminCookie)
	}
}

func TestLoginSetsCookie(t *testing.T) {
	for _, secure := range []bool{true, false} {
		f := newFixture(secure)
		now := f.clk.Now()
		s, c := f.login(t, employee())
		wantName := "ssogate_session"
		if secure {
			wantName = "__Host-ssogate_session"
		}
		raw := c.Raw
		if c.Name != wantName || c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Path != "/" || c.Domain != "" || c.MaxAge != int((8*time.Hour)/time.Second) {
			t.Fatalf("secure=%v: cookie %+v (%s)", secure, c, raw)
		}
		if session.Key(c.Value) != s.ID || len(c.Value) != 43 {
			t.Fatalf("cookie value is not the secret of the session id")
		}
		if s.Kind != session.KindBrowser || s.CompanyID != 1 || s.EmployeeID != "emp-1" ||
			s.CreatedAt.Before(now) || s.IdleTimeout != 30*time.Minute ||
			!s.ExpiresAt.Equal(s.CreatedAt.Add(8*time.Hour)) {
			t.Fatalf("session %+v", *s)
		}
		stored, err := f.store.Get(context.Background(), s.ID)
		if err != nil || stored.EmployeeID != "emp-1" {
			t.Fatalf("stored: %+v, %v", stored, err)
		}
		got, err := f.current(c)
		if err != nil || got.ID != s.ID {
			t.Fatalf("Current: %+v, %v", got, err)
		}
	}
}

func TestLoginRotates(t *testing.T) {
	f := newFixture(true)
	ctx := context.Background()
	first, c1 := f.login(t, employee())

	// A second login in the same browser (maybe another person) replaces it.
	in := &session.Session{CompanyID: 1, Company: "acme", EmployeeID: "emp-2", ID: first.ID}
	second, c2 := f.login(t, in, c1)
	if second.ID == first.ID || c2.Value == c1.Value {
		t.Fatal("Login reused the session id")
	}
	if in.ID != first.ID {
		t.Fatal("Login changed the caller's session value")
	}
	if _, err := f.store.Get(ctx, first.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("old session after re-login: %v, want ErrNotFound", err)
	}
	if _, err := f.current(c1); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("old cookie after re-login: %v, want ErrNotFound", err)
	}
	if got, err := f.current(c2); err != nil || got.EmployeeID != "emp-2" {
		t.Fatalf("new cookie: %+v, %v", got, err)
	}
	// An id the caller (or an attacker) picked is never used.
	if _, err := f.store.Get(ctx, in.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatal("a caller-chosen id became a session")
	}
}

func TestLoginCapsLifetimes(t *testing.T) {
	f := newFixture(false)
	now := f.clk.Now()
	in := employee()
	in.ExpiresAt = now.Add(time.Hour) // e.g. SessionNotOnOrAfter
	in.IdleTimeout = 10 * time.Minute
	s, c := f.login(t, in)
	if !s.ExpiresAt.Equal(in.ExpiresAt) || s.IdleTimeout != 10*time.Minute {
		t.Fatalf("shorter lifetimes not kept: %+v", *s)
	}
	if c.MaxAge < 3599 || c.MaxAge > 3600 {
		t.Fatalf("MaxAge %d, want the session's remaining hour", c.MaxAge)
	}
	in = employee()
	in.ExpiresAt = now.Add(100 * time.Hour)
	in.IdleTimeout = 100 * time.Hour
	s, _ = f.login(t, in)
	if s.ExpiresAt.After(f.clk.Now().Add(8*time.Hour)) || s.IdleTimeout != 30*time.Minute {
		t.Fatalf("longer lifetimes not capped: %+v", *s)
	}
	in = employee()
	in.ExpiresAt = now.Add(-time.Minute)
	r := httptest.NewRequest("POST", "/", nil)
	if _, err := f.m.Login(context.Background(), httptest.NewRecorder(), r, in); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Login of an already expired session: %v", err)
	}
}

func TestCurrent(t *testing.T) {
	f := newFixture(true)
	ctx := context.Background()
	s, c := f.login(t, employee())
	name := c.Name
	for _, bad := range []*http.Cookie{
		{Name: name, Value: "junk"},
		{Name: name, Value: strings.Repeat("A", 43)}, // well formed, never issued
		{Name: name, Value: s.ID},                    // the id is not the secret
		{Name: "ssogate_session", Value: c.Value},    // wrong name on https
	} {
		if got, err := f.current(bad); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("cookie %s=%q: %+v, %v; want ErrNotFound", bad.Name, bad.Value, got, err)
		}
	}
	if _, err := f.current(); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("no cookie: %v", err)
	}

	// LastSeen is written at most every TouchEvery (1m).
	f.clk.Advance(30 * time.Second)
	if _, err := f.current(c); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.store.Get(ctx, s.ID); !st.LastSeen.Equal(s.LastSeen) {
		t.Fatal("touched within TouchEvery")
	}
	f.clk.Advance(31 * time.Second)
	got, err := f.current(c)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.store.Get(ctx, s.ID)
	if !st.LastSeen.After(s.LastSeen) || !got.LastSeen.Equal(st.LastSeen) {
		t.Fatalf("not touched after TouchEvery: stored %v, returned %v", st.LastSeen, got.LastSeen)
	}

	// Idle: 30m without a request ends it.
	f.clk.Advance(31 * time.Minute)
	if _, err := f.current(c); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after idle lifetime: %v", err)
	}

}

func TestAbsoluteLifetimeWhileBusy(t *testing.T) {
	f := newFixture(false)
	s, c := f.login(t, employee())
	end := s.ExpiresAt
	for f.clk.Now().Add(10 * time.Minute).Before(end) {
		f.clk.Advance(10 * time.Minute)
		if _, err := f.current(c); err != nil {
			t.Fatalf("busy session ended at %v, before its absolute end %v: %v", f.clk.Now(), end, err)
		}
	}
	f.clk.Advance(10 * time.Minute)
	if _, err := f.current(c); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after the absolute end: %v", err)
	}
}

func TestCurrentRefusesOtherKinds(t *testing.T) {
	f := newFixture(true)
	ctx := context.Background()
	secret := session.NewSecret()
	now := f.clk.Now()
	tok := &session.Session{ID: session.Key(secret), Kind: session.KindBearer, CompanyID: 1, EmployeeID: "emp-1",
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := f.store.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := f.current(&http.Cookie{Name: f.m.Cookie.Name, Value: secret}); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a bearer token as a cookie: %v, want ErrNotFound", err)
	}
	admin := &session.Manager{Store: f.store, Cookie: session.NewCookieConfig(session.AdminCookie, true), Kind: session.KindAdmin, Now: f.clk.Now}
	_, c := f.login(t, employee())
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: admin.Cookie.Name, Value: c.Value})
	if _, err := admin.Current(ctx, r); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("an employee session in the admin cookie: %v, want ErrNotFound", err)
	}
	if _, err := f.m.Login(ctx, httptest.NewRecorder(), r, &session.Session{Kind: session.KindAdmin}); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("browser manager issuing an admin session: %v", err)
	}
}

func TestCurrentFor(t *testing.T) {
	f := newFixture(true)
	_, c := f.login(t, employee())
	r := httptest.NewRequest("GET", "/c/other/", nil)
	r.AddCookie(c)
	if _, err := f.m.CurrentFor(context.Background(), r, 2); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("company 1's session at company 2: %v", err)
	}
	if s, err := f.m.CurrentFor(context.Background(), r, 1); err != nil || s.CompanyID != 1 {
		t.Fatalf("at its own company: %+v, %v", s, err)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(true)
	ctx := context.Background()
	s, c := f.login(t, employee())
	r := httptest.NewRequest("POST", "/c/acme/logout", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	if err := f.m.Logout(ctx, w, r); err != nil {
		t.Fatal(err)
	}
	set := w.Result().Cookies()
	if len(set) != 1 || set[0].Name != c.Name || set[0].MaxAge >= 0 || set[0].Value != "" ||
		!set[0].HttpOnly || !set[0].Secure || set[0].Path != "/" {
		t.Fatalf("logout cookie: %+v", set)
	}
	if _, err := f.store.Get(ctx, s.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("session after logout: %v", err)
	}
	if _, err := f.current(c); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("replayed cookie after logout: %v", err)
	}
	// Logging out without a session still clears the cookie.
	w = httptest.NewRecorder()
	if err := f.m.Logout(ctx, w, httptest.NewRequest("POST", "/", nil)); err != nil {
		t.Fatal(err)
	}
	if set := w.Result().Cookies(); len(set) != 1 || set[0].MaxAge >= 0 {
		t.Fatalf("logout without a session: %+v", set)
	}
}

func TestValidate(t *testing.T) {
	st := memstore.New(memstore.Options{})
	bad := []session.Manager{
		{Cookie: session.NewCookieConfig(session.BrowserCookie, true)}, // no store
		{Store: st, Cookie: session.CookieConfig{Name: "__Host-x", Secure: true, Domain: "example.com"}},
		{Store: st, Cookie: session.CookieConfig{Name: "__Host-x", Secure: true, Path: "/c/"}},
		{Store: st, Cookie: session.CookieConfig{Name: "__Host-x"}},
		{Store: st, Cookie: session.CookieConfig{Name: "x", SameSite: http.SameSiteNoneMode}},
		{Store: st, Cookie: session.CookieConfig{Name: "bad name"}},
		{Store: st, Cookie: session.CookieConfig{}},
		{Store: st, Cookie: session.NewCookieConfig("x", false), Idle: 2 * time.Hour, Absolute: time.Hour},
	}
	for i, m := range bad {
		if err := m.Validate(); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("case %d: Validate = %v, want ErrInvalid", i, err)
		}
		w := httptest.NewRecorder()
		if _, err := m.Login(context.Background(), w, httptest.NewRequest("POST", "/", nil), employee()); err == nil {
			t.Errorf("case %d: Login succeeded", i)
		}
		if len(w.Result().Cookies()) != 0 {
			t.Errorf("case %d: a refused Login set a cookie", i)
		}
	}
	good := session.Manager{Store: st, Cookie: session.NewCookieConfig(session.BrowserCookie, true)}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

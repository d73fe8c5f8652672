package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Manager defaults, used when the matching field is zero. They are the
// maximums: Login may be handed a session that ends sooner.
const (
	DefaultIdle       = 2 * time.Hour
	DefaultAbsolute   = 12 * time.Hour
	DefaultTouchEvery = time.Minute
)

// Manager joins a Store and a cookie: one session per browser. The cookie
// holds the secret; the Store sees only Key(secret).
//
// A zero Idle or Absolute means the default (never "unlimited"); a zero Kind
// means KindBrowser. Current accepts only sessions of the Manager's Kind, so
// a bearer token pasted into the cookie is worth nothing.
type Manager struct {
	Store    Store
	Cookie   CookieConfig
	Now      func() time.Time
	Idle     time.Duration
	Absolute time.Duration
	// TouchEvery: write LastSeen at most this often (default 1m, at most
	// Idle/2), so a busy browser costs one store write a minute, not one a
	// request. The idle clock therefore runs from the last write.
	TouchEvery time.Duration
	Kind       Kind
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) idle() time.Duration {
	if m.Idle > 0 {
		return m.Idle
	}
	return DefaultIdle
}

func (m *Manager) absolute() time.Duration {
	if m.Absolute > 0 {
		return m.Absolute
	}
	return DefaultAbsolute
}

func (m *Manager) touchEvery() time.Duration {
	d := m.TouchEvery
	if d <= 0 {
		d = DefaultTouchEvery
	}
	return min(d, m.idle()/2)
}

func (m *Manager) kind() Kind {
	if m.Kind != "" {
		return m.Kind
	}
	return KindBrowser
}

// Validate reports a Manager that cannot work safely: no Store, a bad
// cookie, an idle lifetime longer than the absolute one.
func (m *Manager) Validate() error {
	if m.Store == nil {
		return fmt.Errorf("%w: manager has no store", ErrInvalid)
	}
	if err := m.Cookie.Validate(); err != nil {
		return err
	}
	if m.idle() > m.absolute() {
		return fmt.Errorf("%w: idle lifetime %s is longer than absolute lifetime %s", ErrInvalid, m.idle(), m.absolute())
	}
	return nil
}

// Login destroys the browser's current session (if its cookie names one)
// server-side, creates a copy of s under a NEW secret, sets the cookie, and
// returns the new session. Never reuses an id (no fixation). Login sets ID,
// Kind, CreatedAt and LastSeen; IdleTimeout and ExpiresAt are capped at the
// Manager's lifetimes (s may shorten them, e.g. to SessionNotOnOrAfter).
func (m *Manager) Login(ctx context.Context, w http.ResponseWriter, r *http.Request, s *Session) (*Session, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: no session to log in", ErrInvalid)
	}
	if s.Kind != "" && s.Kind != m.kind() {
		return nil, fmt.Errorf("%w: a %s manager cannot issue a %s session", ErrInvalid, m.kind(), s.Kind)
	}
	if err := m.destroy(ctx, r); err != nil {
		return nil, err
	}
	now := m.now()
	ns := *s
	secret := NewSecret()
	ns.ID = Key(secret)
	ns.Kind = m.kind()
	ns.CreatedAt = now
	ns.LastSeen = now
	if ns.IdleTimeout <= 0 || ns.IdleTimeout > m.idle() {
		ns.IdleTimeout = m.idle()
	}
	if abs := now.Add(m.absolute()); ns.ExpiresAt.IsZero() || ns.ExpiresAt.After(abs) {
		ns.ExpiresAt = abs
	}
	if !ns.Live(now) {
		return nil, fmt.Errorf("%w: session would already be expired", ErrInvalid)
	}
	if err := m.Store.Create(ctx, &ns); err != nil {
		return nil, fmt.Errorf("session: create: %w", err)
	}
	http.SetCookie(w, m.Cookie.HTTPCookie(secret, maxAgeSeconds(ns.ExpiresAt.Sub(now))))
	return &ns, nil
}

// maxAgeSeconds rounds up, so the cookie never dies before the session.
func maxAgeSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// Current returns the live session named by the cookie (touching it at most
// every TouchEvery), or ErrNotFound: no cookie, a malformed value, an
// unknown, expired or revoked session, or a session of another Kind. Other
// errors mean the store failed; callers must treat them as "not signed in".
func (m *Manager) Current(ctx context.Context, r *http.Request) (*Session, error) {
	if m.Store == nil {
		return nil, fmt.Errorf("%w: manager has no store", ErrInvalid)
	}
	c, err := r.Cookie(m.Cookie.Name)
	if err != nil || !wellFormedSecret(c.Value) {
		return nil, ErrNotFound
	}
	s, err := m.Store.Get(ctx, Key(c.Value))
	if err != nil {
		return nil, err
	}
	now := m.now()
	if s.Kind != m.kind() || !s.Live(now) {
		return nil, ErrNotFound
	}
	if now.Sub(s.LastSeen) >= m.touchEvery() {
		if err := m.Store.Touch(ctx, s.ID, now); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, ErrNotFound
			}
			return nil, fmt.Errorf("session: touch: %w", err)
		}
		s.LastSeen = now
	}
	return s, nil
}

// CurrentFor is Current for one company: a session of another company is
// ErrNotFound, so company A's session is useless at company B.
func (m *Manager) CurrentFor(ctx context.Context, r *http.Request, companyID int64) (*Session, error) {
	s, err := m.Current(ctx, r)
	if err != nil {
		return nil, err
	}
	if s.CompanyID != companyID {
		return nil, ErrNotFound
	}
	return s, nil
}

// Logout deletes the session server-side and expires the cookie. The cookie
// is expired even when the store fails; the store's error is returned.
func (m *Manager) Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	m.ExpireCookie(w)
	if m.Store == nil {
		return fmt.Errorf("%w: manager has no store", ErrInvalid)
	}
	return m.destroy(ctx, r)
}

// ExpireCookie tells the browser to drop the cookie (e.g. after Current
// returned ErrNotFound), without touching the store.
func (m *Manager) ExpireCookie(w http.ResponseWriter) {
	http.SetCookie(w, m.Cookie.HTTPCookie("", -1))
}

// destroy deletes every session the request's cookies of this name point at.
func (m *Manager) destroy(ctx context.Context, r *http.Request) error {
	for _, c := range r.CookiesNamed(m.Cookie.Name) {
		if !wellFormedSecret(c.Value) {
			continue
		}
		if err := m.Store.Delete(ctx, Key(c.Value)); err != nil {
			return fmt.Errorf("session: delete old session: %w", err)
		}
	}
	return nil
}

// wellFormedSecret reports whether v looks like NewSecret's output (43
// base64url characters), so junk never reaches the store.
func wellFormedSecret(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

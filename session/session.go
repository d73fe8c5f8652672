// Package session owns short-lived, shared state: browser sessions (one per
// browser), admin sessions, mobile bearer tokens, pending SAML requests,
// OAuth authorization codes, the assertion replay cache, and revocation of
// all of an employee's sessions at once.
//
// The Store interface has two implementations: redisstore (production,
// shared by every instance) and memstore (in-process, the embedded
// default). Both pass the conformance suite in sessiontest. Secrets (cookie
// values, bearer tokens, codes) never reach a Store: callers key records by
// Key(secret), a SHA-256, so a dump of the store holds nothing usable.
//
// This package never imports sso, web or the directory.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// ErrNotFound is returned for a missing, expired or already-taken record.
var ErrNotFound = errors.New("session: not found")

// ErrReplayed is returned by Consume for a key already consumed.
var ErrReplayed = errors.New("session: already used")

// Kind tells sessions apart.
type Kind string

const (
	KindBrowser Kind = "browser" // employee web session (cookie)
	KindAdmin   Kind = "admin"   // setup-admin console session (cookie)
	KindBearer  Kind = "bearer"  // mobile access token
	KindRefresh Kind = "refresh" // mobile refresh token
)

// Session is one server-side session or token. ID is Key(secret).
type Session struct {
	ID         string    `json:"id"`
	Kind       Kind      `json:"kind"`
	CompanyID  int64     `json:"company_id"`
	Company    string    `json:"company"` // slug
	EmployeeID string    `json:"employee_id,omitempty"`
	AdminID    int64     `json:"admin_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeen   time.Time `json:"last_seen"`
	// IdleTimeout: the session ends when LastSeen+IdleTimeout passes (0 = no
	// idle limit). ExpiresAt: absolute end.
	IdleTimeout time.Duration `json:"idle_timeout"`
	ExpiresAt   time.Time     `json:"expires_at"`
	// Family groups the tokens issued from one OAuth code, so a reused code
	// revokes all of them.
	Family   string `json:"family,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// Via records how the session was made ("saml:idp", "saml:sp",
	// "password", "oauth"), CertSHA256 which certificate verified it.
	Via        string `json:"via,omitempty"`
	CertSHA256 string `json:"cert_sha256,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	RemoteIP   string `json:"remote_ip,omitempty"`
	// SAMLNameID, SAMLNameIDFormat and SAMLSessionIndex are the assertion's
	// subject and session, kept for a SAML Single Logout that starts here.
	SAMLNameID       string `json:"saml_nameid,omitempty"`
	SAMLNameIDFormat string `json:"saml_nameid_format,omitempty"`
	SAMLSessionIndex string `json:"saml_session_index,omitempty"`
}

// Expiry is when the session ends if it is not touched again.
func (s *Session) Expiry() time.Time {
	if s.IdleTimeout <= 0 {
		return s.ExpiresAt
	}
	idle := s.LastSeen.Add(s.IdleTimeout)
	if idle.Before(s.ExpiresAt) {
		return idle
	}
	return s.ExpiresAt
}

// Live reports whether the session is still valid at now.
func (s *Session) Live(now time.Time) bool { return now.Before(s.Expiry()) }

// Store keeps sessions and one-shot values. Implementations must be safe
// for concurrent use and, for redisstore, across processes.
type Store interface {
	// Create stores s (s.ID set by the caller) and indexes it under its
	// employee (CompanyID, EmployeeID) when EmployeeID is set, and under its
	// Family when set. The record expires at s.Expiry().
	Create(ctx context.Context, s *Session) error
	// Get returns a live session; ErrNotFound when missing or expired.
	Get(ctx context.Context, id string) (*Session, error)
	// Touch sets LastSeen and extends the record's expiry accordingly
	// (never past ExpiresAt). ErrNotFound when gone.
	Touch(ctx context.Context, id string, at time.Time) error
	// Delete removes one session (no error when already gone).
	Delete(ctx context.Context, id string) error
	// ListEmployee returns the live sessions of one employee.
	ListEmployee(ctx context.Context, companyID int64, employeeID string) ([]Session, error)
	// RevokeEmployee deletes every session and token of one employee and
	// returns how many it deleted.
	RevokeEmployee(ctx context.Context, companyID int64, employeeID string) (int, error)
	// RevokeFamily deletes every session in a family.
	RevokeFamily(ctx context.Context, family string) (int, error)

	// Put stores a one-shot value under key for ttl (overwriting).
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Take atomically returns and deletes the value: of two concurrent Takes
	// at most one succeeds. ErrNotFound when missing or expired.
	Take(ctx context.Context, key string) ([]byte, error)
	// Consume records key as used until until; ErrReplayed if it was already
	// recorded (SET NX semantics, shared by every instance for redisstore).
	Consume(ctx context.Context, key string, until time.Time) error
	// Count adds delta (which may be negative) to the counter under key,
	// atomically (every rate limit, internal/throttle, counts here): of concurrent callers each sees its own new
	// value. It returns the new value and how long the counter lives on. A
	// counter is created by its first non-zero delta and expires window
	// later; later calls never extend it. delta 0 only reads: (0, 0) for a
	// missing counter, which it does not create.
	Count(ctx context.Context, key string, delta int64, window time.Duration) (n int64, ttl time.Duration, err error)

	// Ping checks the store is reachable; Close releases it.
	Ping(ctx context.Context) error
	Close() error
}

// NewSecret returns a 256-bit random secret, base64url without padding:
// the value that goes into a cookie, a bearer token or an OAuth code.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("session: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Key returns the store key for a secret: hex SHA-256. Stores never see the
// secret itself.
func Key(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

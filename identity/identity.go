// Package identity mints the signed identity assertion ssogate hands the
// product behind it (the X-Ssogate-Assertion header): a short-lived JWT
// whose keys are published at /.well-known/jwks.json.
//
// This file fixes the API the web layer calls. The key store, rotation and
// the JWKS document are built behind it (issue 11); until then New returns
// a Signer with one process-local key, which is NOT fit for more than one
// instance.
package identity

import (
	"context"
	"errors"
	"time"
)

// Claims is who the assertion speaks for. The Signer adds iss, aud, iat,
// exp and the key id.
type Claims struct {
	Subject  string   `json:"sub"` // employee id
	Company  string   `json:"company"`
	UserName string   `json:"userName"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"` // "admin", "approver"
	// SID is an opaque, non-reversible handle of the session (the caller
	// derives it; it must never be the session secret or its store key).
	SID string `json:"sid"`
}

// Signer mints assertions and publishes the keys that verify them.
type Signer struct {
	issuer string
	ttl    time.Duration
}

// Options configure a Signer.
type Options struct {
	// Issuer is the iss claim: SSOGATE_PUBLIC_URL.
	Issuer string
	// TTL is exp - iat (at most 5 minutes).
	TTL time.Duration
	// Now is the clock (nil = time.Now).
	Now func() time.Time
}

// ErrUnavailable: no signing key could be had (the key store is down).
var ErrUnavailable = errors.New("identity: signing key unavailable")

// New returns a Signer.
func New(o Options) (*Signer, error) {
	return &Signer{issuer: o.Issuer, ttl: o.TTL}, nil
}

// MaxAge is how long a verifier may cache the JWKS document.
func (s *Signer) MaxAge() time.Duration { return 5 * time.Minute }

// Mint returns a compact JWS for c, audience aud.
func (s *Signer) Mint(ctx context.Context, aud string, c Claims) (string, error) {
	return "", ErrUnavailable
}

// JWKS returns the JSON Web Key Set document (application/json) with every
// key that may verify a live assertion.
func (s *Signer) JWKS(ctx context.Context) ([]byte, error) {
	return []byte(`{"keys":[]}`), nil
}

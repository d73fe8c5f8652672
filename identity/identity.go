// Package identity mints the signed identity assertion ssogate hands the
// product behind it (the X-Ssogate-Assertion header): a short-lived JWT
// (ES256, kid in its header) whose keys are published at
// /.well-known/jwks.json.
//
// It owns the signing keys' lifecycle: keys live in the directory database
// (shared by every instance), a new key is published in the JWKS for Lead
// before it signs, the old one stays published until every assertion it
// signed has expired, and exactly one instance adds each key (the store's
// unique Seq). Every instance re-reads the keys every Refresh. It also
// keeps a bounded cache of minted assertions so signing does not cost a
// signature per request.
//
// It imports the directory only for the key record; no HTTP, no protocol.
package identity

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssogate/ssogate/sso/directory"
)

// Algorithm is the JWS algorithm of every assertion.
const Algorithm = "ES256"

// MaxTTL is the longest lifetime an assertion may have.
const MaxTTL = 5 * time.Minute

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

// KeyStore is the part of the directory the Signer uses.
type KeyStore interface {
	AddSigningKey(ctx context.Context, k *directory.SigningKey) error
	ListSigningKeys(ctx context.Context) ([]directory.SigningKey, error)
	DeleteSigningKey(ctx context.Context, seq int64) error
}

// Options configure a Signer. Zero durations take the defaults.
type Options struct {
	// Issuer is the iss claim: SSOGATE_PUBLIC_URL.
	Issuer string
	// Store keeps the signing keys (the directory).
	Store KeyStore
	// TTL is exp - iat (default 2m, at most MaxTTL).
	TTL time.Duration
	// Rotation is how long a key signs before the next one takes over
	// (default 7 days; at least 2×Lead).
	Rotation time.Duration
	// Lead is how long a new key is published in the JWKS before it signs
	// (default 2h): at least as long as any verifier caches the JWKS. The
	// very first key signs at once (there is nothing cached to outlive).
	Lead time.Duration
	// MaxAge is the JWKS document's Cache-Control max-age (default 10m;
	// Lead must be at least MaxAge + 2×Refresh).
	MaxAge time.Duration
	// Refresh is how often an instance re-reads the keys (default 30s).
	Refresh time.Duration
	// Secret, when set, seals private keys at rest (AES-256-GCM under a
	// key derived with HKDF-SHA256). Keys written without it stay readable.
	Secret []byte
	// CacheSize bounds the minted-assertion cache (default 10,000; < 0 =
	// no cache).
	CacheSize int
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// Logger receives key lifecycle events (nil = discard).
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultTTL       = 2 * time.Minute
	DefaultRotation  = 7 * 24 * time.Hour
	DefaultLead      = 2 * time.Hour
	DefaultMaxAge    = 10 * time.Minute
	DefaultRefresh   = 30 * time.Second
	DefaultCacheSize = 10000
	// retireGrace is added after the last assertion of a retired key has
	// expired before the key leaves the JWKS: clock differences between
	// instances and verifiers' leeway.
	retireGrace = 2 * time.Minute
)

// ErrUnavailable: no signing key could be had (the key store is down, or
// the current key cannot be unsealed). Callers answer 503.
var ErrUnavailable = errors.New("identity: signing key unavailable")

// Signer mints assertions and publishes the keys that verify them.
type Signer struct {
	o     Options
	log   *slog.Logger
	aead  *sealer // nil without a Secret
	set   atomic.Pointer[keySet]
	mu    sync.Mutex // one reload at a time
	bg    atomic.Bool
	cache *mintCache
	// syncReload: re-read in the caller, never in the background (tests).
	syncReload bool
}

// New returns a Signer. It reads no key yet: the first Mint or JWKS does.
func New(o Options) (*Signer, error) {
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Rotation == 0 {
		o.Rotation = DefaultRotation
	}
	if o.Lead == 0 {
		o.Lead = DefaultLead
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Refresh == 0 {
		o.Refresh = DefaultRefresh
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var errs []error
	if o.Issuer == "" {
		errs = append(errs, errors.New("identity: no issuer"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("identity: no key store"))
	}
	if o.TTL < time.Second || o.TTL > MaxTTL {
		errs = append(errs, fmt.Errorf("identity: assertion lifetime %s must be between 1s and %s", o.TTL, MaxTTL))
	}
	if o.Refresh < 0 || o.MaxAge < 0 {
		errs = append(errs, errors.New("identity: negative refresh or max-age"))
	}
	if o.Lead < o.MaxAge+2*o.Refresh {
		errs = append(errs, fmt.Errorf("identity: key lead time %s must be at least the JWKS max-age %s plus twice the key refresh %s", o.Lead, o.MaxAge, o.Refresh))
	}
	if o.Rotation < 2*o.Lead {
		errs = append(errs, fmt.Errorf("identity: key rotation %s must be at least twice the lead time %s", o.Rotation, o.Lead))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Signer{o: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if len(o.Secret) > 0 {
		a, err := newSealer(o.Secret)
		if err != nil {
			return nil, err
		}
		s.aead = a
	}
	if o.CacheSize > 0 {
		s.cache = newMintCache(o.CacheSize)
	}
	return s, nil
}

// MaxAge is how long a verifier may cache the JWKS document.
func (s *Signer) MaxAge() time.Duration { return s.o.MaxAge }

// TTL is the assertions' lifetime (exp - iat).
func (s *Signer) TTL() time.Duration { return s.o.TTL }

// assertion is the JWT claim set.
type assertion struct {
	Company  string   `json:"company"`
	UserName string   `json:"userName"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	SID      string   `json:"sid"`
	// Audience is one string (the embedded field would be a list).
	Audience string `json:"aud"`
	jwt.RegisteredClaims
}

// Mint returns a compact JWS for c, audience aud. An assertion minted for
// the same audience and claims is reused while more than half of its
// lifetime remains. Any failure to have a usable key is ErrUnavailable.
func (s *Signer) Mint(ctx context.Context, aud string, c Claims) (string, error) {
	if aud == "" || c.Subject == "" {
		return "", errors.New("identity: an assertion needs an audience and a subject")
	}
	now := s.o.Now()
	var ck []byte
	if s.cache != nil {
		ck = cacheKey(aud, &c)
		if tok, ok := s.cache.get(ck, now); ok {
			return tok, nil
		}
	}
	ks, err := s.keys(ctx, now)
	if err != nil {
		return "", err
	}
	k := ks.signing(now)
	if k == nil {
		return "", fmt.Errorf("%w: no key signs at %s", ErrUnavailable, now.UTC().Format(time.RFC3339))
	}
	if k.priv == nil {
		return "", fmt.Errorf("%w: key %s: %w", ErrUnavailable, k.row.KID, k.err)
	}
	iat := now.Truncate(time.Second)
	exp := iat.Add(s.o.TTL)
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	claims := assertion{
		Company: c.Company, UserName: c.UserName, Email: c.Email, Name: c.Name, Roles: roles, SID: c.SID, Audience: aud,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.o.Issuer, Subject: c.Subject,
			IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = k.row.KID
	tok, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("%w: sign: %w", ErrUnavailable, err)
	}
	if s.cache != nil {
		// Reuse while more than half the lifetime remains.
		s.cache.put(string(ck), tok, iat, iat.Add(s.o.TTL/2))
	}
	return tok, nil
}

// JWKS returns the JSON Web Key Set document (application/json) with every
// key that may verify a live assertion, and the next key before it signs.
func (s *Signer) JWKS(ctx context.Context) ([]byte, error) {
	ks, err := s.keys(ctx, s.o.Now())
	if err != nil {
		return nil, err
	}
	return ks.jwks, nil
}

// cacheKey is the audience and every claim, each length-prefixed so that
// no two different inputs give the same key.
func cacheKey(aud string, c *Claims) []byte {
	n := len(aud) + len(c.Subject) + len(c.Company) + len(c.UserName) + len(c.Email) + len(c.Name) + len(c.SID) + 8*4
	for _, r := range c.Roles {
		n += len(r) + 4
	}
	b := make([]byte, 0, n)
	add := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	add(aud)
	add(c.Subject)
	add(c.Company)
	add(c.UserName)
	add(c.Email)
	add(c.Name)
	add(c.SID)
	b = binary.AppendUvarint(b, uint64(len(c.Roles)))
	for _, r := range c.Roles {
		add(r)
	}
	return b
}

// key is one parsed signing key.
type key struct {
	row  directory.SigningKey
	pub  *ecdsa.PublicKey
	priv *ecdsa.PrivateKey // nil when it cannot be unsealed (err says why)
	err  error
}

// Package scimcred is the format of the credentials Entra's provisioning
// service presents to the SCIM endpoint: the long-lived Secret Token and
// the OAuth 2.0 client credentials (client id, client secret, access
// token). The issuer (admin, for the CLI and the console) and the verifier
// (sso/scim) share it here: a prefix secret scanners can match, 32 bytes
// from crypto/rand in unpadded base64url, and only the SHA-256 stored.
package scimcred

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The prefixes of the credentials.
const (
	TokenPrefix        = "ssg_scim_"       // a Secret Token
	ClientIDPrefix     = "scim-"           // a client identifier (public)
	ClientSecretPrefix = "ssg_scimsecret_" // a client secret
	AccessTokenPrefix  = "ssg_scimat_"     // an access token from the token endpoint
)

// A client secret lives one to three years (the choices Entra's own
// app secrets offer); the default is one.
const (
	MinSecretYears     = 1
	MaxSecretYears     = 3
	DefaultSecretYears = 1
)

// New returns a new credential with the prefix and its SHA-256, the only
// part that is stored.
func New(prefix string) (plain string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("scimcred: random: %w", err)
	}
	plain = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return plain, Hash(plain), nil
}

// Hash is what the store keeps of a credential, and looks it up by.
func Hash(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}

// NewClientID returns a new client identifier: public, so 80 random bits
// are enough to keep it unguessable among a company's few clients.
func NewClientID() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("scimcred: client id: %w", err)
	}
	return ClientIDPrefix + hex.EncodeToString(b[:]), nil
}

// ParseSecretYears reads a secret lifetime: "1y", "2y" or "3y" ("" is the
// default, one year).
func ParseSecretYears(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return DefaultSecretYears, nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "y"))
	if err != nil || !strings.HasSuffix(s, "y") || n < MinSecretYears || n > MaxSecretYears {
		return 0, fmt.Errorf("secret lifetime %q: give 1y, 2y or 3y", s)
	}
	return n, nil
}

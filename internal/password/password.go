// Package password hashes and verifies setup admins' local (break-glass)
// passwords with argon2id (golang.org/x/crypto/argon2), in the PHC string
// format: $argon2id$v=19$m=…,t=…,p=…$salt$hash. Passwords never leave this
// package in any other form.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Parameters follow the OWASP argon2id recommendation (m=19 MiB, t=2, p=1)
// rounded up a little.
const (
	memoryKiB = 32 * 1024
	passes    = 2
	threads   = 1
	keyLen    = 32
	saltLen   = 16
	// MinLength is the shortest password accepted.
	MinLength = 12
	// MaxLength bounds the work an attacker can make us do.
	MaxLength = 256
)

// ErrMismatch is returned by Verify for a wrong password.
var ErrMismatch = errors.New("password: mismatch")

// Check reports why a new password is unacceptable, or nil.
func Check(pw string) error {
	switch {
	case len(pw) < MinLength:
		return fmt.Errorf("the password must have at least %d characters", MinLength)
	case len(pw) > MaxLength:
		return fmt.Errorf("the password must have at most %d characters", MaxLength)
	}
	return nil
}

// Hash returns the encoded argon2id hash of pw.
func Hash(pw string) (string, error) {
	if err := Check(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, passes, memoryKiB, threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Dummy is the hash of a random password nobody knows, made once: a
// sign-in for an account that does not exist (or has no password) is
// verified against it, so a wrong name costs the same time as a wrong
// password.
var Dummy = sync.OnceValue(func() string {
	h, err := Hash(rand.Text())
	if err != nil {
		panic("password: hash the dummy password: " + err.Error())
	}
	return h
})

// Verify checks pw against an encoded hash in constant time.
func Verify(encoded, pw string) error {
	if len(pw) > MaxLength {
		return ErrMismatch
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("password: unknown hash format")
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 16 {
		return errors.New("password: bad argon2 parameters")
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return errors.New("password: bad hash encoding")
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

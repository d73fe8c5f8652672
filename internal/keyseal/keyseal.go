// Package keyseal seals private keys at rest with an operator's secret
// (SSOGATE_SIGNING_KEY_SECRET): AES-256-GCM under a key derived from the
// secret with HKDF-SHA256, one derived key per purpose, and additional
// data that binds each sealed key to its row, so a key copied into another
// row (another company, another key id) does not open.
//
// A sealed value is a fresh 12-byte nonce followed by the ciphertext.
package keyseal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Sealer seals and opens values for one purpose.
type Sealer struct{ aead cipher.AEAD }

// New derives the sealing key for purpose (a fixed string naming what is
// sealed, e.g. "ssogate signing key sealing v1") from secret.
func New(secret []byte, purpose string) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("keyseal: empty secret")
	}
	kek, err := hkdf.Key(sha256.New, secret, nil, purpose, 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: a}, nil
}

// ErrOpen: the value does not open with this secret and additional data
// (another secret, another row, or tampered).
var ErrOpen = errors.New("keyseal: the value does not open with this secret")

// Seal returns nonce || ciphertext of plain, bound to aad.
func (s *Sealer) Seal(plain, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return s.aead.Seal(nonce, nonce, plain, aad)
}

// Open reverses Seal.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

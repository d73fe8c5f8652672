package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/keyseal"
	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
)

// Token encryption: the company's SP encryption keys (directory), handed
// to sso for decryption, and their use recorded for the admin.

// encryptionKeys returns the company's live encryption key pairs, newest
// first, when token encryption is on (none otherwise: the database is not
// read for companies that do not use it).
func (s *Server) encryptionKeys(ctx context.Context, c *directory.Company) ([]sso.DecryptionKey, error) {
	if c.TokenEncryption != directory.EncryptionOptional && c.TokenEncryption != directory.EncryptionRequired {
		return nil, nil
	}
	list, err := s.dir.ListEncryptionKeys(ctx, c.ID, false)
	if err != nil {
		return nil, fmt.Errorf("encryption keys of %s: %w", c.Slug, err)
	}
	out := make([]sso.DecryptionKey, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		pkcs8, err := s.keySealer.open(c.ID, list[i].CertDER, list[i].PrivateKey)
		if err != nil {
			s.log.Error("stored encryption key cannot be unsealed; it is skipped", "company", c.Slug, "sha1", list[i].SHA1, "err", err)
			continue
		}
		key, cert, err := certs.ParseEncryptionKey(pkcs8, list[i].CertDER)
		if err != nil {
			s.log.Error("stored encryption key unreadable; it is skipped", "company", c.Slug, "sha1", list[i].SHA1, "err", err)
			continue
		}
		out = append(out, sso.DecryptionKey{Key: key, Cert: cert})
	}
	return out, nil
}

// encryptionCN names a company's encryption certificate.
func encryptionCN(slug string) string { return "ssogate token encryption (" + slug + ")" }

// MakeEncryptionKey makes a new encryption key pair for the company, its
// private key sealed with secret (SSOGATE_SIGNING_KEY_SECRET; empty = kept
// as PKCS #8), ready for AddEncryptionKey. The previous live keys stay
// (rollover).
func MakeEncryptionKey(c *directory.Company, secret string, now time.Time) (*directory.EncryptionKey, error) {
	ks, err := newKeySealer(secret)
	if err != nil {
		return nil, err
	}
	k, err := certs.NewEncryptionKey(encryptionCN(c.Slug), now)
	if err != nil {
		return nil, err
	}
	return &directory.EncryptionKey{CompanyID: c.ID, PrivateKey: ks.seal(c.ID, k.CertDER, k.PrivateKey),
		CertDER: k.CertDER, NotAfter: k.NotAfter}, nil
}

// NewEncryptionKey is MakeEncryptionKey, stored.
func NewEncryptionKey(ctx context.Context, st directory.Store, c *directory.Company, secret string, now time.Time) (*directory.EncryptionKey, error) {
	ek, err := MakeEncryptionKey(c, secret, now)
	if err != nil {
		return nil, err
	}
	if err := st.AddEncryptionKey(ctx, ek); err != nil {
		return nil, err
	}
	return ek, nil
}

// Sealing of encryption private keys at rest, with the secret that seals
// the identity signing keys. A sealed value is sealedPrefix, a GCM nonce
// and the sealed PKCS #8 (which itself starts with 0x30, never with the
// prefix); the company and certificate are the additional data, so a key
// moved to another row or company does not open.

const sealedPrefix = "ssogate-sealed-v1:"

type keySealer struct{ ks *keyseal.Sealer } // nil: keys are stored as PKCS #8

func newKeySealer(secret string) (*keySealer, error) {
	if secret == "" {
		return nil, nil
	}
	ks, err := keyseal.New([]byte(secret), "ssogate token encryption key sealing v1")
	if err != nil {
		return nil, err
	}
	return &keySealer{ks: ks}, nil
}

func sealAAD(companyID int64, certDER []byte) []byte {
	sum := sha256.Sum256(certDER)
	return binary.BigEndian.AppendUint64(sum[:], uint64(companyID))
}

func (k *keySealer) seal(companyID int64, certDER, pkcs8 []byte) []byte {
	if k == nil {
		return pkcs8
	}
	return append([]byte(sealedPrefix), k.ks.Seal(pkcs8, sealAAD(companyID, certDER))...)
}

func (k *keySealer) open(companyID int64, certDER, stored []byte) ([]byte, error) {
	rest, sealed := bytes.CutPrefix(stored, []byte(sealedPrefix))
	if !sealed {
		return stored, nil
	}
	if k == nil {
		return nil, errors.New("the private key is sealed and SSOGATE_SIGNING_KEY_SECRET is not set")
	}
	plain, err := k.ks.Open(rest, sealAAD(companyID, certDER))
	if err != nil {
		return nil, errors.New("the private key does not unseal with SSOGATE_SIGNING_KEY_SECRET (was it changed?)")
	}
	return plain, nil
}

// keyTouches throttles the "last decrypted" write to once per key and
// interval per instance: it is for the admin, not an audit trail.
type keyTouches struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const keyTouchEvery = 10 * time.Minute

func (s *Server) touchEncryptionKey(ctx context.Context, co *directory.Company, sha256 string) {
	now := s.now()
	s.keyTouch.mu.Lock()
	if s.keyTouch.last == nil {
		s.keyTouch.last = map[string]time.Time{}
	}
	if t, ok := s.keyTouch.last[sha256]; ok && now.Sub(t) < keyTouchEvery {
		s.keyTouch.mu.Unlock()
		return
	}
	s.keyTouch.last[sha256] = now
	s.keyTouch.mu.Unlock()
	if err := s.dir.TouchEncryptionKey(ctx, co.ID, sha256, now); err != nil {
		s.log.Warn("record encryption key use", "company", co.Slug, "err", err)
	}
}

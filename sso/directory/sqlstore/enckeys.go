package sqlstore

import (
	"context"
	"crypto/sha1" //nolint:gosec // SHA-1 only names a certificate the way Entra shows it (Thumbprint)
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

func init() {
	// The unique key of sp_encryption_keys, as each dialect names it.
	conflictFields["sp_encryption_keys_sha256_key"] = "encryptionKey"
	conflictFields["sp_encryption_keys.company_id, sp_encryption_keys.sha256"] = "encryptionKey"
}

const encKeyCols = `id, company_id, private_key, cert_der, sha1, sha256, not_after, created_at, retired_at, last_used_at`

func scanEncKey(r rowScanner) (*directory.EncryptionKey, error) {
	var k directory.EncryptionKey
	var na, created, retired, used dbTime
	if err := r.Scan(&k.ID, &k.CompanyID, &k.PrivateKey, &k.CertDER, &k.SHA1, &k.SHA256, &na, &created, &retired, &used); err != nil {
		return nil, err
	}
	k.NotAfter, k.CreatedAt = na.T, created.T
	k.RetiredAt, k.LastUsedAt = retired.ptr(), used.ptr()
	return &k, nil
}

// AddEncryptionKey stores a new SP encryption key pair of k's company and
// bumps the company's Version. SHA1 and SHA256 are computed from CertDER.
func (s *Store) AddEncryptionKey(ctx context.Context, k *directory.EncryptionKey) error {
	var ck checker
	ck.company(k.CompanyID)
	if len(k.PrivateKey) == 0 || len(k.CertDER) == 0 {
		ck.fail("encryption key: private key and certificate are required")
	}
	ck.bytes("encryption private key", k.PrivateKey, maxLong)
	ck.bytes("encryption certificate", k.CertDER, maxLong)
	if k.NotAfter.IsZero() {
		ck.fail("encryption certificate has no expiry")
	}
	if ck.err != nil {
		return ck.err
	}
	s1, s256 := sha1.Sum(k.CertDER), sha256.Sum256(k.CertDER) //nolint:gosec // display thumbprint
	in := *k
	in.SHA1, in.SHA256 = strings.ToUpper(hex.EncodeToString(s1[:])), hex.EncodeToString(s256[:])
	var out *directory.EncryptionKey
	err := s.inTx(ctx, func(tx *Store) error {
		now := tx.clock()
		if err := tx.bumpCompany(ctx, in.CompanyID, now); err != nil {
			return err
		}
		var err error
		out, err = scanEncKey(tx.queryRowW(ctx, `INSERT INTO sp_encryption_keys (company_id, private_key, cert_der, sha1, sha256, not_after, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+encKeyCols,
			in.CompanyID, in.PrivateKey, in.CertDER, in.SHA1, in.SHA256, tx.tv(in.NotAfter), tx.tv(now)))
		return tx.translate(err)
	})
	if err != nil {
		return fmt.Errorf("add encryption key to company %d: %w", in.CompanyID, err)
	}
	*k = *out
	return nil
}

// ListEncryptionKeys lists the company's SP encryption keys, oldest first.
func (s *Store) ListEncryptionKeys(ctx context.Context, companyID int64, includeRetired bool) ([]directory.EncryptionKey, error) {
	return listRetirable(ctx, s, "sp_encryption_keys", encKeyCols, "created_at", companyID, includeRetired, scanEncKey)
}

// RetireEncryptionKey stops publishing and using the key (keeping an
// earlier retirement time) and bumps the company's Version when it changed.
func (s *Store) RetireEncryptionKey(ctx context.Context, companyID int64, sha256 string, at time.Time) error {
	if err := s.retireOnce(ctx, "sp_encryption_keys", companyID, sha256, at); err != nil {
		return fmt.Errorf("retire encryption key %s of company %d: %w", sha256, companyID, err)
	}
	return nil
}

// TouchEncryptionKey records that the key decrypted an accepted assertion
// at at; LastUsedAt never moves back.
func (s *Store) TouchEncryptionKey(ctx context.Context, companyID int64, sha256 string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE sp_encryption_keys SET last_used_at = ?
		WHERE company_id = ? AND sha256 = ? AND (last_used_at IS NULL OR last_used_at < ?)`, s.tv(at), companyID, sha256, s.tv(at))
	if err != nil {
		return fmt.Errorf("touch encryption key %s of company %d: %w", sha256, companyID, s.translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Either unknown, or already as recent: tell them apart.
		var one int
		if err := s.queryRowR(ctx, `SELECT 1 FROM sp_encryption_keys WHERE company_id = ? AND sha256 = ?`, companyID, sha256).Scan(&one); err != nil {
			return fmt.Errorf("touch encryption key %s of company %d: %w", sha256, companyID, s.translate(err))
		}
	}
	return nil
}

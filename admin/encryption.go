package admin

import (
	"context"
	"errors"
	"strings"

	"github.com/ssogate/ssogate/sso/directory"
)

// SetTokenEncryption sets a company's token encryption policy (off,
// optional or required; Entra's Token encryption). Turning it on while the
// company has no live key pair makes the first one (s.NewEncryptionKey)
// and stores it with the policy in one transaction; it is returned (nil
// when none was made). The audit entry is sso.configure
// ("encryption=required new_key=<SHA-1>").
func (s *Service) SetTokenEncryption(ctx context.Context, a Actor, companyID int64, mode string) (*directory.EncryptionKey, error) {
	m := directory.TokenEncryption(strings.ToLower(strings.TrimSpace(mode)))
	if !m.Valid() {
		return nil, invalid("Token encryption: choose off, optional or required.")
	}
	co, err := s.Dir.GetCompanyByID(ctx, companyID)
	if err != nil {
		return nil, err
	}
	live, err := s.Dir.ListEncryptionKeys(ctx, companyID, false)
	if err != nil {
		return nil, err
	}
	// The key pair is made before the transaction (RSA key generation
	// takes a while); if another change made one meanwhile, it is dropped.
	var fresh *directory.EncryptionKey
	if m != directory.EncryptionOff && len(live) == 0 {
		if s.NewEncryptionKey == nil {
			return nil, errors.New("admin: no way to make an encryption key pair")
		}
		if fresh, err = s.NewEncryptionKey(co, s.now()); err != nil {
			return nil, err
		}
	}
	var made *directory.EncryptionKey
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		co, err := tx.GetCompanyByID(ctx, companyID)
		if err != nil {
			return err
		}
		detail := "encryption=" + string(m)
		if fresh != nil {
			live, err := tx.ListEncryptionKeys(ctx, companyID, false)
			if err != nil {
				return err
			}
			if len(live) == 0 {
				if err := tx.AddEncryptionKey(ctx, fresh); err != nil {
					return err
				}
				made = fresh
				detail += " new_key=" + fresh.SHA1
			}
		}
		co.TokenEncryption = m
		if err := tx.UpdateCompanySettings(ctx, co); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "sso.configure", detail)
	})
	if err != nil {
		return nil, err
	}
	return made, nil
}

package admin

import (
	"context"
	"errors"
	"strings"

	"github.com/ssogate/ssogate/internal/usererr"
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
		return nil, usererr.New(usererr.Invalid, "bad_encryption_mode", "Token encryption: choose off, optional or required.")
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

// ErrNoRollover: FinishEncryptionRollover found one live key or none.
var ErrNoRollover = usererr.New(usererr.Conflict, "no_rollover", "No rollover is in progress (one encryption key or none).")

// RotateEncryptionKey starts a token-encryption rollover: a new key pair
// beside the live one, both decrypting until FinishEncryptionRollover. At
// most two keys are live at once; a third is refused. Audit:
// encryption.rotate ("sha1=<new>").
func (s *Service) RotateEncryptionKey(ctx context.Context, a Actor, companyID int64) (*directory.EncryptionKey, error) {
	if s.NewEncryptionKey == nil {
		return nil, errors.New("admin: no way to make an encryption key pair")
	}
	co, err := s.Dir.GetCompanyByID(ctx, companyID)
	if err != nil {
		return nil, err
	}
	inProgress := func(live []directory.EncryptionKey) error {
		if len(live) >= 2 {
			return usererr.Errorf(usererr.Conflict, "rollover_in_progress", "A rollover is already in progress (%d live keys): once Entra uses the newest certificate, finish it first.", len(live))
		}
		return nil
	}
	live, err := s.Dir.ListEncryptionKeys(ctx, companyID, false)
	if err != nil {
		return nil, err
	}
	if err := inProgress(live); err != nil {
		return nil, err
	}
	// Made before the transaction (RSA key generation takes a while); the
	// limit is checked again inside it.
	k, err := s.NewEncryptionKey(co, s.now())
	if err != nil {
		return nil, err
	}
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		live, err := tx.ListEncryptionKeys(ctx, companyID, false)
		if err != nil {
			return err
		}
		if err := inProgress(live); err != nil {
			return err
		}
		if err := tx.AddEncryptionKey(ctx, k); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "encryption.rotate", "sha1="+k.SHA1)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// FinishEncryptionRollover ends a rollover: every live key but the newest
// is retired (once Entra encrypts to the newest certificate). It returns
// the key kept and the keys retired; ErrNoRollover when there is nothing
// to finish. Audit: one encryption.retire per key ("sha1=<retired>
// kept=<newest>").
func (s *Service) FinishEncryptionRollover(ctx context.Context, a Actor, companyID int64) (kept directory.EncryptionKey, retired []directory.EncryptionKey, err error) {
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		live, err := tx.ListEncryptionKeys(ctx, companyID, false)
		if err != nil {
			return err
		}
		if len(live) < 2 {
			return ErrNoRollover
		}
		kept, retired = live[len(live)-1], live[:len(live)-1]
		now := s.now()
		for _, k := range retired {
			if err := tx.RetireEncryptionKey(ctx, companyID, k.SHA256, now); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, companyID, a.Name, "encryption.retire", "sha1="+k.SHA1+" kept="+kept.SHA1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return directory.EncryptionKey{}, nil, err
	}
	return kept, retired, nil
}

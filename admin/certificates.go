package admin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// CertAdded is what AddCertificate did.
type CertAdded struct {
	Cert *directory.Certificate
	// Readded: the company had this certificate already (trusted or
	// retired); adding it again trusts it again.
	Readded bool
}

// AddCertificate trusts a pasted IdP signing certificate (Entra's
// Certificate (Base64), a PEM or bare Base64 DER). A paste certs refuses
// comes back as certs refused it (a usererr.Error, Invalid, whose code is
// the certs.Reason and whose message is safe to show, saying what to
// paste instead); nothing is written. With retireOthers every other
// certificate of the company is retired in the same transaction (the new
// one is then the only one trusted). The audit entry is cert.add.
func (s *Service) AddCertificate(ctx context.Context, a Actor, companyID int64, paste string, retireOthers bool) (*CertAdded, error) {
	now := s.now()
	info, err := certs.Parse(paste, now)
	if err != nil {
		return nil, err
	}
	out := &CertAdded{Cert: CertificateRecord(companyID, info, directory.CertSourcePaste, now)}
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		all, err := tx.ListCertificates(ctx, companyID, true)
		if err != nil {
			return err
		}
		for _, ct := range all {
			if ct.SHA256 == info.SHA256 {
				out.Readded = true
			}
		}
		if err := tx.AddCertificate(ctx, out.Cert, retireOthers); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "cert.add", fmt.Sprintf("sha1=%s subject=%q not_after=%s retire_others=%v",
			info.SHA1, info.Subject, info.NotAfter.UTC().Format("2006-01-02"), retireOthers))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ErrNoSuchCertificate: the company trusts no certificate with that
// thumbprint (it may be retired already).
var ErrNoSuchCertificate = usererr.New(usererr.NotFound, "no_such_certificate", "This company trusts no such certificate (it may be retired already).")

var (
	sha1RE   = regexp.MustCompile(`^[0-9A-F]{40}$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// RetireCertificate stops trusting one certificate, named by its SHA-1
// thumbprint (as Entra shows it; colons, spaces and case do not matter) or
// its SHA-256 fingerprint. The rule, the same from every front-end: the
// last trusted certificate of a company with SSO on is never retired,
// since every sign-in would then be refused; paste the new certificate
// first, or switch SSO off. With SSO off it may go (nobody signs in by
// SAML). The audit entry is cert.retire.
func (s *Service) RetireCertificate(ctx context.Context, a Actor, companyID int64, thumbprint string) (*directory.Certificate, error) {
	t := strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(thumbprint))
	var match func(ct *directory.Certificate) bool
	switch {
	case sha1RE.MatchString(strings.ToUpper(t)):
		t = strings.ToUpper(t)
		match = func(ct *directory.Certificate) bool { return ct.SHA1 == t }
	case sha256RE.MatchString(strings.ToLower(t)):
		t = strings.ToLower(t)
		match = func(ct *directory.Certificate) bool { return ct.SHA256 == t }
	default:
		return nil, usererr.New(usererr.Invalid, "bad_thumbprint", "Name the certificate by its SHA-1 thumbprint (40 hex digits, as Entra shows it) or its SHA-256 fingerprint.")
	}
	var found *directory.Certificate
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		list, err := tx.ListCertificates(ctx, companyID, false)
		if err != nil {
			return err
		}
		for i := range list {
			if match(&list[i]) {
				found = &list[i]
			}
		}
		if found == nil {
			return ErrNoSuchCertificate
		}
		if err := tx.RetireCertificate(ctx, companyID, found.SHA256, s.now()); err != nil {
			if errors.Is(err, directory.ErrNotFound) {
				return ErrNoSuchCertificate
			}
			return err
		}
		// Checked after the write: retiring bumps the company's version,
		// which holds its row until commit, so two retirements racing for
		// the last two certificates cannot both pass.
		co, err := tx.GetCompanyByID(ctx, companyID)
		if err != nil {
			return err
		}
		left, err := tx.ListCertificates(ctx, companyID, false)
		if err != nil {
			return err
		}
		if len(left) == 0 && co.SSOEnabled {
			return usererr.New(usererr.Conflict, "last_certificate", "This is the only trusted certificate: retiring it would refuse every sign-in. Paste the new certificate first (or switch SSO off under SSO settings).")
		}
		return s.audit(ctx, tx, companyID, a.Name, "cert.retire", "sha1="+found.SHA1)
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// maxSubject is the longest subject kept in a certificate record.
const maxSubject = 1000

// CertificateRecord is the directory record that trusts a parsed
// certificate for a company: the one constructor behind an admin's paste
// (console and CLI) and a certificate found in federation metadata
// (sso/fedsync). source is directory.CertSourcePaste or
// directory.CertSourceMetadata; at is when it was added.
func CertificateRecord(companyID int64, info *certs.Info, source string, at time.Time) *directory.Certificate {
	return &directory.Certificate{CompanyID: companyID, DER: info.DER, Subject: clip(info.Subject, maxSubject), SHA1: info.SHA1, SHA256: info.SHA256,
		NotBefore: info.NotBefore, NotAfter: info.NotAfter, AddedAt: at, Source: source}
}

// SetCertAutoRetire sets a company's automatic certificate retirement (a
// number of days from 1 to 365, 0 = off; see AutoRetireCertificates). The
// audit entry is cert.auto_retire.
func (s *Service) SetCertAutoRetire(ctx context.Context, a Actor, companyID int64, days int) error {
	if days < 0 || days > 365 {
		return usererr.New(usererr.Invalid, "bad_auto_retire", "Automatic retirement: enter a number of days from 0 (off) to 365.")
	}
	return s.Dir.InTx(ctx, func(tx directory.Store) error {
		co, err := tx.GetCompanyByID(ctx, companyID)
		if err != nil {
			return err
		}
		co.CertAutoRetireDays = days
		if err := tx.UpdateCompanySettings(ctx, co); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "cert.auto_retire", fmt.Sprintf("days=%d", days))
	})
}

// AutoRetireActor is who the audit log names for an automatic retirement.
const AutoRetireActor = "auto-retire"

// AutoRetired is one certificate AutoRetireCertificates retired, and the
// one that signs the sign-ins now.
type AutoRetired struct {
	Cert, Signing directory.Certificate
}

// AutoRetireCertificates applies a company's automatic retirement rule
// (Company.CertAutoRetireDays, 0 = off): a trusted certificate that has
// signed logins before, but none for that many days while another trusted
// certificate signed one after its last, is retired. A certificate that
// never signed a login is kept (it is the new one, waiting for Entra's
// switch), and so is the certificate that signed the latest login, so the
// rule never retires the last one in use. Each retirement is its own
// transaction with a cert.retire entry (actor AutoRetireActor); one that
// another instance made first is skipped.
func (s *Service) AutoRetireCertificates(ctx context.Context, co *directory.Company) ([]AutoRetired, error) {
	if co.CertAutoRetireDays <= 0 {
		return nil, nil
	}
	list, err := s.Dir.ListCertificates(ctx, co.ID, false)
	if err != nil {
		return nil, err
	}
	var latest *directory.Certificate
	for i := range list {
		if ct := &list[i]; ct.LastUsedAt != nil && (latest == nil || ct.LastUsedAt.After(*latest.LastUsedAt)) {
			latest = ct
		}
	}
	if latest == nil {
		return nil, nil
	}
	now := s.now()
	limit := time.Duration(co.CertAutoRetireDays) * 24 * time.Hour
	var out []AutoRetired
	for _, ct := range list {
		if ct.SHA256 == latest.SHA256 || ct.LastUsedAt == nil || !latest.LastUsedAt.After(*ct.LastUsedAt) || now.Sub(*ct.LastUsedAt) < limit {
			continue
		}
		detail := fmt.Sprintf("sha1=%s: no sign-in for %d days while %s signs them (last used %s)", ct.SHA1,
			co.CertAutoRetireDays, latest.SHA1, ct.LastUsedAt.UTC().Format(time.RFC3339))
		err := s.Dir.InTx(ctx, func(tx directory.Store) error {
			if err := tx.RetireCertificate(ctx, co.ID, ct.SHA256, now); err != nil {
				return err
			}
			return s.audit(ctx, tx, co.ID, AutoRetireActor, "cert.retire", detail)
		})
		if errors.Is(err, directory.ErrNotFound) {
			continue // another instance was first
		}
		if err != nil {
			return out, err
		}
		out = append(out, AutoRetired{Cert: ct, Signing: *latest})
	}
	return out, nil
}

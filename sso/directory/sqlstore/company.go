package sqlstore

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

const companyCols = `id, slug, name, sso_enabled, nameid_mode, entra_identifier, pinned_issuer, idp_login_url, cert_auto_retire_days, slo_enabled, token_encryption, version, created_at, updated_at,
	metadata_url, metadata_etag, metadata_last_modified, metadata_checked_at, metadata_ok_at, metadata_outcome, metadata_message`

type rowScanner interface{ Scan(dest ...any) error }

// deref adapts a scan function that returns a pointer to collect.
func deref[T any](v *T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return *v, nil
}

func scanCompany(r rowScanner) (*directory.Company, error) {
	var c directory.Company
	var mode, enc string
	var created, updated, checked, ok dbTime
	m := &c.Metadata
	if err := r.Scan(&c.ID, &c.Slug, &c.Name, &c.SSOEnabled, &mode, &c.EntraIdentifier, &c.PinnedIssuer, &c.IDPLoginURL, &c.CertAutoRetireDays, &c.SLOEnabled, &enc, &c.Version, &created, &updated,
		&c.MetadataURL, &m.ETag, &m.LastModified, &checked, &ok, &m.Outcome, &m.Message); err != nil {
		return nil, err
	}
	c.NameIDMode = directory.NameIDMode(mode)
	c.TokenEncryption = directory.TokenEncryption(enc)
	c.CreatedAt, c.UpdatedAt = created.T, updated.T
	m.CheckedAt, m.OKAt = checked.ptr(), ok.ptr()
	return &c, nil
}

// maxAutoRetireDays bounds Company.CertAutoRetireDays (ten years).
const maxAutoRetireDays = 3650

func checkCompanySettings(c *directory.Company) error {
	var ck checker
	ck.text("company name", c.Name, maxText)
	ck.text("Entra identifier", c.EntraIdentifier, maxText)
	ck.text("Entra login URL", c.IDPLoginURL, maxText)
	if c.CertAutoRetireDays < 0 || c.CertAutoRetireDays > maxAutoRetireDays {
		ck.fail("automatic certificate retirement %d days is not between 0 and %d", c.CertAutoRetireDays, maxAutoRetireDays)
	}
	if c.NameIDMode == "" {
		c.NameIDMode = directory.NameIDUPN
	}
	if !c.NameIDMode.Valid() {
		ck.fail("NameID mode %q is not %q or %q", c.NameIDMode, directory.NameIDUPN, directory.NameIDMail)
	}
	if c.TokenEncryption == "" {
		c.TokenEncryption = directory.EncryptionOff
	}
	if !c.TokenEncryption.Valid() {
		ck.fail("token encryption %q is not %q, %q or %q", c.TokenEncryption, directory.EncryptionOff, directory.EncryptionOptional, directory.EncryptionRequired)
	}
	return ck.err
}

// CreateCompany inserts c; an empty NameIDMode becomes NameIDUPN.
func (s *Store) CreateCompany(ctx context.Context, c *directory.Company) error {
	if !directory.ValidSlug(c.Slug) {
		return fmt.Errorf("%w: company slug %q: %s", directory.ErrInvalid, c.Slug, directory.SlugRule)
	}
	if err := checkCompanySettings(c); err != nil {
		return err
	}
	var ck checker
	ck.text("pinned issuer", c.PinnedIssuer, maxText)
	if ck.err != nil {
		return ck.err
	}
	now := s.clock()
	err := s.queryRowW(ctx, `INSERT INTO companies (slug, name, sso_enabled, nameid_mode, entra_identifier, pinned_issuer, idp_login_url, cert_auto_retire_days, slo_enabled, token_encryption, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
		c.Slug, c.Name, c.SSOEnabled, string(c.NameIDMode), c.EntraIdentifier, c.PinnedIssuer, c.IDPLoginURL, c.CertAutoRetireDays, c.SLOEnabled, string(c.TokenEncryption), s.tv(now), s.tv(now)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("create company %q: %w", c.Slug, s.translate(err))
	}
	c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
	return nil
}

// GetCompany returns the company with this slug.
func (s *Store) GetCompany(ctx context.Context, slug string) (*directory.Company, error) {
	c, err := scanCompany(s.queryRowR(ctx, `SELECT `+companyCols+` FROM companies WHERE slug = ?`, slug))
	if err != nil {
		return nil, fmt.Errorf("company %q: %w", slug, s.translate(err))
	}
	return c, nil
}

// GetCompanyByID returns the company with this id.
func (s *Store) GetCompanyByID(ctx context.Context, id int64) (*directory.Company, error) {
	c, err := scanCompany(s.queryRowR(ctx, `SELECT `+companyCols+` FROM companies WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("company %d: %w", id, s.translate(err))
	}
	return c, nil
}

// ListCompanies returns every company ordered by slug.
func (s *Store) ListCompanies(ctx context.Context) ([]directory.Company, error) {
	rows, err := s.queryR(ctx, `SELECT `+companyCols+` FROM companies ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	defer rows.Close()
	var out []directory.Company
	for rows.Next() {
		c, err := scanCompany(rows)
		if err != nil {
			return nil, fmt.Errorf("list companies: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list companies: %w", s.translate(err))
	}
	return out, nil
}

// UpdateCompanySettings writes the settings of c (by ID), bumps Version,
// and fills c's Version, UpdatedAt and the other stored fields.
func (s *Store) UpdateCompanySettings(ctx context.Context, c *directory.Company) error {
	if err := checkCompanySettings(c); err != nil {
		return err
	}
	now := s.clock()
	got, err := scanCompany(s.queryRowW(ctx, `UPDATE companies
		SET name = ?, sso_enabled = ?, nameid_mode = ?, entra_identifier = ?, idp_login_url = ?, cert_auto_retire_days = ?,
		    slo_enabled = ?, token_encryption = ?, version = version + 1, updated_at = ?
		WHERE id = ? RETURNING `+companyCols,
		c.Name, c.SSOEnabled, string(c.NameIDMode), c.EntraIdentifier, c.IDPLoginURL, c.CertAutoRetireDays, c.SLOEnabled, string(c.TokenEncryption), s.tv(now), c.ID))
	if err != nil {
		return fmt.Errorf("update company %d: %w", c.ID, s.translate(err))
	}
	*c = *got
	return nil
}

// PinIssuer sets PinnedIssuer when it is empty (bumping Version) and
// returns the pinned value.
func (s *Store) PinIssuer(ctx context.Context, companyID int64, issuer string) (string, error) {
	var ck checker
	ck.required("issuer", issuer, maxText)
	if ck.err != nil {
		return "", ck.err
	}
	var pinned string
	err := s.queryRowW(ctx, `UPDATE companies
		SET pinned_issuer = CASE WHEN pinned_issuer = '' THEN ? ELSE pinned_issuer END,
		    version = CASE WHEN pinned_issuer = '' THEN version + 1 ELSE version END,
		    updated_at = CASE WHEN pinned_issuer = '' THEN ? ELSE updated_at END
		WHERE id = ? RETURNING pinned_issuer`, issuer, s.tv(s.clock()), companyID).Scan(&pinned)
	if err != nil {
		return "", fmt.Errorf("pin issuer of company %d: %w", companyID, s.translate(err))
	}
	return pinned, nil
}

// bumpCompany increases the company's Version; ErrNotFound if it does not exist.
func (s *Store) bumpCompany(ctx context.Context, companyID int64, now time.Time) error {
	return s.execOne(ctx, fmt.Sprintf("company %d", companyID),
		`UPDATE companies SET version = version + 1, updated_at = ? WHERE id = ?`, s.tv(now), companyID)
}

const certCols = `id, company_id, der, subject, sha1, sha256, not_before, not_after, added_at, retired_at, last_used_at, use_count, source, missing_since`

func scanCert(r rowScanner) (*directory.Certificate, error) {
	var c directory.Certificate
	var nb, na, added, retired, used, missing dbTime
	if err := r.Scan(&c.ID, &c.CompanyID, &c.DER, &c.Subject, &c.SHA1, &c.SHA256, &nb, &na, &added, &retired, &used, &c.UseCount, &c.Source, &missing); err != nil {
		return nil, err
	}
	c.NotBefore, c.NotAfter, c.AddedAt = nb.T, na.T, added.T
	c.RetiredAt, c.LastUsedAt, c.MissingSince = retired.ptr(), used.ptr(), missing.ptr()
	return &c, nil
}

// AddCertificate trusts cert for its company. SHA1 and SHA256 are computed
// from DER when empty and must match it when given. Adding a known
// certificate again un-retires it and fills cert from the stored row.
func (s *Store) AddCertificate(ctx context.Context, cert *directory.Certificate, retireOthers bool) error {
	var ck checker
	ck.company(cert.CompanyID)
	if len(cert.DER) == 0 {
		ck.fail("certificate DER is empty")
	}
	ck.bytes("certificate DER", cert.DER, maxLong)
	ck.text("certificate subject", cert.Subject, maxText)
	switch cert.Source {
	case "":
		cert.Source = directory.CertSourcePaste
	case directory.CertSourcePaste, directory.CertSourceMetadata:
	default:
		ck.fail("certificate source %q is not %q or %q", cert.Source, directory.CertSourcePaste, directory.CertSourceMetadata)
	}
	if ck.err != nil {
		return ck.err
	}
	s1, s256 := sha1.Sum(cert.DER), sha256.Sum256(cert.DER)
	h1, h256 := strings.ToUpper(hex.EncodeToString(s1[:])), hex.EncodeToString(s256[:])
	if cert.SHA1 != "" && cert.SHA1 != h1 {
		return fmt.Errorf("%w: certificate SHA1 %q does not match its DER (%s)", directory.ErrInvalid, cert.SHA1, h1)
	}
	if cert.SHA256 != "" && cert.SHA256 != h256 {
		return fmt.Errorf("%w: certificate SHA256 %q does not match its DER (%s)", directory.ErrInvalid, cert.SHA256, h256)
	}
	in := *cert
	in.SHA1, in.SHA256 = h1, h256
	var out *directory.Certificate
	add := func(tx *Store) error {
		now := tx.clock()
		if err := tx.bumpCompany(ctx, in.CompanyID, now); err != nil {
			return err
		}
		// Insert, or un-retire the certificate already stored; the stored
		// row keeps its first AddedAt, use count and DER. A paste of a
		// certificate the metadata brought makes it a pasted one.
		if _, err := tx.exec(ctx, `INSERT INTO certificates (company_id, der, subject, sha1, sha256, not_before, not_after, added_at, source)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (company_id, sha256) DO UPDATE SET retired_at = NULL, missing_since = NULL,
				source = CASE WHEN excluded.source = 'paste' THEN 'paste' ELSE certificates.source END`,
			in.CompanyID, in.DER, in.Subject, in.SHA1, in.SHA256, tx.tv(in.NotBefore), tx.tv(in.NotAfter), tx.tv(now), in.Source); err != nil {
			return err
		}
		if retireOthers {
			if _, err := tx.exec(ctx, `UPDATE certificates SET retired_at = ? WHERE company_id = ? AND sha256 <> ? AND retired_at IS NULL`,
				tx.tv(now), in.CompanyID, in.SHA256); err != nil {
				return err
			}
		}
		var err error
		out, err = scanCert(tx.queryRowW(ctx, `SELECT `+certCols+` FROM certificates WHERE company_id = ? AND sha256 = ?`, in.CompanyID, in.SHA256))
		return tx.translate(err)
	}
	if err := s.inTx(ctx, add); err != nil {
		return fmt.Errorf("add certificate %s to company %d: %w", in.SHA256, in.CompanyID, err)
	}
	*cert = *out
	return nil
}

// ListCertificates lists the company's certificates, oldest first.
func (s *Store) ListCertificates(ctx context.Context, companyID int64, includeRetired bool) ([]directory.Certificate, error) {
	return listRetirable(ctx, s, "certificates", certCols, "added_at", companyID, includeRetired, scanCert)
}

// listRetirable lists the company's rows of a table whose rows retire
// (certificates, sp_encryption_keys: retireOnce), oldest by the column
// added first; retired rows only when asked.
func listRetirable[T any](ctx context.Context, s *Store, table, cols, added string, companyID int64, includeRetired bool,
	scan func(rowScanner) (*T, error)) ([]T, error) {
	q := `SELECT ` + cols + ` FROM ` + table + ` WHERE company_id = ?`
	if !includeRetired {
		q += ` AND retired_at IS NULL`
	}
	rows, err := s.queryR(ctx, q+` ORDER BY `+added+`, id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	return collect(s, rows, "list "+table, func(r *sql.Rows) (T, error) { return deref(scan(r)) })
}

// RetireCertificate stops trusting the certificate (keeping an earlier
// retirement time) and bumps the company's Version when it changed.
func (s *Store) RetireCertificate(ctx context.Context, companyID int64, sha256 string, at time.Time) error {
	if err := s.retireOnce(ctx, "certificates", companyID, sha256, at); err != nil {
		return fmt.Errorf("retire certificate %s of company %d: %w", sha256, companyID, err)
	}
	return nil
}

// retireOnce sets retired_at of the company's row of table (certificates
// or sp_encryption_keys) with this SHA-256, unless it is set already, and
// then bumps the company's Version.
func (s *Store) retireOnce(ctx context.Context, table string, companyID int64, sha256 string, at time.Time) error {
	return s.inTx(ctx, func(tx *Store) error {
		var retired dbTime
		err := tx.queryRowW(ctx, `SELECT retired_at FROM `+table+` WHERE company_id = ? AND sha256 = ?`, companyID, sha256).Scan(&retired)
		if err != nil {
			return tx.translate(err)
		}
		if retired.Valid {
			return nil
		}
		if _, err := tx.exec(ctx, `UPDATE `+table+` SET retired_at = ? WHERE company_id = ? AND sha256 = ?`, tx.tv(at), companyID, sha256); err != nil {
			return err
		}
		return tx.bumpCompany(ctx, companyID, tx.clock())
	})
}

// SetCertificateMissing sets or clears when a metadata certificate was first
// seen missing from the metadata; trust does not change, nor Version.
func (s *Store) SetCertificateMissing(ctx context.Context, companyID int64, sha256 string, since *time.Time) error {
	err := s.execOne(ctx, fmt.Sprintf("certificate %s of company %d", sha256, companyID),
		`UPDATE certificates SET missing_since = ? WHERE company_id = ? AND sha256 = ?`, s.ntv(since), companyID, sha256)
	if err != nil {
		return fmt.Errorf("mark certificate %s of company %d: %w", sha256, companyID, s.translate(err))
	}
	return nil
}

// SetMetadataURL stores the company's App Federation Metadata URL ("" =
// none), forgets what earlier fetches left, and bumps Version.
func (s *Store) SetMetadataURL(ctx context.Context, companyID int64, url string) error {
	var ck checker
	ck.text("metadata URL", url, maxText)
	if ck.err != nil {
		return ck.err
	}
	err := s.execOne(ctx, fmt.Sprintf("company %d", companyID), `UPDATE companies
		SET metadata_url = ?, metadata_etag = '', metadata_last_modified = '', metadata_checked_at = NULL, metadata_ok_at = NULL,
		    metadata_outcome = '', metadata_message = '', version = version + 1, updated_at = ?
		WHERE id = ?`, url, s.tv(s.clock()), companyID)
	if err != nil {
		return fmt.Errorf("set metadata URL of company %d: %w", companyID, s.translate(err))
	}
	return nil
}

// RecordMetadataRefresh stores the outcome of a metadata fetch.
func (s *Store) RecordMetadataRefresh(ctx context.Context, companyID int64, st directory.MetadataState) error {
	var ck checker
	ck.text("metadata ETag", st.ETag, maxText)
	ck.text("metadata Last-Modified", st.LastModified, maxText)
	ck.text("metadata outcome", st.Outcome, maxText)
	ck.text("metadata message", st.Message, maxText)
	if ck.err != nil {
		return ck.err
	}
	err := s.execOne(ctx, fmt.Sprintf("company %d", companyID), `UPDATE companies
		SET metadata_etag = ?, metadata_last_modified = ?, metadata_checked_at = ?, metadata_ok_at = ?, metadata_outcome = ?, metadata_message = ?
		WHERE id = ?`, st.ETag, st.LastModified, s.ntv(st.CheckedAt), s.ntv(st.OKAt), st.Outcome, st.Message, companyID)
	if err != nil {
		return fmt.Errorf("record metadata refresh of company %d: %w", companyID, s.translate(err))
	}
	return nil
}

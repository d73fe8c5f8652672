// Package fedsync makes a company's trusted certificates follow its Entra
// app's federation metadata: every signing certificate the metadata lists
// is trusted (source "metadata"), one the metadata stops listing is retired
// after a grace period, and the Entra Identifier is taken from it when none
// is set. A fetch that fails or returns anything odd changes no trust: it
// is recorded as the company's metadata outcome (a warning for the admin)
// and the last good set stays.
//
// It owns the policy, not the transport (sso/fedmeta) nor the storage
// (sso/directory). It imports no HTTP framework and no session store:
// callers pass the cross-instance lock as a function.
package fedsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/fedmeta"
)

// Outcomes fedsync adds to fedmeta's.
const (
	// OutcomeIdentifierMismatch: the metadata's entityID is not the Entra
	// Identifier the company enforces (set by an admin, or pinned at the
	// first login). Its certificates are not trusted: they would let
	// another tenant sign for this one.
	OutcomeIdentifierMismatch = "identifier_mismatch"
	// OutcomeExpired: the document's validUntil has passed.
	OutcomeExpired = "expired_metadata"
	// OutcomeStoreError: the directory could not record the result.
	OutcomeStoreError = "store_error"
)

// Actor names the metadata refresh in the audit log.
const Actor = "metadata"

// DefaultGrace is how long a certificate the metadata no longer lists stays
// trusted.
const DefaultGrace = 24 * time.Hour

// ErrNoURL: the company has no metadata URL.
var ErrNoURL = errors.New("fedsync: the company has no federation metadata URL")

// Syncer applies federation metadata to the directory.
type Syncer struct {
	Dir     directory.Store
	Fetcher *fedmeta.Fetcher
	// Grace: how long a metadata certificate stays trusted after the
	// metadata stopped listing it (0 = DefaultGrace).
	Grace time.Duration
	Now   func() time.Time // nil = time.Now
	Log   *slog.Logger     // nil = discard
}

// Change is what one refresh found and did.
type Change struct {
	Company     string
	Outcome     string // fedmeta.Outcome*, or one of this package's
	Message     string // what went wrong, for the admin ("" on success)
	NotModified bool
	EntityID    string // the metadata's entityID ("" when not read)
	// IdentifierSet is the Entra Identifier taken from the metadata ("" =
	// unchanged).
	IdentifierSet string
	Added         []directory.Certificate // newly trusted
	Retired       []directory.Certificate // retired after the grace period
	Missing       []directory.Certificate // no longer listed, retired after the grace period
	Relisted      []directory.Certificate // listed again before their grace period ended
	// Notes explain certificates of the metadata that were not trusted
	// (expired, weak key, retired earlier) and ones kept past their grace.
	Notes []string
}

// OK reports whether the refresh succeeded (document applied or not
// modified).
func (c *Change) OK() bool {
	return c.Outcome == fedmeta.OutcomeOK || c.Outcome == fedmeta.OutcomeNotModified
}

// Changed reports whether trust or the identifier changed.
func (c *Change) Changed() bool {
	return len(c.Added) > 0 || len(c.Retired) > 0 || c.IdentifierSet != ""
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Syncer) grace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return DefaultGrace
}

func (s *Syncer) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// clip bounds a message for storage.
func clip(s string) string {
	if len(s) > 900 {
		return s[:900] + "…"
	}
	return s
}

// Refresh fetches the company's metadata now and applies it. The returned
// Change says what happened; the error is non-nil when the refresh failed
// (the Change then carries the outcome and the admin message, and trust is
// unchanged).
func (s *Syncer) Refresh(ctx context.Context, c *directory.Company) (*Change, error) {
	ch := &Change{Company: c.Slug}
	if c.MetadataURL == "" {
		ch.Outcome, ch.Message = fedmeta.OutcomeRefusedURL, "no App Federation Metadata Url is set"
		return ch, ErrNoURL
	}
	st := c.Metadata
	res, err := s.Fetcher.Fetch(ctx, c.MetadataURL, st.ETag, st.LastModified)
	now := s.now()
	if err == nil && res.Metadata != nil {
		err = s.check(c, res.Metadata, now)
	}
	if err != nil {
		ch.Outcome = fedmeta.OutcomeOf(err)
		if fe, ok := usererr.As(err); ok {
			ch.Message = fe.Message()
		} else {
			ch.Message = "the metadata could not be fetched"
		}
		if res != nil && res.Metadata != nil {
			ch.EntityID = res.Metadata.EntityID
		}
		s.record(ctx, c, ch, now, nil)
		s.log().Warn("federation metadata refresh failed; the trusted certificates are unchanged",
			"company", c.Slug, "outcome", ch.Outcome, "err", err)
		return ch, err
	}
	var md *fedmeta.Metadata
	if res.NotModified {
		ch.NotModified, ch.Outcome = true, fedmeta.OutcomeNotModified
	} else {
		md, ch.Outcome, ch.EntityID = res.Metadata, fedmeta.OutcomeOK, res.Metadata.EntityID
	}
	err = s.Dir.InTx(ctx, func(tx directory.Store) error { return s.apply(ctx, tx, c.ID, md, now, ch) })
	if err != nil {
		*ch = Change{Company: c.Slug, Outcome: OutcomeStoreError, Message: "the result could not be stored; the trusted certificates are unchanged"}
		s.record(ctx, c, ch, now, nil)
		s.log().Error("federation metadata refresh: store", "company", c.Slug, "err", err)
		return ch, fmt.Errorf("fedsync: company %s: %w", c.Slug, err)
	}
	s.record(ctx, c, ch, now, res)
	if ch.Changed() || len(ch.Missing) > 0 {
		s.log().Info("federation metadata applied", "company", c.Slug, "added", thumbprints(ch.Added), "retired", thumbprints(ch.Retired),
			"missing", thumbprints(ch.Missing), "identifier_set", ch.IdentifierSet)
	}
	return ch, nil
}

// check refuses a document that must not change trust.
func (s *Syncer) check(c *directory.Company, md *fedmeta.Metadata, now time.Time) error {
	if !md.ValidUntil.IsZero() && now.After(md.ValidUntil) {
		return usererr.Errorf(usererr.Invalid, OutcomeExpired, "the metadata expired on %s (validUntil)", md.ValidUntil.UTC().Format(time.RFC3339))
	}
	want, what := c.EntraIdentifier, "the Microsoft Entra Identifier set in the SSO settings"
	if want == "" {
		want, what = c.PinnedIssuer, "the issuer pinned at the first sign-in"
	}
	if want != "" && want != md.EntityID {
		return usererr.Errorf(usererr.Conflict, OutcomeIdentifierMismatch,
			"the metadata is for %q, not %q (%s): check that the URL is this app's App Federation Metadata Url; its certificates were not trusted",
			md.EntityID, want, what)
	}
	var usable int
	for _, x := range md.Signing {
		if !now.After(x.NotAfter) {
			usable++
		}
	}
	if usable == 0 {
		return usererr.New(usererr.Invalid, fedmeta.OutcomeNoCerts, "every signing certificate in the metadata has expired")
	}
	return nil
}

// record stores the refresh outcome; validators only from an applied
// document (a refused one is fetched in full again next time).
func (s *Syncer) record(ctx context.Context, c *directory.Company, ch *Change, now time.Time, res *fedmeta.Result) {
	st := c.Metadata
	st.CheckedAt, st.Outcome, st.Message = &now, ch.Outcome, clip(ch.Message)
	if ch.OK() {
		st.OKAt = &now
		if res != nil && !res.NotModified {
			st.ETag, st.LastModified = clip(res.ETag), clip(res.LastModified)
		}
	}
	if err := s.Dir.RecordMetadataRefresh(ctx, c.ID, st); err != nil {
		s.log().Error("federation metadata refresh: record outcome", "company", c.Slug, "err", err)
		return
	}
	c.Metadata = st
}

// apply makes the company's certificates follow md (nil: the document has
// not changed; only the grace periods are checked).
func (s *Syncer) apply(ctx context.Context, tx directory.Store, companyID int64, md *fedmeta.Metadata, now time.Time, ch *Change) error {
	co, err := tx.GetCompanyByID(ctx, companyID)
	if err != nil {
		return err
	}
	all, err := tx.ListCertificates(ctx, companyID, true)
	if err != nil {
		return err
	}
	byHash := map[string]*directory.Certificate{}
	for i := range all {
		byHash[all[i].SHA256] = &all[i]
	}
	audit := func(action, detail string) error {
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: companyID, At: now, Actor: Actor, Action: action, Detail: detail})
	}
	listed := map[string]bool{}
	if md != nil {
		for _, note := range md.Skipped {
			ch.Notes = append(ch.Notes, "not trusted: "+note)
		}
		for _, x := range md.Signing {
			info := certs.Describe(x)
			listed[info.SHA256] = true
			if now.After(x.NotAfter) {
				ch.Notes = append(ch.Notes, fmt.Sprintf("not trusted: certificate %s expired on %s", info.SHA1, x.NotAfter.UTC().Format("2006-01-02")))
				continue
			}
			if have := byHash[info.SHA256]; have != nil {
				switch {
				case have.RetiredAt != nil:
					ch.Notes = append(ch.Notes, fmt.Sprintf("not trusted: certificate %s was retired on %s; paste it to trust it again",
						info.SHA1, have.RetiredAt.UTC().Format("2006-01-02")))
				case have.MissingSince != nil:
					if err := tx.SetCertificateMissing(ctx, companyID, have.SHA256, nil); err != nil {
						return err
					}
					have.MissingSince = nil
					ch.Relisted = append(ch.Relisted, *have)
				}
				continue
			}
			c := admin.CertificateRecord(companyID, info, directory.CertSourceMetadata, now)
			if err := tx.AddCertificate(ctx, c, false); err != nil {
				return err
			}
			ch.Added = append(ch.Added, *c)
			if err := audit("cert.add", fmt.Sprintf("sha1=%s from federation metadata, expires %s", c.SHA1, c.NotAfter.UTC().Format("2006-01-02"))); err != nil {
				return err
			}
		}
		if co.EntraIdentifier == "" {
			co.EntraIdentifier = md.EntityID
			if err := tx.UpdateCompanySettings(ctx, co); err != nil {
				return err
			}
			ch.IdentifierSet = md.EntityID
			if err := audit("sso.configure", fmt.Sprintf("entra_identifier=%q from federation metadata", md.EntityID)); err != nil {
				return err
			}
		}
	}
	// The certificate that alone signed the latest login is never retired
	// here: losing it would stop sign-ins; it goes once another one has
	// signed one as late.
	var current string
	var latest time.Time
	for _, c := range all {
		if c.RetiredAt != nil || c.LastUsedAt == nil {
			continue
		}
		switch {
		case c.LastUsedAt.After(latest):
			current, latest = c.SHA256, *c.LastUsedAt
		case c.LastUsedAt.Equal(latest):
			current = ""
		}
	}
	for i := range all {
		c := &all[i]
		if c.RetiredAt != nil || c.Source != directory.CertSourceMetadata || md != nil && listed[c.SHA256] {
			continue
		}
		if md == nil && c.MissingSince == nil {
			continue // not modified: what was listed still is
		}
		if c.MissingSince == nil {
			since := now
			if err := tx.SetCertificateMissing(ctx, companyID, c.SHA256, &since); err != nil {
				return err
			}
			c.MissingSince = &since
			ch.Missing = append(ch.Missing, *c)
			continue
		}
		if now.Sub(*c.MissingSince) < s.grace() {
			ch.Missing = append(ch.Missing, *c)
			continue
		}
		if c.SHA256 == current {
			ch.Missing = append(ch.Missing, *c)
			ch.Notes = append(ch.Notes, fmt.Sprintf("kept: certificate %s left the metadata on %s but still signed the latest sign-in; it is retired once another certificate has signed one",
				c.SHA1, c.MissingSince.UTC().Format("2006-01-02 15:04")))
			continue
		}
		if err := tx.RetireCertificate(ctx, companyID, c.SHA256, now); err != nil {
			return err
		}
		at := now
		c.RetiredAt = &at
		ch.Retired = append(ch.Retired, *c)
		if err := audit("cert.retire", fmt.Sprintf("sha1=%s: not in the federation metadata since %s", c.SHA1, c.MissingSince.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
	}
	return nil
}

func thumbprints(l []directory.Certificate) string {
	out := make([]string, len(l))
	for i, c := range l {
		out[i] = c.SHA1
	}
	return strings.Join(out, ",")
}

// TryLock takes a lock named key until until, shared by every instance;
// false (and no error) when another holder has it.
type TryLock func(ctx context.Context, key string, until time.Time) (bool, error)

// RefreshDue refreshes, once per interval slot across all instances, every
// company with a metadata URL: the instance whose lock for (company, slot)
// succeeds fetches; the others skip. observe (may be nil) gets each
// company's outcome.
func (s *Syncer) RefreshDue(ctx context.Context, interval time.Duration, lock TryLock, observe func(ch *Change)) error {
	list, err := s.Dir.ListCompanies(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	slot := now.Truncate(interval)
	var errs []error
	for i := range list {
		c := &list[i]
		if c.MetadataURL == "" {
			continue
		}
		ok, err := lock(ctx, fmt.Sprintf("fedmeta:%d:%d", c.ID, slot.UnixNano()), slot.Add(interval))
		if err != nil {
			errs = append(errs, fmt.Errorf("company %s: lock: %w", c.Slug, err))
			continue
		}
		if !ok {
			continue
		}
		ch, _ := s.Refresh(ctx, c)
		if observe != nil {
			observe(ch)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// Describe lists a change for people (the CLI, logs): one line each.
func (c *Change) Describe() []string {
	var out []string
	line := func(verb string, l []directory.Certificate) {
		for _, x := range l {
			out = append(out, fmt.Sprintf("%s certificate %s (sha256 %s, expires %s)", verb, x.SHA1, x.SHA256, x.NotAfter.UTC().Format("2006-01-02")))
		}
	}
	line("trusted", c.Added)
	line("retired", c.Retired)
	for _, x := range c.Missing {
		if x.MissingSince != nil {
			out = append(out, fmt.Sprintf("no longer listed: certificate %s (since %s; still trusted until the grace period ends)", x.SHA1, x.MissingSince.UTC().Format(time.RFC3339)))
		}
	}
	line("listed again", c.Relisted)
	if c.IdentifierSet != "" {
		out = append(out, "Entra Identifier set to "+c.IdentifierSet)
	}
	out = append(out, c.Notes...)
	return out
}

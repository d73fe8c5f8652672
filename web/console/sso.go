package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// SSO settings and certificates pages of the console.

// entraValue is one value the admin pastes into Entra, with a copy button.
type entraValue struct {
	Label, Field, Value, Note string
}

// entraValues are the values for Entra's "Basic SAML Configuration" and
// provisioning, exactly as the gateway checks them.
func (s *Console) entraValues(slug string) []entraValue {
	return []entraValue{
		{"Identifier (Entity ID)", "identifier", s.companyURL(slug, "/saml/metadata"), "Basic SAML Configuration → Identifier. Must match exactly."},
		{"Reply URL (Assertion Consumer Service URL)", "reply-url", s.companyURL(slug, "/saml/acs"), "Basic SAML Configuration → Reply URL. Must match exactly."},
		{"Sign on URL", "sign-on-url", s.companyURL(slug, "/login"), "Optional. Leave it empty in Entra so the Microsoft 365 tile signs in directly."},
		{"Logout Url", "logout-url", s.companyURL(slug, "/saml/slo"), "Optional: Basic SAML Configuration → Logout Url, for Single Logout (switch it on below too)."},
		{"App Federation Metadata / SP metadata URL", "metadata-url", s.companyURL(slug, "/saml/metadata"), "For tools that read the service provider's metadata."},
		{"SCIM Tenant URL", "tenant-url", s.companyURL(slug, "/scim/v2"), "Provisioning → Admin Credentials → Tenant URL."},
	}
}

type ssoView struct {
	Values       []entraValue
	Enabled      bool
	Mode         string
	Identifier   string
	LoginURL     string
	DerivedLogin string
	PinnedIssuer string
	Name         string
	Configured   bool
	SLO          bool
	Metadata     *metadataView
	Encryption   string
}

func (s *Console) ssoViewOf(t *Tenant) *ssoView {
	co := t.Company
	v := &ssoView{Values: s.entraValues(co.Slug), Enabled: co.SSOEnabled, Mode: string(co.NameIDMode), Identifier: co.EntraIdentifier,
		LoginURL: co.IDPLoginURL, PinnedIssuer: co.PinnedIssuer, Name: co.Name, Configured: t.SSOReady, SLO: co.SLOEnabled,
		Metadata: s.metadataViewOf(co)}
	if co.IDPLoginURL == "" {
		v.DerivedLogin = t.DerivedLoginURL
	}
	if v.Mode == "" {
		v.Mode = string(directory.NameIDUPN)
	}
	if v.Encryption = string(co.TokenEncryption); v.Encryption == "" {
		v.Encryption = string(directory.EncryptionOff)
	}
	return v
}

// adminSSOPage: GET /admin/sso.
func (s *Console) adminSSOPage(c echo.Context) error {
	return s.adminPage(c, http.StatusOK, "admin_sso.html", "SSO settings", "sso", s.ssoViewOf(adminOf(c).t), "")
}

// adminSSOSave: POST /admin/sso. The rules and the audit entry are
// admin.ConfigureSSO's.
func (s *Console) adminSSOSave(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	enabled, slo := c.FormValue("enabled") == "on", c.FormValue("slo") == "on"
	in := admin.SSOSettings{Enabled: &enabled, SLO: &slo}
	for _, f := range []struct {
		field string
		to    **string
	}{{"nameid", &in.NameIDMode}, {"identifier", &in.EntraIdentifier}, {"login_url", &in.LoginURL}} {
		v := c.FormValue(f.field)
		*f.to = &v
	}
	if name := strings.TrimSpace(c.FormValue("name")); name != "" {
		in.Name = &name
	}
	co, changes, err := s.admin.ConfigureSSO(ctx, ac.who(), ac.t.Company.ID, in)
	var ar *usererr.Error
	switch {
	case errors.As(err, &ar):
		v := s.ssoViewOf(ac.t)
		v.Enabled, v.Mode, v.Identifier, v.LoginURL, v.SLO = enabled, *in.NameIDMode, *in.EntraIdentifier, *in.LoginURL, slo
		if in.Name != nil {
			v.Name = *in.Name
		}
		return s.adminPage(c, http.StatusUnprocessableEntity, "admin_sso.html", "SSO settings", "sso", v, ar.Message())
	case errors.Is(err, directory.ErrInvalid):
		return s.adminPage(c, http.StatusUnprocessableEntity, "admin_sso.html", "SSO settings", "sso", s.ssoViewOf(ac.t), "The settings were refused: "+err.Error())
	case err != nil:
		return fmt.Errorf("save SSO settings: %w", err)
	}
	if len(changes) > 0 {
		s.caches.ForgetCompany(co.Slug)
	}
	return done(c, ac.base()+"/sso", "sso")
}

// certBanner is an expiry warning shown on every console page.
type certBanner struct {
	Level string
	Text  string
}

// certBanners warns about trusted certificates within 60, 30 or 7 days of
// expiry (or expired), most urgent first.
func certBanners(list []directory.Certificate, now time.Time) []certBanner {
	var out []certBanner
	rank := map[string]int{certs.LevelExpired: 0, certs.LevelCritical: 1, certs.LevelWarning: 2, certs.LevelNotice: 3}
	for _, ct := range list {
		if ct.RetiredAt != nil {
			continue
		}
		days, level := certs.ExpiryWarning(ct.NotAfter, now)
		if level == certs.LevelNone {
			continue
		}
		renewed := false
		for _, o := range list {
			if o.RetiredAt == nil && o.SHA256 != ct.SHA256 && o.NotAfter.After(now.AddDate(0, 0, 60)) {
				renewed = true
			}
		}
		when := fmt.Sprintf("expires on %s (in %s)", ct.NotAfter.UTC().Format("2006-01-02"), plural(days, "day"))
		if level == certs.LevelExpired {
			when = "expired on " + ct.NotAfter.UTC().Format("2006-01-02")
		}
		text := fmt.Sprintf("The SAML signing certificate %s %s. In Entra: Single sign-on → SAML Certificates → New Certificate, then paste its Certificate (Base64) under Certificates here before you make it active.", ct.SHA1, when)
		if renewed {
			text = fmt.Sprintf("The SAML signing certificate %s %s. A renewed certificate is already trusted: once Entra signs with it, retire this one.", ct.SHA1, when)
		}
		out = append(out, certBanner{Level: level, Text: text})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && rank[out[j].Level] < rank[out[j-1].Level]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// certRow is one certificate in the list.
type certRow struct {
	SHA1, SHA256, Subject   string
	NotBefore, NotAfter     string
	DaysLeft                string
	Level                   string
	Added, Retired          string
	LastUsed, LastUsedAgo   string
	UseCount                int64
	Trusted, Signing, Fresh bool
	added                   time.Time
	Source, Missing         string
}

type certsView struct {
	Rows        []certRow
	Trusted     int
	AutoRetire  int
	PasteReason string // certs.Reason of a refused paste
	PasteError  string // its message, shown at the paste box
}

func (s *Console) certsViewOf(ctx context.Context, co *directory.Company) (*certsView, error) {
	list, err := s.dir.ListCertificates(ctx, co.ID, true)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	now := s.now()
	v := &certsView{AutoRetire: co.CertAutoRetireDays}
	var signing *directory.Certificate
	for i := range list {
		ct := &list[i]
		if ct.RetiredAt == nil && ct.LastUsedAt != nil && (signing == nil || ct.LastUsedAt.After(*signing.LastUsedAt)) {
			signing = ct
		}
	}
	for _, ct := range list {
		days, level := certs.ExpiryWarning(ct.NotAfter, now)
		r := certRow{SHA1: ct.SHA1, SHA256: ct.SHA256, Subject: ct.Subject, NotBefore: ct.NotBefore.UTC().Format("2006-01-02"),
			NotAfter: ct.NotAfter.UTC().Format("2006-01-02"), Level: level, Added: fmtTime(ct.AddedAt), Retired: fmtTimePtr(ct.RetiredAt),
			LastUsed: fmtTimePtr(ct.LastUsedAt), UseCount: ct.UseCount, Trusted: ct.RetiredAt == nil,
			Signing: signing != nil && ct.SHA256 == signing.SHA256, added: ct.AddedAt, Source: ct.Source, Missing: fmtTimePtr(ct.MissingSince)}
		if days >= 0 {
			r.DaysLeft = plural(days, "day") + " left"
		} else {
			r.DaysLeft = "expired"
		}
		if ct.LastUsedAt != nil {
			r.LastUsedAgo = ago(now, *ct.LastUsedAt)
		}
		if r.Trusted {
			v.Trusted++
		}
		v.Rows = append(v.Rows, r)
	}
	// Trusted first, newest first within each group.
	rows := v.Rows
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && certRowBefore(rows[j], rows[j-1]); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	return v, nil
}

func certRowBefore(a, b certRow) bool {
	if a.Trusted != b.Trusted {
		return a.Trusted
	}
	return a.added.After(b.added)
}

// adminCertsPage: GET /admin/certificates.
func (s *Console) adminCertsPage(c echo.Context) error {
	return s.certsPage(c, http.StatusOK, "")
}

// certsPage shows the Certificates page.
func (s *Console) certsPage(c echo.Context, status int, errMsg string) error {
	v, err := s.certsViewOf(c.Request().Context(), adminOf(c).t.Company)
	if err != nil {
		return err
	}
	return s.adminPage(c, status, "admin_certs.html", "Certificates", "certs", v, errMsg)
}

// adminCertAdd: POST /admin/certificates — paste Entra's Certificate
// (Base64). A refused paste is shown inline with certs' message (what was
// pasted and what to paste instead); the pasted text is never echoed back
// (it may be a private key).
func (s *Console) adminCertAdd(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	paste := c.FormValue("certificate")
	res, err := s.admin.AddCertificate(ctx, ac.who(), ac.t.Company.ID, paste, c.FormValue("retire_others") == "on")
	switch reason := certs.ReasonOf(err); {
	case reason != "":
		v, verr := s.certsViewOf(ctx, ac.t.Company)
		if verr != nil {
			return verr
		}
		v.PasteError, v.PasteReason = err.Error(), string(reason)
		return s.adminPage(c, http.StatusUnprocessableEntity, "admin_certs.html", "Certificates", "certs", v, "")
	case err != nil:
		return fmt.Errorf("add certificate: %w", err)
	}
	code := "cert-added"
	if res.Readded {
		code = "cert-readded"
	}
	s.caches.ForgetCompany(ac.t.Company.Slug)
	return done(c, ac.base()+"/certificates", code)
}

// adminCertRetire: POST /admin/certificates/{sha256}/retire. The rule
// (never the last trusted certificate while SSO is on) is admin's.
func (s *Console) adminCertRetire(c echo.Context) error {
	ac := adminOf(c)
	sha := c.Param("sha256")
	if !sha256RE.MatchString(sha) {
		return httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "There is no such certificate.", "", nil)
	}
	_, err := s.admin.RetireCertificate(c.Request().Context(), ac.who(), ac.t.Company.ID, sha)
	if errors.Is(err, admin.ErrNoSuchCertificate) {
		return httpx.Refuse(http.StatusNotFound, "not_found", "Not found", admin.ErrNoSuchCertificate.Message(), "", nil)
	}
	return s.settingsDone(c, err, "retire certificate", s.certsPage, http.StatusConflict, "/certificates", "cert-retired")
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// adminCertAutoRetire: POST /admin/certificates/auto-retire (days, 0 = off).
func (s *Console) adminCertAutoRetire(c echo.Context) error {
	ac := adminOf(c)
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("days")))
	if err != nil {
		days = -1 // not a number: the service's refusal says what to enter
	}
	err = s.admin.SetCertAutoRetire(c.Request().Context(), ac.who(), ac.t.Company.ID, days)
	return s.settingsDone(c, err, "save automatic retirement", s.certsPage, http.StatusUnprocessableEntity, "/certificates", "auto-retire")
}

// autoRetireCertificates applies a company's automatic retirement rule
// (admin.AutoRetireCertificates) and returns how many it retired.
func (s *Console) autoRetireCertificates(ctx context.Context, co *directory.Company) (int, error) {
	retired, err := s.admin.AutoRetireCertificates(ctx, co)
	for _, r := range retired {
		s.log.Info("certificate retired automatically", "company", co.Slug, "sha1", r.Cert.SHA1, "signing", r.Signing.SHA1)
	}
	return len(retired), err
}

// AutoRetireCertificates applies every company's automatic certificate
// retirement rule; web's background work calls it periodically. The
// console also applies it to a company whenever one of its pages is
// opened.
func (s *Console) AutoRetireCertificates(ctx context.Context) error {
	list, err := s.dir.ListCompanies(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := range list {
		n, err := s.autoRetireCertificates(ctx, &list[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("company %s: %w", list[i].Slug, err))
		}
		if n > 0 {
			s.caches.ForgetCompany(list[i].Slug)
		}
	}
	return errors.Join(errs...)
}

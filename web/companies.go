package web

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/cache"
	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
)

// tenant is one company's settings as this instance currently sees them,
// with the service provider built from them.
type tenant struct {
	Company *directory.Company
	Certs   []directory.Certificate // trusted (not retired)
	SP      *sso.SP                 // nil when SPErr is set
	SPErr   error                   // why no SP could be built (no certificate...)
	fetched time.Time
}

// companyCache keeps each company's settings for SettingsTTL, so the ACS
// and session checks do not read the database on every request, while an
// admin's change still reaches every instance within SettingsTTL. The SP is
// rebuilt only when the company's Version changes. An unknown slug is
// remembered as unknown for SettingsTTL too, so a stream of requests for
// made-up companies costs the database one read per slug and TTL.
type companyCache struct {
	s *Server
	c *cache.Cache[*tenant]
}

func newCompanyCache(s *Server) *companyCache {
	return &companyCache{s: s, c: cache.New[*tenant](cacheSize, s.cfg.SettingsTTL, s.now)}
}

// Invalidate drops a company so the next request reads it afresh (used by
// changes made in this process).
func (cc *companyCache) Invalidate(slug string) { cc.c.Forget(slug) }

// get returns the company's tenant; directory.ErrNotFound for an unknown
// slug.
func (cc *companyCache) get(ctx context.Context, slug string) (*tenant, error) {
	t, err := cc.c.Get(ctx, slug, func(ctx context.Context) (*tenant, error) { return cc.load(ctx, slug) }, nil)
	if err != nil {
		return nil, err
	}
	if t.Company == nil {
		return nil, fmt.Errorf("company %q: %w", slug, directory.ErrNotFound)
	}
	return t, nil
}

func (cc *companyCache) load(ctx context.Context, slug string) (*tenant, error) {
	now := cc.s.now()
	c, err := cc.s.dir.GetCompany(ctx, slug)
	if errors.Is(err, directory.ErrNotFound) {
		return &tenant{fetched: now}, nil
	}
	if err != nil {
		return nil, err
	}
	if old, ok := cc.c.Peek(slug); ok && old.Company != nil && old.Company.Version == c.Version {
		fresh := *old
		fresh.Company, fresh.fetched = c, now
		return &fresh, nil
	}
	certs, err := cc.s.dir.ListCertificates(ctx, c.ID, false)
	if err != nil {
		return nil, err
	}
	keys, err := cc.s.encryptionKeys(ctx, c)
	if err != nil {
		return nil, err
	}
	nt := &tenant{Company: c, Certs: certs, fetched: now}
	nt.SP, nt.SPErr = cc.s.buildSP(c, certs, keys...)
	return nt, nil
}

// companyURL returns the absolute URL of a path under /c/{slug}.
func (s *Server) companyURL(slug, p string) string {
	return s.cfg.PublicURL + "/c/" + slug + p
}

// loginURL returns where SP-initiated requests go: the admin's Login URL,
// or the one Entra derives from the tenant in the Identifier.
func loginURL(c *directory.Company) string {
	if c.IDPLoginURL != "" {
		return c.IDPLoginURL
	}
	return derivedLoginURL(c)
}

// checkedLoginURL is loginURL when it is allowed (sso.CheckLoginURL with
// SSOGATE_IDP_LOGIN_HOSTS). A Login URL in the directory that is not (set
// before the check existed, or written around it) is never used: the one
// derived from the Identifier takes its place, or none.
func (s *Server) checkedLoginURL(c *directory.Company) string {
	u := loginURL(c)
	if u == "" {
		return ""
	}
	if err := sso.CheckLoginURL(u, s.cfg.IDPLoginHosts); err != nil {
		s.log.Warn("the company's IdP Login URL is not allowed and is not used; correct it in the console", "company", c.Slug, "err", err)
		return derivedLoginURL(c)
	}
	return u
}

// derivedLoginURL is Entra's Login URL for the tenant named in the
// Identifier (or the pinned issuer), or "".
func derivedLoginURL(c *directory.Company) string {
	for _, iss := range []string{c.EntraIdentifier, c.PinnedIssuer} {
		if rest, ok := strings.CutPrefix(iss, "https://sts.windows.net/"); ok {
			if tenant := strings.Trim(rest, "/"); tenant != "" && !strings.ContainsAny(tenant, "/?#") {
				return "https://login.microsoftonline.com/" + tenant + "/saml2"
			}
		}
	}
	return ""
}

func (s *Server) buildSP(c *directory.Company, certs []directory.Certificate, keys ...sso.DecryptionKey) (*sso.SP, error) {
	if len(certs) == 0 {
		return nil, errors.New("no trusted certificate: run `ssogate sso set-cert` with Entra's Certificate (Base64)")
	}
	parsed := make([]*x509.Certificate, 0, len(certs))
	for _, ct := range certs {
		x, err := x509.ParseCertificate(ct.DER)
		if err != nil {
			return nil, fmt.Errorf("stored certificate %s: %w", ct.SHA1, err)
		}
		parsed = append(parsed, x)
	}
	issuer := c.EntraIdentifier
	if issuer == "" {
		issuer = c.PinnedIssuer
	}
	format := "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	return sso.New(sso.Settings{
		EntityID:       s.companyURL(c.Slug, "/saml/metadata"),
		ACSURL:         s.companyURL(c.Slug, "/saml/acs"),
		ExpectedIssuer: issuer,
		IDPSSOURL:      s.checkedLoginURL(c),
		SLOURL:         s.companyURL(c.Slug, "/saml/slo"),
		Certs:          parsed,
		NameIDFormat:   format,
		Encryption:     string(c.TokenEncryption),
		DecryptionKeys: keys,
	}, s.ssoOpts)
}

// tenantOf resolves the :company path parameter, refusing unknown ones.
func (s *Server) tenantOf(c echo.Context) (*tenant, error) {
	slug := c.Param("company")
	if !directory.ValidSlug(slug) {
		return nil, refuse(http.StatusNotFound, "unknown_company", "Unknown company",
			"This address does not belong to any company.", "Check the link you followed, or ask your IT department for the right one.", nil)
	}
	t, err := s.companies.get(c.Request().Context(), slug)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, refuse(http.StatusNotFound, "unknown_company", "Unknown company",
			"This address does not belong to any company.", "Check the link you followed, or ask your IT department for the right one.", err)
	}
	if err != nil {
		return nil, fmt.Errorf("load company %q: %w", slug, err)
	}
	return t, nil
}

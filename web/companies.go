package web

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

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
// rebuilt only when the company's Version changes.
type companyCache struct {
	s  *Server
	mu sync.Mutex
	m  map[string]*tenant
}

func newCompanyCache(s *Server) *companyCache { return &companyCache{s: s, m: map[string]*tenant{}} }

// Invalidate drops a company so the next request reads it afresh (used by
// changes made in this process).
func (cc *companyCache) Invalidate(slug string) {
	cc.mu.Lock()
	delete(cc.m, slug)
	cc.mu.Unlock()
}

func (cc *companyCache) get(ctx context.Context, slug string) (*tenant, error) {
	now := cc.s.now()
	cc.mu.Lock()
	t := cc.m[slug]
	cc.mu.Unlock()
	if t != nil && now.Sub(t.fetched) < cc.s.cfg.SettingsTTL {
		return t, nil
	}
	c, err := cc.s.dir.GetCompany(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t != nil && t.Company.Version == c.Version {
		fresh := *t
		fresh.Company, fresh.fetched = c, now
		cc.put(slug, &fresh)
		return &fresh, nil
	}
	certs, err := cc.s.dir.ListCertificates(ctx, c.ID, false)
	if err != nil {
		return nil, err
	}
	nt := &tenant{Company: c, Certs: certs, fetched: now}
	nt.SP, nt.SPErr = cc.s.buildSP(c, certs)
	cc.put(slug, nt)
	return nt, nil
}

func (cc *companyCache) put(slug string, t *tenant) {
	cc.mu.Lock()
	if len(cc.m) > 10000 { // bound memory against many slugs
		clear(cc.m)
	}
	cc.m[slug] = t
	cc.mu.Unlock()
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
	for _, iss := range []string{c.EntraIdentifier, c.PinnedIssuer} {
		if rest, ok := strings.CutPrefix(iss, "https://sts.windows.net/"); ok {
			if tenant := strings.Trim(rest, "/"); tenant != "" && !strings.ContainsAny(tenant, "/?#") {
				return "https://login.microsoftonline.com/" + tenant + "/saml2"
			}
		}
	}
	return ""
}

func (s *Server) buildSP(c *directory.Company, certs []directory.Certificate) (*sso.SP, error) {
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
		IDPSSOURL:      loginURL(c),
		Certs:          parsed,
		NameIDFormat:   format,
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

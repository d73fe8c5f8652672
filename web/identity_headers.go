package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/ssogate/ssogate/identity"
)

// Identity mints the assertion handed to the product and publishes the
// keys that verify it (*identity.Signer).
type Identity interface {
	Mint(ctx context.Context, aud string, c identity.Claims) (string, error)
	JWKS(ctx context.Context) ([]byte, error)
	MaxAge() time.Duration // how long a verifier may cache the JWKS
}

// The identity headers the product receives (contract.md).
const (
	hdrAssertion  = "X-Ssogate-Assertion"
	hdrEmployeeID = "X-Ssogate-Employee-Id"
	hdrCompany    = "X-Ssogate-Company"
	hdrUser       = "X-Ssogate-User"
	hdrEmail      = "X-Ssogate-Email"
)

// identityHeaders returns the headers that tell the product who is asking:
// the signed X-Ssogate-Assertion for audience aud, and the plain
// convenience headers. The built-in proxy sets them on the request it
// forwards; the forward-auth endpoints answer them to the proxy that asks.
// An error (no signing key) means nothing may be forwarded.
func (s *Server) identityHeaders(ctx context.Context, t *tenant, p *principal, aud string) (http.Header, error) {
	if s.identity == nil {
		return nil, identity.ErrUnavailable
	}
	e := p.Employee
	roles := []string{}
	if e.IsAdmin {
		roles = append(roles, "admin")
	}
	if e.IsApprover {
		roles = append(roles, "approver")
	}
	jwt, err := s.identity.Mint(ctx, aud, identity.Claims{Subject: e.ID, Company: t.Company.Slug, UserName: e.UserName,
		Email: e.Email, Name: e.DisplayedName(), Roles: roles, SID: sessionHandle(p.Session.ID)})
	if err != nil {
		return nil, fmt.Errorf("mint identity assertion: %w", err)
	}
	h := http.Header{hdrAssertion: {jwt}}
	for k, v := range map[string]string{hdrEmployeeID: e.ID, hdrCompany: t.Company.Slug, hdrUser: e.UserName, hdrEmail: e.Email} {
		// Directory values are provisioned from outside; one that cannot
		// travel in a header is left to the assertion.
		if v != "" && httpguts.ValidHeaderFieldValue(v) {
			h[k] = []string{v}
		}
	}
	return h, nil
}

// sessionHandle is the sid claim: an opaque handle of one session that the
// product may use to tell sessions apart (and to match logouts), derived
// one-way from the session's store key with a domain-separation prefix, so
// it can neither be turned back into the store key nor used as a cookie.
func sessionHandle(storeKey string) string {
	sum := sha256.Sum256([]byte("ssogate assertion sid v1\x00" + storeKey))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

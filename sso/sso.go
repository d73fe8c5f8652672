// Package sso is the SAML 2.0 service provider over crewjam/saml: it builds
// one SP per company from plain settings, serves metadata, makes
// AuthnRequests (HTTP-Redirect), and validates ACS POSTs into an Identity.
//
// It is protocol only: it never imports storage, Redis, Echo or web. The
// caller (web) resolves the Identity to an employee and makes the session.
package sso

import (
	"crypto/x509"
	"time"
)

// Settings are everything one company's SP needs, taken from the directory
// by the caller.
type Settings struct {
	// EntityID is the SP Entity ID (Entra: Identifier) = the metadata URL,
	// e.g. https://gw.example.com/c/acme/saml/metadata.
	EntityID string
	// ACSURL is the Reply URL, e.g. https://gw.example.com/c/acme/saml/acs.
	ACSURL string
	// ExpectedIssuer is the Entra Identifier to enforce. Empty means trust
	// on first use: the response's own Issuer is used for the checks and
	// returned in Identity.Issuer for the caller to pin.
	ExpectedIssuer string
	// IDPSSOURL is where AuthnRequests go (Entra's Login URL,
	// https://login.microsoftonline.com/<tenant>/saml2). Derived from
	// ExpectedIssuer when empty and the issuer is an sts.windows.net one.
	IDPSSOURL string
	// SLOURL is this SP's Single Logout URL (Entra: Logout Url), e.g.
	// https://gw.example.com/c/acme/saml/slo; "" = no Single Logout (not in
	// the metadata, logout messages refused).
	SLOURL string
	// IDPSLOURL is Entra's logout endpoint (HTTP-Redirect). Entra uses its
	// login URL for both, so it is IDPSSOURL when empty.
	IDPSLOURL string
	// Certs are the trusted signing certificates (several during rollover).
	Certs []*x509.Certificate
	// NameIDFormat requested in AuthnRequests: emailAddress or unspecified,
	// never transient.
	NameIDFormat string
	// Encryption is the token encryption policy: off ("" too), optional or
	// required. DecryptionKeys (newest first; required unless off) all
	// decrypt, and their certificates are all in the metadata.
	Encryption     string
	DecryptionKeys []DecryptionKey
}

// Identity is what a validated assertion says.
type Identity struct {
	NameID       string
	NameIDFormat string
	Issuer       string
	ObjectID     string // http://schemas.microsoft.com/identity/claims/objectidentifier
	TenantID     string // .../claims/tenantid
	Email        string
	GivenName    string
	FamilyName   string
	DisplayName  string
	AssertionID  string
	SessionIndex string
	InResponseTo string // "" for IdP-initiated
	// CertSHA256 is the hex SHA-256 of the trusted certificate that verified
	// the signature.
	CertSHA256 string
	// ValidUntil is the latest instant the assertion could still be
	// accepted (for the replay cache TTL): the earlier of its NotOnOrAfter
	// and IssueInstant + MaxIssueDelay, plus the clock skew.
	ValidUntil time.Time
	// DecryptedWith is the hex SHA-256 of the encryption certificate whose
	// key decrypted the assertion ("" for a plain assertion).
	DecryptedWith string
}

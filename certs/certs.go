// Package certs turns what a setup admin pastes (Entra's "Certificate
// (Base64)", a PEM, or bare Base64 DER) into a verified *x509.Certificate,
// or into a precise, admin-facing reason why not. It also computes the
// fingerprints Entra and admins compare (SHA-1 thumbprint, SHA-256) and
// expiry warnings. It imports no storage, protocol or HTTP package.
package certs

import (
	"crypto/x509"
	"time"

	"github.com/ssogate/ssogate/internal/usererr"
)

// Info describes an accepted certificate.
type Info struct {
	Cert      *x509.Certificate
	DER       []byte
	Subject   string // e.g. "CN=Microsoft Azure Federated SSO Certificate"
	SHA1      string // upper-case hex, no separators (Entra's Thumbprint)
	SHA256    string // lower-case hex
	NotBefore time.Time
	NotAfter  time.Time
}

// Reason classifies a refused paste. Parse refuses with a usererr.Error of
// kind Invalid whose Code is the Reason and whose message, safe to show the
// admin, says what was pasted and what to paste instead.
type Reason string

const (
	ReasonEmpty       Reason = "empty"
	ReasonPrivateKey  Reason = "private_key"
	ReasonMetadataXML Reason = "metadata_xml"
	ReasonNotBase64   Reason = "not_base64"
	ReasonNotCert     Reason = "not_certificate"
	ReasonExpired     Reason = "expired"
	ReasonNotYetValid Reason = "not_yet_valid"
	ReasonWeakKey     Reason = "weak_key"
	ReasonUnsupported Reason = "unsupported_key"
	ReasonMultiple    Reason = "multiple_certificates"
)

// ReasonOf returns the Reason Parse refused a paste for (anywhere in err's
// chain), or "" when err is not such a refusal.
func ReasonOf(err error) Reason {
	if e, ok := usererr.As(err); ok && isReason(e.Code()) {
		return Reason(e.Code())
	}
	return ""
}

func isReason(code string) bool {
	switch Reason(code) {
	case ReasonEmpty, ReasonPrivateKey, ReasonMetadataXML, ReasonNotBase64, ReasonNotCert,
		ReasonExpired, ReasonNotYetValid, ReasonWeakKey, ReasonUnsupported, ReasonMultiple:
		return true
	}
	return false
}

// Package certs turns what a setup admin pastes (Entra's "Certificate
// (Base64)", a PEM, or bare Base64 DER) into a verified *x509.Certificate,
// or into a precise, admin-facing reason why not. It also computes the
// fingerprints Entra and admins compare (SHA-1 thumbprint, SHA-256) and
// expiry warnings. It imports no storage, protocol or HTTP package.
package certs

import (
	"crypto/x509"
	"time"
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

// Reason classifies a refused paste. Each has a fixed admin-facing message
// (Message) saying what was pasted and what to paste instead.
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

// Error is a refused paste. Error() is safe to show the admin.
type Error struct {
	Reason Reason
	Msg    string // admin-facing, says what to paste instead
}

func (e *Error) Error() string { return e.Msg }

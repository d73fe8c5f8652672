// Package fedmeta reads an Entra app's federation metadata (the App
// Federation Metadata URL shown under SAML Certificates): it fetches the
// document from an allowed host only, bounded in size and time, with
// conditional requests, and parses the Entra Identifier (entityID) and the
// signing certificates out of it.
//
// It owns no storage and makes no trust decision: sso/fedsync decides what
// a document changes for a company. It imports no HTTP framework, no
// storage and no other package of the project but certs and
// internal/usererr.
package fedmeta

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/usererr"
)

// Outcomes: the metric label and stored outcome of one refresh. OK and
// NotModified are successes; every other one keeps the certificates trusted
// before.
const (
	OutcomeOK          = "ok"           // a document was read and applied
	OutcomeNotModified = "not_modified" // 304: nothing changed since the last document
	OutcomeRefusedURL  = "refused_url"  // not https, or a host outside the allow-list
	OutcomeRedirect    = "redirect_refused"
	OutcomeUnreachable = "unreachable" // DNS, connection or TLS failure
	OutcomeTimeout     = "timeout"
	OutcomeHTTPStatus  = "http_error" // an answer other than 200 or 304
	OutcomeTooLarge    = "too_large"
	OutcomeInvalid     = "invalid"         // not federation metadata (garbage, DTD, wrong root...)
	OutcomeNoCerts     = "no_certificates" // no usable signing certificate in it
)

// fail is every failure of Fetch, CheckURL and Parse: a usererr.Error whose
// Code is the outcome (for metrics, the stored outcome and branching: see
// OutcomeOf), whose message is safe to show the admin, and whose cause is
// kept for the log.
func fail(outcome, msg string, cause error) *usererr.Error {
	return usererr.Wrap(cause, outcomeKind(outcome), outcome, msg)
}

// outcomeKind: the server not answering (in time, or with a document) may
// pass; every other failure is the URL or the document, which must change.
func outcomeKind(outcome string) usererr.Kind {
	switch outcome {
	case OutcomeUnreachable, OutcomeTimeout, OutcomeHTTPStatus:
		return usererr.Unavailable
	}
	return usererr.Invalid
}

// OutcomeOf returns the outcome of err: OutcomeOK for nil, the Code of the
// usererr.Error in it (fedmeta's failures, and those sync code makes with
// an outcome as their code), or OutcomeUnreachable for anything else.
func OutcomeOf(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if code := usererr.CodeOf(err); code != "" {
		return code
	}
	return OutcomeUnreachable
}

// Metadata is what a federation metadata document says.
type Metadata struct {
	// EntityID is the Entra Identifier (https://sts.windows.net/<tenant>/).
	EntityID string
	// Signing lists the distinct signing certificates of the IdP role, in
	// document order: Entra lists the active one and, during a rollover,
	// the new (inactive) one too.
	Signing []*x509.Certificate
	// Skipped says why certificates of the document were left out (weak
	// or unsupported keys), one line each.
	Skipped []string
	// ValidUntil is the document's validUntil (zero when absent).
	ValidUntil time.Time
	// Signed reports whether the document carries an XML signature. It is
	// not verified here (see fedsync).
	Signed bool
}

const (
	nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig     = "http://www.w3.org/2000/09/xmldsig#"
)

// Parse reads a federation metadata document. A UTF-8 byte order mark is
// tolerated; a DTD, entity declaration, non-UTF-8 text or any root other than
// an EntityDescriptor (or an EntitiesDescriptor holding exactly one) is
// refused, and so is a document with no usable IdP signing certificate.
func Parse(b []byte) (*Metadata, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return nil, fail(OutcomeInvalid, "the document is not UTF-8 text", nil)
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '<' {
		return nil, fail(OutcomeInvalid, "the document is not XML (is the URL the App Federation Metadata Url?)", nil)
	}
	for rest := b; ; {
		i := bytes.Index(rest, []byte("<!"))
		if i < 0 {
			break
		}
		rest = rest[i+2:]
		if bytes.HasPrefix(rest, []byte("--")) || bytes.HasPrefix(rest, []byte("[CDATA[")) {
			continue
		}
		return nil, fail(OutcomeInvalid, "the document carries a DOCTYPE or entity declaration, which federation metadata never does", nil)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fail(OutcomeInvalid, "the document is not well-formed XML", err)
	}
	root := doc.Root()
	if root != nil && root.Tag == "EntitiesDescriptor" && root.NamespaceURI() == nsMetadata {
		var ents []*etree.Element
		for _, ch := range root.ChildElements() {
			if ch.Tag == "EntityDescriptor" && ch.NamespaceURI() == nsMetadata {
				ents = append(ents, ch)
			}
		}
		if len(ents) != 1 {
			return nil, fail(OutcomeInvalid, fmt.Sprintf("the document lists %d entities; an Entra app's metadata describes exactly one", len(ents)), nil)
		}
		root = ents[0]
	}
	if root == nil || root.Tag != "EntityDescriptor" || root.NamespaceURI() != nsMetadata {
		return nil, fail(OutcomeInvalid, "the document is XML but not SAML metadata (no EntityDescriptor root)", nil)
	}
	md := &Metadata{EntityID: strings.TrimSpace(root.SelectAttrValue("entityID", ""))}
	if md.EntityID == "" {
		return nil, fail(OutcomeInvalid, "the metadata names no entityID", nil)
	}
	if len(md.EntityID) > 1024 || strings.ContainsFunc(md.EntityID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fail(OutcomeInvalid, "the metadata's entityID is not a usable identifier", nil)
	}
	if v := strings.TrimSpace(root.SelectAttrValue("validUntil", "")); v != "" {
		vu, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fail(OutcomeInvalid, fmt.Sprintf("the metadata's validUntil %q is not a time", clip(v)), err)
		}
		md.ValidUntil = vu
	}
	for _, ch := range root.ChildElements() {
		if ch.Tag == "Signature" && ch.NamespaceURI() == nsDSig {
			md.Signed = true
		}
	}
	seen := map[string]bool{}
	var idp int
	for _, role := range root.ChildElements() {
		if role.Tag != "IDPSSODescriptor" || role.NamespaceURI() != nsMetadata {
			continue
		}
		idp++
		for _, kd := range role.ChildElements() {
			if kd.Tag != "KeyDescriptor" || kd.NamespaceURI() != nsMetadata {
				continue
			}
			if use := kd.SelectAttrValue("use", ""); use != "" && use != "signing" {
				continue
			}
			for _, el := range kd.FindElements(".//X509Certificate") {
				if el.NamespaceURI() != nsDSig {
					continue
				}
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
				if err != nil {
					md.Skipped = append(md.Skipped, "a signing certificate that is not Base64")
					continue
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					md.Skipped = append(md.Skipped, "a signing certificate that is not X.509")
					continue
				}
				if seen[string(c.Raw)] {
					continue
				}
				seen[string(c.Raw)] = true
				if why := unusableKey(c); why != "" {
					md.Skipped = append(md.Skipped, fmt.Sprintf("certificate %s: %s", certs.Describe(c).SHA1, why))
					continue
				}
				md.Signing = append(md.Signing, c)
			}
		}
	}
	if idp == 0 {
		return nil, fail(OutcomeNoCerts, "the metadata has no IDPSSODescriptor (SAML identity provider role)", nil)
	}
	if len(md.Signing) == 0 {
		msg := "the metadata lists no usable signing certificate"
		if len(md.Skipped) > 0 {
			msg += " (" + strings.Join(md.Skipped, "; ") + ")"
		}
		return nil, fail(OutcomeNoCerts, msg, nil)
	}
	return md, nil
}

// unusableKey says why c's key is not accepted ("" when it is): the rules
// of a pasted certificate (RSA of at least certs.MinRSABits, or ECDSA).
func unusableKey(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < certs.MinRSABits {
			return fmt.Sprintf("%d-bit RSA key (at least %d required)", bits, certs.MinRSABits)
		}
		return ""
	case *ecdsa.PublicKey:
		return ""
	}
	return fmt.Sprintf("unsupported %s key", c.PublicKeyAlgorithm)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

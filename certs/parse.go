package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SHA-1 is only the display thumbprint Entra shows, never a security decision.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/ssogate/ssogate/internal/usererr"
)

// MinRSABits is the smallest RSA modulus accepted for an IdP signing key.
const MinRSABits = 2048

// maxPaste bounds what Parse looks at; a certificate is a few kilobytes.
const maxPaste = 256 << 10

// Messages: each says what was pasted and what to paste instead.
const (
	msgDownload    = `In the Entra admin center open Enterprise applications → your app → Single sign-on → SAML Certificates, download "Certificate (Base64)" and paste the whole file here.`
	msgEmpty       = `Nothing was pasted. ` + msgDownload
	msgPrivateKey  = `This is a private key. Never paste a private key anywhere: it must stay with Entra. ` + msgDownload
	msgMetadataXML = `This is XML (federation metadata), not a certificate. Paste the certificate, not the XML: ` + msgDownload
	msgNotBase64   = `This is not a certificate: it is neither PEM ("-----BEGIN CERTIFICATE-----") nor Base64 text. ` + msgDownload
	msgNotCert     = `This is Base64 text, but not an X.509 certificate. ` + msgDownload
	msgMultiple    = `This paste holds %d certificates; paste exactly one. If Entra shows several, download each one's "Certificate (Base64)" and add them one at a time.`
	msgWeakKey     = `This certificate has a %d-bit RSA key; at least %d bits are required. In Entra create a new certificate (SAML Certificates → Edit → New Certificate), download its "Certificate (Base64)" and paste it.`
	msgUnsupported = `This certificate has a %s key; only RSA (2048 bits or more) and ECDSA keys are supported. Paste the SAML signing certificate from Entra: ` + msgDownload
	msgExpired     = `This certificate expired on %s (UTC). In Entra create a new certificate (SAML Certificates → Edit → New Certificate), make it active, then download its "Certificate (Base64)" and paste it.`
	msgNotYetValid = `This certificate is not valid until %s (UTC). Check this server's clock, or paste the certificate Entra currently uses: ` + msgDownload
)

// refuse is a refused paste: the value can never be accepted.
func refuse(r Reason, msg string) *usererr.Error { return usererr.New(usererr.Invalid, string(r), msg) }

// Parse turns a paste into a certificate, or a usererr.Error (Invalid, its
// Code a Reason, see ReasonOf) whose message tells the admin what was
// pasted and what to paste instead. It accepts a PEM block
// (with or without the BEGIN/END lines), bare Base64 DER on one line or
// wrapped, any whitespace or CRLF, and a UTF-8 byte order mark. now decides
// expiry.
func Parse(paste string, now time.Time) (*Info, error) {
	if len(paste) > maxPaste {
		return nil, refuse(ReasonNotCert, `This paste is far too long to be one certificate. `+msgDownload)
	}
	s := strings.TrimPrefix(paste, "\ufeff")
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, refuse(ReasonEmpty, msgEmpty)
	}
	if strings.Contains(s, "PRIVATE KEY-----") {
		return nil, refuse(ReasonPrivateKey, msgPrivateKey)
	}
	if strings.HasPrefix(s, "<") || strings.Contains(s, "EntityDescriptor") {
		return nil, refuse(ReasonMetadataXML, msgMetadataXML)
	}

	var ders [][]byte
	if strings.Contains(s, "-----BEGIN") || strings.Contains(s, "-----END") {
		blocks, err := pemBlocks(s)
		if err != nil {
			return nil, err
		}
		ders = blocks
	} else {
		der, ok := decodeBase64(s)
		if !ok {
			return nil, refuse(ReasonNotBase64, msgNotBase64)
		}
		ders = [][]byte{der}
	}

	var certs []*x509.Certificate
	for _, der := range ders {
		cs, err := x509.ParseCertificates(der)
		if err != nil || len(cs) == 0 {
			if isPrivateKey(der) {
				return nil, refuse(ReasonPrivateKey, msgPrivateKey)
			}
			return nil, refuse(ReasonNotCert, msgNotCert)
		}
		certs = append(certs, cs...)
	}
	if len(certs) > 1 {
		return nil, refuse(ReasonMultiple, fmt.Sprintf(msgMultiple, len(certs)))
	}
	c := certs[0]

	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, refuse(ReasonWeakKey, fmt.Sprintf(msgWeakKey, bits, MinRSABits))
		}
	case *ecdsa.PublicKey:
	default:
		return nil, refuse(ReasonUnsupported, fmt.Sprintf(msgUnsupported, c.PublicKeyAlgorithm))
	}
	if now.After(c.NotAfter) {
		return nil, refuse(ReasonExpired, fmt.Sprintf(msgExpired, c.NotAfter.UTC().Format("2006-01-02 15:04")))
	}
	if now.Before(c.NotBefore) {
		return nil, refuse(ReasonNotYetValid, fmt.Sprintf(msgNotYetValid, c.NotBefore.UTC().Format("2006-01-02 15:04")))
	}
	return Describe(c), nil
}

// pemBlocks reads every BEGIN/END block of s. A block labelled as a key is
// refused as a private key; any other non-certificate label is refused as
// not a certificate. Text outside blocks (Entra adds none, some tools add
// "Bag Attributes") is ignored.
func pemBlocks(s string) ([][]byte, error) {
	var out [][]byte
	rest := s
	for {
		i := strings.Index(rest, "-----BEGIN ")
		if i < 0 {
			break
		}
		rest = rest[i+len("-----BEGIN "):]
		j := strings.Index(rest, "-----")
		if j < 0 {
			return nil, refuse(ReasonNotBase64, `The "-----BEGIN" line is cut off. `+msgDownload)
		}
		label := strings.TrimSpace(rest[:j])
		rest = rest[j+5:]
		end := "-----END " + label + "-----"
		k := strings.Index(rest, end)
		if k < 0 {
			return nil, refuse(ReasonNotBase64, fmt.Sprintf(`The "-----END %s-----" line is missing: the paste is cut off. `, label)+msgDownload)
		}
		body := rest[:k]
		rest = rest[k+len(end):]
		switch {
		case strings.Contains(label, "PRIVATE KEY"):
			return nil, refuse(ReasonPrivateKey, msgPrivateKey)
		case label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE":
		case label == "PUBLIC KEY" || label == "RSA PUBLIC KEY":
			return nil, refuse(ReasonNotCert, `This is a public key, not a certificate. `+msgDownload)
		default:
			return nil, refuse(ReasonNotCert, fmt.Sprintf(`This is a %q block, not a certificate. `, label)+msgDownload)
		}
		der, ok := decodeBase64(body)
		if !ok {
			return nil, refuse(ReasonNotBase64, `The text between the BEGIN and END lines is not valid Base64 (it may be cut off or edited). `+msgDownload)
		}
		out = append(out, der)
	}
	if len(out) == 0 {
		// Only an END line, or BEGIN lines were missing.
		body := s
		if i := strings.Index(body, "-----END"); i >= 0 {
			body = body[:i]
		}
		der, ok := decodeBase64(body)
		if !ok {
			return nil, refuse(ReasonNotBase64, msgNotBase64)
		}
		out = append(out, der)
	}
	return out, nil
}

// decodeBase64 decodes s after removing all whitespace, with or without
// padding.
func decodeBase64(s string) ([]byte, bool) {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	if clean == "" {
		return nil, false
	}
	if der, err := base64.StdEncoding.DecodeString(clean); err == nil {
		return der, true
	}
	if der, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "=")); err == nil {
		return der, true
	}
	return nil, false
}

func isPrivateKey(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return true
	}
	return false
}

// Describe computes what admins and Entra compare for c.
func Describe(c *x509.Certificate) *Info {
	s1 := sha1.Sum(c.Raw) //nolint:gosec // display thumbprint only
	s256 := sha256.Sum256(c.Raw)
	return &Info{
		Cert:      c,
		DER:       bytes.Clone(c.Raw),
		Subject:   c.Subject.String(),
		SHA1:      strings.ToUpper(hex.EncodeToString(s1[:])),
		SHA256:    hex.EncodeToString(s256[:]),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
	}
}

// Expiry warning levels, matching Entra's reminder e-mails (60, 30 and 7
// days before expiry).
const (
	LevelNone     = ""
	LevelNotice   = "notice"   // 60 days or fewer left
	LevelWarning  = "warning"  // 30 days or fewer left
	LevelCritical = "critical" // 7 days or fewer left
	LevelExpired  = "expired"
)

// ExpiryWarning says how many whole days are left before notAfter (negative
// once expired) and how loudly to warn.
func ExpiryWarning(notAfter, now time.Time) (days int, level string) {
	left := notAfter.Sub(now)
	days = int(left / (24 * time.Hour))
	if left < 0 && left%(24*time.Hour) != 0 {
		days-- // floor for negative durations
	}
	switch {
	case now.After(notAfter):
		return days, LevelExpired
	case days <= 7:
		return days, LevelCritical
	case days <= 30:
		return days, LevelWarning
	case days <= 60:
		return days, LevelNotice
	}
	return days, LevelNone
}

package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Token encryption: the gateway's own key pairs, whose certificates Entra
// encrypts SAML assertions to (Entra: Single sign-on → Token encryption).

// EncryptionKeyBits is the size of the RSA keys NewEncryptionKey makes (the
// size of Entra's own SAML keys).
const EncryptionKeyBits = 2048

// EncryptionValidity is how long an encryption certificate is valid (as
// Entra's own SAML certificates: three years).
const EncryptionValidity = 3 * 365 * 24 * time.Hour

// EncryptionKey is a new key pair: the private key as PKCS #8 DER and the
// self-signed certificate that carries its public key.
type EncryptionKey struct {
	PrivateKey []byte
	CertDER    []byte
	NotAfter   time.Time
}

// NewEncryptionKey makes an RSA key pair and a self-signed certificate
// named cn, valid from an hour before now for EncryptionValidity, for key
// and data encipherment only.
func NewEncryptionKey(cn string, now time.Time) (*EncryptionKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, EncryptionKeyBits)
	if err != nil {
		return nil, fmt.Errorf("certs: generate encryption key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour).UTC().Truncate(time.Second),
		NotAfter:              now.Add(EncryptionValidity).UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: self-sign encryption certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &EncryptionKey{PrivateKey: pk, CertDER: der, NotAfter: tmpl.NotAfter}, nil
}

// ParseEncryptionKey reads a stored key pair back and checks that the
// private key belongs to the certificate.
func ParseEncryptionKey(pkcs8, certDER []byte) (*rsa.PrivateKey, *x509.Certificate, error) {
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: encryption private key: %w", err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("certs: encryption private key is not RSA")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: encryption certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("certs: the encryption certificate does not belong to the private key")
	}
	return key, cert, nil
}

// CertificatePEM is a certificate as Entra's Token encryption page takes
// it: "Certificate (Base64)", a PEM file (.cer).
func CertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

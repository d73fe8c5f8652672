package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // test recomputes the display thumbprint
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/usererr"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

var (
	keysOnce sync.Once
	rsa2048  *rsa.PrivateKey
	rsa1024  *rsa.PrivateKey
)

func keys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil { //nolint:gosec // the weak key under test
			panic(err)
		}
	})
}

func makeCert(t *testing.T, key crypto.Signer, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Microsoft Azure Federated SSO Certificate"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(der []byte, label string) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

func TestParse(t *testing.T) {
	keys(t)
	good := makeCert(t, rsa2048, now.Add(-24*time.Hour), now.Add(3*365*24*time.Hour))
	other := makeCert(t, rsa2048, now.Add(-24*time.Hour), now.Add(365*24*time.Hour))
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecCert := makeCert(t, ecKey, now.Add(-time.Hour), now.Add(time.Hour*24*30))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edCert := makeCert(t, edKey, now.Add(-time.Hour), now.Add(time.Hour*24*30))
	weak := makeCert(t, rsa1024, now.Add(-time.Hour), now.Add(time.Hour*24*30))
	expired := makeCert(t, rsa2048, now.Add(-4*365*24*time.Hour), time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	future := makeCert(t, rsa2048, now.Add(48*time.Hour), now.Add(365*24*time.Hour))

	goodPEM := pemOf(good.Raw, "CERTIFICATE")
	b64 := base64.StdEncoding.EncodeToString(good.Raw)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 64 {
		wrapped.WriteString(b64[i:min(i+64, len(b64))])
		wrapped.WriteString("\r\n")
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rsa2048)
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsa2048)
	pubDER, _ := x509.MarshalPKIXPublicKey(rsa2048.Public())

	accept := []struct {
		name, paste string
		want        *x509.Certificate
	}{
		{"pem", goodPEM, good},
		{"pem crlf", strings.ReplaceAll(goodPEM, "\n", "\r\n"), good},
		{"pem with bom and indentation", "\ufeff  " + strings.ReplaceAll(goodPEM, "\n", "\n   "), good},
		{"pem single line body", "-----BEGIN CERTIFICATE-----" + b64 + "-----END CERTIFICATE-----", good},
		{"bare base64 one line", b64, good},
		{"bare base64 wrapped crlf", wrapped.String(), good},
		{"bare base64 without padding", strings.TrimRight(b64, "="), good},
		{"base64 body without BEGIN/END but with trailing END", b64 + "\n-----END CERTIFICATE-----\n", good},
		{"ecdsa", pemOf(ecCert.Raw, "CERTIFICATE"), ecCert},
	}
	for _, tc := range accept {
		t.Run("accept/"+tc.name, func(t *testing.T) {
			info, err := Parse(tc.paste, now)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !info.Cert.Equal(tc.want) {
				t.Fatal("parsed a different certificate")
			}
		})
	}

	refuseCases := []struct {
		name, paste string
		reason      Reason
		msgHas      []string
	}{
		{"empty", "", ReasonEmpty, []string{"Nothing was pasted", "Certificate (Base64)"}},
		{"whitespace and bom", "\ufeff \r\n\t", ReasonEmpty, nil},
		{"pkcs8 pem", pemOf(pkcs8, "PRIVATE KEY"), ReasonPrivateKey, []string{"Never paste a private key", "Certificate (Base64)"}},
		{"rsa pem", pemOf(pkcs1, "RSA PRIVATE KEY"), ReasonPrivateKey, []string{"Never paste a private key"}},
		{"encrypted key pem", pemOf([]byte("x"), "ENCRYPTED PRIVATE KEY"), ReasonPrivateKey, nil},
		{"cert then key", goodPEM + pemOf(pkcs8, "PRIVATE KEY"), ReasonPrivateKey, nil},
		{"bare pkcs8 der", base64.StdEncoding.EncodeToString(pkcs8), ReasonPrivateKey, []string{"Never paste a private key"}},
		{"bare pkcs1 der", base64.StdEncoding.EncodeToString(pkcs1), ReasonPrivateKey, nil},
		{"metadata xml", `<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>`, ReasonMetadataXML, []string{"not the XML", "Certificate (Base64)"}},
		{"metadata without decl", `  <md:EntityDescriptor entityID="x">`, ReasonMetadataXML, nil},
		{"not base64", "this is my certificate!", ReasonNotBase64, []string{"neither PEM"}},
		{"pem body garbage", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----", ReasonNotBase64, nil},
		{"pem cut off", "-----BEGIN CERTIFICATE-----\n" + b64[:100], ReasonNotBase64, []string{"cut off"}},
		{"base64 not a cert", base64.StdEncoding.EncodeToString([]byte("hello world, not DER")), ReasonNotCert, []string{"not an X.509 certificate"}},
		{"public key pem", pemOf(pubDER, "PUBLIC KEY"), ReasonNotCert, []string{"public key"}},
		{"csr pem", pemOf([]byte{1, 2, 3}, "CERTIFICATE REQUEST"), ReasonNotCert, nil},
		{"expired", pemOf(expired.Raw, "CERTIFICATE"), ReasonExpired, []string{"2025-03-14", "New Certificate"}},
		{"not yet valid", pemOf(future.Raw, "CERTIFICATE"), ReasonNotYetValid, []string{future.NotBefore.UTC().Format("2006-01-02")}},
		{"rsa 1024", pemOf(weak.Raw, "CERTIFICATE"), ReasonWeakKey, []string{"1024-bit", "2048"}},
		{"ed25519", pemOf(edCert.Raw, "CERTIFICATE"), ReasonUnsupported, []string{"Ed25519"}},
		{"two pem certs", goodPEM + pemOf(other.Raw, "CERTIFICATE"), ReasonMultiple, []string{"2 certificates"}},
		{"two concatenated ders", base64.StdEncoding.EncodeToString(append(append([]byte{}, good.Raw...), other.Raw...)), ReasonMultiple, nil},
		{"huge", strings.Repeat("A", maxPaste+1), ReasonNotCert, nil},
	}
	for _, tc := range refuseCases {
		t.Run("refuse/"+tc.name, func(t *testing.T) {
			info, err := Parse(tc.paste, now)
			if err == nil {
				t.Fatalf("accepted %s", info.Subject)
			}
			ce, ok := usererr.As(err)
			if !ok {
				t.Fatalf("error %T is not a *usererr.Error", err)
			}
			if ce.Kind() != usererr.Invalid || ReasonOf(err) != tc.reason || ReasonOf(fmt.Errorf("wrapped: %w", err)) != tc.reason {
				t.Fatalf("kind %v, reason %q, want %q (msg %q)", ce.Kind(), ReasonOf(err), tc.reason, ce.Message())
			}
			if ce.Message() == "" || err.Error() != ce.Message() {
				t.Fatalf("message %q", ce.Message())
			}
			for _, s := range tc.msgHas {
				if !strings.Contains(ce.Message(), s) {
					t.Errorf("message %q lacks %q", ce.Message(), s)
				}
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	keys(t)
	c := makeCert(t, rsa2048, now.Add(-time.Hour), now.Add(time.Hour))
	info := Describe(c)
	s1 := sha1.Sum(c.Raw) //nolint:gosec // thumbprint
	if want := strings.ToUpper(hex.EncodeToString(s1[:])); info.SHA1 != want {
		t.Errorf("SHA1 %q want %q", info.SHA1, want)
	}
	if len(info.SHA1) != 40 || strings.ContainsAny(info.SHA1, ":abcdef") {
		t.Errorf("SHA1 %q is not Entra's thumbprint format", info.SHA1)
	}
	if len(info.SHA256) != 64 || info.SHA256 != strings.ToLower(info.SHA256) {
		t.Errorf("SHA256 %q", info.SHA256)
	}
	if info.Subject != "CN=Microsoft Azure Federated SSO Certificate" {
		t.Errorf("Subject %q", info.Subject)
	}
	if !info.NotAfter.Equal(c.NotAfter) || string(info.DER) != string(c.Raw) {
		t.Error("NotAfter or DER differ")
	}
}

func TestExpiryWarning(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		left  time.Duration
		days  int
		level string
	}{
		{400 * day, 400, LevelNone},
		{61 * day, 61, LevelNone},
		{60 * day, 60, LevelNotice},
		{31*day + time.Hour, 31, LevelNotice},
		{30 * day, 30, LevelWarning},
		{8 * day, 8, LevelWarning},
		{7 * day, 7, LevelCritical},
		{time.Hour, 0, LevelCritical},
		{0, 0, LevelCritical},
		{-time.Second, -1, LevelExpired},
		{-3*day - time.Hour, -4, LevelExpired},
	}
	for _, tc := range cases {
		days, level := ExpiryWarning(now.Add(tc.left), now)
		if days != tc.days || level != tc.level {
			t.Errorf("left %v: got (%d, %q), want (%d, %q)", tc.left, days, level, tc.days, tc.level)
		}
	}
}

func TestNewEncryptionKey(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	k, err := NewEncryptionKey("ssogate token encryption (acme)", now)
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := ParseEncryptionKey(k.PrivateKey, k.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != EncryptionKeyBits || cert.Subject.CommonName != "ssogate token encryption (acme)" ||
		!cert.NotAfter.Equal(k.NotAfter) || cert.NotAfter.Sub(now) != EncryptionValidity || cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		t.Fatalf("key pair: %d bits, %+v", key.N.BitLen(), cert)
	}
	// What Entra's Token encryption page takes is what Parse accepts.
	info, err := Parse(string(CertificatePEM(k.CertDER)), now)
	if err != nil || info.NotAfter != cert.NotAfter {
		t.Fatalf("the .cer does not parse back: %v", err)
	}
	other, _ := NewEncryptionKey("other", now)
	if _, _, err := ParseEncryptionKey(other.PrivateKey, k.CertDER); err == nil {
		t.Fatal("a private key was paired with another key's certificate")
	}
}

func TestReasonOfOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("expired"), usererr.New(usererr.Conflict, "last_certificate", "The only one.")} {
		if r := ReasonOf(err); r != "" {
			t.Errorf("ReasonOf(%v) = %q, want none", err, r)
		}
	}
}

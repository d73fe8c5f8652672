package sso

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
)

// Token encryption (Entra P1/P2: Single sign-on → Token encryption). Entra
// encrypts the assertion (after signing it) to the certificate the admin
// uploaded: AES-256 for the content, RSA-OAEP for the key. crewjam/saml
// decrypts it inside ParseXMLResponse with the SP's keys; before that, this
// file decrypts a copy with crewjam's xmlenc so that the checks and the
// admin's diagnostics that read the plain assertion work the same on an
// encrypted one (nothing read from that copy is trusted for the Identity).

// Token encryption policies (Settings.Encryption).
const (
	EncryptionOff      = "off"
	EncryptionOptional = "optional"
	EncryptionRequired = "required"
)

const nsXEnc = "http://www.w3.org/2001/04/xmlenc#"

// DecryptionKey is one of the SP's encryption key pairs.
type DecryptionKey struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// decryptKey is a DecryptionKey with its certificate's SHA-256.
type decryptKey struct {
	DecryptionKey
	sha256 string
}

// setEncryption validates the policy and keys and gives them to crewjam.
// Off ignores the keys: an encrypted assertion is then refused.
func (sp *SP) setEncryption(s Settings) error {
	switch s.Encryption {
	case "", EncryptionOff:
		return nil
	case EncryptionOptional, EncryptionRequired:
	default:
		return fmt.Errorf("sso: Settings.Encryption %q: use off, optional or required", s.Encryption)
	}
	if len(s.DecryptionKeys) == 0 {
		return errors.New("sso: token encryption is on but there is no encryption key")
	}
	for i, k := range s.DecryptionKeys {
		if k.Key == nil || k.Cert == nil {
			return fmt.Errorf("sso: Settings.DecryptionKeys[%d] lacks its key or certificate", i)
		}
		pub, ok := k.Cert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&k.Key.PublicKey) {
			return fmt.Errorf("sso: Settings.DecryptionKeys[%d]: the certificate does not belong to the key", i)
		}
		sum := sha256.Sum256(k.Cert.Raw)
		sp.keys = append(sp.keys, decryptKey{DecryptionKey: k, sha256: hex.EncodeToString(sum[:])})
	}
	sp.requireEncryption = s.Encryption == EncryptionRequired
	sp.base.EncryptionKey = sp.keys[0].Key
	sp.base.EncryptionCertificate = sp.keys[0].Cert
	for _, k := range sp.keys[1:] {
		sp.base.DecryptionKeys = append(sp.base.DecryptionKeys, k.Key)
	}
	return nil
}

// encryptionDescriptors are the metadata KeyDescriptors (use="encryption")
// of every key but the first, which crewjam's Metadata already lists.
func (sp *SP) encryptionDescriptors(first saml.KeyDescriptor) []saml.KeyDescriptor {
	var out []saml.KeyDescriptor
	for _, k := range sp.keys[1:] {
		d := first
		d.KeyInfo = saml.KeyInfo{X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{
			{Data: base64.StdEncoding.EncodeToString(k.Cert.Raw)},
		}}}
		out = append(out, d)
	}
	return out
}

// decryptFacts decrypts a copy of the EncryptedAssertion with each key in
// turn and returns the plain Assertion element and the SHA-256 of the
// certificate whose key opened it.
func (sp *SP) decryptFacts(enc *etree.Element) (*etree.Element, string, *Error) {
	data := child(enc, nsXEnc, "EncryptedData")
	if data == nil {
		return nil, "", refuse(ReasonEncryptedAssertion, "the EncryptedAssertion holds no EncryptedData", nil)
	}
	var lastErr error
	for _, k := range sp.keys {
		plain, err := decryptWith(k.Key, enc, data)
		if err != nil {
			lastErr = err
			continue
		}
		doc := etree.NewDocument()
		if e := checkRawXML(plain); e != nil {
			return nil, "", refuse(ReasonEncryptedAssertion, "the decrypted assertion is not plain UTF-8 XML", nil)
		}
		if err := doc.ReadFromBytes(plain); err != nil || doc.Root() == nil {
			return nil, "", refuse(ReasonEncryptedAssertion, "encrypted content cannot be decrypted", err)
		}
		a := doc.Root()
		if a.Tag != "Assertion" || a.NamespaceURI() != nsAssertion {
			return nil, "", refuse(ReasonMalformed, "the EncryptedAssertion does not hold an Assertion", nil)
		}
		return a, k.sha256, nil
	}
	return nil, "", refuse(ReasonEncryptedAssertion, fmt.Sprintf("the assertion is encrypted, but none of this company's %d encryption key(s) opens it: in Entra's Token encryption, upload the certificate `sso show` lists (the newest), and activate it", len(sp.keys)), lastErr)
}

// decryptWith opens data, the EncryptedData of enc, with key: the content
// key from the EncryptedKey in its KeyInfo (Entra's place) or beside it.
func decryptWith(key *rsa.PrivateKey, enc, data *etree.Element) ([]byte, error) {
	var ek *etree.Element
	if ki := child(data, nsDSig, "KeyInfo"); ki != nil {
		ek = child(ki, nsXEnc, "EncryptedKey")
	}
	if ek == nil {
		ek = child(enc, nsXEnc, "EncryptedKey")
	}
	if ek == nil {
		return nil, errors.New("no EncryptedKey")
	}
	cek, err := xmlenc.Decrypt(key, ek)
	if err != nil {
		return nil, err
	}
	d := data.Copy()
	if ki := child(d, nsDSig, "KeyInfo"); ki != nil {
		for _, el := range ki.ChildElements() {
			if el.Tag == "EncryptedKey" {
				ki.RemoveChild(el)
			}
		}
	}
	return xmlenc.Decrypt(cek, d)
}

// isEncryptedTag reports XML Encryption content outside an
// EncryptedAssertion.
func isEncryptedTag(tag string) bool {
	switch tag {
	case "EncryptedAssertion", "EncryptedID", "EncryptedAttribute", "EncryptedData", "EncryptedKey":
		return true
	}
	return strings.HasPrefix(tag, "Encrypted")
}

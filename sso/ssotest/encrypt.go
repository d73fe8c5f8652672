package ssotest

import (
	"crypto/x509"
	"fmt"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"
)

// EncryptAssertion returns an EncryptedAssertion holding as, encrypted to
// cert the way Entra's Token encryption does: AES-256-CBC (or AES-256-GCM)
// for the content, its key wrapped with RSA-OAEP-MGF1P (SHA-1 digest) in
// the EncryptedData's KeyInfo.
func EncryptAssertion(as *etree.Element, cert *x509.Certificate, gcm bool) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.SetRoot(as.Copy())
	plain, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	e := xmlenc.OAEP()
	e.DigestMethod = xmlenc.SHA1
	if gcm {
		e.BlockCipher = xmlenc.AES256GCM
	}
	data, err := e.Encrypt(cert, plain, nil)
	if err != nil {
		return nil, fmt.Errorf("ssotest: encrypt assertion: %w", err)
	}
	enc := etree.NewElement("EncryptedAssertion")
	enc.CreateAttr("xmlns", NSAssertion)
	enc.AddChild(data)
	return enc, nil
}

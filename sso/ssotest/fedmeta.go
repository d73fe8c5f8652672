package ssotest

import (
	"crypto/x509"
	"encoding/base64"

	"github.com/beevik/etree"
)

// FederationMetadata returns an Entra-shaped App Federation Metadata
// document for the IdP: entityID = Issuer, a WS-Federation RoleDescriptor
// and an IDPSSODescriptor that list the IdP's certificate and then extra
// (Entra lists the inactive new certificate beside the active one during a
// rollover), signed enveloped with the IdP's key as Entra signs it. With
// no certificates at all, pass noOwn and no extra.
func (p *IdP) FederationMetadata(noOwn bool, extra ...*x509.Certificate) ([]byte, error) {
	list := extra
	if !noOwn {
		list = append([]*x509.Certificate{p.Cert}, extra...)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	ed := doc.CreateElement("EntityDescriptor")
	ed.CreateAttr("xmlns", "urn:oasis:names:tc:SAML:2.0:metadata")
	ed.CreateAttr("ID", "_"+guid())
	ed.CreateAttr("entityID", p.Issuer)
	keys := func(parent *etree.Element) {
		for _, c := range list {
			kd := parent.CreateElement("KeyDescriptor")
			kd.CreateAttr("use", "signing")
			ki := kd.CreateElement("KeyInfo")
			ki.CreateAttr("xmlns", "http://www.w3.org/2000/09/xmldsig#")
			ki.CreateElement("X509Data").CreateElement("X509Certificate").SetText(base64.StdEncoding.EncodeToString(c.Raw))
		}
	}
	rd := ed.CreateElement("RoleDescriptor")
	rd.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	rd.CreateAttr("xmlns:fed", "http://docs.oasis-open.org/wsfed/federation/200706")
	rd.CreateAttr("xsi:type", "fed:SecurityTokenServiceType")
	rd.CreateAttr("protocolSupportEnumeration", "http://docs.oasis-open.org/wsfed/federation/200706")
	keys(rd)
	idp := ed.CreateElement("IDPSSODescriptor")
	idp.CreateAttr("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol")
	keys(idp)
	login := "https://login.microsoftonline.com/" + p.TenantID + "/saml2"
	for _, b := range []string{"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"} {
		s := idp.CreateElement("SingleSignOnService")
		s.CreateAttr("Binding", b)
		s.CreateAttr("Location", login)
	}
	if err := SignEnveloped(ed, p.Key, p.Cert, false, false); err != nil {
		return nil, err
	}
	return doc.WriteToBytes()
}

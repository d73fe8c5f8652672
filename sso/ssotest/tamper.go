package ssotest

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

// Tamper helpers take a signed Response (XML, as Response returns) and
// return an attacker's variant of it. They never re-sign: what a test
// sends after them is exactly what an attacker holding one genuine
// response could send.

// Edit parses signed, lets fn change it, and serializes it again.
func Edit(signed []byte, fn func(doc *etree.Document) error) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		return nil, err
	}
	if doc.Root() == nil {
		return nil, errors.New("ssotest: no root element")
	}
	if err := fn(doc); err != nil {
		return nil, err
	}
	return doc.WriteToBytes()
}

func assertionOf(doc *etree.Document) (*etree.Element, error) {
	a := doc.Root().SelectElement("Assertion")
	if a == nil {
		return nil, errors.New("ssotest: response has no Assertion")
	}
	return a, nil
}

func removeSignature(el *etree.Element) {
	for _, s := range el.SelectElements("Signature") {
		el.RemoveChild(s)
	}
}

func setNameID(a *etree.Element, v string) error {
	n := a.FindElement("./Subject/NameID")
	if n == nil {
		return errors.New("ssotest: assertion has no NameID")
	}
	n.SetText(v)
	return nil
}

// StripSignatures removes every Signature from the Response and Assertion.
func StripSignatures(signed []byte) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		removeSignature(doc.Root())
		if a := doc.Root().SelectElement("Assertion"); a != nil {
			removeSignature(a)
		}
		return nil
	})
}

// EmptySignatureValue blanks every SignatureValue.
func EmptySignatureValue(signed []byte) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		for _, sv := range doc.FindElements("//SignatureValue") {
			sv.SetText("")
		}
		return nil
	})
}

// SetNameID changes the NameID after signing.
func SetNameID(signed []byte, nameID string) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		a, err := assertionOf(doc)
		if err != nil {
			return err
		}
		return setNameID(a, nameID)
	})
}

// SetAttribute changes the first value of the named claim after signing.
func SetAttribute(signed []byte, name, value string) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		for _, at := range doc.FindElements("//Attribute") {
			if at.SelectAttrValue("Name", "") == name {
				if v := at.SelectElement("AttributeValue"); v != nil {
					v.SetText(value)
					return nil
				}
			}
		}
		return fmt.Errorf("ssotest: no attribute %q", name)
	})
}

// SetResponseAttr changes (or, with value "", removes) an attribute of the
// Response element after signing, e.g. Destination or InResponseTo.
func SetResponseAttr(signed []byte, key, value string) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		if value == "" {
			doc.Root().RemoveAttr(key)
		} else {
			doc.Root().CreateAttr(key, value)
		}
		return nil
	})
}

// CommentInNameID splits the NameID text with an XML comment after its
// first n bytes: "victim@corp.com<!---->.evil.com" (CVE-2017-11427 class).
// The signature still verifies, because exclusive c14n drops comments.
func CommentInNameID(signed []byte, n int) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		a, err := assertionOf(doc)
		if err != nil {
			return err
		}
		nid := a.FindElement("./Subject/NameID")
		if nid == nil {
			return errors.New("ssotest: assertion has no NameID")
		}
		text := nid.Text()
		if n <= 0 || n >= len(text) {
			return errors.New("ssotest: split point outside the NameID")
		}
		for len(nid.Child) > 0 {
			nid.RemoveChildAt(0)
		}
		nid.AddChild(etree.NewText(text[:n]))
		nid.AddChild(etree.NewComment(""))
		nid.AddChild(etree.NewText(text[n:]))
		return nil
	})
}

// XSW names an XML Signature Wrapping shape (Somorovsky et al. 2012;
// SAML Raider XSW1–XSW8). In each, the genuinely signed element survives
// somewhere, and an evil copy naming EvilNameID sits where a naive reader
// looks.
type XSW int

// Wrapping variants.
const (
	// XSWEvilResponseOriginalInSignature: evil Response at the root (its
	// assertion edited, unsigned) with the original Response inside its
	// Signature. Needs a signed Response.
	XSWEvilResponseOriginalInSignature XSW = iota + 1
	// XSWEvilResponseOriginalBeforeSignature: as above, the original
	// Response a child of the evil one, before its Signature.
	XSWEvilResponseOriginalBeforeSignature
	// XSWEvilAssertionBefore: an unsigned evil Assertion (same ID) before
	// the signed one.
	XSWEvilAssertionBefore
	// XSWEvilAssertionAfter: an unsigned evil Assertion after the signed one.
	XSWEvilAssertionAfter
	// XSWEvilAssertionWrapsOriginal: the evil Assertion contains the signed
	// one.
	XSWEvilAssertionWrapsOriginal
	// XSWEditedWithCopyAppended: the signed Assertion edited in place (its
	// Signature kept), an unedited copy appended to the Response.
	XSWEditedWithCopyAppended
	// XSWOriginalInsideSignature: the signed Assertion edited in place, the
	// unedited original inside its Signature.
	XSWOriginalInsideSignature
	// XSWOriginalInExtensions: the signed Assertion edited in place, the
	// unedited original in a samlp:Extensions of the Response.
	XSWOriginalInExtensions
	// XSWOriginalInSignatureObject: the signed Assertion edited in place,
	// the unedited original in a ds:Object of its Signature.
	XSWOriginalInSignatureObject
)

// AllXSW lists every variant, for table tests.
var AllXSW = []XSW{
	XSWEvilResponseOriginalInSignature, XSWEvilResponseOriginalBeforeSignature,
	XSWEvilAssertionBefore, XSWEvilAssertionAfter, XSWEvilAssertionWrapsOriginal,
	XSWEditedWithCopyAppended, XSWOriginalInsideSignature, XSWOriginalInExtensions,
	XSWOriginalInSignatureObject,
}

func (v XSW) String() string {
	names := map[XSW]string{
		XSWEvilResponseOriginalInSignature:     "evil-response-original-in-signature",
		XSWEvilResponseOriginalBeforeSignature: "evil-response-original-before-signature",
		XSWEvilAssertionBefore:                 "evil-assertion-before",
		XSWEvilAssertionAfter:                  "evil-assertion-after",
		XSWEvilAssertionWrapsOriginal:          "evil-assertion-wraps-original",
		XSWEditedWithCopyAppended:              "edited-with-copy-appended",
		XSWOriginalInsideSignature:             "original-inside-signature",
		XSWOriginalInExtensions:                "original-in-extensions",
		XSWOriginalInSignatureObject:           "original-in-signature-object",
	}
	if s, ok := names[v]; ok {
		return s
	}
	return fmt.Sprintf("xsw-%d", int(v))
}

// Wrap applies the variant v to signed, with evilNameID in the evil copy.
func Wrap(signed []byte, v XSW, evilNameID string) ([]byte, error) {
	return Edit(signed, func(doc *etree.Document) error {
		root := doc.Root()
		orig, err := assertionOf(doc)
		if err != nil {
			return err
		}
		evil := orig.Copy()
		removeSignature(evil)
		if err := setNameID(evil, evilNameID); err != nil {
			return err
		}
		switch v {
		case XSWEvilResponseOriginalInSignature, XSWEvilResponseOriginalBeforeSignature:
			sig := root.SelectElement("Signature")
			if sig == nil {
				return errors.New("ssotest: this variant needs a signed Response")
			}
			original := root.Copy()
			evilResp := root.Copy()
			evilResp.CreateAttr("ID", "_evil"+guid())
			evilResp.RemoveChild(evilResp.SelectElement("Assertion"))
			evilResp.AddChild(evil)
			esig := evilResp.SelectElement("Signature")
			if v == XSWEvilResponseOriginalInSignature {
				esig.AddChild(original)
			} else {
				evilResp.InsertChildAt(esig.Index(), original)
			}
			doc.SetRoot(evilResp)
		case XSWEvilAssertionBefore:
			root.InsertChildAt(orig.Index(), evil)
		case XSWEvilAssertionAfter:
			root.InsertChildAt(orig.Index()+1, evil)
		case XSWEvilAssertionWrapsOriginal:
			root.RemoveChild(orig)
			evil.CreateAttr("ID", "_evil"+guid())
			evil.AddChild(orig)
			root.AddChild(evil)
		case XSWEditedWithCopyAppended, XSWOriginalInsideSignature, XSWOriginalInExtensions, XSWOriginalInSignatureObject:
			copyOfOrig := orig.Copy()
			if err := setNameID(orig, evilNameID); err != nil {
				return err
			}
			sig := orig.SelectElement("Signature")
			if sig == nil {
				return errors.New("ssotest: this variant needs a signed Assertion")
			}
			switch v {
			case XSWEditedWithCopyAppended:
				root.AddChild(copyOfOrig)
			case XSWOriginalInsideSignature:
				sig.AddChild(copyOfOrig)
			case XSWOriginalInExtensions:
				ext := etree.NewElement("samlp:Extensions")
				ext.AddChild(copyOfOrig)
				at := 0
				if iss := root.SelectElement("Issuer"); iss != nil {
					at = iss.Index() + 1
				}
				root.InsertChildAt(at, ext)
			case XSWOriginalInSignatureObject:
				obj := sig.CreateElement("Object")
				obj.AddChild(copyOfOrig)
			}
		default:
			return fmt.Errorf("ssotest: unknown XSW variant %d", int(v))
		}
		return nil
	})
}

// AppendAssertionFrom copies the (signed) Assertion of src into dst after
// dst's own: two genuinely signed assertions for different people.
func AppendAssertionFrom(dst, src []byte) ([]byte, error) {
	srcDoc := etree.NewDocument()
	if err := srcDoc.ReadFromBytes(src); err != nil {
		return nil, err
	}
	sa, err := assertionOf(srcDoc)
	if err != nil {
		return nil, err
	}
	return Edit(dst, func(doc *etree.Document) error {
		doc.Root().AddChild(sa.Copy())
		return nil
	})
}

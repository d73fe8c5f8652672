package sso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssogate/ssogate/sso/ssotest"
)

func encKey(t *testing.T) DecryptionKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssotest.SelfSigned(k, "test encryption", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return DecryptionKey{Key: k, Cert: c}
}

func TestTokenEncryption(t *testing.T) {
	fixtures(t)
	oldKey, newKey := encKey(t), encKey(t)
	s := settings()
	s.Encryption, s.DecryptionKeys = EncryptionOptional, []DecryptionKey{newKey, oldKey}
	sp := newSP(t, s, Options{})

	for _, gcm := range []bool{false, true} {
		for _, to := range []DecryptionKey{newKey, oldKey} {
			a := genuine()
			a.EncryptTo, a.EncryptGCM = to.Cert, gcm
			x, err := idp.Response(a)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(x), "alice@contoso.com") || !strings.Contains(string(x), "EncryptedAssertion") {
				t.Fatal("the fake Entra did not encrypt")
			}
			id, err := sp.ParseResponse(context.Background(), postXML(x), nil, newReplay())
			if err != nil {
				t.Fatalf("gcm=%v: %v", gcm, err)
			}
			if id.NameID != "alice@contoso.com" || id.DecryptedWith != newX509Cert(to.Cert).sha256 || id.CertSHA256 != newX509Cert(idp.Cert).sha256 {
				t.Fatalf("identity %+v", id)
			}
		}
	}
	// Optional: a plain assertion is still fine; so is "sign response and assertion".
	if _, err := sp.ParseResponse(context.Background(), postXML(mustXML(t, genuine())), nil, newReplay()); err != nil {
		t.Fatalf("plain assertion with encryption optional: %v", err)
	}
	both := genuine()
	both.SignAssertion, both.SignResponse, both.EncryptTo = true, true, newKey.Cert
	if _, err := sp.ParseResponse(context.Background(), postXML(mustXML(t, both)), nil, newReplay()); err != nil {
		t.Fatalf("signed response around an encrypted assertion: %v", err)
	}

	// Required: a plain assertion is refused with its own reason.
	s.Encryption = EncryptionRequired
	req := newSP(t, s, Options{})
	id, err := req.ParseResponse(context.Background(), postXML(mustXML(t, genuine())), nil, newReplay())
	wantReason(t, id, err, ReasonEncryptionRequired)

	// Off: an encrypted assertion is refused, whatever keys exist.
	s.Encryption = EncryptionOff
	off := newSP(t, s, Options{})
	enc := genuine()
	enc.EncryptTo = newKey.Cert
	id, err = off.ParseResponse(context.Background(), postXML(mustXML(t, enc)), nil, newReplay())
	wantReason(t, id, err, ReasonEncryptedAssertion)

	// Encrypted to a certificate this company does not have.
	stranger := encKey(t)
	enc.EncryptTo = stranger.Cert
	id, err = sp.ParseResponse(context.Background(), postXML(mustXML(t, enc)), nil, newReplay())
	wantReason(t, id, err, ReasonEncryptedAssertion)

	// Anyone can encrypt to the public certificate: an unsigned assertion
	// inside is refused, however well it decrypts.
	forged := genuine()
	forged.Unsigned, forged.EncryptTo = true, newKey.Cert
	id, err = sp.ParseResponse(context.Background(), postXML(mustXML(t, forged)), nil, newReplay())
	wantReason(t, id, err, ReasonUnsigned)
	// Signed by an attacker's key, encrypted to ours.
	evil := genuine()
	evil.Key, evil.Cert, evil.EncryptTo = attacker.Key, attacker.Cert, newKey.Cert
	id, err = sp.ParseResponse(context.Background(), postXML(mustXML(t, evil)), nil, newReplay())
	wantReason(t, id, err, ReasonUnknownCertificate)

	// Garbage ciphertext.
	doc, err := idp.ResponseDocument(enc0(newKey))
	if err != nil {
		t.Fatal(err)
	}
	cv := doc.FindElement("//EncryptedData/CipherData/CipherValue")
	cv.SetText("AAAA" + cv.Text()[4:])
	id, err = sp.ParseResponse(context.Background(), postXML(docBytes(t, doc)), nil, newReplay())
	wantReason(t, id, err, ReasonEncryptedAssertion)

	// An encrypted victim assertion beside a genuine plain one of the
	// attacker's own (CVE-2022-41912 shape).
	doc, _ = idp.ResponseDocument(enc0(newKey))
	mine, _ := idp.ResponseDocument(genuine())
	doc.Root().AddChild(mine.FindElement("//Assertion").Copy())
	id, err = sp.ParseResponse(context.Background(), postXML(docBytes(t, doc)), nil, newReplay())
	wantReason(t, id, err, ReasonMultipleAssertions)

	// An encrypted NameID is not Entra's shape.
	doc, _ = idp.ResponseDocument(genuine())
	doc.FindElement("//Subject").AddChild(etree.NewElement("EncryptedID"))
	id, err = sp.ParseResponse(context.Background(), postXML(docBytes(t, doc)), nil, newReplay())
	wantReason(t, id, err, ReasonEncryptedAssertion)
}

func enc0(k DecryptionKey) ssotest.Assertion {
	a := genuine()
	a.EncryptTo = k.Cert
	return a
}

func mustXML(t *testing.T, a ssotest.Assertion) []byte {
	t.Helper()
	x, err := idp.Response(a)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func docBytes(t *testing.T, d *etree.Document) []byte {
	t.Helper()
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncryptionSettingsAndMetadata(t *testing.T) {
	fixtures(t)
	k1, k2 := encKey(t), encKey(t)
	s := settings()
	s.Encryption = EncryptionRequired
	if _, err := New(s, Options{Now: func() time.Time { return testNow }}); err == nil {
		t.Fatal("encryption required without a key was accepted")
	}
	s.Encryption = "sometimes"
	if _, err := New(s, Options{Now: func() time.Time { return testNow }}); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
	s.Encryption, s.DecryptionKeys = EncryptionOptional, []DecryptionKey{{Key: k1.Key, Cert: k2.Cert}}
	if _, err := New(s, Options{Now: func() time.Time { return testNow }}); err == nil {
		t.Fatal("a key with another key's certificate was accepted")
	}
	count := func(s Settings) int {
		md, err := newSP(t, s, Options{}).Metadata()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(md), `use="encryption"`)
	}
	s.DecryptionKeys = []DecryptionKey{k1, k2}
	if n := count(s); n != 2 {
		t.Fatalf("%d encryption KeyDescriptors during a rollover, want 2", n)
	}
	s.DecryptionKeys = []DecryptionKey{k1}
	if n := count(s); n != 1 {
		t.Fatalf("%d encryption KeyDescriptors, want 1", n)
	}
	s.Encryption = EncryptionOff
	if n := count(s); n != 0 {
		t.Fatalf("%d encryption KeyDescriptors with encryption off", n)
	}
}

package sso

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/ssotest"
)

func mustResponse(t testing.TB, a ssotest.Assertion) []byte {
	t.Helper()
	b, err := idp.Response(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustOK(t)(f()) fails the test if f does.
func mustOK(t testing.TB) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func parse(t testing.TB, sp *SP, x []byte, ids []string, rc ReplayCache) (*Identity, error) {
	t.Helper()
	if rc == nil {
		rc = newReplay()
	}
	return sp.ParseResponse(context.Background(), postXML(x), ids, rc)
}

func wantReason(t testing.TB, id *Identity, err error, want Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("ACCEPTED (NameID %q); want refusal %q", id.NameID, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *sso.Error", err, err)
	}
	if e.Reason != want {
		t.Fatalf("reason %q (detail %q, cause %v), want %q", e.Reason, e.Detail, e.Err, want)
	}
	if strings.Contains(err.Error(), "<Assertion") || strings.Contains(err.Error(), "alice@contoso.com") {
		t.Fatalf("Error() leaks the assertion: %q", err.Error())
	}
}

func TestGenuineSigningOptions(t *testing.T) {
	fixtures(t)
	sp := newSP(t, settings(), Options{})
	for _, tc := range []struct {
		name                    string
		signAssertion, signResp bool
	}{
		{"assertion (Entra default)", false, false},
		{"response", false, true},
		{"response and assertion", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := genuine()
			a.SignAssertion, a.SignResponse = tc.signAssertion, tc.signResp
			x := mustResponse(t, a)
			rc := newReplay()
			id, err := parse(t, sp, x, nil, rc)
			if err != nil {
				t.Fatalf("genuine response refused: %v", err)
			}
			want := Identity{
				NameID: "alice@contoso.com", NameIDFormat: NameIDFormatEmail, Issuer: testIssuer,
				ObjectID: a.ObjectID, TenantID: testTenant, Email: "alice@contoso.com",
				GivenName: "Alice", FamilyName: "Anders", DisplayName: "Alice Anders",
			}
			got := *id
			if got.AssertionID == "" || got.SessionIndex != got.AssertionID {
				t.Errorf("AssertionID %q SessionIndex %q", got.AssertionID, got.SessionIndex)
			}
			if got.CertSHA256 != newX509Cert(idp.Cert).sha256 {
				t.Errorf("CertSHA256 %q", got.CertSHA256)
			}
			// Conditions NotOnOrAfter = issue+70m, but the assertion is
			// refused once issue+5m (MaxIssueDelay) passes: plus 3m skew.
			if wantUntil := testNow.Add(8 * time.Minute); !got.ValidUntil.Equal(wantUntil) {
				t.Errorf("ValidUntil %v, want %v", got.ValidUntil, wantUntil)
			}
			if until := rc.used[got.AssertionID]; !until.Equal(got.ValidUntil) {
				t.Errorf("replay cache got until %v, want %v", until, got.ValidUntil)
			}
			got.AssertionID, got.SessionIndex, got.CertSHA256, got.ValidUntil = "", "", "", time.Time{}
			if got != want {
				t.Errorf("identity\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSPInitiated(t *testing.T) {
	fixtures(t)
	sp := newSP(t, settings(), Options{})
	redirect, reqID, err := sp.AuthnRequest("k7Hq2")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(redirect)
	if u.Host != "login.microsoftonline.com" || u.Path != "/"+testTenant+"/saml2" || u.Query().Get("RelayState") != "k7Hq2" {
		t.Fatalf("redirect %s", redirect)
	}
	a := genuine()
	a.InResponseTo = reqID
	x := mustResponse(t, a)
	id, err := parse(t, sp, x, []string{reqID}, nil)
	if err != nil {
		t.Fatalf("SP-initiated response refused: %v", err)
	}
	if id.InResponseTo != reqID {
		t.Errorf("InResponseTo %q", id.InResponseTo)
	}

	t.Run("InResponseTo not pending", func(t *testing.T) {
		id, err := parse(t, sp, x, []string{"id-other"}, nil)
		wantReason(t, id, err, ReasonUnknownRequest)
	})
	t.Run("unsolicited response carrying InResponseTo", func(t *testing.T) {
		id, err := parse(t, sp, x, nil, nil)
		wantReason(t, id, err, ReasonUnsolicitedWithRequestID)
	})
	t.Run("unsolicited response while a request is pending", func(t *testing.T) {
		id, err := parse(t, sp, mustResponse(t, genuine()), []string{reqID}, nil)
		wantReason(t, id, err, ReasonUnknownRequest)
	})
	t.Run("assertion without InResponseTo in a solicited response", func(t *testing.T) {
		a := genuine()
		a.InResponseTo, a.AssertionInResponseTo = reqID, "-"
		id, err := parse(t, sp, mustResponse(t, a), []string{reqID}, nil)
		wantReason(t, id, err, ReasonUnknownRequest)
	})
	t.Run("assertion answering another request", func(t *testing.T) {
		a := genuine()
		a.InResponseTo, a.AssertionInResponseTo = reqID, "id-other"
		id, err := parse(t, sp, mustResponse(t, a), []string{reqID, "id-other"}, nil)
		if err == nil {
			t.Fatalf("accepted an assertion for another request (%q)", id.InResponseTo)
		}
	})
}

func TestAuthnRequestShape(t *testing.T) {
	fixtures(t)
	for _, format := range []string{"", NameIDFormatUnspecified} {
		s := settings()
		s.NameIDFormat = format
		sp := newSP(t, s, Options{})
		redirect, reqID, err := sp.AuthnRequest("")
		if err != nil {
			t.Fatal(err)
		}
		if reqID == "" || reqID[0] >= '0' && reqID[0] <= '9' {
			t.Fatalf("request ID %q must not start with a digit", reqID)
		}
		// The fake Entra decodes and checks it exactly as its login page does.
		req, err := ssotest.DecodeAuthnRequest(redirect)
		if err != nil {
			t.Fatal(err)
		}
		wantFormat := format
		if wantFormat == "" {
			wantFormat = NameIDFormatEmail
		}
		if req.Issuer != testEntityID || req.NameIDFormat != wantFormat || req.ACSURL != testACS || req.ID != reqID {
			t.Fatalf("AuthnRequest %+v", req)
		}
	}
	sp := newSP(t, settings(), Options{})
	if _, _, err := sp.AuthnRequest(strings.Repeat("r", 81)); !errors.Is(err, ErrRelayStateTooLong) {
		t.Fatalf("81-byte RelayState: %v", err)
	}
	s := settings()
	s.ExpectedIssuer = ""
	if _, _, err := newSP(t, s, Options{}).AuthnRequest("x"); !errors.Is(err, ErrNoIDPSSOURL) {
		t.Fatalf("no IdP URL: %v", err)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	fixtures(t)
	cases := map[string]func(*Settings){
		"no entity id":     func(s *Settings) { s.EntityID = "" },
		"relative acs":     func(s *Settings) { s.ACSURL = "/saml/acs" },
		"transient nameid": func(s *Settings) { s.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient" },
		"no certs":         func(s *Settings) { s.Certs = nil },
		"nil cert":         func(s *Settings) { s.Certs = []*x509.Certificate{nil} },
		"bad idp url":      func(s *Settings) { s.IDPSSOURL = "javascript:alert(1)" },
	}
	for name, mutate := range cases {
		s := settings()
		mutate(&s)
		if _, err := New(s, Options{}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := New(settings(), Options{MaxIssueDelay: time.Hour}); !errors.Is(err, ErrTimingConflict) {
		t.Errorf("conflicting timing: %v", err)
	}
}

func TestMetadata(t *testing.T) {
	fixtures(t)
	md, err := newSP(t, settings(), Options{}).Metadata()
	if err != nil {
		t.Fatal(err)
	}
	var ed struct {
		EntityID string `xml:"entityID,attr"`
		SP       struct {
			NameIDFormat []string `xml:"NameIDFormat"`
			ACS          []struct {
				Binding  string `xml:"Binding,attr"`
				Location string `xml:"Location,attr"`
			} `xml:"AssertionConsumerService"`
			Keys []struct{} `xml:"KeyDescriptor"`
		} `xml:"SPSSODescriptor"`
	}
	if err := xml.Unmarshal(md, &ed); err != nil {
		t.Fatal(err)
	}
	if ed.EntityID != testEntityID || len(ed.SP.ACS) != 1 || ed.SP.ACS[0].Location != testACS ||
		ed.SP.ACS[0].Binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" ||
		len(ed.SP.NameIDFormat) != 1 || ed.SP.NameIDFormat[0] != NameIDFormatEmail || len(ed.SP.Keys) != 0 {
		t.Fatalf("metadata:\n%s", md)
	}
}

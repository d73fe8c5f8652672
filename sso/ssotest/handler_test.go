package ssotest_test

import (
	"context"
	"crypto/x509"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/ssotest"
)

const (
	issuer   = "https://sts.windows.net/8a1c6a42-5e3b-4a8e-9d52-1f0c2b3d4e5f/"
	entityID = "https://gw.example.com/c/acme/saml/metadata"
	acs      = "https://gw.example.com/c/acme/saml/acs"
)

type onceCache map[string]bool

func (c onceCache) Consume(_ context.Context, id string, _ time.Time) error {
	if c[id] {
		return sso.ErrReplayed
	}
	c[id] = true
	return nil
}

var fieldRe = regexp.MustCompile(`name="(SAMLResponse|RelayState|SAMLRequest)" value="([^"]*)"`)

func fields(body string) url.Values {
	v := url.Values{}
	for _, m := range fieldRe.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

func TestHandlerSPInitiatedFlow(t *testing.T) {
	p, err := ssotest.New(issuer)
	if err != nil {
		t.Fatal(err)
	}
	p.ReplyURLs = []string{acs}
	if !strings.Contains(p.CertificateBase64(), "-----BEGIN CERTIFICATE-----") || p.Cert.Subject.CommonName != ssotest.CertCN {
		t.Fatal("certificate download is not Entra-shaped")
	}
	sp, err := sso.New(sso.Settings{EntityID: entityID, ACSURL: acs, ExpectedIssuer: issuer, Certs: []*x509.Certificate{p.Cert}}, sso.Options{})
	if err != nil {
		t.Fatal(err)
	}
	users := []ssotest.User{
		{NameID: "alice@contoso.com", ObjectID: "oid-a", Email: "alice@contoso.com", GivenName: "Alice", FamilyName: "Anders"},
		{NameID: "bob@contoso.com", ObjectID: "oid-b", Email: "bob@contoso.com", GivenName: "Bob", FamilyName: "Berg"},
	}
	srv := httptest.NewServer(p.Handler(users, entityID))
	defer srv.Close()

	redirect, reqID, err := sp.AuthnRequest("rs-123")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(redirect)
	page, err := http.Get(srv.URL + "/?" + u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, page)
	if page.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in as bob@contoso.com") {
		t.Fatalf("login page %d:\n%s", page.StatusCode, body)
	}
	form := fields(body)
	form.Set("user", "1")
	resp, err := http.PostForm(srv.URL+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, resp)
	if !strings.Contains(body, `action="`+acs+`"`) {
		t.Fatalf("auto-post form does not target the ACS:\n%s", body)
	}
	post := fields(body)
	if post.Get("RelayState") != "rs-123" {
		t.Fatalf("RelayState %q", post.Get("RelayState"))
	}
	r := httptest.NewRequest(http.MethodPost, acs, strings.NewReader(url.Values{"SAMLResponse": {post.Get("SAMLResponse")}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = r.ParseForm()
	id, err := sp.ParseResponse(context.Background(), r, []string{reqID}, onceCache{})
	if err != nil {
		t.Fatalf("SP refused the fake Entra's response: %v", err)
	}
	if id.NameID != "bob@contoso.com" || id.ObjectID != "oid-b" || id.InResponseTo != reqID || id.TenantID != "8a1c6a42-5e3b-4a8e-9d52-1f0c2b3d4e5f" {
		t.Fatalf("identity %+v", id)
	}

	// What Entra refuses, the fake refuses.
	bad := []struct{ name, issuer, format, acsURL string }{
		{"wrong issuer", "https://other.example.com/metadata", "", acs},
		{"transient NameIDPolicy", entityID, "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", acs},
		{"unregistered reply URL", entityID, "", "https://evil.example.com/acs"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"SAMLRequest": {ssotest.EncodeAuthnRequest("id-x", tc.issuer, tc.format, tc.acsURL)}}
			resp, err := http.Get(srv.URL + "/?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if b := readAll(t, resp); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
		})
	}
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, r.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTamperHelpersKeepSignedBytes(t *testing.T) {
	p, err := ssotest.New(issuer)
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Response(ssotest.Assertion{ACSURL: acs, Audience: entityID, NameID: "a@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(x)
	// Entra's shape: samlp: prefix on the Response only, default-namespace
	// Issuer/Assertion/Signature, exc-c14n, rsa-sha256, Signature after Issuer.
	for _, want := range []string{
		`<samlp:Response `, `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` + issuer,
		`<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_`, `"><Issuer>` + issuer + `</Issuer><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>`,
		`http://www.w3.org/2001/10/xml-exc-c14n#`, `http://www.w3.org/2001/04/xmldsig-more#rsa-sha256`, `<X509Certificate>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("response lacks %q", want)
		}
	}
	for _, v := range ssotest.AllXSW[2:] {
		if _, err := ssotest.Wrap(x, v, "evil@contoso.com"); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	if _, err := ssotest.Wrap(x, ssotest.XSWEvilResponseOriginalInSignature, "e"); err == nil {
		t.Error("response-wrapping variant applied to an unsigned Response")
	}
}

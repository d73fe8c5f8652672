package test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web"
)

// encryptionCerts returns the company's live encryption certificates,
// newest first, downloaded from the console as an admin gives them to Entra.
func (a *adminClient) encryptionCerts(t *testing.T) []*x509.Certificate {
	t.Helper()
	list, err := a.g.dir.ListEncryptionKeys(context.Background(), a.g.company.ID, false)
	testenv.Must(t, err, "list encryption keys")
	var out []*x509.Certificate
	for i := len(list) - 1; i >= 0; i-- {
		resp, err := a.Get(a.g.URL + "/c/acme/admin/sso/encryption/cert/" + list[i].SHA1)
		testenv.Must(t, err, "download certificate")
		cer := body(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), ".cer") {
			t.Fatalf("download %s: %d %q", list[i].SHA1, resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		info, err := certs.Parse(cer, time.Now()) // what Entra's import takes
		testenv.Must(t, err, "parse the downloaded .cer")
		c, err := x509.ParseCertificate(info.DER)
		testenv.Must(t, err, "certificate")
		out = append(out, c)
	}
	return out
}

func (g *gw) encrypted(nameID string, to *x509.Certificate, gcm bool) string {
	a := g.assertion("acme", nameID)
	a.EncryptTo, a.EncryptGCM = to, gcm
	return g.signed(a)
}

func TestTokenEncryptionRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)

		// Off (the default): an encrypted assertion is refused, saying why.
		stray, err := certs.NewEncryptionKey("elsewhere", time.Now())
		testenv.Must(t, err, "key")
		strayCert, _ := x509.ParseCertificate(stray.CertDER)
		if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", strayCert, false), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("encrypted assertion with encryption off: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "encrypted_assertion" || !strings.Contains(ev.Detail, "token encryption is off") {
			t.Fatalf("sign-in record %+v", ev)
		}

		expectDone(t, a.post(t, "/sso/encryption", url.Values{"mode": {"optional"}}), "encryption")
		cs := a.encryptionCerts(t)
		if len(cs) != 1 {
			t.Fatalf("%d encryption certificates after turning encryption on, want 1", len(cs))
		}
		md := body(t, get(t, newBrowser(), g.URL+"/c/acme/saml/metadata"))
		if !strings.Contains(md, `use="encryption"`) || !strings.Contains(md, base64.StdEncoding.EncodeToString(cs[0].Raw)) {
			t.Fatalf("metadata lacks the encryption certificate:\n%s", md)
		}
		for _, gcm := range []bool{false, true} {
			br := newBrowser()
			if r := g.postACS(br, "acme", g.encrypted("maja.holm@acme.example", cs[0], gcm), ""); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("encrypted sign-in (gcm=%v): %d\n%s", gcm, r.StatusCode, g.logText())
			}
			if code, me := g.me(br, "acme"); code != http.StatusOK || me["userName"] != "maja.holm@acme.example" {
				t.Fatalf("/api/me after an encrypted sign-in: %d %v", code, me)
			}
		}
		keys, _ := g.dir.ListEncryptionKeys(context.Background(), g.company.ID, false)
		if keys[0].LastUsedAt == nil {
			t.Fatal("the key's use was not recorded")
		}
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("plain sign-in with encryption optional: %d", r.StatusCode)
		}

		// Required: a plain assertion is refused, with the reason in the diagnostics.
		expectDone(t, a.post(t, "/sso/encryption", url.Values{"mode": {"required"}}), "encryption")
		br := newBrowser()
		r := g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), "")
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("plain sign-in with encryption required: %d", r.StatusCode)
		}
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatal("a session was made for a refused plain assertion")
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "encryption_required" {
			t.Fatalf("sign-in record %+v", ev)
		}
		if _, page := a.get(t, "/admin/diagnostics"); !strings.Contains(page, "Assertion not encrypted") || !strings.Contains(page, "Token encryption") {
			t.Fatal("diagnostics do not explain the refusal")
		}
		if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", cs[0], false), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("encrypted sign-in with encryption required: %d", r.StatusCode)
		}
		// Encrypted to a certificate that is not ours: refused.
		if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", strayCert, false), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("assertion encrypted to a stranger's certificate: %d", r.StatusCode)
		}
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "sso.configure", "encryption=required") {
			t.Fatal("not audited")
		}
		if _, page := a.get(t, "/admin/sso"); !strings.Contains(page, "<strong>required</strong>") {
			t.Fatal("the SSO page does not show the token encryption setting")
		}
	})
}

func TestTokenEncryptionRotationWithTwoKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		expectDone(t, a.post(t, "/sso/encryption", url.Values{"mode": {"required"}}), "encryption")
		old := a.encryptionCerts(t)[0]
		expectDone(t, a.post(t, "/sso/encryption/rotate", nil), "encryption-rotated")
		both := a.encryptionCerts(t)
		if len(both) != 2 || !both[1].Equal(old) {
			t.Fatalf("after rotate: %d certificates", len(both))
		}
		fresh := both[0]
		md := body(t, get(t, newBrowser(), g.URL+"/c/acme/saml/metadata"))
		if strings.Count(md, `use="encryption"`) != 2 {
			t.Fatalf("metadata during the rollover:\n%s", md)
		}
		// Both decrypt while Entra switches.
		for i, c := range []*x509.Certificate{old, fresh} {
			if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", c, false), ""); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("assertion encrypted to key %d during the rollover: %d\n%s", i, r.StatusCode, g.logText())
			}
		}
		// A third key is refused until the rollover is finished.
		if r := a.post(t, "/sso/encryption/rotate", nil); r.StatusCode != http.StatusConflict {
			t.Fatalf("rotate during a rollover: %d", r.StatusCode)
		}
		_, page := a.get(t, "/admin/sso/encryption")
		if !strings.Contains(page, "Still decrypts (rollover)") || !strings.Contains(page, `id="finish-form"`) {
			t.Fatal("the page does not show the rollover")
		}
		expectDone(t, a.post(t, "/sso/encryption/finish", nil), "encryption-finished")
		if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", old, false), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("assertion encrypted to the retired key: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "encrypted_assertion" {
			t.Fatalf("sign-in record %+v", ev)
		}
		if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", fresh, true), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("assertion encrypted to the new key after the rollover: %d", r.StatusCode)
		}
		all, _ := g.dir.ListEncryptionKeys(context.Background(), g.company.ID, true)
		if len(all) != 2 || all[0].RetiredAt == nil || all[1].RetiredAt != nil {
			t.Fatalf("keys after the rollover: %+v", all)
		}
		// Keys of one company decrypt nothing for another.
		if got := strings.Count(body(t, get(t, newBrowser(), g.URL+"/c/acme/saml/metadata")), `use="encryption"`); got != 1 {
			t.Fatalf("%d encryption certificates in the metadata after the rollover", got)
		}
		if r := a.post(t, "/sso/encryption", url.Values{"mode": {"sometimes"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad mode: %d", r.StatusCode)
		}
		if code, _ := a.get(t, "/admin/sso/encryption/cert/0000000000000000000000000000000000000000"); code != http.StatusNotFound {
			t.Fatalf("unknown certificate download: %d", code)
		}
		c, _ := g.dir.GetCompany(context.Background(), "acme")
		if c.TokenEncryption != directory.EncryptionRequired {
			t.Fatalf("policy %q", c.TokenEncryption)
		}
	})
}

func TestTokenEncryptionKeysAreSealedWithTheSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		secret := strings.Repeat("s3cret-", 6)
		g := newGW(t, b, func(c *configT) { c.SigningKeySecret = secret })
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		expectDone(t, a.post(t, "/sso/encryption", url.Values{"mode": {"required"}}), "encryption")
		keys, err := g.dir.ListEncryptionKeys(context.Background(), g.company.ID, false)
		testenv.Must(t, err, "list keys")
		if len(keys) != 1 || !strings.HasPrefix(string(keys[0].PrivateKey), "ssogate-sealed-v1:") {
			t.Fatalf("the private key is stored unsealed")
		}
		cert := a.encryptionCerts(t)[0]
		if r := g.postACS(newBrowser(), "acme", g.encrypted("maja.holm@acme.example", cert, false), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("encrypted sign-in with a sealed key: %d\n%s", r.StatusCode, g.logText())
		}
		// An instance without the secret cannot use the key: sign-ins are
		// refused with a page (and a log line naming the cause), never a 5xx.
		other := newGWOn(t, g.dir, g.sess, g)
		r := other.postACS(newBrowser(), "acme", other.encrypted("maja.holm@acme.example", cert, false), "")
		if r.StatusCode != http.StatusForbidden || !strings.Contains(other.logText(), "cannot be unsealed") {
			t.Fatalf("without the secret: %d\n%s", r.StatusCode, other.logText())
		}
	})
}

func TestMetadataOfACompanyBeingSetUp(t *testing.T) {
	g := newGW(t, backends()[0])
	ctx := context.Background()
	c := &directory.Company{Slug: "fresh", Name: "Fresh"}
	testenv.Must(t, g.dir.CreateCompany(ctx, c), "create company")
	resp := get(t, newBrowser(), g.URL+"/c/fresh/saml/metadata")
	md := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(md, g.URL+"/c/fresh/saml/acs") || strings.Contains(md, `use="encryption"`) {
		t.Fatalf("metadata with no certificate yet: %d\n%s", resp.StatusCode, md)
	}
	k, err := web.NewEncryptionKey(ctx, g.dir, c, "", time.Now())
	testenv.Must(t, err, "encryption key")
	c.TokenEncryption = directory.EncryptionOptional
	testenv.Must(t, g.dir.UpdateCompanySettings(ctx, c), "encryption on")
	md = body(t, get(t, newBrowser(), g.URL+"/c/fresh/saml/metadata"))
	if !strings.Contains(md, base64.StdEncoding.EncodeToString(k.CertDER)) {
		t.Fatalf("metadata lacks the encryption certificate:\n%s", md)
	}
}

package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
)

func newIdP(t *testing.T) *ssotest.IdP {
	t.Helper()
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	testenv.Must(t, err, "idp")
	return idp
}

func (f *fixture) audits(t *testing.T, action string) []directory.AuditEntry {
	t.Helper()
	list, err := f.dir.ListAudit(context.Background(), f.co.ID, 100)
	testenv.Must(t, err, "list audit")
	var out []directory.AuditEntry
	for _, a := range list {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func (f *fixture) trusted(t *testing.T) map[string]bool {
	t.Helper()
	list, err := f.dir.ListCertificates(context.Background(), f.co.ID, false)
	testenv.Must(t, err, "list certificates")
	m := map[string]bool{}
	for _, c := range list {
		m[c.SHA1] = true
	}
	return m
}

func TestCertificates(t *testing.T) {
	one, two := newIdP(t), newIdP(t)
	ctx := context.Background()
	who := admin.Actor{Name: "admin:maja@acme.example"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("add, re-add, retire others", func(t *testing.T) {
				f := setup(t, b)
				res, err := f.svc.AddCertificate(ctx, who, f.co.ID, one.CertificateBase64(), false)
				testenv.Must(t, err, "add")
				if res.Readded || res.Cert.Source != directory.CertSourcePaste || res.Cert.SHA1 == "" || len(res.Cert.DER) == 0 {
					t.Fatalf("first add: %+v", res)
				}
				res, err = f.svc.AddCertificate(ctx, who, f.co.ID, one.CertificateBase64(), false)
				testenv.Must(t, err, "re-add")
				if !res.Readded {
					t.Fatal("a second paste of the same certificate is not reported as re-added")
				}
				res2, err := f.svc.AddCertificate(ctx, who, f.co.ID, two.CertificateBase64(), true)
				testenv.Must(t, err, "add with retire_others")
				if got := f.trusted(t); len(got) != 1 || !got[res2.Cert.SHA1] {
					t.Fatalf("after retire_others the trusted set is %v, want only %s", got, res2.Cert.SHA1)
				}
				a := f.audits(t, "cert.add")
				if len(a) != 3 || a[0].Actor != who.Name {
					t.Fatalf("cert.add audit entries: %+v", a)
				}
				found := false
				for _, e := range a {
					if strings.Contains(e.Detail, "sha1="+res2.Cert.SHA1) && strings.Contains(e.Detail, "retire_others=true") {
						found = true
					}
				}
				if !found {
					t.Fatalf("no cert.add entry names %s with retire_others=true: %+v", res2.Cert.SHA1, a)
				}
			})
			t.Run("a refused paste writes nothing", func(t *testing.T) {
				f := setup(t, b)
				_, err := f.svc.AddCertificate(ctx, who, f.co.ID, "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", false)
				if certs.ReasonOf(err) != certs.ReasonPrivateKey {
					t.Fatalf("private key paste: %v", err)
				}
				if len(f.trusted(t)) != 0 || len(f.audits(t, "cert.add")) != 0 {
					t.Fatal("a refused paste left a certificate or an audit entry")
				}
			})
			t.Run("retire by SHA-1 or SHA-256; never the last one while SSO is on", func(t *testing.T) {
				f := setup(t, b)
				c1, err := f.svc.AddCertificate(ctx, who, f.co.ID, one.CertificateBase64(), false)
				testenv.Must(t, err, "add one")
				c2, err := f.svc.AddCertificate(ctx, who, f.co.ID, two.CertificateBase64(), false)
				testenv.Must(t, err, "add two")
				co := *f.co
				co.SSOEnabled = true
				testenv.Must(t, f.dir.UpdateCompanySettings(ctx, &co), "SSO on")

				if _, err := f.svc.RetireCertificate(ctx, who, f.co.ID, "not-a-thumbprint"); !isInvalid(err) {
					t.Fatalf("a malformed thumbprint: %v", err)
				}
				// SHA-1 as Entra shows it, lower case with colons.
				colons := strings.ToLower(c1.Cert.SHA1[:2] + ":" + c1.Cert.SHA1[2:])
				got, err := f.svc.RetireCertificate(ctx, who, f.co.ID, colons)
				testenv.Must(t, err, "retire by sha1")
				if got.SHA256 != c1.Cert.SHA256 {
					t.Fatalf("retired %s, want %s", got.SHA1, c1.Cert.SHA1)
				}
				if _, err := f.svc.RetireCertificate(ctx, who, f.co.ID, c1.Cert.SHA1); !errors.Is(err, admin.ErrNoSuchCertificate) {
					t.Fatalf("retiring a retired certificate: %v", err)
				}
				_, err = f.svc.RetireCertificate(ctx, who, f.co.ID, c2.Cert.SHA256)
				var r *usererr.Error
				if !errors.As(err, &r) || r.Kind() == usererr.Invalid || !strings.Contains(r.Message(), "only trusted certificate") {
					t.Fatalf("retiring the last certificate with SSO on: %v", err)
				}
				if got := f.trusted(t); !got[c2.Cert.SHA1] {
					t.Fatal("the refused retirement was written")
				}
				if n := len(f.audits(t, "cert.retire")); n != 1 {
					t.Fatalf("%d cert.retire entries, want 1", n)
				}
				co.SSOEnabled = false
				testenv.Must(t, f.dir.UpdateCompanySettings(ctx, &co), "SSO off")
				_, err = f.svc.RetireCertificate(ctx, who, f.co.ID, c2.Cert.SHA256)
				testenv.Must(t, err, "retire the last certificate with SSO off")
				if len(f.trusted(t)) != 0 {
					t.Fatal("still trusted")
				}
			})
		})
	}
}

func isInvalid(err error) bool {
	var r *usererr.Error
	return errors.As(err, &r) && r.Kind() == usererr.Invalid
}

func TestAutoRetire(t *testing.T) {
	one, two, three := newIdP(t), newIdP(t), newIdP(t)
	ctx := context.Background()
	who := admin.Actor{Name: "admin:maja@acme.example"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			now := time.Now()
			f.svc.Now = func() time.Time { return now }
			if err := f.svc.SetCertAutoRetire(ctx, who, f.co.ID, 366); !isInvalid(err) {
				t.Fatalf("366 days: %v", err)
			}
			testenv.Must(t, f.svc.SetCertAutoRetire(ctx, who, f.co.ID, 7), "set 7 days")
			if a := f.audits(t, "cert.auto_retire"); len(a) != 1 || a[0].Detail != "days=7" {
				t.Fatalf("audit: %+v", a)
			}
			old, err := f.svc.AddCertificate(ctx, who, f.co.ID, one.CertificateBase64(), false)
			testenv.Must(t, err, "add old")
			cur, err := f.svc.AddCertificate(ctx, who, f.co.ID, two.CertificateBase64(), false)
			testenv.Must(t, err, "add current")
			fresh, err := f.svc.AddCertificate(ctx, who, f.co.ID, three.CertificateBase64(), false)
			testenv.Must(t, err, "add unused")
			testenv.Must(t, f.dir.RecordLogins(ctx, nil, []directory.CertificateUse{
				{CompanyID: f.co.ID, SHA256: old.Cert.SHA256, At: now.Add(-8 * 24 * time.Hour), Count: 1},
				{CompanyID: f.co.ID, SHA256: cur.Cert.SHA256, At: now.Add(-time.Hour), Count: 1},
			}), "record logins")
			co, err := f.dir.GetCompanyByID(ctx, f.co.ID)
			testenv.Must(t, err, "get")

			// Not yet: the old one signed 8 days ago, the limit is 7 — but
			// with the clock a day earlier it is within the limit.
			f.svc.Now = func() time.Time { return now.Add(-2 * 24 * time.Hour) }
			if got, err := f.svc.AutoRetireCertificates(ctx, co); err != nil || len(got) != 0 {
				t.Fatalf("within the limit: %v %v", got, err)
			}
			f.svc.Now = func() time.Time { return now }
			got, err := f.svc.AutoRetireCertificates(ctx, co)
			testenv.Must(t, err, "auto-retire")
			if len(got) != 1 || got[0].Cert.SHA256 != old.Cert.SHA256 || got[0].Signing.SHA256 != cur.Cert.SHA256 {
				t.Fatalf("retired %+v, want only %s", got, old.Cert.SHA1)
			}
			if tr := f.trusted(t); tr[old.Cert.SHA1] || !tr[cur.Cert.SHA1] || !tr[fresh.Cert.SHA1] {
				t.Fatalf("trusted after auto-retire: %v", tr)
			}
			a := f.audits(t, "cert.retire")
			if len(a) != 1 || a[0].Actor != admin.AutoRetireActor || !strings.Contains(a[0].Detail, old.Cert.SHA1) {
				t.Fatalf("audit: %+v", a)
			}
			if got, err := f.svc.AutoRetireCertificates(ctx, co); err != nil || len(got) != 0 {
				t.Fatalf("second run: %v %v", got, err)
			}
		})
	}
}

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
)

func TestSetTokenEncryption(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "cli"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			made := 0
			f.svc.NewEncryptionKey = func(co *directory.Company, now time.Time) (*directory.EncryptionKey, error) {
				made++
				k, err := certs.NewEncryptionKey("ssogate "+co.Slug, now)
				if err != nil {
					return nil, err
				}
				return &directory.EncryptionKey{CompanyID: co.ID, PrivateKey: k.PrivateKey, CertDER: k.CertDER, NotAfter: k.NotAfter}, nil
			}
			if _, err := f.svc.SetTokenEncryption(ctx, who, f.co.ID, "sometimes"); !isInvalid(err) {
				t.Fatalf("an unknown mode: %v", err)
			}
			k, err := f.svc.SetTokenEncryption(ctx, who, f.co.ID, "Required")
			testenv.Must(t, err, "required")
			if k == nil || made != 1 {
				t.Fatalf("turning encryption on made %d keys (returned %v)", made, k)
			}
			k2, err := f.svc.SetTokenEncryption(ctx, who, f.co.ID, "optional")
			testenv.Must(t, err, "optional")
			if k2 != nil || made != 1 {
				t.Fatal("a second key pair was made although one is live")
			}
			co, err := f.dir.GetCompanyByID(ctx, f.co.ID)
			testenv.Must(t, err, "get")
			live, err := f.dir.ListEncryptionKeys(ctx, f.co.ID, false)
			testenv.Must(t, err, "keys")
			if co.TokenEncryption != directory.EncryptionOptional || len(live) != 1 {
				t.Fatalf("policy %q with %d live keys", co.TokenEncryption, len(live))
			}
			a := f.audits(t, "sso.configure")
			if len(a) != 2 || !strings.Contains(a[1].Detail+a[0].Detail, "encryption=required new_key="+k.SHA1) {
				t.Fatalf("audit: %+v", a)
			}
			f.svc.NewEncryptionKey = nil
			f2 := setup(t, b)
			if _, err := f2.svc.SetTokenEncryption(ctx, who, f2.co.ID, "required"); err == nil {
				t.Fatal("without a key maker, turning encryption on must fail")
			}
		})
	}
}

func TestEncryptionRollover(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "cli"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			f.svc.NewEncryptionKey = func(co *directory.Company, now time.Time) (*directory.EncryptionKey, error) {
				k, err := certs.NewEncryptionKey("ssogate "+co.Slug, now)
				if err != nil {
					return nil, err
				}
				return &directory.EncryptionKey{CompanyID: co.ID, PrivateKey: k.PrivateKey, CertDER: k.CertDER, NotAfter: k.NotAfter}, nil
			}
			if _, _, err := f.svc.FinishEncryptionRollover(ctx, who, f.co.ID); err != admin.ErrNoRollover {
				t.Fatalf("finishing with no key: %v", err)
			}
			first, err := f.svc.SetTokenEncryption(ctx, who, f.co.ID, "required")
			testenv.Must(t, err, "required")
			second, err := f.svc.RotateEncryptionKey(ctx, who, f.co.ID)
			testenv.Must(t, err, "rotate")
			var rf *usererr.Error
			if _, err := f.svc.RotateEncryptionKey(ctx, who, f.co.ID); !errors.As(err, &rf) {
				t.Fatalf("a third live key: %v", err)
			}
			if live, _ := f.dir.ListEncryptionKeys(ctx, f.co.ID, false); len(live) != 2 {
				t.Fatalf("%d live keys during the rollover", len(live))
			}
			kept, retired, err := f.svc.FinishEncryptionRollover(ctx, who, f.co.ID)
			testenv.Must(t, err, "finish")
			if kept.SHA1 != second.SHA1 || len(retired) != 1 || retired[0].SHA1 != first.SHA1 {
				t.Fatalf("kept %s, retired %v", kept.SHA1, retired)
			}
			if live, _ := f.dir.ListEncryptionKeys(ctx, f.co.ID, false); len(live) != 1 || live[0].SHA1 != second.SHA1 {
				t.Fatalf("after finishing: %v", live)
			}
			if len(f.audits(t, "encryption.rotate")) != 1 || len(f.audits(t, "encryption.retire")) != 1 {
				t.Fatal("missing audit entries")
			}
		})
	}
}

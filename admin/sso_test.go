package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/internal/usererr"
)

func ptr[T any](v T) *T { return &v }

func TestConfigureSSO(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "cli"}
	onlyCorp := func(u string) error {
		if strings.HasPrefix(u, "https://login.microsoftonline.com/") || strings.HasPrefix(u, "https://idp.corp.example/") {
			return nil
		}
		return errors.New("not allowed")
	}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("every problem at once, nothing written", func(t *testing.T) {
				f := setup(t, b)
				f.svc.CheckLoginURL = onlyCorp
				_, _, err := f.svc.ConfigureSSO(ctx, who, f.co.ID, admin.SSOSettings{Enabled: ptr(true), NameIDMode: ptr("email"),
					EntraIdentifier: ptr("sts.windows.net/t/"), LoginURL: ptr("https://evil.example/saml2"), Name: ptr(strings.Repeat("x", 201))})
				var r *usererr.Error
				if !errors.As(err, &r) || r.Kind() != usererr.Invalid {
					t.Fatalf("bad settings: %v", err)
				}
				for _, want := range []string{"NameID", "Microsoft Entra Identifier", "not a Microsoft sign-in address", "SSOGATE_IDP_LOGIN_HOSTS", "too long"} {
					if !strings.Contains(r.Message(), want) {
						t.Errorf("refusal %q does not mention %q", r.Message(), want)
					}
				}
				co, err := f.dir.GetCompanyByID(ctx, f.co.ID)
				testenv.Must(t, err, "get")
				if co.SSOEnabled || co.Version != f.co.Version || len(f.audits(t, "sso.configure")) != 0 {
					t.Fatalf("a refused change was written: %+v", co)
				}
			})
			t.Run("changes, one audit entry, no-op writes nothing", func(t *testing.T) {
				f := setup(t, b)
				f.svc.CheckLoginURL = onlyCorp
				in := admin.SSOSettings{Enabled: ptr(true), NameIDMode: ptr("MAIL"), EntraIdentifier: ptr(" https://sts.windows.net/t/ "),
					LoginURL: ptr("https://idp.corp.example/saml2"), SLO: ptr(true)}
				co, changes, err := f.svc.ConfigureSSO(ctx, who, f.co.ID, in)
				testenv.Must(t, err, "configure")
				want := `enabled=true nameid=mail entra_identifier="https://sts.windows.net/t/" login_url="https://idp.corp.example/saml2" slo=true`
				if got := strings.Join(changes, " "); got != want {
					t.Fatalf("changes %q, want %q", got, want)
				}
				if !co.SSOEnabled || co.NameIDMode != "mail" || co.EntraIdentifier != "https://sts.windows.net/t/" || !co.SLOEnabled {
					t.Fatalf("written: %+v", co)
				}
				a := f.audits(t, "sso.configure")
				if len(a) != 1 || a[0].Detail != want || a[0].Actor != "cli" {
					t.Fatalf("audit: %+v", a)
				}
				if _, changes, err = f.svc.ConfigureSSO(ctx, who, f.co.ID, in); err != nil || len(changes) != 0 {
					t.Fatalf("the same settings again: %v %v", changes, err)
				}
				if len(f.audits(t, "sso.configure")) != 1 {
					t.Fatal("a no-op change was audited")
				}
				// An unchanged Login URL is not re-checked (the allow-list
				// may have changed since); a new one is.
				f.svc.CheckLoginURL = nil
				if _, _, err := f.svc.ConfigureSSO(ctx, who, f.co.ID, admin.SSOSettings{LoginURL: ptr("https://idp.corp.example/saml2"), SLO: ptr(false)}); err != nil {
					t.Fatalf("unchanged Login URL: %v", err)
				}
				if _, _, err := f.svc.ConfigureSSO(ctx, who, f.co.ID, admin.SSOSettings{LoginURL: ptr("https://login.microsoftonline.com/t/saml2")}); !isInvalid(err) {
					t.Fatalf("without a Login URL check a new Login URL must be refused: %v", err)
				}
				if _, _, err := f.svc.ConfigureSSO(ctx, who, f.co.ID, admin.SSOSettings{LoginURL: ptr("")}); err != nil {
					t.Fatalf("unsetting the Login URL: %v", err)
				}
			})
		})
	}
}

func TestCheckEntraURL(t *testing.T) {
	for _, ok := range []string{"", "https://sts.windows.net/0b1c/", "http://127.0.0.1:8081/idp", "https://login.microsoftonline.com/t/saml2"} {
		if err := admin.CheckEntraURL(ok, "Login URL", "x"); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"sts.windows.net/0b1c/", "ftp://sts.windows.net/", "https://", "https://a b/", "javascript:alert(1)",
		"https://sts.windows.net/" + strings.Repeat("a", 500), "https://x/\n"} {
		if err := admin.CheckEntraURL(bad, "Login URL", "x"); err == nil || !strings.Contains(err.Error(), "is not a URL") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func TestSetMetadataURL(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "console"}
	const good = "https://login.microsoftonline.com/tenant/federationmetadata/2007-06/federationmetadata.xml?appid=x"
	onlyMicrosoft := func(u string) error {
		if strings.HasPrefix(u, "https://login.microsoftonline.com/") {
			return nil
		}
		return usererr.New(usererr.Invalid, "host", "the host is not Microsoft's")
	}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			if _, err := f.svc.SetMetadataURL(ctx, who, f.co.ID, good); kindOf(err) != usererr.Invalid {
				t.Fatalf("without a checker, a URL must be refused: %v", err)
			}
			f.svc.CheckMetadataURL = onlyMicrosoft
			_, err := f.svc.SetMetadataURL(ctx, who, f.co.ID, "https://evil.example/metadata.xml")
			if ue, ok := usererr.As(err); !ok || ue.Kind() != usererr.Invalid || !strings.Contains(ue.Message(), "not Microsoft's") {
				t.Fatalf("a foreign host: %v", err)
			}
			changed, err := f.svc.SetMetadataURL(ctx, who, f.co.ID, "  "+good+" ")
			testenv.Must(t, err, "set")
			co, err := f.dir.GetCompanyByID(ctx, f.co.ID)
			testenv.Must(t, err, "get")
			if !changed || co.MetadataURL != good {
				t.Fatalf("changed %v, stored %q", changed, co.MetadataURL)
			}
			if changed, err := f.svc.SetMetadataURL(ctx, who, f.co.ID, good); err != nil || changed {
				t.Fatalf("the same URL again: changed %v, %v", changed, err)
			}
			if changed, err := f.svc.SetMetadataURL(ctx, who, f.co.ID, ""); err != nil || !changed {
				t.Fatalf("remove: changed %v, %v", changed, err)
			}
			a := f.audits(t, "sso.metadata_url")
			if len(a) != 2 || a[0].Actor != "console" || !strings.Contains(a[0].Detail+a[1].Detail, `metadata_url="`+good+`"`) {
				t.Fatalf("audit: %+v", a)
			}
		})
	}
}

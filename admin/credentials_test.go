package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// kindOf is the kind of a refusal; 0 (no kind) for success or a failure.
func kindOf(err error) usererr.Kind {
	if ue, ok := usererr.As(err); ok {
		return ue.Kind()
	}
	return 0
}

func TestSCIMTokens(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "cli"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			for _, bad := range []string{strings.Repeat("x", 101), "two\nlines", "tab\there"} {
				if _, _, err := f.svc.MintSCIMToken(ctx, who, f.co.ID, bad); kindOf(err) != usererr.Invalid {
					t.Errorf("label %q: %v", bad, err)
				}
			}
			if toks, _ := f.dir.ListSCIMTokens(ctx, f.co.ID); len(toks) != 0 {
				t.Fatalf("a refused mint stored %d tokens", len(toks))
			}
			tok, rec, err := f.svc.MintSCIMToken(ctx, who, f.co.ID, "  entra  ")
			testenv.Must(t, err, "mint")
			sum := sha256.Sum256([]byte(tok))
			stored, err := f.dir.FindSCIMToken(ctx, sum[:])
			testenv.Must(t, err, "find the minted token by its hash")
			if !strings.HasPrefix(tok, scimcred.TokenPrefix) || stored.ID != rec.ID || stored.Label != "entra" || !bytes.Equal(stored.Hash, sum[:]) {
				t.Fatalf("minted %+v, stored %+v", rec, stored)
			}

			// Rotation: a new token with the label, the old one revoked,
			// one audit entry naming both.
			tok2, rec2, err := f.svc.RotateSCIMToken(ctx, who, f.co.ID, rec.ID)
			testenv.Must(t, err, "rotate")
			if tok2 == tok || rec2.Label != "entra" {
				t.Fatalf("rotation gave %+v", rec2)
			}
			if _, err := f.dir.FindSCIMToken(ctx, sum[:]); err == nil {
				t.Fatal("the rotated token still works")
			}
			if _, _, err := f.svc.RotateSCIMToken(ctx, who, f.co.ID, rec.ID); kindOf(err) != usererr.NotFound {
				t.Fatalf("rotating a revoked token: %v", err)
			}
			if err := f.svc.RevokeSCIMToken(ctx, who, f.co.ID, rec.ID); kindOf(err) != usererr.NotFound {
				t.Fatalf("revoking a revoked token: %v", err)
			}

			// Another company's token is not found from here.
			other := &directory.Company{Slug: "beta", Name: "Beta", NameIDMode: directory.NameIDUPN}
			testenv.Must(t, f.dir.CreateCompany(ctx, other), "company")
			_, orec, err := f.svc.MintSCIMToken(ctx, who, other.ID, "")
			testenv.Must(t, err, "mint beta")
			if err := f.svc.RevokeSCIMToken(ctx, who, f.co.ID, orec.ID); kindOf(err) != usererr.NotFound {
				t.Fatalf("acme revoked beta's token: %v", err)
			}
			testenv.Must(t, f.svc.RevokeSCIMToken(ctx, who, f.co.ID, rec2.ID), "revoke")

			for action, detail := range map[string]string{
				"scim.token.mint":   `label="entra"`,
				"scim.token.rotate": "replaces id=",
				"scim.token.revoke": "id=",
			} {
				a := f.audits(t, action)
				if len(a) != 1 || !strings.Contains(a[0].Detail, detail) || a[0].Actor != "cli" {
					t.Errorf("audit %s: %+v", action, a)
				}
			}
		})
	}
}

func TestSCIMClients(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "console"}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
			f.svc.Now = func() time.Time { return now }
			for _, years := range []int{0, 4, -1} {
				if _, _, err := f.svc.AddSCIMClient(ctx, who, f.co.ID, "", years); kindOf(err) != usererr.Invalid {
					t.Errorf("%d years: %v", years, err)
				}
			}
			if _, _, err := f.svc.AddSCIMClient(ctx, who, f.co.ID, strings.Repeat("é", 51), 1); kindOf(err) != usererr.Invalid {
				t.Errorf("a 102-byte label: %v", err)
			}
			cl, secret, err := f.svc.AddSCIMClient(ctx, who, f.co.ID, "entra", 2)
			testenv.Must(t, err, "add client")
			if !strings.HasPrefix(cl.ClientID, scimcred.ClientIDPrefix) || !strings.HasPrefix(secret, scimcred.ClientSecretPrefix) ||
				!cl.Secrets[0].ExpiresAt.Equal(now.AddDate(2, 0, 0)) {
				t.Fatalf("client %+v", cl)
			}
			got, err := f.dir.GetSCIMClient(ctx, f.co.ID, cl.ClientID)
			testenv.Must(t, err, "get client")
			if len(got.Secrets) != 1 || !bytes.Equal(got.Secrets[0].Hash, scimcred.Hash(secret)) {
				t.Fatalf("stored client %+v", got)
			}

			sec2, secret2, err := f.svc.AddSCIMClientSecret(ctx, who, f.co.ID, cl.ClientID, 3)
			testenv.Must(t, err, "second secret")
			if secret2 == secret || sec2.Client != got.ID {
				t.Fatalf("second secret %+v", sec2)
			}
			if _, _, err := f.svc.AddSCIMClientSecret(ctx, who, f.co.ID, "scim-nosuch", 1); kindOf(err) != usererr.NotFound {
				t.Fatalf("a secret for no client: %v", err)
			}
			// A secret of another client is not this client's to remove.
			other, _, err := f.svc.AddSCIMClient(ctx, who, f.co.ID, "other", 1)
			testenv.Must(t, err, "other client")
			if err := f.svc.RemoveSCIMClientSecret(ctx, who, f.co.ID, other.ClientID, sec2.ID); kindOf(err) != usererr.NotFound {
				t.Fatalf("removing another client's secret: %v", err)
			}
			testenv.Must(t, f.svc.RemoveSCIMClientSecret(ctx, who, f.co.ID, cl.ClientID, sec2.ID), "remove secret")
			got, err = f.dir.GetSCIMClient(ctx, f.co.ID, cl.ClientID)
			testenv.Must(t, err, "get client")
			if len(got.Secrets) != 1 || got.Secrets[0].ID == sec2.ID {
				t.Fatalf("after removing the second secret: %+v", got.Secrets)
			}
			testenv.Must(t, f.svc.RemoveSCIMClient(ctx, who, f.co.ID, cl.ClientID), "remove client")
			if err := f.svc.RemoveSCIMClient(ctx, who, f.co.ID, cl.ClientID); kindOf(err) != usererr.NotFound {
				t.Fatalf("removing it twice: %v", err)
			}
			for action, n := range map[string]int{"scim.client.add": 2, "scim.client.secret.add": 1, "scim.client.secret.remove": 1, "scim.client.remove": 1} {
				if a := f.audits(t, action); len(a) != n || a[0].Actor != "console" {
					t.Errorf("audit %s: %+v", action, a)
				}
			}
		})
	}
}

func TestOAuthClients(t *testing.T) {
	ctx := context.Background()
	who := admin.Actor{Name: "cli"}
	uri := []string{"com.example.hr:/oauth2redirect"}
	many := make([]string, 21)
	for i := range many {
		many[i] = uri[0]
	}
	for _, b := range teststores.All() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			for _, c := range []struct {
				name, id, display string
				uris              []string
			}{
				{"no client id", "", "", uri},
				{"a space", "hr app", "", uri},
				{"outside VSCHAR", "hr-äpp", "", uri},
				{"a control character", "hr\x01app", "", uri},
				{"too long", strings.Repeat("a", 129), "", uri},
				{"a long name", "hr", strings.Repeat("n", 101), uri},
				{"no redirect URI", "hr", "", nil},
				{"21 redirect URIs", "hr", "", many},
				{"a fragment", "hr", "", []string{"https://hr.example.com/cb#x"}},
				{"plain http", "hr", "", []string{"http://hr.example.com/cb"}},
			} {
				if _, err := f.svc.AddOAuthClient(ctx, who, f.co.ID, c.id, c.display, c.uris); kindOf(err) != usererr.Invalid {
					t.Errorf("%s: %v", c.name, err)
				}
			}
			if list, _ := f.dir.ListOAuthClients(ctx, f.co.ID); len(list) != 0 {
				t.Fatalf("refused clients were stored: %+v", list)
			}
			cl, err := f.svc.AddOAuthClient(ctx, who, f.co.ID, " hr-app ", " HR ", uri)
			testenv.Must(t, err, "add")
			if cl.ClientID != "hr-app" || cl.Name != "HR" {
				t.Fatalf("client %+v", cl)
			}
			if _, err := f.svc.AddOAuthClient(ctx, who, f.co.ID, "hr-app", "", uri); kindOf(err) != usererr.Conflict {
				t.Fatalf("a second hr-app: %v", err)
			}
			testenv.Must(t, f.svc.RemoveOAuthClient(ctx, who, f.co.ID, "hr-app"), "remove")
			if err := f.svc.RemoveOAuthClient(ctx, who, f.co.ID, "hr-app"); kindOf(err) != usererr.NotFound {
				t.Fatalf("removing it twice: %v", err)
			}
			if a := f.audits(t, "oauth.client.add"); len(a) != 1 || !strings.Contains(a[0].Detail, "redirect_uris="+uri[0]) {
				t.Errorf("audit: %+v", a)
			}
			if a := f.audits(t, "oauth.client.remove"); len(a) != 1 {
				t.Errorf("audit: %+v", a)
			}
		})
	}
}

package test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAdminMobileApps: the console registers and removes the mobile app's
// OAuth client; removal ends the app's tokens.
func TestAdminMobileApps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		// Paste mistakes are refused inline and nothing is stored.
		for _, bad := range []url.Values{
			{"client_id": {"acme-mobile"}, "redirect_uris": {"myapp:/cb"}},
			{"client_id": {"acme-mobile"}, "redirect_uris": {"http://evil.example/cb"}},
			{"client_id": {"acme-mobile"}, "redirect_uris": {"https://app.acme.example/cb#x"}},
			{"client_id": {"acme mobile"}, "redirect_uris": {"com.acme.app:/cb"}},
			{"client_id": {"acme-mobile"}, "redirect_uris": {"  \n "}},
		} {
			r := a.post(t, "/apps", bad)
			if page := body(t, r); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="form-error"`) {
				t.Fatalf("%v: %d\n%s", bad, r.StatusCode, page)
			}
		}
		if list, _ := g.dir.ListOAuthClients(context.Background(), g.company.ID); len(list) != 0 {
			t.Fatalf("a refused app was stored: %+v", list)
		}
		r := a.post(t, "/apps", url.Values{"client_id": {appClientID}, "name": {"Absence app"},
			"redirect_uris": {appRedirect + "\r\n" + appLink + "\r\n"}})
		expectDone(t, r, "app-added")
		code, page := a.get(t, "/admin/apps")
		if code != 200 || !strings.Contains(page, appRedirect) || !strings.Contains(page, appLink) || !strings.Contains(page, "Absence app") {
			t.Fatalf("apps page %d:\n%s", code, page)
		}
		if r := a.post(t, "/apps", url.Values{"client_id": {appClientID}, "redirect_uris": {appRedirect}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("duplicate client id: %d", r.StatusCode)
		}
		// The app signs in with it.
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		access, _ := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		g.wantBearer(t, "acme", access, http.StatusOK)
		// Removing it ends its tokens, and it is audited.
		expectDone(t, a.post(t, "/apps/"+appClientID+"/remove", nil), "app-removed")
		g.wantBearer(t, "acme", access, http.StatusUnauthorized)
		list := g.audit(t, g.company)
		if !hasAudit(list, "admin:"+adminEmail, "oauth.client.add", appClientID) || !hasAudit(list, "admin:"+adminEmail, "oauth.client.remove", appClientID) {
			t.Fatalf("audit: %+v", list)
		}
		// Without the CSRF token nothing happens.
		r = a.postForm(t, "/c/acme/admin/apps", url.Values{"client_id": {"x.y"}, "redirect_uris": {"com.x.y:/cb"}})
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("no CSRF token: %d", r.StatusCode)
		}
	})
}

package test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session/memstore"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// ccToken asks a company's SCIM token endpoint for an access token like
// Entra's provisioning service: the form, and HTTP Basic when user is set
// (id and secret form-urlencoded first, RFC 6749 §2.3.1).
func (g *gw) ccToken(t *testing.T, slug string, form url.Values, basicUser, basicPass string) tokenReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+"/c/"+slug+"/scim/oauth/token", strings.NewReader(form.Encode()))
	testenv.Must(t, err, "new request")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return doToken(t, req)
}

var ccGrant = url.Values{"grant_type": {"client_credentials"}}

func ccForm(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
}

// wantAccessToken checks an RFC 6749 §5.1 client credentials answer: a
// bearer of one hour, no refresh token.
func (g *gw) wantAccessToken(t *testing.T, r tokenReply) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token request: %d %v\n%s", r.status, r.body, g.logText())
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("token answer headers: %v", r.header)
	}
	tok := r.str("access_token")
	if r.str("token_type") != "Bearer" || !strings.HasPrefix(tok, scimcred.AccessTokenPrefix) || len(tok) < 43 || r.body["refresh_token"] != nil {
		t.Fatalf("token answer %v", r.body)
	}
	if exp, _ := r.body["expires_in"].(float64); exp != 3600 {
		t.Fatalf("expires_in %v, want 3600", r.body["expires_in"])
	}
	return tok
}

// scimAt sends a SCIM request to any company.
func (g *gw) scimAt(t *testing.T, slug, token, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+"/c/"+slug+"/scim/v2"+path, strings.NewReader(body))
	testenv.Must(t, err, "request")
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err, "%s %s", method, path)
	resp.Body.Close()
	return resp.StatusCode
}

// TestSCIMClientCredentials: Entra's OAuth2 Client Credentials Grant end to
// end: a client made the way `ssogate scim client add` makes it, a token by
// HTTP Basic and by form fields, SCIM reads and writes with it, and every
// refusal the token endpoint and SCIM owe a wrong, expired or removed
// credential.
func TestSCIMClientCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		cl, secret, err := createSCIMClient(ctx, g.dir, g.company.ID, "entra", scimcred.DefaultSecretYears, time.Now())
		testenv.Must(t, err, "create client")
		if !strings.HasPrefix(cl.ClientID, scimcred.ClientIDPrefix) || !strings.HasPrefix(secret, scimcred.ClientSecretPrefix) ||
			len(cl.Secrets) != 1 || cl.Secrets[0].ExpiresAt.Before(time.Now().AddDate(1, 0, -1)) {
			t.Fatalf("client %+v secret %q", cl, secret)
		}

		// HTTP Basic, then SCIM with the access token: Test Connection, a
		// create, a read.
		tok := g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, cl.ClientID, secret))
		raw := g.rawGet(t, tok, `/c/acme/scim/v2/Users?filter=userName+eq+"0d1f9a7e-3b5c-4d2e-8f60-7a1b2c3d4e5f"`)
		if !strings.HasPrefix(raw, "HTTP/1.1 200") || !strings.Contains(raw, `"totalResults":0`) {
			t.Fatalf("test connection with the access token:\n%s", raw)
		}
		code, created := g.scimCall(t, tok, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"Nina.Dahl@acme.example","active":true,"name":{"givenName":"Nina","familyName":"Dahl"}}`)
		if code != http.StatusCreated {
			t.Fatalf("POST with the access token: %d %v", code, created)
		}
		if code, got := g.scimCall(t, tok, "GET", "/Users/"+created["id"].(string), ""); code != http.StatusOK || got["userName"] != "Nina.Dahl@acme.example" {
			t.Fatalf("GET with the access token: %d %v", code, got)
		}
		// Form fields work too, and give a different token.
		tok2 := g.wantAccessToken(t, g.ccToken(t, "acme", ccForm(cl.ClientID, secret), "", ""))
		if tok2 == tok {
			t.Fatal("two token requests got the same token")
		}
		if code := g.scimAt(t, "acme", tok2, "GET", "/Users?count=1", ""); code != http.StatusOK {
			t.Fatalf("form-authenticated token: %d", code)
		}
		// The access token is stored hashed, with its expiry.
		sum := sha256.Sum256([]byte(tok))
		at, err := g.dir.FindSCIMAccessToken(ctx, sum[:])
		testenv.Must(t, err, "stored access token")
		if at.CompanyID != g.company.ID || at.Client != cl.ID || at.ExpiresAt.Sub(at.IssuedAt) != time.Hour {
			t.Fatalf("stored access token %+v", at)
		}

		// Wrong secret, unknown client, no credentials: invalid_client.
		r := g.ccToken(t, "acme", ccGrant, cl.ClientID, secret+"x")
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("401 to Basic without WWW-Authenticate: %v", r.header)
		}
		wantOAuthError(t, g.ccToken(t, "acme", ccForm(cl.ClientID, "ssg_scimsecret_wrong"), "", ""), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, g.ccToken(t, "acme", ccForm("scim-nosuch", secret), "", ""), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, g.ccToken(t, "acme", ccGrant, "", ""), http.StatusUnauthorized, "invalid_client")
		// Two authentication methods at once, a wrong grant, no grant.
		both := ccForm(cl.ClientID, secret)
		wantOAuthError(t, g.ccToken(t, "acme", both, cl.ClientID, secret), http.StatusBadRequest, "invalid_request")
		wrongGrant := ccForm(cl.ClientID, secret)
		wrongGrant.Set("grant_type", "password")
		wantOAuthError(t, g.ccToken(t, "acme", wrongGrant, "", ""), http.StatusBadRequest, "unsupported_grant_type")
		wantOAuthError(t, g.ccToken(t, "acme", url.Values{}, cl.ClientID, secret), http.StatusBadRequest, "invalid_request")
		// A huge body, a JSON body, a GET, an unknown company.
		huge := ccForm(cl.ClientID, secret)
		huge.Set("scope", strings.Repeat("a", 200<<10))
		wantOAuthError(t, g.ccToken(t, "acme", huge, "", ""), http.StatusRequestEntityTooLarge, "invalid_request")
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/scim/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(cl.ClientID, secret)
		wantOAuthError(t, doToken(t, req), http.StatusBadRequest, "invalid_request")
		req, _ = http.NewRequest(http.MethodGet, g.URL+"/c/acme/scim/oauth/token?grant_type=client_credentials", nil)
		req.SetBasicAuth(cl.ClientID, secret)
		wantOAuthError(t, doToken(t, req), http.StatusMethodNotAllowed, "invalid_request")
		wantOAuthError(t, g.ccToken(t, "nosuch", ccGrant, cl.ClientID, secret), http.StatusNotFound, "invalid_request")

		// Company A's client and token are useless at B, and the reverse.
		beta := g.createCompany("beta", "Beta ApS", g.idp)
		bcl, bsecret, err := createSCIMClient(ctx, g.dir, beta.ID, "", 2, time.Now())
		testenv.Must(t, err, "beta client")
		wantOAuthError(t, g.ccToken(t, "beta", ccGrant, cl.ClientID, secret), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, g.ccToken(t, "acme", ccGrant, bcl.ClientID, bsecret), http.StatusUnauthorized, "invalid_client")
		if code := g.scimAt(t, "beta", tok, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("acme's access token at beta: %d", code)
		}
		btok := g.wantAccessToken(t, g.ccToken(t, "beta", ccGrant, bcl.ClientID, bsecret))
		if code := g.scimAt(t, "acme", btok, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("beta's access token at acme: %d", code)
		}
		if code := g.scimAt(t, "beta", btok, "GET", "/Users", ""); code != http.StatusOK {
			t.Fatalf("beta's access token at beta: %d", code)
		}

		// An expired access token.
		expired := scimcred.AccessTokenPrefix + "expired-token-of-this-test-0123456789abcdef"
		esum := sha256.Sum256([]byte(expired))
		testenv.Must(t, g.dir.AddSCIMAccessToken(ctx, &directory.SCIMAccessToken{Hash: esum[:], CompanyID: g.company.ID,
			Client: cl.ID, Secret: cl.Secrets[0].ID, IssuedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}), "expired token")
		if code := g.scimAt(t, "acme", expired, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("expired access token: %d", code)
		}
		// An expired secret buys nothing (and says why).
		old, oldSecret, err := createSCIMClient(ctx, g.dir, g.company.ID, "old", 1, time.Now().AddDate(-1, 0, -1))
		testenv.Must(t, err, "client with an expired secret")
		r = g.ccToken(t, "acme", ccGrant, old.ClientID, oldSecret)
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
		if !strings.Contains(r.str("error_description"), "expired") {
			t.Fatalf("expired secret: %v", r.body)
		}

		// Rotation: a second secret; both work; removing the first ends it
		// and its access tokens, not the second's.
		sec2, secret2, err := addSCIMClientSecret(ctx, g.dir, g.company.ID, cl.ClientID, 3, time.Now())
		testenv.Must(t, err, "second secret")
		if sec2.ExpiresAt.Before(time.Now().AddDate(3, 0, -1)) {
			t.Fatalf("second secret expires %v", sec2.ExpiresAt)
		}
		tokNew := g.wantAccessToken(t, g.ccToken(t, "acme", ccForm(cl.ClientID, secret2), "", ""))
		g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, cl.ClientID, secret))
		testenv.Must(t, g.dir.RemoveSCIMClientSecret(ctx, g.company.ID, cl.Secrets[0].ID), "remove first secret")
		wantOAuthError(t, g.ccToken(t, "acme", ccGrant, cl.ClientID, secret), http.StatusUnauthorized, "invalid_client")
		if code := g.scimAt(t, "acme", tok, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("token of a removed secret: %d", code)
		}
		if code := g.scimAt(t, "acme", tokNew, "GET", "/Users", ""); code != http.StatusOK {
			t.Fatalf("token of the remaining secret: %d", code)
		}
		// The long-lived token works beside the access tokens.
		long, _, err := mintSCIMToken(ctx, g.dir, g.company.ID, "entra")
		testenv.Must(t, err, "mint")
		if code := g.scimAt(t, "acme", long, "GET", "/Users", ""); code != http.StatusOK {
			t.Fatalf("long-lived token beside client credentials: %d", code)
		}

		// Removing the client ends its tokens and its secrets.
		testenv.Must(t, g.dir.RemoveSCIMClient(ctx, g.company.ID, cl.ClientID), "remove client")
		if code := g.scimAt(t, "acme", tokNew, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("token of a removed client: %d", code)
		}
		wantOAuthError(t, g.ccToken(t, "acme", ccGrant, cl.ClientID, secret2), http.StatusUnauthorized, "invalid_client")
		if code := g.scimAt(t, "beta", btok, "GET", "/Users", ""); code != http.StatusOK {
			t.Fatalf("removing acme's client ended beta's token: %d", code)
		}
		g.wantNoSecretsLogged(t, secret, secret2, bsecret, oldSecret, tok, tok2, tokNew, btok)
	})
}

// TestSCIMTokenEndpointThrottles: past 30 token requests a minute from one
// address every answer is 429, right secret or not, so guessing learns
// nothing; other companies are not affected.
func TestSCIMTokenEndpointThrottles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		cl, secret, err := createSCIMClient(ctx, g.dir, g.company.ID, "", 1, time.Now())
		testenv.Must(t, err, "create client")
		for i := range 30 {
			if r := g.ccToken(t, "acme", ccGrant, cl.ClientID, "guess"); r.status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d %v", i, r.status, r.body)
			}
		}
		r := g.ccToken(t, "acme", ccGrant, cl.ClientID, secret)
		wantOAuthError(t, r, http.StatusTooManyRequests, "slow_down")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		beta := g.createCompany("beta", "Beta ApS", g.idp)
		bcl, bsecret, err := createSCIMClient(ctx, g.dir, beta.ID, "", 1, time.Now())
		testenv.Must(t, err, "beta client")
		g.wantAccessToken(t, g.ccToken(t, "beta", ccGrant, bcl.ClientID, bsecret))
	})
}

// TestSCIMTokenEndpointThrottlesTheRealClient: behind a trusted proxy
// (SSOGATE_TRUST_PROXY_HEADERS) the count is per client address from
// X-Forwarded-For, so a guesser does not lock out Entra behind the same
// proxy.
func TestSCIMTokenEndpointThrottlesTheRealClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, trustXFF)
		cl, secret, err := createSCIMClient(context.Background(), g.dir, g.company.ID, "", 1, time.Now())
		testenv.Must(t, err, "create client")
		from := func(ip, pass string) tokenReply {
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/scim/oauth/token", strings.NewReader(ccGrant.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", ip)
			req.SetBasicAuth(cl.ClientID, pass)
			return doToken(t, req)
		}
		for range 30 {
			from("203.0.113.9", "guess")
		}
		wantOAuthError(t, from("203.0.113.9", secret), http.StatusTooManyRequests, "slow_down")
		g.wantAccessToken(t, from("198.51.100.7", secret))
		if !strings.Contains(g.logText(), "203.0.113.9") {
			t.Fatalf("the refused client's address is not logged")
		}
		// An IPv6 /64 is one client, however many of its hosts take turns;
		// the wait is what is left of the window.
		for i := range 30 {
			from(fmt.Sprintf("2001:db8:9:9::%x", i+1), "guess")
		}
		r := from("2001:db8:9:9:1:2:3:4", secret)
		wantOAuthError(t, r, http.StatusTooManyRequests, "slow_down")
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("429 with Retry-After %q", r.header.Get("Retry-After"))
		}
		g.wantAccessToken(t, from("2001:db8:9:a::1", secret))
	})
}

// TestAdminSCIMClients: the console's provisioning page creates a client
// (secret shown once, with the four values Entra asks for), adds a second
// secret, removes the first and then the client, each behind CSRF and in
// the audit log; the token endpoint follows every step.
func TestAdminSCIMClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		ctx := context.Background()
		idRE := regexp.MustCompile(`id="val-client-id">([^<]+)<`)
		secretRE := regexp.MustCompile(`id="val-client-secret">([^<]+)<`)

		// Without the CSRF token nothing is created.
		if r := a.postForm(t, "/c/acme/admin/provisioning/clients", url.Values{"label": {"x"}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("create without CSRF: %d", r.StatusCode)
		}
		if list, _ := g.dir.ListSCIMClients(ctx, g.company.ID); len(list) != 0 {
			t.Fatalf("a refused form created %+v", list)
		}
		if r := a.post(t, "/provisioning/clients", url.Values{"label": {"Entra"}, "expires": {"4y"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("a 4-year secret: %d", r.StatusCode)
		}

		r := a.post(t, "/provisioning/clients", url.Values{"label": {"Entra prod"}, "expires": {"2y"}})
		page := body(t, r)
		mID, mSecret := idRE.FindStringSubmatch(page), secretRE.FindStringSubmatch(page)
		if r.StatusCode != http.StatusOK || mID == nil || mSecret == nil || !strings.Contains(page, "shown only on this page") ||
			!strings.Contains(page, g.URL+"/c/acme/scim/oauth/token") || !strings.Contains(page, g.URL+"/c/acme/scim/v2") ||
			!strings.Contains(page, "OAuth2 Client Credentials Grant") {
			t.Fatalf("create client: %d\n%s", r.StatusCode, page)
		}
		id, secret := html.UnescapeString(mID[1]), html.UnescapeString(mSecret[1])
		cl, err := g.dir.GetSCIMClient(ctx, g.company.ID, id)
		testenv.Must(t, err, "stored client")
		if cl.Label != "Entra prod" || len(cl.Secrets) != 1 || cl.Secrets[0].ExpiresAt.Before(time.Now().AddDate(2, 0, -1)) ||
			cl.Secrets[0].ExpiresAt.After(time.Now().AddDate(2, 0, 1)) {
			t.Fatalf("stored client %+v", cl)
		}
		tok := g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, id, secret))
		// The page lists the client, never the secret.
		_, list := a.get(t, "/admin/provisioning")
		if !strings.Contains(list, id) || strings.Contains(list, secret) || !strings.Contains(list, "Entra prod") || !strings.Contains(list, "Token Endpoint") {
			t.Fatalf("provisioning page:\n%s", list)
		}

		// Rotation: a second secret, then the first one removed.
		r = a.post(t, "/provisioning/clients/"+id+"/secrets", url.Values{"expires": {"1y"}})
		page = body(t, r)
		mSecret = secretRE.FindStringSubmatch(page)
		if r.StatusCode != http.StatusOK || mSecret == nil || !strings.Contains(page, "other secrets stay valid") {
			t.Fatalf("add secret: %d\n%s", r.StatusCode, page)
		}
		secret2 := html.UnescapeString(mSecret[1])
		tok2 := g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, id, secret2))
		g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, id, secret))
		expectDone(t, a.post(t, fmt.Sprintf("/provisioning/clients/%s/secrets/%d/remove", id, cl.Secrets[0].ID), nil), "secret-removed")
		wantOAuthError(t, g.ccToken(t, "acme", ccGrant, id, secret), http.StatusUnauthorized, "invalid_client")
		if code := g.scimAt(t, "acme", tok, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("token of the removed secret: %d", code)
		}
		if code := g.scimAt(t, "acme", tok2, "GET", "/Users", ""); code != http.StatusOK {
			t.Fatalf("token of the remaining secret: %d", code)
		}
		// A secret near its end is flagged; a client without a valid one too.
		soon, _, err := createSCIMClient(ctx, g.dir, g.company.ID, "soon", 1, time.Now().AddDate(-1, 0, 10))
		testenv.Must(t, err, "client expiring soon")
		dead, _, err := createSCIMClient(ctx, g.dir, g.company.ID, "dead", 1, time.Now().AddDate(-1, 0, -1))
		testenv.Must(t, err, "client with only an expired secret")
		_, list = a.get(t, "/admin/provisioning")
		if !regexp.MustCompile(`expires in (9|10) days`).MatchString(list) || !strings.Contains(list, dead.ClientID+"</code> has no valid secret") ||
			strings.Contains(list, soon.ClientID+"</code> has no valid secret") {
			t.Fatalf("expiry warnings:\n%s", list)
		}
		// Another company's client cannot be touched through this console.
		beta := g.createCompany("beta", "Beta ApS", g.idp)
		bcl, bsecret, err := createSCIMClient(ctx, g.dir, beta.ID, "", 1, time.Now())
		testenv.Must(t, err, "beta client")
		if r := a.post(t, "/provisioning/clients/"+bcl.ClientID+"/remove", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("beta's client through acme's console: %d", r.StatusCode)
		}
		if r := a.post(t, fmt.Sprintf("/provisioning/clients/%s/secrets/%d/remove", id, bcl.Secrets[0].ID), nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("beta's secret through acme's client: %d", r.StatusCode)
		}
		g.wantAccessToken(t, g.ccToken(t, "beta", ccGrant, bcl.ClientID, bsecret))

		expectDone(t, a.post(t, "/provisioning/clients/"+id+"/remove", nil), "client-removed")
		if code := g.scimAt(t, "acme", tok2, "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("token of the removed client: %d", code)
		}
		wantOAuthError(t, g.ccToken(t, "acme", ccGrant, id, secret2), http.StatusUnauthorized, "invalid_client")
		audit := g.audit(t, g.company)
		for _, action := range []string{"scim.client.add", "scim.client.secret.add", "scim.client.secret.remove", "scim.client.remove"} {
			if !hasAudit(audit, "admin:"+adminEmail, action, id) {
				t.Errorf("no audit entry %s for %s: %+v", action, id, audit)
			}
		}
		for _, e := range audit {
			if strings.Contains(e.Detail, secret) || strings.Contains(e.Detail, secret2) {
				t.Fatal("a secret reached the audit log")
			}
		}
		g.wantNoSecretsLogged(t, secret, secret2, tok, tok2)
	})
}

// TestSCIMTokenEndpointDuringAnOutage: with SQLite's write lock held
// elsewhere past the statement deadline, issuing a token (a write) is an
// outage — 503 temporarily_unavailable with Retry-After, not a refusal of
// the credentials — while an access token already issued still works for
// SCIM reads; once the lock is gone, tokens are issued again.
func TestSCIMTokenEndpointDuringAnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	dir, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{StatementTimeout: 300 * time.Millisecond})
	testenv.Must(t, err, "open sqlite")
	t.Cleanup(func() { dir.Close() })
	g := newGWOn(t, dir, memstore.New(memstore.Options{}), nil)
	cl, secret, err := createSCIMClient(ctx, g.dir, g.company.ID, "", 1, time.Now())
	testenv.Must(t, err, "create client")
	tok := g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, cl.ClientID, secret))

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	testenv.Must(t, err, "open second connection")
	defer other.Close()
	conn, err := other.Conn(ctx)
	testenv.Must(t, err, "conn")
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	testenv.Must(t, err, "take the write lock")

	r := g.ccToken(t, "acme", ccGrant, cl.ClientID, secret)
	wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", r.header)
	}
	if code := g.scimAt(t, "acme", tok, "GET", "/Users?count=1", ""); code != http.StatusOK {
		t.Fatalf("SCIM read with an issued access token during the lock: %d", code)
	}

	_, err = conn.ExecContext(ctx, "ROLLBACK")
	testenv.Must(t, err, "release the write lock")
	g.wantAccessToken(t, g.ccToken(t, "acme", ccGrant, cl.ClientID, secret))
}

package test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// The mobile app of these tests, registered as an admin would with
// `ssogate oauth client add acme --client-id … --redirect-uri …`.
const (
	appClientID = "acme-mobile"
	appRedirect = "com.example.app:/oauth2redirect"
	appLink     = "https://app.acme.example/oauth/callback"
)

func (g *gw) addClient(co *directory.Company, clientID string, uris ...string) {
	g.t.Helper()
	testenv.Must(g.t, g.dir.AddOAuthClient(context.Background(), &directory.OAuthClient{CompanyID: co.ID, ClientID: clientID,
		Name: "Acme app", RedirectURIs: uris, CreatedAt: time.Now()}), "add oauth client")
}

// newMobileGW is a gateway with the app registered at acme.
func newMobileGW(t *testing.T, b backend, opts ...gwOpt) *gw {
	g := newGW(t, b, opts...)
	g.addClient(g.company, appClientID, appRedirect, appLink)
	return g
}

// pkce is one PKCE pair as the app makes it (RFC 7636 §4.1, §4.2).
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := session.NewSecret() + "-._~" + session.NewSecret()[:10]
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizePath is the URL the app opens in the system browser.
func authorizePath(slug string, p pkce, state string, extra ...string) string {
	v := url.Values{"response_type": {"code"}, "client_id": {appClientID}, "redirect_uri": {appRedirect},
		"state": {state}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
		} else {
			v.Set(extra[i], extra[i+1])
		}
	}
	return "/c/" + slug + "/oauth/authorize?" + v.Encode()
}

// get fetches a gateway path without following redirects. On the
// authorize endpoint it clicks "Continue" on the consent page that a
// custom-scheme redirect shows (RFC 8252 §8.6), as the employee would;
// TestOAuthConsentForCustomSchemes tests that page itself.
func (g *gw) get(t *testing.T, br *browser, path string) *http.Response {
	t.Helper()
	resp, err := br.Get(g.URL + path)
	testenv.Must(t, err, "GET %s", path)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode == http.StatusOK && strings.Contains(path, "/oauth/authorize") {
		page := body(t, resp)
		nonce, action := consentForm(t, page)
		return g.confirm(t, br, action, nonce, "allow")
	}
	return resp
}

var consentRE = regexp.MustCompile(`<form method="post" action="([^"]+)">\s*<input type="hidden" name="consent" value="([^"]+)">`)

// consentForm reads the consent page's form.
func consentForm(t *testing.T, page string) (nonce, action string) {
	t.Helper()
	m := consentRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("not a consent page:\n%s", page)
	}
	return m[2], html.UnescapeString(m[1])
}

// confirm posts the consent form with a decision.
func (g *gw) confirm(t *testing.T, br *browser, action, nonce, decision string) *http.Response {
	t.Helper()
	resp, err := br.PostForm(g.URL+action, url.Values{"consent": {nonce}, "decision": {decision}})
	testenv.Must(t, err, "POST consent")
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// appRedirectParams checks that resp sends the browser to the app and
// returns the parameters it carries.
func appRedirectParams(t *testing.T, resp *http.Response, wantBase string) url.Values {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, wantBase+"?") {
		t.Fatalf("want a 302 to %s?…, got %d %q", wantBase, resp.StatusCode, loc)
	}
	v, err := url.ParseQuery(strings.TrimPrefix(loc, wantBase+"?"))
	testenv.Must(t, err, "parse app redirect")
	return v
}

// signedInBrowser is a browser holding acme's session for Maja (IdP-initiated
// login, no round trip through the authorize endpoint).
func (g *gw) signedInBrowser(t *testing.T, nameID string) *browser {
	t.Helper()
	br := newBrowser()
	if r := g.postACS(br, "acme", g.signed(g.assertion("acme", nameID)), ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", r.StatusCode, g.logText())
	}
	return br
}

// codeFor runs authorize in a signed-in browser and returns the code.
func (g *gw) codeFor(t *testing.T, br *browser, slug string, p pkce) string {
	t.Helper()
	v := appRedirectParams(t, g.get(t, br, authorizePath(slug, p, "st-1")), appRedirect)
	if v.Get("state") != "st-1" || v.Get("code") == "" {
		t.Fatalf("app redirect params %v", v)
	}
	return v.Get("code")
}

type tokenReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r tokenReply) str(k string) string { s, _ := r.body[k].(string); return s }

// postToken posts a form to a company's token (or other oauth) endpoint
// like the app does, from the given client IP (X-Forwarded-For, honoured
// only by gateways made with trustXFF).
func (g *gw) postToken(t *testing.T, slug, endpoint string, form url.Values, hdr ...string) tokenReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+"/c/"+slug+"/oauth/"+endpoint, strings.NewReader(form.Encode()))
	testenv.Must(t, err, "new request")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return doToken(t, req)
}

func doToken(t *testing.T, req *http.Request) tokenReply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err, "POST %s", req.URL.Path)
	defer resp.Body.Close()
	r := tokenReply{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&r.body)
	return r
}

func (g *gw) redeem(t *testing.T, slug, code string, p pkce) tokenReply {
	t.Helper()
	return g.postToken(t, slug, "token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {p.verifier}, "redirect_uri": {appRedirect}, "client_id": {appClientID}})
}

func (g *gw) refresh(t *testing.T, slug, rt string) tokenReply {
	t.Helper()
	return g.postToken(t, slug, "token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {appClientID}})
}

// wantTokens checks a successful RFC 6749 §5.1 answer.
func (g *gw) wantTokens(t *testing.T, r tokenReply) (access, refresh string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token request: %d %v\n%s", r.status, r.body, g.logText())
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("token answer headers: %v", r.header)
	}
	if r.str("token_type") != "Bearer" || len(r.str("access_token")) < 43 || len(r.str("refresh_token")) < 43 {
		t.Fatalf("token answer %v", r.body)
	}
	if exp, _ := r.body["expires_in"].(float64); exp != g.cfg.OAuthAccessTTL.Seconds() {
		t.Fatalf("expires_in %v, want %v", r.body["expires_in"], g.cfg.OAuthAccessTTL.Seconds())
	}
	return r.str("access_token"), r.str("refresh_token")
}

// wantOAuthError checks an RFC 6749 §5.2 error.
func wantOAuthError(t *testing.T, r tokenReply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code || r.str("error_description") == "" {
		t.Fatalf("want %d %s, got %d %v", status, code, r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error answer without Cache-Control: no-store: %v", r.header)
	}
}

// bearerMe calls /api/me with a bearer token.
func (g *gw) bearerMe(t *testing.T, slug, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/c/"+slug+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err, "GET /api/me")
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func (g *gw) wantBearer(t *testing.T, slug, token string, wantStatus int) {
	t.Helper()
	code, body := g.bearerMe(t, slug, token)
	if code != wantStatus {
		t.Fatalf("bearer /c/%s/api/me = %d %v, want %d", slug, code, body, wantStatus)
	}
	if wantStatus == http.StatusOK && body["userName"] != "maja.holm@acme.example" {
		t.Fatalf("bearer /api/me answered %v", body)
	}
}

func (g *gw) wantNoSecretsLogged(t *testing.T, secrets ...string) {
	t.Helper()
	logs := g.logText()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Fatalf("a code, verifier or token reached the log")
		}
	}
}

// TestOAuthMobileSignInThroughEntra: a new system browser goes through
// Entra and lands in the app with a code; the code buys a token that works
// on /api/me.
func TestOAuthMobileSignInThroughEntra(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		p := newPKCE()
		path := authorizePath("acme", p, "xyz-42")
		br := newBrowser()
		first := g.get(t, br, path)
		if first.StatusCode != http.StatusFound || first.Header.Get("Location") != "/c/acme/login?return_to="+url.QueryEscape(path) {
			t.Fatalf("authorize without a session: %d %q", first.StatusCode, first.Header.Get("Location"))
		}
		acs := g.spLogin(t, br, path, 0)
		if acs.StatusCode != http.StatusSeeOther || acs.Header.Get("Location") != path {
			t.Fatalf("ACS must return to the authorize request: %d %q\n%s", acs.StatusCode, acs.Header.Get("Location"), g.logText())
		}
		v := appRedirectParams(t, g.get(t, br, path), appRedirect)
		if v.Get("state") != "xyz-42" || len(v.Get("code")) != 43 || v.Get("error") != "" {
			t.Fatalf("app redirect %v", v)
		}
		access, refresh := g.wantTokens(t, g.redeem(t, "acme", v.Get("code"), p))
		g.wantBearer(t, "acme", access, http.StatusOK)
		// The token is a bearer token, not a cookie: as a session cookie it is worthless.
		fake := newBrowser()
		u, _ := url.Parse(g.URL + "/")
		fake.jar.SetCookies(u, []*http.Cookie{{Name: g.sessionCookie(br).Name, Value: access, Path: "/"}})
		if code, _ := g.me(fake, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("access token accepted as a session cookie: %d", code)
		}
		// The store holds only hashes.
		s, err := g.sess.Get(context.Background(), session.Key(access))
		testenv.Must(t, err, "token record")
		if s.Kind != session.KindBearer || s.ClientID != appClientID || s.Family == "" || s.CompanyID != g.company.ID {
			t.Fatalf("token record %+v", s)
		}
		g.wantNoSecretsLogged(t, v.Get("code"), p.verifier, access, refresh)
	})
}

// TestOAuthExistingSessionSkipsEntra: a browser already signed in to the
// company is sent straight back to the app.
func TestOAuthExistingSessionSkipsEntra(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		resp := g.get(t, br, authorizePath("acme", p, "s1"))
		v := appRedirectParams(t, resp, appRedirect) // no detour through /login or Entra
		access, _ := g.wantTokens(t, g.redeem(t, "acme", v.Get("code"), p))
		g.wantBearer(t, "acme", access, http.StatusOK)

		// The https universal link works the same, and the state survives
		// any printable characters.
		p2 := newPKCE()
		state := `a b&c=d/?~!"#%`
		resp = g.get(t, br, authorizePath("acme", p2, state, "redirect_uri", appLink))
		v = appRedirectParams(t, resp, appLink)
		if v.Get("state") != state {
			t.Fatalf("state %q came back as %q", state, v.Get("state"))
		}
		r := g.postToken(t, "acme", "token", url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")},
			"code_verifier": {p2.verifier}, "redirect_uri": {appLink}, "client_id": {appClientID}})
		g.wantTokens(t, r)
	})
}

// TestOAuthCodeReplayRevokesTokens: a second use of a code fails and kills
// every token the first use issued (RFC 6749 §4.1.2).
func TestOAuthCodeReplayRevokesTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		code := g.codeFor(t, br, "acme", p)
		access, refresh := g.wantTokens(t, g.redeem(t, "acme", code, p))
		g.wantBearer(t, "acme", access, http.StatusOK)
		wantOAuthError(t, g.redeem(t, "acme", code, p), http.StatusBadRequest, "invalid_grant")
		g.wantBearer(t, "acme", access, http.StatusUnauthorized)
		wantOAuthError(t, g.refresh(t, "acme", refresh), http.StatusBadRequest, "invalid_grant")
		if !strings.Contains(g.logText(), "oauth tokens revoked") {
			t.Fatal("the reuse was not logged")
		}
		// The browser session is not part of the family.
		if code, _ := g.me(br, "acme"); code != http.StatusOK {
			t.Fatalf("browser session after code reuse: %d", code)
		}
	})
}

// TestOAuthCodeChecks: a wrong verifier, redirect URI or client spends the
// code and gives nothing.
func TestOAuthCodeChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		g.addClient(g.company, "other-app", "com.example.other:/cb")
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		base := func(code string, p pkce) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {p.verifier},
				"redirect_uri": {appRedirect}, "client_id": {appClientID}}
		}
		for _, tc := range []struct {
			name string
			edit func(v url.Values, p pkce)
		}{
			{"wrong verifier", func(v url.Values, _ pkce) { v.Set("code_verifier", newPKCE().verifier) }},
			{"verifier is the challenge", func(v url.Values, p pkce) { v.Set("code_verifier", p.challenge) }},
			{"other registered redirect", func(v url.Values, _ pkce) { v.Set("redirect_uri", appLink) }},
			{"other client", func(v url.Values, _ pkce) { v.Set("client_id", "other-app") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := newPKCE()
				code := g.codeFor(t, br, "acme", p)
				v := base(code, p)
				tc.edit(v, p)
				wantOAuthError(t, g.postToken(t, "acme", "token", v), http.StatusBadRequest, "invalid_grant")
				// The code is spent: the right request fails now.
				wantOAuthError(t, g.redeem(t, "acme", code, p), http.StatusBadRequest, "invalid_grant")
			})
		}
	})
}

// TestOAuthAuthorizeRefusals: a bad client or redirect URI is an error page
// and never a redirect; other mistakes go back to the app as RFC 6749
// §4.1.2.1 errors with the state.
func TestOAuthAuthorizeRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		beta := g.createCompany("beta", "Beta ApS", g.idp)
		g.addClient(beta, "beta-app", "com.example.beta:/cb")
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		pages := []struct {
			name, path string
			status     int
		}{
			{"unregistered redirect", authorizePath("acme", p, "s", "redirect_uri", "https://evil.example/cb"), 400},
			{"prefix of a registered redirect", authorizePath("acme", p, "s", "redirect_uri", appRedirect+"/../x"), 400},
			{"redirect with extra query", authorizePath("acme", p, "s", "redirect_uri", appRedirect+"?x=1"), 400},
			{"redirect in another case", authorizePath("acme", p, "s", "redirect_uri", strings.ToUpper(appRedirect)), 400},
			{"no redirect", authorizePath("acme", p, "s", "redirect_uri", ""), 400},
			{"unregistered client", authorizePath("acme", p, "s", "client_id", "evil-app"), 400},
			{"another company's client", authorizePath("acme", p, "s", "client_id", "beta-app", "redirect_uri", "com.example.beta:/cb"), 400},
			{"no client", authorizePath("acme", p, "s", "client_id", ""), 400},
			{"client with a NUL", authorizePath("acme", p, "s", "client_id", "acme\x00mobile"), 400},
			{"repeated redirect", authorizePath("acme", p, "s") + "&redirect_uri=" + url.QueryEscape("https://evil.example/"), 400},
			{"malformed query", authorizePath("acme", p, "s") + "&%zz", 400},
			{"unknown company", authorizePath("nosuch", p, "s"), 404},
		}
		for _, tc := range pages {
			t.Run(tc.name, func(t *testing.T) {
				resp := g.get(t, br, tc.path)
				page := body(t, resp)
				if resp.StatusCode != tc.status || resp.Header.Get("Location") != "" {
					t.Fatalf("want a %d page and no redirect, got %d Location=%q", tc.status, resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(page, "evil.example") {
					t.Fatalf("error page: %s", page)
				}
			})
		}
		redirects := []struct {
			name, path, err, state string
		}{
			{"plain method", authorizePath("acme", pkce{challenge: p.verifier}, "s2", "code_challenge_method", "plain"), "invalid_request", "s2"},
			{"no method", authorizePath("acme", p, "s3", "code_challenge_method", ""), "invalid_request", "s3"},
			{"no challenge", authorizePath("acme", p, "s4", "code_challenge", ""), "invalid_request", "s4"},
			{"short challenge", authorizePath("acme", p, "s5", "code_challenge", "abc"), "invalid_request", "s5"},
			{"challenge with bad characters", authorizePath("acme", p, "s6", "code_challenge", strings.Repeat("+", 43)), "invalid_request", "s6"},
			{"implicit flow", authorizePath("acme", p, "s7", "response_type", "token"), "unsupported_response_type", "s7"},
			{"no response type", authorizePath("acme", p, "s8", "response_type", ""), "invalid_request", "s8"},
			{"no state", authorizePath("acme", p, "", "state", ""), "invalid_request", ""},
			{"state with a control character", authorizePath("acme", p, "a\nb"), "invalid_request", ""},
			{"repeated challenge", authorizePath("acme", p, "s9") + "&code_challenge=" + p.challenge, "invalid_request", "s9"},
			{"too long", authorizePath("acme", p, "s10", "scope", strings.Repeat("x", 2000)), "invalid_request", "s10"},
		}
		for _, tc := range redirects {
			t.Run(tc.name, func(t *testing.T) {
				v := appRedirectParams(t, g.get(t, br, tc.path), appRedirect)
				if v.Get("error") != tc.err || v.Get("state") != tc.state || v.Get("code") != "" || v.Get("error_description") == "" {
					t.Fatalf("want error=%s state=%q, got %v", tc.err, tc.state, v)
				}
			})
		}
	})
}

// TestOAuthExpiredCode: a code older than SSOGATE_OAUTH_CODE_TTL is refused.
func TestOAuthExpiredCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b, func(c *configT) { c.OAuthCodeTTL = time.Second })
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		code := g.codeFor(t, br, "acme", p)
		time.Sleep(1100 * time.Millisecond)
		wantOAuthError(t, g.redeem(t, "acme", code, p), http.StatusBadRequest, "invalid_grant")
	})
}

// TestOAuthCompaniesAreSeparate: a code or token of company A is useless at
// company B, even for a client registered under the same id at both.
func TestOAuthCompaniesAreSeparate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		beta := g.createCompany("beta", "Beta ApS", g.idp)
		g.addClient(beta, appClientID, appRedirect)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		code := g.codeFor(t, br, "acme", p)
		wantOAuthError(t, g.redeem(t, "beta", code, p), http.StatusBadRequest, "invalid_grant")
		// B's refusal did not spend A's code.
		access, refresh := g.wantTokens(t, g.redeem(t, "acme", code, p))
		g.wantBearer(t, "beta", access, http.StatusUnauthorized)
		wantOAuthError(t, g.refresh(t, "beta", refresh), http.StatusBadRequest, "invalid_grant")
		g.wantBearer(t, "acme", access, http.StatusOK)
		// A browser signed in at acme gets no code at beta without signing in there.
		resp := g.get(t, br, authorizePath("beta", p, "s"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/c/beta/login?") {
			t.Fatalf("authorize at beta with acme's session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestOAuthTokensDieWithTheEmployee: deactivation (SCIM's path) revokes
// access and refresh tokens at once, and an admin's revocation does too.
func TestOAuthTokensDieWithTheEmployee(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		ctx := context.Background()
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		access, refresh := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		e, err := g.dir.FindEmployeeByUserName(ctx, g.company.ID, "maja.holm@acme.example")
		testenv.Must(t, err, "find")
		list, err := g.sess.ListEmployee(ctx, g.company.ID, e.ID)
		testenv.Must(t, err, "list")
		kinds := map[session.Kind]int{}
		for _, s := range list {
			kinds[s.Kind]++
		}
		if kinds[session.KindBearer] != 1 || kinds[session.KindRefresh] != 1 || kinds[session.KindBrowser] != 1 {
			t.Fatalf("the employee's sessions: %v", kinds)
		}
		// Deactivate as SCIM does: the row, then every session.
		e.Active = false
		testenv.Must(t, g.dir.UpdateEmployee(ctx, e), "deactivate")
		n, err := g.sess.RevokeEmployee(ctx, g.company.ID, e.ID)
		testenv.Must(t, err, "revoke")
		if n != 3 {
			t.Fatalf("RevokeEmployee deleted %d sessions, want 3", n)
		}
		g.wantBearer(t, "acme", access, http.StatusUnauthorized)
		wantOAuthError(t, g.refresh(t, "acme", refresh), http.StatusBadRequest, "invalid_grant")

		// Reactivated: old tokens stay dead; a new sign-in works; an admin's
		// revocation kills that one too.
		e.Active = true
		testenv.Must(t, g.dir.UpdateEmployee(ctx, e), "reactivate")
		g.wantBearer(t, "acme", access, http.StatusUnauthorized)
		br = g.signedInBrowser(t, "maja.holm@acme.example")
		p = newPKCE()
		access, _ = g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		g.wantBearer(t, "acme", access, http.StatusOK)
		_, err = g.sess.RevokeEmployee(ctx, g.company.ID, e.ID)
		testenv.Must(t, err, "admin revoke")
		g.wantBearer(t, "acme", access, http.StatusUnauthorized)
	})
}

// TestOAuthInactiveEmployeeGetsNoCode: a code is never issued to a
// deactivated employee, even from a session that survived somehow, nor
// redeemed for one deactivated after the code was issued.
func TestOAuthInactiveEmployeeGetsNoCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		ctx := context.Background()
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		code := g.codeFor(t, br, "acme", p)
		e, err := g.dir.FindEmployeeByUserName(ctx, g.company.ID, "maja.holm@acme.example")
		testenv.Must(t, err, "find")
		e.Active = false
		testenv.Must(t, g.dir.UpdateEmployee(ctx, e), "deactivate") // no RevokeEmployee: the row alone must do
		wantOAuthError(t, g.redeem(t, "acme", code, p), http.StatusBadRequest, "invalid_grant")
		list, err := g.sess.ListEmployee(ctx, g.company.ID, e.ID)
		testenv.Must(t, err, "list")
		for _, s := range list {
			if s.Kind == session.KindBearer || s.Kind == session.KindRefresh {
				t.Fatalf("a token was left behind for an inactive employee: %+v", s)
			}
		}
		resp := g.get(t, br, authorizePath("acme", p, "s"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/c/acme/login?") {
			t.Fatalf("authorize for an inactive employee: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestOAuthRefreshRotation: every refresh gives a new pair and kills the
// old refresh token; presenting an old one revokes the whole sign-in.
func TestOAuthRefreshRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		a1, r1 := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		a2, r2 := g.wantTokens(t, g.refresh(t, "acme", r1))
		if a2 == a1 || r2 == r1 {
			t.Fatal("refresh must issue new tokens")
		}
		g.wantBearer(t, "acme", a2, http.StatusOK)
		s1, err := g.sess.Get(context.Background(), session.Key(a1))
		testenv.Must(t, err, "first access token")
		s2, err := g.sess.Get(context.Background(), session.Key(r2))
		testenv.Must(t, err, "second refresh token")
		if s2.Family != s1.Family || s2.Kind != session.KindRefresh {
			t.Fatalf("rotation left the family: %+v vs %+v", s2, s1)
		}
		// Another client cannot use it.
		g.addClient(g.company, "other-app", "com.example.other:/cb")
		r := g.postToken(t, "acme", "token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2}, "client_id": {"other-app"}})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		// An access token is not a refresh token.
		wantOAuthError(t, g.refresh(t, "acme", a2), http.StatusBadRequest, "invalid_grant")
		g.wantBearer(t, "acme", a2, http.StatusOK)
		// The stolen first refresh token comes back: everything dies.
		wantOAuthError(t, g.refresh(t, "acme", r1), http.StatusBadRequest, "invalid_grant")
		g.wantBearer(t, "acme", a1, http.StatusUnauthorized)
		g.wantBearer(t, "acme", a2, http.StatusUnauthorized)
		wantOAuthError(t, g.refresh(t, "acme", r2), http.StatusBadRequest, "invalid_grant")
		g.wantNoSecretsLogged(t, a1, a2, r1, r2, p.verifier)
	})
}

// TestOAuthRefreshRace: of concurrent refreshes with one token, at most one
// succeeds, and no token issued by any of them survives a detected reuse.
func TestOAuthRefreshRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		_, r1 := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		const n = 8
		out := make(chan tokenReply, n)
		for range n {
			go func() {
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/c/acme/oauth/token", strings.NewReader(url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {r1}, "client_id": {appClientID}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := http.DefaultClient.Do(req)
				r := tokenReply{}
				if err == nil {
					r.status = resp.StatusCode
					_ = json.NewDecoder(resp.Body).Decode(&r.body)
					resp.Body.Close()
				}
				out <- r
			}()
		}
		var ok []tokenReply
		for range n {
			r := <-out
			switch r.status {
			case http.StatusOK:
				ok = append(ok, r)
			case http.StatusBadRequest:
			default:
				t.Errorf("concurrent refresh: %d %v\n%s", r.status, r.body, g.logText())
			}
		}
		if len(ok) > 1 {
			t.Fatalf("%d concurrent refreshes succeeded", len(ok))
		}
		// The reuse was detected, so whatever the winner got is dead.
		for _, r := range ok {
			g.wantBearer(t, "acme", r.str("access_token"), http.StatusUnauthorized)
		}
	})
}

// TestOAuthRevokeEndpoint: the app's sign-out (RFC 7009).
func TestOAuthRevokeEndpoint(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		a1, r1 := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		p = newPKCE()
		a2, _ := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		// An unknown token: 200, nothing happens.
		if r := g.postToken(t, "acme", "revoke", url.Values{"token": {session.NewSecret()}, "client_id": {appClientID}}); r.status != 200 {
			t.Fatalf("revoke unknown: %d %v", r.status, r.body)
		}
		if r := g.postToken(t, "acme", "revoke", url.Values{"token": {r1}, "client_id": {appClientID}}); r.status != 200 {
			t.Fatalf("revoke: %d %v", r.status, r.body)
		}
		g.wantBearer(t, "acme", a1, http.StatusUnauthorized)
		g.wantBearer(t, "acme", a2, http.StatusOK) // another sign-in of the same app
		if r := g.postToken(t, "acme", "revoke", url.Values{"token": {a2}, "client_id": {"nope"}}); r.status != 401 {
			t.Fatalf("revoke by an unknown client: %d", r.status)
		}
		g.wantBearer(t, "acme", a2, http.StatusOK)
		if r := g.postToken(t, "acme", "revoke", url.Values{"token": {a2}, "client_id": {appClientID}, "token_type_hint": {"access_token"}}); r.status != 200 {
			t.Fatalf("revoke access token: %d", r.status)
		}
		g.wantBearer(t, "acme", a2, http.StatusUnauthorized)
	})
}

// TestOAuthCodeWorksOnAnotherInstance: the token request may land on any
// instance sharing the session store.
func TestOAuthCodeWorksOnAnotherInstance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if !b.share {
			t.Skip("the in-process store is per instance by design")
		}
		g1 := newMobileGW(t, b)
		g2 := newGWOn(t, g1.dir, g1.sess, g1)
		br := g1.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		code := g1.codeFor(t, br, "acme", p)
		access, refresh := g2.wantTokens(t, g2.redeem(t, "acme", code, p))
		g1.wantBearer(t, "acme", access, http.StatusOK)
		wantOAuthError(t, g1.redeem(t, "acme", code, p), http.StatusBadRequest, "invalid_grant")
		g2.wantBearer(t, "acme", access, http.StatusUnauthorized)
		wantOAuthError(t, g1.refresh(t, "acme", refresh), http.StatusBadRequest, "invalid_grant")
	})
}

func trustXFF(c *configT) { c.TrustProxyHeaders = true }

// TestOAuthTokenHostileInputs: whatever arrives, the answer is an RFC 6749
// error, never a 5xx. Each case comes from its own IP, so throttling does
// not mask the answer.
func TestOAuthTokenHostileInputs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b, trustXFF)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		good := func() url.Values {
			p := newPKCE()
			return url.Values{"grant_type": {"authorization_code"}, "code": {g.codeFor(t, br, "acme", p)},
				"code_verifier": {p.verifier}, "redirect_uri": {appRedirect}, "client_id": {appClientID}}
		}
		with := func(k, v string) func(url.Values) { return func(f url.Values) { f.Set(k, v) } }
		without := func(k string) func(url.Values) { return func(f url.Values) { f.Del(k) } }
		type tc struct {
			name   string
			edit   func(url.Values)
			raw    string // body instead of the form
			ctype  string
			hdr    []string
			slug   string
			status int
			err    string
		}
		cases := []tc{
			{name: "json body", ctype: "application/json", raw: `{"grant_type":"authorization_code"}`, status: 400, err: "invalid_request"},
			{name: "no content type", ctype: "-", status: 400, err: "invalid_request"},
			{name: "multipart", ctype: "multipart/form-data; boundary=x", raw: "--x--", status: 400, err: "invalid_request"},
			{name: "charset is fine but body bad", ctype: "application/x-www-form-urlencoded; charset=UTF-8", raw: "%zz", status: 400, err: "invalid_request"},
			{name: "body over 64 KiB", raw: "grant_type=authorization_code&code=" + strings.Repeat("A", 70<<10), status: 400, err: "invalid_request"},
			{name: "repeated code", raw: "", edit: func(f url.Values) { f.Add("code", session.NewSecret()) }, status: 400, err: "invalid_request"},
			{name: "no grant type", edit: without("grant_type"), status: 400, err: "invalid_request"},
			{name: "password grant", edit: with("grant_type", "password"), status: 400, err: "unsupported_grant_type"},
			{name: "client credentials", edit: with("grant_type", "client_credentials"), status: 400, err: "unsupported_grant_type"},
			{name: "no client", edit: without("client_id"), status: 401, err: "invalid_client"},
			{name: "unknown client", edit: with("client_id", "evil"), status: 401, err: "invalid_client"},
			{name: "client with NUL", edit: with("client_id", "acme\x00mobile"), status: 401, err: "invalid_client"},
			{name: "client in bad UTF-8", edit: with("client_id", "\xff\xfe"), status: 401, err: "invalid_client"},
			{name: "client secret", edit: with("client_secret", "s3cret"), status: 401, err: "invalid_client"},
			{name: "basic with password", hdr: []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(appClientID+":pw"))}, status: 401, err: "invalid_client"},
			{name: "basic for another client", hdr: []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"))}, status: 400, err: "invalid_request"},
			{name: "bearer auth", hdr: []string{"Authorization", "Bearer abc"}, status: 401, err: "invalid_client"},
			{name: "no code", edit: without("code"), status: 400, err: "invalid_request"},
			{name: "no verifier", edit: without("code_verifier"), status: 400, err: "invalid_request"},
			{name: "no redirect", edit: without("redirect_uri"), status: 400, err: "invalid_request"},
			{name: "short verifier", edit: with("code_verifier", strings.Repeat("a", 42)), status: 400, err: "invalid_request"},
			{name: "long verifier", edit: with("code_verifier", strings.Repeat("a", 129)), status: 400, err: "invalid_request"},
			{name: "verifier with NUL", edit: with("code_verifier", strings.Repeat("a", 43)+"\x00"), status: 400, err: "invalid_request"},
			{name: "code with NUL", edit: with("code", strings.Repeat("a", 42)+"\x00"), status: 400, err: "invalid_grant"},
			{name: "code in unicode", edit: with("code", strings.Repeat("é", 30)), status: 400, err: "invalid_grant"},
			{name: "huge code", edit: with("code", strings.Repeat("A", 60000)), status: 400, err: "invalid_grant"},
			{name: "made-up code", edit: with("code", session.NewSecret()), status: 400, err: "invalid_grant"},
			{name: "store key as code", edit: with("code", session.Key("x")), status: 400, err: "invalid_grant"},
			{name: "refresh garbage", edit: func(f url.Values) { f.Set("grant_type", "refresh_token"); f.Set("refresh_token", "' OR 1=1 --") }, status: 400, err: "invalid_grant"},
			{name: "refresh missing", edit: with("grant_type", "refresh_token"), status: 400, err: "invalid_request"},
			{name: "unknown company", slug: "nosuch", status: 404, err: "invalid_request"},
			{name: "bad company slug", slug: "..%2F..", status: 404, err: ""},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := good()
				if c.edit != nil {
					c.edit(f)
				}
				raw := f.Encode()
				if c.raw != "" {
					raw = c.raw
				}
				slug := "acme"
				if c.slug != "" {
					slug = c.slug
				}
				req, err := http.NewRequest(http.MethodPost, g.URL+"/c/"+slug+"/oauth/token", strings.NewReader(raw))
				testenv.Must(t, err, "request")
				switch c.ctype {
				case "":
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				case "-":
				default:
					req.Header.Set("Content-Type", c.ctype)
				}
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
				for j := 0; j+1 < len(c.hdr); j += 2 {
					req.Header.Set(c.hdr[j], c.hdr[j+1])
				}
				r := doToken(t, req)
				if r.status >= 500 || r.status != c.status || (c.err != "" && r.str("error") != c.err) {
					t.Fatalf("want %d %s, got %d %v", c.status, c.err, r.status, r.body)
				}
			})
		}
		// Methods other than POST: 405, not a 5xx.
		resp, err := http.Get(g.URL + "/c/acme/oauth/token?grant_type=authorization_code")
		testenv.Must(t, err, "GET token")
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET /oauth/token: %d", resp.StatusCode)
		}
		if strings.Contains(g.logText(), "level=ERROR") {
			t.Fatalf("hostile input was logged as a server error:\n%s", g.logText())
		}
	})
}

// TestOAuthThrottlesBadCodes: more than 20 failed token requests a minute
// from one address get 429; another address is not affected.
func TestOAuthThrottlesBadCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b, trustXFF)
		bad := url.Values{"grant_type": {"authorization_code"}, "code": {session.NewSecret()},
			"code_verifier": {newPKCE().verifier}, "redirect_uri": {appRedirect}, "client_id": {appClientID}}
		for i := 1; i <= 20; i++ {
			wantOAuthError(t, g.postToken(t, "acme", "token", bad, "X-Forwarded-For", "203.0.113.9"), http.StatusBadRequest, "invalid_grant")
		}
		r := g.postToken(t, "acme", "token", bad, "X-Forwarded-For", "203.0.113.9")
		wantOAuthError(t, r, http.StatusTooManyRequests, "slow_down")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		// Another address, and a good request from behind the same one.
		wantOAuthError(t, g.postToken(t, "acme", "token", bad, "X-Forwarded-For", "203.0.113.10"), http.StatusBadRequest, "invalid_grant")
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		code := g.codeFor(t, br, "acme", p)
		g.wantTokens(t, g.postToken(t, "acme", "token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"code_verifier": {p.verifier}, "redirect_uri": {appRedirect}, "client_id": {appClientID}}, "X-Forwarded-For", "203.0.113.9"))
		// An IPv6 /64 is one address, whichever of its hosts asks; the
		// wait is what is left of the minute.
		for i := 1; i <= 20; i++ {
			wantOAuthError(t, g.postToken(t, "acme", "token", bad, "X-Forwarded-For", fmt.Sprintf("2001:db8:4:4::%x", i)), http.StatusBadRequest, "invalid_grant")
		}
		r = g.postToken(t, "acme", "token", bad, "X-Forwarded-For", "2001:db8:4:4:ffff::1")
		wantOAuthError(t, r, http.StatusTooManyRequests, "slow_down")
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("429 with Retry-After %q", r.header.Get("Retry-After"))
		}
		wantOAuthError(t, g.postToken(t, "acme", "token", bad, "X-Forwarded-For", "2001:db8:4:5::1"), http.StatusBadRequest, "invalid_grant")
	})
}

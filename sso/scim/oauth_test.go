package scim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/sso/directory"
)

// tokenReq posts a raw body to the company's token endpoint.
func (e *env) tokenReq(c *directory.Company, body string, hdr ...string) (int, http.Header, map[string]any) {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/c/acme/scim/oauth/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeToken(w, r, c)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		e.t.Fatalf("token answer is not JSON (%d): %q", w.Code, w.Body.String())
	}
	return w.Code, w.Header(), out
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestTokenEndpointClientAuthentication: RFC 6749 §2.3.1 Basic (with its
// form-urlencoding), body credentials, and every malformed variant.
func TestTokenEndpointClientAuthentication(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cl, secret, err := createClient(ctx, e.st, e.c.ID, "", 1, e.now)
		if err != nil {
			t.Fatal(err)
		}
		grant := "grant_type=client_credentials"
		ok := func(name, body string, hdr ...string) string {
			t.Helper()
			code, h, out := e.tokenReq(e.c, body, hdr...)
			tok, _ := out["access_token"].(string)
			if code != 200 || out["token_type"] != "Bearer" || out["expires_in"] != float64(3600) || !strings.HasPrefix(tok, scimcred.AccessTokenPrefix) ||
				h.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %d %v %v", name, code, out, h)
			}
			return tok
		}
		refused := func(name string, status int, errCode, body string, hdr ...string) {
			t.Helper()
			code, h, out := e.tokenReq(e.c, body, hdr...)
			if code != status || out["error"] != errCode || out["error_description"] == "" || out["access_token"] != nil {
				t.Fatalf("%s: %d %v, want %d %s", name, code, out, status, errCode)
			}
			if status == 401 && h.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: 401 without WWW-Authenticate", name)
			}
		}
		ok("Basic", grant, "Authorization", basic(cl.ClientID, secret))
		ok("Basic, encoded as RFC 6749 asks", grant, "Authorization", basic(url.QueryEscape(cl.ClientID), url.QueryEscape(secret)))
		ok("body", grant+"&client_id="+cl.ClientID+"&client_secret="+secret)
		ok("Basic with the same client_id in the body", grant+"&client_id="+cl.ClientID, "Authorization", basic(cl.ClientID, secret))
		ok("a scope is ignored", grant+"&scope=scim", "Authorization", basic(cl.ClientID, secret))

		refused("Bearer instead of Basic", 401, "invalid_client", grant, "Authorization", "Bearer "+secret)
		refused("Basic not base64", 401, "invalid_client", grant, "Authorization", "Basic %%%")
		refused("Basic with a bad escape", 401, "invalid_client", grant, "Authorization", basic(cl.ClientID, "%zz"))
		refused("Basic with no secret", 401, "invalid_client", grant, "Authorization", basic(cl.ClientID, ""))
		refused("Basic with another client_id in the body", 400, "invalid_request", grant+"&client_id=scim-other", "Authorization", basic(cl.ClientID, secret))
		refused("Basic and client_secret", 400, "invalid_request", grant+"&client_secret="+secret, "Authorization", basic(cl.ClientID, secret))
		refused("body without secret", 401, "invalid_client", grant+"&client_id="+cl.ClientID)
		refused("body with an empty secret", 401, "invalid_client", grant+"&client_id="+cl.ClientID+"&client_secret=")
		refused("repeated parameter", 400, "invalid_request", grant+"&"+grant+"&client_id="+cl.ClientID+"&client_secret="+secret)
		refused("control character in the secret", 401, "invalid_client", grant, "Authorization", basic(cl.ClientID, secret+"\x01"))
		refused("over-long client id", 401, "invalid_client", grant, "Authorization", basic(strings.Repeat("a", 300), secret))
		refused("client of another company", 401, "invalid_client", grant, "Authorization", basic("scim-0000", secret))
		refused("malformed form", 400, "invalid_request", grant+"&%zz")
		refused("grant_type refresh_token", 400, "unsupported_grant_type", "grant_type=refresh_token&refresh_token=x", "Authorization", basic(cl.ClientID, secret))

		// A secret whose time is up is refused exactly at its expiry, and
		// a token never outlives its secret.
		e.now = cl.Secrets[0].ExpiresAt.Add(-30 * time.Minute)
		_, _, out := e.tokenReq(e.c, grant, "Authorization", basic(cl.ClientID, secret))
		if out["expires_in"] != float64(1800) {
			t.Fatalf("token 30 minutes before the secret expires: %v", out)
		}
		e.now = cl.Secrets[0].ExpiresAt
		refused("expired secret", 401, "invalid_client", grant, "Authorization", basic(cl.ClientID, secret))
	})
}

// TestAccessTokenCache: with TokenTTL an access token is read once per TTL,
// yet its expiry is checked on every use; a removed client's token stops
// when the TTL passes, or at once after ForgetTokens.
func TestAccessTokenCache(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.h = New(Options{Store: e.st, Settler: e.settler(e.st), Throttle: e.thr, Now: func() time.Time { return e.now }, TokenTTL: time.Minute})
		cl, secret, err := createClient(ctx, e.st, e.c.ID, "", 1, e.now)
		if err != nil {
			t.Fatal(err)
		}
		get := func() string {
			_, _, out := e.tokenReq(e.c, "grant_type=client_credentials", "Authorization", basic(cl.ClientID, secret))
			tok, _ := out["access_token"].(string)
			if tok == "" {
				t.Fatalf("no token: %v", out)
			}
			return tok
		}
		tok := get()
		e.doAs(e.c, tok, "GET", "/Users", "").must(t, 200)
		// Cached, still bound to its company.
		other := &directory.Company{Slug: e.c.Slug + "o", Name: "O", NameIDMode: directory.NameIDUPN}
		if err := e.st.CreateCompany(ctx, other); err != nil {
			t.Fatal(err)
		}
		e.doAs(other, tok, "GET", "/Users", "").scimErr(t, 401, "")
		// Expiry wins over the cache: re-read it just before the end, then step past it.
		e.now = e.now.Add(time.Hour - 10*time.Second)
		e.doAs(e.c, tok, "GET", "/Users", "").must(t, 200)
		e.now = e.now.Add(10 * time.Second)
		e.doAs(e.c, tok, "GET", "/Users", "").scimErr(t, 401, "")

		// Removal: still accepted within the TTL, refused after it.
		tok = get()
		e.doAs(e.c, tok, "GET", "/Users", "").must(t, 200)
		if err := e.st.RemoveSCIMClient(ctx, e.c.ID, cl.ClientID); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(30 * time.Second)
		e.doAs(e.c, tok, "GET", "/Users", "").must(t, 200)
		e.now = e.now.Add(31 * time.Second)
		e.doAs(e.c, tok, "GET", "/Users", "").scimErr(t, 401, "")

		// ForgetTokens: a removal is immediate in this instance.
		cl, secret, err = createClient(ctx, e.st, e.c.ID, "", 1, e.now)
		if err != nil {
			t.Fatal(err)
		}
		tok = get()
		e.doAs(e.c, tok, "GET", "/Users", "").must(t, 200)
		if err := e.st.RemoveSCIMClient(ctx, e.c.ID, cl.ClientID); err != nil {
			t.Fatal(err)
		}
		e.h.ForgetTokens()
		e.doAs(e.c, tok, "GET", "/Users", "").scimErr(t, 401, "")
	})
}

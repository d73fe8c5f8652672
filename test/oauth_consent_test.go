package test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
)

// TestOAuthConsentForCustomSchemes: a signed-in browser gets a code for a
// custom-scheme redirect only after the employee confirms (RFC 8252 §8.6);
// an https app link stays silent; the confirmation is single-use and bound
// to the browser's session and the exact request.
func TestOAuthConsentForCustomSchemes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		path := authorizePath("acme", p, "st-c")
		resp, err := br.Get(g.URL + path)
		testenv.Must(t, err, "authorize")
		page := body(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(page, "Continue as Maja Holm") {
			t.Fatalf("custom scheme without consent: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
		}
		nonce, action := consentForm(t, page)

		// Another browser (another session) cannot use this confirmation.
		other := g.signedInBrowser(t, "maja.holm@acme.example")
		if r := g.confirm(t, other, action, nonce, "allow"); r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Fatalf("transplanted confirmation: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		// It was single-use, even when refused: the owner must start again.
		if r := g.confirm(t, br, action, nonce, "allow"); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("reused confirmation: %d", r.StatusCode)
		}
		// A forged form with no nonce, or a made-up one, yields nothing.
		for _, n := range []string{"", "x", strings.Repeat("A", 43)} {
			if r := g.confirm(t, br, action, n, "allow"); r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
				t.Fatalf("forged confirmation %q: %d", n, r.StatusCode)
			}
		}
		// A confirmation for one request cannot approve another (other PKCE).
		resp, err = br.Get(g.URL + path)
		testenv.Must(t, err, "authorize again")
		nonce, _ = consentForm(t, body(t, resp))
		resp.Body.Close()
		otherReq := authorizePath("acme", newPKCE(), "st-c")
		if r := g.confirm(t, br, otherReq, nonce, "allow"); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("confirmation moved to another request: %d", r.StatusCode)
		}
		// Cancel sends access_denied to the app, with the state.
		resp, err = br.Get(g.URL + path)
		testenv.Must(t, err, "authorize again")
		nonce, action = consentForm(t, body(t, resp))
		resp.Body.Close()
		v := appRedirectParams(t, g.confirm(t, br, action, nonce, "deny"), appRedirect)
		if v.Get("error") != "access_denied" || v.Get("state") != "st-c" || v.Get("code") != "" {
			t.Fatalf("cancel: %v", v)
		}
		// Continue gives the code.
		resp, err = br.Get(g.URL + path)
		testenv.Must(t, err, "authorize again")
		nonce, action = consentForm(t, body(t, resp))
		resp.Body.Close()
		v = appRedirectParams(t, g.confirm(t, br, action, nonce, "allow"), appRedirect)
		g.wantTokens(t, g.redeem(t, "acme", v.Get("code"), p))

		// A POST from a browser without the session cookie (a cross-site
		// form) gets no code: it is sent to sign in.
		nb := newBrowser()
		r, err := nb.PostForm(g.URL+action, url.Values{"consent": {nonce}, "decision": {"allow"}})
		testenv.Must(t, err, "cookieless POST")
		r.Body.Close()
		if loc := r.Header.Get("Location"); r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/c/acme/login?") {
			t.Fatalf("cookieless confirmation: %d %q", r.StatusCode, loc)
		}

		// The https app link is verified by the OS: no confirmation.
		resp, err = br.Get(g.URL + authorizePath("acme", newPKCE(), "st-h", "redirect_uri", appLink))
		testenv.Must(t, err, "app link")
		resp.Body.Close()
		appRedirectParams(t, resp, appLink)
	})
}

// TestOAuthRemovedClientTokensStop: removing the app's registration ends
// the tokens it holds (within SSOGATE_SETTINGS_TTL; 0 in these tests).
func TestOAuthRemovedClientTokensStop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newMobileGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		p := newPKCE()
		access, refresh := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", p), p))
		g.wantBearer(t, "acme", access, http.StatusOK)
		testenv.Must(t, g.dir.RemoveOAuthClient(context.Background(), g.company.ID, appClientID), "remove client")
		g.wantBearer(t, "acme", access, http.StatusUnauthorized)
		if r := g.refresh(t, "acme", refresh); r.status == http.StatusOK {
			t.Fatalf("a removed client refreshed its token: %v", r.body)
		}
		mr, err := http.Get(g.metricsURL + "/metrics")
		testenv.Must(t, err, "metrics")
		m := body(t, mr)
		mr.Body.Close()
		if !strings.Contains(m, `ssogate_oauth_token_requests_total{outcome="issued"} 1`) ||
			!strings.Contains(m, `ssogate_oauth_token_requests_total{outcome="invalid_client"} 1`) {
			t.Errorf("oauth metrics:\n%s", m)
		}
	})
}

// TestOAuthConsentForLoopback: a loopback redirect URI
// (http://127.0.0.1:PORT/…, [::1], localhost) can be claimed by any local
// process that binds the port first, so it gets the same confirmation as a
// custom scheme: no code without the employee's click.
func TestOAuthConsentForLoopback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		loopbacks := []string{"http://127.0.0.1:49152/oauth2redirect", "http://[::1]:49153/cb", "http://localhost:49154/cb"}
		g.addClient(g.company, appClientID, loopbacks...)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		for _, uri := range loopbacks {
			p := newPKCE()
			resp, err := br.Get(g.URL + authorizePath("acme", p, "st-l", "redirect_uri", uri))
			testenv.Must(t, err, "authorize %s", uri)
			page := body(t, resp)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(page, "Continue as Maja Holm") {
				t.Fatalf("%s: a code without consent: %d %q", uri, resp.StatusCode, resp.Header.Get("Location"))
			}
			nonce, action := consentForm(t, page)
			v := appRedirectParams(t, g.confirm(t, br, action, nonce, "allow"), uri)
			if v.Get("code") == "" || v.Get("state") != "st-l" {
				t.Fatalf("%s: after consent: %v", uri, v)
			}
			g.wantTokens(t, g.postToken(t, "acme", "token", url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")},
				"code_verifier": {p.verifier}, "redirect_uri": {uri}, "client_id": {appClientID}}))
		}
	})
}

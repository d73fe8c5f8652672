package oauthserver

// Mobile sign-in: the OAuth 2.0 authorization code flow with PKCE for native
// apps (RFC 6749 §4.1, RFC 7636, RFC 8252), run over the SAML login.
//
//	app → system browser: GET /c/{company}/oauth/authorize?response_type=code&client_id=…
//	      &redirect_uri=…&state=…&code_challenge=…&code_challenge_method=S256
//	    → (no live session for the company) /c/{company}/login?return_to=<that URL>
//	      → Entra → ACS → back to /oauth/authorize, now with a session
//	    → 302 redirect_uri?code=…&state=…
//	app → POST /c/{company}/oauth/token (code, code_verifier, redirect_uri, client_id)
//	    → {"access_token", "token_type":"Bearer", "expires_in", "refresh_token"}
//
// Codes, tokens and the markers below live in the session store (Redis in
// production), so every step may land on any instance. Secrets never reach
// the store or the log: records are keyed by session.Key(secret).

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/oauthsyntax"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Keys in the session store. {co} is the company id, so a code issued at
// company A is not even looked up at company B (and B cannot burn it).
const (
	oauthCodePrefix    = "oauth:code:"       // {co}:Key(code) → oauthCode, one-shot (Take)
	oauthUsedPrefix    = "oauth:used:"       // {co}:Key(code) → the code's family (replay detection)
	oauthRotatedPrefix = "oauth:rotated:"    // refresh session id → family, after rotation
	oauthClaimPrefix   = "oauth:rt:"         // Consume key: one rotation per refresh token
	oauthRevokedPrefix = "oauth:famrevoked:" // family → "1" once a reuse revoked it
	oauthBadPrefix     = "oauth:bad:"        // {co}:{client} → failed token requests (throttle.Limit)
)

const (
	// oauthBadLimit failed token requests per company and client address in
	// oauthBadWindow, then 429. Codes and tokens carry 256 bits, so this is
	// about cost and noise, not guessing; failures are counted after the
	// request is judged, so an attacker behind an office's NAT cannot lock
	// out the employees behind it.
	oauthBadLimit  = 20
	oauthBadWindow = time.Minute
	oauthMaxBody   = 64 << 10
	maxClientIDLen = 128
	maxStateLen    = 1024
	// maxAuthorizeURL: the authorize URL travels through the login as
	// its return target (Options.Login), which takes at most 2048 bytes.
	maxAuthorizeURL = 2048
)

// oauthCode is what an authorization code stands for.
type oauthCode struct {
	CompanyID   int64     `json:"co"`
	EmployeeID  string    `json:"emp"`
	ClientID    string    `json:"cid"`
	RedirectURI string    `json:"ru"`
	Challenge   string    `json:"cc"`
	Family      string    `json:"fam"`
	IssuedAt    time.Time `json:"iat"`
	CertSHA256  string    `json:"cert,omitempty"`
}

// authorize is the authorization endpoint (RFC 6749 §4.1.1). client_id and
// redirect_uri are checked first: until both are known good, every problem
// is an error page and never a redirect (§4.1.2.1, §10.15: no open
// redirect). After that, errors go back to the app as
// redirect_uri?error=…&state=….
func (s *Server) authorize(c echo.Context) error {
	co, err := s.company(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	raw := c.Request().URL.RawQuery
	q, perr := url.ParseQuery(raw)
	clientID, okC := single(q, "client_id")
	redirectURI, okR := single(q, "redirect_uri")
	switch {
	case perr != nil:
		return badAuthorizePage("malformed_request", "The sign-in link is damaged.", perr)
	case !okC || !okR:
		return badAuthorizePage("invalid_request", "The sign-in link repeats a parameter.", nil)
	case clientID == "":
		return badAuthorizePage("invalid_client", "The app did not say which app it is (client_id is missing).", nil)
	case redirectURI == "":
		return badAuthorizePage("invalid_redirect_uri", "The app did not say where to return (redirect_uri is missing).", nil)
	case !oauthsyntax.VSChar(clientID, maxClientIDLen):
		return badAuthorizePage("invalid_client", "The app is not registered for this company.", nil)
	}
	client, err := s.dir.GetOAuthClient(ctx, co.ID, clientID)
	if errors.Is(err, directory.ErrNotFound) {
		s.log.Info("oauth authorize: unknown client", "company", co.Slug, "client_id", clientID)
		return badAuthorizePage("invalid_client", "The app is not registered for "+co.Name+".", nil)
	}
	if err != nil {
		return fmt.Errorf("load oauth client: %w", err)
	}
	if !registered(client, redirectURI) {
		s.log.Info("oauth authorize: unregistered redirect_uri", "company", co.Slug, "client_id", clientID,
			"redirect_uri", httpx.Truncate(redirectURI, 200))
		return badAuthorizePage("invalid_redirect_uri", "The app asked to return to an address that is not registered for it.", nil)
	}

	// The redirect URI is now trusted: errors go back to the app.
	state, okS := single(q, "state")
	if !okS || (state != "" && !oauthsyntax.VSChar(state, maxStateLen)) {
		// Never echo a state we refused.
		return s.authorizeError(c, co.Slug, redirectURI, "invalid_request", "state must be sent once, as at most 1024 printable ASCII characters", "")
	}
	fail := func(code, desc string) error { return s.authorizeError(c, co.Slug, redirectURI, code, desc, state) }
	for _, k := range []string{"response_type", "code_challenge", "code_challenge_method", "scope"} {
		if _, ok := single(q, k); !ok {
			return fail("invalid_request", k+" must not be repeated")
		}
	}
	rt, method, challenge := q.Get("response_type"), q.Get("code_challenge_method"), q.Get("code_challenge")
	switch {
	case rt == "":
		return fail("invalid_request", "response_type is required")
	case rt != "code":
		return fail("unsupported_response_type", "only response_type=code is supported")
	case state == "":
		return fail("invalid_request", "state is required")
	case challenge == "" || method == "":
		return fail("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256")
	case method == "plain":
		return fail("invalid_request", "code_challenge_method plain is not allowed; use S256")
	case method != "S256":
		return fail("invalid_request", "unsupported code_challenge_method; use S256")
	case !isS256Challenge(challenge):
		// BASE64URL(SHA256(verifier)) is always 43 characters.
		return fail("invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the code_verifier")
	case len(c.Request().URL.Path)+1+len(raw) > maxAuthorizeURL:
		return fail("invalid_request", "the authorization request is too long")
	case !co.SSOEnabled:
		return fail("access_denied", "single sign-on is switched off for this company")
	}

	// A browser session for this company signs the app in without a trip
	// to Entra. Only the cookie counts: a bearer token cannot mint codes.
	sess, err := s.browser.CurrentFor(ctx, c.Request(), co.ID)
	if err != nil && !errors.Is(err, session.ErrNotFound) {
		s.log.Error("oauth authorize: session lookup", "company", co.Slug, "err", err)
		return fail(serverErrorCode(err), "the sign-in service is unavailable; try again")
	}
	if err == nil {
		e, err := s.dir.GetEmployee(ctx, co.ID, sess.EmployeeID)
		switch {
		case err == nil && e.Active && e.Visible():
			if needsConsent(redirectURI) {
				return s.consent(c, co, client, sess, e, raw, fail, func() error {
					return s.issueCode(c, co, sess, client.ClientID, redirectURI, challenge, state)
				})
			}
			return s.issueCode(c, co, sess, client.ClientID, redirectURI, challenge, state)
		case err != nil && !errors.Is(err, directory.ErrNotFound):
			s.log.Error("oauth authorize: load employee", "company", co.Slug, "err", err)
			return fail(serverErrorCode(err), "the sign-in service is unavailable; try again")
		}
		// Inactive or gone: a fresh login shows the employee why.
	}
	return s.login(c, co, "/c/"+co.Slug+"/oauth/authorize?"+raw)
}

// issueCode stores a new single-use code and sends the browser to the app.
func (s *Server) issueCode(c echo.Context, co *directory.Company, sess *session.Session, clientID, redirectURI, challenge, state string) error {
	code := session.NewSecret()
	rec := oauthCode{CompanyID: co.ID, EmployeeID: sess.EmployeeID, ClientID: clientID, RedirectURI: redirectURI,
		Challenge: challenge, Family: session.NewSecret()[:22], IssuedAt: s.now(), CertSHA256: sess.CertSHA256}
	raw, _ := json.Marshal(rec)
	ctx, key := c.Request().Context(), codeKey(co.ID, code)
	// The used-marker exists from the start (a little longer than the
	// code), so a second use racing with the first always finds the family
	// to revoke; the first use extends it.
	err := s.sessions.Put(ctx, oauthUsedPrefix+key, []byte(rec.Family), 2*s.codeTTL)
	if err == nil {
		err = s.sessions.Put(ctx, oauthCodePrefix+key, raw, s.codeTTL)
	}
	if err != nil {
		s.log.Error("oauth authorize: store code", "company", co.Slug, "err", err)
		return s.authorizeError(c, co.Slug, redirectURI, serverErrorCode(err), "the sign-in service is unavailable; try again", state)
	}
	s.log.Info("oauth code issued", "company", co.Slug, "client_id", clientID, "employee", sess.EmployeeID)
	return c.Redirect(http.StatusFound, withParams(redirectURI, url.Values{"code": {code}, "state": {state}}))
}

// authorizeError sends an RFC 6749 §4.1.2.1 error to a trusted redirect URI.
func (s *Server) authorizeError(c echo.Context, slug, redirectURI, code, desc, state string) error {
	s.log.Info("oauth authorize refused", "company", slug, "error", code, "why", desc)
	v := url.Values{"error": {code}, "error_description": {desc}}
	if state != "" {
		v.Set("state", state)
	}
	return c.Redirect(http.StatusFound, withParams(redirectURI, v))
}

// serverErrorCode is the RFC 6749 §4.1.2.1 code for a failure of ours:
// temporarily_unavailable for an outage (the app may retry), else
// server_error.
func serverErrorCode(err error) string {
	if httpx.OutageOf(err) != "" {
		return "temporarily_unavailable"
	}
	return "server_error"
}

// badAuthorizePage is the error page for a request whose redirect URI
// cannot be trusted.
func badAuthorizePage(code, message string, cause error) *httpx.ErrorPage {
	return httpx.Refuse(http.StatusBadRequest, code, "This app cannot sign you in", message,
		"Update the app, or ask your IT department to check how it is registered with ssogate.", cause)
}

// registered reports whether uri is one of the client's redirect URIs,
// compared as exact strings (RFC 8252 §8.4; no normalisation, no prefix).
// A registered URI with a fragment is never used (RFC 6749 §3.1.2).
func registered(cl *directory.OAuthClient, uri string) bool {
	for _, r := range cl.RedirectURIs {
		if r == uri && !strings.Contains(r, "#") {
			return true
		}
	}
	return false
}

// withParams adds query parameters to a redirect URI, keeping the query it
// was registered with (RFC 6749 §3.1.2).
func withParams(base string, v url.Values) string {
	switch {
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
		return base + v.Encode()
	case strings.Contains(base, "?"):
		return base + "&" + v.Encode()
	}
	return base + "?" + v.Encode()
}

// single returns a parameter that must appear at most once (RFC 6749 §3.1,
// §3.2); ok is false when it is repeated.
func single(v url.Values, k string) (string, bool) {
	switch vs := v[k]; len(vs) {
	case 0:
		return "", true
	case 1:
		return vs[0], true
	}
	return "", false
}

func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// isS256Challenge: 43 base64url characters, the only shape S256 produces.
func isS256Challenge(s string) bool { return len(s) == 43 && isB64URL(s) }

// isSecret reports the shape of session.NewSecret's output, so junk never
// reaches the store.
func isSecret(s string) bool { return len(s) == 43 && isB64URL(s) }

// validVerifier: 43-128 characters of [A-Z a-z 0-9 - . _ ~] (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_' || b == '~') {
			return false
		}
	}
	return true
}

// pkceMatch checks BASE64URL(SHA256(verifier)) == challenge in constant time
// (RFC 7636 §4.6).
func pkceMatch(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func codeKey(companyID int64, code string) string {
	return strconv.FormatInt(companyID, 10) + ":" + session.Key(code)
}

// logOAuth logs a token-endpoint outcome without any secret.
func (s *Server) logOAuth(c echo.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	attrs = append(attrs, slog.String("ip", c.RealIP()))
	s.log.LogAttrs(c.Request().Context(), level, msg, attrs...)
}

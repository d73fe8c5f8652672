package scim

// SCIM with OAuth 2.0 client credentials (RFC 6749 §4.4): what Microsoft
// asks of gallery apps instead of a long-lived Secret Token. A company has
// clients (a public client id) with one or more secrets, each valid for one
// to three years; Entra's provisioning service trades a client id and
// secret at the token endpoint for an access token of one hour and sends
// that as the bearer on every SCIM request.
//
// Secrets and access tokens are 256-bit random values stored as SHA-256
// hashes only (like the long-lived tokens; internal/scimcred is their
// format). admin.Service issues clients and secrets for the CLI and the
// console; this file verifies them and issues access tokens. Access tokens live in the
// directory, not the session store: every instance and every CLI process
// reaches the directory, so a client or secret removed with the CLI ends
// its access tokens on every instance (within TokenTTL, the same bound as a
// revoked long-lived token), even on the embedded in-process session store.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ssogate/ssogate/internal/oauthsyntax"
	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/sso/directory"
)

// AccessTokenTTL is the lifetime of an access token (Microsoft asks for
// 60 minutes to six hours). A token never outlives the secret it was
// issued with.
const AccessTokenTTL = time.Hour

// Throttling of the token endpoint: every request counts, per company and
// client IP, so past the limit nothing is learned from the answers.
// Entra asks for a token about once an hour.
const (
	tokenRequestLimit  = 30
	tokenRequestWindow = time.Minute
	tokenMaxBody       = 64 << 10
)

// oauthError is an RFC 6749 §5.2 error: a fixed description for the
// client, the cause for the log.
type oauthError struct {
	status int
	code   string
	desc   string
	cause  error
}

func oauthErrf(status int, code, desc string) *oauthError {
	return &oauthError{status: status, code: code, desc: desc}
}

// serverError is a failure of ours: an outage of the directory is a 503
// temporarily_unavailable with Retry-After (Entra retries), anything else
// a 500 server_error. The cause is logged, never shown.
func serverError(desc string, cause error) *oauthError {
	if unavailable(cause) {
		return &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			desc: "the gateway's database is temporarily unavailable; retry later", cause: cause}
	}
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: desc, cause: cause}
}

var (
	errInvalidClient = oauthErrf(http.StatusUnauthorized, "invalid_client",
		"client authentication failed: check the Client Identifier and Client Secret pasted into Entra")
	errExpiredSecret = oauthErrf(http.StatusUnauthorized, "invalid_client",
		"the client secret has expired: add a new secret (ssogate scim client add SLUG --client-id ID) and paste it into Entra")
)

// ServeToken is the token endpoint POST /c/{company}/scim/oauth/token:
// grant_type=client_credentials, the client authenticated by HTTP Basic
// (RFC 6749 §2.3.1: id and secret form-urlencoded) or by client_id and
// client_secret in the body, never both. It answers an RFC 6749 §5.1
// token response or a §5.2 error.
func (h *Handler) ServeToken(w http.ResponseWriter, r *http.Request, c *directory.Company) {
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(r.Context(), "scim: token endpoint panic", "company", c.ID, "panic", fmt.Sprint(p))
			writeOAuthError(w, oauthErrf(http.StatusInternalServerError, "server_error", "internal error; retry later"))
		}
	}()
	ctx := r.Context()
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	if h.thr != nil {
		key := "scim:oauth:" + strconv.FormatInt(c.ID, 10) + ":" + throttle.ClientKey(h.clientIP(r))
		wait, err := h.tokenRequests.Hit(ctx, key)
		if err != nil {
			h.log.WarnContext(ctx, "scim: throttle unavailable", "company", c.ID, "err", err)
		} else if wait > 0 {
			h.log.InfoContext(ctx, "scim: token requests throttled", "company", c.ID, "ip", h.clientIP(r))
			hdr.Set("Retry-After", strconv.Itoa(throttle.Seconds(wait)))
			writeOAuthError(w, oauthErrf(http.StatusTooManyRequests, "slow_down", "too many token requests from this address; wait a minute"))
			return
		}
	}
	resp, oe := h.token(w, r, c)
	if oe != nil {
		attrs := []any{"company", c.ID, "ip", h.clientIP(r), "error", oe.code, "why", oe.desc}
		if oe.cause != nil {
			attrs = append(attrs, "cause", oe.cause)
		}
		if oe.status >= 500 {
			h.log.ErrorContext(ctx, "scim: token request failed", attrs...)
		} else {
			h.log.InfoContext(ctx, "scim: token request refused", attrs...)
		}
		if oe.status == http.StatusUnauthorized {
			hdr.Set("WWW-Authenticate", `Basic realm="ssogate-scim"`)
		}
		if oe.status == http.StatusServiceUnavailable {
			hdr.Set("Retry-After", strconv.Itoa(RetryAfter))
		}
		writeOAuthError(w, oe)
		return
	}
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(resp)
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func writeOAuthError(w http.ResponseWriter, oe *oauthError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(oe.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": oe.code, "error_description": oe.desc})
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request, c *directory.Company) (*tokenResponse, *oauthError) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, oauthErrf(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST only")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthErrf(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, tokenMaxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, oauthErrf(http.StatusRequestEntityTooLarge, "invalid_request", "the request body is too large")
		}
		return nil, oauthErrf(http.StatusBadRequest, "invalid_request", "the form body is malformed")
	}
	f := r.PostForm // parameters in the URL are ignored
	for _, vs := range f {
		if len(vs) > 1 {
			return nil, oauthErrf(http.StatusBadRequest, "invalid_request", "parameters must not be repeated")
		}
	}
	switch gt := f.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return nil, oauthErrf(http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		return nil, oauthErrf(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	}
	id, secret, oe := clientCredentials(r, f)
	if oe != nil {
		return nil, oe
	}
	if !oauthsyntax.VSChar(id, 256) || !oauthsyntax.VSChar(secret, 512) {
		return nil, errInvalidClient
	}
	cl, err := h.st.GetSCIMClient(ctx, c.ID, id)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, errInvalidClient
	}
	if err != nil {
		return nil, serverError("internal error while checking the client; retry later", err)
	}
	now := h.now()
	sum := sha256.Sum256([]byte(secret))
	var match *directory.SCIMClientSecret
	for i := range cl.Secrets {
		if subtle.ConstantTimeCompare(cl.Secrets[i].Hash, sum[:]) == 1 {
			match = &cl.Secrets[i]
		}
	}
	switch {
	case match == nil:
		return nil, errInvalidClient
	case !now.Before(match.ExpiresAt):
		return nil, errExpiredSecret
	}
	tok, hash, err := scimcred.New(scimcred.AccessTokenPrefix)
	if err != nil {
		return nil, serverError("internal error; retry later", err)
	}
	at := &directory.SCIMAccessToken{Hash: hash, CompanyID: c.ID, Client: cl.ID, Secret: match.ID,
		IssuedAt: now, ExpiresAt: now.Add(AccessTokenTTL)}
	if at.ExpiresAt.After(match.ExpiresAt) {
		at.ExpiresAt = match.ExpiresAt
	}
	expiresIn := int64(at.ExpiresAt.Sub(now) / time.Second)
	if err := h.st.AddSCIMAccessToken(ctx, at); err != nil {
		if errors.Is(err, directory.ErrNotFound) { // the client or secret was removed just now
			return nil, errInvalidClient
		}
		return nil, serverError("internal error while issuing the token; retry later", err)
	}
	h.log.InfoContext(ctx, "scim: access token issued", "company", c.ID, "client_id", cl.ClientID, "secret_id", match.ID)
	return &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: expiresIn}, nil
}

// clientCredentials reads the client's id and secret from HTTP Basic
// (both form-urlencoded, RFC 6749 §2.3.1) or from the body; a request
// using both is refused (§2.3: one method per request).
func clientCredentials(r *http.Request, f url.Values) (id, secret string, oe *oauthError) {
	_, hasSecret := f["client_secret"]
	if r.Header.Get("Authorization") == "" {
		id, secret = f.Get("client_id"), f.Get("client_secret")
		if id == "" || secret == "" || !hasSecret {
			return "", "", oauthErrf(http.StatusUnauthorized, "invalid_client",
				"client authentication is required: HTTP Basic, or client_id and client_secret in the body")
		}
		return id, secret, nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", oauthErrf(http.StatusUnauthorized, "invalid_client", "the Authorization header must be HTTP Basic with the client id and secret")
	}
	if hasSecret {
		return "", "", oauthErrf(http.StatusBadRequest, "invalid_request", "use one client authentication method: HTTP Basic or client_secret in the body, not both")
	}
	u, err1 := url.QueryUnescape(user)
	p, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return "", "", errInvalidClient
	}
	if bodyID := f.Get("client_id"); bodyID != "" && bodyID != u {
		return "", "", oauthErrf(http.StatusBadRequest, "invalid_request", "client_id differs from the Authorization header")
	}
	return u, p, nil
}

// errBadAccessToken: the bearer is not a live access token of the company.
var errBadAccessToken = errors.New("scim: invalid access token")

// checkAccessToken accepts a live access token of company c: known (by its
// SHA-256, through the per-instance cache), of this company, not expired.
func (h *Handler) checkAccessToken(ctx context.Context, c *directory.Company, tok string) error {
	sum := sha256.Sum256([]byte(tok))
	t, err := h.findAccessToken(ctx, sum)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return errBadAccessToken
	case err != nil:
		return err
	}
	if subtle.ConstantTimeCompare(t.Hash, sum[:]) != 1 || t.CompanyID != c.ID || !h.now().Before(t.ExpiresAt) {
		return errBadAccessToken
	}
	return nil
}

// findAccessToken is FindSCIMAccessToken through the per-instance cache
// (TokenTTL, like findToken): only tokens found are cached, and their
// expiry is checked on every use.
func (h *Handler) findAccessToken(ctx context.Context, sum [sha256.Size]byte) (*directory.SCIMAccessToken, error) {
	t, err := h.access.Get(ctx, string(sum[:]), func(ctx context.Context) (directory.SCIMAccessToken, error) {
		t, err := h.st.FindSCIMAccessToken(ctx, sum[:])
		if err != nil {
			return directory.SCIMAccessToken{}, err
		}
		return *t, nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

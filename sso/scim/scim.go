// Package scim is the SCIM 2.0 endpoint Microsoft Entra ID provisions
// employees through: /Users (filter, list, get, create, PATCH in both of
// Entra's request styles, PUT, DELETE), /ServiceProviderConfig, /Schemas and
// /ResourceTypes, bearer-token checks per company (long-lived tokens and
// OAuth 2.0 client credentials access tokens, see oauth.go), and the
// provisioning log.
//
// It is a plain http.Handler-style package over sso/directory: it imports
// no Echo, no web, no session store and no SQL driver. The web package
// mounts ServeCompany under /c/{slug}/scim/v2 and ServeToken at
// /c/{slug}/scim/oauth/token, and passes the company.
//
// Entra's rules are its own (create or link, PATCH and PUT, soft delete by
// active=false, hard delete, the manager reference); what follows a change
// to an employee is the console's: directory.Settle in the write's
// transaction (approver roles, the termination date through SetActive),
// and the Settler (admin.Service, wired by web) once it commits (ending
// sessions). Every write, refused or not, is in the provisioning log.
//
// Employees detached from Entra (Source local, EntraLinked false) are
// read-only for SCIM: they stay visible (GET, filters, listings) but every
// write to them answers 409 with a detail naming the detach, and a POST with
// their userName or email answers 409 uniqueness. Nothing SCIM sends ever
// changes them.
package scim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssogate/ssogate/internal/cache"
	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/sso/directory"
)

// Settler carries out, once a write has committed, what its changes ask
// for (directory.Settle's Aftermath): ending the sessions of an employee
// who lost access. It is admin.Service.Settle, the one the console's and
// the CLI's changes go through (web wires it); an error means the write
// stands and only the follow-up failed.
type Settler interface {
	Settle(ctx context.Context, companyID int64, fx ...directory.Aftermath) error
}

// Options configure a Handler.
type Options struct {
	Store   directory.Store
	Settler Settler // nil: nothing follows a commit (tests only)
	// Throttle counts bad tokens and token requests per company and
	// client address, shared by every instance (the session store); nil:
	// they are not throttled.
	Throttle throttle.Counter
	Logger   *slog.Logger
	Now      func() time.Time
	MaxBody  int64 // default 1 MiB
	// TokenTTL is how long a valid token, once looked up, is trusted by
	// this instance without reading it again (0: every request reads it).
	// A revocation reaches every instance within TokenTTL; ForgetTokens
	// makes it immediate in this one. Give it SSOGATE_SETTINGS_TTL.
	TokenTTL time.Duration
	// ClientIP names the client of a request for throttling and logs (the
	// web layer's, which honours SSOGATE_TRUST_PROXY_HEADERS); nil = the
	// connection's address.
	ClientIP func(*http.Request) string
}

// Handler serves SCIM for any company; the caller picks the company.
type Handler struct {
	st      directory.Store
	settler Settler
	thr     throttle.Counter
	// badTokens and tokenRequests count in thr (when it is not nil).
	badTokens, tokenRequests throttle.Limit
	log                      *slog.Logger
	now                      func() time.Time
	maxBody                  int64

	touchMu sync.Mutex
	touched map[int64]time.Time // token id → last TouchSCIMToken

	tokenTTL time.Duration
	clientIP func(*http.Request) string
	tokens   *cache.Cache[directory.SCIMToken]       // valid tokens by hash
	access   *cache.Cache[directory.SCIMAccessToken] // OAuth access tokens by hash
}

// maxCachedTokens bounds each token cache (only valid tokens enter it).
const maxCachedTokens = 1000

// Throttling of bad tokens: per company and client IP.
const (
	badTokenLimit  = 20
	badTokenWindow = time.Minute
	touchEvery     = time.Minute
)

// New returns a Handler.
func New(opt Options) *Handler {
	h := &Handler{st: opt.Store, settler: opt.Settler, thr: opt.Throttle, log: opt.Logger,
		now: opt.Now, maxBody: opt.MaxBody, touched: map[int64]time.Time{}, tokenTTL: max(opt.TokenTTL, 0)}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxBody <= 0 {
		h.maxBody = 1 << 20
	}
	h.badTokens = throttle.Limit{Store: h.thr, Max: badTokenLimit, Window: badTokenWindow}
	h.tokenRequests = throttle.Limit{Store: h.thr, Max: tokenRequestLimit, Window: tokenRequestWindow}
	h.tokens = cache.New[directory.SCIMToken](maxCachedTokens, h.tokenTTL, h.now)
	h.access = cache.New[directory.SCIMAccessToken](maxCachedTokens, h.tokenTTL, h.now)
	h.clientIP = opt.ClientIP
	if h.clientIP == nil {
		h.clientIP = remoteIP
	}
	return h
}

// ServeCompany serves one SCIM request for company c. subpath is what
// follows /c/{slug}/scim/v2; baseURL is the absolute {public}/c/{slug}/scim/v2.
func (h *Handler) ServeCompany(w http.ResponseWriter, r *http.Request, c *directory.Company, subpath, baseURL string) {
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(r.Context(), "scim: panic", "company", c.ID, "panic", fmt.Sprint(p))
			writeError(w, &Error{Status: http.StatusInternalServerError, Detail: "internal error"})
		}
	}()
	if err := h.authenticate(r, c); err != nil {
		if err.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		}
		if err.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(throttle.Seconds(err.retryAfter)))
		}
		writeError(w, err)
		return
	}
	baseURL = strings.TrimRight(baseURL, "/")
	sub := "/" + strings.Trim(subpath, "/")
	if h.serveDiscovery(w, r, sub, baseURL) {
		return
	}
	first, rest, hasRest := strings.Cut(strings.TrimPrefix(sub, "/"), "/")
	if !strings.EqualFold(first, "Users") {
		if strings.EqualFold(first, "Groups") {
			writeError(w, errf(http.StatusNotFound, "", "groups are not supported: turn off group provisioning (Provision Microsoft Entra ID Groups) in Entra"))
			return
		}
		writeError(w, errNotFoundPath)
		return
	}
	rq := &request{h: h, w: w, r: r, c: c, base: baseURL}
	if !hasRest || rest == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			rq.list()
		case http.MethodPost:
			rq.create()
		default:
			writeError(w, errMethod)
		}
		return
	}
	if strings.Contains(rest, "/") || !validID(rest) {
		writeError(w, errNotFoundResource)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		rq.get(rest)
	case http.MethodPatch:
		rq.patch(rest)
	case http.MethodPut:
		rq.put(rest)
	case http.MethodDelete:
		rq.delete(rest)
	default:
		writeError(w, errMethod)
	}
}

// validID accepts the ids this service issues (and nothing hostile).
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

var errUnauthorized = &Error{Status: http.StatusUnauthorized,
	Detail: "missing, invalid or expired bearer token: paste this company's SCIM token (ssogate scim token) as Secret Token in Entra, or its OAuth client (ssogate scim client add) under OAuth2 Client Credentials Grant"}

// authenticate checks the bearer token: an OAuth access token (by its
// prefix) must be a live one of this company (checkAccessToken); any other
// goes SHA-256 → FindSCIMToken, then a constant-time hash comparison and
// the token's company. Bad tokens count
// per company and client IP; past the limit the answer is 429.
func (h *Handler) authenticate(r *http.Request, c *directory.Company) *Error {
	ctx := r.Context()
	tok, ok := bearer(r.Header.Get("Authorization"))
	if ok && strings.HasPrefix(tok, scimcred.AccessTokenPrefix) {
		switch err := h.checkAccessToken(ctx, c, tok); {
		case err == nil:
			return nil
		case !errors.Is(err, errBadAccessToken):
			h.log.ErrorContext(ctx, "scim: access token lookup failed", "company", c.ID, "err", err)
			if unavailable(err) {
				return errUnavailable(err)
			}
			return &Error{Status: http.StatusInternalServerError, Detail: "internal error while checking the token; retry later"}
		}
	} else if ok {
		sum := sha256.Sum256([]byte(tok))
		t, err := h.findToken(ctx, sum)
		switch {
		case err == nil:
			if subtle.ConstantTimeCompare(t.Hash, sum[:]) == 1 && t.CompanyID == c.ID && t.RevokedAt == nil {
				h.touch(ctx, t.ID)
				return nil
			}
		case !errors.Is(err, directory.ErrNotFound):
			h.log.ErrorContext(ctx, "scim: token lookup failed", "company", c.ID, "err", err)
			if unavailable(err) {
				return errUnavailable(err)
			}
			return &Error{Status: http.StatusInternalServerError, Detail: "internal error while checking the token; retry later"}
		}
	}
	if h.thr != nil {
		key := "scim:badtoken:" + strconv.FormatInt(c.ID, 10) + ":" + throttle.ClientKey(h.clientIP(r))
		wait, err := h.badTokens.Hit(ctx, key)
		if err != nil {
			h.log.WarnContext(ctx, "scim: throttle unavailable", "company", c.ID, "err", err)
		} else if wait > 0 {
			e := errf(http.StatusTooManyRequests, "", "too many requests with an invalid token; wait a minute and check the Secret Token in Entra")
			e.retryAfter = wait
			return e
		}
	}
	h.log.InfoContext(ctx, "scim: bad token", "company", c.ID, "ip", h.clientIP(r), "present", ok)
	return errUnauthorized
}

// findToken is FindSCIMToken through the per-instance cache: a valid token
// read less than TokenTTL ago is not read again. Unknown and revoked tokens
// are never cached, so they cost a lookup (and count for throttling) every
// time.
func (h *Handler) findToken(ctx context.Context, sum [sha256.Size]byte) (*directory.SCIMToken, error) {
	t, err := h.tokens.Get(ctx, string(sum[:]), func(ctx context.Context) (directory.SCIMToken, error) {
		t, err := h.st.FindSCIMToken(ctx, sum[:])
		if err != nil {
			return directory.SCIMToken{}, err
		}
		return *t, nil
	}, func(t directory.SCIMToken) bool { return t.RevokedAt == nil })
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ForgetTokens drops every cached token (long-lived and OAuth access
// tokens), so a revocation made through this
// process takes effect at once here (other instances: within TokenTTL).
func (h *Handler) ForgetTokens() {
	h.tokens.Purge()
	h.access.Purge()
}

func bearer(hdr string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(hdr), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > 4096 {
		return "", false
	}
	return tok, true
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// touch records token use at most once a minute per token.
func (h *Handler) touch(ctx context.Context, id int64) {
	now := h.now()
	h.touchMu.Lock()
	last, ok := h.touched[id]
	if ok && now.Sub(last) < touchEvery {
		h.touchMu.Unlock()
		return
	}
	if len(h.touched) > 10000 {
		clear(h.touched)
	}
	h.touched[id] = now
	h.touchMu.Unlock()
	if err := h.st.TouchSCIMToken(ctx, id, now); err != nil {
		h.log.WarnContext(ctx, "scim: touch token", "token_id", id, "err", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

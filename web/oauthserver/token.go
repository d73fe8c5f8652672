package oauthserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/oauthsyntax"
	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Refresh tokens: issued, because an employee opens the absence app now and
// then for weeks, and sending them through the system browser every hour
// (the access token's lifetime) would teach them to click through login
// screens. They are bounded so that they add no standing risk:
//   - rotated on every use; the old one is dead at once, and presenting it
//     again (a copy in a thief's hands, or the app's, whichever comes
//     second) revokes the whole family, i.e. every token of that sign-in;
//   - the family's absolute end is fixed at the sign-in (SSOGATE_OAUTH_
//     REFRESH_TTL), rotation never extends it, so Entra sees the employee
//     again at least that often;
//   - they are session records like any other: RevokeEmployee (SCIM
//     deactivation or deletion, an admin's revocation) deletes them, and
//     every use re-checks that the employee is active.

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// oauthErr is an RFC 6749 §5.2 error: a fixed description for the client,
// the cause for the log.
type oauthErr struct {
	status int
	code   string
	desc   string
	count  bool // a client mistake: counts towards throttling
	cause  error
}

func errRequest(desc string) *oauthErr {
	return &oauthErr{status: http.StatusBadRequest, code: "invalid_request", desc: desc, count: true}
}

func errGrant(desc string) *oauthErr {
	return &oauthErr{status: http.StatusBadRequest, code: "invalid_grant", desc: desc, count: true}
}

func errClient(desc string) *oauthErr {
	return &oauthErr{status: http.StatusUnauthorized, code: "invalid_client", desc: desc, count: true}
}

func errServer(cause error) *oauthErr {
	if httpx.OutageOf(cause) != "" {
		// RFC 6749 names temporarily_unavailable for the authorization
		// endpoint; clients treat it, with 503 and Retry-After, as "retry".
		return &oauthErr{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			desc: "the sign-in service is temporarily unavailable; try again shortly", cause: cause}
	}
	return &oauthErr{status: http.StatusInternalServerError, code: "server_error",
		desc: "the sign-in service is unavailable; try again", cause: cause}
}

const invalidGrant = "the authorization code or refresh token is invalid, expired or revoked"

// token is the token endpoint (RFC 6749 §3.2, §4.1.3, §6).
func (s *Server) token(c echo.Context) error {
	httpx.NoStore(c.Response())
	co, err := s.company(c)
	if err != nil {
		return s.tokenError(c, nil, companyErr(err))
	}
	f, oe := tokenForm(c)
	var resp *tokenResponse
	if oe == nil {
		resp, oe = s.grant(c, co, f)
	}
	if oe != nil {
		return s.tokenError(c, co, oe)
	}
	s.countToken("issued")
	return c.JSON(http.StatusOK, resp)
}

func (s *Server) grant(c echo.Context, co *directory.Company, f url.Values) (*tokenResponse, *oauthErr) {
	gt := f.Get("grant_type")
	if gt == "" {
		return nil, errRequest("grant_type is required")
	}
	if gt != "authorization_code" && gt != "refresh_token" {
		return nil, &oauthErr{status: http.StatusBadRequest, code: "unsupported_grant_type",
			desc: "grant_type must be authorization_code or refresh_token", count: true}
	}
	client, oe := s.tokenClient(c, co, f)
	if oe != nil {
		return nil, oe
	}
	if !co.SSOEnabled {
		return nil, errGrant("single sign-on is switched off for this company")
	}
	if gt == "refresh_token" {
		return s.refreshGrant(c, co, client, f)
	}
	return s.codeGrant(c, co, client, f)
}

// codeGrant redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (s *Server) codeGrant(c echo.Context, co *directory.Company, client *directory.OAuthClient, f url.Values) (*tokenResponse, *oauthErr) {
	ctx := c.Request().Context()
	code, verifier, redirectURI := f.Get("code"), f.Get("code_verifier"), f.Get("redirect_uri")
	switch {
	case code == "":
		return nil, errRequest("code is required")
	case redirectURI == "":
		return nil, errRequest("redirect_uri is required")
	case verifier == "":
		return nil, errRequest("code_verifier is required (PKCE)")
	case !validVerifier(verifier):
		return nil, errRequest("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	case !isSecret(code):
		return nil, errGrant(invalidGrant)
	}
	key := codeKey(co.ID, code)
	raw, err := s.sessions.Take(ctx, oauthCodePrefix+key)
	if errors.Is(err, session.ErrNotFound) {
		// Used before? Then revoke what the first use issued (§4.1.2). An
		// unredeemed code's marker outlives it briefly, so an expired code
		// may land here too; its family is empty.
		return nil, s.reused(c, co, oauthUsedPrefix+key, "authorization code presented again",
			"the authorization code was already used or has expired; any tokens it gave are revoked")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("take code: %w", err))
	}
	// From here the code is spent, whatever happens.
	var rec oauthCode
	if err := json.Unmarshal(raw, &rec); err != nil || rec.CompanyID != co.ID || rec.Family == "" {
		return nil, &oauthErr{status: http.StatusBadRequest, code: "invalid_grant", desc: invalidGrant, count: true,
			cause: fmt.Errorf("corrupt code record: %v", err)}
	}
	now := s.now()
	switch {
	case now.After(rec.IssuedAt.Add(s.codeTTL)):
		return nil, errGrant(invalidGrant)
	case rec.ClientID != client.ClientID:
		return nil, errGrant("the authorization code was issued to another client")
	case rec.RedirectURI != redirectURI:
		return nil, errGrant("redirect_uri differs from the one in the authorization request")
	case !pkceMatch(verifier, rec.Challenge):
		return nil, errGrant("code_verifier does not match the code_challenge")
	}
	// The used-marker was written with the code (so a replay racing with
	// this request finds it); keep it now as long as a token of the family
	// can live.
	if err := s.sessions.Put(ctx, oauthUsedPrefix+key, []byte(rec.Family), s.refreshTTL); err != nil {
		return nil, errServer(fmt.Errorf("mark code used: %w", err))
	}
	return s.issueTokens(c, co, rec.EmployeeID, client.ClientID, rec.Family, now.Add(s.refreshTTL), rec.CertSHA256)
}

// refreshGrant rotates a refresh token (RFC 6749 §6, §10.4).
func (s *Server) refreshGrant(c echo.Context, co *directory.Company, client *directory.OAuthClient, f url.Values) (*tokenResponse, *oauthErr) {
	ctx := c.Request().Context()
	rt := f.Get("refresh_token")
	if rt == "" {
		return nil, errRequest("refresh_token is required")
	}
	if !isSecret(rt) {
		return nil, errGrant(invalidGrant)
	}
	id := session.Key(rt)
	sess, err := s.sessions.Get(ctx, id)
	if errors.Is(err, session.ErrNotFound) {
		return nil, s.reused(c, co, oauthRotatedPrefix+id, "refresh token used after rotation",
			"the refresh token was already used; every token of this sign-in is revoked")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("load refresh token: %w", err))
	}
	if sess.Kind != session.KindRefresh || sess.CompanyID != co.ID || sess.Family == "" {
		return nil, errGrant(invalidGrant)
	}
	if sess.ClientID != client.ClientID {
		return nil, errGrant("the refresh token was issued to another client")
	}
	// One rotation per refresh token, across instances: of two concurrent
	// uses, the second is a reuse.
	if err := s.sessions.Consume(ctx, oauthClaimPrefix+id, sess.ExpiresAt); err != nil {
		if errors.Is(err, session.ErrReplayed) {
			s.revokeFamily(c, co, sess.Family, "refresh token used twice at once")
			return nil, errGrant("the refresh token was already used; every token of this sign-in is revoked")
		}
		if errors.Is(err, session.ErrInvalid) { // it ended just now
			return nil, errGrant(invalidGrant)
		}
		return nil, errServer(fmt.Errorf("claim refresh token: %w", err))
	}
	// The marker goes in before the record goes away, so a reuse finds
	// one or the other at every moment.
	ttl := max(sess.ExpiresAt.Sub(s.now()), time.Second)
	if err := s.sessions.Put(ctx, oauthRotatedPrefix+id, []byte(sess.Family), ttl); err != nil {
		return nil, errServer(fmt.Errorf("mark refresh token rotated: %w", err))
	}
	if err := s.sessions.Delete(ctx, id); err != nil {
		return nil, errServer(fmt.Errorf("delete rotated refresh token: %w", err))
	}
	return s.issueTokens(c, co, sess.EmployeeID, client.ClientID, sess.Family, sess.ExpiresAt, sess.CertSHA256)
}

// issueTokens creates an access and a refresh token in family. The refresh
// token (and so the family) ends at until; the access token no later.
func (s *Server) issueTokens(c echo.Context, co *directory.Company, employeeID, clientID, family string, until time.Time, cert string) (*tokenResponse, *oauthErr) {
	ctx := c.Request().Context()
	now := s.now()
	if !until.After(now) {
		return nil, errGrant(invalidGrant)
	}
	base := session.Session{CompanyID: co.ID, Company: co.Slug, EmployeeID: employeeID, CreatedAt: now, LastSeen: now,
		Family: family, ClientID: clientID, Via: "oauth", CertSHA256: cert,
		UserAgent: httpx.Truncate(c.Request().UserAgent(), 200), RemoteIP: c.RealIP()}
	access, refresh := session.NewSecret(), session.NewSecret()
	as, rs := base, base
	as.ID, as.Kind, as.ExpiresAt = session.Key(access), session.KindBearer, now.Add(s.accessTTL)
	if as.ExpiresAt.After(until) {
		as.ExpiresAt = until
	}
	rs.ID, rs.Kind, rs.ExpiresAt = session.Key(refresh), session.KindRefresh, until
	undo := func() {
		for _, id := range []string{as.ID, rs.ID} {
			if err := s.sessions.Delete(ctx, id); err != nil {
				s.log.Warn("oauth: delete half-issued token", "company", co.Slug, "err", err)
			}
		}
	}
	for _, ts := range []*session.Session{&as, &rs} {
		if err := s.sessions.Create(ctx, ts); err != nil {
			undo()
			// ErrExists: the family was revoked while this token was being
			// written (a reuse racing with this request).
			if errors.Is(err, session.ErrExists) || errors.Is(err, session.ErrInvalid) {
				return nil, errGrant(invalidGrant)
			}
			return nil, errServer(fmt.Errorf("create %s token: %w", ts.Kind, err))
		}
	}
	// Check the employee after the tokens exist: a deactivation racing with
	// this request then either sees them (RevokeEmployee) or is seen here.
	e, err := s.dir.GetEmployee(ctx, co.ID, employeeID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		undo()
		return nil, errServer(fmt.Errorf("load employee: %w", err))
	}
	if err != nil || !e.Active || !e.Visible() {
		undo()
		return nil, errGrant("the employee is not active")
	}
	// A reuse that raced with this request may have revoked the family
	// before these tokens existed.
	if _, err := s.sessions.Take(ctx, oauthRevokedPrefix+family); err == nil {
		s.revokeFamily(c, co, family, "grant revoked while tokens were issued")
		return nil, errGrant(invalidGrant)
	} else if !errors.Is(err, session.ErrNotFound) {
		undo()
		return nil, errServer(fmt.Errorf("check family: %w", err))
	}
	s.logOAuth(c, slog.LevelInfo, "oauth tokens issued", slog.String("company", co.Slug), slog.String("client_id", clientID),
		slog.String("employee", employeeID))
	return &tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(as.ExpiresAt.Sub(now) / time.Second),
		RefreshToken: refresh}, nil
}

// revokeFamily deletes every token of one sign-in and flags the family, so
// tokens being issued for it at this moment are revoked too.
// reused answers a code or refresh token the store no longer holds. When
// its marker shows it was spent, every token of its family is revoked
// (RFC 6749 §4.1.2, §10.4) and desc says so; otherwise it is simply unknown.
func (s *Server) reused(c echo.Context, co *directory.Company, marker, why, desc string) *oauthErr {
	fam, err := s.sessions.Take(c.Request().Context(), marker)
	switch {
	case err == nil:
		s.revokeFamily(c, co, string(fam), why)
		return errGrant(desc)
	case !errors.Is(err, session.ErrNotFound):
		return errServer(fmt.Errorf("take marker (%s): %w", why, err))
	}
	return errGrant(invalidGrant)
}

func (s *Server) revokeFamily(c echo.Context, co *directory.Company, family, why string) {
	ctx := c.Request().Context()
	if err := s.sessions.Put(ctx, oauthRevokedPrefix+family, []byte("1"), s.refreshTTL); err != nil {
		s.log.Warn("oauth: flag revoked family", "company", co.Slug, "err", err)
	}
	n, err := s.sessions.RevokeFamily(ctx, family)
	if err != nil {
		s.log.Error("oauth: revoke family", "company", co.Slug, "err", err)
		return
	}
	s.logOAuth(c, slog.LevelWarn, "oauth tokens revoked", slog.String("company", co.Slug), slog.String("why", why), slog.Int("tokens", n))
}

// revoke is the RFC 7009 revocation endpoint: the app's sign-out. A refresh
// token takes its whole family with it; an access token goes alone. It
// answers 200 for unknown tokens too (RFC 7009 §2.2).
func (s *Server) revoke(c echo.Context) error {
	httpx.NoStore(c.Response())
	co, err := s.company(c)
	if err != nil {
		return s.tokenError(c, nil, companyErr(err))
	}
	f, oe := tokenForm(c)
	var client *directory.OAuthClient
	if oe == nil {
		client, oe = s.tokenClient(c, co, f)
	}
	if oe == nil && f.Get("token") == "" {
		oe = errRequest("token is required")
	}
	if oe != nil {
		return s.tokenError(c, co, oe)
	}
	if tok := f.Get("token"); isSecret(tok) {
		sess, err := s.sessions.Get(c.Request().Context(), session.Key(tok))
		switch {
		case err == nil && sess.CompanyID == co.ID && sess.ClientID == client.ClientID:
			if sess.Kind == session.KindRefresh && sess.Family != "" {
				s.revokeFamily(c, co, sess.Family, "revoked by the app")
			} else if sess.Kind == session.KindBearer {
				if err := s.sessions.Delete(c.Request().Context(), sess.ID); err != nil {
					return s.tokenError(c, co, errServer(err))
				}
			}
		case err != nil && !errors.Is(err, session.ErrNotFound):
			return s.tokenError(c, co, errServer(err))
		}
	}
	return c.NoContent(http.StatusOK)
}

// tokenForm reads the token request: a url-encoded body of at most 64 KiB,
// every parameter at most once. Parameters in the URL are ignored.
func tokenForm(c echo.Context) (url.Values, *oauthErr) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errRequest("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, oauthMaxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errRequest("the request body is too large")
		}
		return nil, errRequest("the form body is malformed")
	}
	for _, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, errRequest("parameters must not be repeated")
		}
	}
	return r.PostForm, nil
}

// tokenClient identifies the (public) client: client_id in the body, or
// HTTP Basic with an empty password (RFC 6749 §2.3.1). Public clients have
// no secret, so one that sends a secret is refused.
func (s *Server) tokenClient(c echo.Context, co *directory.Company, f url.Values) (*directory.OAuthClient, *oauthErr) {
	id := f.Get("client_id")
	if c.Request().Header.Get("Authorization") != "" {
		user, pass, ok := c.Request().BasicAuth()
		if !ok {
			return nil, errClient("unsupported client authentication; send client_id in the body")
		}
		u, err := url.QueryUnescape(user)
		if err != nil || pass != "" {
			return nil, errClient("public clients have no client secret")
		}
		if id != "" && id != u {
			return nil, errRequest("client_id differs from the Authorization header")
		}
		id = u
	}
	if f.Get("client_secret") != "" {
		return nil, errClient("public clients have no client secret")
	}
	if id == "" {
		return nil, errClient("client_id is required")
	}
	if !oauthsyntax.VSChar(id, maxClientIDLen) {
		return nil, errClient("unknown client")
	}
	cl, err := s.dir.GetOAuthClient(c.Request().Context(), co.ID, id)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, errClient("unknown client")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("load oauth client: %w", err))
	}
	return cl, nil
}

// tokenError writes an RFC 6749 §5.2 JSON error (not through the page
// error handler), logs why without secrets, and throttles repeated client
// mistakes per company and IP.
func (s *Server) tokenError(c echo.Context, co *directory.Company, oe *oauthErr) error {
	slug := ""
	if co != nil {
		slug = co.Slug
	}
	if oe.status == http.StatusServiceUnavailable {
		s.noteOutage(c, httpx.OutageOf(oe.cause), oe.cause)
		s.countToken(oe.code)
		return c.JSON(oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
	}
	level := slog.LevelInfo
	if oe.status >= 500 {
		level = slog.LevelError
	}
	s.logOAuth(c, level, "oauth request refused", slog.String("company", slug), slog.String("path", c.Request().URL.Path),
		slog.String("error", oe.code), slog.String("why", oe.desc), slog.Any("cause", oe.cause))
	if oe.count && co != nil {
		wait, err := throttle.Limit{Store: s.sessions, Max: oauthBadLimit, Window: oauthBadWindow}.Hit(c.Request().Context(),
			oauthBadPrefix+strconv.FormatInt(co.ID, 10)+":"+throttle.ClientKey(c.RealIP()))
		if err != nil {
			s.log.Warn("oauth: throttle unavailable", "company", slug, "err", err)
		} else if wait > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(throttle.Seconds(wait)))
			oe = &oauthErr{status: http.StatusTooManyRequests, code: "slow_down",
				desc: "too many failed requests from this address; wait a minute"}
		}
	}
	if oe.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="ssogate"`)
	}
	s.countToken(oe.code)
	return c.JSON(oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
}

// companyErr turns Options.Company's refusal into a token-endpoint error.
func companyErr(err error) *oauthErr {
	var ue *httpx.ErrorPage
	if errors.As(err, &ue) {
		return &oauthErr{status: ue.Status, code: "invalid_request", desc: "unknown company in the token endpoint URL", cause: err}
	}
	return errServer(err)
}

// Package oauthserver is the mobile app's OAuth 2.0 authorization server:
// the authorization code flow with PKCE for native apps, its consent step,
// refresh-token rotation and revocation, under /c/{company}/oauth/.
//
// It owns the protocol rules of those endpoints and the records it keeps in
// the session store (codes, tokens, their replay markers). It does not own
// companies, the browser sign-in, pages or metrics: web hands it, through
// Options, the company of a request, the browser session, the way to send a
// browser to the login and back, a page renderer and the counters. It must
// not import web (web imports it), SAML or a concrete store.
package oauthserver

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// Templates holds the pages of this package (templates/*.html). web parses
// them into its own set, beside the "top" and "bottom" blocks they use, and
// renders them through Options.Render.
//
//go:embed templates/*.html
var Templates embed.FS

// Store is the part of the session store the server uses: one-shot values
// and markers (Put, Take, Consume), the throttle counter (Count), and the
// token records (Create, Get, Delete, RevokeFamily).
type Store interface {
	Create(ctx context.Context, s *session.Session) error
	Get(ctx context.Context, id string) (*session.Session, error)
	Delete(ctx context.Context, id string) error
	RevokeFamily(ctx context.Context, family string) (int, error)
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Take(ctx context.Context, key string) ([]byte, error)
	Consume(ctx context.Context, key string, until time.Time) error
	throttle.Counter
}

var _ Store = session.Store(nil)

// BrowserSessions finds the browser's session at a company: only the
// session cookie counts (never a bearer token), and session.ErrNotFound
// means there is none.
type BrowserSessions interface {
	CurrentFor(ctx context.Context, r *http.Request, companyID int64) (*session.Session, error)
}

var _ BrowserSessions = (*session.Manager)(nil)

// Directory is what the server reads from the directory: the registered
// clients and the employee a code or token stands for.
type Directory interface {
	GetOAuthClient(ctx context.Context, companyID int64, clientID string) (*directory.OAuthClient, error)
	GetEmployee(ctx context.Context, companyID int64, id string) (*directory.Employee, error)
}

var _ Directory = directory.Store(nil)

// Options is what web hands the server. Every field is required but Logger,
// Now and CountToken.
type Options struct {
	Sessions Store
	Browser  BrowserSessions
	Dir      Directory
	Logger   *slog.Logger     // nil: discard
	Now      func() time.Time // nil: time.Now

	// Company resolves the request's :company. Its error is either a
	// *httpx.ErrorPage (an unknown company: the page error handler renders
	// it, and the token endpoints answer invalid_request with its status)
	// or a failure.
	Company func(c echo.Context) (*directory.Company, error)
	// Login sends a browser without a live session to the company's
	// sign-in, which returns it to returnTo (a path of this server, at
	// most 2048 bytes) once signed in.
	Login func(c echo.Context, co *directory.Company, returnTo string) error
	// Render writes one of Templates with data.
	Render func(c echo.Context, status int, name string, data any) error
	// NoteOutage counts and logs a 503 answered for an outage of store
	// (httpx.OutageOf's name) and sets Retry-After.
	NoteOutage func(c echo.Context, store string, cause error)
	// CountToken counts one answer of the token or revocation endpoint by
	// outcome: "issued", or the RFC 6749 error code (nil: not counted).
	CountToken func(outcome string)

	CodeTTL    time.Duration // an authorization code (SSOGATE_OAUTH_CODE_TTL)
	AccessTTL  time.Duration // an access token (SSOGATE_OAUTH_ACCESS_TTL)
	RefreshTTL time.Duration // a sign-in's refresh tokens, from the sign-in on (SSOGATE_OAUTH_REFRESH_TTL)
	ConsentTTL time.Duration // a consent page's nonce
}

// Server serves /oauth/authorize, /oauth/token and /oauth/revoke.
type Server struct {
	sessions   Store
	browser    BrowserSessions
	dir        Directory
	log        *slog.Logger
	now        func() time.Time
	company    func(echo.Context) (*directory.Company, error)
	login      func(echo.Context, *directory.Company, string) error
	render     func(echo.Context, int, string, any) error
	noteOutage func(echo.Context, string, error)
	countToken func(string)

	codeTTL, accessTTL, refreshTTL, consentTTL time.Duration
}

// New checks o and builds the server.
func New(o Options) (*Server, error) {
	var missing []error
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"Sessions", o.Sessions != nil}, {"Browser", o.Browser != nil}, {"Dir", o.Dir != nil},
		{"Company", o.Company != nil}, {"Login", o.Login != nil}, {"Render", o.Render != nil},
		{"NoteOutage", o.NoteOutage != nil}, {"CodeTTL", o.CodeTTL > 0}, {"AccessTTL", o.AccessTTL > 0},
		{"RefreshTTL", o.RefreshTTL > 0}, {"ConsentTTL", o.ConsentTTL > 0},
	} {
		if !f.ok {
			missing = append(missing, errors.New("oauthserver: Options."+f.name+" is required"))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CountToken == nil {
		o.CountToken = func(string) {}
	}
	return &Server{sessions: o.Sessions, browser: o.Browser, dir: o.Dir, log: o.Logger, now: o.Now,
		company: o.Company, login: o.Login, render: o.Render, noteOutage: o.NoteOutage, countToken: o.CountToken,
		codeTTL: o.CodeTTL, accessTTL: o.AccessTTL, refreshTTL: o.RefreshTTL, consentTTL: o.ConsentTTL}, nil
}

// Routes adds the endpoints to a /c/:company group.
func (s *Server) Routes(g *echo.Group) {
	g.GET("/oauth/authorize", s.authorize)
	g.POST("/oauth/authorize", s.authorize) // the consent form (RFC 8252 §8.6)
	g.POST("/oauth/token", s.token)
	g.POST("/oauth/revoke", s.revoke)
}

package oauthserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// Consent for redirect URIs another program could claim (RFC 8252 §8.6):
// any app on a phone can register a custom scheme such as com.example.app:,
// and any local process can bind a loopback port (http://127.0.0.1:PORT/…)
// before the real app does, so a code sent to either may reach an
// impostor. A browser that is already signed in therefore gets a code for
// such a redirect only after the employee confirms, with one click, which
// app is signing in. Only https redirect URIs (universal / app links,
// verified by the operating system) stay silent.
//
// The confirmation is a POST carrying a single-use nonce bound to the
// browser's session and to the exact authorization request, so neither a
// cross-site form (which, SameSite=Lax, carries no session cookie anyway)
// nor a replayed or transplanted confirmation yields a code.

const oauthConsentPrefix = "oauth:consent:"

// needsConsent reports whether a redirect URI is one another program could
// claim: everything but https (custom schemes and loopback http alike).
func needsConsent(redirectURI string) bool {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return true
	}
	return !strings.EqualFold(u.Scheme, "https") || u.Host == ""
}

// consentBinding ties a nonce to one session and one request.
func consentBinding(sessionID, rawQuery string) string {
	sum := sha256.Sum256([]byte(sessionID + "\n" + rawQuery))
	return hex.EncodeToString(sum[:])
}

// consent shows the confirmation page (GET) or checks it and runs issue
// (POST). fail sends an RFC 6749 error to the (already trusted) redirect URI.
func (s *Server) consent(c echo.Context, co *directory.Company, client *directory.OAuthClient, sess *session.Session,
	e *directory.Employee, rawQuery string, fail func(code, desc string) error, issue func() error) error {
	ctx := c.Request().Context()
	r := c.Request()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(c.Response(), r.Body, 4<<10)
		if err := r.ParseForm(); err != nil {
			return badAuthorizePage("invalid_request", "The confirmation could not be read.", err)
		}
		nonce := r.PostForm.Get("consent")
		if len(nonce) != 43 || !isB64URL(nonce) {
			return badAuthorizePage("invalid_request", "The confirmation is missing or damaged. Start the sign-in again from the app.", nil)
		}
		bound, err := s.sessions.Take(ctx, oauthConsentPrefix+session.Key(nonce))
		if errors.Is(err, session.ErrNotFound) {
			return badAuthorizePage("invalid_request", "This confirmation was already used or has expired. Start the sign-in again from the app.", nil)
		}
		if err != nil {
			return fmt.Errorf("take consent: %w", err)
		}
		if subtle.ConstantTimeCompare(bound, []byte(consentBinding(sess.ID, rawQuery))) != 1 {
			return badAuthorizePage("invalid_request", "This confirmation belongs to another sign-in. Start the sign-in again from the app.", nil)
		}
		if r.PostForm.Get("decision") != "allow" {
			return fail("access_denied", "the employee declined the sign-in")
		}
		return issue()
	}
	nonce := session.NewSecret()
	if err := s.sessions.Put(ctx, oauthConsentPrefix+session.Key(nonce), []byte(consentBinding(sess.ID, rawQuery)), s.consentTTL); err != nil {
		return fmt.Errorf("store consent: %w", err)
	}
	name := strings.TrimSpace(e.GivenName + " " + e.FamilyName)
	app := client.Name
	if app == "" {
		app = client.ClientID
	}
	return s.render(c, http.StatusOK, "oauth_consent.html", consentPage{
		Company: co, Name: name, UserName: e.UserName, App: app,
		Action: "/c/" + co.Slug + "/oauth/authorize?" + rawQuery, Nonce: nonce,
	})
}

// consentPage is what oauth_consent.html shows: who signs in, to which
// app, and the form that confirms it.
type consentPage struct {
	Company  *directory.Company
	Name     string // the employee's given and family name
	UserName string
	App      string // the client's name, or its client_id
	Action   string // the authorization request, to post the decision to
	Nonce    string // single use, bound to the session and the request
}

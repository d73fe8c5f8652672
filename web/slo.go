package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// SAML Single Logout with Entra (HTTP-Redirect binding), for companies that
// switched it on (Company.SLOEnabled):
//
//   - Entra's LogoutRequest at GET /c/{company}/saml/slo (Entra: Logout
//     Url) ends every browser session of the employee it names (console
//     sessions made through Entra included; mobile tokens are not browser
//     sessions and stay) on every instance, and answers a LogoutResponse
//     at Entra's logout endpoint.
//   - Signing out (POST /c/{company}/logout) ends the browser session here
//     and then sends the browser to Entra with a LogoutRequest; Entra's
//     LogoutResponse comes back to the same /saml/slo and lands on
//     /c/{company}/signed-out.

// pendingLogout links an SP-initiated LogoutRequest to Entra's answer. It
// lives in the session store under logoutPrefix+RelayState and is taken
// by the first answer that names it.
type pendingLogout struct {
	RequestID string    `json:"rid"`
	Company   string    `json:"co"`
	Created   time.Time `json:"at"`
}

const logoutPrefix = "samllogout:"

// sessionIndexKey maps a SAML SessionIndex (Entra: the assertion ID) of a
// company to the employee it signed in, for LogoutRequests that name the
// session rather than (or besides) the user.
func sessionIndexKey(companyID int64, idx string) string {
	return fmt.Sprintf("samlsessidx:%d:%s", companyID, idx)
}

// rememberSAMLSession keeps what a later Single Logout needs: the subject
// in the browser session (done by the caller) and the SessionIndex →
// employee link, for as long as a session can live.
func (s *Server) rememberSAMLSession(ctx context.Context, co *directory.Company, id *sso.Identity, employeeID string) {
	if !co.SLOEnabled || id.SessionIndex == "" || len(id.SessionIndex) > 256 {
		return
	}
	if err := s.sessions.Put(ctx, sessionIndexKey(co.ID, id.SessionIndex), []byte(employeeID), s.cfg.SessionAbsolute); err != nil {
		s.log.Warn("remember SAML session index", "company", co.Slug, "err", err)
	}
}

// slo is Entra's Logout Url: a LogoutRequest (Entra-initiated) or a
// LogoutResponse (the answer to our own sign-out).
func (s *Server) slo(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	if c.Request().URL.Query().Get("SAMLResponse") != "" {
		return s.sloResponse(c, t)
	}
	return s.sloRequest(c, t)
}

func (s *Server) sloRequest(c echo.Context, t *tenant) error {
	r := c.Request()
	ctx := r.Context()
	co := t.Company
	if !co.SLOEnabled {
		s.countLogout("idp", "slo_disabled")
		s.log.Warn("logout request refused", "company", co.Slug, "reason", "slo_disabled")
		return refuse(http.StatusForbidden, "slo_disabled", "Single logout is not switched on",
			"Signing out through Microsoft is not switched on for "+co.Name+".",
			"Sign out with the app's Sign out button. Administrators: switch on Single Logout in the SSO settings, or clear Entra's Logout Url.", nil)
	}
	if t.SP == nil {
		s.countLogout("idp", "not_configured")
		return refuse(http.StatusForbidden, "not_configured", "Single sign-on is not set up yet",
			"Signing in and out with Microsoft is not fully set up for "+co.Name+".",
			"Ask your administrator to paste the Entra certificate in ssogate.", t.SPErr)
	}
	lr, err := t.SP.ParseLogoutRequest(ctx, r, replayCache{s.sessions, co.ID})
	if err != nil {
		return s.refuseLogout(ctx, co, "idp", err)
	}
	emp, how, err := s.logoutSubject(ctx, co, lr)
	if err != nil {
		return fmt.Errorf("logout: find employee: %w", err)
	}
	ended := 0
	if emp != "" {
		ended, err = s.endBrowserSessions(ctx, co.ID, emp)
		if err != nil {
			return fmt.Errorf("logout: end sessions: %w", err)
		}
	}
	// This browser's own cookies go too: it is the one Entra signed out.
	s.browser.ExpireCookie(c.Response())
	s.clearBindCookie(c)
	s.countLogout("idp", "ok")
	s.log.Info("single logout from Entra", "company", co.Slug, "employee", emp, "matched_by", how, "sessions_ended", ended, "signed", lr.Signed)
	relay := r.URL.Query().Get("RelayState")
	if len(relay) > sso.MaxRelayStateLen {
		relay = "" // not ours to echo: the bindings cap it at 80 bytes
	}
	to, err := t.SP.LogoutResponseURL(lr.ID, relay)
	if errors.Is(err, sso.ErrNoIDPSSOURL) {
		return s.render(c, http.StatusOK, "signedout.html", co)
	}
	if err != nil {
		return fmt.Errorf("logout response: %w", err)
	}
	return c.Redirect(http.StatusFound, to)
}

// logoutSubject finds the employee a LogoutRequest names: by a
// SessionIndex this gateway handed out at sign-in, else by the NameID as
// the company matches NameIDs. It returns "" when nobody matches.
func (s *Server) logoutSubject(ctx context.Context, co *directory.Company, lr *sso.LogoutRequest) (string, string, error) {
	for _, idx := range lr.SessionIndexes {
		if len(idx) > 256 {
			continue
		}
		// Take: a SessionIndex ends its sessions once.
		raw, err := s.sessions.Take(ctx, sessionIndexKey(co.ID, idx))
		if err == nil && len(raw) > 0 {
			return string(raw), "session_index", nil
		}
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			return "", "", err
		}
	}
	var e *directory.Employee
	var err error
	if co.NameIDMode == directory.NameIDMail {
		e, err = s.dir.FindEmployeeByEmail(ctx, co.ID, lr.NameID)
	} else {
		e, err = s.dir.FindEmployeeByUserName(ctx, co.ID, lr.NameID)
	}
	if errors.Is(err, directory.ErrNotFound) {
		return "", "none", nil
	}
	if err != nil {
		return "", "", err
	}
	return e.ID, "nameid", nil
}

// endBrowserSessions deletes every session of the employee that a browser
// holds (the app's and the admin console's), never the mobile app's tokens.
func (s *Server) endBrowserSessions(ctx context.Context, companyID int64, employeeID string) (int, error) {
	list, err := s.sessions.ListEmployee(ctx, companyID, employeeID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ss := range list {
		if ss.Kind != session.KindBrowser && ss.Kind != session.KindAdmin {
			continue
		}
		if err := s.sessions.Delete(ctx, ss.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Server) sloResponse(c echo.Context, t *tenant) error {
	r := c.Request()
	ctx := r.Context()
	co := t.Company
	relay := r.URL.Query().Get("RelayState")
	var p pendingLogout
	found := false
	if len(relay) == 22 && !strings.ContainsAny(relay, "/:") {
		raw, err := s.sessions.Take(ctx, logoutPrefix+relay)
		switch {
		case err == nil:
			found = json.Unmarshal(raw, &p) == nil && p.Company == co.Slug && p.RequestID != ""
		case !errors.Is(err, session.ErrNotFound):
			return fmt.Errorf("take pending logout: %w", err)
		}
	}
	if !found {
		return s.refuseLogout(ctx, co, "sp", &sso.Error{Reason: sso.ReasonUnknownRequest,
			Detail: "the LogoutResponse answers no sign-out pending here (unknown, used or expired RelayState)"})
	}
	if t.SP == nil {
		return s.refuseLogout(ctx, co, "sp", &sso.Error{Reason: sso.ReasonInternal, Detail: "no SAML settings to check the LogoutResponse with", Err: t.SPErr})
	}
	if _, err := t.SP.ParseLogoutResponse(r, p.RequestID); err != nil {
		return s.refuseLogout(ctx, co, "sp", err)
	}
	s.countLogout("sp", "ok")
	s.log.Info("single logout confirmed by Entra", "company", co.Slug)
	return c.Redirect(http.StatusSeeOther, "/c/"+co.Slug+"/signed-out")
}

// refuseLogout logs a refused logout message and answers a user-safe page.
// Nothing was ended for a refused LogoutRequest; for a refused
// LogoutResponse the session here had already ended at sign-out.
func (s *Server) refuseLogout(ctx context.Context, co *directory.Company, direction string, err error) error {
	if httpx.OutageOf(err) != "" {
		// The replay cache could not record the message: our outage, a 503
		// (Entra's sign-out may be retried), not a refused sign-out.
		return fmt.Errorf("logout: %w", err)
	}
	reason, detail := "internal", err.Error()
	var se *sso.Error
	if errors.As(err, &se) {
		reason, detail = string(se.Reason), se.Detail
	}
	s.countLogout(direction, reason)
	s.log.LogAttrs(ctx, slog.LevelWarn, "logout message refused", slog.String("company", co.Slug), slog.String("direction", direction),
		slog.String("reason", reason), slog.String("detail", detail), slog.Any("cause", errors.Unwrap(err)))
	status := http.StatusForbidden
	if reason == string(sso.ReasonMalformed) || reason == string(sso.ReasonDoctype) {
		status = http.StatusBadRequest
	}
	if direction == "sp" {
		return refuse(status, "logout_unconfirmed", "Signed out here",
			"You are signed out of "+co.Name+", but Microsoft's confirmation could not be verified: you may still be signed in to Microsoft.",
			"Close the browser to end the Microsoft session, or sign out of your Microsoft account.", nil)
	}
	return refuse(status, "logout_refused", "Sign-out request not accepted",
		"A request to sign you out of "+co.Name+" could not be verified, so nothing was changed.",
		"To sign out, use the app's Sign out button. If this keeps happening, tell your IT department the time it happened.", nil)
}

func (s *Server) countLogout(direction, outcome string) {
	s.metrics.logouts.WithLabelValues(direction, outcome).Inc()
}

// startSingleLogout sends the browser on to Entra after our own sign-out
// when the company uses Single Logout and the session came from a SAML
// login. It returns "" when there is nowhere to go.
func (s *Server) startSingleLogout(ctx context.Context, t *tenant, sess *session.Session) string {
	co := t.Company
	if !co.SLOEnabled || t.SP == nil || sess == nil || sess.SAMLNameID == "" || t.SP.IDPSLOURL() == "" {
		return ""
	}
	relay := session.NewSecret()[:22]
	to, reqID, err := t.SP.LogoutRequestURL(sess.SAMLNameID, sess.SAMLNameIDFormat, sess.SAMLSessionIndex, relay)
	if err != nil {
		s.log.Warn("single logout: make LogoutRequest", "company", co.Slug, "err", err)
		return ""
	}
	raw, _ := json.Marshal(pendingLogout{RequestID: reqID, Company: co.Slug, Created: s.now()})
	if err := s.sessions.Put(ctx, logoutPrefix+relay, raw, s.cfg.SAMLRequestTTL); err != nil {
		s.log.Warn("single logout: store pending request", "company", co.Slug, "err", err)
		return ""
	}
	if sess.SAMLSessionIndex != "" {
		_ = s.sessions.Delete(ctx, sessionIndexKey(co.ID, sess.SAMLSessionIndex))
	}
	s.countLogout("sp", "started")
	return to
}

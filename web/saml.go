package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// pendingRequest links the two legs of an SP-initiated login. It lives in
// the session store under "samlreq:"+RelayState, so the ACS POST may land on
// any instance, and is taken (deleted) by the first POST that names it.
type pendingRequest struct {
	RequestID string    `json:"rid"`
	Company   string    `json:"co"`
	ReturnTo  string    `json:"to"`
	Created   time.Time `json:"at"`
	// Browser is Key() of the login cookie of the browser that started
	// the request: the answer is accepted only from that browser, so an
	// attacker's own request and assertion cannot sign a victim's browser
	// in to the attacker's account (login CSRF).
	Browser string `json:"br"`
}

const pendingPrefix = "samlreq:"

// loginCookieName names the cookie that binds SP-initiated requests to the
// browser that started them. Entra answers with a cross-site POST, which
// carries SameSite=None cookies only (Secure, so https); on plain http the
// cookie is Lax, which the POST carries when the IdP is on the same site
// (the demo's and tests' fake Entra; real Entra needs https anyway).
func (s *Server) loginCookieName() string {
	if s.cfg.Secure() {
		return "__Host-ssogate_login"
	}
	return "ssogate_login"
}

// loginBinding returns this browser's login-cookie secret, setting a new
// cookie when it has none: every tab of one browser shares it, so parallel
// sign-ins do not undo each other. The cookie lives as long as a pending
// request.
func (s *Server) loginBinding(c echo.Context) string {
	secret := ""
	if ck, err := c.Cookie(s.loginCookieName()); err == nil && len(ck.Value) == 43 && !strings.ContainsAny(ck.Value, "+/=") {
		secret = ck.Value
	} else {
		secret = session.NewSecret()
	}
	same := http.SameSiteLaxMode
	if s.cfg.Secure() {
		same = http.SameSiteNoneMode
	}
	c.SetCookie(&http.Cookie{Name: s.loginCookieName(), Value: secret, Path: "/", HttpOnly: true, Secure: s.cfg.Secure(),
		SameSite: same, MaxAge: int(s.cfg.SAMLRequestTTL / time.Second)})
	return secret
}

// sameBrowser reports whether the request carries the login cookie the
// pending request p was bound to.
func (s *Server) sameBrowser(c echo.Context, p *pendingRequest) bool {
	ck, err := c.Cookie(s.loginCookieName())
	if err != nil || ck.Value == "" || p.Browser == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(session.Key(ck.Value)), []byte(p.Browser)) == 1
}

// bindCookie names the current session of this browser to the ACS. The
// session cookie is SameSite=Lax and so is not sent on Entra's cross-site
// POST; this one (SameSite=None on https) lets the ACS destroy the session it
// replaces. Its value is the store key, which cannot be turned back into a
// usable cookie.
func (s *Server) bindCookieName() string {
	if s.cfg.Secure() {
		return "__Host-ssogate_bind"
	}
	return "ssogate_bind"
}

// login starts an SP-initiated login: GET /c/{company}/login?return_to=…
func (s *Server) login(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	if ue := s.ssoAvailable(c.Request().Context(), t, c.RealIP()); ue != nil {
		return ue
	}
	target := s.safeTarget(c.QueryParam("return_to"), t.Company.Slug)
	relay := session.NewSecret()[:22] // 132 bits; RelayState must stay under 80 bytes
	badLoginURL := func(cause error) error {
		s.recordFailure(c.Request().Context(), t.Company, "login_url_not_allowed", "no usable IdP Login URL: the one set is not a Microsoft sign-in host nor in SSOGATE_IDP_LOGIN_HOSTS, and none can be derived from the Entra Identifier; correct it under SSO settings", "", c.RealIP())
		return refuse(http.StatusForbidden, "login_url_not_allowed", "Single sign-on is not set up correctly",
			"The sign-in address set for "+t.Company.Name+" is not a Microsoft sign-in page.",
			"Ask your IT department to correct the Login URL in the admin console (SSO settings).", cause)
	}
	if s.checkedLoginURL(t.Company) == "" {
		return badLoginURL(errors.New("no allowed IdP Login URL"))
	}
	redirect, reqID, err := t.SP.AuthnRequest(relay)
	if err != nil {
		return fmt.Errorf("make AuthnRequest: %w", err)
	}
	// Checked again where the browser is sent: never anywhere but a
	// Microsoft sign-in host or one the operator allowed.
	dest, _, _ := strings.Cut(redirect, "?")
	if err := sso.CheckLoginURL(dest, s.cfg.IDPLoginHosts); err != nil {
		return badLoginURL(err)
	}
	raw, _ := json.Marshal(pendingRequest{RequestID: reqID, Company: t.Company.Slug, ReturnTo: target, Created: s.now(),
		Browser: session.Key(s.loginBinding(c))})
	if err := s.sessions.Put(c.Request().Context(), pendingPrefix+relay, raw, s.cfg.SAMLRequestTTL); err != nil {
		return fmt.Errorf("store pending SAML request: %w", err)
	}
	return c.Redirect(http.StatusFound, redirect)
}

// ssoAvailable refuses logins when SSO is off or not configured.
func (s *Server) ssoAvailable(ctx context.Context, t *tenant, ip string) *errorPage {
	if !t.Company.SSOEnabled {
		s.recordFailure(ctx, t.Company, "sso_disabled", "single sign-on is disabled for this company", "", ip)
		return refuse(http.StatusForbidden, "sso_disabled", "Single sign-on is switched off",
			"Signing in with Microsoft is switched off for "+t.Company.Name+".",
			"Ask your administrator; setup admins can still sign in to the admin console with their local password.", nil)
	}
	if t.SP == nil {
		s.recordFailure(ctx, t.Company, "not_configured", t.SPErr.Error(), "", ip)
		return refuse(http.StatusForbidden, "not_configured", "Single sign-on is not set up yet",
			"Signing in with Microsoft is not fully set up for "+t.Company.Name+".",
			"Ask your administrator to paste the Entra certificate in ssogate.", t.SPErr)
	}
	return nil
}

// metadata serves the SP metadata; its URL is the SP Entity ID.
func (s *Server) metadata(c echo.Context) error {
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	var xml []byte
	if t.SP != nil {
		xml, err = t.SP.Metadata()
	} else {
		// Metadata needs no IdP certificate (a company being set up).
		var keys []sso.DecryptionKey
		if keys, err = s.encryptionKeys(c.Request().Context(), t.Company); err == nil {
			xml, err = sso.MetadataXML(sso.Settings{EntityID: s.companyURL(t.Company.Slug, "/saml/metadata"),
				ACSURL: s.companyURL(t.Company.Slug, "/saml/acs"), IDPSSOURL: loginURL(t.Company),
				SLOURL:       s.companyURL(t.Company.Slug, "/saml/slo"),
				NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
				Encryption:   string(t.Company.TokenEncryption), DecryptionKeys: keys}, s.ssoOpts)
		}
	}
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", xml)
}

// acs is the Assertion Consumer Service (Entra: Reply URL).
func (s *Server) acs(c echo.Context) error {
	start := time.Now()
	err := s.acsLogin(c)
	outcome := "success"
	if err != nil {
		outcome = "refused"
		// An outage is not a refusal: its own outcome, and never a stored
		// sign-in failure (the error handler answers 503).
		if store := httpx.OutageOf(err); store != "" {
			outcome = "unavailable"
			s.metrics.logins.WithLabelValues("unavailable", store).Inc()
		}
	}
	s.metrics.acsDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return err
}

func (s *Server) acsLogin(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	ip := c.RealIP()
	t, err := s.tenantOf(c)
	if err != nil {
		if httpx.OutageOf(err) == "" {
			s.metrics.logins.WithLabelValues("refused", "unknown_company").Inc()
		}
		return err
	}
	co := t.Company
	r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.ACSMaxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return s.refuseLogin(ctx, co, "too_large", fmt.Sprintf("ACS body over %d bytes", s.cfg.ACSMaxBody), "", ip, err)
		}
		return s.refuseLogin(ctx, co, "malformed", "unreadable form body", "", ip, err)
	}
	if ue := s.ssoAvailable(ctx, t, ip); ue != nil {
		s.metrics.logins.WithLabelValues("refused", ue.Code()).Inc()
		return ue
	}
	relay := r.PostForm.Get("RelayState")
	var requestIDs []string
	target := ""
	via := "saml:idp"
	if len(relay) == 22 && !strings.ContainsAny(relay, "/:") {
		raw, err := s.sessions.Take(ctx, pendingPrefix+relay)
		switch {
		case err == nil:
			var p pendingRequest
			if json.Unmarshal(raw, &p) != nil || p.Company != co.Slug || p.RequestID == "" {
				return s.refuseLogin(ctx, co, "unknown_request", "the pending request belongs to another company or is corrupt", "", ip, nil)
			}
			// Before the response is even parsed (so no replay record):
			// the answer must come back to the browser that asked.
			if !s.sameBrowser(c, &p) {
				return s.refuseLogin(ctx, co, "other_browser", "the sign-in answers a request started in another browser (its login cookie is missing or different): a forwarded sign-in, or login CSRF", "", ip, nil)
			}
			requestIDs, target, via = []string{p.RequestID}, p.ReturnTo, "saml:sp"
		case errors.Is(err, session.ErrNotFound):
			// Not ours, used already, or expired: treat as IdP-initiated; a
			// response carrying an InResponseTo is then refused by sso.
		default:
			return fmt.Errorf("take pending SAML request: %w", err)
		}
	}
	if requestIDs == nil {
		target = s.safeTarget(relay, co.Slug)
	}
	id, err := t.SP.ParseResponse(ctx, r, requestIDs, replayCache{s.sessions, co.ID})
	if err != nil {
		if httpx.OutageOf(err) != "" {
			// The replay cache could not record the assertion: our outage.
			return fmt.Errorf("consume assertion id: %w", err)
		}
		var se *sso.Error
		if errors.As(err, &se) {
			return s.refuseLogin(ctx, co, string(se.Reason), se.Detail, "", ip, se.Err)
		}
		return s.refuseLogin(ctx, co, "internal", "unclassified validation error", "", ip, err)
	}
	if co.EntraIdentifier == "" && co.PinnedIssuer == "" {
		pinned, err := s.dir.PinIssuer(ctx, co.ID, id.Issuer)
		if err != nil {
			return fmt.Errorf("pin issuer: %w", err)
		}
		if pinned != id.Issuer {
			return s.refuseLogin(ctx, co, "wrong_issuer", fmt.Sprintf("expected issuer %q (pinned at first login), got %q", pinned, id.Issuer), id.NameID, ip, nil)
		}
		s.companies.Invalidate(co.Slug)
		s.log.Info("issuer pinned at first valid login", "company", co.Slug, "issuer", id.Issuer)
	}
	emp, reason, detail, err := s.resolveEmployee(ctx, co, id)
	if err != nil {
		return fmt.Errorf("resolve employee: %w", err)
	}
	if reason != "" {
		return s.refuseLogin(ctx, co, reason, detail, id.NameID, ip, nil)
	}
	s.destroyBoundSession(c)
	ns := &session.Session{
		Kind: session.KindBrowser, CompanyID: co.ID, Company: co.Slug, EmployeeID: emp.ID,
		Via: via, CertSHA256: id.CertSHA256, UserAgent: truncate(r.UserAgent(), 200), RemoteIP: ip,
	}
	if co.SLOEnabled { // what a Single Logout starting here must name
		ns.SAMLNameID, ns.SAMLNameIDFormat, ns.SAMLSessionIndex = truncate(id.NameID, 512), truncate(id.NameIDFormat, 256), truncate(id.SessionIndex, 256)
	}
	sess, err := s.browser.Login(ctx, c.Response(), r, ns)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	s.rememberSAMLSession(ctx, co, id, emp.ID)
	if id.DecryptedWith != "" {
		s.touchEncryptionKey(ctx, co, id.DecryptedWith)
	}
	s.setBindCookie(c, sess.ID, sess.ExpiresAt)
	if err := s.logins.record(ctx, &directory.SignInEvent{CompanyID: co.ID, At: s.now(), Success: true, Reason: "ok",
		Detail: via, NameID: truncate(id.NameID, 256), EmployeeID: emp.ID, CertSHA256: id.CertSHA256, RemoteIP: ip}); err != nil {
		s.log.Warn("record sign-in", "company", co.Slug, "err", err)
	}
	s.metrics.logins.WithLabelValues("success", "ok").Inc()
	s.log.Info("signed in", "company", co.Slug, "employee", emp.ID, "via", via, "cert_sha256", id.CertSHA256)
	return c.Redirect(http.StatusSeeOther, target)
}

// destroyBoundSession ends the session this browser held before (named by
// the bind cookie, which crosses Entra's POST), whatever company it was for:
// one session per browser.
func (s *Server) destroyBoundSession(c echo.Context) {
	ck, err := c.Cookie(s.bindCookieName())
	if err != nil || len(ck.Value) != 64 {
		return
	}
	if err := s.sessions.Delete(c.Request().Context(), ck.Value); err != nil {
		s.log.Warn("destroy previous session", "err", err)
	}
}

func (s *Server) setBindCookie(c echo.Context, id string, expires time.Time) {
	same := http.SameSiteLaxMode
	if s.cfg.Secure() {
		same = http.SameSiteNoneMode
	}
	c.SetCookie(&http.Cookie{Name: s.bindCookieName(), Value: id, Path: "/", HttpOnly: true, Secure: s.cfg.Secure(),
		SameSite: same, Expires: expires, MaxAge: int(time.Until(expires).Seconds())})
}

func (s *Server) clearBindCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: s.bindCookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.Secure(), MaxAge: -1})
}

// replayCache adapts the session store to sso.ReplayCache: one use of each
// assertion ID across every instance, per company (an ID seen at one
// company says nothing about another, and must not block it).
type replayCache struct {
	st        session.Store
	companyID int64
}

func (rc replayCache) Consume(ctx context.Context, assertionID string, until time.Time) error {
	err := rc.st.Consume(ctx, replayKey(rc.companyID, assertionID), until)
	if errors.Is(err, session.ErrReplayed) {
		return fmt.Errorf("%w: %w", sso.ErrReplayed, err)
	}
	return err
}

// replayKey is the session-store key recording one use of an assertion ID
// at a company.
func replayKey(companyID int64, assertionID string) string {
	return "saml:assertion:" + strconv.FormatInt(companyID, 10) + ":" + assertionID
}

// refusal texts per reason: what the user sees. The admin sees the reason
// and detail on the diagnostics page.
var refusals = map[string][2]string{
	"unknown_employee":            {"Your Microsoft account is not linked to an employee here.", "Ask your HR or IT administrator to check that you are added as an employee, with your Microsoft sign-in name or work email."},
	"inactive_employee":           {"Your employee account is inactive.", "Ask your HR administrator to reactivate you if you should have access."},
	"objectid_conflict":           {"Your Microsoft account does not match the employee it signs in as.", "Ask your IT administrator to check your employee record (sign-in name and Entra account)."},
	"objectid_missing":            {"Microsoft did not say which account signed in.", "Ask your IT administrator to restore the objectidentifier claim of the app in Entra."},
	"detached_employee":           {"Your account here is not signed in with Microsoft.", "Sign in with the password your administrator gave you (the password sign-in page of this company), or ask them to link your account to Microsoft again."},
	"replay":                      {"This sign-in was already used.", "Start again from the app or the Microsoft 365 tile."},
	"expired":                     {"This sign-in has expired.", "Start again from the app or the Microsoft 365 tile."},
	"not_yet_valid":               {"This sign-in is not valid yet.", "Check your device's clock, then try again. If it keeps happening, contact your IT department."},
	"clock_skew":                  {"The sign-in time does not match this server's clock.", "Try again. If it keeps happening, contact your IT department."},
	"unknown_request":             {"This sign-in does not belong to a login started here.", "Start again from the app or the Microsoft 365 tile."},
	"other_browser":               {"This sign-in was started in another browser.", "Start again from the app in this browser, or from the Microsoft 365 tile. If your browser blocks cookies for this site, allow them."},
	"unsolicited_with_request_id": {"This sign-in does not belong to a login started here, or it took too long.", "Start again from the app or the Microsoft 365 tile."},
	"status_not_success":          {"Microsoft did not sign you in.", "Try again. If it keeps happening, contact your IT department with the time of the attempt."},
	"too_large":                   {"The sign-in message was too large.", "Try again from the Microsoft 365 tile. If it keeps happening, contact your IT department."},
}

// refuseLogin records the failure for the diagnostics page, logs it, counts
// it, and returns the user-safe page. What is stored and what is logged
// differ: the stored event (admin-only) keeps the NameID and the full
// detail; the log line keeps the reason, the detail only for reasons whose
// detail is built from configuration and protocol values (logDetail), and
// an opaque subject hash instead of the NameID.
func (s *Server) refuseLogin(ctx context.Context, co *directory.Company, reason, detail, nameID, ip string, cause error) error {
	s.recordFailure(ctx, co, reason, detail, nameID, ip)
	s.metrics.logins.WithLabelValues("refused", reason).Inc()
	msg, ok := refusals[reason]
	if !ok {
		msg = [2]string{"Your sign-in could not be verified.", "Ask your IT department to check the single sign-on set-up (the admin console shows why under sign-in diagnostics)."}
	}
	attrs := []slog.Attr{slog.String("company", co.Slug), slog.String("reason", reason)}
	if logDetail[reason] {
		attrs = append(attrs, slog.String("detail", detail), slog.Any("cause", cause))
	} else {
		attrs = append(attrs, slog.String("detail", "in the sign-in diagnostics"))
	}
	if nameID != "" {
		attrs = append(attrs, slog.String("subject", subjectHash(nameID)))
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "sign-in refused", attrs...)
	status := http.StatusForbidden
	switch reason {
	case "malformed", "doctype":
		status = http.StatusBadRequest
	case "too_large":
		status = http.StatusRequestEntityTooLarge
	}
	return refuse(status, reason, "Sign-in refused", msg[0], msg[1], nil)
}

// logDetail lists the refusal reasons whose detail (and cause) may be
// logged: built from the company's settings and the response's protocol
// values only. The details of every other reason may name the person (the
// employee's userName, an object id, Entra's status message quoting the
// UPN), and a reason missing here is not logged: new reasons fail closed.
var logDetail = map[string]bool{
	"malformed": true, "doctype": true, "too_large": true, "not_post": true, "internal": true,
	"unknown_certificate": true, "certificate_expired": true, "bad_signature": true, "unsigned": true,
	"sha1_signature": true, "wrong_issuer": true, "wrong_audience": true, "wrong_recipient": true,
	"wrong_destination": true, "expired": true, "not_yet_valid": true, "clock_skew": true, "replay": true,
	"unknown_request": true, "unsolicited_with_request_id": true, "no_nameid": true,
	"encrypted_assertion": true, "multiple_assertions": true, "sso_disabled": true, "not_configured": true,
	"unknown_employee": true, // "NameID matched no employee by upn: <hint>", no name
}

// subjectHash is what the log says instead of a NameID, userName or email:
// the first 12 hex digits of the SHA-256 of the trimmed, lower-cased name.
// It lets an operator see that refusals repeat for one person (and match a
// name they already know) without the log holding the name.
func subjectHash(name string) string {
	sum := sha256.Sum256([]byte("ssogate-subject:" + strings.ToLower(strings.TrimSpace(name))))
	return hex.EncodeToString(sum[:6])
}

func (s *Server) recordFailure(ctx context.Context, co *directory.Company, reason, detail, nameID, ip string) {
	now := s.now()
	store, folded, last := s.folded.admit(strconv.FormatInt(co.ID, 10)+"\x00"+reason+"\x00"+detail+"\x00"+nameID, now)
	if !store {
		s.metrics.failuresFolded.Inc()
		return
	}
	if folded > 0 {
		detail = fmt.Sprintf("[%d more identical refusals until %s UTC, not stored one by one] %s", folded, last.UTC().Format("15:04:05"), detail)
	}
	if err := s.logins.record(ctx, &directory.SignInEvent{CompanyID: co.ID, At: now, Reason: reason,
		Detail: truncate(detail, 1000), NameID: truncate(nameID, 256), RemoteIP: ip}); err != nil {
		s.log.Warn("record sign-in failure", "company", co.Slug, "err", err)
	}
}

// safeTarget turns a return_to or RelayState into a same-site path under
// /c/{slug}/, or the company's start page (httpx.Target).
func (s *Server) safeTarget(raw, slug string) string {
	return httpx.Target(s.public, raw, "/c/"+slug+"/")
}

// truncate is httpx.Truncate: client-supplied strings, bounded as valid
// UTF-8 without NUL before they are stored or logged.
func truncate(s string, n int) string { return httpx.Truncate(s, n) }

package console

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/sso/directory"
)

// Overview, sign-in diagnostics and the audit log.

// diagnosis explains one refusal reason to the admin: a title, and the fix
// phrased as the Entra portal field (or console page) to change. %[1]s is
// the Identifier, %[2]s the Reply URL, %[3]s the Sign on URL.
type diagnosis struct {
	Title string
	Fix   string
}

// diagnoses covers every Reason of sso/errors.go and every reason web
// records (web: saml.go, resolve.go, password.go).
var diagnoses = map[string]diagnosis{
	"unknown_certificate": {"Signed by a certificate that is not trusted",
		"Paste the new certificate: in Entra open Single sign-on → SAML Certificates, download Certificate (Base64) of the active certificate (its thumbprint is shown below) and paste it under Certificates here."},
	"certificate_expired": {"Signing certificate expired",
		"In Entra: Single sign-on → SAML Certificates → Edit → New Certificate, then ⋯ → Make certificate active. Paste its Certificate (Base64) under Certificates here."},
	"bad_signature": {"Signature does not verify",
		"The response was changed on the way, or signed with another key. If Entra's certificate changed, paste the new Certificate (Base64) under Certificates. Otherwise check that no proxy rewrites the POST to the Reply URL."},
	"unsigned": {"Response not signed",
		"In Entra: Single sign-on → SAML Certificates → Edit → Signing Option: choose “Sign SAML assertion” (or “Sign SAML response and assertion”)."},
	"sha1_signature": {"SHA-1 signature refused",
		"In Entra: Single sign-on → SAML Certificates → Edit → Signing Algorithm: choose SHA-256."},
	"wrong_issuer": {"Wrong issuer (Entra tenant)",
		"Under SSO settings here, the Microsoft Entra Identifier must equal Entra's Single sign-on → Set up → Microsoft Entra Identifier of the app that should sign in (expected and received are shown below)."},
	"wrong_audience": {"Wrong Identifier (Entity ID)",
		"In Entra: Single sign-on → Basic SAML Configuration → Identifier (Entity ID) must be exactly %[1]s (marked Default)."},
	"wrong_recipient": {"Wrong Reply URL (Recipient)",
		"In Entra: Single sign-on → Basic SAML Configuration → Reply URL (Assertion Consumer Service URL) must be exactly %[2]s (marked Default)."},
	"wrong_destination": {"Wrong Reply URL (Destination)",
		"In Entra: Single sign-on → Basic SAML Configuration → Reply URL (Assertion Consumer Service URL) must be exactly %[2]s (marked Default)."},
	"expired": {"Sign-in expired",
		"The response arrived too late (a slow or repeated sign-in). If it happens to everyone, this server's clock is ahead: fix time synchronisation (NTP) on the gateway hosts."},
	"not_yet_valid": {"Sign-in not valid yet",
		"This server's clock is behind Entra's: fix time synchronisation (NTP) on the gateway hosts."},
	"clock_skew": {"Clock difference with Entra",
		"This server's clock differs from Entra's by the measured offset below: fix time synchronisation (NTP) on the gateway hosts. Nothing to change in Entra."},
	"replay": {"Sign-in used twice",
		"The same response was posted again (back button, double submit, or a replay attempt). Nothing to change unless it repeats; the user starts again from the app or the Microsoft 365 tile."},
	"unknown_request": {"Does not answer this browser's sign-in",
		"The sign-in started in another browser or tab, or took over 10 minutes. If it happens to everyone, check Entra's Single sign-on → Basic SAML Configuration → Sign on URL: it must be empty or exactly %[3]s."},
	"other_browser": {"Answered in another browser",
		"The answer to a sign-in started in one browser was posted by another: a forwarded sign-in link, or an attempt to sign someone in to another account (login CSRF). Nothing to change if it is rare; if it happens to everyone, check that the browsers keep the ssogate_login cookie (https needed: it is SameSite=None)."},
	"login_url_not_allowed": {"Login URL not allowed",
		"The IdP Login URL is not on a Microsoft sign-in host (nor in the operator's SSOGATE_IDP_LOGIN_HOSTS), so employees are not sent there. Paste the Login URL Entra shows under Single sign-on → Set up, or clear it to use the one derived from the Identifier."},
	"unsolicited_with_request_id": {"Answers a sign-in that is not pending",
		"The sign-in request expired or was already answered. If it happens to everyone, check Entra's Basic SAML Configuration → Sign on URL: empty or exactly %[3]s."},
	"status_not_success": {"Entra refused the user",
		"Read the AADSTS code in the detail. AADSTS50105: in Entra open Users and groups and assign the user (or their group) to the app. AADSTS700016: the Identifier (Entity ID) in Basic SAML Configuration must be %[1]s."},
	"no_nameid": {"No NameID",
		"In Entra: Single sign-on → Attributes & Claims → Unique User Identifier (Name ID): set the source attribute to user.userprincipalname or user.mail."},
	"encrypted_assertion": {"Encrypted assertion that cannot be decrypted",
		"Either turn token encryption on here (SSO settings → Token encryption: optional) and import this company's encryption certificate in Entra (Single sign-on → Token encryption → Import certificate, then Activate), or deactivate token encryption in Entra. If it is on here, the certificate active in Entra must be one listed under Token encryption."},
	"encryption_required": {"Assertion not encrypted",
		"This company requires token encryption. In Entra: Single sign-on → Token encryption → Import certificate (download it under SSO settings → Token encryption here), then ⋯ → Activate token encryption certificate. Or set token encryption to optional here while switching."},
	"multiple_assertions": {"Several assertions",
		"Entra sends one assertion. Check that nothing between Entra and the gateway changes the response."},
	"malformed": {"Not a SAML response",
		"The POST to the Reply URL was not a valid Entra response. Check Entra's Basic SAML Configuration → Reply URL is %[2]s and that no proxy changes the request."},
	"doctype": {"Forbidden XML (DOCTYPE)",
		"Entra never sends a DOCTYPE: this was a crafted request. Nothing to change in Entra."},
	"not_post": {"Not sent by POST",
		"Entra posts to the Reply URL. Check Basic SAML Configuration → Reply URL is %[2]s (not the Sign on URL)."},
	"too_large": {"Response too large",
		"Entra sends far less. If users have very many group claims, in Entra: Attributes & Claims → remove the group claim or limit it to groups assigned to the application."},
	"internal": {"Gateway error",
		"A problem on the gateway (configuration or session store). Look at the server log at this time; nothing to change in Entra."},
	"sso_disabled": {"SSO is switched off",
		"Under SSO settings here, tick Enable single sign-on when the Entra set-up is ready."},
	"not_configured": {"SSO not set up",
		"Paste Entra's Certificate (Base64) under Certificates (Entra: Single sign-on → SAML Certificates → Download)."},
	"unknown_employee": {"NameID matched no employee",
		"Switch NameID to user.mail (Entra: Single sign-on → Attributes & Claims → Unique User Identifier (Name ID) → source attribute user.mail, and NameID matching “work email” under SSO settings here), or check the employee's sign-in name under Employees."},
	"inactive_employee": {"Employee is inactive",
		"If the person should have access: in Entra assign them to the app again (Users and groups; provisioning reactivates them). For someone Entra no longer manages, detach and activate them under Employees."},
	"objectid_conflict": {"Entra account does not match the employee",
		"The name now belongs to another Entra account than the one bound to the employee: this may be someone else. If the person really moved to a new Entra account, open the employee under Employees → Link to Entra and enter the new account's Object ID (Entra: Users → the user → Object ID), or run ssogate employees link. Do not detach them: a detached employee signs in only with a local password."},
	"objectid_missing": {"No objectidentifier claim",
		"The employee is bound to an Entra account, and such employees sign in only when the assertion names it. In Entra: Single sign-on → Attributes & Claims: keep the claim http://schemas.microsoft.com/identity/claims/objectidentifier (user.objectid)."},
	"detached_employee": {"Employee detached from Entra",
		"A setup admin detached this employee: they sign in only with their local password at %[3]s?method=password. If they should sign in with Microsoft again, open the employee under Employees → Link to Entra and enter their Entra Object ID."},
	"local_password": {"Local password sign-in failed",
		"A password sign-in of an employee managed here failed. If they forgot it, set a new local password on their page under Employees."},
	"unknown": {"Sign-in refused", "See the detail. If it repeats, contact the gateway's operator with the time shown."},
}

// unknownEmployeeMail is the fix when NameID matching is by work email.
const unknownEmployeeMail = "Switch NameID to user.userprincipalname (Entra: Single sign-on → Attributes & Claims → Unique User Identifier (Name ID), and NameID matching “sign-in name” under SSO settings here), or check the employee's work email under Employees."

var (
	expectedGotRE = regexp.MustCompile(`expected (?:audience|Issuer|issuer|Recipient|Destination) ("[^"]*"|\S+)(?: \(pinned at first login\))?, got ("[^"]*")`)
	offsetRE      = regexp.MustCompile(`IssueInstant is (\d+)s (in the future|old)`)
	thumbprintRE  = regexp.MustCompile(`thumbprint ([0-9A-F]{40})`)
)

type diagRow struct {
	At, Ago, Reason, Title, Detail, Fix string
	Expected, Received                  string
	Offset, Thumbprint                  string
	NameID, EmployeeID, IP, Cert        string
	Success                             bool
}

// diagnose turns a stored sign-in event into a row with its fix.
func (s *Console) diagnose(ev directory.SignInEvent, co *directory.Company, now time.Time, sha1Of map[string]string) diagRow {
	r := diagRow{At: fmtTime(ev.At), Ago: ago(now, ev.At), Reason: ev.Reason, Detail: ev.Detail, NameID: ev.NameID,
		EmployeeID: ev.EmployeeID, IP: ev.RemoteIP, Success: ev.Success, Cert: sha1Of[ev.CertSHA256]}
	if ev.Success {
		r.Title = "Signed in"
		if ev.Detail == "password" {
			r.Title = "Signed in with a local password"
		}
		return r
	}
	d, ok := diagnoses[ev.Reason]
	if !ok {
		d = diagnoses["unknown"]
	}
	if ev.Reason == "unknown_employee" && strings.Contains(ev.Detail, "by mail") {
		d.Fix = unknownEmployeeMail
	}
	r.Title = d.Title
	r.Fix = d.Fix
	if strings.Contains(d.Fix, "%[") {
		r.Fix = fmt.Sprintf(d.Fix, s.companyURL(co.Slug, "/saml/metadata"), s.companyURL(co.Slug, "/saml/acs"), s.companyURL(co.Slug, "/login"))
	}
	if m := expectedGotRE.FindStringSubmatch(ev.Detail); m != nil {
		r.Expected, r.Received = strings.Trim(m[1], `"`), strings.Trim(m[2], `"`)
	}
	if m := offsetRE.FindStringSubmatch(ev.Detail); m != nil {
		if m[2] == "old" {
			r.Offset = m[1] + " s old (too old)"
		} else {
			r.Offset = m[1] + " s ahead of this server"
		}
	}
	if m := thumbprintRE.FindStringSubmatch(ev.Detail); m != nil {
		r.Thumbprint = m[1]
	}
	return r
}

type diagView struct {
	Rows []diagRow
	All  bool
}

// adminDiagnostics: GET /admin/diagnostics?show=all.
func (s *Console) adminDiagnostics(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	co := ac.t.Company
	v := &diagView{All: c.QueryParam("show") == "all"}
	list, err := s.dir.ListSignIns(ctx, co.ID, !v.All, 200)
	if err != nil {
		return fmt.Errorf("list sign-ins: %w", err)
	}
	sha1Of, err := s.sha1Index(c)
	if err != nil {
		return err
	}
	now := s.now()
	for _, ev := range list {
		v.Rows = append(v.Rows, s.diagnose(ev, co, now, sha1Of))
	}
	return s.adminPage(c, http.StatusOK, "admin_diagnostics.html", "Sign-in diagnostics", "diagnostics", v, "")
}

// sha1Index maps the SHA-256 of every certificate of the company (retired
// ones too) to its SHA-1 thumbprint, the name admins know it by.
func (s *Console) sha1Index(c echo.Context) (map[string]string, error) {
	list, err := s.dir.ListCertificates(c.Request().Context(), adminOf(c).t.Company.ID, true)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	m := make(map[string]string, len(list))
	for _, ct := range list {
		m[ct.SHA256] = ct.SHA1
	}
	return m, nil
}

type auditRow struct {
	At, Actor, Action, Detail string
}

// adminAudit: GET /admin/audit.
func (s *Console) adminAudit(c echo.Context) error {
	ac := adminOf(c)
	list, err := s.dir.ListAudit(c.Request().Context(), ac.t.Company.ID, 300)
	if err != nil {
		return fmt.Errorf("list audit: %w", err)
	}
	rows := make([]auditRow, 0, len(list))
	for _, a := range list {
		rows = append(rows, auditRow{At: fmtTime(a.At), Actor: a.Actor, Action: a.Action, Detail: a.Detail})
	}
	return s.adminPage(c, http.StatusOK, "admin_audit.html", "Audit log", "audit", rows, "")
}

type overviewView struct {
	SSOEnabled, Configured bool
	Mode                   string
	Trusted                int
	Signing                string // SHA-1 of the certificate that signed the latest login
	SigningAgo             string
	NextExpiry             string
	ActiveEmployees        int
	InactiveEmployees      int
	ActiveTokens           int
	TokenLastUsed          string
	Failures24h            int
	LastFailure            *diagRow
	LastProvisioning       string
}

// adminOverview: GET /admin/.
func (s *Console) adminOverview(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	co := ac.t.Company
	now := s.now()
	v := &overviewView{SSOEnabled: co.SSOEnabled, Configured: ac.t.SSOReady, Mode: string(co.NameIDMode)}
	var latest *directory.Certificate
	var soonest time.Time
	for i := range ac.t.Certs {
		ct := &ac.t.Certs[i]
		v.Trusted++
		if ct.LastUsedAt != nil && (latest == nil || ct.LastUsedAt.After(*latest.LastUsedAt)) {
			latest = ct
		}
		if soonest.IsZero() || ct.NotAfter.Before(soonest) {
			soonest = ct.NotAfter
		}
	}
	if latest != nil {
		v.Signing, v.SigningAgo = latest.SHA1, ago(now, *latest.LastUsedAt)
	}
	if !soonest.IsZero() {
		v.NextExpiry = soonest.UTC().Format("2006-01-02")
	}
	for _, st := range []struct {
		active bool
		n      *int
	}{{true, &v.ActiveEmployees}, {false, &v.InactiveEmployees}} {
		a := st.active
		_, n, err := s.dir.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: co.ID, Active: &a})
		if err != nil {
			return fmt.Errorf("count employees: %w", err)
		}
		*st.n = n
	}
	toks, err := s.dir.ListSCIMTokens(ctx, co.ID)
	if err != nil {
		return fmt.Errorf("list SCIM tokens: %w", err)
	}
	var lastUse *time.Time
	for _, t := range toks {
		if t.RevokedAt == nil {
			v.ActiveTokens++
			if t.LastUsed != nil && (lastUse == nil || t.LastUsed.After(*lastUse)) {
				lastUse = t.LastUsed
			}
		}
	}
	if lastUse != nil {
		v.TokenLastUsed = ago(now, *lastUse)
	}
	prov, err := s.dir.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: co.ID, Limit: 1})
	if err != nil {
		return fmt.Errorf("list provisioning: %w", err)
	}
	if len(prov) > 0 {
		v.LastProvisioning = ago(now, prov[0].At)
	}
	fails, err := s.dir.ListSignIns(ctx, co.ID, true, 200)
	if err != nil {
		return fmt.Errorf("list sign-ins: %w", err)
	}
	for _, f := range fails {
		if now.Sub(f.At) <= 24*time.Hour {
			v.Failures24h++
		}
	}
	if len(fails) > 0 {
		sha1Of, err := s.sha1Index(c)
		if err != nil {
			return err
		}
		r := s.diagnose(fails[0], co, now, sha1Of)
		v.LastFailure = &r
	}
	return s.adminPage(c, http.StatusOK, "admin_overview.html", "Overview", "overview", v, "")
}

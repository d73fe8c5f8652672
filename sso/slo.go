package sso

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

// Single Logout over the HTTP-Redirect binding, the only one Entra speaks
// (learn.microsoft.com: "Single Sign-Out SAML Protocol").
//
// Entra sends its LogoutRequests and LogoutResponses unsigned (no SigAlg
// and Signature parameters, no XML signature). An unsigned message is
// accepted only when every other check holds: the Issuer is the Entra
// Identifier, the Destination (when present) is this SLO URL, the
// IssueInstant is fresh (the same window as an assertion's), a request ID is
// used once, and a response answers the LogoutRequest this gateway sent
// (which the caller keeps server-side). A message that does carry a
// signature must verify against a trusted certificate (crewjam checks it).
// The worst a forged unsigned LogoutRequest can do is sign someone out.

// maxLogoutXML bounds an inflated logout message (Entra's are < 1 KB); a
// deflate bomb stops here.
const maxLogoutXML = 64 << 10

// maxLogoutQuery bounds the raw query string of a logout message.
const maxLogoutQuery = 32 << 10

// LogoutRequest is what a validated LogoutRequest from Entra says.
type LogoutRequest struct {
	ID             string
	NameID         string
	NameIDFormat   string
	SessionIndexes []string
	// Signed reports whether the message carried a signature (which then
	// verified).
	Signed bool
}

// LogoutResponse is what a validated LogoutResponse from Entra says.
type LogoutResponse struct {
	ID, InResponseTo string
	Signed           bool
}

// SLOURL is this company's Single Logout URL (Entra: Logout Url), "" when
// the settings name none.
func (sp *SP) SLOURL() string { return sp.settings.SLOURL }

// IDPSLOURL is Entra's logout endpoint (the same as its login URL), "" when
// unknown.
func (sp *SP) IDPSLOURL() string { return sp.settings.IDPSLOURL }

// redirectMessage decodes the SAMLRequest or SAMLResponse of an
// HTTP-Redirect binding GET: base64, bounded inflate, the raw-XML rules of
// assertions (UTF-8, no DTD), and a root element named rootTag in the
// protocol namespace.
func redirectMessage(r *http.Request, param, rootTag string) ([]byte, *etree.Element, bool, *Error) {
	if r.Method != http.MethodGet {
		return nil, nil, false, refuse(ReasonMalformed, "logout messages come by the HTTP-Redirect binding (GET), got "+r.Method, nil)
	}
	if len(r.URL.RawQuery) > maxLogoutQuery {
		return nil, nil, false, refuse(ReasonMalformed, fmt.Sprintf("the query string is longer than %d bytes", maxLogoutQuery), nil)
	}
	q := r.URL.Query()
	if len(q[param]) != 1 || q.Get(param) == "" {
		return nil, nil, false, refuse(ReasonMalformed, "exactly one non-empty "+param+" parameter is required", nil)
	}
	signed := q.Get("Signature") != "" || q.Get("SigAlg") != ""
	raw, err := base64.StdEncoding.DecodeString(q.Get(param))
	if err != nil {
		return nil, nil, false, refuse(ReasonMalformed, param+" is not base64", err)
	}
	fr := flate.NewReader(bytes.NewReader(raw))
	defer fr.Close()
	xmlBytes, err := io.ReadAll(io.LimitReader(fr, maxLogoutXML+1))
	if err != nil {
		return nil, nil, false, refuse(ReasonMalformed, param+" is not deflated (the HTTP-Redirect binding deflates it)", err)
	}
	if len(xmlBytes) > maxLogoutXML {
		return nil, nil, false, refuse(ReasonMalformed, fmt.Sprintf("%s inflates to more than %d bytes", param, maxLogoutXML), nil)
	}
	if e := checkRawXML(xmlBytes); e != nil {
		return nil, nil, false, e
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xmlBytes); err != nil {
		return nil, nil, false, refuse(ReasonMalformed, param+" is not well-formed XML", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != rootTag || root.NamespaceURI() != nsProtocol {
		return nil, nil, false, refuse(ReasonMalformed, fmt.Sprintf("%s is not a SAML 2.0 %s", param, rootTag), nil)
	}
	if child(root, nsDSig, "Signature") != nil {
		signed = true
	}
	return xmlBytes, root, signed, nil
}

// logoutIssuer is the Issuer a logout message must carry: the Entra
// Identifier (configured or pinned). Without one nothing can be checked.
func (sp *SP) logoutIssuer() (string, *Error) {
	if sp.settings.ExpectedIssuer == "" {
		return "", refuse(ReasonWrongIssuer, "no Entra Identifier is configured or pinned yet, so a logout message cannot be attributed to Entra", nil)
	}
	return sp.settings.ExpectedIssuer, nil
}

// checkLogoutFields applies the checks shared by both directions.
func (sp *SP) checkLogoutFields(kind, version, issuer, destination string, issued time.Time, now time.Time) *Error {
	want, e := sp.logoutIssuer()
	if e != nil {
		return e
	}
	switch {
	case version != "2.0":
		return refuse(ReasonMalformed, fmt.Sprintf("%s Version is %q, not 2.0", kind, clean(version)), nil)
	case strings.TrimSpace(issuer) != want:
		return refuse(ReasonWrongIssuer, fmt.Sprintf("expected Issuer %q, got %q: check the Microsoft Entra Identifier in the SSO settings", want, clean(issuer)), nil)
	case destination != "" && destination != sp.settings.SLOURL:
		return refuse(ReasonWrongDestination, fmt.Sprintf("expected Destination %q, got %q: Entra's Logout Url must be exactly %q", sp.settings.SLOURL, clean(destination), sp.settings.SLOURL), nil)
	case issued.IsZero():
		return refuse(ReasonMalformed, kind+" has no IssueInstant", nil)
	case issued.Sub(now) > sp.opt.ClockSkew:
		return refuse(ReasonClockSkew, fmt.Sprintf("IssueInstant is %ds in the future (clock offset; allowed %ds): check this server's clock", int(issued.Sub(now).Seconds()), int(sp.opt.ClockSkew.Seconds())), nil)
	case now.Sub(issued) > sp.opt.MaxIssueDelay:
		return refuse(ReasonExpired, fmt.Sprintf("IssueInstant is %ds old (limit %ds): a stale or replayed %s", int(now.Sub(issued).Seconds()), int(sp.opt.MaxIssueDelay.Seconds()), kind), nil)
	}
	return nil
}

// crewjamSLO is the crewjam SP that verifies signed logout messages.
func (sp *SP) crewjamSLO(now time.Time) *saml.ServiceProvider {
	c := sp.base
	c.Clock = clockAt(now)
	if u, err := parseURL(sp.settings.SLOURL); err == nil {
		c.SloURL = *u
	}
	return &c
}

// classifyLogout maps crewjam's error for a signed logout message.
func classifyLogout(err error) *Error {
	cause := err
	var ivr *saml.InvalidResponseError
	if errors.As(err, &ivr) && ivr.PrivateErr != nil {
		cause = ivr.PrivateErr
	}
	switch {
	case errors.Is(cause, saml.ErrUnsupported) || strings.Contains(cause.Error(), "SHA-1") || strings.Contains(cause.Error(), "sha1"):
		return refuse(ReasonSHA1Signature, "the logout message is signed with SHA-1; in Entra set the signing algorithm to SHA-256", cause)
	case errors.Is(cause, saml.ErrDestinationMismatch):
		return refuse(ReasonWrongDestination, "the signed logout message's Destination is not this Logout URL", cause)
	case errors.Is(cause, saml.ErrIssuerMismatch):
		return refuse(ReasonWrongIssuer, "the signed logout message's Issuer is not the Entra Identifier", cause)
	case errors.Is(cause, saml.ErrExpired):
		return refuse(ReasonExpired, "the signed logout message has expired", cause)
	case errors.Is(cause, saml.ErrRequestIDMismatch):
		return refuse(ReasonUnknownRequest, "the logout response does not answer the sign-out this browser started", cause)
	}
	return refuse(ReasonBadSignature, "the logout message carries a signature that does not verify against a trusted Entra certificate", cause)
}

// ParseLogoutRequest validates a LogoutRequest Entra sent to the SLO URL
// (GET, HTTP-Redirect binding) and consumes its ID in replay. Every
// refusal is a *Error.
func (sp *SP) ParseLogoutRequest(ctx context.Context, r *http.Request, replay ReplayCache) (*LogoutRequest, error) {
	if replay == nil {
		return nil, refuse(ReasonInternal, "no replay cache configured", nil)
	}
	now := sp.opt.Now().UTC()
	xmlBytes, _, signed, e := redirectMessage(r, "SAMLRequest", "LogoutRequest")
	if e != nil {
		return nil, e
	}
	var req saml.LogoutRequest
	if err := xml.Unmarshal(xmlBytes, &req); err != nil {
		return nil, refuse(ReasonMalformed, "the LogoutRequest cannot be read", err)
	}
	if signed {
		if _, e := sp.logoutIssuer(); e != nil {
			return nil, e
		}
		verified, err := sp.crewjamSLO(now).ValidateLogoutRequest(r)
		if err != nil {
			return nil, classifyLogout(err)
		}
		req = *verified // read from what the signature covers
	}
	issuer := ""
	if req.Issuer != nil {
		issuer = req.Issuer.Value
	}
	if e := sp.checkLogoutFields("LogoutRequest", req.Version, issuer, req.Destination, req.IssueInstant, now); e != nil {
		return nil, e
	}
	if req.ID == "" || len(req.ID) > 256 {
		return nil, refuse(ReasonMalformed, "the LogoutRequest has no usable ID", nil)
	}
	if req.NotOnOrAfter != nil && !now.Before(req.NotOnOrAfter.Add(sp.opt.ClockSkew)) {
		return nil, refuse(ReasonExpired, "the LogoutRequest has expired (NotOnOrAfter passed)", nil)
	}
	if req.NameID == nil || strings.TrimSpace(req.NameID.Value) == "" {
		return nil, refuse(ReasonNoNameID, "the LogoutRequest names no user (no NameID)", nil)
	}
	out := &LogoutRequest{ID: req.ID, NameID: strings.TrimSpace(req.NameID.Value), NameIDFormat: req.NameID.Format, Signed: signed}
	for _, si := range req.AllSessionIndexes() {
		if v := strings.TrimSpace(si.Value); v != "" {
			out.SessionIndexes = append(out.SessionIndexes, v)
		}
	}
	until := req.IssueInstant.Add(sp.opt.MaxIssueDelay)
	if req.NotOnOrAfter != nil && req.NotOnOrAfter.After(until) {
		until = *req.NotOnOrAfter
	}
	if err := replay.Consume(ctx, "logout:"+req.ID, until.Add(sp.opt.ClockSkew)); err != nil {
		if errors.Is(err, ErrReplayed) {
			return nil, refuse(ReasonReplay, "this LogoutRequest was already processed", err)
		}
		return nil, refuse(ReasonInternal, "the replay cache could not record the LogoutRequest", err)
	}
	return out, nil
}

// LogoutResponseURL answers a LogoutRequest: the HTTP-Redirect URL that
// takes the browser to Entra's logout endpoint with a Success
// LogoutResponse. relayState is echoed unchanged.
func (sp *SP) LogoutResponseURL(inResponseTo, relayState string) (string, error) {
	if sp.settings.IDPSLOURL == "" {
		return "", ErrNoIDPSSOURL
	}
	c := sp.crewjamSLO(sp.opt.Now())
	resp, err := c.MakeLogoutResponse(sp.settings.IDPSLOURL, inResponseTo)
	if err != nil {
		return "", fmt.Errorf("sso: logout response: %w", err)
	}
	return resp.Redirect(relayState).String(), nil
}

// LogoutRequestURL starts SP-initiated Single Logout: the HTTP-Redirect URL
// that takes the browser to Entra's logout endpoint with a LogoutRequest
// for nameID (in the format the assertion had) and sessionIndex, and the
// request ID to expect in Entra's LogoutResponse.
func (sp *SP) LogoutRequestURL(nameID, nameIDFormat, sessionIndex, relayState string) (redirectURL, requestID string, err error) {
	if len(relayState) > MaxRelayStateLen {
		return "", "", fmt.Errorf("%w (%d bytes)", ErrRelayStateTooLong, len(relayState))
	}
	if sp.settings.IDPSLOURL == "" {
		return "", "", ErrNoIDPSSOURL
	}
	if strings.TrimSpace(nameID) == "" {
		return "", "", errors.New("sso: logout request: no NameID")
	}
	c := sp.crewjamSLO(sp.opt.Now())
	var opts []saml.LogoutRequestOption
	if sessionIndex != "" {
		opts = append(opts, saml.WithSessionIndex(sessionIndex))
	}
	req, err := c.MakeLogoutRequest(sp.settings.IDPSLOURL, nameID, opts...)
	if err != nil {
		return "", "", fmt.Errorf("sso: logout request: %w", err)
	}
	// The NameID exactly as the assertion carried it: Entra matches it to
	// its session; it sent no qualifiers.
	req.NameID.NameQualifier, req.NameID.SPNameQualifier = "", ""
	req.NameID.Format = nameIDFormat
	u, err := c.RedirectLogoutRequestURL(req, relayState)
	if err != nil {
		return "", "", fmt.Errorf("sso: logout request: %w", err)
	}
	return u.String(), req.ID, nil
}

// ParseLogoutResponse validates Entra's answer (GET, HTTP-Redirect binding)
// to the LogoutRequest requestID this gateway sent. Every refusal is a
// *Error; a non-Success status is ReasonStatusNotSuccess.
func (sp *SP) ParseLogoutResponse(r *http.Request, requestID string) (*LogoutResponse, error) {
	now := sp.opt.Now().UTC()
	xmlBytes, _, signed, e := redirectMessage(r, "SAMLResponse", "LogoutResponse")
	if e != nil {
		return nil, e
	}
	var resp saml.LogoutResponse
	if err := xml.Unmarshal(xmlBytes, &resp); err != nil {
		return nil, refuse(ReasonMalformed, "the LogoutResponse cannot be read", err)
	}
	if signed {
		if _, e := sp.logoutIssuer(); e != nil {
			return nil, e
		}
		verified, err := sp.crewjamSLO(now).ParseLogoutResponse(r, []string{requestID})
		if err != nil {
			return nil, classifyLogout(err)
		}
		resp = *verified
	}
	issuer := ""
	if resp.Issuer != nil {
		issuer = resp.Issuer.Value
	}
	if e := sp.checkLogoutFields("LogoutResponse", resp.Version, issuer, resp.Destination, resp.IssueInstant, now); e != nil {
		return nil, e
	}
	if requestID == "" || resp.InResponseTo != requestID {
		return nil, refuse(ReasonUnknownRequest, "the LogoutResponse does not answer the sign-out this browser started (InResponseTo does not match)", nil)
	}
	if resp.Status.StatusCode.Value != saml.StatusSuccess {
		msg := ""
		if resp.Status.StatusMessage != nil {
			msg = resp.Status.StatusMessage.Value
		}
		return nil, refuse(ReasonStatusNotSuccess, clean("Entra did not confirm the sign-out: status "+resp.Status.StatusCode.Value+" "+msg), nil)
	}
	return &LogoutResponse{ID: resp.ID, InResponseTo: resp.InResponseTo, Signed: signed}, nil
}

package sso

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/crewjam/saml"
)

// Options tune validation. The zero value is the production default.
type Options struct {
	Now           func() time.Time // nil = time.Now
	MaxIssueDelay time.Duration    // default 5m: how old an IssueInstant may be
	ClockSkew     time.Duration    // default 3m
	AllowSHA1     bool             // default false: SHA-1 signatures and digests are refused
}

// Defaults for Options.
const (
	DefaultMaxIssueDelay = 5 * time.Minute
	DefaultClockSkew     = 3 * time.Minute
	// MaxRelayStateLen is the SAML bindings' limit on RelayState.
	MaxRelayStateLen = 80
)

// NameID formats the SP may request.
const (
	NameIDFormatEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	nameIDFormatTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

var (
	timingMu  sync.Mutex
	timingSet bool
)

// setTiming puts crewjam's package-wide MaxIssueDelay and MaxClockSkew in
// force. crewjam reads them on every validation, so they are written once,
// by the first New, before any SP exists; a later New that asks for other
// values fails with ErrTimingConflict instead of changing them under
// running SPs.
func setTiming(maxIssueDelay, skew time.Duration) error {
	timingMu.Lock()
	defer timingMu.Unlock()
	if !timingSet {
		saml.MaxIssueDelay = maxIssueDelay
		saml.MaxClockSkew = skew
		timingSet = true
		return nil
	}
	if saml.MaxIssueDelay != maxIssueDelay || saml.MaxClockSkew != skew {
		return fmt.Errorf("%w: in force MaxIssueDelay=%s ClockSkew=%s, asked %s and %s",
			ErrTimingConflict, saml.MaxIssueDelay, saml.MaxClockSkew, maxIssueDelay, skew)
	}
	return nil
}

// SP is one company's service provider. It is immutable and safe for
// concurrent use; rebuild it with New when the settings change.
type SP struct {
	settings Settings
	opt      Options
	acs      url.URL
	// base is the crewjam SP; each ParseResponse works on a copy with its
	// own clock and, for trust on first use, its own IdP metadata.
	base    saml.ServiceProvider
	idp     saml.EntityDescriptor
	trusted []*x509Cert
	// keys decrypt encrypted assertions, newest first (none when token
	// encryption is off); requireEncryption refuses plain ones.
	keys              []decryptKey
	requireEncryption bool
}

var stsIssuer = regexp.MustCompile(`^https://sts\.windows\.net/([0-9a-fA-F-]{36})/$`)

// New builds the SP for one company. It is cheap (no network, no keys).
func New(s Settings, opt Options) (*SP, error) { return build(s, opt, true) }

// MetadataXML is the SP metadata of settings that may not name a trusted
// certificate yet (a company still being set up): the metadata needs none,
// and no SP that could accept a response is built.
func MetadataXML(s Settings, opt Options) ([]byte, error) {
	sp, err := build(s, opt, false)
	if err != nil {
		return nil, err
	}
	return sp.Metadata()
}

func build(s Settings, opt Options, needCerts bool) (*SP, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxIssueDelay == 0 {
		opt.MaxIssueDelay = DefaultMaxIssueDelay
	}
	if opt.ClockSkew == 0 {
		opt.ClockSkew = DefaultClockSkew
	}
	if opt.MaxIssueDelay < 0 || opt.ClockSkew < 0 {
		return nil, errors.New("sso: MaxIssueDelay and ClockSkew must not be negative")
	}

	var problems []error
	if s.EntityID == "" {
		problems = append(problems, errors.New("sso: Settings.EntityID is empty"))
	}
	acs, err := url.Parse(s.ACSURL)
	if err != nil || acs.Scheme == "" || acs.Host == "" {
		problems = append(problems, fmt.Errorf("sso: Settings.ACSURL %q is not an absolute URL", s.ACSURL))
		acs = &url.URL{}
	}
	switch s.NameIDFormat {
	case "":
		s.NameIDFormat = NameIDFormatEmail
	case NameIDFormatEmail, NameIDFormatUnspecified:
	default:
		problems = append(problems, fmt.Errorf("sso: Settings.NameIDFormat %q: only emailAddress or unspecified may be requested (transient makes Entra send a random NameID)", s.NameIDFormat))
	}
	if len(s.Certs) == 0 && needCerts {
		problems = append(problems, errors.New("sso: Settings.Certs is empty: paste Entra's SAML signing certificate"))
	}
	for i, c := range s.Certs {
		if c == nil || len(c.Raw) == 0 {
			problems = append(problems, fmt.Errorf("sso: Settings.Certs[%d] is empty", i))
		}
	}
	if s.IDPSSOURL == "" {
		if m := stsIssuer.FindStringSubmatch(s.ExpectedIssuer); m != nil {
			s.IDPSSOURL = "https://login.microsoftonline.com/" + m[1] + "/saml2"
		}
	} else if u, err := url.Parse(s.IDPSSOURL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		problems = append(problems, fmt.Errorf("sso: Settings.IDPSSOURL %q is not an absolute http(s) URL", s.IDPSSOURL))
	}
	if s.SLOURL != "" {
		if _, err := parseURL(s.SLOURL); err != nil {
			problems = append(problems, fmt.Errorf("sso: Settings.SLOURL %q is not an absolute URL", s.SLOURL))
		}
	}
	if s.IDPSLOURL == "" {
		s.IDPSLOURL = s.IDPSSOURL
	} else if u, err := parseURL(s.IDPSLOURL); err != nil || u.Scheme != "https" && u.Scheme != "http" {
		problems = append(problems, fmt.Errorf("sso: Settings.IDPSLOURL %q is not an absolute http(s) URL", s.IDPSLOURL))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if err := setTiming(opt.MaxIssueDelay, opt.ClockSkew); err != nil {
		return nil, err
	}

	sp := &SP{settings: s, opt: opt, acs: *acs}
	keys := make([]saml.KeyDescriptor, 0, len(s.Certs))
	for _, c := range s.Certs {
		keys = append(keys, saml.KeyDescriptor{
			Use: "signing",
			KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{
				{Data: base64.StdEncoding.EncodeToString(c.Raw)},
			}}},
		})
		sp.trusted = append(sp.trusted, newX509Cert(c))
	}
	var sso, slo []saml.Endpoint
	if s.IDPSSOURL != "" {
		sso = []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: s.IDPSSOURL}}
	}
	if s.IDPSLOURL != "" {
		slo = []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: s.IDPSLOURL}}
	}
	sp.idp = saml.EntityDescriptor{
		EntityID: s.ExpectedIssuer,
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
				ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
				KeyDescriptors:             keys,
			}, SingleLogoutServices: slo},
			SingleSignOnServices: sso,
		}},
	}
	sp.base = saml.ServiceProvider{
		EntityID:                         s.EntityID,
		AcsURL:                           *acs,
		IDPMetadata:                      &sp.idp,
		AuthnNameIDFormat:                saml.NameIDFormat(s.NameIDFormat),
		SendUnspecifiedNameIDFormat:      true,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		MetadataOmitValidUntil:           true,
		AllowIDPInitiated:                true,
		ValidateRequestID:                validateRequestID,
		RejectSHA1Signatures:             !opt.AllowSHA1,
		LimitRelayStateLength:            true,
		// ReplayCache stays nil: ParseResponse consumes the assertion ID
		// itself, through the caller's context-aware cache, once every
		// check (ours and crewjam's) has passed.
	}
	if err := sp.setEncryption(s); err != nil {
		return nil, err
	}
	if s.SLOURL != "" {
		u, _ := parseURL(s.SLOURL)
		sp.base.SloURL = *u
		sp.base.LogoutBindings = []string{saml.HTTPRedirectBinding}
	}
	return sp, nil
}

// parseURL parses an absolute URL.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%q is not absolute", s)
	}
	return u, nil
}

// Settings returns the settings the SP was built from, with defaults
// (NameIDFormat, IDPSSOURL) filled in.
func (sp *SP) Settings() Settings { return sp.settings }

// Metadata returns the SP metadata XML: EntityID, one HTTP-POST ACS, the
// HTTP-Redirect Single Logout service when SLOURL is set, the requested
// NameID format, one KeyDescriptor use="encryption" per encryption
// certificate when token encryption is on, and no signing key (the SP
// signs nothing).
func (sp *SP) Metadata() ([]byte, error) {
	c := sp.base
	c.Clock = clockAt(sp.opt.Now())
	md := c.Metadata()
	md.SPSSODescriptors[0].NameIDFormats = []saml.NameIDFormat{saml.NameIDFormat(sp.settings.NameIDFormat)}
	if len(sp.keys) > 1 { // a rollover: every live encryption certificate
		rd := &md.SPSSODescriptors[0].RoleDescriptor
		for _, d := range rd.KeyDescriptors {
			if d.Use == "encryption" {
				rd.KeyDescriptors = append(rd.KeyDescriptors, sp.encryptionDescriptors(d)...)
				break
			}
		}
	}
	out, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sso: metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// AuthnRequest returns the HTTP-Redirect URL to Entra and the request ID to
// remember as pending for this browser. relayState must be at most 80 bytes.
func (sp *SP) AuthnRequest(relayState string) (redirectURL, requestID string, err error) {
	if len(relayState) > MaxRelayStateLen {
		return "", "", fmt.Errorf("%w (%d bytes)", ErrRelayStateTooLong, len(relayState))
	}
	if sp.settings.IDPSSOURL == "" {
		return "", "", ErrNoIDPSSOURL
	}
	c := sp.base
	c.Clock = clockAt(sp.opt.Now())
	req, err := c.MakeAuthenticationRequest(sp.settings.IDPSSOURL, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", "", fmt.Errorf("sso: authn request: %w", err)
	}
	if req.NameIDPolicy == nil || req.NameIDPolicy.Format == nil || *req.NameIDPolicy.Format == nameIDFormatTransient {
		return "", "", errors.New("sso: refusing to send an AuthnRequest without an emailAddress/unspecified NameIDPolicy")
	}
	u, err := req.Redirect(relayState, &c)
	if err != nil {
		return "", "", fmt.Errorf("sso: authn request: %w", err)
	}
	return u.String(), req.ID, nil
}

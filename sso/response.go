package sso

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // SHA-1 only names a certificate the way Entra shows it (Thumbprint)
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// maxResponseBytes bounds the decoded SAMLResponse. Entra's are a few KB;
// the caller already caps the body at 1 MiB.
const maxResponseBytes = 1 << 20

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	bearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	statusOK    = "urn:oasis:names:tc:SAML:2.0:status:Success"
)

// Entra claim names.
const (
	ClaimObjectID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	ClaimTenantID    = "http://schemas.microsoft.com/identity/claims/tenantid"
	ClaimDisplayName = "http://schemas.microsoft.com/identity/claims/displayname"
	ClaimEmail       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	ClaimGivenName   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	ClaimSurname     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
)

type x509Cert struct {
	cert   *x509.Certificate
	sha1   string // upper-case hex, Entra's Thumbprint
	sha256 string // lower-case hex
}

func newX509Cert(c *x509.Certificate) *x509Cert {
	s1 := sha1.Sum(c.Raw) //nolint:gosec // display thumbprint
	s256 := sha256.Sum256(c.Raw)
	return &x509Cert{cert: c, sha1: strings.ToUpper(hex.EncodeToString(s1[:])), sha256: hex.EncodeToString(s256[:])}
}

func clockAt(t time.Time) *dsig.Clock { return dsig.NewFakeClockAt(t) }

// facts are what the received (not yet verified) XML says. They decide the
// refusals that need no signature (shape, DTDs, status) and give the admin
// precise diagnostics; nothing in them is trusted for the Identity.
type facts struct {
	root, assertion      *etree.Element
	responseIssuer       string
	assertionIssuer      string
	destination          string
	inResponseTo         string
	status, statusMsg    string
	issueInstant         time.Time
	assertionIssue       time.Time
	audiences            []string
	hasAudienceRestrict  bool
	recipients           []string
	responseSig, assnSig *etree.Element
	// encrypted is the EncryptedAssertion as received; decryptedBy the
	// SHA-256 of the certificate whose key opened the copy in assertion.
	encrypted   *etree.Element
	decryptedBy string
}

func refuse(r Reason, detail string, err error) *Error {
	return &Error{Reason: r, Detail: detail, Err: err}
}

// ParseResponse validates the POSTed SAMLResponse. r.PostForm must already
// be parsed by the caller (which limits the body and refuses GET).
// possibleRequestIDs is this browser's pending request ID for an
// SP-initiated login, nil for IdP-initiated. replay is consulted for every
// accepted assertion ID. Every refusal is a *Error.
func (sp *SP) ParseResponse(ctx context.Context, r *http.Request, possibleRequestIDs []string, replay ReplayCache) (*Identity, error) {
	if r.Method != http.MethodPost {
		return nil, refuse(ReasonNotPost, "SAMLResponse must arrive by HTTP POST, got "+r.Method, nil)
	}
	if r.PostForm == nil {
		return nil, refuse(ReasonInternal, "request form not parsed before ParseResponse", nil)
	}
	if r.PostForm.Get("SAMLart") != "" || r.URL.Query().Get("SAMLart") != "" {
		return nil, refuse(ReasonMalformed, "the HTTP-Artifact binding is not supported", nil)
	}
	raw := r.PostForm.Get("SAMLResponse")
	if raw == "" {
		if r.URL.Query().Get("SAMLResponse") != "" {
			return nil, refuse(ReasonNotPost, "SAMLResponse came in the query string, not the POST body", nil)
		}
		return nil, refuse(ReasonMalformed, "empty or missing SAMLResponse", nil)
	}
	if replay == nil {
		return nil, refuse(ReasonInternal, "no replay cache configured", nil)
	}
	if base64.StdEncoding.DecodedLen(len(raw)) > maxResponseBytes+3 {
		return nil, refuse(ReasonMalformed, fmt.Sprintf("SAMLResponse is larger than %d bytes", maxResponseBytes), nil)
	}
	xmlBytes, err := base64.StdEncoding.DecodeString(raw) // ignores \r and \n
	if err != nil {
		return nil, refuse(ReasonMalformed, "SAMLResponse is not base64", err)
	}
	return sp.parseXML(ctx, xmlBytes, possibleRequestIDs, replay)
}

func (sp *SP) parseXML(ctx context.Context, xmlBytes []byte, ids []string, replay ReplayCache) (*Identity, error) {
	now := sp.opt.Now().UTC()
	if len(ids) == 0 {
		ids = nil
	}

	if e := checkRawXML(xmlBytes); e != nil {
		return nil, e
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xmlBytes); err != nil {
		return nil, refuse(ReasonMalformed, "SAMLResponse is not well-formed XML", err)
	}
	for _, tok := range doc.Child {
		if _, ok := tok.(*etree.Directive); ok {
			return nil, refuse(ReasonDoctype, "the XML carries a DOCTYPE/DTD, which SAML forbids", nil)
		}
	}
	f, e := sp.inspect(doc)
	if e != nil {
		return nil, e
	}
	if e := sp.precheck(f, now); e != nil {
		return nil, e
	}
	if sp.requireEncryption && f.encrypted == nil {
		return nil, refuse(ReasonEncryptionRequired, "the assertion is not encrypted, but this company requires token encryption: in Entra open Single sign-on → Token encryption, import this company's encryption certificate and activate it (or set encryption to optional here while switching)", nil)
	}

	// The Issuer to enforce: the configured Entra Identifier, or (trust on
	// first use) the one the Response itself names, which the signature,
	// crewjam's issuer checks and the caller's pinning then bind.
	c := sp.base
	c.Clock = clockAt(now)
	issuer := sp.settings.ExpectedIssuer
	if issuer == "" {
		issuer = f.responseIssuer
		if issuer == "" {
			issuer = f.assertionIssuer
		}
		if issuer == "" {
			return nil, refuse(ReasonWrongIssuer, "the response names no Issuer", nil)
		}
		md := sp.idp
		md.EntityID = issuer
		c.IDPMetadata = &md
	}

	a, err := c.ParseXMLResponse(xmlBytes, ids, sp.acs)
	if err != nil {
		return nil, sp.classify(err, f, issuer, ids, now)
	}

	id, e := sp.identity(a, f, ids, issuer, now)
	if e != nil {
		return nil, e
	}
	if err := replay.Consume(ctx, a.ID, id.ValidUntil); err != nil {
		if errors.Is(err, ErrReplayed) {
			return nil, refuse(ReasonReplay, "this assertion was already used to sign in", err)
		}
		return nil, refuse(ReasonInternal, "the replay cache could not record the assertion", err)
	}
	return id, nil
}

// checkRawXML refuses what must never reach an XML parser: non-UTF-8 (a
// UTF-16 document would hide a DOCTYPE from a byte scan), NUL bytes, and
// any markup declaration (<!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST ...).
func checkRawXML(b []byte) *Error {
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return refuse(ReasonMalformed, "SAMLResponse is not UTF-8 XML", nil)
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 || t[0] != '<' {
		return refuse(ReasonMalformed, "SAMLResponse is not XML", nil)
	}
	rest := b
	for {
		i := bytes.Index(rest, []byte("<!"))
		if i < 0 {
			return nil
		}
		rest = rest[i+2:]
		if bytes.HasPrefix(rest, []byte("--")) || bytes.HasPrefix(rest, []byte("[CDATA[")) {
			continue
		}
		return refuse(ReasonDoctype, "the XML carries a DOCTYPE or entity/DTD declaration, which SAML forbids", nil)
	}
}

// inspect walks the whole received document once: shape rules that hold
// for every Entra response, and facts for diagnostics.
func (sp *SP) inspect(doc *etree.Document) (*facts, *Error) {
	root := doc.Root()
	if root == nil || root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return nil, refuse(ReasonMalformed, "the XML root is not a SAML 2.0 protocol Response", nil)
	}
	f := &facts{root: root}
	seen := map[string]bool{}
	var assertions, responses int
	var walk func(el *etree.Element) *Error
	walk = func(el *etree.Element) *Error {
		for _, a := range el.Attr {
			if strings.EqualFold(a.Key, "id") {
				if seen[a.Value] {
					return refuse(ReasonMalformed, "two elements carry the same ID (signature wrapping)", nil)
				}
				seen[a.Value] = true
			}
		}
		switch {
		case el.Tag == "EncryptedAssertion" && len(sp.keys) > 0:
			if el.Parent() != root || el.NamespaceURI() != nsAssertion {
				return refuse(ReasonMalformed, "the EncryptedAssertion is not a direct child of the Response", nil)
			}
			assertions++
			if f.encrypted == nil {
				f.encrypted = el
			}
			return nil // its content is read once decrypted
		case isEncryptedTag(el.Tag) && len(sp.keys) == 0:
			return refuse(ReasonEncryptedAssertion, "the response carries an encrypted assertion, but token encryption is off for this company: in Entra turn off Token encryption for the app, or turn it on here (ssogate sso configure --encryption optional) and upload this company's encryption certificate to Entra", nil)
		case isEncryptedTag(el.Tag):
			return refuse(ReasonEncryptedAssertion, "the response carries encrypted content outside an EncryptedAssertion (an encrypted NameID or attribute), which Entra does not send", nil)
		case el.Tag == "Assertion":
			assertions++
			if f.assertion == nil {
				f.assertion = el
			}
		case el.Tag == "Response":
			responses++
		}
		for _, ch := range el.ChildElements() {
			if e := walk(ch); e != nil {
				return e
			}
		}
		return nil
	}
	if e := walk(root); e != nil {
		return nil, e
	}
	if responses > 1 {
		return nil, refuse(ReasonMalformed, "a Response nested in the Response (signature wrapping)", nil)
	}
	if assertions > 1 {
		return nil, refuse(ReasonMultipleAssertions, fmt.Sprintf("the response holds %d Assertion elements; Entra sends exactly one", assertions), nil)
	}
	if f.encrypted != nil {
		a, by, e := sp.decryptFacts(f.encrypted)
		if e != nil {
			return nil, e
		}
		if e := walk(a); e != nil { // IDs and encrypted content inside it
			return nil, e
		}
		f.assertion, f.decryptedBy = a, by
	}

	f.destination = root.SelectAttrValue("Destination", "")
	f.inResponseTo = root.SelectAttrValue("InResponseTo", "")
	f.issueInstant, _ = time.Parse(time.RFC3339Nano, root.SelectAttrValue("IssueInstant", ""))
	if el := child(root, nsAssertion, "Issuer"); el != nil {
		f.responseIssuer = strings.TrimSpace(el.Text())
	}
	f.responseSig = child(root, nsDSig, "Signature")
	if st := child(root, nsProtocol, "Status"); st != nil {
		if sc := child(st, nsProtocol, "StatusCode"); sc != nil {
			f.status = sc.SelectAttrValue("Value", "")
			for inner := child(sc, nsProtocol, "StatusCode"); inner != nil; inner = child(inner, nsProtocol, "StatusCode") {
				f.status += " / " + inner.SelectAttrValue("Value", "")
			}
		}
		if sm := child(st, nsProtocol, "StatusMessage"); sm != nil {
			f.statusMsg = sm.Text()
		}
	}
	if a := f.assertion; a != nil {
		if f.encrypted == nil && a.Parent() != root || a.NamespaceURI() != nsAssertion {
			return nil, refuse(ReasonMalformed, "the Assertion is not a direct child of the Response", nil)
		}
		if el := child(a, nsAssertion, "Issuer"); el != nil {
			f.assertionIssuer = strings.TrimSpace(el.Text())
		}
		f.assertionIssue, _ = time.Parse(time.RFC3339Nano, a.SelectAttrValue("IssueInstant", ""))
		f.assnSig = child(a, nsDSig, "Signature")
		if cond := child(a, nsAssertion, "Conditions"); cond != nil {
			for _, ar := range cond.ChildElements() {
				if ar.Tag != "AudienceRestriction" {
					continue
				}
				f.hasAudienceRestrict = true
				for _, au := range ar.ChildElements() {
					if au.Tag == "Audience" {
						f.audiences = append(f.audiences, strings.TrimSpace(au.Text()))
					}
				}
			}
		}
		if subj := child(a, nsAssertion, "Subject"); subj != nil {
			for _, sc := range subj.ChildElements() {
				if sc.Tag != "SubjectConfirmation" {
					continue
				}
				if d := child(sc, nsAssertion, "SubjectConfirmationData"); d != nil {
					f.recipients = append(f.recipients, d.SelectAttrValue("Recipient", ""))
				}
			}
		}
	}
	return f, nil
}

// child returns el's first child element named ns:tag.
func child(el *etree.Element, ns, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// precheck refuses, before any signature work, what no genuine Entra
// response looks like, and reports Entra's own errors.
func (sp *SP) precheck(f *facts, now time.Time) *Error {
	if f.status == "" {
		return refuse(ReasonMalformed, "the response has no Status", nil)
	}
	if top, _, _ := strings.Cut(f.status, " / "); top != statusOK {
		msg := clean(f.statusMsg)
		if msg == "" {
			msg = "status " + clean(f.status)
		}
		// An error response is unsigned: anyone can post one. Say so, so
		// the admin does not take its text for Entra's word.
		return refuse(ReasonStatusNotSuccess, "unverified (unsigned error response): "+msg, nil)
	}
	if f.assertion == nil {
		return refuse(ReasonMalformed, "the response holds no Assertion", nil)
	}
	if f.responseSig == nil && f.assnSig == nil {
		return refuse(ReasonUnsigned, "neither the Response nor the Assertion is signed; in Entra the app must sign the SAML assertion and/or response", nil)
	}
	if !sp.opt.AllowSHA1 {
		for _, sig := range []*etree.Element{f.responseSig, f.assnSig} {
			if sig != nil && usesSHA1(sig) {
				return refuse(ReasonSHA1Signature, "the response is signed with SHA-1; in Entra set the app's signing algorithm to SHA-256", nil)
			}
		}
	}
	for _, t := range []time.Time{f.issueInstant, f.assertionIssue} {
		if !t.IsZero() && t.Sub(now) > sp.opt.ClockSkew {
			return refuse(ReasonClockSkew, fmt.Sprintf("IssueInstant is %ds in the future (clock offset; allowed %ds): check this server's clock", int(t.Sub(now).Seconds()), int(sp.opt.ClockSkew.Seconds())), nil)
		}
	}
	return nil
}

func usesSHA1(sig *etree.Element) bool {
	for _, el := range sig.FindElements(".//*[@Algorithm]") {
		if el.Tag != "SignatureMethod" && el.Tag != "DigestMethod" {
			continue
		}
		alg := strings.ToLower(el.SelectAttrValue("Algorithm", ""))
		if strings.HasSuffix(alg, "sha1") {
			return true
		}
	}
	return false
}

// clean makes text from the response safe and short for the admin page.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// classify maps crewjam's (private) error to a Reason with an admin detail.
func (sp *SP) classify(err error, f *facts, issuer string, ids []string, now time.Time) *Error {
	cause := err
	var ivr *saml.InvalidResponseError
	if errors.As(err, &ivr) && ivr.PrivateErr != nil {
		cause = ivr.PrivateErr
	}
	var own *Error
	if errors.As(cause, &own) {
		return own
	}
	var bad saml.ErrBadStatus
	if errors.As(cause, &bad) {
		return refuse(ReasonStatusNotSuccess, "status "+clean(bad.Status), cause)
	}
	switch {
	case errors.Is(cause, saml.ErrInvalidSignature) && errors.Is(cause, saml.ErrUntrustedCertificate):
		return refuse(ReasonUnknownCertificate, sp.untrustedDetail(f), cause)
	case errors.Is(cause, saml.ErrInvalidSignature) && errors.Is(cause, saml.ErrCertificateNotValidNow):
		return refuse(ReasonCertificateExpired, sp.expiredCertDetail(f, now), cause)
	case errors.Is(cause, saml.ErrInvalidSignature) && errors.Is(cause, saml.ErrUnsupported):
		return refuse(ReasonSHA1Signature, "the response is signed with SHA-1; in Entra set the app's signing algorithm to SHA-256", cause)
	case errors.Is(cause, saml.ErrInvalidSignature):
		// With several trusted certificates and no KeyInfo, crewjam tries
		// each and reports only the last failure: name an expired (or
		// not yet valid) trusted certificate that made the signature.
		if d := sp.outOfValiditySigner(f, now); d != "" {
			return refuse(ReasonCertificateExpired, d, cause)
		}
		return refuse(ReasonBadSignature, "the signature does not verify against the trusted certificate (the response was altered, or signed with another key)", cause)
	case strings.Contains(cause.Error(), "signature element not present"):
		return refuse(ReasonUnsigned, "the assertion is not signed and the Response signature does not cover it", cause)
	case errors.Is(cause, saml.ErrIssuerMismatch):
		got := f.responseIssuer
		if got == "" || got == issuer {
			got = f.assertionIssuer
		}
		return refuse(ReasonWrongIssuer, fmt.Sprintf("expected Issuer %q, got %q: check the Microsoft Entra Identifier in the SSO settings", issuer, clean(got)), cause)
	case errors.Is(cause, saml.ErrAudienceMismatch):
		if !f.hasAudienceRestrict {
			return refuse(ReasonWrongAudience, fmt.Sprintf("the assertion has no AudienceRestriction; expected audience %q", sp.settings.EntityID), cause)
		}
		return refuse(ReasonWrongAudience, fmt.Sprintf("expected audience %q, got %q: the Identifier (Entity ID) in Entra must be exactly %q", sp.settings.EntityID, clean(strings.Join(f.audiences, ", ")), sp.settings.EntityID), cause)
	case errors.Is(cause, saml.ErrDestinationMismatch):
		acs := sp.acs.String()
		if f.destination != "" && f.destination != acs {
			return refuse(ReasonWrongDestination, fmt.Sprintf("expected Destination %q, got %q: the Reply URL in Entra must be exactly %q", acs, clean(f.destination), acs), cause)
		}
		return refuse(ReasonWrongRecipient, fmt.Sprintf("expected Recipient %q, got %q: the Reply URL in Entra must be exactly %q", acs, clean(strings.Join(f.recipients, ", ")), acs), cause)
	case errors.Is(cause, saml.ErrRequestIDMismatch):
		if ids == nil {
			return refuse(ReasonUnsolicitedWithRequestID, "the response answers a sign-in request, but none is pending for this browser", cause)
		}
		return refuse(ReasonUnknownRequest, "the response does not answer this browser's pending sign-in request", cause)
	case errors.Is(cause, saml.ErrNotYetValid):
		return refuse(ReasonNotYetValid, "the assertion is not valid yet (Conditions/SubjectConfirmation NotBefore in the future): check this server's clock", cause)
	case errors.Is(cause, saml.ErrExpired):
		detail := "the assertion has expired (NotOnOrAfter passed)"
		if !f.issueInstant.IsZero() && now.Sub(f.issueInstant) > sp.opt.MaxIssueDelay {
			detail = fmt.Sprintf("IssueInstant is %ds old (limit %ds): a stale or replayed response, or this server's clock is ahead", int(now.Sub(f.issueInstant).Seconds()), int(sp.opt.MaxIssueDelay.Seconds()))
		}
		return refuse(ReasonExpired, detail, cause)
	case errors.Is(cause, saml.ErrMissingElement):
		if a := f.assertion; a != nil {
			if subj := child(a, nsAssertion, "Subject"); subj == nil || child(subj, nsAssertion, "NameID") == nil {
				return refuse(ReasonNoNameID, "the assertion has no NameID", cause)
			}
		}
		return refuse(ReasonMalformed, "a required SAML element is missing", cause)
	case errors.Is(cause, saml.ErrDecryptionFailed):
		return refuse(ReasonEncryptedAssertion, "encrypted content cannot be decrypted", cause)
	}
	return refuse(ReasonMalformed, "the response is not a valid SAML response", cause)
}

// keyInfoDER returns the DER bytes of the first certificate in sig's
// KeyInfo, if any and if it is base64.
func keyInfoDER(sig *etree.Element) []byte {
	if sig == nil {
		return nil
	}
	el := sig.FindElement("./KeyInfo/X509Data/X509Certificate")
	if el == nil {
		return nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		return nil
	}
	return der
}

// keyInfoCert returns the first certificate in sig's KeyInfo, if any.
func keyInfoCert(sig *etree.Element) *x509.Certificate {
	der := keyInfoDER(sig)
	if der == nil {
		return nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c
}

func (sp *SP) findTrusted(c *x509.Certificate) *x509Cert {
	for _, t := range sp.trusted {
		if bytes.Equal(t.cert.Raw, c.Raw) {
			return t
		}
	}
	return nil
}

func (sp *SP) untrustedDetail(f *facts) string {
	for _, sig := range []*etree.Element{f.responseSig, f.assnSig} {
		if c := keyInfoCert(sig); c != nil && sp.findTrusted(c) == nil {
			d := newX509Cert(c)
			return fmt.Sprintf("the response is signed by a certificate that is not trusted (thumbprint %s, subject %q, valid until %s); if Entra has a new signing certificate, paste the new certificate (thumbprint %s)",
				d.sha1, clean(c.Subject.String()), c.NotAfter.UTC().Format("2006-01-02"), d.sha1)
		}
	}
	return "the response is signed by a certificate that is not trusted; paste Entra's current signing certificate"
}

func (sp *SP) expiredCertDetail(f *facts, now time.Time) string {
	for _, sig := range []*etree.Element{f.responseSig, f.assnSig} {
		if c := keyInfoCert(sig); c != nil {
			if t := sp.findTrusted(c); t != nil && (now.After(c.NotAfter) || now.Before(c.NotBefore)) {
				return fmt.Sprintf("the signing certificate (thumbprint %s) is valid %s to %s only; in Entra create and activate a new certificate, then paste it",
					t.sha1, c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
			}
		}
	}
	return "the signing certificate is expired or not yet valid; in Entra create and activate a new certificate, then paste it"
}

// outOfValiditySigner returns the expiredCertDetail of a trusted
// certificate outside its validity at now that made one of the response's
// signatures (checked at a time inside its validity), or "".
func (sp *SP) outOfValiditySigner(f *facts, now time.Time) string {
	for _, t := range sp.trusted {
		c := t.cert
		var at time.Time
		switch {
		case now.After(c.NotAfter):
			at = c.NotAfter.Add(-time.Second)
		case now.Before(c.NotBefore):
			at = c.NotBefore.Add(time.Second)
		default:
			continue
		}
		for _, p := range []struct{ el, sig *etree.Element }{{f.root, f.responseSig}, {f.assertion, f.assnSig}} {
			if p.sig != nil && p.el != nil && verifiesWith(p.el, c, at) {
				return fmt.Sprintf("the signing certificate (thumbprint %s) is valid %s to %s only; in Entra create and activate a new certificate, then paste it",
					t.sha1, c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
			}
		}
	}
	return ""
}

// validateRequestID is crewjam's ValidateRequestID hook; it also decides a
// non-empty SubjectConfirmationData InResponseTo (passed as a Response).
// Unsolicited responses are accepted only when no request is pending; a
// response naming a request must name this browser's pending one.
func validateRequestID(resp saml.Response, ids []string) error {
	if resp.InResponseTo == "" {
		if len(ids) == 0 {
			return nil
		}
		return refuse(ReasonUnknownRequest, "an unsolicited response (no InResponseTo) arrived while this browser had a sign-in request pending", nil)
	}
	if len(ids) == 0 {
		return refuse(ReasonUnsolicitedWithRequestID, "the response answers a sign-in request (InResponseTo), but none is pending for this browser", nil)
	}
	if slices.Contains(ids, resp.InResponseTo) {
		return nil
	}
	return refuse(ReasonUnknownRequest, "the response answers a sign-in request this browser did not make (InResponseTo does not match)", nil)
}

// identity builds the Identity from crewjam's verified assertion (read from
// the signed bytes) and makes our last checks.
func (sp *SP) identity(a *saml.Assertion, f *facts, ids []string, issuer string, now time.Time) (*Identity, *Error) {
	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return nil, refuse(ReasonNoNameID, "the assertion has no NameID (or an empty one)", nil)
	}
	if a.ID == "" {
		return nil, refuse(ReasonMalformed, "the assertion has no ID", nil)
	}
	// crewjam accepts an assertion without InResponseTo inside a solicited
	// Response (AllowIDPInitiated); we do not: every bearer confirmation of
	// an SP-initiated login must answer the pending request.
	var irt string
	var confirmed bool
	var validUntil time.Time
	for _, sc := range a.Subject.SubjectConfirmations {
		if sc.Method != bearer || sc.SubjectConfirmationData == nil {
			continue
		}
		d := sc.SubjectConfirmationData
		if ids == nil && d.InResponseTo == "" || ids != nil && slices.Contains(ids, d.InResponseTo) {
			confirmed = true
			irt = d.InResponseTo
		}
		if d.NotOnOrAfter.After(validUntil) {
			validUntil = d.NotOnOrAfter
		}
	}
	if !confirmed {
		if ids == nil {
			return nil, refuse(ReasonUnsolicitedWithRequestID, "the assertion answers a sign-in request, but none is pending for this browser", nil)
		}
		return nil, refuse(ReasonUnknownRequest, "the assertion does not answer this browser's pending sign-in request", nil)
	}
	if a.Conditions != nil && a.Conditions.NotOnOrAfter.After(validUntil) {
		validUntil = a.Conditions.NotOnOrAfter
	}
	// The assertion is refused once its (signed) IssueInstant is
	// MaxIssueDelay old, whatever NotOnOrAfter the IdP wrote: that bounds
	// how long its replay record must live (one clock skew added for the
	// margin). An IdP's ten-year NotOnOrAfter no longer makes a ten-year
	// record.
	deadline := a.IssueInstant.Add(sp.opt.MaxIssueDelay + sp.opt.ClockSkew)
	if !validUntil.IsZero() && validUntil.Add(sp.opt.ClockSkew).Before(deadline) {
		deadline = validUntil.Add(sp.opt.ClockSkew)
	}
	validUntil = deadline

	cert, e := sp.verifyingCert(f, now)
	if e != nil {
		return nil, e
	}

	id := &Identity{
		NameID:        a.Subject.NameID.Value,
		NameIDFormat:  a.Subject.NameID.Format,
		Issuer:        issuer,
		AssertionID:   a.ID,
		InResponseTo:  irt,
		CertSHA256:    cert.sha256,
		ValidUntil:    validUntil,
		DecryptedWith: f.decryptedBy,
	}
	for _, st := range a.AuthnStatements {
		if st.SessionIndex != "" {
			id.SessionIndex = st.SessionIndex
			break
		}
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if len(at.Values) == 0 {
				continue
			}
			v := strings.TrimSpace(at.Values[0].Value)
			switch at.Name {
			case ClaimObjectID:
				id.ObjectID = v
			case ClaimTenantID:
				id.TenantID = v
			case ClaimEmail:
				id.Email = v
			case ClaimGivenName:
				id.GivenName = v
			case ClaimSurname:
				id.FamilyName = v
			case ClaimDisplayName:
				id.DisplayName = v
			}
		}
	}
	return id, nil
}

// verifyingCert names the trusted certificate that verified the outermost
// signature crewjam relied on: the Response's if signed, else the
// Assertion's. crewjam requires a KeyInfo certificate to be a trusted one;
// without one, each trusted certificate is tried.
func (sp *SP) verifyingCert(f *facts, now time.Time) (*x509Cert, *Error) {
	el, sig := f.root, f.responseSig
	if sig == nil {
		el, sig = f.assertion, f.assnSig
	}
	// The common case needs no certificate parsing: the KeyInfo bytes are
	// exactly a trusted certificate's (the same test findTrusted makes on
	// the parsed certificate). Anything else takes the parsing path below.
	if der := keyInfoDER(sig); der != nil {
		for _, t := range sp.trusted {
			if bytes.Equal(t.cert.Raw, der) {
				return t, nil
			}
		}
	}
	if c := keyInfoCert(sig); c != nil {
		if t := sp.findTrusted(c); t != nil {
			return t, nil
		}
		return nil, refuse(ReasonUnknownCertificate, sp.untrustedDetail(f), nil)
	}
	if len(sp.trusted) == 1 {
		return sp.trusted[0], nil
	}
	for _, t := range sp.trusted {
		if verifiesWith(el, t.cert, now) {
			return t, nil
		}
	}
	return nil, refuse(ReasonInternal, "could not tell which trusted certificate verified the signature", nil)
}

func verifiesWith(el *etree.Element, cert *x509.Certificate, now time.Time) bool {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return false
	}
	ctx, err = ctx.SubContext(el)
	if err != nil {
		return false
	}
	// A detached copy, carrying the namespaces in scope, so the KeyInfo
	// strip below does not touch the document.
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return false
	}
	if sig := child(det, nsDSig, "Signature"); sig != nil {
		if ki := sig.FindElement("./KeyInfo"); ki != nil {
			sig.RemoveChild(ki)
		}
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.IdAttribute = "ID"
	vc.Clock = clockAt(now)
	_, err = vc.Validate(det)
	return err == nil
}

// Package ssotest is a fake Microsoft Entra ID for tests in every package
// and for `ssogate demo`: it signs Entra-shaped SAML responses, serves a
// small login page for SP-initiated flows, and tampers with signed XML for
// attack tests. It must not import testing (the demo links it), storage or
// web.
package ssotest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Namespaces and values Entra uses.
const (
	NSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	NSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSDSig      = "http://www.w3.org/2000/09/xmldsig#"

	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"

	StatusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	StatusRequester = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	StatusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"

	// CertCN is the common name Entra gives its SAML signing certificates.
	CertCN = "Microsoft Azure Federated SSO Certificate"
)

// Entra claim names.
const (
	ClaimTenantID    = "http://schemas.microsoft.com/identity/claims/tenantid"
	ClaimObjectID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	ClaimDisplayName = "http://schemas.microsoft.com/identity/claims/displayname"
	ClaimIDP         = "http://schemas.microsoft.com/identity/claims/identityprovider"
	ClaimAuthnMethod = "http://schemas.microsoft.com/claims/authnmethodsreferences"
	ClaimGivenName   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	ClaimSurname     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	ClaimEmail       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	ClaimName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
)

// IdP is one Entra enterprise application's signing side.
type IdP struct {
	// Issuer is the Entra Identifier, https://sts.windows.net/<tenant>/.
	Issuer string
	// TenantID is the tenantid claim; New derives it from Issuer.
	TenantID string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
	// Now is the IdP's clock (nil = time.Now).
	Now func() time.Time
	// ReplyURLs, when set, are the only ACS URLs Handler answers to (Entra
	// refuses an AssertionConsumerServiceURL that is not a Reply URL).
	ReplyURLs []string
	// LogoutURL is the app's Logout Url in Entra: where Handler answers an
	// SP's LogoutRequest and SignOutHandler sends LogoutRequests ("" =
	// none configured).
	LogoutURL string
}

var stsRe = regexp.MustCompile(`^https://sts\.windows\.net/([0-9a-fA-F-]{36})/$`)

// New makes an IdP with a fresh RSA-2048 key and a self-signed, three-year
// certificate named like Entra's.
func New(issuer string) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	cert, err := SelfSigned(key, CertCN, now.Add(-time.Hour), now.AddDate(3, 0, 0))
	if err != nil {
		return nil, err
	}
	p := &IdP{Issuer: issuer, Key: key, Cert: cert}
	if m := stsRe.FindStringSubmatch(issuer); m != nil {
		p.TenantID = m[1]
	}
	return p, nil
}

// NewTenantID returns a random GUID for an Entra tenant or object ID.
func NewTenantID() string { return guid() }

// SelfSigned makes a self-signed certificate for key, as Entra does.
func SelfSigned(key *rsa.PrivateKey, cn string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Rotate gives the IdP a new key and certificate (Entra's "make
// certificate active"), returning the old certificate.
func (p *IdP) Rotate() (old *x509.Certificate, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := p.now()
	cert, err := SelfSigned(key, CertCN, now.Add(-time.Hour), now.AddDate(3, 0, 0))
	if err != nil {
		return nil, err
	}
	old = p.Cert
	p.Key, p.Cert = key, cert
	return old, nil
}

func (p *IdP) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// CertificateBase64 is what Entra's "Certificate (Base64)" download holds:
// a PEM certificate.
func (p *IdP) CertificateBase64() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw}))
}

// Assertion is everything a test may vary; zero values are Entra's defaults.
type Assertion struct {
	// ACSURL is the Reply URL: Response Destination and SubjectConfirmation
	// Recipient (each overridable below).
	ACSURL      string
	Destination string // "" = ACSURL
	Recipient   string // "" = ACSURL
	// Audience is the SP's Identifier (Entity ID).
	Audience   string
	NoAudience bool // omit the AudienceRestriction

	NameID       string
	NameIDFormat string // "" = emailAddress
	NoNameID     bool   // omit the NameID element
	InResponseTo string // "" = IdP-initiated
	// AssertionInResponseTo overrides the SubjectConfirmationData
	// InResponseTo ("" = InResponseTo).
	AssertionInResponseTo string

	ObjectID, TenantID, Email, GivenName, FamilyName, DisplayName string

	// IssueInstant of Response and Assertion; zero = the IdP's now.
	IssueInstant time.Time
	// Conditions window; zero = Entra's capture shape: IssueInstant−5m and
	// IssueInstant+70m.
	NotBefore, NotOnOrAfter time.Time
	// SubjectConfirmationData NotOnOrAfter; zero = IssueInstant+5m.
	ConfirmationNotOnOrAfter time.Time

	// Entra's three signing options; both false = "Sign SAML assertion".
	SignAssertion, SignResponse bool
	Unsigned                    bool // sign nothing
	SHA1                        bool // rsa-sha1 and sha1 digests
	OmitKeyInfo                 bool // no KeyInfo in the signatures
	// Key and Cert sign instead of the IdP's own (attacker keys, rollover);
	// Cert is what KeyInfo carries.
	Key  *rsa.PrivateKey
	Cert *x509.Certificate

	// Status is the top-level StatusCode ("" = Success). A failure carries
	// SubStatus and StatusMessage (e.g. "AADSTS50105: ...") and no assertion.
	Status, SubStatus, StatusMessage string

	// EncryptTo turns on Entra's Token encryption: the signed assertion is
	// encrypted to this certificate (AES-256-CBC content, RSA-OAEP-MGF1P
	// key, as Entra does; AES-256-GCM with EncryptGCM) and the Response
	// carries an EncryptedAssertion.
	EncryptTo  *x509.Certificate
	EncryptGCM bool

	Issuer      string // override both Issuers ("" = IdP.Issuer)
	ResponseID  string // "" = random "_" + GUID
	AssertionID string // "" = random "_" + GUID
}

// Response returns the signed Response XML, shaped like Entra's: samlp:
// prefix on the Response only, unprefixed default-namespace Issuer,
// Assertion and Signature, exclusive c14n, rsa-sha256, KeyInfo with the
// certificate, the Signature right after the Issuer.
func (p *IdP) Response(a Assertion) ([]byte, error) {
	doc, err := p.ResponseDocument(a)
	if err != nil {
		return nil, err
	}
	return doc.WriteToBytes()
}

// ResponseBase64 is Response, base64-encoded as the SAMLResponse form value.
func (p *IdP) ResponseBase64(a Assertion) (string, error) {
	b, err := p.Response(a)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func guid() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ResponseDocument is Response as an etree document, for tests that edit it.
func (p *IdP) ResponseDocument(a Assertion) (*etree.Document, error) {
	issue := a.IssueInstant
	if issue.IsZero() {
		issue = p.now()
	}
	issue = issue.UTC().Truncate(time.Millisecond)
	issuer := firstNonEmpty(a.Issuer, p.Issuer)
	if a.ACSURL == "" && (a.Destination == "" || a.Recipient == "") && a.Status == "" {
		return nil, errors.New("ssotest: Assertion.ACSURL is required")
	}
	respID := firstNonEmpty(a.ResponseID, "_"+guid())
	assnID := firstNonEmpty(a.AssertionID, "_"+guid())

	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:Response")
	resp.CreateAttr("ID", respID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", samlTime(issue))
	resp.CreateAttr("Destination", firstNonEmpty(a.Destination, a.ACSURL))
	if a.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", a.InResponseTo)
	}
	resp.CreateAttr("xmlns:samlp", NSProtocol)
	iss := resp.CreateElement("Issuer")
	iss.CreateAttr("xmlns", NSAssertion)
	iss.SetText(issuer)
	status := resp.CreateElement("samlp:Status")
	code := status.CreateElement("samlp:StatusCode")
	if a.Status != "" && a.Status != StatusSuccess {
		code.CreateAttr("Value", a.Status)
		if a.SubStatus != "" {
			code.CreateElement("samlp:StatusCode").CreateAttr("Value", a.SubStatus)
		}
		if a.StatusMessage != "" {
			status.CreateElement("samlp:StatusMessage").SetText(a.StatusMessage)
		}
		if a.SignResponse {
			if err := p.sign(resp, a); err != nil {
				return nil, err
			}
		}
		return doc, nil
	}
	code.CreateAttr("Value", StatusSuccess)

	as := resp.CreateElement("Assertion")
	as.CreateAttr("ID", assnID)
	as.CreateAttr("IssueInstant", samlTime(issue))
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("xmlns", NSAssertion)
	as.CreateElement("Issuer").SetText(issuer)

	subj := as.CreateElement("Subject")
	if !a.NoNameID {
		nid := subj.CreateElement("NameID")
		nid.CreateAttr("Format", firstNonEmpty(a.NameIDFormat, NameIDEmail))
		nid.SetText(a.NameID)
	}
	sc := subj.CreateElement("SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("SubjectConfirmationData")
	if irt := firstNonEmpty(a.AssertionInResponseTo, a.InResponseTo); irt != "" && irt != "-" {
		scd.CreateAttr("InResponseTo", irt)
	}
	scd.CreateAttr("NotOnOrAfter", samlTime(orDefault(a.ConfirmationNotOnOrAfter, issue.Add(5*time.Minute))))
	scd.CreateAttr("Recipient", firstNonEmpty(a.Recipient, a.ACSURL))

	cond := as.CreateElement("Conditions")
	cond.CreateAttr("NotBefore", samlTime(orDefault(a.NotBefore, issue.Add(-5*time.Minute))))
	cond.CreateAttr("NotOnOrAfter", samlTime(orDefault(a.NotOnOrAfter, issue.Add(70*time.Minute))))
	if !a.NoAudience {
		cond.CreateElement("AudienceRestriction").CreateElement("Audience").SetText(a.Audience)
	}

	attrs := as.CreateElement("AttributeStatement")
	addAttr := func(name string, values ...string) {
		at := attrs.CreateElement("Attribute")
		at.CreateAttr("Name", name)
		for _, v := range values {
			at.CreateElement("AttributeValue").SetText(v)
		}
	}
	tenant := firstNonEmpty(a.TenantID, p.TenantID)
	if tenant != "" {
		addAttr(ClaimTenantID, tenant)
	}
	if a.ObjectID != "" {
		addAttr(ClaimObjectID, a.ObjectID)
	}
	if a.DisplayName != "" {
		addAttr(ClaimDisplayName, a.DisplayName)
	}
	addAttr(ClaimIDP, issuer)
	addAttr(ClaimAuthnMethod, "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password")
	if a.GivenName != "" {
		addAttr(ClaimGivenName, a.GivenName)
	}
	if a.FamilyName != "" {
		addAttr(ClaimSurname, a.FamilyName)
	}
	if a.Email != "" {
		addAttr(ClaimEmail, a.Email)
	}
	if a.NameID != "" {
		addAttr(ClaimName, a.NameID)
	}

	authn := as.CreateElement("AuthnStatement")
	authn.CreateAttr("AuthnInstant", samlTime(issue.Add(-2*time.Second)))
	authn.CreateAttr("SessionIndex", assnID)
	authn.CreateElement("AuthnContext").CreateElement("AuthnContextClassRef").
		SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")

	if !a.Unsigned {
		signAssertion := a.SignAssertion || !a.SignResponse
		if signAssertion {
			if err := p.sign(as, a); err != nil {
				return nil, err
			}
		}
	}
	if a.EncryptTo != nil { // Entra signs, then encrypts, then signs the Response
		enc, err := EncryptAssertion(as, a.EncryptTo, a.EncryptGCM)
		if err != nil {
			return nil, err
		}
		at := as.Index()
		resp.RemoveChildAt(at)
		resp.InsertChildAt(at, enc)
	}
	if !a.Unsigned {
		if a.SignResponse {
			if err := p.sign(resp, a); err != nil {
				return nil, err
			}
		}
	}
	return doc, nil
}

// sign puts an enveloped signature on el, right after its Issuer, with
// Entra's algorithms.
func (p *IdP) sign(el *etree.Element, a Assertion) error {
	key, cert := p.Key, p.Cert
	if a.Key != nil {
		key = a.Key
	}
	if a.Cert != nil {
		cert = a.Cert
	}
	return SignEnveloped(el, key, cert, a.SHA1, a.OmitKeyInfo)
}

// SignEnveloped signs el (a Response or Assertion, in place) the way Entra
// does and inserts the Signature after el's Issuer. Attack tests use it to
// re-sign edited XML with other keys.
func SignEnveloped(el *etree.Element, key *rsa.PrivateKey, cert *x509.Certificate, sha1, omitKeyInfo bool) error {
	var certs [][]byte
	if cert != nil {
		certs = [][]byte{cert.Raw}
	}
	ctx, err := dsig.NewSigningContext(key, certs)
	if err != nil {
		return err
	}
	ctx.Prefix = ""
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := dsig.RSASHA256SignatureMethod
	if sha1 {
		method = dsig.RSASHA1SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return fmt.Errorf("ssotest: sign: %w", err)
	}
	if omitKeyInfo || cert == nil {
		if ki := sig.SelectElement("KeyInfo"); ki != nil {
			sig.RemoveChild(ki)
		}
	}
	at := 0
	for i, ch := range el.Child {
		if e, ok := ch.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	el.InsertChildAt(at, sig)
	return nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func orDefault(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

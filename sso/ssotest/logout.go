package ssotest

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // only for the SHA-1 variant attack tests need
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Entra's Single Logout, HTTP-Redirect binding only, unsigned messages (as
// Entra sends them; signing is a variant for tests).

// Logout is an Entra LogoutRequest or LogoutResponse a test may vary; zero
// values are Entra's shapes.
type Logout struct {
	// Destination is the SP's Logout Url (required).
	Destination string
	// NoDestination leaves the Destination attribute out.
	NoDestination bool
	NameID        string
	NameIDFormat  string // "" = emailAddress
	SessionIndex  string
	// InResponseTo (responses) names the SP's LogoutRequest.
	InResponseTo string
	RelayState   string
	IssueInstant time.Time // zero = the IdP's now
	Issuer       string    // "" = IdP.Issuer
	ID           string    // "" = random "_" + GUID
	Status       string    // responses: "" = Success
	// Sign adds a query string signature (SigAlg, Signature) with Key (or
	// the IdP's key), rsa-sha256 unless SHA1.
	Sign bool
	SHA1 bool
	Key  *rsa.PrivateKey
}

// LogoutRequestXML returns an Entra-shaped LogoutRequest.
func (p *IdP) LogoutRequestXML(l Logout) string {
	var x strings.Builder
	x.WriteString(`<samlp:LogoutRequest xmlns:samlp="` + NSProtocol + `"`)
	fmt.Fprintf(&x, ` ID="%s" Version="2.0" IssueInstant="%s"`, xmlEscape(firstNonEmpty(l.ID, "_"+guid())), samlTime(p.issue(l)))
	if !l.NoDestination {
		fmt.Fprintf(&x, ` Destination="%s"`, xmlEscape(l.Destination))
	}
	fmt.Fprintf(&x, `><Issuer xmlns="%s">%s</Issuer>`, NSAssertion, xmlEscape(firstNonEmpty(l.Issuer, p.Issuer)))
	fmt.Fprintf(&x, `<NameID xmlns="%s" Format="%s">%s</NameID>`, NSAssertion, xmlEscape(firstNonEmpty(l.NameIDFormat, NameIDEmail)), xmlEscape(l.NameID))
	if l.SessionIndex != "" {
		fmt.Fprintf(&x, `<samlp:SessionIndex>%s</samlp:SessionIndex>`, xmlEscape(l.SessionIndex))
	}
	x.WriteString(`</samlp:LogoutRequest>`)
	return x.String()
}

// LogoutResponseXML returns an Entra-shaped LogoutResponse.
func (p *IdP) LogoutResponseXML(l Logout) string {
	var x strings.Builder
	x.WriteString(`<samlp:LogoutResponse xmlns:samlp="` + NSProtocol + `"`)
	fmt.Fprintf(&x, ` ID="%s" Version="2.0" IssueInstant="%s"`, xmlEscape(firstNonEmpty(l.ID, "_"+guid())), samlTime(p.issue(l)))
	if !l.NoDestination {
		fmt.Fprintf(&x, ` Destination="%s"`, xmlEscape(l.Destination))
	}
	if l.InResponseTo != "" {
		fmt.Fprintf(&x, ` InResponseTo="%s"`, xmlEscape(l.InResponseTo))
	}
	fmt.Fprintf(&x, `><Issuer xmlns="%s">%s</Issuer>`, NSAssertion, xmlEscape(firstNonEmpty(l.Issuer, p.Issuer)))
	fmt.Fprintf(&x, `<samlp:Status><samlp:StatusCode Value="%s"/></samlp:Status></samlp:LogoutResponse>`, xmlEscape(firstNonEmpty(l.Status, StatusSuccess)))
	return x.String()
}

func (p *IdP) issue(l Logout) time.Time {
	if !l.IssueInstant.IsZero() {
		return l.IssueInstant
	}
	return p.now()
}

// LogoutRequestURL is the URL Entra sends the browser to with l as an
// HTTP-Redirect LogoutRequest.
func (p *IdP) LogoutRequestURL(l Logout) (string, error) {
	return p.redirectURL(l, "SAMLRequest", p.LogoutRequestXML(l))
}

// LogoutResponseURL is the URL Entra sends the browser to with l as an
// HTTP-Redirect LogoutResponse.
func (p *IdP) LogoutResponseURL(l Logout) (string, error) {
	return p.redirectURL(l, "SAMLResponse", p.LogoutResponseXML(l))
}

// RedirectEncode deflates and base64-encodes a message for the
// HTTP-Redirect binding.
func RedirectEncode(xmlText string) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = w.Write([]byte(xmlText))
	_ = w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func (p *IdP) redirectURL(l Logout, param, xmlText string) (string, error) {
	if l.Destination == "" {
		return "", errors.New("ssotest: Logout.Destination is required")
	}
	// The binding signs the URL-encoded parameters in this order
	// (saml-bindings-2.0-os §3.4.4.1).
	q := param + "=" + url.QueryEscape(RedirectEncode(xmlText))
	if l.RelayState != "" {
		q += "&RelayState=" + url.QueryEscape(l.RelayState)
	}
	if l.Sign {
		alg, h, sum := "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", crypto.SHA256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
		if l.SHA1 {
			alg, h, sum = "http://www.w3.org/2000/09/xmldsig#rsa-sha1", crypto.SHA1, func(b []byte) []byte { s := sha1.Sum(b); return s[:] } //nolint:gosec // test variant
		}
		q += "&SigAlg=" + url.QueryEscape(alg)
		key := p.Key
		if l.Key != nil {
			key = l.Key
		}
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, sum([]byte(q)))
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(l.Destination, "?") {
		sep = "&"
	}
	return l.Destination + sep + q, nil
}

// logoutMessage is the part of an SP's LogoutRequest or LogoutResponse the
// fake Entra reads.
type logoutMessage struct {
	XMLName      xml.Name
	ID           string `xml:"ID,attr"`
	Version      string `xml:"Version,attr"`
	Destination  string `xml:"Destination,attr"`
	InResponseTo string `xml:"InResponseTo,attr"`
	Issuer       string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameID       *struct {
		Format string `xml:"Format,attr"`
		Value  string `xml:",chardata"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	SessionIndex []string `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
	Status       *struct {
		Code struct {
			Value string `xml:"Value,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusCode"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol Status"`
}

// LogoutInfo is what DecodeLogout reads from an SP's redirect URL.
type LogoutInfo struct {
	Kind                                      string // "LogoutRequest" or "LogoutResponse"
	ID, Issuer, Destination, InResponseTo     string
	NameID, NameIDFormat, SessionIndex        string
	Status, RelayState, SigAlg, Signature, To string
}

// DecodeLogout decodes the LogoutRequest or LogoutResponse in an
// HTTP-Redirect URL, so tests can check what the SP sends.
func DecodeLogout(redirectURL string) (*LogoutInfo, error) {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	v := q.Get("SAMLRequest")
	if v == "" {
		v = q.Get("SAMLResponse")
	}
	m, err := decodeLogoutMessage(v)
	if err != nil {
		return nil, err
	}
	u.RawQuery = ""
	info := &LogoutInfo{Kind: m.XMLName.Local, ID: m.ID, Issuer: m.Issuer, Destination: m.Destination, InResponseTo: m.InResponseTo,
		RelayState: q.Get("RelayState"), SigAlg: q.Get("SigAlg"), Signature: q.Get("Signature"), To: u.String()}
	if m.NameID != nil {
		info.NameID, info.NameIDFormat = strings.TrimSpace(m.NameID.Value), m.NameID.Format
	}
	if len(m.SessionIndex) > 0 {
		info.SessionIndex = m.SessionIndex[0]
	}
	if m.Status != nil {
		info.Status = m.Status.Code.Value
	}
	return info, nil
}

func decodeLogoutMessage(v string) (*logoutMessage, error) {
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	r := flate.NewReader(bytes.NewReader(raw))
	defer r.Close()
	x, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil || len(x) > maxInflated {
		return nil, fmt.Errorf("not deflated or too large: %v", err)
	}
	if bytes.Contains(x, []byte("<!")) {
		return nil, errors.New("carries a DTD or comment")
	}
	var m logoutMessage
	if err := xml.Unmarshal(x, &m); err != nil {
		return nil, err
	}
	if m.XMLName.Space != NSProtocol || m.XMLName.Local != "LogoutRequest" && m.XMLName.Local != "LogoutResponse" {
		return nil, fmt.Errorf("not a logout message: %s", m.XMLName.Local)
	}
	return &m, nil
}

// isLogout reports whether an HTTP-Redirect SAMLRequest/SAMLResponse value
// holds a logout message (for the login handler to pass it on).
func isLogout(v string) bool {
	_, err := decodeLogoutMessage(v)
	return err == nil
}

var signedOutPage = template.Must(template.New("out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out — fake Microsoft Entra ID</title></head>
<body><h1 id="entra-signed-out">You signed out of your account</h1><p>{{.}}</p></body></html>`))

// serveLogout is Entra's /saml2 for logout messages. A LogoutRequest from
// the SP (Issuer = audience) ends the Entra session and answers a Success
// LogoutResponse at p.LogoutURL with the RelayState; a LogoutResponse (the
// SP's answer to an IdP-initiated logout) shows "signed out".
func (p *IdP) serveLogout(w http.ResponseWriter, r *http.Request, audience string) {
	q := r.URL.Query()
	if v := q.Get("SAMLResponse"); v != "" {
		m, err := decodeLogoutMessage(v)
		if err != nil || m.XMLName.Local != "LogoutResponse" || m.Issuer != audience || m.Status == nil || m.Status.Code.Value != StatusSuccess {
			http.Error(w, "AADSTS75005: The request is not a valid Saml2 protocol message.", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signedOutPage.Execute(w, "The application confirmed the sign-out.")
		return
	}
	m, err := decodeLogoutMessage(q.Get("SAMLRequest"))
	switch {
	case err != nil || m.XMLName.Local != "LogoutRequest":
		http.Error(w, "AADSTS75005: The request is not a valid Saml2 protocol message.", http.StatusBadRequest)
		return
	case m.Issuer != audience:
		http.Error(w, "AADSTS700016: LogoutRequest Issuer is not the application identifier", http.StatusBadRequest)
		return
	case m.NameID == nil || strings.TrimSpace(m.NameID.Value) == "":
		http.Error(w, "AADSTS7500530: SAML NameId cannot be null.", http.StatusBadRequest)
		return
	case m.ID == "" || m.ID[0] >= '0' && m.ID[0] <= '9':
		http.Error(w, "LogoutRequest ID is empty or starts with a digit", http.StatusBadRequest)
		return
	case p.LogoutURL == "":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signedOutPage.Execute(w, "No Logout Url is configured for the application.")
		return
	}
	to, err := p.LogoutResponseURL(Logout{Destination: p.LogoutURL, InResponseTo: m.ID, RelayState: q.Get("RelayState")})
	if err != nil {
		http.Error(w, "logout response failed", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// SignOutHandler is the fake Entra's own sign-out (the account menu):
// GET ?user=N sends the browser to the app's Logout Url with a
// LogoutRequest for that user, as Entra does for each app in the session.
func (p *IdP) SignOutHandler(users []User) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscan(r.URL.Query().Get("user"), &i); err != nil || i < 0 || i >= len(users) || p.LogoutURL == "" {
			http.Error(w, "unknown user or no Logout Url", http.StatusBadRequest)
			return
		}
		to, err := p.LogoutRequestURL(Logout{Destination: p.LogoutURL, NameID: users[i].NameID, RelayState: "entra-signout"})
		if err != nil {
			http.Error(w, "logout request failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
}

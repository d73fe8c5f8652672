package ssotest

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is someone who can sign in at the fake Entra login page.
type User struct {
	NameID, ObjectID, Email, GivenName, FamilyName string
}

// authnRequest is the part of an AuthnRequest the fake Entra checks.
type authnRequest struct {
	XMLName      xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol AuthnRequest"`
	ID           string   `xml:"ID,attr"`
	Version      string   `xml:"Version,attr"`
	ACSURL       string   `xml:"AssertionConsumerServiceURL,attr"`
	Issuer       string   `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameIDPolicy *struct {
		Format string `xml:"Format,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol NameIDPolicy"`
	Subject *struct{} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject"`
}

// maxInflated bounds a decoded AuthnRequest (a deflate bomb stops here).
const maxInflated = 64 << 10

// decodeRedirectRequest decodes an HTTP-Redirect binding SAMLRequest.
func decodeRedirectRequest(v string) (*authnRequest, error) {
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("SAMLRequest is not base64: %w", err)
	}
	r := flate.NewReader(bytes.NewReader(raw))
	defer r.Close()
	xmlBytes, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("SAMLRequest is not deflated: %w", err)
	}
	if len(xmlBytes) > maxInflated {
		return nil, fmt.Errorf("SAMLRequest too large")
	}
	if bytes.Contains(xmlBytes, []byte("<!")) {
		return nil, fmt.Errorf("SAMLRequest carries a DTD or comment")
	}
	var req authnRequest
	if err := xml.Unmarshal(xmlBytes, &req); err != nil {
		return nil, fmt.Errorf("SAMLRequest is not an AuthnRequest: %w", err)
	}
	return &req, nil
}

// check applies the AuthnRequest rules Entra enforces
// and the ones this product relies on.
func (p *IdP) check(req *authnRequest, audience string) error {
	switch {
	case req.Version != "2.0":
		return fmt.Errorf("AADSTS750054-like: Version %q", req.Version)
	case req.ID == "" || req.ID[0] >= '0' && req.ID[0] <= '9':
		return fmt.Errorf("AuthnRequest ID %q is empty or starts with a digit", req.ID)
	case req.Issuer != audience:
		return fmt.Errorf("AADSTS700016: AuthnRequest Issuer %q is not the application identifier %q", req.Issuer, audience)
	case req.NameIDPolicy != nil && req.NameIDPolicy.Format == NameIDTransient:
		return fmt.Errorf("NameIDPolicy asks for transient NameIDs; Entra would send a random NameID")
	case req.Subject != nil:
		return fmt.Errorf("AuthnRequest carries a Subject, which Entra refuses")
	case !strings.HasPrefix(req.ACSURL, "https://") && !strings.HasPrefix(req.ACSURL, "http://"):
		return fmt.Errorf("AuthnRequest has no http(s) AssertionConsumerServiceURL")
	case len(p.ReplyURLs) > 0 && !slices.Contains(p.ReplyURLs, req.ACSURL):
		return fmt.Errorf("AADSTS50011: the reply URL %q is not configured for the application", req.ACSURL)
	}
	return nil
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — fake Microsoft Entra ID</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto}li{margin:.5rem 0}</style></head>
<body><h1>Sign in</h1><p>Fake Microsoft Entra ID for <code>{{.Audience}}</code>. Pick an account:</p>
<ul>{{range $i, $u := .Users}}<li><form method="post">
<input type="hidden" name="SAMLRequest" value="{{$.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{$.RelayState}}">
<input type="hidden" name="user" value="{{$i}}">
<button type="submit" name="signin" id="signin-{{$i}}">Sign in as {{$u.NameID}}</button></form></li>{{end}}</ul>
</body></html>`))

var postForm = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working…</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{.ACS}}">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<noscript><button type="submit">Continue</button></noscript></form></body></html>`))

// Handler is the fake Entra login page for SP-initiated flows, and its
// Single Logout endpoint (the same URL, as at Entra; see serveLogout). GET with
// SAMLRequest and RelayState (HTTP-Redirect binding) checks the request
// (Issuer = audience, NameIDPolicy not transient, ...) and lists users;
// POST signs in the chosen user and answers the auto-submitting form that
// posts SAMLResponse and RelayState to the request's ACS URL, with
// InResponseTo set. The assertion is signed with Entra's default option.
func (p *IdP) Handler(users []User, audience string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		samlRequest, relayState := r.Form.Get("SAMLRequest"), r.Form.Get("RelayState")
		if r.Method == http.MethodGet && (r.URL.Query().Get("SAMLResponse") != "" || isLogout(samlRequest)) {
			p.serveLogout(w, r, audience)
			return
		}
		req, err := decodeRedirectRequest(samlRequest)
		if err == nil {
			err = p.check(req, audience)
		}
		if err != nil {
			http.Error(w, "Sorry, but we’re having trouble signing you in. "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodGet {
			_ = loginPage.Execute(w, map[string]any{"Audience": audience, "Users": users, "SAMLRequest": samlRequest, "RelayState": relayState})
			return
		}
		i, err := strconv.Atoi(r.PostForm.Get("user"))
		if err != nil || i < 0 || i >= len(users) {
			http.Error(w, "unknown user", http.StatusBadRequest)
			return
		}
		u := users[i]
		format := NameIDEmail
		if req.NameIDPolicy != nil && req.NameIDPolicy.Format != "" {
			format = req.NameIDPolicy.Format // Entra honours the requested format
		}
		resp, err := p.ResponseBase64(Assertion{
			ACSURL: req.ACSURL, Audience: audience, InResponseTo: req.ID,
			NameID: u.NameID, NameIDFormat: format, ObjectID: u.ObjectID, Email: u.Email,
			GivenName: u.GivenName, FamilyName: u.FamilyName, DisplayName: u.GivenName + " " + u.FamilyName,
			IssueInstant: p.now().Truncate(time.Millisecond),
		})
		if err != nil {
			http.Error(w, "signing failed", http.StatusInternalServerError)
			return
		}
		_ = postForm.Execute(w, map[string]any{"ACS": template.URL(req.ACSURL), "SAMLResponse": resp, "RelayState": relayState}) //nolint:gosec // ACS URL checked against ReplyURLs when configured
	})
}

// AuthnRequestInfo is what DecodeAuthnRequest reads from a redirect URL.
type AuthnRequestInfo struct {
	ID, Issuer, NameIDFormat, ACSURL, RelayState string
}

// DecodeAuthnRequest decodes the AuthnRequest in an HTTP-Redirect URL, so
// tests can check what the SP sends.
func DecodeAuthnRequest(redirectURL string) (*AuthnRequestInfo, error) {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return nil, err
	}
	req, err := decodeRedirectRequest(u.Query().Get("SAMLRequest"))
	if err != nil {
		return nil, err
	}
	info := &AuthnRequestInfo{ID: req.ID, Issuer: req.Issuer, ACSURL: req.ACSURL, RelayState: u.Query().Get("RelayState")}
	if req.NameIDPolicy != nil {
		info.NameIDFormat = req.NameIDPolicy.Format
	}
	return info, nil
}

// EncodeAuthnRequest makes an HTTP-Redirect SAMLRequest value, for tests
// of what the fake Entra refuses.
func EncodeAuthnRequest(id, issuer, nameIDFormat, acsURL string) string {
	var x strings.Builder
	x.WriteString(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Version="2.0"`)
	fmt.Fprintf(&x, ` ID="%s" AssertionConsumerServiceURL="%s" IssueInstant="%s"><saml:Issuer>%s</saml:Issuer>`,
		xmlEscape(id), xmlEscape(acsURL), samlTime(time.Now()), xmlEscape(issuer))
	if nameIDFormat != "" {
		fmt.Fprintf(&x, `<samlp:NameIDPolicy Format="%s"/>`, xmlEscape(nameIDFormat))
	}
	x.WriteString(`</samlp:AuthnRequest>`)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = w.Write([]byte(x.String()))
	_ = w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

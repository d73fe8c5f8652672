// Package oauthsyntax holds the character rules of RFC 6749's Appendix A
// that both OAuth servers of the gateway (the mobile app's, in
// web/oauthserver, and SCIM's client credentials, in sso/scim) apply to
// what clients send, and the rule for the redirect URIs a mobile app is
// registered with (the console and `ssogate oauth client add`).
package oauthsyntax

import (
	"fmt"
	"net/url"
	"strings"
)

// VSChar reports whether s is 1..max characters of %x20-7E (RFC 6749
// Appendix A, VSCHAR: client_id, client_secret, state, error_description).
func VSChar(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// CheckRedirectURI accepts what RFC 8252 allows a native app: a private-use
// scheme with a reverse-DNS name (com.example.app:/oauth2redirect), an https
// URL (universal/app link), or a loopback http URL. Never a fragment.
func CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("redirect URI %q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("redirect URI %q must not have a fragment", raw)
	}
	switch s := strings.ToLower(u.Scheme); {
	case s == "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q has no host", raw)
		}
	case s == "http":
		h := u.Hostname()
		if h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return fmt.Errorf("redirect URI %q: plain http is allowed only on loopback (RFC 8252 §7.3)", raw)
		}
	case s == "javascript" || s == "data" || s == "file" || s == "vbscript":
		return fmt.Errorf("redirect URI %q uses a forbidden scheme", raw)
	case !strings.Contains(s, "."):
		return fmt.Errorf("redirect URI %q: a custom scheme must be reverse-DNS, e.g. com.example.app:/oauth2redirect (RFC 8252 §7.1)", raw)
	}
	return nil
}

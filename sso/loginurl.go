package sso

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// MicrosoftLoginHosts are the hosts of Entra's sign-in endpoint (the Login
// URL an enterprise app shows, https://HOST/<tenant>/saml2) in the global
// cloud and the national clouds: Azure Government, and Microsoft Azure
// operated by 21Vianet (current and legacy names). Azure Germany
// (login.microsoftonline.de) closed in 2021 and is not listed.
var MicrosoftLoginHosts = []string{
	"login.microsoftonline.com",
	"login.microsoftonline.us",
	"login.partner.microsoftonline.cn",
	"login.chinacloudapi.cn",
}

// ErrLoginURL is matched by every refusal of CheckLoginURL.
var ErrLoginURL = errors.New("sso: login URL not allowed")

// CheckLoginURL reports whether raw may be where SP-initiated sign-ins are
// sent: an https URL on one of MicrosoftLoginHosts (default port), or on a
// host the operator allowed (extra: "host" for the scheme's default port,
// or "host:port"). Plain http is accepted only for an allowed loopback host
// (a local test IdP). A company admin sets this URL, so anything else would
// let them send every employee's browser to a page of their choosing.
func CheckLoginURL(raw string, extra []string) error {
	u, err := url.Parse(raw)
	if err != nil || raw == "" || len(raw) > 500 || strings.ContainsAny(raw, " \t\r\n\\") {
		return fmt.Errorf("%w: %q is not a URL", ErrLoginURL, raw)
	}
	if u.User != nil || u.Opaque != "" || u.Fragment != "" || u.Host == "" {
		return fmt.Errorf("%w: %q must be an absolute URL without user info or fragment", ErrLoginURL, raw)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	defPort := map[string]string{"https": "443", "http": "80"}[scheme]
	if defPort == "" {
		return fmt.Errorf("%w: %q must be https", ErrLoginURL, raw)
	}
	if port == "" {
		port = defPort
	}
	if scheme == "https" && port == "443" && slices.Contains(MicrosoftLoginHosts, host) {
		return nil
	}
	for _, h := range extra {
		h = strings.ToLower(strings.TrimSpace(h))
		eh, ep, err := net.SplitHostPort(h)
		if err != nil {
			eh, ep = strings.Trim(h, "[]"), defPort
		}
		if eh == "" || eh != host || ep != port {
			continue
		}
		if scheme == "https" || isLoopback(host) {
			return nil
		}
		return fmt.Errorf("%w: %q must be https (plain http only for a loopback host)", ErrLoginURL, raw)
	}
	return fmt.Errorf("%w: %q is not on a Microsoft sign-in host (%s) nor in SSOGATE_IDP_LOGIN_HOSTS",
		ErrLoginURL, raw, strings.Join(MicrosoftLoginHosts, ", "))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package oauthserver

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

func TestRegisteredIsAnExactMatch(t *testing.T) {
	cl := &directory.OAuthClient{RedirectURIs: []string{"com.example.app:/cb", "https://app.example.com/cb?x=1", "https://app.example.com/frag#x"}}
	for uri, want := range map[string]bool{
		"com.example.app:/cb":                       true,
		"https://app.example.com/cb?x=1":            true,
		"com.example.app:/cb/":                      false, // no normalisation
		"com.example.app:/cb?extra=1":               false, // no prefix match
		"COM.EXAMPLE.APP:/cb":                       false,
		"https://app.example.com/cb":                false,
		"https://app.example.com/frag#x":            false, // a registered URI with a fragment is never used
		"https://evil.example/?com.example.app:/cb": false,
		"": false,
	} {
		if got := registered(cl, uri); got != want {
			t.Errorf("registered(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestWithParamsKeepsTheRegisteredQuery(t *testing.T) {
	v := url.Values{"code": {"c"}, "state": {"a b&c"}}
	for base, want := range map[string]string{
		"com.example.app:/cb":            "com.example.app:/cb?code=c&state=a+b%26c",
		"https://app.example.com/cb?x=1": "https://app.example.com/cb?x=1&code=c&state=a+b%26c",
		"https://app.example.com/cb?":    "https://app.example.com/cb?code=c&state=a+b%26c",
		"https://app.example.com/cb?x&":  "https://app.example.com/cb?x&code=c&state=a+b%26c",
	} {
		if got := withParams(base, v); got != want {
			t.Errorf("withParams(%q) = %q, want %q", base, got, want)
		}
	}
}

func TestAuthorizeParameterShapes(t *testing.T) {
	if v, ok := single(url.Values{"a": {"1"}}, "a"); !ok || v != "1" {
		t.Error("single: one value")
	}
	if _, ok := single(url.Values{"a": {"1", "2"}}, "a"); ok {
		t.Error("single: a repeated parameter passed")
	}
	if v, ok := single(url.Values{}, "a"); !ok || v != "" {
		t.Error("single: an absent parameter")
	}
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-verifier"))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if !isS256Challenge(challenge) || isS256Challenge(challenge[:42]) || isS256Challenge(challenge[:42]+"=") || isS256Challenge(challenge[:42]+"+") {
		t.Error("isS256Challenge")
	}
	for v, want := range map[string]bool{
		strings.Repeat("a", 43):       true,
		strings.Repeat("a", 128):      true,
		strings.Repeat("a", 42):       false,
		strings.Repeat("a", 129):      false,
		strings.Repeat("a", 42) + "~": true,
		strings.Repeat("a", 42) + "+": false,
		strings.Repeat("a", 42) + "=": false,
	} {
		if got := validVerifier(v); got != want {
			t.Errorf("validVerifier(len %d, %q…) = %v", len(v), v[len(v)-1:], got)
		}
	}
	if !pkceMatch("verifier-verifier-verifier-verifier-verifier", challenge) {
		t.Error("pkceMatch: the right verifier")
	}
	if pkceMatch(challenge, challenge) || pkceMatch("verifier-verifier-verifier-verifier-verifieR", challenge) {
		t.Error("pkceMatch: a wrong verifier (or the challenge itself) matched")
	}
}

func TestConsentIsNeededExceptForHTTPSLinks(t *testing.T) {
	for uri, want := range map[string]bool{
		"com.example.app:/cb":        true,
		"http://127.0.0.1:51234/cb":  true, // any local process can listen there
		"http://[::1]:51234/cb":      true,
		"https://app.example.com/cb": false, // a claimed https link (universal / app link)
		"HTTPS://app.example.com/cb": false,
		"https:///cb":                true,
		"%zz":                        true,
	} {
		if got := needsConsent(uri); got != want {
			t.Errorf("needsConsent(%q) = %v, want %v", uri, got, want)
		}
	}
}

package httpx

import (
	"net/url"
	"testing"
)

// Every redirect target taken from a request goes through LocalTarget:
// encoded dot segments, slashes and backslashes, double encoding and other
// hosts never leave the company's own /c/{slug}/.
func TestLocalTargetStaysUnderThePrefix(t *testing.T) {
	pub, _ := url.Parse("https://sso.example.com")
	cases := map[string]string{
		"/c/acme/reports?y=2026":                       "/c/acme/reports?y=2026",
		"/c/acme/":                                     "/c/acme/",
		"https://sso.example.com/c/acme/absence":       "/c/acme/absence",
		"HTTPS://SSO.EXAMPLE.COM/c/acme/absence":       "/c/acme/absence",
		"/c/acme/files/q1%20report.pdf":                "/c/acme/files/q1%20report.pdf",
		"/c/acme/a%2fb":                                "/c/acme/a%2fb",
		"/c/acme/%2e%2e/beta/login":                    "",
		"/c/acme/%2E%2E/beta/login":                    "",
		"/c/acme/.%2e/beta/":                           "",
		"/c/acme/%2e./beta/":                           "",
		"/c/acme/%252e%252e/beta/":                     "",
		"/c/acme/%25252e%25252e/beta/":                 "",
		"/c/acme/..%2fbeta/":                           "",
		"/c/acme/..%2Fbeta/":                           "",
		"/c/acme/%2e%2e%2fbeta/":                       "",
		"/c/acme/..%5cbeta/":                           "",
		"/c/acme/%5c%5cevil.example/":                  "",
		"/c/acme/%2f%2fevil.example/":                  "",
		"/c/acme//evil.example/":                       "",
		"/c/acme/./x":                                  "",
		"/c/acme/%2e/x":                                "",
		"/c/acme/%3F/../../beta/":                      "",
		"/c/acme/x%00y":                                "",
		"/c/acme/x%0d%0aSet-Cookie:a=b":                "",
		"/c/acme/100%":                                 "",
		"/c/acme/%zz":                                  "",
		"/c/acme/../beta/":                             "",
		"//evil.example/c/acme/":                       "",
		"/\\evil.example/c/acme/":                      "",
		"\\\\evil.example/c/acme/":                     "",
		"https://evil.example/c/acme/":                 "",
		"http://sso.example.com/c/acme/":               "",
		"https://sso.example.com@evil.example/c/acme/": "",
		"javascript:alert(1)":                          "",
		"/c/beta/":                                     "",
		"/c/acmex/":                                    "",
		"/c/acme":                                      "",
		"c/acme/":                                      "",
	}
	for raw, want := range cases {
		got, ok := LocalTarget(pub, raw, "/c/acme/")
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("LocalTarget(%q) = %q, want %q", raw, got, want)
		}
	}
	// Target falls back to the prefix.
	for raw, want := range map[string]string{"/c/acme/x?y=1": "/c/acme/x?y=1", "/c/acme/%2e%2e/beta/": "/c/acme/", "": "/c/acme/"} {
		if got := Target(pub, raw, "/c/acme/"); got != want {
			t.Errorf("Target(%q) = %q, want %q", raw, got, want)
		}
	}
}

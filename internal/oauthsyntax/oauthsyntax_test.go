package oauthsyntax

import (
	"strings"
	"testing"
)

func TestVSChar(t *testing.T) {
	for s, want := range map[string]bool{"abc": true, "a b~": true, " ": true, "": false, "tab\t": false, "\x7f": false, "é": false, strings.Repeat("x", 10): true, strings.Repeat("x", 11): false} {
		if got := VSChar(s, 10); got != want {
			t.Errorf("VSChar(%q, 10) = %v, want %v", s, got, want)
		}
	}
}

// A native app registers a reverse-DNS private-use scheme, an https URL or
// a loopback http URL (RFC 8252); anything a browser could be sent
// elsewhere with is refused.
func TestCheckRedirectURI(t *testing.T) {
	for _, ok := range []string{"com.example.app:/oauth2redirect", "https://app.example.com/cb", "http://127.0.0.1:8765/cb", "http://[::1]/cb", "http://localhost/cb"} {
		if err := CheckRedirectURI(ok); err != nil {
			t.Errorf("CheckRedirectURI(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "/relative", "https:///nohost", "https://app.example.com/cb#frag", "http://app.example.com/cb",
		"javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "myapp:/cb", "%zz"} {
		if err := CheckRedirectURI(bad); err == nil {
			t.Errorf("CheckRedirectURI(%q) accepted", bad)
		}
	}
}

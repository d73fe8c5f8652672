package sso

import (
	"errors"
	"testing"
)

func TestCheckLoginURL(t *testing.T) {
	extra := []string{"idp.example.net", "127.0.0.1:8080", "sso.corp.example:8443", "[::1]:9000"}
	ok := []string{
		"https://login.microsoftonline.com/0c1b3f5e-0000-4000-8000-000000000000/saml2",
		"https://LOGIN.microsoftonline.com/t/saml2",
		"https://login.microsoftonline.com:443/t/saml2",
		"https://login.microsoftonline.us/t/saml2",
		"https://login.partner.microsoftonline.cn/t/saml2",
		"https://login.chinacloudapi.cn/t/saml2",
		"https://idp.example.net/saml2",
		"https://sso.corp.example:8443/saml2",
		"http://127.0.0.1:8080/fake-entra/saml2",
		"http://[::1]:9000/saml2",
	}
	bad := []string{
		"",
		"https://evil.example/t/saml2",
		"http://login.microsoftonline.com/t/saml2",
		"https://login.microsoftonline.com:8443/t/saml2",
		"https://login.microsoftonline.com.evil.example/t/saml2",
		"https://login.microsoftonline.com./t/saml2",
		"https://evilmicrosoftonline.com/t/saml2",
		"https://user:pw@login.microsoftonline.com/t/saml2",
		"https://login.microsoftonline.de/t/saml2",
		"//login.microsoftonline.com/t/saml2",
		"/fake-entra/saml2",
		"javascript:alert(1)",
		"https://login.microsoftonline.com\\@evil.example/",
		"http://idp.example.net/saml2",
		"https://idp.example.net:444/saml2",
		"http://127.0.0.1:8081/saml2",
		"ftp://login.microsoftonline.com/t",
	}
	for _, u := range ok {
		if err := CheckLoginURL(u, extra); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range bad {
		if err := CheckLoginURL(u, extra); err == nil || !errors.Is(err, ErrLoginURL) {
			t.Errorf("%q accepted (%v)", u, err)
		}
	}
	if err := CheckLoginURL("http://127.0.0.1:8080/x", nil); err == nil {
		t.Error("a loopback URL without the operator's allow-list was accepted")
	}
}

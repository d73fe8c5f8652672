package web

import "testing"

func TestIsAPIPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/c/acme/api/me":                    true,
		"/c/acme/api/employees/7/approvers": true,
		"/c/acme/oauth/token":               true,
		"/c/acme/scim/v2/Users":             true,
		"/c/acme/scim/oauth/token":          true,
		"/c/api/login":                      false, // a company called "api" has pages
		"/c/api/":                           false,
		"/c/api/api/me":                     true,
		"/c/oauth/oauth/authorize":          false, // the authorize endpoint is a browser page
		"/c/acme/admin/api/x":               false,
		"/c/acme":                           false,
		"/api/me":                           false,
		"/healthz":                          false,
	} {
		if got := isAPIPath(p); got != want {
			t.Errorf("isAPIPath(%q) = %v, want %v", p, got, want)
		}
	}
}

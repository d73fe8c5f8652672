package console

import (
	"net/url"
	"strings"
	"testing"
)

func TestNewNamesEveryMissingOption(t *testing.T) {
	_, err := New(Options{PublicURL: "https://sso.example.com"})
	if err == nil {
		t.Fatal("New accepted empty options")
	}
	for _, name := range []string{"Dir", "Sessions", "Admin", "Browser", "Passwords", "Caches", "Metadata", "AdminIdle",
		"MetadataInterval", "CSRF", "Tenant", "Login", "Render"} {
		if !strings.Contains(err.Error(), "Options."+name+" is required") {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "PublicURL") {
		t.Errorf("the error names a field that was set: %v", err)
	}
}

// The console's next (where a sign-in lands) obeys the one redirect
// target check under /c/{slug}/admin/: anything else lands on the
// overview.
func TestAdminNextStaysInTheConsole(t *testing.T) {
	pub, _ := url.Parse("https://sso.example.com")
	s := &Console{public: pub}
	for raw, want := range map[string]string{
		"/c/acme/admin/employees?q=x":              "/c/acme/admin/employees?q=x",
		"https://sso.example.com/c/acme/admin/sso": "/c/acme/admin/sso",
		"/c/acme/admin/%2e%2e/%2e%2e/beta/admin/":  "/c/acme/admin/",
		"/c/acme/admin/..%2f..%2fbeta/":            "/c/acme/admin/",
		"/c/acme/":                                 "/c/acme/admin/",
		"/c/beta/admin/":                           "/c/acme/admin/",
		"//evil.example/c/acme/admin/":             "/c/acme/admin/",
		"https://evil.example/c/acme/admin/":       "/c/acme/admin/",
		"":                                         "/c/acme/admin/",
	} {
		if got := s.adminNext(raw, "acme"); got != want {
			t.Errorf("adminNext(%q) = %q, want %q", raw, got, want)
		}
	}
}

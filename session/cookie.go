package session

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
)

// Cookie base names. The browser session cookie is the only cookie whose
// name contains "ssogate_session" (outside tests and operators rely on
// that); admin sessions use their own.
const (
	BrowserCookie = "ssogate_session"
	AdminCookie   = "ssogate_admin"
)

// hostPrefix makes a cookie host-only, Secure and Path=/ in the browser,
// so a sibling subdomain cannot plant or shadow it.
const hostPrefix = "__Host-"

// CookieName returns "__Host-"+base when secure (https), else base.
func CookieName(base string, secure bool) string {
	if secure {
		return hostPrefix + base
	}
	return base
}

// CookieConfig describes one cookie. HttpOnly is always set. Zero Path means
// "/", zero SameSite means Lax (a session cookie must survive the top-level
// redirect that follows the cross-site ACS POST, so never Strict there).
type CookieConfig struct {
	Name     string
	Secure   bool
	Path     string
	Domain   string
	SameSite http.SameSite
}

// NewCookieConfig returns the default config for a base name: the __Host-
// form on https, Path=/, no Domain, SameSite=Lax.
func NewCookieConfig(base string, secure bool) CookieConfig {
	return CookieConfig{Name: CookieName(base, secure), Secure: secure, Path: "/", SameSite: http.SameSiteLaxMode}
}

func (c CookieConfig) withDefaults() CookieConfig {
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	return c
}

// Validate reports a config a browser would reject or that would weaken
// the cookie: an empty or malformed name, a __Host- name without Secure,
// Path=/ and an empty Domain, SameSite=None without Secure.
func (c CookieConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fmt.Errorf("%w: cookie name is empty", ErrInvalid)
	}
	for _, r := range c.Name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return fmt.Errorf("%w: cookie name %q has a character not allowed in a cookie name", ErrInvalid, c.Name)
		}
	}
	if strings.HasPrefix(c.Name, hostPrefix) && (!c.Secure || c.Path != "/" || c.Domain != "") {
		return fmt.Errorf("%w: cookie %q needs Secure, Path=/ and no Domain (browsers drop it otherwise)", ErrInvalid, c.Name)
	}
	if c.SameSite == http.SameSiteNoneMode && !c.Secure {
		return fmt.Errorf("%w: cookie %q: SameSite=None needs Secure", ErrInvalid, c.Name)
	}
	return nil
}

// HTTPCookie is the one place cookie attributes are set: HttpOnly always,
// Secure, Path, Domain and SameSite from c (with defaults), Max-Age in
// seconds (maxAge <= 0 deletes the cookie).
func (c CookieConfig) HTTPCookie(value string, maxAge int) *http.Cookie {
	c = c.withDefaults()
	if maxAge <= 0 {
		maxAge = -1
		value = ""
	}
	return sessions.NewCookie(c.Name, value, &sessions.Options{
		Path:     c.Path,
		Domain:   c.Domain,
		MaxAge:   maxAge,
		Secure:   c.Secure,
		HttpOnly: true,
		SameSite: c.SameSite,
	})
}

package httpx

import (
	"net/url"
	"path"
	"strings"
)

// Target is raw when LocalTarget accepts it under prefix, and prefix
// otherwise: where to send a browser after a sign-in (return_to,
// RelayState, the console's next).
func Target(public *url.URL, raw, prefix string) string {
	if t, ok := LocalTarget(public, raw, prefix); ok {
		return t
	}
	return prefix
}

// maxTargetDecodes bounds how many layers of percent-encoding a target may
// carry; one that still decodes further is refused.
const maxTargetDecodes = 3

// LocalTarget is the one check for every redirect target taken from a
// request (return_to, RelayState, the console's next): it returns the path
// and query to redirect to when raw stays under prefix (which starts and
// ends with "/"), judged the way a browser and the product behind the
// gateway will read it. It accepts a local path or an absolute URL on the
// gateway's own origin, public (admins paste full URLs into Entra's Relay
// State); never another host, a scheme-relative //host, a backslash or control
// character (raw or percent-encoded), or a path whose dot segments or
// empty segments, after percent-decoding (%2e, %2f, %5c, double encoding),
// would lead anywhere but where it seems to.
func LocalTarget(public *url.URL, raw, prefix string) (string, bool) {
	if raw == "" || len(raw) > 2048 || badTargetChars(raw) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return "", false
	}
	if u.Scheme != "" || u.Host != "" {
		if !strings.EqualFold(u.Scheme, public.Scheme) || !strings.EqualFold(u.Host, public.Host) {
			return "", false
		}
	} else if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
		return "", false
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, prefix) {
		return "", false
	}
	// Decode until nothing changes: what any reader of the path (the
	// browser resolves %2e as a dot; a proxy or the product may decode
	// again) could take it for must be a clean path under prefix.
	d := p
	for i := 0; ; i++ {
		next, err := url.PathUnescape(d)
		if err != nil || badTargetChars(next) {
			return "", false
		}
		if next == d {
			break
		}
		if i == maxTargetDecodes {
			return "", false
		}
		d = next
	}
	if !strings.HasPrefix(d, prefix) || !cleanPath(d) {
		return "", false
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, true
}

// badTargetChars reports a backslash (browsers read it as a slash) or a
// control character.
func badTargetChars(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return true
		}
	}
	return false
}

// cleanPath reports whether p has no dot segments and no empty segments
// (other than a trailing slash): path.Clean would leave it as it is.
func cleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

package directory

import (
	"strings"
	"testing"
)

func TestValidSlug(t *testing.T) {
	for _, ok := range []string{"a", "acme", "0day", "acme-eu-2", strings.Repeat("a", 63)} {
		if !ValidSlug(ok) {
			t.Errorf("ValidSlug(%q) = false", ok)
		}
	}
	// '_' used to pass the store but never the router: a company nobody
	// could reach.
	for _, bad := range []string{"", "-a", "a_b", "Acme", "a.b", "a/b", "ä", "a b", strings.Repeat("a", 64)} {
		if ValidSlug(bad) {
			t.Errorf("ValidSlug(%q) = true", bad)
		}
	}
}

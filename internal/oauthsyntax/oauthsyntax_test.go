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

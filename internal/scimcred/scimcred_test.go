package scimcred

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	a, ha, err := New(TokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	b, hb, err := New(TokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || bytes.Equal(ha, hb) {
		t.Fatal("two credentials are the same")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a, TokenPrefix))
	if !strings.HasPrefix(a, TokenPrefix) || err != nil || len(raw) != 32 {
		t.Fatalf("credential %q: want the prefix and 32 random bytes in base64url (%v)", a, err)
	}
	sum := sha256.Sum256([]byte(a))
	if !bytes.Equal(ha, sum[:]) || !bytes.Equal(Hash(a), ha) {
		t.Fatal("the stored hash is not the credential's SHA-256")
	}
	id, err := NewClientID()
	if err != nil || !strings.HasPrefix(id, ClientIDPrefix) || len(id) != len(ClientIDPrefix)+20 {
		t.Fatalf("client id %q, %v", id, err)
	}
}

func TestParseSecretYears(t *testing.T) {
	for in, want := range map[string]int{"": 1, "1y": 1, "2y": 2, " 3Y ": 3} {
		if got, err := ParseSecretYears(in); err != nil || got != want {
			t.Errorf("ParseSecretYears(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0y", "4y", "1", "y", "12m", "-1y", "1.5y", "1yy"} {
		if _, err := ParseSecretYears(in); err == nil {
			t.Errorf("ParseSecretYears(%q) accepted", in)
		}
	}
}

package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") || strings.Contains(h, "horse") {
		t.Fatalf("unexpected encoding %q", h)
	}
	if err := Verify(h, "correct horse battery staple"); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if err := Verify(h, "correct horse battery stapler"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: got %v", err)
	}
	h2, _ := Hash("correct horse battery staple")
	if h2 == h {
		t.Fatal("two hashes of one password must differ (salt)")
	}
}

func TestCheckAndMalformed(t *testing.T) {
	if _, err := Hash("short"); err == nil {
		t.Fatal("short password accepted")
	}
	if _, err := Hash(strings.Repeat("x", MaxLength+1)); err == nil {
		t.Fatal("huge password accepted")
	}
	for _, bad := range []string{"", "$bcrypt$x", "$argon2id$v=19$m=1,t=1$a$b", "$argon2id$v=19$m=99999999,t=1,p=1$YQ$YQ"} {
		if err := Verify(bad, "whatever-password"); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a format error", bad, err)
		}
	}
}

// Dummy is one well-formed hash, made once, that no password guessed
// here matches: what a sign-in for an unknown account is checked against.
func TestDummy(t *testing.T) {
	h := Dummy()
	if h != Dummy() {
		t.Fatal("Dummy made a second hash")
	}
	for _, pw := range []string{"", "correct horse battery staple", h} {
		if err := Verify(h, pw); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(Dummy(), %q) = %v, want ErrMismatch", pw, err)
		}
	}
}

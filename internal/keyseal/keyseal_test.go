package keyseal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, err := New([]byte("operator secret"), "test purpose v1")
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("private key bytes")
	a, b := s.Seal(plain, []byte("row 1")), s.Seal(plain, []byte("row 1"))
	if bytes.Equal(a, b) || bytes.Contains(a, plain) {
		t.Fatal("sealing is deterministic or shows the plain text")
	}
	if got, err := s.Open(a, []byte("row 1")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := New([]byte("operator secret"), "another purpose v1")
	wrong, _ := New([]byte("another secret"), "test purpose v1")
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"another row":     func() ([]byte, error) { return s.Open(a, []byte("row 2")) },
		"another purpose": func() ([]byte, error) { return other.Open(a, []byte("row 1")) },
		"another secret":  func() ([]byte, error) { return wrong.Open(a, []byte("row 1")) },
		"tampered":        func() ([]byte, error) { return s.Open(tampered, []byte("row 1")) },
		"too short":       func() ([]byte, error) { return s.Open(a[:10], []byte("row 1")) },
	} {
		if _, err := try(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(nil, "x"); err == nil {
		t.Fatal("an empty secret was accepted")
	}
}

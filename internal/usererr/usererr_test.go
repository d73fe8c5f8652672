package usererr_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/usererr"
)

func TestErrorShowsOnlyTheSafeMessage(t *testing.T) {
	cause := errors.New("pq: duplicate key value violates unique constraint \"employees_pkey\"")
	e := usererr.Wrap(cause, usererr.Conflict, "taken", "That sign-in name is taken.")
	if e.Error() != "That sign-in name is taken." || e.Message() != e.Error() {
		t.Fatalf("Error() %q, Message() %q", e.Error(), e.Message())
	}
	if strings.Contains(e.Error(), "pq:") {
		t.Fatal("the cause leaked into Error()")
	}
	if !errors.Is(e, cause) || e.Unwrap() != cause {
		t.Fatal("the cause is not reachable through Unwrap")
	}
	if e.Kind() != usererr.Conflict || e.Code() != "taken" {
		t.Fatalf("kind %v, code %q", e.Kind(), e.Code())
	}
}

func TestNewAndErrorfHaveNoCause(t *testing.T) {
	if e := usererr.New(usererr.Invalid, "bad", "Enter a number."); e.Unwrap() != nil || e.Error() != "Enter a number." {
		t.Fatalf("New: %q, cause %v", e.Error(), e.Unwrap())
	}
	e := usererr.Errorf(usererr.Conflict, "linked", "Linked to object %s (%d).", "abc", 2)
	if e.Error() != "Linked to object abc (2)." || e.Unwrap() != nil || e.Kind() != usererr.Conflict || e.Code() != "linked" {
		t.Fatalf("Errorf: %q kind %v code %q cause %v", e.Error(), e.Kind(), e.Code(), e.Unwrap())
	}
	if e := usererr.Wrap(nil, usererr.NotFound, "gone", "Gone."); e.Unwrap() != nil {
		t.Fatal("Wrap(nil) has a cause")
	}
}

func TestAsThroughWrapping(t *testing.T) {
	inner := usererr.Wrap(errors.New("disk on fire"), usererr.NotFound, "no_such_cert", "No such certificate.")
	err := fmt.Errorf("retire: %w", fmt.Errorf("tx: %w", inner))
	e, ok := usererr.As(err)
	if !ok || e != inner {
		t.Fatalf("As = %v, %v", e, ok)
	}
	if usererr.CodeOf(err) != "no_such_cert" {
		t.Fatalf("CodeOf %q", usererr.CodeOf(err))
	}
	// errors.Is on a sentinel *Error is identity.
	if !errors.Is(err, inner) || errors.Is(err, usererr.New(usererr.NotFound, "no_such_cert", "No such certificate.")) {
		t.Fatal("errors.Is must match the sentinel and only it")
	}
	// Joined errors are searched too.
	if _, ok := usererr.As(errors.Join(errors.New("x"), inner)); !ok {
		t.Fatal("As missed an *Error in a join")
	}
}

func TestAsWithoutAnError(t *testing.T) {
	for _, err := range []error{nil, errors.New("plain"), fmt.Errorf("w: %w", errors.New("plain"))} {
		if e, ok := usererr.As(err); ok || e != nil {
			t.Fatalf("As(%v) = %v, %v", err, e, ok)
		}
		if c := usererr.CodeOf(err); c != "" {
			t.Fatalf("CodeOf(%v) = %q", err, c)
		}
	}
}

func TestLogValueKeepsTheCause(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("refused", "err", usererr.Wrap(errors.New("dial tcp: refused"), usererr.Unavailable, "unreachable", "The server could not be reached."))
	out := buf.String()
	for _, want := range []string{"err.code=unreachable", "err.kind=unavailable", "The server could not be reached.", "dial tcp: refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
	buf.Reset()
	log.Info("refused", "err", usererr.New(usererr.Invalid, "bad", "Bad."))
	if strings.Contains(buf.String(), "cause") {
		t.Errorf("a refusal without cause logs one: %q", buf.String())
	}
}

func TestKindString(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range []usererr.Kind{usererr.Invalid, usererr.Conflict, usererr.NotFound, usererr.Forbidden, usererr.Unavailable} {
		s := k.String()
		if s == "" || strings.HasPrefix(s, "kind(") || seen[s] {
			t.Fatalf("kind %d: %q", k, s)
		}
		seen[s] = true
	}
	if usererr.Kind(0).String() != "kind(0)" {
		t.Fatalf("zero kind %q", usererr.Kind(0).String())
	}
}

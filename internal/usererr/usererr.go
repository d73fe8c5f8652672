// Package usererr is the one error type of ssogate whose text is safe to
// show a person: an admin on a console page, an operator at the CLI, a
// SCIM client in a response detail. Error() is the safe message and nothing
// else; the cause (a store error, a parse failure with internal detail) is
// kept for the log, reached through Unwrap and LogValue, and never shown.
//
// A service (admin, certs, sso/fedmeta) returns a *Error where it refuses
// something for a reason the person can act on. Callers match it with As,
// branch on its Kind, and use its Code where a stable name is needed (a
// metric label, a JSON "error" member, a stored outcome, a test). Each
// presentation decides how a Kind looks: web maps it to an HTTP status and a
// page or JSON body, sso/scim to a SCIM error, the CLI prints the message.
//
// It imports nothing of the project, so every layer may use it.
package usererr

import (
	"errors"
	"fmt"
	"log/slog"
)

// Kind says why a request was refused, in the terms a presentation needs to
// choose its answer (an HTTP status, a SCIM status, whether to keep the
// form as typed).
type Kind uint8

const (
	// Invalid: the value can never be accepted; the input must change
	// (a malformed thumbprint, a paste that is a private key).
	Invalid Kind = iota + 1
	// Conflict: the value is fine but the current state forbids the
	// change (the employee is already active, the last trusted
	// certificate); it may succeed once something else changes.
	Conflict
	// NotFound: the thing named does not exist (or is not the caller's).
	NotFound
	// Forbidden: the caller may not do this (not an admin, a cross-site
	// form).
	Forbidden
	// Unavailable: the request is fine but cannot be served now (a rate
	// limit, a dependency that did not answer); trying later may work.
	Unavailable
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Conflict:
		return "conflict"
	case NotFound:
		return "not_found"
	case Forbidden:
		return "forbidden"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is a refusal whose message is safe to show as it is. Make one with
// New, Errorf or Wrap; the zero value is not useful.
type Error struct {
	kind  Kind
	code  string
	msg   string
	cause error
}

// New returns a refusal of kind k with the stable code and the safe message.
func New(k Kind, code, msg string) *Error {
	return &Error{kind: k, code: code, msg: msg}
}

// Errorf is New with the message formatted by fmt.Sprintf. Every argument
// becomes part of the safe message: pass only what the person may see. It
// wraps nothing (%w is not understood); use Wrap to keep a cause.
func Errorf(k Kind, code, format string, a ...any) *Error {
	return &Error{kind: k, code: code, msg: fmt.Sprintf(format, a...)}
}

// Wrap is New with a cause, kept for the log and reached by Unwrap; its
// text never becomes part of Error(). A nil cause is the same as New.
func Wrap(cause error, k Kind, code, msg string) *Error {
	return &Error{kind: k, code: code, msg: msg, cause: cause}
}

// Error returns the safe message only.
func (e *Error) Error() string { return e.msg }

// Message is Error(), named for presentations (templates, JSON bodies).
func (e *Error) Message() string { return e.msg }

// Kind says why the request was refused.
func (e *Error) Kind() Kind { return e.kind }

// Code is the stable machine name of the refusal ("expired",
// "private_key", "refused_url").
func (e *Error) Code() string { return e.code }

// Unwrap returns the cause, or nil.
func (e *Error) Unwrap() error { return e.cause }

// LogValue lets slog record the code, kind and the cause, which Error()
// leaves out.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("code", e.code), slog.String("kind", e.kind.String()), slog.String("msg", e.msg)}
	if e.cause != nil {
		attrs = append(attrs, slog.String("cause", e.cause.Error()))
	}
	return slog.GroupValue(attrs...)
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the Code of the first *Error in err's chain, or "" when
// there is none.
func CodeOf(err error) string {
	if e, ok := As(err); ok {
		return e.code
	}
	return ""
}

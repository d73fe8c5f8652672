// Package httpx holds what every handler package of the web layer shares:
// the error page its one error handler renders (around a usererr.Error),
// the test that tells an outage of a store from a refusal, the no-store
// headers of answers that carry secrets, the bounding of client-supplied
// strings before they are stored or logged, the CSRF protection of the forms (the console's
// and the employees' password sign-in), the check of redirect targets
// taken from a request, and what a throttled or busy password sign-in
// answers.
//
// It knows no route, template or company: web, and the handler packages
// below it (web/oauthserver, web/console), build on it; it imports none of
// them.
package httpx

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// ErrorPage is how the error handler presents a refusal: the HTTP status, a
// title and what to do next, around the usererr.Error that carries the
// message, the code and the hidden cause. It is presentation, not a second
// user-safe error type: a handler returns one (Refuse) when it wants its
// own status, title or action; a service's *usererr.Error gets one by its
// Kind (PageOf). Error is the safe message; the cause is behind Unwrap and
// goes to the log only.
type ErrorPage struct {
	Status int
	Title  string
	Action string // what to do / whom to ask
	err    *usererr.Error
}

func (p *ErrorPage) Error() string { return p.err.Error() }

// Unwrap returns the usererr.Error the page presents.
func (p *ErrorPage) Unwrap() error { return p.err }

// Message is what happened, in the user's words.
func (p *ErrorPage) Message() string { return p.err.Message() }

// Code is the machine code, for JSON bodies, metrics and logs.
func (p *ErrorPage) Code() string { return p.err.Code() }

// Cause is the internal cause, for the log line (nil when there is none).
func (p *ErrorPage) Cause() error { return p.err.Unwrap() }

// Refuse is a page with its own status, title and action; cause (may be
// nil) goes to the log, never to the user.
func Refuse(status int, code, title, message, action string, cause error) *ErrorPage {
	return &ErrorPage{Status: status, Title: title, Action: action, err: usererr.Wrap(cause, kindOf(status), code, message)}
}

// PageOf presents a service's refusal: status and title by its Kind
// (Invalid 422 and Conflict 409, as the console answers a refused form),
// its message as the body, its code in JSON.
func PageOf(e *usererr.Error) *ErrorPage {
	p := &ErrorPage{err: e}
	switch e.Kind() {
	case usererr.Invalid:
		p.Status, p.Title = http.StatusUnprocessableEntity, "Not accepted"
	case usererr.Conflict:
		p.Status, p.Title = http.StatusConflict, "Not possible now"
	case usererr.NotFound:
		p.Status, p.Title = http.StatusNotFound, "Not found"
	case usererr.Forbidden:
		p.Status, p.Title = http.StatusForbidden, "Not allowed"
	default: // Unavailable, or a kind this presentation does not know
		p.Status, p.Title, p.Action = http.StatusServiceUnavailable, "Temporarily unavailable", "Please try again in a minute."
	}
	return p
}

// kindOf is the Kind of a page made with its own status: what a caller that
// reads the usererr.Error (rather than the page) makes of it.
func kindOf(status int) usererr.Kind {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		return usererr.Invalid
	case http.StatusConflict:
		return usererr.Conflict
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return usererr.NotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return usererr.Forbidden
	}
	return usererr.Unavailable
}

// OutageOf names the store an error says is down ("sessions",
// "database", or "deadline" for a request deadline that passed), or ""
// when err is not an outage. An outage is ours, never the user's refusal:
// its answer is 503 with Retry-After, and it is never stored as a refused
// sign-in or counted against the client.
func OutageOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, session.ErrUnavailable):
		return "sessions"
	case errors.Is(err, directory.ErrUnavailable):
		return "database"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return ""
}

// NoStore forbids every cache to keep the answer (RFC 6749 §5.1: token
// responses and their errors).
func NoStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// Truncate cuts s to at most n bytes at a character boundary, as valid
// UTF-8 without NUL bytes: what it returns goes into the directory, and
// PostgreSQL text holds neither broken UTF-8 nor NUL (a NameID cut in the
// middle of a character once cost its sign-in record).
func Truncate(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

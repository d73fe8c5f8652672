// Package httpx holds what every handler package of the web layer shares:
// the user-safe refusal its one error handler renders, the test that tells
// an outage of a store from a refusal, the no-store headers of answers
// that carry secrets, and the bounding of client-supplied strings before
// they are stored or logged.
//
// It knows no route, template or company: web, and the handler packages
// below it (web/oauthserver), build on it; it imports none of them.
package httpx

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// UserError is a refusal with a fixed, user-safe message. The cause goes to
// the log, never to the user: Error (what the log shows) names the code and
// the cause, and the error handler renders only Title, Message and Action.
type UserError struct {
	Status  int
	Title   string
	Message string // what happened, in the user's words
	Action  string // what to do / whom to ask
	Code    string // machine code, for JSON bodies and logs
	Err     error  // internal cause (logged)
}

func (e *UserError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code
}

func (e *UserError) Unwrap() error { return e.Err }

// Refuse builds a UserError.
func Refuse(status int, code, title, message, action string, cause error) *UserError {
	return &UserError{Status: status, Code: code, Title: title, Message: message, Action: action, Err: cause}
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

package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// SCIM error types (RFC 7644 §3.12 scimType values) used by this package.
const (
	typeInvalidFilter = "invalidFilter"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeInvalidValue  = "invalidValue"
	typeNoTarget      = "noTarget"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeTooMany       = "tooMany"
)

// Error is a SCIM protocol error: the HTTP status, the scimType (may be
// empty) and a detail an Entra admin can act on. Internal causes are never
// put into Detail; they are logged by the handler.
//
// It is the wire rendering of a refusal (RFC 7644 §3.12), as the OAuth
// error body is for the token endpoint, not a second user-safe error type:
// a refusal from below that a person may read is a *usererr.Error, and
// storeError renders it as an Error (status from its Kind, detail its
// message).
type Error struct {
	Status   int
	SCIMType string
	Detail   string
	cause    error // logged, never shown
	// retryAfter is the wait a 429 asks for.
	retryAfter time.Duration
}

func (e *Error) Error() string {
	if e.SCIMType != "" {
		return fmt.Sprintf("scim: %d %s: %s", e.Status, e.SCIMType, e.Detail)
	}
	return fmt.Sprintf("scim: %d: %s", e.Status, e.Detail)
}

func (e *Error) Unwrap() error { return e.cause }

func errf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, SCIMType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func badValue(format string, args ...any) *Error {
	return errf(http.StatusBadRequest, typeInvalidValue, format, args...)
}

func badPath(format string, args ...any) *Error {
	return errf(http.StatusBadRequest, typeInvalidPath, format, args...)
}

func badSyntax(format string, args ...any) *Error {
	return errf(http.StatusBadRequest, typeInvalidSyntax, format, args...)
}

func badFilter(format string, args ...any) *Error {
	return errf(http.StatusBadRequest, typeInvalidFilter, format, args...)
}

var errNotFoundResource = &Error{Status: http.StatusNotFound, Detail: "no such user (it may have been deleted)"}

// storeError turns a store error into a SCIM error. Conflicts and invalid
// values are the client's; anything else is a 500 with a generic detail
// (the cause is kept for the log line).
func storeError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	if ue, ok := usererr.As(err); ok && !unavailable(err) {
		return refusal(ue)
	}
	var ce *directory.ConflictError
	switch {
	case errors.As(err, &ce):
		return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness,
			Detail: conflictDetail(ce.Field), cause: err}
	case errors.Is(err, directory.ErrConflict):
		return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness,
			Detail: "a uniqueness rule would break (userName or work email already in use)", cause: err}
	case errors.Is(err, directory.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, SCIMType: typeInvalidValue,
			Detail: invalidDetail(err), cause: err}
	case errors.Is(err, directory.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Detail: errNotFoundResource.Detail, cause: err}
	}
	if unavailable(err) {
		return errUnavailable(err)
	}
	return &Error{Status: http.StatusInternalServerError,
		Detail: "internal error while storing the change; nothing was changed, retry later", cause: err}
}

// refusal renders a user-safe refusal from below: Invalid is SCIM's 400
// invalidValue, Conflict 409, NotFound 404, Forbidden 403, Unavailable 503
// (with Retry-After); the detail is its message, the cause stays for the log.
func refusal(ue *usererr.Error) *Error {
	e := &Error{Detail: ue.Message(), cause: ue}
	switch ue.Kind() {
	case usererr.Invalid:
		e.Status, e.SCIMType = http.StatusBadRequest, typeInvalidValue
	case usererr.Conflict:
		e.Status = http.StatusConflict
	case usererr.NotFound:
		e.Status = http.StatusNotFound
	case usererr.Forbidden:
		e.Status = http.StatusForbidden
	default:
		e.Status = http.StatusServiceUnavailable
	}
	return e
}

// RetryAfter is the Retry-After, in seconds, of a 503 (the directory is
// unavailable): Entra's provisioning retries the request.
const RetryAfter = 5

// unavailable reports an outage of the directory (or a deadline that
// passed): the request may succeed if retried.
func unavailable(err error) bool {
	return errors.Is(err, directory.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

func errUnavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable,
		Detail: "the gateway's database is temporarily unavailable; retry later", cause: cause}
}

// WriteError writes a SCIM Error body (RFC 7644 §3.12) with status and a
// detail: for answers made outside the handler (an unknown company, an
// outage before the handler runs). A 503 carries Retry-After.
func WriteError(w http.ResponseWriter, status int, detail string) {
	writeError(w, &Error{Status: status, Detail: detail})
}

func conflictDetail(field string) string {
	switch field {
	case "userName":
		return "userName is already in use by another employee of this company (active or suspended)"
	case "email":
		return "the work email is already in use by another employee of this company (active or suspended)"
	}
	return "a uniqueness rule would break on " + field
}

type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	SCIMType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

const schemaError = "urn:ietf:params:scim:api:messages:2.0:Error"

func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	}
	body := errorBody{
		Schemas:  []string{schemaError},
		Status:   strconv.Itoa(e.Status),
		SCIMType: e.SCIMType,
		Detail:   e.Detail,
	}
	writeJSON(w, e.Status, body)
}

const contentType = "application/scim+json; charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Our own values always marshal; fail closed with a fixed body.
		status = http.StatusInternalServerError
		b = []byte(`{"schemas":["` + schemaError + `"],"status":"500","detail":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// invalidDetail shows the store's rule text (it names the field and the
// limit, never internals).
func invalidDetail(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, directory.ErrInvalid.Error()+": "); i >= 0 {
		msg = msg[i+len(directory.ErrInvalid.Error())+2:]
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return "refused: " + msg
}

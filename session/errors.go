package session

import "errors"

// ErrInvalid is returned for a request a Store or the Manager refuses
// outright: an empty id, a record that is already expired, a non-positive
// ttl or window, a misconfigured cookie.
var ErrInvalid = errors.New("session: invalid")

// ErrExists is returned by Create when the id is already in use (or was
// revoked while the session was being created). Ids are SHA-256 of fresh
// 256-bit secrets, so this only happens when something is wrong; a Store
// never overwrites an existing session.
var ErrExists = errors.New("session: id already in use")

// ErrUnavailable is wrapped by every error a Store returns because it got
// no answer: the server is unreachable, did not answer within its deadline,
// has no free connection, or refuses work for now (loading, failing over).
// It is an outage, never an answer: callers must not read it as "not
// found" or as a refusal, and report it as "temporarily unavailable".
var ErrUnavailable = errors.New("session: store unavailable")

package sso

import (
	"context"
	"errors"
	"time"
)

// Reason is the stable code of a refused SAML response. web maps it to a
// user-facing page and a metric label; the admin diagnostics page shows it
// with Error.Detail.
type Reason string

// Reasons ParseResponse refuses a response for.
const (
	ReasonMalformed                = Reason("malformed")                   // not base64, not XML, bad shape, duplicate IDs
	ReasonDoctype                  = Reason("doctype")                     // a DTD, DOCTYPE or entity declaration
	ReasonNotPost                  = Reason("not_post")                    // SAMLResponse not sent in a POST body
	ReasonBadSignature             = Reason("bad_signature")               // a signature that does not verify
	ReasonUnsigned                 = Reason("unsigned")                    // neither the Response nor the Assertion is signed
	ReasonUnknownCertificate       = Reason("unknown_certificate")         // signed with a certificate we do not trust
	ReasonCertificateExpired       = Reason("certificate_expired")         // signed with a trusted certificate outside its validity
	ReasonSHA1Signature            = Reason("sha1_signature")              // SHA-1 signature or digest, not allowed
	ReasonWrongIssuer              = Reason("wrong_issuer")                // Issuer is not the Entra Identifier
	ReasonWrongAudience            = Reason("wrong_audience")              // AudienceRestriction missing or not our Entity ID
	ReasonWrongRecipient           = Reason("wrong_recipient")             // SubjectConfirmationData Recipient is not our ACS
	ReasonWrongDestination         = Reason("wrong_destination")           // Response Destination is not our ACS
	ReasonExpired                  = Reason("expired")                     // too old, or a NotOnOrAfter has passed
	ReasonNotYetValid              = Reason("not_yet_valid")               // a NotBefore is in the future
	ReasonClockSkew                = Reason("clock_skew")                  // IssueInstant further in the future than the allowed skew
	ReasonReplay                   = Reason("replay")                      // the assertion was already used
	ReasonUnknownRequest           = Reason("unknown_request")             // InResponseTo is not this browser's pending request
	ReasonUnsolicitedWithRequestID = Reason("unsolicited_with_request_id") // InResponseTo set, but no request is pending
	ReasonStatusNotSuccess         = Reason("status_not_success")          // Entra reported an error (Detail: AADSTS message)
	ReasonNoNameID                 = Reason("no_nameid")                   // no or empty NameID
	ReasonEncryptedAssertion       = Reason("encrypted_assertion")         // encrypted content this SP cannot decrypt (encryption off, or no key opens it)
	ReasonEncryptionRequired       = Reason("encryption_required")         // a plain assertion where the company requires token encryption
	ReasonMultipleAssertions       = Reason("multiple_assertions")         // more than one Assertion element
	ReasonInternal                 = Reason("internal")                    // our fault: configuration, replay store down
)

// Error is every refusal from ParseResponse. Error() carries the reason and
// the detail, never the assertion or the NameID.
//
// It is a classification, not a user-safe message (that is usererr's): the
// person whose sign-in failed must not read Detail (it names issuers,
// audiences and thumbprints for the admin diagnostics page), and what they
// see depends on who is asking, so web maps Reason to a fixed sign-in page
// and a metric label, and stores Detail for the admin.
type Error struct {
	Reason Reason
	// Detail is for the admin diagnostics page: what was expected and what
	// arrived (audiences, issuers, thumbprints, clock offsets).
	Detail string
	// Err is the wrapped cause, for logs.
	Err error
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "sso: response refused: " + string(e.Reason)
	}
	return "sso: response refused: " + string(e.Reason) + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Reason: r}) match any *Error with reason r.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && t.Detail == "" && t.Err == nil
}

// ErrReplayed is what a ReplayCache returns (or wraps) for an assertion ID
// it has already recorded.
var ErrReplayed = errors.New("sso: assertion already used")

// ReplayCache records used assertion IDs. It must be shared by every
// instance that accepts assertions for the same company, and Consume must
// be atomic: of two concurrent calls with the same ID, exactly one succeeds.
type ReplayCache interface {
	// Consume records assertionID as used until until. It returns an error
	// matching ErrReplayed if the ID is already recorded, and any other
	// error if it cannot record it (which refuses the login: fail closed).
	Consume(ctx context.Context, assertionID string, until time.Time) error
}

// ErrNoIDPSSOURL is returned by AuthnRequest when the settings give no
// Entra login URL and none can be derived from ExpectedIssuer.
var ErrNoIDPSSOURL = errors.New("sso: no Entra login URL (IDPSSOURL) configured, and ExpectedIssuer is not an sts.windows.net identifier")

// ErrRelayStateTooLong is returned by AuthnRequest for a RelayState over 80
// bytes (SAML bindings §3.4.3).
var ErrRelayStateTooLong = errors.New("sso: RelayState longer than 80 bytes")

// ErrTimingConflict is returned by New when Options asks for a
// MaxIssueDelay or ClockSkew different from the process-wide values an
// earlier New set (crewjam/saml keeps them in package variables).
var ErrTimingConflict = errors.New("sso: MaxIssueDelay/ClockSkew differ from the process-wide values already in force")

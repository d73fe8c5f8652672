// Package admin owns the business rules of what a setup admin does to a
// company's directory, whichever front-end asks: the CLI (cmd/ssogate) and
// the console (web) parse input and present results; the rule, its audit
// entry and its side effects (approver roles, ending sessions) live here
// once: employees, the import, certificates, SSO settings and token
// encryption, and the credentials a company hands out (SCIM tokens and
// clients, the mobile app's OAuth clients). What follows a change to an
// employee is directory.Settle inside the transaction and Service.Settle
// after it, for every writer: SCIM provisioning settles through
// Service.Settle too (web hands the service to sso/scim as its Settler).
//
// It imports the directory and the session store; it knows no HTTP, no
// flags and no SAML.
package admin

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// Sessions is what the service needs of the session store: ending an
// employee's sessions (all of them, or only the admin console's).
type Sessions interface {
	RevokeEmployee(ctx context.Context, companyID int64, employeeID string) (int, error)
	ListEmployee(ctx context.Context, companyID int64, employeeID string) ([]session.Session, error)
	Delete(ctx context.Context, id string) error
}

var _ Sessions = session.Store(nil)

// Service runs the operations. Dir is required; Sessions may be nil only
// where no session can exist (it is then an error to need it).
type Service struct {
	Dir      directory.Store
	Sessions Sessions
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// CheckLoginURL says whether an IdP Login URL may be set (the
	// operator's allow-list: sso.CheckLoginURL with
	// SSOGATE_IDP_LOGIN_HOSTS). Nil refuses every new Login URL.
	CheckLoginURL func(raw string) error
	// CheckMetadataURL says whether an App Federation Metadata Url may be
	// set (the metadata fetcher's host allow-list, fedmeta.Fetcher.CheckURL
	// with SSOGATE_METADATA_HOSTS). Nil refuses every new metadata URL.
	CheckMetadataURL func(raw string) error
	// NewEncryptionKey makes (does not store) a token encryption key pair
	// for the company, its private key sealed as the deployment seals them
	// (web.MakeEncryptionKey). Nil: turning encryption on fails.
	NewEncryptionKey func(co *directory.Company, now time.Time) (*directory.EncryptionKey, error)
	// Changed hears, after the commit, of every employee a change settled
	// through Settle wrote (web drops it from its per-instance cache, so
	// this process sees the change at once). Nil: nobody listens.
	Changed func(companyID int64, employeeID string)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ErrAfterCommit wraps a failure of a side effect that runs after the
// change was committed (ending sessions in the session store): the change
// stands; the caller tells the admin what to do by hand.
var ErrAfterCommit = errors.New("admin: the change was saved, but a follow-up step failed")

// audit appends one audit entry in tx.
func (s *Service) audit(ctx context.Context, tx directory.Store, companyID int64, actor, action, detail string) error {
	return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: companyID, At: s.now(), Actor: actor,
		Action: action, Detail: clip(detail, 1000)})
}

// clip keeps at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Settle carries out, once the transaction that wrote them has committed,
// what changes to employees ask for (directory.Settle's Aftermath): every
// session of an employee who lost access ends, the admin console sessions
// of one who lost the admin role end, and Changed hears of each employee.
// Every writer of employees settles here: the service's own operations and
// SCIM provisioning (web hands the service to sso/scim). A failure wraps
// ErrAfterCommit: the changes stand.
func (s *Service) Settle(ctx context.Context, companyID int64, fx ...directory.Aftermath) error {
	var off, deroled []string
	for _, a := range fx {
		if s.Changed != nil {
			s.Changed(companyID, a.EmployeeID)
		}
		switch {
		case a.EndSessions:
			off = append(off, a.EmployeeID)
		case a.EndAdminSessions:
			deroled = append(deroled, a.EmployeeID)
		}
	}
	return errors.Join(s.endSessions(ctx, companyID, off), s.endAdminSessions(ctx, companyID, deroled))
}

// endSessions ends every session of the given employees.
func (s *Service) endSessions(ctx context.Context, companyID int64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if s.Sessions == nil {
		return fmt.Errorf("%w: no session store to end the sessions of %d employees", ErrAfterCommit, len(ids))
	}
	var errs []error
	for _, id := range ids {
		if _, err := s.Sessions.RevokeEmployee(ctx, companyID, id); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: ending the sessions of %d employees: %w", ErrAfterCommit, len(errs), errors.Join(errs...))
	}
	return nil
}

// endAdminSessions ends the admin console sessions of the given employees
// (their role was taken away); their other sessions stay.
func (s *Service) endAdminSessions(ctx context.Context, companyID int64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if s.Sessions == nil {
		return fmt.Errorf("%w: no session store to end the admin sessions of %d employees", ErrAfterCommit, len(ids))
	}
	var errs []error
	for _, id := range ids {
		list, err := s.Sessions.ListEmployee(ctx, companyID, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ss := range list {
			if ss.Kind == session.KindAdmin {
				if err := s.Sessions.Delete(ctx, ss.ID); err != nil && !errors.Is(err, session.ErrNotFound) {
					errs = append(errs, err)
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: ending admin sessions: %w", ErrAfterCommit, errors.Join(errs...))
	}
	return nil
}

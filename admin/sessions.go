package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// Ending an employee's sessions by hand (the console's Revoke buttons,
// `ssogate sessions revoke`): the employee must be the company's; the
// audit entry (sessions.revoke) follows the revocation, which is not a
// directory change. A failed audit entry after the sessions ended wraps
// ErrAfterCommit: the sessions stay ended.

// EndSessions ends every session and mobile token of the employee and
// returns how many ended. Audit: sessions.revoke ("employee=ID (userName)
// revoked=N").
func (s *Service) EndSessions(ctx context.Context, a Actor, companyID int64, employeeID string) (int, error) {
	e, err := s.sessionOwner(ctx, companyID, employeeID)
	if err != nil {
		return 0, err
	}
	n, err := s.Sessions.RevokeEmployee(ctx, companyID, e.ID)
	if err != nil {
		return 0, fmt.Errorf("admin: end sessions: %w", err)
	}
	return n, s.auditAfter(ctx, companyID, a, "sessions.revoke", fmt.Sprintf("employee=%s (%s) revoked=%d", e.ID, e.UserName, n))
}

// EndSession ends one session of the employee; one that is not theirs (or
// has ended already) is NotFound. Audit: sessions.revoke ("employee=ID
// (userName) session=<first 8>… kind=K").
func (s *Service) EndSession(ctx context.Context, a Actor, companyID int64, employeeID, sessionID string) error {
	e, err := s.sessionOwner(ctx, companyID, employeeID)
	if err != nil {
		return err
	}
	list, err := s.Sessions.ListEmployee(ctx, companyID, e.ID)
	if err != nil {
		return fmt.Errorf("admin: list sessions: %w", err)
	}
	for _, ss := range list {
		if ss.ID != sessionID {
			continue
		}
		if err := s.Sessions.Delete(ctx, ss.ID); err != nil && !errors.Is(err, session.ErrNotFound) {
			return fmt.Errorf("admin: end session: %w", err)
		}
		return s.auditAfter(ctx, companyID, a, "sessions.revoke",
			fmt.Sprintf("employee=%s (%s) session=%s… kind=%s", e.ID, e.UserName, ss.ID[:min(8, len(ss.ID))], ss.Kind))
	}
	return usererr.New(usererr.NotFound, "no_such_session", "That session has already ended.")
}

// sessionOwner loads the company's employee whose sessions are to end.
func (s *Service) sessionOwner(ctx context.Context, companyID int64, employeeID string) (*directory.Employee, error) {
	if s.Sessions == nil {
		return nil, errors.New("admin: no session store")
	}
	e, err := s.Dir.GetEmployee(ctx, companyID, employeeID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, usererr.Wrap(err, usererr.NotFound, "no_such_employee", fmt.Sprintf("This company has no employee %q.", employeeID))
	}
	return e, err
}

// auditAfter appends the audit entry of something already done outside
// the directory.
func (s *Service) auditAfter(ctx context.Context, companyID int64, a Actor, action, detail string) error {
	if err := s.audit(ctx, s.Dir, companyID, a.Name, action, detail); err != nil {
		return fmt.Errorf("%w: the audit entry: %w", ErrAfterCommit, err)
	}
	return nil
}

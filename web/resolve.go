package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
)

// detached reports whether an admin detached the employee from Entra: it
// is managed here and signs in with its local password only, never by SAML
// (whoever holds its old UPN or mail in Entra must not become it). An
// admin re-links it by naming its Entra object id.
func detached(e *directory.Employee) bool {
	return e.Source == directory.SourceLocal && !e.EntraLinked
}

func detachedDetail(e *directory.Employee) string {
	return fmt.Sprintf("employee %s was detached from Entra: it signs in only with its local password; to let it sign in with Microsoft again, link it to its Entra object id (Employees → the employee → Link to Entra, or ssogate employees link)", e.ID)
}

// resolveEmployee maps a validated identity to an active employee of co.
// It returns the employee, or a refusal reason and admin-facing detail, or
// an error when the directory failed.
//
// Entra's immutable objectidentifier claim wins when the assertion carries
// it: bound to the employee at the first login, it keeps the person signed
// in through a UPN or mail change. A NameID match whose employee is bound to
// another object id is refused: the name was reassigned to someone else; so
// is an assertion without the claim for a bound employee, and any SAML
// sign-in of an employee an admin detached from Entra.
func (s *Server) resolveEmployee(ctx context.Context, co *directory.Company, id *sso.Identity) (*directory.Employee, string, string, error) {
	oid := strings.ToLower(strings.TrimSpace(id.ObjectID))
	if oid != "" {
		e, err := s.dir.FindEmployeeByObjectID(ctx, co.ID, oid)
		switch {
		case err == nil:
			if detached(e) {
				return nil, "detached_employee", detachedDetail(e), nil
			}
			if !e.Active {
				return nil, "inactive_employee", fmt.Sprintf("employee %s (%s) is inactive", e.ID, e.UserName), nil
			}
			return e, "", "", nil
		case !errors.Is(err, directory.ErrNotFound):
			return nil, "", "", err
		}
	}
	name := strings.TrimSpace(id.NameID)
	if name == "" {
		return nil, "no_nameid", "the assertion carries an empty NameID", nil
	}
	var e *directory.Employee
	var err error
	mode := co.NameIDMode
	if mode == directory.NameIDMail {
		e, err = s.dir.FindEmployeeByEmail(ctx, co.ID, name)
	} else {
		mode = directory.NameIDUPN
		e, err = s.dir.FindEmployeeByUserName(ctx, co.ID, name)
	}
	if errors.Is(err, directory.ErrNotFound) {
		hint := "check the employee's userName, or switch the NameID to user.mail (ssogate sso configure --nameid mail)"
		if mode == directory.NameIDMail {
			hint = "check the employee's work email, or switch the NameID to user.userprincipalname (--nameid upn)"
		}
		return nil, "unknown_employee", fmt.Sprintf("NameID matched no employee by %s: %s", mode, hint), nil
	}
	if err != nil {
		return nil, "", "", err
	}
	if detached(e) {
		return nil, "detached_employee", detachedDetail(e), nil
	}
	if !e.Active {
		return nil, "inactive_employee", fmt.Sprintf("employee %s (%s) is inactive", e.ID, e.UserName), nil
	}
	if oid == "" && e.EntraObjectID != "" {
		// Bound employees sign in by their object id only: a NameID alone
		// could be another Entra account that now has their UPN or mail.
		return nil, "objectid_missing", fmt.Sprintf("employee %s is bound to Entra object %s, but the assertion carries no objectidentifier claim", e.ID, e.EntraObjectID), nil
	}
	if oid != "" {
		if e.EntraObjectID != "" && !strings.EqualFold(e.EntraObjectID, oid) {
			return nil, "objectid_conflict", fmt.Sprintf("employee %s is bound to Entra object %s but the assertion is for object %s", e.ID, e.EntraObjectID, oid), nil
		}
		if e.EntraObjectID == "" {
			if err := s.dir.BindObjectID(ctx, co.ID, e.ID, oid); err != nil {
				if errors.Is(err, directory.ErrConflict) {
					return nil, "objectid_conflict", fmt.Sprintf("Entra object %s could not be bound to employee %s: another employee holds it, or the employee was bound to another object meanwhile", oid, e.ID), nil
				}
				return nil, "", "", err
			}
			e.EntraObjectID = oid
		}
	}
	return e, "", "", nil
}

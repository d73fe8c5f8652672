package admin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// Actor is who asks for a change: Name goes into the audit log ("cli",
// "admin:maja@acme.example"); EmployeeID is the admin's own employee
// record when they signed in as one (some changes may not be made to
// oneself).
type Actor struct {
	Name       string
	EmployeeID string
}

// update re-reads the employee in one transaction, applies fn, writes it,
// what follows from the change in the directory (directory.Settle) and its
// audit entry; after the commit it settles the rest (Settle).
func (s *Service) update(ctx context.Context, a Actor, companyID int64, id, action string, fn func(e *directory.Employee) (string, error)) (*directory.Employee, error) {
	var (
		out *directory.Employee
		fx  []directory.Aftermath
	)
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		e, err := tx.GetEmployee(ctx, companyID, id)
		if err != nil {
			return err
		}
		before := *e
		detail, err := fn(e)
		if err != nil {
			return err
		}
		if err := tx.UpdateEmployee(ctx, e); err != nil {
			return err
		}
		if fx, err = directory.Settle(ctx, tx, companyID, directory.Change{Before: &before, After: e}); err != nil {
			return err
		}
		out = e
		return s.audit(ctx, tx, companyID, a.Name, action, fmt.Sprintf("employee=%s (%s) %s", e.ID, e.UserName, detail))
	})
	if err != nil {
		return nil, err
	}
	return out, s.Settle(ctx, companyID, fx...)
}

// ValidEmail is the shape a work email must have.
func ValidEmail(v string) bool {
	at := strings.IndexByte(v, '@')
	return at > 0 && at < len(v)-1 && len(v) <= 254 && !strings.ContainsAny(v, " \t\r\n<>\",;")
}

// SetIdentity changes an employee's sign-in name and work email (after an
// e-mail or domain change).
func (s *Service) SetIdentity(ctx context.Context, a Actor, companyID int64, id, userName, email string) (*directory.Employee, error) {
	userName, email = strings.TrimSpace(userName), strings.TrimSpace(email)
	switch {
	case userName == "" || len(userName) > 254 || strings.ContainsAny(userName, " \t\r\n"):
		return nil, usererr.New(usererr.Invalid, "bad_user_name", "Enter a sign-in name without spaces (usually the Entra user principal name).")
	case email != "" && !ValidEmail(email):
		return nil, usererr.New(usererr.Invalid, "bad_email", "Enter a work email address like name@example.com.")
	}
	return s.update(ctx, a, companyID, id, "employee.identity", func(cur *directory.Employee) (string, error) {
		if !cur.Visible() {
			return "", errDeleted
		}
		d := fmt.Sprintf("userName %q→%q email %q→%q", cur.UserName, userName, cur.Email, email)
		cur.UserName, cur.Email = userName, email
		return d, nil
	})
}

// Roles are the settings an admin gives an employee by hand; sync never
// touches them.
type Roles struct {
	Admin, SelfApprover, OnlySelectedApprover bool
}

// SetRoles sets an employee's roles. Taking the admin role away ends the
// employee's admin console sessions (directory.Settle); nobody can take
// their own.
func (s *Service) SetRoles(ctx context.Context, a Actor, companyID int64, id string, r Roles) (*directory.Employee, error) {
	return s.update(ctx, a, companyID, id, "employee.roles", func(cur *directory.Employee) (string, error) {
		switch {
		case !cur.Visible():
			return "", errDeleted
		case a.EmployeeID == cur.ID && cur.IsAdmin && !r.Admin:
			return "", usererr.New(usererr.Conflict, "own_admin_role", "You cannot remove your own admin role. Ask another setup admin.")
		}
		cur.IsAdmin, cur.SelfApprover, cur.OnlySelectedApprover = r.Admin, r.SelfApprover, r.OnlySelectedApprover
		return fmt.Sprintf("admin=%v self_approver=%v only_selected_approver=%v", r.Admin, r.SelfApprover, r.OnlySelectedApprover), nil
	})
}

// Activate makes an inactive employee that Entra does not manage active
// again (Entra would undo it: such employees come back by being assigned
// to the app in Entra). The manager's approver role is recomputed in the
// same transaction.
func (s *Service) Activate(ctx context.Context, a Actor, companyID int64, id string) (*directory.Employee, error) {
	return s.update(ctx, a, companyID, id, "employee.activate", func(cur *directory.Employee) (string, error) {
		switch {
		case !cur.Visible():
			return "", usererr.New(usererr.Conflict, "deleted", "Entra deleted this employee; the record is kept as history and cannot be activated. Create the person again in Entra (or import them).")
		case cur.Active:
			return "", usererr.New(usererr.Conflict, "already_active", "This employee is already active.")
		case cur.EntraLinked:
			return "", usererr.New(usererr.Conflict, "entra_managed", "Entra manages this employee: assign the user to the app in Entra to reactivate them, or detach them from Entra first (for someone who moved to another Entra tenant).")
		}
		d := "termination_date " + cur.TerminationDate + " cleared"
		cur.SetActive(true, s.now())
		return d, nil
	})
}

// Deactivate makes an employee that Entra does not manage inactive, with
// today's termination date, recomputes the manager's approver role in the
// same transaction, and ends every session of theirs once it commits.
// Nobody deactivates themselves.
func (s *Service) Deactivate(ctx context.Context, a Actor, companyID int64, id string) (*directory.Employee, error) {
	if a.EmployeeID == id {
		return nil, usererr.New(usererr.Conflict, "deactivate_self", "You cannot deactivate yourself.")
	}
	return s.update(ctx, a, companyID, id, "employee.deactivate", func(cur *directory.Employee) (string, error) {
		switch {
		case !cur.Visible() || !cur.Active:
			return "", usererr.New(usererr.Conflict, "already_inactive", "This employee is already inactive.")
		case cur.EntraLinked:
			return "", usererr.New(usererr.Conflict, "entra_managed", "Entra manages this employee: unassign the user from the app in Entra (provisioning then deactivates them), or detach them first.")
		}
		cur.SetActive(false, s.now())
		return "termination_date " + cur.TerminationDate, nil
	})
}

// Detach takes an employee out of Entra's hands (someone who moved to
// another Entra tenant and stays with the company): managed locally from
// now on, SCIM can no longer change, deactivate or delete them, and the
// Entra object id binding is removed. From then on they sign in only with
// a local password: SAML refuses a detached employee, so another Entra
// account with the same UPN or mail cannot take the record over; Link is
// the way back. Current sessions are not ended (the console says so).
func (s *Service) Detach(ctx context.Context, a Actor, companyID int64, id string) (*directory.Employee, error) {
	return s.update(ctx, a, companyID, id, "employee.detach", func(cur *directory.Employee) (string, error) {
		switch {
		case !cur.Visible():
			return "", usererr.New(usererr.Conflict, "deleted", "Entra deleted this employee; the record is kept as history only.")
		case !cur.EntraLinked && cur.Source == directory.SourceLocal:
			return "", usererr.New(usererr.Conflict, "already_local", "This employee is already managed locally.")
		}
		d := fmt.Sprintf("source %s→local entra_linked %v→false entra_object_id %q cleared", cur.Source, cur.EntraLinked, cur.EntraObjectID)
		cur.Source, cur.EntraLinked, cur.EntraObjectID = directory.SourceLocal, false, ""
		return d, nil
	})
}

var errDeleted = usererr.New(usererr.Conflict, "deleted", "This employee was deleted by Entra and is kept as history only.")

// objectIDRE is the shape of an Entra object id: a GUID.
var objectIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Link binds an employee to the Entra account with this object id: the one
// explicit step that lets an employee an admin detached sign in with
// Microsoft again, and the fix when a person really moved to a new Entra
// account (an objectid_conflict). Sign-in then follows that object id
// only; an assertion without it, or naming another one, is refused.
//
// A detached employee stops being managed here: its local password is
// removed and Entra provisioning may link it again like an imported
// employee (a create with its userName or email). Every session of the
// employee ends, as the account behind them changed.
func (s *Service) Link(ctx context.Context, a Actor, companyID int64, id, objectID string) (*directory.Employee, error) {
	oid := strings.ToLower(strings.TrimSpace(objectID))
	if !objectIDRE.MatchString(oid) {
		return nil, usererr.New(usererr.Invalid, "bad_object_id", "An Entra Object ID looks like 8c1b3a4e-2f5d-4c7a-9e1b-0a2b3c4d5e6f: copy it from Entra (Users → the user → Overview → Object ID).")
	}
	var (
		out *directory.Employee
		fx  []directory.Aftermath
	)
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		e, err := tx.GetEmployee(ctx, companyID, id)
		if err != nil {
			return err
		}
		before := *e
		local := e.Source == directory.SourceLocal && !e.EntraLinked
		switch {
		case !e.Visible():
			return errDeleted
		case e.EntraObjectID == oid && !local:
			return usererr.Errorf(usererr.Conflict, "already_linked", "This employee is already linked to Entra object %s.", oid)
		}
		other, err := tx.FindEmployeeByObjectID(ctx, companyID, oid)
		switch {
		case err == nil && other.ID != e.ID:
			return usererr.Errorf(usererr.Conflict, "object_id_taken", "Entra object %s is linked to another employee (%s, %s). Link that employee to its own object id first, or detach it.", oid, other.ID, other.UserName)
		case err != nil && !errors.Is(err, directory.ErrNotFound):
			return err
		}
		detail := fmt.Sprintf("entra_object_id %q→%q", e.EntraObjectID, oid)
		e.EntraObjectID = oid
		if local {
			e.Source = directory.SourceImport
			detail += " source local→import, local password removed"
			if err := tx.SetEmployeePassword(ctx, companyID, e.ID, ""); err != nil && !errors.Is(err, directory.ErrNotFound) {
				return err
			}
		}
		if err := tx.UpdateEmployee(ctx, e); err != nil {
			return err
		}
		if fx, err = directory.Settle(ctx, tx, companyID, directory.Change{Before: &before, After: e}); err != nil {
			return err
		}
		fx[0].EndSessions = true // the account behind them changed
		out = e
		return s.audit(ctx, tx, companyID, a.Name, "employee.link", fmt.Sprintf("employee=%s (%s) %s", e.ID, e.UserName, detail))
	})
	if err != nil {
		return nil, err
	}
	return out, s.Settle(ctx, companyID, fx...)
}

// SetLocalPassword stores the encoded password hash (internal/password's
// argon2id PHC string, never a password) of an employee detached from
// Entra, the only employees who sign in with one; the check and the write
// are one transaction, so a Link in between cannot leave a linked employee
// with a password. Audit: employee.password ("employee=ID (userName) local
// password set").
func (s *Service) SetLocalPassword(ctx context.Context, a Actor, companyID int64, id, hash string) error {
	if !strings.HasPrefix(hash, "$argon2id$") {
		return errors.New("admin: a local password must be stored as an encoded argon2id hash")
	}
	return s.Dir.InTx(ctx, func(tx directory.Store) error {
		e, err := tx.GetEmployee(ctx, companyID, id)
		if err != nil {
			return err
		}
		if !e.Visible() || e.EntraLinked || e.Source != directory.SourceLocal {
			return usererr.New(usererr.Conflict, "not_local", "Only employees detached from Entra can have a local password. Detach them first.")
		}
		if err := tx.SetEmployeePassword(ctx, companyID, e.ID, hash); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "employee.password", fmt.Sprintf("employee=%s (%s) local password set", e.ID, e.UserName))
	})
}

// maxDepartment bounds a department name (as the console's form does).
const maxDepartment = 200

// AddDepartmentApprover makes an employee an approver for a department
// (matched case-insensitively against employees' departments). It is
// added by hand and sync never touches it. Only an active employee can
// approve; asking twice is refused.
func (s *Service) AddDepartmentApprover(ctx context.Context, a Actor, companyID int64, id, department string) (*directory.Employee, error) {
	return s.departmentApprover(ctx, a, companyID, id, department, true)
}

// RemoveDepartmentApprover ends an employee's approval for a department;
// refused when they do not approve for it.
func (s *Service) RemoveDepartmentApprover(ctx context.Context, a Actor, companyID int64, id, department string) (*directory.Employee, error) {
	return s.departmentApprover(ctx, a, companyID, id, department, false)
}

// departmentApprover adds or removes a department approver and its audit
// entry in one transaction.
func (s *Service) departmentApprover(ctx context.Context, a Actor, companyID int64, id, department string, add bool) (*directory.Employee, error) {
	dep := strings.TrimSpace(department)
	if dep == "" || len(dep) > maxDepartment {
		return nil, usererr.New(usererr.Invalid, "bad_department", "Enter the department's name as it appears on employees (e.g. Sales).")
	}
	action := "employee.department_approver.remove"
	if add {
		action = "employee.department_approver.add"
	}
	var out *directory.Employee
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		e, err := tx.GetEmployee(ctx, companyID, id)
		if err != nil {
			return err
		}
		if add {
			if !e.Visible() || !e.Active {
				return usererr.New(usererr.Conflict, "inactive_approver", "Only active employees can approve for a department.")
			}
			ids, err := tx.ListDepartmentApprovers(ctx, companyID, dep)
			if err != nil && !errors.Is(err, directory.ErrNotFound) {
				return err
			}
			if slices.Contains(ids, e.ID) {
				return usererr.Errorf(usererr.Conflict, "already_department_approver", "This employee already approves for %s.", dep)
			}
			if err := tx.AddDepartmentApprover(ctx, companyID, dep, e.ID); err != nil {
				return err
			}
		} else {
			err := tx.RemoveDepartmentApprover(ctx, companyID, dep, e.ID)
			if errors.Is(err, directory.ErrNotFound) {
				return usererr.Wrap(err, usererr.Conflict, "not_department_approver", "This employee does not approve for that department.")
			}
			if err != nil {
				return err
			}
		}
		out = e
		return s.audit(ctx, tx, companyID, a.Name, action, fmt.Sprintf("employee=%s (%s) department=%q", e.ID, e.UserName, dep))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

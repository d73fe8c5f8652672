package directory

import (
	"context"
	"time"
)

// What follows a change to an employee, the same whoever writes it: the
// admin service (console, CLI, spreadsheet import) and SCIM provisioning.
// A writer runs Settle in the transaction that wrote the change, so the
// approver roles it recomputes are committed with the change or not at
// all, and carries out the Aftermath it returns once that transaction has
// committed (admin.Service.Settle ends the sessions).

// SetActive sets the active flag with its termination date, the one way
// every writer does: a deactivation dates it (now's UTC day), a
// reactivation clears it. Setting the flag e already has changes nothing.
func (e *Employee) SetActive(active bool, now time.Time) {
	if e.Active == active {
		return
	}
	e.Active = active
	if active {
		e.TerminationDate = ""
	} else {
		e.TerminationDate = now.UTC().Format(time.DateOnly)
	}
}

// MarkDeleted is Entra's hard delete: inactive, a termination date (an
// earlier suspension's is kept), and deleted at now: the record stays as
// history only.
func (e *Employee) MarkDeleted(now time.Time) {
	e.SetActive(false, now)
	if e.TerminationDate == "" {
		e.TerminationDate = now.UTC().Format(time.DateOnly)
	}
	at := now.UTC()
	e.DeletedAt = &at
}

// Change is one employee a transaction wrote: Before as it was read (nil
// when the transaction created it), After as it was written.
type Change struct {
	Before, After *Employee
}

// Aftermath is what must follow a change to one employee once the
// transaction that wrote it has committed.
type Aftermath struct {
	EmployeeID string
	// EndSessions: every session and token of the employee ends: they
	// lost access (deactivated or deleted).
	EndSessions bool
	// EndAdminSessions: their admin console sessions end: they lost the
	// admin role and kept their access.
	EndAdminSessions bool
}

// Settle applies in st, the transaction that wrote changes, what follows
// from them in the directory, and returns what must follow each of them
// once it commits (in order, one per change):
//
//   - the approver role of the old and the new manager of an employee who
//     was created or whose manager, active flag or existence changed, and
//     the employee's own when it was deleted, recomputed in one statement
//     (After is read again when that rewrote the employee's own record);
//   - all sessions of an employee who lost access end; the admin console
//     sessions of one who lost the admin role end.
func Settle(ctx context.Context, st Store, companyID int64, changes ...Change) ([]Aftermath, error) {
	var ids []string
	seen := map[string]bool{"": true}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	var reread []*Employee
	out := make([]Aftermath, 0, len(changes))
	for _, c := range changes {
		b, e := c.Before, c.After
		out = append(out, Aftermath{EmployeeID: e.ID})
		if b == nil {
			add(e.ManagerID)
			continue
		}
		access := b.Active != e.Active || b.Visible() != e.Visible()
		if access || b.ManagerID != e.ManagerID {
			add(e.ManagerID)
			add(b.ManagerID)
		}
		if b.Visible() != e.Visible() {
			add(e.ID)
			reread = append(reread, e)
		}
		a := &out[len(out)-1]
		a.EndSessions = access && !(e.Active && e.Visible())
		a.EndAdminSessions = !a.EndSessions && b.IsAdmin && !e.IsAdmin
	}
	if len(ids) == 0 {
		return out, nil
	}
	if err := RecomputeApproverRole(ctx, st, companyID, ids...); err != nil {
		return nil, err
	}
	for _, e := range reread {
		fresh, err := st.GetEmployee(ctx, companyID, e.ID)
		if err != nil {
			return nil, err
		}
		*e = *fresh
	}
	return out, nil
}

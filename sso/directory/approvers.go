package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Manager → approver rules (README, "Provisioning with SCIM"). Pure functions over a Store:
// callers run them inside the transaction of the write that triggers them.
//
// An employee's direct approver is their manager. IsApprover is derived
// from the manager structure only: it is true while the employee manages at
// least one active employee. Department approvers live in their own table
// (added by hand, never touched by sync) and do not set IsApprover.

// maxManagerDepth bounds the walk up a manager chain.
const maxManagerDepth = 1000

// ApproverKind says why someone approves an employee's requests.
type ApproverKind string

const (
	ApproverSelf       ApproverKind = "self"       // SelfApprover: approves their own requests
	ApproverManager    ApproverKind = "manager"    // the (Entra) manager
	ApproverDepartment ApproverKind = "department" // a department approver added by hand
)

// Approver is one person who approves an employee's requests.
type Approver struct {
	EmployeeID  string
	UserName    string
	DisplayName string
	Kind        ApproverKind
}

// ResolveManager decides how employeeID's manager reference is stored,
// without writing: managerID is the existing, visible employee the reference
// names (by id, else by a unique externalId), pending is the reference kept
// for deferred resolution when no such employee exists yet. An empty ref
// clears. Self-management and cycles are refused with an error matching
// ErrInvalid. The common case (ref is a visible employee's id) costs one
// read: the manager's chain.
func ResolveManager(ctx context.Context, st Store, companyID int64, employeeID, ref string) (managerID, pending string, err error) {
	if ref == "" {
		return "", "", nil
	}
	if ref == employeeID {
		return "", "", fmt.Errorf("%w: an employee cannot be their own manager", ErrInvalid)
	}
	chain, err := st.ManagerChain(ctx, companyID, ref, maxManagerDepth+1)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", "", err
	}
	if len(chain) > 0 {
		managerID = ref
	} else {
		rows, err := st.FindEmployeesByExternalID(ctx, companyID, ref)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "", "", err
		}
		var vis []Employee
		for _, r := range rows {
			if r.Visible() {
				vis = append(vis, r)
			}
		}
		if len(vis) != 1 {
			return "", ref, nil
		}
		managerID = vis[0].ID
		if managerID == employeeID {
			return "", "", fmt.Errorf("%w: an employee cannot be their own manager", ErrInvalid)
		}
		if chain, err = st.ManagerChain(ctx, companyID, managerID, maxManagerDepth+1); err != nil {
			return "", "", err
		}
	}
	if err := noCycle(chain, employeeID, managerID); err != nil {
		return "", "", err
	}
	return managerID, "", nil
}

// checkNoCycle reads managerID's chain and fails if it reaches employeeID.
func checkNoCycle(ctx context.Context, st Store, companyID int64, employeeID, managerID string) error {
	chain, err := st.ManagerChain(ctx, companyID, managerID, maxManagerDepth+1)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return noCycle(chain, employeeID, managerID)
}

// noCycle fails if the chain above managerID (managerID first) reaches
// employeeID, or is longer than maxManagerDepth (which a loop above is).
func noCycle(chain []string, employeeID, managerID string) error {
	for depth, id := range chain {
		if id == employeeID {
			return fmt.Errorf("%w: manager cycle: %s is (indirectly) managed by %s", ErrInvalid, managerID, employeeID)
		}
		if depth >= maxManagerDepth {
			return fmt.Errorf("%w: manager chain deeper than %d", ErrInvalid, maxManagerDepth)
		}
	}
	return nil
}

// SetManager sets (or, with an empty managerRef, clears) an employee's
// manager: resolved to ManagerID when that employee exists, otherwise kept in
// ManagerRef until ResolvePending links it. What follows is settled
// (Settle: the approver role of the old and new manager is recomputed).
func SetManager(ctx context.Context, st Store, companyID int64, employeeID, managerRef string) error {
	e, err := st.GetEmployee(ctx, companyID, employeeID)
	if err != nil {
		return err
	}
	if !e.Visible() {
		return fmt.Errorf("%w: employee %s was deleted", ErrNotFound, employeeID)
	}
	mid, pending, err := ResolveManager(ctx, st, companyID, employeeID, managerRef)
	if err != nil {
		return err
	}
	if e.ManagerID == mid && e.ManagerRef == pending {
		return nil
	}
	before := *e
	e.ManagerID, e.ManagerRef = mid, pending
	if err := st.UpdateEmployee(ctx, e); err != nil {
		return err
	}
	_, err = Settle(ctx, st, companyID, Change{Before: &before, After: e}) // a manager change ends no session
	return err
}

// ResolvePending links the employees whose manager reference waits for
// newEmployee (by its id or externalId). A link that would close a cycle
// stays pending. What follows is settled (Settle: newEmployee's approver
// role is recomputed).
func ResolvePending(ctx context.Context, st Store, companyID int64, newEmployee *Employee) error {
	_, err := ResolvePendingLinked(ctx, st, companyID, newEmployee)
	return err
}

// ResolvePendingLinked is ResolvePending, also reporting whether it linked
// anyone (and so may have changed newEmployee's stored record).
func ResolvePendingLinked(ctx context.Context, st Store, companyID int64, newEmployee *Employee) (bool, error) {
	if newEmployee == nil || !newEmployee.Visible() {
		return false, nil
	}
	rows, err := st.ListByManagerRefs(ctx, companyID, newEmployee.ID, newEmployee.ExternalID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	var changes []Change
	for i := range rows {
		r := &rows[i]
		if r.ID == newEmployee.ID || r.ManagerID != "" || !r.Visible() {
			continue
		}
		if err := checkNoCycle(ctx, st, companyID, r.ID, newEmployee.ID); err != nil {
			if errors.Is(err, ErrInvalid) {
				continue // stays pending; the admin sees the unresolved reference
			}
			return false, err
		}
		before := *r
		r.ManagerID, r.ManagerRef = newEmployee.ID, ""
		if err := st.UpdateEmployee(ctx, r); err != nil {
			return false, err
		}
		changes = append(changes, Change{Before: &before, After: r})
	}
	if len(changes) == 0 {
		return false, nil
	}
	_, err = Settle(ctx, st, companyID, changes...) // a manager change ends no session
	return true, err
}

// RecomputeApproverRole sets IsApprover of each employee to whether they
// manage some active employee. Empty and unknown ids are skipped. The store
// does it in one statement, writing only the records whose role changes.
func RecomputeApproverRole(ctx context.Context, st Store, companyID int64, employeeIDs ...string) error {
	return st.RecomputeApprovers(ctx, companyID, employeeIDs...)
}

// Approvers lists who approves employeeID's requests, in order:
//   - SelfApprover: only the employee (Entra's manager is ignored);
//   - otherwise the manager (when active), then the department approvers of
//     the employee's department unless OnlySelectedApprover is set.
//
// Inactive or deleted approvers and the employee themselves (outside
// SelfApprover) are left out; nobody appears twice.
func Approvers(ctx context.Context, st Store, companyID int64, employeeID string) ([]Approver, error) {
	e, err := st.GetEmployee(ctx, companyID, employeeID)
	if err != nil {
		return nil, err
	}
	if !e.Visible() {
		return nil, fmt.Errorf("%w: employee %s was deleted", ErrNotFound, employeeID)
	}
	mk := func(a *Employee, k ApproverKind) Approver {
		name := a.DisplayName
		if name == "" {
			name = strings.TrimSpace(a.GivenName + " " + a.FamilyName)
		}
		return Approver{EmployeeID: a.ID, UserName: a.UserName, DisplayName: name, Kind: k}
	}
	if e.SelfApprover {
		return []Approver{mk(e, ApproverSelf)}, nil
	}
	out := []Approver{}
	seen := map[string]bool{e.ID: true}
	if e.ManagerID != "" {
		m, err := st.GetEmployee(ctx, companyID, e.ManagerID)
		switch {
		case err == nil:
			if m.Visible() && m.Active && !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, mk(m, ApproverManager))
			}
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if e.OnlySelectedApprover || strings.TrimSpace(e.Department) == "" {
		return out, nil
	}
	ids, err := st.ListDepartmentApprovers(ctx, companyID, e.Department)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		a, err := st.GetEmployee(ctx, companyID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if a.Visible() && a.Active {
			out = append(out, mk(a, ApproverDepartment))
		}
	}
	return out, nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

const employeeCols = `id, company_id, user_name, email, given_name, family_name, display_name, external_id,
	entra_object_id, title, department, manager_id, manager_ref, mobile_phone, work_phone, country,
	date_of_employment, payroll_number, employee_number, group_company_name, active, termination_date,
	deleted_at, source, entra_linked, is_admin, is_approver, self_approver, only_selected_approver,
	scim_extra, version, created_at, updated_at`

func scanEmployee(r rowScanner) (*directory.Employee, error) {
	var e directory.Employee
	var objectID, managerID dbString
	var source string
	var deleted, created, updated dbTime
	err := r.Scan(&e.ID, &e.CompanyID, &e.UserName, &e.Email, &e.GivenName, &e.FamilyName, &e.DisplayName, &e.ExternalID,
		&objectID, &e.Title, &e.Department, &managerID, &e.ManagerRef, &e.MobilePhone, &e.WorkPhone, &e.Country,
		&e.DateOfEmployment, &e.PayrollNumber, &e.EmployeeNumber, &e.GroupCompanyName, &e.Active, &e.TerminationDate,
		&deleted, &source, &e.EntraLinked, &e.IsAdmin, &e.IsApprover, &e.SelfApprover, &e.OnlySelectedApprover,
		&e.SCIMExtra, &e.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	e.EntraObjectID, e.ManagerID, e.Source = string(objectID), string(managerID), directory.Source(source)
	e.DeletedAt, e.CreatedAt, e.UpdatedAt = deleted.ptr(), created.T, updated.T
	if len(e.SCIMExtra) == 0 {
		e.SCIMExtra = nil
	}
	return &e, nil
}

func (s *Store) scanEmployees(ctx context.Context, what, query string, args ...any) ([]directory.Employee, error) {
	rows, err := s.queryR(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []directory.Employee
	for rows.Next() {
		e, err := scanEmployee(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.translate(err))
	}
	return out, nil
}

// checkEmployee validates e before a write; it fills an empty Source with
// SourceLocal.
func checkEmployee(e *directory.Employee) error {
	var ck checker
	ck.company(e.CompanyID)
	ck.text("employee id", e.ID, maxKey)
	ck.text("userName", e.UserName, maxKey)
	ck.text("email", e.Email, maxKey)
	ck.text("externalId", e.ExternalID, maxKey)
	ck.text("Entra object id", e.EntraObjectID, maxKey)
	ck.text("manager id", e.ManagerID, maxKey)
	ck.text("manager reference", e.ManagerRef, maxKey)
	for _, f := range []struct{ name, v string }{
		{"givenName", e.GivenName}, {"familyName", e.FamilyName}, {"displayName", e.DisplayName},
		{"title", e.Title}, {"department", e.Department}, {"mobile phone", e.MobilePhone},
		{"work phone", e.WorkPhone}, {"country", e.Country}, {"dateOfEmployment", e.DateOfEmployment},
		{"payrollNumber", e.PayrollNumber}, {"employeeNumber", e.EmployeeNumber},
		{"groupCompanyName", e.GroupCompanyName},
	} {
		ck.text(f.name, f.v, maxText)
	}
	if e.TerminationDate != "" {
		if _, err := time.Parse(time.DateOnly, e.TerminationDate); err != nil {
			ck.fail("termination date %q is not YYYY-MM-DD", e.TerminationDate)
		}
	}
	if e.Source == "" {
		e.Source = directory.SourceLocal
	}
	switch e.Source {
	case directory.SourceImport, directory.SourceSCIM, directory.SourceLocal:
	default:
		ck.fail("source %q is not %q, %q or %q", e.Source, directory.SourceImport, directory.SourceSCIM, directory.SourceLocal)
	}
	ck.bytes("SCIM extra attributes", e.SCIMExtra, maxLong)
	if e.ManagerID != "" && e.ManagerID == e.ID {
		ck.fail("an employee cannot be their own manager")
	}
	return ck.err
}

// searchKey is what EmployeeQuery.Search matches: the folded names,
// userName and email, one per line.
func searchKey(e *directory.Employee) string {
	return Fold(strings.Join([]string{e.GivenName, e.FamilyName, e.DisplayName, e.UserName, e.Email}, "\n"))
}

// CreateEmployee inserts e, filling ID (when empty: 128 random bits in
// hex), Version and the times.
func (s *Store) CreateEmployee(ctx context.Context, e *directory.Employee) error {
	if err := checkEmployee(e); err != nil {
		return err
	}
	id := e.ID
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return err
		}
	}
	now := s.clock()
	write := func(tx *Store) error {
		if e.ManagerID != "" {
			if err := tx.checkManager(ctx, e.CompanyID, id, e.ManagerID); err != nil {
				return err
			}
		}
		_, err := tx.exec(ctx, `INSERT INTO employees (id, company_id, user_name, username_norm, email, email_norm,
			given_name, family_name, display_name, external_id, entra_object_id, title, department, manager_id,
			manager_ref, mobile_phone, work_phone, country, date_of_employment, payroll_number, employee_number,
			group_company_name, active, termination_date, deleted_at, source, entra_linked, is_admin, is_approver,
			self_approver, only_selected_approver, scim_extra, search_norm, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			id, e.CompanyID, e.UserName, foldOrNull(e.UserName), e.Email, foldOrNull(e.Email),
			e.GivenName, e.FamilyName, e.DisplayName, e.ExternalID, orNull(e.EntraObjectID), e.Title, e.Department, orNull(e.ManagerID),
			e.ManagerRef, e.MobilePhone, e.WorkPhone, e.Country, e.DateOfEmployment, e.PayrollNumber, e.EmployeeNumber,
			e.GroupCompanyName, e.Active, e.TerminationDate, tx.ntv(e.DeletedAt), string(e.Source), e.EntraLinked, e.IsAdmin, e.IsApprover,
			e.SelfApprover, e.OnlySelectedApprover, e.SCIMExtra, searchKey(e), tx.tv(now), tx.tv(now))
		return err
	}
	var err error
	if e.ManagerID != "" {
		err = s.inTx(ctx, write)
	} else {
		err = write(s)
	}
	if err != nil {
		return fmt.Errorf("create employee: %w", err)
	}
	e.ID, e.Version, e.CreatedAt, e.UpdatedAt = id, 1, now, now
	if len(e.SCIMExtra) == 0 {
		e.SCIMExtra = nil // as a read returns it
	}
	s.noteCreated(ctx, 1)
	if e.DeletedAt != nil {
		t := norm(*e.DeletedAt)
		e.DeletedAt = &t
	}
	return nil
}

// UpdateEmployee replaces every field of e (by CompanyID and ID), bumps
// Version, and fills Version, CreatedAt and UpdatedAt.
func (s *Store) UpdateEmployee(ctx context.Context, e *directory.Employee) error {
	if err := checkEmployee(e); err != nil {
		return err
	}
	if e.ID == "" {
		return fmt.Errorf("%w: update employee: id is empty", directory.ErrInvalid)
	}
	now := s.clock()
	var version int64
	var created dbTime
	write := func(tx *Store) error {
		args := []any{e.UserName, foldOrNull(e.UserName), e.Email, foldOrNull(e.Email),
			e.GivenName, e.FamilyName, e.DisplayName, e.ExternalID, orNull(e.EntraObjectID), e.Title,
			e.Department, orNull(e.ManagerID), e.ManagerRef, e.MobilePhone, e.WorkPhone, e.Country,
			e.DateOfEmployment, e.PayrollNumber, e.EmployeeNumber, e.GroupCompanyName, e.Active,
			e.TerminationDate, tx.ntv(e.DeletedAt), string(e.Source), e.EntraLinked, e.IsAdmin, e.IsApprover,
			e.SelfApprover, e.OnlySelectedApprover, e.SCIMExtra, searchKey(e),
			tx.tv(now), e.CompanyID, e.ID}
		guard := ""
		if e.ManagerID != "" {
			// The manager checks of checkManager, made by the UPDATE itself
			// (after the lock, so its snapshot has every earlier manager
			// change): one round trip less. When it writes nothing,
			// checkManager says why.
			if err := tx.lockManagers(ctx, e.CompanyID); err != nil {
				return err
			}
			guard = managerGuard
			args = append(args, e.CompanyID, e.ManagerID, e.CompanyID, e.ManagerID, e.CompanyID, maxManagerDepth+2, e.ID, maxManagerDepth)
		}
		err := tx.queryRowW(ctx, `UPDATE employees SET user_name = ?, username_norm = ?, email = ?, email_norm = ?,
			given_name = ?, family_name = ?, display_name = ?, external_id = ?, entra_object_id = ?, title = ?,
			department = ?, manager_id = ?, manager_ref = ?, mobile_phone = ?, work_phone = ?, country = ?,
			date_of_employment = ?, payroll_number = ?, employee_number = ?, group_company_name = ?, active = ?,
			termination_date = ?, deleted_at = ?, source = ?, entra_linked = ?, is_admin = ?, is_approver = ?,
			self_approver = ?, only_selected_approver = ?, scim_extra = ?, search_norm = ?, version = version + 1,
			updated_at = ?
			WHERE company_id = ? AND id = ?`+guard+` RETURNING version, created_at`, args...).Scan(&version, &created)
		err = tx.translate(err)
		if guard != "" && errors.Is(err, directory.ErrNotFound) {
			if cerr := tx.checkManager(ctx, e.CompanyID, e.ID, e.ManagerID); cerr != nil {
				return cerr
			}
		}
		return err
	}
	var err error
	if e.ManagerID != "" {
		err = s.inTx(ctx, write)
	} else {
		err = write(s)
	}
	if err != nil {
		return fmt.Errorf("update employee %s: %w", e.ID, err)
	}
	e.Version, e.CreatedAt, e.UpdatedAt = version, created.T, now
	if len(e.SCIMExtra) == 0 {
		e.SCIMExtra = nil // as a read returns it
	}
	if e.DeletedAt != nil {
		t := norm(*e.DeletedAt)
		e.DeletedAt = &t
	}
	return nil
}

// maxManagerDepth bounds the walk up the manager chain.
const maxManagerDepth = 10000

// lockManagersSQL takes the per-company advisory lock that serialises
// manager changes on PostgreSQL (1397967949 is its first key).
const lockManagersSQL = `SELECT pg_advisory_xact_lock(1397967949, ?)`

// checkManager refuses a manager that is not an employee of the company,
// and one whose own chain of managers leads back to employeeID (a cycle).
// It runs inside the write transaction; on PostgreSQL it first takes a
// per-company advisory lock (once per transaction) so two concurrent
// manager changes cannot close a cycle together (SQLite has one writer).
// The lock is taken in a statement of its own: the chain is read by the
// next statement, whose snapshot includes every change committed by the
// transactions that held the lock before.
func (s *Store) checkManager(ctx context.Context, companyID int64, employeeID, managerID string) error {
	if err := s.lockManagers(ctx, companyID); err != nil {
		return err
	}
	chain, err := s.chain(ctx, companyID, managerID, maxManagerDepth+2, false)
	if err != nil {
		return err
	}
	if len(chain) == 0 {
		return fmt.Errorf("%w: manager %s is not an employee of this company (%w)", directory.ErrInvalid, managerID, directory.ErrNotFound)
	}
	seen := make(map[string]bool, len(chain))
	for depth, l := range chain {
		if l.id == employeeID {
			return fmt.Errorf("%w: manager %s would make a cycle (it reports, directly or not, to %s)", directory.ErrInvalid, managerID, employeeID)
		}
		if seen[l.id] || depth > maxManagerDepth {
			// An existing cycle above: refuse rather than extend it.
			return fmt.Errorf("%w: the manager chain above %s loops", directory.ErrInvalid, managerID)
		}
		seen[l.id] = true
	}
	if last := chain[len(chain)-1]; last.managerID != "" {
		// The chain stopped at a manager that does not exist (the foreign
		// key prevents it) or at the depth limit (handled above).
		return fmt.Errorf("manager %s of %s: %w", last.managerID, last.id, directory.ErrNotFound)
	}
	return nil
}

// lockManagers takes the per-company manager-links lock (PostgreSQL), once
// per transaction.
func (s *Store) lockManagers(ctx context.Context, companyID int64) error {
	if s.dialect != DialectPostgres || (s.tx != nil && s.managerLocked) {
		return nil
	}
	if _, err := s.exec(ctx, lockManagersSQL, int32(companyID)); err != nil {
		return fmt.Errorf("lock manager links: %w", err)
	}
	if s.tx != nil {
		s.managerLocked = true
	}
	return nil
}

// managerGuard ends an UPDATE of one employee (whose id is the last
// argument before it): the new manager exists in the company, and neither
// the employee nor a loop (a chain past maxManagerDepth) is above it.
const managerGuard = `
	AND EXISTS (SELECT 1 FROM employees m WHERE m.company_id = ? AND m.id = ?)
	AND NOT EXISTS (WITH RECURSIVE up (id, manager_id, depth) AS (
		SELECT id, manager_id, 0 FROM employees WHERE company_id = ? AND id = ?
		UNION ALL
		SELECT e.id, e.manager_id, up.depth + 1 FROM up JOIN employees e ON e.company_id = ? AND e.id = up.manager_id
		WHERE up.depth + 1 < ?)
		SELECT 1 FROM up WHERE up.id = ? OR up.depth > ?)`

// link is one step of a manager chain.
type link struct{ id, managerID string }

// chain reads, in one statement, the employee id and the managers above
// it, nearest first, at most limit steps. With visible, a hard-deleted id
// has no chain (managers above it are followed whether deleted or not).
func (s *Store) chain(ctx context.Context, companyID int64, id string, limit int, visible bool) ([]link, error) {
	if id == "" || limit <= 0 {
		return nil, nil
	}
	start := `SELECT id, manager_id, 0 FROM employees WHERE company_id = ? AND id = ?`
	if visible {
		start += ` AND deleted_at IS NULL`
	}
	rows, err := s.queryR(ctx, `WITH RECURSIVE up (id, manager_id, depth) AS (`+start+`
		UNION ALL
		SELECT e.id, e.manager_id, up.depth + 1 FROM up JOIN employees e ON e.company_id = ? AND e.id = up.manager_id
		WHERE up.depth + 1 < ?)
		SELECT id, manager_id FROM up ORDER BY depth`, companyID, id, companyID, limit)
	if err != nil {
		return nil, fmt.Errorf("manager chain of %s: %w", id, err)
	}
	return collect(s, rows, "manager chain of "+id, func(r *sql.Rows) (link, error) {
		var l link
		var mid dbString
		err := r.Scan(&l.id, &mid)
		l.managerID = string(mid)
		return l, err
	})
}

// ManagerChain returns id and the ids of the managers above it, nearest
// first, in one statement; none when id is not a visible employee.
func (s *Store) ManagerChain(ctx context.Context, companyID int64, id string, limit int) ([]string, error) {
	links, err := s.chain(ctx, companyID, id, limit, true)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(links))
	for i, l := range links {
		ids[i] = l.id
	}
	return ids, nil
}

// RecomputeApprovers sets is_approver from the reports, in one statement:
// only the rows whose flag changes are written (and their Version bumped).
func (s *Store) RecomputeApprovers(ctx context.Context, companyID int64, employeeIDs ...string) error {
	ids := distinct(employeeIDs)
	if len(ids) == 0 {
		return nil
	}
	args := []any{s.tv(s.clock()), companyID}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.exec(ctx, `UPDATE employees SET is_approver = NOT is_approver, version = version + 1, updated_at = ?
		WHERE company_id = ? AND id IN (`+placeholders(len(ids))+`)
		AND is_approver <> (deleted_at IS NULL AND EXISTS (SELECT 1 FROM employees r
			WHERE r.company_id = employees.company_id AND r.manager_id = employees.id
			AND r.active AND r.deleted_at IS NULL AND r.id <> employees.id))`, args...)
	if err != nil {
		return fmt.Errorf("recompute approver role: %w", err)
	}
	return nil
}

// distinct returns the non-empty values of v, each once, in order.
func distinct(v []string) []string {
	var out []string
	for _, x := range v {
		if x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// GetEmployee returns the employee, hard-deleted ones included.
func (s *Store) GetEmployee(ctx context.Context, companyID int64, id string) (*directory.Employee, error) {
	e, err := scanEmployee(s.queryRowR(ctx, `SELECT `+employeeCols+` FROM employees WHERE company_id = ? AND id = ?`, companyID, id))
	if err != nil {
		return nil, fmt.Errorf("employee %s: %w", id, s.translate(err))
	}
	return e, nil
}

// findSQL selects the visible employee of a company by one column; the
// partial unique indexes (WHERE deleted_at IS NULL) serve it.
// The index-backed lists (TestLookupsUseIndexes checks their plans).
const (
	byExternalIDSQL = `SELECT ` + employeeCols + ` FROM employees
		WHERE company_id = ? AND external_id = ? AND deleted_at IS NULL ORDER BY created_at, id`
	reportsSQL = `SELECT ` + employeeCols + ` FROM employees
		WHERE company_id = ? AND manager_id = ? AND deleted_at IS NULL ORDER BY created_at, id`
	byManagerRefSQL = `SELECT ` + employeeCols + ` FROM employees
		WHERE company_id = ? AND manager_ref = ? AND manager_id IS NULL AND deleted_at IS NULL ORDER BY created_at, id`
)

func findSQL(column string) string {
	return `SELECT ` + employeeCols + ` FROM employees WHERE company_id = ? AND ` + column + ` = ? AND deleted_at IS NULL`
}

func (s *Store) findOne(ctx context.Context, what string, companyID int64, column, value string) (*directory.Employee, error) {
	if value == "" {
		return nil, fmt.Errorf("employee by %s: %w", what, directory.ErrNotFound)
	}
	e, err := scanEmployee(s.queryRowR(ctx, findSQL(column), companyID, value))
	if err != nil {
		return nil, fmt.Errorf("employee by %s: %w", what, s.translate(err))
	}
	return e, nil
}

// FindEmployeeByUserName matches userName case-insensitively (Fold).
func (s *Store) FindEmployeeByUserName(ctx context.Context, companyID int64, userName string) (*directory.Employee, error) {
	return s.findOne(ctx, "userName", companyID, "username_norm", Fold(userName))
}

// FindEmployeeByEmail matches the work email case-insensitively (Fold).
func (s *Store) FindEmployeeByEmail(ctx context.Context, companyID int64, email string) (*directory.Employee, error) {
	return s.findOne(ctx, "email", companyID, "email_norm", Fold(email))
}

// FindEmployeeByUserNameOrEmail runs both lookups in one statement (each
// branch served by its partial unique index).
func (s *Store) FindEmployeeByUserNameOrEmail(ctx context.Context, companyID int64, userName, email string) (byUserName, byEmail *directory.Employee, err error) {
	uk, ek := Fold(userName), Fold(email)
	if uk == "" && ek == "" {
		return nil, nil, nil
	}
	rows, err := s.scanEmployees(ctx, "employee by userName or email", findSQL("username_norm")+` UNION ALL `+findSQL("email_norm"),
		companyID, foldOrNull(userName), companyID, foldOrNull(email))
	if err != nil {
		return nil, nil, err
	}
	for i := range rows {
		e := &rows[i]
		if uk != "" && byUserName == nil && Fold(e.UserName) == uk {
			byUserName = e
		}
		if ek != "" && byEmail == nil && Fold(e.Email) == ek {
			byEmail = e
		}
	}
	return byUserName, byEmail, nil
}

// FindEmployeeByObjectID matches the bound Entra object id exactly.
func (s *Store) FindEmployeeByObjectID(ctx context.Context, companyID int64, objectID string) (*directory.Employee, error) {
	return s.findOne(ctx, "Entra object id", companyID, "entra_object_id", objectID)
}

// FindEmployeesByExternalID lists the visible employees with this
// externalId (exact match), oldest first.
func (s *Store) FindEmployeesByExternalID(ctx context.Context, companyID int64, externalID string) ([]directory.Employee, error) {
	if externalID == "" {
		return nil, nil
	}
	return s.scanEmployees(ctx, "employees by externalId", byExternalIDSQL, companyID, externalID)
}

// BindObjectID stores Entra's object id on a visible employee and bumps
// its Version.
func (s *Store) BindObjectID(ctx context.Context, companyID int64, employeeID, objectID string) error {
	var ck checker
	ck.required("Entra object id", objectID, maxKey)
	if ck.err != nil {
		return ck.err
	}
	// Only an unbound employee (or one bound to this very id) is bound: of
	// two first sign-ins racing with different object ids, one wins and
	// the other sees a conflict, never an overwrite.
	err := s.execOne(ctx, "employee "+employeeID, `UPDATE employees SET entra_object_id = ?, version = version + 1, updated_at = ?
		WHERE company_id = ? AND id = ? AND deleted_at IS NULL
		AND (entra_object_id IS NULL OR entra_object_id = '' OR entra_object_id = ?)`,
		objectID, s.tv(s.clock()), companyID, employeeID, objectID)
	if errors.Is(err, directory.ErrNotFound) {
		if e, gerr := s.GetEmployee(ctx, companyID, employeeID); gerr == nil && e.Visible() {
			return fmt.Errorf("bind Entra object id: employee %s is bound to another object id: %w", employeeID,
				&directory.ConflictError{Field: "entraObjectId"})
		}
	}
	if err != nil {
		return fmt.Errorf("bind Entra object id: %w", err)
	}
	return nil
}

// likeEscape escapes LIKE's wildcards with '\'.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListEmployees pages through the company's employees in (created_at, id)
// order and counts every match.
func (s *Store) ListEmployees(ctx context.Context, q directory.EmployeeQuery) ([]directory.Employee, int, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return nil, 0, fmt.Errorf("%w: list employees: negative offset or limit", directory.ErrInvalid)
	}
	where := ` WHERE company_id = ?`
	args := []any{q.CompanyID}
	if !q.IncludeDeleted {
		where += ` AND deleted_at IS NULL`
	}
	if q.Active != nil {
		where += ` AND active = ?`
		args = append(args, *q.Active)
	}
	if k := Fold(q.Search); k != "" {
		where += ` AND search_norm LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape.Replace(k)+"%")
	}
	var total int
	if err := s.queryRowR(ctx, `SELECT COUNT(*) FROM employees`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count employees: %w", s.translate(err))
	}
	if q.Limit == 0 || q.Offset >= total {
		return nil, total, nil
	}
	rows, err := s.scanEmployees(ctx, "list employees", `SELECT `+employeeCols+` FROM employees`+where+
		` ORDER BY created_at, id LIMIT ? OFFSET ?`, append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	return rows, total, nil
}

// ListReports lists the visible employees whose manager is managerID.
func (s *Store) ListReports(ctx context.Context, companyID int64, managerID string) ([]directory.Employee, error) {
	if managerID == "" {
		return nil, nil
	}
	return s.scanEmployees(ctx, "list reports", reportsSQL, companyID, managerID)
}

// ListByManagerRef lists the visible employees whose manager reference is
// ref and not yet resolved (ManagerID empty).
func (s *Store) ListByManagerRef(ctx context.Context, companyID int64, ref string) ([]directory.Employee, error) {
	if ref == "" {
		return nil, nil
	}
	return s.scanEmployees(ctx, "list by manager reference", byManagerRefSQL, companyID, ref)
}

// ListByManagerRefs lists the visible employees whose unresolved manager
// reference is one of refs, in one statement.
func (s *Store) ListByManagerRefs(ctx context.Context, companyID int64, refs ...string) ([]directory.Employee, error) {
	refs = distinct(refs)
	if len(refs) == 0 {
		return nil, nil
	}
	args := []any{companyID}
	for _, r := range refs {
		args = append(args, r)
	}
	return s.scanEmployees(ctx, "list by manager references", `SELECT `+employeeCols+` FROM employees
		WHERE company_id = ? AND manager_ref IN (`+placeholders(len(refs))+`) AND manager_id IS NULL AND deleted_at IS NULL
		ORDER BY created_at, id`, args...)
}

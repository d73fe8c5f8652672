package admin

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// A column of a spreadsheet import: its SCIM attribute name and the
// employee field it reads and writes.
type column struct {
	name string
	get  func(e *directory.Employee) string
	set  func(e *directory.Employee, v string) error
}

func textColumn(name string, f func(e *directory.Employee) *string) column {
	return column{name: name,
		get: func(e *directory.Employee) string { return *f(e) },
		set: func(e *directory.Employee, v string) error { *f(e) = v; return nil }}
}

func boolColumn(name string, f func(e *directory.Employee) *bool) column {
	return column{name: name,
		get: func(e *directory.Employee) string { return strconv.FormatBool(*f(e)) },
		set: func(e *directory.Employee, v string) error {
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil {
				return fmt.Errorf("%s %q is not true or false", name, v)
			}
			*f(e) = b
			return nil
		}}
}

// columns are the fields an import may name, in the order changes are
// reported. Header names match case-insensitively; "emails" and "mail" are
// taken for email.
var columns = []column{
	textColumn("userName", func(e *directory.Employee) *string { return &e.UserName }),
	textColumn("email", func(e *directory.Employee) *string { return &e.Email }),
	textColumn("givenName", func(e *directory.Employee) *string { return &e.GivenName }),
	textColumn("familyName", func(e *directory.Employee) *string { return &e.FamilyName }),
	textColumn("displayName", func(e *directory.Employee) *string { return &e.DisplayName }),
	textColumn("externalId", func(e *directory.Employee) *string { return &e.ExternalID }),
	textColumn("title", func(e *directory.Employee) *string { return &e.Title }),
	textColumn("department", func(e *directory.Employee) *string { return &e.Department }),
	textColumn("mobilePhone", func(e *directory.Employee) *string { return &e.MobilePhone }),
	textColumn("workPhone", func(e *directory.Employee) *string { return &e.WorkPhone }),
	textColumn("country", func(e *directory.Employee) *string { return &e.Country }),
	textColumn("dateOfEmployment", func(e *directory.Employee) *string { return &e.DateOfEmployment }),
	textColumn("payrollNumber", func(e *directory.Employee) *string { return &e.PayrollNumber }),
	textColumn("employeeNumber", func(e *directory.Employee) *string { return &e.EmployeeNumber }),
	textColumn("groupCompanyName", func(e *directory.Employee) *string { return &e.GroupCompanyName }),
	boolColumn("active", func(e *directory.Employee) *bool { return &e.Active }),
	boolColumn("isAdmin", func(e *directory.Employee) *bool { return &e.IsAdmin }),
}

var requiredColumns = []string{"userName", "email", "givenName", "familyName"}

func columnByHeader(h string) (column, bool) {
	k := strings.ToLower(strings.TrimSpace(h))
	if k == "emails" || k == "mail" {
		k = "email"
	}
	for _, c := range columns {
		if strings.ToLower(c.name) == k {
			return c, true
		}
	}
	return column{}, false
}

// ImportRow is one line of a spreadsheet: the values of the columns the
// header names, by column name. A column the header does not name is absent
// from Values and is never changed.
type ImportRow struct {
	Line   int
	Values map[string]string
}

// Import is a parsed spreadsheet export.
type Import struct {
	// Columns are the columns the header names (canonical names).
	Columns []string
	Rows    []ImportRow
}

// maxImportBytes bounds what ParseCSV reads.
const maxImportBytes = 64 << 20

// ParseCSV reads a spreadsheet export: a header row naming the fields (SCIM
// attribute names; at least userName, email, givenName and familyName),
// then one employee per row. Comma- or semicolon-separated (as Excel writes
// in many locales), a UTF-8 BOM tolerated. It reports every bad row at once.
func ParseCSV(r io.Reader) (*Import, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxImportBytes {
		return nil, fmt.Errorf("the file is larger than %d MiB; split it", maxImportBytes>>20)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	if first, _, _ := bytes.Cut(raw, []byte("\n")); bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header row: %w", err)
	}
	cols := make([]column, len(header))
	seen := map[string]bool{}
	var errs []error
	im := &Import{}
	for i, h := range header {
		c, ok := columnByHeader(h)
		if !ok {
			errs = append(errs, fmt.Errorf("header column %d %q is not a known field", i+1, h))
			continue
		}
		if seen[c.name] {
			errs = append(errs, fmt.Errorf("header column %q appears twice", h))
			continue
		}
		seen[c.name] = true
		cols[i] = c
		im.Columns = append(im.Columns, c.name)
	}
	for _, k := range requiredColumns {
		if !seen[k] {
			errs = append(errs, fmt.Errorf("the header row must name %s", k))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	users := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) > len(cols) {
			errs = append(errs, fmt.Errorf("line %d: more fields than the header", line))
			continue
		}
		row := ImportRow{Line: line, Values: make(map[string]string, len(cols))}
		for i, c := range cols {
			v := ""
			if i < len(rec) {
				v = strings.TrimSpace(rec[i])
			}
			row.Values[c.name] = v
		}
		var probe directory.Employee
		for _, c := range cols {
			// Validate the value now: an empty yes/no cell means "no change".
			if v := row.Values[c.name]; v != "" || c.get(&probe) == "" {
				if err := c.set(&probe, v); err != nil {
					errs = append(errs, fmt.Errorf("line %d: %w", line, err))
				}
			}
		}
		if row.Values["userName"] == "" || row.Values["givenName"] == "" || row.Values["familyName"] == "" {
			errs = append(errs, fmt.Errorf("line %d: userName, givenName and familyName are required", line))
			continue
		}
		k := strings.ToLower(row.Values["userName"])
		if prev, dup := users[k]; dup {
			errs = append(errs, fmt.Errorf("line %d: userName %s already on line %d", line, row.Values["userName"], prev))
			continue
		}
		users[k] = line
		im.Rows = append(im.Rows, row)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return im, nil
}

// FieldChange is one field an import changes.
type FieldChange struct {
	Field    string
	Old, New string
}

// ImportChange is what an import does to one row's employee.
type ImportChange struct {
	Line       int
	UserName   string
	EmployeeID string
	// Kind: "create", "update" or "unchanged".
	Kind   string
	Fields []FieldChange
	// Deactivated, Reactivated and AdminRemoved name the consequential
	// changes: sessions ended, approver roles recomputed, admin sessions
	// ended. Each happens only because the row's active or isAdmin column
	// says so.
	Deactivated, Reactivated, AdminRemoved bool
	// ManagerLinked: employees Entra provisioned with this one as their
	// manager (its id or externalId) before it existed here now report
	// to it.
	ManagerLinked bool
}

// ImportResult is what an import did (or, dry, would do).
type ImportResult struct {
	DryRun                      bool
	Changes                     []ImportChange
	Created, Updated, Unchanged int
	Deactivated, Reactivated    int
	AdminRemoved, AdminGranted  int
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("admin: dry run")

// ImportEmployees creates or updates (by userName) every row in one
// transaction: a bad row leaves the directory unchanged. Only the columns
// the spreadsheet names change; a column it leaves out keeps every
// employee's value (title, admin role, active flag...). Nobody is
// reactivated or loses the admin role unless the row's active or isAdmin
// cell says so. Employees managed by Entra provisioning are refused (Entra
// is their source of truth). With dryRun nothing is written and the result
// says what would change, conflicts included.
//
// Each changed employee gets an audit entry, and what follows from the
// changes in the directory (approver roles) is written in the same
// transaction (directory.Settle). After the commit, deactivated employees'
// sessions and de-roled admins' console sessions end (Settle); a failure
// there is returned wrapping ErrAfterCommit with the result.
func (s *Service) ImportEmployees(ctx context.Context, actor string, co *directory.Company, im *Import, dryRun bool) (*ImportResult, error) {
	var (
		res *ImportResult
		fx  []directory.Aftermath
	)
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		res = &ImportResult{DryRun: dryRun}
		var changes []directory.Change
		for _, row := range im.Rows {
			ch, change, err := s.importRow(ctx, tx, actor, co, im.Columns, row)
			if err != nil {
				return fmt.Errorf("line %d (%s): %w", row.Line, row.Values["userName"], err)
			}
			if change != nil {
				changes = append(changes, *change)
			}
			res.Changes = append(res.Changes, ch)
			switch ch.Kind {
			case "create":
				res.Created++
			case "update":
				res.Updated++
			default:
				res.Unchanged++
			}
			for _, f := range ch.Fields {
				if f.Field == "isAdmin" && f.New == "true" {
					res.AdminGranted++
				}
			}
			res.Deactivated += b2i(ch.Deactivated)
			res.Reactivated += b2i(ch.Reactivated)
			res.AdminRemoved += b2i(ch.AdminRemoved)
		}
		var err error
		if fx, err = directory.Settle(ctx, tx, co.ID, changes...); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, co.ID, actor, "employees.import", fmt.Sprintf("rows=%d created=%d updated=%d unchanged=%d deactivated=%d reactivated=%d admin_removed=%d",
			len(im.Rows), res.Created, res.Updated, res.Unchanged, res.Deactivated, res.Reactivated, res.AdminRemoved)); err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	return res, s.Settle(ctx, co.ID, fx...)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// importRow applies one row in tx. It returns the change for the result
// and, when it wrote the employee, for directory.Settle.
func (s *Service) importRow(ctx context.Context, tx directory.Store, actor string, co *directory.Company, names []string, row ImportRow) (ImportChange, *directory.Change, error) {
	ch := ImportChange{Line: row.Line, UserName: row.Values["userName"]}
	cur, err := tx.FindEmployeeByUserName(ctx, co.ID, row.Values["userName"])
	switch {
	case errors.Is(err, directory.ErrNotFound):
		e := directory.Employee{CompanyID: co.ID, Active: true, Source: directory.SourceImport}
		for _, name := range names {
			c, _ := columnByHeader(name)
			if v := row.Values[name]; v != "" || c.get(&e) == "" {
				if err := c.set(&e, v); err != nil {
					return ch, nil, err
				}
			}
		}
		if err := tx.CreateEmployee(ctx, &e); err != nil {
			return ch, nil, err
		}
		ch.Kind, ch.EmployeeID = "create", e.ID
		if ch.ManagerLinked, err = directory.ResolvePendingLinked(ctx, tx, co.ID, &e); err != nil {
			return ch, nil, err
		}
		return ch, &directory.Change{After: &e}, s.audit(ctx, tx, co.ID, actor, "employee.import.create",
			fmt.Sprintf("employee=%s (%s) active=%v admin=%v", e.ID, e.UserName, e.Active, e.IsAdmin))
	case err != nil:
		return ch, nil, err
	case cur.EntraLinked:
		return ch, nil, usererr.Errorf(usererr.Conflict, "entra_managed", "%s is managed by Entra provisioning; change it in Entra (or detach it first)", cur.UserName)
	}
	ch.EmployeeID = cur.ID
	next := *cur
	for _, name := range names {
		c, _ := columnByHeader(name)
		v := row.Values[name]
		if v == "" && (name == "active" || name == "isAdmin") {
			continue // an empty yes/no cell changes nothing
		}
		old := c.get(cur)
		if err := c.set(&next, v); err != nil {
			return ch, nil, err
		}
		if nv := c.get(&next); nv != old {
			ch.Fields = append(ch.Fields, FieldChange{Field: name, Old: old, New: nv})
		}
	}
	if len(ch.Fields) == 0 {
		ch.Kind = "unchanged"
		return ch, nil, nil
	}
	ch.Kind = "update"
	if cur.Active != next.Active {
		ch.Reactivated, ch.Deactivated = next.Active, !next.Active
		next.Active = cur.Active
		next.SetActive(!cur.Active, s.now()) // dates or clears the termination date
	}
	ch.AdminRemoved = cur.IsAdmin && !next.IsAdmin
	if err := tx.UpdateEmployee(ctx, &next); err != nil {
		return ch, nil, err
	}
	if next.ExternalID != cur.ExternalID {
		if ch.ManagerLinked, err = directory.ResolvePendingLinked(ctx, tx, co.ID, &next); err != nil {
			return ch, nil, err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "employee=%s (%s)", cur.ID, cur.UserName)
	for _, f := range ch.Fields {
		fmt.Fprintf(&b, " %s %q→%q", f.Field, f.Old, f.New)
	}
	return ch, &directory.Change{Before: cur, After: &next}, s.audit(ctx, tx, co.ID, actor, "employee.import.update", b.String())
}

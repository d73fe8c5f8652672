package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// importColumns maps a CSV header (SCIM attribute names, case-insensitive)
// to the employee field it fills.
var importColumns = map[string]func(e *directory.Employee, v string) error{
	"username":         func(e *directory.Employee, v string) error { e.UserName = v; return nil },
	"email":            func(e *directory.Employee, v string) error { e.Email = v; return nil },
	"givenname":        func(e *directory.Employee, v string) error { e.GivenName = v; return nil },
	"familyname":       func(e *directory.Employee, v string) error { e.FamilyName = v; return nil },
	"displayname":      func(e *directory.Employee, v string) error { e.DisplayName = v; return nil },
	"externalid":       func(e *directory.Employee, v string) error { e.ExternalID = v; return nil },
	"title":            func(e *directory.Employee, v string) error { e.Title = v; return nil },
	"department":       func(e *directory.Employee, v string) error { e.Department = v; return nil },
	"mobilephone":      func(e *directory.Employee, v string) error { e.MobilePhone = v; return nil },
	"workphone":        func(e *directory.Employee, v string) error { e.WorkPhone = v; return nil },
	"country":          func(e *directory.Employee, v string) error { e.Country = v; return nil },
	"dateofemployment": func(e *directory.Employee, v string) error { e.DateOfEmployment = v; return nil },
	"payrollnumber":    func(e *directory.Employee, v string) error { e.PayrollNumber = v; return nil },
	"employeenumber":   func(e *directory.Employee, v string) error { e.EmployeeNumber = v; return nil },
	"groupcompanyname": func(e *directory.Employee, v string) error { e.GroupCompanyName = v; return nil },
	"active": func(e *directory.Employee, v string) error {
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return fmt.Errorf("active %q is not true or false", v)
		}
		e.Active = b
		return nil
	},
	"isadmin": func(e *directory.Employee, v string) error {
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return fmt.Errorf("isAdmin %q is not true or false", v)
		}
		e.IsAdmin = b
		return nil
	},
}

var requiredColumns = []string{"username", "email", "givenname", "familyname"}

// parseImport reads a spreadsheet export: a header row naming the fields,
// then one employee per row. It reports every bad row at once.
func parseImport(r io.Reader) ([]directory.Employee, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	// Excel in many locales writes semicolon-separated "CSV".
	if first, _, _ := bytes.Cut(raw, []byte("\n")); bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header row: %w", err)
	}
	setters := make([]func(*directory.Employee, string) error, len(header))
	seen := map[string]bool{}
	var errs []error
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if k == "emails" || k == "mail" {
			k = "email"
		}
		f, ok := importColumns[k]
		if !ok {
			errs = append(errs, fmt.Errorf("header column %d %q is not a known field", i+1, h))
			continue
		}
		if seen[k] {
			errs = append(errs, fmt.Errorf("header column %q appears twice", h))
		}
		seen[k] = true
		setters[i] = f
	}
	for _, k := range requiredColumns {
		if !seen[k] {
			errs = append(errs, fmt.Errorf("the header row must name %s", k))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []directory.Employee
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
		e := directory.Employee{Active: true, Source: directory.SourceImport}
		for i, v := range rec {
			if i >= len(setters) {
				errs = append(errs, fmt.Errorf("line %d: more fields than the header", line))
				break
			}
			if err := setters[i](&e, strings.TrimSpace(v)); err != nil {
				errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			}
		}
		if e.UserName == "" || e.GivenName == "" || e.FamilyName == "" {
			errs = append(errs, fmt.Errorf("line %d: userName, givenName and familyName are required", line))
			continue
		}
		k := strings.ToLower(e.UserName)
		if prev, dup := users[k]; dup {
			errs = append(errs, fmt.Errorf("line %d: userName %s already on line %d", line, e.UserName, prev))
			continue
		}
		users[k] = line
		out = append(out, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// importEmployees creates or updates (by userName) every row in one
// transaction: a bad row leaves the directory unchanged. Employees managed
// by Entra provisioning are refused: Entra is their source of truth.
//
// deactivated lists the employees the import turned inactive: the caller
// revokes their sessions.
func importEmployees(ctx context.Context, st directory.Store, c *directory.Company, rows []directory.Employee) (created, updated int, deactivated []string, err error) {
	err = st.InTx(ctx, func(tx directory.Store) error {
		created, updated, deactivated = 0, 0, nil
		for i := range rows {
			row := rows[i]
			row.CompanyID = c.ID
			cur, err := tx.FindEmployeeByUserName(ctx, c.ID, row.UserName)
			switch {
			case errors.Is(err, directory.ErrNotFound):
				if err := tx.CreateEmployee(ctx, &row); err != nil {
					return fmt.Errorf("%s: %w", row.UserName, err)
				}
				created++
			case err != nil:
				return err
			case cur.EntraLinked:
				return fmt.Errorf("%s is managed by Entra provisioning; change it in Entra (or detach it first)", row.UserName)
			default:
				row.ID, row.Version, row.CreatedAt = cur.ID, cur.Version, cur.CreatedAt
				row.EntraObjectID, row.ManagerID, row.ManagerRef = cur.EntraObjectID, cur.ManagerID, cur.ManagerRef
				row.IsApprover, row.SelfApprover, row.OnlySelectedApprover = cur.IsApprover, cur.SelfApprover, cur.OnlySelectedApprover
				row.TerminationDate, row.Source, row.SCIMExtra = cur.TerminationDate, cur.Source, cur.SCIMExtra
				if cur.Active && !row.Active {
					row.TerminationDate = time.Now().UTC().Format("2006-01-02")
					deactivated = append(deactivated, cur.ID)
				}
				if err := tx.UpdateEmployee(ctx, &row); err != nil {
					return fmt.Errorf("%s: %w", row.UserName, err)
				}
				updated++
			}
		}
		return nil
	})
	return created, updated, deactivated, err
}

func (e *env) employeesCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ssogate employees import|list SLUG …")
	}
	switch args[0] {
	case "import":
		fs := e.newFlags("employees import")
		file := fs.String("file", "", "CSV file with a header row (- for stdin)")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		if *file == "" {
			return errors.New("employees import: --file is required")
		}
		var r io.Reader = e.stdin
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		rows, err := parseImport(r)
		if err != nil {
			return fmt.Errorf("import refused, nothing was changed:\n%w", err)
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			created, updated, deactivated, err := importEmployees(ctx, st, c, rows)
			if err != nil {
				return fmt.Errorf("import refused, nothing was changed: %w", err)
			}
			if len(deactivated) > 0 {
				if err := e.revokeAll(ctx, c, deactivated); err != nil {
					return fmt.Errorf("imported, but revoking the sessions of %d deactivated employees failed (revoke them in the admin console): %w", len(deactivated), err)
				}
			}
			_ = audit(ctx, st, c, "employees.import", fmt.Sprintf("created=%d updated=%d", created, updated))
			fmt.Fprintf(e.stdout, "imported %d employees into %s: %d created, %d updated\n", len(rows), slug, created, updated)
			return nil
		})
	case "list":
		fs := e.newFlags("employees list")
		search := fs.String("search", "", "name, userName or email contains")
		limit := fs.Int("limit", 100, "how many")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			list, total, err := st.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Search: *search, Limit: *limit})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSERNAME\tEMAIL\tNAME\tACTIVE\tSOURCE")
			for _, x := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s %s\t%v\t%s\n", x.ID, x.UserName, x.Email, x.GivenName, x.FamilyName, x.Active, x.Source)
			}
			fmt.Fprintf(w, "%d of %d\n", len(list), total)
			return w.Flush()
		})
	}
	return fmt.Errorf("unknown employees command %q", args[0])
}

// revokeAll ends every session and token of the given employees.
func (e *env) revokeAll(ctx context.Context, c *directory.Company, ids []string) error {
	ss, err := e.openSessions(ctx)
	if err != nil {
		return err
	}
	defer ss.Close()
	for _, id := range ids {
		if _, err := ss.RevokeEmployee(ctx, c.ID, id); err != nil {
			return err
		}
	}
	if e.cfg.RedisURL == "" {
		fmt.Fprintf(e.stderr, "note: %d employees were deactivated; SSOGATE_REDIS_URL is empty, so a running gateway's in-process sessions were not reached: revoke them in the admin console\n", len(ids))
	}
	return nil
}

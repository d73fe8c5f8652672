package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

func (e *env) employeesCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ssogate employees import|list|link SLUG …")
	}
	switch args[0] {
	case "import":
		fs := e.newFlags("employees import")
		file := fs.String("file", "", "CSV file with a header row (- for stdin)")
		dry := fs.Bool("dry-run", false, "print what would change and change nothing")
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
		im, err := admin.ParseCSV(r)
		if err != nil {
			return fmt.Errorf("import refused, nothing was changed:\n%w", err)
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			var ss session.Store
			if !*dry {
				if ss, err = e.openSessions(ctx); err != nil {
					return err
				}
				defer ss.Close()
			}
			svc := &admin.Service{Dir: st, Sessions: ss}
			res, err := svc.ImportEmployees(ctx, "cli", c, im, *dry)
			if res == nil {
				return fmt.Errorf("import refused, nothing was changed: %w", err)
			}
			printImport(e.stdout, res)
			if err != nil {
				return fmt.Errorf("imported, but (revoke the sessions in the admin console): %w", err)
			}
			if res.Deactivated > 0 && e.cfg.RedisURL == "" {
				fmt.Fprintf(e.stderr, "note: %d employees were deactivated; SSOGATE_REDIS_URL is empty, so a running gateway's in-process sessions were not reached: revoke them in the admin console\n", res.Deactivated)
			}
			verb := "imported"
			if res.DryRun {
				verb = "dry run, nothing was changed: would import"
			}
			fmt.Fprintf(e.stdout, "%s %d employees into %s: %d created, %d updated, %d unchanged\n", verb, len(im.Rows), slug, res.Created, res.Updated, res.Unchanged)
			return nil
		})
	case "link":
		fs := e.newFlags("employees link")
		id := fs.String("id", "", "the employee's id")
		user := fs.String("user", "", "the employee's userName (instead of --id)")
		oid := fs.String("object-id", "", "the Entra Object ID of the account the employee signs in with (Entra: Users → the user → Object ID)")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		if (*id == "") == (*user == "") || *oid == "" {
			return errors.New("employees link: give --object-id and one of --id or --user")
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			empID := *id
			if *user != "" {
				x, err := st.FindEmployeeByUserName(ctx, c.ID, *user)
				if err != nil {
					return fmt.Errorf("employees link: %s: %w", *user, err)
				}
				empID = x.ID
			}
			ss, err := e.openSessions(ctx)
			if err != nil {
				return err
			}
			defer ss.Close()
			svc := &admin.Service{Dir: st, Sessions: ss}
			x, err := svc.Link(ctx, admin.Actor{Name: "cli"}, c.ID, empID, *oid)
			if x == nil {
				return fmt.Errorf("employees link: %w", err)
			}
			fmt.Fprintf(e.stdout, "linked employee %s (%s) to Entra object %s: Microsoft sign-in works for that account only\n", x.ID, x.UserName, x.EntraObjectID)
			if err != nil {
				return fmt.Errorf("linked, but (revoke the sessions in the admin console): %w", err)
			}
			if e.cfg.RedisURL == "" {
				fmt.Fprint(e.stderr, "note: SSOGATE_REDIS_URL is empty, so a running gateway's in-process sessions of this employee were not reached: revoke them in the admin console\n")
			}
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

// printImport lists each created or changed employee, one line each, with
// the consequences (deactivated, reactivated, admin role removed) spelled
// out.
func printImport(w io.Writer, res *admin.ImportResult) {
	for _, ch := range res.Changes {
		switch ch.Kind {
		case "create":
			line := fmt.Sprintf("line %d: create %s", ch.Line, ch.UserName)
			if ch.ManagerLinked {
				line += " [now the manager of employees Entra provisioned with it]"
			}
			fmt.Fprintln(w, line)
		case "update":
			var parts []string
			for _, f := range ch.Fields {
				parts = append(parts, fmt.Sprintf("%s %q → %q", f.Field, f.Old, f.New))
			}
			var also []string
			if ch.Deactivated {
				also = append(also, "DEACTIVATED, signed out")
			}
			if ch.Reactivated {
				also = append(also, "REACTIVATED")
			}
			if ch.AdminRemoved {
				also = append(also, "ADMIN ROLE REMOVED")
			}
			if ch.ManagerLinked {
				also = append(also, "now the manager of employees Entra provisioned with it")
			}
			line := fmt.Sprintf("line %d: update %s: %s", ch.Line, ch.UserName, strings.Join(parts, ", "))
			if len(also) > 0 {
				line += " [" + strings.Join(also, "; ") + "]"
			}
			fmt.Fprintln(w, line)
		}
	}
}

package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// Employees pages: search and filter, edit sign-in name and email, roles
// and approval settings, activate/deactivate, detach from Entra, local
// password, sessions.

const employeesPerPage = 50

type employeeRow struct {
	ID, Name, UserName, Email, Department, Title string
	Active, Deleted, Admin, Approver             bool
	Managed                                      string // "Entra", "Local", "Import"
}

// managedBy says who manages an employee's record.
func managedBy(e *directory.Employee) string {
	switch {
	case e.EntraLinked:
		return "Entra"
	case e.Source == directory.SourceLocal:
		return "Local"
	default:
		return "Import"
	}
}

func rowOf(e *directory.Employee) employeeRow {
	return employeeRow{ID: e.ID, Name: e.DisplayedName(), UserName: e.UserName, Email: e.Email, Department: e.Department,
		Title: e.Title, Active: e.Active, Deleted: !e.Visible(), Admin: e.IsAdmin, Approver: e.IsApprover, Managed: managedBy(e)}
}

type employeesView struct {
	Rows                []employeeRow
	Query, Status       string
	Total               int
	From, To            int
	PrevURL, NextURL    string
	ActiveN, InactiveN  int
	AllURL, ActiveURL   string
	InactiveURL         string
	ShowingAll, Showing string
}

// adminEmployeesPage: GET /admin/employees?q=…&status=active|inactive|all&page=N.
func (s *Console) adminEmployeesPage(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	co := ac.t.Company
	v := &employeesView{Query: strings.TrimSpace(c.QueryParam("q")), Status: c.QueryParam("status")}
	if len(v.Query) > 200 {
		v.Query = v.Query[:200]
	}
	q := directory.EmployeeQuery{CompanyID: co.ID, Search: v.Query, Limit: employeesPerPage}
	yes, no := true, false
	switch v.Status {
	case "inactive":
		q.Active = &no
	case "all":
	default:
		v.Status = "active"
		q.Active = &yes
	}
	page, _ := strconv.Atoi(c.QueryParam("page"))
	if page < 1 || page > 100000 {
		page = 1
	}
	q.Offset = (page - 1) * employeesPerPage
	rows, total, err := s.dir.ListEmployees(ctx, q)
	if err != nil {
		return fmt.Errorf("list employees: %w", err)
	}
	for i := range rows {
		v.Rows = append(v.Rows, rowOf(&rows[i]))
	}
	v.Total = total
	if len(rows) > 0 {
		v.From, v.To = q.Offset+1, q.Offset+len(rows)
	}
	for _, st := range []struct {
		active bool
		n      *int
	}{{true, &v.ActiveN}, {false, &v.InactiveN}} {
		a := st.active
		_, n, err := s.dir.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: co.ID, Search: v.Query, Active: &a})
		if err != nil {
			return fmt.Errorf("count employees: %w", err)
		}
		*st.n = n
	}
	link := func(status string, page int) string {
		u := url.Values{}
		if v.Query != "" {
			u.Set("q", v.Query)
		}
		u.Set("status", status)
		if page > 1 {
			u.Set("page", strconv.Itoa(page))
		}
		return ac.base() + "/employees?" + u.Encode()
	}
	v.AllURL, v.ActiveURL, v.InactiveURL = link("all", 1), link("active", 1), link("inactive", 1)
	if page > 1 {
		v.PrevURL = link(v.Status, page-1)
	}
	if q.Offset+len(rows) < total {
		v.NextURL = link(v.Status, page+1)
	}
	return s.adminPage(c, http.StatusOK, "admin_employees.html", "Employees", "employees", v, "")
}

type sessionRow struct {
	ID, Kind, Via, Created, LastSeen, LastSeenAgo, Expires, IP, UserAgent string
}

type approverRow struct {
	ID, Name, UserName, Kind string
}

type adminEmployeeView struct {
	E           *directory.Employee
	Row         employeeRow
	Fields      [][2]string
	Departments []string
	Approvers   []approverRow
	Manager     *employeeRow
	Sessions    []sessionRow
	HasPassword bool
	CanActivate bool
	CanDeact    bool
	CanDetach   bool
	CanPassword bool
	CanLink     bool
	IsSelf      bool
	LoginURL    string
	Form        struct{ UserName, Email string }
}

// employeeOf loads the employee of the URL, of the admin's company only.
func (s *Console) employeeOf(c echo.Context) (*directory.Employee, error) {
	ac := adminOf(c)
	id := c.Param("id")
	if id == "" || len(id) > 100 {
		return nil, httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "There is no such employee.", "", nil)
	}
	e, err := s.dir.GetEmployee(c.Request().Context(), ac.t.Company.ID, id)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "There is no such employee in "+ac.t.Company.Name+".", "", err)
	}
	if err != nil {
		return nil, fmt.Errorf("load employee: %w", err)
	}
	return e, nil
}

func (s *Console) employeeViewOf(ctx context.Context, ac *adminCtx, e *directory.Employee) (*adminEmployeeView, error) {
	co := ac.t.Company
	v := &adminEmployeeView{E: e, Row: rowOf(e), LoginURL: s.companyURL(co.Slug, "/login?method=password")}
	v.Form.UserName, v.Form.Email = e.UserName, e.Email
	add := func(k, val string) {
		if val != "" {
			v.Fields = append(v.Fields, [2]string{k, val})
		}
	}
	add("Employee id", e.ID)
	add("Display name", e.DisplayName)
	add("Job title", e.Title)
	add("Department", e.Department)
	add("Mobile", e.MobilePhone)
	add("Phone (work)", e.WorkPhone)
	add("Country", e.Country)
	add("Employment date", e.DateOfEmployment)
	add("Payroll number", e.PayrollNumber)
	add("Employee number", e.EmployeeNumber)
	add("Subsidiary", e.GroupCompanyName)
	add("Termination date", e.TerminationDate)
	add("Entra object id", e.EntraObjectID)
	add("Entra externalId", e.ExternalID)
	add("Created", fmtTime(e.CreatedAt))
	add("Updated", fmtTime(e.UpdatedAt))
	if e.ManagerID != "" {
		m, err := s.dir.GetEmployee(ctx, co.ID, e.ManagerID)
		if err == nil {
			r := rowOf(m)
			v.Manager = &r
		} else if !errors.Is(err, directory.ErrNotFound) {
			return nil, err
		}
	} else if e.ManagerRef != "" {
		add("Manager (not provisioned yet)", e.ManagerRef)
	}
	deps, err := s.dir.ListApproverDepartments(ctx, co.ID, e.ID)
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	v.Departments = deps
	if e.Visible() {
		aps, err := directory.Approvers(ctx, s.dir, co.ID, e.ID)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return nil, fmt.Errorf("approvers: %w", err)
		}
		for _, a := range aps {
			v.Approvers = append(v.Approvers, approverRow{ID: a.EmployeeID, Name: a.DisplayName, UserName: a.UserName, Kind: string(a.Kind)})
		}
	}
	sessions, err := s.sessions.ListEmployee(ctx, co.ID, e.ID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].CreatedAt.After(sessions[j].CreatedAt) })
	now := s.now()
	for _, ss := range sessions {
		v.Sessions = append(v.Sessions, sessionRow{ID: ss.ID, Kind: string(ss.Kind), Via: ss.Via, Created: fmtTime(ss.CreatedAt),
			LastSeen: fmtTime(ss.LastSeen), LastSeenAgo: ago(now, ss.LastSeen), Expires: fmtTime(ss.Expiry()), IP: ss.RemoteIP,
			UserAgent: httpx.Truncate(ss.UserAgent, 80)})
	}
	hash, err := s.dir.GetEmployeePassword(ctx, co.ID, e.ID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return nil, fmt.Errorf("load password: %w", err)
	}
	v.HasPassword = hash != ""
	v.CanActivate = e.Visible() && !e.Active && !e.EntraLinked
	v.CanDeact = e.Visible() && e.Active && !e.EntraLinked
	v.CanDetach = e.Visible() && (e.EntraLinked || e.Source != directory.SourceLocal)
	v.CanPassword = e.Visible() && !e.EntraLinked && e.Source == directory.SourceLocal
	v.CanLink = e.Visible()
	v.IsSelf = ac.sess.EmployeeID == e.ID
	return v, nil
}

func (s *Console) employeePage(c echo.Context, status int, e *directory.Employee, errMsg string, form func(v *adminEmployeeView)) error {
	ac := adminOf(c)
	v, err := s.employeeViewOf(c.Request().Context(), ac, e)
	if err != nil {
		return err
	}
	if form != nil {
		form(v)
	}
	return s.adminPage(c, status, "admin_employee.html", e.DisplayedName(), "employees", v, errMsg)
}

// adminEmployeePage: GET /admin/employees/{id}.
func (s *Console) adminEmployeePage(c echo.Context) error {
	e, err := s.employeeOf(c)
	if err != nil {
		return err
	}
	return s.employeePage(c, http.StatusOK, e, "", nil)
}

func (s *Console) employeeURL(c echo.Context, e *directory.Employee) string {
	return adminOf(c).base() + "/employees/" + url.PathEscape(e.ID)
}

func (s *Console) employeeResult(c echo.Context, e *directory.Employee, err error, code string, form func(v *adminEmployeeView)) error {
	ar, refused := usererr.As(err)
	var ce *directory.ConflictError
	switch {
	case err == nil:
		return done(c, s.employeeURL(c, e), code)
	case refused && ar.Kind() == usererr.Invalid:
		return s.employeePage(c, http.StatusUnprocessableEntity, e, ar.Message(), form)
	case refused:
		return s.employeePage(c, http.StatusConflict, e, ar.Message(), form)
	case errors.Is(err, admin.ErrAfterCommit):
		s.log.Error("employee change saved, follow-up failed", "employee", e.ID, "action", code, "err", err)
		return s.employeePage(c, http.StatusServiceUnavailable, e,
			"The change was saved, but ending the employee's sessions failed. Use Revoke all sessions below.", form)
	case errors.As(err, &ce):
		what := map[string]string{"userName": "sign-in name", "email": "work email", "entraObjectId": "Entra object id"}[ce.Field]
		return s.employeePage(c, http.StatusConflict, e, "Another employee already has this "+firstNonEmpty(what, ce.Field)+".", form)
	case errors.Is(err, directory.ErrInvalid):
		return s.employeePage(c, http.StatusUnprocessableEntity, e, "The change was refused: "+strings.TrimPrefix(err.Error(), "directory: invalid: "), form)
	}
	return err
}

// adminEmployeeIdentity: POST /admin/employees/{id}/identity (sign-in name
// and work email, after an e-mail or domain change).
func (s *Console) adminEmployeeIdentity(c echo.Context) error {
	ac := adminOf(c)
	e, err := s.employeeOf(c)
	if err != nil {
		return err
	}
	userName := strings.TrimSpace(c.FormValue("username"))
	email := strings.TrimSpace(c.FormValue("email"))
	form := func(v *adminEmployeeView) { v.Form.UserName, v.Form.Email = userName, email }
	if userName == e.UserName && email == e.Email && e.Visible() {
		return done(c, s.employeeURL(c, e), "identity")
	}
	_, err = s.admin.SetIdentity(c.Request().Context(), ac.who(), ac.t.Company.ID, e.ID, userName, email)
	return s.employeeResult(c, e, err, "identity", form)
}

// adminEmployeeRoles: POST /admin/employees/{id}/roles (setup admin role,
// self-approver, only the selected approver).
func (s *Console) adminEmployeeRoles(c echo.Context) error {
	roles := admin.Roles{Admin: c.FormValue("admin") == "on", SelfApprover: c.FormValue("self_approver") == "on",
		OnlySelectedApprover: c.FormValue("only_selected") == "on"}
	return s.employeeOp(c, "roles", func(ctx context.Context, a admin.Actor, companyID int64, id string) (*directory.Employee, error) {
		return s.admin.SetRoles(ctx, a, companyID, id, roles)
	})
}

// adminEmployeeDepartmentAdd: POST /admin/employees/{id}/departments
// (department=…): the employee approves for that department (added by
// hand, never touched by sync).
func (s *Console) adminEmployeeDepartmentAdd(c echo.Context) error {
	return s.employeeDepartment(c, s.admin.AddDepartmentApprover, "department-added")
}

// adminEmployeeDepartmentRemove: POST /admin/employees/{id}/departments/remove.
func (s *Console) adminEmployeeDepartmentRemove(c echo.Context) error {
	return s.employeeDepartment(c, s.admin.RemoveDepartmentApprover, "department-gone")
}

// employeeDepartment runs a department approver operation of admin.Service
// (validation, refusals and audit are its) with the form's department.
func (s *Console) employeeDepartment(c echo.Context, op func(ctx context.Context, a admin.Actor, companyID int64, id, department string) (*directory.Employee, error), code string) error {
	department := c.FormValue("department")
	return s.employeeOp(c, code, func(ctx context.Context, a admin.Actor, companyID int64, id string) (*directory.Employee, error) {
		return op(ctx, a, companyID, id, department)
	})
}

// employeeOp runs an employee operation of admin.Service (its rules,
// refusals, audit entry and what follows, such as ending sessions and
// dropping the employee from web's cache) on the employee of the URL and
// shows the result.
func (s *Console) employeeOp(c echo.Context, code string, op func(ctx context.Context, a admin.Actor, companyID int64, id string) (*directory.Employee, error)) error {
	ac := adminOf(c)
	e, err := s.employeeOf(c)
	if err != nil {
		return err
	}
	_, err = op(c.Request().Context(), ac.who(), ac.t.Company.ID, e.ID)
	return s.employeeResult(c, e, err, code, nil)
}

// adminEmployeeActivate: POST /admin/employees/{id}/activate. Only for
// employees Entra does not manage (Entra would undo it): detach first.
func (s *Console) adminEmployeeActivate(c echo.Context) error {
	return s.employeeOp(c, "activated", s.admin.Activate)
}

// adminEmployeeDeactivate: POST /admin/employees/{id}/deactivate (local
// employees only): inactive, termination date today, signed out at once.
func (s *Console) adminEmployeeDeactivate(c echo.Context) error {
	return s.employeeOp(c, "deactivated", s.admin.Deactivate)
}

// adminEmployeeDetachPage: GET /admin/employees/{id}/detach — the
// confirmation that says what changes.
func (s *Console) adminEmployeeDetachPage(c echo.Context) error {
	ac := adminOf(c)
	e, err := s.employeeOf(c)
	if err != nil {
		return err
	}
	v, err := s.employeeViewOf(c.Request().Context(), ac, e)
	if err != nil {
		return err
	}
	if !v.CanDetach {
		return s.employeePage(c, http.StatusConflict, e, "This employee is already managed locally (or was deleted by Entra).", nil)
	}
	return s.adminPage(c, http.StatusOK, "admin_detach.html", "Detach "+e.DisplayedName()+" from Entra", "employees", v, "")
}

// adminEmployeeDetach: POST /admin/employees/{id}/detach. The employee
// becomes Source local, EntraLinked false: SCIM can no longer change,
// deactivate or delete them, and the Entra object id binding is removed.
// Without confirm=yes it shows the confirmation.
func (s *Console) adminEmployeeDetach(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		e, err := s.employeeOf(c)
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, s.employeeURL(c, e)+"/detach")
	}
	return s.employeeOp(c, "detached", s.admin.Detach)
}

// adminEmployeeLink: POST /admin/employees/{id}/link — binds the employee
// to the Entra account the admin names by its object id (admin.Link): the
// only way a detached employee signs in with Microsoft again.
func (s *Console) adminEmployeeLink(c echo.Context) error {
	objectID := c.FormValue("object_id")
	return s.employeeOp(c, "linked", func(ctx context.Context, a admin.Actor, companyID int64, id string) (*directory.Employee, error) {
		return s.admin.Link(ctx, a, companyID, id, objectID)
	})
}

// adminEmployeePassword: POST /admin/employees/{id}/password — a local
// password for an employee detached from Entra (argon2id, never shown;
// admin.SetLocalPassword refuses anyone else).
func (s *Console) adminEmployeePassword(c echo.Context) error {
	ac := adminOf(c)
	e, err := s.employeeOf(c)
	if err != nil {
		return err
	}
	pw, again := c.FormValue("password"), c.FormValue("password2")
	if pw != again {
		return s.employeePage(c, http.StatusUnprocessableEntity, e, "The two passwords differ.", nil)
	}
	if err := password.Check(pw); err != nil {
		return s.employeePage(c, http.StatusUnprocessableEntity, e, "Password refused: "+err.Error()+".", nil)
	}
	hash, err := s.passwords.Hash(pw)
	if errors.Is(err, password.ErrBusy) {
		httpx.SetRetryAfter(c.Response(), httpx.BusyRetry)
		return s.employeePage(c, httpx.BusyStatus, e, httpx.BusyMessage, nil)
	}
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.admin.SetLocalPassword(c.Request().Context(), ac.who(), ac.t.Company.ID, e.ID, hash)
	return s.employeeResult(c, e, err, "password", nil)
}

// adminEmployeeRevokeSessions: POST /admin/employees/{id}/sessions/revoke.
func (s *Console) adminEmployeeRevokeSessions(c echo.Context) error {
	return s.endSessions(c, "sessions-revoked", func(ctx context.Context, a admin.Actor, companyID int64, id string) error {
		_, err := s.admin.EndSessions(ctx, a, companyID, id)
		return err
	})
}

// adminEmployeeRevokeSession: POST /admin/employees/{id}/sessions/{sid}/revoke
// revokes one session, which must be one of this employee's.
func (s *Console) adminEmployeeRevokeSession(c echo.Context) error {
	return s.endSessions(c, "session-revoked", func(ctx context.Context, a admin.Actor, companyID int64, id string) error {
		return s.admin.EndSession(ctx, a, companyID, id, c.Param("sid"))
	})
}

// endSessions runs a revocation of the service for the employee in the
// URL. The sessions ended even if the audit entry then failed (logged).
func (s *Console) endSessions(c echo.Context, code string, op func(ctx context.Context, a admin.Actor, companyID int64, id string) error) error {
	ac := adminOf(c)
	e, err := s.employeeOf(c)
	if err != nil {
		return err
	}
	err = op(c.Request().Context(), ac.who(), ac.t.Company.ID, e.ID)
	if ue, ok := usererr.As(err); ok && ue.Kind() == usererr.NotFound {
		return s.employeePage(c, http.StatusNotFound, e, ue.Message(), nil)
	}
	if errors.Is(err, admin.ErrAfterCommit) {
		s.log.Error("sessions ended, audit entry failed", "employee", e.ID, "err", err)
		err = nil
	}
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return done(c, s.employeeURL(c, e), code)
}

package scim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ssogate/ssogate/sso/directory"
)

const (
	defaultCount = 100
	maxCount     = 1000
)

type request struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	c    *directory.Company
	base string
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// fail writes a SCIM error, logging the cause of server errors.
func (rq *request) fail(e *Error) {
	if e.Status >= 500 {
		rq.h.log.ErrorContext(rq.ctx(), "scim: request failed", "company", rq.c.ID,
			"method", rq.r.Method, "status", e.Status, "err", e.cause)
	}
	writeError(rq.w, e)
}

func (rq *request) projection() (*projection, *Error) {
	q := rq.r.URL.Query()
	return parseProjection(queryParam(q, "attributes"), queryParam(q, "excludedAttributes"))
}

// queryParam reads a query parameter by case-insensitive name.
func queryParam(q map[string][]string, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (rq *request) writeResource(status int, e *directory.Employee) {
	p, perr := rq.projection()
	if perr != nil {
		p = nil
	}
	out := p.apply(output(e, rq.base))
	if status == http.StatusCreated {
		rq.w.Header().Set("Location", rq.base+"/Users/"+e.ID)
	}
	rq.w.Header().Set("ETag", `W/"`+itoa(e.Version)+`"`)
	writeJSON(rq.w, status, out)
}

// --- reads ---------------------------------------------------------------

func (rq *request) get(id string) {
	e, err := rq.h.st.GetEmployee(rq.ctx(), rq.c.ID, id)
	if err != nil {
		rq.fail(storeError(err))
		return
	}
	if !e.Visible() {
		rq.fail(errNotFoundResource)
		return
	}
	if _, perr := rq.projection(); perr != nil {
		rq.fail(perr)
		return
	}
	rq.writeResource(http.StatusOK, e)
}

func parseIndex(q map[string][]string) (start, count int, e *Error) {
	start, count = 1, -1
	if s := queryParam(q, "startIndex"); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, 0, badValue("startIndex must be an integer")
		}
		start = max(n, 1)
	}
	if s := queryParam(q, "count"); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, 0, badValue("count must be an integer")
		}
		count = min(max(n, 0), maxCount)
	}
	return start, count, nil
}

func (rq *request) list() {
	q := rq.r.URL.Query()
	start, count, perr := parseIndex(q)
	if perr != nil {
		rq.fail(perr)
		return
	}
	proj, perr := rq.projection()
	if perr != nil {
		rq.fail(perr)
		return
	}
	var (
		rows  []*directory.Employee
		total int
	)
	if f := queryParam(q, "filter"); strings.TrimSpace(f) != "" {
		expr, ferr := parseFilter(f)
		if ferr != nil {
			rq.fail(ferr)
			return
		}
		cands, ok, err := lookup(rq.ctx(), rq.h.st, rq.c.ID, expr)
		if err != nil {
			rq.fail(storeError(err))
			return
		}
		if !ok {
			rq.fail(badFilter("this filter needs an indexed attribute: use eq on userName, externalId, id or emails[type eq \"work\"].value (combined with and)"))
			return
		}
		var matched []*directory.Employee
		for _, e := range sortEmployees(cands) {
			if evalResource(render(e), expr) {
				matched = append(matched, e)
			}
		}
		total = len(matched)
		if count < 0 {
			count = maxCount
		}
		if start-1 < len(matched) {
			rows = matched[start-1 : min(len(matched), start-1+count)]
		}
	} else {
		if count < 0 {
			count = defaultCount
		}
		page, n, err := rq.h.st.ListEmployees(rq.ctx(), directory.EmployeeQuery{
			CompanyID: rq.c.ID, Offset: start - 1, Limit: count})
		if err != nil {
			rq.fail(storeError(err))
			return
		}
		total = n
		for i := range page {
			rows = append(rows, &page[i])
		}
	}
	res := make([]map[string]any, 0, len(rows))
	for _, e := range rows {
		res = append(res, proj.apply(output(e, rq.base)))
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{
		"schemas":      []string{urnListResponse},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(res),
		"Resources":    res,
	})
}

// --- body ------------------------------------------------------------------

// readBody checks the media type and size and returns the body.
func (rq *request) readBody() ([]byte, *Error) {
	ct := rq.r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/scim+json" && mt != "application/json") {
		return nil, errf(http.StatusUnsupportedMediaType, "", "send Content-Type application/scim+json (or application/json)")
	}
	tooBig := errf(http.StatusRequestEntityTooLarge, "", "request body larger than %d bytes", rq.h.maxBody)
	if rq.r.ContentLength > rq.h.maxBody {
		return nil, tooBig
	}
	b, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, rq.h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooBig
		}
		return nil, badSyntax("cannot read the request body")
	}
	return b, nil
}

// parseResource decodes a POST/PUT body into a canonical resource. The
// custom extension is read even when its URN is not in "schemas".
func parseResource(body []byte) (doc, *Error) {
	var obj map[string]any
	if err := decodeJSON(body, &obj); err != nil || obj == nil {
		return nil, badSyntax("the body is not a JSON object")
	}
	d := doc{}
	if err := applyObject(d, obj, "replace"); err != nil {
		return nil, err
	}
	pruneEntries(d)
	return d, nil
}

// --- writes ------------------------------------------------------------------

// outcome is what a write did, for the log and the after-commit work.
type outcome struct {
	op       string
	emp      *directory.Employee
	change   map[string]any
	after    []directory.Aftermath // for the Settler, once committed
	status   int
	userName string
}

// isDetached: managed locally after an admin detached it from Entra.
func isDetached(e *directory.Employee) bool {
	return !e.EntraLinked && e.Source != directory.SourceImport
}

func unlinkedImport(e *directory.Employee) bool {
	return !e.EntraLinked && e.Source == directory.SourceImport
}

var errDetached = errf(http.StatusConflict, typeMutability,
	"this employee was detached from Entra by a setup admin and is managed locally; SCIM cannot change it (unassign the user in Entra, or ask the admin to re-link it)")

// write runs fn in one transaction, logs the outcome (success inside the
// transaction, failure best-effort afterwards), settles what follows after
// the commit (ending sessions: the Settler), and answers.
func (rq *request) write(op, employeeID, userName string, fn func(tx directory.Store) (*outcome, *Error)) {
	var out *outcome
	err := rq.h.st.InTx(rq.ctx(), func(tx directory.Store) error {
		o, se := fn(tx)
		if se != nil {
			return se
		}
		out = o
		id := ""
		if o.emp != nil {
			id = o.emp.ID
		}
		return tx.AppendProvisioning(rq.ctx(), &directory.ProvisioningEntry{
			CompanyID: rq.c.ID, At: rq.h.now().UTC(), Operation: o.op, EmployeeID: id,
			UserName: o.userName, Outcome: "ok", Status: o.status, Change: changeJSON(o.change),
		})
	})
	if err != nil {
		se := storeError(err)
		outc := se.SCIMType
		if outc == "" {
			outc = "error"
		}
		entry := &directory.ProvisioningEntry{
			CompanyID: rq.c.ID, At: rq.h.now().UTC(), Operation: op, EmployeeID: employeeID,
			UserName: truncate(userName, 200), Outcome: outc, Status: se.Status,
			Change: changeJSON(map[string]any{"detail": se.Detail}),
		}
		rq.logAfter(entry)
		rq.fail(se)
		return
	}
	if rq.h.settler != nil && len(out.after) > 0 {
		if err := rq.h.settler.Settle(context.WithoutCancel(rq.ctx()), rq.c.ID, out.after...); err != nil {
			// The write stands (Entra gets its answer); the admin sees in
			// the provisioning log that sessions may outlive it. The
			// session check refuses an inactive employee anyway, here at
			// once and on other instances within SSOGATE_SETTINGS_TTL.
			rq.h.log.ErrorContext(rq.ctx(), "scim: ending sessions after the write failed", "company", rq.c.ID,
				"employee", out.emp.ID, "err", err)
			entry := &directory.ProvisioningEntry{
				CompanyID: rq.c.ID, At: rq.h.now().UTC(), Operation: out.op, EmployeeID: out.emp.ID, UserName: out.userName,
				Outcome: "sessions_not_ended", Status: out.status,
				Change: changeJSON(map[string]any{"detail": "saved, but ending the employee's sessions failed; revoke them in the console (Employees → the employee → Revoke all sessions)"}),
			}
			rq.logAfter(entry)
		}
	}
	if out.status == http.StatusNoContent {
		rq.w.WriteHeader(http.StatusNoContent)
		return
	}
	rq.writeResource(out.status, out.emp)
}

// logAfter appends a provisioning log entry outside the request's
// transaction, best effort: it outlives a cancelled request (the store
// bounds the statement), and a failure is only logged.
func (rq *request) logAfter(entry *directory.ProvisioningEntry) {
	if err := rq.h.st.AppendProvisioning(context.WithoutCancel(rq.ctx()), entry); err != nil {
		rq.h.log.WarnContext(rq.ctx(), "scim: provisioning log", "company", rq.c.ID, "err", err)
	}
}

func changeJSON(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// applyFields writes the SCIM-owned columns of f onto e (local settings
// such as SelfApprover, OnlySelectedApprover and IsAdmin are never touched)
// and returns the normalised change.
func (rq *request) applyFields(tx directory.Store, e *directory.Employee, f *fields) (map[string]any, *Error) {
	change := map[string]any{}
	for _, name := range fieldNames {
		old, nw := name.col(e), name.col(&f.emp)
		if *old != *nw {
			change[name.name] = map[string]string{"from": *old, "to": *nw}
			*old = *nw
		}
	}
	if string(e.SCIMExtra) != string(f.residual) {
		change["additionalAttributes"] = true
		e.SCIMExtra = f.residual
	}
	if f.active != nil && *f.active != e.Active {
		change["active"] = map[string]bool{"from": e.Active, "to": *f.active}
		e.SetActive(*f.active, rq.h.now())
	}
	if f.manager != managerRef(e) {
		mid, pending, err := directory.ResolveManager(rq.ctx(), tx, rq.c.ID, e.ID, f.manager)
		if err != nil {
			if errors.Is(err, directory.ErrInvalid) {
				return nil, badValue("manager refused: %s", invalidDetail(err))
			}
			return nil, storeError(err)
		}
		change["manager"] = map[string]string{"from": managerRef(e), "to": f.manager}
		e.ManagerID, e.ManagerRef = mid, pending
	}
	return change, nil
}

type fieldName struct {
	name string
	col  func(e *directory.Employee) *string
}

var fieldNames = []fieldName{
	{"userName", func(e *directory.Employee) *string { return &e.UserName }},
	{"externalId", func(e *directory.Employee) *string { return &e.ExternalID }},
	{"displayName", func(e *directory.Employee) *string { return &e.DisplayName }},
	{"title", func(e *directory.Employee) *string { return &e.Title }},
	{"givenName", func(e *directory.Employee) *string { return &e.GivenName }},
	{"familyName", func(e *directory.Employee) *string { return &e.FamilyName }},
	{"email", func(e *directory.Employee) *string { return &e.Email }},
	{"mobilePhone", func(e *directory.Employee) *string { return &e.MobilePhone }},
	{"workPhone", func(e *directory.Employee) *string { return &e.WorkPhone }},
	{"country", func(e *directory.Employee) *string { return &e.Country }},
	{"department", func(e *directory.Employee) *string { return &e.Department }},
	{"employeeNumber", func(e *directory.Employee) *string { return &e.EmployeeNumber }},
	{"dateOfEmployment", func(e *directory.Employee) *string { return &e.DateOfEmployment }},
	{"payrollNumber", func(e *directory.Employee) *string { return &e.PayrollNumber }},
	{"groupCompanyName", func(e *directory.Employee) *string { return &e.GroupCompanyName }},
}

// finish writes e (when changed) and what follows from the change in the
// directory (directory.Settle: approver roles, the same rule as the
// console's), and returns what must follow once the transaction commits.
// e is then as stored: the write fills Version and the times, Settle reads
// it again when it rewrote it, and stale says something else in the
// transaction did (e is read again).
func (rq *request) finish(tx directory.Store, e *directory.Employee, before *directory.Employee, changed, stale bool) ([]directory.Aftermath, *Error) {
	ctx := rq.ctx()
	if changed {
		if err := tx.UpdateEmployee(ctx, e); err != nil {
			return nil, storeError(err)
		}
	}
	fx, err := directory.Settle(ctx, tx, rq.c.ID, directory.Change{Before: before, After: e})
	if err != nil {
		return nil, storeError(err)
	}
	if stale {
		fresh, err := tx.GetEmployee(ctx, rq.c.ID, e.ID)
		if err != nil {
			return nil, storeError(err)
		}
		*e = *fresh
	}
	return fx, nil
}

func (rq *request) create() {
	body, perr := rq.readBody()
	if perr != nil {
		rq.logRejected("create", "", perr)
		return
	}
	d, perr := parseResource(body)
	if perr != nil {
		rq.logRejected("create", "", perr)
		return
	}
	f, perr := extract(d)
	if perr == nil {
		perr = f.validate()
	}
	if perr != nil {
		rq.logRejected("create", f.emp.UserName, perr)
		return
	}
	if f.active == nil {
		t := true // RFC 7643: a new user is active unless told otherwise
		f.active = &t
	}
	rq.write("create", "", f.emp.UserName, func(tx directory.Store) (*outcome, *Error) {
		ctx := rq.ctx()
		existing, byEmail, err := tx.FindEmployeeByUserNameOrEmail(ctx, rq.c.ID, f.emp.UserName, f.emp.Email)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return nil, storeError(err)
		}
		field := "userName"
		if existing == nil && byEmail != nil {
			existing, field = byEmail, "email"
		}
		if existing != nil {
			if !unlinkedImport(existing) {
				if isDetached(existing) {
					return nil, errf(http.StatusConflict, typeUniqueness,
						"the %s belongs to an employee a setup admin detached from Entra; it is managed locally", field)
				}
				return nil, &Error{Status: http.StatusConflict, SCIMType: typeUniqueness, Detail: conflictDetail(field)}
			}
			// Link the spreadsheet-imported employee: same id, updated from Entra.
			before := *existing
			e := existing
			change, se := rq.applyFields(tx, e, &f)
			if se != nil {
				return nil, se
			}
			e.Source, e.EntraLinked = directory.SourceSCIM, true
			change["linked"] = true
			fx, se := rq.finish(tx, e, &before, true, false)
			if se != nil {
				return nil, se
			}
			linked, err := directory.ResolvePendingLinked(ctx, tx, rq.c.ID, e)
			if err != nil {
				return nil, storeError(err)
			}
			fresh := e
			if linked {
				if fresh, err = tx.GetEmployee(ctx, rq.c.ID, e.ID); err != nil {
					return nil, storeError(err)
				}
			}
			if !fresh.Active {
				fx[0].EndSessions = true // an inactive record Entra takes over keeps no session
			}
			return &outcome{op: "link", emp: fresh, change: change, after: fx,
				status: http.StatusCreated, userName: fresh.UserName}, nil
		}
		e := &directory.Employee{CompanyID: rq.c.ID, Source: directory.SourceSCIM, EntraLinked: true, Active: true}
		change, se := rq.applyFields(tx, e, &f)
		if se != nil {
			return nil, se
		}
		if err := tx.CreateEmployee(ctx, e); err != nil {
			return nil, storeError(err)
		}
		linked, err := directory.ResolvePendingLinked(ctx, tx, rq.c.ID, e)
		if err != nil {
			return nil, storeError(err)
		}
		fx, se := rq.finish(tx, e, nil, false, linked)
		if se != nil {
			return nil, se
		}
		return &outcome{op: "create", emp: e, change: change, after: fx, status: http.StatusCreated, userName: e.UserName}, nil
	})
}

// logRejected answers a request refused before any transaction and logs it.
func (rq *request) logRejected(op, userName string, e *Error) {
	outc := e.SCIMType
	if outc == "" {
		outc = "error"
	}
	entry := &directory.ProvisioningEntry{
		CompanyID: rq.c.ID, At: rq.h.now().UTC(), Operation: op, UserName: truncate(userName, 200),
		Outcome: outc, Status: e.Status, Change: changeJSON(map[string]any{"detail": e.Detail}),
	}
	rq.logAfter(entry)
	rq.fail(e)
}

// managed loads an employee SCIM may change: visible (not hard-deleted)
// and not detached from Entra.
func (rq *request) managed(tx directory.Store, id string) (*directory.Employee, *Error) {
	e, err := tx.GetEmployee(rq.ctx(), rq.c.ID, id)
	switch {
	case err != nil:
		return nil, storeError(err)
	case !e.Visible():
		return nil, errNotFoundResource
	case isDetached(e):
		return nil, errDetached
	}
	return e, nil
}

// modify is PATCH and PUT: load, change the canonical resource, store.
func (rq *request) modify(id, op string, mutate func(cur doc) (doc, *Error)) {
	rq.write(op, id, "", func(tx directory.Store) (*outcome, *Error) {
		e, se := rq.managed(tx, id)
		if se != nil {
			return nil, se
		}
		before := *e
		d, se := mutate(render(e))
		if se != nil {
			return nil, se
		}
		f, se := extract(d)
		if se != nil {
			return nil, se
		}
		if se := f.validate(); se != nil {
			return nil, se
		}
		change, se := rq.applyFields(tx, e, &f)
		if se != nil {
			return nil, se
		}
		if unlinkedImport(e) {
			e.Source, e.EntraLinked = directory.SourceSCIM, true
			change["linked"] = true
		}
		opName := "update"
		if a, ok := change["active"].(map[string]bool); ok {
			if a["to"] {
				opName = "reactivate"
			} else {
				opName = "deactivate"
			}
		}
		fx, se := rq.finish(tx, e, &before, len(change) > 0, false)
		if se != nil {
			return nil, se
		}
		return &outcome{op: opName, emp: e, change: change, after: fx, status: http.StatusOK, userName: e.UserName}, nil
	})
}

func (rq *request) patch(id string) {
	body, perr := rq.readBody()
	if perr != nil {
		rq.logRejected("update", "", perr)
		return
	}
	ops, perr := parsePatch(body)
	if perr != nil {
		rq.logRejected("update", "", perr)
		return
	}
	rq.modify(id, "update", func(cur doc) (doc, *Error) {
		if err := applyPatch(cur, ops); err != nil {
			return nil, err
		}
		return cur, nil
	})
}

// put replaces the resource. active, when absent, keeps its current value
// (a PUT without it never reactivates or suspends anyone).
func (rq *request) put(id string) {
	body, perr := rq.readBody()
	if perr != nil {
		rq.logRejected("replace", "", perr)
		return
	}
	nd, perr := parseResource(body)
	if perr != nil {
		rq.logRejected("replace", "", perr)
		return
	}
	rq.modify(id, "replace", func(cur doc) (doc, *Error) {
		if _, ok := nd["active"]; !ok {
			nd["active"] = cur["active"]
		}
		return nd, nil
	})
}

// delete is Entra's hard delete: inactive, termination date (kept when
// already set by an earlier suspension), detached from SCIM (404 from now
// on), userName and email released, the record kept as history.
func (rq *request) delete(id string) {
	rq.write("delete", id, "", func(tx directory.Store) (*outcome, *Error) {
		e, se := rq.managed(tx, id)
		if se != nil {
			return nil, se
		}
		before := *e
		e.MarkDeleted(rq.h.now())
		fx, se := rq.finish(tx, e, &before, true, false)
		if se != nil {
			return nil, se
		}
		return &outcome{op: "delete", emp: e, change: map[string]any{"deleted": true},
			after: fx, status: http.StatusNoContent, userName: e.UserName}, nil
	})
}

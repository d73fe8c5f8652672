package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

func logLimit(n int) int {
	if n <= 0 {
		return DefaultLogLimit
	}
	return min(n, MaxLogLimit)
}

func checkSignIn(ev *directory.SignInEvent) error {
	var ck checker
	ck.company(ev.CompanyID)
	ck.text("reason", ev.Reason, maxText)
	ck.text("detail", ev.Detail, maxLong)
	ck.text("NameID", ev.NameID, maxText)
	ck.text("employee id", ev.EmployeeID, maxKey)
	ck.text("certificate SHA256", ev.CertSHA256, maxKey)
	ck.text("remote IP", ev.RemoteIP, maxKey)
	return ck.err
}

// RecordSignIn stores ev, filling ID and, when zero, At.
func (s *Store) RecordSignIn(ctx context.Context, ev *directory.SignInEvent) error {
	if err := checkSignIn(ev); err != nil {
		return err
	}
	at := norm(ev.At)
	if ev.At.IsZero() {
		at = s.clock()
	}
	err := s.queryRowW(ctx, `INSERT INTO signin_events (company_id, at, success, reason, detail, name_id, employee_id, cert_sha256, remote_ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ev.CompanyID, s.tv(at), ev.Success, ev.Reason, ev.Detail, ev.NameID, ev.EmployeeID, ev.CertSHA256, ev.RemoteIP).Scan(&ev.ID)
	if err != nil {
		return fmt.Errorf("record sign-in: %w", s.translate(err))
	}
	ev.At = at
	return nil
}

// signInRows is the largest number of events one INSERT carries. Batches
// go out in chunks of 32, 16, 8, 4, 2 and 1 rows, so at most six statement
// shapes are ever prepared.
const signInRows = 32

// RecordLogins implements directory.Store. On PostgreSQL outside a
// transaction the batch is one statement (recordLoginsPG); otherwise one
// transaction with the events in multi-row INSERTs and one UPDATE per
// certificate.
func (s *Store) RecordLogins(ctx context.Context, events []*directory.SignInEvent, uses []directory.CertificateUse) error {
	for _, ev := range events {
		if err := checkSignIn(ev); err != nil {
			return err
		}
	}
	for _, u := range uses {
		if u.CompanyID <= 0 || u.Count <= 0 || len(u.SHA256) > maxKey {
			return fmt.Errorf("%w: certificate use %+v", directory.ErrInvalid, u)
		}
	}
	if len(events) == 0 && len(uses) == 0 {
		return nil
	}
	now := s.clock()
	if s.dialect == DialectPostgres && s.tx == nil {
		if err := s.recordLoginsPostgres(ctx, now, events, uses); err != nil {
			return fmt.Errorf("record logins: %w", err)
		}
		return nil
	}
	err := s.inTx(ctx, func(tx *Store) error {
		for rest := events; len(rest) > 0; {
			n := signInRows
			for n > len(rest) {
				n /= 2
			}
			var q strings.Builder
			q.WriteString(`INSERT INTO signin_events (company_id, at, success, reason, detail, name_id, employee_id, cert_sha256, remote_ip) VALUES `)
			args := make([]any, 0, 9*n)
			for i, ev := range rest[:n] {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
				at := now
				if !ev.At.IsZero() {
					at = norm(ev.At)
				}
				args = append(args, ev.CompanyID, tx.tv(at), ev.Success, ev.Reason, ev.Detail, ev.NameID, ev.EmployeeID, ev.CertSHA256, ev.RemoteIP)
			}
			if _, err := tx.exec(ctx, q.String(), args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		for _, u := range uses {
			at := tx.tv(u.At)
			if _, err := tx.exec(ctx, `UPDATE certificates SET use_count = use_count + ?,
				last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END
				WHERE company_id = ? AND sha256 = ?`, u.Count, at, at, u.CompanyID, u.SHA256); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record logins: %w", err)
	}
	return nil
}

// pruneBatch bounds one DELETE of PruneSignIns, so each statement stays
// short (and within the statement deadline) however much has piled up.
const pruneBatch = 5000

// PruneSignIns implements directory.Store.
func (s *Store) PruneSignIns(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.exec(ctx, `DELETE FROM signin_events WHERE id IN
			(SELECT id FROM signin_events WHERE at < ? ORDER BY at LIMIT ?)`, s.tv(norm(before)), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune sign-ins: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune sign-ins: %w", err)
		}
		total += n
		if n < pruneBatch || ctx.Err() != nil {
			return total, nil
		}
	}
}

// ListSignIns lists the company's sign-ins, newest first.
func (s *Store) ListSignIns(ctx context.Context, companyID int64, failuresOnly bool, limit int) ([]directory.SignInEvent, error) {
	q := `SELECT id, company_id, at, success, reason, detail, name_id, employee_id, cert_sha256, remote_ip
		FROM signin_events WHERE company_id = ?`
	args := []any{companyID}
	if failuresOnly {
		q += ` AND success = ?`
		args = append(args, false)
	}
	rows, err := s.queryR(ctx, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, logLimit(limit))...)
	if err != nil {
		return nil, fmt.Errorf("list sign-ins: %w", err)
	}
	return collect(s, rows, "list sign-ins", func(r *sql.Rows) (directory.SignInEvent, error) {
		var ev directory.SignInEvent
		var at dbTime
		err := r.Scan(&ev.ID, &ev.CompanyID, &at, &ev.Success, &ev.Reason, &ev.Detail, &ev.NameID, &ev.EmployeeID, &ev.CertSHA256, &ev.RemoteIP)
		ev.At = at.T
		return ev, err
	})
}

// AppendProvisioning stores p, filling ID and, when zero, At.
func (s *Store) AppendProvisioning(ctx context.Context, p *directory.ProvisioningEntry) error {
	var ck checker
	ck.company(p.CompanyID)
	ck.required("operation", p.Operation, maxText)
	ck.text("employee id", p.EmployeeID, maxKey)
	ck.text("userName", p.UserName, maxText)
	ck.required("outcome", p.Outcome, maxText)
	ck.text("change", p.Change, maxLong)
	if ck.err != nil {
		return ck.err
	}
	at := norm(p.At)
	if p.At.IsZero() {
		at = s.clock()
	}
	err := s.queryRowW(ctx, `INSERT INTO provisioning_log (company_id, at, operation, employee_id, user_name, outcome, status, change)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.CompanyID, s.tv(at), p.Operation, p.EmployeeID, p.UserName, p.Outcome, p.Status, p.Change).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("append provisioning entry: %w", s.translate(err))
	}
	p.At = at
	return nil
}

// ListProvisioning lists the company's provisioning log, newest first.
// Outcome "" matches any, "error" any but "ok", anything else exactly.
func (s *Store) ListProvisioning(ctx context.Context, q directory.ProvisioningQuery) ([]directory.ProvisioningEntry, error) {
	sq := `SELECT id, company_id, at, operation, employee_id, user_name, outcome, status, change
		FROM provisioning_log WHERE company_id = ?`
	args := []any{q.CompanyID}
	if q.EmployeeID != "" {
		sq += ` AND employee_id = ?`
		args = append(args, q.EmployeeID)
	}
	switch q.Outcome {
	case "":
	case "error":
		sq += ` AND outcome <> 'ok'`
	default:
		sq += ` AND outcome = ?`
		args = append(args, q.Outcome)
	}
	rows, err := s.queryR(ctx, sq+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, logLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list provisioning: %w", err)
	}
	return collect(s, rows, "list provisioning", func(r *sql.Rows) (directory.ProvisioningEntry, error) {
		var p directory.ProvisioningEntry
		var at dbTime
		err := r.Scan(&p.ID, &p.CompanyID, &at, &p.Operation, &p.EmployeeID, &p.UserName, &p.Outcome, &p.Status, &p.Change)
		p.At = at.T
		return p, err
	})
}

// AppendAudit stores a, filling ID and, when zero, At. CompanyID 0 records
// a deployment-wide action (such as creating a company from the CLI).
func (s *Store) AppendAudit(ctx context.Context, a *directory.AuditEntry) error {
	var ck checker
	if a.CompanyID < 0 {
		ck.fail("company id %d is not a valid id", a.CompanyID)
	}
	ck.required("actor", a.Actor, maxText)
	ck.required("action", a.Action, maxText)
	ck.text("detail", a.Detail, maxLong)
	if ck.err != nil {
		return ck.err
	}
	at := norm(a.At)
	if a.At.IsZero() {
		at = s.clock()
	}
	var company any
	if a.CompanyID != 0 {
		company = a.CompanyID
	}
	err := s.queryRowW(ctx, `INSERT INTO audit_log (company_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		company, s.tv(at), a.Actor, a.Action, a.Detail).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("append audit entry: %w", s.translate(err))
	}
	a.At = at
	return nil
}

// ListAudit lists the company's audit log (companyID 0: deployment-wide
// entries), newest first.
func (s *Store) ListAudit(ctx context.Context, companyID int64, limit int) ([]directory.AuditEntry, error) {
	q := `SELECT id, company_id, at, actor, action, detail FROM audit_log WHERE `
	args := []any{}
	if companyID == 0 {
		q += `company_id IS NULL`
	} else {
		q += `company_id = ?`
		args = append(args, companyID)
	}
	rows, err := s.queryR(ctx, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, logLimit(limit))...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return collect(s, rows, "list audit", func(r *sql.Rows) (directory.AuditEntry, error) {
		var a directory.AuditEntry
		var at dbTime
		var company sql.NullInt64
		err := r.Scan(&a.ID, &company, &at, &a.Actor, &a.Action, &a.Detail)
		a.CompanyID, a.At = company.Int64, at.T
		return a, err
	})
}

// collect scans every row with scan and closes rows.
func collect[T any](s *Store, rows *rows, what string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows.Rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.translate(err))
	}
	return out, nil
}

// recordLoginsPG is the whole batch as one statement, whatever its size:
// the events and the uses go as arrays, so PostgreSQL sees one round trip,
// one implicit transaction and one statement shape.
const recordLoginsPG = `WITH ev AS (
	INSERT INTO signin_events (company_id, at, success, reason, detail, name_id, employee_id, cert_sha256, remote_ip)
	SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::boolean[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
)
UPDATE certificates c SET use_count = c.use_count + u.n, last_used_at = GREATEST(c.last_used_at, u.at)
FROM unnest($10::bigint[], $11::text[], $12::bigint[], $13::timestamptz[]) AS u (company_id, sha256, n, at)
WHERE c.company_id = u.company_id AND c.sha256 = u.sha256`

func (s *Store) recordLoginsPostgres(ctx context.Context, now time.Time, events []*directory.SignInEvent, uses []directory.CertificateUse) error {
	n := len(events)
	company, at, success := make([]int64, n), make([]time.Time, n), make([]bool, n)
	reason, detail, nameID, employee, cert, ip := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, ev := range events {
		company[i], success[i] = ev.CompanyID, ev.Success
		at[i] = now
		if !ev.At.IsZero() {
			at[i] = norm(ev.At)
		}
		reason[i], detail[i], nameID[i], employee[i], cert[i], ip[i] = ev.Reason, ev.Detail, ev.NameID, ev.EmployeeID, ev.CertSHA256, ev.RemoteIP
	}
	m := len(uses)
	uCompany, uSHA, uCount, uAt := make([]int64, m), make([]string, m), make([]int64, m), make([]time.Time, m)
	for i, u := range uses {
		uCompany[i], uSHA[i], uCount[i], uAt[i] = u.CompanyID, u.SHA256, u.Count, norm(u.At)
	}
	// The query uses $n placeholders already: s.exec has no ? to rewrite.
	_, err := s.exec(ctx, recordLoginsPG, company, at, success, reason, detail, nameID, employee, cert, ip, uCompany, uSHA, uCount, uAt)
	return err
}

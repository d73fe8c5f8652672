package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ssogate/ssogate/sso/directory"
)

// Admin console additions: admins by id, local passwords of employees
// detached from Entra, departments an employee approves for.

// GetAdmin returns the company's admin with this id.
func (s *Store) GetAdmin(ctx context.Context, companyID, adminID int64) (*directory.Admin, error) {
	var a directory.Admin
	var employee dbString
	var created dbTime
	err := s.queryRowR(ctx, `SELECT id, company_id, email, password_hash, employee_id, created_at FROM admins
		WHERE company_id = ? AND id = ?`, companyID, adminID).
		Scan(&a.ID, &a.CompanyID, &a.Email, &a.PasswordHash, &employee, &created)
	if err != nil {
		return nil, fmt.Errorf("admin %d: %w", adminID, s.translate(err))
	}
	a.EmployeeID, a.CreatedAt = string(employee), created.T
	return &a, nil
}

// SetEmployeePassword stores (or, with an empty hash, removes) the
// employee's local password hash.
func (s *Store) SetEmployeePassword(ctx context.Context, companyID int64, employeeID, hash string) error {
	var ck checker
	ck.company(companyID)
	ck.required("employee id", employeeID, maxKey)
	ck.text("password hash", hash, maxText)
	if ck.err != nil {
		return ck.err
	}
	err := s.inTx(ctx, func(tx *Store) error {
		var one int
		if err := tx.queryRowW(ctx, `SELECT 1 FROM employees WHERE company_id = ? AND id = ?`, companyID, employeeID).Scan(&one); err != nil {
			return tx.translate(err)
		}
		if hash == "" {
			_, err := tx.exec(ctx, `DELETE FROM employee_passwords WHERE company_id = ? AND employee_id = ?`, companyID, employeeID)
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO employee_passwords (company_id, employee_id, password_hash, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (company_id, employee_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
			companyID, employeeID, hash, tx.tv(tx.clock()))
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of employee %s: %w", employeeID, err)
	}
	return nil
}

// GetEmployeePassword returns the employee's local password hash.
func (s *Store) GetEmployeePassword(ctx context.Context, companyID int64, employeeID string) (string, error) {
	var hash string
	err := s.queryRowR(ctx, `SELECT password_hash FROM employee_passwords WHERE company_id = ? AND employee_id = ?`,
		companyID, employeeID).Scan(&hash)
	if err != nil {
		return "", fmt.Errorf("password of employee %s: %w", employeeID, s.translate(err))
	}
	return hash, nil
}

// ListApproverDepartments returns the departments the employee approves
// for, as first added, in the order they were added.
func (s *Store) ListApproverDepartments(ctx context.Context, companyID int64, employeeID string) ([]string, error) {
	rows, err := s.queryR(ctx, `SELECT department FROM department_approvers
		WHERE company_id = ? AND employee_id = ? ORDER BY added_at, department_norm`, companyID, employeeID)
	if err != nil {
		return nil, fmt.Errorf("list departments of approver %s: %w", employeeID, err)
	}
	return collect(s, rows, "list approver departments", func(r *sql.Rows) (string, error) {
		var d string
		err := r.Scan(&d)
		return d, err
	})
}

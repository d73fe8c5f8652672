package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// SCIM tokens.

const tokenCols = `id, company_id, hash, label, created_at, last_used, revoked_at`

func scanToken(r rowScanner) (directory.SCIMToken, error) {
	var t directory.SCIMToken
	var created, used, revoked dbTime
	err := r.Scan(&t.ID, &t.CompanyID, &t.Hash, &t.Label, &created, &used, &revoked)
	t.CreatedAt, t.LastUsed, t.RevokedAt = created.T, used.ptr(), revoked.ptr()
	return t, err
}

// AddSCIMToken stores t (its Hash must be a SHA-256, 32 bytes), filling ID
// and CreatedAt.
func (s *Store) AddSCIMToken(ctx context.Context, t *directory.SCIMToken) error {
	var ck checker
	ck.company(t.CompanyID)
	if len(t.Hash) != sha256.Size {
		ck.fail("SCIM token hash is %d bytes; want a SHA-256 (%d bytes)", len(t.Hash), sha256.Size)
	}
	ck.text("token label", t.Label, maxText)
	if ck.err != nil {
		return ck.err
	}
	now := s.clock()
	err := s.queryRowW(ctx, `INSERT INTO scim_tokens (company_id, hash, label, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		t.CompanyID, t.Hash, t.Label, s.tv(now)).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("add SCIM token: %w", s.translate(err))
	}
	t.CreatedAt, t.LastUsed, t.RevokedAt = now, nil, nil
	return nil
}

// FindSCIMToken returns the unrevoked token with this hash, of any company.
func (s *Store) FindSCIMToken(ctx context.Context, hash []byte) (*directory.SCIMToken, error) {
	if len(hash) != sha256.Size {
		return nil, fmt.Errorf("find SCIM token: %w", directory.ErrNotFound)
	}
	t, err := scanToken(s.queryRowR(ctx, `SELECT `+tokenCols+` FROM scim_tokens WHERE hash = ? AND revoked_at IS NULL`, hash))
	if err != nil {
		return nil, fmt.Errorf("find SCIM token: %w", s.translate(err))
	}
	return &t, nil
}

// ListSCIMTokens lists the company's tokens, revoked ones included, oldest first.
func (s *Store) ListSCIMTokens(ctx context.Context, companyID int64) ([]directory.SCIMToken, error) {
	rows, err := s.queryR(ctx, `SELECT `+tokenCols+` FROM scim_tokens WHERE company_id = ? ORDER BY created_at, id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list SCIM tokens: %w", err)
	}
	return collect(s, rows, "list SCIM tokens", func(r *sql.Rows) (directory.SCIMToken, error) { return scanToken(r) })
}

// RevokeSCIMToken revokes the token; revoking again keeps the first time.
func (s *Store) RevokeSCIMToken(ctx context.Context, companyID, tokenID int64, at time.Time) error {
	err := s.execOne(ctx, "SCIM token", `UPDATE scim_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE company_id = ? AND id = ?`,
		s.tv(at), companyID, tokenID)
	if err != nil {
		return fmt.Errorf("revoke SCIM token %d: %w", tokenID, err)
	}
	return nil
}

// TouchSCIMToken records the token's last use.
func (s *Store) TouchSCIMToken(ctx context.Context, tokenID int64, at time.Time) error {
	err := s.execOne(ctx, "SCIM token", `UPDATE scim_tokens SET last_used = ? WHERE id = ?`, s.tv(at), tokenID)
	if err != nil {
		return fmt.Errorf("touch SCIM token %d: %w", tokenID, err)
	}
	return nil
}

// Local admins.

// CreateAdmin stores a, filling ID and CreatedAt; the email is unique per
// company (Fold).
func (s *Store) CreateAdmin(ctx context.Context, a *directory.Admin) error {
	var ck checker
	ck.company(a.CompanyID)
	ck.required("admin email", a.Email, maxKey)
	ck.required("password hash", a.PasswordHash, maxText)
	ck.text("employee id", a.EmployeeID, maxKey)
	if ck.err != nil {
		return ck.err
	}
	now := s.clock()
	err := s.queryRowW(ctx, `INSERT INTO admins (company_id, email, email_norm, password_hash, employee_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		a.CompanyID, a.Email, Fold(a.Email), a.PasswordHash, orNull(a.EmployeeID), s.tv(now)).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("create admin: %w", s.translate(err))
	}
	a.CreatedAt = now
	return nil
}

// GetAdminByEmail finds the company's admin by email (Fold).
func (s *Store) GetAdminByEmail(ctx context.Context, companyID int64, email string) (*directory.Admin, error) {
	var a directory.Admin
	var employee dbString
	var created dbTime
	err := s.queryRowR(ctx, `SELECT id, company_id, email, password_hash, employee_id, created_at FROM admins
		WHERE company_id = ? AND email_norm = ?`, companyID, Fold(email)).
		Scan(&a.ID, &a.CompanyID, &a.Email, &a.PasswordHash, &employee, &created)
	if err != nil {
		return nil, fmt.Errorf("admin by email: %w", s.translate(err))
	}
	a.EmployeeID, a.CreatedAt = string(employee), created.T
	return &a, nil
}

// UpdateAdminPassword replaces the admin's password hash.
func (s *Store) UpdateAdminPassword(ctx context.Context, companyID, adminID int64, hash string) error {
	var ck checker
	ck.required("password hash", hash, maxText)
	if ck.err != nil {
		return ck.err
	}
	err := s.execOne(ctx, "admin", `UPDATE admins SET password_hash = ? WHERE company_id = ? AND id = ?`, hash, companyID, adminID)
	if err != nil {
		return fmt.Errorf("update admin %d password: %w", adminID, err)
	}
	return nil
}

// OAuth clients.

// AddOAuthClient stores c, filling ID and CreatedAt. Redirect URIs are kept
// as a JSON array, in order.
func (s *Store) AddOAuthClient(ctx context.Context, c *directory.OAuthClient) error {
	var ck checker
	ck.company(c.CompanyID)
	ck.required("client id", c.ClientID, maxKey)
	ck.text("client name", c.Name, maxText)
	if len(c.RedirectURIs) > maxURIs {
		ck.fail("%d redirect URIs; the limit is %d", len(c.RedirectURIs), maxURIs)
	}
	for _, u := range c.RedirectURIs {
		ck.required("redirect URI", u, maxURILen)
	}
	if ck.err != nil {
		return ck.err
	}
	uris := c.RedirectURIs
	if uris == nil {
		uris = []string{}
	}
	js, err := json.Marshal(uris)
	if err != nil {
		return fmt.Errorf("add OAuth client: %w", err)
	}
	now := s.clock()
	err = s.queryRowW(ctx, `INSERT INTO oauth_clients (company_id, client_id, name, redirect_uris, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, c.CompanyID, c.ClientID, c.Name, string(js), s.tv(now)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("add OAuth client %q: %w", c.ClientID, s.translate(err))
	}
	c.CreatedAt = now
	return nil
}

const clientCols = `id, company_id, client_id, name, redirect_uris, created_at`

func scanClient(r rowScanner) (directory.OAuthClient, error) {
	var c directory.OAuthClient
	var uris string
	var created dbTime
	if err := r.Scan(&c.ID, &c.CompanyID, &c.ClientID, &c.Name, &uris, &created); err != nil {
		return c, err
	}
	c.CreatedAt = created.T
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return c, fmt.Errorf("stored redirect URIs of client %q: %w", c.ClientID, err)
	}
	return c, nil
}

// GetOAuthClient returns the company's client with this client id (exact).
func (s *Store) GetOAuthClient(ctx context.Context, companyID int64, clientID string) (*directory.OAuthClient, error) {
	c, err := scanClient(s.queryRowR(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE company_id = ? AND client_id = ?`, companyID, clientID))
	if err != nil {
		return nil, fmt.Errorf("OAuth client %q: %w", clientID, s.translate(err))
	}
	return &c, nil
}

// ListOAuthClients lists the company's clients, oldest first.
func (s *Store) ListOAuthClients(ctx context.Context, companyID int64) ([]directory.OAuthClient, error) {
	rows, err := s.queryR(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE company_id = ? ORDER BY created_at, id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list OAuth clients: %w", err)
	}
	return collect(s, rows, "list OAuth clients", func(r *sql.Rows) (directory.OAuthClient, error) { return scanClient(r) })
}

// RemoveOAuthClient deletes the client; ErrNotFound if there is none.
func (s *Store) RemoveOAuthClient(ctx context.Context, companyID int64, clientID string) error {
	err := s.execOne(ctx, "OAuth client", `DELETE FROM oauth_clients WHERE company_id = ? AND client_id = ?`, companyID, clientID)
	if err != nil {
		return fmt.Errorf("remove OAuth client %q: %w", clientID, err)
	}
	return nil
}

// Department approvers.

// AddDepartmentApprover makes the employee an approver of the department
// (matched by Fold). Adding it again changes nothing. The employee must
// exist in the company.
func (s *Store) AddDepartmentApprover(ctx context.Context, companyID int64, department, employeeID string) error {
	var ck checker
	ck.company(companyID)
	ck.required("department", department, maxText)
	ck.required("employee id", employeeID, maxKey)
	if ck.err != nil {
		return ck.err
	}
	_, err := s.exec(ctx, `INSERT INTO department_approvers (company_id, department_norm, department, employee_id, added_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (company_id, department_norm, employee_id) DO NOTHING`,
		companyID, Fold(department), department, employeeID, s.tv(s.clock()))
	if err != nil {
		return fmt.Errorf("add approver of department %q: %w", department, err)
	}
	return nil
}

// RemoveDepartmentApprover removes the approver; ErrNotFound if it was not one.
func (s *Store) RemoveDepartmentApprover(ctx context.Context, companyID int64, department, employeeID string) error {
	err := s.execOne(ctx, "department approver", `DELETE FROM department_approvers WHERE company_id = ? AND department_norm = ? AND employee_id = ?`,
		companyID, Fold(department), employeeID)
	if err != nil {
		return fmt.Errorf("remove approver of department %q: %w", department, err)
	}
	return nil
}

// ListDepartmentApprovers returns the ids of the department's approvers
// (department matched by Fold) in the order they were added, leaving out
// hard-deleted employees.
func (s *Store) ListDepartmentApprovers(ctx context.Context, companyID int64, department string) ([]string, error) {
	rows, err := s.queryR(ctx, `SELECT a.employee_id FROM department_approvers a
		JOIN employees e ON e.company_id = a.company_id AND e.id = a.employee_id
		WHERE a.company_id = ? AND a.department_norm = ? AND e.deleted_at IS NULL
		ORDER BY a.added_at, a.employee_id`, companyID, Fold(department))
	if err != nil {
		return nil, fmt.Errorf("list approvers of department %q: %w", department, err)
	}
	return collect(s, rows, "list department approvers", func(r *sql.Rows) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
}

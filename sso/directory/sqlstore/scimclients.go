package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"

	"github.com/ssogate/ssogate/sso/directory"
)

// SCIM OAuth clients (client credentials grant), their secrets and the
// access tokens issued with them. Secrets and tokens are stored as SHA-256
// hashes only; foreign keys with ON DELETE CASCADE make a removed client
// take its secrets along, and a removed secret its access tokens.

const secretCols = `id, company_id, client, hash, created_at, expires_at, last_used`

func scanSecret(r rowScanner) (directory.SCIMClientSecret, error) {
	var sec directory.SCIMClientSecret
	var created, expires, used dbTime
	err := r.Scan(&sec.ID, &sec.CompanyID, &sec.Client, &sec.Hash, &created, &expires, &used)
	sec.CreatedAt, sec.ExpiresAt, sec.LastUsed = created.T, expires.T, used.ptr()
	return sec, err
}

func (ck *checker) secret(sec *directory.SCIMClientSecret) {
	if len(sec.Hash) != sha256.Size {
		ck.fail("SCIM client secret hash is %d bytes; want a SHA-256 (%d bytes)", len(sec.Hash), sha256.Size)
	}
	if sec.ExpiresAt.IsZero() {
		ck.fail("SCIM client secret has no expiry")
	}
}

// AddSCIMClient stores c and its secrets in one transaction.
func (s *Store) AddSCIMClient(ctx context.Context, c *directory.SCIMClient) error {
	var ck checker
	ck.company(c.CompanyID)
	ck.required("client id", c.ClientID, maxKey)
	ck.text("client label", c.Label, maxText)
	for i := range c.Secrets {
		ck.secret(&c.Secrets[i])
	}
	if ck.err != nil {
		return ck.err
	}
	err := s.inTx(ctx, func(tx *Store) error {
		now := tx.clock()
		if err := tx.queryRowW(ctx, `INSERT INTO scim_clients (company_id, client_id, label, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			c.CompanyID, c.ClientID, c.Label, tx.tv(now)).Scan(&c.ID); err != nil {
			return tx.translate(err)
		}
		c.CreatedAt = now
		for i := range c.Secrets {
			sec := &c.Secrets[i]
			sec.CompanyID, sec.Client = c.CompanyID, c.ID
			if err := tx.insertSecret(ctx, sec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add SCIM client %q: %w", c.ClientID, err)
	}
	return nil
}

func (s *Store) insertSecret(ctx context.Context, sec *directory.SCIMClientSecret) error {
	now := s.clock()
	err := s.queryRowW(ctx, `INSERT INTO scim_client_secrets (company_id, client, hash, created_at, expires_at)
		SELECT company_id, id, ?, ?, ? FROM scim_clients WHERE company_id = ? AND id = ? RETURNING id`,
		sec.Hash, s.tv(now), s.tv(sec.ExpiresAt), sec.CompanyID, sec.Client).Scan(&sec.ID)
	if err != nil {
		return s.translate(err) // no row: no such client in the company
	}
	sec.CreatedAt, sec.ExpiresAt, sec.LastUsed = now, norm(sec.ExpiresAt), nil
	return nil
}

// AddSCIMClientSecret adds a secret to an existing client of the company.
func (s *Store) AddSCIMClientSecret(ctx context.Context, sec *directory.SCIMClientSecret) error {
	var ck checker
	ck.company(sec.CompanyID)
	ck.secret(sec)
	if ck.err != nil {
		return ck.err
	}
	if err := s.insertSecret(ctx, sec); err != nil {
		return fmt.Errorf("add secret to SCIM client %d: %w", sec.Client, err)
	}
	return nil
}

// secretsOf fills the secrets of the clients, oldest first.
func (s *Store) secretsOf(ctx context.Context, companyID int64, clients []directory.SCIMClient) error {
	if len(clients) == 0 {
		return nil
	}
	at := make(map[int64]int, len(clients))
	for i := range clients {
		at[clients[i].ID] = i
	}
	q := `SELECT ` + secretCols + ` FROM scim_client_secrets WHERE company_id = ? ORDER BY created_at, id`
	args := []any{companyID}
	if len(clients) == 1 {
		q = `SELECT ` + secretCols + ` FROM scim_client_secrets WHERE company_id = ? AND client = ? ORDER BY created_at, id`
		args = append(args, clients[0].ID)
	}
	rows, err := s.queryR(ctx, q, args...)
	if err != nil {
		return err
	}
	secrets, err := collect(s, rows, "list SCIM client secrets", func(r *sql.Rows) (directory.SCIMClientSecret, error) { return scanSecret(r) })
	if err != nil {
		return err
	}
	for _, sec := range secrets {
		if i, ok := at[sec.Client]; ok {
			clients[i].Secrets = append(clients[i].Secrets, sec)
		}
	}
	return nil
}

const scimClientCols = `id, company_id, client_id, label, created_at`

func scanSCIMClient(r rowScanner) (directory.SCIMClient, error) {
	var c directory.SCIMClient
	var created dbTime
	err := r.Scan(&c.ID, &c.CompanyID, &c.ClientID, &c.Label, &created)
	c.CreatedAt = created.T
	return c, err
}

// GetSCIMClient returns the company's client with this client id (exact),
// with its secrets.
func (s *Store) GetSCIMClient(ctx context.Context, companyID int64, clientID string) (*directory.SCIMClient, error) {
	c, err := scanSCIMClient(s.queryRowR(ctx, `SELECT `+scimClientCols+` FROM scim_clients WHERE company_id = ? AND client_id = ?`, companyID, clientID))
	if err != nil {
		return nil, fmt.Errorf("SCIM client %q: %w", clientID, s.translate(err))
	}
	one := []directory.SCIMClient{c}
	if err := s.secretsOf(ctx, companyID, one); err != nil {
		return nil, fmt.Errorf("SCIM client %q: %w", clientID, err)
	}
	return &one[0], nil
}

// ListSCIMClients lists the company's clients with their secrets, oldest
// first.
func (s *Store) ListSCIMClients(ctx context.Context, companyID int64) ([]directory.SCIMClient, error) {
	rows, err := s.queryR(ctx, `SELECT `+scimClientCols+` FROM scim_clients WHERE company_id = ? ORDER BY created_at, id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list SCIM clients: %w", err)
	}
	list, err := collect(s, rows, "list SCIM clients", func(r *sql.Rows) (directory.SCIMClient, error) { return scanSCIMClient(r) })
	if err != nil {
		return nil, err
	}
	if err := s.secretsOf(ctx, companyID, list); err != nil {
		return nil, fmt.Errorf("list SCIM clients: %w", err)
	}
	return list, nil
}

// RemoveSCIMClient deletes the client; its secrets and access tokens go
// with it (ON DELETE CASCADE). ErrNotFound if there is none.
func (s *Store) RemoveSCIMClient(ctx context.Context, companyID int64, clientID string) error {
	err := s.execOne(ctx, "SCIM client", `DELETE FROM scim_clients WHERE company_id = ? AND client_id = ?`, companyID, clientID)
	if err != nil {
		return fmt.Errorf("remove SCIM client %q: %w", clientID, err)
	}
	return nil
}

// RemoveSCIMClientSecret deletes one secret and the access tokens issued
// with it. ErrNotFound if the company has no such secret.
func (s *Store) RemoveSCIMClientSecret(ctx context.Context, companyID, secretID int64) error {
	err := s.execOne(ctx, "SCIM client secret", `DELETE FROM scim_client_secrets WHERE company_id = ? AND id = ?`, companyID, secretID)
	if err != nil {
		return fmt.Errorf("remove SCIM client secret %d: %w", secretID, err)
	}
	return nil
}

// AddSCIMAccessToken stores t, marks its secret used and purges the
// company's expired tokens, in one transaction.
func (s *Store) AddSCIMAccessToken(ctx context.Context, t *directory.SCIMAccessToken) error {
	var ck checker
	ck.company(t.CompanyID)
	if len(t.Hash) != sha256.Size {
		ck.fail("SCIM access token hash is %d bytes; want a SHA-256 (%d bytes)", len(t.Hash), sha256.Size)
	}
	if t.IssuedAt.IsZero() || !t.ExpiresAt.After(t.IssuedAt) {
		ck.fail("SCIM access token must expire after it is issued")
	}
	if ck.err != nil {
		return ck.err
	}
	err := s.inTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `DELETE FROM scim_access_tokens WHERE company_id = ? AND expires_at < ?`, t.CompanyID, tx.tv(t.IssuedAt)); err != nil {
			return err
		}
		// The secret must still exist, belong to the client and company.
		if err := tx.execOne(ctx, "SCIM client secret", `UPDATE scim_client_secrets SET last_used = ? WHERE id = ? AND client = ? AND company_id = ?`,
			tx.tv(t.IssuedAt), t.Secret, t.Client, t.CompanyID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO scim_access_tokens (hash, company_id, client, secret, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.Hash, t.CompanyID, t.Client, t.Secret, tx.tv(t.IssuedAt), tx.tv(t.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("add SCIM access token: %w", err)
	}
	t.IssuedAt, t.ExpiresAt = norm(t.IssuedAt), norm(t.ExpiresAt)
	return nil
}

// FindSCIMAccessToken returns the access token with this hash.
func (s *Store) FindSCIMAccessToken(ctx context.Context, hash []byte) (*directory.SCIMAccessToken, error) {
	if len(hash) != sha256.Size {
		return nil, fmt.Errorf("find SCIM access token: %w", directory.ErrNotFound)
	}
	var t directory.SCIMAccessToken
	var issued, expires dbTime
	err := s.queryRowR(ctx, `SELECT hash, company_id, client, secret, issued_at, expires_at FROM scim_access_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.CompanyID, &t.Client, &t.Secret, &issued, &expires)
	if err != nil {
		return nil, fmt.Errorf("find SCIM access token: %w", s.translate(err))
	}
	t.IssuedAt, t.ExpiresAt = issued.T, expires.T
	return &t, nil
}

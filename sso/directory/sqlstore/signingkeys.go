package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ssogate/ssogate/sso/directory"
)

// Assertion signing keys.

const maxKeyBytes = 16 << 10

// AddSigningKey stores k as given; ConflictError on "seq" or "kid".
func (s *Store) AddSigningKey(ctx context.Context, k *directory.SigningKey) error {
	var ck checker
	if k.Seq <= 0 {
		ck.fail("signing key seq %d is not positive", k.Seq)
	}
	ck.required("key id", k.KID, maxKey)
	ck.required("key algorithm", k.Algorithm, maxKey)
	ck.text("key sealing", k.Sealing, maxKey)
	if len(k.PublicKey) == 0 || len(k.PrivateKey) == 0 {
		ck.fail("signing key %q has no public or no private key", k.KID)
	}
	ck.bytes("public key", k.PublicKey, maxKeyBytes)
	ck.bytes("private key", k.PrivateKey, maxKeyBytes)
	if k.CreatedAt.IsZero() || k.SignsFrom.IsZero() {
		ck.fail("signing key %q has no creation or start time", k.KID)
	}
	if ck.err != nil {
		return ck.err
	}
	_, err := s.exec(ctx, `INSERT INTO signing_keys (seq, kid, alg, public_key, private_key, sealing, created_at, signs_from)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.Seq, k.KID, k.Algorithm, k.PublicKey, k.PrivateKey, k.Sealing, s.tv(k.CreatedAt), s.tv(k.SignsFrom))
	if err != nil {
		return fmt.Errorf("add signing key %d: %w", k.Seq, s.translate(err))
	}
	k.CreatedAt, k.SignsFrom = norm(k.CreatedAt), norm(k.SignsFrom)
	return nil
}

// ListSigningKeys returns every signing key, oldest (lowest Seq) first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]directory.SigningKey, error) {
	rows, err := s.queryR(ctx, `SELECT seq, kid, alg, public_key, private_key, sealing, created_at, signs_from
		FROM signing_keys ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return collect(s, rows, "list signing keys", func(r *sql.Rows) (directory.SigningKey, error) {
		var k directory.SigningKey
		var created, from dbTime
		err := r.Scan(&k.Seq, &k.KID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.Sealing, &created, &from)
		k.CreatedAt, k.SignsFrom = created.T, from.T
		return k, err
	})
}

// DeleteSigningKey removes the key with this Seq; a missing key is fine
// (instances retire old keys independently).
func (s *Store) DeleteSigningKey(ctx context.Context, seq int64) error {
	if _, err := s.exec(ctx, `DELETE FROM signing_keys WHERE seq = ?`, seq); err != nil {
		return fmt.Errorf("delete signing key %d: %w", seq, err)
	}
	return nil
}

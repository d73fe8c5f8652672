package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
)

// A statement that cannot get its answer within Options.StatementTimeout
// (SQLite's one writer connection held by a transaction; a PostgreSQL row
// held by another session) fails in about that time with an error matching
// directory.ErrUnavailable, and nothing is changed.
func TestStatementDeadlineMakesAWaitAnOutage(t *testing.T) {
	t.Parallel()
	const deadline = 300 * time.Millisecond
	for _, tc := range []struct{ name, url string }{
		{"sqlite", "sqlite:" + t.TempDir() + "/deadline.db"},
		{"postgres", testenv.PostgresURL(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, tc.url, Options{StatementTimeout: deadline})
			testenv.Must(t, err, "open")
			defer s.Close()
			c := &directory.Company{Slug: "wait", Name: "Before"}
			testenv.Must(t, s.CreateCompany(ctx, c), "create company")

			held, release := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			if tc.name == "sqlite" {
				// The store's own transaction keeps the writer connection.
				go func() {
					done <- s.InTx(context.WithoutCancel(ctx), func(tx directory.Store) error {
						close(held)
						<-release
						return nil
					})
				}()
			} else {
				// Another session locks the company's row.
				conn, err := pgx.Connect(ctx, tc.url)
				testenv.Must(t, err, "connect")
				defer conn.Close(ctx)
				tx, err := conn.Begin(ctx)
				testenv.Must(t, err, "begin")
				_, err = tx.Exec(ctx, "SELECT 1 FROM companies WHERE id = $1 FOR UPDATE", c.ID)
				testenv.Must(t, err, "lock row")
				go func() { <-release; done <- tx.Rollback(ctx) }()
				close(held)
			}
			<-held
			c.Name = "During"
			start := time.Now()
			err = s.UpdateCompanySettings(ctx, c)
			took := time.Since(start)
			close(release)
			testenv.Must(t, <-done, "release")
			if !errors.Is(err, directory.ErrUnavailable) {
				t.Fatalf("a write that waited past the deadline: %v, want directory.ErrUnavailable", err)
			}
			if took < deadline-50*time.Millisecond || took > deadline+700*time.Millisecond {
				t.Fatalf("the write failed after %s (deadline %s)", took, deadline)
			}
			got, err := s.GetCompany(ctx, "wait")
			testenv.Must(t, err, "get company")
			if got.Name != "Before" {
				t.Fatalf("a write that failed changed the company: %q", got.Name)
			}
			c.Name = "After"
			testenv.Must(t, s.UpdateCompanySettings(ctx, c), "the same write once the wait is over")
		})
	}
}

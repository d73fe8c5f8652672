package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
)

// TestLookupsUseIndexes checks, on both databases, that the lookups the
// interface promises to be index-backed use the intended index.
func TestLookupsUseIndexes(t *testing.T) {
	t.Parallel()
	// SQLite's planner does not need a big table to show its choice (and
	// modernc is slow under -race); PostgreSQL's does.
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string // called in the subtest: SQLite needs no PostgreSQL
		rows int
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/plan.db" }, 300},
		{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, tc.url(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := &directory.Company{Slug: "plan", Name: "Plan"}
			if err := s.CreateCompany(ctx, c); err != nil {
				t.Fatal(err)
			}
			err = s.InTx(ctx, func(tx directory.Store) error {
				for i := range tc.rows {
					e := &directory.Employee{CompanyID: c.ID, UserName: fmt.Sprintf("u%d@contoso.com", i), Email: fmt.Sprintf("m%d@contoso.com", i),
						ExternalID: fmt.Sprintf("x%d", i), ManagerRef: fmt.Sprintf("r%d", i%300)}
					if i%2 == 0 {
						e.EntraObjectID = fmt.Sprintf("oid-%d", i)
					}
					if err := tx.CreateEmployee(ctx, e); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Deliberately no ANALYZE: the plan must be right on fresh tables, before
			// any statistics exist (right after a bulk import).
			for _, q := range []struct{ sql, index string }{
				{findSQL("username_norm"), "employees_username_key"},
				{findSQL("email_norm"), "employees_email_key"},
				{findSQL("entra_object_id"), "employees_object_id_key"},
				{byExternalIDSQL, "employees_external_id_idx"},
				{byManagerRefSQL, "employees_manager_ref_idx"},
				{reportsSQL, "employees_manager_id_idx"},
			} {
				explain := "EXPLAIN QUERY PLAN "
				if s.dialect == DialectPostgres {
					explain = "EXPLAIN "
				}
				rows, err := s.writer.QueryContext(ctx, s.q(explain+q.sql), c.ID, "u17@contoso.com")
				if err != nil {
					t.Fatal(err)
				}
				var plan []string
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, fmt.Sprint(vals...))
				}
				rows.Close()
				if p := strings.Join(plan, "\n"); !strings.Contains(p, q.index) {
					t.Errorf("%s does not use %s:\n%s", q.sql, q.index, p)
				}
			}
		})
	}
}

// TestSQLiteConnSettings checks the pragmas and pool sizes of both pools.
func TestSQLiteConnSettings(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), "sqlite:"+t.TempDir()+"/conn.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pragma := func(db interface {
		QueryRow(string, ...any) *sql.Row
	}, name string) string {
		var v string
		if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "10000", "query_only": "0"} {
		if got := pragma(s.writer, name); got != want {
			t.Errorf("writer %s = %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{"foreign_keys": "1", "busy_timeout": "10000", "query_only": "1"} {
		if got := pragma(s.reader, name); got != want {
			t.Errorf("reader %s = %s, want %s", name, got, want)
		}
	}
	if n := s.writer.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
	if n := s.reader.Stats().MaxOpenConnections; n < 2 {
		t.Errorf("reader pool allows %d connections, want several", n)
	}
	// The reader pool refuses writes outright.
	if _, err := s.reader.Exec("DELETE FROM companies"); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

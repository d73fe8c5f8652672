package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/sso/directory/storetest"
)

func openURL(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), url, sqlstore.Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sqliteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "directory.db")
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) directory.Store { return openURL(t, sqliteURL(t)) })
}

func TestSQLiteMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) directory.Store { return openURL(t, "sqlite::memory:") })
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) directory.Store { return openURL(t, testenv.PostgresURL(t)) })
}

func TestOpenURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, bad := range []string{"", "mysql://x", "sqlite:", "sqlite:file:x.db", "postgres", "sqlite3:x.db"} {
		s, err := sqlstore.Open(ctx, bad, sqlstore.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", bad)
		}
		if !errors.Is(err, sqlstore.ErrURL) {
			t.Fatalf("Open(%q) = %v, want ErrURL", bad, err)
		}
		if !strings.Contains(err.Error(), "sqlite:") {
			t.Fatalf("Open(%q) error %q does not name the expected forms", bad, err)
		}
	}
	// A path with characters that mean something in a URI.
	dir := filepath.Join(t.TempDir(), "a dir?#%")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := openURL(t, "sqlite:"+filepath.Join(dir, "x.db"))
	if s.Dialect() != sqlstore.DialectSQLite {
		t.Fatalf("Dialect = %q", s.Dialect())
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Fatalf("database not created at the given path: %v", err)
	}
	if d := openURL(t, testenv.PostgresURL(t)).Dialect(); d != sqlstore.DialectPostgres {
		t.Fatalf("Dialect = %q", d)
	}
	u := testenv.PostgresURL(t)
	openURL(t, "postgresql://"+strings.TrimPrefix(u, "postgres://"))
}

// TestReopen: migrations are applied once; data survives a restart.
func TestReopen(t *testing.T) {
	t.Parallel()
	for _, url := range []string{sqliteURL(t), testenv.PostgresURL(t)} {
		ctx := context.Background()
		s, err := sqlstore.Open(ctx, url, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateCompany(ctx, &directory.Company{Slug: "keep", Name: "Keep"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = openURL(t, url)
		if _, err := s.GetCompany(ctx, "keep"); err != nil {
			t.Fatalf("%s after reopen: %v", s.Dialect(), err)
		}
	}
}

// TestSQLiteTwoProcesses: a second store on the same file (a CLI run next
// to the server) writes concurrently without SQLITE_BUSY errors.
func TestSQLiteTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := sqliteURL(t)
	a, b := openURL(t, url), openURL(t, url)
	c := &directory.Company{Slug: "two", Name: "Two"}
	if err := a.CreateCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			err := s.InTx(ctx, func(tx directory.Store) error {
				if _, err := tx.ListSCIMTokens(ctx, c.ID); err != nil {
					return err
				}
				return tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: fmt.Sprintf("p%d@contoso.com", i)})
			})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write from one of two stores: %v", err)
	}
	_, total, err := b.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID})
	if err != nil || total != 32 {
		t.Fatalf("total %d (%v), want 32", total, err)
	}
}

// TestClock: the injected clock fills the times, truncated to microseconds in UTC.
func TestClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 10, 11, 12, 131415161, time.FixedZone("CET", 3600))
	for _, url := range []string{sqliteURL(t), testenv.PostgresURL(t)} {
		ctx := context.Background()
		s, err := sqlstore.Open(ctx, url, sqlstore.Options{Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		c := &directory.Company{Slug: "clock", Name: "Clock"}
		if err := s.CreateCompany(ctx, c); err != nil {
			t.Fatal(err)
		}
		want := at.UTC().Truncate(time.Microsecond)
		got, err := s.GetCompany(ctx, "clock")
		if err != nil {
			t.Fatal(err)
		}
		if !c.CreatedAt.Equal(want) || !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("%s: CreatedAt %v / stored %v, want %v in UTC", s.Dialect(), c.CreatedAt, got.CreatedAt, want)
		}
		ev := &directory.SignInEvent{CompanyID: c.ID, Reason: "ok"}
		if err := s.RecordSignIn(ctx, ev); err != nil || !ev.At.Equal(want) {
			t.Fatalf("%s: sign-in At %v (%v), want %v", s.Dialect(), ev.At, err, want)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		" Maja.Holm@Contoso.com\t": "maja.holm@contoso.com",
		"ÄRZTE@KLINIK.DE":          "ärzte@klinik.de",
		"ΣΩΚΡΆΤΗΣ":                 "σωκράτησ",
		"":                         "",
	} {
		if got := sqlstore.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

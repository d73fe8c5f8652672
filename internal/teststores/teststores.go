// Package teststores opens the real store pairs the end-to-end tests and
// benchmarks run on: SQLite with the in-process session store (the
// embedded defaults) and PostgreSQL with Redis (production). PostgreSQL and
// Redis come from internal/testenv: a fresh schema and key prefix each.
package teststores

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/memstore"
	"github.com/ssogate/ssogate/session/redisstore"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// Backend is one pair of stores. Each call opens fresh, empty stores that
// are closed when the test ends.
type Backend struct {
	Name     string
	Dir      func(t testing.TB) directory.Store
	Sessions func(t testing.TB) session.Store
	// Shared: two gateways given the same session store share it the way
	// instances of one deployment do (Redis).
	Shared bool
}

// All returns the embedded pair first, then PostgreSQL + Redis.
func All() []Backend {
	return []Backend{
		{
			Name: "sqlite+memory",
			Dir: func(t testing.TB) directory.Store {
				st, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "gw.db"), sqlstore.Options{})
				testenv.Must(t, err, "open sqlite")
				t.Cleanup(func() { st.Close() })
				return st
			},
			Sessions: func(testing.TB) session.Store { return memstore.New(memstore.Options{}) },
		},
		{
			Name: "postgres+redis",
			Dir: func(t testing.TB) directory.Store {
				st, err := sqlstore.Open(context.Background(), testenv.PostgresURL(t), sqlstore.Options{})
				testenv.Must(t, err, "open postgres")
				t.Cleanup(func() { st.Close() })
				return st
			},
			Sessions: func(t testing.TB) session.Store {
				u, prefix := testenv.RedisURL(t)
				st, err := redisstore.Open(context.Background(), u, redisstore.Options{Prefix: prefix})
				testenv.Must(t, err, "open redis")
				t.Cleanup(func() { st.Close() })
				return st
			},
			Shared: true,
		},
	}
}

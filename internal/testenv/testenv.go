// Package testenv gives tests the real services the test script started:
// PostgreSQL, Redis, Chromium and nginx. Each is named by an environment variable.
// When one is unset the test is skipped, except when SSOGATE_TEST_REQUIRE=1
// (set by scripts/test.sh under CI), where a missing service fails the test.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

const (
	// EnvPostgres: a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
	EnvPostgres = "SSOGATE_TEST_POSTGRES_URL"
	// EnvRedis: a Redis URL, e.g. redis://127.0.0.1:6379/0
	EnvRedis = "SSOGATE_TEST_REDIS_URL"
	// EnvChromium: the Chromium binary, e.g. /usr/bin/chromium
	EnvChromium = "SSOGATE_TEST_CHROMIUM"
	// EnvNginx: the nginx binary (Debian's nginx-light), e.g. /usr/sbin/nginx
	EnvNginx = "SSOGATE_TEST_NGINX"
	// EnvRequire: "1" turns a missing service into a failure.
	EnvRequire = "SSOGATE_TEST_REQUIRE"
)

func need(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set and %s=1: this test needs the real service (run scripts/test.sh)", env, EnvRequire)
		}
		t.Skipf("%s not set; run scripts/test.sh to start the real service", env)
	}
	return v
}

// RandomName returns prefix + 12 random hex digits.
func RandomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PostgresURL creates a fresh schema for this test, dropped at cleanup, and
// returns a URL whose connections use it (search_path), so parallel test
// packages never see each other's tables.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := need(t, EnvPostgres)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	schema := RandomName("t_")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisURL returns the Redis URL and a fresh key prefix for this test.
func RedisURL(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	return need(t, EnvRedis), RandomName("test:") + ":"
}

// Chromium returns the Chromium binary path.
func Chromium(t testing.TB) string {
	t.Helper()
	p := need(t, EnvChromium)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", EnvChromium, p, err)
	}
	return p
}

// Must fails the test on err.
func Must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// Nginx returns the nginx binary to run (the test starts its own, on
// loopback, with a configuration in a temporary folder).
func Nginx(t testing.TB) string {
	t.Helper()
	p := need(t, EnvNginx)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", EnvNginx, p, err)
	}
	return p
}

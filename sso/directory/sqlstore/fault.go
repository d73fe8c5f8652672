package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ssogate/ssogate/sso/directory"
)

// Deadlines and outages. With Options.StatementTimeout set, every statement
// (and the wait for a connection it needs, a transaction's BEGIN and its
// COMMIT) runs under that deadline; a database that is unreachable,
// stalled or out of connections then costs a caller at most that long. Any
// error that means "the database gave no answer" is wrapped with
// directory.ErrUnavailable, so callers tell an outage from an answer.

// cancelGrace is how long past a statement's deadline PostgreSQL may take
// to confirm the cancel request before the connection is dropped.
const cancelGrace = 250 * time.Millisecond

// bound returns ctx limited by the statement deadline.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.stmtTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.stmtTimeout)
}

// row is a *sql.Row whose statement deadline ends once it is scanned.
type row struct {
	r      *sql.Row
	cancel context.CancelFunc
}

// Scan implements rowScanner.
func (r *row) Scan(dest ...any) error {
	defer r.cancel()
	return classify(r.r.Scan(dest...))
}

// rows is a *sql.Rows whose statement deadline ends when it is closed.
type rows struct {
	*sql.Rows
	cancel context.CancelFunc
}

// Close closes the rows and ends their deadline.
func (r *rows) Close() error {
	defer r.cancel()
	return r.Rows.Close()
}

// watchdog cancels a transaction's context if one step (BEGIN, COMMIT)
// takes longer than the statement deadline: database/sql binds a
// transaction to one context for its whole life, so the step cannot have
// its own. stop reports whether the watchdog fired.
func (s *Store) watchdog(cancel context.CancelFunc) (stop func() (fired bool)) {
	if s.stmtTimeout <= 0 {
		return func() bool { return false }
	}
	t := time.AfterFunc(s.stmtTimeout, cancel)
	return func() bool { return !t.Stop() }
}

// errStepTimeout is the cause of a transaction step the watchdog ended.
var errStepTimeout = errors.New("sqlstore: transaction step exceeded the statement deadline")

// classify wraps an error that means the database gave no answer with
// directory.ErrUnavailable; answers (no rows, constraint violations, bad
// values) pass unchanged.
func classify(err error) error {
	if err == nil || errors.Is(err, directory.ErrUnavailable) || !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", directory.ErrUnavailable, err)
}

func unavailable(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errStepTimeout),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err):
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), // connection exception
			strings.HasPrefix(pg.Code, "53"),                           // insufficient resources (too many connections, disk full)
			pg.Code == "57014",                                         // query_canceled (a deadline sent the cancel)
			pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // shutting down, crashed, starting up
			return true
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "sql: database is closed") || strings.Contains(msg, "conn closed")
}

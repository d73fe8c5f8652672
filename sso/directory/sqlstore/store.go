// Package sqlstore implements directory.Store on SQLite (modernc.org/sqlite,
// pure Go) and PostgreSQL (pgx/v5 through database/sql).
//
// It owns the SQL schema (embedded goose migrations, one set per dialect),
// the folding of case-insensitive keys, the translation of each database's
// constraint errors into directory's sentinel errors, and the connection
// discipline that keeps SQLite free of SQLITE_BUSY. It must not import any
// protocol (SAML, SCIM, OAuth), HTTP, or the web and session packages.
//
// Semantics shared by both databases (the storetest suite checks them):
//
//   - userName, email (employees and admins) and department names are matched
//     through a key computed in Go by Fold: strings.ToLower(strings.TrimSpace(s)),
//     i.e. Unicode simple lower-casing per rune. The databases only compare
//     bytes, so "ÄRZTE@X" and "ärzte@x" agree on SQLite and PostgreSQL alike.
//     No Unicode normalisation (NFC/NFD) is applied.
//   - Uniqueness of userName, email and Entra object id holds among the
//     non-hard-deleted employees of one company (partial unique indexes
//     WHERE deleted_at IS NULL); a hard-deleted employee frees all three.
//     An empty userName or email is not a key (stored as NULL).
//   - Times are stored in UTC with microsecond precision; the store truncates
//     every time it writes, so what a write returns equals what a read returns.
//   - Over-long or malformed values (invalid UTF-8, NUL bytes) are refused
//     with an error matching directory.ErrInvalid; nothing is truncated.
//   - Log listings (sign-ins, provisioning, audit) are newest first; a limit
//     <= 0 means DefaultLogLimit and it is capped at MaxLogLimit.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib" // also registers the database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ssogate/ssogate/sso/directory"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Log listing limits.
const (
	DefaultLogLimit = 100
	MaxLogLimit     = 10000
)

//go:embed migrations
var migrations embed.FS

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// Now is the clock for the times the store fills in; nil means time.Now.
	Now func() time.Time
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
	// StatementTimeout bounds every statement, the wait for its connection,
	// and a transaction's BEGIN and COMMIT (0 = no deadline, for the CLI).
	// Past it the call fails with an error matching directory.ErrUnavailable.
	// Migrations at Open are not bounded by it.
	StatementTimeout time.Duration
}

// Store is a directory.Store on SQLite or PostgreSQL. A Store returned by
// Open is safe for concurrent use; the Store InTx passes to its function is
// bound to one transaction.
type Store struct {
	dialect     string
	now         func() time.Time
	log         *slog.Logger
	stmtTimeout time.Duration

	// Pools. For PostgreSQL, reader == writer. For an SQLite file, writer
	// holds exactly one connection (every write, and every transaction, is
	// serialised through it, so SQLite never answers SQLITE_BUSY inside the
	// process) and reader holds several query-only connections that read
	// concurrently thanks to WAL.
	writer *sql.DB
	reader *sql.DB

	// tx is set on the Store InTx passes to fn: every statement uses it.
	tx *sql.Tx
	// txStmts holds statements prepared inside tx (SQLite), closed with it.
	txStmts *sync.Map
	// managerLocked: tx already holds the manager-links advisory lock.
	managerLocked bool
	// stats decides when the store analyzes employees itself (PostgreSQL);
	// txCreated counts the employees tx created, added to it at commit.
	stats     *planStats
	txCreated int64

	rebound *sync.Map // query with ? placeholders -> PostgreSQL $n form

	// Prepared statements per pool (SQLite only: parsing a statement costs
	// more than running an indexed lookup; pgx caches its own).
	wstmts, rstmts *sync.Map // query -> *sql.Stmt
}

var _ directory.Store = (*Store)(nil)

// ErrURL reports a database URL Open cannot use.
var ErrURL = errors.New("sqlstore: bad database URL")

// Open connects, applies the embedded migrations, and returns the store.
// url is "sqlite:PATH" (PATH may be ":memory:", meant for tests only: the
// database lives as long as the store) or "postgres://..." /
// "postgresql://..." (parameters such as search_path are passed to the
// server, so a schema can be selected).
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	s := &Store{now: opt.Now, log: opt.Logger, rebound: new(sync.Map), stmtTimeout: opt.StatementTimeout}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		s.dialect = DialectSQLite
		s.wstmts, s.rstmts = new(sync.Map), new(sync.Map)
		err = s.openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s.dialect = DialectPostgres
		s.stats = &planStats{}
		s.stats.next.Store(statsFirst)
		err = s.openPostgres(ctx, url)
	default:
		return nil, fmt.Errorf(`%w: want "sqlite:PATH", "sqlite::memory:", "postgres://..." or "postgresql://..."`, ErrURL)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// sqlitePragmas apply to every SQLite connection. busy_timeout covers the
// rare lock held by another process (a CLI run next to the server) and WAL
// checkpoints; inside the process the single writer connection prevents
// contention.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"

func (s *Store) openSQLite(ctx context.Context, path string) error {
	if path == "" {
		return fmt.Errorf(`%w: "sqlite:" needs a file path, e.g. sqlite:/var/lib/ssogate/ssogate.db`, ErrURL)
	}
	if path == ":memory:" {
		// One connection to one private shared-cache database: every
		// statement sees the same data, and the name is unique so two
		// stores in one process never share it.
		var b [8]byte
		_, _ = rand.Read(b[:])
		dsn := "file:ssogate-mem-" + hex.EncodeToString(b[:]) + "?mode=memory&cache=shared&" + sqlitePragmas + "&_txlock=immediate"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return fmt.Errorf("sqlstore: open sqlite memory database: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.writer, s.reader = db, db
		s.rstmts = s.wstmts
		return s.migrate(ctx, goose.DialectSQLite3, nil)
	}
	if strings.HasPrefix(path, "file:") {
		return fmt.Errorf(`%w: give "sqlite:PATH" with a plain file path, not a file: URI`, ErrURL)
	}
	// SQLite decodes %XX in URI file names; escape what would end the path.
	name := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	w, err := sql.Open("sqlite", name+"?"+sqlitePragmas+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.writer = w
	if err := s.migrate(ctx, goose.DialectSQLite3, nil); err != nil {
		_ = w.Close()
		return err
	}
	r, err := sql.Open("sqlite", name+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.reader = r
	if err := r.PingContext(ctx); err != nil {
		_ = s.Close()
		return fmt.Errorf("sqlstore: open sqlite %s for reading: %w", path, err)
	}
	return nil
}

func (s *Store) openPostgres(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	if s.stmtTimeout > 0 {
		// A statement past its deadline is cancelled on the server too
		// (a cancel request), so a write that timed out while waiting for
		// a lock does not happen later; a server that does not answer the
		// cancel loses the connection cancelGrace after the deadline.
		cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelGrace}
		}
		if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > s.stmtTimeout {
			cfg.ConnectTimeout = s.stmtTimeout
		}
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.writer, s.reader = db, db
	// Serialise migrations between instances starting together. The
	// advisory lock is database-wide, so its id is derived from the
	// database and schema: stores in different schemas do not wait on
	// each other.
	var where string
	if err := db.QueryRowContext(ctx, "SELECT current_database() || '.' || COALESCE(current_schema(), '')").Scan(&where); err != nil {
		_ = db.Close()
		return fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	id := int64(crc64.Checksum([]byte("ssogate-migrations:"+where), crc64.MakeTable(crc64.ECMA)) >> 1)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("sqlstore: migration lock: %w", err)
	}
	return s.migrate(ctx, goose.DialectPostgres, locker)
}

func (s *Store) migrate(ctx context.Context, d goose.Dialect, locker lock.SessionLocker) error {
	dir := "migrations/" + s.dialect
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSlog(s.log), goose.WithDisableGlobalRegistry(true)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d, s.writer, fsys, opts...)
	if err != nil {
		_ = s.writer.Close()
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		_ = s.writer.Close()
		return fmt.Errorf("sqlstore: apply %s migrations: %w", s.dialect, err)
	}
	for _, r := range res {
		s.log.Info("sqlstore: migration applied", "dialect", s.dialect, "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if s.tx != nil {
		return nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", classify(err))
	}
	return nil
}

// Close releases the connections. Inside InTx it does nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	err := s.writer.Close()
	if s.reader != s.writer {
		err = errors.Join(err, s.reader.Close())
	}
	return err
}

// InTx runs fn in one transaction on the writer connection. If fn returns
// an error (or panics), the transaction is rolled back. On SQLite the
// transaction starts with BEGIN IMMEDIATE, so a transaction that reads
// before it writes can never deadlock or fail with SQLITE_BUSY.
func (s *Store) InTx(ctx context.Context, fn func(tx directory.Store) error) error {
	return s.inTx(ctx, func(tx *Store) error { return fn(tx) })
}

func (s *Store) inTx(ctx context.Context, fn func(tx *Store) error) (err error) {
	if s.tx != nil {
		return fn(s)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := s.watchdog(cancel)
	tx, err := s.writer.BeginTx(ctx, nil)
	if stop() {
		if err == nil {
			_ = tx.Rollback()
		}
		return fmt.Errorf("sqlstore: begin: %w", classify(errStepTimeout))
	}
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", classify(err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	t := *s
	t.tx = tx
	if s.wstmts != nil {
		t.txStmts = new(sync.Map)
	}
	if err := fn(&t); err != nil {
		return err
	}
	stop = s.watchdog(cancel)
	err = tx.Commit()
	if stop() && err != nil {
		err = errors.Join(errStepTimeout, err)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: commit: %w", s.translate(err))
	}
	committed = true
	s.promote(ctx, t.txStmts)
	if t.txCreated > 0 {
		s.noteCreated(ctx, t.txCreated)
	}
	return nil
}

// promote prepares on the writer pool, once, the queries a transaction had
// to prepare for itself (the pool's one connection was the transaction's),
// so later transactions reuse them instead of parsing the SQL again. The
// transaction is over, so the connection is free.
func (s *Store) promote(ctx context.Context, txStmts *sync.Map) {
	if txStmts == nil {
		return
	}
	txStmts.Range(func(k, _ any) bool {
		query := k.(string)
		if _, ok := s.wstmts.Load(query); ok {
			return true
		}
		st, err := s.writer.PrepareContext(context.WithoutCancel(ctx), query)
		if err != nil {
			return true
		}
		if _, loaded := s.wstmts.LoadOrStore(query, st); loaded {
			_ = st.Close()
		}
		return true
	})
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) w() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.writer
}

func (s *Store) r() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.reader
}

// q turns a query written with ? placeholders into the dialect's form.
// Queries never contain a literal '?'.
func (s *Store) q(query string) string {
	if s.dialect != DialectPostgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	out := rebind(query)
	s.rebound.Store(query, out)
	return out
}

// rebind turns the '?' placeholders of query into PostgreSQL's $1, $2, …
// A '?' inside a string literal ('…', E'…'), a quoted identifier ("…"), a
// dollar-quoted string ($tag$…$tag$) or a comment is left alone, and "??"
// stands for one literal '?' (PostgreSQL's jsonb operators ?, ?| and ?&).
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				if c == '\'' && query[j] == '\\' && i > 0 && (query[i-1] == 'E' || query[i-1] == 'e') {
					j++ // E'…' escapes
				}
				j++
			}
			j = min(j+1, len(query))
			b.WriteString(query[i:j])
			i = j
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			end := len(query)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$' && dollarTag(query[i:]) != "":
			tag := dollarTag(query[i:])
			end := len(query)
			if j := strings.Index(query[i+len(tag):], tag); j >= 0 {
				end = i + len(tag) + j + len(tag)
			}
			b.WriteString(query[i:end])
			i = end
		case c == '?' && strings.HasPrefix(query[i:], "??"):
			b.WriteByte('?')
			i += 2
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// dollarTag returns the opening tag of a dollar-quoted string at the start
// of s ("$$" or "$name$"), or "" when s does not start one ($1 is not one).
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1]
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// stmt returns the cached prepared statement for query (already in the
// dialect's form) on the writer or the reader pool, bound to s.tx inside a
// transaction. It returns nil on PostgreSQL (pgx caches its own). Inside a
// transaction a query the pool has not prepared yet is prepared on the
// transaction only: preparing on the pool would wait for the one writer
// connection the transaction holds.
func (s *Store) stmt(ctx context.Context, write bool, query string) *sql.Stmt {
	if s.wstmts == nil {
		return nil
	}
	db, cache := s.reader, s.rstmts
	if write || s.tx != nil {
		db, cache = s.writer, s.wstmts
	}
	v, ok := cache.Load(query)
	if !ok {
		if s.tx != nil {
			if v, ok := s.txStmts.Load(query); ok {
				return v.(*sql.Stmt)
			}
			st, err := s.tx.PrepareContext(ctx, query)
			if err != nil {
				return nil
			}
			s.txStmts.Store(query, st)
			return st
		}
		st, err := db.PrepareContext(ctx, query)
		if err != nil {
			return nil // let the plain call report the error
		}
		if v, ok = cache.LoadOrStore(query, st); ok {
			_ = st.Close()
		} else {
			v = st
		}
	}
	if s.tx != nil {
		return s.tx.StmtContext(ctx, v.(*sql.Stmt))
	}
	return v.(*sql.Stmt)
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	query = s.q(query)
	var res sql.Result
	var err error
	if st := s.stmt(ctx, true, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = s.w().ExecContext(ctx, query, args...)
	}
	return res, s.translate(err)
}

func (s *Store) queryRowW(ctx context.Context, query string, args ...any) *row {
	ctx, cancel := s.bound(ctx)
	query = s.q(query)
	if st := s.stmt(ctx, true, query); st != nil {
		return &row{st.QueryRowContext(ctx, args...), cancel}
	}
	return &row{s.w().QueryRowContext(ctx, query, args...), cancel}
}

func (s *Store) queryRowR(ctx context.Context, query string, args ...any) *row {
	ctx, cancel := s.bound(ctx)
	query = s.q(query)
	if st := s.stmt(ctx, false, query); st != nil {
		return &row{st.QueryRowContext(ctx, args...), cancel}
	}
	return &row{s.r().QueryRowContext(ctx, query, args...), cancel}
}

func (s *Store) queryR(ctx context.Context, query string, args ...any) (*rows, error) {
	ctx, cancel := s.bound(ctx)
	query = s.q(query)
	var rs *sql.Rows
	var err error
	if st := s.stmt(ctx, false, query); st != nil {
		rs, err = st.QueryContext(ctx, args...)
	} else {
		rs, err = s.r().QueryContext(ctx, query, args...)
	}
	if err != nil {
		cancel()
		return nil, s.translate(err)
	}
	return &rows{rs, cancel}, nil
}

// execOne runs a write that must change a row: none is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", directory.ErrNotFound, what)
	}
	return nil
}

// conflictFields maps unique constraints to the field a ConflictError
// names: PostgreSQL reports the constraint (or index) name, SQLite the
// constrained columns.
var conflictFields = map[string]string{
	"companies_slug_key":     "slug",
	"companies.slug":         "slug",
	"employees_pkey":         "id",
	"employees.id":           "id",
	"employees_username_key": "userName",
	"employees.username_norm, employees.company_id":     "userName",
	"employees_email_key":                               "email",
	"employees.email_norm, employees.company_id":        "email",
	"employees_object_id_key":                           "entraObjectId",
	"employees.entra_object_id, employees.company_id":   "entraObjectId",
	"certificates_sha256_key":                           "certificate",
	"certificates.company_id, certificates.sha256":      "certificate",
	"scim_tokens_hash_key":                              "token",
	"scim_tokens.hash":                                  "token",
	"admins_email_key":                                  "email",
	"admins.company_id, admins.email_norm":              "email",
	"oauth_clients_client_id_key":                       "clientId",
	"oauth_clients.company_id, oauth_clients.client_id": "clientId",
	"department_approvers_pkey":                         "departmentApprover",
	"scim_clients_client_id_key":                        "clientId",
	"scim_clients.company_id, scim_clients.client_id":   "clientId",
	"scim_client_secrets_hash_key":                      "secret",
	"scim_client_secrets.hash":                          "secret",
	"scim_access_tokens_pkey":                           "token",
	"scim_access_tokens.hash":                           "token",
	"signing_keys_pkey":                                 "seq",
	"signing_keys.seq":                                  "seq",
	"signing_keys_kid_key":                              "kid",
	"signing_keys.kid":                                  "kid",
}

// translate maps driver errors onto directory's sentinels: unique
// violations become *directory.ConflictError, foreign-key violations
// ErrNotFound (the referenced company or employee does not exist), check
// violations ErrInvalid, and sql.ErrNoRows ErrNotFound.
func (s *Store) translate(err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return classify(err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", directory.ErrNotFound, err)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return conflict(pg.ConstraintName, err)
		case "23503":
			return fmt.Errorf("%w: referenced company or employee does not exist (%s)", directory.ErrNotFound, pg.ConstraintName)
		case "23514", "22001", "22021", "22P05":
			return fmt.Errorf("%w: %s", directory.ErrInvalid, pg.Message)
		}
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			msg := se.Error()
			key := msg
			if i := strings.LastIndex(msg, "constraint failed: "); i >= 0 {
				key = msg[i+len("constraint failed: "):]
				if j := strings.Index(key, " ("); j >= 0 {
					key = key[:j]
				}
			}
			return conflict(key, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: referenced company or employee does not exist", directory.ErrNotFound)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE:
			return fmt.Errorf("%w: %s", directory.ErrInvalid, se.Error())
		}
	}
	return err
}

func conflict(key string, err error) error {
	if f, ok := conflictFields[key]; ok {
		return &directory.ConflictError{Field: f}
	}
	return fmt.Errorf("%w: %w", directory.ErrConflict, err)
}

// Planner statistics (PostgreSQL). pgx prepares each statement once per
// connection, and after a few runs PostgreSQL keeps a generic plan for it
// until the table's statistics change. A plan made while employees has no
// statistics and next to no rows costs every index that contains
// company_id the same, so it may look a userName up through, say, the
// manager-reference index, and keeps doing so as the table grows: every
// lookup then reads all the company's employees (an initial sync of 10,000
// employees slowed down threefold). Autovacuum normally analyzes the table
// early; where it is off or late, the store runs ANALYZE itself once this
// process has created statsFirst employees and again at every statsGrowth
// times that, each time only if the table's row estimate is still below
// half of what was created. ANALYZE samples a bounded number of rows and
// makes PostgreSQL plan the cached statements again.
const (
	statsFirst  = 256
	statsGrowth = 8
)

type planStats struct {
	created atomic.Int64
	next    atomic.Int64 // created count of the next check
	running atomic.Bool
}

// noteCreated counts created employees and, past a threshold, checks the
// planner statistics in the background. Inside a transaction it only
// counts: the rows are counted when the transaction commits, as an ANALYZE
// that ran before would not see them (and would record a table it believes
// empty).
func (s *Store) noteCreated(ctx context.Context, created int64) {
	if s.stats == nil {
		return
	}
	if s.tx != nil {
		s.txCreated += created
		return
	}
	n := s.stats.created.Add(created)
	next := s.stats.next.Load()
	if n < next || !s.stats.next.CompareAndSwap(next, next*statsGrowth) {
		return
	}
	if !s.stats.running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.stats.running.Store(false)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.refreshStats(ctx, n); err != nil {
			s.log.Warn("sqlstore: analyze employees", "err", err)
		}
	}()
}

// refreshStats analyzes employees when the planner believes it holds
// fewer than created/2 rows (or has never been analyzed).
func (s *Store) refreshStats(ctx context.Context, created int64) error {
	var est float64
	if err := s.writer.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'employees'::regclass`).Scan(&est); err != nil {
		return err
	}
	if est >= float64(created)/2 {
		return nil
	}
	_, err := s.writer.ExecContext(ctx, `ANALYZE employees`)
	if err == nil {
		s.log.Info("sqlstore: analyzed employees for the query planner", "estimate_before", est, "created", created)
	}
	return err
}

// newID returns 128 random bits as 32 lower-case hex digits.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sqlstore: random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

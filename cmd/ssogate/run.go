package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/memstore"
	"github.com/ssogate/ssogate/session/redisstore"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/web"
)

// env is what every command gets: configuration, streams and a logger.
type env struct {
	cfg    config.Config
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

const usage = `usage: ssogate <command> [arguments]

commands:
  serve                                  run the gateway (default)
  demo                                   run the gateway with a built-in fake Entra and a demo company
  company create SLUG --name NAME        create a company
  sso show SLUG                          values to paste into Entra, trusted certificates
  sso set-cert SLUG --file PATH|-        trust a pasted certificate [--retire-others]
  sso retire-cert SLUG --sha1 THUMBPRINT stop trusting a certificate
  sso configure SLUG [--nameid upn|mail] [--enabled true|false] [--entra-identifier URL] [--login-url URL]
                     [--metadata-url URL]  Entra's App Federation Metadata Url: certificates follow it ("" removes it)
  sso refresh SLUG                       fetch the metadata now and print what changed
  scim token SLUG [--label L]            mint a SCIM bearer token (printed once)
  scim token SLUG --revoke ID            revoke a SCIM token;  scim tokens SLUG lists them
  scim log SLUG [--employee ID] [--errors] [--limit N]   the provisioning log
  scim client add SLUG [--label L] [--expires 1y|2y|3y]   OAuth client (client credentials) for Entra; id and secret printed once
  scim client add SLUG --client-id ID [--expires …]        another secret for that client (rotation)
  scim client list SLUG;  scim client remove SLUG CLIENT_ID [--secret SECRET_ID]
  admin create SLUG --email E [--password-file PATH]     a setup admin with a local password
  employees import SLUG --file PATH.csv  import employees (header: userName,email,givenName,familyName,…)
  employees list SLUG [--search S]       list employees
  employees link SLUG --id ID|--user NAME --object-id OID
                                         link an employee to an Entra account (after a detach, or a new account)
  sessions revoke SLUG --employee ID     end every session and token of an employee
  oauth client add|list|remove SLUG …    mobile app clients
  config                                 list every SSOGATE_* setting

Every command reads the same SSOGATE_* environment as serve.
`

// runEnviron is run for a whole process environment: it also refuses
// SSOGATE_* variables that are no setting, reporting them with every other
// configuration problem at once.
func runEnviron(ctx context.Context, args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := config.Environ(environ)
	if err := config.CheckNames(env); err != nil {
		_, lerr := config.Load(env.Getenv)
		return fmt.Errorf("configuration:\n%w", errors.Join(lerr, err))
	}
	return run(ctx, args, env.Getenv, stdin, stdout, stderr)
}

// run is the whole program behind main, testable in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	lg, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	e := &env{cfg: cfg, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, log: lg}
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return e.serve(ctx, args[1:])
	case "demo":
		return e.demo(ctx, args[1:])
	case "company":
		return e.companyCmd(ctx, args[1:])
	case "sso":
		return e.ssoCmd(ctx, args[1:])
	case "scim":
		return e.scimCmd(ctx, args[1:])
	case "admin":
		return e.adminCmd(ctx, args[1:])
	case "employees":
		return e.employeesCmd(ctx, args[1:])
	case "sessions":
		return e.sessionsCmd(ctx, args[1:])
	case "oauth":
		return e.oauthCmd(ctx, args[1:])
	case "config":
		for _, k := range config.Keys() {
			fmt.Fprintf(stdout, "%-30s default %-28s %s\n", k.Name, k.Default, k.Meaning)
		}
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (try: ssogate help)", args[0])
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// openDirectory opens the directory database named by the configuration.
// Administrative commands run without a statement deadline; serve and demo
// use openStores, which sets SSOGATE_DB_TIMEOUT.
func (e *env) openDirectory(ctx context.Context) (directory.Store, error) {
	return e.openDirectoryWith(ctx, 0)
}

func (e *env) openDirectoryWith(ctx context.Context, stmtTimeout time.Duration) (directory.Store, error) {
	st, err := sqlstore.Open(ctx, e.cfg.DatabaseURL, sqlstore.Options{Logger: e.log, StatementTimeout: stmtTimeout})
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", config.Redacted(e.cfg.DatabaseURL), err)
	}
	return st, nil
}

// openSessions opens Redis, or the in-process store when none is set.
func (e *env) openSessions(ctx context.Context) (session.Store, error) {
	if e.cfg.RedisURL == "" {
		return memstore.New(memstore.Options{}), nil
	}
	redisstore.SetLogger(e.log.With("component", "redis"))
	st, err := redisstore.Open(ctx, e.cfg.RedisURL, redisstore.Options{Timeout: e.cfg.RedisTimeout})
	if err != nil {
		return nil, fmt.Errorf("open session store %s: %w", config.Redacted(e.cfg.RedisURL), err)
	}
	return st, nil
}

func (e *env) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sqlite, mem := e.cfg.Embedded()
	if sqlite {
		e.log.Info("directory: embedded SQLite (set SSOGATE_DATABASE_URL=postgres://… for production)", "database", e.cfg.DatabaseURL)
	} else {
		e.log.Info("directory: PostgreSQL", "database", config.Redacted(e.cfg.DatabaseURL))
	}
	if mem {
		e.log.Warn("sessions: embedded in-process store; sessions, the replay cache and SAML request state are not shared between instances (set SSOGATE_REDIS_URL for production)")
	} else {
		e.log.Info("sessions: Redis", "redis", config.Redacted(e.cfg.RedisURL))
	}
	dir, sess, closeStores, err := e.openStores(ctx)
	if err != nil {
		return err
	}
	defer closeStores()
	return e.listenAndServe(ctx, web.Deps{Config: e.cfg, Dir: dir, Sessions: sess, Logger: e.log}, nil)
}

// openStores opens the directory and the session store; close releases both.
func (e *env) openStores(ctx context.Context) (directory.Store, session.Store, func(), error) {
	dir, err := e.openDirectoryWith(ctx, e.cfg.DBTimeout)
	if err != nil {
		return nil, nil, nil, err
	}
	sess, err := e.openSessions(ctx)
	if err != nil {
		dir.Close()
		return nil, nil, nil, err
	}
	return dir, sess, func() { sess.Close(); dir.Close() }, nil
}

// listenAndServe runs the server until ctx ends, then drains and shuts down:
// /readyz answers 503 for SSOGATE_DRAIN_DELAY while every request is still
// served (and each connection closes after its response), so a load
// balancer stops sending traffic; then the listener closes, requests in
// flight get SSOGATE_SHUTDOWN_TIMEOUT to finish, and the queued sign-in
// records are written before the caller closes the stores. ready, when set,
// is called with the bound address.
func (e *env) listenAndServe(ctx context.Context, d web.Deps, ready func(addr string)) error {
	srv, err := web.New(d)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("SSOGATE_ADDR: %w", err)
	}
	stopMetrics, err := e.serveMetrics(srv)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelWarn)}
	gogc := tuneGC()
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	go srv.RunBackground(bg)
	e.log.Info("listening", "addr", ln.Addr().String(), "public_url", e.cfg.PublicURL, "gogc", gogc)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.Drain()
	hs.SetKeepAlivesEnabled(false)
	if d := e.cfg.DrainDelay; d > 0 {
		e.log.Info("draining: still serving while the load balancer notices", "drain_delay", d)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return err
		}
	}
	e.log.Info("shutting down: listener closed, finishing requests in flight", "shutdown_timeout", e.cfg.ShutdownTimeout)
	shut, cancelShut := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancelShut()
	var failed error
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		failed = fmt.Errorf("shutdown: requests still running after SSOGATE_SHUTDOWN_TIMEOUT (%s): %w", e.cfg.ShutdownTimeout, err)
		_ = hs.Close()
	}
	cancel() // background work ends before the stores close
	flush, cancelFlush := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancelFlush()
	if err := srv.Close(flush); err != nil {
		failed = errors.Join(failed, fmt.Errorf("shutdown: queued sign-in records not written: %w", err))
	}
	if failed == nil {
		e.log.Info("shut down cleanly")
	}
	return failed
}

// serveGCPercent is the garbage collector's target while serving, unless
// the operator sets Go's own GOGC. A login allocates about 470 KB (most of
// it crewjam/saml's XML decoding) over a live heap of a few MB, so at Go's
// default of 100 the collector runs dozens of times a second under load.
// At 400 a login costs 30–40 % less CPU for about 10 MB more RSS
// (docs/benchmarks.md); GOMEMLIMIT, when set, still caps the heap.
const serveGCPercent = 400

// tuneGC applies serveGCPercent unless GOGC is set, and returns the value
// in force.
func tuneGC() string {
	if v, ok := os.LookupEnv("GOGC"); ok && v != "" {
		return v
	}
	debug.SetGCPercent(serveGCPercent)
	return strconv.Itoa(serveGCPercent)
}

// newFlags makes a FlagSet that reports errors on stderr and allows flags
// after positional arguments (ssogate sso show acme --x).
func (e *env) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseInterleaved parses flags that may follow positional arguments and
// returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// oneSlug parses flags and exactly one SLUG positional.
func oneSlug(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%s: expected one company SLUG, got %d arguments", fs.Name(), len(pos))
	}
	return strings.TrimSpace(pos[0]), nil
}

package test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
)

// The fault test runs its own Redis and PostgreSQL, so it can kill, stall
// and restart them without disturbing the services other tests share. It
// needs:
//   - redis-server (Redis 7): SSOGATE_TEST_REDIS_SERVER, else the one on PATH;
//   - PostgreSQL's initdb and pg_ctl: SSOGATE_TEST_PG_BIN (a bin directory),
//     else the newest /usr/lib/postgresql/*/bin (Debian's postgresql package);
//   - as root: the postgres user and runuser (initdb refuses to run as root).
//
// Both listen on free loopback ports; the cluster lives in a temporary
// directory and is thrown away. Without the binaries the test is skipped,
// except under SSOGATE_TEST_REQUIRE=1 (scripts/test.sh), where it fails.

func faultNeed(t *testing.T, what, why string) {
	t.Helper()
	if os.Getenv(testenv.EnvRequire) == "1" {
		t.Fatalf("%s: %s (%s=1)", what, why, testenv.EnvRequire)
	}
	t.Skipf("%s: %s", what, why)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "free port")
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisProc is a private redis-server with an append-only file (fsync on
// every write), so a SIGKILL loses nothing that was acknowledged.
type redisProc struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisProc {
	t.Helper()
	bin := os.Getenv("SSOGATE_TEST_REDIS_SERVER")
	if bin == "" {
		bin, _ = exec.LookPath("redis-server")
	}
	if bin == "" {
		faultNeed(t, "redis-server", "not found (set SSOGATE_TEST_REDIS_SERVER or install redis-server)")
	}
	r := &redisProc{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *redisProc) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir, "--enable-debug-command", "yes",
		"--logfile", filepath.Join(r.dir, "redis.log"))
	testenv.Must(r.t, r.cmd.Start(), "start redis-server")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if reply, err := r.raw("PING"); err == nil && reply == "+PONG" {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("redis-server did not answer on port %d:\n%s", r.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends redis-server with SIGKILL: no shutdown, no final save.
func (r *redisProc) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// waitStalled returns once redis-server stops answering (a DEBUG SLEEP
// sent on another connection has begun).
func (r *redisProc) waitStalled() {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err != nil {
			r.t.Fatalf("dial redis-server: %v", err)
		}
		_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = fmt.Fprint(c, "PING\r\n")
		_, err = bufio.NewReader(c).ReadString('\n')
		c.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatal("redis-server kept answering: the stall did not begin")
}

// raw sends one inline command on a fresh connection and returns the
// first line of the reply.
func (r *redisProc) raw(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// pgCluster is a private PostgreSQL cluster made with initdb.
type pgCluster struct {
	t    *testing.T
	bin  string
	dir  string
	port int
}

func pgBin(t *testing.T) string {
	if b := os.Getenv("SSOGATE_TEST_PG_BIN"); b != "" {
		return b
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	faultNeed(t, "PostgreSQL", "initdb not found (set SSOGATE_TEST_PG_BIN or install postgresql)")
	return ""
}

func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	p := &pgCluster{t: t, bin: pgBin(t), port: freePort(t)}
	dir, err := os.MkdirTemp("", "ssogate-fault-pg-")
	testenv.Must(t, err, "temp dir")
	p.dir = dir
	t.Cleanup(func() {
		_ = p.pgctl("stop", "-m", "immediate").Run()
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			faultNeed(t, "PostgreSQL", "running as root needs the postgres user for initdb")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		testenv.Must(t, os.Chown(dir, uid, gid), "chown the cluster directory")
	}
	out, err := p.cmd("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start()
	return p
}

func (p *pgCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// cmd runs a PostgreSQL program, as the postgres user when we are root.
func (p *pgCluster) cmd(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

func (p *pgCluster) pgctl(args ...string) *exec.Cmd {
	return p.cmd("pg_ctl", append([]string{"-D", filepath.Join(p.dir, "data"), "-w", "-t", "60"}, args...)...)
}

func (p *pgCluster) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60",
		p.port, p.dir)
	if out, err := p.pgctl("-l", filepath.Join(p.dir, "postgres.log"), "-o", opts, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
		p.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop shuts the cluster down the way an operator's restart does ("fast":
// sessions are ended, nothing acknowledged is lost).
func (p *pgCluster) stop() {
	p.t.Helper()
	if out, err := p.pgctl("stop", "-m", "fast").CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// buildGateway builds cmd/ssogate once for the test, for the SIGTERM drain
// of a real process.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ssogate")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/ssogate").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/ssogate: %v\n%s", err, out)
	}
	return bin
}

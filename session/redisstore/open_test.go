package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssogate/ssogate/internal/testenv"
)

// parsed is what a test compares of a parsed URL, whichever kind of client
// it makes.
type parsed struct {
	kind                       string // single, sentinel, cluster
	addrs                      []string
	user, pass                 string
	sentinelUser, sentinelPass string
	master                     string
	db                         int
	tls                        bool
	serverName                 string
	dial, read                 time.Duration
	pool, retries              int
	clientName                 string
}

func summary(t target) parsed {
	var tc *tls.Config
	var p parsed
	switch {
	case t.single != nil:
		o := t.single
		p = parsed{kind: "single", addrs: []string{o.Addr}, user: o.Username, pass: o.Password, db: o.DB,
			dial: o.DialTimeout, read: o.ReadTimeout, pool: o.PoolSize, retries: o.MaxRetries, clientName: o.ClientName}
		tc = o.TLSConfig
	case t.failover != nil:
		o := t.failover
		p = parsed{kind: "sentinel", addrs: o.SentinelAddrs, user: o.Username, pass: o.Password,
			sentinelUser: o.SentinelUsername, sentinelPass: o.SentinelPassword, master: o.MasterName, db: o.DB,
			dial: o.DialTimeout, read: o.ReadTimeout, pool: o.PoolSize, retries: o.MaxRetries, clientName: o.ClientName}
		tc = o.TLSConfig
	case t.cluster != nil:
		o := t.cluster
		p = parsed{kind: "cluster", addrs: o.Addrs, user: o.Username, pass: o.Password,
			dial: o.DialTimeout, read: o.ReadTimeout, pool: o.PoolSize, retries: o.MaxRetries, clientName: o.ClientName}
		tc = o.TLSConfig
	}
	if tc != nil {
		p.tls, p.serverName = true, tc.ServerName
		if tc.MinVersion != tls.VersionTLS12 {
			p.serverName += " (MinVersion not TLS 1.2)"
		}
	}
	return p
}

func TestParseURL(t *testing.T) {
	good := []struct {
		url  string
		want parsed
	}{
		// One server.
		{"redis://u:p%40ss@10.0.0.1:6380/3?dial_timeout=2s", parsed{kind: "single", addrs: []string{"10.0.0.1:6380"}, user: "u", pass: "p@ss", db: 3, dial: 2 * time.Second}},
		{"redis://cache", parsed{kind: "single", addrs: []string{"cache:6379"}}},
		{"redis://:pw@[::1]/0?db=2&pool_size=20&client_name=gw&read_timeout=3&max_retries=4",
			parsed{kind: "single", addrs: []string{"[::1]:6379"}, pass: "pw", db: 2, pool: 20, clientName: "gw", read: 3 * time.Second, retries: 4}},
		{"rediss://cache.example.com", parsed{kind: "single", addrs: []string{"cache.example.com:6379"}, tls: true, serverName: "cache.example.com"}},
		// Sentinel: the user info is the master's, sentinel_* the sentinels'.
		{"redis+sentinel://s1/m", parsed{kind: "sentinel", addrs: []string{"s1:26379"}, master: "m"}},
		{"redis+sentinel://:mpw@s1:26379,s2,[::1]:26380/mymaster?db=2&sentinel_password=spw&dial_timeout=1500ms",
			parsed{kind: "sentinel", addrs: []string{"s1:26379", "s2:26379", "[::1]:26380"}, pass: "mpw", sentinelPass: "spw", master: "mymaster", db: 2, dial: 1500 * time.Millisecond}},
		{"redis+sentinel://app:m%2Fp%3Fw@s1/my%20master?sentinel_username=sen&sentinel_password=x&sentinel_password=s%26pw&pool_size=7&client_name=gw&read_timeout=2",
			parsed{kind: "sentinel", addrs: []string{"s1:26379"}, user: "app", pass: "m/p?w", sentinelUser: "sen", sentinelPass: "s&pw", master: "my master", pool: 7, clientName: "gw", read: 2 * time.Second}},
		{"redis+sentinel://:p@ss:w@s1/m", parsed{kind: "sentinel", addrs: []string{"s1:26379"}, pass: "p@ss:w", master: "m"}},
		{"redis+sentinel://s1/m?sentinel_username=sen", parsed{kind: "sentinel", addrs: []string{"s1:26379"}, sentinelUser: "sen", master: "m"}},
		// Every node is checked against its own name, not the first host's.
		{"rediss+sentinel://app:pw@s1,s2:5000/m", parsed{kind: "sentinel", addrs: []string{"s1:26379", "s2:5000"}, user: "app", pass: "pw", master: "m", tls: true}},
		// Cluster: the user info is the nodes'.
		{"redis+cluster://h1", parsed{kind: "cluster", addrs: []string{"h1:6379"}}},
		{"redis+cluster://admin:pw@h1:7000,h2,[fd00::2]:7002?pool_size=20&read_timeout=250ms&max_retries=2",
			parsed{kind: "cluster", addrs: []string{"h1:7000", "h2:6379", "[fd00::2]:7002"}, user: "admin", pass: "pw", pool: 20, read: 250 * time.Millisecond, retries: 2}},
		{"redis+cluster://u:p@ss@h1", parsed{kind: "cluster", addrs: []string{"h1:6379"}, user: "u", pass: "p@ss"}},
		{"rediss+cluster://h1:7000,h2:7001", parsed{kind: "cluster", addrs: []string{"h1:7000", "h2:7001"}, tls: true}},
	}
	for _, c := range good {
		tg, err := parseURL(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if got := summary(tg); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.url, got, c.want)
		}
	}

	bad := []struct{ url, says string }{
		{"127.0.0.1:6379", "want redis://"},
		{"http://u:secret@h", "scheme"},
		{"unix://u:secret@/run/redis.sock", "scheme"},
		{"redis://u:secret@h1:bad/0", "port"},
		{"redis://u:secret@h1/notadb", "database"},
		{"redis://u:secret@h1/-1", "0 or more"},
		{"redis://u:secret@h1/0?db=-2", "0 or more"},
		{"redis://u:secret@h1/0?pool_size=-1", "pool_size"},
		{"redis://u:secret@h1/0?nope=1", "unexpected option: nope"},
		{"redis://u:secret@h1/0?password=secret2", "unexpected option: password"},
		{"redis://u:secret%zz@h1", "escape"},

		{"redis+sentinel://u:secret@s1,s2", "master name"},
		{"redis+sentinel://u:secret@s1/", "master name"},
		{"redis+sentinel://u:secret@s1/a/b", "master name"},
		{"redis+sentinel://u:secret@s1?master_name=m", "master name"},
		{"redis+sentinel://u:secret@s1/m?master_name=n", "option master_name"},
		{"redis+sentinel://u:secret@s1/m?password=secret2", "option password"},
		{"redis+sentinel://u:secret@s1/m?username=v", "option username"},
		{"redis+sentinel://u:secret@s1:0/m", "port"},
		{"redis+sentinel://u:secret@s1:99999/m", "port"},
		{"redis+sentinel://u:secret@s1:x/m", "port"},
		{"redis+sentinel://u:secret@s1,,s2/m", "empty host"},
		{"redis+sentinel://u:secret@s1/m?db=x", "database"},
		{"redis+sentinel://u:secret@s1/m?db=-1", "0 or more"},
		{"redis+sentinel://u:secret@s1/m?pool_size=-1", "pool_size"},
		{"redis+sentinel://u:secret@s1/m?color=red", "unexpected option: color"},
		{"redis+sentinel://u:secret@s1/m?dial_timeout=soon", "dial_timeout"},
		{"redis+sentinel://u:secret@s1/m?x=%zz", "query"},
		{"redis+sentinel://u:secret@s1/m?route_by_latency=true", "route_by_latency"},
		{"redis+sentinel://u:secret@s1/m?replica_only=true", "replica_only"},
		{"redis+sentinel://u:secret%zz@s1/m", "percent-encoding"},
		{"redis+sentinel://u:secret@s1/m?sentinel_password=secret2&skip_verify=maybe", "skip_verify"},

		{"redis+cluster://u:secret@h1/2", "no path"},
		{"redis+cluster://u:secret@h1/", "no path"},
		{"redis+cluster://u:secret@h1?db=1", "unexpected option: db"},
		{"redis+cluster://u:secret@h1?sentinel_password=x", "unexpected option: sentinel_password"},
		{"redis+cluster://u:secret@h1?pool_size=-1", "pool_size"},
		{"redis+cluster://u:secret@h1?pool_size=many", "pool_size"},
		{"redis+cluster://u:secret@h1?read_timeout=soon", "read_timeout"},
		{"redis+cluster://u:secret@h1?read_only=true", "read_only"},
		{"redis+cluster://u:secret@h1?route_randomly=true", "route_randomly"},
		{"redis+cluster://u:secret@h1?addr=nohostport", "addr"},
		{"redis+cluster://u:secret@::1", "brackets"},
		{"redis+cluster://u:secret@h1,:7000", "no name"},
		{"redis+cluster://u:secret%zz@h1", "percent-encoding"},
	}
	for _, c := range bad {
		_, err := parseURL(c.url)
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("%s: %v, want ErrBadURL", c.url, err)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q does not say %q", c.url, err, c.says)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error repeats the password: %q", c.url, err)
		}
	}
}

// redisServer starts a private redis-server (a Sentinel with extra
// argument --sentinel) from the configuration conf on a free loopback
// port, and returns the port once it accepts connections.
func redisServer(t *testing.T, conf string, args ...string) int {
	t.Helper()
	bin := os.Getenv("SSOGATE_TEST_REDIS_SERVER")
	if bin == "" {
		bin, _ = exec.LookPath("redis-server")
	}
	if bin == "" {
		if os.Getenv(testenv.EnvRequire) == "1" {
			t.Fatalf("redis-server not found (set SSOGATE_TEST_REDIS_SERVER) and %s=1", testenv.EnvRequire)
		}
		t.Skip("redis-server not found (set SSOGATE_TEST_REDIS_SERVER)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "free port")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "redis.conf")
	conf = fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n", port, dir, filepath.Join(dir, "redis.log")) + conf
	testenv.Must(t, os.WriteFile(file, []byte(conf), 0o600), "write redis.conf")
	cmd := exec.Command(bin, append([]string{file}, args...)...)
	testenv.Must(t, cmd.Start(), "start redis-server")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not listen on port %d:\n%s", port, log)
		}
	}
}

// deadPort is a loopback port nothing listens on.
func deadPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "free port")
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The Sentinel form against a real Sentinel whose master and sentinel
// have different users: the user info reaches the master, the
// sentinel_* options the sentinel, db the master's database.
func TestOpenSentinel(t *testing.T) {
	master := redisServer(t, "save \"\"\nuser default off\nuser app on >m%pw ~* &* +@all\n")
	sentinel := redisServer(t, fmt.Sprintf("sentinel monitor gw 127.0.0.1 %d 1\nsentinel auth-user gw app\nsentinel auth-pass gw m%%pw\n"+
		"user default off\nuser sen on >s&pw ~* &* +@all\n", master), "--sentinel")
	ctx := context.Background()
	url := fmt.Sprintf("redis+sentinel://app:m%%25pw@127.0.0.1:%d,127.0.0.1:%d/gw?db=3&sentinel_username=sen&sentinel_password=s%%26pw&dial_timeout=1s",
		deadPort(t), sentinel)
	s, err := Open(ctx, url, Options{Prefix: "t:", Timeout: 2 * time.Second})
	testenv.Must(t, err, "open %s", "Sentinel")
	defer s.Close()
	if _, _, err := s.Count(ctx, "k", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	direct := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", master), Username: "app", Password: "m%pw", DB: 3})
	defer direct.Close()
	if n, err := direct.Exists(ctx, "t:n:k").Result(); err != nil || n != 1 {
		t.Fatalf("the counter is not in the master's database 3: %d, %v", n, err)
	}

	// The credentials the other way round (as go-redis's own failover URL
	// reads them) are refused by both servers.
	swapped := fmt.Sprintf("redis+sentinel://sen:s%%26pw@127.0.0.1:%d/gw?sentinel_username=app&sentinel_password=m%%25pw", sentinel)
	if s, err := Open(ctx, swapped, Options{Timeout: 2 * time.Second}); err == nil {
		s.Close()
		t.Fatal("Open with the sentinel's and the master's credentials swapped succeeded")
	} else if strings.Contains(err.Error(), "pw") {
		t.Fatalf("error repeats a password: %v", err)
	}
}

// The Cluster form against a real one-node cluster, with a dead seed node
// listed first.
func TestOpenCluster(t *testing.T) {
	node := redisServer(t, "save \"\"\ncluster-enabled yes\ncluster-announce-ip 127.0.0.1\nuser default off\nuser app on >c+pw ~* &* +@all\n")
	ctx := context.Background()
	setup := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", node), Username: "app", Password: "c+pw"})
	defer setup.Close()
	testenv.Must(t, setup.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(), "assign the slots")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if info, _ := setup.ClusterInfo(ctx).Result(); strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not come up")
		}
	}
	url := fmt.Sprintf("redis+cluster://app:c%%2Bpw@127.0.0.1:%d,127.0.0.1:%d?dial_timeout=1s", deadPort(t), node)
	s, err := Open(ctx, url, Options{Prefix: "t:", Timeout: 2 * time.Second})
	testenv.Must(t, err, "open %s", "Cluster")
	defer s.Close()
	if _, ok := s.c.(*redis.ClusterClient); !ok {
		t.Fatalf("client is a %T, want *redis.ClusterClient", s.c)
	}
	if n, _, err := s.Count(ctx, "k", 1, time.Minute); err != nil || n != 1 {
		t.Fatalf("Count: %d, %v", n, err)
	}
	if n, err := setup.Exists(ctx, "t:n:k").Result(); err != nil || n != 1 {
		t.Fatalf("the counter is not on the node: %d, %v", n, err)
	}
}

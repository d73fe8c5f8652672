package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session/redisstore"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// stallBound is what a stalled Redis may cost a request at the default
// SSOGATE_REDIS_TIMEOUT (500 ms): about a second, with room for a loaded
// machine.
const stallBound = 1200 * time.Millisecond

// TestFaultsWithRealRedisAndPostgres serves through two gateway instances
// that share a Redis and a PostgreSQL this test runs itself, and injects
// the faults operators meet: Redis stalled (DEBUG SLEEP), Redis killed and
// restarted, PostgreSQL stopped for a few seconds during an Entra sync, and
// SIGTERM to a running ssogate process. The gateways run with the default
// deadlines; each fault must give the answer its caller understands, in
// bounded time, and service must come back without restarting a gateway.
func TestFaultsWithRealRedisAndPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rd := startRedis(t)
	pg := startPostgres(t)
	bin := make(chan string, 1)
	go func() { bin <- buildGateway(t) }() // meanwhile

	defaults := config.Defaults()
	open := func() (*sqlstore.Store, *redisstore.Store) {
		dir, err := sqlstore.Open(ctx, pg.URL(), sqlstore.Options{StatementTimeout: defaults.DBTimeout})
		testenv.Must(t, err, "open postgres")
		t.Cleanup(func() { dir.Close() })
		sess, err := redisstore.Open(ctx, rd.URL(), redisstore.Options{Timeout: defaults.RedisTimeout})
		testenv.Must(t, err, "open redis")
		t.Cleanup(func() { sess.Close() })
		return dir, sess
	}
	dirA, sessA := open()
	a := newGWOn(t, dirA, sessA, nil)
	dirB, sessB := open()
	b := newGWOn(t, dirB, sessB, a, func(c *configT) { c.PublicURL = a.URL }) // one public URL, two instances
	tok, _, err := mintSCIMToken(ctx, dirA, a.company.ID, "entra")
	testenv.Must(t, err, "mint SCIM token")
	maja := a.signedInBrowser(t, "maja.holm@acme.example")
	if st, _ := b.me(maja, "acme"); st != http.StatusOK {
		t.Fatalf("the session made on A is not valid on B: %d", st)
	}
	login := func(g *gw) answer {
		return g.acsReq(t, newBrowser(), a.signed(a.assertion("acme", "lars.jensen@acme.example")))
	}
	readyz := func(g *gw) answer {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/readyz", nil)
		return doReq(t, nil, req)
	}

	t.Run("redis stalled", func(t *testing.T) {
		slept := make(chan error, 1)
		go func() {
			reply, err := rd.raw("DEBUG SLEEP 4")
			if err == nil && reply != "+OK" {
				err = fmt.Errorf("DEBUG SLEEP: %s", reply)
			}
			slept <- err
		}()
		rd.waitStalled()
		var me, acs, ready answer
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); me = b.meReq(t, maja) }()
		go func() { defer wg.Done(); acs = login(a) }()
		go func() { defer wg.Done(); ready = readyz(a) }()
		wg.Wait()
		wantOutageJSON(t, "/api/me on B", me)
		wantOutagePage(t, "ACS on A", acs)
		for what, got := range map[string]answer{"/api/me": me, "ACS": acs} {
			if got.took > stallBound {
				t.Errorf("%s took %s with Redis stalled (bound %s)", what, got.took, stallBound)
			}
		}
		if ready.status != http.StatusServiceUnavailable || ready.took > defaults.ReadyTimeout+300*time.Millisecond {
			t.Errorf("/readyz with Redis stalled: %d %s in %s (limit %s)", ready.status, ready.body, ready.took, defaults.ReadyTimeout)
		}
		testenv.Must(t, <-slept, "DEBUG SLEEP")
		if got := b.meReq(t, maja); got.status != http.StatusOK {
			t.Fatalf("/api/me after the stall: %d %s", got.status, got.body)
		}
	})

	t.Run("redis killed", func(t *testing.T) {
		rd.kill()
		wantOutagePage(t, "ACS on A", login(a))
		wantOutageJSON(t, "/api/me on B", b.meReq(t, maja))
		failures, err := dirA.ListSignIns(ctx, a.company.ID, true, 10)
		testenv.Must(t, err, "list failures")
		if len(failures) != 0 {
			t.Fatalf("the outage was stored as a refused sign-in: %+v", failures)
		}
		metrics := scrape(t, a)
		if !strings.Contains(metrics, `ssogate_unavailable_total{route="acs",store="sessions"}`) ||
			!strings.Contains(metrics, `ssogate_logins_total{outcome="unavailable",reason="sessions"}`) ||
			strings.Contains(metrics, `outcome="refused"`) {
			t.Fatalf("the outage is not counted as one:\n%s", grepLines(metrics, "ssogate_unavailable_total", "ssogate_logins_total"))
		}
		rd.start() // same port, same append-only file
		if got := b.meReq(t, maja); got.status != http.StatusOK {
			t.Fatalf("/api/me after Redis restarted (the session was acknowledged, so kept): %d %s", got.status, got.body)
		}
		if got := login(a); got.status != http.StatusSeeOther {
			t.Fatalf("ACS after Redis restarted: %d %s", got.status, got.body)
		}
	})

	t.Run("postgres down during a sync", func(t *testing.T) {
		// Entra's provisioning: each user is POSTed until it is created;
		// a 503 is retried after a pause, a 409 after a lost answer means
		// the user exists. Instances alternate.
		const users = 30
		type seen struct {
			status int
			scim   bool
			retry  bool
			took   time.Duration
		}
		var mu sync.Mutex
		var answers []seen
		var wg sync.WaitGroup
		down, stopped := make(chan struct{}), make(chan struct{})
		errs := make(chan error, users)
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < users; i += 3 {
					if i >= users/2 {
						<-down // the second half is sent while PostgreSQL is down
					}
					g := []*gw{a, b}[i%2]
					user := fmt.Sprintf("sync.%02d@acme.example", i)
					retried := false
					for start := time.Now(); ; {
						r := g.scimReq(t, tok, http.MethodPost, "/Users", newcomerJSON(user))
						mu.Lock()
						answers = append(answers, seen{r.status, strings.HasPrefix(r.header.Get("Content-Type"), "application/scim+json"),
							r.header.Get("Retry-After") != "", r.took})
						mu.Unlock()
						if r.status == http.StatusCreated || (r.status == http.StatusConflict && retried) {
							break
						}
						if r.status != http.StatusServiceUnavailable || time.Since(start) > 30*time.Second {
							errs <- fmt.Errorf("POST %s: %d %s", user, r.status, r.body)
							return
						}
						retried = true
						select {
						case <-stopped:
							time.Sleep(100 * time.Millisecond)
						default:
							time.Sleep(300 * time.Millisecond)
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
			}(w)
		}
		time.Sleep(300 * time.Millisecond)
		pg.stop()
		close(down)
		time.Sleep(3 * time.Second)
		pg.start()
		close(stopped)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		outages := 0
		for _, s := range answers {
			if !s.scim {
				t.Errorf("a SCIM answer that is not a SCIM body: %+v", s)
			}
			if s.status == http.StatusServiceUnavailable {
				outages++
				if !s.retry || s.took > defaults.DBTimeout+500*time.Millisecond {
					t.Errorf("a 503 without Retry-After or past the deadline: %+v", s)
				}
			}
		}
		if outages == 0 {
			t.Fatalf("no 503 while PostgreSQL was down (%d answers)", len(answers))
		}
		list, total, err := dirB.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: a.company.ID, Search: "sync.", Limit: 1000})
		testenv.Must(t, err, "list employees")
		if total != users || len(list) != users {
			t.Fatalf("after the sync %d employees exist (want %d, each once)", total, users)
		}
		t.Logf("%d SCIM answers, %d of them 503 while PostgreSQL was down", len(answers), outages)
		if got := b.meReq(t, maja); got.status != http.StatusOK {
			t.Fatalf("/api/me after PostgreSQL restarted: %d %s", got.status, got.body)
		}
	})

	t.Run("SIGTERM drains a running process", func(t *testing.T) {
		path := <-bin
		port := freePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		base := "http://" + addr
		cmd := exec.Command(path, "serve")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
			"SSOGATE_ADDR=" + addr, "SSOGATE_DATABASE_URL=" + pg.URL(), "SSOGATE_REDIS_URL=" + rd.URL(),
			"SSOGATE_METRICS_ADDR=off", "SSOGATE_DRAIN_DELAY=1s", "SSOGATE_LOG_LEVEL=warn"}
		var logs strings.Builder
		cmd.Stdout, cmd.Stderr = syncWriter{&logs}, syncWriter{&logs}
		testenv.Must(t, cmd.Start(), "start ssogate serve")
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		client := &http.Client{Timeout: 3 * time.Second}
		status := func() int {
			r, err := client.Get(base + "/readyz")
			if err != nil {
				return 0
			}
			r.Body.Close()
			return r.StatusCode
		}
		for start := time.Now(); status() != http.StatusOK; time.Sleep(30 * time.Millisecond) {
			if time.Since(start) > 20*time.Second {
				t.Fatalf("ssogate serve did not become ready:\n%s", logs.String())
			}
		}
		// A sign-in in flight: headers and half the body before SIGTERM.
		saml, err := a.idp.ResponseBase64(ssotest.Assertion{ACSURL: base + "/c/acme/saml/acs", Audience: base + "/c/acme/saml/metadata",
			NameID: "lars.jensen@acme.example", Email: "lars@acme.example", GivenName: "Lars", FamilyName: "Jensen"})
		testenv.Must(t, err, "sign")
		form := url.Values{"SAMLResponse": {saml}}.Encode()
		conn, err := net.Dial("tcp", addr)
		testenv.Must(t, err, "dial")
		defer conn.Close()
		half := len(form) / 2
		_, err = io.WriteString(conn, "POST /c/acme/saml/acs HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Content-Length: "+strconv.Itoa(len(form))+"\r\n\r\n"+form[:half])
		testenv.Must(t, err, "write")
		time.Sleep(100 * time.Millisecond)

		testenv.Must(t, cmd.Process.Signal(syscall.SIGTERM), "SIGTERM")
		signalled := time.Now()
		draining := false
		for time.Since(signalled) < 10*time.Second {
			st := status()
			if st == 0 {
				break
			}
			draining = draining || st == http.StatusServiceUnavailable
			time.Sleep(30 * time.Millisecond)
		}
		closed := time.Since(signalled)
		if !draining || closed < 800*time.Millisecond {
			t.Fatalf("/readyz 503 before the listener closed: %v; closed after %s (drain delay 1s)\n%s", draining, closed, logs.String())
		}
		select {
		case err := <-exited:
			t.Fatalf("ssogate exited (%v) with a request in flight\n%s", err, logs.String())
		default:
		}
		_, err = io.WriteString(conn, form[half:])
		testenv.Must(t, err, "finish the body")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		testenv.Must(t, err, "in-flight answer")
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the in-flight sign-in: %d\n%s", resp.StatusCode, logs.String())
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("ssogate exit after SIGTERM: %v\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("ssogate did not exit after the drain\n%s", logs.String())
		}
		list, err := dirA.ListSignIns(ctx, a.company.ID, false, 100)
		testenv.Must(t, err, "list sign-ins")
		found := false
		for _, ev := range list {
			found = found || (ev.Success && ev.NameID == "lars.jensen@acme.example" && ev.At.After(signalled.Add(-time.Second)))
		}
		if !found {
			t.Fatalf("the in-flight sign-in's record is missing after the drain: %+v", list)
		}
	})
}

func scrape(t *testing.T, g *gw) string {
	t.Helper()
	resp, err := http.Get(g.metricsURL + "/metrics")
	testenv.Must(t, err, "GET /metrics")
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

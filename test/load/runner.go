package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// common are the flags every load command takes.
type common struct {
	n        int
	c        int
	max      time.Duration
	pid      int
	start    string
	wait     string
	out      string
	label    string
	failLog  int
	warmup   int
	startCmd *exec.Cmd
}

func (o *common) register(fs *flag.FlagSet, n, c int) {
	fs.IntVar(&o.n, "n", n, "operations to run (upper bound)")
	fs.IntVar(&o.c, "c", c, "concurrent workers")
	fs.DurationVar(&o.max, "max", 60*time.Second, "stop after this long even if -n is not reached")
	fs.IntVar(&o.pid, "pid", 0, "server process id, for CPU µs per operation and RSS (0 = not measured)")
	fs.StringVar(&o.start, "start", "", "start the server with this shell command (exec'd; its pid is measured; killed at the end)")
	fs.StringVar(&o.wait, "wait", "", "with -start: URL to poll until it answers (default: the target URL's /healthz)")
	fs.StringVar(&o.out, "out", "", "append the result as a JSON line to this file")
	fs.StringVar(&o.label, "label", "", "name of this run in the report (e.g. ssogate/sqlite+memory)")
	fs.IntVar(&o.failLog, "show-failures", 3, "print the first N failures")
	fs.IntVar(&o.warmup, "warmup", 0, "operations run before measuring (not counted)")
}

// loopbackOnly refuses any URL whose host is not a loopback address.
func loopbackOnly(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%q: the load driver talks to loopback addresses only (127.0.0.0/8, ::1, localhost)", raw)
	}
	return u, nil
}

// newClient is a keep-alive client sized for c workers, never following
// redirects, refusing to dial anything but loopback.
func newClient(c int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, IdleConnTimeout: 30 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return nil, fmt.Errorf("refusing to dial non-loopback %s", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startServer runs o.start (if set) and waits until waitURL answers.
func (o *common) startServer(ctx context.Context, waitURL string) error {
	if o.start == "" {
		return nil
	}
	if o.wait != "" {
		waitURL = o.wait
	}
	if _, err := loopbackOnly(waitURL); err != nil {
		return err
	}
	cmd := exec.Command("sh", "-c", "exec "+o.start)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	o.startCmd, o.pid = cmd, cmd.Process.Pid
	cl := newClient(1)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if resp, err := cl.Get(waitURL); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	o.stopServer()
	return fmt.Errorf("server did not answer %s within 60s", waitURL)
}

func (o *common) stopServer() {
	if o.startCmd == nil {
		return
	}
	_ = o.startCmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = o.startCmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = o.startCmd.Process.Kill()
		<-done
	}
	o.startCmd = nil
}

// procCPU returns utime+stime of pid (0 = this process) in microseconds.
func procCPU(pid int) (time.Duration, error) {
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	b, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("unreadable utime/stime")
	}
	const clkTck = 100 // USER_HZ on every Linux this runs on
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// procMemKB returns VmRSS and VmHWM of pid in KiB.
func procMemKB(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}

// Result is one run, as printed and as written to -out.
type Result struct {
	Label      string    `json:"label"`
	Kind       string    `json:"kind"` // login | me | scim | lookup
	Target     string    `json:"target"`
	At         time.Time `json:"at"`
	Ops        int       `json:"ops"`
	Failures   int       `json:"failures"`
	Concurrent int       `json:"concurrency"`
	Seconds    float64   `json:"seconds"`
	PerSec     float64   `json:"per_sec"`
	P50ms      float64   `json:"p50_ms"`
	P99ms      float64   `json:"p99_ms"`
	ServerCPU  float64   `json:"server_cpu_us_per_op,omitempty"` // 0 = not measured
	DriverCPU  float64   `json:"driver_cpu_us_per_op"`
	RSSMiB     float64   `json:"server_rss_mib,omitempty"`
	HWMMiB     float64   `json:"server_peak_rss_mib,omitempty"`
	Requests   int       `json:"http_requests"`
	Load1      string    `json:"load_avg,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// op performs operation i and returns how many HTTP requests it made and
// an error for a failure.
type op func(ctx context.Context, i int) (int, error)

// drive runs n operations on c workers, bounded by max, and measures them.
func (o *common) drive(ctx context.Context, kind, target string, fn op) (*Result, error) {
	if o.c < 1 || o.n < 1 {
		return nil, errors.New("-n and -c must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, o.max)
	defer cancel()
	for i := range o.warmup {
		_, _ = fn(ctx, -1-i)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, o.c)
	var fails atomic.Int64
	var reqs atomic.Int64
	var failMu sync.Mutex
	shown := 0
	cpu0, cpuErr := procCPU(o.pid)
	if o.pid == 0 {
		cpuErr = errors.New("no pid")
	}
	self0, _ := procCPU(0)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, o.n/o.c+1)
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					break
				}
				t := time.Now()
				k, err := fn(ctx, i)
				mine = append(mine, time.Since(t))
				reqs.Add(int64(k))
				if err != nil {
					if ctx.Err() != nil {
						mine = mine[:len(mine)-1]
						break
					}
					fails.Add(1)
					failMu.Lock()
					if shown < o.failLog {
						shown++
						fmt.Fprintf(os.Stderr, "load: %s failure: %v\n", kind, err)
					}
					failMu.Unlock()
				}
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	self1, _ := procCPU(0)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := &Result{Label: o.label, Kind: kind, Target: target, At: time.Now().UTC(), Ops: len(all),
		Failures: int(fails.Load()), Concurrent: o.c, Seconds: elapsed.Seconds(), Requests: int(reqs.Load())}
	if r.Label == "" {
		r.Label = kind + " " + target
	}
	if len(all) > 0 {
		r.PerSec = float64(len(all)-r.Failures) / elapsed.Seconds()
		r.P50ms = ms(all[len(all)/2])
		r.P99ms = ms(all[min(len(all)-1, len(all)*99/100)])
		r.DriverCPU = float64((self1 - self0).Microseconds()) / float64(len(all))
	}
	if cpuErr == nil {
		if cpu1, err := procCPU(o.pid); err == nil && len(all) > 0 {
			r.ServerCPU = float64((cpu1 - cpu0).Microseconds()) / float64(len(all))
		}
		rss, hwm := procMemKB(o.pid)
		r.RSSMiB, r.HWMMiB = float64(rss)/1024, float64(hwm)/1024
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Load1 = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if len(all) < o.n && ctx.Err() != nil {
		r.Note = fmt.Sprintf("stopped by -max %s after %d of %d", o.max, len(all), o.n)
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// emit prints r and appends it to -out.
func (o *common) emit(r *Result) error {
	fmt.Printf("%-34s %7d ops %5d fail  %9.1f /s  p50 %7.2f ms  p99 %7.2f ms  server %7.0f µs/op  driver %6.0f µs/op  rss %6.1f MiB (peak %.1f)  load %s %s\n",
		r.Label, r.Ops, r.Failures, r.PerSec, r.P50ms, r.P99ms, r.ServerCPU, r.DriverCPU, r.RSSMiB, r.HWMMiB, r.Load1, r.Note)
	if o.out == "" {
		return nil
	}
	f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(r)
}

// expect reads and discards the body, and checks the status with ok:
// expect(client.Do(req))(ok).
func expect(resp *http.Response, err error) func(ok func(int) bool) error {
	return func(ok func(int) bool) error { return check(resp, err, ok) }
}

func check(resp *http.Response, err error, ok func(int) bool) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ok(resp.StatusCode) {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.Join(strings.Fields(string(b)), " "))
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkCmd runs wrk (a C load generator, far lighter per request than a Go
// HTTP client) against a loopback URL with a Lua script, and records the
// run like the driver's own: throughput, p50/p99 from wrk's latency
// distribution, non-2xx answers as failures, server CPU per request and
// RSS. On 2 shared cores the driver's own CPU is part of every latency, so
// the session check is measured both ways.
func wrkCmd(ctx context.Context, args []string) error {
	var o common
	fs := flag.NewFlagSet("wrk", flag.ContinueOnError)
	target := fs.String("url", "", "URL to load, e.g. http://127.0.0.1:8080/c/bench/api/me")
	script := fs.String("script", "test/load/wrk-me.lua", "wrk Lua script")
	cookies := fs.String("cookies", "", "cookie file for the script (load me -cookies-out)")
	dur := fs.Duration("d", 10*time.Second, "run length")
	fs.IntVar(&o.c, "c", 32, "connections")
	fs.IntVar(&o.pid, "pid", 0, "server process id, for CPU µs per request and RSS (0 = not measured)")
	fs.StringVar(&o.out, "out", "", "append the result as a JSON line to this file")
	fs.StringVar(&o.label, "label", "", "name of this run in the report")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := loopbackOnly(*target); err != nil {
		return err
	}
	if *cookies == "" {
		return errors.New("wrk: -cookies is required (write it with: load me -cookies-out FILE)")
	}
	if _, err := os.Stat(*cookies); err != nil {
		return fmt.Errorf("wrk: -cookies: %w", err)
	}
	if *dur <= 0 || *dur > 2*time.Minute || o.c < 1 || o.c > 1024 {
		return errors.New("wrk: -d must be in (0, 2m] and -c in [1, 1024]")
	}
	cpu0, cpuErr := procCPU(o.pid)
	cmd := exec.CommandContext(ctx, "wrk", "-t1", "-c"+strconv.Itoa(o.c), "-d"+dur.String(), "--latency", "-s", *script, *target)
	cmd.Env = append(os.Environ(), "COOKIES="+*cookies)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return err
	}
	r.Label, r.Kind, r.Target, r.At, r.Concurrent = o.label, "wrk", *target, time.Now().UTC(), o.c
	r.Seconds = elapsed.Seconds()
	if r.Label == "" {
		r.Label = "wrk " + *target
	}
	if cpuErr == nil && o.pid > 0 && r.Ops > 0 {
		if cpu1, err := procCPU(o.pid); err == nil {
			r.ServerCPU = float64((cpu1 - cpu0).Microseconds()) / float64(r.Ops)
		}
		rss, hwm := procMemKB(o.pid)
		r.RSSMiB, r.HWMMiB = float64(rss)/1024, float64(hwm)/1024
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Load1 = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	r.Note = "driver: wrk"
	return o.emit(r)
}

var (
	wrkPct      = regexp.MustCompile(`^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkRequests = regexp.MustCompile(`^\s*(\d+) requests in `)
	wrkRate     = regexp.MustCompile(`^Requests/sec:\s+([\d.]+)`)
	wrkNon2xx   = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSockErr  = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's --latency report.
func parseWrk(out string) (*Result, error) {
	r := &Result{}
	var seen int
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := wrkPct.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			switch m[3] {
			case "us":
				v /= 1000
			case "s":
				v *= 1000
			}
			if m[1] == "50" {
				r.P50ms = v
			} else {
				r.P99ms = v
			}
			seen++
		} else if m := wrkRequests.FindStringSubmatch(line); m != nil {
			r.Ops, _ = strconv.Atoi(m[1])
			r.Requests = r.Ops
			seen++
		} else if m := wrkRate.FindStringSubmatch(line); m != nil {
			r.PerSec, _ = strconv.ParseFloat(m[1], 64)
			seen++
		} else if m := wrkNon2xx.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			r.Failures += n
		} else if m := wrkSockErr.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.Atoi(s)
				r.Failures += n
			}
		}
	}
	if seen < 4 {
		return nil, fmt.Errorf("wrk: unreadable report:\n%s", out)
	}
	if r.Ops > 0 && r.Failures > 0 {
		// wrk's rate counts every answer; count only the good ones.
		r.PerSec *= float64(r.Ops-r.Failures) / float64(r.Ops)
	}
	return r, nil
}

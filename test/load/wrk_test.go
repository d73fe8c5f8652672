package main

import "testing"

func TestParseWrk(t *testing.T) {
	out := `Running 8s test @ http://127.0.0.1:18080/c/bench/api/me
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.11ms   17.79ms 208.05ms   88.93%
    Req/Sec     3.59k     2.60k   12.19k    67.09%
  Latency Distribution
     50%  610.00us
     75%   15.97ms
     90%   32.86ms
     99%    1.08s
  28584 requests in 8.09s, 18.39MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   3534.57
Transfer/sec:      2.27MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ops != 28584 || r.P50ms != 0.61 || r.P99ms != 1080 || r.Failures != 10 {
		t.Fatalf("parsed %+v", r)
	}
	if want := 3534.57 * float64(28584-10) / 28584; r.PerSec != want {
		t.Fatalf("rate %v, want %v (good answers only)", r.PerSec, want)
	}
	if _, err := parseWrk("wrk: unable to connect"); err == nil {
		t.Fatal("an unreadable report parsed")
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// reportCmd prints the results of one bench run as a Markdown table, then
// the ratios the performance targets are stated in. Ratios pair labels:
// -ratio 'A/B' prints A's throughput divided by B's, their CPU per
// operation likewise, and how much A's median latency adds to B's.
func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	in := fs.String("in", "", "results file (JSON lines written by -out)")
	var ratios multi
	fs.Var(&ratios, "ratio", "LABEL_A/LABEL_B: print A's throughput over B's (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("report: -in is required")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	var rs []Result
	byLabel := map[string]Result{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s: %w", *in, err)
		}
		rs = append(rs, r)
		byLabel[r.Label] = r
	}
	fmt.Println("| run | ops | fail | C | ops/s | p50 ms | p99 ms | server CPU µs/op | server RSS MiB (peak) | load avg |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rs {
		cpu := "–"
		if r.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.0f", r.ServerCPU)
		}
		rss := "–"
		if r.RSSMiB > 0 {
			rss = fmt.Sprintf("%.1f (%.1f)", r.RSSMiB, r.HWMMiB)
		}
		label := r.Label
		if r.Note != "" {
			label += " (" + r.Note + ")"
		}
		fmt.Printf("| %s | %d | %d | %d | %.0f | %.2f | %.2f | %s | %s | %s |\n", label, r.Ops, r.Failures, r.Concurrent,
			r.PerSec, r.P50ms, r.P99ms, cpu, rss, r.Load1)
	}
	if len(ratios) > 0 {
		fmt.Println()
		fmt.Println("| ratio A ÷ B | throughput | server CPU per op | p50 A − B |")
		fmt.Println("|---|---:|---:|---:|")
	}
	for _, q := range ratios {
		a, b, ok := strings.Cut(q, "/")
		ra, okA := byLabel[a]
		rb, okB := byLabel[b]
		if !ok || !okA || !okB || rb.PerSec == 0 {
			fmt.Printf("| %s | n/a | n/a | n/a |\n", q)
			continue
		}
		cpu := "–"
		if ra.ServerCPU > 0 && rb.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.2f×", ra.ServerCPU/rb.ServerCPU)
		}
		fmt.Printf("| %s ÷ %s | %.2f× | %s | %+.2f ms |\n", a, b, ra.PerSec/rb.PerSec, cpu, ra.P50ms-rb.P50ms)
	}
	return sc.Err()
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

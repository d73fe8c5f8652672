// Command load is ssogate's load driver: it measures logins at any ACS URL
// (ssogate's, or the crewjam baselines in test/baseline), session checks at
// /api/me, and an Entra-shaped SCIM initial sync, and reports throughput,
// latency percentiles, failures and the server's CPU time per operation.
//
// It only ever talks to loopback addresses, and every run is bounded both in
// request count (-n) and in time (-max). Signed responses are minted before
// the clock starts, one per request, each used once.
//
//	load keygen -dir D                      a fake Entra signing key + certificate
//	load seed   -dir D -db URL -public URL  company "bench", that certificate, N employees, a SCIM token
//	load login  -dir D -acs URL -audience URL [-n -c -pid -start]
//	load me     -dir D -base URL/c/bench [-sessions -n -c -pid]
//	load scim   -base URL/c/bench/scim/v2 -token-file F [-n -c -pid]
//	load lookup -base URL/c/bench/scim/v2 -token-file F -employees N   userName filter lookups of existing employees
//	load wrk    -url URL/c/bench/api/me -cookies F [-c -d -pid]      the session check driven by wrk
//	load upstream  -addr A [-size N]          the stand-in product the proxy runs forward to
//	load bareproxy -addr A -to URL           httputil.ReverseProxy, the proxy baseline
//	load report -in results.jsonl           the table, with ratios
//
// It is a test tool: it imports the fake Entra (sso/ssotest) and, for seed,
// the directory store; nothing in the gateway imports it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: load <keygen|seed|login|me|scim|lookup|wrk|upstream|bareproxy|report> [flags]   (load <command> -h for flags)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Println(usage)
		fmt.Println(`
  keygen  write a fake Entra key, certificate and issuer into -dir
  seed    create company "bench" trusting that certificate, with -employees employees and a SCIM token
  login   POST freshly signed Entra-shaped responses to -acs (IdP-initiated), -c workers, each response once
  me      log in -sessions browsers through the ACS, then GET /api/me with their cookies
  scim    Entra's initial sync: per employee GET ?filter=userName eq, POST /Users, PATCH manager
  lookup  GET ?filter=userName eq for existing employees (index-backed lookup at the directory's size)
  wrk     run wrk (lighter than this driver) on /api/me with the cookies of "me -cookies-out", record it alike
  upstream   serve a small page on a loopback address (the product for the proxy runs)
  bareproxy  a bare httputil.ReverseProxy to -to (the proxy baseline)
  report  print the results (JSON lines) as a table with ratios`)
		return nil
	}
	switch args[0] {
	case "keygen":
		return keygenCmd(args[1:])
	case "seed":
		return seedCmd(ctx, args[1:])
	case "login":
		return loginCmd(ctx, args[1:])
	case "me":
		return meCmd(ctx, args[1:])
	case "scim":
		return scimCmd(ctx, args[1:])
	case "lookup":
		return lookupCmd(ctx, args[1:])
	case "wrk":
		return wrkCmd(ctx, args[1:])
	case "upstream":
		return upstreamCmd(ctx, args[1:])
	case "bareproxy":
		return bareProxyCmd(ctx, args[1:])
	case "report":
		return reportCmd(args[1:])
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

#!/usr/bin/env bash
# One command for every performance figure ssogate publishes (issue 6):
#   1. go test -bench for the hot paths (in process, no sockets);
#   2. the load driver (test/load) over loopback HTTP against
#        ssogate on the embedded stores (SQLite + in-process sessions),
#        ssogate on PostgreSQL + Redis with 100,000 employees,
#        crewjam's samlsp default ACS and a bare ParseResponse server (test/baseline),
#      all trusting the same fake Entra certificate, in the same run;
#   3. a table with the ratios the targets are stated in.
# Services start as scripts/test.sh starts them. Loopback only; bounded
# (every driver run has -n and -max). Not run by CI.
#
#   scripts/bench.sh            # everything (about 5–8 minutes on 2 cores)
#   QUICK=1 scripts/bench.sh    # smaller counts, no go test -bench (about 2 minutes)
#   ONLY=proxy scripts/bench.sh # only the product-behind-the-gateway runs (about 1 minute)
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=bench.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

QUICK=${QUICK:-}
LOGINS=${LOGINS:-1500}       # logins per ACS target
ME=${ME:-40000}              # /api/me requests per backend
SYNC=${SYNC:-3000}           # employees per SCIM initial sync
LOOKUPS=${LOOKUPS:-5000}     # filter lookups per directory size
BIG=${BIG:-100000}           # employees in the PostgreSQL directory
WRK=${WRK:-10s}              # length of each wrk run on /api/me
if [ -n "$QUICK" ]; then LOGINS=400 ME=10000 SYNC=600 LOOKUPS=1500 WRK=4s BIG=${BIG_QUICK:-20000}; fi
PORT_GW=18080 PORT_BASE=18090 PORT_UP=18070 PORT_BARE=18071
ONLY=${ONLY:-}
PROXY_D=${PROXY_D:-$WRK}     # length of each wrk run of the proxy comparison

ensure_postgres
ensure_redis
ensure_wrk

work=$(mktemp -d /tmp/ssogate-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "building ssogate, baseline and the load driver"
go build -o "$work/bin/" ./cmd/ssogate ./test/baseline ./test/load
L="$work/bin/load"
R="$work/results.jsonl"
: >"$R"

if [ -z "$QUICK" ] && [ "$ONLY" != proxy ]; then
  log "go test -bench (hot paths, in process)"
  export SSOGATE_TEST_POSTGRES_URL="$PGURL" SSOGATE_TEST_REDIS_URL="$REDISURL" SSOGATE_TEST_REQUIRE=1
  go test -run '^$' -benchmem -bench 'ParseResponse$' -benchtime 300x ./sso/ | grep -E '^Benchmark' | tee "$work/gobench.txt"
  go test -run '^$' -benchmem -bench 'ACS|SessionCheck' -benchtime 2s ./web/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt"
  go test -run '^$' -benchmem -bench 'Current' -benchtime 1s ./session/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt"
  go test -run '^$' -benchmem -bench 'FindEmployeeByUserName$' -benchtime 3000x ./sso/directory/sqlstore/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt"
  go test -run '^$' -bench 'FilterLookup' -benchtime 2000x ./sso/scim/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt" || true
  go test -run '^$' -benchmem -bench 'PatchApply' -benchtime 2s ./sso/scim/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt" || true
fi
if [ -z "$QUICK" ]; then
  go test -run '^$' -benchmem -bench 'Mint' -benchtime 1s ./identity/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt"
  go test -run '^$' -benchmem -bench 'ProxiedGET|AuthRequest' -benchtime 2s ./web/ | grep -E '^Benchmark' | tee -a "$work/gobench.txt"
fi

log "fake Entra key; seeding directories"
"$L" keygen -dir "$work/idp"
issuer=$(cat "$work/idp/issuer.txt")
pgadmin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
for db in ssogate_bench_big ssogate_bench_small; do
  psql "$pgadmin" -qc "drop database if exists $db" -qc "create database $db"
done
if [ "$ONLY" = proxy ]; then BIG=1000; fi
PG_BIG="postgres://postgres@127.0.0.1:5432/ssogate_bench_big?sslmode=disable"
PG_SMALL="postgres://postgres@127.0.0.1:5432/ssogate_bench_small?sslmode=disable"
mkdir -p "$work/emb" "$work/big" "$work/small"
for d in emb big small; do cp "$work/idp/"* "$work/$d/"; done
"$L" seed -dir "$work/emb" -db "sqlite:$work/emb/gw.db" -employees 1000
"$L" seed -dir "$work/big" -db "$PG_BIG" -employees "$BIG"
"$L" seed -dir "$work/small" -db "$PG_SMALL" -employees 1000
psql "$PG_BIG" -qc analyze
psql "$PG_SMALL" -qc analyze

gw_env() { # $1 database URL, $2 Redis URL ("" = in-process)
  echo "env SSOGATE_ADDR=127.0.0.1:$PORT_GW SSOGATE_METRICS_ADDR=off SSOGATE_SIGNIN_RATE=0 SSOGATE_PUBLIC_URL=http://127.0.0.1:$PORT_GW SSOGATE_DATABASE_URL=$1 SSOGATE_REDIS_URL=$2 SSOGATE_LOG_LEVEL=error $work/bin/ssogate serve"
}
start_bg() { # command...; sets $srv to its pid once it answers /healthz on $port
  local port=$1; shift
  "$@" >"$work/server.log" 2>&1 &
  srv=$!
  pids+=("$srv")
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  cat "$work/server.log" >&2
  log "server did not start"
  exit 1
}
stop_bg() { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; }

GW=http://127.0.0.1:$PORT_GW/c/bench
BASE=http://127.0.0.1:$PORT_BASE

if [ "$ONLY" != proxy ]; then

log "baselines: crewjam samlsp default ACS and bare ParseResponse"
start_bg "$PORT_BASE" "$work/bin/baseline" -addr "127.0.0.1:$PORT_BASE" -cert "$work/idp/idp-cert.pem" -issuer "$issuer"
"$L" login -dir "$work/idp" -acs "$BASE/raw/saml/acs" -n "$LOGINS" -c 4 -warmup 100 -pid "$srv" -max 90s -label "raw ParseResponse" -out "$R"
"$L" login -dir "$work/idp" -acs "$BASE/samlsp/saml/acs" -n "$LOGINS" -c 4 -warmup 100 -pid "$srv" -max 90s -label "samlsp default ACS" -out "$R"
stop_bg
# The same baselines with the garbage-collector setting ssogate serves with
# (GOGC=400, see cmd/ssogate), so the table shows what is tuning and what is code.
start_bg "$PORT_BASE" env GOGC=400 "$work/bin/baseline" -addr "127.0.0.1:$PORT_BASE" -cert "$work/idp/idp-cert.pem" -issuer "$issuer"
"$L" login -dir "$work/idp" -acs "$BASE/raw/saml/acs" -n "$LOGINS" -c 4 -warmup 100 -pid "$srv" -max 90s -label "raw ParseResponse, GOGC=400" -out "$R"
"$L" login -dir "$work/idp" -acs "$BASE/samlsp/saml/acs" -n "$LOGINS" -c 4 -warmup 100 -pid "$srv" -max 90s -label "samlsp default ACS, GOGC=400" -out "$R"
stop_bg

log "ssogate, embedded stores (SQLite + in-process sessions), 1,000 employees"
start_bg "$PORT_GW" $(gw_env "sqlite:$work/emb/gw.db" "")
"$L" login -dir "$work/emb" -acs "$GW/saml/acs" -employees 1000 -n "$LOGINS" -c 4 -warmup 1000 -pid "$srv" -max 90s -label "ssogate login (sqlite+memory)" -out "$R"
"$L" me -dir "$work/emb" -base "$GW" -employees 1000 -n "$ME" -c 32 -pid "$srv" -max 30s -label "ssogate /api/me (sqlite+memory)" -out "$R"
"$L" me -dir "$work/emb" -base "$GW" -employees 1000 -sessions 64 -cookies-out "$work/cookies"
"$L" wrk -url "$GW/api/me" -cookies "$work/cookies" -c 32 -d "$WRK" -pid "$srv" -label "ssogate /api/me, wrk (sqlite+memory)" -out "$R"
"$L" scim -base "$GW/scim/v2" -token-file "$work/emb/scim-token" -n "$SYNC" -c 8 -pid "$srv" -max 40s -label "ssogate SCIM sync (sqlite)" -out "$R"
stop_bg

log "ssogate, PostgreSQL + Redis, $BIG employees"
start_bg "$PORT_GW" $(gw_env "$PG_BIG" "redis://127.0.0.1:6379/15")
"$L" login -dir "$work/big" -acs "$GW/saml/acs" -employees 1000 -n "$LOGINS" -c 4 -warmup 1000 -pid "$srv" -max 90s -label "ssogate login (postgres+redis)" -out "$R"
"$L" me -dir "$work/big" -base "$GW" -employees 1000 -n "$ME" -c 32 -pid "$srv" -max 30s -label "ssogate /api/me (postgres+redis)" -out "$R"
"$L" me -dir "$work/big" -base "$GW" -employees 1000 -sessions 64 -cookies-out "$work/cookies"
"$L" wrk -url "$GW/api/me" -cookies "$work/cookies" -c 32 -d "$WRK" -pid "$srv" -label "ssogate /api/me, wrk (postgres+redis)" -out "$R"
"$L" scim -base "$GW/scim/v2" -token-file "$work/big/scim-token" -n "$SYNC" -c 8 -pid "$srv" -max 40s -label "ssogate SCIM sync (postgres)" -out "$R"
"$L" lookup -base "$GW/scim/v2" -token-file "$work/big/scim-token" -employees "$BIG" -n "$LOOKUPS" -c 8 -pid "$srv" -max 30s -label "SCIM filter lookup (postgres, big)" -out "$R"
stop_bg

log "ssogate, PostgreSQL + Redis, 1,000 employees (filter lookup reference)"
start_bg "$PORT_GW" $(gw_env "$PG_SMALL" "redis://127.0.0.1:6379/15")
"$L" lookup -base "$GW/scim/v2" -token-file "$work/small/scim-token" -employees 1000 -n "$LOOKUPS" -c 8 -pid "$srv" -max 30s -label "SCIM filter lookup (postgres, 1k)" -out "$R"
stop_bg
fi

# The product behind the gateway (issue 11): the same GET of a 1 KiB page
# from the stand-in product, direct, through a bare httputil.ReverseProxy,
# and through ssogate's proxy with a Redis session (session check, identity
# headers, assertion from the mint cache, cookie stripping); then nginx's
# auth_request check. wrk, 32 connections, cookies of 64 signed-in browsers.
log "proxy: direct, bare ReverseProxy, ssogate (postgres+redis); /auth/request"
start_bg "$PORT_UP" "$L" upstream -addr "127.0.0.1:$PORT_UP"
up=$srv
# The bare proxy runs with the garbage-collector setting ssogate serves with.
start_bg "$PORT_BARE" env GOGC=400 "$L" bareproxy -addr "127.0.0.1:$PORT_BARE" -to "http://127.0.0.1:$PORT_UP"
bare=$srv
start_bg "$PORT_GW" env SSOGATE_UPSTREAM="http://127.0.0.1:$PORT_UP" $(gw_env "$PG_SMALL" "redis://127.0.0.1:6379/15")
"$L" me -dir "$work/small" -base "$GW" -employees 1000 -sessions 64 -cookies-out "$work/cookies"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(head -1 "$work/cookies")" "$GW/")
[ "$code" = 200 ] || { log "a proxied GET through ssogate answered $code, not 200"; cat "$work/server.log" >&2; exit 1; }
for round in 1 2; do # interleaved, so a busy neighbour weighs on all three alike
  "$L" wrk -url "http://127.0.0.1:$PORT_UP/c/bench/" -cookies "$work/cookies" -c 32 -d "$PROXY_D" -pid "$up" -label "product page, direct ($round)" -out "$R"
  "$L" wrk -url "http://127.0.0.1:$PORT_BARE/c/bench/" -cookies "$work/cookies" -c 32 -d "$PROXY_D" -pid "$bare" -label "product page, bare ReverseProxy ($round)" -out "$R"
  "$L" wrk -url "$GW/" -cookies "$work/cookies" -c 32 -d "$PROXY_D" -pid "$srv" -label "product page, ssogate proxy, postgres+redis ($round)" -out "$R"
done
"$L" wrk -url "http://127.0.0.1:$PORT_GW/auth/request" -script test/load/wrk-auth.lua -cookies "$work/cookies" -c 32 -d "$PROXY_D" -pid "$srv" -label "nginx auth_request check, postgres+redis" -out "$R"
stop_bg
kill "$bare" "$up" 2>/dev/null || true

for db in ssogate_bench_big ssogate_bench_small; do psql "$pgadmin" -qc "drop database if exists $db"; done

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3), load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$L" report -in "$R" \
  -ratio "ssogate login (sqlite+memory)/samlsp default ACS" \
  -ratio "ssogate login (sqlite+memory)/raw ParseResponse" \
  -ratio "ssogate login (postgres+redis)/samlsp default ACS" \
  -ratio "ssogate login (postgres+redis)/raw ParseResponse" \
  -ratio "ssogate login (sqlite+memory)/samlsp default ACS, GOGC=400" \
  -ratio "ssogate login (sqlite+memory)/raw ParseResponse, GOGC=400" \
  -ratio "ssogate login (postgres+redis)/raw ParseResponse, GOGC=400" \
  -ratio "SCIM filter lookup (postgres, 1k)/SCIM filter lookup (postgres, big)" \
  -ratio "product page, ssogate proxy, postgres+redis (1)/product page, bare ReverseProxy (1)" \
  -ratio "product page, ssogate proxy, postgres+redis (2)/product page, bare ReverseProxy (2)" \
  -ratio "product page, bare ReverseProxy (1)/product page, direct (1)" \
  -ratio "product page, bare ReverseProxy (2)/product page, direct (2)"
if [ -f "$work/gobench.txt" ]; then echo; echo '```'; cat "$work/gobench.txt"; echo '```'; fi
cp "$R" "${BENCH_RESULTS:-/tmp/ssogate-bench-results.jsonl}"

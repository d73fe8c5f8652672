#!/usr/bin/env bash
# Interleaved A/B of two revisions of ssogate under the load driver, on
# PostgreSQL + Redis (or the embedded stores with EMBEDDED=1): both binaries
# serve the same seeded directory in turns, ROUNDS times, so a busy
# neighbour on the 2 shared cores weighs on both alike. Prints the table
# with B ÷ A ratios per round. Loopback only, bounded, not run by CI.
#
#   scripts/ab.sh A B [login|me|scim ...]     e.g. scripts/ab.sh HEAD~1 HEAD login me
#   ROUNDS=3 LOGINS=800 C=4 scripts/ab.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=ab.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

[ $# -ge 2 ] || { echo "usage: scripts/ab.sh REV_A REV_B [login|me|scim ...]" >&2; exit 2; }
A=$1 B=$2; shift 2
MODES=${*:-login}
ROUNDS=${ROUNDS:-3} LOGINS=${LOGINS:-800} ME=${ME:-20000} SYNC=${SYNC:-1500} C=${C:-4}
PORT=18070
EMBEDDED=${EMBEDDED:-}

ensure_postgres
ensure_redis
work=$(mktemp -d /tmp/ssogate-ab.XXXXXX)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
  wait 2>/dev/null || true
  git worktree remove --force "$work/a" 2>/dev/null || true
  git worktree remove --force "$work/b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for side in a b; do
  rev=$A; [ $side = b ] && rev=$B
  git worktree add -q --detach "$work/$side" "$rev"
  (cd "$work/$side" && go build -o "$work/bin-$side/ssogate" ./cmd/ssogate)
  log "built $side = $rev ($(git rev-parse --short "$rev"))"
done
go build -o "$work/load" ./test/load
L=$work/load R=$work/results.jsonl
: >"$R"
"$L" keygen -dir "$work/idp"

pgadmin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
DB="postgres://postgres@127.0.0.1:5432/ssogate_ab?sslmode=disable"
REDIS="redis://127.0.0.1:6379/14"
if [ -n "$EMBEDDED" ]; then DB="sqlite:$work/gw.db" REDIS=""; else
  psql "$pgadmin" -qc "drop database if exists ssogate_ab" -qc "create database ssogate_ab"
fi
"$L" seed -dir "$work/idp" -db "$DB" -employees 1000
[ -n "$EMBEDDED" ] || psql "$DB" -qc analyze

GW=http://127.0.0.1:$PORT/c/bench
for round in $(seq 1 "$ROUNDS"); do
  for side in a b; do
    # The load comes from one address: lift the per-client sign-in limit
    # where the binary has one (older commits do not know the setting).
    nolimit=""
    "$work/bin-$side/ssogate" config 2>/dev/null | grep -q '^SSOGATE_SIGNIN_RATE ' && nolimit="SSOGATE_SIGNIN_RATE=0"
    env SSOGATE_ADDR=127.0.0.1:$PORT SSOGATE_PUBLIC_URL=http://127.0.0.1:$PORT SSOGATE_DATABASE_URL="$DB" $nolimit \
      SSOGATE_REDIS_URL="$REDIS" SSOGATE_LOG_LEVEL=error "$work/bin-$side/ssogate" serve >"$work/server.log" 2>&1 &
    srv=$!
    for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    for m in $MODES; do
      case $m in
        login) "$L" login -dir "$work/idp" -acs "$GW/saml/acs" -employees 1000 -n "$LOGINS" -c "$C" -warmup 100 \
                 -pid "$srv" -max 90s -label "login $side r$round" -out "$R" ;;
        me) "$L" me -dir "$work/idp" -base "$GW" -employees 1000 -n "$ME" -c 32 -pid "$srv" -max 30s \
                 -label "me $side r$round" -out "$R" ;;
        scim) "$L" scim -base "$GW/scim/v2" -token-file "$work/idp/scim-token" -n "$SYNC" -c 8 -pid "$srv" -max 60s \
                 -label "scim $side r$round" -out "$R" ;;
        *) echo "unknown mode $m" >&2; exit 2 ;;
      esac
    done
    kill "$srv"; wait "$srv" 2>/dev/null || true; srv=
  done
done
[ -n "$EMBEDDED" ] || psql "$pgadmin" -qc "drop database if exists ssogate_ab"

ratios=()
for round in $(seq 1 "$ROUNDS"); do for m in $MODES; do ratios+=(-ratio "$m b r$round/$m a r$round"); done; done
echo "A = $A, B = $B; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$L" report -in "$R" "${ratios[@]}"

#!/usr/bin/env bash
# The whole test suite, on real services: starts PostgreSQL and Redis when
# they are not running (installing Debian's packages when missing), makes
# sure headless Chromium is there, then runs gofmt, go vet and go test -race.
# Every service-backed test is required here: a missing service fails.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh ./sso/...       # some packages (extra args go to go test)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

PGURL=${SSOGATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
REDISURL=${SSOGATE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then :; else
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
    local hba=/etc/postgresql/$ver/main/pg_hba.conf
    # Test machines only: trust loopback connections, as the CI machine does.
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    log "starting PostgreSQL $ver"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
    psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qc "create database test"
  fi
}

ensure_redis() {
  if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
}

ensure_chromium() {
  command -v chromium >/dev/null || apt_install chromium
}

ensure_postgres
ensure_redis
ensure_chromium

export SSOGATE_TEST_POSTGRES_URL="$PGURL"
export SSOGATE_TEST_REDIS_URL="$REDISURL"
export SSOGATE_TEST_CHROMIUM="${SSOGATE_TEST_CHROMIUM:-$(command -v chromium)}"
export SSOGATE_TEST_REQUIRE=1

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then printf 'gofmt needed:\n%s\n' "$unformatted" >&2; exit 1; fi
log "go vet"
go vet ./...
log "go test -race"
if [ $# -gt 0 ]; then pkgs=("$@"); else pkgs=(./...); fi
go test -race -count=1 -timeout 20m "${pkgs[@]}"

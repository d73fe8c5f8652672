# Shared by scripts/test.sh and scripts/bench.sh: start PostgreSQL and Redis
# on loopback when they are not running (installing Debian's packages when
# missing), and find headless Chromium. Source it; it defines functions and
# PGURL/REDISURL only.

log() { printf '[%s] %s\n' "${LOG_TAG:-lib.sh}" "$*" >&2; }
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

# nginx for the forward-auth test (auth_request is in nginx-light); the
# test runs its own instance, so the packaged service is not started.
ensure_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light
}

ensure_wrk() {
  command -v wrk >/dev/null || apt_install wrk
}

# staticcheck at a pinned version, built from the Go module proxy into the
# Go bin directory (nothing is downloaded from anywhere else).
STATICCHECK_VERSION=v0.8.2
ensure_staticcheck() {
  local bin; bin="$(go env GOPATH)/bin/staticcheck"
  if [ ! -x "$bin" ] || ! "$bin" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
    log "installing staticcheck $STATICCHECK_VERSION"
    GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  fi
  STATICCHECK=$bin
}

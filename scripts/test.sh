#!/usr/bin/env bash
# The whole test suite, on real services: starts PostgreSQL and Redis when
# they are not running (installing Debian's packages when missing), makes
# sure headless Chromium is there, then runs gofmt, go vet and go test -race.
# Every service-backed test is required here: a missing service fails.
# Before the tests: go.mod must be tidy and staticcheck clean; after them,
# every benchmark runs once (-benchtime=1x) so none of them rots.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh ./sso/...       # some packages (extra args go to go test)
set -euo pipefail
cd "$(dirname "$0")/.."

LOG_TAG=test.sh
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_postgres
ensure_redis
ensure_chromium
ensure_nginx

export SSOGATE_TEST_POSTGRES_URL="$PGURL"
export SSOGATE_TEST_REDIS_URL="$REDISURL"
export SSOGATE_TEST_CHROMIUM="${SSOGATE_TEST_CHROMIUM:-$(command -v chromium)}"
export SSOGATE_TEST_NGINX="${SSOGATE_TEST_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
export SSOGATE_TEST_REQUIRE=1

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then printf 'gofmt needed:\n%s\n' "$unformatted" >&2; exit 1; fi
log "go mod tidy -diff"
go mod tidy -diff
log "go vet"
go vet ./...
log "staticcheck"
ensure_staticcheck
"$STATICCHECK" ./...
log "go test -race"
if [ $# -gt 0 ]; then pkgs=("$@"); else pkgs=(./...); fi
go test -race -count=1 -timeout 20m "${pkgs[@]}"
if [ $# -eq 0 ]; then
  log "benchmarks, once each"
  go test -run '^$' -bench . -benchtime=1x -timeout 10m ./...
fi

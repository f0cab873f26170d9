#!/usr/bin/env bash
# Runs the whole test suite: every package on SQLite, then the database-backed
# packages again on a throwaway PostgreSQL cluster (installed from Debian when
# missing). Set MESHPLANE_TEST_POSTGRES to use a server of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools (terraform, providers, buf, opa)"
scripts/tools.sh
# Provisioning tests run real terraform; with the tools built they must not skip.
export MESHPLANE_REQUIRE_TOOLS=1

echo "== opa check and test (policies/rego)"
.tools/bin/opa check --strict policies/rego
.tools/bin/opa test policies/rego

echo "== portal: type check, unit and component tests (Vitest)"
scripts/portal.sh test

echo "== go test (SQLite)"
go test -count=1 -race -timeout 20m ./...

own_pg=""
if [ -z "${MESHPLANE_TEST_POSTGRES:-}" ]; then
  pgdir=$(mktemp -d /tmp/meshplane-pg.XXXXXX)
  MESHPLANE_TEST_POSTGRES=$(scripts/pg-start.sh "$pgdir" "${MESHPLANE_TEST_PG_PORT:-$(( 20000 + RANDOM % 30000 ))}")
  own_pg=$pgdir
  stop_pg() { scripts/pg-stop.sh "$own_pg"; }
  trap stop_pg EXIT
fi
export MESHPLANE_TEST_POSTGRES
# The browser tests wait mostly on terraform and the browser, so they run
# beside the PostgreSQL suite; their output is shown when both are done.
echo "== portal end-to-end in chromium (beside the PostgreSQL suite)"
e2e_log=$(mktemp)
scripts/e2e.sh >"$e2e_log" 2>&1 &
e2e_pid=$!
echo "== go test (PostgreSQL)"
pg_rc=0
go test -count=1 -timeout 20m ./server/app/... ./server/store/... ./server/sandbox/... || pg_rc=$?
echo "== replicas: two meshplane serve processes on one PostgreSQL catalog and one sandbox"
go test -count=1 -timeout 20m -run '^TestReplicas' ./cmd/meshplane || pg_rc=$?
e2e_rc=0
wait "$e2e_pid" || e2e_rc=$?
echo "== portal end-to-end results"
cat "$e2e_log"
rm -f "$e2e_log"
[ "$pg_rc" = 0 ] || { echo "PostgreSQL suite failed" >&2; exit "$pg_rc"; }
[ "$e2e_rc" = 0 ] || { echo "portal end-to-end tests failed (screenshots: portal/e2e/artifacts)" >&2; exit "$e2e_rc"; }

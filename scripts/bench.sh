#!/usr/bin/env bash
# Runs every bench phase, then the sandbox data plane's benchmarks (commit to
# topic latency at 1,000 rows/s, source and source-to-sink-table
# throughput). The queue phase's PostgreSQL rows and the data plane's source
# and sink databases use a throwaway PostgreSQL cluster (installed from
# Debian when missing), or the server MESHPLANE_BENCH_POSTGRES names (with
# wal_level=logical). Extra arguments go to meshplane-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
url=${MESHPLANE_BENCH_POSTGRES:-}
if [ -z "$url" ]; then
  pgdir=$(mktemp -d /tmp/meshplane-bench-pg.XXXXXX)
  url=$(scripts/pg-start.sh "$pgdir" "$(( 20000 + RANDOM % 30000 ))")
  stop_pg() { scripts/pg-stop.sh "$pgdir"; }
  trap stop_pg EXIT
fi
go run ./cmd/meshplane-bench -postgres "$url" "$@"
echo "== sandbox data plane (server/sandbox/connectrun)"
MESHPLANE_TEST_POSTGRES=$url go test -run '^$' -bench . -benchtime 1x ./server/sandbox/connectrun 2>&1 | grep -v level=INFO

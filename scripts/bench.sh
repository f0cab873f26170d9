#!/usr/bin/env bash
# Runs every bench phase; the queue phase's PostgreSQL rows use a throwaway
# PostgreSQL cluster (installed from Debian when missing), or the server
# MESHPLANE_BENCH_POSTGRES names. Extra arguments go to meshplane-bench.
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

#!/usr/bin/env bash
# The sandbox moving data, end to end: starts a throwaway PostgreSQL
# (wal_level=logical), meshplane serving with its sandbox data plane (as
# make run does), then registers a product with PII fields over a small shop
# database, plans and applies it, runs a load generator and prints the rows
# arriving masked in the port preview and in the JDBC sink's table.
# Ctrl-C stops everything. Usage: scripts/demo.sh [--rate N] [--duration D]
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${DEMO_DIR:-/tmp/meshplane-demo}
addr=${ADDR:-127.0.0.1:8090}
# Everything is throwaway: the cluster, and the data dir whose connectors
# and offsets would otherwise point at databases that no longer exist.
[ ! -d "$demo" ] || scripts/pg-stop.sh "$demo/pg"
rm -rf "$demo"
mkdir -p "$demo"
pg=$(scripts/pg-start.sh "$demo/pg" "${DEMO_PG_PORT:-54340}")
server=""
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/pg-stop.sh "$demo/pg"
}
trap cleanup EXIT
# The product's secret references name these variables; the throwaway
# cluster trusts local connections, so their values are never checked.
export SALES__SHOP_DB_PASSWORD=demo SALES__WAREHOUSE_PASSWORD=demo
echo "demo: starting meshplane at http://$addr/ (log: $demo/server.log)" >&2
DATA_DIR="$demo/data" ADDR=$addr scripts/run.sh >"$demo/server.log" 2>&1 &
server=$!
go run ./cmd/meshplane-demo --server "http://$addr" --token-file "$demo/data/admin.token" --postgres "$pg" "$@"

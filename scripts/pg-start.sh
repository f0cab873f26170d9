#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for tests and prints the
# URL to export as MESHPLANE_TEST_POSTGRES. Installs PostgreSQL from Debian
# when it is missing. Usage: scripts/pg-start.sh DIR [PORT]
set -euo pipefail
dir=${1:?usage: pg-start.sh DIR [PORT]}
port=${2:-54329}

pgbin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pgbin=$d; done
if [ -z "$pgbin" ]; then
  echo "installing postgresql from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pgbin=$d; done
fi

mkdir -p "$dir"
chown postgres:postgres "$dir" 2>/dev/null || true
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$dir/data/PG_VERSION" ]; then
  run mkdir -p "$dir/data" "$dir/sock"
  run "$pgbin/initdb" -D "$dir/data" --auth=trust --no-sync -U postgres >/dev/null
fi
if ! run "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  run "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c wal_level=logical" start >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"

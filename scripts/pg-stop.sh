#!/usr/bin/env bash
# Stops a throwaway PostgreSQL cluster scripts/pg-start.sh started in DIR and
# removes DIR. Usage: scripts/pg-stop.sh DIR
dir=${1:?usage: pg-stop.sh DIR}
for d in /usr/lib/postgresql/*/bin; do pgctl=$d/pg_ctl; done
if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$pgctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
else "$pgctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
rm -rf "$dir"

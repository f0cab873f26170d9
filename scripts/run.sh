#!/usr/bin/env bash
# Builds only what serving needs and starts the server with the web portal:
# the portal bundle (npm ci + vite, skipped when up to date), the terraform
# provider mirror, terraform itself only when no terraform >= 1.5 is on PATH,
# and the server binary with the portal embedded. Independent builds run at
# once and each step says what it builds; a warm start takes seconds.
# Usage: scripts/run.sh [serve flags…]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
mkdir -p bin .tools/logs

# A terraform >= 1.5 already installed will do; otherwise build the pinned one.
terraform_ok() {
  local v
  v=$("$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
  [ -n "$v" ] && [ "$(printf '%s\n1.5.0\n' "$v" | sort -V | head -1)" = 1.5.0 ] && echo "$v"
}
tf="" tools_what=terraform
if [ -x .tools/bin/terraform ]; then
  tf=$PWD/.tools/bin/terraform tools_what=providers
elif command -v terraform >/dev/null && v=$(terraform_ok "$(command -v terraform)"); then
  tf=$(command -v terraform) tools_what=providers
  echo "run: using terraform $v from $tf" >&2
fi

pids=()
step() { # step NAME CMD…: runs CMD in the background, its output prefixed and logged
  local name=$1; shift
  ( "$@" 2>&1 | sed -u "s/^/$name: /" >&2; exit "${PIPESTATUS[0]}" ) &
  pids+=($!)
}
step portal scripts/portal.sh build
step tools scripts/tools.sh "$tools_what"
# Compile the server's dependencies meanwhile; the final build only adds the portal.
step server go build -o /dev/null ./cmd/meshplane
for p in "${pids[@]}"; do wait "$p"; done
echo "run: building the server with the portal embedded" >&2
go build -tags portal -o bin/meshplane ./cmd/meshplane
[ -n "$tf" ] || tf=$PWD/.tools/bin/terraform
echo "run: ready to serve after $(( $(date +%s) - start ))s; open http://${ADDR:-127.0.0.1:8080}/" >&2
exec bin/meshplane serve --addr "${ADDR:-127.0.0.1:8080}" --data-dir "${DATA_DIR:-./meshplane-data}" \
  --tools-dir .tools --terraform "$tf" "$@"

#!/usr/bin/env bash
# Runs the portal's end-to-end tests in a real browser: installs Debian's
# chromium (never a downloaded browser) and kcat when missing, builds the
# portal and the server with the portal embedded, and drives them with
# playwright-core. Screenshots and accessibility reports of every key screen
# land in portal/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v kcat >/dev/null || missing+=(kcat)
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
scripts/portal.sh build
mkdir -p bin
go build -tags portal -o bin/meshplane-e2e ./cmd/meshplane
[ -x .tools/bin/terraform ] || scripts/tools.sh terraform
cd portal
rm -rf e2e/artifacts
MESHPLANE_BIN=../bin/meshplane-e2e CHROMIUM=$(command -v chromium) node --test --test-concurrency=1 e2e/

#!/usr/bin/env bash
# Builds the web portal with the pinned npm packages (package-lock.json,
# `npm ci` only). Skips what is up to date, so a warm run takes no time.
# Usage: scripts/portal.sh [deps|generate|build|test]   (default: build)
#   deps      npm ci, when package-lock.json changed since the last install
#   generate  the TypeScript Connect client from api/proto (needs .tools/bin/buf)
#   build     portal/dist, when a source changed since the last build
#   test      the unit and component tests (Vitest)
set -euo pipefail
cd "$(dirname "$0")/../portal"
what=${1:-build}

command -v npm >/dev/null || { echo "the portal needs Node.js 20+ and npm (apt-get install nodejs npm)" >&2; exit 1; }

deps() {
  local want have
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  have=$(cat node_modules/.meshplane-lock 2>/dev/null || true)
  if [ "$want" != "$have" ] || [ ! -d node_modules ]; then
    echo "portal: installing npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" > node_modules/.meshplane-lock
  fi
}

# stamp prints a digest of everything the bundle is built from.
stamp() {
  { find src index.html vite.config.ts tsconfig.json package-lock.json -type f -not -name '*.test.ts' -not -name '*.test.tsx' -print0 |
      sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1
}

case $what in
deps) deps ;;
generate)
  deps
  ../.tools/bin/buf generate --template buf.gen.yaml
  ;;
build)
  deps
  s=$(stamp)
  if [ "$(cat .build-stamp 2>/dev/null || true)" != "$s" ] || [ ! -f dist/index.html ]; then
    echo "portal: building (vite)" >&2
    npx --no-install tsc --noEmit
    npx --no-install vite build --logLevel warn
    echo "$s" > .build-stamp
  fi
  ;;
test)
  deps
  npx --no-install tsc --noEmit
  npx --no-install vitest run
  ;;
*) echo "usage: scripts/portal.sh [deps|generate|build|test]" >&2; exit 2 ;;
esac

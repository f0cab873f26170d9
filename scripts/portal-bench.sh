#!/usr/bin/env bash
# Measures the portal's budgets: initial JS size and the catalog's first
# page over 10,000 products in headless chromium (PRODUCTS, ROUNDS tune it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "run scripts/e2e.sh once first (it installs chromium)" >&2; exit 1; }
scripts/portal.sh build
go build -tags portal -o bin/meshplane-e2e ./cmd/meshplane
cd portal && MESHPLANE_BIN=../bin/meshplane-e2e MESHPLANE_E2E_ARTIFACTS=/tmp/meshplane-portal-bench node e2e/bench.mjs

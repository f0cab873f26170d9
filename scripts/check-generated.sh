#!/usr/bin/env bash
# Regenerates every generated file (ent, buf, gqlgen, the portal's
# TypeScript client) with the pinned
# generators and fails when the committed output differs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
.tools/bin/buf lint
.tools/bin/buf generate
go generate ./server/ent ./server/graph
scripts/portal.sh generate
if ! git diff --exit-code --stat -- api/gen server/ent server/graph portal/src/gen; then
  echo "generated code is out of date: run make generate and commit the result" >&2
  exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- api/gen server/ent server/graph portal/src/gen)
if [ -n "$untracked" ]; then
  echo "generated files are not committed:" >&2
  echo "$untracked" >&2
  exit 1
fi

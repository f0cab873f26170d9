#!/usr/bin/env bash
# Builds the pinned code generators that are not Go tool dependencies into
# .tools/bin (git-ignored). Skips what is already built at the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF_VERSION=v1.75.0
mkdir -p .tools/bin
if [ "$(cat .tools/bin/.buf-version 2>/dev/null)" != "$BUF_VERSION" ] || [ ! -x .tools/bin/buf ]; then
  echo "building buf $BUF_VERSION (first run only)" >&2
  GOBIN="$PWD/.tools/bin" go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
  echo "$BUF_VERSION" > .tools/bin/.buf-version
fi

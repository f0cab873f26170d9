#!/usr/bin/env bash
# Builds the pinned tools that are not Go tool dependencies into .tools/
# (git-ignored): buf for code generation, terraform v1.5.7 and the Kafka and
# Kafka Connect providers laid out as a local plugin mirror, so terraform init
# never touches the network, and opa to check and test the Rego policies.
# Skips what is already built at the pinned version.
# Usage: scripts/tools.sh [buf|terraform|providers|opa|all]   (default: all)
#   providers builds only the provider mirror (for a terraform found on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
BUF_VERSION=v1.75.0
TERRAFORM_VERSION=v1.5.7
# The same version as the OPA SDK in go.mod, so the CLI and the engine agree.
OPA_VERSION=v1.22.2
KAFKA_PROVIDER=github.com/Mongey/terraform-provider-kafka@v0.13.1
CONNECT_PROVIDER=github.com/Mongey/terraform-provider-kafka-connect@v0.5.0
root=$PWD/.tools
mkdir -p "$root/bin"

stamp_ok() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

if [ "$what" = buf ] || [ "$what" = all ]; then
  if ! stamp_ok "$root/bin/.buf-version" "$BUF_VERSION" || [ ! -x "$root/bin/buf" ]; then
    echo "building buf $BUF_VERSION (first run only)" >&2
    GOBIN="$root/bin" go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
    echo "$BUF_VERSION" > "$root/bin/.buf-version"
  fi
fi

if [ "$what" = opa ] || [ "$what" = all ]; then
  if ! stamp_ok "$root/bin/.opa-version" "$OPA_VERSION" || [ ! -x "$root/bin/opa" ]; then
    echo "building opa $OPA_VERSION (first run only)" >&2
    GOBIN="$root/bin" go install "github.com/open-policy-agent/opa@$OPA_VERSION"
    echo "$OPA_VERSION" > "$root/bin/.opa-version"
  fi
fi

# provider MODULE@VERSION TYPE: builds a provider from its Go module into the mirror.
provider() {
  local mod=${1%@*} version=${1#*@} type=$2
  local v=${version#v}
  local dest="$root/terraform-plugins/registry.terraform.io/mongey/$type/$v/linux_amd64"
  local bin="$dest/terraform-provider-${type}_v$v"
  [ -x "$bin" ] && return 0
  echo "building terraform provider mongey/$type $version (first run only)" >&2
  local dir src
  dir=$(go mod download -json "$mod@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "could not download $mod@$version" >&2; exit 1; }
  src=$(mktemp -d)
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  mkdir -p "$dest"
  (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  rm -rf "$src"
}

if [ "$what" = providers ]; then
  provider "$KAFKA_PROVIDER" kafka
  provider "$CONNECT_PROVIDER" kafka-connect
fi

if [ "$what" = terraform ] || [ "$what" = all ]; then
  if ! stamp_ok "$root/bin/.terraform-version" "$TERRAFORM_VERSION" || [ ! -x "$root/bin/terraform" ]; then
    echo "building terraform $TERRAFORM_VERSION (first run only, a few minutes)" >&2
    GOBIN="$root/bin" go install "github.com/hashicorp/terraform@$TERRAFORM_VERSION"
    echo "$TERRAFORM_VERSION" > "$root/bin/.terraform-version"
  fi
  provider "$KAFKA_PROVIDER" kafka
  provider "$CONNECT_PROVIDER" kafka-connect
fi

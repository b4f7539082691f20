#!/usr/bin/env bash
# Rebuilds the committed Solidity artifacts (contracts/build/*.json and
# tests/contracts/build/*.json) with solcjs.
#
# Installs the pinned solc npm package into a throw-away directory (or reuses SOLC_DIR, a
# directory where `npm install solc@VERSION` was already run, which also works offline),
# then runs scripts/compile-contracts.js. Extra arguments go to the js, e.g. --check to
# verify that the committed artifacts are up to date.
#
# Needs node and npm; building or testing the node itself does not.
set -euo pipefail

SOLC_VERSION="${SOLC_VERSION:-0.8.28}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -n "${SOLC_DIR:-}" ]]; then
  dir="$SOLC_DIR"
else
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi

if [[ ! -d "$dir/node_modules/solc" ]]; then
  echo "installing solc@$SOLC_VERSION into $dir" >&2
  (cd "$dir" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --silent "solc@$SOLC_VERSION" >/dev/null)
fi

NODE_PATH="$dir/node_modules" node "$here/compile-contracts.js" "$@"

#!/usr/bin/env bash
# The one run command (README, `make dev`): installs build dependencies, then runs
# `tributary node --dev` (L1 RPC on 127.0.0.1:8645, L2 RPC on 127.0.0.1:8545). Extra arguments go to the node.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
scripts/setup.sh
exec cargo run --locked -p tributary -- node --dev "$@"

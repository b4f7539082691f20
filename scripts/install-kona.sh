#!/usr/bin/env bash
# Builds kona-node (the Rust OP Stack rollup node) from crates.io into
# ~/.cache/tributary/kona/bin/kona-node, where the opt-in end-to-end test
# (tests/e2e/kona.rs) and docs/engine-api.md find it. A release build of its ~700 crates takes
# a long while on two cores and a few GB of disk; it is not part of `make test`.
set -euo pipefail
VERSION="${KONA_VERSION:-1.0.0-rc.1}"
ROOT="${KONA_ROOT:-$HOME/.cache/tributary/kona}"
TARGET="${KONA_TARGET_DIR:-$HOME/.cache/tributary/kona-build/target}"
if [ -x "$ROOT/bin/kona-node" ]; then
  echo "kona-node is installed: $ROOT/bin/kona-node"
  exit 0
fi
# kona's build compiles C (its crypto and networking crates) as ours does.
if ! command -v clang >/dev/null; then
  apt-get update && apt-get install -y clang libclang-dev
fi
cargo install kona-node --version "$VERSION" --locked --root "$ROOT" --target-dir "$TARGET"
echo "installed: $ROOT/bin/kona-node"

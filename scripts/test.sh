#!/usr/bin/env bash
# The one test command (README, `make test`, .ci/run): Rust tests with nextest, then the
# web3.py wallet suite against a real `tributary node --dev`.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
scripts/setup.sh

echo "== build"
cargo build --workspace --all-targets --locked

echo "== rust tests"
cargo nextest run --workspace --locked --no-fail-fast

echo "== web3.py wallet tests"
venv="$(scripts/python-env.sh)"
TRIBUTARY_BIN="$CARGO_TARGET_DIR/debug/tributary" "$venv/bin/python" -m pytest tests/web3 -q

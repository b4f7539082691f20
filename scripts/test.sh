#!/usr/bin/env bash
# The one test command (README, `make test`, .ci/run): Rust tests with nextest, the web3.py
# wallet suite against a real `tributary node --dev`, then the Docker devnet suite
# (docker/test.sh).
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

# The Docker devnet across containers (installs and starts a Docker engine when none answers).
# TRIBUTARY_SKIP_DOCKER=1 leaves it out of a local run; CI always runs it.
if [[ "${TRIBUTARY_SKIP_DOCKER:-0}" != 1 ]]; then
    echo "== docker devnet tests"
    TRIBUTARY_BIN="$CARGO_TARGET_DIR/debug/tributary" docker/test.sh
fi

#!/usr/bin/env bash
# Reproduces the `tributary bench txload` figures in docs/benchmarks.md: a release
# `tributary node --dev` (1 s L2 and L1 blocks) on loopback ports 18545/18645 with a fresh
# datadir, loaded at each rate in $RATES (tx/s; "full" sends as fast as the node answers),
# then stopped. With HARDHAT=1 the same load also runs against `npx hardhat node` (1 s interval
# mining, no automine) from tests/hardhat, which needs npm. BLOCK_TIME sets `--dev.block-time`
# (`200ms` builds 1 s blocks in 200 ms rounds: flashblocks) and NODE_FLAGS adds node flags, e.g.
# NODE_FLAGS="--batcher.compression zlib".
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
TXS="${TXS:-10000}"
SENDERS="${SENDERS:-200}"
CONCURRENCY="${CONCURRENCY:-16}"
RATES="${RATES:-500 1000 2000 full}"
BLOCK_TIME="${BLOCK_TIME:-1}"
read -r -a node_flags <<<"${NODE_FLAGS:-}"
scripts/setup.sh
cargo build --release --locked -p tributary
bin="$CARGO_TARGET_DIR/release/tributary"
work="$(mktemp -d)"
pids=()
cleanup() {
  # Each server runs in its own process group (setsid): stop the whole group.
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_rpc() {
  for _ in $(seq 1 120); do
    if curl -sf -H 'content-type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$1" >/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "no RPC at $1" >&2
  return 1
}

load() {
  local url="$1" rate
  for rate in $RATES; do
    local rate_flag=()
    [ "$rate" = full ] || rate_flag=(--rate "$rate")
    "$bin" bench txload --rpc "$url" --txs "$TXS" --senders "$SENDERS" \
      --concurrency "$CONCURRENCY" "${rate_flag[@]}"
  done
}

echo "== tributary node --dev (release, --dev.block-time $BLOCK_TIME, 1 s L1 blocks) ${NODE_FLAGS:-}"
RUST_LOG=warn setsid "$bin" node --dev --http.port 18545 --dev.l1-port 18645 \
  --dev.block-time "$BLOCK_TIME" --dev.l1-block-time 1 --datadir "$work/node" \
  "${node_flags[@]}" >"$work/node.log" 2>&1 &
pids+=($!)
wait_for_rpc http://127.0.0.1:18545
load http://127.0.0.1:18545

if [ "${HARDHAT:-0}" = 1 ]; then
  echo "== hardhat node (interval mining 1 s, no automine)"
  (cd tests/hardhat && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
  (cd tests/hardhat && HARDHAT_AUTOMINE=false exec setsid npx hardhat node --port 18745 \
    >"$work/hardhat.log" 2>&1) &
  pids+=($!)
  wait_for_rpc http://127.0.0.1:18745
  load http://127.0.0.1:18745
fi

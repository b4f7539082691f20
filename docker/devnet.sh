#!/usr/bin/env bash
# `make docker-devnet`: builds the image the offline way (docker/build-image.sh), starts
# docker/compose.yml and waits until every service is healthy; prints the RPC URLs.
#
# Env: TRIBUTARY_COMPOSE_PROJECT (default tributary) and the port variables compose.yml reads.
set -euo pipefail
cd "$(dirname "$0")/.."

project="${TRIBUTARY_COMPOSE_PROJECT:-tributary}"
engine="$(docker/engine.sh)"
read -r -a compose <<<"$engine"
docker/build-image.sh
"${compose[@]}" -p "$project" -f docker/compose.yml up -d

echo "docker/devnet: waiting for l1, sequencer, follower-1, follower-2 to be healthy" >&2
deadline=$((SECONDS + ${TRIBUTARY_HEALTH_TIMEOUT:-240}))
for service in l1 sequencer follower-1 follower-2; do
    id="$("${compose[@]}" -p "$project" -f docker/compose.yml ps -q "$service")"
    until [[ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" == healthy ]]; do
        if ((SECONDS > deadline)); then
            echo "docker/devnet: $service is not healthy; its last log lines:" >&2
            docker logs --tail 30 "$id" >&2 || true
            exit 1
        fi
        sleep 2
    done
done
cat <<INFO
Tributary devnet is up (compose project $project):
  L2 sequencer RPC  http://127.0.0.1:${TRIBUTARY_SEQUENCER_PORT:-8545}   (chain id 901)
  L2 follower-1     http://127.0.0.1:${TRIBUTARY_FOLLOWER1_PORT:-9545}
  L2 follower-2     http://127.0.0.1:${TRIBUTARY_FOLLOWER2_PORT:-10545}
  L1 RPC            http://127.0.0.1:${TRIBUTARY_L1_PORT:-8645}   (chain id 900)
Dev accounts: the mnemonic "test test test test test test test test test test test junk".
Stop: ${compose[*]} -p $project -f docker/compose.yml down   (add -v to delete the chain)
INFO

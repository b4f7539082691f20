#!/usr/bin/env bash
# `make docker-test`: the Docker devnet tested across containers (tests/docker, web3.py). It
# runs as its own compose project on its own host ports, so a devnet you have up is left
# alone, and it removes its containers and volumes when done, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

export TRIBUTARY_COMPOSE_PROJECT="${TRIBUTARY_COMPOSE_PROJECT:-tributary-test}"
export TRIBUTARY_SEQUENCER_PORT="${TRIBUTARY_SEQUENCER_PORT:-18545}"
export TRIBUTARY_L1_PORT="${TRIBUTARY_L1_PORT:-18645}"
export TRIBUTARY_FOLLOWER1_PORT="${TRIBUTARY_FOLLOWER1_PORT:-19545}"
export TRIBUTARY_FOLLOWER2_PORT="${TRIBUTARY_FOLLOWER2_PORT:-20545}"
# An engine this script starts, it also stops.
export TRIBUTARY_DOCKERD_PIDFILE="${TRIBUTARY_DOCKERD_PIDFILE:-/run/tributary-dockerd.pid}"
rm -f "$TRIBUTARY_DOCKERD_PIDFILE"
compose=()
remove_project() {
    ((${#compose[@]})) || return 0
    "${compose[@]}" -p "$TRIBUTARY_COMPOSE_PROJECT" -f docker/compose.yml down -v --remove-orphans >/dev/null 2>&1 || true
}
logs() {
    ((${#compose[@]})) || return 0
    echo "== docker-test failed; the services' last log lines:" >&2
    "${compose[@]}" -p "$TRIBUTARY_COMPOSE_PROJECT" -f docker/compose.yml logs --no-color --tail 40 >&2 || true
}
cleanup() {
    local rc=$?
    ((rc == 0)) || logs
    remove_project
    if [[ -f "$TRIBUTARY_DOCKERD_PIDFILE" ]]; then
        pid="$(cat "$TRIBUTARY_DOCKERD_PIDFILE")"
        echo "docker/test: stopping the dockerd it started (pid $pid)" >&2
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        rm -f "$TRIBUTARY_DOCKERD_PIDFILE"
    fi
}
trap cleanup EXIT
engine="$(docker/engine.sh)"
read -r -a compose <<<"$engine"
export TRIBUTARY_COMPOSE="${compose[*]}"
remove_project
docker/devnet.sh
venv="$(scripts/python-env.sh)"
"$venv/bin/python" -m pytest tests/docker -q -p no:cacheprovider "$@"


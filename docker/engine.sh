#!/usr/bin/env bash
# Makes sure a Docker engine answers and a compose tool exists; installs and starts them when
# they are missing (Debian's docker.io and docker-compose, dockerd in the background), and says
# so. Prints the compose command to use on stdout; everything else goes to stderr.
set -euo pipefail

say() { echo "docker/engine: $*" >&2; }

need_install=()
command -v docker >/dev/null 2>&1 || need_install+=(docker.io)
command -v dockerd >/dev/null 2>&1 || need_install+=(docker.io)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    need_install+=(docker-compose)
fi
if ((${#need_install[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        say "missing ${need_install[*]}; run as root or install them (apt-get install docker.io docker-compose)"
        exit 1
    fi
    say "installing ${need_install[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need_install[@]}" >&2
fi

if ! docker info >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        say "no Docker engine answers; start dockerd (as root) and run this again"
        exit 1
    fi
    log="${TRIBUTARY_DOCKERD_LOG:-/var/log/tributary-dockerd.log}"
    say "no Docker engine answers: starting dockerd in the background (log: $log)"
    nohup dockerd >"$log" 2>&1 &
    # Whoever asked for the engine may stop it when done (docker/test.sh does).
    echo $! > "${TRIBUTARY_DOCKERD_PIDFILE:-/run/tributary-dockerd.pid}"
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        say "dockerd did not come up; last lines of $log:"
        tail -20 "$log" >&2
        exit 1
    fi
fi

if docker compose version >/dev/null 2>&1; then
    echo "docker compose"
else
    echo "docker-compose"
fi

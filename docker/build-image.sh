#!/usr/bin/env bash
# Builds the `tributary:local` image without pulling anything: the binary cargo built, the
# shared libraries it links (found with ldd), a passwd/group with the `tributary` user and the
# directories it owns become a minimal root filesystem, `docker import` turns it into a base
# image, and Dockerfile.offline adds the entrypoint, user and labels on top.
#
# Env:  TRIBUTARY_PROFILE  cargo profile of the binary: debug (default; the one the tests build)
#                          or release
#       TRIBUTARY_BIN      use this binary as it is instead of building one (the test command
#                          passes the one it built, so nothing is compiled twice)
#       TRIBUTARY_IMAGE    tag to build (default tributary:local)
#       CARGO_TARGET_DIR   where cargo builds (default ~/.cache/tributary/target)
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${TRIBUTARY_PROFILE:-debug}"
image="${TRIBUTARY_IMAGE:-tributary:local}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
docker/engine.sh >/dev/null
if [[ $(id -u) -ne 0 ]]; then
    echo "docker/build-image: run as root (the root filesystem's owners are set with chown)" >&2
    exit 1
fi

if [[ -n "${TRIBUTARY_BIN:-}" ]]; then
    binary="$TRIBUTARY_BIN"
else
    scripts/setup.sh # clang and libclang for RocksDB's build, on a fresh machine
    case "$profile" in
        debug) cargo build --locked -p tributary >&2 ;;
        release) cargo build --locked --release -p tributary >&2 ;;
        *) echo "TRIBUTARY_PROFILE is debug or release, not $profile" >&2; exit 1 ;;
    esac
    binary="$CARGO_TARGET_DIR/$profile/tributary"
fi
[[ -x "$binary" ]] || { echo "docker/build-image: no binary at $binary" >&2; exit 1; }

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
chmod 755 "$rootfs" # the image's / (mktemp makes it 0700)
mkdir -p "$rootfs"/{usr/local/bin,etc,tmp,data,config}
chmod 1777 "$rootfs/tmp"
cp "$binary" "$rootfs/usr/local/bin/tributary"
# Every library ldd resolves, and the dynamic loader, at the paths the binary asks for.
ldd "$binary" | awk '/=> \//{print $3} /^[[:space:]]*\/lib/{print $1}' | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
done
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
tributary:x:10001:10001:tributary:/data:/usr/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
tributary:x:10001:
GROUP
echo "hosts: files dns" > "$rootfs/etc/nsswitch.conf"
# Named volumes copy the ownership of their mount point from the image.
chown 10001:10001 "$rootfs/data" "$rootfs/config"

base="${image%%:*}-rootfs:${image#*:}"
echo "docker/build-image: importing $binary ($(du -sh "$rootfs" | cut -f1)) as $base" >&2
tar -C "$rootfs" --numeric-owner -c . | docker import - "$base" >/dev/null
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" \
    --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    --label "io.tributary.profile=$profile" \
    -f docker/Dockerfile.offline -t "$image" docker/ >&2
echo "docker/build-image: built $image" >&2

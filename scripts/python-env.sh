#!/usr/bin/env bash
# Create (or refresh) the Python venv used by the web3.py wallet-compatibility
# tests in tests/web3. The venv lives outside the repo:
#   ${TRIBUTARY_VENV:-$HOME/.cache/tributary/venv}
# It is rebuilt when missing, broken, or when tests/web3/requirements.txt
# changed (its sha256 is stored inside the venv). Prints the venv path on
# stdout; everything else goes to stderr. Quiet when already up to date.
#
# Usage:  VENV=$(scripts/python-env.sh) && "$VENV/bin/python" -m pytest tests/web3
# Env:    TRIBUTARY_VENV  venv location
#         PYTHON          interpreter used to create the venv (default python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$repo_root/tests/web3/requirements.txt"
venv="${TRIBUTARY_VENV:-$HOME/.cache/tributary/venv}"
python="${PYTHON:-python3}"
stamp="$venv/.tributary-requirements.sha256"

if [[ ! -f "$req" ]]; then
    echo "python-env: missing $req" >&2
    exit 1
fi

want_hash="$( { sha256sum "$req" 2>/dev/null || shasum -a 256 "$req"; } | awk '{print $1}')"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want_hash" ]] \
    && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "$venv"
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "python-env: '$python' not found (set PYTHON=...)" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
    echo "python-env: $python is older than 3.9" >&2
    exit 1
fi

echo "python-env: (re)creating venv at $venv" >&2
mkdir -p "$(dirname "$venv")"
# --clear wipes a stale/broken venv so old packages never linger.
if ! "$python" -m venv --clear "$venv" >&2; then
    echo "python-env: 'python -m venv' failed (on Debian: apt-get install python3-venv)" >&2
    exit 1
fi
rm -f "$stamp"

export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2 || echo "python-env: pip self-upgrade failed; continuing" >&2
"$venv/bin/python" -m pip install --quiet -r "$req" >&2

# Written last: an interrupted install leaves no stamp and is redone next time.
echo "$want_hash" > "$stamp"
echo "python-env: venv ready" >&2
echo "$venv"

"""Fixtures for the web3.py wallet-compatibility suite.

A single dev node is started for the whole session:

    tributary node --dev --datadir <tmp> --http.port 0 --dev.block-time 0

and the suite waits for the line ``L2 RPC: http://127.0.0.1:<port>`` on its
stdout/stderr. With ``--dev.block-time 0`` the node seals one block per
transaction, so a receipt is available right after ``eth_sendRawTransaction``.

Environment:
    TRIBUTARY_BIN      node binary (default: $CARGO_TARGET_DIR/debug/tributary,
                       CARGO_TARGET_DIR defaulting to ~/.cache/tributary/target)
    TRIBUTARY_RPC_URL  use an already running node at this URL instead of
                       starting one (debugging aid)
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

CHAIN_ID = 901
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
FIRST_DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0
RPC_LINE_RE = re.compile(r"L2 RPC: (http://127\.0\.0\.1:\d+)")
# tracing-subscriber colours its output by default, even into a pipe.
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

# Set by the node fixture so a failing run can point at the node's output.
_NODE_LOG_PATH: Optional[Path] = None


def default_binary() -> Path:
    env = os.environ.get("TRIBUTARY_BIN")
    if env:
        return Path(env)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tributary", "target"
    )
    return Path(target) / "debug" / "tributary"


class NodeProcess:
    """A running node whose combined stdout/stderr is drained by a thread.

    The reader thread keeps reading until EOF, so the pipe never fills up and
    blocks the node; every line is kept in memory and appended to a log file.
    """

    def __init__(
        self,
        argv: List[str],
        log_path: Path,
        *,
        cwd: Optional[Path] = None,
        extra_env: Optional[Dict[str, str]] = None,
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        self.lines: List[str] = []
        self._cond = threading.Condition()
        self._eof = False
        env = dict(os.environ)
        env.setdefault("NO_COLOR", "1")
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
        )
        self._reader = threading.Thread(
            target=self._drain, name=f"{Path(argv[0]).name}-output", daemon=True
        )
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log_path, "w", encoding="utf-8") as log:
            for raw in iter(self.proc.stdout.readline, b""):
                line = ANSI_RE.sub("", raw.decode("utf-8", "replace")).rstrip("\r\n")
                log.write(line + "\n")
                log.flush()
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern: re.Pattern, timeout: float) -> Optional[re.Match]:
        """First match of `pattern` in the output, or None on timeout / exit."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                while seen < len(self.lines):
                    m = pattern.search(self.lines[seen])
                    seen += 1
                    if m:
                        return m
                if self._eof:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM
            try:
                self.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)


@pytest.fixture(scope="session")
def node_url(tmp_path_factory) -> str:
    """URL of the node's L2 JSON-RPC endpoint (starts the node unless
    TRIBUTARY_RPC_URL is set)."""
    global _NODE_LOG_PATH
    external = os.environ.get("TRIBUTARY_RPC_URL")
    if external:
        yield external
        return

    binary = default_binary()
    if not binary.is_file():
        pytest.fail(
            f"node binary not found at {binary}; build it with `cargo build` "
            "or point TRIBUTARY_BIN at it",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("tributary-node")
    datadir = workdir / "datadir"
    datadir.mkdir()
    log_path = workdir / "node.log"
    argv = [
        str(binary),
        "node",
        "--dev",
        "--datadir",
        str(datadir),
        "--http.port",
        "0",
        "--dev.block-time",
        "0",
    ]
    node = NodeProcess(argv, log_path)
    _NODE_LOG_PATH = log_path
    try:
        match = node.wait_for_line(RPC_LINE_RE, STARTUP_TIMEOUT_S)
        if match is None:
            exited = node.proc.poll()
            node.stop()
            why = (
                f"exited with status {node.proc.returncode}"
                if exited is not None
                else f"printed no 'L2 RPC: http://127.0.0.1:<port>' line within "
                f"{STARTUP_TIMEOUT_S:.0f}s"
            )
            pytest.fail(
                f"node {why}\ncommand: {' '.join(argv)}\n--- node output ---\n"
                f"{node.output()}",
                pytrace=False,
            )
        yield match.group(1)
    finally:
        node.stop()


@pytest.fixture(scope="session")
def w3(node_url) -> Web3:
    web3 = Web3(Web3.HTTPProvider(node_url, request_kwargs={"timeout": 30}))
    deadline = time.monotonic() + 30
    while True:
        try:
            if web3.is_connected(show_traceback=False):
                break
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"node at {node_url} does not answer JSON-RPC", pytrace=False)
        time.sleep(0.2)
    return web3


@pytest.fixture(scope="session")
def accounts(w3) -> List[LocalAccount]:
    """The ten dev accounts of the standard test mnemonic, m/44'/60'/0'/0/i."""
    Account.enable_unaudited_hdwallet_features()
    accts = [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        for i in range(DEV_ACCOUNT_COUNT)
    ]
    assert accts[0].address == FIRST_DEV_ADDRESS
    assert w3.eth.get_balance(accts[0].address) > 0, "first dev account is not funded"
    return accts


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _NODE_LOG_PATH is not None and exitstatus not in (0, 5):
        terminalreporter.write_sep("-", "tributary node output")
        terminalreporter.write_line(f"full log: {_NODE_LOG_PATH}")
        try:
            tail = _NODE_LOG_PATH.read_text(encoding="utf-8").splitlines()[-40:]
        except OSError:
            tail = []
        for line in tail:
            terminalreporter.write_line(line)

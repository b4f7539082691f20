"""Sequencer, batch poster and deposits against an L1 we did not write.

Opt-in: runs only with ``TRIBUTARY_EXTERNAL_L1=1``, because it needs node and
npm and installs Hardhat from the npm registry (tests/hardhat/package.json,
pinned by its package-lock.json). Without the variable every test here is
skipped and nothing outside the venv is touched.

What runs, each process on 127.0.0.1 with an ephemeral port:

    tests/hardhat$ node_modules/.bin/hardhat node --hostname 127.0.0.1 --port P
    tributary devnet init --l1.rpc http://127.0.0.1:P --out <tmp> --l2.block-time 1
    tributary node --chain <tmp>/genesis.json --rollup.config <tmp>/rollup.json \
        --l1.rpc http://127.0.0.1:P --sequencer --batcher --batcher.private-key <dev 8> ...

The Hardhat binary is started directly rather than through ``npx``: npx wraps
it in ``npm exec`` and a shell, and terminating the wrapper leaves Hardhat
running.

Environment:
    TRIBUTARY_EXTERNAL_L1  "1" to run these tests
    TRIBUTARY_BIN          node binary (see conftest.py)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from conftest import DEV_MNEMONIC, NodeProcess, default_binary

pytestmark = pytest.mark.skipif(
    os.environ.get("TRIBUTARY_EXTERNAL_L1") != "1",
    reason="needs npm and Hardhat; set TRIBUTARY_EXTERNAL_L1=1 to run",
)

HARDHAT_DIR = Path(__file__).resolve().parent.parent / "hardhat"
L1_CHAIN_ID = 31337
L2_CHAIN_ID = 901
L2_BLOCK_TIME_S = 1

# Dev account 8 of the test mnemonic; devnet init names its address as the batcher.
BATCHER_KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"
BATCHER_ADDRESS = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"
# First byte of every batcher transaction's calldata: the derivation version.
DERIVATION_VERSION_0 = 0x00

# Dev accounts used here (0 deploys the portal on L1, 8 is the batcher).
L2_SENDER = 1
L1_DEPOSITOR = 2

ONE_ETHER = 10**18
DEPOSIT_GAS_LIMIT = 100_000
PORTAL_ABI = [
    {
        "type": "function",
        "name": "depositTransaction",
        "stateMutability": "payable",
        "inputs": [
            {"name": "to", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "gasLimit", "type": "uint64"},
            {"name": "isCreation", "type": "bool"},
            {"name": "data", "type": "bytes"},
        ],
        "outputs": [],
    }
]

NPM_INSTALL_TIMEOUT_S = 600.0
STARTUP_TIMEOUT_S = 60.0
DEVNET_INIT_TIMEOUT_S = 60.0
RECEIPT_TIMEOUT_S = 30
SAFE_HEAD_TIMEOUT_S = 90.0
DEPOSIT_TIMEOUT_S = 60.0

HARDHAT_READY_RE = re.compile(r"Started HTTP and WebSocket JSON-RPC server at (http://\S+?)/?$")
L2_RPC_LINE_RE = re.compile(r"L2 RPC: (http://127\.0\.0\.1:\d+)")
LOG_TAIL_LINES = 40


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(proc: NodeProcess, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(proc.output().splitlines()[-lines:])


def _dev_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def _wait_until(
    what: str, timeout: float, probe: Callable[[], Any], describe: Callable[[], str]
) -> Any:
    """Polls `probe` until it returns something truthy; fails with `describe()` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout:.0f}s\n{describe()}", pytrace=False)
        time.sleep(0.5)


def _connect(url: str, chain_id: int, timeout: float) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            if w3.eth.chain_id == chain_id:
                return w3
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} does not answer with chain id {chain_id}", pytrace=False)
        time.sleep(0.2)


def _start(
    argv: List[str],
    log_path: Path,
    ready: re.Pattern,
    *,
    cwd: Optional[Path] = None,
    extra_env: Optional[Dict[str, str]] = None,
) -> tuple[NodeProcess, re.Match]:
    proc = NodeProcess(argv, log_path, cwd=cwd, extra_env=extra_env)
    match = proc.wait_for_line(ready, STARTUP_TIMEOUT_S)
    if match is None:
        proc.stop()
        pytest.fail(
            f"{Path(argv[0]).name} did not become ready (exit status {proc.proc.returncode})\n"
            f"command: {' '.join(argv)}\n--- output ---\n{_tail(proc)}",
            pytrace=False,
        )
    return proc, match


def _send_signed(w3: Web3, acct: LocalAccount, tx: Dict[str, Any]) -> Dict[str, Any]:
    signed = acct.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    assert receipt["status"] == 1, f"transaction failed: {dict(receipt)}"
    return receipt


def _eip1559_fees(w3: Web3) -> Dict[str, int]:
    tip = 10**9
    return {
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + tip,
        "maxPriorityFeePerGas": tip,
    }


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hardhat_installed() -> Path:
    """tests/hardhat with its node_modules, installed from the lock file when missing."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        pytest.fail("TRIBUTARY_EXTERNAL_L1=1 needs node and npm on PATH", pytrace=False)
    if not (HARDHAT_DIR / "node_modules" / ".bin" / "hardhat").exists():
        lock = HARDHAT_DIR / "package-lock.json"
        argv = [npm, "ci" if lock.exists() else "install", "--no-audit", "--no-fund"]
        done = subprocess.run(
            argv,
            cwd=HARDHAT_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=NPM_INSTALL_TIMEOUT_S,
        )
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(argv)} failed in {HARDHAT_DIR}:\n"
                f"{done.stdout.decode('utf-8', 'replace')}",
                pytrace=False,
            )
    return HARDHAT_DIR


@pytest.fixture(scope="module")
def hardhat(hardhat_installed, tmp_path_factory):
    """A Hardhat node (chain 31337, prague, interval mining); yields (url, process)."""
    workdir = tmp_path_factory.mktemp("hardhat")
    argv = [
        str(hardhat_installed / "node_modules" / ".bin" / "hardhat"),
        "node",
        "--hostname",
        "127.0.0.1",
        "--port",
        str(_free_port()),
    ]
    proc, match = _start(
        argv,
        workdir / "hardhat.log",
        HARDHAT_READY_RE,
        cwd=hardhat_installed,
        # No telemetry question and no colours in the log.
        extra_env={"HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "FORCE_COLOR": "0"},
    )
    try:
        yield match.group(1), proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def l1(hardhat) -> Web3:
    url, _ = hardhat
    return _connect(url, L1_CHAIN_ID, STARTUP_TIMEOUT_S)


@pytest.fixture(scope="module")
def devnet(hardhat, l1, tmp_path_factory) -> Dict[str, Any]:
    """`tributary devnet init` against Hardhat; yields the paths and the parsed rollup.json."""
    binary = default_binary()
    if not binary.is_file():
        pytest.fail(f"node binary not found at {binary}; set TRIBUTARY_BIN", pytrace=False)
    url, _ = hardhat
    out = tmp_path_factory.mktemp("devnet")
    argv = [
        str(binary),
        "devnet",
        "init",
        "--l1.rpc",
        url,
        "--out",
        str(out),
        "--l2.block-time",
        str(L2_BLOCK_TIME_S),
    ]
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=DEVNET_INIT_TIMEOUT_S,
    )
    output = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        pytest.fail(f"devnet init failed:\n{' '.join(argv)}\n{output}", pytrace=False)
    rollup = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
    assert rollup["l1_chain_id"] == L1_CHAIN_ID
    assert rollup["l2_chain_id"] == L2_CHAIN_ID
    portal = Web3.to_checksum_address(rollup["deposit_contract_address"])
    assert l1.eth.get_code(portal), f"no portal code at {portal} on Hardhat\n{output}"
    return {"dir": out, "rollup": rollup}


@pytest.fixture(scope="module")
def l2_node(hardhat, devnet, tmp_path_factory):
    """The sequencer + batcher node anchored to Hardhat; yields (url, process)."""
    url, _ = hardhat
    workdir = tmp_path_factory.mktemp("tributary-external-l1")
    datadir = workdir / "datadir"
    datadir.mkdir()
    argv = [
        str(default_binary()),
        "node",
        "--chain",
        str(devnet["dir"] / "genesis.json"),
        "--rollup.config",
        str(devnet["dir"] / "rollup.json"),
        "--l1.rpc",
        url,
        "--sequencer",
        "--batcher",
        "--batcher.private-key",
        BATCHER_KEY,
        "--datadir",
        str(datadir),
        "--http.port",
        "0",
        "--p2p.listen",
        "127.0.0.1:0",
    ]
    proc, match = _start(argv, workdir / "node.log", L2_RPC_LINE_RE)
    try:
        yield match.group(1), proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def l2(l2_node) -> Web3:
    url, _ = l2_node
    return _connect(url, L2_CHAIN_ID, STARTUP_TIMEOUT_S)


def _logs(hardhat, l2_node) -> str:
    return (
        f"--- tributary node (last {LOG_TAIL_LINES} lines) ---\n{_tail(l2_node[1])}\n"
        f"--- hardhat (last {LOG_TAIL_LINES} lines) ---\n{_tail(hardhat[1])}"
    )


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


def test_transfers_become_safe_through_batches_on_hardhat(hardhat, l1, devnet, l2_node, l2):
    sender = _dev_account(L2_SENDER)
    recipient = Account.create().address
    nonce = l2.eth.get_transaction_count(sender.address, "pending")
    receipts = []
    for i in range(3):
        tx = {
            "from": sender.address,
            "to": recipient,
            "value": 1_000 + i,
            "nonce": nonce + i,
            "chainId": L2_CHAIN_ID,
            "gas": 21_000,
            **_eip1559_fees(l2),
        }
        receipts.append(_send_signed(l2, sender, tx))
    last_block = max(r["blockNumber"] for r in receipts)
    assert l2.eth.get_balance(recipient) == 1_000 + 1_001 + 1_002

    def safe_head() -> int:
        return l2.eth.get_block("safe")["number"]

    _wait_until(
        f"L2 safe head {last_block}",
        SAFE_HEAD_TIMEOUT_S,
        lambda: safe_head() >= last_block,
        lambda: f"safe head {safe_head()}, latest {l2.eth.block_number}\n"
        + _logs(hardhat, l2_node),
    )

    # The safe head is only as good as what Hardhat holds: the batcher's transactions to
    # the inbox, included and successful.
    inbox = Web3.to_checksum_address(devnet["rollup"]["batch_inbox_address"])
    batches = []
    for number in range(l1.eth.block_number + 1):
        for tx in l1.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["to"] == inbox:
                batches.append(tx)
    assert batches, f"no transaction to the batch inbox {inbox} on Hardhat\n" + _logs(
        hardhat, l2_node
    )
    for tx in batches:
        tx_hash = Web3.to_hex(tx["hash"])
        # Only the batcher writes to the inbox here; anything else would be ignored by
        # derivation and means the wrong key or address reached the batcher.
        assert tx["from"] == BATCHER_ADDRESS, f"inbox tx {tx_hash} is from {tx['from']}"
        data = HexBytes(tx["input"])
        assert data and data[0] == DERIVATION_VERSION_0, (
            f"inbox tx {tx_hash} calldata starts with {Web3.to_hex(data[:1])}, "
            "not the derivation version 0x00"
        )
        assert l1.eth.get_transaction_receipt(tx["hash"])["status"] == 1, f"{tx_hash} reverted"


def test_deposit_through_portal_on_hardhat(hardhat, l1, devnet, l2_node, l2):
    depositor = _dev_account(L1_DEPOSITOR)
    recipient = Account.create().address
    before = l2.eth.get_balance(recipient)

    portal = l1.eth.contract(
        address=Web3.to_checksum_address(devnet["rollup"]["deposit_contract_address"]),
        abi=PORTAL_ABI,
    )
    tx = portal.functions.depositTransaction(
        recipient, ONE_ETHER, DEPOSIT_GAS_LIMIT, False, b""
    ).build_transaction(
        {
            "from": depositor.address,
            "value": ONE_ETHER,
            "nonce": l1.eth.get_transaction_count(depositor.address, "pending"),
            "chainId": L1_CHAIN_ID,
            **_eip1559_fees(l1),
        }
    )
    receipt = _send_signed(l1, depositor, tx)
    assert receipt["logs"], "the portal emitted no TransactionDeposited log"

    _wait_until(
        "deposit on L2",
        DEPOSIT_TIMEOUT_S,
        lambda: l2.eth.get_balance(recipient) != before,
        lambda: f"deposit in L1 block {receipt['blockNumber']}, L1 head "
        f"{l1.eth.block_number}, L2 head {l2.eth.block_number}\n" + _logs(hardhat, l2_node),
    )
    assert l2.eth.get_balance(recipient) - before == ONE_ETHER

"""The Docker devnet (docker/compose.yml) tested across containers.

`docker/test.sh` (`make docker-test`) builds the image, brings the compose project up and waits
for every service to be healthy; these tests then drive it from the host through the published
ports with web3.py, and break it with the Docker CLI: a follower stopped, a follower cut off the
network, the sequencer restarted and SIGKILLed, the L1 restarted. Each test leaves the devnet
healthy for the next, and they run in file order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
from eth_account import Account
from web3 import Web3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web3"))
from conftest import DEV_MNEMONIC  # noqa: E402
from wallet_helpers import deploy, send_tx, sign, transact  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("TRIBUTARY_COMPOSE_PROJECT", "tributary")
COMPOSE = os.environ.get("TRIBUTARY_COMPOSE", "docker-compose").split()
URLS = {
    "sequencer": f"http://127.0.0.1:{os.environ.get('TRIBUTARY_SEQUENCER_PORT', '8545')}",
    "follower-1": f"http://127.0.0.1:{os.environ.get('TRIBUTARY_FOLLOWER1_PORT', '9545')}",
    "follower-2": f"http://127.0.0.1:{os.environ.get('TRIBUTARY_FOLLOWER2_PORT', '10545')}",
    "l1": f"http://127.0.0.1:{os.environ.get('TRIBUTARY_L1_PORT', '8645')}",
}
FOLLOWERS = ("follower-1", "follower-2")
SYNC_TIMEOUT_S = 180


def compose(*args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [*COMPOSE, "-p", PROJECT, "-f", str(REPO / "docker" / "compose.yml"), *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"compose {' '.join(args)}:\n{done.stdout}"
    return done.stdout


def docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        ["docker", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )
    assert done.returncode == 0, f"docker {' '.join(args)}:\n{done.stdout}"
    return done.stdout


def container(service: str) -> str:
    ids = compose("ps", "-q", service).split()
    assert len(ids) == 1, f"{service}: containers {ids}"
    return ids[0]


def wait_healthy(*services: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = {s: docker("inspect", "-f", "{{.State.Health.Status}}", container(s)).strip() for s in services}
        if all(state == "healthy" for state in states.values()):
            return
        assert time.monotonic() < deadline, f"not healthy: {states}"
        time.sleep(1)


def w3(name: str) -> Web3:
    return Web3(Web3.HTTPProvider(URLS[name], request_kwargs={"timeout": 30}))


def wait_until(what: str, check, timeout: float = SYNC_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as err:  # a node that is restarting refuses connections
            last = err
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


def receipt_on(name: str, tx_hash, timeout: float = SYNC_TIMEOUT_S):
    return wait_until(f"{tx_hash.hex()} on {name}",
                      lambda: w3(name).eth.get_transaction_receipt(tx_hash), timeout)


def dev_accounts(count: int) -> List:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def send_raw(name: str, acct, nonce: int, to: str, value: int):
    """Signs a transfer with an explicit nonce and sends it; returns the hash (the node's ack)."""
    node = w3(name)
    tx = {"to": to, "value": value, "nonce": nonce, "gas": 21_000, "chainId": 901,
          "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9}
    return node.eth.send_raw_transaction(sign(node, acct, tx).raw_transaction)


@pytest.fixture(scope="module", autouse=True)
def devnet_up():
    wait_healthy("l1", "sequencer", *FOLLOWERS)
    yield


def test_wallet_flow_reads_back_on_both_followers():
    accts = dev_accounts(6)
    seq = w3("sequencer")
    assert seq.eth.chain_id == 901 and w3("l1").eth.chain_id == 900
    before = {f: w3(f).eth.get_balance(accts[0].address) for f in FOLLOWERS}
    receipts = [send_tx(seq, acct, {"to": accts[0].address, "value": 10**15}) for acct in accts[1:4]]
    counter, _ = deploy(seq, accts[4], "Counter", 41)
    inc = transact(seq, accts[4], counter.functions.increment())
    for name in FOLLOWERS:
        for r in [*receipts, inc]:
            theirs = receipt_on(name, r["transactionHash"])
            assert theirs["blockHash"] == r["blockHash"] and theirs["status"] == 1
        node = w3(name)
        assert node.eth.contract(counter.address, abi=counter.abi).functions.count().call() == 42
        assert node.eth.get_balance(accts[0].address) >= before[name] + 3 * 10**15
    # a transaction sent to a follower is forwarded to the sequencer
    via = send_tx(w3("follower-1"), accts[5], {"to": accts[0].address, "value": 7})
    assert receipt_on("follower-2", via["transactionHash"])["blockHash"] == via["blockHash"]


def test_followers_agree_with_the_sequencer_up_to_the_safe_head():
    seq = w3("sequencer")
    target = seq.eth.block_number
    safe = wait_until(
        f"every safe head at {target}",
        lambda: (lambda heads: heads if min(heads) >= target else None)(
            [w3(n).eth.get_block("safe")["number"] for n in ("sequencer", *FOLLOWERS)]),
    )
    top = min(safe)
    for number in range(1, top + 1):
        ours = seq.eth.get_block(number)
        for name in FOLLOWERS:
            theirs = w3(name).eth.get_block(number)
            for field in ("hash", "stateRoot", "receiptsRoot", "transactionsRoot"):
                assert ours[field] == theirs[field], f"block {number} {field} on {name}"
    for name in FOLLOWERS:
        sync = w3(name).provider.make_request("optimism_syncStatus", [])["result"]
        assert sync["safe_l2"]["number"] >= top


def test_stopped_follower_catches_up():
    accts = dev_accounts(7)
    docker("stop", container("follower-1"))
    r = send_tx(w3("sequencer"), accts[6], {"to": accts[0].address, "value": 11})
    time.sleep(4)  # a few blocks go by while it is down
    docker("start", container("follower-1"))
    assert receipt_on("follower-1", r["transactionHash"])["blockHash"] == r["blockHash"]
    head = w3("sequencer").eth.block_number
    wait_until("follower-1 at the sequencer's head", lambda: w3("follower-1").eth.block_number >= head)
    wait_healthy("follower-1")


def test_follower_cut_off_serves_reads_then_catches_up():
    accts = dev_accounts(7)
    network = f"{PROJECT}_default"
    follower = container("follower-2")
    docker("network", "disconnect", network, follower)
    try:
        cut_at = w3("follower-2").eth.block_number
        r = send_tx(w3("sequencer"), accts[6], {"to": accts[1].address, "value": 13})
        time.sleep(3)
        # still answering from its own state, without the new block
        cut = w3("follower-2")
        assert cut.eth.block_number < r["blockNumber"]
        assert cut.eth.block_number >= cut_at
        assert cut.eth.get_balance(accts[6].address) > 0
        with pytest.raises(Exception):
            cut.eth.get_transaction_receipt(r["transactionHash"])
    finally:
        docker("network", "connect", "--alias", "follower-2", network, follower)
    assert receipt_on("follower-2", r["transactionHash"])["blockHash"] == r["blockHash"]
    wait_healthy("follower-2")


@pytest.mark.parametrize("how", ["restart", "sigkill"])
def test_sequencer_restart_loses_no_acknowledged_transaction(how):
    accts = dev_accounts(8)
    sender = accts[7]
    seq = w3("sequencer")
    nonce = seq.eth.get_transaction_count(sender.address, "pending")
    # acknowledged with a hash, most still in the pool when the sequencer goes down
    hashes = [send_raw("sequencer", sender, nonce + i, accts[2].address, 1000 + i) for i in range(20)]
    sequencer = container("sequencer")
    if how == "restart":
        docker("restart", sequencer)
    else:
        docker("kill", "-s", "KILL", sequencer)
        docker("start", sequencer)
    wait_healthy("sequencer")
    receipts = [receipt_on("sequencer", h, timeout=60) for h in hashes]
    assert all(r["status"] == 1 for r in receipts)
    for name in FOLLOWERS:
        last = receipts[-1]
        assert receipt_on(name, last["transactionHash"])["blockHash"] == last["blockHash"]
    wait_healthy(*FOLLOWERS)


def test_l1_restart_everyone_resumes():
    seq = w3("sequencer")
    before = {n: w3(n).eth.get_block("safe")["number"] for n in ("sequencer", *FOLLOWERS)}
    l1_before = w3("l1").eth.block_number
    docker("restart", container("l1"))
    wait_healthy("l1")
    assert w3("l1").eth.block_number >= l1_before, "the L1 kept its chain"
    accts = dev_accounts(6)
    r = send_tx(seq, accts[5], {"to": accts[1].address, "value": 17})
    for name in ("sequencer", *FOLLOWERS):
        wait_until(f"{name}'s safe head past block {r['blockNumber']}",
                   lambda: w3(name).eth.get_block("safe")["number"] >= max(r["blockNumber"], before[name] + 1))
    wait_healthy("sequencer", *FOLLOWERS)

"""`tributary devnet up`: an L1, a sequencer with its batch poster and two followers as local
processes. web3.py sends transfers, a contract deploy and attribution calls through the
sequencer (and one transfer through a follower); then all three L2 nodes must hold identical
block hashes, state roots and receipts roots up to the safe head, and answer `attr_*` alike.
`devnet status` reports that they agree; `devnet down --wipe` stops them and removes the data.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time

import pytest
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

from conftest import DEV_MNEMONIC, default_binary
from wallet_helpers import deploy, send_tx, transact
from test_attribution import contracts

FOLLOWERS = 2
SYNC_TIMEOUT_S = 120


def _free_port_block(count: int) -> int:
    """A base port with `count` free consecutive ports after it, below Linux's ephemeral range
    (32768 and up), so an outgoing connection cannot take one between this check and the
    node's bind."""
    for _ in range(50):
        base = random.randint(20_000, 32_000)
        try:
            sockets = []
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            for s in sockets:
                s.close()
            return base
        except OSError:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port block")


def _devnet(*args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [str(default_binary()), "devnet", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"devnet {' '.join(args)} failed:\n{done.stdout}"
    return done.stdout


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    datadir = tmp_path_factory.mktemp("devnet")
    base = _free_port_block(3 + 2 * FOLLOWERS + 2)
    try:
        try:
            out = _devnet(
                "up", "--followers", str(FOLLOWERS), "--datadir", str(datadir),
                "--port-base", str(base), "--l2.block-time", "1", "--l1.block-time", "1",
            )
        except AssertionError as err:
            # `down --wipe` below removes the logs: show them first.
            tails = [
                f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                for log in sorted((datadir / "logs").glob("*.log"))
            ]
            raise AssertionError(f"{err}\n" + "\n".join(tails)) from None
        state = json.loads((datadir / "devnet.json").read_text())
        nodes = {n["name"]: n for n in state["nodes"]}
        assert set(nodes) == {"l1", "sequencer", "follower-1", "follower-2"}, out
        for node in nodes.values():
            assert node["rpc"] in out, out
        assert "L2 chain id: 901" in out and "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" in out, out
        yield datadir, nodes
    finally:
        _devnet("down", "--datadir", str(datadir), "--wipe")
        assert not datadir.exists()


def _w3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


def test_three_nodes_agree_after_load(devnet):
    datadir, nodes = devnet
    seq = _w3(nodes["sequencer"]["rpc"])
    followers = [_w3(nodes[f"follower-{i}"]["rpc"]) for i in range(1, FOLLOWERS + 1)]
    Account.enable_unaudited_hdwallet_features()
    accts = [Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(8)]

    # Transfers from several senders, signed locally.
    last = None
    for round_ in range(3):
        for acct in accts[1:5]:
            last = send_tx(seq, acct, {"to": accts[0].address, "value": 10**15 + round_})
    # A contract deploy and a call.
    counter, _ = deploy(seq, accts[5], "Counter", 7)
    transact(seq, accts[5], counter.functions.increment())
    # The attribution precompile: datanet, contribution, model, one paid inference.
    attribution, _ = contracts(seq)
    curator, owner = accts[6], accts[7]
    receipt = transact(seq, curator, attribution.functions.createDatanet("ipfs://devnet"))
    datanet = attribution.events.DatanetCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["datanetId"]
    receipt = transact(seq, accts[1], attribution.functions.submitContribution(datanet, b"\x11" * 32, 1))
    contribution = attribution.events.ContributionSubmitted().process_receipt(receipt, errors=DISCARD)[0]["args"]["contributionId"]
    transact(seq, curator, attribution.functions.reviewContribution(contribution, True))
    receipt = transact(seq, owner, attribution.functions.registerModel(b"\xd1" * 32, "ipfs://m", 2 * 10**15, 4000, 1000, [datanet]))
    model = attribution.events.ModelRegistered().process_receipt(receipt, errors=DISCARD)[0]["args"]["modelId"]
    fee = 800 * 2 * 10**15 // 1000
    receipt = transact(seq, owner, attribution.functions.recordInference(model, owner.address, 800, b"\x99" * 32, [contribution], [1]), value=fee)
    inference = attribution.events.InferenceRecorded().process_receipt(receipt, errors=DISCARD)[0]["args"]["inferenceId"]
    # A transaction sent to a follower lands on the sequencer.
    via_follower = send_tx(followers[0], accts[2], {"to": accts[3].address, "value": 12345})
    target = max(receipt["blockNumber"], via_follower["blockNumber"], last["blockNumber"])

    deadline = time.monotonic() + SYNC_TIMEOUT_S
    while True:
        safe = [w3.eth.get_block("safe")["number"] for w3 in [seq, *followers]]
        if min(safe) >= target:
            break
        assert time.monotonic() < deadline, f"safe heads {safe} never reached {target}"
        time.sleep(1)
    for number in range(1, min(safe) + 1):
        ours = seq.eth.get_block(number)
        for w3 in followers:
            theirs = w3.eth.get_block(number)
            for field in ("hash", "stateRoot", "receiptsRoot", "transactionsRoot"):
                assert ours[field] == theirs[field], f"block {number} {field}"

    for method, params in (
        ("attr_getModel", [hex(model)]),
        ("attr_getInference", [hex(inference)]),
        ("attr_getDatanet", [hex(datanet)]),
    ):
        answers = [w3.provider.make_request(method, params) for w3 in [seq, *followers]]
        assert "error" not in answers[0], answers[0]
        assert all(a["result"] == answers[0]["result"] for a in answers), (method, answers)
    assert followers[1].eth.get_transaction_receipt(via_follower["transactionHash"])["blockHash"] == via_follower["blockHash"]

    # A second `up` on a running devnet refuses and leaves it running.
    again = subprocess.run(
        [str(default_binary()), "devnet", "up", "--datadir", str(datadir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
    )
    assert again.returncode != 0 and "devnet down" in again.stdout, again.stdout
    status = _devnet("status", "--datadir", str(datadir), timeout=60)
    assert "L2 nodes agree" in status, status
    for name in nodes:
        line = next(l for l in status.splitlines() if l.startswith(name + " "))
        assert "running" in line, status

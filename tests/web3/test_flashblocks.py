"""Flashblocks through web3.py: `tributary node --dev --dev.block-time 200ms` builds each 1 s
block in 200 ms rounds and serves a transaction's receipt (blockHash null) as soon as a round
has it, before the block is sealed. A wallet must be able to use it: web3.py's
`wait_for_transaction_receipt` returns it, a contract's events decode from it, the pending
block lists the transaction, and the sealed receipt says the same.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound

from conftest import DEV_MNEMONIC, RPC_LINE_RE, STARTUP_TIMEOUT_S, NodeProcess, default_binary
from test_wallet import constructor_args
from wallet_helpers import deploy, load_artifact, sign, tx_defaults

SENDS = 6
SAME_FIELDS = ["blockNumber", "transactionIndex", "gasUsed", "cumulativeGasUsed", "status"]


@pytest.fixture(scope="module")
def flash_w3(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tributary-flashblocks")
    argv = [
        str(default_binary()),
        "node",
        "--dev",
        "--datadir",
        str(workdir / "datadir"),
        "--http.port",
        "0",
        "--dev.l1-port",
        "0",
        "--dev.block-time",
        "200ms",
        "--dev.l1-block-time",
        "1",
    ]
    node = NodeProcess(argv, workdir / "node.log")
    try:
        match = node.wait_for_line(RPC_LINE_RE, STARTUP_TIMEOUT_S)
        assert match, f"no RPC line:\n{node.output()}"
        yield Web3(Web3.HTTPProvider(match.group(1), request_kwargs={"timeout": 30}))
    finally:
        node.stop()


def first_receipt(w3: Web3, tx_hash, timeout: float = 30.0):
    """The first receipt the node answers for `tx_hash`, polled every 10 ms."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            assert time.monotonic() < deadline, f"no receipt for {tx_hash.hex()}"
            time.sleep(0.01)


def sealed_receipt(w3: Web3, tx_hash, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        if receipt["blockHash"] is not None:
            return receipt
        assert time.monotonic() < deadline, "the block was never sealed"
        time.sleep(0.05)


def test_preconfirmed_receipts_read_by_web3py(flash_w3):
    w3 = flash_w3
    Account.enable_unaudited_hdwallet_features()
    acct = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/7")
    abi = load_artifact("Token")["abi"]
    # web3.py's own wait_for_transaction_receipt, inside deploy(), takes a preconfirmed
    # receipt with its contractAddress.
    token, deployed = deploy(w3, acct, "Token", *constructor_args(abi, acct.address, 10**24))
    # Calls read the head's state, not the block being built: wait for the deploy's block.
    sealed_receipt(w3, deployed["transactionHash"])

    preconfirmed = 0
    pending_ahead = 0
    for i in range(SENDS):
        to = Web3.to_checksum_address(f"0x{0x7100 + i:040x}")
        tx = token.functions.transfer(to, 1000 + i).build_transaction(tx_defaults(w3, acct))
        signed = sign(w3, acct, tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        assert HexBytes(tx_hash) == HexBytes(signed.hash)
        first = first_receipt(w3, tx_hash)
        events = token.events.Transfer().process_receipt(first)
        assert [(e["args"]["to"], e["args"]["value"]) for e in events] == [(to, 1000 + i)]
        # A call against `pending` sees the preconfirmed transfer; `latest` once it is sealed
        # (asked second: still 0 then means it was not sealed when `pending` answered).
        assert token.functions.balanceOf(to).call(block_identifier="pending") == 1000 + i
        latest = token.functions.balanceOf(to).call(block_identifier="latest")
        pending_ahead += int(latest == 0)
        if first["blockHash"] is None:
            preconfirmed += 1
            pending = w3.eth.get_block("pending")
            # Still pending, or sealed meanwhile as that same block.
            assert pending["number"] == first["blockNumber"]
            assert HexBytes(tx_hash) in [HexBytes(h) for h in pending["transactions"]]
        sealed = sealed_receipt(w3, tx_hash)
        for field in SAME_FIELDS:
            assert first[field] == sealed[field], field
        assert [log["data"] for log in first["logs"]] == [log["data"] for log in sealed["logs"]]
        assert sealed["logs"][0]["blockHash"] == sealed["blockHash"]
        time.sleep(0.15)
    assert preconfirmed >= 2, f"only {preconfirmed} of {SENDS} receipts came before their block"
    assert pending_ahead >= 1, "no call saw pending state ahead of the sealed chain"

"""Blob transactions (EIP-4844) on the L1 dev chain, from a client we did not write.

eth-account signs a type-3 transaction with its blob (its own KZG commitment and proof, from
the ``ckzg`` package it depends on) and web3.py sends it in network form to a
``tributary l1 --dev`` started for this module. The L1 must take it, mine it at Prague's blob rules, and serve the blob back
through its beacon API (``/eth/v1/beacon/blob_sidecars/{slot}``) under the versioned hash the
transaction names. The L2 refuses the same kind of transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.request
from typing import Any, Dict

import pytest
from eth_account import Account
from web3 import Web3

from conftest import DEV_MNEMONIC, NodeProcess, default_binary

L1_CHAIN_ID = 900
BYTES_PER_BLOB = 131_072
GAS_PER_BLOB = 131_072
GWEI = 10**9
SENDER_INDEX = 4
L1_RPC_LINE_RE = re.compile(r"L1 RPC: (http://127\.0\.0\.1:\d+)")


def beacon(l1_url: str, path: str) -> Dict[str, Any]:
    with urllib.request.urlopen(f"{l1_url}{path}", timeout=30) as response:
        return json.load(response)


def a_blob(text: bytes) -> bytes:
    """A blob holding `text`, every 32-byte field element below the BLS modulus (a zero first
    byte each)."""
    blob = bytearray(BYTES_PER_BLOB)
    for i in range(0, len(text), 31):
        chunk = text[i : i + 31]
        start = (i // 31) * 32 + 1
        blob[start : start + len(chunk)] = chunk
    return bytes(blob)


@pytest.fixture(scope="module")
def l1_url(tmp_path_factory) -> str:
    """A `tributary l1 --dev` with 1 s blocks on an ephemeral port, stopped after the module."""
    workdir = tmp_path_factory.mktemp("tributary-l1")
    argv = [
        str(default_binary()),
        "l1",
        "--dev",
        "--datadir",
        str(workdir / "datadir"),
        "--http.port",
        "0",
        "--block-time",
        "1",
    ]
    node = NodeProcess(argv, workdir / "l1.log")
    try:
        match = node.wait_for_line(L1_RPC_LINE_RE, 60)
        assert match, f"the L1 printed no RPC URL:\n{node.output()}"
        yield match.group(1)
    finally:
        node.stop()


@pytest.fixture(scope="module")
def l1(l1_url) -> Web3:
    web3 = Web3(Web3.HTTPProvider(l1_url, request_kwargs={"timeout": 30}))
    assert web3.eth.chain_id == L1_CHAIN_ID
    return web3


@pytest.fixture(scope="module")
def sender():
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{SENDER_INDEX}")


def blob_tx(web3: Web3, sender, chain_id: int) -> Dict[str, Any]:
    base_fee = web3.eth.get_block("latest")["baseFeePerGas"]
    return {
        "type": 3,
        "chainId": chain_id,
        "nonce": web3.eth.get_transaction_count(sender.address),
        "to": "0x00000000000000000000000000000000000000ff",
        "value": 0,
        "gas": 21_000,
        "maxFeePerGas": 2 * base_fee + GWEI,
        "maxPriorityFeePerGas": GWEI,
        "maxFeePerBlobGas": GWEI,
    }


def test_a_blob_transaction_is_mined_and_its_blob_served_by_the_beacon_api(l1, l1_url, sender):
    assert l1.eth.blob_base_fee == 1, "an idle dev L1 prices blob gas at its floor"
    blob = a_blob(b"a Tributary batch, carried in a blob")
    signed = sender.sign_transaction(blob_tx(l1, sender, L1_CHAIN_ID), blobs=[blob])
    assert len(signed.raw_transaction) > BYTES_PER_BLOB, "network form, with the sidecar"
    tx_hash = l1.eth.send_raw_transaction(signed.raw_transaction)

    receipt = l1.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    assert receipt["status"] == 1
    assert receipt["type"] == 3
    assert receipt["blobGasUsed"] == GAS_PER_BLOB
    assert receipt["blobGasPrice"] == 1
    tx = l1.eth.get_transaction(tx_hash)
    assert tx["type"] == 3
    assert tx["maxFeePerBlobGas"] == GWEI
    (versioned_hash,) = tx["blobVersionedHashes"]
    block = l1.eth.get_block(receipt["blockNumber"])
    assert block["blobGasUsed"] == GAS_PER_BLOB
    history = l1.eth.fee_history(1, receipt["blockNumber"], [])
    assert history["blobGasUsedRatio"][0] == pytest.approx(1 / 9)
    # web3.py leaves this field as the hex quantity it came as
    fee = history["baseFeePerBlobGas"][0]
    assert (int(fee, 16) if isinstance(fee, str) else fee) == 1

    # The blob, by the slot of its block, under the versioned hash the transaction names.
    genesis = int(beacon(l1_url, "/eth/v1/beacon/genesis")["data"]["genesis_time"])
    seconds = int(beacon(l1_url, "/eth/v1/config/spec")["data"]["SECONDS_PER_SLOT"])
    slot = (block["timestamp"] - genesis) // seconds
    sidecars = beacon(l1_url, f"/eth/v1/beacon/blob_sidecars/{slot}")["data"]
    assert [s["index"] for s in sidecars] == ["0"]
    served = sidecars[0]
    assert bytes.fromhex(served["blob"][2:]) == blob
    commitment = bytes.fromhex(served["kzg_commitment"][2:])
    assert b"\x01" + hashlib.sha256(commitment).digest()[1:] == bytes(versioned_hash)
    assert int(served["signed_block_header"]["message"]["slot"]) == slot


def test_the_l2_refuses_blob_transactions(w3, sender):
    tx = blob_tx(w3, sender, w3.eth.chain_id)
    signed = sender.sign_transaction(tx, blobs=[a_blob(b"not on an OP chain")])
    with pytest.raises(Exception, match="transaction type not supported"):
        w3.eth.send_raw_transaction(signed.raw_transaction)


def test_a_blob_transaction_without_its_sidecar_is_refused(l1, sender):
    tx = blob_tx(l1, sender, L1_CHAIN_ID)
    tx["blobVersionedHashes"] = [b"\x01" + b"\x00" * 31]
    signed = sender.sign_transaction(tx)
    with pytest.raises(Exception, match="missing its sidecar"):
        l1.eth.send_raw_transaction(signed.raw_transaction)
    # Still nothing pending from this sender: the refusal left no trace.
    time.sleep(0.1)
    assert l1.eth.get_transaction_count(sender.address, "pending") == tx["nonce"]

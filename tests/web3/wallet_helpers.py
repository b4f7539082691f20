"""Sign-locally-and-send helpers shared by the wallet tests.

Everything is signed with eth_account and submitted with
eth_sendRawTransaction, the way a browser or hardware wallet does it: the node
never holds a key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Tuple

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxReceipt

CHAIN_ID = 901
GWEI = 10**9
# Tip used for EIP-1559 transactions. Any value works on the dev chain; it only
# has to be non-zero so effectiveGasPrice = baseFee + tip is exercised.
PRIORITY_FEE = 1 * GWEI
RECEIPT_TIMEOUT_S = 30

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "contracts" / "build"
L1_BLOCK_ADDRESS = "0x4200000000000000000000000000000000000015"
L1_ATTRIBUTES_DEPOSITOR = "0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001"
DEPOSIT_TX_TYPE = 0x7E


def load_artifact(name: str) -> Dict[str, Any]:
    """`tests/contracts/build/<name>.json` -> {"abi": [...], "bytecode": "0x..."}."""
    path = ARTIFACTS_DIR / f"{name}.json"
    with open(path, encoding="utf-8") as f:
        artifact = json.load(f)
    bytecode = artifact["bytecode"]
    if isinstance(bytecode, dict):  # forge-style {"object": "0x..."}
        bytecode = bytecode["object"]
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return {"abi": artifact["abi"], "bytecode": bytecode}


def latest_base_fee(w3: Web3) -> int:
    return w3.eth.get_block("latest")["baseFeePerGas"]


def eip1559_fees(w3: Web3) -> Dict[str, int]:
    """maxFeePerGas = 2 * latest baseFee + tip, the usual wallet default."""
    return {
        "maxFeePerGas": 2 * latest_base_fee(w3) + PRIORITY_FEE,
        "maxPriorityFeePerGas": PRIORITY_FEE,
    }


def legacy_gas_price(w3: Web3) -> int:
    """eth_gasPrice, but never below twice the current base fee."""
    return max(w3.eth.gas_price, 2 * latest_base_fee(w3))


def tx_defaults(w3: Web3, acct: LocalAccount) -> Dict[str, Any]:
    """from / nonce / chainId / EIP-1559 fees, e.g. for build_transaction()."""
    return {
        "from": acct.address,
        "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        "chainId": CHAIN_ID,
        **eip1559_fees(w3),
    }


def complete_tx(w3: Web3, acct: LocalAccount, tx: Dict[str, Any]) -> Dict[str, Any]:
    """Fill whatever `tx` lacks: nonce, chainId, fees (EIP-1559 unless a
    gasPrice is given) and gas (eth_estimateGas, used as is)."""
    tx = dict(tx)
    tx.setdefault("from", acct.address)
    tx.setdefault("value", 0)
    tx.setdefault("chainId", CHAIN_ID)
    if "nonce" not in tx:
        tx["nonce"] = w3.eth.get_transaction_count(acct.address, "pending")
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tx.update(eip1559_fees(w3))
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(
            {k: v for k, v in tx.items() if k not in ("nonce", "chainId", "type")}
        )
    return tx


def sign(w3: Web3, acct: LocalAccount, tx: Dict[str, Any]):
    """complete_tx + sign with the local key; returns eth_account's SignedTransaction."""
    return acct.sign_transaction(complete_tx(w3, acct, tx))


def send_signed(w3: Web3, signed) -> TxReceipt:
    """eth_sendRawTransaction + wait for the receipt."""
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert HexBytes(tx_hash) == HexBytes(signed.hash), "node returned a different tx hash"
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)


def send_tx(
    w3: Web3, acct: LocalAccount, tx: Dict[str, Any], *, expect_success: bool = True
) -> TxReceipt:
    """Sign locally, send raw, wait for the receipt and (by default) check status 1."""
    receipt = send_signed(w3, sign(w3, acct, tx))
    if expect_success:
        assert receipt["status"] == 1, f"transaction failed: {dict(receipt)}"
    return receipt


def raw_receipt(w3: Web3, tx_hash) -> Dict[str, Any]:
    """The receipt exactly as the node sent it (hex strings, OP fields kept)."""
    resp = w3.provider.make_request(
        "eth_getTransactionReceipt", [Web3.to_hex(HexBytes(tx_hash))]
    )
    assert "error" not in resp, resp
    assert resp["result"] is not None, f"no receipt for {Web3.to_hex(tx_hash)}"
    return resp["result"]


def l1_fee(w3: Web3, tx_hash) -> int:
    """The OP receipt's l1Fee (hex quantity), which must be present."""
    raw = raw_receipt(w3, tx_hash)
    assert "l1Fee" in raw, f"receipt has no l1Fee field: {raw}"
    value = raw["l1Fee"]
    assert isinstance(value, str) and value.startswith("0x"), f"l1Fee not hex: {value!r}"
    return int(value, 16)


def total_fee(w3: Web3, receipt: TxReceipt) -> int:
    """What the sender pays on top of `value`: L2 execution fee + L1 data fee."""
    return (
        receipt["gasUsed"] * receipt["effectiveGasPrice"]
        + l1_fee(w3, receipt["transactionHash"])
    )


def deploy(
    w3: Web3, acct: LocalAccount, name: str, *args: Any
) -> Tuple[Any, TxReceipt]:
    """Deploy tests/contracts/build/<name>.json with constructor `args`;
    returns (contract instance, deployment receipt)."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).build_transaction(tx_defaults(w3, acct))
    receipt = send_tx(w3, acct, tx)
    address = receipt["contractAddress"]
    assert address is not None, "deployment receipt has no contractAddress"
    return w3.eth.contract(address=address, abi=artifact["abi"]), receipt


def transact(w3: Web3, acct: LocalAccount, fn, **overrides: Any) -> TxReceipt:
    """Send a contract function call (e.g. `c.functions.increment()`)."""
    tx = fn.build_transaction({**tx_defaults(w3, acct), **overrides})
    return send_tx(w3, acct, tx)

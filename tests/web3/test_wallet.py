"""Wallet-compatibility flow against a dev node, through web3.py + eth_account.

Every transaction is signed locally and sent with eth_sendRawTransaction.
Each test uses its own dev account (see ACCT) so nonces and balances of one
test never depend on another; the tests can run in any order or alone.
"""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from wallet_helpers import (
    CHAIN_ID,
    DEPOSIT_TX_TYPE,
    L1_ATTRIBUTES_DEPOSITOR,
    L1_BLOCK_ADDRESS,
    PRIORITY_FEE,
    deploy,
    eip1559_fees,
    l1_fee,
    legacy_gas_price,
    load_artifact,
    send_tx,
    sign,
    total_fee,
    transact,
)

# Dev account index used by each test (distinct, so tests don't share nonces).
ACCT = {
    "chain": 0,
    "eip1559": 1,
    "legacy": 2,
    "access_list": 3,
    "counter": 4,
    "reverts": 5,
    "token": 6,
    "nonce": 7,
    "blocks": 8,
}

ONE_OPEN = 10**18
ERROR_STRING_SELECTOR = "0x08c379a0"  # Error(string)


def fresh_address() -> str:
    """A new, never-funded address (balance 0)."""
    return Account.create().address


def selector(signature: str) -> str:
    return Web3.to_hex(Web3.keccak(text=signature)[:4])


# --------------------------------------------------------------------------
# chain identity
# --------------------------------------------------------------------------


def test_chain_identity_and_block_production(w3, accounts):
    acct = accounts[ACCT["chain"]]
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.net.version == str(CHAIN_ID)
    client = w3.client_version
    assert isinstance(client, str) and client.strip(), f"bad web3_clientVersion {client!r}"

    before = w3.eth.block_number
    receipt = send_tx(w3, acct, {"to": fresh_address(), "value": 1})
    after = w3.eth.block_number
    assert after > before
    assert receipt["blockNumber"] > before
    assert after >= receipt["blockNumber"]


def test_dev_accounts_funded(w3, accounts):
    for acct in accounts:
        assert w3.eth.get_balance(acct.address) > 0, f"{acct.address} not funded"


# --------------------------------------------------------------------------
# native transfers: EIP-1559, legacy EIP-155, EIP-2930
# --------------------------------------------------------------------------


def assert_exact_transfer(w3, acct, tx, value):
    """Send `tx` (a transfer of `value` to a fresh address) and check both
    balances to the wei: recipient +value, sender -(value + gasUsed *
    effectiveGasPrice + l1Fee)."""
    to = tx["to"]
    sender_before = w3.eth.get_balance(acct.address)
    to_before = w3.eth.get_balance(to)
    assert to_before == 0

    receipt = send_tx(w3, acct, tx)
    block = receipt["blockNumber"]
    assert receipt["from"] == acct.address
    assert receipt["to"] == to

    fee = l1_fee(w3, receipt["transactionHash"])
    assert fee >= 0
    assert w3.eth.get_balance(to, block) - to_before == value
    debit = sender_before - w3.eth.get_balance(acct.address, block)
    assert debit == value + receipt["gasUsed"] * receipt["effectiveGasPrice"] + fee, (
        f"sender debit {debit} != value {value} + gasUsed {receipt['gasUsed']} * "
        f"effectiveGasPrice {receipt['effectiveGasPrice']} + l1Fee {fee}"
    )
    assert debit == value + total_fee(w3, receipt)
    return receipt


def test_eip1559_transfer(w3, accounts):
    acct = accounts[ACCT["eip1559"]]
    to = fresh_address()
    value = ONE_OPEN // 3

    gas = w3.eth.estimate_gas({"from": acct.address, "to": to, "value": value})
    assert gas == 21000, f"plain transfer estimate {gas} != 21000"

    fees = eip1559_fees(w3)
    tx = {"type": 2, "to": to, "value": value, "gas": 21000, **fees}
    receipt = assert_exact_transfer(w3, acct, tx, value)

    assert receipt["type"] == 2
    assert receipt["gasUsed"] == 21000
    base_fee = w3.eth.get_block(receipt["blockNumber"])["baseFeePerGas"]
    assert receipt["effectiveGasPrice"] == min(
        fees["maxFeePerGas"], base_fee + PRIORITY_FEE
    )

    mined = w3.eth.get_transaction(receipt["transactionHash"])
    assert mined["type"] == 2
    assert mined["chainId"] == CHAIN_ID
    assert mined["value"] == value
    assert mined["maxFeePerGas"] == fees["maxFeePerGas"]
    assert mined["maxPriorityFeePerGas"] == PRIORITY_FEE
    assert mined["blockNumber"] == receipt["blockNumber"]


def test_legacy_eip155_transfer(w3, accounts):
    acct = accounts[ACCT["legacy"]]
    to = fresh_address()
    value = 12345
    gas_price = legacy_gas_price(w3)
    # No "type": eth_account signs a legacy tx, EIP-155 protected via chainId.
    tx = {"to": to, "value": value, "gas": 21000, "gasPrice": gas_price}
    receipt = assert_exact_transfer(w3, acct, tx, value)

    assert receipt["type"] == 0
    assert receipt["effectiveGasPrice"] == gas_price
    mined = w3.eth.get_transaction(receipt["transactionHash"])
    assert mined["type"] == 0
    assert mined["gasPrice"] == gas_price
    # EIP-155: v = chainId * 2 + 35 + yParity
    assert mined["v"] in (CHAIN_ID * 2 + 35, CHAIN_ID * 2 + 36)


def test_access_list_transfer(w3, accounts):
    acct = accounts[ACCT["access_list"]]
    to = fresh_address()
    value = 777
    gas_price = legacy_gas_price(w3)
    access_list = [
        {"address": L1_BLOCK_ADDRESS, "storageKeys": ["0x" + "00" * 32]},
    ]
    tx = {
        "type": 1,
        "to": to,
        "value": value,
        "gas": 50000,
        "gasPrice": gas_price,
        "accessList": access_list,
    }
    receipt = assert_exact_transfer(w3, acct, tx, value)

    assert receipt["type"] == 1
    # 21000 + 2400 per address + 1900 per storage key
    assert receipt["gasUsed"] == 21000 + 2400 + 1900
    assert receipt["effectiveGasPrice"] == gas_price
    mined = w3.eth.get_transaction(receipt["transactionHash"])
    assert mined["type"] == 1
    assert len(mined["accessList"]) == 1
    assert mined["accessList"][0]["address"] == Web3.to_checksum_address(L1_BLOCK_ADDRESS)


# --------------------------------------------------------------------------
# Counter: deploy, call, send, events
# --------------------------------------------------------------------------


def test_counter_deploy_call_and_events(w3, accounts):
    acct = accounts[ACCT["counter"]]
    counter, deploy_receipt = deploy(w3, acct, "Counter", 41)

    code = w3.eth.get_code(counter.address)
    assert len(code) > 0, "no code at the deployed address"
    assert counter.functions.count().call() == 41

    r1 = transact(w3, acct, counter.functions.increment())
    assert counter.functions.count().call() == 42
    r2 = transact(w3, acct, counter.functions.incrementBy(5))
    assert counter.functions.count().call() == 47

    # Decoded from the receipt ...
    events = counter.events.Incremented().process_receipt(r1)
    assert len(events) == 1
    ev = events[0]
    assert ev["event"] == "Incremented"
    assert ev["address"] == counter.address
    assert ev["args"]["by"] == acct.address
    assert ev["args"]["newCount"] == 42
    assert ev["blockNumber"] == r1["blockNumber"]
    assert HexBytes(ev["transactionHash"]) == HexBytes(r1["transactionHash"])

    # ... and fetched again with eth_getLogs over a block range.
    topic = Web3.to_hex(Web3.keccak(text="Incremented(address,uint256)"))
    assert topic == counter.events.Incremented().topic
    logs = w3.eth.get_logs(
        {
            "fromBlock": deploy_receipt["blockNumber"],
            "toBlock": r2["blockNumber"],
            "address": counter.address,
            "topics": [topic],
        }
    )
    assert [log["blockNumber"] for log in logs] == [r1["blockNumber"], r2["blockNumber"]]
    for log in logs:
        assert log["address"] == counter.address
        assert HexBytes(log["topics"][0]) == HexBytes(topic)
        # indexed `by` is topic 1, left-padded to 32 bytes
        assert HexBytes(log["topics"][1]) == HexBytes(
            b"\x00" * 12 + HexBytes(acct.address)
        )
    decoded = [counter.events.Incremented().process_log(log) for log in logs]
    assert [d["args"]["by"] for d in decoded] == [acct.address, acct.address]
    assert [d["args"]["newCount"] for d in decoded] == [42, 47]
    assert HexBytes(logs[1]["transactionHash"]) == HexBytes(r2["transactionHash"])

    # A topic filter that matches nothing returns nothing.
    other_topic = Web3.to_hex(Web3.keccak(text="NotAnEvent()"))
    assert (
        w3.eth.get_logs(
            {
                "fromBlock": deploy_receipt["blockNumber"],
                "toBlock": r2["blockNumber"],
                "address": counter.address,
                "topics": [other_topic],
            }
        )
        == []
    )


@pytest.fixture(scope="module")
def reverting_counter(w3, accounts):
    counter, _ = deploy(w3, accounts[ACCT["reverts"]], "Counter", 0)
    return counter


def test_eth_call_revert_reason(w3, accounts, reverting_counter):
    sender = {"from": accounts[ACCT["reverts"]].address}
    with pytest.raises(ContractLogicError) as exc:
        reverting_counter.functions.fail("nope").call(sender)
    assert not isinstance(exc.value, ContractCustomError)
    assert "nope" in str(exc.value.message), exc.value
    # the revert data is Error("nope"), which wallets decode themselves
    assert isinstance(exc.value.data, str), exc.value
    assert exc.value.data.startswith(ERROR_STRING_SELECTOR), exc.value


def test_estimate_gas_revert_reason(w3, accounts, reverting_counter):
    sender = {"from": accounts[ACCT["reverts"]].address}
    with pytest.raises(ContractLogicError) as exc:
        reverting_counter.functions.fail("nope").estimate_gas(sender)
    assert "nope" in str(exc.value.message), exc.value


def test_eth_call_custom_error(w3, accounts, reverting_counter):
    sender = {"from": accounts[ACCT["reverts"]].address}
    with pytest.raises(ContractCustomError) as exc:
        reverting_counter.functions.boom(7).call(sender)
    boom = selector("Boom(uint256)")
    data = exc.value.data
    assert isinstance(data, str) and data.startswith(boom), exc.value
    assert HexBytes(data) == HexBytes(boom) + abi_encode(["uint256"], [7])


# --------------------------------------------------------------------------
# ERC-20
# --------------------------------------------------------------------------


def constructor_args(abi, deployer, supply):
    """Arguments for the artifact's constructor, chosen from its ABI inputs."""
    ctor = next((e for e in abi if e.get("type") == "constructor"), None)
    args = []
    for inp in (ctor or {}).get("inputs", []):
        name, typ = inp.get("name", "").lower(), inp["type"]
        if typ == "string":
            args.append("Tributary Test Token" if "name" in name else "TTT")
        elif typ == "uint8":
            args.append(18)
        elif typ.startswith("uint"):
            args.append(supply)
        elif typ == "address":
            args.append(deployer)
        else:
            pytest.fail(f"don't know how to fill constructor input {inp}")
    return args


def test_erc20_token(w3, accounts):
    acct = accounts[ACCT["token"]]
    supply = 1_000_000 * 10**18
    abi = load_artifact("Token")["abi"]
    token, deploy_receipt = deploy(
        w3, acct, "Token", *constructor_args(abi, acct.address, supply)
    )
    assert len(w3.eth.get_code(token.address)) > 0
    assert token.functions.decimals().call() == 18
    assert isinstance(token.functions.symbol().call(), str)
    assert isinstance(token.functions.name().call(), str)

    total = token.functions.totalSupply().call()
    start = token.functions.balanceOf(acct.address).call()
    assert start > 0, "deployer holds no tokens after deployment"

    to = fresh_address()
    amount = 123_456_789
    receipt = transact(w3, acct, token.functions.transfer(to, amount))

    assert token.functions.balanceOf(to).call() == amount
    assert token.functions.balanceOf(acct.address).call() == start - amount
    assert token.functions.totalSupply().call() == total

    events = token.events.Transfer().process_receipt(receipt)
    assert len(events) == 1
    ev_abi = next(e for e in abi if e.get("type") == "event" and e["name"] == "Transfer")
    f_from, f_to, f_value = (i["name"] for i in ev_abi["inputs"])
    args = events[0]["args"]
    assert args[f_from] == acct.address
    assert args[f_to] == to
    assert args[f_value] == amount
    assert events[0]["address"] == token.address

    logs = w3.eth.get_logs(
        {
            "fromBlock": deploy_receipt["blockNumber"],
            "toBlock": receipt["blockNumber"],
            "address": token.address,
            "topics": [token.events.Transfer().topic],
        }
    )
    assert HexBytes(logs[-1]["transactionHash"]) == HexBytes(receipt["transactionHash"])

    # Sending more than the balance: eth_call reports the revert.
    with pytest.raises(ContractLogicError):
        token.functions.transfer(acct.address, amount + 1).call({"from": to})


# --------------------------------------------------------------------------
# nonces and bad input
# --------------------------------------------------------------------------


def test_nonce_handling(w3, accounts):
    acct = accounts[ACCT["nonce"]]
    nonce = w3.eth.get_transaction_count(acct.address, "pending")
    assert nonce == w3.eth.get_transaction_count(acct.address, "latest")

    receipt = send_tx(w3, acct, {"to": fresh_address(), "value": 1, "nonce": nonce})
    assert w3.eth.get_transaction_count(acct.address, "pending") == nonce + 1
    assert w3.eth.get_transaction_count(acct.address, "latest") == nonce + 1
    mined = w3.eth.get_transaction(receipt["transactionHash"])
    assert mined["nonce"] == nonce

    # A different transaction reusing the consumed nonce.
    stale = sign(w3, acct, {"to": fresh_address(), "value": 2, "nonce": nonce})
    with pytest.raises(Web3RPCError) as exc:
        w3.eth.send_raw_transaction(stale.raw_transaction)
    assert "nonce too low" in str(exc.value).lower(), exc.value
    assert w3.eth.get_transaction_count(acct.address, "pending") == nonce + 1


def test_bad_raw_transaction_rejected(w3, accounts):
    unsent = {"to": fresh_address(), "value": 1, "nonce": 10**6, "gas": 21000}
    good = sign(w3, accounts[ACCT["nonce"]], unsent).raw_transaction
    for garbage in (
        b"\xde\xad\xbe\xef" * 8,
        bytes(good[: len(good) // 2]),  # truncated valid tx
        b"",
    ):
        with pytest.raises(Web3RPCError):
            w3.eth.send_raw_transaction(garbage)
        # the node still answers afterwards
        assert w3.eth.chain_id == CHAIN_ID
        assert w3.eth.block_number >= 0


# --------------------------------------------------------------------------
# fee history and block shape
# --------------------------------------------------------------------------


def test_fee_history_and_l1_attributes_deposit(w3, accounts):
    acct = accounts[ACCT["blocks"]]
    # Make sure there are at least 4 blocks and that "latest" holds our tx.
    receipt = send_tx(w3, acct, {"to": fresh_address(), "value": 1})
    for _ in range(4):
        if w3.eth.block_number >= 4:
            break
        receipt = send_tx(w3, acct, {"to": fresh_address(), "value": 1})
    latest = w3.eth.block_number
    assert latest >= 4

    hist = w3.eth.fee_history(4, "latest", [25, 75])
    assert hist["oldestBlock"] == latest - 3
    assert len(hist["baseFeePerGas"]) == 5  # 4 blocks + the next one
    assert all(isinstance(x, int) and x >= 0 for x in hist["baseFeePerGas"])
    assert len(hist["gasUsedRatio"]) == 4
    assert all(0.0 <= r <= 1.0 for r in hist["gasUsedRatio"])
    assert len(hist["reward"]) == 4
    for rewards in hist["reward"]:
        assert len(rewards) == 2
        assert all(isinstance(x, int) and x >= 0 for x in rewards)
        assert rewards[0] <= rewards[1]

    block = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    txs = block["transactions"]
    assert len(txs) >= 2, "block should hold the L1 attributes deposit and our tx"
    deposit = txs[0]
    assert deposit["type"] == DEPOSIT_TX_TYPE
    assert deposit["to"] == Web3.to_checksum_address(L1_BLOCK_ADDRESS)
    assert deposit["from"] == Web3.to_checksum_address(L1_ATTRIBUTES_DEPOSITOR)
    assert HexBytes(txs[-1]["hash"]) == HexBytes(receipt["transactionHash"])

    latest_block = w3.eth.get_block("latest", full_transactions=True)
    assert latest_block["number"] >= receipt["blockNumber"]
    first = latest_block["transactions"][0]
    assert first["type"] == DEPOSIT_TX_TYPE
    assert first["to"] == Web3.to_checksum_address(L1_BLOCK_ADDRESS)

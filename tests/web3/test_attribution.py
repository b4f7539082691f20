"""The Attribution and Royalties precompiles through their Solidity interface, from web3.py.

The product brief's worked example: a model priced at 0.002 OPEN per 1k tokens serves 12 calls
of 800 tokens and earns 0.0192 OPEN in fees, split as the shares say, with every balance checked
to the wei (gas and the L1 data fee included).
"""

import json
from pathlib import Path

from web3 import Web3
from web3.logs import DISCARD

from wallet_helpers import total_fee, transact

ROOT = Path(__file__).resolve().parents[2]
ABI_DIR = ROOT / "crates/execution/precompiles/abi"
ATTRIBUTION = Web3.to_checksum_address("0x0000000000000000000000000000000000000a01")
ROYALTIES = Web3.to_checksum_address("0x0000000000000000000000000000000000000a02")
TREASURY = Web3.to_checksum_address(
    json.loads((ROOT / "chainspec/dev.json").read_text())["config"]["tributary"]["treasury"]
)
PROTOCOL_BPS = json.loads((ROOT / "chainspec/dev.json").read_text())["config"]["tributary"]["protocolBps"]

PRICE = Web3.to_wei("0.002", "ether")  # OPEN per 1k tokens
DATA_BPS, OPERATOR_BPS = 4_000, 1_000


def contracts(w3):
    attribution = w3.eth.contract(address=ATTRIBUTION, abi=json.loads((ABI_DIR / "IAttribution.json").read_text()))
    royalties = w3.eth.contract(address=ROYALTIES, abi=json.loads((ABI_DIR / "IRoyalties.json").read_text()))
    return attribution, royalties


def test_worked_example_twelve_calls_of_800_tokens(w3, accounts):
    attribution, royalties = contracts(w3)
    curator, bob, carol, owner, operator = accounts[5], accounts[6], accounts[7], accounts[8], accounts[9]

    receipt = transact(w3, curator, attribution.functions.createDatanet("ipfs://worked-example"))
    datanet = attribution.events.DatanetCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["datanetId"]
    contributions = []
    for who in (bob, carol):
        receipt = transact(w3, who, attribution.functions.submitContribution(datanet, b"\x11" * 32, 1))
        contributions.append(attribution.events.ContributionSubmitted().process_receipt(receipt, errors=DISCARD)[0]["args"]["contributionId"])
    for cid in contributions:
        transact(w3, curator, attribution.functions.reviewContribution(cid, True))
    receipt = transact(
        w3, owner,
        attribution.functions.registerModel(b"\xd0" * 32, "ipfs://model", PRICE, DATA_BPS, OPERATOR_BPS, [datanet]),
    )
    model = attribution.events.ModelRegistered().process_receipt(receipt, errors=DISCARD)[0]["args"]["modelId"]
    assert attribution.functions.getModel(model).call()[0] == owner.address
    transact(w3, owner, attribution.functions.setOperator(model, operator.address, True))
    assert attribution.functions.isOperator(model, operator.address).call()

    watched = [bob.address, carol.address, owner.address, operator.address, TREASURY, ATTRIBUTION, ROYALTIES]
    before = {a: w3.eth.get_balance(a) for a in watched}
    fee = 800 * PRICE // 1000
    gas_paid = 0
    for _ in range(12):
        receipt = transact(
            w3, operator,
            attribution.functions.recordInference(model, operator.address, 800, b"\x99" * 32, contributions, [3, 1]),
            value=fee,
        )
        gas_paid += total_fee(w3, receipt)
        recorded = attribution.events.InferenceRecorded().process_receipt(receipt, errors=DISCARD)
        assert len(recorded) == 1 and recorded[0]["args"]["fee"] == fee
        paid = royalties.events.RoyaltyPaid().process_receipt(receipt, errors=DISCARD)
        assert sorted(p["args"]["role"] for p in paid) == [0, 1, 1, 2, 3]
    after = {a: w3.eth.get_balance(a) for a in watched}
    delta = {a: after[a] - before[a] for a in watched}

    total = 12 * fee
    assert total == Web3.to_wei("0.0192", "ether")
    protocol = fee * PROTOCOL_BPS // 10_000
    op_share = fee * OPERATOR_BPS // 10_000
    data = fee * DATA_BPS // 10_000
    bob_share, carol_share = data * 3 // 4, data * 1 // 4
    creator = fee - protocol - op_share - bob_share - carol_share
    assert delta[bob.address] == 12 * bob_share
    assert delta[carol.address] == 12 * carol_share
    assert delta[owner.address] == 12 * creator
    assert delta[TREASURY] == 12 * protocol
    assert delta[operator.address] == -total + 12 * op_share - gas_paid
    assert delta[ATTRIBUTION] == 0 and delta[ROYALTIES] == 0

    inferences, tokens, fees = attribution.functions.modelStats(model).call()
    assert (inferences, tokens, fees) == (12, 9_600, total)
    assert royalties.functions.earnings(bob.address).call() >= 12 * bob_share
    stats = w3.provider.make_request("attr_modelStats", [hex(model)])["result"]
    assert int(stats["fees"], 16) == total and int(stats["inferences"], 16) == 12
    got = w3.provider.make_request("attr_getModel", [hex(model)])["result"]
    assert Web3.to_checksum_address(got["owner"]) == owner.address


def test_custom_errors_decode(w3, accounts):
    attribution, _ = contracts(w3)
    try:
        attribution.functions.getModel(999_999).call({"from": accounts[9].address})
    except Exception as err:  # web3 raises ContractCustomError carrying the encoded error
        data = str(getattr(err, "data", "")) + str(err)
        selector = Web3.keccak(text="UnknownModel(uint64)")[:4].hex().removeprefix("0x")
        assert selector in data, data
    else:
        raise AssertionError("getModel of an unknown id must revert")

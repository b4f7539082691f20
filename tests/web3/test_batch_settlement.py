"""Batched settlement (`settleBatch`) through the Solidity interface, from web3.py.

A batch of inferences packed as the interface's NatSpec describes is settled in one transaction
from the payer's escrow; every balance is checked to the wei against the split computed here
(and the packed credits of `BatchPaid`), the Merkle root is recomputed here and checked against
the event, the epoch's commitment chain is recomputed here and checked against
`batchCommitment`, and each record's proof verifies on chain through `verifyInference` (a
tampered one does not), with the tree proof computed here and the chain as
`attr_getInferenceProof` serves it. `attr_modelStats` and `attr_earnings` count the batch.
"""

import struct

from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

from test_attribution import PRICE, PROTOCOL_BPS, ROYALTIES, TREASURY, contracts
from wallet_helpers import send_tx, total_fee, transact, tx_defaults

DATA_BPS, OPERATOR_BPS = 4_000, 1_000


def pack(model, payer, tokens, fee, output_hash, attributions):
    out = struct.pack(">Q20sQ", model, bytes.fromhex(payer[2:]), tokens)
    out += fee.to_bytes(16, "big") + output_hash + bytes([len(attributions)])
    for contribution, weight in attributions:
        out += struct.pack(">QI", contribution, weight)
    return out


def leaf(record):
    return Web3.keccak(b"\x00" + record)


def node(left, right):
    return Web3.keccak(b"\x01" + left + right)


def levels(leaves):
    width = 1
    while width < len(leaves):
        width *= 2
    level = list(leaves) + [b"\x00" * 32] * (width - len(leaves))
    out = [level]
    while len(level) > 1:
        level = [node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        out.append(level)
    return out


SETTLEMENT_EPOCH = 64


def link(previous, batch, count, root):
    return Web3.keccak(b"\x02" + previous + batch.to_bytes(8, "big") + count.to_bytes(4, "big") + root)


def parse_credits(packed):
    assert len(packed) % 36 == 0
    return {
        Web3.to_checksum_address(packed[i:i + 20]): int.from_bytes(packed[i + 20:i + 36], "big")
        for i in range(0, len(packed), 36)
    }


def proof(leaves, index):
    siblings = []
    for level in levels(leaves)[:-1]:
        siblings.append(level[index ^ 1])
        index //= 2
    return siblings


def test_a_batch_settles_from_escrow_and_every_record_proves_on_chain(w3, accounts):
    attribution, royalties = contracts(w3)
    funder = accounts[2]
    curator, bob, carol, owner, payer = (Account.create() for _ in range(5))
    for who in (curator, bob, carol, owner, payer):
        tx = {"to": who.address, "value": Web3.to_wei(1, "ether"), "gas": 21_000}
        send_tx(w3, funder, {**tx_defaults(w3, funder), **tx})

    receipt = transact(w3, curator, attribution.functions.createDatanet("ipfs://batched"))
    datanet = attribution.events.DatanetCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["datanetId"]
    ids = []
    for who in (bob, carol):
        receipt = transact(w3, who, attribution.functions.submitContribution(datanet, b"\x22" * 32, 1))
        ids.append(attribution.events.ContributionSubmitted().process_receipt(receipt, errors=DISCARD)[0]["args"]["contributionId"])
        transact(w3, curator, attribution.functions.reviewContribution(ids[-1], True))
    receipt = transact(
        w3, owner,
        attribution.functions.registerModel(b"\xb0" * 32, "ipfs://batched-model", PRICE, DATA_BPS, OPERATOR_BPS, [datanet]),
    )
    model = attribution.events.ModelRegistered().process_receipt(receipt, errors=DISCARD)[0]["args"]["modelId"]
    escrow = Web3.to_wei("0.1", "ether")
    transact(w3, payer, royalties.functions.deposit(), value=escrow)
    transact(w3, payer, royalties.functions.approve(model, escrow))

    shapes = [(800, [(ids[0], 3), (ids[1], 1)]), (1_000, [(ids[1], 7)]), (333, []), (12_345, [(ids[0], 1), (ids[1], 2)])]
    records = []
    for i, (tokens, attributions) in enumerate(shapes):
        fee = tokens * PRICE // 1000
        records.append((fee, attributions, pack(model, payer.address, tokens, fee, bytes([i + 1]) * 32, attributions)))
    leaves = [leaf(r) for _, _, r in records]
    root = levels(leaves)[-1][0]
    total = sum(fee for fee, _, _ in records)

    # What each recipient earns, split per record as one inference is split.
    who_of = {ids[0]: bob.address, ids[1]: carol.address}
    expected = {bob.address: 0, carol.address: 0, owner.address: 0, TREASURY: 0}
    for fee, attributions, _ in records:
        protocol = fee * PROTOCOL_BPS // 10_000
        operator_share = fee * OPERATOR_BPS // 10_000
        paid = protocol + operator_share
        weight = sum(w for _, w in attributions)
        if weight:
            data = fee * DATA_BPS // 10_000
            for contribution, w in attributions:
                share = data * w // weight
                expected[who_of[contribution]] += share
                paid += share
        expected[TREASURY] += protocol
        expected[owner.address] += operator_share + fee - paid  # operator and creator: the owner

    watched = [bob.address, carol.address, owner.address, TREASURY, ROYALTIES, payer.address]
    before = {a: w3.eth.get_balance(a) for a in watched}
    receipt = transact(w3, owner, attribution.functions.settleBatch(b"".join(r for _, _, r in records)))
    assert receipt["status"] == 1
    after = {a: w3.eth.get_balance(a) for a in watched}

    settled = attribution.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
    assert len(settled) == 1
    event = settled[0]["args"]
    assert (event["count"], event["root"], event["totalFee"], event["operator"]) == (4, root, total, owner.address)
    batch = event["batchId"]
    paid = royalties.events.BatchPaid().process_receipt(receipt, errors=DISCARD)[0]["args"]
    credits = parse_credits(paid["credits"])
    assert credits == {a: v for a, v in expected.items() if v}
    assert sum(credits.values()) == total, "credits equal the debit to the wei"

    assert after[bob.address] - before[bob.address] == expected[bob.address]
    assert after[carol.address] - before[carol.address] == expected[carol.address]
    assert after[TREASURY] - before[TREASURY] == expected[TREASURY]
    assert after[owner.address] - before[owner.address] == expected[owner.address] - total_fee(w3, receipt)
    assert before[ROYALTIES] - after[ROYALTIES] == total, "the escrow paid every fee"
    assert after[payer.address] == before[payer.address], "the payer's wallet is untouched"
    assert royalties.functions.escrowOf(payer.address).call() == escrow - total
    assert royalties.functions.allowance(payer.address, model).call() == escrow - total

    # The node's totals count the batch (the state keeps none for batches).
    stats = w3.provider.make_request("attr_modelStats", [hex(model)])["result"]
    assert int(stats["batched"]["inferences"], 16) == 4
    assert int(stats["fees"], 16) == total
    assert int(stats["tokens"], 16) == sum(tokens for tokens, _ in shapes)
    earned = int(w3.provider.make_request("attr_earnings", [bob.address])["result"], 16)
    assert earned == expected[bob.address]

    epoch = batch // SETTLEMENT_EPOCH
    commitment = attribution.functions.batchCommitment(epoch).call()
    for index, (_, _, record) in enumerate(records):
        served = w3.provider.make_request("attr_getInferenceProof", [hex(batch + index)])["result"]
        assert bytes.fromhex(served["record"][2:]) == record
        siblings = proof(leaves, index)
        assert [bytes.fromhex(s[2:]) for s in served["siblings"]] == siblings
        prior = bytes.fromhex(served["prior"][2:])
        later = [(int(l["batchId"], 16), l["count"], bytes.fromhex(l["root"][2:])) for l in served["later"]]
        # The chain from the prior commitment through this batch and the later ones is the slot.
        chained = link(prior, batch, len(records), root)
        for later_id, later_count, later_root in later:
            chained = link(chained, later_id, later_count, later_root)
        assert chained == commitment == bytes.fromhex(served["commitment"][2:])
        claim = (batch, len(records), index, record, siblings, prior, later)
        assert attribution.functions.verifyInference(claim).call()
        tampered = bytearray(record)
        tampered[-1] ^= 1
        forged = (batch, len(records), index, bytes(tampered), siblings, prior, later)
        assert not attribution.functions.verifyInference(forged).call()
        shown = w3.provider.make_request("attr_getInference", [hex(batch + index)])["result"]
        assert int(shown["fee"], 16) == records[index][0]
        assert int(shown["batchIndex"], 16) == index

    # A record whose quoted fee no longer matches the price refuses the whole batch.
    stale = pack(model, payer.address, 800, 1, b"\x09" * 32, [])
    try:
        attribution.functions.settleBatch(stale).call({"from": owner.address})
    except Exception as err:
        selector = Web3.keccak(text="RecordRejected(uint256,bytes)")[:4].hex().removeprefix("0x")
        assert selector in str(getattr(err, "data", "")) + str(err)
    else:
        raise AssertionError("a stale quote must be refused")

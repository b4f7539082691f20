#!/usr/bin/env python3
"""Writes chainspec/dev.json from the committed contract artifacts.

Run from the repository root after contracts/build/*.json change:
    python3 scripts/gen-dev-chainspec.py
The chainspec crate's tests check that dev.json still matches the artifacts.
"""
import json, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
art = lambda name: json.loads((root / "contracts/build" / f"{name}.json").read_text())["deployedBytecode"]

# The first ten accounts of `test test ... junk` (m/44'/60'/0'/0/i), as anvil and hardhat fund them.
DEV_ACCOUNTS = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4F870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
]
TREASURY = "0x0000000000000000000000000000000000007ea5"
TEN_THOUSAND_OPEN = hex(10_000 * 10**18)

alloc = {a.lower(): {"balance": TEN_THOUSAND_OPEN} for a in DEV_ACCOUNTS}
# L1Block predeploy (our contract, op-revm's slot layout).
alloc["0x4200000000000000000000000000000000000015"] = {"balance": "0x0", "code": art("L1Block")}
# Fee vaults: slot 0 is the recipient of withdraw().
recipient_slot = {"0x" + "00" * 32: "0x" + "00" * 12 + TREASURY[2:]}
for vault in ["0x4200000000000000000000000000000000000011",  # SequencerFeeVault
              "0x4200000000000000000000000000000000000019",  # BaseFeeVault
              "0x420000000000000000000000000000000000001a",  # L1FeeVault
              "0x420000000000000000000000000000000000001b"]:  # OperatorFeeVault
    alloc[vault] = {"balance": "0x0", "code": art("FeeVault"), "storage": dict(recipient_slot)}
# EIP-4788 and EIP-2935 system contracts (the protocol's own bytecode, as in alloy-eips).
alloc["0x000f3df6d732807ef1319fb7b8bb8522d0beac02"] = {"balance": "0x0", "nonce": "0x1", "code": "0x3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500"}
alloc["0x0000f90827f1c53a10cb7a02335b175320002935"] = {"balance": "0x0", "nonce": "0x1", "code": "0x3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500"}

forks = ["regolithTime", "canyonTime", "ecotoneTime", "fjordTime", "graniteTime", "holoceneTime", "isthmusTime", "jovianTime"]
config = {
    "chainId": 901,
    "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0,
    "constantinopleBlock": 0, "petersburgBlock": 0, "istanbulBlock": 0, "muirGlacierBlock": 0,
    "berlinBlock": 0, "londonBlock": 0, "arrowGlacierBlock": 0, "grayGlacierBlock": 0,
    "mergeNetsplitBlock": 0, "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0,
    "terminalTotalDifficulty": 0, "terminalTotalDifficultyPassed": True,
    "bedrockBlock": 0, **{f: 0 for f in forks},
    "optimism": {"eip1559Elasticity": 6, "eip1559Denominator": 50, "eip1559DenominatorCanyon": 250},
    "tributary": {"attributionTime": 0, "protocolBps": 500, "treasury": TREASURY, "minBaseFee": 1000000},
}
genesis = {
    "config": config, "nonce": "0x0", "timestamp": "0x0", "extraData": "0x",
    "gasLimit": hex(60_000_000), "difficulty": "0x0", "mixHash": "0x" + "00" * 32,
    "coinbase": "0x4200000000000000000000000000000000000011", "baseFeePerGas": hex(1_000_000_000),
    "alloc": alloc,
}
(root / "chainspec/dev.json").write_text(json.dumps(genesis, indent=2) + "\n")
print("wrote chainspec/dev.json")

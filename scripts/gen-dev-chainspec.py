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
# 1 Ggas: room for 10 000 transfers a second in 2 s blocks (47 600 by gas, 25 000 by Jovian's
# DA footprint at the default scalar 400), see docs/chain-parameters.md.
L2_GAS_LIMIT = 1_000_000_000
genesis = {
    "config": config, "nonce": "0x0", "timestamp": "0x0", "extraData": "0x",
    "gasLimit": hex(L2_GAS_LIMIT), "difficulty": "0x0", "mixHash": "0x" + "00" * 32,
    "coinbase": "0x4200000000000000000000000000000000000011", "baseFeePerGas": hex(1_000_000_000),
    "alloc": alloc,
}
(root / "chainspec/dev.json").write_text(json.dumps(genesis, indent=2) + "\n")
print("wrote chainspec/dev.json")

# The L1 dev chain (`tributary l1 --dev`): plain Ethereum at Prague, chain id 900. No `optimism`
# or `tributary` section, which is what makes the chain spec parser treat it as an L1. The
# system contracts Prague's block processing calls (EIP-4788, 2935, 7002, 7251) are in the
# genesis, as on any post-Prague devnet.
l1_alloc = {a.lower(): {"balance": TEN_THOUSAND_OPEN} for a in DEV_ACCOUNTS}
for system in ["0x000f3df6d732807ef1319fb7b8bb8522d0beac02", "0x0000f90827f1c53a10cb7a02335b175320002935"]:
    l1_alloc[system] = dict(alloc[system])
l1_alloc["0x00000961ef480eb55e80d19ad83579a64c007002"] = {"balance": "0x0", "nonce": "0x1", "code": "0x3373fffffffffffffffffffffffffffffffffffffffe1460cb5760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff146101f457600182026001905f5b5f82111560685781019083028483029004916001019190604d565b909390049250505036603814608857366101f457346101f4575f5260205ff35b34106101f457600154600101600155600354806003026004013381556001015f35815560010160203590553360601b5f5260385f601437604c5fa0600101600355005b6003546002548082038060101160df575060105b5f5b8181146101835782810160030260040181604c02815460601b8152601401816001015481526020019060020154807fffffffffffffffffffffffffffffffff00000000000000000000000000000000168252906010019060401c908160381c81600701538160301c81600601538160281c81600501538160201c81600401538160181c81600301538160101c81600201538160081c81600101535360010160e1565b910180921461019557906002556101a0565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff14156101cd57505f5b6001546002828201116101e25750505f6101e8565b01600290035b5f555f600155604c025ff35b5f5ffd"}
l1_alloc["0x0000bbddc7ce488642fb579f8b00f3a590007251"] = {"balance": "0x0", "nonce": "0x1", "code": "0x3373fffffffffffffffffffffffffffffffffffffffe1460d35760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1461019a57600182026001905f5b5f82111560685781019083028483029004916001019190604d565b9093900492505050366060146088573661019a573461019a575f5260205ff35b341061019a57600154600101600155600354806004026004013381556001015f358155600101602035815560010160403590553360601b5f5260605f60143760745fa0600101600355005b6003546002548082038060021160e7575060025b5f5b8181146101295782810160040260040181607402815460601b815260140181600101548152602001816002015481526020019060030154905260010160e9565b910180921461013b5790600255610146565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff141561017357505f5b6001546001828201116101885750505f61018e565b01600190035b5f555f6001556074025ff35b5f5ffd0000"}
l1_config = {k: v for k, v in config.items() if k not in ["bedrockBlock", "optimism", "tributary", *forks]}
l1_config["chainId"] = 900
l1_config["blobSchedule"] = {"cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477},
                            "prague": {"target": 6, "max": 9, "baseFeeUpdateFraction": 5007716}}
l1_genesis = {
    "config": l1_config, "nonce": "0x0", "timestamp": "0x0", "extraData": "0x",
    "gasLimit": hex(60_000_000), "difficulty": "0x0", "mixHash": "0x" + "00" * 32,
    "coinbase": "0x0000000000000000000000000000000000000000", "baseFeePerGas": hex(1_000_000_000),
    "alloc": l1_alloc,
}
(root / "chainspec/l1-dev.json").write_text(json.dumps(l1_genesis, indent=2) + "\n")
print("wrote chainspec/l1-dev.json")

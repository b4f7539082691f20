//! `tributary bench attribution`: the same inferences settled by the native precompile and by
//! `tests/contracts/SolidityAttribution.sol` (the same logic as a contract), in the same EVM,
//! in the same run.
//!
//! Cases: 1, 8 and 64 attributions per inference; contributions from one contributor ("same")
//! or each from its own ("different"); 100 inferences sent one per transaction ("single") or
//! as one `recordInferences` batch. Figures per inference: gas (the whole transaction, intrinsic
//! cost included) and wall time of execution plus commit to the in-memory state. Gas is free
//! (base fee zero) so balances never limit the run.
//!
//! Then batched settlement (`settleBatch`): a batch of `--inferences` records with 8
//! attributions each over 50 distinct contributors, paid from the escrow of 10 payers, and one
//! record alone (64 such batches in a row, one settlement epoch: the mean, and the most, paid by
//! the one that opens an epoch's slot); per-inference gas beside the 100-inference `recordInferences` batch of the
//! same shape, and the share of a 0.0016 OPEN fee that gas takes at the chain's base-fee floor
//! (`minBaseFee`) and at 1 gwei.

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256},
    sol_types::{SolCall, SolValue},
};
use clap::Args;
use revm::{
    DatabaseCommit, DatabaseRef,
    context::TxEnv,
    database::{CacheDB, EmptyDB},
    state::AccountInfo,
};
use std::{sync::Arc, time::Instant};
use tributary_chainspec::ChainSpec;
use tributary_evm::EvmConfig;
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, IAttribution as A, IRoyalties as R, InferenceRecord, ROYALTIES_ADDRESS,
    encode_batch,
};

#[derive(Debug, Args)]
pub(crate) struct AttributionArgs {
    /// Inferences per case.
    #[arg(long, default_value_t = 100)]
    inferences: usize,
}

const PRICE: u64 = 2_000_000_000_000_000;
const TOKENS: u64 = 800;

struct Chain {
    evm: EvmConfig,
    db: CacheDB<EmptyDB>,
    env: alloy_evm::EvmEnv<op_revm::OpSpecId>,
}

impl Chain {
    fn new(chain: Arc<ChainSpec>) -> Self {
        let evm = EvmConfig::new(chain.clone());
        let mut header = chain.genesis_header().inner().clone();
        header.number = 1;
        header.timestamp = 100;
        header.base_fee_per_gas = Some(0);
        let env = evm.evm_env(&header);
        let mut db = CacheDB::new(EmptyDB::default());
        for address in [ATTRIBUTION_ADDRESS, ROYALTIES_ADDRESS] {
            db.insert_account_info(address, AccountInfo { nonce: 1, ..Default::default() });
        }
        Self { evm, db, env }
    }

    fn fund(&mut self, address: Address) {
        let info = AccountInfo { balance: U256::from(10u128.pow(24)), ..Default::default() };
        self.db.insert_account_info(address, info);
    }

    /// Sends one transaction; returns (output, gas used).
    fn send(
        &mut self,
        from: Address,
        to: TxKind,
        value: U256,
        data: Vec<u8>,
    ) -> eyre::Result<(Bytes, u64)> {
        let nonce = self.db.basic_ref(from)?.map(|a| a.nonce).unwrap_or_default();
        let base = TxEnv {
            caller: from,
            gas_limit: 60_000_000,
            kind: to,
            value,
            data: data.into(),
            nonce,
            chain_id: Some(901),
            ..Default::default()
        };
        let tx = tributary_evm::call_tx(base);
        let out = self
            .evm
            .transact(&mut self.db, self.env.clone(), tx)
            .map_err(|e| eyre::eyre!("{e}"))?;
        self.db.commit(out.state);
        let result = out.result;
        eyre::ensure!(result.is_success(), "transaction failed: {result:?}");
        Ok((result.output().cloned().unwrap_or_default(), result.tx_gas_used()))
    }
}

/// One implementation under test: where its ABI lives.
#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    address: Address,
}

const OWNER: Address = Address::with_last_byte(0x01);

/// Datanet 1, 64 accepted contributions by one contributor (ids 1..=64) and 64 by distinct
/// contributors (ids 65..=128), and model 1 on datanet 1 owned by OWNER.
fn set_up(chain: &mut Chain, target: Target) -> eyre::Result<()> {
    let to = TxKind::Call(target.address);
    let z = U256::ZERO;
    chain.send(OWNER, to, z, A::createDatanetCall { metadataUri: "bench".into() }.abi_encode())?;
    let same = Address::with_last_byte(0x02);
    chain.fund(same);
    for i in 0..128u64 {
        let who =
            if i < 64 { same } else { Address::left_padding_from(&(0x1000 + i).to_be_bytes()) };
        if i >= 64 {
            chain.fund(who);
        }
        let call = A::submitContributionCall {
            datanetId: 1,
            contentHash: B256::with_last_byte(i as u8),
            weight: 1,
        };
        chain.send(who, to, z, call.abi_encode())?;
        chain.send(
            OWNER,
            to,
            z,
            A::reviewContributionCall { contributionId: i + 1, accepted: true }.abi_encode(),
        )?;
    }
    let register = A::registerModelCall {
        modelHash: B256::repeat_byte(1),
        metadataUri: "bench".into(),
        pricePerKiloToken: U256::from(PRICE),
        dataBps: 4_000,
        operatorBps: 1_000,
        datanetIds: vec![1],
    };
    chain.send(OWNER, to, z, register.abi_encode())?;
    let _ = target.name;
    Ok(())
}

fn inference(attributions: usize, different: bool, salt: u64) -> A::Inference {
    let first = if different { 65 } else { 1 };
    A::Inference {
        modelId: 1,
        payer: OWNER,
        tokens: TOKENS,
        inferenceHash: B256::from(U256::from(salt)),
        contributionIds: (first..first + attributions as u64).collect(),
        weights: vec![1; attributions],
    }
}

/// Per-inference gas and seconds.
fn measure(
    chain: &mut Chain,
    target: Target,
    attributions: usize,
    different: bool,
    batch: bool,
    n: usize,
) -> eyre::Result<(f64, f64)> {
    let fee = U256::from(TOKENS * PRICE / 1000);
    let to = TxKind::Call(target.address);
    let started = Instant::now();
    let mut gas = 0u64;
    if batch {
        let batch: Vec<_> = (0..n).map(|i| inference(attributions, different, i as u64)).collect();
        let call = A::recordInferencesCall { batch };
        gas += chain.send(OWNER, to, fee * U256::from(n), call.abi_encode())?.1;
    } else {
        for i in 0..n {
            let one = inference(attributions, different, i as u64);
            let call = A::recordInferenceCall {
                modelId: one.modelId,
                payer: one.payer,
                tokens: one.tokens,
                inferenceHash: one.inferenceHash,
                contributionIds: one.contributionIds,
                weights: one.weights,
            };
            gas += chain.send(OWNER, to, fee, call.abi_encode())?.1;
        }
    }
    Ok((gas as f64 / n as f64, started.elapsed().as_secs_f64() / n as f64))
}

pub(crate) fn run(args: AttributionArgs) -> eyre::Result<()> {
    let spec = Arc::new(ChainSpec::dev());
    let params = spec.attribution();
    let mut native = Chain::new(spec.clone());
    let mut solidity = Chain::new(spec.clone());
    for chain in [&mut native, &mut solidity] {
        chain.fund(OWNER);
    }
    let artifact: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/contracts/build/SolidityAttribution.json"
    ))?;
    let code: Bytes = artifact["bytecode"].as_str().unwrap_or_default().parse()?;
    let init = [code.to_vec(), (params.protocol_bps, params.treasury).abi_encode_params()].concat();
    solidity.send(OWNER, TxKind::Create, U256::ZERO, init)?;
    let contract = OWNER.create(0);
    let native_target = Target { name: "precompile", address: ATTRIBUTION_ADDRESS };
    let solidity_target = Target { name: "solidity", address: contract };
    set_up(&mut native, native_target)?;
    set_up(&mut solidity, solidity_target)?;

    let n = args.inferences;
    println!(
        "{:<5} {:<9} {:<6} {:>13} {:>13} {:>9} {:>12} {:>12} {:>9}",
        "attr",
        "who",
        "mode",
        "native gas",
        "solidity gas",
        "gas ratio",
        "native us",
        "solidity us",
        "time ratio"
    );
    let mut single_gas = std::collections::HashMap::new();
    for attributions in [1usize, 8, 64] {
        for different in [false, true] {
            for batch in [false, true] {
                let (ng, nt) =
                    measure(&mut native, native_target, attributions, different, batch, n)?;
                let (sg, st) =
                    measure(&mut solidity, solidity_target, attributions, different, batch, n)?;
                println!(
                    "{:<5} {:<9} {:<6} {:>13.0} {:>13.0} {:>9.3} {:>12.1} {:>12.1} {:>9.3}",
                    attributions,
                    if different { "different" } else { "same" },
                    if batch { "batch" } else { "single" },
                    ng,
                    sg,
                    ng / sg,
                    nt * 1e6,
                    st * 1e6,
                    nt / st,
                );
                if batch {
                    let single: f64 = single_gas[&(attributions, different)];
                    println!(
                        "      batch of {n} vs one by one (native gas per inference): {:.1}x cheaper",
                        single / ng
                    );
                } else {
                    single_gas.insert((attributions, different), ng);
                }
            }
        }
    }
    batched(&mut native, &mut solidity, contract, n, single_gas[&(8, true)])?;
    Ok(())
}

/// Payers of the batched case.
const PAYERS: u64 = 10;
/// Distinct contributors the batched case's attributions are spread over.
const BATCH_CONTRIBUTORS: u64 = 50;

/// Record `i` of the batched case: 8 of the 50 distinct contributors' contributions (ids 65 on),
/// one of the 10 payers.
fn batch_record(i: u64) -> InferenceRecord {
    InferenceRecord {
        model_id: 1,
        payer: payer(i % PAYERS),
        tokens: TOKENS,
        fee: u128::from(TOKENS * PRICE / 1000),
        // Real output hashes and addresses are random bytes, which cost more calldata gas than
        // small numbers would.
        output_hash: alloy::primitives::keccak256(i.to_be_bytes()),
        attributions: (0..8)
            .map(|k| (65 + (i * 8 + k) % BATCH_CONTRIBUTORS, 1 + k as u32))
            .collect(),
    }
}

fn payer(i: u64) -> Address {
    Address::from_word(alloy::primitives::keccak256((0x9000 + i).to_be_bytes()))
}

/// The batched case on both implementations (see the module docs).
fn batched(
    native: &mut Chain,
    solidity: &mut Chain,
    contract: Address,
    n: usize,
    recorded_single: f64,
) -> eyre::Result<()> {
    // The precompile's escrow is the Royalties account; the contract keeps its own.
    let (native_gas, native_time, one) =
        settle_batches(native, ROYALTIES_ADDRESS, ATTRIBUTION_ADDRESS, n)?;
    let (solidity_gas, solidity_time, solidity_one) =
        settle_batches(solidity, contract, contract, n)?;
    let (one_gas, one_time) = (one.mean_gas, one.mean_time);
    println!();
    println!(
        "settleBatch, 8 attributions over {BATCH_CONTRIBUTORS} contributors, {PAYERS} payers:"
    );
    println!(
        "  batch of {n}: precompile {native_gas:.0} gas per inference ({:.1} us), solidity \
         {solidity_gas:.0} gas ({:.1} us): gas ratio {:.3}, time ratio {:.3}",
        native_time * 1e6,
        solidity_time * 1e6,
        native_gas / solidity_gas,
        native_time / solidity_time,
    );
    println!(
        "  one alone, mean of {ALONE} in a row: precompile {one_gas:.0} gas ({:.1} us; {:.0} to \
         {:.0}), solidity {:.0} gas ({:.0} to {:.0}); recordInference alone: \
         {recorded_single:.0} gas",
        one_time * 1e6,
        one.min_gas,
        one.max_gas,
        solidity_one.mean_gas,
        solidity_one.min_gas,
        solidity_one.max_gas,
    );
    let fee = (TOKENS * PRICE / 1000) as f64;
    let spec = ChainSpec::dev();
    // An idle chain's base fee falls to its floor, where the dev chain sits most of the time.
    let floor = spec.fees().min_base_fee as f64;
    for (label, price) in [("the dev chain's base-fee floor", floor), ("1 gwei", 1e9)] {
        println!(
            "  share of a {:.4} OPEN fee taken by settlement gas at {label} ({price:.0} wei): \
             batched {:.4}%, alone {:.4}%, recordInference alone {:.4}%",
            fee / 1e18,
            native_gas * price / fee * 100.0,
            one_gas * price / fee * 100.0,
            recorded_single * price / fee * 100.0,
        );
    }
    Ok(())
}

/// Single-record batches settled in a row for the "one alone" figure: one settlement epoch, so
/// exactly one of them opens its epoch's commitment slot.
const ALONE: u64 = tributary_precompiles::SETTLEMENT_EPOCH;

/// Gas and time of [`ALONE`] single-record batches.
struct Alone {
    mean_gas: f64,
    min_gas: f64,
    max_gas: f64,
    mean_time: f64,
}

/// Funds the payers' escrow at `escrow`, then settles a batch of `n` records and [`ALONE`]
/// records alone at `target`: per-inference gas and seconds of the batch, and of one alone.
fn settle_batches(
    chain: &mut Chain,
    escrow: Address,
    target: Address,
    n: usize,
) -> eyre::Result<(f64, f64, Alone)> {
    for i in 0..PAYERS {
        let who = payer(i);
        chain.fund(who);
        let to = TxKind::Call(escrow);
        chain.send(who, to, U256::from(10u128.pow(21)), R::depositCall {}.abi_encode())?;
        chain.send(
            who,
            to,
            U256::ZERO,
            R::approveCall { modelId: 1, cap: U256::MAX }.abi_encode(),
        )?;
    }
    let mut settle = |records: &[InferenceRecord]| -> eyre::Result<(f64, f64)> {
        let call = A::settleBatchCall { records: encode_batch(records).into() };
        let started = Instant::now();
        let (_, gas) = chain.send(OWNER, TxKind::Call(target), U256::ZERO, call.abi_encode())?;
        let per = records.len() as f64;
        Ok((gas as f64 / per, started.elapsed().as_secs_f64() / per))
    };
    let records: Vec<InferenceRecord> = (0..n as u64).map(batch_record).collect();
    let (batch_gas, batch_time) = settle(&records)?;
    let mut alone = Alone { mean_gas: 0.0, min_gas: f64::MAX, max_gas: 0.0, mean_time: 0.0 };
    for k in 0..ALONE {
        let (gas, time) = settle(&[batch_record(n as u64 + k)])?;
        alone.mean_gas += gas / ALONE as f64;
        alone.mean_time += time / ALONE as f64;
        alone.min_gas = alone.min_gas.min(gas);
        alone.max_gas = alone.max_gas.max(gas);
    }
    Ok((batch_gas, batch_time, alone))
}

//! `tributary bench import`: block import through the full path (execute with op-revm, state
//! root, RocksDB commit) against bare revm executing the same transactions on an in-memory
//! database, measured in the same run.
//!
//! For each workload (native transfers, ERC-20 transfers) the sequencer path first builds the
//! chain into a scratch database. The timed part then imports those blocks into a second, fresh
//! database with `execute_block` + `commit_block`, and separately runs the same transactions
//! through revm's mainnet EVM over a `CacheDB<EmptyDB>` holding the genesis allocation. Both
//! figures count only the transfer blocks; the deploy block is set-up. The import recovers
//! each next block's senders on the rayon pool while the current one executes, as a follower
//! catching up over P2P does (`SenderCache`), and its time is split into what sender recovery
//! was still left in the critical path, execution, the wait for the parent's write, state
//! root, commit and the rest (header checks, roots of transactions and receipts). Both paths
//! write each block while the next one executes, as the node imports (`--persist inline`
//! writes it before the next starts, for comparison): "commit" is then the hand-off, and the
//! write shows where it was not hidden, in the wait for the parent's write.
//!
//! With `--accounts N` the genesis holds N funded accounts and the ERC-20 (predeployed) N
//! holders, and the transfers go to those, spread over the trie, instead of to fresh accounts:
//! the state a chain with N users has. Both the import and bare revm start from it.

use super::split::{Persist, Split};
use alloy::{
    consensus::{Block, BlockBody, SignableTransaction, TxEip1559, transaction::Recovered},
    genesis::GenesisAccount,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol,
    sol_types::{SolCall, SolValue},
};
use clap::ValueEnum;
use revm::{
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
    context::TxEnv,
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::{AccountInfo, Bytecode},
};
use std::{sync::Arc, time::Instant};
use tributary_chainspec::ChainSpec;
use tributary_devnet::accounts::dev_signer;
use tributary_evm::{BlockAttributes, EvmConfig};
use tributary_primitives::{SealedHeader, TxEnvelope};
use tributary_storage::{Database, DatabaseConfig};

sol! {
    function transfer(address to, uint256 amount) returns (bool);
}

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// Transfer blocks per workload.
    #[arg(long, default_value_t = 20)]
    blocks: usize,
    /// Transfers per block.
    #[arg(long, default_value_t = 500)]
    txs_per_block: usize,
    /// Which workloads to run.
    #[arg(long, value_enum, default_values_t = [Workload::Native, Workload::Erc20])]
    workload: Vec<Workload>,
    /// Funded accounts and ERC-20 holders in the state before the timed blocks, and the
    /// transfers' recipients (0: every transfer creates a fresh account).
    #[arg(long, default_value_t = 0)]
    accounts: u64,
    /// How blocks are written: in the background while the next block executes (as the node
    /// imports), or in line.
    #[arg(long, value_enum, default_value_t = Persist::Background)]
    persist: Persist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Native,
    Erc20,
}

pub(crate) fn run(args: ImportArgs) -> eyre::Result<()> {
    println!(
        "{:<8} {:>6} {:>7} {:>10} {:>14} {:>14} {:>7}",
        "workload", "blocks", "txs", "Mgas", "import Mgas/s", "revm Mgas/s", "ratio"
    );
    let spec =
        Arc::new(if args.accounts == 0 { ChainSpec::dev() } else { preloaded(args.accounts)? });
    for workload in &args.workload {
        let result = run_workload(&spec, *workload, &args)?;
        println!(
            "{:<8} {:>6} {:>7} {:>10.1} {:>14.1} {:>14.1} {:>7.3}",
            format!("{workload:?}").to_lowercase(),
            args.blocks,
            result.txs,
            result.gas as f64 / 1e6,
            result.import_mgas_per_s(),
            result.revm_mgas_per_s(),
            result.import_mgas_per_s() / result.revm_mgas_per_s(),
        );
        println!("ratio: {:.3}", result.import_mgas_per_s() / result.revm_mgas_per_s());
        result.split.print("import", args.blocks);
        let per_s = |secs: f64| result.txs as f64 / secs;
        let (build_rate, import_rate) = (per_s(result.build.total), per_s(result.import_secs));
        println!(
            "  build (senders known): {:.0} tx/s, {:.1} Mgas/s; import {:.0} tx/s = {:.2} of build; \
             ecrecover ceiling on {} threads: {:.0} tx/s",
            build_rate,
            result.gas as f64 / 1e6 / result.build.total,
            import_rate,
            import_rate / build_rate,
            rayon::current_num_threads(),
            per_s(result.recover_secs),
        );
        result.build.print("build", args.blocks);
    }
    Ok(())
}

/// The token's address when it is predeployed (`--accounts`).
const PRELOADED_TOKEN: Address = Address::new([0x70; 20]);
/// The first preloaded account; the rest follow it.
const FIRST_PRELOADED: u64 = 0x2000_0000_0000;

fn preloaded_account(index: u64) -> Address {
    Address::left_padding_from(&(FIRST_PRELOADED + index).to_be_bytes())
}

/// The dev genesis plus `accounts` funded accounts and the token with as many holders (and
/// dev account 0 holding the rest of its supply).
fn preloaded(accounts: u64) -> eyre::Result<ChainSpec> {
    let started = Instant::now();
    let mut genesis = ChainSpec::dev().genesis().clone();
    let balance_slot = |holder: Address| keccak256((holder, U256::from(1)).abi_encode());
    let supply = U256::from(10u64).pow(U256::from(30));
    let mut storage = std::collections::BTreeMap::new();
    storage.insert(B256::ZERO, B256::from(supply));
    let holders = U256::from(accounts);
    storage.insert(balance_slot(dev_signer(0).address()), B256::from(supply - holders));
    for index in 0..accounts {
        let address = preloaded_account(index);
        genesis.alloc.insert(
            address,
            GenesisAccount::default().with_balance(U256::from(10u64).pow(U256::from(18))),
        );
        storage.insert(balance_slot(address), B256::from(U256::from(1)));
    }
    let artifact: serde_json::Value =
        serde_json::from_str(include_str!("../../../../tests/contracts/build/Token.json"))?;
    let runtime: Bytes = artifact["deployedBytecode"].as_str().unwrap_or_default().parse()?;
    genesis.alloc.insert(
        PRELOADED_TOKEN,
        GenesisAccount::default().with_code(Some(runtime)).with_storage(Some(storage)),
    );
    let spec = ChainSpec::from_genesis(genesis)?;
    eprintln!(
        "  genesis with {accounts} accounts and token holders: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(spec)
}

struct Measured {
    split: Split,
    /// The sequencer's path on the same blocks (senders known).
    build: Split,
    txs: usize,
    gas: u64,
    import_secs: f64,
    revm_gas: u64,
    revm_secs: f64,
    /// Recovering every timed sender on all cores, from scratch.
    recover_secs: f64,
}

impl Measured {
    fn import_mgas_per_s(&self) -> f64 {
        self.gas as f64 / 1e6 / self.import_secs
    }

    fn revm_mgas_per_s(&self) -> f64 {
        self.revm_gas as f64 / 1e6 / self.revm_secs
    }
}

fn token_init_code() -> eyre::Result<Bytes> {
    let artifact: serde_json::Value =
        serde_json::from_str(include_str!("../../../../tests/contracts/build/Token.json"))?;
    let code: Bytes = artifact["bytecode"].as_str().unwrap_or_default().parse()?;
    let supply = U256::from(10u64).pow(U256::from(30));
    Ok([code.to_vec(), supply.abi_encode()].concat().into())
}

fn sign(
    key: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas: u64,
) -> Recovered<TxEnvelope> {
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1,
        to,
        value,
        input,
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).expect("signing");
    Recovered::new_unchecked(TxEnvelope::Eip1559(tx.into_signed(sig)), key.address())
}

fn run_workload(
    spec: &Arc<ChainSpec>,
    workload: Workload,
    args: &ImportArgs,
) -> eyre::Result<Measured> {
    let (blocks, per_block, accounts) = (args.blocks, args.txs_per_block, args.accounts);
    let spec = spec.clone();
    let evm = EvmConfig::new(spec.clone());
    let key = dev_signer(0);
    let mut nonce = 0u64;

    // Set-up chain: the deploy block (ERC-20 without a preloaded token), then the transfer
    // blocks.
    let mut block_txs: Vec<Vec<Recovered<TxEnvelope>>> = Vec::new();
    let token = if accounts == 0 { key.address().create(0) } else { PRELOADED_TOKEN };
    if workload == Workload::Erc20 && accounts == 0 {
        block_txs.push(vec![sign(
            &key,
            nonce,
            TxKind::Create,
            U256::ZERO,
            token_init_code()?,
            3_000_000,
        )]);
        nonce += 1;
    }
    let setup_blocks = block_txs.len();
    let mut recipient = 0x1000_0000u64;
    // Preloaded recipients in a scattered order (a full-period LCG modulo a power of two,
    // skipping indexes past the count).
    let mut lcg = 1u64;
    let span = accounts.next_power_of_two();
    let mut next_preloaded = || loop {
        lcg = (lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407))
            & (span - 1);
        if lcg < accounts {
            return preloaded_account(lcg);
        }
    };
    for _ in 0..blocks {
        let mut txs = Vec::with_capacity(per_block);
        for _ in 0..per_block {
            let to = if accounts == 0 {
                recipient += 1;
                Address::left_padding_from(&recipient.to_be_bytes())
            } else {
                next_preloaded()
            };
            txs.push(match workload {
                Workload::Native => {
                    sign(&key, nonce, TxKind::Call(to), U256::from(1), Bytes::new(), 21_000)
                }
                Workload::Erc20 => {
                    let input = transferCall { to, amount: U256::from(1) }.abi_encode().into();
                    sign(&key, nonce, TxKind::Call(token), U256::ZERO, input, 80_000)
                }
            });
            nonce += 1;
        }
        block_txs.push(txs);
    }

    // Timed (the blocks after the set-up ones): the sequencer's path, building each block from
    // transactions whose senders are known, as the pool hands them over.
    let built_dir = tempfile::tempdir()?;
    let built_db = Database::open(built_dir.path(), &spec, DatabaseConfig::default())?;
    let mut chain = Vec::new();
    let mut build = Split::default();
    for (index, txs) in block_txs.iter().enumerate() {
        let txs = txs.clone();
        let started = Instant::now();
        let parent = built_db.tip();
        let attrs = BlockAttributes {
            timestamp: parent.timestamp + 2,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            l1_info: tributary_node::dev_l1_origin(parent.number + 1),
            deposits: Vec::new(),
        };
        let built = evm.build_block(&built_db, &parent, attrs, txs)?;
        eyre::ensure!(built.rejected.is_empty(), "transactions rejected: {:?}", built.rejected);
        let timings = built.timings;
        let commit = Instant::now();
        let block = args.persist.commit(&built_db, built.block, built.root)?;
        if index >= setup_blocks {
            build.add(&timings);
            build.commit += commit.elapsed().as_secs_f64();
            build.total += started.elapsed().as_secs_f64();
        }
        chain.push(Block {
            header: block.header.inner().clone(),
            body: BlockBody {
                transactions: block.body.clone(),
                ommers: vec![],
                withdrawals: Some(Default::default()),
            },
        });
    }
    // The last block's write is part of the path.
    let last_write = Instant::now();
    built_db.wait_persisted()?;
    build.commit += last_write.elapsed().as_secs_f64();
    build.total += last_write.elapsed().as_secs_f64();

    // Timed: import into a fresh database.
    let import_dir = tempfile::tempdir()?;
    let import_db = Database::open(import_dir.path(), &spec, DatabaseConfig::default())?;
    for block in &chain[..setup_blocks] {
        let (executed, root) = evm.execute_block(&import_db, block)?;
        import_db.commit_block(&executed, root)?;
    }
    let started = Instant::now();
    let mut gas = 0;
    let mut split = Split::default();
    // As a follower catching up: the next block's senders are recovered while this one runs.
    let senders = tributary_evm::SenderCache::new();
    let timed = &chain[setup_blocks..];
    if let Some(first) = timed.first() {
        senders.prefetch_decoded(first.body.transactions.clone());
    }
    for (index, block) in timed.iter().enumerate() {
        if let Some(next) = timed.get(index + 1) {
            senders.prefetch_decoded(next.body.transactions.clone());
        }
        let (executed, root, timings) = evm.execute_block_with(&import_db, block, &senders)?;
        split.add(&timings);
        gas += executed.header.gas_used;
        let commit = Instant::now();
        args.persist.commit(&import_db, executed, root)?;
        split.commit += commit.elapsed().as_secs_f64();
    }
    let last_write = Instant::now();
    import_db.wait_persisted()?;
    split.commit += last_write.elapsed().as_secs_f64();
    let import_secs = started.elapsed().as_secs_f64();
    split.total = import_secs;
    let head: &SealedHeader = &import_db.head();
    eyre::ensure!(head.hash() == built_db.head().hash(), "import reached a different head");

    // Timed: bare revm, same transactions, in memory.
    let (revm_gas, revm_secs) = bare_revm(&spec, &block_txs, setup_blocks)?;
    let txs = blocks * per_block;
    let recover_secs = ecrecover_all(&chain[setup_blocks..])?;
    Ok(Measured { split, build, txs, gas, import_secs, revm_gas, revm_secs, recover_secs })
}

/// Recovers every sender of `blocks` on the rayon pool (all cores), from scratch: the most
/// transactions a second this machine can take in when each one needs its signature checked.
fn ecrecover_all(blocks: &[tributary_primitives::Block]) -> eyre::Result<f64> {
    use alloy::consensus::transaction::SignerRecoverable;
    use rayon::prelude::*;
    let txs: Vec<&TxEnvelope> = blocks.iter().flat_map(|block| &block.body.transactions).collect();
    let started = Instant::now();
    let recovered = txs.par_iter().filter(|tx| tx.recover_signer().is_ok()).count();
    eyre::ensure!(recovered == txs.len(), "a signature did not recover");
    Ok(started.elapsed().as_secs_f64())
}

fn bare_revm(
    spec: &ChainSpec,
    block_txs: &[Vec<Recovered<TxEnvelope>>],
    setup_blocks: usize,
) -> eyre::Result<(u64, f64)> {
    let mut db = CacheDB::new(EmptyDB::default());
    for (address, account) in &spec.genesis().alloc {
        let code = account.code.clone().unwrap_or_default();
        let bytecode = Bytecode::new_raw(code);
        let info = AccountInfo {
            balance: account.balance,
            nonce: account.nonce.unwrap_or_default(),
            code_hash: bytecode.hash_slow(),
            code: Some(bytecode),
            account_id: None,
        };
        db.insert_account_info(*address, info);
        for (slot, value) in account.storage.iter().flatten() {
            db.insert_account_storage(*address, (*slot).into(), (*value).into())
                .map_err(|err| eyre::eyre!("{err:?}"))?;
        }
    }
    let mut evm = Context::mainnet()
        .with_db(db)
        .modify_cfg_chained(|cfg| {
            cfg.chain_id = 901;
            cfg.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
        })
        .modify_block_chained(|block| {
            block.basefee = 0;
            block.gas_limit = 60_000_000;
        })
        .build_mainnet();
    let to_env = |tx: &Recovered<TxEnvelope>| -> eyre::Result<TxEnv> {
        let TxEnvelope::Eip1559(signed) = tx.inner() else { eyre::bail!("unexpected tx type") };
        Ok(alloy_evm::FromRecoveredTx::from_recovered_tx(signed.tx(), tx.signer()))
    };
    for txs in &block_txs[..setup_blocks] {
        for tx in txs {
            evm.transact_commit(to_env(tx)?).map_err(|err| eyre::eyre!("{err}"))?;
        }
    }
    let envs: Vec<TxEnv> =
        block_txs[setup_blocks..].iter().flatten().map(to_env).collect::<Result<_, _>>()?;
    let started = Instant::now();
    let mut gas = 0;
    for env in envs {
        let result = evm.transact_commit(env).map_err(|err| eyre::eyre!("{err}"))?;
        eyre::ensure!(result.is_success(), "bare revm transfer failed: {result:?}");
        gas += result.tx_gas_used();
    }
    Ok((gas, started.elapsed().as_secs_f64()))
}

//! `tributary bench import`: block import through the full path (execute with op-revm, state
//! root, RocksDB commit) against bare revm executing the same transactions on an in-memory
//! database, measured in the same run.
//!
//! For each workload (native transfers, ERC-20 transfers; every transfer to a fresh
//! recipient) the sequencer path first builds the chain into a scratch database. The timed part
//! then imports those blocks into a second, fresh database with `execute_block` +
//! `commit_block`, and separately runs the same transactions through revm's mainnet EVM over a
//! `CacheDB<EmptyDB>` holding the genesis allocation. Both figures count only the transfer
//! blocks; the deploy block is set-up.

use alloy::{
    consensus::{Block, BlockBody, SignableTransaction, TxEip1559, transaction::Recovered},
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
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
use tributary_primitives::{OpTxEnvelope, SealedHeader};
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
    for workload in &args.workload {
        let result = run_workload(*workload, args.blocks, args.txs_per_block)?;
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
    }
    Ok(())
}

struct Measured {
    txs: usize,
    gas: u64,
    import_secs: f64,
    revm_gas: u64,
    revm_secs: f64,
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
) -> Recovered<OpTxEnvelope> {
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
    Recovered::new_unchecked(OpTxEnvelope::Eip1559(tx.into_signed(sig)), key.address())
}

fn run_workload(workload: Workload, blocks: usize, per_block: usize) -> eyre::Result<Measured> {
    let spec = Arc::new(ChainSpec::dev());
    let evm = EvmConfig::new(spec.clone());
    let key = dev_signer(0);
    let mut nonce = 0u64;

    // Set-up chain: the deploy block (ERC-20 only), then the transfer blocks.
    let mut block_txs: Vec<Vec<Recovered<OpTxEnvelope>>> = Vec::new();
    let token = key.address().create(0);
    if workload == Workload::Erc20 {
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
    for _ in 0..blocks {
        let mut txs = Vec::with_capacity(per_block);
        for _ in 0..per_block {
            recipient += 1;
            let to = Address::left_padding_from(&recipient.to_be_bytes());
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

    let built_dir = tempfile::tempdir()?;
    let built_db = Database::open(built_dir.path(), &spec, DatabaseConfig::default())?;
    let mut chain = Vec::new();
    for txs in &block_txs {
        let parent = built_db.head();
        let attrs = BlockAttributes {
            timestamp: parent.timestamp + 2,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            l1_info: tributary_node::dev_l1_origin(parent.number + 1),
            deposits: Vec::new(),
        };
        let built = evm.build_block(&built_db, &parent, attrs, txs.iter().cloned())?;
        eyre::ensure!(
            built.rejected.is_empty(),
            "set-up transactions rejected: {:?}",
            built.rejected
        );
        built_db.commit_block(&built.block, built.root)?;
        chain.push(Block {
            header: built.block.header.inner().clone(),
            body: BlockBody {
                transactions: built.block.body,
                ommers: vec![],
                withdrawals: Some(Default::default()),
            },
        });
    }

    // Timed: import into a fresh database.
    let import_dir = tempfile::tempdir()?;
    let import_db = Database::open(import_dir.path(), &spec, DatabaseConfig::default())?;
    for block in &chain[..setup_blocks] {
        let (executed, root) = evm.execute_block(&import_db, block)?;
        import_db.commit_block(&executed, root)?;
    }
    let started = Instant::now();
    let mut gas = 0;
    let mut commit_secs = 0.0;
    for block in &chain[setup_blocks..] {
        let (executed, root) = evm.execute_block(&import_db, block)?;
        gas += executed.header.gas_used;
        let commit = Instant::now();
        import_db.commit_block(&executed, root)?;
        commit_secs += commit.elapsed().as_secs_f64();
    }
    let import_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "  {workload:?}: import {:.1} ms/block, of which commit {:.1} ms/block",
        import_secs * 1e3 / blocks as f64,
        commit_secs * 1e3 / blocks as f64
    );
    let head: &SealedHeader = &import_db.head();
    eyre::ensure!(head.hash() == built_db.head().hash(), "import reached a different head");

    // Timed: bare revm, same transactions, in memory.
    let (revm_gas, revm_secs) = bare_revm(&spec, &block_txs, setup_blocks)?;
    let txs = blocks * per_block;
    Ok(Measured { txs, gas, import_secs, revm_gas, revm_secs })
}

fn bare_revm(
    spec: &ChainSpec,
    block_txs: &[Vec<Recovered<OpTxEnvelope>>],
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
    let to_env = |tx: &Recovered<OpTxEnvelope>| -> eyre::Result<TxEnv> {
        let OpTxEnvelope::Eip1559(signed) = tx.inner() else { eyre::bail!("unexpected tx type") };
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

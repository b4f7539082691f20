//! The local devnet: the dev accounts, and `devnet init`, which turns an L1 into the anchor of
//! a new L2.
//!
//! # `devnet init`
//!
//! 1. Deploys our portal (`contracts/TributaryPortal.sol`, bytecode committed in
//!    `contracts/build/`) to the L1 from the deployer key, with the batch inbox, batcher,
//!    unsafe-block signer and L2 gas limit fixed in its immutables.
//! 2. Takes the L1 block that holds the deployment as the rollup's L1 anchor: the first L1
//!    origin. Deposits are read from the portal's logs from the anchor on, and the portal did
//!    not exist before it, so none is missed.
//! 3. Writes the L2 genesis: the dev chain spec with its timestamp set to the anchor's, so the
//!    first L2 blocks are within the sequencer drift of their origin.
//! 4. Writes the rollup config (`rollup.json`, op-node's shape).
//!
//! # `devnet up | status | down`
//!
//! [`local`] runs a whole devnet (L1, sequencer with batch poster, followers) as local
//! processes under one datadir.
//!
//! # Dev roles
//!
//! The dev mnemonic's accounts 8 and 9 are the batcher and the unsafe-block signer, and
//! account 0 deploys; all are funded on both chains, as op's devnets do.

pub mod accounts;
pub mod local;

use alloy::{
    genesis::Genesis, rpc::types::BlockNumberOrTag, signers::local::PrivateKeySigner,
    sol_types::SolValue,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use std::{path::Path, time::Duration};
use tributary_chainspec::{
    BlockId, ChainOpConfig, ChainSpec, RollupConfig, RollupGenesis, SystemConfig,
};
use tributary_l1::{L1Client, TxFields, sign_eip1559};

/// The portal's artifact (`{"bytecode": "0x…", …}`).
const PORTAL_ARTIFACT: &str = include_str!("../../../contracts/build/TributaryPortal.json");

/// Dev mnemonic index of the batcher.
pub const DEV_BATCHER_INDEX: u32 = 8;
/// Dev mnemonic index of the unsafe-block signer.
pub const DEV_SIGNER_INDEX: u32 = 9;
/// Dev mnemonic index of the portal deployer.
pub const DEV_DEPLOYER_INDEX: u32 = 0;
/// L1 fee scalars the devnet starts with (mainnet-like), as `(base fee, blob base fee)`.
pub const DEV_FEE_SCALARS: (u32, u32) = (1368, 810_949);

/// `devnet init` errors.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The L1 did not answer.
    #[error(transparent)]
    L1(#[from] tributary_l1::L1Error),
    /// The L2 chain spec is not valid.
    #[error(transparent)]
    ChainSpec(#[from] tributary_chainspec::ChainSpecError),
    /// The deployment failed.
    #[error("portal deployment: {0}")]
    Deploy(String),
    /// A local devnet (`devnet up|status|down`) cannot do what was asked.
    #[error("{0}")]
    Local(String),
    /// Writing the output failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What `devnet init` needs.
#[derive(Debug, Clone)]
pub struct InitConfig {
    /// The L2 chain spec to start from; its timestamp is replaced by the anchor's.
    pub l2_genesis: Genesis,
    /// Deploys the portal.
    pub deployer: PrivateKeySigner,
    /// The batcher's address.
    pub batcher: Address,
    /// The unsafe-block signer's address.
    pub unsafe_block_signer: Address,
    /// L2 block time, seconds.
    pub block_time: u64,
    /// Sequencer drift, seconds.
    pub max_sequencer_drift: u64,
    /// Sequencing window, L1 blocks.
    pub seq_window_size: u64,
    /// Channel timeout, L1 blocks.
    pub channel_timeout: u64,
}

impl InitConfig {
    /// The dev defaults over the embedded dev chain spec.
    pub fn dev() -> Self {
        Self {
            l2_genesis: ChainSpec::dev().genesis().clone(),
            deployer: accounts::dev_signer(DEV_DEPLOYER_INDEX),
            batcher: accounts::dev_signer(DEV_BATCHER_INDEX).address(),
            unsafe_block_signer: accounts::dev_signer(DEV_SIGNER_INDEX).address(),
            block_time: RollupConfig::DEFAULT_BLOCK_TIME,
            max_sequencer_drift: RollupConfig::DEFAULT_MAX_SEQUENCER_DRIFT,
            seq_window_size: RollupConfig::DEFAULT_SEQ_WINDOW_SIZE,
            channel_timeout: RollupConfig::DEFAULT_CHANNEL_TIMEOUT,
        }
    }
}

/// What `devnet init` produced.
#[derive(Debug, Clone)]
pub struct Devnet {
    /// The L2 genesis, anchored in time to the L1.
    pub l2_genesis: Genesis,
    /// The rollup config.
    pub rollup: RollupConfig,
}

impl Devnet {
    /// Writes `genesis.json` and `rollup.json` into `dir`, each to a temporary name first and
    /// renamed into place, `rollup.json` last: a write cut short leaves no half file for
    /// [`Devnet::read`] to trip on.
    ///
    /// # Errors
    ///
    /// The files cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), DevnetError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| DevnetError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let json = serde_json::to_string_pretty(&self.l2_genesis).unwrap_or_default();
        for (name, text) in [("genesis.json", json), ("rollup.json", self.rollup.to_json())] {
            let (tmp, path) = (dir.join(format!(".{name}.tmp")), dir.join(name));
            std::fs::write(&tmp, text + "\n").map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Reads what [`Devnet::write`] wrote, if it is there.
    ///
    /// # Errors
    ///
    /// A file is there but not valid.
    pub fn read(dir: &Path) -> Result<Option<Self>, DevnetError> {
        let (genesis, rollup) = (dir.join("genesis.json"), dir.join("rollup.json"));
        if !genesis.exists() || !rollup.exists() {
            return Ok(None);
        }
        let l2_genesis = ChainSpec::from_file(&genesis)?.genesis().clone();
        let rollup = RollupConfig::from_file(&rollup)?;
        Ok(Some(Self { l2_genesis, rollup }))
    }
}

/// The portal's creation code with its constructor arguments.
pub fn portal_init_code(
    batch_inbox: Address,
    batcher: Address,
    unsafe_block_signer: Address,
    l2_gas_limit: u64,
) -> Bytes {
    let artifact: serde_json::Value =
        serde_json::from_str(PORTAL_ARTIFACT).expect("the committed portal artifact is JSON");
    let code = artifact["bytecode"].as_str().expect("the portal artifact has bytecode");
    let mut out = alloy_primitives::hex::decode(code).expect("the portal bytecode is hex");
    out.extend((batch_inbox, batcher, unsafe_block_signer, l2_gas_limit).abi_encode_params());
    out.into()
}

/// Deploys the portal on `l1` and returns the devnet's L2 genesis and rollup config.
///
/// # Errors
///
/// The L1 is unreachable, refuses the deployment, or does not mine it within a minute.
pub async fn init(l1: &L1Client, config: InitConfig) -> Result<Devnet, DevnetError> {
    let l1_chain_id = l1.chain_id().await?;
    let l2_chain_id = config.l2_genesis.config.chain_id;
    let batch_inbox = RollupConfig::default_batch_inbox(l2_chain_id);
    let gas_limit = config.l2_genesis.gas_limit;
    let init_code =
        portal_init_code(batch_inbox, config.batcher, config.unsafe_block_signer, gas_limit);
    let deployer = config.deployer.address();
    let nonce = l1.nonce(deployer, BlockNumberOrTag::Pending).await?;
    let gas = l1.estimate_gas(deployer, None, U256::ZERO, &init_code).await?;
    let head = l1
        .block(BlockNumberOrTag::Latest, false)
        .await?
        .ok_or_else(|| DevnetError::Deploy("the L1 has no head block".into()))?;
    let base_fee = u128::from(head.header.base_fee_per_gas.unwrap_or(1_000_000_000));
    let tip = l1.max_priority_fee().await?;
    let tx = sign_eip1559(
        &config.deployer,
        TxFields {
            chain_id: l1_chain_id,
            nonce,
            to: None,
            value: U256::ZERO,
            input: init_code,
            gas_limit: gas.saturating_mul(6) / 5,
            max_fee_per_gas: base_fee.saturating_mul(2).saturating_add(tip),
            max_priority_fee_per_gas: tip,
        },
    )
    .map_err(|err| DevnetError::Deploy(err.to_string()))?;
    l1.send_raw(&tx.raw).await?;
    tracing::info!(target: "devnet", tx = %tx.hash, "deploying the portal");
    let receipt = wait_for_receipt(l1, tx.hash, Duration::from_secs(60)).await?;
    if !receipt.status() {
        return Err(DevnetError::Deploy(format!("deployment {} reverted", tx.hash)));
    }
    let portal = receipt
        .contract_address
        .ok_or_else(|| DevnetError::Deploy("receipt has no contract address".into()))?;
    let anchor_number = receipt
        .block_number
        .ok_or_else(|| DevnetError::Deploy("receipt has no block number".into()))?;
    let anchor = l1
        .block(BlockNumberOrTag::Number(anchor_number), false)
        .await?
        .ok_or_else(|| DevnetError::Deploy(format!("L1 block {anchor_number} is missing")))?;

    let mut l2_genesis = config.l2_genesis;
    l2_genesis.timestamp = anchor.header.timestamp;
    let spec = ChainSpec::from_genesis(l2_genesis.clone())?;
    let l2_hash = spec.genesis_header().hash();
    let rollup = RollupConfig {
        genesis: RollupGenesis {
            l1: BlockId { hash: anchor.header.hash, number: anchor_number },
            l2: BlockId { hash: l2_hash, number: 0 },
            l2_time: anchor.header.timestamp,
            system_config: SystemConfig {
                batcher_addr: config.batcher,
                overhead: B256::ZERO,
                scalar: SystemConfig::ecotone_scalar(DEV_FEE_SCALARS.0, DEV_FEE_SCALARS.1),
                gas_limit,
                // The protocol default (400), left out of the file as op-node leaves it.
                da_footprint_gas_scalar: 0,
            },
        },
        block_time: config.block_time,
        max_sequencer_drift: config.max_sequencer_drift,
        seq_window_size: config.seq_window_size,
        channel_timeout: config.channel_timeout,
        l1_chain_id,
        l2_chain_id,
        batch_inbox_address: batch_inbox,
        deposit_contract_address: portal,
        l1_system_config_address: portal,
        protocol_versions_address: Address::ZERO,
        chain_op_config: Some(ChainOpConfig {
            eip1559_elasticity: spec.fees().elasticity,
            eip1559_denominator: spec.fees().denominator,
            eip1559_denominator_canyon: spec.fees().denominator,
        }),
        unsafe_block_signer: config.unsafe_block_signer,
        fork_times: spec.rollup_fork_times(),
    };
    tracing::info!(
        target: "devnet",
        %portal,
        anchor = anchor_number,
        l2_genesis = %l2_hash,
        "devnet initialized"
    );
    Ok(Devnet { l2_genesis, rollup })
}

/// Polls for a receipt until `timeout`.
///
/// # Errors
///
/// The L1 fails, or the transaction is not mined in time.
pub async fn wait_for_receipt(
    l1: &L1Client,
    hash: B256,
    timeout: Duration,
) -> Result<alloy::rpc::types::TransactionReceipt, DevnetError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(receipt) = l1.receipt(hash).await? {
            return Ok(receipt);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DevnetError::Deploy(format!("{hash} not mined within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

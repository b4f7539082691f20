use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header},
    eips::eip7685::EMPTY_REQUESTS_HASH,
};
use alloy_evm::precompiles::PrecompilesMap;
use alloy_evm::{EvmEnv, EvmFactory as _};
use alloy_op_evm::{
    OpBlockExecutionCtx, OpBlockExecutorFactory, OpEvmContext, OpEvmFactory, OpTx,
    block::OpAlloyReceiptBuilder,
};
use alloy_primitives::{Address, B256, address};
use op_revm::OpSpecId;
use std::sync::Arc;
use tributary_chainspec::{ChainSpec, OpChainHardforks, OpHardforks};
use tributary_primitives::SealedHeader;
use tributary_trie::EMPTY_ROOT_HASH;

/// Priority fees go here: the block's beneficiary on OP chains.
pub const SEQUENCER_FEE_VAULT: Address = address!("4200000000000000000000000000000000000011");

/// alloy-op-evm's `OpEvmFactory` plus the Attribution and Royalties precompiles, installed in
/// every EVM whose block timestamp is at or past the chain spec's `attributionTime`.
#[derive(Debug, Clone)]
pub struct TributaryEvmFactory {
    inner: OpEvmFactory,
    activation_time: u64,
    params: tributary_precompiles::Params,
    /// Records of the batches the precompile settled, for the block's index.
    settled: Arc<tributary_precompiles::SettledRecords>,
}

impl TributaryEvmFactory {
    /// The factory for `chain`.
    pub fn new(chain: &ChainSpec) -> Self {
        let attribution = chain.attribution();
        Self {
            inner: OpEvmFactory::default(),
            activation_time: attribution.activation_time,
            params: attribution.into(),
            settled: Default::default(),
        }
    }

    /// The records of the batches settled by the EVMs this factory made, by Merkle root.
    pub fn settled_records(&self) -> &tributary_precompiles::SettledRecords {
        &self.settled
    }

    /// Whether the precompiles exist at `timestamp`.
    pub fn attribution_active(&self, timestamp: u64) -> bool {
        timestamp >= self.activation_time
    }

    fn install<E: alloy_evm::Evm<Precompiles = PrecompilesMap>>(
        &self,
        evm: &mut E,
        timestamp: u64,
    ) {
        if self.attribution_active(timestamp) {
            tributary_precompiles::install(evm.precompiles_mut(), self.params, &self.settled);
        }
    }
}

impl alloy_evm::EvmFactory for TributaryEvmFactory {
    type Evm<DB: alloy_evm::Database, I: revm::Inspector<OpEvmContext<DB>>> =
        <OpEvmFactory as alloy_evm::EvmFactory>::Evm<DB, I>;
    type Context<DB: alloy_evm::Database> = OpEvmContext<DB>;
    type Tx = OpTx;
    type Error<DBError: std::error::Error + Send + Sync + 'static> =
        revm::context::result::EVMError<DBError, alloy_op_evm::OpTxError>;
    type HaltReason = op_revm::OpHaltReason;
    type Spec = OpSpecId;
    type BlockEnv = revm::context::BlockEnv;
    type Precompiles = PrecompilesMap;

    fn create_evm<DB: alloy_evm::Database>(
        &self,
        db: DB,
        input: EvmEnv<OpSpecId>,
    ) -> Self::Evm<DB, revm::inspector::NoOpInspector> {
        let timestamp = input.block_env.timestamp.saturating_to();
        let mut evm = self.inner.create_evm(db, input);
        self.install(&mut evm, timestamp);
        evm
    }

    fn create_evm_with_inspector<DB: alloy_evm::Database, I: revm::Inspector<Self::Context<DB>>>(
        &self,
        db: DB,
        input: EvmEnv<OpSpecId>,
        inspector: I,
    ) -> Self::Evm<DB, I> {
        let timestamp = input.block_env.timestamp.saturating_to();
        let mut evm = self.inner.create_evm_with_inspector(db, input, inspector);
        self.install(&mut evm, timestamp);
        evm
    }
}

pub(crate) type ExecutorFactory =
    OpBlockExecutorFactory<OpAlloyReceiptBuilder, OpChainHardforks, TributaryEvmFactory>;

/// Chain spec plus executor factory: everything needed to run Tributary blocks.
#[derive(Debug, Clone)]
pub struct EvmConfig {
    chain: Arc<ChainSpec>,
    pub(crate) executor_factory: ExecutorFactory,
    /// Set on an Ethereum (L1) chain: blocks run on alloy-evm's Ethereum executor.
    pub(crate) eth_executor_factory: Option<crate::eth::EthExecutorFactory>,
}

impl EvmConfig {
    /// The config for `chain`.
    pub fn new(chain: Arc<ChainSpec>) -> Self {
        let executor_factory = OpBlockExecutorFactory::new(
            OpAlloyReceiptBuilder::default(),
            chain.hardforks().clone(),
            TributaryEvmFactory::new(&chain),
        );
        let eth_executor_factory =
            (!chain.is_optimism()).then(|| crate::eth::executor_factory(&chain));
        Self { chain, executor_factory, eth_executor_factory }
    }

    /// The chain spec.
    pub fn chain(&self) -> &Arc<ChainSpec> {
        &self.chain
    }

    /// The EVM factory.
    pub fn evm_factory(&self) -> &TributaryEvmFactory {
        alloy_evm::block::BlockExecutorFactory::evm_factory(&self.executor_factory)
    }

    /// The EVM environment for executing `header`'s block.
    pub fn evm_env(&self, header: &Header) -> EvmEnv<OpSpecId> {
        alloy_op_evm::evm_env_for_op_block(header, self.chain.hardforks(), self.chain.chain_id())
    }

    /// The execution context for `header`'s block.
    pub(crate) fn execution_ctx(header: &Header) -> OpBlockExecutionCtx {
        OpBlockExecutionCtx {
            parent_hash: header.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            extra_data: header.extra_data.clone(),
        }
    }

    /// The child of `parent` at `timestamp`, with every field execution does not decide filled
    /// in; gas used, bloom and the roots are set after execution.
    pub fn next_header(
        &self,
        parent: &SealedHeader,
        timestamp: u64,
        prev_randao: B256,
        parent_beacon_block_root: B256,
    ) -> Header {
        let forks = self.chain.hardforks();
        let cancun = forks.is_ecotone_active_at_timestamp(timestamp);
        let isthmus = forks.is_isthmus_active_at_timestamp(timestamp);
        Header {
            parent_hash: parent.hash(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: if self.chain.is_optimism() {
                SEQUENCER_FEE_VAULT
            } else {
                self.chain.genesis().coinbase
            },
            number: parent.number + 1,
            gas_limit: parent.gas_limit,
            timestamp,
            extra_data: self.chain.extra_data_at(timestamp),
            mix_hash: prev_randao,
            base_fee_per_gas: Some(self.chain.next_base_fee(parent, timestamp)),
            // Isthmus: the L2ToL1MessagePasser's storage root. Tributary has no message passer
            // predeploy, so that storage is always empty.
            withdrawals_root: forks
                .is_canyon_active_at_timestamp(timestamp)
                .then_some(EMPTY_ROOT_HASH),
            blob_gas_used: cancun.then_some(0),
            // An Ethereum chain carries blobs at Prague's parameters (EIP-4844, EIP-7691); an
            // OP chain carries none, so its excess stays zero.
            excess_blob_gas: match cancun {
                true if !self.chain.is_optimism() => Some(
                    parent
                        .next_block_excess_blob_gas(alloy::eips::eip7840::BlobParams::prague())
                        .unwrap_or_default(),
                ),
                true => Some(0),
                false => None,
            },
            parent_beacon_block_root: cancun.then_some(parent_beacon_block_root),
            requests_hash: isthmus.then_some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        }
    }

    /// Creates an EVM over `db` for `env`, as the block executor would.
    pub fn create_evm<DB: alloy_evm::Database>(
        &self,
        db: DB,
        env: EvmEnv<OpSpecId>,
    ) -> <TributaryEvmFactory as alloy_evm::EvmFactory>::Evm<DB, revm::inspector::NoOpInspector>
    {
        self.evm_factory().create_evm(db, env)
    }
}

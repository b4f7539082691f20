//! Block execution for plain Ethereum chains: the L1 dev chain (`tributary l1 --dev`).
//!
//! The storage, pool and RPC crates speak `tributary_primitives::TxEnvelope` and
//! `ReceiptEnvelope`, whose non-deposit types are exactly Ethereum's, blob transactions
//! included (the pool does not take them yet). So an L1 block goes through the same code as an
//! L2 block until execution, where this module hands it to alloy-evm's Ethereum executor at
//! Prague: base fee burned, no L1 data fee, no deposits, EIP-7002/7251 requests.

use crate::{ExecutionError, ExecutionOutput, Result, bundle_to_diff};
use alloy::{
    consensus::{
        Header, ReceiptEnvelope as EthReceipt, TxEnvelope as EthTx, transaction::Recovered,
    },
    eips::eip7840::BlobParams,
};
use alloy_evm::{
    EvmEnv, EvmFactory as _,
    block::{BlockExecutionError, BlockExecutor, BlockExecutorFactory},
    eth::{
        EthBlockExecutionCtx, EthBlockExecutorFactory, EthEvmFactory,
        receipt_builder::AlloyReceiptBuilder, spec::EthExecutorSpec,
    },
};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, B256};
use op_alloy::consensus::OpReceiptEnvelope;
use revm::database::{State, states::bundle_state::BundleRetention};
use tributary_chainspec::{ChainSpec, OpChainHardforks};
use tributary_primitives::{Receipt, TxEnvelope};
use tributary_storage::Database;

/// The Ethereum fork schedule of an L1 chain spec: Prague at genesis (the chain spec's OP
/// schedule maps Isthmus to Prague).
#[derive(Debug, Clone)]
pub(crate) struct L1Spec(OpChainHardforks);

impl EthereumHardforks for L1Spec {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.0.ethereum_fork_activation(fork)
    }
}

impl EthExecutorSpec for L1Spec {
    fn deposit_contract_address(&self) -> Option<Address> {
        // No beacon chain deposit contract: EIP-6110 finds no logs at the default address.
        None
    }
}

pub(crate) type EthExecutorFactory =
    EthBlockExecutorFactory<AlloyReceiptBuilder, L1Spec, EthEvmFactory>;

pub(crate) fn executor_factory(chain: &ChainSpec) -> EthExecutorFactory {
    EthBlockExecutorFactory::new(
        AlloyReceiptBuilder::default(),
        L1Spec(chain.hardforks().clone()),
        EthEvmFactory::default(),
    )
}

/// A block's transactions, run by the Ethereum executor. Same contract as the OP `run`.
#[allow(clippy::type_complexity)]
pub(crate) fn run(
    factory: &EthExecutorFactory,
    chain: &ChainSpec,
    db: &Database,
    header: &Header,
    txs: impl IntoIterator<Item = Recovered<TxEnvelope>>,
    strict: bool,
) -> Result<(ExecutionOutput, Vec<Recovered<TxEnvelope>>, Vec<(B256, String)>)> {
    let env: EvmEnv = EvmEnv::for_eth_block(
        header,
        factory.spec().clone(),
        chain.chain_id(),
        Some(BlobParams::prague()),
    );
    let mut state =
        State::builder().with_database_ref(db.latest_state()).with_bundle_update().build();
    let mut included = Vec::new();
    let mut rejected = Vec::new();
    let result = {
        let evm = factory.evm_factory().create_evm(&mut state, env);
        let ctx = EthBlockExecutionCtx {
            parent_hash: header.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            ommers: &[],
            withdrawals: Some(Default::default()),
            extra_data: header.extra_data.clone(),
            tx_count_hint: None,
            slot_number: None,
        };
        let mut executor = factory.create_executor(evm, ctx);
        executor.apply_pre_execution_changes()?;
        let mut refusals = crate::build::Refusals::default();
        for tx in txs {
            let hash = tx.tx_hash();
            if refusals.is_deferred(&tx.signer()) {
                continue;
            }
            let refuse = |reason: String| -> Result<()> {
                if strict {
                    return Err(ExecutionError::InvalidBlock {
                        number: header.number,
                        reason: format!("transaction {hash}: {reason}"),
                    });
                }
                Ok(())
            };
            let (envelope, signer) = tx.clone().into_parts();
            let Ok(eth) = EthTx::try_from(envelope) else {
                refuse("deposit transactions do not exist on an L1".into())?;
                rejected.push((hash, "deposit transaction on an L1".into()));
                continue;
            };
            match executor.execute_transaction(Recovered::<EthTx>::new_unchecked(eth, signer)) {
                Ok(_) => {
                    refusals.included(tx.inner());
                    included.push(tx);
                }
                Err(BlockExecutionError::Validation(err)) => {
                    refuse(err.to_string())?;
                    refusals.refuse(hash, tx.signer(), &err);
                }
                Err(err) => return Err(err.into()),
            }
        }
        rejected.extend(refusals.rejected);
        let (_, result) = executor.finish()?;
        result
    };
    state.merge_transitions(BundleRetention::PlainState);
    let receipts =
        result.receipts.into_iter().map(into_op_receipt).collect::<Result<Vec<Receipt>>>()?;
    let output = ExecutionOutput {
        receipts,
        gas_used: result.gas_used,
        blob_gas_used: 0,
        requests_hash: Some(result.requests.requests_hash()),
        diff: bundle_to_diff(state.take_bundle()),
        prefetched: None,
    };
    Ok((output, included, rejected))
}

/// Ethereum's receipts as ours: op-alloy's envelope holds every type but the blob one.
fn into_op_receipt(receipt: EthReceipt) -> Result<Receipt> {
    Ok(match receipt {
        EthReceipt::Legacy(r) => Receipt::Op(OpReceiptEnvelope::Legacy(r)),
        EthReceipt::Eip2930(r) => Receipt::Op(OpReceiptEnvelope::Eip2930(r)),
        EthReceipt::Eip1559(r) => Receipt::Op(OpReceiptEnvelope::Eip1559(r)),
        EthReceipt::Eip7702(r) => Receipt::Op(OpReceiptEnvelope::Eip7702(r)),
        EthReceipt::Eip4844(r) => Receipt::Eip4844(r),
    })
}

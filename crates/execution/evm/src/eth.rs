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
        Header, ReceiptEnvelope as EthReceipt, Transaction as _, TxEnvelope as EthTx,
        transaction::Recovered,
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
        let max_blob_gas = BlobParams::prague().max_blob_gas_per_block();
        let mut blob_gas = 0u64;
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
            // Prague's blob gas per block, which alloy-evm's executor sums but does not bound.
            let tx_blob_gas = tx
                .blob_versioned_hashes()
                .map_or(0, |hashes| hashes.len() as u64 * alloy::eips::eip4844::DATA_GAS_PER_BLOB);
            if blob_gas.saturating_add(tx_blob_gas) > max_blob_gas {
                refuse(format!("blob gas above the block's {max_blob_gas}"))?;
                refusals.defer(tx.signer());
                continue;
            }
            let (envelope, signer) = tx.clone().into_parts();
            let Ok(eth) = EthTx::try_from(envelope) else {
                refuse("deposit transactions do not exist on an L1".into())?;
                rejected.push((hash, "deposit transaction on an L1".into()));
                continue;
            };
            match executor.execute_transaction(Recovered::<EthTx>::new_unchecked(eth, signer)) {
                Ok(_) => {
                    blob_gas += tx_blob_gas;
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
        blob_gas_used: result.blob_gas_used,
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

#[cfg(test)]
mod tests {
    use crate::{BlockAttributes, EvmConfig};
    use alloy::{
        consensus::{BlockBody, SignableTransaction, TxEip4844, TxReceipt, transaction::Recovered},
        eips::eip4844::DATA_GAS_PER_BLOB,
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{Address, B256};
    use std::sync::Arc;
    use tributary_chainspec::ChainSpec;
    use tributary_primitives::{Block, Receipt, TxEnvelope};
    use tributary_storage::Database;

    /// Dev account 0.
    fn dev_key() -> PrivateKeySigner {
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap()
    }

    /// The attributes of an L1 block 12 s after `parent`.
    fn next_attrs(parent: &tributary_primitives::SealedHeader) -> BlockAttributes {
        BlockAttributes {
            timestamp: parent.timestamp + 12,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            l1_info: Default::default(),
            deposits: Vec::new(),
        }
    }

    /// A blob transaction from dev account 0 carrying `blobs` blobs.
    fn blob_tx(key: &PrivateKeySigner, nonce: u64, blobs: usize) -> Recovered<TxEnvelope> {
        blob_tx_paying(key, nonce, blobs, 1_000_000_000)
    }

    /// The same with a blob fee cap of `blob_fee_cap`.
    fn blob_tx_paying(
        key: &PrivateKeySigner,
        nonce: u64,
        blobs: usize,
        blob_fee_cap: u128,
    ) -> Recovered<TxEnvelope> {
        let mut tx = TxEip4844 {
            chain_id: 900,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1,
            to: Address::repeat_byte(0xff),
            blob_versioned_hashes: (0..blobs)
                .map(|i| {
                    let mut hash = B256::with_last_byte(i as u8);
                    hash.0[0] = 0x01;
                    hash
                })
                .collect(),
            max_fee_per_blob_gas: blob_fee_cap,
            ..Default::default()
        };
        let signature = key.sign_transaction_sync(&mut tx).unwrap();
        Recovered::new_unchecked(TxEnvelope::Eip4844(tx.into_signed(signature)), key.address())
    }

    /// On the L1 dev chain a blob transaction executes at Prague's rules: its receipt is a
    /// type-3 receipt, the header counts its blob gas, a blob past the block's maximum waits,
    /// the next header's excess blob gas follows, and another node imports the block to the
    /// same hash.
    #[test]
    fn blob_transactions_execute_on_the_l1_dev_chain() {
        let chain = Arc::new(ChainSpec::l1_dev(1_000));
        let (dir, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let db = Database::open(dir.path(), &chain, Default::default()).unwrap();
        let importer = Database::open(other.path(), &chain, Default::default()).unwrap();
        let key = dev_key();
        let evm = EvmConfig::new(chain.clone());
        let parent = db.head();
        let attrs = next_attrs(&parent);
        // Nine blobs fill Prague's block maximum; the tenth waits for the next block.
        let txs = vec![blob_tx(&key, 0, 9), blob_tx(&key, 1, 1)];
        let built = evm.build_block(&db, &parent, attrs, txs).unwrap();
        let block = &built.block;
        assert_eq!(block.body.len(), 1, "the tenth blob does not fit");
        assert!(built.rejected.is_empty(), "it waits, it is not dropped: {:?}", built.rejected);
        let max = 9 * DATA_GAS_PER_BLOB;
        assert_eq!(block.header.blob_gas_used, Some(max));
        assert_eq!(block.header.excess_blob_gas, Some(0));
        let Receipt::Eip4844(receipt) = &block.receipts[0] else {
            panic!("a type-3 receipt: {:?}", block.receipts[0])
        };
        assert!(receipt.receipt.status());

        let imported = Block {
            header: block.header.inner().clone(),
            body: BlockBody {
                transactions: block.body.clone(),
                ommers: vec![],
                withdrawals: Some(Default::default()),
            },
        };
        let (executed, _) = EvmConfig::new(chain).execute_block(&importer, &imported).unwrap();
        assert_eq!(executed.header.hash(), block.header.hash());

        // Above the target (six blobs), the excess grows by what the block went over.
        let next =
            evm.next_header(&block.header, block.header.timestamp + 12, B256::ZERO, B256::ZERO);
        assert_eq!(next.excess_blob_gas, Some(max - 6 * DATA_GAS_PER_BLOB));
    }

    /// A blob fee cap under the block's blob base fee waits for a cheaper block: it is left
    /// out, not dropped.
    #[test]
    fn a_blob_fee_cap_under_the_blob_base_fee_waits() {
        let chain = Arc::new(ChainSpec::l1_dev(1_000));
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), &chain, Default::default()).unwrap();
        let key = dev_key();
        let parent = db.head();
        let attrs = next_attrs(&parent);
        // At zero excess the blob base fee is 1 wei.
        let built = EvmConfig::new(chain)
            .build_block(&db, &parent, attrs, vec![blob_tx_paying(&key, 0, 1, 0)])
            .unwrap();
        assert!(built.block.body.is_empty());
        assert!(built.rejected.is_empty(), "it waits: {:?}", built.rejected);
    }
}

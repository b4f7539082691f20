use crate::{EvmConfig, ExecutionError, NextRound, Result, SenderCache, bundle_to_diff};
use alloy::consensus::{
    Header, Sealed,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::{Recovered, SignerRecoverable},
};
use alloy_evm::{
    Evm, EvmEnv,
    block::{BlockExecutionError, BlockExecutor, BlockExecutorFactory},
};
use alloy_primitives::{Address, B256, Bloom};
use op_revm::OpSpecId;
use rayon::prelude::*;
use revm::database::{State, states::bundle_state::BundleRetention};
use std::time::{Duration, Instant};
use tributary_chainspec::OpHardforks;
use tributary_primitives::{Block, OpTxEnvelope, Receipt, SealedHeader, TxDeposit, TxEnvelope};
use tributary_protocol::{L1BlockInfo, L1InfoFormat};
use tributary_storage::{Database, ExecutedBlock, PrefetchedLeaves, StateDiff, StateRootOutput};

/// What the sequencer decides about a new block before running any transaction.
///
/// On an Ethereum chain (the L1 dev chain) there are no deposits: `l1_info` and `deposits`
/// are ignored there.
#[derive(Debug, Clone)]
pub struct BlockAttributes {
    /// The block's timestamp.
    pub timestamp: u64,
    /// `mixHash`: the L1 origin's RANDAO.
    pub prev_randao: B256,
    /// The L1 origin's parent beacon block root.
    pub parent_beacon_block_root: B256,
    /// The L1 values for the L1 attributes deposit.
    pub l1_info: L1BlockInfo,
    /// User deposits from L1, run right after the L1 attributes deposit.
    pub deposits: Vec<TxDeposit>,
}

/// The result of running a block's transactions.
#[derive(Debug, Clone, Default)]
pub struct ExecutionOutput {
    /// One per included transaction.
    pub receipts: Vec<Receipt>,
    /// Gas used by the block.
    pub gas_used: u64,
    /// Jovian's DA footprint (the header's `blobGasUsed`).
    pub blob_gas_used: u64,
    /// EIP-7685 requests hash, on an Ethereum chain (OP chains have none: Isthmus fixes it).
    pub requests_hash: Option<B256>,
    /// State changes.
    pub diff: StateDiff,
    /// The trie leaves read while the block executed, for its state root.
    pub prefetched: Option<std::sync::Arc<PrefetchedLeaves>>,
}

/// Where [`EvmConfig::execute_block_timed`] or [`EvmConfig::build_block`] spent a block's
/// time (a built block's senders are known: its `recover` is zero).
#[derive(Debug, Default, Clone, Copy)]
pub struct ImportTimings {
    /// Sender recovery, in parallel over the cores.
    pub recover: Duration,
    /// Executing the transactions.
    pub execute: Duration,
    /// Waiting, after execution, for the parent block's write to finish (it is written on
    /// another thread while this block executes: `Database::commit_block_in_background`).
    pub parent_write: Duration,
    /// The state root of the changes.
    pub state_root: Duration,
}

/// A block the sequencer built, ready to commit.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The block with its receipts and state changes.
    pub block: ExecutedBlock,
    /// Its trie changes, for [`Database::commit_block`].
    pub root: StateRootOutput,
    /// Pool transactions the EVM refused, with the reason.
    pub rejected: Vec<(B256, String)>,
    /// Where the build's time went.
    pub timings: ImportTimings,
}

impl EvmConfig {
    /// Builds the child of `parent`, which must be the database tip (`Database::tip`: the head,
    /// or the block being written on top of it): the L1 attributes
    /// deposit, `attrs.deposits`, then `pool_txs` in order while they fit and are valid.
    ///
    /// # Errors
    ///
    /// Storage failures and executor failures that are not a transaction's fault.
    pub fn build_block(
        &self,
        db: &Database,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        pool_txs: impl IntoIterator<Item = Recovered<TxEnvelope>>,
    ) -> Result<BuiltBlock> {
        self.build(db, parent, attrs, pool_txs.into_iter().collect(), None)
    }

    /// [`Self::build_block`], in rounds when `next_round` is given (OP chains only).
    pub(crate) fn build(
        &self,
        db: &Database,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        pool_txs: Vec<Recovered<TxEnvelope>>,
        next_round: Option<NextRound<'_>>,
    ) -> Result<BuiltBlock> {
        let head = db.tip();
        // By hash: a rewound and rebuilt chain can have another block at the same height.
        if parent.number != head.number || parent.hash() != head.hash() {
            return Err(ExecutionError::NotChildOfHead {
                number: parent.number + 1,
                head: head.number,
            });
        }
        let header = self.next_header(
            parent,
            attrs.timestamp,
            attrs.prev_randao,
            attrs.parent_beacon_block_root,
        );
        let executing = Instant::now();
        if !self.chain().is_optimism() {
            let (output, included, rejected) = self.run(db, &header, pool_txs, false)?;
            return self.seal_built(db, header, output, included, rejected, executing.elapsed());
        }
        let l1_info = self.l1_info_deposit(parent.timestamp, &attrs);
        let mut txs: Vec<Recovered<TxEnvelope>> = std::iter::once(l1_info)
            .chain(attrs.deposits)
            .map(|deposit| {
                let from = deposit.from;
                Recovered::new_unchecked(TxEnvelope::Deposit(Sealed::new(deposit)), from)
            })
            .collect();
        txs.extend(pool_txs);
        let (output, included, rejected) =
            self.run_rounds(db, &header, txs, false, next_round, true)?;
        self.seal_built(db, header, output, included, rejected, executing.elapsed())
    }

    /// The L1 attributes deposit that opens the child (at `attrs.timestamp`) of a block at
    /// `parent_timestamp`, in the format the forks of both fix.
    pub fn l1_info_deposit(&self, parent_timestamp: u64, attrs: &BlockAttributes) -> TxDeposit {
        let forks = self.chain().hardforks();
        let format = L1InfoFormat::for_block(
            (
                forks.is_isthmus_active_at_timestamp(attrs.timestamp),
                forks.is_isthmus_active_at_timestamp(parent_timestamp),
            ),
            (
                forks.is_jovian_active_at_timestamp(attrs.timestamp),
                forks.is_jovian_active_at_timestamp(parent_timestamp),
            ),
        );
        attrs.l1_info.deposit_tx(format)
    }

    fn seal_built(
        &self,
        db: &Database,
        mut header: Header,
        output: ExecutionOutput,
        included: Vec<Recovered<TxEnvelope>>,
        rejected: Vec<(B256, String)>,
        execute: Duration,
    ) -> Result<BuiltBlock> {
        let waiting = Instant::now();
        db.wait_persisted()?;
        let parent_write = waiting.elapsed();
        let rooting = Instant::now();
        let root = db.state_root_prefetched(&output.diff, output.prefetched.as_deref())?;
        let timings = ImportTimings {
            recover: Duration::ZERO,
            execute,
            parent_write,
            state_root: rooting.elapsed(),
        };
        fill_header(&mut header, &output, &included, root.root, self);
        let (body, senders): (Vec<_>, _) = included.into_iter().map(|tx| tx.into_parts()).unzip();
        let batches = self.settled_batches(header.number, &body, &output.receipts);
        let block = ExecutedBlock {
            header: SealedHeader::new(header),
            body,
            senders,
            receipts: output.receipts,
            state: output.diff,
            batches,
            blob_sidecars: Vec::new(),
        };
        Ok(BuiltBlock { block, root, rejected, timings })
    }

    /// Executes an existing block on top of the tip (`Database::tip`) and checks it against
    /// its header.
    ///
    /// # Errors
    ///
    /// [`ExecutionError::InvalidBlock`] when a transaction fails to execute, the timestamp does
    /// not advance, or any header field (roots, gas, base fee, extra data, DA footprint, ...)
    /// is not what the parent and execution give; storage failures.
    pub fn execute_block(
        &self,
        db: &Database,
        block: &Block,
    ) -> Result<(ExecutedBlock, StateRootOutput)> {
        self.execute_block_timed(db, block).map(|(executed, root, _)| (executed, root))
    }

    /// [`EvmConfig::execute_block`], also returning where the time went.
    ///
    /// # Errors
    ///
    /// See [`EvmConfig::execute_block`].
    pub fn execute_block_timed(
        &self,
        db: &Database,
        block: &Block,
    ) -> Result<(ExecutedBlock, StateRootOutput, ImportTimings)> {
        self.execute_block_inner(db, block, None)
    }

    /// [`EvmConfig::execute_block_timed`], taking the senders `senders` recovered ahead (a
    /// miss is recovered here).
    ///
    /// # Errors
    ///
    /// See [`EvmConfig::execute_block`].
    pub fn execute_block_with(
        &self,
        db: &Database,
        block: &Block,
        senders: &SenderCache,
    ) -> Result<(ExecutedBlock, StateRootOutput, ImportTimings)> {
        self.execute_block_inner(db, block, Some(senders))
    }

    fn execute_block_inner(
        &self,
        db: &Database,
        block: &Block,
        senders: Option<&SenderCache>,
    ) -> Result<(ExecutedBlock, StateRootOutput, ImportTimings)> {
        let header = &block.header;
        let head = db.tip();
        if header.number != head.number + 1 || header.parent_hash != head.hash() {
            return Err(ExecutionError::NotChildOfHead {
                number: header.number,
                head: head.number,
            });
        }
        let recovering = Instant::now();
        let body = &block.body.transactions;
        let ahead: Vec<Option<Address>> = body
            .iter()
            .map(|tx| match tx {
                // A deposit names its sender.
                TxEnvelope::Deposit(deposit) => Some(deposit.from),
                _ => senders.and_then(|cache| cache.take(&tx.tx_hash())),
            })
            .collect();
        let with_sender = |(tx, ahead): (&TxEnvelope, &Option<Address>)| {
            let signer = match ahead {
                Some(signer) => *signer,
                None => {
                    tx.recover_signer().map_err(|_| ExecutionError::BadSignature(tx.tx_hash()))?
                }
            };
            Ok(Recovered::new_unchecked(tx.clone(), signer))
        };
        // Sender recovery is most of a block's CPU time: what was not recovered ahead is
        // spread over the cores, unless it is too little to pay for waking them.
        let misses = ahead.iter().filter(|sender| sender.is_none()).count();
        let txs = if misses >= crate::senders::PARALLEL_RECOVERY_MIN {
            body.par_iter().zip(ahead.par_iter()).map(with_sender).collect::<Result<Vec<_>>>()?
        } else {
            body.iter().zip(&ahead).map(with_sender).collect::<Result<Vec<_>>>()?
        };
        let mut timings = ImportTimings { recover: recovering.elapsed(), ..Default::default() };
        let invalid =
            |reason: String| ExecutionError::InvalidBlock { number: header.number, reason };
        if header.timestamp <= head.timestamp {
            return Err(invalid(format!(
                "timestamp {} is not after the parent's {}",
                header.timestamp, head.timestamp
            )));
        }
        // Every header field follows from the parent, the four the block chooses (timestamp,
        // mixHash, beacon root, and its transactions) and execution; anything else is invalid.
        // What does not need execution is checked before it.
        let mut expected = self.next_header(
            &head,
            header.timestamp,
            header.mix_hash,
            header.parent_beacon_block_root.unwrap_or_default(),
        );
        expected.beneficiary = header.beneficiary;
        check_header(&expected, header, HeaderCheck::BeforeExecution).map_err(invalid)?;
        let executing = Instant::now();
        let (output, included, _) = self.run(db, header, txs, true)?;
        timings.execute = executing.elapsed();
        let waiting = Instant::now();
        db.wait_persisted()?;
        timings.parent_write = waiting.elapsed();
        let rooting = Instant::now();
        let root = db.state_root_prefetched(&output.diff, output.prefetched.as_deref())?;
        timings.state_root = rooting.elapsed();
        tracing::debug!(
            target: "evm::import",
            number = header.number,
            recover_us = timings.recover.as_micros() as u64,
            execute_us = timings.execute.as_micros() as u64,
            state_root_us = timings.state_root.as_micros() as u64,
            "executed block"
        );
        fill_header(&mut expected, &output, &included, root.root, self);
        check_header(&expected, header, HeaderCheck::Executed).map_err(invalid)?;
        let (body, senders): (Vec<_>, _) = included.into_iter().map(|tx| tx.into_parts()).unzip();
        let batches = self.settled_batches(header.number, &body, &output.receipts);
        let executed = ExecutedBlock {
            header: SealedHeader::new(header.clone()),
            body,
            senders,
            receipts: output.receipts,
            state: output.diff,
            batches,
            blob_sidecars: Vec::new(),
        };
        Ok((executed, root, timings))
    }

    /// Runs `txs` for the block `header` describes, over the current plain state.
    ///
    /// With `strict`, any transaction the EVM refuses fails the run; without, it is skipped and
    /// reported.
    #[allow(clippy::type_complexity)]
    fn run(
        &self,
        db: &Database,
        header: &Header,
        txs: impl IntoIterator<Item = Recovered<TxEnvelope>>,
        strict: bool,
    ) -> Result<(ExecutionOutput, Vec<Recovered<TxEnvelope>>, Vec<(B256, String)>)> {
        if let Some(eth) = &self.eth_executor_factory {
            return crate::eth::run(eth, self.chain(), db, header, txs, strict);
        }
        self.run_rounds(db, header, txs.into_iter().collect(), strict, None, false)
    }

    /// [`Self::run`] on an OP chain, in rounds: after `txs`, `next_round` (when given) sees
    /// what the block holds and answers the next round's transactions, or None to finish.
    /// Each round starts with no sender deferred: a nonce gap a round refused may be filled
    /// by the next.
    ///
    /// With `read_ahead`, the trie leaves the state root will need are read on another thread
    /// while the transactions run (`tributary_storage::TriePrefetch`). The block builder takes
    /// it; the import does not, since its other core is busy recovering the next block's
    /// senders (measured: the read-ahead slowed ERC-20 import by a fifth there).
    #[allow(clippy::type_complexity)]
    pub(crate) fn run_rounds(
        &self,
        db: &Database,
        header: &Header,
        txs: Vec<Recovered<TxEnvelope>>,
        strict: bool,
        mut next_round: Option<NextRound<'_>>,
        read_ahead: bool,
    ) -> Result<(ExecutionOutput, Vec<Recovered<TxEnvelope>>, Vec<(B256, String)>)> {
        let env: EvmEnv<OpSpecId> = self.evm_env(header);
        let prefetch = read_ahead.then(|| db.prefetch_trie()).flatten();
        let provider = match &prefetch {
            Some(prefetch) => db.latest_state_prefetching(prefetch),
            None => db.latest_state(),
        };
        let mut state = State::builder().with_database_ref(provider).with_bundle_update().build();
        if self.evm_factory().attribution_active(header.timestamp) {
            keep_precompile_accounts(&mut state)?;
        }
        let mut included = Vec::new();
        let mut refusals = Refusals::default();
        let result = {
            let evm = self.create_evm(&mut state, env);
            let mut executor =
                self.executor_factory.create_executor(evm, Self::execution_ctx(header));
            executor.apply_pre_execution_changes()?;
            let mut round = txs;
            let mut l1_fee = None;
            loop {
                for tx in round {
                    let (hash, signer) = (tx.tx_hash(), tx.signer());
                    if refusals.is_deferred(&signer) {
                        continue;
                    }
                    // The OP executor takes op-alloy's envelope: a transaction type it has
                    // not (a blob transaction) is refused here. Moved, not copied, there and
                    // back.
                    let op = match OpTxEnvelope::try_from(tx.into_inner()) {
                        Ok(op) => Recovered::new_unchecked(op, signer),
                        Err(unsupported) => {
                            if strict {
                                return Err(ExecutionError::InvalidBlock {
                                    number: header.number,
                                    reason: format!("transaction {hash}: {unsupported}"),
                                });
                            }
                            refusals.rejected.push((hash, unsupported.to_string()));
                            continue;
                        }
                    };
                    match executor.execute_transaction(&op) {
                        Ok(_) => {
                            // Every OP type but 0x7d, which no `TxEnvelope` converts into.
                            let tx = TxEnvelope::try_from(op.into_inner()).map_err(|err| {
                                BlockExecutionError::msg(format!("transaction {hash}: {err}"))
                            })?;
                            refusals.included(&tx);
                            included.push(Recovered::new_unchecked(tx, signer));
                        }
                        Err(BlockExecutionError::Validation(err)) => {
                            if strict {
                                return Err(ExecutionError::InvalidBlock {
                                    number: header.number,
                                    reason: format!("transaction {hash}: {err}"),
                                });
                            }
                            refusals.refuse(hash, signer, &err);
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
                let Some(next_round) = next_round.as_mut() else { break };
                if l1_fee.is_none() {
                    // The L1 attributes deposit ran in the first round: the fee parameters
                    // every later transaction of the block is charged with.
                    let number = alloy_primitives::U256::from(header.number);
                    let spec = self.chain().spec_id_at(header.timestamp);
                    let db = executor.evm_mut().db_mut();
                    l1_fee = op_revm::L1BlockInfo::try_fetch(db, number, spec).ok();
                }
                let state = crate::rounds::changed_accounts(&executor.evm_mut().db_mut().cache);
                let progress = crate::Round {
                    included: &included,
                    receipts: executor.receipts(),
                    l1_fee: l1_fee.as_ref(),
                    state,
                };
                match next_round(progress) {
                    Some(more) => round = more,
                    None => break,
                }
                refusals.next_round();
            }
            let (evm, result) = executor.finish()?;
            drop(evm);
            result
        };
        state.merge_transitions(BundleRetention::PlainState);
        let diff = bundle_to_diff(state.take_bundle());
        drop(state);
        let output = ExecutionOutput {
            receipts: result.receipts.into_iter().map(Receipt::Op).collect(),
            gas_used: result.gas_used,
            blob_gas_used: result.blob_gas_used,
            requests_hash: None,
            diff,
            prefetched: prefetch.and_then(|p| p.finish()).map(std::sync::Arc::new),
        };
        Ok((output, included, refusals.rejected))
    }

    /// Executes one transaction over `db` in `env` without committing it.
    ///
    /// # Errors
    ///
    /// The EVM's error: an invalid transaction or a database failure.
    pub fn transact<DB: alloy_evm::Database>(
        &self,
        db: DB,
        env: EvmEnv<OpSpecId>,
        tx: alloy_op_evm::OpTx,
    ) -> Result<
        revm::context::result::ResultAndState<op_revm::OpHaltReason>,
        revm::context::result::EVMError<DB::Error, alloy_op_evm::OpTxError>,
    > {
        let mut evm = self.create_evm(db, env);
        evm.transact(tx)
    }
}

/// Pool transactions the EVM refused while building a block.
///
/// A refusal is either the block's limit or the transaction's own fault:
/// - *Capacity*: the transaction does not fit what is left of a per-block budget (gas, the
///   Jovian DA footprint, the EIP-8037 total). It is not at fault and waits in the pool for
///   the next block, unless it did not fit a block that held no pool transaction yet: then it
///   never will, and waiting would only block its sender.
/// - *Not yet*: its nonce is ahead of the sender's state (the pool's view was a block behind).
///   It waits.
/// - *Its own*: a used nonce, a balance that no longer pays, a fee cap under the base fee. It
///   is dropped from the pool.
///
/// Either way the sender's later transactions are skipped for this block: they could only fail
/// on the nonce here, and failing there must not drop them.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    /// Refused for a reason of their own: to drop from the pool.
    pub(crate) rejected: Vec<(B256, String)>,
    /// Senders whose transactions wait for the next block.
    deferred: std::collections::HashSet<alloy_primitives::Address>,
    /// Whether the block holds a pool (non-deposit) transaction yet.
    holds_pool_tx: bool,
}

/// What a refusal means for the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Capacity,
    NotYet,
    OwnFault,
}

impl Refusals {
    /// Whether `sender`'s transactions wait for the next block.
    pub(crate) fn is_deferred(&self, sender: &alloy_primitives::Address) -> bool {
        self.deferred.contains(sender)
    }

    /// A new round of the same block: no sender waits any more (what held one back may have
    /// changed); what was dropped stays dropped.
    pub(crate) fn next_round(&mut self) {
        self.deferred.clear();
    }

    /// Holds `sender`'s transactions back to the next block (one did not fit this one).
    pub(crate) fn defer(&mut self, sender: alloy_primitives::Address) {
        self.deferred.insert(sender);
    }

    /// Notes an included transaction.
    pub(crate) fn included(&mut self, tx: &TxEnvelope) {
        self.holds_pool_tx |= !tx.is_deposit();
    }

    /// Records a refusal: the sender waits for the next block, and the transaction is dropped
    /// when the refusal is its own fault or it could never fit a block.
    pub(crate) fn refuse(
        &mut self,
        hash: B256,
        sender: alloy_primitives::Address,
        err: &alloy_evm::block::BlockValidationError,
    ) {
        self.deferred.insert(sender);
        match classify(err) {
            Refusal::NotYet => {}
            Refusal::Capacity if self.holds_pool_tx => {}
            Refusal::Capacity => {
                self.rejected.push((hash, format!("{err} (it does not fit an empty block)")));
            }
            Refusal::OwnFault => self.rejected.push((hash, err.to_string())),
        }
    }
}

fn classify(err: &alloy_evm::block::BlockValidationError) -> Refusal {
    use alloy_evm::block::BlockValidationError as E;
    use alloy_op_evm::block::OpBlockExecutionError;
    use revm::context_interface::result::InvalidTransaction;
    match err {
        E::TransactionGasLimitMoreThanAvailableBlockGas { .. } | E::BlockGasExceeded => {
            Refusal::Capacity
        }
        E::Other(other)
            if matches!(
                other.downcast_ref::<OpBlockExecutionError>(),
                Some(OpBlockExecutionError::TransactionDaFootprintAboveGasLimit { .. })
            ) =>
        {
            Refusal::Capacity
        }
        E::InvalidTx { error, .. }
            if matches!(
                error.as_invalid_tx_err(),
                Some(
                    InvalidTransaction::NonceTooHigh { .. }
                        | InvalidTransaction::BlobGasPriceGreaterThanMax { .. }
                )
            ) =>
        {
            // A blob fee cap under this block's blob base fee may pay a later block's, as
            // geth's blob pool keeps such a transaction waiting.
            Refusal::NotYet
        }
        _ => Refusal::OwnFault,
    }
}

/// Gives the precompile accounts nonce 1 the first time they are active, so that their storage
/// is never dropped as an empty account's (EIP-161) when they are touched.
fn keep_precompile_accounts(
    state: &mut State<revm::database::WrapDatabaseRef<tributary_storage::StateProvider>>,
) -> Result<()> {
    use revm::{Database as _, DatabaseCommit as _};
    let mut changes = alloy_primitives::map::AddressMap::default();
    for address in
        [tributary_precompiles::ATTRIBUTION_ADDRESS, tributary_precompiles::ROYALTIES_ADDRESS]
    {
        let info = state
            .basic(address)
            .map_err(|err| BlockExecutionError::msg(format!("loading {address}: {err}")))?
            .unwrap_or_default();
        if info.nonce == 0 {
            let mut account =
                revm::state::Account::from(revm::state::AccountInfo { nonce: 1, ..info });
            account.mark_touch();
            changes.insert(address, account);
        }
    }
    if !changes.is_empty() {
        state.commit(changes);
    }
    Ok(())
}

/// A transaction environment for a call that is not a signed transaction (`eth_call`,
/// `eth_estimateGas`, tests and benchmarks): no enveloped bytes, so no L1 data fee.
pub fn call_tx(base: revm::context::TxEnv) -> alloy_op_evm::OpTx {
    alloy_op_evm::OpTx(op_revm::OpTransaction {
        base,
        enveloped_tx: Some(alloy_primitives::Bytes::new()),
        deposit: Default::default(),
    })
}

/// Which header fields [`check_header`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderCheck {
    /// Those fixed by the parent and the chain spec.
    BeforeExecution,
    /// Those execution fills in.
    Executed,
}

/// The first field in which `header` is not `expected`.
fn check_header(
    expected: &Header,
    header: &Header,
    check: HeaderCheck,
) -> std::result::Result<(), String> {
    let differs = |what: &str, ours: &dyn std::fmt::Debug, theirs: &dyn std::fmt::Debug| {
        Err(format!("{what} {ours:?} != header {theirs:?}"))
    };
    macro_rules! same {
        ($($field:ident),*) => {$(
            if expected.$field != header.$field {
                let what = stringify!($field).replace('_', " ");
                return differs(&what, &expected.$field, &header.$field);
            }
        )*};
    }
    match check {
        HeaderCheck::BeforeExecution => {
            same!(
                gas_limit,
                base_fee_per_gas,
                extra_data,
                excess_blob_gas,
                withdrawals_root,
                parent_beacon_block_root,
                ommers_hash,
                difficulty,
                nonce
            );
        }
        HeaderCheck::Executed => {
            same!(
                state_root,
                receipts_root,
                transactions_root,
                gas_used,
                blob_gas_used,
                requests_hash
            );
            if expected.logs_bloom != header.logs_bloom {
                return Err("logs bloom differs".into());
            }
        }
    }
    Ok(())
}

fn fill_header(
    header: &mut Header,
    output: &ExecutionOutput,
    txs: &[Recovered<TxEnvelope>],
    state_root: B256,
    config: &EvmConfig,
) {
    let envelopes: Vec<&TxEnvelope> = txs.iter().map(|tx| tx.inner()).collect();
    header.state_root = state_root;
    header.transactions_root = calculate_transaction_root(&envelopes);
    header.receipts_root = calculate_receipt_root(&output.receipts);
    header.logs_bloom =
        output.receipts.iter().fold(Bloom::ZERO, |bloom, r| bloom | *r.logs_bloom());
    header.gas_used = output.gas_used;
    // The blob gas its blob transactions used on an Ethereum chain; the DA footprint from
    // Jovian on an OP chain.
    let forks = config.chain().hardforks();
    if (!config.chain().is_optimism() && forks.is_ecotone_active_at_timestamp(header.timestamp))
        || forks.is_jovian_active_at_timestamp(header.timestamp)
    {
        header.blob_gas_used = Some(output.blob_gas_used);
    }
    if output.requests_hash.is_some() {
        header.requests_hash = output.requests_hash;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_evm::block::BlockValidationError as E;
    use alloy_op_evm::block::OpBlockExecutionError;
    use op_revm::OpTransactionError;
    use revm::context_interface::result::InvalidTransaction;

    fn invalid(err: InvalidTransaction) -> E {
        E::InvalidTx {
            hash: B256::ZERO,
            error: Box::new(alloy_op_evm::OpTxError(OpTransactionError::Base(err))),
        }
    }

    /// Every per-block budget a transaction can miss defers it, unless it missed it in a block
    /// without pool transactions (it never fits); its own faults drop it.
    #[test]
    fn block_limits_defer_and_own_faults_drop() {
        let capacity = [
            E::TransactionGasLimitMoreThanAvailableBlockGas {
                transaction_gas_limit: 30_000,
                block_available_gas: 20_000,
            },
            E::BlockGasExceeded,
            E::Other(Box::new(OpBlockExecutionError::TransactionDaFootprintAboveGasLimit {
                transaction_da_footprint: 40_000,
                available_block_da_footprint: 10_000,
            })),
        ];
        let not_yet = invalid(InvalidTransaction::NonceTooHigh { tx: 5, state: 4 });
        let own = [
            invalid(InvalidTransaction::NonceTooLow { tx: 3, state: 4 }),
            invalid(InvalidTransaction::LackOfFundForMaxFee {
                fee: Box::new(alloy_primitives::U256::from(10)),
                balance: Box::new(alloy_primitives::U256::from(1)),
            }),
        ];
        let sender = alloy_primitives::Address::repeat_byte(1);
        let pool_tx = {
            use alloy::consensus::{SignableTransaction, TxEip1559};
            let tx = TxEip1559::default();
            let sig =
                alloy_primitives::Signature::new(Default::default(), Default::default(), false);
            TxEnvelope::Eip1559(tx.into_signed(sig))
        };
        let refused = |err: &E, after_pool_tx: bool| {
            let mut refusals = Refusals::default();
            if after_pool_tx {
                refusals.included(&pool_tx);
            }
            refusals.refuse(B256::ZERO, sender, err);
            assert!(refusals.is_deferred(&sender), "{err}: the sender's later ones wait");
            !refusals.rejected.is_empty()
        };
        for err in &capacity {
            assert!(!refused(err, true), "{err} waits for the next block");
            assert!(refused(err, false), "{err} in an otherwise empty block never fits: dropped");
        }
        assert!(!refused(&not_yet, false) && !refused(&not_yet, true));
        for err in &own {
            assert!(refused(err, true) && refused(err, false), "{err} is the transaction's fault");
        }
    }
}

//! The block the sequencer is building, as its last round showed it (flashblocks).
//!
//! With `--dev.block-time` under a second (or `--sequencer.flashblock-interval`) the sequencer
//! builds each block in rounds and sets [`Preconfirmed`] after every round. RPC then answers
//! from it, as Base's flashblocks-aware nodes do:
//! - `eth_getTransactionReceipt` and `eth_getTransactionByHash` for a transaction the sealed
//!   chain does not hold yet but the block being built does: its receipt (preconfirmation),
//!   with `blockNumber` the pending block's and `blockHash` null, since the hash needs the
//!   state root, which is computed only when the block is sealed;
//! - `eth_getBlockByNumber("pending")` and `eth_getBlockReceipts("pending")`: the block so far
//!   (its `hash` reads as zero for the same reason);
//! - `eth_getBalance`, `eth_getCode`, `eth_getStorageAt`, `eth_call` and `eth_estimateGas` with
//!   `pending`: the head's state with the accounts the block has changed so far laid over it
//!   (the round executor's changed accounts, [`tributary_evm::PendingAccount`]), executed in
//!   the pending block's environment.
//!
//! What a round shows is what the sealed block holds at the same index with the same receipt:
//! the rounds share one executor. Only if the head moves under the sequencer mid-slot (its own
//! unsafe block replaced) is the block thrown away, and its transactions, still pooled, go
//! into the next one.

use super::{BlockExtras, EthHandler, convert};
use crate::api::RpcBlock;
use alloy::consensus::Header;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, U256, map::HashMap};
use op_revm::OpSpecId;
use parking_lot::RwLock;
use revm::database::CacheDB;
use std::sync::Arc;
use tributary_evm::PendingAccount;
use tributary_primitives::{Receipt, SealedHeader, TxEnvelope};
use tributary_storage::StateProvider;

/// One round's view of the block being built.
pub struct PendingBlock {
    /// Its header so far: the hash fields and the state root are not filled in.
    header: SealedHeader,
    extras: BlockExtras,
    index: HashMap<B256, usize>,
    /// The accounts the block has changed so far.
    state: HashMap<Address, PendingAccount>,
}

impl PendingBlock {
    /// The block `header` starts, holding `body` (with `senders`) and their `receipts` so far,
    /// charged L1 fees with `l1`, having changed the accounts in `state`.
    pub fn new(
        mut header: Header,
        body: Vec<TxEnvelope>,
        senders: Vec<Address>,
        receipts: Vec<Receipt>,
        l1: Option<(op_revm::L1BlockInfo, OpSpecId)>,
        state: Vec<(Address, PendingAccount)>,
    ) -> Self {
        header.gas_used = receipts.last().map_or(0, |r| r.cumulative_gas_used());
        let index = body.iter().enumerate().map(|(i, tx)| (tx.tx_hash(), i)).collect();
        // Not sealed: no hash yet (see the module docs).
        let header = SealedHeader::new_unchecked(header, B256::ZERO);
        let state = state.into_iter().collect();
        Self { header, extras: BlockExtras::new(body, receipts, senders, l1), index, state }
    }

    /// Its header so far (number, timestamp, base fee, gas limit are final).
    pub(crate) fn header(&self) -> &SealedHeader {
        &self.header
    }

    /// The account at `address` if the block changed it: `Some(None)` when it no longer
    /// exists; None when the head's state answers.
    pub(crate) fn account(&self, address: &Address) -> Option<Option<&revm::state::AccountInfo>> {
        self.state.get(address).map(|account| account.info.as_ref())
    }

    /// Slot `slot` of `address` if the block decides it; None when the head's state answers.
    pub(crate) fn storage(&self, address: &Address, slot: &U256) -> Option<U256> {
        let account = self.state.get(address)?;
        match account.storage.iter().find(|(key, _)| key == slot) {
            Some((_, value)) => Some(*value),
            None => account.storage_cleared.then_some(U256::ZERO),
        }
    }

    /// Lays the changed accounts over `db` (the head's state), for calls.
    pub(crate) fn overlay(&self, db: &mut CacheDB<StateProvider>) -> tributary_storage::Result<()> {
        for (address, account) in &self.state {
            match &account.info {
                Some(info) => db.insert_account_info(*address, info.clone()),
                None => {
                    db.cache
                        .accounts
                        .insert(*address, revm::database::DbAccount::new_not_existing());
                    continue;
                }
            }
            if account.storage_cleared {
                db.replace_account_storage(*address, account.storage.iter().copied().collect())?;
            } else {
                for (slot, value) in &account.storage {
                    db.insert_account_storage(*address, *slot, *value)?;
                }
            }
        }
        Ok(())
    }

    /// The block's number.
    pub fn number(&self) -> u64 {
        self.header.number
    }
}

/// The sequencer's pending block, shared with RPC.
#[derive(Default)]
pub struct Preconfirmed {
    current: RwLock<Option<Arc<PendingBlock>>>,
}

impl std::fmt::Debug for Preconfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let number = self.current.read().as_ref().map(|block| block.number());
        f.debug_struct("Preconfirmed").field("number", &number).finish()
    }
}

impl Preconfirmed {
    /// Shows `block` from now on.
    pub fn set(&self, block: PendingBlock) {
        *self.current.write() = Some(Arc::new(block));
    }

    /// Shows nothing (the block was sealed or thrown away).
    pub fn clear(&self) {
        *self.current.write() = None;
    }

    /// The pending block, if it is the child of `head` (a sealed block is never shown twice).
    fn on(&self, head: u64) -> Option<Arc<PendingBlock>> {
        self.current.read().clone().filter(|block| Some(block.number()) == head.checked_add(1))
    }
}

impl EthHandler {
    fn pending(&self) -> Option<Arc<PendingBlock>> {
        self.ctx.preconfirmed.on(self.ctx.db.head_number())
    }

    /// The block being built, when `block` asks for `pending` and one is.
    pub(crate) fn pending_for(&self, block: Option<BlockId>) -> Option<Arc<PendingBlock>> {
        match block {
            Some(BlockId::Number(BlockNumberOrTag::Pending)) => self.pending(),
            _ => None,
        }
    }

    /// The receipt of `hash` in the block being built.
    pub(crate) fn pending_receipt(&self, hash: &B256) -> Option<crate::api::RpcReceipt> {
        let block = self.pending()?;
        let index = *block.index.get(hash)?;
        let extras = &block.extras;
        let mut receipt = convert::rpc_receipt(
            &block.header,
            extras.position(index)?,
            extras.body.get(index)?,
            *extras.senders.get(index)?,
            extras.receipts.get(index)?,
            extras.l1.as_ref(),
        )
        .ok()?;
        unsealed(&mut receipt);
        Some(receipt)
    }

    /// The transaction `hash` in the block being built.
    pub(crate) fn pending_transaction(&self, hash: &B256) -> Option<crate::api::RpcTransaction> {
        let block = self.pending()?;
        let index = *block.index.get(hash)?;
        let extras = &block.extras;
        let at = convert::position(&block.header, index);
        let tx = extras.body.get(index)?;
        let mut rpc = convert::rpc_transaction(
            tx,
            *extras.senders.get(index)?,
            Some(at),
            extras.receipts.get(index),
        );
        rpc.inner.block_hash = None;
        Some(rpc)
    }

    /// `eth_getBlockByNumber("pending")` while a block is being built.
    pub(crate) fn pending_block(&self, full: bool) -> Option<RpcBlock> {
        let block = self.pending()?;
        let extras = &block.extras;
        Some(convert::rpc_block(
            &block.header,
            &extras.body,
            &extras.senders,
            Some(&extras.receipts),
            full,
        ))
    }

    /// `eth_getBlockReceipts("pending")` while a block is being built.
    pub(crate) fn pending_receipts(&self) -> Option<Vec<crate::api::RpcReceipt>> {
        let block = self.pending()?;
        let extras = &block.extras;
        let mut receipts = convert::rpc_receipts(
            &block.header,
            &extras.body,
            &extras.senders,
            &extras.receipts,
            extras.l1.as_ref(),
        )
        .ok()?;
        receipts.iter_mut().for_each(unsealed);
        Some(receipts)
    }
}

/// A receipt of a block not sealed yet: no block hash, in the receipt or its logs.
fn unsealed(receipt: &mut crate::api::RpcReceipt) {
    use crate::api::RpcReceipt;
    let logs = match receipt {
        RpcReceipt::Op(receipt) => {
            receipt.inner.block_hash = None;
            &mut receipt.inner.inner.receipt.as_receipt_mut().logs
        }
        RpcReceipt::Blob(receipt) => {
            receipt.block_hash = None;
            match receipt.inner.as_receipt_with_bloom_mut() {
                Some(receipt) => &mut receipt.receipt.logs,
                None => return,
            }
        }
    };
    for log in logs {
        log.block_hash = None;
    }
}

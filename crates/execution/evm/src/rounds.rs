//! A block built in rounds, as flashblocks are: the sequencer executes the pool's
//! transactions as they arrive during the block's slot, a round every interval, and shows
//! each round's receipts (preconfirmations) before it seals the block at the slot's end.
//!
//! The block is the one [`EvmConfig::build_block`] would build from the rounds' transactions
//! in order: the rounds share one executor and one state, so the receipts a round shows are
//! the sealed block's receipts. Only the state root, the header and the commit wait for the
//! end, which is what keeps a round cheap (no trie work).

use crate::{BlockAttributes, BuiltBlock, EvmConfig, ExecutionError, Result};
use alloy::consensus::transaction::Recovered;
use alloy_primitives::{Address, U256};
use revm::{database::CacheState, state::AccountInfo};
use tributary_primitives::{SealedHeader, TxEnvelope};
use tributary_storage::Database;

/// What a block being built in rounds holds after a round.
#[derive(Debug)]
pub struct Round<'a> {
    /// The transactions included so far, deposits first, with their senders.
    pub included: &'a [Recovered<TxEnvelope>],
    /// Their receipts, in the same order (op-alloy's: rounds run on an OP chain).
    pub receipts: &'a [op_alloy::consensus::OpReceiptEnvelope],
    /// The L1 fee parameters the block charges (the L1 attributes deposit's), when readable.
    pub l1_fee: Option<&'a op_revm::L1BlockInfo>,
    /// Every account the block has changed so far, as it stands after the round: the
    /// `pending` state RPC reads over the head's.
    pub state: Vec<(Address, PendingAccount)>,
}

/// An account the block being built has changed, as its last round left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAccount {
    /// Balance, nonce and code; None when it does not exist (destroyed, or touched and empty).
    pub info: Option<AccountInfo>,
    /// Slots the block read or wrote, with their present values.
    pub storage: Vec<(U256, U256)>,
    /// Slots not in `storage` are zero (the account was created or destroyed in this block),
    /// rather than what the head holds.
    pub storage_cleared: bool,
}

/// The accounts `cache` holds changed (not merely loaded).
pub(crate) fn changed_accounts(cache: &CacheState) -> Vec<(Address, PendingAccount)> {
    cache
        .accounts
        .iter()
        .filter(|(_, account)| !account.status.is_not_modified())
        .map(|(address, account)| {
            let info = account.account.as_ref().map(|plain| plain.info.clone());
            let storage = account
                .account
                .as_ref()
                .map(|plain| plain.storage.iter().map(|(slot, value)| (*slot, *value)).collect())
                .unwrap_or_default();
            let pending = PendingAccount {
                info,
                storage,
                storage_cleared: account.status.is_storage_known(),
            };
            (*address, pending)
        })
        .collect()
}

/// Answers the next round's transactions after seeing a [`Round`], or None to seal.
pub type NextRound<'a> = &'a mut dyn FnMut(Round<'_>) -> Option<Vec<Recovered<TxEnvelope>>>;

impl EvmConfig {
    /// [`EvmConfig::build_block`] in rounds: `pool_txs` first (after the L1 attributes deposit
    /// and `attrs.deposits`), then whatever `next_round` answers after each round, until it
    /// answers None. The caller must not offer a transaction twice.
    ///
    /// # Errors
    ///
    /// As [`EvmConfig::build_block`]; an L1 (Ethereum) chain is not built in rounds.
    pub fn build_block_in_rounds(
        &self,
        db: &Database,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        pool_txs: Vec<Recovered<TxEnvelope>>,
        next_round: NextRound<'_>,
    ) -> Result<BuiltBlock> {
        if !self.chain().is_optimism() {
            return Err(ExecutionError::InvalidBlock {
                number: parent.number + 1,
                reason: "only an OP chain builds blocks in rounds".into(),
            });
        }
        self.build(db, parent, attrs, pool_txs, Some(next_round))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{SignableTransaction, TxEip1559},
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{Address, B256, TxKind, U256};
    use std::sync::Arc;
    use tributary_chainspec::ChainSpec;
    use tributary_primitives::Receipt;

    /// Dev account 0's transfers with nonces `nonces`, 1 wei each to a fresh address.
    fn transfers(nonces: std::ops::Range<u64>) -> Vec<Recovered<TxEnvelope>> {
        let key: PrivateKeySigner =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap();
        nonces
            .map(|nonce| {
                let mut tx = TxEip1559 {
                    chain_id: tributary_chainspec::DEV_CHAIN_ID,
                    nonce,
                    gas_limit: 21_000,
                    max_fee_per_gas: 10_000_000_000,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(Address::with_last_byte(nonce as u8 + 1)),
                    value: U256::from(1),
                    ..Default::default()
                };
                let signature = key.sign_transaction_sync(&mut tx).unwrap();
                let tx = TxEnvelope::Eip1559(tx.into_signed(signature));
                Recovered::new_unchecked(tx, key.address())
            })
            .collect()
    }

    fn attrs(parent: &SealedHeader) -> BlockAttributes {
        BlockAttributes {
            timestamp: parent.timestamp + 1,
            prev_randao: B256::repeat_byte(7),
            parent_beacon_block_root: B256::repeat_byte(8),
            l1_info: Default::default(),
            deposits: Vec::new(),
        }
    }

    /// Rounds build the block one build of all their transactions builds, and each round
    /// shows the receipts the sealed block ends up with.
    #[test]
    fn rounds_build_the_block_one_build_would() {
        let chain = Arc::new(ChainSpec::dev());
        let evm = EvmConfig::new(chain.clone());
        let (whole_dir, rounds_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let whole_db = Database::open(whole_dir.path(), &chain, Default::default()).unwrap();
        let rounds_db = Database::open(rounds_dir.path(), &chain, Default::default()).unwrap();
        let parent = whole_db.head();
        let whole = evm.build_block(&whole_db, &parent, attrs(&parent), transfers(0..5)).unwrap();

        // Round 1: nonces 0 and 2 (2 is refused, a nonce gap); round 2: 1 and 2 again
        // (the gap is filled); round 3: 3 and 4; then seal.
        let all = transfers(0..5);
        let mut later =
            vec![vec![all[1].clone(), all[2].clone()], vec![all[3].clone(), all[4].clone()]]
                .into_iter();
        let mut seen = Vec::new();
        let sender = all[0].signer();
        let mut next_round = |round: Round<'_>| {
            assert_eq!(round.included.len(), round.receipts.len());
            assert!(round.l1_fee.is_some(), "the L1 attributes deposit's fee parameters");
            // The pending state: the sender's nonce counts its transactions included so far.
            let transfers = round.included.iter().filter(|tx| !tx.is_deposit()).count() as u64;
            let (_, account) = round.state.iter().find(|(a, _)| *a == sender).unwrap();
            assert_eq!(account.info.as_ref().map(|info| info.nonce), Some(transfers));
            seen.push(round.receipts.iter().cloned().map(Receipt::Op).collect::<Vec<_>>());
            later.next()
        };
        let first = vec![all[0].clone(), all[2].clone()];
        let built = evm
            .build_block_in_rounds(&rounds_db, &parent, attrs(&parent), first, &mut next_round)
            .unwrap();
        assert_eq!(built.block.header.hash(), whole.block.header.hash());
        assert!(built.rejected.is_empty(), "a nonce gap waits, it is not dropped");
        assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 4, 6]);
        for receipts in &seen {
            assert_eq!(receipts[..], built.block.receipts[..receipts.len()], "preconfirmed");
        }
    }
}

//! A scripted rollup: an L1 chain of fixed blocks, a sequencer's L2 chain over it, and batches
//! posted where a test says. "Executing" derived attributes gives a block whose hash commits to
//! everything the attributes fix, so a derived chain equals the sequencer's exactly when every
//! block's attributes do.

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::Encodable2718,
    network::TxSignerSync,
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use std::collections::BTreeMap;
use tributary_chainspec::{BlockId, RollupConfig};
use tributary_derive::{
    DeriveError, L1Block, L1Transaction, L2BlockInfo, L2Chain, PayloadAttributes, Pipeline,
};
use tributary_primitives::{OpTxEnvelope, TxDeposit};
use tributary_protocol::{
    Batch, Compression, SingularBatch, SpanBatch, SpanBatchConfig, compress, encode_batcher_tx,
    encode_channel_batches, split_into_frames,
};

pub(crate) const GENESIS_TIME: u64 = 1_000;
pub(crate) const BLOCK_TIME: u64 = 2;
pub(crate) const L1_BLOCK_TIME: u64 = 4;
pub(crate) const SEQ_WINDOW: u64 = 10;
pub(crate) const CHANNEL_TIMEOUT: u64 = 3;
const L2_CHAIN_ID: u64 = 901;
const BATCHER: Address = Address::repeat_byte(0xba);
const INBOX: Address = Address::repeat_byte(0xff);

/// One L2 block of the sequencer's chain, with the batch that describes it.
#[derive(Debug, Clone)]
pub(crate) struct L2Block {
    pub(crate) info: L2BlockInfo,
    pub(crate) batch: SingularBatch,
    /// Whether its L1 origin is not its parent's.
    pub(crate) origin_changed: bool,
}

/// Batch encoding of a channel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Singular batches, zlib.
    Singular,
    /// One span batch.
    Span(Compression),
}

/// One batcher transaction's frames.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    id: [u8; 16],
    data: Vec<u8>,
    frames: Vec<tributary_protocol::Frame>,
    /// The newest L1 origin of its blocks: a batcher can only post after it.
    newest_origin: u64,
}

impl Post {
    /// A whole channel for `blocks` in one frame.
    pub(crate) fn channel(id: u8, blocks: &[L2Block], kind: Kind) -> Self {
        let config = span_config();
        let singular: Vec<SingularBatch> = blocks.iter().map(|b| b.batch.clone()).collect();
        let (batches, compression) = match kind {
            Kind::Singular => {
                (singular.into_iter().map(Batch::Singular).collect(), Compression::Zlib)
            }
            Kind::Span(compression) => {
                let span =
                    SpanBatch::from_singular(&singular, blocks[0].origin_changed, &config).unwrap();
                (vec![Batch::Span(span)], compression)
            }
        };
        let raw = encode_channel_batches(&batches, &config).unwrap();
        let data = compress(&raw, compression);
        let id = [id; 16];
        let frames = split_into_frames(id, &data, usize::MAX);
        let newest_origin = blocks.iter().map(|b| b.info.l1_origin.number).max().unwrap_or(0);
        Self { id, data, frames, newest_origin }
    }

    /// The same channel in `n` frames, one transaction each.
    pub(crate) fn split(&self, n: usize) -> Vec<Post> {
        let size = self.data.len().div_ceil(n) + tributary_protocol::FRAME_OVERHEAD + 1;
        let frames = split_into_frames(self.id, &self.data, size);
        assert_eq!(frames.len(), n, "split into {n} frames");
        frames.into_iter().map(|frame| Post { frames: vec![frame], ..self.clone() }).collect()
    }
}

fn span_config() -> SpanBatchConfig {
    SpanBatchConfig {
        genesis_timestamp: GENESIS_TIME,
        block_time: BLOCK_TIME,
        chain_id: L2_CHAIN_ID,
    }
}

fn rollup(l1_genesis: &L1Block, l2_genesis: B256) -> RollupConfig {
    let json = serde_json::json!({
        "genesis": {
            "l1": { "hash": l1_genesis.hash, "number": 0 },
            "l2": { "hash": l2_genesis, "number": 0 },
            "l2_time": GENESIS_TIME,
            "system_config": {
                "batcherAddr": BATCHER,
                "overhead": B256::ZERO,
                "scalar": B256::ZERO,
                "gasLimit": 30_000_000u64,
            },
        },
        "block_time": BLOCK_TIME,
        "max_sequencer_drift": 1800,
        "seq_window_size": SEQ_WINDOW,
        "channel_timeout": CHANNEL_TIMEOUT,
        "l1_chain_id": 900,
        "l2_chain_id": L2_CHAIN_ID,
        "batch_inbox_address": INBOX,
        "deposit_contract_address": Address::repeat_byte(0xde),
        "unsafe_block_signer": Address::repeat_byte(0x51),
    });
    RollupConfig::from_json(&json.to_string()).unwrap()
}

/// The L1 chain, the sequencer's L2 chain, and the rollup config tying them.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) rollup: RollupConfig,
    l1: Vec<L1Block>,
    l2: Vec<L2Block>,
    salt: u8,
}

fn l1_block(number: u64, parent_hash: B256, salt: u8) -> L1Block {
    let hash = keccak256([&[salt][..], &number.to_be_bytes()].concat());
    L1Block {
        number,
        hash,
        parent_hash,
        timestamp: GENESIS_TIME + number * L1_BLOCK_TIME,
        base_fee: U256::from(1_000_000_000u64),
        blob_base_fee: U256::from(1),
        mix_hash: keccak256(hash),
        parent_beacon_block_root: B256::with_last_byte(number as u8),
        transactions: Vec::new(),
        deposits: Vec::new(),
    }
}

/// What executing a block gives: a hash committing to everything its attributes fix.
fn execute(
    parent: &L2BlockInfo,
    timestamp: u64,
    origin: BlockId,
    seq: u64,
    txs: &[Bytes],
    deposits: usize,
) -> L2BlockInfo {
    let mut material = parent.hash.to_vec();
    material.extend_from_slice(&timestamp.to_be_bytes());
    material.extend_from_slice(origin.hash.as_slice());
    material.extend_from_slice(&seq.to_be_bytes());
    material.extend_from_slice(&(deposits as u64).to_be_bytes());
    for tx in txs {
        material.extend_from_slice(keccak256(tx).as_slice());
    }
    L2BlockInfo {
        number: parent.number + 1,
        hash: keccak256(material),
        timestamp,
        l1_origin: origin,
        sequence_number: seq,
    }
}

fn user_tx(nonce: u64) -> Bytes {
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).unwrap();
    let mut tx = TxEip1559 {
        chain_id: L2_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000,
        to: TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::from(nonce + 1),
        ..Default::default()
    };
    let signature = key.sign_transaction_sync(&mut tx).unwrap();
    OpTxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718().into()
}

impl Scenario {
    /// L1 blocks `0..=l1_blocks`, 4 s apart; the L2 genesis anchored at L1 block 0.
    pub(crate) fn new(l1_blocks: u64) -> Self {
        let mut l1 = vec![l1_block(0, B256::ZERO, 0)];
        for number in 1..=l1_blocks {
            let parent = l1[number as usize - 1].hash;
            l1.push(l1_block(number, parent, 0));
        }
        let genesis_hash = keccak256(b"l2 genesis");
        let genesis = L2Block {
            info: L2BlockInfo {
                number: 0,
                hash: genesis_hash,
                timestamp: GENESIS_TIME,
                l1_origin: l1[0].id(),
                sequence_number: 0,
            },
            batch: SingularBatch {
                parent_hash: B256::ZERO,
                epoch_num: 0,
                epoch_hash: l1[0].hash,
                timestamp: GENESIS_TIME,
                transactions: Vec::new(),
            },
            origin_changed: false,
        };
        let rollup = rollup(&l1[0], genesis_hash);
        Self { rollup, l1, l2: vec![genesis], salt: 0 }
    }

    /// L1 block `number`.
    pub(crate) fn l1(&self, number: u64) -> L1Block {
        self.l1[number as usize].clone()
    }

    /// Builds the sequencer's chain up to block `last` (origins as the sequencer picks them:
    /// the next L1 block once L2 time reaches it) and returns all of it, genesis first.
    pub(crate) fn l2_until(&mut self, last: u64) -> Vec<L2Block> {
        while (self.l2.len() as u64) <= last {
            let parent = self.l2.last().unwrap().info;
            let timestamp = parent.timestamp + BLOCK_TIME;
            let next = &self.l1[parent.l1_origin.number as usize + 1];
            let (origin, seq) = if next.timestamp <= timestamp {
                (next, 0)
            } else {
                (&self.l1[parent.l1_origin.number as usize], parent.sequence_number + 1)
            };
            let txs = vec![user_tx(parent.number)];
            let deposits = if seq == 0 { origin.deposits.len() } else { 0 };
            let info = execute(&parent, timestamp, origin.id(), seq, &txs, deposits);
            let batch = SingularBatch {
                parent_hash: parent.hash,
                epoch_num: origin.number,
                epoch_hash: origin.hash,
                timestamp,
                transactions: txs,
            };
            self.l2.push(L2Block { info, batch, origin_changed: seq == 0 });
        }
        self.l2.clone()
    }

    /// Puts each post's frames, one transaction each, into L1 block `number`.
    pub(crate) fn post(&mut self, number: u64, posts: &[Post]) {
        for post in posts {
            assert!(post.newest_origin < number, "a batch cannot precede its L1 origin");
            let input = encode_batcher_tx(&post.frames).into();
            self.l1[number as usize].transactions.push(L1Transaction {
                from: BATCHER,
                to: Some(INBOX),
                input,
            });
        }
    }

    /// A user deposit in L1 block `number`.
    pub(crate) fn deposit_at(&mut self, number: u64) {
        let deposit = TxDeposit {
            source_hash: B256::with_last_byte(number as u8),
            from: Address::repeat_byte(0xd0),
            to: TxKind::Call(Address::repeat_byte(0xd1)),
            mint: 1,
            gas_limit: 100_000,
            ..Default::default()
        };
        self.l1[number as usize].deposits.push(deposit);
    }

    /// The same L2 chain over an L1 whose blocks from `number` on were replaced by others
    /// (no transactions, no deposits).
    pub(crate) fn fork_l1_at(&self, number: u64) -> Scenario {
        let mut forked = self.clone();
        forked.salt = self.salt.wrapping_add(1);
        for n in number..self.l1.len() as u64 {
            let parent = forked.l1[n as usize - 1].hash;
            forked.l1[n as usize] = l1_block(n, parent, forked.salt);
        }
        forked
    }

    /// A pipeline started at the L2 genesis.
    pub(crate) fn start(&self) -> Run {
        let mut pipeline = Pipeline::new(self.rollup.clone());
        let safe = self.l2[0].info;
        pipeline.reset(self.l1(pipeline.start_l1_number(&safe)));
        let next_l1 = pipeline.origin().unwrap().number + 1;
        let mut chain = BTreeMap::new();
        chain.insert(0, (safe, Vec::new()));
        Run {
            pipeline,
            safe,
            next_l1,
            chain,
            l1: self.l1.clone(),
            derived: Derived::default(),
            read: Vec::new(),
        }
    }

    /// Everything derivable from this L1, from genesis. Derived twice: pushing each L1 block
    /// when the pipeline asks for it, and pushing the whole L1 ahead first; both must give the
    /// same attributes.
    pub(crate) fn derive(&self) -> Derived {
        let mut run = self.start();
        run.until_end();
        let mut ahead = self.start();
        ahead.push_all_ahead();
        ahead.until_end();
        assert_eq!(
            ahead.derived.blocks, run.derived.blocks,
            "the L1 pushed ahead derives what the L1 pushed on demand does"
        );
        run.derived
    }
}

/// Attributes derived, in order.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub(crate) blocks: Vec<PayloadAttributes>,
}

impl Derived {
    pub(crate) fn numbers(&self) -> Vec<u64> {
        self.blocks.iter().map(|a| a.parent.number + 1).collect()
    }

    pub(crate) fn all_from_l1_at_least(&self, number: u64) -> bool {
        self.blocks.iter().all(|a| a.derived_from.number >= number)
    }

    /// Every derived block is the sequencer's block at that height.
    pub(crate) fn assert_matches(&self, scenario: &Scenario) {
        for attrs in &self.blocks {
            let number = attrs.parent.number + 1;
            let expected = &scenario.l2[number as usize];
            assert_eq!(
                attrs.parent,
                scenario.l2[number as usize - 1].info,
                "block {number}'s parent"
            );
            assert_eq!(apply(attrs), expected.info, "block {number}");
            assert_eq!(attrs.transactions, expected.batch.transactions, "block {number}'s txs");
            assert_eq!(attrs.prev_randao, scenario.l1(expected.info.l1_origin.number).mix_hash);
        }
    }
}

fn apply(attrs: &PayloadAttributes) -> L2BlockInfo {
    let origin = BlockId { number: attrs.l1_info.number, hash: attrs.l1_info.hash };
    execute(
        &attrs.parent,
        attrs.timestamp,
        origin,
        attrs.l1_info.sequence_number,
        &attrs.transactions,
        attrs.deposits.len(),
    )
}

/// A pipeline being driven, with the safe chain it built.
pub(crate) struct Run {
    pipeline: Pipeline,
    pub(crate) safe: L2BlockInfo,
    next_l1: u64,
    chain: BTreeMap<u64, (L2BlockInfo, Vec<Bytes>)>,
    /// The L1 being read.
    l1: Vec<L1Block>,
    pub(crate) derived: Derived,
    /// What `take_read_transactions` handed out, in order.
    pub(crate) read: Vec<Bytes>,
}

struct Chain<'a>(&'a BTreeMap<u64, (L2BlockInfo, Vec<Bytes>)>);

impl L2Chain for Chain<'_> {
    fn block(&self, number: u64) -> Option<(L2BlockInfo, Vec<Bytes>)> {
        self.0.get(&number).cloned()
    }
}

impl Run {
    /// Derives until L1 block `last` is used up (or the L1 ends).
    pub(crate) fn until_l1(&mut self, last: u64) {
        for _ in 0..10_000 {
            let attrs = self.pipeline.next(&self.safe, &Chain(&self.chain)).unwrap();
            self.read.extend(self.pipeline.take_read_transactions());
            match attrs {
                Some(attrs) => self.apply(attrs),
                None => {
                    let Some(block) = self.l1.get(self.next_l1 as usize) else { return };
                    if self.next_l1 > last {
                        return;
                    }
                    self.pipeline.push_l1(block.clone()).unwrap();
                    self.next_l1 += 1;
                }
            }
        }
        panic!("derivation did not settle");
    }

    /// Pushes every L1 block left, before deriving any.
    pub(crate) fn push_all_ahead(&mut self) {
        while let Some(block) = self.l1.get(self.next_l1 as usize) {
            self.pipeline.push_l1(block.clone()).unwrap();
            self.next_l1 += 1;
        }
        assert_eq!(self.pipeline.newest_l1(), self.l1.last().map(L1Block::id));
    }

    /// Derives to the end of the L1.
    pub(crate) fn until_end(&mut self) {
        self.until_l1(u64::MAX);
    }

    /// Pushes one L1 block by hand; the run goes on after it.
    pub(crate) fn push(&mut self, block: L1Block) -> Result<(), DeriveError> {
        let number = block.number;
        self.pipeline.push_l1(block)?;
        self.next_l1 = number + 1;
        Ok(())
    }

    /// Derives one block from what the pipeline holds.
    pub(crate) fn step(&mut self) {
        let attrs = self.pipeline.next(&self.safe, &Chain(&self.chain)).unwrap();
        self.read.extend(self.pipeline.take_read_transactions());
        self.apply(attrs.expect("the pipeline holds a block's batch"));
    }

    fn apply(&mut self, attrs: PayloadAttributes) {
        assert_eq!(attrs.parent, self.safe, "attributes build on the safe head");
        self.safe = apply(&attrs);
        self.chain.insert(self.safe.number, (self.safe, attrs.transactions.clone()));
        self.derived.blocks.push(attrs);
    }

    /// After a reorg: back to safe block `number` of the chain built so far, reading
    /// `scenario`'s L1 from where the pipeline says.
    pub(crate) fn reset_onto(&mut self, scenario: &Scenario, number: u64) {
        self.safe = self.chain[&number].0;
        self.chain.retain(|n, _| *n <= number);
        let start = self.pipeline.start_l1_number(&self.safe);
        self.l1 = scenario.l1.clone();
        self.pipeline.reset(scenario.l1(start));
        self.next_l1 = start + 1;
    }
}

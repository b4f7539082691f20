//! `tributary bench derive`: L2 blocks per second rebuilt from L1 data (the derivation
//! pipeline, then building each block from its attributes and committing it), next to the
//! import rate of the same blocks handed to the executor directly, in the same run.
//!
//! For each chain (a quiet one, 20 transfers a block, and a loaded one, 200), the sequencer
//! path builds `--blocks` 2-second L2 blocks over a scripted L1 of 12-second blocks, and the
//! batcher's encoding posts each epoch's blocks as one brotli span-batch channel in the next
//! L1 block. Then, timed, into fresh databases:
//! - import: `execute_block_with` + `commit_block_in_background` for every block (written while
//!   the next one executes, as the node imports), the next block's senders
//!   recovered on the recovery thread meanwhile (as the node's P2P importer does when catching up);
//! - derive: `Pipeline` over the L1 blocks, kept a few L1 blocks ahead of its origin as the
//!   node's driver keeps it; each channel's transactions handed to a `SenderCache` when its
//!   L1 block is pushed, to recover on another core while the blocks before them are built; each
//!   payload attributes' transactions decoded (senders from the cache, or recovered in place
//!   on a miss), `build_block`, `commit_block_in_background`: what a follower catching up from L1 does,
//!   through the node's own `decode_batch_transactions` and `derived_block_attributes`. The
//!   cache is new for each run.
//!
//! The derived chain must equal the sequencer's block for block, or the run fails.

use super::split::{Persist, Split};
use alloy::{
    consensus::{Block, BlockBody, SignableTransaction, TxEip1559, transaction::Recovered},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
};
use rayon::prelude::*;
use std::{collections::BTreeMap, sync::Arc, time::Instant};
use tributary_chainspec::{BlockId, ChainSpec, RollupConfig};
use tributary_derive::{L1Block, L1Transaction, L2BlockInfo, L2Chain, Pipeline};
use tributary_devnet::accounts::dev_signer;
use tributary_evm::{BlockAttributes, EvmConfig};
use tributary_primitives::TxEnvelope;
use tributary_protocol::{
    Batch, Compression, SingularBatch, SpanBatch, SpanBatchConfig, compress, encode_batcher_tx,
    encode_channel_batches, split_into_frames,
};
use tributary_storage::{Database, DatabaseConfig};

const L1_BLOCK_TIME: u64 = 12;
const BATCHER: Address = Address::repeat_byte(0xba);
const INBOX: Address = Address::repeat_byte(0xff);
const SENDERS: u32 = 10;
/// L1 blocks pushed past the origin, as the node's derivation driver keeps them.
const L1_LOOKAHEAD: usize = 4;

#[derive(Debug, clap::Args)]
pub(crate) struct DeriveArgs {
    /// L2 blocks per chain.
    #[arg(long, default_value_t = 600)]
    blocks: u64,
    /// Transfers per block of each chain (quiet, loaded).
    #[arg(long, value_delimiter = ',', default_values_t = [20, 200])]
    txs_per_block: Vec<usize>,
}

pub(crate) fn run(args: DeriveArgs) -> eyre::Result<()> {
    eyre::ensure!(args.blocks >= 12 && args.blocks <= 100_000, "--blocks between 12 and 100000");
    println!(
        "{:>9} {:>7} {:>16} {:>16} {:>10} {:>14}",
        "txs/block", "blocks", "import blocks/s", "derive blocks/s", "overhead", "pipeline share"
    );
    for &per_block in &args.txs_per_block {
        eyre::ensure!(per_block <= 1000, "--txs-per-block at most 1000");
        let chain = SourceChain::build(args.blocks, per_block)?;
        // Each twice, alternating, keeping the faster: the first database a process opens
        // pays for warming up, and either path may come first.
        let import_1 = chain.import()?;
        let derive_1 = chain.derive()?;
        let import_2 = chain.import()?;
        let (import, import_split) = if import_2.0 < import_1.0 { import_2 } else { import_1 };
        let derive_2 = chain.derive()?;
        let derive = if derive_2.total < derive_1.total { derive_2 } else { derive_1 };
        let overhead = derive.total / import - 1.0;
        println!(
            "{:>9} {:>7} {:>16.0} {:>16.0} {:>9.1}% {:>13.1}%",
            per_block,
            args.blocks,
            args.blocks as f64 / import,
            args.blocks as f64 / derive.total,
            overhead * 100.0,
            derive.pipeline / derive.total * 100.0,
        );
        println!("ratio (derive/import rate): {:.3}", import / derive.total);
        import_split.print("import", args.blocks as usize);
        derive.split.print("derive (other: the pipeline)", args.blocks as usize);
    }
    Ok(())
}

/// The sequencer's chain, its L1, and the blocks as they were sealed.
struct SourceChain {
    spec: Arc<ChainSpec>,
    rollup: RollupConfig,
    l1: Vec<L1Block>,
    blocks: Vec<Block<TxEnvelope>>,
}

struct Derived {
    /// Seconds, all of it.
    total: f64,
    /// Seconds in the pipeline (reading L1 data into attributes).
    pipeline: f64,
    /// Where the rest went.
    split: Split,
}

fn l1_block(number: u64, parent_hash: B256, timestamp: u64) -> L1Block {
    let hash = keccak256(number.to_be_bytes());
    L1Block {
        number,
        hash,
        parent_hash,
        timestamp,
        base_fee: U256::from(1_000_000_000u64),
        blob_base_fee: U256::from(1),
        mix_hash: keccak256(hash),
        parent_beacon_block_root: keccak256(parent_hash),
        transactions: Vec::new(),
        deposits: Vec::new(),
    }
}

fn rollup(spec: &ChainSpec, l1_genesis: &L1Block) -> eyre::Result<RollupConfig> {
    let json = serde_json::json!({
        "genesis": {
            "l1": { "hash": l1_genesis.hash, "number": 0 },
            "l2": { "hash": spec.genesis_header().hash(), "number": 0 },
            "l2_time": spec.genesis_header().timestamp,
            "system_config": {
                "batcherAddr": BATCHER,
                "overhead": B256::ZERO,
                "scalar": tributary_chainspec::SystemConfig::ecotone_scalar(1368, 810_949),
                "gasLimit": spec.genesis_header().gas_limit,
            },
        },
        "block_time": 2,
        "max_sequencer_drift": RollupConfig::DEFAULT_MAX_SEQUENCER_DRIFT,
        "seq_window_size": RollupConfig::DEFAULT_SEQ_WINDOW_SIZE,
        "channel_timeout": RollupConfig::DEFAULT_CHANNEL_TIMEOUT,
        "l1_chain_id": 900,
        "l2_chain_id": spec.chain_id(),
        "batch_inbox_address": INBOX,
        "deposit_contract_address": Address::repeat_byte(0xde),
        "unsafe_block_signer": Address::repeat_byte(0x51),
    });
    Ok(RollupConfig::from_json(&json.to_string())?)
}

/// `per_block` (at least 1) signed transfers for each of `blocks` blocks, round robin over the dev
/// accounts, each to a fresh address.
fn transfers(chain_id: u64, blocks: u64, per_block: usize) -> Vec<Vec<Recovered<TxEnvelope>>> {
    let keys: Vec<_> = (0..SENDERS).map(dev_signer).collect();
    let total = blocks as usize * per_block;
    let signed: Vec<Recovered<TxEnvelope>> = (0..total)
        .into_par_iter()
        .map(|i| {
            let key = &keys[i % SENDERS as usize];
            let mut tx = TxEip1559 {
                chain_id,
                nonce: (i / SENDERS as usize) as u64,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(Address::left_padding_from(
                    &(0x1000_0000u64 + i as u64).to_be_bytes(),
                )),
                value: U256::from(1),
                ..Default::default()
            };
            let signature = key.sign_transaction_sync(&mut tx).expect("a local key signs");
            Recovered::new_unchecked(TxEnvelope::Eip1559(tx.into_signed(signature)), key.address())
        })
        .collect();
    signed.chunks(per_block).map(<[_]>::to_vec).collect()
}

impl SourceChain {
    fn build(blocks: u64, per_block: usize) -> eyre::Result<Self> {
        let spec = Arc::new(ChainSpec::dev());
        let evm = EvmConfig::new(spec.clone());
        let genesis_time = spec.genesis_header().timestamp;
        let l1_count = blocks * 2 / L1_BLOCK_TIME + 3;
        let mut l1 = vec![l1_block(0, B256::ZERO, genesis_time)];
        for number in 1..=l1_count {
            let parent = l1[number as usize - 1].hash;
            l1.push(l1_block(number, parent, genesis_time + number * L1_BLOCK_TIME));
        }
        let rollup = rollup(&spec, &l1[0])?;
        let txs = match per_block {
            0 => vec![Vec::new(); blocks as usize],
            _ => transfers(spec.chain_id(), blocks, per_block),
        };

        let dir = tempfile::tempdir()?;
        let db = Database::open(dir.path(), &spec, DatabaseConfig::default())?;
        let mut sealed = Vec::new();
        // The batches of each epoch, posted in the L1 block after it.
        let mut epochs: BTreeMap<u64, Vec<SingularBatch>> = BTreeMap::new();
        let mut seq = 0;
        for (n, block_txs) in (1..=blocks).zip(txs) {
            let parent = db.head();
            let timestamp = genesis_time + 2 * n;
            let origin = &l1[((timestamp - genesis_time) / L1_BLOCK_TIME) as usize];
            let prev_origin = (timestamp - 2 - genesis_time) / L1_BLOCK_TIME;
            seq = if origin.number != prev_origin { 0 } else { seq + 1 };
            let attrs = BlockAttributes {
                timestamp,
                prev_randao: origin.mix_hash,
                parent_beacon_block_root: origin.parent_beacon_block_root,
                l1_info: origin.l1_info(&rollup, seq),
                deposits: Vec::new(),
            };
            let expected = block_txs.len();
            let built = evm.build_block(&db, &parent, attrs, block_txs)?;
            eyre::ensure!(
                built.rejected.is_empty() && built.block.body.len() == expected + 1,
                "block {n} left transactions out: {:?}",
                built.rejected
            );
            db.commit_block(&built.block, built.root)?;
            epochs.entry(origin.number).or_default().push(SingularBatch {
                parent_hash: parent.hash(),
                epoch_num: origin.number,
                epoch_hash: origin.hash,
                timestamp,
                transactions: built.block.body[1..]
                    .iter()
                    .map(|tx| tx.encoded_2718().into())
                    .collect(),
            });
            sealed.push(Block {
                header: built.block.header.inner().clone(),
                body: BlockBody {
                    transactions: built.block.body,
                    ommers: Vec::new(),
                    withdrawals: Some(Default::default()),
                },
            });
        }
        let config = SpanBatchConfig {
            genesis_timestamp: genesis_time,
            block_time: 2,
            chain_id: spec.chain_id(),
        };
        for (epoch, batches) in epochs {
            let span = SpanBatch::from_singular(&batches, epoch != 0, &config)?;
            let raw = encode_channel_batches(&[Batch::Span(span)], &config)?;
            let data = compress(&raw, Compression::Brotli);
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&epoch.to_be_bytes());
            let post = &mut l1[epoch as usize + 1];
            for frame in split_into_frames(id, &data, 120_000) {
                post.transactions.push(L1Transaction {
                    from: BATCHER,
                    to: Some(INBOX),
                    input: encode_batcher_tx(&[frame]).into(),
                });
            }
        }
        Ok(Self { spec, rollup, l1, blocks: sealed })
    }

    /// Seconds to import every block into a fresh database, and where they went.
    fn import(&self) -> eyre::Result<(f64, Split)> {
        let evm = EvmConfig::new(self.spec.clone());
        let dir = tempfile::tempdir()?;
        let db = Database::open(dir.path(), &self.spec, DatabaseConfig::default())?;
        let started = Instant::now();
        let mut split = Split::default();
        // As a follower catching up over P2P: the next block's senders are recovered ahead.
        let senders = tributary_node::SenderCache::new();
        for (index, block) in self.blocks.iter().enumerate() {
            if let Some(next) = self.blocks.get(index + 1) {
                senders.prefetch_decoded(next.body.transactions.clone());
            }
            let (executed, root, timings) = evm.execute_block_with(&db, block, &senders)?;
            split.add(&timings);
            let commit = Instant::now();
            Persist::Background.commit(&db, executed, root)?;
            split.commit += commit.elapsed().as_secs_f64();
        }
        db.wait_persisted()?;
        split.total = started.elapsed().as_secs_f64();
        Ok((split.total, split))
    }

    /// Rebuilds the chain from the L1 blocks into a fresh database; checks it is the
    /// sequencer's.
    fn derive(&self) -> eyre::Result<Derived> {
        let evm = EvmConfig::new(self.spec.clone());
        let dir = tempfile::tempdir()?;
        let db = Database::open(dir.path(), &self.spec, DatabaseConfig::default())?;
        let genesis = self.spec.genesis_header();
        let mut safe = L2BlockInfo {
            number: 0,
            hash: genesis.hash(),
            timestamp: genesis.timestamp,
            l1_origin: self.rollup.genesis.l1,
            sequence_number: 0,
        };
        let mut chain = Safe(BTreeMap::new());
        chain.0.insert(0, (safe, Vec::new()));
        let mut pipeline = Pipeline::new(self.rollup.clone());
        // A fresh cache per run: nothing recovered by an earlier run is reused.
        let senders = tributary_node::SenderCache::new();
        let started = Instant::now();
        let mut in_pipeline = 0.0;
        let mut split = Split::default();
        pipeline.reset(self.l1[pipeline.start_l1_number(&safe) as usize].clone());
        let mut next_l1 = pipeline.origin().map_or(1, |origin| origin.number + 1);
        let target = self.blocks.len() as u64;
        while safe.number < target {
            let step = Instant::now();
            // As the node's driver does while catching up: L1 blocks pushed ahead of the
            // origin, so their channels' senders are recovered before their blocks are built.
            if pipeline.queued_l1() < L1_LOOKAHEAD
                && let Some(block) = self.l1.get(next_l1 as usize)
            {
                pipeline.push_l1(block.clone())?;
                next_l1 += 1;
            }
            let attrs = pipeline.next(&safe, &chain)?;
            in_pipeline += step.elapsed().as_secs_f64();
            // As the node's derivation does when it builds from L1 data alone.
            senders.prefetch(pipeline.take_read_transactions());
            let Some(attrs) = attrs else {
                let block = self.l1.get(next_l1 as usize).ok_or_else(|| {
                    eyre::eyre!("derivation stopped at L2 {} of {target}", safe.number)
                })?;
                let step = Instant::now();
                pipeline.push_l1(block.clone())?;
                in_pipeline += step.elapsed().as_secs_f64();
                next_l1 += 1;
                continue;
            };
            // The follower's own decoding and attributes (`tributary_node`).
            let decoding = Instant::now();
            let txs = tributary_node::decode_batch_transactions(&attrs.transactions, &senders)
                .ok_or_else(|| {
                    eyre::eyre!("block {}: a transaction does not decode", safe.number + 1)
                })?;
            split.recover += decoding.elapsed().as_secs_f64();
            let parent = db.tip();
            let built = evm.build_block(
                &db,
                &parent,
                tributary_node::derived_block_attributes(&attrs),
                txs,
            )?;
            split.add(&built.timings);
            let commit = Instant::now();
            let block = Persist::Background.commit(&db, built.block, built.root)?;
            split.commit += commit.elapsed().as_secs_f64();
            let header = &block.header;
            let expected = &self.blocks[safe.number as usize];
            eyre::ensure!(
                header.hash() == expected.header.hash_slow(),
                "derived block {} differs from the sequencer's",
                header.number
            );
            safe = L2BlockInfo {
                number: header.number,
                hash: header.hash(),
                timestamp: header.timestamp,
                l1_origin: BlockId { number: attrs.l1_info.number, hash: attrs.l1_info.hash },
                sequence_number: attrs.l1_info.sequence_number,
            };
            chain.0.insert(safe.number, (safe, attrs.transactions));
        }
        db.wait_persisted()?;
        split.total = started.elapsed().as_secs_f64();
        Ok(Derived { total: split.total, pipeline: in_pipeline, split })
    }
}

/// The safe chain as the pipeline asks for it (span batches that overlap it).
struct Safe(BTreeMap<u64, (L2BlockInfo, Vec<Bytes>)>);

impl L2Chain for Safe {
    fn block(&self, number: u64) -> Option<(L2BlockInfo, Vec<Bytes>)> {
        self.0.get(&number).cloned()
    }
}

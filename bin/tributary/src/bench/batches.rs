//! `tributary bench batches`: bytes the batcher posts to L1 per L2 transaction, for zlib and
//! brotli, singular and span batches, against the raw signed transactions (the sum of their
//! EIP-2718 encodings) of the same stream, measured in the same run.
//!
//! The stream is generated, so no node is needed: ERC-20 `transfer(address,uint256)` calls to
//! one token, EIP-1559 and signed by the ten dev accounts (chain 901, increasing nonces, gas
//! limit 52 000, 1 gwei tip, 2 gwei fee cap), to recipients drawn from a pool of
//! [`RECIPIENTS`] addresses with amounts of up to 1 000 tokens, all from a fixed-seed PRNG so
//! that every run posts the same bytes. Each block opens with its L1 attributes deposit
//! (Jovian), and the L1 origin moves every six blocks (12 s L1, 2 s L2). Deposits come from L1
//! and are never posted, so neither figure counts them.
//!
//! The batcher's own `ChannelBuilder` does the posting: blocks are added until the channel is
//! full, the channel is finished and the next is started. Each frame is one L1 transaction's
//! calldata.
//!
//! Then what the default (brotli span batches) costs on L1 per L2 transaction, posted as
//! calldata and as blobs, at the same L1 base fee and blob base fee: calldata is charged as
//! Prague charges it (EIP-7623: a data-heavy transaction pays the floor of 10 gas per zero byte
//! and 40 per non-zero byte, plus 21 000); for blobs the channels are cut into frames of one
//! blob each ([`BLOB_MAX_DATA_SIZE`] bytes), every frame goes through the OP blob encoding
//! (`tributary_protocol::encode_blob`), and [`BLOBS_PER_TX`] blobs share one type-3
//! transaction (21 000 gas) while each blob pays 131 072 blob gas.

use alloy::{
    consensus::{Header, SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, TxKind, U256, keccak256},
    sol,
    sol_types::SolCall,
};
use clap::Args;
use tributary_batcher::{BatchType, ChannelBuilder, L2Block, channel_id_for};
use tributary_chainspec::{BlockId, RollupConfig, RollupGenesis, SystemConfig};
use tributary_devnet::accounts::dev_signer;
use tributary_primitives::{Sealed, SealedHeader, TxEnvelope};
use tributary_protocol::{
    BLOB_MAX_DATA_SIZE, BYTES_PER_BLOB, Compression, L1BlockInfo, L1InfoFormat, encode_blob,
};

sol! {
    function transfer(address to, uint256 amount) returns (bool);
}

#[derive(Debug, Args)]
pub(crate) struct BatchesArgs {
    /// L2 blocks in the stream.
    #[arg(long, default_value_t = 200)]
    blocks: usize,
    /// ERC-20 transfers per block.
    #[arg(long, default_value_t = 50)]
    txs_per_block: usize,
}

/// The goal for brotli span batches: posted bytes / raw signed transaction bytes.
const GOAL: f64 = 0.35;
/// The batcher's largest L1 transaction, as `--batcher.max-l1-tx-size` would set it.
const MAX_TX_SIZE: usize = 120_000;
const CHAIN_ID: u64 = 901;
const GENESIS_TIME: u64 = 1_700_000_000;
const L1_GENESIS: u64 = 100;
const L2_BLOCKS_PER_EPOCH: u64 = 6;
const SENDERS: u32 = 10;
/// Distinct recipients. Fewer repeat more often, which compression rewards.
const RECIPIENTS: usize = 1_000;
const GWEI: u128 = 1_000_000_000;
/// Blobs one batcher transaction carries (Prague allows 9 a block; op-batcher's
/// `--target-num-frames` sets it, 6 being common).
const BLOBS_PER_TX: usize = 6;
/// Blob gas per blob (EIP-4844).
const GAS_PER_BLOB: u64 = BYTES_PER_BLOB as u64;
/// The L1 prices the cost table is shown at: (label, base fee, blob base fee), wei.
const L1_PRICES: [(&str, u128, u128); 2] = [
    ("1 gwei base fee, blob base fee at its 1 wei floor", GWEI, 1),
    ("1 gwei base fee, 1 gwei blob base fee", GWEI, GWEI),
];

const CONFIGS: [Config; 4] = [
    (Compression::Zlib, BatchType::Singular),
    (Compression::Zlib, BatchType::Span),
    (Compression::Brotli, BatchType::Singular),
    (Compression::Brotli, BatchType::Span),
];

type Config = (Compression, BatchType);

/// One configuration's figures.
struct Posted {
    config: Config,
    l1_txs: usize,
    bytes: usize,
    /// Seconds spent encoding, compressing and framing (the batcher's CPU).
    secs: f64,
}

struct Measured {
    txs: usize,
    raw_bytes: usize,
    posted: Vec<Posted>,
}

impl Measured {
    fn ratio(&self, bytes: usize) -> f64 {
        bytes as f64 / self.raw_bytes as f64
    }

    fn get(&self, config: Config) -> Option<&Posted> {
        self.posted.iter().find(|p| p.config == config)
    }
}

pub(crate) fn run(args: BatchesArgs) -> eyre::Result<()> {
    let measured = measure(args.blocks, args.txs_per_block)?;
    println!(
        "{} blocks x {} ERC-20 transfers = {} txs; max L1 tx {MAX_TX_SIZE} bytes",
        args.blocks, args.txs_per_block, measured.txs
    );
    println!(
        "{:<11} {:<8} {:>7} {:>13} {:>9} {:>7} {:>14}",
        "compression", "batch", "L1 txs", "posted bytes", "bytes/tx", "ratio", "txs/s one core"
    );
    let row = |compression: &str, batch: &str, l1_txs: String, bytes: usize, rate: String| {
        let per_tx = bytes as f64 / measured.txs as f64;
        let ratio = measured.ratio(bytes);
        println!(
            "{compression:<11} {batch:<8} {l1_txs:>7} {bytes:>13} {per_tx:>9.1} {ratio:>7.3} {rate:>14}"
        );
    };
    row("raw txs", "-", "-".into(), measured.raw_bytes, "-".into());
    for p in &measured.posted {
        let (compression, batch) = (format!("{:?}", p.config.0), format!("{:?}", p.config.1));
        // How many transactions a second the batcher can encode and compress on one core.
        let rate = format!("{:.0}", measured.txs as f64 / p.secs);
        row(
            &compression.to_lowercase(),
            &batch.to_lowercase(),
            p.l1_txs.to_string(),
            p.bytes,
            rate,
        );
    }
    let brotli_span = measured
        .get((Compression::Brotli, BatchType::Span))
        .map_or(f64::NAN, |p| measured.ratio(p.bytes));
    let verdict = if brotli_span <= GOAL { "met" } else { "not met" };
    println!("goal: brotli span <= {GOAL:.2} of raw tx bytes: {brotli_span:.3}, {verdict}");

    let da = l1_data(args.blocks, args.txs_per_block)?;
    println!();
    println!(
        "L1 cost per L2 tx, brotli span: calldata {} txs, {} gas; blobs {} blobs in {} txs",
        da.calldata_txs, da.calldata_gas, da.blobs, da.blob_txs
    );
    for (label, base_fee, blob_base_fee) in L1_PRICES {
        let calldata = da.calldata_cost(base_fee) / measured.txs as f64;
        let blobs = da.blob_cost(base_fee, blob_base_fee) / measured.txs as f64;
        println!(
            "  {label}: calldata {:.1} gwei, blobs {:.1} gwei per L2 tx (blobs/calldata {:.4})",
            calldata / 1e9,
            blobs / 1e9,
            blobs / calldata
        );
    }
    Ok(())
}

/// What brotli span batches of the stream take on L1, as calldata and as blobs.
struct L1Data {
    calldata_txs: usize,
    calldata_gas: u64,
    blobs: usize,
    blob_txs: usize,
}

impl L1Data {
    fn calldata_cost(&self, base_fee: u128) -> f64 {
        self.calldata_gas as f64 * base_fee as f64
    }

    fn blob_cost(&self, base_fee: u128, blob_base_fee: u128) -> f64 {
        (self.blob_txs as u64 * 21_000) as f64 * base_fee as f64
            + (self.blobs as u64 * GAS_PER_BLOB) as f64 * blob_base_fee as f64
    }
}

/// L1 gas of a batcher transaction carrying `data` as calldata, under Prague: the larger of
/// the standard cost (16 per non-zero byte, 4 per zero byte) and EIP-7623's floor (10 per
/// token, a non-zero byte being 4 tokens), plus 21 000.
fn calldata_gas(data: &[u8]) -> u64 {
    let zeros = data.iter().filter(|byte| **byte == 0).count() as u64;
    let non_zero = data.len() as u64 - zeros;
    let standard = 16 * non_zero + 4 * zeros;
    let floor = 10 * (zeros + 4 * non_zero);
    21_000 + standard.max(floor)
}

/// Posts the stream's brotli span batches both ways.
fn l1_data(blocks: usize, per_block: usize) -> eyre::Result<L1Data> {
    let (rollup, stream) = setup(blocks, per_block)?;
    let config = (Compression::Brotli, BatchType::Span);
    let calldata = frames(&rollup, &stream.0, config, MAX_TX_SIZE)?;
    let blob_frames = frames(&rollup, &stream.0, config, BLOB_MAX_DATA_SIZE)?;
    for frame in &blob_frames {
        encode_blob(frame)?;
    }
    Ok(L1Data {
        calldata_txs: calldata.len(),
        calldata_gas: calldata.iter().map(|frame| calldata_gas(frame)).sum(),
        blobs: blob_frames.len(),
        blob_txs: blob_frames.len().div_ceil(BLOBS_PER_TX),
    })
}

/// Builds the stream and posts it under every configuration.
fn measure(blocks: usize, per_block: usize) -> eyre::Result<Measured> {
    let (rollup, (stream, raw_bytes)) = setup(blocks, per_block)?;
    let posted = CONFIGS
        .into_iter()
        .map(|config| post(&rollup, &stream, config))
        .collect::<eyre::Result<_>>()?;
    Ok(Measured { txs: blocks * per_block, raw_bytes, posted })
}

/// The rollup config and the generated stream with its raw transaction bytes.
fn setup(blocks: usize, per_block: usize) -> eyre::Result<(RollupConfig, (Vec<L2Block>, usize))> {
    let batcher = Address::with_last_byte(0xba);
    let genesis = Sealed::new(Header { timestamp: GENESIS_TIME, ..Default::default() });
    let rollup = RollupConfig {
        genesis: RollupGenesis {
            l1: BlockId { hash: l1_hash(L1_GENESIS), number: L1_GENESIS },
            l2: BlockId { hash: genesis.hash(), number: 0 },
            l2_time: GENESIS_TIME,
            system_config: SystemConfig { batcher_addr: batcher, ..Default::default() },
        },
        block_time: RollupConfig::DEFAULT_BLOCK_TIME,
        max_sequencer_drift: RollupConfig::DEFAULT_MAX_SEQUENCER_DRIFT,
        seq_window_size: RollupConfig::DEFAULT_SEQ_WINDOW_SIZE,
        channel_timeout: RollupConfig::DEFAULT_CHANNEL_TIMEOUT,
        l1_chain_id: 900,
        l2_chain_id: CHAIN_ID,
        batch_inbox_address: RollupConfig::default_batch_inbox(CHAIN_ID),
        deposit_contract_address: Address::with_last_byte(0xde),
        l1_system_config_address: Address::ZERO,
        protocol_versions_address: Address::ZERO,
        chain_op_config: None,
        unsafe_block_signer: Address::with_last_byte(0x5e),
        fork_times: Default::default(),
    };
    let stream = stream(&rollup, genesis, blocks, per_block)?;
    Ok((rollup, stream))
}

fn l1_hash(number: u64) -> B256 {
    keccak256(number.to_be_bytes())
}

/// Blocks 1..=`blocks` on top of `genesis`, and the raw size of their user transactions.
fn stream(
    rollup: &RollupConfig,
    genesis: SealedHeader,
    blocks: usize,
    per_block: usize,
) -> eyre::Result<(Vec<L2Block>, usize)> {
    let mut rng = SplitMix64(0x7269_6275_7461_7279);
    let senders: Vec<_> = (0..SENDERS).map(dev_signer).collect();
    let mut nonces = vec![0u64; senders.len()];
    let token = senders[0].address().create(0);
    let recipients: Vec<Address> = (0..RECIPIENTS)
        .map(|_| Address::from_slice(&keccak256(rng.next().to_be_bytes())[12..]))
        .collect();
    let mut parent = genesis;
    let (mut out, mut raw_bytes) = (Vec::with_capacity(blocks), 0);
    for number in 1..=blocks as u64 {
        // Only the origin matters here: the batcher reads the epoch and never posts deposits.
        let epoch = number / L2_BLOCKS_PER_EPOCH;
        let info = L1BlockInfo {
            number: L1_GENESIS + epoch,
            timestamp: GENESIS_TIME + epoch * 12,
            hash: l1_hash(L1_GENESIS + epoch),
            sequence_number: number % L2_BLOCKS_PER_EPOCH,
            batcher_hash: rollup.genesis.system_config.batcher_addr.into_word(),
            ..Default::default()
        };
        let mut transactions = Vec::with_capacity(per_block + 1);
        transactions.push(TxEnvelope::Deposit(Sealed::new(info.deposit_tx(L1InfoFormat::Jovian))));
        for _ in 0..per_block {
            let from = rng.next() as usize % senders.len();
            let to = recipients[rng.next() as usize % recipients.len()];
            let amount = U256::from(rng.next() % 1_000_000) * U256::from(10u64.pow(15));
            let mut tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: nonces[from],
                gas_limit: 52_000,
                max_fee_per_gas: 2 * GWEI,
                max_priority_fee_per_gas: GWEI,
                to: TxKind::Call(token),
                input: transferCall { to, amount }.abi_encode().into(),
                ..Default::default()
            };
            nonces[from] += 1;
            let signature = senders[from].sign_transaction_sync(&mut tx)?;
            let envelope = TxEnvelope::Eip1559(tx.into_signed(signature));
            raw_bytes += envelope.encode_2718_len();
            transactions.push(envelope);
        }
        let header = Sealed::new(Header {
            parent_hash: parent.hash(),
            number,
            timestamp: rollup.l2_timestamp(number),
            ..Default::default()
        });
        parent = header.clone();
        out.push(L2Block { header, transactions });
    }
    Ok((out, raw_bytes))
}

/// Feeds the stream through channels as the batcher does and counts the calldata.
fn post(rollup: &RollupConfig, stream: &[L2Block], config: Config) -> eyre::Result<Posted> {
    let started = std::time::Instant::now();
    let frames = frames(rollup, stream, config, MAX_TX_SIZE)?;
    let bytes = frames.iter().map(|frame| frame.len()).sum::<usize>();
    let secs = started.elapsed().as_secs_f64();
    Ok(Posted { config, l1_txs: frames.len(), bytes, secs })
}

/// The batcher transactions' data (version byte and one frame each) of the stream's channels,
/// with frames of at most `max_tx_size` bytes.
fn frames(
    rollup: &RollupConfig,
    stream: &[L2Block],
    (compression, batch_type): Config,
    max_tx_size: usize,
) -> eyre::Result<Vec<alloy::primitives::Bytes>> {
    let mut out = Vec::new();
    let mut rest = stream.iter().peekable();
    while let Some(first) = rest.peek() {
        let id = channel_id_for(rollup.genesis.system_config.batcher_addr, first.header.number);
        let mut channel = ChannelBuilder::new(rollup, batch_type, compression, max_tx_size);
        while let Some(block) = rest.next_if(|_| !channel.is_full()) {
            channel.add_block(block.clone())?;
        }
        if let Some(built) = channel.finish(id)? {
            out.extend(built.frames);
        }
    }
    Ok(out)
}

/// A fixed-seed PRNG, so every run generates the same stream.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_span_beats_zlib_singular_on_a_tiny_stream() {
        assert_eq!(transferCall::SELECTOR, [0xa9, 0x05, 0x9c, 0xbb]);
        let measured = measure(4, 5).unwrap();
        assert_eq!((measured.txs, measured.posted.len()), (20, CONFIGS.len()));
        let bytes = |config| measured.get(config).unwrap().bytes;
        let brotli_span = bytes((Compression::Brotli, BatchType::Span));
        assert!(brotli_span < bytes((Compression::Zlib, BatchType::Singular)));
        for p in &measured.posted {
            let ratio = measured.ratio(p.bytes);
            assert!(ratio > 0.0 && ratio < 1.5, "{:?}: {ratio}", p.config);
            assert!(p.l1_txs >= 1);
        }
    }

    /// Prague's calldata floor: 40 gas per non-zero byte, 10 per zero byte, when above the
    /// standard cost.
    #[test]
    fn calldata_pays_prague_floor() {
        assert_eq!(calldata_gas(&[1; 100]), 21_000 + 4_000);
        assert_eq!(calldata_gas(&[0; 100]), 21_000 + 1_000);
        assert_eq!(calldata_gas(&[]), 21_000);
    }

    /// A stream that needs more than one blob is cut into encodable frames of one blob each,
    /// and at a blob base fee as high as the base fee blobs still cost less than calldata.
    #[test]
    fn blobs_carry_what_calldata_carries_for_less() {
        let da = l1_data(40, 50).unwrap();
        assert!(da.blobs >= 1 && da.blob_txs == da.blobs.div_ceil(BLOBS_PER_TX));
        assert!(da.calldata_txs >= da.blobs);
        let calldata = da.calldata_cost(GWEI);
        assert!(da.blob_cost(GWEI, 1) < calldata / 10.0);
        assert!(da.blob_cost(GWEI, GWEI) < calldata);
    }
}

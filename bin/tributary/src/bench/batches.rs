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
use tributary_primitives::{OpTxEnvelope, Sealed, SealedHeader};
use tributary_protocol::{Compression, L1BlockInfo, L1InfoFormat};

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
    Ok(())
}

/// Builds the stream and posts it under every configuration.
fn measure(blocks: usize, per_block: usize) -> eyre::Result<Measured> {
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
    let (stream, raw_bytes) = stream(&rollup, genesis, blocks, per_block)?;
    let posted = CONFIGS
        .into_iter()
        .map(|config| post(&rollup, &stream, config))
        .collect::<eyre::Result<_>>()?;
    Ok(Measured { txs: blocks * per_block, raw_bytes, posted })
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
        transactions
            .push(OpTxEnvelope::Deposit(Sealed::new(info.deposit_tx(L1InfoFormat::Jovian))));
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
            let envelope = OpTxEnvelope::Eip1559(tx.into_signed(signature));
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
    let (compression, batch_type) = config;
    let started = std::time::Instant::now();
    let mut posted = Posted { config, l1_txs: 0, bytes: 0, secs: 0.0 };
    let mut rest = stream.iter().peekable();
    while let Some(first) = rest.peek() {
        let id = channel_id_for(rollup.genesis.system_config.batcher_addr, first.header.number);
        let mut channel = ChannelBuilder::new(rollup, batch_type, compression, MAX_TX_SIZE);
        while let Some(block) = rest.next_if(|_| !channel.is_full()) {
            channel.add_block(block.clone())?;
        }
        if let Some(built) = channel.finish(id)? {
            posted.l1_txs += built.frames.len();
            posted.bytes += built.frames.iter().map(|frame| frame.len()).sum::<usize>();
        }
    }
    posted.secs = started.elapsed().as_secs_f64();
    Ok(posted)
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
}

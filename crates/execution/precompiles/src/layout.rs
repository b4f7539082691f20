//! Storage layout of the two precompile accounts. Slots are Solidity-style mapping slots,
//! `keccak256(key ++ tag)`, so explorers and `eth_getStorageAt` users can find them.
//!
//! Attribution (`0x…0A01`):
//!
//! | slot | contents |
//! |---|---|
//! | `0` | counters: datanets (bits 0..64), contributions (64..128), models (128..192), inferences (192..256) |
//! | `D = keccak(id, 1)` | datanet: `D+0` curator (0..160) and contribution count (160..224); `D+1` URI length, URI bytes from `keccak(D+1)` |
//! | `C = keccak(id, 2)` | contribution: `C+0` contributor (0..160), datanet id (160..224), status (224..232); `C+1` content hash; `C+2` weight |
//! | `M = keccak(id, 3)` | model: `M+0` owner (0..160), dataBps (160..176), operatorBps (176..192), datanet count (192..200); `M+1` hash; `M+2` price; `M+3` lifetime stats of single settlements (batches keep none in state): inferences (0..64), tokens (64..128), fees in wei (128..256), each saturating; `M+4`, `M+5` unused (they held tokens and fees before the stats were packed); `M+6` URI length, bytes from `keccak(M+6)`; `M+7…` datanet ids, four u64 per slot |
//! | `keccak(operator, keccak(modelId, 4))` | 1 if an operator |
//! | `I = keccak(id, 5)` | inference: `I+0` payer (0..160), model (160..224); `I+1` operator (0..160), tokens (160..224), block (224..256); `I+2` fee; `I+3` inference hash; `I+4` attribution hash |
//! | `keccak(batchId, 6)` | unused (held a batch's Merkle root before batches were chained per epoch) |
//! | `keccak(epoch, 7)` | the settlement commitment of epoch `epoch` (`settleBatch`, `batch.rs`): batches with first id in `64·epoch ..= 64·epoch + 63`, chained |
//!
//! Royalties (`0x…0A02`): escrow at `keccak(account, 1)`, allowance at
//! `keccak(modelId, keccak(payer, 2))`, lifetime earnings at `keccak(account, 3)`.

use crate::{
    call::{Call, Result, slot},
    gas,
};
use alloy_primitives::{Address, B256, U256, address, keccak256};

/// The Attribution precompile.
pub const ATTRIBUTION_ADDRESS: Address = address!("0000000000000000000000000000000000000A01");
/// The Royalties precompile.
pub const ROYALTIES_ADDRESS: Address = address!("0000000000000000000000000000000000000A02");

pub(crate) const COUNTERS: U256 = U256::ZERO;
pub(crate) const DATANET: u8 = 1;
pub(crate) const CONTRIBUTION: u8 = 2;
pub(crate) const MODEL: u8 = 3;
pub(crate) const OPERATOR: u8 = 4;
pub(crate) const INFERENCE: u8 = 5;
pub(crate) const COMMITMENT: u8 = 7;
pub(crate) const ESCROW: u8 = 1;
pub(crate) const ALLOWANCE: u8 = 2;
pub(crate) const EARNINGS: u8 = 3;

/// Counter positions in slot 0.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Datanets = 0,
    Contributions = 1,
    Models = 2,
    Inferences = 3,
}

fn word(value: U256, tag: u8) -> [u8; 64] {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&value.to_be_bytes::<32>());
    buf[63] = tag;
    buf
}

/// `keccak256(key ++ tag)`, charged as SHA3 over 64 bytes.
pub(crate) fn mapping(call: &mut Call<'_>, key: U256, tag: u8) -> Result<U256> {
    call.charge(gas::keccak_cost(64))?;
    Ok(slot(keccak256(word(key, tag))))
}

/// `keccak256(inner ++ outer_slot)` for a nested mapping.
pub(crate) fn nested(call: &mut Call<'_>, key: U256, outer: U256) -> Result<U256> {
    call.charge(gas::keccak_cost(64))?;
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&key.to_be_bytes::<32>());
    buf[32..].copy_from_slice(&outer.to_be_bytes::<32>());
    Ok(slot(keccak256(buf)))
}

pub(crate) fn address_key(address: Address) -> U256 {
    U256::from_be_bytes(B256::left_padding_from(address.as_slice()).0)
}

/// Bits `[from, from + width)` of `word`.
pub(crate) fn bits(word: U256, from: usize, width: usize) -> U256 {
    (word >> from) & ((U256::from(1) << width) - U256::from(1))
}

pub(crate) fn bits_u64(word: U256, from: usize, width: usize) -> u64 {
    bits(word, from, width).saturating_to()
}

pub(crate) fn bits_address(word: U256) -> Address {
    Address::from_word(B256::from(bits(word, 0, 160)))
}

/// `word` with bits `[from, from + width)` replaced by `value`.
pub(crate) fn with_bits(word: U256, from: usize, width: usize, value: U256) -> U256 {
    let mask = ((U256::from(1) << width) - U256::from(1)) << from;
    (word & !mask) | ((value << from) & mask)
}

pub(crate) fn counter(word: U256, which: Counter) -> u64 {
    bits_u64(word, which as usize * 64, 64)
}

/// The model stats slot (`M+3`): inferences, tokens and fees packed into one word, so a
/// settlement writes one slot for them, not three. Each field saturates at its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PackedStats {
    pub(crate) inferences: u64,
    pub(crate) tokens: u64,
    pub(crate) fees: u128,
}

impl PackedStats {
    /// Offset of the stats slot from the model's base slot.
    pub(crate) const OFFSET: u64 = 3;

    pub(crate) fn from_word(word: U256) -> Self {
        Self {
            inferences: bits_u64(word, 0, 64),
            tokens: bits_u64(word, 64, 64),
            fees: bits(word, 128, 128).saturating_to(),
        }
    }

    pub(crate) fn to_word(self) -> U256 {
        U256::from(self.inferences)
            | (U256::from(self.tokens) << 64)
            | (U256::from(self.fees) << 128)
    }

    /// These stats with `inferences`, `tokens` and `fees` more, each saturating.
    pub(crate) fn add(self, inferences: u64, tokens: U256, fees: U256) -> Self {
        Self {
            inferences: self.inferences.saturating_add(inferences),
            tokens: self.tokens.saturating_add(tokens.saturating_to()),
            fees: self.fees.saturating_add(fees.saturating_to()),
        }
    }
}

/// Adds to the stats of the model whose base slot is `base`: one read, one write.
pub(crate) fn add_model_stats(
    call: &mut Call<'_>,
    base: U256,
    inferences: u64,
    tokens: U256,
    fees: U256,
) -> Result<()> {
    let at = base + U256::from(PackedStats::OFFSET);
    let old = PackedStats::from_word(call.sload(ATTRIBUTION_ADDRESS, at)?);
    call.sstore(ATTRIBUTION_ADDRESS, at, old.add(inferences, tokens, fees).to_word())
}

/// Increments one counter in slot 0 and returns the new value (the new id).
pub(crate) fn next_id(call: &mut Call<'_>, which: Counter) -> Result<u64> {
    let counters = call.sload(ATTRIBUTION_ADDRESS, COUNTERS)?;
    let next = counter(counters, which) + 1;
    let updated = with_bits(counters, which as usize * 64, 64, U256::from(next));
    call.sstore(ATTRIBUTION_ADDRESS, COUNTERS, updated)?;
    Ok(next)
}

/// Stores a byte string as its length at `at` and its 32-byte words from `keccak(at)`.
pub(crate) fn store_bytes(
    call: &mut Call<'_>,
    account: Address,
    at: U256,
    bytes: &[u8],
) -> Result<()> {
    call.sstore(account, at, U256::from(bytes.len()))?;
    call.charge(gas::keccak_cost(32))?;
    let first = slot(keccak256(at.to_be_bytes::<32>()));
    for (i, chunk) in bytes.chunks(32).enumerate() {
        let mut word = [0u8; 32];
        word[..chunk.len()].copy_from_slice(chunk);
        call.sstore(account, first + U256::from(i), U256::from_be_bytes(word))?;
    }
    Ok(())
}

/// Reads what [`store_bytes`] wrote.
pub(crate) fn load_bytes(call: &mut Call<'_>, account: Address, at: U256) -> Result<Vec<u8>> {
    let len: usize = call.sload(account, at)?.saturating_to();
    call.charge(gas::keccak_cost(32))?;
    let first = slot(keccak256(at.to_be_bytes::<32>()));
    let mut out = Vec::with_capacity(len);
    for i in 0..len.div_ceil(32) {
        let word = call.sload(account, first + U256::from(i))?.to_be_bytes::<32>();
        let take = (len - i * 32).min(32);
        out.extend_from_slice(&word[..take]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed stats round-trip and saturate at each field's width.
    #[test]
    fn packed_stats_round_trip_and_saturate() {
        let stats = PackedStats { inferences: 12, tokens: 9_600, fees: 19_200_000_000_000_000 };
        assert_eq!(PackedStats::from_word(stats.to_word()), stats);
        let full = PackedStats { inferences: u64::MAX, tokens: u64::MAX - 1, fees: u128::MAX };
        assert_eq!(PackedStats::from_word(full.to_word()), full);
        let more = full.add(1, U256::from(5), U256::from(1));
        assert_eq!(more, PackedStats { tokens: u64::MAX, ..full });
        let huge = stats.add(0, U256::MAX, U256::MAX);
        assert_eq!((huge.tokens, huge.fees), (u64::MAX, u128::MAX));
    }
}

//! Tributary's native precompiles: Attribution (`0x…0A01`) and Royalties (`0x…0A02`).
//!
//! # What they do
//!
//! Attribution keeps the registries (Datanets, contributions, models and their operators) and
//! the inference ledger, the Proof of Attribution. Royalties holds escrow and allowances and
//! splits every inference fee among creator, data contributors, operator and protocol in the
//! same call that records the inference. The ABI is `interfaces/IAttribution.sol` and
//! `interfaces/IRoyalties.sol`, bound here with `alloy::sol!`; the NatSpec there states the
//! decisions the design left open.
//!
//! # Shape
//!
//! - `call.rs`: one call's state access through alloy-evm's `EvmInternals`, charging gas as it
//!   goes. Every change goes into revm's journal, so a revert or an out-of-gas undoes it.
//! - `layout.rs`: where each record lives in the two accounts' storage (the state root covers
//!   it, so followers verify it).
//! - `attribution.rs`, `royalties.rs`: the functions. `settle.rs`: the split arithmetic.
//! - `batch.rs`: batched settlement's packed record format, Merkle tree and per-epoch
//!   commitment chain (pure); `batched.rs`: `settleBatch`, which folds each batch's root into
//!   its epoch's one slot and credits each recipient once, and the `verifyInference` view. The node indexes the records from each block.
//!
//! # Safety rules
//!
//! - A call reached by DELEGATECALL or CALLCODE reverts (`DelegateCallNotAllowed`), views
//!   included: the code would otherwise act on the caller's storage.
//! - A state-changing function under STATICCALL reverts (`WriteInStaticCall`).
//! - Value sent to a non-payable function reverts (`NotPayable`).
//! - Calldata that does not decode reverts with empty data; nothing panics on input.
//! - Payouts only move balances: no recipient code runs, so there is no reentrancy.
//!
//! # Gas schedule
//!
//! Each primitive is priced as the EVM prices the same work, and nothing else is charged:
//!
//! | work | gas |
//! |---|---|
//! | every call (dispatch, ABI decoding) | 200 |
//! | calldata | 3 per 32-byte word |
//! | mapping slot (keccak256 of 64 bytes) | 36 |
//! | storage read | 2100 cold, 100 warm (EIP-2929) |
//! | storage write | 20000 new slot, 2900 update, 100 no-op or dirty, +2100 when cold (EIP-2200/2929, no refunds) |
//! | log | 375 + 375 per topic + 8 per byte |
//! | payout to an account | 2600 cold, 100 warm, +25000 when the account is new |
//! | batched settlement | 200 per record, 50 per attribution (decoding, checks, split arithmetic) |
//!
//! What the native code saves is the interpreter, the ABI re-encoding between contracts and the
//! CALL per payout; a batch also credits each recipient once. State growth (new slots, new
//! accounts) is charged in full.

mod abi;
mod attribution;
mod batch;
mod batched;
mod call;
mod gas;
mod layout;
mod royalties;
mod settle;

pub use abi::{IAttribution, IRoyalties};
pub use attribution::{MAX_ATTRIBUTIONS, MAX_MODEL_DATANETS};
pub use batch::{
    ATTRIBUTION_LEN, BatchFormatError, BatchLink, InferenceRecord, MAX_BATCH_RECORDS,
    RECORD_HEAD_LEN, SETTLEMENT_EPOCH, decode_batch, encode_batch, epoch_commitment, leaf_hash,
    link_hash, merkle_proof, merkle_root, node_hash, records_root, root_from_proof,
};
pub use batched::{CREDIT_LEN, SettledRecords, decode_credits};
pub use layout::{ATTRIBUTION_ADDRESS, ROYALTIES_ADDRESS};
pub use royalties::MAX_SPLIT_RECIPIENTS;
pub use settle::{MAX_FEE, Payout, Role, RoyaltySplit, inference_fee};

use alloy_evm::precompiles::{DynPrecompile, PrecompilesMap};
use alloy_primitives::{Address, Bytes};
use call::{Call, Stop};
use revm::precompile::PrecompileId;
use tributary_chainspec::AttributionParams;

/// Chain parameters the precompiles read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The protocol's share of every fee, basis points.
    pub protocol_bps: u16,
    /// Where the protocol's share goes.
    pub treasury: Address,
}

impl From<&AttributionParams> for Params {
    fn from(params: &AttributionParams) -> Self {
        Self { protocol_bps: params.protocol_bps, treasury: params.treasury }
    }
}

/// Installs both precompiles into an EVM's precompile map; settled batches' records go to
/// `settled`.
pub fn install(
    precompiles: &mut PrecompilesMap,
    params: Params,
    settled: &std::sync::Arc<SettledRecords>,
) {
    let settled = settled.clone();
    precompiles
        .apply_precompile(&ATTRIBUTION_ADDRESS, |_| Some(attribution_precompile(params, settled)));
    precompiles.apply_precompile(&ROYALTIES_ADDRESS, |_| Some(royalties_precompile()));
}

/// The Attribution precompile.
pub fn attribution_precompile(
    params: Params,
    settled: std::sync::Arc<SettledRecords>,
) -> DynPrecompile {
    DynPrecompile::new_stateful(PrecompileId::custom("tributary-attribution"), move |input| {
        let mut call = Call::new(input);
        let result = entry(&mut call, IAttribution::DelegateCallNotAllowed {})
            .and_then(|()| attribution::run(&mut call, &params, &settled));
        call.finish(result)
    })
}

/// The Royalties precompile.
pub fn royalties_precompile() -> DynPrecompile {
    DynPrecompile::new_stateful(PrecompileId::custom("tributary-royalties"), move |input| {
        let mut call = Call::new(input);
        let result = entry(&mut call, IRoyalties::DelegateCallNotAllowed {})
            .and_then(|()| royalties::run(&mut call));
        call.finish(result)
    })
}

/// Charges the entry cost and refuses DELEGATECALL and CALLCODE.
fn entry(call: &mut Call<'_>, delegate_error: impl alloy::sol_types::SolError) -> call::Result<()> {
    call.charge(gas::BASE + gas::calldata_cost(call.data().len()))?;
    if !call.is_direct() {
        return Err(Stop::Revert(Bytes::from(delegate_error.abi_encode())));
    }
    Ok(())
}

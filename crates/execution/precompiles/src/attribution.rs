//! The Attribution precompile: registries and the inference ledger.

use crate::{
    Params,
    abi::IAttribution::{self as abi, IAttributionCalls as Calls},
    call::{Call, Result, Stop},
    gas,
    layout::{
        ATTRIBUTION_ADDRESS as SELF, CONTRIBUTION, COUNTERS, Counter, DATANET, INFERENCE, MODEL,
        OPERATOR, PackedStats, add_model_stats, address_key, bits, bits_address, bits_u64, counter,
        load_bytes, mapping, nested, next_id, store_bytes, with_bits,
    },
    royalties,
    settle::{RoyaltySplit, inference_fee},
};
use alloy::sol_types::{SolCall, SolEvent, SolInterface, SolValue};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};

/// Most attributions one inference may carry.
pub const MAX_ATTRIBUTIONS: usize = 64;
/// Most datanets one model may draw on.
pub const MAX_MODEL_DATANETS: usize = 32;

const STATUS_PENDING: u64 = 0;
const STATUS_ACCEPTED: u64 = 1;
const STATUS_REJECTED: u64 = 2;

pub(crate) fn run(
    call: &mut Call<'_>,
    params: &Params,
    settled: &crate::SettledRecords,
) -> Result<Bytes> {
    let Ok(decoded) = Calls::abi_decode(call.data()) else {
        return Err(Stop::Revert(Bytes::new()));
    };
    let payable = matches!(decoded, Calls::recordInference(_) | Calls::recordInferences(_));
    let view = matches!(
        decoded,
        Calls::getDatanet(_)
            | Calls::getContribution(_)
            | Calls::getModel(_)
            | Calls::getInference(_)
            | Calls::isOperator(_)
            | Calls::modelStats(_)
            | Calls::datanetCount(_)
            | Calls::contributionCount(_)
            | Calls::modelCount(_)
            | Calls::inferenceCount(_)
            | Calls::batchCommitment(_)
            | Calls::verifyInference(_)
    );
    if !payable && !call.value().is_zero() {
        return Err(abi::NotPayable {}.into());
    }
    if !view && call.is_static() {
        return Err(abi::WriteInStaticCall {}.into());
    }
    Ok(match decoded {
        Calls::createDatanet(c) => {
            abi::createDatanetCall::abi_encode_returns(&create_datanet(call, &c.metadataUri)?)
                .into()
        }
        Calls::submitContribution(c) => {
            let id = submit_contribution(call, c.datanetId, c.contentHash, c.weight)?;
            abi::submitContributionCall::abi_encode_returns(&id).into()
        }
        Calls::reviewContribution(c) => {
            review_contribution(call, c.contributionId, c.accepted)?;
            Bytes::new()
        }
        Calls::registerModel(c) => {
            abi::registerModelCall::abi_encode_returns(&register_model(call, params, c)?).into()
        }
        Calls::setPrice(c) => {
            set_price(call, c.modelId, c.pricePerKiloToken)?;
            Bytes::new()
        }
        Calls::transferModel(c) => {
            transfer_model(call, c.modelId, c.newOwner)?;
            Bytes::new()
        }
        Calls::setOperator(c) => {
            set_operator(call, c.modelId, c.operator, c.allowed)?;
            Bytes::new()
        }
        Calls::recordInference(c) => {
            let one = abi::Inference {
                modelId: c.modelId,
                payer: c.payer,
                tokens: c.tokens,
                inferenceHash: c.inferenceHash,
                contributionIds: c.contributionIds,
                weights: c.weights,
            };
            let first = record(call, params, std::slice::from_ref(&one))?;
            abi::recordInferenceCall::abi_encode_returns(&first).into()
        }
        Calls::recordInferences(c) => {
            if c.batch.is_empty() {
                return Err(abi::EmptyBatch {}.into());
            }
            abi::recordInferencesCall::abi_encode_returns(&record(call, params, &c.batch)?).into()
        }
        Calls::settleBatch(c) => {
            let batch = crate::batched::settle_batch(call, params, settled, &c.records)?;
            abi::settleBatchCall::abi_encode_returns(&batch).into()
        }
        Calls::batchCommitment(c) => {
            crate::batched::batch_commitment(call, c.epoch)?.abi_encode().into()
        }
        Calls::verifyInference(c) => {
            crate::batched::verify_inference(call, &c.proof)?.abi_encode().into()
        }
        Calls::getDatanet(c) => get_datanet(call, c.datanetId)?.abi_encode().into(),
        Calls::getContribution(c) => get_contribution(call, c.contributionId)?.abi_encode().into(),
        Calls::getModel(c) => get_model(call, c.modelId)?.abi_encode().into(),
        Calls::getInference(c) => get_inference(call, c.inferenceId)?.abi_encode().into(),
        Calls::isOperator(c) => is_operator(call, c.modelId, c.operator)?.abi_encode().into(),
        Calls::modelStats(c) => model_stats(call, c.modelId)?.abi_encode().into(),
        Calls::datanetCount(_) => count(call, Counter::Datanets)?,
        Calls::contributionCount(_) => count(call, Counter::Contributions)?,
        Calls::modelCount(_) => count(call, Counter::Models)?,
        Calls::inferenceCount(_) => count(call, Counter::Inferences)?,
    })
}

fn emit<E: SolEvent>(call: &mut Call<'_>, event: &E) -> Result<()> {
    call.log(SELF, event.encode_log_data())
}

fn count(call: &mut Call<'_>, which: Counter) -> Result<Bytes> {
    let counters = call.sload(SELF, COUNTERS)?;
    Ok(counter(counters, which).abi_encode().into())
}

fn create_datanet(call: &mut Call<'_>, uri: &str) -> Result<u64> {
    let id = next_id(call, Counter::Datanets)?;
    let base = mapping(call, U256::from(id), DATANET)?;
    call.sstore(SELF, base, address_key(call.caller()))?;
    store_bytes(call, SELF, base + U256::from(1), uri.as_bytes())?;
    let curator = call.caller();
    emit(call, &abi::DatanetCreated { datanetId: id, curator, metadataUri: uri.to_string() })?;
    Ok(id)
}

/// The datanet's first slot, or `UnknownDatanet`.
fn datanet_head(call: &mut Call<'_>, id: u64) -> Result<(U256, U256)> {
    let base = mapping(call, U256::from(id), DATANET)?;
    let head = call.sload(SELF, base)?;
    if head.is_zero() {
        return Err(abi::UnknownDatanet { datanetId: id }.into());
    }
    Ok((base, head))
}

fn submit_contribution(
    call: &mut Call<'_>,
    datanet: u64,
    content_hash: B256,
    weight: u32,
) -> Result<u64> {
    let (datanet_base, datanet_head) = datanet_head(call, datanet)?;
    let id = next_id(call, Counter::Contributions)?;
    let base = mapping(call, U256::from(id), CONTRIBUTION)?;
    let contributor = call.caller();
    let head = address_key(contributor)
        | (U256::from(datanet) << 160)
        | (U256::from(STATUS_PENDING) << 224);
    call.sstore(SELF, base, head)?;
    call.sstore(SELF, base + U256::from(1), U256::from_be_bytes(content_hash.0))?;
    call.sstore(SELF, base + U256::from(2), U256::from(weight))?;
    let submitted = bits(datanet_head, 160, 64) + U256::from(1);
    call.sstore(SELF, datanet_base, with_bits(datanet_head, 160, 64, submitted))?;
    emit(
        call,
        &abi::ContributionSubmitted {
            contributionId: id,
            datanetId: datanet,
            contributor,
            contentHash: content_hash,
            weight,
        },
    )?;
    Ok(id)
}

/// A contribution's first slot, or `UnknownContribution`.
fn contribution_head(call: &mut Call<'_>, id: u64) -> Result<(U256, U256)> {
    let base = mapping(call, U256::from(id), CONTRIBUTION)?;
    let head = call.sload(SELF, base)?;
    if head.is_zero() {
        return Err(abi::UnknownContribution { contributionId: id }.into());
    }
    Ok((base, head))
}

fn review_contribution(call: &mut Call<'_>, id: u64, accepted: bool) -> Result<()> {
    let (base, head) = contribution_head(call, id)?;
    let (_, datanet) = datanet_head(call, bits_u64(head, 160, 64))?;
    if bits_address(datanet) != call.caller() {
        return Err(abi::Unauthorized { caller: call.caller() }.into());
    }
    if bits_u64(head, 224, 8) != STATUS_PENDING {
        return Err(abi::AlreadyReviewed { contributionId: id }.into());
    }
    let status = if accepted { STATUS_ACCEPTED } else { STATUS_REJECTED };
    call.sstore(SELF, base, with_bits(head, 224, 8, U256::from(status)))?;
    emit(call, &abi::ContributionReviewed { contributionId: id, accepted })
}

fn register_model(call: &mut Call<'_>, params: &Params, c: abi::registerModelCall) -> Result<u64> {
    let total = u64::from(c.dataBps) + u64::from(c.operatorBps) + u64::from(params.protocol_bps);
    if total > 10_000 {
        return Err(abi::InvalidShares { totalBps: U256::from(total) }.into());
    }
    if c.modelHash.is_zero() {
        return Err(abi::ZeroModelHash {}.into());
    }
    if c.datanetIds.len() > MAX_MODEL_DATANETS {
        return Err(abi::TooManyAttributions {
            count: U256::from(c.datanetIds.len()),
            max: U256::from(MAX_MODEL_DATANETS),
        }
        .into());
    }
    for datanet in &c.datanetIds {
        datanet_head(call, *datanet)?;
    }
    let id = next_id(call, Counter::Models)?;
    let base = mapping(call, U256::from(id), MODEL)?;
    let owner = call.caller();
    let head = address_key(owner)
        | (U256::from(c.dataBps) << 160)
        | (U256::from(c.operatorBps) << 176)
        | (U256::from(c.datanetIds.len()) << 192);
    call.sstore(SELF, base, head)?;
    call.sstore(SELF, base + U256::from(1), U256::from_be_bytes(c.modelHash.0))?;
    call.sstore(SELF, base + U256::from(2), c.pricePerKiloToken)?;
    store_bytes(call, SELF, base + U256::from(6), c.metadataUri.as_bytes())?;
    for (i, chunk) in c.datanetIds.chunks(4).enumerate() {
        let packed = chunk
            .iter()
            .enumerate()
            .fold(U256::ZERO, |w, (j, id)| w | (U256::from(*id) << (64 * j)));
        call.sstore(SELF, base + U256::from(7 + i), packed)?;
    }
    emit(
        call,
        &abi::ModelRegistered {
            modelId: id,
            owner,
            modelHash: c.modelHash,
            pricePerKiloToken: c.pricePerKiloToken,
            dataBps: c.dataBps,
            operatorBps: c.operatorBps,
            datanetIds: c.datanetIds,
        },
    )?;
    Ok(id)
}

/// What settlement and access checks need of a model.
pub(crate) struct ModelCore {
    pub(crate) base: U256,
    pub(crate) head: U256,
    pub(crate) owner: Address,
    pub(crate) data_bps: u16,
    pub(crate) operator_bps: u16,
    pub(crate) datanets: Vec<u64>,
}

pub(crate) fn model_core(call: &mut Call<'_>, id: u64, with_datanets: bool) -> Result<ModelCore> {
    let base = mapping(call, U256::from(id), MODEL)?;
    let head = call.sload(SELF, base)?;
    if head.is_zero() {
        return Err(abi::UnknownModel { modelId: id }.into());
    }
    let mut datanets = Vec::new();
    if with_datanets {
        let n = bits_u64(head, 192, 8) as usize;
        for i in 0..n.div_ceil(4) {
            let word = call.sload(SELF, base + U256::from(7 + i))?;
            for j in 0..(n - i * 4).min(4) {
                datanets.push(bits_u64(word, 64 * j, 64));
            }
        }
    }
    Ok(ModelCore {
        base,
        head,
        owner: bits_address(head),
        data_bps: bits_u64(head, 160, 16) as u16,
        operator_bps: bits_u64(head, 176, 16) as u16,
        datanets,
    })
}

fn only_owner(call: &mut Call<'_>, model: u64) -> Result<ModelCore> {
    let core = model_core(call, model, false)?;
    if core.owner != call.caller() {
        return Err(abi::Unauthorized { caller: call.caller() }.into());
    }
    Ok(core)
}

fn set_price(call: &mut Call<'_>, model: u64, price: U256) -> Result<()> {
    let core = only_owner(call, model)?;
    let old = call.sload(SELF, core.base + U256::from(2))?;
    call.sstore(SELF, core.base + U256::from(2), price)?;
    emit(call, &abi::ModelPriceChanged { modelId: model, oldPrice: old, newPrice: price })
}

fn transfer_model(call: &mut Call<'_>, model: u64, to: Address) -> Result<()> {
    if to.is_zero() {
        return Err(abi::ZeroAddress {}.into());
    }
    let core = only_owner(call, model)?;
    call.sstore(SELF, core.base, with_bits(core.head, 0, 160, address_key(to)))?;
    emit(call, &abi::ModelTransferred { modelId: model, from: core.owner, to })
}

fn operator_slot(call: &mut Call<'_>, model: u64, operator: Address) -> Result<U256> {
    let outer = mapping(call, U256::from(model), OPERATOR)?;
    nested(call, address_key(operator), outer)
}

fn set_operator(call: &mut Call<'_>, model: u64, operator: Address, allowed: bool) -> Result<()> {
    if operator.is_zero() {
        return Err(abi::ZeroAddress {}.into());
    }
    only_owner(call, model)?;
    let at = operator_slot(call, model, operator)?;
    call.sstore(SELF, at, U256::from(allowed as u8))?;
    emit(call, &abi::OperatorChanged { modelId: model, operator, allowed })
}

/// The `isOperator` view: the model must exist.
fn is_operator(call: &mut Call<'_>, model: u64, operator: Address) -> Result<bool> {
    model_core(call, model, false)?;
    operator_flag(call, model, operator)
}

/// Whether `operator` is allowed on `model`, for callers that already loaded the model.
pub(crate) fn operator_flag(call: &mut Call<'_>, model: u64, operator: Address) -> Result<bool> {
    let at = operator_slot(call, model, operator)?;
    Ok(!call.sload(SELF, at)?.is_zero())
}

/// Settles `batch`: checks everything, then records and pays. Returns the first new id.
fn record(call: &mut Call<'_>, params: &Params, batch: &[abi::Inference]) -> Result<u64> {
    let caller = call.caller();
    let mut ledger = royalties::Ledger::default();
    let mut total_fee = U256::ZERO;
    let mut first = None;
    for inference in batch {
        let core = model_core(call, inference.modelId, !inference.contributionIds.is_empty())?;
        if core.owner != caller && !operator_flag(call, inference.modelId, caller)? {
            return Err(abi::Unauthorized { caller }.into());
        }
        let contributors = check_attribution(call, &core, inference)?;
        let price = call.sload(SELF, core.base + U256::from(2))?;
        let Some(fee) = inference_fee(inference.tokens, price) else {
            return Err(abi::InsufficientPayment { fee: U256::MAX, value: call.value() }.into());
        };
        // The shares were checked at registration; the chain's protocol share may have changed
        // since, and the split must never pay out more than the fee.
        let shares = u64::from(core.data_bps)
            + u64::from(core.operator_bps)
            + u64::from(params.protocol_bps);
        if shares > 10_000 {
            return Err(abi::InvalidShares { totalBps: U256::from(shares) }.into());
        }
        if call.value().is_zero() {
            royalties::charge_escrow(call, inference.payer, inference.modelId, fee)?;
        } else {
            total_fee = total_fee.saturating_add(fee);
            if total_fee > call.value() {
                return Err(abi::InsufficientPayment { fee: total_fee, value: call.value() }.into());
            }
        }

        let id = next_id(call, Counter::Inferences)?;
        first.get_or_insert(id);
        let base = mapping(call, U256::from(id), INFERENCE)?;
        let block = call.block_number() & u64::from(u32::MAX);
        let slots = [
            address_key(inference.payer) | (U256::from(inference.modelId) << 160),
            address_key(caller)
                | (U256::from(inference.tokens) << 160)
                | (U256::from(block) << 224),
            fee,
            U256::from_be_bytes(inference.inferenceHash.0),
            U256::from_be_bytes(attribution_hash(call, inference)?.0),
        ];
        for (i, value) in slots.into_iter().enumerate() {
            call.sstore(SELF, base + U256::from(i), value)?;
        }
        add_model_stats(call, core.base, 1, U256::from(inference.tokens), fee)?;
        emit(
            call,
            &abi::InferenceRecorded {
                inferenceId: id,
                modelId: inference.modelId,
                payer: inference.payer,
                operator: caller,
                tokens: inference.tokens,
                fee,
                inferenceHash: inference.inferenceHash,
                contributionIds: inference.contributionIds.clone(),
                weights: inference.weights.clone(),
            },
        )?;
        let split = RoyaltySplit {
            fee,
            protocol_bps: params.protocol_bps,
            operator_bps: core.operator_bps,
            data_bps: core.data_bps,
            treasury: params.treasury,
            operator: caller,
            creator: core.owner,
            contributors: &contributors,
        };
        ledger.add(call, id, split.payouts())?;
    }
    let from = if call.value().is_zero() { crate::ROYALTIES_ADDRESS } else { SELF };
    ledger.settle(call, from)?;
    let refund = call.value() - total_fee;
    call.pay(SELF, caller, refund)?;
    Ok(first.unwrap_or_default())
}

/// Checks an inference's attribution list against the model and returns the contributors
/// with their weights.
fn check_attribution(
    call: &mut Call<'_>,
    model: &ModelCore,
    inference: &abi::Inference,
) -> Result<Vec<(Address, u32)>> {
    let ids = &inference.contributionIds;
    if ids.len() != inference.weights.len() {
        return Err(abi::LengthMismatch {
            contributionIds: U256::from(ids.len()),
            weights: U256::from(inference.weights.len()),
        }
        .into());
    }
    let pairs: Vec<(u64, u32)> =
        ids.iter().copied().zip(inference.weights.iter().copied()).collect();
    check_attributions(call, model, inference.modelId, &pairs, contribution)
}

/// Checks `(contribution id, weight)` pairs against `model` (at most [`MAX_ATTRIBUTIONS`],
/// non-zero weights, each once, accepted, in one of the model's datanets), reading each
/// contribution through `lookup`; returns the contributors with their weights.
pub(crate) fn check_attributions(
    call: &mut Call<'_>,
    model: &ModelCore,
    model_id: u64,
    attributions: &[(u64, u32)],
    mut lookup: impl FnMut(&mut Call<'_>, u64) -> Result<(Address, u64, u64)>,
) -> Result<Vec<(Address, u32)>> {
    if attributions.len() > MAX_ATTRIBUTIONS {
        return Err(abi::TooManyAttributions {
            count: U256::from(attributions.len()),
            max: U256::from(MAX_ATTRIBUTIONS),
        }
        .into());
    }
    let mut seen: Vec<u64> = Vec::with_capacity(attributions.len());
    let mut out = Vec::with_capacity(attributions.len());
    for &(id, weight) in attributions {
        if weight == 0 {
            return Err(abi::ZeroWeight { contributionId: id }.into());
        }
        match seen.binary_search(&id) {
            Ok(_) => return Err(abi::DuplicateContribution { contributionId: id }.into()),
            Err(at) => seen.insert(at, id),
        }
        let (contributor, datanet, status) = lookup(call, id)?;
        if status != STATUS_ACCEPTED {
            return Err(abi::ContributionNotAccepted { contributionId: id }.into());
        }
        if !model.datanets.contains(&datanet) {
            return Err(abi::ContributionNotInModelDatanets {
                contributionId: id,
                modelId: model_id,
            }
            .into());
        }
        out.push((contributor, weight));
    }
    Ok(out)
}

/// A contribution's contributor, datanet and status, or `UnknownContribution`.
pub(crate) fn contribution(call: &mut Call<'_>, id: u64) -> Result<(Address, u64, u64)> {
    let (_, head) = contribution_head(call, id)?;
    Ok((bits_address(head), bits_u64(head, 160, 64), bits_u64(head, 224, 8)))
}

/// `keccak256(abi.encode(contributionIds, weights))`.
fn attribution_hash(call: &mut Call<'_>, inference: &abi::Inference) -> Result<B256> {
    let encoded =
        (inference.contributionIds.clone(), inference.weights.clone()).abi_encode_params();
    call.charge(gas::keccak_cost(encoded.len()))?;
    Ok(keccak256(encoded))
}

fn get_datanet(call: &mut Call<'_>, id: u64) -> Result<abi::Datanet> {
    let (base, head) = datanet_head(call, id)?;
    let uri = load_bytes(call, SELF, base + U256::from(1))?;
    Ok(abi::Datanet {
        curator: bits_address(head),
        metadataUri: String::from_utf8_lossy(&uri).into_owned(),
        contributionCount: bits_u64(head, 160, 64),
    })
}

fn get_contribution(call: &mut Call<'_>, id: u64) -> Result<abi::Contribution> {
    let (base, head) = contribution_head(call, id)?;
    let hash = call.sload(SELF, base + U256::from(1))?;
    let weight = call.sload(SELF, base + U256::from(2))?;
    let status = match bits_u64(head, 224, 8) {
        STATUS_ACCEPTED => abi::ContributionStatus::Accepted,
        STATUS_REJECTED => abi::ContributionStatus::Rejected,
        _ => abi::ContributionStatus::Pending,
    };
    Ok(abi::Contribution {
        datanetId: bits_u64(head, 160, 64),
        contributor: bits_address(head),
        contentHash: B256::from(hash),
        weight: weight.saturating_to(),
        status,
    })
}

fn get_model(call: &mut Call<'_>, id: u64) -> Result<abi::Model> {
    let core = model_core(call, id, true)?;
    let hash = call.sload(SELF, core.base + U256::from(1))?;
    let price = call.sload(SELF, core.base + U256::from(2))?;
    let uri = load_bytes(call, SELF, core.base + U256::from(6))?;
    Ok(abi::Model {
        owner: core.owner,
        modelHash: B256::from(hash),
        metadataUri: String::from_utf8_lossy(&uri).into_owned(),
        pricePerKiloToken: price,
        dataBps: core.data_bps,
        operatorBps: core.operator_bps,
        datanetIds: core.datanets,
    })
}

fn model_stats(call: &mut Call<'_>, id: u64) -> Result<abi::ModelStats> {
    let core = model_core(call, id, false)?;
    let stats = call.sload(SELF, core.base + U256::from(PackedStats::OFFSET))?;
    let stats = PackedStats::from_word(stats);
    Ok(abi::ModelStats {
        inferences: stats.inferences,
        tokens: U256::from(stats.tokens),
        fees: U256::from(stats.fees),
    })
}

fn get_inference(call: &mut Call<'_>, id: u64) -> Result<abi::InferenceRecord> {
    let base = mapping(call, U256::from(id), INFERENCE)?;
    let head = call.sload(SELF, base)?;
    if head.is_zero() {
        return Err(abi::UnknownInference { inferenceId: id }.into());
    }
    let second = call.sload(SELF, base + U256::from(1))?;
    let fee = call.sload(SELF, base + U256::from(2))?;
    let hash = call.sload(SELF, base + U256::from(3))?;
    let attribution = call.sload(SELF, base + U256::from(4))?;
    Ok(abi::InferenceRecord {
        modelId: bits_u64(head, 160, 64),
        payer: bits_address(head),
        operator: bits_address(second),
        tokens: bits_u64(second, 160, 64),
        fee,
        inferenceHash: B256::from(hash),
        attributionHash: B256::from(attribution),
        blockNumber: bits_u64(second, 224, 32),
    })
}

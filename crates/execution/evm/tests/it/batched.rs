//! Batched settlement (`settleBatch`) inside the OP EVM: credits per recipient, debits per
//! payer, the epoch's commitment chain and proofs against it, rejection by record index, and
//! conservation of value over random batches.

use crate::{
    harness::{Harness, OPEN, Outcome},
    precompiles::{ALICE, BOB, CAROL, DAVE, ERIN, FRANK, PRICE, ok, registries, setup, treasury},
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::{SolCall, SolError, SolEvent},
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, BatchLink,
    IAttribution::{self as attr, IAttributionErrors as AErr},
    IRoyalties as roy, InferenceRecord, ROYALTIES_ADDRESS, RoyaltySplit, SETTLEMENT_EPOCH,
    decode_credits, encode_batch, epoch_commitment, leaf_hash, merkle_proof, merkle_root,
};

/// A record for model 1 paid by Frank at the model's price.
fn inference(tokens: u64, attributions: Vec<(u64, u32)>, seed: u8) -> InferenceRecord {
    InferenceRecord {
        model_id: 1,
        payer: FRANK,
        tokens,
        fee: u128::from(tokens) * PRICE / 1000,
        output_hash: B256::repeat_byte(seed),
        attributions,
    }
}

fn settle(h: &mut Harness, from: Address, records: &[InferenceRecord]) -> Outcome {
    h.attribution(from, U256::ZERO, attr::settleBatchCall { records: encode_batch(records).into() })
}

/// Frank's escrow of 1 OPEN with `cap` allowed to model 1.
fn fund(h: &mut Harness, cap: U256) {
    ok(h.royalties(FRANK, U256::from(OPEN), roy::depositCall {}));
    ok(h.royalties(FRANK, U256::ZERO, roy::approveCall { modelId: 1, cap }));
}

/// What each recipient earns from `records` settled by `operator`, split as one inference is.
fn expected_credits(
    h: &Harness,
    operator: Address,
    records: &[InferenceRecord],
) -> BTreeMap<Address, U256> {
    let contributor = |id: u64| match id {
        1 | 3 => BOB,
        _ => CAROL,
    };
    let mut owed = BTreeMap::new();
    for record in records {
        let contributors: Vec<(Address, u32)> =
            record.attributions.iter().map(|(id, w)| (contributor(*id), *w)).collect();
        let split = RoyaltySplit {
            fee: U256::from(record.fee),
            protocol_bps: h.chain.attribution().protocol_bps,
            operator_bps: 1_000,
            data_bps: 4_000,
            treasury: treasury(h),
            operator,
            creator: DAVE,
            contributors: &contributors,
        };
        for payout in split.payouts() {
            *owed.entry(payout.recipient).or_insert(U256::ZERO) += payout.amount;
        }
    }
    owed
}

fn view<C: SolCall>(h: &mut Harness, call: C) -> C::Return {
    ok(h.attribution(ALICE, U256::ZERO, call)).decode::<C>()
}

/// The credits of a `BatchPaid` event, as (recipient, amount) in event order.
fn credits(paid: &roy::BatchPaid) -> Vec<(Address, U256)> {
    decode_credits(&paid.credits).unwrap().into_iter().map(|(a, v)| (a, U256::from(v))).collect()
}

/// The proof of record `index` of `records` (settled as `link`), after `prior` in its epoch
/// and before `later`.
fn inference_proof(
    records: &[InferenceRecord],
    index: usize,
    link: BatchLink,
    prior: B256,
    later: &[BatchLink],
) -> attr::InferenceProof {
    let leaves: Vec<B256> = records.iter().map(|r| leaf_hash(&r.encoded())).collect();
    attr::InferenceProof {
        batchId: link.batch_id,
        count: link.count,
        index: U256::from(index),
        record: records[index].encoded().into(),
        siblings: merkle_proof(&leaves, index).unwrap(),
        prior,
        later: later
            .iter()
            .map(|l| attr::BatchLink { batchId: l.batch_id, count: l.count, root: l.root })
            .collect(),
    }
}

fn link_of(batch: u64, records: &[InferenceRecord]) -> BatchLink {
    let leaves: Vec<B256> = records.iter().map(|r| leaf_hash(&r.encoded())).collect();
    BatchLink { batch_id: batch, count: records.len() as u32, root: merkle_root(&leaves) }
}

#[test]
fn a_batch_credits_each_recipient_once_and_commits_a_provable_root() {
    let mut h = setup();
    fund(&mut h, U256::from(OPEN));
    let records = vec![
        inference(800, vec![(1, 3), (2, 1)], 1),
        inference(1_000, vec![(2, 5)], 2),
        inference(333, vec![], 3),
    ];
    let everyone = [BOB, CAROL, DAVE, ERIN, treasury(&h), ROYALTIES_ADDRESS];
    let before: Vec<U256> = everyone.iter().map(|a| h.balance(*a)).collect();
    let inferences_before = view(&mut h, attr::inferenceCountCall {});

    let out = ok(settle(&mut h, ERIN, &records));
    let batch = out.decode::<attr::settleBatchCall>();
    assert_eq!(batch, inferences_before + 1, "the batch id is its first inference id");
    assert_eq!(view(&mut h, attr::inferenceCountCall {}), inferences_before + 3);

    let total: U256 = records.iter().map(|r| U256::from(r.fee)).sum();
    let leaves: Vec<B256> = records.iter().map(|r| leaf_hash(&r.encoded())).collect();
    let root = merkle_root(&leaves);
    let settled = attr::BatchSettled::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!(out.logs()[0].address, ATTRIBUTION_ADDRESS);
    assert_eq!(
        (settled.batchId, settled.operator, settled.count, settled.root, settled.totalFee),
        (batch, ERIN, 3, root, total)
    );
    let paid = roy::BatchPaid::decode_log_data(&out.logs()[1].data).unwrap();
    assert_eq!(out.logs()[1].address, ROYALTIES_ADDRESS);
    assert_eq!(out.logs().len(), 2, "two events per batch, none per inference");

    // Each recipient is credited once with the sum of its per-record shares.
    let expected = expected_credits(&h, ERIN, &records);
    assert_eq!(credits(&paid), expected.clone().into_iter().collect::<Vec<_>>());
    for (who, was) in everyone.iter().zip(&before) {
        let now = h.balance(*who);
        match expected.get(who) {
            Some(credit) => assert_eq!(now - *was, *credit, "{who}"),
            None if *who == ROYALTIES_ADDRESS => assert_eq!(*was - now, total, "escrow paid out"),
            None => assert_eq!(now, *was, "{who}"),
        }
    }
    assert_eq!(expected.values().copied().sum::<U256>(), total, "credits equal the debit");
    let escrow = ok(h.royalties(FRANK, U256::ZERO, roy::escrowOfCall { account: FRANK }))
        .decode::<roy::escrowOfCall>();
    assert_eq!(escrow, U256::from(OPEN) - total);
    let allowance =
        ok(h.royalties(FRANK, U256::ZERO, roy::allowanceCall { payer: FRANK, modelId: 1 }))
            .decode::<roy::allowanceCall>();
    assert_eq!(allowance, U256::from(OPEN) - total);
    let stats = view(&mut h, attr::modelStatsCall { modelId: 1 });
    assert_eq!(stats.inferences, 0, "batches keep no per-model totals in state");

    // The epoch's slot chains the batch's root; every record proves against it, nothing else.
    let epoch = batch / SETTLEMENT_EPOCH;
    let link = link_of(batch, &records);
    assert_eq!(link.root, root);
    let commitment = epoch_commitment(B256::ZERO, [&link]);
    assert_eq!(view(&mut h, attr::batchCommitmentCall { epoch }), commitment);
    let verify =
        |h: &mut Harness, proof: attr::InferenceProof| view(h, attr::verifyInferenceCall { proof });
    for index in 0..records.len() {
        let proof = inference_proof(&records, index, link, B256::ZERO, &[]);
        assert!(verify(&mut h, proof.clone()), "record {index}");
        let mut tampered = records.clone();
        tampered[index].tokens += 1;
        let forged = inference_proof(&tampered, index, link, B256::ZERO, &[]);
        assert!(!verify(
            &mut h,
            attr::InferenceProof { siblings: proof.siblings.clone(), ..forged }
        ));
        let moved = attr::InferenceProof { index: U256::from(index ^ 1), ..proof.clone() };
        assert!(!verify(&mut h, moved), "moved {index}");
        let renumbered = attr::InferenceProof { batchId: batch + 1, ..proof.clone() };
        assert!(!verify(&mut h, renumbered), "another id {index}");
        let past_end = attr::InferenceProof { count: index as u32, ..proof.clone() };
        assert!(!verify(&mut h, past_end), "index at or past count {index}");
        let prior = attr::InferenceProof { prior: B256::repeat_byte(1), ..proof };
        assert!(!verify(&mut h, prior), "another prior {index}");
    }
    let empty = view(&mut h, attr::batchCommitmentCall { epoch: epoch + 1 });
    assert_eq!(empty, B256::ZERO, "an epoch with no batch yet");
}

/// Batches of one epoch chain into its one slot: the first record stays provable through the
/// batches after it, and a batch past the epoch starts the next slot.
#[test]
fn batches_chain_per_epoch_and_stay_provable() {
    let mut h = setup();
    fund(&mut h, U256::from(OPEN));
    let first_id = view(&mut h, attr::inferenceCountCall {}) + 1;
    let mut settled: Vec<(BatchLink, Vec<InferenceRecord>)> = Vec::new();
    // Three small batches, then fill the epoch and cross it.
    let mut seed = 0u8;
    let mut next = |n: usize| {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_add(1);
                inference(100, vec![(1, 1)], seed)
            })
            .collect::<Vec<_>>()
    };
    let sizes = [1usize, 2, 1, SETTLEMENT_EPOCH as usize, 1];
    for size in sizes {
        let records = next(size);
        let batch = ok(settle(&mut h, ERIN, &records)).decode::<attr::settleBatchCall>();
        settled.push((link_of(batch, &records), records));
    }
    let epoch = first_id / SETTLEMENT_EPOCH;
    let in_epoch: Vec<&(BatchLink, Vec<InferenceRecord>)> =
        settled.iter().filter(|(l, _)| l.batch_id / SETTLEMENT_EPOCH == epoch).collect();
    assert!(in_epoch.len() >= 3 && in_epoch.len() < settled.len(), "the epoch was crossed");
    let links: Vec<BatchLink> = in_epoch.iter().map(|(l, _)| *l).collect();
    assert_eq!(
        view(&mut h, attr::batchCommitmentCall { epoch }),
        epoch_commitment(B256::ZERO, &links)
    );
    for (position, (link, records)) in in_epoch.iter().enumerate() {
        let prior = epoch_commitment(B256::ZERO, &links[..position]);
        let later = &links[position + 1..];
        let proof = inference_proof(records, 0, *link, prior, later);
        assert!(view(&mut h, attr::verifyInferenceCall { proof: proof.clone() }), "{position}");
        if let Some(last) = proof.later.len().checked_sub(1) {
            let mut short = proof.clone();
            short.later.truncate(last);
            assert!(
                !view(&mut h, attr::verifyInferenceCall { proof: short }),
                "a later batch left out"
            );
            let mut forged = proof;
            forged.later[last].root = B256::repeat_byte(9);
            assert!(
                !view(&mut h, attr::verifyInferenceCall { proof: forged }),
                "a later root forged"
            );
        }
    }
    // Batches of the next epoch start from zero in their own slot.
    let next_epoch: Vec<BatchLink> = settled
        .iter()
        .map(|(l, _)| *l)
        .filter(|l| l.batch_id / SETTLEMENT_EPOCH == epoch + 1)
        .collect();
    assert_eq!(
        view(&mut h, attr::batchCommitmentCall { epoch: epoch + 1 }),
        epoch_commitment(B256::ZERO, &next_epoch)
    );
}

/// `RecordRejected(index, inner)` as the precompile reverts with it.
fn rejected(index: usize, inner: impl SolError) -> Bytes {
    attr::RecordRejected { recordIndex: U256::from(index), reason: inner.abi_encode().into() }
        .abi_encode()
        .into()
}

#[test]
fn a_bad_record_rejects_the_whole_batch_and_names_its_index() {
    let mut h = setup();
    let fee = U256::from(PRICE); // 1000 tokens
    fund(&mut h, fee * U256::from(3) / U256::from(2));
    let good = inference(1_000, vec![(1, 1)], 1);
    let balances = |h: &Harness| [BOB, DAVE, ERIN, ROYALTIES_ADDRESS].map(|a| h.balance(a));
    let before = balances(&h);
    let count = view(&mut h, attr::inferenceCountCall {});

    // A pending contribution, a contribution outside the model's datanets, an unknown model,
    // a changed price, and the allowance exceeded by the batch's running total.
    let pending = inference(1_000, vec![(4, 1)], 2);
    let elsewhere = inference(1_000, vec![(3, 1)], 3);
    let unknown = InferenceRecord { model_id: 9, ..inference(10, vec![], 4) };
    let requoted = InferenceRecord { fee: 1, ..inference(1_000, vec![], 5) };
    let cases: [(Vec<InferenceRecord>, Bytes); 5] = [
        (
            vec![good.clone(), pending],
            rejected(1, attr::ContributionNotAccepted { contributionId: 4 }),
        ),
        (
            vec![good.clone(), elsewhere],
            rejected(1, attr::ContributionNotInModelDatanets { contributionId: 3, modelId: 1 }),
        ),
        (vec![unknown], rejected(0, attr::UnknownModel { modelId: 9 })),
        (vec![requoted], rejected(0, attr::FeeMismatch { modelId: 1, quoted: U256::from(1), fee })),
        (
            vec![good.clone(), good.clone()],
            rejected(
                1,
                attr::AllowanceExceeded {
                    payer: FRANK,
                    modelId: 1,
                    fee: fee * U256::from(2),
                    allowance: fee * U256::from(3) / U256::from(2),
                },
            ),
        ),
    ];
    for (records, expected) in cases {
        assert_eq!(settle(&mut h, ERIN, &records).revert_data(), expected);
    }
    let stranger = settle(&mut h, ALICE, std::slice::from_ref(&good)).revert_data();
    assert_eq!(stranger, rejected(0, attr::Unauthorized { caller: ALICE }));
    assert_eq!(balances(&h), before, "nothing moved");
    assert_eq!(view(&mut h, attr::inferenceCountCall {}), count, "no ids taken");

    // Malformed input.
    let mut cut = encode_batch(&[good.clone(), good.clone()]);
    cut.pop();
    let out = h.attribution(ERIN, U256::ZERO, attr::settleBatchCall { records: cut.into() });
    assert_eq!(
        out.attribution_error(),
        AErr::MalformedBatch(attr::MalformedBatch { recordIndex: U256::from(1) })
    );
    let empty = h.attribution(ERIN, U256::ZERO, attr::settleBatchCall { records: Bytes::new() });
    assert!(matches!(empty.attribution_error(), AErr::EmptyBatch(_)));
    let paid = h.attribution(
        ERIN,
        U256::from(1),
        attr::settleBatchCall { records: good.encoded().into() },
    );
    assert!(matches!(paid.attribution_error(), AErr::NotPayable(_)));
    assert_eq!(balances(&h), before);
    ok(settle(&mut h, ERIN, &[good]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random batches: the payers' escrow falls by the total fee, each recipient gains the
    /// sum of its per-record shares (the creator each record's rounding dust), and credits
    /// equal debits to the wei.
    #[test]
    fn random_batches_conserve_value(
        records in proptest::collection::vec(
            (0u64..=20_000, proptest::collection::vec((1u64..=2, 1u32..=1_000_000), 0..=2)),
            1..=12,
        ),
        operator_is_owner in any::<bool>(),
    ) {
        let mut h = setup();
        fund(&mut h, U256::MAX);
        ok(h.royalties(ERIN, U256::from(OPEN), roy::depositCall {}));
        ok(h.royalties(ERIN, U256::ZERO, roy::approveCall { modelId: 1, cap: U256::MAX }));
        let operator = if operator_is_owner { DAVE } else { ERIN };
        let records: Vec<InferenceRecord> = records
            .into_iter()
            .enumerate()
            .map(|(i, (tokens, mut attributions))| {
                attributions.dedup_by_key(|(id, _)| *id);
                let mut record = inference(tokens, attributions, i as u8);
                if i % 3 == 1 {
                    record.payer = ERIN;
                }
                record
            })
            .collect();
        let everyone = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK, treasury(&h), ATTRIBUTION_ADDRESS, ROYALTIES_ADDRESS];
        let before: Vec<U256> = everyone.iter().map(|a| h.balance(*a)).collect();
        ok(settle(&mut h, operator, &records));
        let after: Vec<U256> = everyone.iter().map(|a| h.balance(*a)).collect();
        let credits: U256 = before.iter().zip(&after).filter(|(b, a)| a > b).map(|(b, a)| *a - *b).sum();
        let debits: U256 = before.iter().zip(&after).filter(|(b, a)| a < b).map(|(b, a)| *b - *a).sum();
        prop_assert_eq!(credits, debits, "value is conserved");
        let total: U256 = records.iter().map(|r| U256::from(r.fee)).sum();
        prop_assert_eq!(before[8] - after[8], total, "escrow pays every fee");
        let expected = expected_credits(&h, operator, &records);
        for (who, (was, now)) in everyone.iter().zip(before.iter().zip(&after)) {
            if *who == ROYALTIES_ADDRESS {
                continue;
            }
            let credit = expected.get(who).copied().unwrap_or_default();
            prop_assert_eq!(*now - *was, credit, "{}", who);
        }
    }
}

/// `tests/contracts/SolidityAttribution.sol`, the benchmark's baseline, settles the same batch
/// to the same root, credits and balances, and refuses a bad record with the same error.
#[test]
fn the_solidity_baseline_settles_a_batch_as_the_precompile_does() {
    let mut h = setup();
    let z = U256::ZERO;
    let artifact: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../../tests/contracts/build/SolidityAttribution.json"
    ))
    .unwrap();
    let code: Bytes = artifact["bytecode"].as_str().unwrap().parse().unwrap();
    let params = h.chain.attribution();
    let args =
        alloy::sol_types::SolValue::abi_encode_params(&(params.protocol_bps, params.treasury));
    let contract = h.deploy(ALICE, [code.to_vec(), args].concat().into(), z);
    // The same registries as `setup` built in the precompile.
    registries(&mut h, contract);
    let on_contract = |h: &mut Harness, from: Address, call: Vec<u8>| {
        ok(h.send(from, contract, z, call));
    };
    fund(&mut h, U256::from(OPEN));
    ok(h.send(FRANK, contract, U256::from(OPEN), roy::depositCall {}.abi_encode()));
    on_contract(&mut h, FRANK, roy::approveCall { modelId: 1, cap: U256::from(OPEN) }.abi_encode());

    let records = vec![
        inference(800, vec![(1, 3), (2, 1)], 1),
        inference(1_000, vec![(2, 5)], 2),
        inference(333, vec![], 3),
    ];
    let data = attr::settleBatchCall { records: encode_batch(&records).into() }.abi_encode();
    let watched = [BOB, CAROL, DAVE, treasury(&h)];
    let mut outcomes = Vec::new();
    for target in [ATTRIBUTION_ADDRESS, contract] {
        let before = watched.map(|a| h.balance(a));
        let out = ok(h.send(ERIN, target, z, data.clone()));
        let after = watched.map(|a| h.balance(a));
        let deltas: Vec<U256> = before.iter().zip(&after).map(|(b, a)| *a - *b).collect();
        let settled = out
            .logs()
            .iter()
            .find_map(|log| attr::BatchSettled::decode_log_data(&log.data).ok())
            .unwrap();
        let paid = out
            .logs()
            .iter()
            .find_map(|log| roy::BatchPaid::decode_log_data(&log.data).ok())
            .unwrap();
        // The precompile lists recipients by address, the contract in first-credit order.
        let credits: BTreeMap<Address, U256> = credits(&paid).into_iter().collect();
        let epoch = settled.batchId / SETTLEMENT_EPOCH;
        let commitment =
            ok(h.send(ALICE, target, z, attr::batchCommitmentCall { epoch }.abi_encode()))
                .decode::<attr::batchCommitmentCall>();
        outcomes.push((settled.root, commitment, settled.totalFee, settled.count, credits, deltas));
    }
    assert_eq!(outcomes[0], outcomes[1], "precompile and contract settle alike");

    let pending = encode_batch(&[inference(10, vec![], 4), inference(10, vec![(4, 1)], 5)]);
    let bad = attr::settleBatchCall { records: pending.into() }.abi_encode();
    let native = h.send(ERIN, ATTRIBUTION_ADDRESS, z, bad.clone()).revert_data();
    let solidity = h.send(ERIN, contract, z, bad).revert_data();
    assert_eq!(native, rejected(1, attr::ContributionNotAccepted { contributionId: 4 }));
    assert_eq!(solidity, native);
}

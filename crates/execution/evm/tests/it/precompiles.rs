//! The Attribution and Royalties precompiles inside the OP EVM: every function, event, error and
//! access rule, and conservation of value.

use crate::harness::{Harness, OPEN, Outcome};
use alloy::{
    primitives::{Address, B256, U256},
    sol_types::{SolCall, SolError, SolEvent, SolInterface},
};
use proptest::prelude::*;
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS,
    IAttribution::{self as attr, IAttributionErrors as AErr},
    IRoyalties::{self as roy, IRoyaltiesErrors as RErr},
    ROYALTIES_ADDRESS,
};

pub(crate) const ALICE: Address = Address::with_last_byte(0xa1); // curator
pub(crate) const BOB: Address = Address::with_last_byte(0xb0); // contributor
pub(crate) const CAROL: Address = Address::with_last_byte(0xc0); // contributor
pub(crate) const DAVE: Address = Address::with_last_byte(0xd0); // model owner
pub(crate) const ERIN: Address = Address::with_last_byte(0xe0); // operator
pub(crate) const FRANK: Address = Address::with_last_byte(0xf0); // escrow payer

/// 0.002 OPEN per 1k tokens.
pub(crate) const PRICE: u128 = 2_000_000_000_000_000;

pub(crate) fn treasury(h: &Harness) -> Address {
    h.chain.attribution().treasury
}

pub(crate) fn ok(outcome: Outcome) -> Outcome {
    assert!(outcome.success(), "expected success, got {:?}", outcome.result);
    outcome
}

/// Datanet 1 (contributions 1 by Bob, 2 by Carol, accepted), datanet 2 (contribution 3 by
/// Bob, accepted; contribution 4 by Carol, pending), model 1 by Dave on datanet 1 with Erin as
/// operator: 40% data, 10% operator (plus the chain's 5% protocol).
pub(crate) fn setup() -> Harness {
    let mut h = Harness::new(&[ALICE, BOB, CAROL, DAVE, ERIN, FRANK]);
    registries(&mut h, ATTRIBUTION_ADDRESS);
    h
}

/// [`setup`]'s registries, built through the IAttribution at `at` (the precompile, or a
/// contract implementing it).
pub(crate) fn registries(h: &mut Harness, at: Address) {
    let z = U256::ZERO;
    let send = |h: &mut Harness, from: Address, call: Vec<u8>| ok(h.send(from, at, z, call));
    let first =
        send(h, ALICE, attr::createDatanetCall { metadataUri: "ipfs://one".into() }.abi_encode());
    assert_eq!(first.decode::<attr::createDatanetCall>(), 1);
    send(h, ALICE, attr::createDatanetCall { metadataUri: "x".repeat(70) }.abi_encode());
    for (who, datanet) in [(BOB, 1), (CAROL, 1), (BOB, 2), (CAROL, 2)] {
        let call = attr::submitContributionCall {
            datanetId: datanet,
            contentHash: B256::repeat_byte(0x11),
            weight: 7,
        };
        send(h, who, call.abi_encode());
    }
    for id in [1, 2, 3] {
        send(
            h,
            ALICE,
            attr::reviewContributionCall { contributionId: id, accepted: true }.abi_encode(),
        );
    }
    let register = attr::registerModelCall {
        modelHash: B256::repeat_byte(0xd0),
        metadataUri: "ipfs://model".into(),
        pricePerKiloToken: U256::from(PRICE),
        dataBps: 4_000,
        operatorBps: 1_000,
        datanetIds: vec![1],
    };
    assert_eq!(send(h, DAVE, register.abi_encode()).decode::<attr::registerModelCall>(), 1);
    send(h, DAVE, attr::setOperatorCall { modelId: 1, operator: ERIN, allowed: true }.abi_encode());
}

fn record(
    model: u64,
    payer: Address,
    tokens: u64,
    ids: Vec<u64>,
    weights: Vec<u32>,
) -> attr::recordInferenceCall {
    attr::recordInferenceCall {
        modelId: model,
        payer,
        tokens,
        inferenceHash: B256::repeat_byte(0x99),
        contributionIds: ids,
        weights,
    }
}

#[test]
fn registries_and_views() {
    let mut h = setup();
    let z = U256::ZERO;
    assert_eq!(
        ok(h.attribution(BOB, z, attr::datanetCountCall {})).decode::<attr::datanetCountCall>(),
        2
    );
    assert_eq!(
        ok(h.attribution(BOB, z, attr::contributionCountCall {}))
            .decode::<attr::contributionCountCall>(),
        4
    );
    assert_eq!(
        ok(h.attribution(BOB, z, attr::modelCountCall {})).decode::<attr::modelCountCall>(),
        1
    );
    let datanet = ok(h.attribution(BOB, z, attr::getDatanetCall { datanetId: 2 }))
        .decode::<attr::getDatanetCall>();
    assert_eq!(datanet.curator, ALICE);
    assert_eq!(datanet.metadataUri, "x".repeat(70));
    assert_eq!(datanet.contributionCount, 2);
    let c = ok(h.attribution(BOB, z, attr::getContributionCall { contributionId: 4 }))
        .decode::<attr::getContributionCall>();
    assert_eq!((c.datanetId, c.contributor, c.weight), (2, CAROL, 7));
    assert_eq!(c.status, attr::ContributionStatus::Pending);
    let c = ok(h.attribution(BOB, z, attr::getContributionCall { contributionId: 1 }))
        .decode::<attr::getContributionCall>();
    assert_eq!(c.status, attr::ContributionStatus::Accepted);
    let model =
        ok(h.attribution(BOB, z, attr::getModelCall { modelId: 1 })).decode::<attr::getModelCall>();
    assert_eq!((model.owner, model.dataBps, model.operatorBps), (DAVE, 4_000, 1_000));
    assert_eq!(model.datanetIds, vec![1]);
    assert_eq!(model.metadataUri, "ipfs://model");
    assert!(
        ok(h.attribution(BOB, z, attr::isOperatorCall { modelId: 1, operator: ERIN }))
            .decode::<attr::isOperatorCall>()
    );
    assert!(
        !ok(h.attribution(BOB, z, attr::isOperatorCall { modelId: 1, operator: FRANK }))
            .decode::<attr::isOperatorCall>()
    );
    for (call, expected) in [
        (h.attribution(BOB, z, attr::getDatanetCall { datanetId: 9 }), "UnknownDatanet"),
        (
            h.attribution(BOB, z, attr::getContributionCall { contributionId: 0 }),
            "UnknownContribution",
        ),
        (h.attribution(BOB, z, attr::getModelCall { modelId: 2 }), "UnknownModel"),
        (h.attribution(BOB, z, attr::getInferenceCall { inferenceId: 1 }), "UnknownInference"),
    ] {
        assert!(format!("{:?}", call.attribution_error()).starts_with(expected));
    }
}

#[test]
fn registry_events() {
    let mut h = Harness::new(&[ALICE, BOB, DAVE]);
    let z = U256::ZERO;
    let out = ok(h.attribution(ALICE, z, attr::createDatanetCall { metadataUri: "u".into() }));
    let event = attr::DatanetCreated::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!((event.datanetId, event.curator), (1, ALICE));
    assert_eq!(out.logs()[0].address, ATTRIBUTION_ADDRESS);
    let out = ok(h.attribution(
        BOB,
        z,
        attr::submitContributionCall { datanetId: 1, contentHash: B256::ZERO, weight: 3 },
    ));
    let event = attr::ContributionSubmitted::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!(
        (event.contributionId, event.datanetId, event.contributor, event.weight),
        (1, 1, BOB, 3)
    );
    let out = ok(h.attribution(
        ALICE,
        z,
        attr::reviewContributionCall { contributionId: 1, accepted: false },
    ));
    assert!(!attr::ContributionReviewed::decode_log_data(&out.logs()[0].data).unwrap().accepted);
    let register = attr::registerModelCall {
        modelHash: B256::repeat_byte(1),
        metadataUri: String::new(),
        pricePerKiloToken: U256::from(5),
        dataBps: 0,
        operatorBps: 0,
        datanetIds: vec![],
    };
    let out = ok(h.attribution(DAVE, z, register));
    assert_eq!(attr::ModelRegistered::decode_log_data(&out.logs()[0].data).unwrap().owner, DAVE);
    let out = ok(h.attribution(
        DAVE,
        z,
        attr::setPriceCall { modelId: 1, pricePerKiloToken: U256::from(9) },
    ));
    let event = attr::ModelPriceChanged::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!((event.oldPrice, event.newPrice), (U256::from(5), U256::from(9)));
    let out = ok(h.attribution(
        DAVE,
        z,
        attr::setOperatorCall { modelId: 1, operator: BOB, allowed: true },
    ));
    assert!(attr::OperatorChanged::decode_log_data(&out.logs()[0].data).unwrap().allowed);
    let out = ok(h.attribution(DAVE, z, attr::transferModelCall { modelId: 1, newOwner: ALICE }));
    let event = attr::ModelTransferred::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!((event.from, event.to), (DAVE, ALICE));
    // the old owner lost its rights, the new one has them
    assert!(matches!(
        h.attribution(DAVE, z, attr::setPriceCall { modelId: 1, pricePerKiloToken: U256::from(1) })
            .attribution_error(),
        AErr::Unauthorized(_)
    ));
    ok(h.attribution(
        ALICE,
        z,
        attr::setPriceCall { modelId: 1, pricePerKiloToken: U256::from(1) },
    ));
}

#[test]
fn access_rules() {
    let mut h = setup();
    let z = U256::ZERO;
    let e = h
        .attribution(BOB, z, attr::reviewContributionCall { contributionId: 4, accepted: true })
        .attribution_error();
    assert_eq!(e, AErr::Unauthorized(attr::Unauthorized { caller: BOB }));
    let e = h
        .attribution(ALICE, z, attr::reviewContributionCall { contributionId: 1, accepted: false })
        .attribution_error();
    assert_eq!(e, AErr::AlreadyReviewed(attr::AlreadyReviewed { contributionId: 1 }));
    let e = h
        .attribution(ERIN, z, attr::setPriceCall { modelId: 1, pricePerKiloToken: U256::ZERO })
        .attribution_error();
    assert!(matches!(e, AErr::Unauthorized(_)));
    let e = h
        .attribution(ERIN, z, attr::setOperatorCall { modelId: 1, operator: FRANK, allowed: true })
        .attribution_error();
    assert!(matches!(e, AErr::Unauthorized(_)));
    let e = h
        .attribution(ERIN, z, attr::transferModelCall { modelId: 1, newOwner: ERIN })
        .attribution_error();
    assert!(matches!(e, AErr::Unauthorized(_)));
    let e = h
        .attribution(DAVE, z, attr::transferModelCall { modelId: 1, newOwner: Address::ZERO })
        .attribution_error();
    assert!(matches!(e, AErr::ZeroAddress(_)));
    let fee = U256::from(PRICE);
    let e = h.attribution(FRANK, fee, record(1, FRANK, 1_000, vec![], vec![])).attribution_error();
    assert_eq!(e, AErr::Unauthorized(attr::Unauthorized { caller: FRANK }));
    // an operator removed loses the right
    ok(h.attribution(
        DAVE,
        z,
        attr::setOperatorCall { modelId: 1, operator: ERIN, allowed: false },
    ));
    assert!(matches!(
        h.attribution(ERIN, fee, record(1, ERIN, 1_000, vec![], vec![])).attribution_error(),
        AErr::Unauthorized(_)
    ));
    // nothing moved on those reverts
    assert_eq!(h.balance(ATTRIBUTION_ADDRESS), U256::ZERO);
}

#[test]
fn registration_errors() {
    let mut h = setup();
    let z = U256::ZERO;
    let mut register = attr::registerModelCall {
        modelHash: B256::repeat_byte(1),
        metadataUri: String::new(),
        pricePerKiloToken: U256::from(1),
        dataBps: 9_000,
        operatorBps: 1_000,
        datanetIds: vec![1],
    };
    let e = h.attribution(DAVE, z, register.clone()).attribution_error();
    assert_eq!(e, AErr::InvalidShares(attr::InvalidShares { totalBps: U256::from(10_500) }));
    register.dataBps = 8_500;
    ok(h.attribution(DAVE, z, register.clone()));
    register.modelHash = B256::ZERO;
    assert!(matches!(
        h.attribution(DAVE, z, register.clone()).attribution_error(),
        AErr::ZeroModelHash(_)
    ));
    register.modelHash = B256::repeat_byte(2);
    register.datanetIds = vec![1, 9];
    assert_eq!(
        h.attribution(DAVE, z, register.clone()).attribution_error(),
        AErr::UnknownDatanet(attr::UnknownDatanet { datanetId: 9 })
    );
    register.datanetIds = (0..33).map(|_| 1).collect();
    assert!(matches!(
        h.attribution(DAVE, z, register).attribution_error(),
        AErr::TooManyAttributions(_)
    ));
    let e = h
        .attribution(
            BOB,
            z,
            attr::submitContributionCall { datanetId: 5, contentHash: B256::ZERO, weight: 1 },
        )
        .attribution_error();
    assert!(matches!(e, AErr::UnknownDatanet(_)));
}

/// The product brief's worked example, paid by value with an excess that comes back.
#[test]
fn worked_example_twelve_calls_of_800_tokens() {
    let mut h = setup();
    let people = [BOB, CAROL, DAVE, ERIN, treasury(&h), ATTRIBUTION_ADDRESS, ROYALTIES_ADDRESS];
    let before: Vec<U256> = people.iter().map(|a| h.balance(*a)).collect();
    let per_call = U256::from(1_600_000_000_000_000u64); // 800 * 0.002 OPEN / 1000
    for i in 0..12u64 {
        let out = ok(h.attribution(
            ERIN,
            per_call + U256::from(1),
            record(1, ERIN, 800, vec![1, 2], vec![3, 1]),
        ));
        assert_eq!(out.decode::<attr::recordInferenceCall>(), i + 1);
        let recorded = attr::InferenceRecorded::decode_log_data(&out.logs()[0].data).unwrap();
        assert_eq!((recorded.fee, recorded.tokens, recorded.operator), (per_call, 800, ERIN));
        let paid: Vec<_> = out.logs()[1..]
            .iter()
            .map(|l| roy::RoyaltyPaid::decode_log_data(&l.data).unwrap())
            .collect();
        assert_eq!(paid.len(), 5, "two contributors, operator, protocol, creator");
        assert!(out.logs()[1..].iter().all(|l| l.address == ROYALTIES_ADDRESS));
    }
    let after: Vec<U256> = people.iter().map(|a| h.balance(*a)).collect();
    let delta = |i: usize| after[i] - before[i];
    let n = U256::from(12);
    let total = per_call * n;
    assert_eq!(total, U256::from(19_200_000_000_000_000u64), "0.0192 OPEN");
    assert_eq!(delta(0), U256::from(480_000_000_000_000u64) * n, "Bob: 3/4 of 40%");
    assert_eq!(delta(1), U256::from(160_000_000_000_000u64) * n, "Carol: 1/4 of 40%");
    assert_eq!(delta(2), U256::from(720_000_000_000_000u64) * n, "Dave: the rest");
    assert_eq!(
        before[3] - h.balance(ERIN),
        total - U256::from(160_000_000_000_000u64) * n,
        "Erin paid, minus 10%"
    );
    assert_eq!(delta(4), U256::from(80_000_000_000_000u64) * n, "treasury: 5%");
    assert_eq!(h.balance(ATTRIBUTION_ADDRESS), U256::ZERO, "excess refunded, nothing left behind");
    let stats = ok(h.attribution(BOB, U256::ZERO, attr::modelStatsCall { modelId: 1 }))
        .decode::<attr::modelStatsCall>();
    assert_eq!((stats.inferences, stats.tokens, stats.fees), (12, U256::from(9_600), total));
    let earned = ok(h.royalties(BOB, U256::ZERO, roy::earningsCall { account: BOB }))
        .decode::<roy::earningsCall>();
    assert_eq!(earned, delta(0));
    let record = ok(h.attribution(BOB, U256::ZERO, attr::getInferenceCall { inferenceId: 12 }))
        .decode::<attr::getInferenceCall>();
    assert_eq!(
        (record.modelId, record.payer, record.operator, record.tokens, record.fee),
        (1, ERIN, ERIN, 800, per_call)
    );
    assert_eq!(record.blockNumber, 1);
    let expected = alloy::primitives::keccak256(alloy::sol_types::SolValue::abi_encode_params(&(
        vec![1u64, 2],
        vec![3u32, 1],
    )));
    assert_eq!(record.attributionHash, expected);
}

#[test]
fn escrow_and_allowance() {
    let mut h = setup();
    let z = U256::ZERO;
    let fee = U256::from(PRICE); // 1000 tokens
    ok(h.royalties(FRANK, U256::from(OPEN), roy::depositCall {}));
    assert_eq!(h.balance(ROYALTIES_ADDRESS), U256::from(OPEN));
    // no allowance yet
    let e = h.attribution(ERIN, z, record(1, FRANK, 1_000, vec![], vec![])).attribution_error();
    assert_eq!(
        e,
        AErr::AllowanceExceeded(attr::AllowanceExceeded {
            payer: FRANK,
            modelId: 1,
            fee,
            allowance: U256::ZERO
        })
    );
    let out = ok(h.royalties(FRANK, z, roy::approveCall { modelId: 1, cap: fee * U256::from(2) }));
    assert_eq!(
        roy::Approved::decode_log_data(&out.logs()[0].data).unwrap().cap,
        fee * U256::from(2)
    );
    let dave = h.balance(DAVE);
    ok(h.attribution(ERIN, z, record(1, FRANK, 1_000, vec![], vec![])));
    assert_eq!(h.balance(ROYALTIES_ADDRESS), U256::from(OPEN) - fee);
    assert_eq!(
        ok(h.royalties(FRANK, z, roy::escrowOfCall { account: FRANK }))
            .decode::<roy::escrowOfCall>(),
        U256::from(OPEN) - fee
    );
    assert_eq!(
        ok(h.royalties(FRANK, z, roy::allowanceCall { payer: FRANK, modelId: 1 }))
            .decode::<roy::allowanceCall>(),
        fee
    );
    // no attribution: the data share goes to the creator: 100% - 10% - 5%
    assert_eq!(h.balance(DAVE) - dave, fee * U256::from(85) / U256::from(100));
    // the allowance caps what operators may take
    let e = h.attribution(ERIN, z, record(1, FRANK, 2_000, vec![], vec![])).attribution_error();
    assert!(matches!(e, AErr::AllowanceExceeded(_)));
    // escrow too small
    ok(h.royalties(FRANK, z, roy::approveCall { modelId: 1, cap: U256::MAX }));
    let e =
        h.attribution(ERIN, z, record(1, FRANK, 1_000_000_000, vec![], vec![])).attribution_error();
    assert!(matches!(e, AErr::InsufficientEscrow(_)));
    // withdraw
    let frank = h.balance(FRANK);
    let out = ok(h.royalties(FRANK, z, roy::withdrawCall { amount: U256::from(10) }));
    assert_eq!(
        roy::Withdrawn::decode_log_data(&out.logs()[0].data).unwrap().amount,
        U256::from(10)
    );
    assert_eq!(h.balance(FRANK) - frank, U256::from(10));
    let e = h.royalties(FRANK, z, roy::withdrawCall { amount: U256::from(OPEN) }).royalties_error();
    assert!(matches!(e, RErr::InsufficientEscrow(_)));
    assert!(matches!(
        h.royalties(FRANK, z, roy::withdrawCall { amount: z }).royalties_error(),
        RErr::ZeroAmount(_)
    ));
    assert!(matches!(
        h.royalties(FRANK, z, roy::depositCall {}).royalties_error(),
        RErr::ZeroAmount(_)
    ));
}

#[test]
fn attribution_errors() {
    let mut h = setup();
    let fee = U256::from(PRICE);
    let mut check = |call: attr::recordInferenceCall, value: U256| {
        h.attribution(ERIN, value, call).attribution_error()
    };
    assert_eq!(
        check(record(1, ERIN, 1_000, vec![4], vec![1]), fee),
        AErr::ContributionNotAccepted(attr::ContributionNotAccepted { contributionId: 4 })
    );
    assert_eq!(
        check(record(1, ERIN, 1_000, vec![3], vec![1]), fee),
        AErr::ContributionNotInModelDatanets(attr::ContributionNotInModelDatanets {
            contributionId: 3,
            modelId: 1
        })
    );
    assert_eq!(
        check(record(1, ERIN, 1_000, vec![1, 1], vec![1, 1]), fee),
        AErr::DuplicateContribution(attr::DuplicateContribution { contributionId: 1 })
    );
    assert!(matches!(
        check(record(1, ERIN, 1_000, vec![1], vec![1, 2]), fee),
        AErr::LengthMismatch(_)
    ));
    assert!(matches!(check(record(1, ERIN, 1_000, vec![1], vec![0]), fee), AErr::ZeroWeight(_)));
    assert!(matches!(
        check(record(1, ERIN, 1_000, vec![99], vec![1]), fee),
        AErr::UnknownContribution(_)
    ));
    assert!(matches!(check(record(7, ERIN, 1_000, vec![], vec![]), fee), AErr::UnknownModel(_)));
    let many: Vec<u64> = (1..=65).collect();
    assert_eq!(
        check(record(1, ERIN, 1_000, many, vec![1; 65]), fee),
        AErr::TooManyAttributions(attr::TooManyAttributions {
            count: U256::from(65),
            max: U256::from(64)
        })
    );
    assert_eq!(
        check(record(1, ERIN, 1_000, vec![1], vec![1]), fee - U256::from(1)),
        AErr::InsufficientPayment(attr::InsufficientPayment { fee, value: fee - U256::from(1) })
    );
    // an owner may set any price; a fee past the bound reverts instead of overflowing
    ok(h.attribution(
        DAVE,
        U256::ZERO,
        attr::setPriceCall { modelId: 1, pricePerKiloToken: U256::MAX },
    ));
    let e = h.attribution(ERIN, fee, record(1, ERIN, 1_000, vec![1], vec![1])).attribution_error();
    assert_eq!(
        e,
        AErr::InsufficientPayment(attr::InsufficientPayment { fee: U256::MAX, value: fee })
    );
    // nothing moved on any of those reverts
    assert_eq!(h.balance(ATTRIBUTION_ADDRESS), U256::ZERO);
    let count = ok(h.attribution(ERIN, U256::ZERO, attr::inferenceCountCall {}));
    assert_eq!(count.decode::<attr::inferenceCountCall>(), 0);
}

#[test]
fn call_guards() {
    let mut h = setup();
    let one = U256::from(1);
    let e = h
        .attribution(ALICE, one, attr::createDatanetCall { metadataUri: String::new() })
        .attribution_error();
    assert!(matches!(e, AErr::NotPayable(_)));
    let e = h.royalties(ALICE, one, roy::withdrawCall { amount: one }).royalties_error();
    assert!(matches!(e, RErr::NotPayable(_)));
    // calldata that does not decode: an empty revert, never a panic
    for data in [
        vec![],
        vec![0xde, 0xad, 0xbe, 0xef],
        vec![0x12; 3],
        attr::getModelCall { modelId: 1 }.abi_encode()[..20].to_vec(),
    ] {
        let out = h.send(ALICE, ATTRIBUTION_ADDRESS, U256::ZERO, data.clone());
        assert!(out.revert_data().is_empty(), "{data:?}");
        let out = h.send(ALICE, ROYALTIES_ADDRESS, U256::ZERO, data);
        assert!(out.revert_data().is_empty());
    }
}

#[test]
fn batches_credit_each_recipient_once() {
    let mut h = setup();
    let per = U256::from(PRICE); // 1000 tokens each
    let one = attr::Inference {
        modelId: 1,
        payer: ERIN,
        tokens: 1_000,
        inferenceHash: B256::repeat_byte(7),
        contributionIds: vec![1, 2],
        weights: vec![1, 1],
    };
    let bob = h.balance(BOB);
    let single_gas =
        ok(h.attribution(ERIN, per, record(1, ERIN, 1_000, vec![1, 2], vec![1, 1]))).gas_used();
    let batch =
        attr::recordInferencesCall { batch: vec![one.clone(), one.clone(), one.clone(), one] };
    let out = ok(h.attribution(ERIN, per * U256::from(4), batch));
    assert_eq!(out.decode::<attr::recordInferencesCall>(), 2, "first id of the batch");
    let recorded = out
        .logs()
        .iter()
        .filter(|l| l.topics()[0] == attr::InferenceRecorded::SIGNATURE_HASH)
        .count();
    assert_eq!(recorded, 4);
    assert_eq!(h.balance(BOB) - bob, per * U256::from(5) * U256::from(2) / U256::from(10));
    assert!(
        out.gas_used() < single_gas * 4,
        "batching saves: {} vs 4 x {single_gas}",
        out.gas_used()
    );
    assert!(matches!(
        h.attribution(ERIN, per, attr::recordInferencesCall { batch: vec![] }).attribution_error(),
        AErr::EmptyBatch(_)
    ));
    let short = attr::recordInferencesCall {
        batch: vec![attr::Inference {
            contributionIds: vec![],
            weights: vec![],
            ..Default::default()
        }],
    };
    assert!(matches!(h.attribution(ERIN, per, short).attribution_error(), AErr::UnknownModel(_)));
}

#[test]
fn general_split() {
    let mut h = setup();
    let value = U256::from(1_001);
    let (b, c, d) = (h.balance(BOB), h.balance(CAROL), h.balance(DAVE));
    let out = ok(h.royalties(
        ALICE,
        value,
        roy::splitCall { recipients: vec![BOB, CAROL, DAVE], weights: vec![1, 1, 2] },
    ));
    assert_eq!(h.balance(BOB) - b, U256::from(250));
    assert_eq!(h.balance(CAROL) - c, U256::from(250));
    assert_eq!(h.balance(DAVE) - d, U256::from(501), "the last takes the dust");
    assert_eq!(h.balance(ROYALTIES_ADDRESS), U256::ZERO);
    let event = roy::Split::decode_log_data(&out.logs().last().unwrap().data).unwrap();
    assert_eq!((event.payer, event.amount), (ALICE, value));
    let z = U256::ZERO;
    let mut bad = |recipients: Vec<Address>, weights: Vec<u32>| {
        h.royalties(ALICE, value, roy::splitCall { recipients, weights }).royalties_error()
    };
    assert!(matches!(bad(vec![], vec![]), RErr::EmptySplit(_)));
    assert!(matches!(bad(vec![BOB], vec![1, 2]), RErr::LengthMismatch(_)));
    assert!(matches!(bad(vec![BOB], vec![0]), RErr::ZeroTotalWeight(_)));
    assert!(matches!(bad(vec![Address::ZERO], vec![1]), RErr::ZeroAddress(_)));
    assert!(matches!(bad(vec![BOB; 65], vec![1; 65]), RErr::TooManyRecipients(_)));
    let _ = z;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The payer is debited the fee and the credits add up to it, to the wei; no other balance
    /// moves (gas is free in the harness).
    #[test]
    fn settlement_conserves_value(
        price in 0u128..=10u128.pow(17),
        tokens in 0u64..=1_000_000,
        data_bps in 0u16..=5_000,
        operator_bps in 0u16..=4_000,
        weights in proptest::collection::vec(1u32..=1_000_000, 0..=2),
        excess in 0u64..=1_000,
    ) {
        let mut h = setup();
        let register = attr::registerModelCall {
            modelHash: B256::repeat_byte(3),
            metadataUri: String::new(),
            pricePerKiloToken: U256::from(price),
            dataBps: data_bps,
            operatorBps: operator_bps,
            datanetIds: vec![1],
        };
        ok(h.attribution(DAVE, U256::ZERO, register));
        ok(h.attribution(DAVE, U256::ZERO, attr::setOperatorCall { modelId: 2, operator: ERIN, allowed: true }));
        let ids: Vec<u64> = (1..=weights.len() as u64).collect();
        let everyone = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK, treasury(&h), ATTRIBUTION_ADDRESS, ROYALTIES_ADDRESS];
        let before: Vec<U256> = everyone.iter().map(|a| h.balance(*a)).collect();
        let fee = U256::from(tokens) * U256::from(price) / U256::from(1000);
        ok(h.attribution(ERIN, fee + U256::from(excess), record(2, ERIN, tokens, ids, weights.clone())));
        let after: Vec<U256> = everyone.iter().map(|a| h.balance(*a)).collect();
        let credits: U256 = before.iter().zip(&after).filter(|(b, a)| a > b).map(|(b, a)| *a - *b).sum();
        let debits: U256 = before.iter().zip(&after).filter(|(b, a)| a < b).map(|(b, a)| *b - *a).sum();
        prop_assert_eq!(credits, debits, "value is conserved");
        // Erin pays the fee and receives the operator share
        let operator_share = fee * U256::from(operator_bps) / U256::from(10_000);
        prop_assert_eq!(before[4] - after[4], fee - operator_share);
        prop_assert_eq!(after[0], before[0], "Alice, the curator, is not paid");
        prop_assert_eq!(after[5], before[5], "Frank is not involved");
    }
}

alloy::sol! {
    interface AttributionCaller {
        function registerModel(bytes32 modelHash, string calldata uri, uint256 price, uint16 dataBps, uint16 operatorBps, uint64[] calldata datanetIds) external returns (uint64);
        function record(uint64 modelId, address payer, uint64 tokens, bytes32 inferenceHash, uint64[] calldata ids, uint32[] calldata weights) external payable returns (uint64);
        function tryStatic(address target, bytes calldata data) external view returns (bool ok, bytes memory ret);
        function tryDelegate(address target, bytes calldata data) external returns (bool ok, bytes memory ret);
    }
}

fn caller_init_code() -> alloy::primitives::Bytes {
    let artifact: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../../tests/contracts/build/AttributionCaller.json"
    ))
    .unwrap();
    artifact["bytecode"].as_str().unwrap().parse().unwrap()
}

/// A Solidity contract uses the precompiles through their interface: settlement works, a write
/// under STATICCALL reverts, and DELEGATECALL reverts.
#[test]
fn solidity_contract_calls_the_precompiles() {
    let mut h = setup();
    let z = U256::ZERO;
    let caller = h.deploy(DAVE, caller_init_code(), z);
    let register = AttributionCaller::registerModelCall {
        modelHash: B256::repeat_byte(5),
        uri: "via contract".into(),
        price: U256::from(PRICE),
        dataBps: 2_000,
        operatorBps: 0,
        datanetIds: vec![1],
    };
    let out = ok(h.send(DAVE, caller, z, register.abi_encode()));
    let model = out.decode::<AttributionCaller::registerModelCall>();
    assert_eq!(model, 2);
    let owner = ok(h.attribution(BOB, z, attr::getModelCall { modelId: 2 }))
        .decode::<attr::getModelCall>()
        .owner;
    assert_eq!(owner, caller, "the contract owns the model");

    // settlement through the contract, paying by value, with attribution
    let fee = U256::from(PRICE);
    let bob = h.balance(BOB);
    let record = AttributionCaller::recordCall {
        modelId: 2,
        payer: DAVE,
        tokens: 1_000,
        inferenceHash: B256::repeat_byte(1),
        ids: vec![1],
        weights: vec![1],
    };
    let out = ok(h.send(DAVE, caller, fee, record.abi_encode()));
    assert_eq!(out.decode::<AttributionCaller::recordCall>(), 1);
    assert_eq!(h.balance(BOB) - bob, fee * U256::from(2_000) / U256::from(10_000));

    // a write under STATICCALL reverts with WriteInStaticCall; a view works
    let write = attr::recordInferenceCall {
        modelId: 2,
        payer: DAVE,
        tokens: 1,
        inferenceHash: B256::ZERO,
        contributionIds: vec![],
        weights: vec![],
    }
    .abi_encode();
    let out = ok(h.send(
        DAVE,
        caller,
        z,
        AttributionCaller::tryStaticCall {
            target: ATTRIBUTION_ADDRESS,
            data: write.clone().into(),
        }
        .abi_encode(),
    ));
    let result = out.decode::<AttributionCaller::tryStaticCall>();
    assert!(!result.ok);
    assert!(matches!(AErr::abi_decode(&result.ret).unwrap(), AErr::WriteInStaticCall(_)));
    let view = attr::modelStatsCall { modelId: 2 }.abi_encode();
    let out = ok(h.send(
        DAVE,
        caller,
        z,
        AttributionCaller::tryStaticCall { target: ATTRIBUTION_ADDRESS, data: view.clone().into() }
            .abi_encode(),
    ));
    assert!(out.decode::<AttributionCaller::tryStaticCall>().ok);
    let deposit = roy::depositCall {}.abi_encode();
    let out = ok(h.send(
        DAVE,
        caller,
        z,
        AttributionCaller::tryStaticCall { target: ROYALTIES_ADDRESS, data: deposit.into() }
            .abi_encode(),
    ));
    let result = out.decode::<AttributionCaller::tryStaticCall>();
    assert!(!result.ok);

    // DELEGATECALL reverts, for writes and views alike
    for (target, data) in [
        (ATTRIBUTION_ADDRESS, write),
        (ATTRIBUTION_ADDRESS, view),
        (ROYALTIES_ADDRESS, roy::escrowOfCall { account: DAVE }.abi_encode()),
    ] {
        let out = ok(h.send(
            DAVE,
            caller,
            z,
            AttributionCaller::tryDelegateCall { target, data: data.into() }.abi_encode(),
        ));
        let result = out.decode::<AttributionCaller::tryDelegateCall>();
        assert!(!result.ok);
        let selector = &result.ret[..4];
        assert!(
            selector == attr::DelegateCallNotAllowed::SELECTOR
                || selector == roy::DelegateCallNotAllowed::SELECTOR,
            "{:?}",
            result.ret
        );
    }
}

use super::*;
use alloy::consensus::Header;
use alloy_primitives::{Address, address};
use serde_json::Value;

fn dev_json() -> Value {
    serde_json::from_str(DEV_CHAIN_SPEC_JSON).unwrap()
}

fn parse(value: Value) -> Result<ChainSpec> {
    ChainSpec::from_json(&value.to_string())
}

fn err_field(value: Value) -> String {
    match parse(value).unwrap_err() {
        ChainSpecError::Json { field, .. } => field,
        ChainSpecError::Invalid { field, .. } => field.to_string(),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn dev_spec_parses() {
    let spec = ChainSpec::dev();
    assert_eq!(spec.chain_id(), DEV_CHAIN_ID);
    assert_eq!(spec.spec_id_at(0), OpSpecId::JOVIAN);
    assert_eq!(spec.attribution().protocol_bps, 500);
    assert_eq!(spec.genesis().alloc.len(), 17);
    let dev0 = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert!(spec.genesis().alloc[&dev0].balance > alloy_primitives::U256::ZERO);
    let header = spec.genesis_header();
    assert_eq!(header.number, 0);
    assert_eq!(header.state_root, genesis_state_root(spec.genesis()));
    // Jovian extraData: version 1, denominator, elasticity, min base fee
    assert_eq!(header.extra_data.len(), 17);
    assert_eq!(header.extra_data[0], 1);
}

/// Without `jovianTime` the chain stays at Isthmus: Holocene's 9-byte extraData, no Jovian
/// key in the rollup config. Any other fork left out is an error naming it.
#[test]
fn a_spec_without_jovian_stays_at_isthmus() {
    let mut v = dev_json();
    v["config"].as_object_mut().unwrap().remove("jovianTime");
    let spec = parse(v).unwrap();
    assert_eq!(spec.spec_id_at(u64::MAX), OpSpecId::ISTHMUS);
    assert!(!spec.hardforks().is_jovian_active_at_timestamp(u64::MAX));
    assert_eq!(spec.genesis_header().extra_data.len(), 9);
    let times = spec.rollup_fork_times();
    assert!(!times.contains_key("jovian_time"));
    assert_eq!(times["isthmus_time"], 0);
    assert_eq!(times["delta_time"], times["canyon_time"]);

    let mut v = dev_json();
    v["config"].as_object_mut().unwrap().remove("isthmusTime");
    assert_eq!(err_field(v), "config.isthmusTime");
}

#[test]
fn dev_spec_carries_committed_contracts() {
    // dev.json is generated from contracts/build; a stale copy would run old bytecode.
    let artifact: Value =
        serde_json::from_str(include_str!("../../../contracts/build/L1Block.json")).unwrap();
    let code = artifact["deployedBytecode"].as_str().unwrap();
    let spec = ChainSpec::dev();
    let l1block = address!("4200000000000000000000000000000000000015");
    let in_genesis = spec.genesis().alloc[&l1block].code.clone().unwrap();
    assert_eq!(alloy_primitives::hex::encode_prefixed(in_genesis), code);
}

#[test]
fn errors_name_the_field() {
    let mut v = dev_json();
    v["config"]["chainId"] = Value::from("nine hundred");
    assert_eq!(err_field(v), "config.chainId");

    let mut v = dev_json();
    v["config"]["tributary"]["protocolBps"] = Value::from(20_000);
    assert_eq!(err_field(v), "config.tributary.protocolBps");

    let mut v = dev_json();
    v["config"]["tributary"]["treasury"] = Value::from("0x12");
    assert_eq!(err_field(v), "config.tributary.treasury");

    let mut v = dev_json();
    v["config"]["optimism"]["eip1559Elasticity"] = Value::from(0);
    assert_eq!(err_field(v), "config.optimism.eip1559Elasticity");

    let mut v = dev_json();
    v["config"].as_object_mut().unwrap().remove("isthmusTime");
    assert_eq!(err_field(v), "config.isthmusTime");

    let mut v = dev_json();
    v["config"]["holoceneTime"] = Value::from(100);
    assert_eq!(err_field(v), "config.isthmusTime", "isthmus before holocene");

    let mut v = dev_json();
    v["config"]["karstTime"] = Value::from(0);
    assert_eq!(err_field(v), "config.karstTime");

    let mut v = dev_json();
    v["gasLimit"] = Value::from("0x0");
    assert_eq!(err_field(v), "gasLimit");

    let mut v = dev_json();
    v.as_object_mut().unwrap().remove("baseFeePerGas");
    assert_eq!(err_field(v), "baseFeePerGas");

    assert!(matches!(ChainSpec::from_json("{not json"), Err(ChainSpecError::Json { .. })));
    assert!(matches!(
        ChainSpec::from_file("/nonexistent/chain.json"),
        Err(ChainSpecError::Io { .. })
    ));
}

#[test]
fn base_fee_follows_eip1559_and_jovian_floor() {
    let spec = ChainSpec::dev();
    let parent = Header {
        gas_limit: 60_000_000,
        gas_used: 0,
        base_fee_per_gas: Some(1_000_000_000),
        extra_data: spec.extra_data_at(0),
        blob_gas_used: Some(0),
        ..Default::default()
    };
    // empty parent: -1/250 per block
    assert_eq!(spec.next_base_fee(&parent, 2), 1_000_000_000 - 1_000_000_000 / 250);
    // full parent: the target is 1/6 of the limit, so the fee rises
    let full = Header { gas_used: 60_000_000, ..parent.clone() };
    assert!(spec.next_base_fee(&full, 2) > 1_000_000_000);
    // a DA footprint above gas used counts as gas used
    let da = Header { blob_gas_used: Some(60_000_000), ..parent.clone() };
    assert_eq!(spec.next_base_fee(&da, 2), spec.next_base_fee(&full, 2));
    // the floor holds
    let low = Header { base_fee_per_gas: Some(10), ..parent };
    assert_eq!(spec.next_base_fee(&low, 2), spec.fees().min_base_fee);
    let _ = Address::ZERO;
}

#[test]
fn l1_dev_spec_is_plain_ethereum_at_prague() {
    let spec = ChainSpec::l1_dev(1_700_000_000);
    assert_eq!(spec.kind(), ChainKind::Ethereum);
    assert_eq!(spec.chain_id(), L1_DEV_CHAIN_ID);
    assert_eq!(spec.genesis_header().timestamp, 1_700_000_000);
    assert!(spec.extra_data_at(1_700_000_002).is_empty());
    assert_eq!(spec.attribution().activation_time, u64::MAX);
    // op-revm's Prague for RPC calls, never Jovian.
    assert_eq!(spec.spec_id_at(1_700_000_002), op_revm::OpSpecId::ISTHMUS);
    assert!(spec.genesis_header().requests_hash.is_some());
    // mainnet EIP-1559: an empty parent lowers the fee by 1/8, a full one raises it by 1/8
    let parent = Header {
        gas_limit: 60_000_000,
        gas_used: 0,
        base_fee_per_gas: Some(1_000_000_000),
        ..Default::default()
    };
    assert_eq!(spec.next_base_fee(&parent, 2), 875_000_000);
    let full = Header { gas_used: 60_000_000, ..parent };
    assert_eq!(spec.next_base_fee(&full, 2), 1_125_000_000);
}

#[test]
fn l1_spec_must_run_prague() {
    let mut genesis: alloy::genesis::Genesis =
        serde_json::from_str(L1_DEV_CHAIN_SPEC_JSON).unwrap();
    genesis.config.prague_time = None;
    let err = ChainSpec::from_genesis(genesis).unwrap_err();
    assert!(err.to_string().contains("config.pragueTime"), "{err}");
}

/// The dev chain is sized for issue 11's 10 000 native transfers a second at its default 2 s
/// block time: neither the gas limit nor Jovian's DA footprint (at least 100 estimated bytes
/// per transaction times the default scalar) may cap it below that.
#[test]
fn dev_gas_limit_and_da_footprint_admit_ten_thousand_transfers_a_second() {
    let gas_limit = ChainSpec::dev().genesis().gas_limit;
    let block_time = RollupConfig::DEFAULT_BLOCK_TIME;
    let by_gas = gas_limit / 21_000 / block_time;
    let scalar = u64::from(SystemConfig::default().effective_da_footprint_gas_scalar());
    let by_da = gas_limit / (100 * scalar) / block_time;
    assert!(by_gas >= 10_000 && by_da >= 10_000, "by gas {by_gas}/s, by DA footprint {by_da}/s");
}

//! `tributary attr` against a running node: every write and read, with `--json` output.

use crate::process::NodeProcess;
use serde_json::Value;
use std::process::Command;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn attr(url: &str, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["attr", "--rpc-url", url, "--json"])
        .args(args)
        .env("TRIBUTARY_PRIVATE_KEY", KEY)
        .env("RUST_LOG", "off")
        .output()
        .expect("run tributary attr");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("json from {args:?}"))
}

fn attr_fails(url: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["attr", "--rpc-url", url])
        .args(args)
        .env("TRIBUTARY_PRIVATE_KEY", KEY)
        .output()
        .expect("run tributary attr");
    assert!(!output.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn cli_runs_the_whole_flow() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path());
    let url = node.url.clone();
    let hash = format!("0x{}", "11".repeat(32));
    assert_eq!(attr(&url, &["create-datanet", "--uri", "ipfs://d"])["id"], 1);
    assert_eq!(attr(&url, &["contribute", "--datanet", "1", "--content-hash", &hash])["id"], 1);
    attr(&url, &["review", "--contribution", "1"]);
    let model = attr(
        &url,
        &[
            "register-model",
            "--hash",
            &hash,
            "--price",
            "2000000000000000",
            "--data-bps",
            "4000",
            "--operator-bps",
            "1000",
            "--datanet",
            "1",
        ],
    );
    assert_eq!(model["id"], 1);
    attr(
        &url,
        &[
            "set-operator",
            "--model",
            "1",
            "--operator",
            "0x0000000000000000000000000000000000000042",
        ],
    );
    attr(&url, &["set-price", "--model", "1", "--price", "2000000000000000"]);
    let recorded = attr(
        &url,
        &[
            "record-inference",
            "--model",
            "1",
            "--payer",
            DEV0,
            "--tokens",
            "800",
            "--hash",
            &hash,
            "--attribution",
            "1:1",
            "--value",
            "1600000000000000",
        ],
    );
    assert_eq!(recorded["id"], 1);
    attr(&url, &["deposit", "--amount", "1000000000000000000"]);
    attr(&url, &["approve", "--model", "1", "--cap", "1600000000000000"]);
    let shown = attr(&url, &["model", "--id", "1"]);
    assert_eq!(shown["dataBps"], 4000);
    let earned = attr(&url, &["earnings", "--address", DEV0]);
    assert_ne!(earned["earnings"], "0");
    // a refused write explains the custom error
    let err = attr_fails(&url, &["set-price", "--model", "9", "--price", "1"]);
    assert!(err.contains("UnknownModel"), "{err}");
    settles_a_batch_and_proves_its_records(&node, dir.path());
    drop(node);
}

/// `attr settle-batch` from a JSON file, then each record read back from the node's index and
/// proved against its epoch's commitment through the precompile's `verifyInference`.
fn settles_a_batch_and_proves_its_records(node: &NodeProcess, dir: &std::path::Path) {
    use alloy::{
        primitives::{B256, Bytes, U256},
        sol_types::SolCall,
    };
    use tributary_precompiles::{ATTRIBUTION_ADDRESS, IAttribution as A};
    let url = node.url.as_str();
    attr(url, &["approve", "--model", "1", "--cap", "1000000000000000000"]);
    let file = dir.join("records.json");
    let output = |n: u8| format!("0x{}", format!("{n:02x}").repeat(32));
    let records = serde_json::json!([
        { "model": 1, "payer": DEV0, "tokens": 800, "outputHash": output(1),
          "attributions": [{ "contribution": 1, "weight": 3 }] },
        { "model": 1, "payer": DEV0, "tokens": 1000, "outputHash": output(2),
          "attributions": [], "fee": "2000000000000000" },
        { "model": 1, "payer": DEV0, "tokens": 5, "outputHash": output(3),
          "attributions": [{ "contribution": 1, "weight": 1 }] },
    ]);
    std::fs::write(&file, records.to_string()).unwrap();
    let settled = attr(url, &["settle-batch", "--file", file.to_str().unwrap()]);
    assert_eq!(settled["id"], 2, "the batch id is its first inference id: {settled}");

    let second = attr(url, &["inference", "--id", "3"]);
    assert_eq!(
        (second["batchId"].as_str(), second["batchIndex"].as_str()),
        (Some("0x2"), Some("0x1"))
    );
    assert_eq!(second["tokens"], "0x3e8");
    assert_eq!(second["fee"], "0x71afd498d0000", "{second}");
    assert_eq!(second["inferenceHash"].as_str(), Some(output(2).as_str()));
    let alone = attr(url, &["inference", "--id", "1"]);
    assert!(alone.get("batchId").is_none(), "settled alone: read from its own slots");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    for id in 2..=4u64 {
        let proof = attr(url, &["inference-proof", "--id", &id.to_string()]);
        let record: Bytes = proof["record"].as_str().unwrap().parse().unwrap();
        let siblings: Vec<B256> = serde_json::from_value(proof["siblings"].clone()).unwrap();
        let prior: B256 = serde_json::from_value(proof["prior"].clone()).unwrap();
        let later: Vec<A::BatchLink> = proof["later"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| A::BatchLink {
                batchId: u64::from_str_radix(&l["batchId"].as_str().unwrap()[2..], 16).unwrap(),
                count: l["count"].as_u64().unwrap() as u32,
                root: serde_json::from_value(l["root"].clone()).unwrap(),
            })
            .collect();
        let verify = |record: Bytes| {
            let call = A::verifyInferenceCall {
                proof: A::InferenceProof {
                    batchId: 2,
                    count: 3,
                    index: U256::from(id - 2),
                    record,
                    siblings: siblings.clone(),
                    prior,
                    later: later.clone(),
                },
            };
            let request = serde_json::json!({
                "to": ATTRIBUTION_ADDRESS,
                "data": Bytes::from(call.abi_encode()),
            });
            let out = runtime.block_on(node.rpc("eth_call", vec![request, "latest".into()]));
            let out: Bytes = out.as_str().unwrap().parse().unwrap();
            A::verifyInferenceCall::abi_decode_returns(&out).unwrap()
        };
        assert!(verify(record.clone()), "record {id} proves against its epoch's commitment");
        let mut tampered = record.to_vec();
        tampered[30] ^= 1; // tokens
        assert!(!verify(tampered.into()), "a tampered record {id} does not");
    }
    let missing = attr_fails(url, &["inference-proof", "--id", "1"]);
    assert!(missing.contains("not settled in a batch"), "{missing}");

    // A bad record refuses the whole batch and names it.
    let bad = serde_json::json!([
        { "model": 1, "payer": DEV0, "tokens": 10, "outputHash": output(4) },
        { "model": 1, "payer": DEV0, "tokens": 10, "outputHash": output(5),
          "attributions": [{ "contribution": 7, "weight": 1 }] },
    ]);
    std::fs::write(&file, bad.to_string()).unwrap();
    let err = attr_fails(url, &["settle-batch", "--file", file.to_str().unwrap()]);
    assert!(err.contains("record 1 of the batch") && err.contains("UnknownContribution"), "{err}");
}

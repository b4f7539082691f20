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
    drop(node);
}

//! The precompiles' ABI, bound from the Solidity interfaces: they are the one source of truth.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol!(
    #[sol(all_derives, abi)]
    "interfaces/IAttribution.sol"
);

alloy::sol!(
    #[sol(all_derives, abi)]
    "interfaces/IRoyalties.sol"
);

#[cfg(test)]
mod tests {
    /// The committed ABI JSON (for dApp developers) matches the Solidity interfaces.
    /// `TRIBUTARY_WRITE_ABI=1 cargo test -p tributary-precompiles` rewrites it.
    #[test]
    fn exported_abi_is_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("abi");
        for (name, abi) in [
            ("IAttribution.json", super::IAttribution::abi::contract()),
            ("IRoyalties.json", super::IRoyalties::abi::contract()),
        ] {
            let json =
                serde_json::to_string_pretty(&abi.items().collect::<Vec<_>>()).unwrap() + "\n";
            let path = dir.join(name);
            if std::env::var_os("TRIBUTARY_WRITE_ABI").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &json).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(committed, json, "{name} is stale: rerun with TRIBUTARY_WRITE_ABI=1");
        }
    }
}

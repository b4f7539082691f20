//! The dev accounts: the first ten of `test test ... junk`, as anvil and hardhat derive them.

use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};

/// The dev mnemonic.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Account `index` of the dev mnemonic (`m/44'/60'/0'/0/index`).
pub fn dev_signer(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)
        .expect("valid derivation index")
        .build()
        .expect("the dev mnemonic is valid")
}

/// The banner `node --dev` prints: accounts and keys.
pub fn banner() -> String {
    let mut out = String::from("Dev accounts (10000 OPEN each):\n");
    for i in 0..10 {
        let signer = dev_signer(i);
        let key = alloy::primitives::hex::encode_prefixed(signer.to_bytes());
        out.push_str(&format!("  ({i}) {} {key}\n", signer.address()));
    }
    out.push_str(&format!("Mnemonic: {DEV_MNEMONIC}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_account_is_the_well_known_one() {
        assert_eq!(
            dev_signer(0).address().to_checksum(None),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            dev_signer(9).address().to_checksum(None),
            "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
        );
    }
}

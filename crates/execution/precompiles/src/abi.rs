//! The precompiles' ABI, bound from the Solidity interfaces: they are the one source of truth.

#![allow(missing_docs)]

alloy::sol!(
    #[sol(all_derives)]
    "interfaces/IAttribution.sol"
);

alloy::sol!(
    #[sol(all_derives)]
    "interfaces/IRoyalties.sol"
);

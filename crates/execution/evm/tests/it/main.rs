//! Execution tests: the precompiles inside the OP EVM.

mod harness;
mod precompiles;

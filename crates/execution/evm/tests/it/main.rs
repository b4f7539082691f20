//! Execution tests: the precompiles inside the OP EVM.

mod batched;
mod harness;
mod precompiles;

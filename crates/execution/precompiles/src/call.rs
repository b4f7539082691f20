//! One precompile call: calldata, caller, value, and state access metered like the EVM meters
//! the same work.

use crate::gas;
use alloy::sol_types::SolError;
use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Address, B256, Bytes, Log, LogData, U256};
use revm::precompile::{PrecompileError, PrecompileHalt, PrecompileOutput, PrecompileResult};

/// Why a call stops early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Revert with this data (an ABI-encoded custom error, or empty for bad calldata).
    Revert(Bytes),
    /// Out of gas: consumes everything, as the EVM does.
    OutOfGas,
    /// The database failed: the block cannot be executed.
    Fatal(String),
}

impl<E: SolError> From<E> for Stop {
    fn from(err: E) -> Self {
        Self::Revert(err.abi_encode().into())
    }
}

pub(crate) type Result<T> = std::result::Result<T, Stop>;

/// State access for one call, charging gas as it goes.
pub(crate) struct Call<'a> {
    input: PrecompileInput<'a>,
    used: u64,
}

impl<'a> Call<'a> {
    pub(crate) fn new(input: PrecompileInput<'a>) -> Self {
        Self { input, used: 0 }
    }

    pub(crate) fn data(&self) -> &[u8] {
        self.input.data
    }

    pub(crate) fn caller(&self) -> Address {
        self.input.caller
    }

    pub(crate) fn value(&self) -> U256 {
        self.input.value
    }

    pub(crate) fn is_static(&self) -> bool {
        self.input.is_static
    }

    pub(crate) fn is_direct(&self) -> bool {
        self.input.is_direct_call()
    }

    pub(crate) fn block_number(&self) -> u64 {
        self.input.internals.block_number().saturating_to()
    }

    pub(crate) fn charge(&mut self, amount: u64) -> Result<()> {
        self.used = self.used.saturating_add(amount);
        if self.used > self.input.gas { Err(Stop::OutOfGas) } else { Ok(()) }
    }

    /// SLOAD: 2100 cold, 100 warm.
    pub(crate) fn sload(&mut self, address: Address, slot: U256) -> Result<U256> {
        let load = self.input.internals.sload(address, slot).map_err(fatal)?;
        self.charge(if load.is_cold { gas::COLD_SLOAD } else { gas::WARM_ACCESS })?;
        Ok(load.data)
    }

    /// SSTORE, priced as EIP-2200 with EIP-2929's cold surcharge; no refunds are given.
    pub(crate) fn sstore(&mut self, address: Address, slot: U256, value: U256) -> Result<()> {
        let store = self.input.internals.sstore(address, slot, value).map_err(fatal)?;
        let r = &store.data;
        let mut cost = if r.new_value == r.present_value {
            gas::WARM_ACCESS
        } else if r.original_value == r.present_value {
            if r.original_value.is_zero() { gas::SSTORE_SET } else { gas::SSTORE_RESET }
        } else {
            gas::WARM_ACCESS
        };
        if store.is_cold {
            cost += gas::COLD_SLOAD;
        }
        self.charge(cost)
    }

    /// LOG: 375 + 375 per topic + 8 per data byte.
    pub(crate) fn log(&mut self, address: Address, data: LogData) -> Result<()> {
        self.charge(gas::log_cost(data.topics().len(), data.data.len()))?;
        self.input.internals.log(Log { address, data });
        Ok(())
    }

    /// Moves `amount` from `from` (one of the precompile accounts) to `to`, without running
    /// any code at `to`. Priced as an account access, plus account creation when `to` was
    /// empty: state growth costs what CALL charges for it.
    pub(crate) fn pay(&mut self, from: Address, to: Address, amount: U256) -> Result<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let (cold, empty) = {
            let load = self.input.internals.load_account(to).map_err(fatal)?;
            (load.is_cold, load.data.is_empty())
        };
        let mut cost = if cold { gas::COLD_ACCOUNT_ACCESS } else { gas::WARM_ACCESS };
        if empty {
            cost += gas::NEW_ACCOUNT;
        }
        self.charge(cost)?;
        match self.input.internals.transfer(from, to, amount).map_err(fatal)? {
            None => Ok(()),
            // Settlement checks funds first, so this is a bug; a revert keeps it from halting
            // block production, which a fatal error would.
            Some(err) => {
                tracing::error!(target: "precompiles", %from, %to, %amount, ?err, "payout failed");
                Err(Stop::Revert(Bytes::new()))
            }
        }
    }

    /// Finishes the call: success with `output`, or the stop reason.
    pub(crate) fn finish(self, result: Result<Bytes>) -> PrecompileResult {
        let reservoir = self.input.reservoir;
        match result {
            Ok(output) => Ok(PrecompileOutput::new(self.used, output, reservoir)),
            Err(Stop::Revert(data)) => {
                Ok(PrecompileOutput::revert(self.used.min(self.input.gas), data, reservoir))
            }
            Err(Stop::OutOfGas) => Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir)),
            Err(Stop::Fatal(message)) => Err(PrecompileError::Fatal(message)),
        }
    }
}

fn fatal(err: impl std::fmt::Display) -> Stop {
    Stop::Fatal(err.to_string())
}

/// A slot key from a hash.
pub(crate) fn slot(hash: B256) -> U256 {
    U256::from_be_bytes(hash.0)
}

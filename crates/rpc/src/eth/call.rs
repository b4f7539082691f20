//! `eth_call` and `eth_estimateGas`.

use super::EthHandler;
use crate::RpcError;
use alloy::{
    eips::BlockId,
    rpc::types::{BlockOverrides, TransactionRequest, state::StateOverride},
};
use alloy_evm::{
    EvmEnv,
    overrides::{apply_block_overrides, apply_state_overrides},
    rpc::TryIntoTxEnv,
};
use alloy_primitives::Bytes;
use op_revm::OpSpecId;
use revm::{
    context::{TxEnv, result::ExecutionResult},
    database::CacheDB,
};
use tributary_storage::StateProvider;

type CallDb = CacheDB<StateProvider>;

/// What one run of a call gave.
enum Outcome {
    Success { gas_used: u64, output: Bytes },
    Revert(Bytes),
    Halt(String),
}

impl EthHandler {
    /// Environment and database for a call at `block`, overrides applied.
    fn call_setup(
        &self,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> Result<(EvmEnv<OpSpecId>, CallDb), RpcError> {
        let number = self.resolve_id(block)?;
        let pending = self.pending_for(block);
        let header = match &pending {
            // The block being built: its environment, over the head's state.
            Some(pending) => pending.header().clone(),
            None => self.sealed_header(number)?,
        };
        let mut env = self.ctx.evm.evm_env(&header);
        // As geth and reth do for calls: no nonce or base fee rules, no fee charged.
        env.cfg_env.disable_nonce_check = true;
        env.cfg_env.disable_base_fee = true;
        env.cfg_env.disable_eip3607 = true;
        env.cfg_env.disable_block_gas_limit = true;
        env.cfg_env.disable_fee_charge = true;
        let mut db = CacheDB::new(self.ctx.db.state_at(number));
        if let Some(pending) = &pending {
            pending.overlay(&mut db)?;
        }
        if let Some(overrides) = state_overrides {
            apply_state_overrides(overrides, &mut db)
                .map_err(|err| RpcError::InvalidParams(format!("state override: {err}")))?;
        }
        if let Some(overrides) = block_overrides {
            apply_block_overrides(*overrides, &mut db, &mut env.block_env);
        }
        Ok((env, db))
    }

    fn gas_cap(&self, env: &EvmEnv<OpSpecId>) -> u64 {
        self.ctx.config.gas_cap.min(env.block_env.gas_limit)
    }

    fn run(
        &self,
        db: &mut CallDb,
        env: &EvmEnv<OpSpecId>,
        request: &TransactionRequest,
        gas: u64,
    ) -> Result<Outcome, RpcError> {
        let mut request = request.clone();
        request.gas = Some(gas);
        let base: TxEnv = TryIntoTxEnv::<TxEnv, OpSpecId, _>::try_into_tx_env(request, env)
            .map_err(|err| RpcError::InvalidParams(err.to_string()))?;
        let tx = tributary_evm::call_tx(base);
        let result = self
            .ctx
            .evm
            .transact(&mut *db, env.clone(), tx)
            .map_err(|err| RpcError::Execution(err.to_string()))?;
        Ok(match result.result {
            ExecutionResult::Success { output, gas, .. } => {
                Outcome::Success { gas_used: gas.tx_gas_used(), output: output.into_data() }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert(output),
            ExecutionResult::Halt { reason, .. } => Outcome::Halt(format!("{reason:?}")),
        })
    }

    pub(crate) fn call_inner(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> Result<Bytes, RpcError> {
        let (env, mut db) = self.call_setup(block, state_overrides, block_overrides)?;
        let gas = request.gas.unwrap_or(u64::MAX).min(self.gas_cap(&env));
        match self.run(&mut db, &env, &request, gas)? {
            Outcome::Success { output, .. } => Ok(output),
            Outcome::Revert(data) => Err(RpcError::reverted(data)),
            Outcome::Halt(reason) => {
                Err(RpcError::Execution(format!("execution halted: {reason}")))
            }
        }
    }

    /// Binary search for the least gas limit that succeeds, between what one run used and the
    /// cap.
    pub(super) fn estimate_gas_inner(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> Result<u64, RpcError> {
        let (env, mut db) = self.call_setup(block, state_overrides, None)?;
        let cap = request.gas.unwrap_or(u64::MAX).min(self.gas_cap(&env));
        let used = match self.run(&mut db, &env, &request, cap)? {
            Outcome::Success { gas_used, .. } => gas_used,
            Outcome::Revert(data) => return Err(RpcError::reverted(data)),
            Outcome::Halt(reason) => {
                return Err(RpcError::Execution(format!(
                    "gas required exceeds allowance ({cap}): {reason}"
                )));
            }
        };
        let mut succeeds = |gas: u64| -> Result<bool, RpcError> {
            Ok(matches!(self.run(&mut db, &env, &request, gas), Ok(Outcome::Success { .. })))
        };
        let mut hi = cap;
        let mut lo = used.saturating_sub(1);
        // Most calls need what they used plus the 1/64 kept back by CALL: try that first.
        let optimistic = used.saturating_mul(64) / 63;
        if optimistic < hi {
            if succeeds(optimistic)? {
                hi = optimistic;
            } else {
                lo = optimistic;
            }
        }
        if used < hi && succeeds(used)? {
            return Ok(used);
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if succeeds(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }
}

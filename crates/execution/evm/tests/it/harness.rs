//! An OP EVM with Tributary's precompiles over an in-memory database, for precompile tests:
//! gas is free (base fee and gas price zero) so balance checks are exact to the wei.

use alloy::{
    primitives::{Address, Bytes, Log, TxKind, U256},
    sol_types::{SolCall, SolInterface},
};
use alloy_evm::EvmEnv;
use op_revm::{OpHaltReason, OpSpecId};
use revm::{
    DatabaseCommit, DatabaseRef,
    context::{TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    state::AccountInfo,
};
use std::sync::Arc;
use tributary_chainspec::ChainSpec;
use tributary_evm::EvmConfig;
use tributary_precompiles::{ATTRIBUTION_ADDRESS, IAttribution, IRoyalties, ROYALTIES_ADDRESS};

pub(crate) const OPEN: u128 = 1_000_000_000_000_000_000;

pub(crate) struct Harness {
    pub(crate) evm: EvmConfig,
    pub(crate) db: CacheDB<EmptyDB>,
    pub(crate) env: EvmEnv<OpSpecId>,
    pub(crate) chain: Arc<ChainSpec>,
}

/// What one transaction did.
pub(crate) struct Outcome {
    pub(crate) result: ExecutionResult<OpHaltReason>,
}

impl Outcome {
    pub(crate) fn success(&self) -> bool {
        self.result.is_success()
    }

    pub(crate) fn output(&self) -> Bytes {
        self.result.output().cloned().unwrap_or_default()
    }

    pub(crate) fn logs(&self) -> &[Log] {
        self.result.logs()
    }

    pub(crate) fn gas_used(&self) -> u64 {
        self.result.tx_gas_used()
    }

    /// The revert data, panicking when the call did not revert.
    pub(crate) fn revert_data(&self) -> Bytes {
        match &self.result {
            ExecutionResult::Revert { output, .. } => output.clone(),
            other => panic!("expected a revert, got {other:?}"),
        }
    }

    pub(crate) fn attribution_error(&self) -> IAttribution::IAttributionErrors {
        IAttribution::IAttributionErrors::abi_decode(&self.revert_data())
            .expect("an IAttribution error")
    }

    pub(crate) fn royalties_error(&self) -> IRoyalties::IRoyaltiesErrors {
        IRoyalties::IRoyaltiesErrors::abi_decode(&self.revert_data()).expect("an IRoyalties error")
    }

    pub(crate) fn decode<C: SolCall>(&self) -> C::Return {
        assert!(self.success(), "call failed: {:?}", self.result);
        C::abi_decode_returns(&self.output()).unwrap()
    }
}

impl Harness {
    pub(crate) fn new(funded: &[Address]) -> Self {
        let chain = Arc::new(ChainSpec::dev());
        let evm = EvmConfig::new(chain.clone());
        let mut header = chain.genesis_header().inner().clone();
        header.number = 1;
        header.timestamp = 100;
        header.base_fee_per_gas = Some(0);
        let env = evm.evm_env(&header);
        let mut db = CacheDB::new(EmptyDB::default());
        for address in funded {
            db.insert_account_info(
                *address,
                AccountInfo { balance: U256::from(1_000 * OPEN), ..Default::default() },
            );
        }
        // As the block executor does on activation.
        for address in [ATTRIBUTION_ADDRESS, ROYALTIES_ADDRESS] {
            db.insert_account_info(address, AccountInfo { nonce: 1, ..Default::default() });
        }
        Self { evm, db, env, chain }
    }

    pub(crate) fn balance(&self, address: Address) -> U256 {
        self.db.basic_ref(address).unwrap().map(|a| a.balance).unwrap_or_default()
    }

    pub(crate) fn send(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        data: impl Into<Bytes>,
    ) -> Outcome {
        let nonce = self.db.basic_ref(from).unwrap().map(|a| a.nonce).unwrap_or_default();
        let base = TxEnv {
            caller: from,
            gas_limit: 30_000_000,
            gas_price: 0,
            kind: TxKind::Call(to),
            value,
            data: data.into(),
            nonce,
            chain_id: Some(901),
            ..Default::default()
        };
        self.run(base)
    }

    pub(crate) fn deploy(&mut self, from: Address, init: Bytes, value: U256) -> Address {
        let nonce = self.db.basic_ref(from).unwrap().map(|a| a.nonce).unwrap_or_default();
        let base = TxEnv {
            caller: from,
            gas_limit: 30_000_000,
            kind: TxKind::Create,
            value,
            data: init,
            nonce,
            chain_id: Some(901),
            ..Default::default()
        };
        let outcome = self.run(base);
        assert!(outcome.success(), "deploy failed: {:?}", outcome.result);
        from.create(nonce)
    }

    fn run(&mut self, base: TxEnv) -> Outcome {
        let tx = tributary_evm::call_tx(base);
        let result =
            self.evm.transact(&mut self.db, self.env.clone(), tx).expect("valid transaction");
        self.db.commit(result.state);
        Outcome { result: result.result }
    }

    pub(crate) fn attribution(
        &mut self,
        from: Address,
        value: U256,
        call: impl SolCall,
    ) -> Outcome {
        self.send(from, ATTRIBUTION_ADDRESS, value, call.abi_encode())
    }

    pub(crate) fn royalties(&mut self, from: Address, value: U256, call: impl SolCall) -> Outcome {
        self.send(from, ROYALTIES_ADDRESS, value, call.abi_encode())
    }
}

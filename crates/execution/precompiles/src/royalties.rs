//! The Royalties precompile: escrow, allowances, payouts and the general splitter.

use crate::{
    abi::{
        IAttribution,
        IRoyalties::{self as abi, IRoyaltiesCalls as Calls},
    },
    call::{Call, Result, Stop},
    layout::{
        ALLOWANCE, EARNINGS, ESCROW, ROYALTIES_ADDRESS as SELF, address_key, mapping, nested,
    },
    settle::Payout,
};
use alloy::sol_types::{SolEvent, SolInterface, SolValue};
use alloy_primitives::{Address, Bytes, U256};
use std::collections::BTreeMap;

/// Most recipients of one `split`.
pub const MAX_SPLIT_RECIPIENTS: usize = 64;

pub(crate) fn run(call: &mut Call<'_>) -> Result<Bytes> {
    let Ok(decoded) = Calls::abi_decode(call.data()) else {
        return Err(Stop::Revert(Bytes::new()));
    };
    let payable = matches!(decoded, Calls::deposit(_) | Calls::split(_));
    let view = matches!(decoded, Calls::escrowOf(_) | Calls::allowance(_) | Calls::earnings(_));
    if !payable && !call.value().is_zero() {
        return Err(abi::NotPayable {}.into());
    }
    if !view && call.is_static() {
        return Err(abi::WriteInStaticCall {}.into());
    }
    Ok(match decoded {
        Calls::deposit(_) => {
            deposit(call)?;
            Bytes::new()
        }
        Calls::withdraw(c) => {
            withdraw(call, c.amount)?;
            Bytes::new()
        }
        Calls::approve(c) => {
            approve(call, c.modelId, c.cap)?;
            Bytes::new()
        }
        Calls::split(c) => {
            split(call, &c.recipients, &c.weights)?;
            Bytes::new()
        }
        Calls::escrowOf(c) => {
            let at = mapping(call, address_key(c.account), ESCROW)?;
            call.sload(SELF, at)?.abi_encode().into()
        }
        Calls::allowance(c) => {
            let at = allowance_slot(call, c.payer, c.modelId)?;
            call.sload(SELF, at)?.abi_encode().into()
        }
        Calls::earnings(c) => {
            let at = mapping(call, address_key(c.account), EARNINGS)?;
            call.sload(SELF, at)?.abi_encode().into()
        }
    })
}

fn emit<E: SolEvent>(call: &mut Call<'_>, event: &E) -> Result<()> {
    call.log(SELF, event.encode_log_data())
}

/// Where `payer`'s allowance for `model` is.
pub(crate) fn allowance_slot(call: &mut Call<'_>, payer: Address, model: u64) -> Result<U256> {
    let outer = mapping(call, address_key(payer), ALLOWANCE)?;
    nested(call, U256::from(model), outer)
}

/// Where `account`'s escrow is.
pub(crate) fn escrow_slot(call: &mut Call<'_>, account: Address) -> Result<U256> {
    mapping(call, address_key(account), ESCROW)
}

fn deposit(call: &mut Call<'_>) -> Result<()> {
    let amount = call.value();
    if amount.is_zero() {
        return Err(abi::ZeroAmount {}.into());
    }
    let account = call.caller();
    let at = mapping(call, address_key(account), ESCROW)?;
    let escrow = call.sload(SELF, at)?;
    call.sstore(SELF, at, escrow.saturating_add(amount))?;
    emit(call, &abi::Deposited { account, amount })
}

fn withdraw(call: &mut Call<'_>, amount: U256) -> Result<()> {
    if amount.is_zero() {
        return Err(abi::ZeroAmount {}.into());
    }
    let account = call.caller();
    let at = mapping(call, address_key(account), ESCROW)?;
    let escrow = call.sload(SELF, at)?;
    if escrow < amount {
        return Err(abi::InsufficientEscrow { account, amount, escrow }.into());
    }
    call.sstore(SELF, at, escrow - amount)?;
    call.pay(SELF, account, amount)?;
    emit(call, &abi::Withdrawn { account, amount })
}

fn approve(call: &mut Call<'_>, model: u64, cap: U256) -> Result<()> {
    let payer = call.caller();
    let at = allowance_slot(call, payer, model)?;
    call.sstore(SELF, at, cap)?;
    emit(call, &abi::Approved { payer, modelId: model, cap })
}

fn split(call: &mut Call<'_>, recipients: &[Address], weights: &[u32]) -> Result<()> {
    if recipients.is_empty() {
        return Err(abi::EmptySplit {}.into());
    }
    if recipients.len() != weights.len() {
        return Err(abi::LengthMismatch {
            recipients: U256::from(recipients.len()),
            weights: U256::from(weights.len()),
        }
        .into());
    }
    if recipients.len() > MAX_SPLIT_RECIPIENTS {
        return Err(abi::TooManyRecipients {
            count: U256::from(recipients.len()),
            max: U256::from(MAX_SPLIT_RECIPIENTS),
        }
        .into());
    }
    if recipients.iter().any(|r| r.is_zero()) {
        return Err(abi::ZeroAddress {}.into());
    }
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return Err(abi::ZeroTotalWeight {}.into());
    }
    let amount = call.value();
    let mut credits: BTreeMap<Address, U256> = BTreeMap::new();
    let mut paid = U256::ZERO;
    for (i, (recipient, weight)) in recipients.iter().zip(weights).enumerate() {
        let share = if i + 1 == recipients.len() {
            amount - paid
        } else {
            amount * U256::from(*weight) / U256::from(total)
        };
        paid += share;
        *credits.entry(*recipient).or_default() += share;
    }
    for (recipient, share) in credits {
        credit(call, SELF, recipient, share)?;
    }
    let payer = call.caller();
    emit(
        call,
        &abi::Split { payer, amount, recipients: recipients.to_vec(), weights: weights.to_vec() },
    )
}

/// Pays `amount` from `from` to `to` and adds it to `to`'s lifetime earnings.
fn credit(call: &mut Call<'_>, from: Address, to: Address, amount: U256) -> Result<()> {
    if amount.is_zero() {
        return Ok(());
    }
    call.pay(from, to, amount)?;
    let at = mapping(call, address_key(to), EARNINGS)?;
    let earned = call.sload(SELF, at)?;
    call.sstore(SELF, at, earned.saturating_add(amount))
}

/// Takes `fee` from `payer`'s escrow within its allowance for `model`, checking both first.
pub(crate) fn charge_escrow(
    call: &mut Call<'_>,
    payer: Address,
    model: u64,
    fee: U256,
) -> Result<()> {
    let escrow_at = mapping(call, address_key(payer), ESCROW)?;
    let escrow = call.sload(SELF, escrow_at)?;
    let allowance_at = allowance_slot(call, payer, model)?;
    let allowance = call.sload(SELF, allowance_at)?;
    if escrow < fee {
        return Err(IAttribution::InsufficientEscrow { payer, fee, escrow }.into());
    }
    if allowance < fee {
        return Err(
            IAttribution::AllowanceExceeded { payer, modelId: model, fee, allowance }.into()
        );
    }
    call.sstore(SELF, escrow_at, escrow - fee)?;
    call.sstore(SELF, allowance_at, allowance - fee)
}

/// Payouts of a settlement: every `RoyaltyPaid` event is emitted as it is added, and each
/// recipient is credited once at the end, however many inferences of a batch paid it.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    owed: BTreeMap<Address, U256>,
}

impl Ledger {
    pub(crate) fn add(
        &mut self,
        call: &mut Call<'_>,
        inference: u64,
        payouts: Vec<Payout>,
    ) -> Result<()> {
        for payout in payouts {
            let event = abi::RoyaltyPaid {
                inferenceId: inference,
                recipient: payout.recipient,
                role: payout.role as u8,
                amount: payout.amount,
            };
            emit(call, &event)?;
            *self.owed.entry(payout.recipient).or_default() += payout.amount;
        }
        Ok(())
    }

    /// Pays everything owed from `from`.
    pub(crate) fn settle(self, call: &mut Call<'_>, from: Address) -> Result<()> {
        for (recipient, amount) in self.owed {
            credit(call, from, recipient, amount)?;
        }
        Ok(())
    }
}

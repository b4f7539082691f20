//! The split of one inference fee: pure arithmetic, no state.

use alloy_primitives::{Address, U256};

/// Who a payout is for, as `RoyaltyPaid.role` encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The model's owner.
    Creator = 0,
    /// A data contributor.
    Data = 1,
    /// The operator who recorded the inference.
    Operator = 2,
    /// The protocol treasury.
    Protocol = 3,
}

/// One credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    /// Who is paid.
    pub recipient: Address,
    /// In what role.
    pub role: Role,
    /// How much, in wei.
    pub amount: U256,
}

/// What the split needs to know.
#[derive(Debug, Clone, Copy)]
pub struct RoyaltySplit<'a> {
    /// The fee to divide.
    pub fee: U256,
    /// Chain-wide protocol share, basis points.
    pub protocol_bps: u16,
    /// The model's operator share, basis points.
    pub operator_bps: u16,
    /// The model's data share, basis points.
    pub data_bps: u16,
    /// Receives the protocol share.
    pub treasury: Address,
    /// Receives the operator share.
    pub operator: Address,
    /// Receives the rest.
    pub creator: Address,
    /// Contributors and their attribution weights.
    pub contributors: &'a [(Address, u32)],
}

impl RoyaltySplit<'_> {
    /// The payouts, zero amounts left out. They add up to `fee` exactly when
    /// `protocol_bps + operator_bps + data_bps <= 10000` and `fee <= MAX_FEE`: every share is rounded down and the
    /// creator takes the rest. With no contributors the data share goes to the creator.
    pub fn payouts(&self) -> Vec<Payout> {
        let bps = |share: u16| self.fee * U256::from(share) / U256::from(10_000u64);
        let protocol = bps(self.protocol_bps);
        let operator = bps(self.operator_bps);
        let mut out = Vec::with_capacity(self.contributors.len() + 3);
        let mut paid = protocol + operator;
        let total_weight: u64 = self.contributors.iter().map(|(_, w)| u64::from(*w)).sum();
        if total_weight > 0 {
            let data = bps(self.data_bps);
            for (contributor, weight) in self.contributors {
                let amount = data * U256::from(*weight) / U256::from(total_weight);
                paid += amount;
                out.push(Payout { recipient: *contributor, role: Role::Data, amount });
            }
        }
        out.push(Payout { recipient: self.operator, role: Role::Operator, amount: operator });
        out.push(Payout { recipient: self.treasury, role: Role::Protocol, amount: protocol });
        out.push(Payout {
            recipient: self.creator,
            role: Role::Creator,
            amount: self.fee.saturating_sub(paid),
        });
        out.retain(|p| !p.amount.is_zero());
        out
    }
}

/// The largest fee settlement accepts: 2^192 wei, far above any supply, low enough that
/// `fee * bps` and `data share * weight` cannot overflow 256 bits (U256 arithmetic wraps).
pub const MAX_FEE: U256 = U256::from_limbs([0, 0, 0, 1]);

/// `tokens * pricePerKiloToken / 1000`, rounded down; `None` above [`MAX_FEE`] (a model owner
/// can set any price, so this bounds what the split multiplies).
pub fn inference_fee(tokens: u64, price_per_kilo_token: U256) -> Option<U256> {
    U256::from(tokens)
        .checked_mul(price_per_kilo_token)
        .map(|v| v / U256::from(1000u64))
        .filter(|fee| *fee <= MAX_FEE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_example() {
        // 0.002 OPEN per 1k tokens, 12 calls of 800 tokens: 0.0192 OPEN.
        let price = U256::from(2_000_000_000_000_000u64);
        let per_call = inference_fee(800, price).unwrap();
        assert_eq!(per_call * U256::from(12), U256::from(19_200_000_000_000_000u64));
    }

    #[test]
    fn fees_past_the_bound_are_refused() {
        assert_eq!(inference_fee(1, U256::MAX), None);
        assert_eq!(inference_fee(1000, MAX_FEE), Some(MAX_FEE));
        assert_eq!(inference_fee(1001, MAX_FEE), None);
    }

    #[test]
    fn no_attribution_gives_the_data_share_to_the_creator() {
        let split = RoyaltySplit {
            fee: U256::from(10_000),
            protocol_bps: 500,
            operator_bps: 1_000,
            data_bps: 4_000,
            treasury: Address::with_last_byte(1),
            operator: Address::with_last_byte(2),
            creator: Address::with_last_byte(3),
            contributors: &[],
        };
        let payouts = split.payouts();
        let creator = payouts.iter().find(|p| p.role == Role::Creator).unwrap();
        assert_eq!(creator.amount, U256::from(8_500));
    }

    proptest! {
        #[test]
        fn split_conserves_every_wei(
            fee in any::<u128>(),
            protocol_bps in 0u16..=2_000,
            operator_bps in 0u16..=4_000,
            data_bps in 0u16..=4_000,
            weights in proptest::collection::vec(1u32..=u32::MAX, 0..64),
        ) {
            let contributors: Vec<(Address, u32)> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| (Address::with_last_byte(10 + i as u8), *w))
                .collect();
            let split = RoyaltySplit {
                fee: U256::from(fee),
                protocol_bps,
                operator_bps,
                data_bps,
                treasury: Address::with_last_byte(1),
                operator: Address::with_last_byte(2),
                creator: Address::with_last_byte(3),
                contributors: &contributors,
            };
            let payouts = split.payouts();
            let total: U256 = payouts.iter().map(|p| p.amount).sum();
            prop_assert_eq!(total, U256::from(fee));
            let data: U256 = payouts.iter().filter(|p| p.role == Role::Data).map(|p| p.amount).sum();
            prop_assert!(data <= U256::from(fee) * U256::from(data_bps) / U256::from(10_000));
        }
    }
}

//! Exact refunds: what a returned unit gives back is its share of what was
//! actually paid for its line, after every discount.
//!
//! # Where the amounts come from
//!
//! An order line's `paid` is already net of line discounts and of its share
//! of order-level discounts, allocated by the promotion engine with
//! [`crate::money::allocate`] (largest remainder over the lines' amounts).
//! A till receipt is priced here the same way ([`paid_per_line`]): each
//! order-level discount, in the order it was applied (stacked), is spread
//! over what the lines still cost with the same `allocate`. So a web order
//! and a till sale of the same basket refund the same.
//!
//! # Units of one line
//!
//! A line of `n` units paid `P` is split into `n` unit shares by the same
//! largest-remainder rule with equal weights: every unit gets `P / n`
//! rounded down to the minor unit, and the first `P mod n` units one minor
//! unit more. Returns take units in order: a return of `q` units after `k`
//! units were already returned refunds `cum(k + q) - cum(k)`, where
//! `cum(k)` is the sum of the first `k` shares. Hence:
//!
//! - returning all units, in any number of returns, refunds exactly `P`;
//! - any `k` units refund at most `cum(k)` (shares never increase), so no
//!   combination of returns, even with a rejected one in between, refunds
//!   more than was paid;
//! - a partial return never refunds a rounded-up unit price (three units
//!   for 100.00 refund 33.34, 33.33, 33.33, not 33.34 each).
//!
//! # A return below a coupon's minimum basket
//!
//! Say "-50 PLN on baskets from 300 PLN" was applied to two lines of 200
//! PLN: each paid 175. Returning one refunds 175, and the kept line stays
//! at 175 although the basket is now below 300. We do not claw the
//! discount back: the refund is what was paid for the returned line, the
//! customer keeps what they paid for the other, and the retailer never
//! refunds more than it received. Clawing back would make a refund depend
//! on the order in which lines come back and on a coupon's fine print, and
//! would make the kiosk's quote differ from the refund. This is the usual
//! practice of large fashion retailers; it is documented in the policy
//! answer (`coupon_minimum_rule`).

use crate::money::{Currency, Money, MoneyError, allocate};
use std::fmt;

/// Why a refund could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundError {
    /// More units than the line has (from + count > quantity).
    TooManyUnits {
        line_quantity: u32,
        from: u32,
        count: u32,
    },
    /// A discount larger than what the lines still cost, or amounts in two
    /// currencies.
    Money(MoneyError),
}

impl fmt::Display for RefundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefundError::TooManyUnits {
                line_quantity,
                from,
                count,
            } => {
                write!(
                    f,
                    "units {from}..{} of a line of {line_quantity}",
                    from + count
                )
            }
            RefundError::Money(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RefundError {}

impl From<MoneyError> for RefundError {
    fn from(e: MoneyError) -> Self {
        RefundError::Money(e)
    }
}

/// The sum of the first `units` unit shares of a line of `quantity` units
/// that paid `paid` (see the module docs).
pub fn cumulative(paid: Money, quantity: u32, units: u32) -> Result<Money, RefundError> {
    if units > quantity {
        return Err(RefundError::TooManyUnits {
            line_quantity: quantity,
            from: 0,
            count: units,
        });
    }
    if quantity == 0 {
        return Ok(Money::zero(paid.currency()));
    }
    let total = i128::from(paid.to_minor_units());
    let (n, k) = (i128::from(quantity), i128::from(units));
    let minor = k * (total / n) + k.min(total % n);
    let minor = i64::try_from(minor).map_err(|_| MoneyError::OutOfRange)?;
    Ok(Money::from_minor_units(minor, paid.currency())?)
}

/// The refund of `count` units of a line after `from` units of it were
/// already returned.
pub fn refund_for_units(
    paid: Money,
    quantity: u32,
    from: u32,
    count: u32,
) -> Result<Money, RefundError> {
    let end = from.checked_add(count).filter(|end| *end <= quantity);
    let Some(end) = end else {
        return Err(RefundError::TooManyUnits {
            line_quantity: quantity,
            from,
            count,
        });
    };
    Ok(cumulative(paid, quantity, end)?.checked_sub(&cumulative(paid, quantity, from)?)?)
}

/// One line of a till receipt before order-level discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub unit_price: Money,
    pub quantity: u32,
    /// A discount on this line alone (a markdown, a line coupon).
    pub line_discount: Money,
}

/// What each line of a receipt paid: its price times quantity, less its own
/// discount, less its share of each order-level discount in turn (stacked:
/// the second discount is spread over what the lines cost after the first),
/// allocated exactly as the promotion engine allocates.
pub fn paid_per_line(
    currency: Currency,
    lines: &[ReceiptLine],
    order_discounts: &[Money],
) -> Result<Vec<Money>, RefundError> {
    let mut nets = Vec::with_capacity(lines.len());
    for line in lines {
        let gross = Money::from_minor_units(line.unit_price.to_minor_units(), currency)?.times(
            crate::quantity::Quantity::parse_with_max(i64::from(line.quantity), u32::MAX)
                .map_err(|_| MoneyError::OutOfRange)?,
        )?;
        let net = gross.checked_sub(&line.line_discount)?;
        if net.is_negative() {
            return Err(RefundError::Money(MoneyError::TotalExceedsWeights));
        }
        nets.push(net);
    }
    for discount in order_discounts {
        let shares = allocate(*discount, &nets)?;
        for (net, share) in nets.iter_mut().zip(shares) {
            *net = net.checked_sub(&share)?;
        }
    }
    Ok(nets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pln(amount: &str) -> Money {
        Money::parse_non_negative(amount, Currency::Pln).unwrap()
    }

    #[test]
    fn unit_shares_follow_the_same_largest_remainder_rule_as_allocate() {
        for (paid, quantity) in [
            ("100.00", 3),
            ("0.05", 7),
            ("59.99", 4),
            ("1.00", 1),
            ("0.00", 2),
        ] {
            let paid = pln(paid);
            let equal = vec![pln("1000.00"); quantity as usize];
            let shares = allocate(paid, &equal).unwrap();
            for units in 0..=quantity {
                let expected =
                    Money::sum(Currency::Pln, shares.iter().take(units as usize)).unwrap();
                assert_eq!(
                    cumulative(paid, quantity, units).unwrap(),
                    expected,
                    "{paid} / {quantity}, {units} units"
                );
            }
        }
    }

    #[test]
    fn a_partial_return_refunds_exact_unit_shares_and_never_a_rounded_up_price() {
        let paid = pln("100.00");
        assert_eq!(refund_for_units(paid, 3, 0, 1).unwrap(), pln("33.34"));
        assert_eq!(refund_for_units(paid, 3, 1, 1).unwrap(), pln("33.33"));
        assert_eq!(refund_for_units(paid, 3, 2, 1).unwrap(), pln("33.33"));
        assert_eq!(refund_for_units(paid, 3, 0, 2).unwrap(), pln("66.67"));
    }

    #[test]
    fn repeated_returns_of_a_whole_line_add_up_to_exactly_what_was_paid() {
        for (paid, quantity, splits) in [
            ("99.99", 4, vec![1, 1, 2]),
            ("10.00", 3, vec![2, 1]),
            ("0.07", 5, vec![1, 1, 1, 1, 1]),
        ] {
            let paid = pln(paid);
            let mut from = 0;
            let mut refunded = Money::zero(Currency::Pln);
            for count in splits {
                refunded = refunded
                    .checked_add(&refund_for_units(paid, quantity, from, count).unwrap())
                    .unwrap();
                from += count;
            }
            assert_eq!(refunded, paid);
        }
    }

    #[test]
    fn returning_more_units_than_remain_is_refused() {
        let paid = pln("30.00");
        assert!(matches!(
            refund_for_units(paid, 2, 1, 2),
            Err(RefundError::TooManyUnits { .. })
        ));
        assert!(matches!(
            refund_for_units(paid, 2, 3, 0),
            Err(RefundError::TooManyUnits { .. })
        ));
        assert!(matches!(
            refund_for_units(paid, 2, u32::MAX, 1),
            Err(RefundError::TooManyUnits { .. })
        ));
    }

    #[test]
    fn no_mix_of_overlapping_returns_refunds_more_than_was_paid() {
        // A return of unit 1, then a return of units 1..3 after an earlier
        // one was rejected: still never above the line.
        let paid = pln("10.00");
        let a = refund_for_units(paid, 3, 1, 1).unwrap();
        let b = refund_for_units(paid, 3, 1, 2).unwrap();
        assert!(a.checked_add(&b).unwrap().compare(&paid).unwrap().is_le());
    }

    #[test]
    fn stacked_line_and_order_discounts_are_allocated_exactly_and_refunded_exactly() {
        // 2 x 59.99 tees with a 10.00 markdown, 1 x 249.99 dress, then a
        // 33.00 order coupon and a 20.00 voucher on top of it.
        let lines = [
            ReceiptLine {
                unit_price: pln("59.99"),
                quantity: 2,
                line_discount: pln("10.00"),
            },
            ReceiptLine {
                unit_price: pln("249.99"),
                quantity: 1,
                line_discount: pln("0.00"),
            },
        ];
        let paid = paid_per_line(Currency::Pln, &lines, &[pln("33.00"), pln("20.00")]).unwrap();
        let total = Money::sum(Currency::Pln, paid.iter()).unwrap();
        assert_eq!(total, pln("306.97"), "359.97 - 33.00 - 20.00");
        // First coupon: 33.00 over 109.98 and 249.99 -> 10.08 and 22.92
        // (largest remainder); then 20.00 over 99.90 and 227.07 -> 6.11 and 13.89.
        assert_eq!(paid, vec![pln("93.79"), pln("213.18")]);
        let both_tees = refund_for_units(paid[0], 2, 0, 1)
            .unwrap()
            .checked_add(&refund_for_units(paid[0], 2, 1, 1).unwrap())
            .unwrap();
        assert_eq!(both_tees, paid[0]);
        assert_eq!(refund_for_units(paid[0], 2, 0, 1).unwrap(), pln("46.90"));
    }

    #[test]
    fn a_discount_above_what_the_lines_cost_is_refused() {
        let lines = [ReceiptLine {
            unit_price: pln("10.00"),
            quantity: 1,
            line_discount: pln("0.00"),
        }];
        assert!(paid_per_line(Currency::Pln, &lines, &[pln("10.01")]).is_err());
        let lines = [ReceiptLine {
            unit_price: pln("10.00"),
            quantity: 1,
            line_discount: pln("10.01"),
        }];
        assert!(paid_per_line(Currency::Pln, &lines, &[]).is_err());
    }

    #[test]
    fn a_return_below_a_coupons_minimum_refunds_what_the_line_paid_without_claw_back() {
        // -50 on baskets from 300: two lines of 200 paid 175 each.
        let lines = [
            ReceiptLine {
                unit_price: pln("200.00"),
                quantity: 1,
                line_discount: pln("0.00"),
            },
            ReceiptLine {
                unit_price: pln("200.00"),
                quantity: 1,
                line_discount: pln("0.00"),
            },
        ];
        let paid = paid_per_line(Currency::Pln, &lines, &[pln("50.00")]).unwrap();
        assert_eq!(paid, vec![pln("175.00"), pln("175.00")]);
        assert_eq!(refund_for_units(paid[0], 1, 0, 1).unwrap(), pln("175.00"));
    }
}

//! Why a code does not apply, in words a cashier can read out.
//!
//! Every refusal has a stable machine `reason` (clients branch on it, as on a
//! problem `type`) and a `message` written for the person at the counter:
//! "valid only in the app", "minimum basket 200.00 PLN, the basket is
//! 150.00 PLN", "expired on 2026-11-30", "already used". The message is built
//! here and only here, so the till and the web shop say the same words.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use super::values::{Fulfilment, LoyaltyTier, Segment};
use crate::channel::Channel;
use crate::money::{Currency, Money};

/// One reason a promotion (reached through a code) does not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Refusal {
    /// No promotion has this code.
    UnknownCode,
    /// An operator paused the promotion.
    Paused,
    /// The validity window has not started; `from` is the local start.
    NotYetValid {
        from: String,
    },
    /// The validity window is over; `on` is its last local day.
    Expired {
        on: NaiveDate,
    },
    WrongChannel {
        allowed: BTreeSet<Channel>,
    },
    WrongCurrency {
        currency: Currency,
    },
    WrongFulfilment {
        allowed: BTreeSet<Fulfilment>,
    },
    SegmentOnly {
        segments: BTreeSet<Segment>,
    },
    /// `tiers` absent: any loyalty member.
    LoyaltyOnly {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tiers: Option<BTreeSet<LoyaltyTier>>,
    },
    /// The rule needs to know the customer (a per-customer limit, a first
    /// order), and the basket is a guest's.
    SignInRequired,
    NotFirstOrder {
        channels: BTreeSet<Channel>,
    },
    NoPriorPurchase {
        channels: BTreeSet<Channel>,
    },
    /// `whole_cart`: the minimum is measured on the whole basket (no target
    /// or exclusion narrowed it).
    MinimumBasket {
        minimum: Money,
        basket: Money,
        whole_cart: bool,
    },
    MinimumItems {
        minimum: u32,
        items: u32,
        whole_cart: bool,
    },
    NoQualifyingItems,
    /// A single-use code that has been redeemed.
    CodeUsed,
    CustomerLimitReached {
        limit: u32,
    },
    GlobalLimitReached {
        limit: u32,
    },
    /// An exclusive choice went to other promotions worth more.
    NotCombinable {
        with: Vec<String>,
    },
    /// Applies, but takes nothing off this basket (a fixed price above the
    /// current one, say).
    NoDiscount,
    /// Two codes of one promotion: only the first counts.
    DuplicatePromotion,
}

impl Refusal {
    /// The stable machine name (`wrong-channel`, `minimum-basket`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::UnknownCode => "unknown-code",
            Refusal::Paused => "paused",
            Refusal::NotYetValid { .. } => "not-yet-valid",
            Refusal::Expired { .. } => "expired",
            Refusal::WrongChannel { .. } => "wrong-channel",
            Refusal::WrongCurrency { .. } => "wrong-currency",
            Refusal::WrongFulfilment { .. } => "wrong-fulfilment",
            Refusal::SegmentOnly { .. } => "segment-only",
            Refusal::LoyaltyOnly { .. } => "loyalty-only",
            Refusal::SignInRequired => "sign-in-required",
            Refusal::NotFirstOrder { .. } => "not-first-order",
            Refusal::NoPriorPurchase { .. } => "no-prior-purchase",
            Refusal::MinimumBasket { .. } => "minimum-basket",
            Refusal::MinimumItems { .. } => "minimum-items",
            Refusal::NoQualifyingItems => "no-qualifying-items",
            Refusal::CodeUsed => "code-used",
            Refusal::CustomerLimitReached { .. } => "customer-limit-reached",
            Refusal::GlobalLimitReached { .. } => "global-limit-reached",
            Refusal::NotCombinable { .. } => "not-combinable",
            Refusal::NoDiscount => "no-discount",
            Refusal::DuplicatePromotion => "duplicate-promotion",
        }
    }

    /// The sentence for the cashier or the shopper.
    pub fn message(&self) -> String {
        match self {
            Refusal::UnknownCode => "unknown code".into(),
            Refusal::Paused => "this promotion is paused".into(),
            Refusal::NotYetValid { from } => format!("valid from {from}"),
            Refusal::Expired { on } => format!("expired on {on}"),
            Refusal::WrongChannel { allowed } => {
                format!(
                    "valid only {}",
                    spoken_list(allowed.iter().map(|c| where_spoken(*c)))
                )
            }
            Refusal::WrongCurrency { currency } => format!("valid only for baskets in {currency}"),
            Refusal::WrongFulfilment { allowed } => {
                format!(
                    "valid only for {} orders",
                    spoken_list(allowed.iter().map(|f| f.spoken()))
                )
            }
            Refusal::SegmentOnly { segments } => {
                format!(
                    "only for customers in the {} group",
                    spoken_list(segments.iter().map(Segment::as_str))
                )
            }
            Refusal::LoyaltyOnly { tiers: None } => "only for loyalty members".into(),
            Refusal::LoyaltyOnly { tiers: Some(tiers) } => {
                format!(
                    "only for loyalty members of tier {}",
                    spoken_list(tiers.iter().map(LoyaltyTier::as_str))
                )
            }
            Refusal::SignInRequired => {
                "the customer must be identified (signed in, or their app code scanned) to use this"
                    .into()
            }
            Refusal::NotFirstOrder { channels } => format!(
                "only for a first order {}; this customer has ordered there before",
                spoken_list(channels.iter().map(|c| where_spoken(*c)))
            ),
            Refusal::NoPriorPurchase { channels } => format!(
                "only for customers who have bought {} before",
                spoken_list(channels.iter().map(|c| where_spoken(*c)))
            ),
            Refusal::MinimumBasket {
                minimum,
                basket,
                whole_cart: true,
            } => {
                format!("minimum basket {minimum}, the basket is {basket}")
            }
            Refusal::MinimumBasket {
                minimum,
                basket,
                whole_cart: false,
            } => {
                format!(
                    "minimum basket {minimum} of qualifying items, the basket has {basket} of them"
                )
            }
            Refusal::MinimumItems {
                minimum,
                items,
                whole_cart: true,
            } => {
                format!("minimum {minimum} items, the basket has {items}")
            }
            Refusal::MinimumItems {
                minimum,
                items,
                whole_cart: false,
            } => {
                format!("minimum {minimum} qualifying items, the basket has {items}")
            }
            Refusal::NoQualifyingItems => "none of the items in the basket qualifies".into(),
            Refusal::CodeUsed => "already used".into(),
            Refusal::CustomerLimitReached { limit: 1 } => "already used".into(),
            Refusal::CustomerLimitReached { limit } => {
                format!("already used {limit} times, the most allowed per customer")
            }
            Refusal::GlobalLimitReached { limit } => {
                format!("limit reached: all {limit} uses are taken")
            }
            Refusal::NotCombinable { with } => format!(
                "cannot be combined with {}, which gives a larger discount",
                spoken_list(with.iter().map(String::as_str))
            ),
            Refusal::NoDiscount => "gives no discount on this basket".into(),
            Refusal::DuplicatePromotion => {
                "another code of the same promotion is already applied".into()
            }
        }
    }
}

/// Where a channel is, as a cashier says it: "in the app", "at the till".
pub fn where_spoken(channel: Channel) -> &'static str {
    match channel {
        Channel::Web => "on the web",
        Channel::App => "in the app",
        Channel::Kiosk => "at the kiosk",
        Channel::Pos => "at the till",
        Channel::CallCenter => "through the call centre",
    }
}

/// "a", "a or b", "a, b or c".
fn spoken_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pln(amount: &str) -> Money {
        Money::parse_non_negative(amount, Currency::Pln).unwrap()
    }

    #[test]
    fn the_issues_examples_read_as_written() {
        let app = Refusal::WrongChannel {
            allowed: BTreeSet::from([Channel::App]),
        };
        assert_eq!(app.message(), "valid only in the app");
        let basket = Refusal::MinimumBasket {
            minimum: pln("200.00"),
            basket: pln("150.00"),
            whole_cart: true,
        };
        assert_eq!(
            basket.message(),
            "minimum basket 200.00 PLN, the basket is 150.00 PLN"
        );
        let expired = Refusal::Expired {
            on: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        };
        assert_eq!(expired.message(), "expired on 2026-11-30");
        assert_eq!(Refusal::CodeUsed.message(), "already used");
        assert_eq!(
            Refusal::CustomerLimitReached { limit: 1 }.message(),
            "already used"
        );
    }

    #[test]
    fn lists_are_spoken_with_or() {
        let two = Refusal::WrongChannel {
            allowed: BTreeSet::from([Channel::App, Channel::Web]),
        };
        assert_eq!(two.message(), "valid only on the web or in the app");
        let three = Refusal::WrongFulfilment {
            allowed: BTreeSet::from([
                Fulfilment::ClickAndCollect,
                Fulfilment::Delivery,
                Fulfilment::InStore,
            ]),
        };
        assert_eq!(
            three.message(),
            "valid only for click & collect, home delivery or in-store orders"
        );
    }

    #[test]
    fn refusals_round_trip_through_json_with_their_reason_tag_and_details() {
        let refusal = Refusal::MinimumItems {
            minimum: 3,
            items: 2,
            whole_cart: false,
        };
        let json = serde_json::to_value(&refusal).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reason": "minimum-items", "minimum": 3, "items": 2, "whole_cart": false})
        );
        assert_eq!(json["reason"], refusal.reason());
        assert_eq!(serde_json::from_value::<Refusal>(json).unwrap(), refusal);
    }
}

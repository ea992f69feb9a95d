//! The small values a promotion is written in: its id, coupon codes,
//! customer segments and loyalty tiers, percentages, priorities and the way
//! an order is fulfilled. Each exists only if it parsed.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a promotion value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// A promotion id is 1 to 64 letters, digits, `-`, `_` or `.`, starting
    /// with a letter or digit.
    BadPromotionId {
        raw: String,
    },
    /// A promotion id that would shadow a fixed route (`import`, ...).
    ReservedPromotionId {
        raw: String,
    },
    /// A coupon code is 3 to 32 letters and digits once spaces and dashes are
    /// dropped.
    BadCode {
        raw: String,
    },
    /// A segment or tier is a slug: lowercase letters and digits joined by
    /// single `-`, at most 40 characters.
    BadSlug {
        kind: &'static str,
        raw: String,
    },
    /// Not a decimal like `"10"` or `"12.5"` above 0 and at most 100 with at
    /// most 4 decimal places.
    BadPercent {
        raw: String,
    },
    /// A priority is an integer from 0 to 1000.
    BadPriority {
        found: i64,
    },
    UnknownFulfilment {
        found: String,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::BadPromotionId { raw } => write!(
                f,
                "{raw:?} is not a promotion id (1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit)"
            ),
            ValueError::ReservedPromotionId { raw } => {
                write!(
                    f,
                    "{raw:?} is reserved by the API and cannot be a promotion id"
                )
            }
            ValueError::BadCode { raw } => write!(
                f,
                "{raw:?} is not a coupon code (3 to {} letters and digits; spaces and dashes are ignored)",
                CouponCode::MAX_LEN
            ),
            ValueError::BadSlug { kind, raw } => write!(
                f,
                "{raw:?} is not a {kind} (lowercase letters and digits joined by single '-', at most {MAX_SLUG} characters)"
            ),
            ValueError::BadPercent { raw } => write!(
                f,
                "{raw:?} is not a percentage: a decimal string above 0 and at most 100 with at most {MAX_PERCENT_DP} decimal places, like \"10\" or \"12.5\""
            ),
            ValueError::BadPriority { found } => {
                write!(
                    f,
                    "priority {found} must be between 0 and {}",
                    Priority::MAX
                )
            }
            ValueError::UnknownFulfilment { found } => write!(
                f,
                "{found:?} is not a fulfilment; expected click_and_collect, delivery or in_store"
            ),
        }
    }
}

impl std::error::Error for ValueError {}

const MAX_SLUG: usize = 40;
const MAX_PERCENT_DP: u32 = 4;

fn shortened(raw: &str) -> String {
    raw.chars().take(48).collect()
}

/// The id an operator gives a promotion (`WELCOME10`, `xmas-2026-shoes`).
/// Kept as written: it is the operator's handle, not something a shopper
/// types (shoppers type [`CouponCode`]s).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromotionId(String);

impl PromotionId {
    /// Path segments under `/api/promotions/` that are routes, not ids.
    const RESERVED: [&'static str; 2] = ["import", "customers"];

    pub fn parse(raw: &str) -> Result<PromotionId, ValueError> {
        let raw = raw.trim();
        let mut chars = raw.chars();
        let valid = raw.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(ValueError::BadPromotionId {
                raw: shortened(raw),
            });
        }
        if PromotionId::RESERVED
            .iter()
            .any(|r| r.eq_ignore_ascii_case(raw))
        {
            return Err(ValueError::ReservedPromotionId {
                raw: raw.to_owned(),
            });
        }
        Ok(PromotionId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A code a shopper types or a till scans, bound to one promotion.
///
/// Why case-insensitive, with spaces and dashes ignored? Codes are read out
/// over the counter and typed on phones: `welcome-10`, `WELCOME 10` and
/// `WELCOME10` are one code. The canonical form is upper case without
/// separators, and that is what is stored and compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CouponCode(String);

impl CouponCode {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: &str) -> Result<CouponCode, ValueError> {
        let bad = || ValueError::BadCode {
            raw: shortened(raw),
        };
        // Bound the work before looking at every character of a huge input.
        if raw.len() > 4 * CouponCode::MAX_LEN {
            return Err(bad());
        }
        let mut canonical = String::with_capacity(raw.len());
        for c in raw.trim().chars() {
            match c {
                ' ' | '-' => {}
                c if c.is_ascii_alphanumeric() => canonical.push(c.to_ascii_uppercase()),
                _ => return Err(bad()),
            }
        }
        if !(CouponCode::MIN_LEN..=CouponCode::MAX_LEN).contains(&canonical.len()) {
            return Err(bad());
        }
        Ok(CouponCode(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer segment fed by the back office (`offline-frequent`,
/// `students`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment(String);

impl Segment {
    pub fn parse(raw: &str) -> Result<Segment, ValueError> {
        slug("segment", raw).map(Segment)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A loyalty programme tier (`member`, `silver`, `gold`). A customer has at
/// most one; having any tier makes them a loyalty member.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoyaltyTier(String);

impl LoyaltyTier {
    pub fn parse(raw: &str) -> Result<LoyaltyTier, ValueError> {
        slug("loyalty tier", raw).map(LoyaltyTier)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn slug(kind: &'static str, raw: &str) -> Result<String, ValueError> {
    let valid = !raw.is_empty()
        && raw.len() <= MAX_SLUG
        && raw.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ValueError::BadSlug {
            kind,
            raw: shortened(raw),
        })
    }
}

/// A percentage off, above 0 and at most 100 (100 makes an item free).
///
/// On the wire it is a string (`"12.5"`) for the same reason money is: a
/// JSON number is a float to most clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Percent(Decimal);

impl Percent {
    pub fn parse(raw: &str) -> Result<Percent, ValueError> {
        let bad = || ValueError::BadPercent {
            raw: shortened(raw),
        };
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 3
            || !digits(whole)
            || !digits(fraction)
            || (raw.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        if fraction.trim_end_matches('0').len() > MAX_PERCENT_DP as usize {
            return Err(bad());
        }
        let value = Decimal::from_str(raw).map_err(|_| bad())?.normalize();
        if value <= Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(bad());
        }
        Ok(Percent(value))
    }

    /// A percentage from a stored mantissa and scale (the compact form of a
    /// definition), checked like any other.
    pub fn from_parts(mantissa: i64, scale: u32) -> Result<Percent, ValueError> {
        let bad = || ValueError::BadPercent {
            raw: format!("{mantissa}e-{scale}"),
        };
        if scale > MAX_PERCENT_DP {
            return Err(bad());
        }
        let value = Decimal::try_new(mantissa, scale)
            .map_err(|_| bad())?
            .normalize();
        if value <= Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(bad());
        }
        Ok(Percent(value))
    }

    pub fn get(self) -> Decimal {
        self.0
    }

    pub fn is_whole(self) -> bool {
        self.0 == Decimal::ONE_HUNDRED
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a promotion sits in the order of application: higher goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Priority(u16);

impl Priority {
    pub const MAX: u16 = 1000;

    pub fn parse(raw: i64) -> Result<Priority, ValueError> {
        match u16::try_from(raw) {
            Ok(p) if p <= Priority::MAX => Ok(Priority(p)),
            _ => Err(ValueError::BadPriority { found: raw }),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// How an order reaches the shopper. A promotion may name it ("first click
/// & collect order"); a cart that has not chosen yet has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fulfilment {
    ClickAndCollect,
    Delivery,
    /// Paid and taken at the till.
    InStore,
}

impl Fulfilment {
    pub const ALL: [Fulfilment; 3] = [
        Fulfilment::ClickAndCollect,
        Fulfilment::Delivery,
        Fulfilment::InStore,
    ];

    pub fn parse(raw: &str) -> Result<Fulfilment, ValueError> {
        Fulfilment::ALL
            .into_iter()
            .find(|f| f.as_str() == raw)
            .ok_or_else(|| ValueError::UnknownFulfilment {
                found: shortened(raw),
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Fulfilment::ClickAndCollect => "click_and_collect",
            Fulfilment::Delivery => "delivery",
            Fulfilment::InStore => "in_store",
        }
    }

    /// How a cashier says it.
    pub fn spoken(self) -> &'static str {
        match self {
            Fulfilment::ClickAndCollect => "click & collect",
            Fulfilment::Delivery => "home delivery",
            Fulfilment::InStore => "in-store",
        }
    }
}

macro_rules! text_serde {
    ($name:ident, $to_str:expr) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let to_str: fn(&$name) -> &str = $to_str;
                f.write_str(to_str(self))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_serde!(PromotionId, |v| v.as_str());
text_serde!(CouponCode, |v| v.as_str());
text_serde!(Segment, |v| v.as_str());
text_serde!(LoyaltyTier, |v| v.as_str());
text_serde!(Fulfilment, |v| v.as_str());

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Percent::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_case_insensitive_and_ignore_spaces_and_dashes() {
        let canonical = CouponCode::parse("WELCOME10").unwrap();
        for typed in ["welcome10", "Welcome-10", " WELCOME 10 ", "wel-come-10"] {
            assert_eq!(CouponCode::parse(typed).unwrap(), canonical, "{typed}");
        }
        assert_eq!(canonical.as_str(), "WELCOME10");
    }

    #[test]
    fn codes_with_other_characters_or_lengths_are_refused() {
        for bad in [
            "",
            "AB",
            "A-B",
            "ŻABA10",
            "WELCOME_10",
            "CODE;DROP",
            &"A".repeat(33),
            &"A".repeat(500),
        ] {
            assert!(CouponCode::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CouponCode::parse(&"A".repeat(32)).is_ok());
    }

    #[test]
    fn promotion_ids_are_tokens_and_route_names_are_reserved() {
        assert_eq!(
            PromotionId::parse(" xmas-2026.shoes ").unwrap().as_str(),
            "xmas-2026.shoes"
        );
        for bad in ["", "-x", "a b", "a/b", &"a".repeat(65)] {
            assert!(
                matches!(
                    PromotionId::parse(bad),
                    Err(ValueError::BadPromotionId { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            PromotionId::parse("Import"),
            Err(ValueError::ReservedPromotionId { .. })
        ));
    }

    #[test]
    fn segments_and_tiers_are_lowercase_slugs() {
        assert!(Segment::parse("offline-frequent").is_ok());
        assert!(LoyaltyTier::parse("gold").is_ok());
        for bad in ["", "Gold", "a--b", "-a", "a b", &"a".repeat(41)] {
            assert!(Segment::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percentages_are_decimal_strings_above_zero_up_to_one_hundred() {
        assert_eq!(Percent::parse("10").unwrap().get(), Decimal::from(10));
        assert_eq!(Percent::parse("12.50").unwrap().to_string(), "12.5");
        assert!(Percent::parse("100").unwrap().is_whole());
        for bad in [
            "0", "0.00", "100.01", "-5", "+5", "1e1", "5.", ".5", " 5", "12.34567", "1000", "abc",
            "",
        ] {
            assert!(Percent::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            serde_json::from_str::<Percent>("10").is_err(),
            "a JSON number is refused"
        );
    }

    #[test]
    fn priorities_stay_within_zero_to_one_thousand() {
        assert_eq!(Priority::parse(1000).unwrap().get(), 1000);
        assert!(Priority::parse(-1).is_err());
        assert!(Priority::parse(1001).is_err());
    }

    #[test]
    fn fulfilments_parse_from_their_wire_names() {
        for f in Fulfilment::ALL {
            assert_eq!(Fulfilment::parse(f.as_str()), Ok(f));
        }
        assert!(Fulfilment::parse("collect").is_err());
    }
}

//! Counts of units: how many a shopper wants on one line ([`Quantity`]) and
//! how many a location holds ([`StockQuantity`]).
//!
//! Why two types? A line quantity is at least one and small (a per-line cap
//! stops a typo of 1000 from reserving a store's whole shelf), while a stock
//! level may be zero and large. Mixing them up is a type error instead of a
//! bug found at the till.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a quantity was refused; each reason is distinct so the answer to the
/// client can say exactly what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    Zero,
    Negative,
    /// A JSON number with a fractional part, such as `1.5`.
    Fractional,
    AboveMax {
        max: u32,
    },
    /// Not a JSON number at all (a string, `null`, an object).
    NotANumber,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantityError::Zero => write!(f, "quantity must be at least 1"),
            QuantityError::Negative => write!(f, "quantity must not be negative"),
            QuantityError::Fractional => write!(f, "quantity must be a whole number"),
            QuantityError::AboveMax { max } => write!(f, "quantity must be at most {max}"),
            QuantityError::NotANumber => write!(f, "quantity must be a JSON number"),
        }
    }
}

impl std::error::Error for QuantityError {}

/// The quantity of one line (cart, order, reservation, return): 1 up to a
/// per-line maximum, 99 unless a caller has a reason for another cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(u32);

impl Quantity {
    pub const DEFAULT_MAX_PER_LINE: u32 = 99;

    pub fn parse(raw: i64) -> Result<Quantity, QuantityError> {
        Quantity::parse_with_max(raw, Quantity::DEFAULT_MAX_PER_LINE)
    }

    /// For callers whose lines may hold more than the default (a back-office
    /// transfer, say); the cap is still explicit.
    pub fn parse_with_max(raw: i64, max: u32) -> Result<Quantity, QuantityError> {
        match raw {
            ..0 => Err(QuantityError::Negative),
            0 => Err(QuantityError::Zero),
            n if n > i64::from(max) => Err(QuantityError::AboveMax { max }),
            n => Ok(Quantity(n as u32)),
        }
    }

    /// Reads a JSON value, telling a fractional number (`1.5`) from a
    /// negative, zero or too large one. An integral float such as `2.0` is 2:
    /// JSON has one number type and some clients write integers that way.
    pub fn parse_json(raw: &serde_json::Value) -> Result<Quantity, QuantityError> {
        Quantity::from_number(number_from_json(raw)?, Quantity::DEFAULT_MAX_PER_LINE)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Two lines of the same SKU merged (guest cart into customer cart): the
    /// sum must still respect the per-line cap, and saying so beats silently
    /// dropping units.
    pub fn checked_add(self, other: Quantity) -> Result<Quantity, QuantityError> {
        Quantity::parse(i64::from(self.0) + i64::from(other.0))
    }

    fn from_number(n: JsonNumber, max: u32) -> Result<Quantity, QuantityError> {
        // Clamping keeps the sign and stays beyond any cap, so the reason
        // reported is still the right one.
        let whole = n.whole()?.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        Quantity::parse_with_max(whole as i64, max)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = d.deserialize_any(NumberVisitor)?;
        Quantity::from_number(n, Quantity::DEFAULT_MAX_PER_LINE).map_err(de::Error::custom)
    }
}

/// Units a location holds or has reserved: 0 up to [`StockQuantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StockQuantity(u32);

impl StockQuantity {
    /// No single location holds ten million units of one SKU; a feed saying
    /// otherwise is broken.
    pub const MAX: u32 = 10_000_000;
    pub const ZERO: StockQuantity = StockQuantity(0);

    pub fn parse(raw: i64) -> Result<StockQuantity, QuantityError> {
        match raw {
            ..0 => Err(QuantityError::Negative),
            n if n > i64::from(StockQuantity::MAX) => Err(QuantityError::AboveMax {
                max: StockQuantity::MAX,
            }),
            n => Ok(StockQuantity(n as u32)),
        }
    }

    pub fn parse_json(raw: &serde_json::Value) -> Result<StockQuantity, QuantityError> {
        StockQuantity::from_number(number_from_json(raw)?)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// `self - other`, floored at zero: available to promise is never
    /// negative, however much is reserved or kept on display.
    pub fn saturating_sub(self, other: StockQuantity) -> StockQuantity {
        StockQuantity(self.0.saturating_sub(other.0))
    }

    pub fn checked_add(self, other: StockQuantity) -> Result<StockQuantity, QuantityError> {
        StockQuantity::parse(i64::from(self.0) + i64::from(other.0))
    }

    /// Whether this many units can serve a line of `wanted`.
    pub fn covers(self, wanted: Quantity) -> bool {
        self.0 >= wanted.get()
    }

    fn from_number(n: JsonNumber) -> Result<StockQuantity, QuantityError> {
        let whole = n.whole()?;
        if whole < 0 {
            return Err(QuantityError::Negative);
        }
        StockQuantity::parse(whole.min(i128::from(i64::MAX)) as i64)
    }
}

impl From<Quantity> for StockQuantity {
    fn from(q: Quantity) -> Self {
        StockQuantity(q.0)
    }
}

impl fmt::Display for StockQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for StockQuantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for StockQuantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = d.deserialize_any(NumberVisitor)?;
        StockQuantity::from_number(n).map_err(de::Error::custom)
    }
}

/// A JSON number as it arrived, before deciding whether it is a count.
#[derive(Debug, Clone, Copy)]
enum JsonNumber {
    Integer(i128),
    Float(f64),
}

impl JsonNumber {
    /// The number as a whole count, or why it is not one.
    fn whole(self) -> Result<i128, QuantityError> {
        match self {
            JsonNumber::Integer(n) => Ok(n),
            JsonNumber::Float(f) if !f.is_finite() => Err(QuantityError::NotANumber),
            JsonNumber::Float(f) if f.fract() != 0.0 => Err(QuantityError::Fractional),
            // Saturating float-to-int is fine: anything this large is refused
            // by the range checks that follow.
            JsonNumber::Float(f) => Ok(f as i128),
        }
    }
}

fn number_from_json(raw: &serde_json::Value) -> Result<JsonNumber, QuantityError> {
    let serde_json::Value::Number(n) = raw else {
        return Err(QuantityError::NotANumber);
    };
    if let Some(i) = n.as_i64() {
        Ok(JsonNumber::Integer(i128::from(i)))
    } else if let Some(u) = n.as_u64() {
        Ok(JsonNumber::Integer(i128::from(u)))
    } else {
        n.as_f64()
            .map(JsonNumber::Float)
            .ok_or(QuantityError::NotANumber)
    }
}

struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = JsonNumber;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonNumber, E> {
        Ok(JsonNumber::Integer(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonNumber, E> {
        Ok(JsonNumber::Integer(i128::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonNumber, E> {
        Ok(JsonNumber::Float(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(raw: serde_json::Value, expected: Result<u32, QuantityError>) {
        assert_eq!(
            Quantity::parse_json(&raw).map(Quantity::get),
            expected,
            "{raw}"
        );
        let via_serde = serde_json::from_value::<Quantity>(raw.clone()).map(Quantity::get);
        match expected {
            Ok(n) => assert_eq!(via_serde.unwrap(), n, "{raw}"),
            Err(e) => assert!(
                via_serde.unwrap_err().to_string().contains(&e.to_string()),
                "{raw}"
            ),
        }
    }

    #[test]
    fn whole_quantities_from_one_to_the_line_maximum_parse() {
        check(json!(1), Ok(1));
        check(json!(99), Ok(99));
        check(json!(2.0), Ok(2));
    }

    #[test]
    fn zero_quantities_are_rejected() {
        check(json!(0), Err(QuantityError::Zero));
        check(json!(0.0), Err(QuantityError::Zero));
    }

    #[test]
    fn negative_quantities_are_rejected() {
        check(json!(-1), Err(QuantityError::Negative));
        check(json!(-3.0), Err(QuantityError::Negative));
        check(json!(i64::MIN), Err(QuantityError::Negative));
        check(json!(-1e300), Err(QuantityError::Negative));
    }

    #[test]
    fn fractional_quantities_are_rejected() {
        check(json!(1.5), Err(QuantityError::Fractional));
        check(json!(-0.5), Err(QuantityError::Fractional));
    }

    #[test]
    fn quantities_above_the_line_maximum_are_rejected() {
        check(json!(100), Err(QuantityError::AboveMax { max: 99 }));
        check(json!(u64::MAX), Err(QuantityError::AboveMax { max: 99 }));
        check(json!(1e300), Err(QuantityError::AboveMax { max: 99 }));
        assert_eq!(
            Quantity::parse_with_max(500, 1000).map(Quantity::get),
            Ok(500)
        );
    }

    #[test]
    fn quantities_that_are_not_numbers_are_rejected() {
        for raw in [
            json!("2"),
            json!(null),
            json!([1]),
            json!({"n": 1}),
            json!(true),
        ] {
            assert_eq!(
                Quantity::parse_json(&raw),
                Err(QuantityError::NotANumber),
                "{raw}"
            );
            assert!(serde_json::from_value::<Quantity>(raw).is_err());
        }
    }

    #[test]
    fn merged_lines_must_stay_within_the_line_maximum() {
        let fifty = Quantity::parse(50).unwrap();
        assert_eq!(
            fifty
                .checked_add(Quantity::parse(49).unwrap())
                .map(Quantity::get),
            Ok(99)
        );
        assert_eq!(
            fifty.checked_add(fifty),
            Err(QuantityError::AboveMax { max: 99 })
        );
    }

    #[test]
    fn quantities_serialize_as_plain_numbers() {
        assert_eq!(
            serde_json::to_string(&Quantity::parse(3).unwrap()).unwrap(),
            "3"
        );
        assert_eq!(
            serde_json::to_string(&StockQuantity::parse(0).unwrap()).unwrap(),
            "0"
        );
    }

    #[test]
    fn stock_may_be_zero_but_not_negative_or_absurd() {
        assert_eq!(StockQuantity::parse(0), Ok(StockQuantity::ZERO));
        assert_eq!(StockQuantity::parse(-1), Err(QuantityError::Negative));
        assert_eq!(
            StockQuantity::parse(10_000_001),
            Err(QuantityError::AboveMax { max: 10_000_000 })
        );
        assert_eq!(
            StockQuantity::parse_json(&json!(2.5)),
            Err(QuantityError::Fractional)
        );
        assert_eq!(
            StockQuantity::parse_json(&json!(1e300)),
            Err(QuantityError::AboveMax { max: 10_000_000 })
        );
        assert_eq!(
            StockQuantity::parse_json(&json!(-1e300)),
            Err(QuantityError::Negative)
        );
        assert!(serde_json::from_str::<StockQuantity>("-4").is_err());
        assert_eq!(
            serde_json::from_str::<StockQuantity>("250").unwrap().get(),
            250
        );
    }

    #[test]
    fn stock_arithmetic_never_goes_below_zero() {
        let on_hand = StockQuantity::parse(3).unwrap();
        let reserved = StockQuantity::parse(5).unwrap();
        assert_eq!(on_hand.saturating_sub(reserved), StockQuantity::ZERO);
        assert_eq!(reserved.saturating_sub(on_hand).get(), 2);
        assert!(on_hand.covers(Quantity::parse(3).unwrap()));
        assert!(!on_hand.covers(Quantity::parse(4).unwrap()));
        let max = StockQuantity::parse(i64::from(StockQuantity::MAX)).unwrap();
        assert!(max.checked_add(on_hand).is_err());
    }
}

//! Exact money: a decimal amount in one ISO 4217 currency, always held at
//! exactly that currency's minor units, so a price, a discount and a refund
//! are the same number on the web, in the app, at the kiosk and at the till.
//!
//! Why strings on the wire? A JSON number is a binary float to most clients
//! (`0.1 + 0.2`), so an amount travels as a string like `"129.99"` and a
//! number is refused instead of being silently rounded.
//!
//! Why a bound of 10^12 major units? It is far above any basket or stock
//! valuation the edge sees, and with it every sum, product by a quantity,
//! percentage and minor-unit conversion fits comfortably in the types used
//! (`i64` minor units, 96-bit decimal mantissa), so arithmetic reports
//! "out of range" instead of overflowing or panicking.
//!
//! Why half-up rounding (`MidpointAwayFromZero`) and not banker's? Receipts,
//! fiscal printers and tax rules in the markets served (e.g. Polish and EU VAT
//! practice) round a half minor unit away from zero, and a shopper checking a
//! receipt with a calculator expects 0.005 to become 0.01. Banker's rounding
//! only pays off when many rounded values are summed; here totals are never
//! built by summing rounded shares: a discount spread over lines goes through
//! [`allocate`], which is exact by construction.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

use crate::quantity::Quantity;

/// Why an amount, currency or money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Not one of the ISO 4217 codes this system prices in.
    UnknownCurrency { code: String },
    /// Not a plain decimal such as `129.99` or `-5` (no exponent, no `+`,
    /// no separators, no leading or trailing `.`).
    Malformed { raw: String },
    /// More non-zero decimal places than the currency's minor units.
    TooManyDecimalPlaces { currency: Currency, allowed: u32 },
    /// A negative amount where only zero or more is meaningful.
    Negative,
    /// Beyond the bound of ±10^12 major units (input or result).
    OutOfRange,
    /// Two amounts in different currencies were combined.
    CurrencyMismatch { expected: Currency, found: Currency },
    /// A percentage outside 0..=100 or with more than 10 decimal places.
    InvalidPercent,
    /// An allocation asked to spread more than the weights add up to.
    TotalExceedsWeights,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::UnknownCurrency { code } => {
                write!(
                    f,
                    "unknown currency {code:?}; expected one of {}",
                    Currency::ALL.map(Currency::code).join(", ")
                )
            }
            MoneyError::Malformed { raw } => {
                write!(f, "{raw:?} is not a decimal amount like \"129.99\"")
            }
            MoneyError::TooManyDecimalPlaces {
                currency,
                allowed: 0,
            } => {
                write!(f, "{currency} amounts have no decimal places")
            }
            MoneyError::TooManyDecimalPlaces { currency, allowed } => {
                write!(
                    f,
                    "{currency} amounts have at most {allowed} decimal places"
                )
            }
            MoneyError::Negative => write!(f, "amount must not be negative"),
            MoneyError::OutOfRange => {
                write!(
                    f,
                    "amount is beyond the supported range of ±{MAX_MAJOR_UNITS}"
                )
            }
            MoneyError::CurrencyMismatch { expected, found } => {
                write!(f, "cannot combine {found} with {expected}")
            }
            MoneyError::InvalidPercent => {
                write!(
                    f,
                    "percentage must be between 0 and 100 with at most 10 decimal places"
                )
            }
            MoneyError::TotalExceedsWeights => {
                write!(f, "cannot allocate more than the lines add up to")
            }
        }
    }
}

impl std::error::Error for MoneyError {}

/// The largest magnitude an amount may have, in major units.
pub const MAX_MAJOR_UNITS: i64 = 1_000_000_000_000;

/// Longest amount text accepted before looking at it: enough for any valid
/// amount with generous trailing zeros, short enough that an error never
/// echoes a megabyte back.
const MAX_AMOUNT_TEXT: usize = 40;

/// Percentages may carry this many decimal places; with the amount bound it
/// keeps `amount * percent / 100` exact inside a 96-bit mantissa.
const MAX_PERCENT_SCALE: u32 = 10;

/// An ISO 4217 currency the retailer prices in, with its minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Pln,
    Eur,
    Usd,
    Gbp,
    Czk,
    Sek,
    Chf,
    Jpy,
    Huf,
    Nok,
    Dkk,
    Ron,
}

impl Currency {
    pub const ALL: [Currency; 12] = [
        Currency::Pln,
        Currency::Eur,
        Currency::Usd,
        Currency::Gbp,
        Currency::Czk,
        Currency::Sek,
        Currency::Chf,
        Currency::Jpy,
        Currency::Huf,
        Currency::Nok,
        Currency::Dkk,
        Currency::Ron,
    ];

    /// Reads a three-letter code, case-insensitively (`pln` is `PLN`).
    pub fn parse(raw: &str) -> Result<Currency, MoneyError> {
        let code = raw.trim();
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
            .ok_or_else(|| MoneyError::UnknownCurrency {
                code: truncated(code),
            })
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Pln => "PLN",
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
            Currency::Czk => "CZK",
            Currency::Sek => "SEK",
            Currency::Chf => "CHF",
            Currency::Jpy => "JPY",
            Currency::Huf => "HUF",
            Currency::Nok => "NOK",
            Currency::Dkk => "DKK",
            Currency::Ron => "RON",
        }
    }

    /// Decimal places of the currency as ISO 4217 lists them. HUF and CZK
    /// keep their ISO exponent of 2 even though cash is rounded to whole
    /// units at the till: cash rounding is a tender rule, not a price rule.
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    fn minor_per_major(self) -> i64 {
        10_i64.pow(self.minor_units())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Currency::parse(&raw).map_err(de::Error::custom)
    }
}

/// An exact amount of one currency. Its amount always has exactly the
/// currency's minor units as scale, so `Display` prints `129.90 PLN` and two
/// equal amounts compare, hash and serialize identically.
///
/// On the wire it is `{"amount": "129.99", "currency": "PLN"}`. Deserializing
/// goes through [`Money::parse_non_negative`], because prices, totals and
/// refunds are never negative; a signed field (a price difference) opts in
/// with `#[serde(deserialize_with = "omni_shared::money::deserialize_signed")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Reads a price, total or refund: zero or more.
    pub fn parse_non_negative(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let money = Money::parse_signed(amount, currency)?;
        if money.is_negative() {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    /// Reads an amount that may be negative: a difference such as the price
    /// gap in a size exchange or a correction.
    ///
    /// Trailing zeros beyond the minor units are accepted (`"100.00"` JPY is
    /// 100 yen) because they lose nothing; a non-zero digit beyond them is
    /// refused, never rounded away.
    pub fn parse_signed(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed {
            raw: truncated(amount),
        };
        if amount.len() > MAX_AMOUNT_TEXT {
            return Err(malformed());
        }
        let text = amount.trim();
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(malformed());
        }
        let significant = fraction.unwrap_or("").trim_end_matches('0');
        let allowed = currency.minor_units();
        if significant.len() > allowed as usize {
            return Err(MoneyError::TooManyDecimalPlaces { currency, allowed });
        }
        let whole = whole.trim_start_matches('0');
        // 13 digits already exceed the bound; checking the length first keeps
        // the arithmetic below within i128.
        if whole.len() > 13 {
            return Err(MoneyError::OutOfRange);
        }
        let digits = |s: &str| {
            s.bytes()
                .fold(0_i128, |acc, b| acc * 10 + i128::from(b - b'0'))
        };
        let padding = 10_i128.pow(allowed - significant.len() as u32);
        let minor =
            digits(whole) * i128::from(currency.minor_per_major()) + digits(significant) * padding;
        Money::from_minor_i128(if negative { -minor } else { minor }, currency)
    }

    /// Money from integer minor units (grosze, cents, yen): how storage keeps
    /// amounts, as SQLite INTEGER.
    pub fn from_minor_units(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_minor_i128(i128::from(minor), currency)
    }

    /// Rounds an exact amount (a percentage, a proportional share) to the
    /// currency's minor units, half away from zero (see the module notes for
    /// why).
    pub fn round_to_minor_units(exact: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let rounded = exact.round_dp_with_strategy(
            currency.minor_units(),
            RoundingStrategy::MidpointAwayFromZero,
        );
        let bound = Decimal::from(MAX_MAJOR_UNITS);
        if rounded.abs() > bound {
            return Err(MoneyError::OutOfRange);
        }
        let mut amount = rounded;
        amount.rescale(currency.minor_units());
        Ok(Money { amount, currency })
    }

    pub fn zero(currency: Currency) -> Money {
        let mut amount = Decimal::ZERO;
        amount.rescale(currency.minor_units());
        Money { amount, currency }
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units, exact by the scale invariant and within
    /// `i64` by the amount bound.
    pub fn to_minor_units(&self) -> i64 {
        i64::try_from(self.amount.mantissa()).expect("bounded amounts fit in i64 minor units")
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// The same amount with the opposite sign (always in range: the bound is
    /// symmetric).
    pub fn negated(&self) -> Money {
        Money::from_minor_i128(-i128::from(self.to_minor_units()), self.currency)
            .expect("the bound is symmetric")
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Money::from_minor_i128(
            i128::from(self.to_minor_units()) + i128::from(other.to_minor_units()),
            self.currency,
        )
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Money::from_minor_i128(
            i128::from(self.to_minor_units()) - i128::from(other.to_minor_units()),
            self.currency,
        )
    }

    /// A line total: unit price times quantity.
    pub fn times(&self, quantity: Quantity) -> Result<Money, MoneyError> {
        Money::from_minor_i128(
            i128::from(self.to_minor_units()) * i128::from(quantity.get()),
            self.currency,
        )
    }

    /// Adds up amounts that must all be in `currency` (an empty list is zero).
    pub fn sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// Orders two amounts of the same currency; amounts in different
    /// currencies have no order.
    pub fn compare(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// `percent`% of this amount, exact and unrounded, so a caller combining
    /// several percentages rounds once at the end (with
    /// [`Money::round_to_minor_units`]).
    pub fn percentage(&self, percent: Decimal) -> Result<Decimal, MoneyError> {
        if (percent.is_sign_negative() && !percent.is_zero())
            || percent > Decimal::ONE_HUNDRED
            || percent.normalize().scale() > MAX_PERCENT_SCALE
        {
            return Err(MoneyError::InvalidPercent);
        }
        self.amount
            .checked_mul(percent)
            .and_then(|product| product.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(MoneyError::OutOfRange)
    }

    /// `percent`% of this amount rounded half-up to minor units: what a
    /// "-5%" benefit takes off one amount.
    pub fn percentage_rounded(&self, percent: Decimal) -> Result<Money, MoneyError> {
        Money::round_to_minor_units(self.percentage(percent)?, self.currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            })
        }
    }

    fn from_minor_i128(minor: i128, currency: Currency) -> Result<Money, MoneyError> {
        let bound = i128::from(MAX_MAJOR_UNITS) * i128::from(currency.minor_per_major());
        if minor.abs() > bound {
            return Err(MoneyError::OutOfRange);
        }
        let amount = Decimal::try_from_i128_with_scale(minor, currency.minor_units())
            .map_err(|_| MoneyError::OutOfRange)?;
        Ok(Money { amount, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Spreads `total` (an order-level discount, a refund) over lines in
/// proportion to `weights` (what each line cost), so that the parts add up to
/// `total` exactly, to the minor unit.
///
/// Why largest remainder? Rounding each share on its own can leave the sum a
/// cent off; instead every line first gets the floor of its exact share in
/// minor units, and the few minor units left over go one each to the lines
/// with the largest remainders. Equal remainders go to the earlier line, so
/// the same cart always allocates the same way on every channel.
///
/// No line ever gets more than its weight (`total` may not exceed the sum of
/// the weights), and a zero-weight line gets nothing. All amounts must be in
/// `total`'s currency and non-negative.
pub fn allocate(total: Money, weights: &[Money]) -> Result<Vec<Money>, MoneyError> {
    if total.is_negative() {
        return Err(MoneyError::Negative);
    }
    let currency = total.currency;
    let mut minor_weights = Vec::with_capacity(weights.len());
    for weight in weights {
        total.same_currency(weight)?;
        if weight.is_negative() {
            return Err(MoneyError::Negative);
        }
        minor_weights.push(i128::from(weight.to_minor_units()));
    }
    let to_spread = i128::from(total.to_minor_units());
    let weight_sum: i128 = minor_weights.iter().sum();
    if to_spread > weight_sum {
        return Err(MoneyError::TotalExceedsWeights);
    }
    if to_spread == 0 {
        return Ok(vec![Money::zero(currency); weights.len()]);
    }
    // Each product is at most 10^14 * 10^14, well inside i128.
    let mut shares: Vec<i128> = minor_weights
        .iter()
        .map(|w| to_spread * w / weight_sum)
        .collect();
    let mut leftover = to_spread - shares.iter().sum::<i128>();
    let mut by_remainder: Vec<(usize, i128)> = minor_weights
        .iter()
        .enumerate()
        .map(|(i, w)| (i, to_spread * w % weight_sum))
        .collect();
    // A stable sort keeps line order among equal remainders.
    by_remainder.sort_by_key(|&(_, remainder)| std::cmp::Reverse(remainder));
    for (line, _) in by_remainder {
        if leftover == 0 {
            break;
        }
        shares[line] += 1;
        leftover -= 1;
    }
    shares
        .into_iter()
        .map(|minor| Money::from_minor_i128(minor, currency))
        .collect()
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut wire = s.serialize_struct("Money", 2)?;
        wire.serialize_field("amount", &self.amount.to_string())?;
        wire.serialize_field("currency", self.currency.code())?;
        wire.end()
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (amount, currency) = d.deserialize_struct("Money", FIELDS, MoneyVisitor)?;
        Money::parse_non_negative(&amount, currency).map_err(de::Error::custom)
    }
}

/// Deserializes a [`Money`] that may be negative, for
/// `#[serde(deserialize_with = "...")]` on fields that carry a difference.
pub fn deserialize_signed<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    let (amount, currency) = d.deserialize_struct("Money", FIELDS, MoneyVisitor)?;
    Money::parse_signed(&amount, currency).map_err(de::Error::custom)
}

const FIELDS: &[&str] = &["amount", "currency"];

/// Reads `{"amount": "...", "currency": "..."}` strictly: the amount must be
/// a JSON string and no other key is allowed.
struct MoneyVisitor;

impl<'de> Visitor<'de> for MoneyVisitor {
    type Value = (String, Currency);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object like {"amount": "129.99", "currency": "PLN"}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut amount = None;
        let mut currency = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "amount" if amount.is_none() => amount = Some(map.next_value::<AmountText>()?.0),
                "currency" if currency.is_none() => currency = Some(map.next_value::<Currency>()?),
                "amount" | "currency" => {
                    return Err(de::Error::custom(format!("duplicate field `{key}`")));
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let amount = amount.ok_or_else(|| de::Error::missing_field("amount"))?;
        let currency = currency.ok_or_else(|| de::Error::missing_field("currency"))?;
        Ok((amount, currency))
    }
}

/// An amount as a JSON string; a JSON number gets a message saying why not.
struct AmountText(String);

impl<'de> Deserialize<'de> for AmountText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a JSON string like \"129.99\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
                Err(E::custom(NUMBER_REFUSED))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
                Err(E::custom(NUMBER_REFUSED))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
                Err(E::custom(NUMBER_REFUSED))
            }
        }
        d.deserialize_any(Text).map(AmountText)
    }
}

const NUMBER_REFUSED: &str = "amount must be a JSON string like \"129.99\", not a number (numbers become floats and lose cents)";

fn truncated(raw: &str) -> String {
    raw.chars().take(MAX_AMOUNT_TEXT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn pln(amount: &str) -> Money {
        Money::parse_non_negative(amount, Currency::Pln).unwrap()
    }

    fn eur(amount: &str) -> Money {
        Money::parse_non_negative(amount, Currency::Eur).unwrap()
    }

    fn dec(raw: &str) -> Decimal {
        Decimal::from_str(raw).unwrap()
    }

    #[test]
    fn known_currencies_parse_with_their_minor_units() {
        for (code, minor) in [
            ("PLN", 2),
            ("EUR", 2),
            ("USD", 2),
            ("GBP", 2),
            ("CZK", 2),
            ("SEK", 2),
            ("CHF", 2),
            ("JPY", 0),
            ("HUF", 2),
            ("NOK", 2),
            ("DKK", 2),
            ("ron", 2),
        ] {
            let currency = Currency::parse(code).unwrap();
            assert_eq!(currency.minor_units(), minor, "{code}");
            assert!(currency.code().eq_ignore_ascii_case(code));
        }
    }

    #[test]
    fn unknown_currency_codes_are_rejected() {
        for bad in ["XXX", "PL", "PLNN", "", "zł", "BTC"] {
            assert!(
                matches!(
                    Currency::parse(bad),
                    Err(MoneyError::UnknownCurrency { .. })
                ),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn amounts_are_held_at_the_currency_minor_units() {
        assert_eq!(pln("129.9").to_string(), "129.90 PLN");
        assert_eq!(pln("129").to_string(), "129.00 PLN");
        assert_eq!(pln("0").to_string(), "0.00 PLN");
        let yen = Money::parse_non_negative("1500", Currency::Jpy).unwrap();
        assert_eq!(yen.to_string(), "1500 JPY");
    }

    #[test]
    fn trailing_zeros_beyond_the_minor_units_are_accepted() {
        assert_eq!(pln("129.9900"), pln("129.99"));
        let yen = Money::parse_non_negative("100.00", Currency::Jpy).unwrap();
        assert_eq!(yen.to_minor_units(), 100);
    }

    #[test]
    fn fractional_yen_are_rejected() {
        assert_eq!(
            Money::parse_non_negative("100.5", Currency::Jpy),
            Err(MoneyError::TooManyDecimalPlaces {
                currency: Currency::Jpy,
                allowed: 0
            })
        );
    }

    #[test]
    fn more_decimal_places_than_the_currency_has_are_rejected() {
        assert_eq!(
            Money::parse_non_negative("129.999", Currency::Pln),
            Err(MoneyError::TooManyDecimalPlaces {
                currency: Currency::Pln,
                allowed: 2
            })
        );
        assert!(Money::parse_non_negative("0.001", Currency::Eur).is_err());
    }

    #[test]
    fn malformed_amounts_are_rejected() {
        for bad in [
            "", " ", "abc", "1e3", "+5", "1,50", "1 000", ".5", "5.", "--5", "1.2.3", "0x10",
            "NaN", "1_000", "１",
        ] {
            assert!(
                matches!(
                    Money::parse_signed(bad, Currency::Pln),
                    Err(MoneyError::Malformed { .. })
                ),
                "{bad:?} should be malformed"
            );
        }
    }

    #[test]
    fn negative_prices_are_rejected_but_differences_may_be_negative() {
        assert_eq!(
            Money::parse_non_negative("-5.00", Currency::Pln),
            Err(MoneyError::Negative)
        );
        let difference = Money::parse_signed("-5.5", Currency::Pln).unwrap();
        assert!(difference.is_negative());
        assert_eq!(difference.to_string(), "-5.50 PLN");
        assert_eq!(difference.to_minor_units(), -550);
    }

    #[test]
    fn amounts_beyond_the_bound_are_rejected() {
        assert!(Money::parse_non_negative("1000000000000", Currency::Pln).is_ok());
        assert_eq!(
            Money::parse_non_negative("1000000000000.01", Currency::Pln),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::parse_signed("-1000000000001", Currency::Jpy),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::parse_signed("99999999999999999999999999999999999", Currency::Eur),
            Err(MoneyError::OutOfRange)
        );
        assert!(matches!(
            Money::parse_signed(&"9".repeat(1000), Currency::Eur),
            Err(MoneyError::Malformed { raw }) if raw.len() <= MAX_AMOUNT_TEXT
        ));
    }

    #[test]
    fn minor_units_round_trip_per_currency() {
        assert_eq!(pln("129.99").to_minor_units(), 12999);
        assert_eq!(
            Money::from_minor_units(12999, Currency::Pln).unwrap(),
            pln("129.99")
        );
        let yen = Money::from_minor_units(1500, Currency::Jpy).unwrap();
        assert_eq!(yen.to_string(), "1500 JPY");
        assert_eq!(
            Money::from_minor_units(i64::MAX, Currency::Eur),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::from_minor_units(i64::MIN, Currency::Jpy),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn addition_and_subtraction_are_exact() {
        assert_eq!(pln("0.10").checked_add(&pln("0.20")).unwrap(), pln("0.30"));
        assert_eq!(
            pln("10.00").checked_sub(&pln("10.01")).unwrap().to_string(),
            "-0.01 PLN"
        );
        assert_eq!(
            Money::sum(Currency::Pln, &[pln("1.11"), pln("2.22"), pln("3.33")]).unwrap(),
            pln("6.66")
        );
        assert_eq!(
            Money::sum(Currency::Eur, &[]).unwrap(),
            Money::zero(Currency::Eur)
        );
    }

    #[test]
    fn combining_different_currencies_is_an_error() {
        let expected = Err(MoneyError::CurrencyMismatch {
            expected: Currency::Pln,
            found: Currency::Eur,
        });
        assert_eq!(pln("1").checked_add(&eur("1")), expected);
        assert_eq!(pln("1").checked_sub(&eur("1")), expected);
        assert_eq!(
            pln("1").compare(&eur("1")).map(|_| ()),
            expected.map(|_: Money| ())
        );
        assert!(Money::sum(Currency::Pln, &[pln("1"), eur("1")]).is_err());
    }

    #[test]
    fn arithmetic_past_the_bound_is_an_error_not_a_panic() {
        let max = pln("1000000000000");
        assert_eq!(max.checked_add(&pln("0.01")), Err(MoneyError::OutOfRange));
        assert_eq!(
            max.negated().checked_sub(&pln("0.01")),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            max.times(Quantity::parse(2).unwrap()),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(max.checked_sub(&max).unwrap(), Money::zero(Currency::Pln));
        assert_eq!(max.percentage_rounded(Decimal::ONE_HUNDRED).unwrap(), max);
    }

    #[test]
    fn a_line_total_is_the_unit_price_times_the_quantity() {
        assert_eq!(
            pln("19.99").times(Quantity::parse(3).unwrap()).unwrap(),
            pln("59.97")
        );
    }

    #[test]
    fn percentages_are_exact_before_rounding() {
        assert_eq!(pln("129.99").percentage(dec("5")).unwrap(), dec("6.4995"));
        assert_eq!(
            pln("129.99").percentage(dec("12.5")).unwrap(),
            dec("16.24875")
        );
    }

    #[test]
    fn percentages_round_half_up_to_the_currency_minor_units() {
        // 6.4995 -> 6.50 (a banker's rounding would give the same here, but
        // 0.125 below separates the two).
        assert_eq!(
            pln("129.99").percentage_rounded(dec("5")).unwrap(),
            pln("6.50")
        );
        assert_eq!(
            eur("2.50").percentage_rounded(dec("5")).unwrap(),
            eur("0.13")
        );
        assert_eq!(
            eur("0.10").percentage_rounded(dec("5")).unwrap(),
            eur("0.01")
        );
        assert_eq!(
            eur("0.10").percentage_rounded(dec("4.9")).unwrap(),
            eur("0.00")
        );
        let yen = Money::parse_non_negative("1010", Currency::Jpy).unwrap();
        assert_eq!(
            yen.percentage_rounded(dec("5")).unwrap().to_string(),
            "51 JPY"
        );
        let yen = Money::parse_non_negative("1030", Currency::Jpy).unwrap();
        assert_eq!(
            yen.percentage_rounded(dec("5")).unwrap().to_string(),
            "52 JPY"
        );
    }

    #[test]
    fn rounding_goes_half_away_from_zero_for_negative_amounts_too() {
        assert_eq!(
            Money::round_to_minor_units(dec("-0.125"), Currency::Pln)
                .unwrap()
                .to_string(),
            "-0.13 PLN"
        );
        assert_eq!(
            Money::round_to_minor_units(dec("0.125"), Currency::Pln)
                .unwrap()
                .to_string(),
            "0.13 PLN"
        );
        assert_eq!(
            Money::round_to_minor_units(dec("0.124999"), Currency::Pln)
                .unwrap()
                .to_string(),
            "0.12 PLN"
        );
        assert_eq!(
            Money::round_to_minor_units(dec("2.5"), Currency::Jpy)
                .unwrap()
                .to_string(),
            "3 JPY"
        );
        assert_eq!(
            Money::round_to_minor_units(dec("1000000000001"), Currency::Jpy),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn percentages_outside_zero_to_one_hundred_are_rejected() {
        for bad in ["-1", "100.01", "0.00000000001"] {
            assert_eq!(
                pln("10").percentage(dec(bad)),
                Err(MoneyError::InvalidPercent),
                "{bad}"
            );
        }
        assert_eq!(pln("10").percentage(dec("0")).unwrap(), Decimal::ZERO);
    }

    fn minor(amounts: &[Money]) -> Vec<i64> {
        amounts.iter().map(Money::to_minor_units).collect()
    }

    #[test]
    fn a_discount_is_allocated_in_proportion_and_sums_exactly() {
        let lines = [pln("100.00"), pln("50.00"), pln("50.00")];
        assert_eq!(
            minor(&allocate(pln("10.00"), &lines).unwrap()),
            [500, 250, 250]
        );
        // 10.00 over three equal lines: 3.34 + 3.33 + 3.33, the extra grosz to
        // the first line.
        let equal = [pln("30.00"), pln("30.00"), pln("30.00")];
        assert_eq!(
            minor(&allocate(pln("10.00"), &equal).unwrap()),
            [334, 333, 333]
        );
    }

    #[test]
    fn leftover_minor_units_go_to_the_largest_remainders() {
        // 10 grosze over weights of 1, 2 and 12 grosze: exact shares 0.667,
        // 1.333 and 8, so floors 0, 1 and 8 leave one grosz, which goes to
        // line 0 (remainder 0.667 beats line 1's 0.333).
        let lines = [pln("0.01"), pln("0.02"), pln("0.12")];
        assert_eq!(minor(&allocate(pln("0.10"), &lines).unwrap()), [1, 1, 8]);
    }

    #[test]
    fn allocation_never_gives_a_line_more_than_its_weight() {
        let lines = [pln("0.01"), pln("0.00"), pln("99.99")];
        let parts = allocate(pln("100.00"), &lines).unwrap();
        assert_eq!(minor(&parts), [1, 0, 9999]);
        assert_eq!(
            allocate(pln("100.01"), &lines),
            Err(MoneyError::TotalExceedsWeights)
        );
    }

    #[test]
    fn allocation_checks_currency_and_sign() {
        assert_eq!(
            allocate(pln("1"), &[pln("1"), eur("1")]),
            Err(MoneyError::CurrencyMismatch {
                expected: Currency::Pln,
                found: Currency::Eur
            })
        );
        let negative = Money::parse_signed("-1", Currency::Pln).unwrap();
        assert_eq!(allocate(negative, &[pln("5")]), Err(MoneyError::Negative));
        assert_eq!(
            allocate(pln("1"), &[negative, pln("5")]),
            Err(MoneyError::Negative)
        );
        assert_eq!(allocate(pln("0"), &[]).unwrap(), vec![]);
        assert_eq!(
            allocate(pln("0.01"), &[]),
            Err(MoneyError::TotalExceedsWeights)
        );
        assert_eq!(
            minor(&allocate(pln("0"), &[pln("0"), pln("3")]).unwrap()),
            [0, 0]
        );
    }

    /// A tiny deterministic PRNG (xorshift64*), so the property loop below is
    /// reproducible without a dependency.
    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn allocation_sums_exactly_and_stays_proportional_for_many_inputs() {
        let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..5_000 {
            let currency = [Currency::Pln, Currency::Jpy, Currency::Eur][round % 3];
            let lines = 1 + rng.below(12) as usize;
            let scale = [10, 1_000, 100_000, 1_000_000_000_000][rng.below(4) as usize];
            let weights: Vec<Money> = (0..lines)
                .map(|_| {
                    let minor = if rng.below(8) == 0 {
                        0
                    } else {
                        rng.below(scale) as i64
                    };
                    Money::from_minor_units(minor, currency).unwrap()
                })
                .collect();
            let weight_sum: i64 = weights.iter().map(Money::to_minor_units).sum();
            let most = weight_sum.min(MAX_MAJOR_UNITS * currency.minor_per_major());
            let total_minor = rng.below(most as u64 + 1) as i64;
            let total = Money::from_minor_units(total_minor, currency).unwrap();

            let parts = allocate(total, &weights).unwrap();
            let again = allocate(total, &weights).unwrap();
            assert_eq!(parts, again, "allocation is deterministic");
            assert_eq!(parts.len(), weights.len());
            assert_eq!(
                parts.iter().map(Money::to_minor_units).sum::<i64>(),
                total_minor,
                "round {round}"
            );
            for (part, weight) in parts.iter().zip(&weights) {
                assert_eq!(part.currency(), currency);
                let (p, w) = (
                    i128::from(part.to_minor_units()),
                    i128::from(weight.to_minor_units()),
                );
                assert!(p >= 0 && p <= w, "round {round}: {part} exceeds {weight}");
                // Within one minor unit of the exact proportional share.
                let exact_numerator = i128::from(total_minor) * w;
                let sum = i128::from(weight_sum);
                assert!(
                    (p * sum - exact_numerator).abs() < sum.max(1),
                    "round {round}: {part} is not proportional: {total} over {weights:?}"
                );
            }
        }
    }

    #[test]
    fn money_serializes_as_a_string_amount_and_a_code() {
        let json = serde_json::to_string(&pln("129.9")).unwrap();
        assert_eq!(json, r#"{"amount":"129.90","currency":"PLN"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, pln("129.90"));
    }

    #[test]
    fn money_deserializes_only_when_valid() {
        let bad = [
            r#"{"amount":129.99,"currency":"PLN"}"#,
            r#"{"amount":100,"currency":"PLN"}"#,
            r#"{"amount":"100.5","currency":"JPY"}"#,
            r#"{"amount":"-1.00","currency":"PLN"}"#,
            r#"{"amount":"1.00","currency":"XYZ"}"#,
            r#"{"amount":"1.00"}"#,
            r#"{"amount":"1.00","currency":"PLN","note":"x"}"#,
            r#""1.00 PLN""#,
        ];
        for json in bad {
            assert!(
                serde_json::from_str::<Money>(json).is_err(),
                "{json} should be refused"
            );
        }
        let err = serde_json::from_str::<Money>(bad[0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("JSON string"), "{err}");
    }

    #[test]
    fn signed_fields_opt_in_to_negative_amounts() {
        #[derive(Deserialize)]
        struct Exchange {
            #[serde(deserialize_with = "deserialize_signed")]
            difference: Money,
        }
        let body: Exchange =
            serde_json::from_str(r#"{"difference":{"amount":"-20.00","currency":"EUR"}}"#).unwrap();
        assert_eq!(body.difference.to_minor_units(), -2000);
    }
}

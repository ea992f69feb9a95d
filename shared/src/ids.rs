//! Identifiers that cross channels: a value of one of these types exists only
//! if it parsed, so a handler never carries an unchecked id into a rule.
//!
//! Why one shape for all of them? Every id travels through URLs, QR codes,
//! JSON and SQL, so each is a short ASCII token: letters, digits, `-`, `_` and
//! `.`, 1 to 64 characters, never starting with punctuation. Anything else is
//! refused at the edge with the id kind named in the error.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why an id failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    Empty { kind: &'static str },
    TooLong { kind: &'static str, max: usize },
    BadCharacter { kind: &'static str, found: char },
    BadCheckDigit { kind: &'static str },
    WrongLength { kind: &'static str },
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty { kind } => write!(f, "{kind} must not be empty"),
            IdError::TooLong { kind, max } => write!(f, "{kind} is longer than {max} characters"),
            IdError::BadCharacter { kind, found } => {
                write!(
                    f,
                    "{kind} may hold only letters, digits, '-', '_' and '.', not {found:?}"
                )
            }
            IdError::BadCheckDigit { kind } => write!(f, "{kind} has a wrong check digit"),
            IdError::WrongLength { kind } => write!(f, "{kind} must have 8, 12, 13 or 14 digits"),
        }
    }
}

impl std::error::Error for IdError {}

const MAX_TOKEN: usize = 64;

fn parse_token(kind: &'static str, raw: &str) -> Result<String, IdError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if raw.len() > MAX_TOKEN {
        return Err(IdError::TooLong {
            kind,
            max: MAX_TOKEN,
        });
    }
    let mut chars = raw.chars();
    let first = chars.next().expect("non-empty");
    if !first.is_ascii_alphanumeric() {
        return Err(IdError::BadCharacter { kind, found: first });
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(IdError::BadCharacter { kind, found: bad });
    }
    Ok(raw.to_owned())
}

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $normalise:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let normalise: fn(String) -> String = $normalise;
                parse_token($kind, raw).map(normalise).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
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

token_id!(
    /// A stock-keeping unit: one sellable variant (style + size + colour).
    /// Upper-cased, so `tee-blk-m` and `TEE-BLK-M` are the same SKU at the till
    /// and online.
    Sku, "sku", |s| s.to_ascii_uppercase()
);
token_id!(
    /// A product (style) grouping variants; SKUs carry the sellable identity.
    ProductId, "product id", |s| s.to_ascii_uppercase()
);
token_id!(
    /// A store or warehouse location. Upper-cased like SKUs.
    StoreId, "store id", |s| s.to_ascii_uppercase()
);
token_id!(
    /// The one customer identifier shared by every channel.
    CustomerId, "customer id", |s| s
);
token_id!(
    /// A cart (guest or customer).
    CartId, "cart id", |s| s
);
token_id!(
    /// An order (click & collect, ship from store, home delivery).
    OrderId, "order id", |s| s
);
token_id!(
    /// A return case (RMA). The human-readable case number with its check
    /// digit is a separate value owned by the returns component.
    RmaId, "rma id", |s| s
);

/// A Global Trade Item Number (GTIN-8, -12, -13 or -14) with a valid GS1
/// check digit: what a till's scanner reads off the label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        const KIND: &str = "gtin";
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(IdError::Empty { kind: KIND });
        }
        if let Some(bad) = raw.chars().find(|c| !c.is_ascii_digit()) {
            return Err(IdError::BadCharacter {
                kind: KIND,
                found: bad,
            });
        }
        if ![8, 12, 13, 14].contains(&raw.len()) {
            return Err(IdError::WrongLength { kind: KIND });
        }
        let digits: Vec<u32> = raw.bytes().map(|b| u32::from(b - b'0')).collect();
        let (body, check) = digits.split_at(digits.len() - 1);
        // GS1: weights 3,1,3,1... from the rightmost body digit.
        let sum: u32 = body
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
            .sum();
        if (10 - sum % 10) % 10 != check[0] {
            return Err(IdError::BadCheckDigit { kind: KIND });
        }
        Ok(Gtin(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Gtin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Gtin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Gtin::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_case_insensitive() {
        assert_eq!(
            Sku::parse("tee-blk-m").unwrap(),
            Sku::parse("TEE-BLK-M").unwrap()
        );
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(StoreId::parse("  waw-01 ").unwrap().as_str(), "WAW-01");
    }

    #[test]
    fn empty_ids_are_rejected() {
        assert_eq!(
            CustomerId::parse(""),
            Err(IdError::Empty {
                kind: "customer id"
            })
        );
        assert_eq!(
            CartId::parse("   "),
            Err(IdError::Empty { kind: "cart id" })
        );
    }

    #[test]
    fn ids_longer_than_64_characters_are_rejected() {
        let long = "a".repeat(65);
        assert!(matches!(
            OrderId::parse(&long),
            Err(IdError::TooLong { .. })
        ));
        assert!(OrderId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn ids_with_spaces_slashes_or_quotes_are_rejected() {
        for bad in ["a b", "a/b", "a'b", "a\"b", "ą1", "a;DROP"] {
            assert!(
                matches!(RmaId::parse(bad), Err(IdError::BadCharacter { .. })),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn ids_may_not_start_with_punctuation() {
        assert!(matches!(
            ProductId::parse("-x"),
            Err(IdError::BadCharacter { found: '-', .. })
        ));
        assert!(ProductId::parse("x-1.2_3").is_ok());
    }

    #[test]
    fn valid_gtins_of_every_length_parse() {
        for good in [
            "96385074",
            "036000291452",
            "4006381333931",
            "10614141000415",
        ] {
            assert!(Gtin::parse(good).is_ok(), "{good} should parse");
        }
    }

    #[test]
    fn gtins_with_a_wrong_check_digit_are_rejected() {
        assert_eq!(
            Gtin::parse("4006381333932"),
            Err(IdError::BadCheckDigit { kind: "gtin" })
        );
    }

    #[test]
    fn gtins_of_other_lengths_or_with_letters_are_rejected() {
        assert_eq!(
            Gtin::parse("12345"),
            Err(IdError::WrongLength { kind: "gtin" })
        );
        assert!(matches!(
            Gtin::parse("40063813339X1"),
            Err(IdError::BadCharacter { .. })
        ));
    }

    #[test]
    fn ids_deserialize_only_when_valid() {
        let ok: Sku = serde_json::from_str("\"abc-1\"").unwrap();
        assert_eq!(ok.as_str(), "ABC-1");
        assert!(serde_json::from_str::<Sku>("\"a b\"").is_err());
        assert!(serde_json::from_str::<Sku>("12").is_err());
    }
}

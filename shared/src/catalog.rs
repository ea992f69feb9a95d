//! Master data as the back office sends it: sellable items, base prices and
//! locations, each checked row by row so a feed is loaded all or nothing.
//!
//! Every kind of row has two shapes. The `...Row` struct is the wire form in
//! plain JSON types (strings, numbers, arrays), strict about unknown fields
//! so a misspelt column is reported, not ignored. `TryFrom<...Row>` turns
//! it into the domain value, reporting every bad field at once; a value of
//! the domain type therefore exists only if all of its fields are valid.
//! [`parse_batch`] does that for a whole batch and names the row and field
//! of every problem, which is what an operator fixing a feed needs.

mod assortment;
mod batch;
mod item;
mod price;
mod store;

pub use assortment::{Alternative, Assortment, NotSoldIn};
pub use batch::{BatchError, BatchKeys, MAX_BATCH_ROWS, RowError, parse_batch};
pub use item::{CatalogItem, CatalogItemRow, CategoryPath};
pub use price::{PriceEntry, PriceRow};
pub use store::{Address, AddressRow, CountryCode, GeoRow, Service, Store, StoreKind, StoreRow};

use serde::Serialize;
use std::fmt;

/// Why a catalog value (beyond the shared ids, money and hours types) was
/// refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogError {
    EmptyText,
    TextTooLong { max: usize },
    ControlCharacter,
    CategoryDepth { max: usize },
    CategorySegment { segment: String },
    UnknownAssortment { found: String },
    ZeroPrice,
    UnknownStoreKind { found: String },
    UnknownService { found: String },
    WarehouseService { service: Service },
    UnknownCountry { found: String },
    BadPostalCode,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::EmptyText => write!(f, "must not be empty"),
            CatalogError::TextTooLong { max } => write!(f, "must be at most {max} characters"),
            CatalogError::ControlCharacter => write!(f, "must not contain control characters"),
            CatalogError::CategoryDepth { max } => {
                write!(f, "a category path has 1 to {max} segments")
            }
            CatalogError::CategorySegment { segment } => write!(
                f,
                "{segment:?} is not a category slug (lowercase letters and digits joined by single '-', at most {} characters)",
                item::MAX_SEGMENT_LEN
            ),
            CatalogError::UnknownAssortment { found } => {
                write!(
                    f,
                    "{found:?} is not an assortment; expected both, online_only or store_only"
                )
            }
            CatalogError::ZeroPrice => {
                write!(
                    f,
                    "a base price must be above zero (giveaways are promotions, not prices)"
                )
            }
            CatalogError::UnknownStoreKind { found } => {
                write!(
                    f,
                    "{found:?} is not a location kind; expected store or warehouse"
                )
            }
            CatalogError::UnknownService { found } => {
                write!(
                    f,
                    "{found:?} is not a service; expected click_and_collect, ship_from_store, returns or kiosk"
                )
            }
            CatalogError::WarehouseService { service } => write!(
                f,
                "a warehouse has no shop floor, so it cannot offer {}; only ship_from_store",
                service.as_str()
            ),
            CatalogError::UnknownCountry { found } => {
                write!(
                    f,
                    "{found:?} is not an ISO 3166 alpha-2 country code like \"PL\""
                )
            }
            CatalogError::BadPostalCode => write!(
                f,
                "a postal code has 2 to 10 letters, digits, spaces or '-'"
            ),
        }
    }
}

impl std::error::Error for CatalogError {}

/// One invalid field of one row: `field` is the wire name (`address.city`
/// for a nested one, empty for the row as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl fmt::Display) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

/// Collects the field errors of one row so all of them are reported, not
/// only the first.
#[derive(Default)]
struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|e| self.errors.push(FieldError::new(field, e)))
            .ok()
    }
}

/// Free text from the back office (names, streets): trimmed, non-empty, at
/// most `max` characters, no control characters (they break receipts and
/// CSV exports downstream).
fn text(raw: &str, max: usize) -> Result<String, CatalogError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(CatalogError::EmptyText);
    }
    if trimmed.chars().count() > max {
        return Err(CatalogError::TextTooLong { max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(CatalogError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

/// An optional text field: absent and blank both mean "none", because feeds
/// exported from spreadsheets write an empty cell as `""`.
fn optional_text(raw: Option<&str>, max: usize) -> Result<Option<String>, CatalogError> {
    match raw {
        Some(raw) if !raw.trim().is_empty() => text(raw, max).map(Some),
        _ => Ok(None),
    }
}

/// Joins the field errors of a value deserialized directly (not through a
/// batch) into one serde message.
fn joined(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(FieldError::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("  Linen dress ", 200).unwrap(), "Linen dress");
        assert_eq!(text("   ", 200), Err(CatalogError::EmptyText));
        assert_eq!(
            text(&"ż".repeat(201), 200),
            Err(CatalogError::TextTooLong { max: 200 })
        );
        assert!(
            text(&"ż".repeat(200), 200).is_ok(),
            "characters, not bytes, are counted"
        );
        assert_eq!(text("two\nlines", 200), Err(CatalogError::ControlCharacter));
    }

    #[test]
    fn blank_optional_text_means_none() {
        assert_eq!(optional_text(Some("  "), 20), Ok(None));
        assert_eq!(optional_text(None, 20), Ok(None));
        assert_eq!(optional_text(Some(" M "), 20), Ok(Some("M".into())));
        assert_eq!(
            optional_text(Some(&"x".repeat(21)), 20),
            Err(CatalogError::TextTooLong { max: 20 })
        );
    }
}

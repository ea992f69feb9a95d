//! The cart as the promotion engine sees it: a snapshot of lines with SKU,
//! category, quantity and unit price, all in one currency.
//!
//! Why a snapshot and not the cart itself? The engine must give the same
//! answer to the web shop, the app and the till, and those hold their carts
//! in different places (the cart-sync component, a till's own basket). A
//! plain value in, a plain value out is the one thing all of them can send.
//!
//! # Prices come from the catalog, never from the caller
//!
//! A snapshot sent over HTTP ([`CartSnapshotRow`]) names SKUs and
//! quantities; it becomes a [`CartRequest`], and only
//! [`CartRequest::price`] turns that into the [`CartSnapshot`] the engine
//! evaluates, with each line's unit price and category read from the
//! catalog (`prices`, `catalog_items`): there is one base price per SKU and
//! currency, the same in every channel, so a discount is always computed
//! on it. A line may still carry the `unit_price` and `category` the caller
//! shows; when it does and they differ from the catalog's, the request is
//! refused (422, the field named, the catalog's value in words) rather than
//! silently re-priced, so a till or storefront showing a stale price finds
//! out. A SKU the catalog lacks, or one without a price in the cart's
//! currency, is refused on its line. `already_discounted` (a marked-down
//! line) is the caller's to say and keeps its one effect: promotions that
//! exclude discounted lines leave the line alone; its price is still the
//! catalog's.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

use super::PromotionError;
use crate::catalog::{CategoryPath, FieldError};
use crate::ids::Sku;
use crate::money::{Currency, Money};
use crate::quantity::Quantity;
use crate::storage::{Sql, SqlValue, StorageError};

/// The most lines one snapshot may hold; far beyond any real basket, small
/// enough that evaluation stays bounded.
pub const MAX_LINES: usize = 200;

/// The highest unit price accepted, in major units. A price above it is a
/// feed or typing error (an extra digit or three), not a sale.
pub const MAX_UNIT_PRICE_MAJOR: i64 = 1_000_000;

/// One line of the basket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub sku: Sku,
    pub category: CategoryPath,
    pub quantity: Quantity,
    pub unit_price: Money,
    /// Already marked down (clearance, outlet price): promotions that
    /// exclude discounted lines leave it alone.
    pub already_discounted: bool,
}

impl CartLine {
    /// Unit price times quantity, in minor units; bounded by
    /// [`MAX_UNIT_PRICE_MAJOR`] times the line maximum, so it fits easily.
    pub fn total_minor(&self) -> i64 {
        self.unit_price.to_minor_units() * i64::from(self.quantity.get())
    }
}

/// A basket in one currency. It exists only if every line is in that
/// currency and within the bounds above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartSnapshot {
    currency: Currency,
    lines: Vec<CartLine>,
}

impl CartSnapshot {
    pub fn new(currency: Currency, lines: Vec<CartLine>) -> Result<CartSnapshot, Vec<FieldError>> {
        let mut errors = Vec::new();
        if lines.len() > MAX_LINES {
            errors.push(FieldError::new(
                "lines",
                format!("a cart holds at most {MAX_LINES} lines"),
            ));
        }
        for (i, line) in lines.iter().enumerate() {
            if let Some(reason) = price_problem(&line.unit_price, currency) {
                errors.push(FieldError::new(format!("lines[{i}].unit_price"), reason));
            }
        }
        if errors.is_empty() {
            Ok(CartSnapshot { currency, lines })
        } else {
            Err(errors)
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    /// The basket before any discount.
    pub fn subtotal(&self) -> Money {
        let minor: i64 = self.lines.iter().map(CartLine::total_minor).sum();
        Money::from_minor_units(minor, self.currency)
            .expect("bounded lines sum within the money range")
    }
}

fn price_problem(price: &Money, currency: Currency) -> Option<String> {
    if price.currency() != currency {
        return Some(format!(
            "is in {}, but the cart is in {currency}; one cart has one currency",
            price.currency()
        ));
    }
    let cap = MAX_UNIT_PRICE_MAJOR * 10_i64.pow(currency.minor_units());
    if price.is_negative() {
        return Some("must not be negative".into());
    }
    (price.to_minor_units() > cap).then(|| {
        format!("{price} is beyond the largest unit price of {MAX_UNIT_PRICE_MAJOR} {currency}")
    })
}

/// The wire form: `{"currency": "PLN", "lines": [{"sku", "quantity",
/// "unit_price"?: {"amount", "currency"}, "category"?, "already_discounted"?}]}`.
/// Values stay raw JSON here so every bad field is named in the answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartSnapshotRow {
    pub currency: String,
    pub lines: Vec<CartLineRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartLineRow {
    pub sku: String,
    /// What the caller files the SKU under; checked against the catalog.
    #[serde(default)]
    pub category: Option<Vec<String>>,
    pub quantity: Value,
    /// What the caller shows as the unit price; checked against the catalog.
    #[serde(default)]
    pub unit_price: Option<PriceRow>,
    #[serde(default)]
    pub already_discounted: bool,
}

/// `{"amount": "59.99", "currency": "PLN"}`, read field by field so a bad
/// price is reported on its line. (A whole `Value` per price would cost a
/// map per line on every validation.)
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRow {
    pub amount: Value,
    pub currency: String,
}

impl PriceRow {
    fn parse(&self) -> Result<Money, String> {
        let currency = Currency::parse(&self.currency).map_err(|e| e.to_string())?;
        match &self.amount {
            Value::String(amount) => Money::parse_non_negative(amount, currency).map_err(|e| e.to_string()),
            Value::Number(_) => Err("amount must be a JSON string like \"129.99\", not a number (numbers become floats and lose cents)".into()),
            _ => Err("amount must be a JSON string like \"129.99\"".into()),
        }
    }
}

/// One line as the caller states it: what and how many, and optionally the
/// price and category it shows (checked, never used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedLine {
    pub sku: Sku,
    pub quantity: Quantity,
    pub unit_price: Option<Money>,
    pub category: Option<CategoryPath>,
    pub already_discounted: bool,
}

/// A basket as a caller states it, before the catalog prices it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartRequest {
    currency: Currency,
    lines: Vec<RequestedLine>,
}

/// What the catalog holds for one SKU: its category and, when it has one,
/// its base price in the cart's currency (minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub category: CategoryPath,
    pub unit_price_minor: Option<i64>,
}

impl CartRequest {
    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn lines(&self) -> &[RequestedLine] {
        &self.lines
    }

    /// The snapshot the engine evaluates, priced from the catalog: one read
    /// of every SKU's category and base price in the cart's currency. A
    /// disagreement is [`PromotionError::Invalid`] naming each field
    /// `lines[i].<field>`.
    pub fn price(&self, sql: &dyn Sql) -> Result<CartSnapshot, PromotionError> {
        let catalog = self.load_catalog(sql)?;
        self.price_with(&catalog).map_err(PromotionError::Invalid)
    }

    fn load_catalog(&self, sql: &dyn Sql) -> Result<HashMap<Sku, CatalogEntry>, StorageError> {
        let mut catalog = HashMap::with_capacity(self.lines.len());
        if self.lines.is_empty() {
            return Ok(catalog);
        }
        let mut params: Vec<SqlValue> = Vec::with_capacity(self.lines.len() + 1);
        params.push(self.currency.code().into());
        params.extend(self.lines.iter().map(|l| SqlValue::from(l.sku.as_str())));
        let placeholders: Vec<String> = (2..=params.len()).map(|i| format!("?{i}")).collect();
        let rows = sql.execute(
            &format!(
                "SELECT c.sku, c.category, p.amount_minor FROM catalog_items c
                 LEFT JOIN prices p ON p.sku = c.sku AND p.currency = ?1
                 WHERE c.sku IN ({})",
                placeholders.join(", ")
            ),
            &params,
        )?;
        for row in rows.iter() {
            let sku =
                Sku::parse(row.text("sku")?).map_err(|e| StorageError::Decode(e.to_string()))?;
            let segments: Vec<&str> = row.text("category")?.split('/').collect();
            let category =
                CategoryPath::parse(&segments).map_err(|e| StorageError::Decode(e.to_string()))?;
            catalog.insert(
                sku,
                CatalogEntry {
                    category,
                    unit_price_minor: row.opt_integer("amount_minor")?,
                },
            );
        }
        Ok(catalog)
    }

    /// [`CartRequest::price`] against catalog entries already read.
    pub fn price_with(
        &self,
        catalog: &HashMap<Sku, CatalogEntry>,
    ) -> Result<CartSnapshot, Vec<FieldError>> {
        let currency = self.currency;
        let mut errors = Vec::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, line) in self.lines.iter().enumerate() {
            let sku = &line.sku;
            let Some(entry) = catalog.get(sku) else {
                errors.push(FieldError::new(
                    format!("lines[{i}].sku"),
                    format!("the catalog has no item with SKU {sku}"),
                ));
                continue;
            };
            let price = entry
                .unit_price_minor
                .map(|minor| Money::from_minor_units(minor, currency));
            let unit_price = match price {
                None => {
                    errors.push(FieldError::new(
                        format!("lines[{i}].sku"),
                        format!("{sku} has no price in {currency} in the catalog, so it cannot be sold in a {currency} cart"),
                    ));
                    continue;
                }
                Some(Err(e)) => {
                    errors.push(FieldError::new(
                        format!("lines[{i}].sku"),
                        format!("the catalog price of {sku}: {e}"),
                    ));
                    continue;
                }
                Some(Ok(price)) => price,
            };
            if let Some(shown) = &line.unit_price
                && shown.to_minor_units() != unit_price.to_minor_units()
            {
                errors.push(FieldError::new(
                    format!("lines[{i}].unit_price"),
                    format!(
                        "{shown} is not the price of {sku}: the catalog price of {sku} is {unit_price}, the same in every channel; send that or leave unit_price out"
                    ),
                ));
            }
            if let Some(shown) = &line.category
                && *shown != entry.category
            {
                errors.push(FieldError::new(
                    format!("lines[{i}].category"),
                    format!(
                        "the catalog files {sku} under {}, not {shown}; send that or leave category out",
                        entry.category
                    ),
                ));
            }
            lines.push(CartLine {
                sku: sku.clone(),
                category: entry.category.clone(),
                quantity: line.quantity,
                unit_price,
                already_discounted: line.already_discounted,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        CartSnapshot::new(currency, lines)
    }
}

impl TryFrom<CartSnapshotRow> for CartRequest {
    type Error = Vec<FieldError>;

    fn try_from(row: CartSnapshotRow) -> Result<CartRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&row.currency)
            .map_err(|e| errors.push(FieldError::new("currency", e)))
            .ok();
        if row.lines.len() > MAX_LINES {
            // Refused before looking at the lines, so a huge body costs little.
            errors.push(FieldError::new(
                "lines",
                format!("a cart holds at most {MAX_LINES} lines"),
            ));
            return Err(errors);
        }
        let mut lines = Vec::with_capacity(row.lines.len());
        for (i, line) in row.lines.into_iter().enumerate() {
            let field = |name: &str| format!("lines[{i}].{name}");
            let sku = Sku::parse(&line.sku)
                .map_err(|e| errors.push(FieldError::new(field("sku"), e)))
                .ok();
            let category = match &line.category {
                None => Some(None),
                Some(path) => CategoryPath::parse(path)
                    .map(Some)
                    .map_err(|e| errors.push(FieldError::new(field("category"), e)))
                    .ok(),
            };
            let quantity = Quantity::parse_json(&line.quantity)
                .map_err(|e| errors.push(FieldError::new(field("quantity"), e)))
                .ok();
            let unit_price = match line.unit_price.as_ref().map(PriceRow::parse) {
                None => Some(None),
                Some(Ok(price)) => match currency.and_then(|c| price_problem(&price, c)) {
                    Some(reason) => {
                        errors.push(FieldError::new(field("unit_price"), reason));
                        None
                    }
                    None => Some(Some(price)),
                },
                Some(Err(e)) => {
                    errors.push(FieldError::new(field("unit_price"), e));
                    None
                }
            };
            if let (Some(sku), Some(category), Some(quantity), Some(unit_price)) =
                (sku, category, quantity, unit_price)
            {
                lines.push(RequestedLine {
                    sku,
                    quantity,
                    unit_price,
                    category,
                    already_discounted: line.already_discounted,
                });
            }
        }
        match currency {
            Some(currency) if errors.is_empty() => Ok(CartRequest { currency, lines }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(value: Value) -> Result<CartRequest, Vec<FieldError>> {
        CartRequest::try_from(serde_json::from_value::<CartSnapshotRow>(value).expect("wire shape"))
    }

    /// TEE-M at 59.99 PLN, SCF-WOL-RED at 89.90 PLN (men's tees and scarves),
    /// NOPLN with no PLN price.
    fn catalog() -> HashMap<Sku, CatalogEntry> {
        let entry = |path: &[&str], minor: Option<i64>| CatalogEntry {
            category: CategoryPath::parse(path).unwrap(),
            unit_price_minor: minor,
        };
        HashMap::from([
            (
                Sku::parse("TEE-M").unwrap(),
                entry(&["men", "t-shirts"], Some(5_999)),
            ),
            (
                Sku::parse("SCF-WOL-RED").unwrap(),
                entry(&["accessories", "scarves"], Some(8_990)),
            ),
            (
                Sku::parse("NOPLN").unwrap(),
                entry(&["men", "t-shirts"], None),
            ),
        ])
    }

    fn parse(value: Value) -> Result<CartSnapshot, Vec<FieldError>> {
        request(value)?.price_with(&catalog())
    }

    fn line(sku: &str, quantity: Value, amount: &str, currency: &str) -> Value {
        json!({"sku": sku, "category": ["men", "t-shirts"], "quantity": quantity, "unit_price": {"amount": amount, "currency": currency}})
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_snapshot_parses_with_its_subtotal() {
        let cart =
            parse(json!({"currency": "PLN", "lines": [line("tee-m", json!(2), "59.99", "PLN")]}))
                .unwrap();
        assert_eq!(cart.lines()[0].sku.as_str(), "TEE-M");
        assert_eq!(cart.subtotal().to_string(), "119.98 PLN");
        assert!(!cart.lines()[0].already_discounted);
    }

    #[test]
    fn skus_and_quantities_are_enough_the_catalog_gives_price_and_category() {
        let cart = parse(json!({"currency": "PLN", "lines": [
            {"sku": "SCF-WOL-RED", "quantity": 1},
            {"sku": "TEE-M", "quantity": 3, "already_discounted": true},
        ]}))
        .unwrap();
        assert_eq!(cart.lines()[0].unit_price.to_string(), "89.90 PLN");
        assert_eq!(cart.lines()[0].category.to_string(), "accessories/scarves");
        assert!(
            cart.lines()[1].already_discounted,
            "the markdown flag is the caller's and is kept"
        );
        assert_eq!(cart.subtotal().to_string(), "269.87 PLN");
    }

    #[test]
    fn a_price_or_category_other_than_the_catalogs_is_refused_with_the_catalog_price() {
        let errors = parse(json!({"currency": "PLN", "lines": [
            {"sku": "TEE-M", "quantity": 1},
            {"sku": "SCF-WOL-RED", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "PLN"}},
            {"sku": "SCF-WOL-RED", "quantity": 1, "category": ["men", "t-shirts"], "unit_price": {"amount": "89.9", "currency": "PLN"}},
        ]}))
        .unwrap_err();
        assert_eq!(
            fields(errors.clone()),
            ["lines[1].unit_price", "lines[2].category"]
        );
        assert!(
            errors[0]
                .reason
                .contains("the catalog price of SCF-WOL-RED is 89.90 PLN"),
            "{}",
            errors[0].reason
        );
        assert!(
            errors[1].reason.contains("under accessories/scarves"),
            "{}",
            errors[1].reason
        );
        let marked_down = parse(json!({"currency": "PLN", "lines": [
            {"sku": "SCF-WOL-RED", "quantity": 1, "already_discounted": true, "unit_price": {"amount": "49.90", "currency": "PLN"}},
        ]}))
        .unwrap_err();
        assert_eq!(
            fields(marked_down),
            ["lines[0].unit_price"],
            "a flag does not make a price"
        );
    }

    #[test]
    fn unknown_and_unpriced_skus_are_refused_on_their_line() {
        let errors = parse(json!({"currency": "PLN", "lines": [
            {"sku": "TEE-M", "quantity": 1},
            {"sku": "NOSUCH", "quantity": 1},
            {"sku": "NOPLN", "quantity": 1},
        ]}))
        .unwrap_err();
        assert_eq!(fields(errors.clone()), ["lines[1].sku", "lines[2].sku"]);
        assert!(
            errors[0].reason.contains("no item with SKU NOSUCH"),
            "{}",
            errors[0].reason
        );
        assert!(
            errors[1].reason.contains("no price in PLN"),
            "{}",
            errors[1].reason
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = request(json!({"currency": "PLN", "lines": [
            line("", json!(0), "59.99", "PLN"),
            line("TEE-M", json!(1.5), "-1.00", "PLN"),
            {"sku": "X", "category": ["Men"], "quantity": 1, "unit_price": {"amount": 5, "currency": "PLN"}},
        ]}))
        .unwrap_err();
        assert_eq!(
            fields(errors),
            [
                "lines[0].sku",
                "lines[0].quantity",
                "lines[1].quantity",
                "lines[1].unit_price",
                "lines[2].category",
                "lines[2].unit_price"
            ]
        );
    }

    #[test]
    fn mismatched_currencies_are_refused() {
        let errors =
            request(json!({"currency": "PLN", "lines": [line("A", json!(1), "10.00", "EUR")]}))
                .unwrap_err();
        assert_eq!(errors[0].field, "lines[0].unit_price");
        assert!(
            errors[0].reason.contains("one cart has one currency"),
            "{}",
            errors[0].reason
        );
    }

    #[test]
    fn absurd_prices_and_unknown_currencies_are_refused() {
        let errors = request(
            json!({"currency": "PLN", "lines": [line("A", json!(1), "1000000.01", "PLN")]}),
        )
        .unwrap_err();
        assert_eq!(fields(errors), ["lines[0].unit_price"]);
        assert!(
            request(
                json!({"currency": "PLN", "lines": [line("A", json!(1), "1000000.00", "PLN")]})
            )
            .is_ok()
        );
        assert_eq!(
            fields(request(json!({"currency": "XXX", "lines": []})).unwrap_err()),
            ["currency"]
        );
    }

    #[test]
    fn oversized_carts_are_refused_before_their_lines_are_read() {
        let lines: Vec<Value> = (0..=MAX_LINES)
            .map(|_| line("", json!(0), "x", "PLN"))
            .collect();
        assert_eq!(
            fields(request(json!({"currency": "PLN", "lines": lines})).unwrap_err()),
            ["lines"]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut bad = line("A", json!(1), "1.00", "PLN");
        bad["discount"] = json!("50%");
        assert!(
            serde_json::from_value::<CartSnapshotRow>(json!({"currency": "PLN", "lines": [bad]}))
                .is_err()
        );
    }
}

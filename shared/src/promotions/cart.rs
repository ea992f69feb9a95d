//! The cart as the promotion engine sees it: a snapshot of lines with SKU,
//! category, quantity and unit price, all in one currency.
//!
//! Why a snapshot and not the cart itself? The engine must give the same
//! answer to the web shop, the app and the till, and those hold their carts
//! in different places (the cart-sync component, a till's own basket). A
//! plain value in, a plain value out is the one thing all of them can send.

use serde::Deserialize;
use serde_json::Value;

use crate::catalog::{CategoryPath, FieldError};
use crate::ids::Sku;
use crate::money::{Currency, Money};
use crate::quantity::Quantity;

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
            errors.push(FieldError::new("lines", format!("a cart holds at most {MAX_LINES} lines")));
        }
        for (i, line) in lines.iter().enumerate() {
            if let Some(reason) = price_problem(&line.unit_price, currency) {
                errors.push(FieldError::new(format!("lines[{i}].unit_price"), reason));
            }
        }
        if errors.is_empty() { Ok(CartSnapshot { currency, lines }) } else { Err(errors) }
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
        Money::from_minor_units(minor, self.currency).expect("bounded lines sum within the money range")
    }
}

fn price_problem(price: &Money, currency: Currency) -> Option<String> {
    if price.currency() != currency {
        return Some(format!("is in {}, but the cart is in {currency}; one cart has one currency", price.currency()));
    }
    let cap = MAX_UNIT_PRICE_MAJOR * 10_i64.pow(currency.minor_units());
    if price.is_negative() {
        return Some("must not be negative".into());
    }
    (price.to_minor_units() > cap).then(|| format!("{price} is beyond the largest unit price of {MAX_UNIT_PRICE_MAJOR} {currency}"))
}

/// The wire form: `{"currency": "PLN", "lines": [{"sku", "category",
/// "quantity", "unit_price": {"amount", "currency"}, "already_discounted"}]}`.
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
    pub category: Vec<String>,
    pub quantity: Value,
    pub unit_price: PriceRow,
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

impl TryFrom<CartSnapshotRow> for CartSnapshot {
    type Error = Vec<FieldError>;

    fn try_from(row: CartSnapshotRow) -> Result<CartSnapshot, Vec<FieldError>> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&row.currency).map_err(|e| errors.push(FieldError::new("currency", e))).ok();
        if row.lines.len() > MAX_LINES {
            // Refused before looking at the lines, so a huge body costs little.
            errors.push(FieldError::new("lines", format!("a cart holds at most {MAX_LINES} lines")));
            return Err(errors);
        }
        let mut lines = Vec::with_capacity(row.lines.len());
        for (i, line) in row.lines.into_iter().enumerate() {
            let field = |name: &str| format!("lines[{i}].{name}");
            let sku = Sku::parse(&line.sku).map_err(|e| errors.push(FieldError::new(field("sku"), e))).ok();
            let category =
                CategoryPath::parse(&line.category).map_err(|e| errors.push(FieldError::new(field("category"), e))).ok();
            let quantity =
                Quantity::parse_json(&line.quantity).map_err(|e| errors.push(FieldError::new(field("quantity"), e))).ok();
            let unit_price = match line.unit_price.parse() {
                Ok(price) => match currency.and_then(|c| price_problem(&price, c)) {
                    Some(reason) => {
                        errors.push(FieldError::new(field("unit_price"), reason));
                        None
                    }
                    None => Some(price),
                },
                Err(e) => {
                    errors.push(FieldError::new(field("unit_price"), e));
                    None
                }
            };
            if let (Some(sku), Some(category), Some(quantity), Some(unit_price)) = (sku, category, quantity, unit_price) {
                lines.push(CartLine { sku, category, quantity, unit_price, already_discounted: line.already_discounted });
            }
        }
        let Some(currency) = currency else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        CartSnapshot::new(currency, lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<CartSnapshot, Vec<FieldError>> {
        CartSnapshot::try_from(serde_json::from_value::<CartSnapshotRow>(value).expect("wire shape"))
    }

    fn line(sku: &str, quantity: Value, amount: &str, currency: &str) -> Value {
        json!({"sku": sku, "category": ["men", "t-shirts"], "quantity": quantity, "unit_price": {"amount": amount, "currency": currency}})
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_snapshot_parses_with_its_subtotal() {
        let cart = parse(json!({"currency": "PLN", "lines": [line("tee-m", json!(2), "59.99", "PLN")]})).unwrap();
        assert_eq!(cart.lines()[0].sku.as_str(), "TEE-M");
        assert_eq!(cart.subtotal().to_string(), "119.98 PLN");
        assert!(!cart.lines()[0].already_discounted);
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = parse(json!({"currency": "PLN", "lines": [
            line("", json!(0), "59.99", "PLN"),
            line("TEE-M", json!(1.5), "-1.00", "PLN"),
            {"sku": "X", "category": ["Men"], "quantity": 1, "unit_price": {"amount": 5, "currency": "PLN"}},
        ]}))
        .unwrap_err();
        assert_eq!(
            fields(errors),
            ["lines[0].sku", "lines[0].quantity", "lines[1].quantity", "lines[1].unit_price", "lines[2].category", "lines[2].unit_price"]
        );
    }

    #[test]
    fn mismatched_currencies_are_refused() {
        let errors = parse(json!({"currency": "PLN", "lines": [line("A", json!(1), "10.00", "EUR")]})).unwrap_err();
        assert_eq!(errors[0].field, "lines[0].unit_price");
        assert!(errors[0].reason.contains("one cart has one currency"), "{}", errors[0].reason);
    }

    #[test]
    fn absurd_prices_and_unknown_currencies_are_refused() {
        let errors = parse(json!({"currency": "PLN", "lines": [line("A", json!(1), "1000000.01", "PLN")]})).unwrap_err();
        assert_eq!(fields(errors), ["lines[0].unit_price"]);
        assert!(parse(json!({"currency": "PLN", "lines": [line("A", json!(1), "1000000.00", "PLN")]})).is_ok());
        assert_eq!(fields(parse(json!({"currency": "XXX", "lines": []})).unwrap_err()), ["currency"]);
    }

    #[test]
    fn oversized_carts_are_refused_before_their_lines_are_read() {
        let lines: Vec<Value> = (0..=MAX_LINES).map(|_| line("", json!(0), "x", "PLN")).collect();
        assert_eq!(fields(parse(json!({"currency": "PLN", "lines": lines})).unwrap_err()), ["lines"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut bad = line("A", json!(1), "1.00", "PLN");
        bad["discount"] = json!("50%");
        assert!(serde_json::from_value::<CartSnapshotRow>(json!({"currency": "PLN", "lines": [bad]})).is_err());
    }
}

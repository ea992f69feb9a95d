//! A basket asked about or reserved at one location: up to
//! [`MAX_BASKET_LINES`] distinct SKUs, each with a whole quantity.

use super::StockError;
use crate::catalog::{Assortment, FieldError};
use crate::ids::Sku;
use crate::quantity::Quantity;
use crate::storage::{Sql, SqlValue, StorageError};
use serde::Deserialize;
use std::collections::HashMap;

/// The most lines one basket may hold: a large click & collect order, and
/// a bound on the work one lookup can ask of a store's shelves.
pub const MAX_BASKET_LINES: usize = 50;

/// One line as it arrives. The quantity stays a raw JSON value until
/// [`Quantity::parse_json`] can say precisely what is wrong with it
/// (fractional, negative, zero, too large, not a number).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasketLineRow {
    pub sku: String,
    pub quantity: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLine {
    sku: Sku,
    quantity: Quantity,
}

impl BasketLine {
    pub fn new(sku: Sku, quantity: Quantity) -> BasketLine {
        BasketLine { sku, quantity }
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn quantity(&self) -> Quantity {
        self.quantity
    }
}

/// A valid basket: 1 to 50 lines, no SKU twice (two lines of one SKU are
/// ambiguous: a client merging them is the one that knows which it meant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket(Vec<BasketLine>);

impl Basket {
    /// Every problem of every line, named `lines[i].field`.
    pub fn parse(rows: &[BasketLineRow]) -> Result<Basket, Vec<FieldError>> {
        if rows.is_empty() {
            return Err(vec![FieldError::new(
                "lines",
                "a basket needs at least one line",
            )]);
        }
        if rows.len() > MAX_BASKET_LINES {
            return Err(vec![FieldError::new(
                "lines",
                format!(
                    "a basket holds at most {MAX_BASKET_LINES} lines, this one has {}",
                    rows.len()
                ),
            )]);
        }
        let mut errors = Vec::new();
        let mut lines = Vec::with_capacity(rows.len());
        let mut seen: HashMap<Sku, usize> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            let sku = Sku::parse(&row.sku)
                .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].sku"), e)));
            let quantity = Quantity::parse_json(&row.quantity)
                .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].quantity"), e)));
            if let (Ok(sku), Ok(quantity)) = (sku, quantity) {
                if let Some(first) = seen.get(&sku) {
                    errors.push(FieldError::new(
                        format!("lines[{i}].sku"),
                        format!("{sku} already appears in lines[{first}]; give one line per SKU"),
                    ));
                    continue;
                }
                seen.insert(sku.clone(), i);
                lines.push(BasketLine { sku, quantity });
            }
        }
        if errors.is_empty() {
            Ok(Basket(lines))
        } else {
            Err(errors)
        }
    }

    /// A basket built from already valid lines (a returns exchange, a test).
    pub fn from_lines(lines: Vec<BasketLine>) -> Result<Basket, Vec<FieldError>> {
        let rows: Vec<BasketLineRow> = lines
            .iter()
            .map(|l| BasketLineRow {
                sku: l.sku.to_string(),
                quantity: serde_json::Value::from(l.quantity.get()),
            })
            .collect();
        Basket::parse(&rows)
    }

    pub fn lines(&self) -> &[BasketLine] {
        &self.0
    }

    pub fn skus(&self) -> impl Iterator<Item = &Sku> {
        self.0.iter().map(|l| &l.sku)
    }
}

/// The channel assortment of every SKU in the basket, in basket order, or
/// [`StockError::UnknownSkus`] naming every SKU the catalog lacks.
pub fn assortments(sql: &dyn Sql, basket: &Basket) -> Result<Vec<(Sku, Assortment)>, StockError> {
    let placeholders: Vec<String> = (1..=basket.lines().len())
        .map(|i| format!("?{i}"))
        .collect();
    let params: Vec<SqlValue> = basket.skus().map(|s| SqlValue::from(s.as_str())).collect();
    let rows = sql.execute(
        &format!(
            "SELECT sku, assortment FROM catalog_items WHERE sku IN ({})",
            placeholders.join(", ")
        ),
        &params,
    )?;
    let mut known: HashMap<String, Assortment> = HashMap::with_capacity(rows.rows.len());
    for row in rows.iter() {
        let assortment = Assortment::parse(row.text("assortment")?)
            .map_err(|e| StorageError::Decode(e.to_string()))?;
        known.insert(row.text("sku")?.to_owned(), assortment);
    }
    let missing: Vec<Sku> = basket
        .skus()
        .filter(|s| !known.contains_key(s.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(StockError::UnknownSkus(missing));
    }
    Ok(basket
        .skus()
        .map(|s| (s.clone(), known[s.as_str()]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(value: serde_json::Value) -> Vec<BasketLineRow> {
        serde_json::from_value(value).unwrap()
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_basket_of_distinct_skus_with_whole_quantities_parses() {
        let basket = Basket::parse(&rows(
            json!([{"sku": "tee-m", "quantity": 2}, {"sku": "DRS-S", "quantity": 1.0}]),
        ))
        .unwrap();
        assert_eq!(basket.lines().len(), 2);
        assert_eq!(basket.lines()[0].sku().as_str(), "TEE-M");
        assert_eq!(basket.lines()[1].quantity().get(), 1);
    }

    #[test]
    fn negative_fractional_zero_and_non_numeric_quantities_are_rejected_per_line() {
        let errors = Basket::parse(&rows(json!([
            {"sku": "A", "quantity": -1},
            {"sku": "B", "quantity": 1.5},
            {"sku": "C", "quantity": 0},
            {"sku": "D", "quantity": "2"},
            {"sku": "E", "quantity": 100},
            {"sku": "F", "quantity": 1}
        ])))
        .unwrap_err();
        assert_eq!(
            fields(errors),
            [
                "lines[0].quantity",
                "lines[1].quantity",
                "lines[2].quantity",
                "lines[3].quantity",
                "lines[4].quantity"
            ]
        );
    }

    #[test]
    fn a_sku_twice_in_one_basket_is_rejected() {
        let errors = Basket::parse(&rows(
            json!([{"sku": "A", "quantity": 1}, {"sku": "a", "quantity": 2}]),
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "lines[1].sku");
        assert!(
            errors[0].reason.contains("lines[0]"),
            "{}",
            errors[0].reason
        );
    }

    #[test]
    fn a_basket_holds_one_to_fifty_lines() {
        assert_eq!(fields(Basket::parse(&[]).unwrap_err()), ["lines"]);
        let fifty: Vec<_> = (0..50)
            .map(|i| json!({"sku": format!("S{i}"), "quantity": 1}))
            .collect();
        assert_eq!(
            Basket::parse(&rows(json!(fifty))).unwrap().lines().len(),
            50
        );
        let fifty_one: Vec<_> = (0..51)
            .map(|i| json!({"sku": format!("S{i}"), "quantity": 1}))
            .collect();
        let errors = Basket::parse(&rows(json!(fifty_one))).unwrap_err();
        assert!(
            errors[0].reason.contains("at most 50"),
            "{}",
            errors[0].reason
        );
    }

    #[test]
    fn bad_skus_are_named_by_line() {
        let errors = Basket::parse(&rows(json!([{"sku": "a b", "quantity": 1}]))).unwrap_err();
        assert_eq!(fields(errors), ["lines[0].sku"]);
    }

    #[test]
    fn unknown_fields_in_a_line_are_refused() {
        assert!(
            serde_json::from_value::<Vec<BasketLineRow>>(
                json!([{"sku": "A", "quantity": 1, "qty": 2}])
            )
            .is_err()
        );
    }
}

//! Till receipts: a sale paid at a till, recorded so it can be returned in
//! any store like an order.
//!
//! Why record sales here? The POS owns its own sales ledger; the edge only
//! needs what a return needs: which SKUs, how many, what each line paid
//! after line and order-level discounts, where and when (the window starts
//! at the sale, in that store's time zone). So a till posts the receipt
//! once (`POST /api/returns/receipts`, idempotent by key) with its lines,
//! line discounts and order-level discounts; the paid amounts are computed
//! here with the promotion engine's allocation ([`super::refund::paid_per_line`]),
//! never taken from the request. Stock is not touched: the POS reports its
//! sales through the stock feed as before.

use super::refund::{ReceiptLine, paid_per_line};
use super::{ReturnError, decode_err, parse_timestamp, timestamp};
use crate::catalog::FieldError;
use crate::ids::{CustomerId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};

/// The most lines a receipt may have.
pub const MAX_LINES: usize = 100;

/// A sale line as the till reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLine {
    pub sku: Sku,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_discount: Money,
}

/// A sale to record (already parsed and authorised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceipt {
    pub store: StoreId,
    pub customer: Option<CustomerId>,
    pub currency: Currency,
    pub lines: Vec<SaleLine>,
    /// Order-level discounts in the order they were applied.
    pub order_discounts: Vec<Money>,
    pub sold_at: DateTime<Utc>,
}

/// A receipt line with what it paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRow {
    pub sku: Sku,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub paid: Money,
}

/// A recorded till sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub id: String,
    pub store: StoreId,
    pub customer: Option<CustomerId>,
    pub currency: Currency,
    pub lines: Vec<ReceiptRow>,
    pub total_paid: Money,
    pub sold_at: DateTime<Utc>,
}

/// Records `new`; unknown SKUs and discounts above what was bought are 422.
pub fn record(
    sql: &dyn Sql,
    new: &NewReceipt,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Receipt, ReturnError> {
    if new.sold_at > now + chrono::Duration::minutes(5) {
        return Err(ReturnError::Invalid(vec![FieldError::new(
            "sold_at",
            "lies in the future",
        )]));
    }
    let priced: Vec<ReceiptLine> = new
        .lines
        .iter()
        .map(|l| ReceiptLine {
            unit_price: l.unit_price,
            quantity: l.quantity,
            line_discount: l.line_discount,
        })
        .collect();
    let paid = paid_per_line(new.currency, &priced, &new.order_discounts).map_err(|e| {
        ReturnError::Invalid(vec![FieldError::new(
            "discounts",
            format!("do not fit what was bought: {e}"),
        )])
    })?;
    let total = Money::sum(new.currency, paid.iter())
        .map_err(|e| ReturnError::Invalid(vec![FieldError::new("lines", e)]))?;
    in_transaction(sql, |tx| {
        crate::stock::load_store(tx, &new.store)?;
        let mut lines = Vec::with_capacity(new.lines.len());
        let mut unknown = Vec::new();
        for (line, paid) in new.lines.iter().zip(&paid) {
            let rows = tx.execute(
                "SELECT COALESCE(json_extract(data, '$.name'), sku) AS name FROM catalog_items WHERE sku = ?1",
                &[line.sku.as_str().into()],
            )?;
            match rows.first() {
                Some(row) => lines.push(ReceiptRow {
                    sku: line.sku.clone(),
                    name: row.text("name")?.to_owned(),
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    paid: *paid,
                }),
                None => unknown.push(FieldError::new(
                    "lines",
                    format!("the catalog has no item {}", line.sku),
                )),
            }
        }
        if !unknown.is_empty() {
            return Err(ReturnError::Invalid(unknown));
        }
        let id = tx.execute(
            "INSERT INTO return_receipts (id, store_id, customer_id, currency, total_paid_minor, sold_at, recorded_by, created_at)
             VALUES ('RCP-' || hex(randomblob(8)), ?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            &[
                new.store.as_str().into(),
                new.customer.as_ref().map(CustomerId::as_str).into(),
                new.currency.code().into(),
                total.to_minor_units().into(),
                timestamp(new.sold_at).into(),
                by.into(),
                timestamp(now).into(),
            ],
        )?;
        let id = id
            .first()
            .map(|r| r.text("id").map(str::to_owned))
            .transpose()?
            .ok_or(StorageError::Decode("receipt id".into()))?;
        for (index, line) in lines.iter().enumerate() {
            tx.execute(
                "INSERT INTO return_receipt_lines (receipt_id, line, sku, name, quantity, unit_price_minor, paid_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    id.as_str().into(),
                    (index as i64).into(),
                    line.sku.as_str().into(),
                    line.name.as_str().into(),
                    line.quantity.into(),
                    line.unit_price.to_minor_units().into(),
                    line.paid.to_minor_units().into(),
                ],
            )?;
        }
        Ok(Receipt {
            id,
            store: new.store.clone(),
            customer: new.customer.clone(),
            currency: new.currency,
            lines,
            total_paid: total,
            sold_at: new.sold_at,
        })
    })
}

/// Whether `raw` names a receipt rather than an order.
pub fn is_receipt_id(raw: &str) -> bool {
    raw.len() == 20 && raw.starts_with("RCP-") && raw[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The receipt with this id, lines included.
pub fn load(sql: &dyn Sql, id: &str) -> Result<Option<Receipt>, StorageError> {
    let rows = sql.execute(
        "SELECT id, store_id, customer_id, currency, total_paid_minor, sold_at FROM return_receipts WHERE id = ?1",
        &[id.to_ascii_uppercase().into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let currency = Currency::parse(row.text("currency")?).map_err(|e| decode_err("currency", e))?;
    let money =
        |minor: i64| Money::from_minor_units(minor, currency).map_err(|e| decode_err("amount", e));
    let id = row.text("id")?.to_owned();
    let lines = sql
        .execute(
            "SELECT sku, name, quantity, unit_price_minor, paid_minor FROM return_receipt_lines
             WHERE receipt_id = ?1 ORDER BY line",
            &[id.as_str().into()],
        )?
        .iter()
        .map(|l| {
            Ok(ReceiptRow {
                sku: Sku::parse(l.text("sku")?).map_err(|e| decode_err("sku", e))?,
                name: l.text("name")?.to_owned(),
                quantity: u32::try_from(l.integer("quantity")?)
                    .map_err(|e| decode_err("quantity", e))?,
                unit_price: money(l.integer("unit_price_minor")?)?,
                paid: money(l.integer("paid_minor")?)?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(Some(Receipt {
        id,
        store: StoreId::parse(row.text("store_id")?).map_err(|e| decode_err("store", e))?,
        customer: row
            .opt_text("customer_id")?
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| decode_err("customer", e))?,
        currency,
        lines,
        total_paid: money(row.integer("total_paid_minor")?)?,
        sold_at: parse_timestamp(row.text("sold_at")?)?,
    }))
}

//! `POST /api/returns/receipts`: a till records a sale of its own store so
//! it can be returned in any store like an order (see
//! `omni_shared::returns::receipts` for why and what is kept).

use crate::body;
use chrono::{DateTime, Utc};
use omni_shared::catalog::FieldError;
use omni_shared::ids::{CustomerId, Sku};
use omni_shared::money::{Currency, Money};
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::Quantity;
use omni_shared::returns::receipts::{MAX_LINES, NewReceipt, SaleLine, record};
use omni_shared::returns::{ReturnError, timestamp};
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptBody {
    currency: String,
    lines: Vec<SaleBody>,
    #[serde(default)]
    order_discounts: Vec<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    sold_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaleBody {
    sku: String,
    quantity: serde_json::Value,
    unit_price: String,
    #[serde(default)]
    line_discount: Option<String>,
}

pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let store = caller.require_store()?.clone();
    let actor = body::actor(ctx)?;
    let body: ReceiptBody = parse_json(ctx.req)?;
    let now = ctx.now();
    let mut errors = Vec::new();
    let currency = Currency::parse(&body.currency)
        .map_err(|e| errors.push(FieldError::new("currency", e)))
        .ok();
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("1 to {MAX_LINES} lines")));
    }
    let mut lines = Vec::new();
    if let Some(currency) = currency {
        for (i, line) in body.lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{i}].{name}");
            let sku = Sku::parse(&line.sku)
                .map_err(|e| errors.push(FieldError::new(field("sku"), e)))
                .ok();
            let quantity = Quantity::parse_json(&line.quantity)
                .map_err(|e| errors.push(FieldError::new(field("quantity"), e)))
                .ok();
            let price = Money::parse_non_negative(&line.unit_price, currency)
                .map_err(|e| errors.push(FieldError::new(field("unit_price"), e)))
                .ok();
            let discount =
                Money::parse_non_negative(line.line_discount.as_deref().unwrap_or("0"), currency)
                    .map_err(|e| errors.push(FieldError::new(field("line_discount"), e)))
                    .ok();
            if let (Some(sku), Some(quantity), Some(unit_price), Some(line_discount)) =
                (sku, quantity, price, discount)
            {
                lines.push(SaleLine {
                    sku,
                    quantity: quantity.get(),
                    unit_price,
                    line_discount,
                });
            }
        }
    }
    let mut discounts = Vec::new();
    for (i, raw) in body.order_discounts.iter().enumerate().take(10) {
        if let Some(currency) = currency {
            match Money::parse_non_negative(raw, currency) {
                Ok(m) => discounts.push(m),
                Err(e) => errors.push(FieldError::new(format!("order_discounts[{i}]"), e)),
            }
        }
    }
    if body.order_discounts.len() > 10 {
        errors.push(FieldError::new("order_discounts", "at most 10"));
    }
    let customer = body
        .customer_id
        .as_deref()
        .map(CustomerId::parse)
        .transpose()
        .map_err(|e| errors.push(FieldError::new("customer_id", e)))
        .ok()
        .flatten();
    let sold_at = match body.sold_at.as_deref() {
        None => Some(now),
        Some(raw) => DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| errors.push(FieldError::new("sold_at", "an RFC 3339 instant")))
            .ok(),
    };
    let (Some(currency), Some(sold_at), true) = (currency, sold_at, errors.is_empty()) else {
        return Err(ReturnError::Invalid(errors).into());
    };
    let new = NewReceipt {
        store,
        customer,
        currency,
        lines,
        order_discounts: discounts,
        sold_at,
    };
    let sql = ctx.sql()?;
    let scope = format!("{} POST /api/returns/receipts", actor.principal());
    Ok(run_for_request(sql, &scope, ctx.req, now, || match record(
        sql,
        &new,
        &actor.principal().to_owned(),
        now,
    ) {
        Ok(receipt) => {
            let lines: Vec<_> = receipt
                .lines
                .iter()
                .map(|l| json!({"sku": l.sku.as_str(), "name": l.name, "quantity": l.quantity, "unit_price": l.unit_price, "paid": l.paid}))
                .collect();
            json_response(
                201,
                &json!({
                    "receipt_id": receipt.id,
                    "store_id": receipt.store.as_str(),
                    "customer_id": receipt.customer.as_ref().map(|c| c.as_str()),
                    "currency": receipt.currency.code(),
                    "sold_at": timestamp(receipt.sold_at),
                    "lines": lines,
                    "total_paid": receipt.total_paid,
                }),
            )
        }
        Err(e) => Problem::from(e).into_response(),
    }))
}

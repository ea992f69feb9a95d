//! `POST /api/promotions/customers` (ops): the back office feeds customer
//! facts the rules read (segments, loyalty tier, order history from systems
//! the edge never saw), all rows or none. See
//! `omni_shared::promotions::customers` for how they combine with the
//! orders placed through the edge.

use omni_shared::catalog::{BatchError, parse_batch};
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::{CustomerProfile, CustomerProfileRow, upsert_profiles};
use omni_shared::storage::in_transaction;
use omni_shared::web::{Problem, json_response, parse_json_with_limit};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// A feed of 1,000 profiles with a few segments each.
const LIMIT: usize = 512 * 1024;

pub fn upsert(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let mut body: serde_json::Map<String, Value> = parse_json_with_limit(ctx.req, LIMIT)?;
    if let Some(other) = body.keys().find(|k| *k != "customers") {
        return Err(Problem::invalid_body(format!(
            "unknown field `{other}`; expected only `customers`"
        )));
    }
    let rows = match body.remove("customers") {
        Some(Value::Array(rows)) if !rows.is_empty() => rows,
        Some(Value::Array(_)) => {
            return Err(Problem::invalid_body(
                "`customers` must hold at least one row",
            ));
        }
        Some(_) => {
            return Err(Problem::invalid_body(
                "`customers` must be an array of rows",
            ));
        }
        None => return Err(Problem::invalid_body("missing field `customers`")),
    };
    let profiles =
        parse_batch::<CustomerProfileRow, CustomerProfile>(rows).map_err(batch_problem)?;
    let now = ctx.now();
    in_transaction(ctx.sql()?, |tx| upsert_profiles(tx, &profiles, now))?;
    Ok(json_response(200, &json!({ "upserted": profiles.len() })))
}

/// A refused batch: 413 when it has too many rows, else 422 with every bad
/// row and field.
pub fn batch_problem(error: BatchError) -> Problem {
    match error {
        BatchError::TooManyRows { .. } => {
            Problem::new(413, "payload-too-large", "Payload Too Large")
                .with_detail(error.to_string())
        }
        BatchError::InvalidRows(ref errors) => Problem::unprocessable(error.to_string())
            .with_extension("errors", serde_json::to_value(errors).unwrap_or_default()),
    }
}

//! A cart's lines: add units of a SKU, set a line's quantity, remove a
//! line, empty the cart. How concurrent edits combine is the domain's
//! ([`omni_shared::cart::lines`]); here they are parsed and handed over.
//!
//! | request | body / query | effect |
//! | --- | --- | --- |
//! | `POST /api/carts/{id}/lines` | `{"sku", "quantity"}` | adds units (creates or increments the line) |
//! | `PUT /api/carts/{id}/lines/{sku}` | `{"quantity", "base_version"?}` | sets the quantity |
//! | `DELETE /api/carts/{id}/lines/{sku}` | `?base_version=` | removes the line |
//! | `DELETE /api/carts/{id}/lines` | `?base_version=` | removes every line |
//!
//! `base_version` is the cart version the device's view was built from (the
//! number in its ETag): with it, an edit of a line another device changed
//! meanwhile resolves deterministically instead of overwriting it. A quantity
//! of 0 is refused rather than read as "remove": a removal is its own
//! request, so a slip of the thumb never deletes a line.

use omni_shared::cart::lines::LineEdit;
use omni_shared::cart::store;
use omni_shared::ids::Sku;
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::{Quantity, QuantityError};
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::{Problem, parse_json};
use serde::Deserialize;
use serde_json::Value;
use spin_sdk::http::Response;

use crate::edit::{edit_cart, edit_line};
use crate::request;

/// The highest version a client may name; far beyond any cart's life.
const MAX_VERSION: i64 = i64::MAX / 2;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddLineBody {
    sku: String,
    quantity: Value,
}

/// Units of one SKU to add.
struct AddLine {
    sku: Sku,
    quantity: Quantity,
}

impl AddLine {
    fn parse(body: AddLineBody, max: u32) -> Result<AddLine, Problem> {
        let sku = Sku::parse(&body.sku).map_err(|e| Problem::invalid_body(format!("sku: {e}")))?;
        let quantity = parse_quantity(&body.quantity, max)?;
        Ok(AddLine { sku, quantity })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLineBody {
    quantity: Value,
    #[serde(default)]
    base_version: Option<Value>,
}

/// A line's new quantity, as seen from `base_version`.
struct SetLine {
    quantity: Quantity,
    base_version: Option<i64>,
}

impl SetLine {
    fn parse(body: SetLineBody, max: u32) -> Result<SetLine, Problem> {
        let quantity = parse_quantity(&body.quantity, max)?;
        let base_version = match body.base_version {
            None | Some(Value::Null) => None,
            Some(raw) => Some(
                raw.as_i64()
                    .filter(|v| (1..=MAX_VERSION).contains(v))
                    .ok_or_else(|| {
                        Problem::invalid_body(
                            "base_version must be a cart version: a whole number from 1",
                        )
                    })?,
            ),
        };
        Ok(SetLine {
            quantity,
            base_version,
        })
    }
}

/// A quantity from 1 to the line maximum; every other value is refused with
/// its precise reason (zero, negative, fractional, too large, not a number).
fn parse_quantity(raw: &Value, max: u32) -> Result<Quantity, Problem> {
    match Quantity::parse_json(raw) {
        Ok(q) if q.get() <= max => Ok(q),
        Ok(_) => Err(quantity_problem(QuantityError::AboveMax { max })),
        Err(QuantityError::AboveMax { .. }) => {
            // `parse_json` caps at the shared default of 99; a deployment may
            // allow more, so a whole number is read again under this cap.
            let whole = raw
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f <= f64::from(max));
            whole
                .map_or(Err(QuantityError::AboveMax { max }), |f| {
                    Quantity::parse_with_max(f as i64, max)
                })
                .map_err(quantity_problem)
        }
        Err(other) => Err(quantity_problem(other)),
    }
}

fn quantity_problem(error: QuantityError) -> Problem {
    let reason = match error {
        QuantityError::Zero => "zero",
        QuantityError::Negative => "negative",
        QuantityError::Fractional => "fractional",
        QuantityError::AboveMax { .. } => "above-max",
        QuantityError::NotANumber => "not-a-number",
    };
    let mut problem = Problem::invalid_body(format!("quantity: {error}")).with_extension(
        "errors",
        serde_json::json!([{"field": "quantity", "reason": reason}]),
    );
    if let QuantityError::AboveMax { max } = error {
        problem = problem.with_extension("max", serde_json::json!(max));
    }
    problem
}

/// The `{sku}` path parameter; a malformed one names no line.
fn sku_param(ctx: &Ctx<'_>) -> Result<Sku, Problem> {
    Sku::parse(ctx.param("sku")).map_err(|e| Problem::not_found(format!("no line: {e}")))
}

/// `POST /api/carts/{cart_id}/lines`. Adding is not idempotent (two adds are
/// two units), so a client on a flaky network sends an `Idempotency-Key` and
/// its retry is answered from the first attempt.
pub fn add(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let id = request::cart_id(ctx)?;
    let policy = request::policy(ctx)?;
    let line = AddLine::parse(
        parse_json::<AddLineBody>(ctx.req)?,
        policy.max_line_quantity(),
    )?;
    let scope = format!("{} POST /api/carts/{id}/lines", ctx.caller()?.principal());
    let sql = ctx.sql()?;
    Ok(run_for_request(sql, &scope, ctx.req, ctx.now(), || {
        edit_line(ctx, &line.sku, &LineEdit::Add(line.quantity))
            .unwrap_or_else(Problem::into_response)
    }))
}

/// `PUT /api/carts/{cart_id}/lines/{sku}`: sets the quantity (creating the
/// line when absent).
pub fn set(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let sku = sku_param(ctx)?;
    let policy = request::policy(ctx)?;
    let line = SetLine::parse(
        parse_json::<SetLineBody>(ctx.req)?,
        policy.max_line_quantity(),
    )?;
    edit_line(
        ctx,
        &sku,
        &LineEdit::Set {
            quantity: line.quantity,
            base_version: line.base_version,
        },
    )
}

/// `DELETE /api/carts/{cart_id}/lines/{sku}`: removing a line that is not
/// there changes nothing and answers 200, so a retry is harmless.
pub fn remove(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let sku = sku_param(ctx)?;
    let base_version = base_version(ctx)?;
    edit_line(ctx, &sku, &LineEdit::Remove { base_version })
}

/// `DELETE /api/carts/{cart_id}/lines`: empties the cart (coupons stay).
pub fn clear(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let base_version = base_version(ctx)?;
    edit_cart(ctx, |c| {
        store::clear(c.tx, c.header, base_version, c.channel, c.now)
    })
}

fn base_version(ctx: &Ctx<'_>) -> Result<Option<i64>, Problem> {
    request::only_query(ctx, &["base_version"])?;
    request::query_integer(ctx, "base_version", 1..=MAX_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(raw: Value, max: u32) -> Option<String> {
        parse_quantity(&raw, max).err().map(|p| {
            p.extension("errors").unwrap()[0]["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
    }

    #[test]
    fn quantities_are_refused_with_their_precise_reason() {
        assert_eq!(reason(json!(0), 99).as_deref(), Some("zero"));
        assert_eq!(reason(json!(-2), 99).as_deref(), Some("negative"));
        assert_eq!(reason(json!(1.5), 99).as_deref(), Some("fractional"));
        assert_eq!(reason(json!(100), 99).as_deref(), Some("above-max"));
        assert_eq!(reason(json!("2"), 99).as_deref(), Some("not-a-number"));
        assert_eq!(reason(json!(null), 99).as_deref(), Some("not-a-number"));
        assert_eq!(reason(json!(1e300), 99).as_deref(), Some("above-max"));
        assert_eq!(reason(json!(99), 99), None);
    }

    #[test]
    fn a_configured_line_maximum_applies_both_ways() {
        assert_eq!(reason(json!(21), 20).as_deref(), Some("above-max"));
        assert_eq!(parse_quantity(&json!(150), 200).unwrap().get(), 150);
        assert_eq!(parse_quantity(&json!(150.0), 200).unwrap().get(), 150);
        let refused = parse_quantity(&json!(250), 200).unwrap_err();
        assert_eq!(
            refused.extension("max"),
            Some(&json!(200)),
            "the configured cap is the one reported"
        );
        assert_eq!(reason(json!(201), 200).as_deref(), Some("above-max"));
    }
}

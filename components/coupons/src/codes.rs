//! `POST /api/promotions/{id}/codes` (ops): binds shared codes (any number
//! of uses, e.g. `WELCOME10`) to a promotion that needs a code.

use omni_shared::catalog::FieldError;
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::{self, CouponCode};
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

use crate::problems::{invalid, problem};
use crate::promotions::path_id;

const MAX_CODES: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddCodes {
    codes: Vec<String>,
}

pub fn add(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let id = path_id(ctx)?;
    let body: AddCodes = parse_json(ctx.req)?;
    if body.codes.is_empty() || body.codes.len() > MAX_CODES {
        return Err(invalid(vec![FieldError::new(
            "codes",
            format!("give 1 to {MAX_CODES} codes"),
        )]));
    }
    let mut errors = Vec::new();
    let mut codes: Vec<CouponCode> = Vec::new();
    for (i, raw) in body.codes.iter().enumerate() {
        match CouponCode::parse(raw) {
            Ok(code) if codes.contains(&code) => errors.push(FieldError::new(
                format!("codes[{i}]"),
                format!("{code} is listed twice"),
            )),
            Ok(code) => codes.push(code),
            Err(e) => errors.push(FieldError::new(format!("codes[{i}]"), e)),
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    promotions::add_codes(ctx.sql()?, &id, &codes, ctx.now()).map_err(problem)?;
    Ok(json_response(
        201,
        &json!({ "promotion_id": id, "codes": codes }),
    ))
}

//! The return code: the customer's QR (`GET .../return-code`), the kiosk's
//! look-up scan, and the intake that receives the goods with no label.

use crate::{body, render};
use omni_shared::catalog::FieldError;
use omni_shared::ids::Sku;
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::Quantity;
use omni_shared::returns::case_number::CaseNumber;
use omni_shared::returns::cases::{
    Condition, IntakeLine, Presented, code_for, intake as receive, may_see, scan as find_case,
};
use omni_shared::returns::store::{self, load_policy};
use omni_shared::returns::{ReturnError, timestamp};
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

/// `GET /api/returns/{case_number}/return-code`: the code and its QR, for
/// the case's customer only; never cached (it is a bearer credential).
pub fn code(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    caller.require_customer()?;
    let actor = body::actor(ctx)?;
    let rma =
        store::load(ctx.sql()?, &body::case_ref(ctx)?)?.ok_or(ReturnError::NotFound("return"))?;
    may_see(&actor, &rma)?;
    let code = code_for(&rma, &ctx.code_signing_secret()?, ctx.now())?;
    let mut body = render::code(&code);
    body["case_number"] = json!(rma.case_number.as_str());
    let mut response = json_response(200, &body);
    response.set_header("cache-control", "no-store");
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    case_number: Option<String>,
}

/// The case a body presents: exactly one of `code` (the customer's signed
/// return code) and `case_number` (typed at the counter; its check digit is
/// verified here, so a typo is a 422 that names the field).
fn presented<'a>(
    code: Option<&'a str>,
    case_number: Option<&str>,
) -> Result<Presented<'a>, ReturnError> {
    match (code, case_number) {
        (Some(code), None) => Ok(Presented::Code(code)),
        (None, Some(number)) => CaseNumber::parse(number)
            .map(Presented::Number)
            .map_err(|e| ReturnError::Invalid(vec![FieldError::new("case_number", e)])),
        _ => Err(ReturnError::Invalid(vec![FieldError::new(
            "code",
            "give either the return code or the case_number, not both",
        )])),
    }
}

/// `POST /api/returns/lookups` `{code | case_number}`: the case a code names, for a store
/// device; changes nothing. A received case says when and where.
pub fn look_up(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    caller.require_store()?;
    let actor = body::actor(ctx)?;
    let body: ScanBody = parse_json(ctx.req)?;
    let presented = presented(body.code.as_deref(), body.case_number.as_deref())?;
    let rma = find_case(
        ctx.sql()?,
        &presented,
        &ctx.code_signing_secret()?,
        &actor,
        ctx.now(),
    )?;
    let receivable =
        rma.received.is_none() && rma.status == omni_shared::returns::RmaStatus::Opened;
    let already = rma.received.as_ref().map(|(store, at)| {
        json!({"store_id": store.as_str(), "at": timestamp(*at), "detail": format!("already received at {store} at {}", timestamp(*at))})
    });
    let mut response = render::response(200, &rma, &actor, Some(("receivable", json!(receivable))));
    if let Some(already) = already {
        let mut body: serde_json::Value =
            serde_json::from_slice(response.body()).unwrap_or_default();
        body["already_received"] = already;
        response = render::response(200, &rma, &actor, Some(("receivable", json!(false))));
        let mut merged = json_response(200, &body);
        merged.set_header("cache-control", "no-store");
        if let Some(etag) = response.header("etag").and_then(|v| v.as_str()) {
            merged.set_header("etag", etag.to_owned());
        }
        return Ok(merged);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    case_number: Option<String>,
    #[serde(default)]
    lines: Option<Vec<IntakeLineBody>>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeLineBody {
    sku: String,
    quantity: serde_json::Value,
    #[serde(default)]
    condition: Option<String>,
}

fn intake_lines(rows: &[IntakeLineBody]) -> Result<Vec<IntakeLine>, ReturnError> {
    let mut errors = Vec::new();
    let mut lines = Vec::new();
    if rows.is_empty() || rows.len() > 100 {
        errors.push(FieldError::new(
            "lines",
            "1 to 100 lines, or leave lines out to receive everything",
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        let sku = Sku::parse(&row.sku)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].sku"), e)))
            .ok();
        let quantity = Quantity::parse_json(&row.quantity)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].quantity"), e)))
            .ok();
        let condition = match row.condition.as_deref() {
            None | Some("sellable") => Some(Condition::Sellable),
            Some("damaged") => Some(Condition::Damaged),
            Some(_) => {
                errors.push(FieldError::new(
                    format!("lines[{i}].condition"),
                    "must be sellable or damaged",
                ));
                None
            }
        };
        if let (Some(sku), Some(quantity), Some(condition)) = (sku, quantity, condition) {
            lines.push(IntakeLine {
                sku,
                quantity,
                condition,
            });
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(ReturnError::Invalid(errors))
    }
}

/// `POST /api/returns/intakes` `{code | case_number, lines?}`: the device's store
/// receives the goods; 200 with the received case. The code works once.
pub fn intake(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let (caller, actor) = body::caller(ctx)?;
    caller.require_store()?;
    let body: IntakeBody = parse_json(ctx.req)?;
    let presented = presented(body.code.as_deref(), body.case_number.as_deref())?;
    let via = body::via(&caller, &actor, body.channel.as_deref())?;
    let lines = body.lines.as_deref().map(intake_lines).transpose()?;
    let sql = ctx.sql()?;
    let (policy, _) = load_policy(sql)?;
    let rma = receive(
        sql,
        &presented,
        &ctx.code_signing_secret()?,
        &actor,
        via,
        lines.as_deref(),
        &policy,
        body::settings(ctx),
        ctx.now(),
    )?;
    Ok(render::response(200, &rma, &actor, None))
}

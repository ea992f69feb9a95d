//! `GET /api/return-policy` (public, cacheable) and `PUT` (ops, If-Match
//! honoured): the one policy the storefront, the app and the kiosk read.

use omni_shared::pipeline::Ctx;
use omni_shared::returns::ReturnError;
use omni_shared::returns::policy::{PolicyRow, ReturnPolicy};
use omni_shared::returns::store::{load_policy, save_policy};
use omni_shared::web::etag::{etag, none_match};
use omni_shared::web::{IfMatch, Problem, json_response, parse_json, with_etag};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// What the refund rules mean, said once for every channel.
const COUPON_MINIMUM_RULE: &str = "A refund is what was paid for the returned units, with order-level discounts \
    already allocated to every line. Returning items that takes the kept basket below a coupon's minimum does \
    not reduce the refund: the kept items keep their discount.";

fn document(policy: &ReturnPolicy, version: i64) -> Value {
    let row = serde_json::to_value(policy.to_row()).unwrap_or_default();
    let mut doc = row;
    doc["version"] = json!(version);
    doc["window_starts"] =
        json!("handover: pickup, delivery or till purchase, in the selling store's time zone");
    doc["refund_basis"] = json!("paid_after_discounts");
    doc["coupon_minimum_rule"] = json!(COUPON_MINIMUM_RULE);
    doc["schema_org"] = policy.schema_org();
    doc
}

pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let (policy, version) = load_policy(ctx.sql()?)?;
    let tag = etag(version);
    let unchanged = none_match(ctx.req, &tag);
    let mut response = if unchanged {
        let mut r = Response::new(304, Vec::new());
        r.set_header("etag", tag.clone());
        r
    } else {
        with_etag(json_response(200, &document(&policy, version)), version)
    };
    // Public and shared by every channel; a minute of staleness is fine,
    // and the ETag makes revalidation a 304.
    response.set_header("cache-control", "public, max-age=60");
    Ok(response)
}

pub fn put(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let operator = caller.require_ops()?.to_owned();
    let if_match = IfMatch::from_request(ctx.req)?;
    let row: PolicyRow = parse_json(ctx.req)?;
    let policy = ReturnPolicy::parse(&row).map_err(ReturnError::Invalid)?;
    let sql = ctx.sql()?;
    let (_, current) = load_policy(sql)?;
    if_match.check(current)?;
    let expected = match if_match {
        IfMatch::Absent | IfMatch::Any => None,
        IfMatch::Tags(_) => Some(current),
    };
    match save_policy(
        sql,
        &policy,
        expected,
        &format!("ops:{operator}"),
        ctx.now(),
    )? {
        Ok(version) => Ok(with_etag(
            json_response(200, &document(&policy, version)),
            version,
        )),
        Err(current) => Err(ReturnError::Stale {
            current_version: current,
        }
        .into()),
    }
}

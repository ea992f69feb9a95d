//! Back-office calls: the expiry sweep a scheduler runs, and the cart events
//! (abandoned, converted, merged) for cross-channel measurement.

use omni_shared::cart::expiry::{self, EventKind};
use omni_shared::pipeline::Ctx;
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response};
use serde_json::json;
use spin_sdk::http::Response;

use crate::request;

/// Carts one sweep expires at most: one short transaction, so a sweep never
/// holds the database's write lock long enough to be felt by shoppers.
const SWEEP_BATCH: u32 = 500;

const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

/// `POST /api/carts/expire`: expires up to 500 stale carts, oldest first,
/// and gives back the coupon uses held by up to 500 checkouts that expired
/// unpaid; `more` says to call again.
pub fn expire(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    request::only_query(ctx, &[])?;
    let policy = request::policy(ctx)?;
    let report = expiry::expire_stale(ctx.sql()?, &policy, ctx.now(), SWEEP_BATCH)?;
    Ok(json_response(
        200,
        &json!({
            "expired": report.expired,
            "abandoned": report.abandoned,
            "coupon_holds_released": report.coupon_holds_released,
            "more": report.more,
            "cutoff": omni_shared::clock::wire(expiry::cutoff(&policy, ctx.now())),
            "expiry_days": policy.expiry_days(),
        }),
    ))
}

/// `GET /api/carts/events?limit=100&cursor=C&kind=abandoned`: events oldest
/// first; `next_cursor` is the cursor of the next page (null at the end).
pub fn events(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let query = Query::parse(ctx.req.query())?.only(&["limit", "cursor", "kind"])?;
    let request = PageRequest::parse(
        query.get("limit"),
        query.get("cursor"),
        DEFAULT_PAGE as u32,
        MAX_PAGE as u32,
        1,
    )?;
    let after = request
        .after_part(0)
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| Problem::bad_request("cursor: not a cursor this list gave out"))
        })
        .transpose()?
        .unwrap_or(0);
    let kind = query
        .get("kind")
        .map(|value| {
            EventKind::parse(value)
                .ok_or_else(|| Problem::bad_request("kind must be abandoned, converted or merged"))
        })
        .transpose()?;
    let mut events = expiry::events(ctx.sql()?, after, request.fetch(), kind)?;
    let next_cursor = request.finish(&mut events, |e| vec![e.event_id.to_string()]);
    Ok(json_response(
        200,
        &json!({ "events": events, "next_cursor": next_cursor }),
    ))
}

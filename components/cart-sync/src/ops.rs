//! Back-office calls: the expiry sweep a scheduler runs, and the cart events
//! (abandoned, converted, merged) for cross-channel measurement.

use omni_shared::cart::expiry::{self, EventKind};
use omni_shared::pipeline::Ctx;
use omni_shared::web::{Problem, json_response};
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
            "cutoff": expiry::cutoff(&policy, ctx.now()),
            "expiry_days": policy.expiry_days(),
        }),
    ))
}

/// `GET /api/carts/events?after=0&limit=100&kind=abandoned`: events oldest
/// first; `next_after` is the cursor of the next page (null at the end).
pub fn events(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    request::only_query(ctx, &["after", "limit", "kind"])?;
    let after = request::query_integer(ctx, "after", 0..=i64::MAX)?.unwrap_or(0);
    let limit = request::query_integer(ctx, "limit", 1..=MAX_PAGE)?.unwrap_or(DEFAULT_PAGE);
    let mut kind = None;
    for pair in ctx.req.query().split('&') {
        if let Some(value) = pair.strip_prefix("kind=") {
            kind = Some(EventKind::parse(value).ok_or_else(|| {
                Problem::bad_request("kind must be abandoned, converted or merged")
            })?);
        }
    }
    let page = expiry::events(ctx.sql()?, after, limit as u32 + 1, kind)?;
    let more = page.len() as i64 > limit;
    let events: Vec<_> = page.into_iter().take(limit as usize).collect();
    let next_after = if more {
        events.last().map(|e| e.event_id)
    } else {
        None
    };
    Ok(json_response(
        200,
        &json!({ "events": events, "next_after": next_after }),
    ))
}

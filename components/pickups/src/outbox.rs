//! `GET /api/notifications/outbox?order_id=&limit=` (ops): what was queued
//! for an order and how its delivery went, newest first.

use omni_shared::ids::OrderId;
use omni_shared::notify::outbox::entries;
use omni_shared::orders::timestamp;
use omni_shared::pipeline::Ctx;
use omni_shared::web::query::Query;
use omni_shared::web::{Problem, json_response};
use serde_json::json;
use spin_sdk::http::Response;

const MAX_LIMIT: u32 = 500;

pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let query = Query::parse(ctx.req.query())?;
    let order = query
        .get("order_id")
        .map(OrderId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("order_id: {e}")))?;
    let limit = match query.get("limit") {
        None => 100,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!("limit: a whole number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let rows = entries(ctx.sql()?, order.as_ref().map(OrderId::as_str), limit)?;
    let rendered: Vec<_> = rows
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "order_id": e.order_id,
                "event": e.event,
                "channel": e.channel,
                "recipient": e.recipient,
                "state": e.state,
                "attempts": e.attempts,
                "next_attempt_at": timestamp(e.next_attempt_at),
                "last_status": e.last_status,
                "last_error": e.last_error,
                "created_at": timestamp(e.created_at),
                "delivered_at": e.delivered_at.map(timestamp),
                "payload": e.payload,
            })
        })
        .collect();
    Ok(json_response(200, &json!({ "entries": rendered })))
}

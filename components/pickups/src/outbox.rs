//! `GET /api/notifications/outbox?order_id=&limit=&cursor=` (ops): what was
//! queued for an order and how its delivery went, newest first, a page at a
//! time like every list.

use omni_shared::ids::OrderId;
use omni_shared::notify::outbox::entries;
use omni_shared::orders::timestamp;
use omni_shared::pipeline::Ctx;
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response};
use serde_json::json;
use spin_sdk::http::Response;

const MAX_LIMIT: u32 = 500;

pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let query = Query::parse(ctx.req.query())?.only(&["order_id", "limit", "cursor"])?;
    let order = query
        .get("order_id")
        .map(OrderId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("order_id: {e}")))?;
    let page = PageRequest::parse(query.get("limit"), query.get("cursor"), 100, MAX_LIMIT, 1)?;
    let before = page
        .after_part(0)
        .map(|id| {
            id.parse::<i64>()
                .map_err(|_| Problem::bad_request("cursor: not a cursor this list gave out"))
        })
        .transpose()?;
    let mut rows = entries(
        ctx.sql()?,
        order.as_ref().map(OrderId::as_str),
        before,
        page.fetch(),
    )?;
    let next_cursor = page.finish(&mut rows, |e| vec![e.id.to_string()]);
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
    Ok(json_response(
        200,
        &json!({ "entries": rendered, "next_cursor": next_cursor }),
    ))
}

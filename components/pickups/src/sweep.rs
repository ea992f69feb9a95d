//! `POST /api/orders/sweep` for a scheduler (SLA alerts, breaches, expiry;
//! notification retries follow the response) and `GET /api/orders/sla`,
//! the per-store hit rate.

use crate::orders::actor;
use crate::settings;
use chrono::Duration;
use omni_shared::ids::StoreId;
use omni_shared::notify::outbox::due_count;
use omni_shared::orders::sweep::{parse_instant, sla_report, sweep};
use omni_shared::orders::{ActorKind, OrderError, timestamp};
use omni_shared::pipeline::Ctx;
use omni_shared::web::query::Query;
use omni_shared::web::{Problem, json_response};
use serde_json::json;
use spin_sdk::http::Response;

/// Orders handled per step of one sweep.
const BATCH: u32 = 500;

/// `POST /api/orders/sweep` (ops): what it changed, and how many
/// notifications are due now (delivered right after this answer).
pub fn run(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let settings = settings::order_settings(ctx)?;
    let sql = ctx.sql()?;
    let now = ctx.now();
    let report = sweep(sql, settings, now, BATCH)?;
    // Housekeeping on the same schedule: stored answers past retention.
    omni_shared::web::idempotency::purge_expired(sql, now)?;
    let due = due_count(sql, now)?;
    Ok(json_response(
        200,
        &json!({
            "at_risk": report.at_risk,
            "breached": report.breached,
            "expired": report.expired,
            "notifications_due": due,
            "swept_at": timestamp(now),
        }),
    ))
}

/// `GET /api/orders/sla?store_id=&from=&to=`: ops for any store or all; a
/// store device for its own. The window defaults to the last 30 days.
pub fn report(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = actor(ctx)?;
    let query = Query::parse(ctx.req.query())?;
    let named = query
        .get("store_id")
        .map(StoreId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("store_id: {e}")))?;
    let store = match actor.kind() {
        ActorKind::Ops => named,
        ActorKind::StoreDevice => {
            let own = actor.store().cloned();
            if let Some(other) = named.filter(|s| Some(s) != own.as_ref()) {
                return Err(OrderError::WrongStore { store: other }.into());
            }
            own
        }
        _ => return Err(Problem::forbidden("the SLA report is for ops and stores")),
    };
    let now = ctx.now();
    let instant = |name: &str, default| match query.get(name) {
        None => Ok(default),
        Some(raw) => parse_instant(raw)
            .ok_or_else(|| Problem::bad_request(format!("{name}: an RFC 3339 instant"))),
    };
    let to = instant("to", now)?;
    let from = instant("from", to - Duration::days(30))?;
    if from >= to {
        return Err(Problem::bad_request("from must be before to"));
    }
    let stores = sla_report(ctx.sql()?, store.as_ref(), from, to, now)?;
    Ok(json_response(
        200,
        &json!({ "from": timestamp(from), "to": timestamp(to), "stores": stores }),
    ))
}

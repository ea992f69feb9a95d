//! A store's details for the shopper: where it is, when it is open in its
//! own time zone, and when an order placed now would be ready.
//!
//! `GET /api/stores/{store_id}`

use crate::nearby::merge;
use crate::render;
use omni_shared::catalog::Service;
use omni_shared::ids::StoreId;
use omni_shared::pipeline::Ctx;
use omni_shared::stock::{load_store, ready_by, timestamp};
use omni_shared::web::{Problem, json_response};
use serde_json::json;
use spin_sdk::http::Response;

pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let id =
        StoreId::parse(ctx.param("store_id")).map_err(|e| Problem::not_found(e.to_string()))?;
    let sql = ctx.sql()?;
    let store = load_store(sql, &id)?;
    let now = ctx.now();
    let hours = store.opening_hours();
    let promise = if store.offers(Service::ClickAndCollect) {
        ready_by(sql, &store, now)?
    } else {
        None
    };
    let mut body = render::store_summary(&store);
    merge(
        &mut body,
        json!({
            "hours": hours.weekly(),
            "closed_dates": hours.closed_dates(),
            "pickup_sla_minutes": store.picking_rules().sla_minutes(),
            "order_cutoff": store.picking_rules().cutoff().map(|c| c.to_string()),
            "daily_picking_limit": store.picking_rules().daily_limit(),
            "services": store.services().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "local_time": hours.time_zone().local(now).format("%Y-%m-%dT%H:%M").to_string(),
            "open_now": hours.is_open_at(now),
            "next_opening_at": hours.next_opening_at_or_after(now).map(timestamp),
            "ready_by": promise.map(|p| timestamp(p.ready_by)),
            "picking_date": promise.map(|p| p.picking_date.to_string()),
        }),
    );
    Ok(json_response(200, &body))
}

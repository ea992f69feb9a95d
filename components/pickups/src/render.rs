//! Orders and histories as JSON, shaped for who is looking: customers see
//! their promise and their order; staff and ops also see the SLA clock,
//! device and operator names and staff notes.

use chrono::{DateTime, Utc};
use omni_shared::orders::status::next_for;
use omni_shared::orders::{Actor, ActorKind, HistoryEntry, Order, timestamp};
use omni_shared::web::{json_response, with_etag};
use serde_json::{Value, json};
use spin_sdk::http::Response;

fn staff(viewer: &Actor) -> bool {
    viewer.kind() != ActorKind::Customer
}

pub fn order(order: &Order, viewer: &Actor, now: DateTime<Utc>) -> Value {
    let allowed: Vec<&str> = next_for(order.status, order.fulfilment, viewer.kind())
        .into_iter()
        .map(|s| s.as_str())
        .collect();
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            json!({
                "sku": l.sku.as_str(),
                "name": l.name,
                "quantity": l.quantity,
                "unit_price": l.unit_price,
                "paid": l.paid,
            })
        })
        .collect();
    let mut body = json!({
        "order_id": order.id.as_str(),
        "version": order.version,
        "status": order.status.as_str(),
        "status_label": order.status.label(order.locale),
        "fulfilment": order.fulfilment.as_str(),
        "customer_id": order.customer.as_str(),
        "store": {
            "store_id": order.store.as_str(),
            "name": order.store_name,
            "address": order.store_address,
        },
        "delivery_address": order.delivery_address,
        "lines": lines,
        "total_paid": order.total_paid,
        "reservation_id": order.reservation.as_ref().map(|r| r.as_str()),
        "checkout_id": order.checkout,
        "channel": order.channel.as_str(),
        "locale": order.locale.as_str(),
        "ready_by": timestamp(order.ready_by),
        "ready_at": order.ready_at.map(timestamp),
        "pickup_until": order.pickup_until.map(timestamp),
        "collected": order.collected.as_ref().map(|c| json!({"at": timestamp(c.at), "store_id": c.store_id.as_str()})),
        "tracking": order.tracking,
        "allowed_next": allowed,
        "created_at": timestamp(order.created_at),
        "updated_at": timestamp(order.updated_at),
    });
    if staff(viewer) {
        body["sla"] = json!({
            "state": order.sla_state(now),
            "at_risk_at": timestamp(order.sla_at_risk_at),
            "alerted_at": order.sla_alerted_at.map(timestamp),
            "breached_at": order.sla_breached_at.map(timestamp),
        });
    }
    body
}

/// An order answer with its ETag.
pub fn order_response(
    status: u16,
    order_value: &Order,
    viewer: &Actor,
    now: DateTime<Utc>,
) -> Response {
    with_etag(
        json_response(status, &order(order_value, viewer, now)),
        order_value.version,
    )
}

pub fn history(order: &Order, entries: &[HistoryEntry], viewer: &Actor) -> Value {
    let entries: Vec<Value> = entries
        .iter()
        .map(|h| {
            let mut entry = json!({
                "seq": h.seq,
                "from": h.from.map(|s| s.as_str()),
                "to": h.to.as_str(),
                "label": h.to.label(order.locale),
                "at": timestamp(h.at),
                "actor": h.actor,
                "channel": h.channel,
            });
            if staff(viewer) {
                entry["actor_id"] = json!(h.actor_id);
                if let Some(note) = &h.note {
                    entry["note"] = json!(note);
                }
            }
            entry
        })
        .collect();
    json!({ "order_id": order.id.as_str(), "status": order.status.as_str(), "history": entries })
}

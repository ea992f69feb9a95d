//! The JSON shape of a return case, the same for the app, the web, the
//! kiosk and the till; customers see who acted by role and channel only.

use omni_shared::money::Money;
use omni_shared::orders::{Actor, ActorKind};
use omni_shared::returns::cases::ReturnCode;
use omni_shared::returns::model::Exchange;
use omni_shared::returns::{Rma, timestamp};
use omni_shared::web::{json_response, with_etag};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// The case as `viewer` may see it.
pub fn case(rma: &Rma, viewer: &Actor) -> Value {
    let staff = viewer.kind() != ActorKind::Customer;
    let lines: Vec<Value> = rma
        .lines
        .iter()
        .map(|l| {
            json!({
                "sku": l.sku.as_str(),
                "name": l.name,
                "quantity": l.quantity,
                "reason": l.reason,
                "refund": l.refund,
                "line_paid": l.line_paid,
                "line_quantity": l.line_quantity,
                "received_sellable": l.received_sellable,
                "received_damaged": l.received_damaged,
            })
        })
        .collect();
    let history: Vec<Value> = rma
        .history
        .iter()
        .map(|h| {
            let mut entry = json!({
                "seq": h.seq,
                "from": h.from.map(|s| s.as_str()),
                "status": h.to.as_str(),
                "at": timestamp(h.at),
                "actor": h.actor.as_str(),
                "channel": h.channel.as_str(),
                "store_id": h.store.as_ref().map(|s| s.as_str()),
            });
            if staff {
                entry["actor_id"] = json!(h.actor_id);
            }
            entry
        })
        .collect();
    json!({
        "rma_id": rma.id.as_str(),
        "case_number": rma.case_number.as_str(),
        "status": rma.status.as_str(),
        "allowed_next": rma.status.allowed_next().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "source": rma.source.as_str(),
        "order_id": rma.source_id,
        "customer_id": rma.customer.as_ref().map(|c| c.as_str()),
        "currency": rma.currency.code(),
        "refund_method": rma.refund_method.as_str(),
        "opened_at": timestamp(rma.created_at),
        "opened_channel": rma.opened_channel.as_str(),
        "opened_store_id": rma.opened_store.as_ref().map(|s| s.as_str()),
        "return_code_expires_at": timestamp(rma.code_expires_at),
        "lines": lines,
        "refund_total": rma.refund_total(),
        "received": rma.received.as_ref().map(|(store, at)| json!({"store_id": store.as_str(), "at": timestamp(*at)})),
        "refunded": rma.refunded.as_ref().map(|(amount, at)| json!({"amount": amount, "at": timestamp(*at), "method": rma.refund_method.as_str()})),
        "exchange": rma.exchange.as_ref().map(|e| exchange(e, rma.currency)),
        "history": history,
        "version": rma.version,
        "updated_at": timestamp(rma.updated_at),
    })
}

fn exchange(e: &Exchange, currency: omni_shared::money::Currency) -> Value {
    let money = |minor: i64| Money::from_minor_units(minor, currency).ok();
    let settlement = match e.difference_minor {
        d if d > 0 => "charge",
        d if d < 0 => "refund",
        _ => "none",
    };
    json!({
        "reservation_id": e.reservation_id,
        "store_id": e.store_id,
        "hold_until": e.hold_until,
        "lines": e.lines.iter().map(|l| json!({
            "sku": l.sku,
            "replacement_sku": l.replacement_sku,
            "quantity": l.quantity,
            "unit_price": money(l.unit_price_minor),
            "returned_unit_price": l.returned_unit_price_minor.and_then(money),
            "returned_value": money(l.returned_value_minor),
            "price_difference": l.difference_minor.and_then(money),
        })).collect::<Vec<_>>(),
        "price_difference": money(e.difference_minor),
        "settlement": settlement,
    })
}

/// A return code with its QR.
pub fn code(code: &ReturnCode) -> Value {
    let svg = omni_shared::qr::svg(&code.code).unwrap_or_default();
    json!({"code": code.code, "qr_svg": svg, "expires_at": timestamp(code.expires_at)})
}

/// The case as a response with its ETag; never cached (it changes).
pub fn response(status: u16, rma: &Rma, viewer: &Actor, extra: Option<(&str, Value)>) -> Response {
    let mut body = case(rma, viewer);
    if let Some((name, value)) = extra {
        body[name] = value;
    }
    let mut response = with_etag(json_response(status, &body), rma.version);
    response.set_header("cache-control", "no-store");
    response
}

//! The JSON shapes several endpoints share: a store's summary, a shelf, a
//! reservation. One place, so the same thing reads the same everywhere.

use chrono::{DateTime, Utc};
use omni_shared::catalog::{Service, Store};
use omni_shared::quantity::StockQuantity;
use omni_shared::stock::{Reservation, StockLevel, timestamp};
use serde_json::{Value, json};

/// Who and where a store is, for lists.
pub fn store_summary(store: &Store) -> Value {
    let address = store.address();
    json!({
        "store_id": store.id(),
        "name": store.name(),
        "kind": store.kind().as_str(),
        "address": {
            "street": address.street(),
            "city": address.city(),
            "postal_code": address.postal_code(),
            "country": address.country().as_str(),
        },
        "geo": store.geo(),
        "time_zone": store.time_zone().name(),
        "click_and_collect": store.offers(Service::ClickAndCollect),
    })
}

/// What a shopper may know of a shelf: ATP and its label, never the count.
pub fn availability(level: &StockLevel, low_stock_threshold: StockQuantity) -> Value {
    let label = level.label(low_stock_threshold);
    json!({ "available": level.available_to_promise(), "label": label, "label_text": label.text() })
}

/// Kilometres to the metre, which is as precise as a store's position.
pub fn km(distance: f64) -> f64 {
    (distance * 1000.0).round() / 1000.0
}

pub fn instant(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// A reservation as of `now` (a hold past its TTL reads as expired).
pub fn reservation(r: &Reservation, now: DateTime<Utc>) -> Value {
    json!({
        "reservation_id": r.id,
        "store_id": r.store,
        "customer_id": r.customer,
        "state": r.state_at(now),
        "lines": r.lines,
        "expires_at": instant(r.expires_at),
        "order_id": r.order,
        "picking_date": r.picking_date.map(|d| d.to_string()),
        "ready_by": instant(r.ready_by),
        "created_at": timestamp(r.created_at),
        "updated_at": timestamp(r.updated_at),
    })
}

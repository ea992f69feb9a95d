//! A migrated database with two stores, priced items with stock, and
//! helpers to reserve and place, for the storage tests of this area.

use super::model::{Actor, Order};
use super::place::{NewOrder, place};
use super::status::Fulfilment;
use super::transition::Settings;
use crate::auth::Caller;
use crate::channel::Channel;
use crate::ids::{CustomerId, StoreId};
use crate::money::Currency;
use crate::stock::test_support::{Db, db};
use crate::stock::{self, Basket, BasketLineRow, HoldTtl, ReservationId, ReservationRequest};
use crate::storage::Sql;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

/// Monday 2026-11-23, 10:00 in Warsaw: S1 is open (09:00-21:00), its SLA
/// is 120 minutes, so an order now is promised by 12:00 local (11:00 UTC).
pub fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// Stores S1, S2 (click & collect and ship from store) and WH; items A
/// (100.00 PLN) and B (50.00 PLN) with 10 on hand at S1 and S2, one kept
/// on display.
pub fn fixture() -> Db {
    let db = db();
    let sql = db.connect();
    for (sku, minor) in [("A", 10_000), ("B", 5_000)] {
        sql.execute(
            "INSERT INTO prices (sku, currency, amount_minor, updated_at) VALUES (?1, 'PLN', ?2, 'x')",
            &[sku.into(), (minor as i64).into()],
        )
        .unwrap();
        for store in ["S1", "S2"] {
            sql.execute(
                "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at) VALUES (?1, ?2, 10, 0, 1, 'x')",
                &[store.into(), sku.into()],
            )
            .unwrap();
        }
    }
    db
}

pub fn customer(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

pub fn as_customer(id: &str) -> Actor {
    Actor::of(&Caller::Customer(customer(id))).unwrap()
}

pub fn as_store(store: &str) -> Actor {
    Actor::of(&Caller::StoreDevice {
        store: StoreId::parse(store).unwrap(),
        device: "till-1".into(),
    })
    .unwrap()
}

pub fn reserve(
    sql: &dyn Sql,
    who: &str,
    store: &str,
    lines: &[(&str, u32)],
    now: DateTime<Utc>,
) -> ReservationId {
    let rows: Vec<BasketLineRow> = lines
        .iter()
        .map(|(sku, q)| BasketLineRow {
            sku: (*sku).into(),
            quantity: json!(q),
        })
        .collect();
    let request = ReservationRequest {
        store: StoreId::parse(store).unwrap(),
        customer: customer(who),
        basket: Basket::parse(&rows).unwrap(),
        hold: HoldTtl::DEFAULT,
        requested_by: format!("customer:{who}"),
    };
    stock::reserve(sql, &request, now).unwrap().id
}

pub fn click_and_collect(who: &str, reservation: ReservationId) -> NewOrder {
    NewOrder {
        customer: customer(who),
        fulfilment: Fulfilment::ClickAndCollect,
        store: None,
        reservation: Some(reservation),
        checkout: None,
        lines: Vec::new(),
        currency: Currency::Pln,
        delivery_address: None,
        locale: None,
        channel: Channel::App,
    }
}

/// A click & collect order of one A at S1 for `who`, placed at `now`.
pub fn placed(sql: &dyn Sql, who: &str, now: DateTime<Utc>) -> Order {
    let reservation = reserve(sql, who, "S1", &[("A", 1)], now);
    place(
        sql,
        &click_and_collect(who, reservation),
        &as_customer(who),
        settings(),
        now,
    )
    .unwrap()
}

pub fn settings() -> Settings {
    Settings {
        policy: Default::default(),
        webhook_configured: true,
    }
}

/// (on_hand, reserved) of a shelf.
pub fn shelf(sql: &dyn Sql, store: &str, sku: &str) -> (i64, i64) {
    let rows = sql
        .execute(
            "SELECT on_hand, reserved FROM stock WHERE store = ?1 AND sku = ?2",
            &[store.into(), sku.into()],
        )
        .unwrap();
    let row = rows.first().unwrap();
    (
        row.integer("on_hand").unwrap(),
        row.integer("reserved").unwrap(),
    )
}

//! Placing an order: from a reservation (click & collect, and ship from a
//! store that holds the goods) and/or a checkout snapshot (what was paid
//! per line, after discounts as the promotion engine allocated them).
//!
//! | given | lines and paid amounts from | stock |
//! | --- | --- | --- |
//! | reservation + checkout | the checkout (the reservation must hold the same lines) | the reservation is confirmed for the order |
//! | reservation | the reservation, priced from the one price list | confirmed |
//! | checkout (ship from store, endless aisle) | the checkout | reserved at the shipping location and confirmed |
//! | lines (ship from store, endless aisle) | the lines, priced from the price list | reserved at the shipping location and confirmed |
//!
//! Click & collect always needs a reservation: the goods must be locked on
//! the shelf before anyone promises them. A delivered order locks its units
//! at its source in the same transaction that inserts it (a shop offering
//! ship from store, or a warehouse for the endless aisle), through the same
//! guarded available-to-promise update as a pickup hold: no order is
//! accepted without its units reserved, `shipped` takes them off the shelf
//! once, and a cancellation puts them back. Paid amounts are never taken from
//! the request: they come from the frozen checkout or the price list, so a
//! client cannot make a return refund more than was paid.
//!
//! The order row, its lines, its first history entry, the reservation's
//! confirmation, the checkout's completion with its coupon uses moved to
//! the order, and the "placed" notifications commit together;
//! `checkout_id` is UNIQUE among orders, so one checkout never becomes two
//! orders. An order from a checkout is placed in the checkout's channel
//! (the channel it was priced for).

use super::model::{Actor, DeliveryAddress, Order, OrderLine, Via};
use super::status::{Fulfilment, OrderStatus};
use super::transition::{Settings, notify_customer};
use super::{OrderError, new_order_id, store, timestamp};
use crate::cart::checkout::{self, Checkout, CheckoutId};
use crate::catalog::{FieldError, Service, StoreKind};
use crate::channel::Channel;
use crate::ids::{CustomerId, OrderId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::notify::{Locale, preferences};
use crate::stock::{
    self, Basket, BasketLine, BasketLineRow, HoldTtl, ReservationId, ReservationRequest, StockError,
};
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What an order is placed from (already parsed and authorised).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub customer: CustomerId,
    pub fulfilment: Fulfilment,
    /// Optional with a reservation (its store is the order's).
    pub store: Option<StoreId>,
    pub reservation: Option<ReservationId>,
    pub checkout: Option<CheckoutId>,
    /// Only without a reservation and a checkout.
    pub lines: Vec<BasketLine>,
    /// For pricing from the price list; a checkout has its own.
    pub currency: Currency,
    /// Required for ship from store, refused for click & collect.
    pub delivery_address: Option<DeliveryAddress>,
    pub locale: Option<Locale>,
    pub channel: Channel,
}

/// Places `new` as `actor`; see the module docs.
pub fn place(
    sql: &dyn Sql,
    new: &NewOrder,
    actor: &Actor,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    check_shape(new)?;
    let id = new_order_id()?;
    in_transaction(sql, |tx| {
        let checkout = match &new.checkout {
            Some(checkout_id) => Some(open_checkout(tx, checkout_id, &new.customer, now)?),
            None => None,
        };
        if let Some(checkout) = &checkout
            && checkout.snapshot.channel != new.channel
        {
            return Err(OrderError::Invalid(vec![FieldError::new(
                "channel",
                format!(
                    "the checkout was priced for the {} channel, so an order from it is placed in {}; check out again in {} for its prices",
                    checkout.snapshot.channel, checkout.snapshot.channel, new.channel
                ),
            )]));
        }
        let order = place_in(tx, &id, new, checkout.as_ref(), actor, settings, now)?;
        if let Some(checkout) = &checkout {
            let checkout_id = &checkout.snapshot.checkout_id;
            checkout::complete_in(tx, checkout_id, &format!("order:{id}"), new.channel, now)
                .map_err(|e| match e {
                    crate::cart::CartError::Storage(inner) => OrderError::Storage(inner),
                    _ => OrderError::CheckoutNotOpen {
                        why: "was completed meanwhile",
                    },
                })?;
            crate::promotions::redemption::transfer_checkout_in(
                tx,
                checkout_id.as_str(),
                &id,
                None,
                now,
            )
            .map_err(|e| match e {
                crate::promotions::PromotionError::Storage(inner) => OrderError::Storage(inner),
                other => OrderError::Storage(StorageError::Other(other.to_string())),
            })?;
        }
        Ok(order)
    })
}

fn check_shape(new: &NewOrder) -> Result<(), OrderError> {
    let mut errors = Vec::new();
    match new.fulfilment {
        Fulfilment::ClickAndCollect => {
            if new.reservation.is_none() {
                errors.push(FieldError::new(
                    "reservation_id",
                    "a click & collect order is placed from a reservation that locks the goods",
                ));
            }
            if new.delivery_address.is_some() {
                errors.push(FieldError::new(
                    "delivery_address",
                    "a click & collect order is collected, not delivered",
                ));
            }
        }
        Fulfilment::ShipFromStore => {
            if new.delivery_address.is_none() {
                errors.push(FieldError::new(
                    "delivery_address",
                    "a ship-from-store order needs a delivery address",
                ));
            }
            if new.reservation.is_none() && new.store.is_none() {
                errors.push(FieldError::new(
                    "store_id",
                    "name the store that ships the order",
                ));
            }
        }
        Fulfilment::EndlessAisle => {
            if new.delivery_address.is_none() {
                errors.push(FieldError::new(
                    "delivery_address",
                    "an endless-aisle order is delivered: give the address",
                ));
            }
            if new.reservation.is_some() {
                errors.push(FieldError::new(
                    "reservation_id",
                    "an endless-aisle order is reserved at the warehouse when placed; leave the reservation out",
                ));
            }
            if new.store.is_none() {
                errors.push(FieldError::new(
                    "store_id",
                    "name the warehouse that ships the order (the location_id fulfilment-options offered)",
                ));
            }
        }
    }
    let sourced = new.reservation.is_some() || new.checkout.is_some();
    if sourced && !new.lines.is_empty() {
        errors.push(FieldError::new(
            "lines",
            "lines come from the reservation or checkout; leave them out",
        ));
    }
    if !sourced && new.lines.is_empty() {
        errors.push(FieldError::new(
            "lines",
            "give the lines, a reservation_id or a checkout_id",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(OrderError::Invalid(errors))
    }
}

fn open_checkout(
    sql: &dyn Sql,
    id: &CheckoutId,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> Result<Checkout, OrderError> {
    let checkout = checkout::load(sql, id)?.ok_or(OrderError::UnknownCheckout)?;
    if checkout
        .snapshot
        .customer_id
        .as_ref()
        .is_some_and(|owner| owner != customer)
    {
        return Err(OrderError::UnknownCheckout);
    }
    if checkout.completion.is_some() {
        return Err(OrderError::CheckoutNotOpen {
            why: "was already completed",
        });
    }
    if checkout.is_expired(now) {
        return Err(OrderError::CheckoutNotOpen {
            why: "has expired; check out again",
        });
    }
    Ok(checkout)
}

fn place_in(
    tx: &dyn Sql,
    id: &OrderId,
    new: &NewOrder,
    checkout: Option<&Checkout>,
    actor: &Actor,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let reservation = match &new.reservation {
        Some(rid) => {
            let found = stock::load_reservation(tx, rid)?.ok_or(OrderError::UnknownReservation)?;
            if found.customer != new.customer {
                return Err(OrderError::UnknownReservation);
            }
            Some(found)
        }
        None => None,
    };
    let store_id = match (&reservation, &new.store) {
        (Some(r), Some(named)) if &r.store != named => {
            return Err(OrderError::Invalid(vec![FieldError::new(
                "store_id",
                format!("the reservation is at {}, not {named}", r.store),
            )]));
        }
        (Some(r), _) => r.store.clone(),
        (None, Some(named)) => named.clone(),
        (None, None) => {
            return Err(OrderError::Invalid(vec![FieldError::new(
                "store_id",
                "name the store",
            )]));
        }
    };
    let store = stock::load_store(tx, &store_id)?;
    let offered = match new.fulfilment {
        Fulfilment::ClickAndCollect => store.offers(Service::ClickAndCollect),
        Fulfilment::ShipFromStore => {
            store.kind() == StoreKind::Store && store.offers(Service::ShipFromStore)
        }
        // The central stock: whichever warehouse fulfilment-options offered.
        Fulfilment::EndlessAisle => store.kind() == StoreKind::Warehouse,
    };
    if !offered {
        return Err(OrderError::NotOffered {
            store: store_id,
            fulfilment: new.fulfilment,
        });
    }

    let (currency, lines) = match (checkout, &reservation) {
        (Some(checkout), reservation) => {
            let priced = &checkout.snapshot.priced;
            let lines: Vec<OrderLine> = priced
                .lines
                .iter()
                .map(|l| OrderLine {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    paid: l.total,
                })
                .collect();
            if let Some(reservation) = reservation {
                let held: BTreeMap<&Sku, u32> = reservation
                    .lines
                    .iter()
                    .map(|l| (&l.sku, l.quantity.get()))
                    .collect();
                let bought: BTreeMap<&Sku, u32> =
                    lines.iter().map(|l| (&l.sku, l.quantity)).collect();
                if held != bought {
                    return Err(OrderError::LinesMismatch);
                }
            }
            (priced.currency, lines)
        }
        (None, Some(reservation)) => {
            let wanted: Vec<(Sku, u32)> = reservation
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity.get()))
                .collect();
            (new.currency, price(tx, &wanted, new.currency)?)
        }
        (None, None) => {
            let wanted: Vec<(Sku, u32)> = new
                .lines
                .iter()
                .map(|l| (l.sku().clone(), l.quantity().get()))
                .collect();
            (new.currency, price(tx, &wanted, new.currency)?)
        }
    };
    let total = Money::sum(currency, lines.iter().map(|l| &l.paid))
        .map_err(|e| OrderError::Invalid(vec![FieldError::new("lines", e)]))?;

    // Every order's units are locked at its source before it is accepted.
    let reservation_id = match &new.reservation {
        Some(rid) => rid.clone(),
        None => {
            let wanted: Vec<BasketLineRow> = lines
                .iter()
                .map(|l| BasketLineRow {
                    sku: l.sku.to_string(),
                    quantity: serde_json::json!(l.quantity),
                })
                .collect();
            let basket = Basket::parse(&wanted).map_err(OrderError::Invalid)?;
            let request = ReservationRequest {
                store: store_id.clone(),
                customer: new.customer.clone(),
                basket,
                hold: HoldTtl::default(),
                requested_by: format!("order:{id}"),
            };
            stock::reserve_for_shipment_in(tx, &request, now)?.id
        }
    };
    let ready_by = stock::confirm_in(tx, &reservation_id, id, now)?
        .ready_by
        .ok_or_else(|| OrderError::Stock(StockError::NoPickupSlot(store_id.clone())))?;

    let prefs = preferences::load(tx, &new.customer)?;
    let country = store.address().country();
    let locale = new
        .locale
        .or(prefs.locale)
        .unwrap_or(Locale::for_country(country.as_str()));
    let address = serde_json::to_string(&new.delivery_address)
        .map_err(|e| StorageError::Decode(e.to_string()))?;
    let at = timestamp(now);
    tx.execute(
        "INSERT INTO orders (id, customer_id, fulfilment, store_id, store_name, store_address, time_zone, store_locale,
             delivery_address, status, version, currency, total_paid_minor, reservation_id, checkout_id, channel, locale,
             ready_by, sla_at_risk_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'placed', 1, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)",
        &[
            id.as_str().into(),
            new.customer.as_str().into(),
            new.fulfilment.as_str().into(),
            store_id.as_str().into(),
            store.name().into(),
            format!("{}, {}", store.address().street(), store.address().city()).into(),
            store.time_zone().name().into(),
            Locale::for_country(country.as_str()).as_str().into(),
            new.delivery_address.as_ref().map(|_| address).into(),
            currency.code().into(),
            total.to_minor_units().into(),
            reservation_id.as_str().into(),
            new.checkout.as_ref().map(|c| c.as_str().to_owned()).into(),
            new.channel.as_str().into(),
            locale.as_str().into(),
            timestamp(ready_by).into(),
            timestamp(settings.policy.at_risk_at(now, ready_by)).into(),
            at.into(),
        ],
    )
    .map_err(|e| match e {
        // A second order from the same checkout or reservation.
        StorageError::Constraint(_) => OrderError::CheckoutNotOpen { why: "already became an order" },
        other => OrderError::Storage(other),
    })?;
    for (index, line) in lines.iter().enumerate() {
        tx.execute(
            "INSERT INTO order_lines (order_id, line, sku, name, quantity, unit_price_minor, paid_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                id.as_str().into(),
                (index as i64).into(),
                line.sku.as_str().into(),
                line.name.as_str().into(),
                line.quantity.into(),
                line.unit_price.to_minor_units().into(),
                line.paid.to_minor_units().into(),
            ],
        )?;
    }
    store::record(
        tx,
        id,
        1,
        None,
        OrderStatus::Placed,
        actor,
        Via::Channel(new.channel),
        None,
        now,
    )?;
    let order = store::load(tx, id)?.ok_or(OrderError::NotFound)?;
    notify_customer(tx, &order, crate::notify::Event::Placed, settings, now)?;
    Ok(order)
}

/// Lines priced from the one price list: unit price times quantity, no
/// discount (a discounted order comes from a checkout).
fn price(
    tx: &dyn Sql,
    wanted: &[(Sku, u32)],
    currency: Currency,
) -> Result<Vec<OrderLine>, OrderError> {
    let mut lines = Vec::with_capacity(wanted.len());
    let mut unknown = Vec::new();
    let mut unpriced = Vec::new();
    for (index, (sku, quantity)) in wanted.iter().enumerate() {
        let rows = tx.execute(
            "SELECT COALESCE(json_extract(c.data, '$.name'), c.sku) AS name, p.amount_minor
             FROM catalog_items c LEFT JOIN prices p ON p.sku = c.sku AND p.currency = ?2 WHERE c.sku = ?1",
            &[sku.as_str().into(), currency.code().into()],
        )?;
        let Some(row) = rows.first() else {
            unknown.push(FieldError::new(
                format!("lines[{index}].sku"),
                format!("no item with SKU {sku} is sold"),
            ));
            continue;
        };
        let Some(unit_minor) = row.opt_integer("amount_minor")? else {
            unpriced.push(sku.clone());
            continue;
        };
        let money = |minor: i64| {
            Money::from_minor_units(minor, currency).map_err(|e| {
                OrderError::Invalid(vec![FieldError::new(format!("lines[{index}]"), e)])
            })
        };
        let paid_minor = unit_minor
            .checked_mul(i64::from(*quantity))
            .ok_or_else(|| {
                OrderError::Invalid(vec![FieldError::new(
                    format!("lines[{index}]"),
                    "amount out of range",
                )])
            })?;
        lines.push(OrderLine {
            sku: sku.clone(),
            name: row.text("name")?.to_owned(),
            quantity: *quantity,
            unit_price: money(unit_minor)?,
            paid: money(paid_minor)?,
        });
    }
    if !unknown.is_empty() {
        return Err(OrderError::Invalid(unknown));
    }
    if !unpriced.is_empty() {
        return Err(OrderError::NoPrice {
            skus: unpriced,
            currency,
        });
    }
    Ok(lines)
}

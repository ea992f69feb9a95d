//! The pickup code: what the customer shows at the store, and the scan that
//! hands the order over.
//!
//! The code is [`crate::auth::signed_code`] with purpose `pickup` over the
//! order id, valid until the end of the pickup window: it cannot be forged
//! (HMAC), it dies with the window (the expiry is signed in), and it cannot
//! pass as a return or hand-off code (the purpose is bound). It is the same
//! code each time the app asks, so nothing about it is stored.
//!
//! Single use comes from the order itself: a scan moves the order from
//! `ready_for_pickup` to `picked_up` inside one `BEGIN IMMEDIATE`
//! transaction, so of two scans at once exactly one hands the order over;
//! the other, and any later one, is told "already collected", with when and
//! at which store.

use super::model::{Actor, Order, Via};
use super::status::OrderStatus;
use super::transition::{Move, Settings, after_commit, apply_in};
use super::{OrderError, store};
use crate::auth::signed_code::{self, CodeError};
use crate::ids::OrderId;
use crate::storage::{Sql, in_transaction};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The purpose bound into every pickup code.
pub const PURPOSE: &str = "pickup";

/// A pickup code and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickupCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// The code for `order`, which must be waiting at the store.
pub fn code_for(order: &Order, secret: &[u8]) -> Result<PickupCode, OrderError> {
    let expires_at = match (order.status, order.pickup_until) {
        (OrderStatus::ReadyForPickup, Some(until)) => until,
        (status, _) => return Err(OrderError::NotReady { status }),
    };
    let code = signed_code::sign(PURPOSE, order.id.as_str().as_bytes(), expires_at, secret);
    Ok(PickupCode { code, expires_at })
}

/// The order a genuine, current pickup code names.
pub fn verify(code: &str, secret: &[u8], now: DateTime<Utc>) -> Result<OrderId, OrderError> {
    match signed_code::verify_text(PURPOSE, code, secret, now) {
        Ok(id) => OrderId::parse(&id).map_err(|_| OrderError::PickupCodeInvalid),
        Err(CodeError::Expired) => Err(OrderError::PickupCodeExpired),
        Err(CodeError::Malformed | CodeError::BadSignature) => Err(OrderError::PickupCodeInvalid),
    }
}

/// A store device scans `code`: the order, if it is this store's and
/// ready, is handed over (picked up, its reservation fulfilled).
pub fn scan(
    sql: &dyn Sql,
    code: &str,
    secret: &[u8],
    device: &Actor,
    via: Via,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let id = verify(code, secret, now)?;
    let order = in_transaction(sql, |tx| {
        let order = store::load(tx, &id)?.ok_or(OrderError::NotFound)?;
        device.may_see(&order)?;
        match (order.status, &order.collected) {
            (OrderStatus::PickedUp, Some(collected)) => {
                return Err(OrderError::AlreadyCollected { at: collected.at, store: collected.store_id.clone() });
            }
            (OrderStatus::ReadyForPickup, _) => {}
            (status, _) => return Err(OrderError::NotReady { status }),
        }
        let change = Move { to: OrderStatus::PickedUp, via, note: None, tracking: None };
        apply_in(tx, &order, &change, device, settings, now)
    })?;
    after_commit(sql, &order, now);
    Ok(order)
}

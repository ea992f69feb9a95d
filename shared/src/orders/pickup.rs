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
    #[serde(with = "crate::clock::wire_format")]
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
        may_hand_over(&order, device)?;
        let change = Move {
            to: OrderStatus::PickedUp,
            via,
            note: None,
            tracking: None,
        };
        apply_in(tx, &order, &change, device, settings, now)
    })?;
    after_commit(sql, &order, now);
    Ok(order)
}

/// What a scan would hand over, changing nothing: the kiosk shows the order
/// and its lines first and hands it over on the operator's confirmation.
/// It refuses exactly what [`scan`] refuses (forged or expired code,
/// another store's order, already collected, not ready), so the operator
/// learns the problem before touching the goods.
pub fn look_up(
    sql: &dyn Sql,
    code: &str,
    secret: &[u8],
    device: &Actor,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let id = verify(code, secret, now)?;
    let order = store::load(sql, &id)?.ok_or(OrderError::NotFound)?;
    may_hand_over(&order, device)?;
    Ok(order)
}

/// The device may hand `order` over: its store's, and waiting there.
fn may_hand_over(order: &Order, device: &Actor) -> Result<(), OrderError> {
    device.may_see(order)?;
    match (order.status, &order.collected) {
        (OrderStatus::PickedUp, Some(collected)) => Err(OrderError::AlreadyCollected {
            at: collected.at,
            store: collected.store_id.clone(),
        }),
        (OrderStatus::ReadyForPickup, _) => Ok(()),
        (status, _) => Err(OrderError::NotReady { status }),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::channel::Channel;
    use crate::ids::StoreId;
    use crate::orders::test_support::{as_store, fixture, monday, placed, settings, shelf};
    use crate::orders::transition::transition;
    use chrono::Duration;

    const SECRET: &[u8] = b"code-secret-that-is-at-least-32-bytes-long";

    fn to(status: OrderStatus) -> Move {
        Move {
            to: status,
            via: Via::Channel(Channel::Pos),
            note: None,
            tracking: None,
        }
    }

    #[test]
    fn a_look_up_shows_the_order_and_changes_nothing_then_refuses_what_a_scan_refuses() {
        let db = fixture();
        let sql = db.connect();
        let order = placed(&sql, "C-1", monday());
        let s1 = as_store("S1");
        let premature = signed_code::sign(
            PURPOSE,
            order.id.as_str().as_bytes(),
            monday() + Duration::days(1),
            SECRET,
        );
        assert_eq!(
            look_up(&sql, &premature, SECRET, &s1, monday()).unwrap_err(),
            OrderError::NotReady {
                status: OrderStatus::Placed
            }
        );
        for status in [
            OrderStatus::Accepted,
            OrderStatus::Picking,
            OrderStatus::ReadyForPickup,
        ] {
            transition(
                &sql,
                &order.id,
                &to(status),
                &s1,
                settings(),
                |_| true,
                monday(),
            )
            .unwrap();
        }
        let ready = store::load(&sql, &order.id).unwrap().unwrap();
        let code = code_for(&ready, SECRET).unwrap().code;
        let before = shelf(&sql, "S1", "A");
        for _ in 0..2 {
            let seen = look_up(&sql, &code, SECRET, &s1, monday()).unwrap();
            assert_eq!(
                (seen.id.clone(), seen.status, seen.version),
                (ready.id.clone(), OrderStatus::ReadyForPickup, ready.version)
            );
        }
        assert_eq!(shelf(&sql, "S1", "A"), before, "a look-up moves no stock");
        assert_eq!(
            store::history(&sql, &order.id).unwrap().len(),
            4,
            "and writes no history"
        );
        assert_eq!(
            look_up(&sql, &code, SECRET, &as_store("S2"), monday()).unwrap_err(),
            OrderError::WrongStore {
                store: StoreId::parse("S1").unwrap()
            }
        );
        assert_eq!(
            look_up(&sql, &code, SECRET, &s1, monday() + Duration::days(8)).unwrap_err(),
            OrderError::PickupCodeExpired
        );
        assert_eq!(
            look_up(&sql, "forged", SECRET, &s1, monday()).unwrap_err(),
            OrderError::PickupCodeInvalid
        );
        let at = monday() + Duration::hours(1);
        scan(
            &sql,
            &code,
            SECRET,
            &s1,
            Via::Channel(Channel::Kiosk),
            settings(),
            at,
        )
        .unwrap();
        assert_eq!(
            look_up(&sql, &code, SECRET, &s1, at).unwrap_err(),
            OrderError::AlreadyCollected {
                at,
                store: StoreId::parse("S1").unwrap()
            }
        );
    }
}

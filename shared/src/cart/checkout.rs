//! Checkout snapshots: a cart frozen with its prices, discounts and totals,
//! and the signed, expiring hand-off code (shown as a QR) through which a
//! till or kiosk loads exactly that snapshot.
//!
//! Why freeze instead of letting the till read the live cart? "The same
//! prices and the same coupon result" must hold between the phone screen the
//! shopper showed and the receipt: a price change, an expiring coupon or
//! another device editing the cart in the seconds between scan and payment
//! must not change what is charged. The snapshot is immutable; the cart
//! stays editable, and completing the checkout removes what was bought from
//! it (items added after the hand-off stay for next time).
//!
//! The hand-off code is [`crate::auth::signed_code`] with purpose
//! `cart-handoff` over the checkout id, valid for
//! [`CartPolicy::HANDOFF_MINUTES`]. It proves the shopper chose to hand this
//! checkout over; the till still needs its own store-device token, so a
//! photographed QR is useless without a till.
//!
//! Other components (pickups, turning a checkout into an order) read a
//! checkout with [`load`] and finish it with [`complete`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::expiry;
use super::lines::after_purchase;
use super::pricing::{DetailedPrice, PricedCart, price_with_evaluation, promotion_error};
use super::secret::random_id;
use super::store::{self, Cart, CartHeader};
use super::{CartError, CartPolicy, CartStatus, parse_timestamp, timestamp};
use crate::auth::signed_code::{self, CodeError};
use crate::channel::Channel;
use crate::ids::{CartId, CustomerId, OrderId, Sku};
use crate::promotions::redemption;
use crate::storage::{Row, Sql, StorageError};

/// The purpose bound into every cart hand-off code.
pub const HANDOFF_PURPOSE: &str = "cart-handoff";

/// A checkout's id, `chk_` and 32 hex digits when generated here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CheckoutId(String);

impl CheckoutId {
    /// The id token rules every id follows: 1 to 64 letters, digits, `-`,
    /// `_` or `.`, starting with a letter or digit.
    pub fn parse(raw: &str) -> Result<CheckoutId, CartError> {
        let raw = raw.trim();
        let mut chars = raw.chars();
        let valid = raw.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Ok(CheckoutId(raw.to_owned()))
        } else {
            Err(CartError::CheckoutNotFound)
        }
    }

    pub fn generate() -> Result<CheckoutId, CartError> {
        Ok(CheckoutId(random_id("chk_")?))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckoutId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CheckoutId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        CheckoutId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a till charges: the cart as priced when the shopper handed it over.
/// Stored as JSON exactly as served, so a reload is byte-for-byte the same
/// answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutSnapshot {
    pub checkout_id: CheckoutId,
    pub cart_id: CartId,
    /// The cart version frozen: the snapshot is exactly that state.
    pub cart_version: i64,
    pub customer_id: Option<CustomerId>,
    /// The channel the cart was handed over from (and priced for).
    pub channel: Channel,
    /// The channel the cart was created in.
    pub cart_channel: Channel,
    #[serde(flatten)]
    pub priced: PricedCart,
    #[serde(with = "crate::clock::wire_format")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::clock::wire_format")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Waiting to be paid at a till (or placed as an order).
    Open,
    Completed,
}

/// Who finished a checkout, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Completion {
    #[serde(with = "crate::clock::wire_format")]
    pub completed_at: DateTime<Utc>,
    /// The store id of the till, or the principal of another finisher.
    pub completed_by: String,
    pub completed_channel: Channel,
}

/// A snapshot with where it is in its life.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkout {
    #[serde(flatten)]
    pub snapshot: CheckoutSnapshot,
    pub status: CheckoutStatus,
    #[serde(flatten)]
    pub completion: Option<Completion>,
}

impl Checkout {
    /// Whether the hand-off has run out (an expired checkout can no longer
    /// be completed; its snapshot stays readable for the record).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.status == CheckoutStatus::Open && now >= self.snapshot.expires_at
    }
}

/// The hand-off code of `snapshot`, signed with the code-signing secret. The
/// same snapshot always gives the same code, so the owner can be shown it
/// again without storing it.
pub fn handoff_code(snapshot: &CheckoutSnapshot, secret: &[u8]) -> String {
    signed_code::sign(
        HANDOFF_PURPOSE,
        snapshot.checkout_id.as_str().as_bytes(),
        snapshot.expires_at,
        secret,
    )
}

/// The checkout a hand-off code names, if the code is genuine and current.
pub fn verify_handoff(
    code: &str,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<CheckoutId, CartError> {
    match signed_code::verify_text(HANDOFF_PURPOSE, code, secret, now) {
        Ok(id) => CheckoutId::parse(&id).map_err(|_| CartError::HandoffCodeInvalid),
        Err(CodeError::Expired) => Err(CartError::HandoffCodeExpired),
        Err(CodeError::Malformed | CodeError::BadSignature) => Err(CartError::HandoffCodeInvalid),
    }
}

/// Freezes `cart` (read in this transaction), priced for `channel` now,
/// into a new open checkout.
///
/// Coupon uses follow the money: the uses of every promotion the frozen
/// price applies are reserved here, in the same transaction, with the
/// limits checked atomically ([`redemption::hold_for_checkout_in`]); paying
/// at a till commits them, placing an order from the checkout moves them to
/// the order, and a checkout that expires or is superseded by a newer one
/// of the same cart gives them back. An open checkout of the same cart is
/// superseded at once (it can no longer be scanned), so a shopper who hands
/// the cart over again does not hold a coupon twice.
pub fn freeze(
    tx: &dyn Sql,
    cart: &Cart,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Checkout, CartError> {
    cart.header.ensure_active()?;
    if cart.lines.is_empty() {
        return Err(CartError::Empty);
    }
    let superseded: Vec<String> = tx
        .execute(
            "UPDATE cart_checkouts SET expires_at = ?2 WHERE cart_id = ?1 AND status = 'open' AND expires_at > ?2
             RETURNING id",
            &[cart.header.id.as_str().into(), timestamp(now).into()],
        )?
        .iter()
        .map(|r| r.text("id").map(str::to_owned))
        .collect::<Result<_, _>>()?;
    redemption::release_checkouts_in(tx, &superseded, now).map_err(promotion_error)?;
    release_expired_holds_in(tx, now, RELEASE_ON_FREEZE)?;
    // Priced after the superseded checkouts gave their uses back, so a
    // shopper handing the same cart over again keeps their coupon.
    let DetailedPrice {
        cart: priced,
        evaluation,
        promotions,
    } = price_with_evaluation(tx, cart, channel, now)?;
    let snapshot = CheckoutSnapshot {
        checkout_id: CheckoutId::generate()?,
        cart_id: cart.header.id.clone(),
        cart_version: cart.header.version,
        customer_id: cart.header.customer().cloned(),
        channel,
        cart_channel: cart.header.channel,
        priced,
        created_at: now,
        expires_at: now + Duration::minutes(CartPolicy::HANDOFF_MINUTES),
    };
    let json = serde_json::to_string(&snapshot).map_err(|e| StorageError::Decode(e.to_string()))?;
    tx.execute(
        "INSERT INTO cart_checkouts (id, cart_id, cart_version, customer_id, status, snapshot, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7)",
        &[
            snapshot.checkout_id.as_str().into(),
            snapshot.cart_id.as_str().into(),
            snapshot.cart_version.into(),
            snapshot.customer_id.as_ref().map(CustomerId::as_str).into(),
            json.into(),
            timestamp(now).into(),
            timestamp(snapshot.expires_at).into(),
        ],
    )?;
    let holder = OrderId::parse(snapshot.checkout_id.as_str())
        .map_err(|e| StorageError::Decode(e.to_string()))?;
    let hold = redemption::CheckoutHold {
        checkout: &holder,
        customer: snapshot.customer_id.as_ref(),
        channel,
    };
    redemption::hold_for_checkout_in(tx, &hold, &promotions, &evaluation, now)
        .map_err(promotion_error)?;
    Ok(Checkout {
        snapshot,
        status: CheckoutStatus::Open,
        completion: None,
    })
}

/// How many expired checkouts' coupon holds a freeze gives back on the way
/// (the cart sweep gives back the rest).
const RELEASE_ON_FREEZE: u32 = 16;

/// Gives back the coupon uses held by open checkouts that expired unpaid,
/// at most `limit` of them, oldest first; returns how many.
pub fn release_expired_holds_in(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<u32, CartError> {
    let due: Vec<String> = tx
        .execute(
            "SELECT c.id FROM redemptions r JOIN cart_checkouts c ON c.id = r.order_id
             WHERE r.state = 'reserved' AND r.idempotency_key = 'checkout:' || c.id
               AND c.status = 'open' AND c.expires_at <= ?1
             ORDER BY c.expires_at LIMIT ?2",
            &[timestamp(now).into(), limit.into()],
        )?
        .iter()
        .map(|r| r.text("id").map(str::to_owned))
        .collect::<Result<_, _>>()?;
    redemption::release_checkouts_in(tx, &due, now).map_err(promotion_error)
}

/// The checkout, or `None` when there is no such checkout.
pub fn load(sql: &dyn Sql, id: &CheckoutId) -> Result<Option<Checkout>, CartError> {
    let rows = sql.execute(
        "SELECT snapshot, status, expires_at, completed_at, completed_by, completed_channel FROM cart_checkouts WHERE id = ?1",
        &[id.as_str().into()],
    )?;
    rows.first()
        .map(checkout_from_row)
        .transpose()
        .map_err(CartError::from)
}

/// Completes an open checkout: `by` (a till's store id, or another
/// finisher's principal) was paid in `channel`. What was bought is removed
/// from the cart (a cart left empty becomes `converted`), and a converted
/// event is recorded. Completing again by the same finisher returns the
/// completed checkout unchanged, so a till's retry is safe; by another is a
/// conflict. An expired checkout cannot be completed.
pub fn complete(
    sql: &dyn Sql,
    id: &CheckoutId,
    by: &str,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Checkout, CartError> {
    crate::storage::in_transaction(sql, |tx| complete_in(tx, id, by, channel, now))
}

/// [`complete`] inside the caller's transaction (an order placed from the
/// checkout commits with it). The coupon uses the checkout holds are
/// committed with the completion.
pub fn complete_in(
    tx: &dyn Sql,
    id: &CheckoutId,
    by: &str,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Checkout, CartError> {
    let checkout = load(tx, id)?.ok_or(CartError::CheckoutNotFound)?;
    if let Some(done) = &checkout.completion {
        return if done.completed_by == by {
            Ok(checkout)
        } else {
            Err(CartError::CheckoutCompletedElsewhere)
        };
    }
    if checkout.is_expired(now) {
        return Err(CartError::HandoffCodeExpired);
    }
    let claimed = tx.execute(
        "UPDATE cart_checkouts SET status = 'completed', completed_at = ?2, completed_by = ?3, completed_channel = ?4
         WHERE id = ?1 AND status = 'open' RETURNING id",
        &[id.as_str().into(), timestamp(now).into(), by.into(), channel.as_str().into()],
    )?;
    if claimed.is_empty() {
        return Err(CartError::CheckoutCompletedElsewhere);
    }
    redemption::commit_checkout_in(tx, id.as_str(), now).map_err(promotion_error)?;
    let snapshot = &checkout.snapshot;
    if let Some(cart) = store::header(tx, &snapshot.cart_id)? {
        let bought: BTreeMap<Sku, u32> = snapshot
            .priced
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity))
            .collect();
        expiry::record_conversion(
            tx,
            &cart,
            id.as_str(),
            channel,
            &snapshot.priced.totals,
            now,
        )?;
        remove_bought(tx, &cart, &bought, channel, now)?;
    }
    Ok(Checkout {
        snapshot: checkout.snapshot.clone(),
        status: CheckoutStatus::Completed,
        completion: Some(Completion {
            completed_at: now,
            completed_by: by.to_owned(),
            completed_channel: channel,
        }),
    })
}

/// Takes what was bought out of an active cart; a cart left empty is
/// `converted`. A cart that meanwhile expired, merged or converted keeps
/// its lines as they are: they are history then.
fn remove_bought(
    tx: &dyn Sql,
    cart: &CartHeader,
    bought: &BTreeMap<Sku, u32>,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<(), CartError> {
    if cart.status != CartStatus::Active {
        return Ok(());
    }
    let before = store::quantities(tx, &cart.id)?;
    let after = after_purchase(&before, bought);
    if before == after {
        return Ok(());
    }
    let status = if after.is_empty() {
        CartStatus::Converted
    } else {
        CartStatus::Active
    };
    let rows = tx.execute(
        "UPDATE carts SET version = version + 1, updated_at = ?2, last_channel = ?3, status = ?4 WHERE id = ?1
         RETURNING version",
        &[cart.id.as_str().into(), timestamp(now).into(), channel.as_str().into(), status.as_str().into()],
    )?;
    let version = rows
        .first()
        .ok_or(CartError::NotFound)?
        .integer("version")?;
    for (sku, quantity) in &before {
        match after.get(sku) {
            None => {
                tx.execute(
                    "DELETE FROM cart_lines WHERE cart_id = ?1 AND sku = ?2",
                    &[cart.id.as_str().into(), sku.as_str().into()],
                )?;
            }
            Some(left) if left != quantity => {
                tx.execute(
                    "UPDATE cart_lines SET quantity = ?3, changed_at_version = ?4 WHERE cart_id = ?1 AND sku = ?2",
                    &[cart.id.as_str().into(), sku.as_str().into(), (*left).into(), version.into()],
                )?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn checkout_from_row(row: Row<'_>) -> Result<Checkout, StorageError> {
    let mut snapshot: CheckoutSnapshot = serde_json::from_str(row.text("snapshot")?)
        .map_err(|e| StorageError::Decode(format!("checkout snapshot: {e}")))?;
    // A newer checkout of the same cart ends this one early: the column,
    // not the frozen JSON, says when it stops being scannable.
    snapshot.expires_at = parse_timestamp(row.text("expires_at")?)?;
    let (status, completion) = match row.text("status")? {
        "open" => (CheckoutStatus::Open, None),
        "completed" => (
            CheckoutStatus::Completed,
            Some(Completion {
                completed_at: parse_timestamp(row.text("completed_at")?)?,
                completed_by: row.text("completed_by")?.to_owned(),
                completed_channel: store::channel(row.text("completed_channel")?)?,
            }),
        ),
        other => return Err(StorageError::Decode(format!("checkout status {other:?}"))),
    };
    Ok(Checkout {
        snapshot,
        status,
        completion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SECRET: &[u8] = b"code-secret-that-is-at-least-32-bytes-long";

    fn snapshot(expires_at: DateTime<Utc>) -> CheckoutSnapshot {
        let json = serde_json::json!({
            "checkout_id": "chk_1", "cart_id": "crt_1", "cart_version": 3, "customer_id": null,
            "channel": "app", "cart_channel": "web", "currency": "PLN", "lines": [], "coupons": [],
            "promotions": [],
            "totals": {"currency": "PLN", "subtotal": {"amount": "0.00", "currency": "PLN"},
                "discount": {"amount": "0.00", "currency": "PLN"}, "total": {"amount": "0.00", "currency": "PLN"},
                "item_count": 0, "line_count": 0, "free_shipping": false},
            "created_at": "2026-11-23T09:00:00Z", "expires_at": expires_at.to_rfc3339(),
        });
        serde_json::from_value(json).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    #[test]
    fn a_handoff_code_names_its_checkout_until_it_expires() {
        let snapshot = snapshot(now() + Duration::minutes(30));
        let code = handoff_code(&snapshot, SECRET);
        assert_eq!(
            verify_handoff(&code, SECRET, now()),
            Ok(snapshot.checkout_id.clone())
        );
        assert_eq!(
            handoff_code(&snapshot, SECRET),
            code,
            "the same snapshot gives the same code"
        );
        assert_eq!(
            verify_handoff(&code, SECRET, now() + Duration::minutes(30)),
            Err(CartError::HandoffCodeExpired)
        );
    }

    #[test]
    fn forged_and_foreign_codes_are_refused() {
        let snapshot = snapshot(now() + Duration::minutes(30));
        let code = handoff_code(&snapshot, SECRET);
        let mut forged = code.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            verify_handoff(&forged, SECRET, now()),
            Err(CartError::HandoffCodeInvalid)
        );
        assert_eq!(
            verify_handoff(&code, b"another-secret-of-at-least-32-bytes!!", now()),
            Err(CartError::HandoffCodeInvalid)
        );
        assert_eq!(
            verify_handoff("not a code", SECRET, now()),
            Err(CartError::HandoffCodeInvalid)
        );
        let pickup = signed_code::sign("pickup", b"chk_1", now() + Duration::minutes(5), SECRET);
        assert_eq!(
            verify_handoff(&pickup, SECRET, now()),
            Err(CartError::HandoffCodeInvalid)
        );
    }

    #[test]
    fn a_snapshot_round_trips_through_its_stored_json() {
        let snapshot = snapshot(now() + Duration::minutes(30));
        let json = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(
            serde_json::from_str::<CheckoutSnapshot>(&json).unwrap(),
            snapshot
        );
    }

    #[test]
    fn checkout_ids_follow_the_id_token_rules() {
        assert!(CheckoutId::parse("chk_0123abcd").is_ok());
        for bad in ["", "-x", "a b", "x/y", &"x".repeat(65)] {
            assert!(CheckoutId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CheckoutId::generate().unwrap().as_str().starts_with("chk_"));
    }
}

//! Redemption: a promotion's uses are reserved when the order is placed
//! (they count toward every limit from that moment), committed when it is
//! paid, and released when it is cancelled.
//!
//! Why reserve at placement and not count at payment? Counting late is how
//! limits get exceeded under concurrent checkout (Saleor #544, Vendure
//! #4660, Shopify's asynchronous counting): twenty shoppers pass a check of
//! "19 used" at once. Here the reservation is the count, taken inside one
//! `BEGIN IMMEDIATE` transaction with guarded statements:
//!
//! ```sql
//! UPDATE promotions SET used = used + 1
//!  WHERE id = ? AND version = ? AND status = 'active'
//!    AND (global_limit IS NULL OR used < global_limit)
//! UPDATE coupon_codes SET used = used + 1 WHERE code = ? AND (max_uses IS NULL OR used < max_uses)
//! ```
//!
//! plus a count of the customer's live uses for a per-customer limit (in
//! every channel: the count has no channel in it). If any guard fails the
//! transaction rolls back and the basket is evaluated afresh, which then
//! names the reason ("limit reached", "already used"); nothing is counted.
//!
//! The evaluation is done before the transaction (reads only), so the write
//! lock is held for a handful of statements. Its promotion versions are
//! guarded too, so an operator's edit between the two makes the reservation
//! evaluate again rather than count a version nobody evaluated.
//!
//! Idempotency: every reservation carries a caller-chosen key. The same key
//! with the same request returns the first reservation (counted once); with
//! another request it is refused. One order has at most one live
//! reservation.
//!
//! Release gives the uses back (in reserved or committed state: a paid order
//! cancelled in full returns its coupon); a released reservation cannot be
//! committed. Both transitions repeat harmlessly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cart::CartSnapshot;
use super::customers::{cancel_order, load_facts_excluding, record_order};
use super::engine::{Context, Evaluation, evaluate};
use super::store::{hex, load_for_cart};
use super::values::{CouponCode, Fulfilment, PromotionId};
use super::{PromotionError, timestamp};
use crate::channel::Channel;
use crate::ids::{CustomerId, OrderId, StoreId};
use crate::money::Money;
use crate::storage::{Row, Sql, StorageError, in_transaction};

/// Who holds a reservation's uses: an order (through the coupons API) or a
/// cart checkout (frozen for a till or an order). The `order_id` column
/// holds either id; a checkout's uses move to the order placed from it.
struct Holder<'a> {
    key: &'a str,
    order: &'a OrderId,
    customer: Option<&'a CustomerId>,
    store: Option<&'a StoreId>,
    channel: Channel,
}

impl ReserveRequest {
    fn holder(&self) -> Holder<'_> {
        Holder {
            key: &self.key,
            order: &self.order,
            customer: self.customer.as_ref(),
            store: self.store.as_ref(),
            channel: self.channel,
        }
    }
}

/// How often a reservation is evaluated again after a guard failed before
/// the caller is told to retry.
const ATTEMPTS: usize = 4;

/// The longest idempotency key kept (a scope plus a client key).
pub const MAX_KEY_LEN: usize = 400;

/// What an order asks to redeem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// The idempotency key, already scoped to the caller by the component.
    pub key: String,
    pub order: OrderId,
    pub cart: CartSnapshot,
    pub channel: Channel,
    pub fulfilment: Option<Fulfilment>,
    pub customer: Option<CustomerId>,
    /// The store of a till or kiosk order, or the pickup store.
    pub store: Option<StoreId>,
    pub codes: Vec<CouponCode>,
    /// When given, the reservation is refused if the discount is now
    /// different (a limit reached since the shopper saw the basket).
    pub expected_discount: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionState {
    /// On the wire `held`: "reservation" is the word for a stock hold
    /// (availability); a coupon use is held, then committed or released.
    #[serde(rename = "held")]
    Reserved,
    Committed,
    Released,
}

impl RedemptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            RedemptionState::Reserved => "reserved",
            RedemptionState::Committed => "committed",
            RedemptionState::Released => "released",
        }
    }

    fn parse(raw: &str) -> Result<RedemptionState, StorageError> {
        match raw {
            "reserved" => Ok(RedemptionState::Reserved),
            "committed" => Ok(RedemptionState::Committed),
            "released" => Ok(RedemptionState::Released),
            other => Err(StorageError::Decode(format!("redemption state {other:?}"))),
        }
    }
}

/// One use a reservation counts: a promotion, the version evaluated, and
/// the code that reached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Use {
    pub promotion_id: PromotionId,
    pub promotion_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CouponCode>,
}

/// A reservation and the evaluation it froze: its lines' discounts are what
/// a return refunds against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// On the wire `redemption_id` (see [`RedemptionState::Reserved`]).
    #[serde(rename = "redemption_id")]
    pub reservation_id: String,
    pub order_id: OrderId,
    pub state: RedemptionState,
    pub channel: Channel,
    pub customer_id: Option<CustomerId>,
    pub store_id: Option<StoreId>,
    pub uses: Vec<Use>,
    pub evaluation: Evaluation,
    pub created_at: String,
    pub committed_at: Option<String>,
    pub released_at: Option<String>,
}

/// A reservation made now or found under the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    Created(Reservation),
    Replayed(Reservation),
}

/// Reserves the uses of every promotion the basket gets (see the module
/// docs). Refused codes refuse the whole reservation with
/// [`PromotionError::CodesRefused`]: the shopper must see the new price.
pub fn reserve(
    sql: &dyn Sql,
    request: &ReserveRequest,
    now: DateTime<Utc>,
) -> Result<Reserved, PromotionError> {
    if request.key.is_empty() || request.key.len() > MAX_KEY_LEN {
        return Err(PromotionError::BadKey);
    }
    let fingerprint = fingerprint(request);
    if let Some(existing) = by_key(sql, &request.key, &fingerprint)? {
        return Ok(Reserved::Replayed(existing));
    }
    for _ in 0..ATTEMPTS {
        let promotions = load_for_cart(sql, now, &request.cart, &request.codes)?;
        let customer = load_facts_excluding(sql, request.customer.as_ref(), Some(&request.order))?;
        let ctx = Context {
            channel: request.channel,
            fulfilment: request.fulfilment,
            customer,
            now,
        };
        let evaluation = evaluate(&request.cart, &ctx, &promotions, &request.codes);
        if !evaluation.refused.is_empty() {
            return Err(PromotionError::CodesRefused(Box::new(evaluation)));
        }
        if let Some(expected) = request.expected_discount
            && expected != evaluation.total_discount
        {
            return Err(PromotionError::DiscountChanged {
                expected,
                evaluation: Box::new(evaluation),
            });
        }
        let outcome = in_transaction(sql, |tx| {
            if let Some(existing) = by_key(tx, &request.key, &fingerprint)? {
                return Ok(Reserved::Replayed(existing));
            }
            let live = tx.execute(
                "SELECT id FROM redemptions WHERE order_id = ?1 AND state <> 'released'",
                &[request.order.as_str().into()],
            )?;
            if let Some(row) = live.first() {
                return Err(Attempt::Fail(PromotionError::OrderAlreadyReserved {
                    order: request.order.clone(),
                    reservation: row.text("id")?.to_owned(),
                }));
            }
            let holder = request.holder();
            count_uses(tx, &holder, &promotions, &evaluation)?;
            let reservation = insert(tx, &holder, &fingerprint, evaluation.clone(), now)?;
            if let Some(customer) = &request.customer {
                record_order(
                    tx,
                    customer,
                    &request.order,
                    request.channel,
                    request.fulfilment,
                    now,
                )?;
            }
            Ok(Reserved::Created(reservation))
        });
        match outcome {
            Ok(reserved) => return Ok(reserved),
            Err(Attempt::Retry) => continue,
            Err(Attempt::Fail(err)) => return Err(err),
        }
    }
    Err(PromotionError::Contention)
}

/// Marks a reservation paid. Committing twice is harmless; committing a
/// released one is refused.
pub fn commit(
    sql: &dyn Sql,
    reservation_id: &str,
    now: DateTime<Utc>,
) -> Result<Reservation, PromotionError> {
    let rows = sql.execute(
        "UPDATE redemptions SET state = 'committed', committed_at = COALESCE(committed_at, ?2)
         WHERE id = ?1 AND state IN ('reserved', 'committed') RETURNING id",
        &[reservation_id.into(), timestamp(now).into()],
    )?;
    let current = load_reservation(sql, reservation_id)?
        .ok_or_else(|| PromotionError::UnknownReservation(reservation_id.to_owned()))?;
    if rows.is_empty() {
        return Err(PromotionError::InvalidTransition {
            state: current.state,
            action: "commit",
        });
    }
    Ok(current)
}

/// Gives a reservation's uses back (the order was cancelled). Releasing
/// twice is harmless: the second changes nothing.
pub fn release(
    sql: &dyn Sql,
    reservation_id: &str,
    now: DateTime<Utc>,
) -> Result<Reservation, PromotionError> {
    in_transaction(sql, |tx| release_in(tx, reservation_id, now))
}

/// [`release`] inside the caller's transaction.
pub fn release_in(
    tx: &dyn Sql,
    reservation_id: &str,
    now: DateTime<Utc>,
) -> Result<Reservation, PromotionError> {
    {
        let rows = tx.execute(
            "UPDATE redemptions SET state = 'released', released_at = ?2
             WHERE id = ?1 AND state <> 'released' RETURNING order_id",
            &[reservation_id.into(), timestamp(now).into()],
        )?;
        if let Some(row) = rows.first() {
            let uses = tx.execute(
                "UPDATE redemption_uses SET released = 1 WHERE redemption_id = ?1 AND released = 0 RETURNING promotion_id, code",
                &[reservation_id.into()],
            )?;
            for used in uses.iter() {
                tx.execute(
                    "UPDATE promotions SET used = used - 1 WHERE id = ?1 AND used > 0",
                    &[used.text("promotion_id")?.into()],
                )?;
                if let Some(code) = used.opt_text("code")? {
                    tx.execute(
                        "UPDATE coupon_codes SET used = used - 1 WHERE code = ?1 AND used > 0",
                        &[code.into()],
                    )?;
                }
            }
            let order = OrderId::parse(row.text("order_id")?)
                .map_err(|e| StorageError::Decode(e.to_string()))?;
            cancel_order(tx, &order, now)?;
        }
        load_reservation(tx, reservation_id)?
            .ok_or_else(|| PromotionError::UnknownReservation(reservation_id.to_owned()))
    }
}

/// The key a checkout's hold is stored under.
fn checkout_key(checkout: &str) -> String {
    format!("checkout:{checkout}")
}

/// What a cart checkout holds: the uses of every limited promotion its
/// frozen price applies.
pub struct CheckoutHold<'a> {
    pub checkout: &'a OrderId,
    pub customer: Option<&'a CustomerId>,
    pub channel: Channel,
}

/// Reserves the uses of every promotion `evaluation` applies for a checkout
/// being frozen, inside the caller's transaction (the one that priced the
/// cart and inserts the checkout), so the till or the order that finishes
/// the checkout needs no second call to count them.
///
/// The guards are the ones [`reserve`] takes. The evaluation was made in
/// the same write transaction, so a guard can fail only when another
/// writer slipped in between; the caller then gets
/// [`PromotionError::Contention`] and the shopper tries again.
pub fn hold_for_checkout_in(
    tx: &dyn Sql,
    hold: &CheckoutHold<'_>,
    promotions: &[super::engine::ActivePromotion],
    evaluation: &Evaluation,
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    if evaluation.applied.is_empty() {
        return Ok(());
    }
    let key = checkout_key(hold.checkout.as_str());
    let holder = Holder {
        key: &key,
        order: hold.checkout,
        customer: hold.customer,
        store: None,
        channel: hold.channel,
    };
    let outcome = count_uses(tx, &holder, promotions, evaluation)
        .and_then(|()| insert(tx, &holder, "checkout", evaluation.clone(), now).map(drop));
    match outcome {
        Ok(()) => {}
        Err(Attempt::Retry) => return Err(PromotionError::Contention),
        Err(Attempt::Fail(e)) => return Err(e),
    }
    if let Some(customer) = hold.customer {
        record_order(tx, customer, hold.checkout, hold.channel, None, now)?;
    }
    Ok(())
}

/// Commits the uses a checkout holds: it was paid at a till. Nothing to
/// do for a checkout without discounts.
pub fn commit_checkout_in(
    tx: &dyn Sql,
    checkout: &str,
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    tx.execute(
        "UPDATE redemptions SET state = 'committed', committed_at = COALESCE(committed_at, ?2)
         WHERE idempotency_key = ?1 AND state = 'reserved'",
        &[checkout_key(checkout).into(), timestamp(now).into()],
    )?;
    Ok(())
}

/// Moves the uses a checkout holds to the order placed from it, committed
/// (the order is paid): from then on the order's cancellation gives them
/// back and a return refunds against them.
pub fn transfer_checkout_in(
    tx: &dyn Sql,
    checkout: &str,
    order: &OrderId,
    fulfilment: Option<Fulfilment>,
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    tx.execute(
        "UPDATE redemptions SET order_id = ?2, state = 'committed', committed_at = COALESCE(committed_at, ?3)
         WHERE idempotency_key = ?1 AND state <> 'released'",
        &[checkout_key(checkout).into(), order.as_str().into(), timestamp(now).into()],
    )?;
    tx.execute(
        "UPDATE customer_orders SET order_id = ?2, fulfilment = ?3 WHERE order_id = ?1",
        &[
            checkout.into(),
            order.as_str().into(),
            fulfilment.map(|f| f.as_str().to_owned()).into(),
        ],
    )?;
    Ok(())
}

/// Gives back the uses held by checkouts that ended unpaid (expired, or
/// superseded by a newer checkout of the same cart), at most `limit` of
/// them; returns how many holds were released.
pub fn release_checkouts_in(
    tx: &dyn Sql,
    checkouts: &[String],
    now: DateTime<Utc>,
) -> Result<u32, PromotionError> {
    let mut released = 0;
    for checkout in checkouts {
        let rows = tx.execute(
            "SELECT id FROM redemptions WHERE idempotency_key = ?1 AND state = 'reserved'",
            &[checkout_key(checkout).into()],
        )?;
        for row in rows.iter() {
            release_in(tx, row.text("id")?, now)?;
            released += 1;
        }
    }
    Ok(released)
}

pub fn load_reservation(
    sql: &dyn Sql,
    reservation_id: &str,
) -> Result<Option<Reservation>, PromotionError> {
    let rows = sql.execute(
        &format!("{SELECT_RESERVATION} WHERE id = ?1"),
        &[reservation_id.into()],
    )?;
    rows.first().map(|r| reservation_from(sql, r)).transpose()
}

/// The live (not released) reservation of an order, if any: what returns
/// refund against.
pub fn reservation_for_order(
    sql: &dyn Sql,
    order: &OrderId,
) -> Result<Option<Reservation>, PromotionError> {
    let rows = sql.execute(
        &format!("{SELECT_RESERVATION} WHERE order_id = ?1 AND state <> 'released'"),
        &[order.as_str().into()],
    )?;
    rows.first().map(|r| reservation_from(sql, r)).transpose()
}

const SELECT_RESERVATION: &str =
    "SELECT id, order_id, state, channel, customer_id, store_id, evaluation,
    created_at, committed_at, released_at, request_hash FROM redemptions";

/// Why one attempt of the reservation transaction stopped.
enum Attempt {
    /// A guard failed: the state moved since the evaluation; evaluate again.
    Retry,
    Fail(PromotionError),
}

impl From<StorageError> for Attempt {
    fn from(err: StorageError) -> Attempt {
        Attempt::Fail(PromotionError::Storage(err))
    }
}

impl From<PromotionError> for Attempt {
    fn from(err: PromotionError) -> Attempt {
        Attempt::Fail(err)
    }
}

/// Takes each use under its guard; any failure is a retry.
fn count_uses(
    sql: &dyn Sql,
    request: &Holder<'_>,
    promotions: &[super::engine::ActivePromotion],
    evaluation: &Evaluation,
) -> Result<(), Attempt> {
    for applied in &evaluation.applied {
        let taken = sql.execute(
            "UPDATE promotions SET used = used + 1
             WHERE id = ?1 AND version = ?2 AND status = 'active'
               AND (global_limit IS NULL OR used < global_limit) RETURNING used",
            &[applied.promotion_id.as_str().into(), applied.version.into()],
        )?;
        if taken.is_empty() {
            return Err(Attempt::Retry);
        }
        if let Some(code) = &applied.code {
            let taken = sql.execute(
                "UPDATE coupon_codes SET used = used + 1 WHERE code = ?1 AND (max_uses IS NULL OR used < max_uses) RETURNING used",
                &[code.as_str().into()],
            )?;
            if taken.is_empty() {
                return Err(Attempt::Retry);
            }
        }
        let promotion = promotions
            .iter()
            .find(|p| p.promotion.id() == &applied.promotion_id)
            .expect("an applied promotion was loaded");
        let conditions = promotion.promotion.conditions();
        if let (Some(limit), Some(customer)) = (conditions.per_customer_limit, request.customer) {
            let uses = sql.execute(
                "SELECT count(*) AS n FROM redemption_uses WHERE customer_id = ?1 AND promotion_id = ?2 AND released = 0",
                &[customer.as_str().into(), applied.promotion_id.as_str().into()],
            )?;
            let n = uses
                .first()
                .map(|r| r.integer("n"))
                .transpose()?
                .unwrap_or(0);
            if n >= i64::from(limit) {
                return Err(Attempt::Retry);
            }
        }
        if let (Some(first), Some(customer)) = (&conditions.first_order, request.customer) {
            // The evaluation read the orders before the lock; a first order
            // placed since by the same customer must not pass twice.
            let channels: Vec<String> = first
                .channels
                .iter()
                .map(|c| format!("'{}'", c.as_str()))
                .collect();
            let placed = sql.execute(
                &format!(
                    "SELECT count(*) AS n FROM customer_orders WHERE customer_id = ?1 AND order_id <> ?2
                     AND cancelled_at IS NULL AND channel IN ({})",
                    channels.join(", ")
                ),
                &[customer.as_str().into(), request.order.as_str().into()],
            )?;
            if placed
                .first()
                .map(|r| r.integer("n"))
                .transpose()?
                .unwrap_or(0)
                > 0
            {
                return Err(Attempt::Retry);
            }
        }
    }
    Ok(())
}

fn insert(
    sql: &dyn Sql,
    request: &Holder<'_>,
    fingerprint: &str,
    evaluation: Evaluation,
    now: DateTime<Utc>,
) -> Result<Reservation, Attempt> {
    let id = format!(
        "RSV-{}",
        &hex(&Sha256::digest(request.key.as_bytes()))[..20]
    );
    let stored =
        serde_json::to_string(&evaluation).map_err(|e| StorageError::Decode(e.to_string()))?;
    sql.execute(
        "INSERT INTO redemptions (id, idempotency_key, request_hash, order_id, customer_id, store_id, channel, state,
             currency, total_discount_minor, evaluation, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'reserved', ?8, ?9, ?10, ?11)",
        &[
            id.as_str().into(),
            request.key.into(),
            fingerprint.into(),
            request.order.as_str().into(),
            request.customer.as_ref().map(|c| c.to_string()).into(),
            request.store.as_ref().map(|s| s.to_string()).into(),
            request.channel.as_str().into(),
            evaluation.currency.code().into(),
            evaluation.total_discount.to_minor_units().into(),
            stored.into(),
            timestamp(now).into(),
        ],
    )?;
    let mut uses = Vec::new();
    for applied in &evaluation.applied {
        sql.execute(
            "INSERT INTO redemption_uses (redemption_id, promotion_id, promotion_version, code, customer_id, released)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)",
            &[
                id.as_str().into(),
                applied.promotion_id.as_str().into(),
                applied.version.into(),
                applied.code.as_ref().map(|c| c.to_string()).into(),
                request.customer.as_ref().map(|c| c.to_string()).into(),
            ],
        )?;
        uses.push(Use {
            promotion_id: applied.promotion_id.clone(),
            promotion_version: applied.version,
            code: applied.code.clone(),
        });
    }
    Ok(Reservation {
        reservation_id: id,
        order_id: request.order.clone(),
        state: RedemptionState::Reserved,
        channel: request.channel,
        customer_id: request.customer.cloned(),
        store_id: request.store.cloned(),
        uses,
        evaluation,
        created_at: timestamp(now),
        committed_at: None,
        released_at: None,
    })
}

/// The reservation under `key`: `Some` if it was made with the same
/// request, [`PromotionError::KeyReused`] if with another.
fn by_key(
    sql: &dyn Sql,
    key: &str,
    fingerprint: &str,
) -> Result<Option<Reservation>, PromotionError> {
    let rows = sql.execute(
        &format!("{SELECT_RESERVATION} WHERE idempotency_key = ?1"),
        &[key.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    if row.text("request_hash")? != fingerprint {
        return Err(PromotionError::KeyReused);
    }
    reservation_from(sql, row).map(Some)
}

fn reservation_from(sql: &dyn Sql, row: Row<'_>) -> Result<Reservation, PromotionError> {
    let id = row.text("id")?.to_owned();
    let decode = |what: &str, e: &dyn std::fmt::Display| {
        StorageError::Decode(format!("redemptions.{what}: {e}"))
    };
    let evaluation: Evaluation =
        serde_json::from_str(row.text("evaluation")?).map_err(|e| decode("evaluation", &e))?;
    // Uses were recorded in the order the evaluation applied them; that
    // order is read back from the evaluation, not from the rows' physical
    // order (which PostgreSQL does not keep).
    let mut uses = sql
        .execute(
            "SELECT promotion_id, promotion_version, code FROM redemption_uses WHERE redemption_id = ?1",
            &[id.as_str().into()],
        )?
        .iter()
        .map(|r| {
            Ok(Use {
                promotion_id: PromotionId::parse(r.text("promotion_id")?).map_err(|e| decode("promotion_id", &e))?,
                promotion_version: r.integer("promotion_version")?,
                code: r.opt_text("code")?.map(CouponCode::parse).transpose().map_err(|e| decode("code", &e))?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    uses.sort_by_key(|u: &Use| {
        evaluation
            .applied
            .iter()
            .position(|a| a.promotion_id == u.promotion_id)
            .unwrap_or(usize::MAX)
    });
    Ok(Reservation {
        reservation_id: id,
        order_id: OrderId::parse(row.text("order_id")?).map_err(|e| decode("order_id", &e))?,
        state: RedemptionState::parse(row.text("state")?)?,
        channel: Channel::parse(row.text("channel")?).map_err(|e| decode("channel", &e))?,
        customer_id: row
            .opt_text("customer_id")?
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| decode("customer_id", &e))?,
        store_id: row
            .opt_text("store_id")?
            .map(StoreId::parse)
            .transpose()
            .map_err(|e| decode("store_id", &e))?,
        uses,
        evaluation,
        created_at: row.text("created_at")?.to_owned(),
        committed_at: row.opt_text("committed_at")?.map(str::to_owned),
        released_at: row.opt_text("released_at")?.map(str::to_owned),
    })
}

/// A digest of everything the request asks for except its key, so a retry
/// is recognised and a different request under the same key is not.
fn fingerprint(request: &ReserveRequest) -> String {
    let mut hasher = Sha256::new();
    let mut field = |value: &str| {
        hasher.update((value.len() as u64).to_be_bytes());
        hasher.update(value.as_bytes());
    };
    field(request.order.as_str());
    field(request.channel.as_str());
    field(request.fulfilment.map_or("", Fulfilment::as_str));
    field(request.customer.as_ref().map_or("", CustomerId::as_str));
    field(request.store.as_ref().map_or("", StoreId::as_str));
    field(
        &request
            .expected_discount
            .map_or(String::new(), |m| m.to_string()),
    );
    field(request.cart.currency().code());
    for line in request.cart.lines() {
        field(line.sku.as_str());
        field(&line.category.to_string());
        field(&line.quantity.to_string());
        field(&line.unit_price.to_string());
        field(if line.already_discounted { "1" } else { "0" });
    }
    for code in &request.codes {
        field(code.as_str());
    }
    hex(&hasher.finalize())
}

//! Click & collect reservations: a basket locked at one store, all lines or
//! none, held for a TTL until an order confirms it, then kept until pickup,
//! cancellation or the order's expiry.
//!
//! ```text
//!            confirm (order placed)           fulfil (handed over)
//!   held ───────────────────────────▶ confirmed ─────────────────▶ fulfilled
//!    │  \                                 │
//!    │   \ release                        │ release (cancelled, uncollected)
//!    │    ▼                               ▼
//!    │  released ◀────────────────────────┘
//!    │ TTL passes (read as expired at once; sweep makes it so)
//!    ▼
//!  expired
//! ```
//!
//! Why can ATP never go below zero, whatever the concurrency? Every unit is
//! locked by one conditional UPDATE whose WHERE is the ATP inequality
//! (`on_hand - reserved - display_min >= wanted`), so SQLite's single writer
//! decides each line against the committed numbers, and a basket's lines
//! run in one transaction under a savepoint that rolls all of them back if
//! any line fails. No code path reads ATP and then writes a decision.

use super::basket::{Basket, assortments};
use super::level::effective_reserved;
use super::location::load_store;
use super::picking::{self, parse_date};
use super::settings::StockSettings;
use super::shelf::level_at;
use super::{StockError, StockLevel, parse_timestamp, timestamp};
use crate::catalog::{Service, Store, StoreKind};
use crate::channel::Channel;
use crate::ids::{CustomerId, OrderId, Sku, StoreId};
use crate::quantity::{Quantity, StockQuantity};
use crate::storage::{Rows, Sql, StorageError, in_transaction};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

/// Expired holds tidied by each reservation on the way (the ops sweep does
/// the rest); small, so a reservation never pays for a backlog.
const SWEEP_ON_RESERVE: u32 = 16;

/// A reservation id: `RSV-` and 16 hexadecimal digits from SQLite's
/// `randomblob`, so ids are unguessable (they appear in URLs) without a
/// random-number dependency in the component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReservationId(String);

impl ReservationId {
    const PREFIX: &'static str = "RSV-";
    const HEX_DIGITS: usize = 16;

    /// A malformed id names no reservation, so it is
    /// [`StockError::NoSuchReservation`] (a 404), like an unknown one.
    pub fn parse(raw: &str) -> Result<ReservationId, StockError> {
        let upper = raw.trim().to_ascii_uppercase();
        let digits = upper
            .strip_prefix(Self::PREFIX)
            .ok_or(StockError::NoSuchReservation)?;
        if digits.len() != Self::HEX_DIGITS || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StockError::NoSuchReservation);
        }
        Ok(ReservationId(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ReservationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// How long an unconfirmed hold locks stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldTtl(u32);

impl HoldTtl {
    /// Long enough to pay online, short enough that an abandoned checkout
    /// gives the units back before the next shopper gives up.
    pub const DEFAULT: HoldTtl = HoldTtl(30);
    /// A day at most: a longer lock is an order, and should be confirmed.
    pub const MAX_MINUTES: u32 = 24 * 60;

    /// `None` outside 1 ..= [`HoldTtl::MAX_MINUTES`].
    pub fn minutes(n: u32) -> Option<HoldTtl> {
        (1..=Self::MAX_MINUTES).contains(&n).then_some(HoldTtl(n))
    }

    pub fn duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

impl Default for HoldTtl {
    fn default() -> Self {
        HoldTtl::DEFAULT
    }
}

/// Where a reservation is in its life (see the module diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationState {
    Held,
    Confirmed,
    Released,
    Expired,
    Fulfilled,
}

impl ReservationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationState::Held => "held",
            ReservationState::Confirmed => "confirmed",
            ReservationState::Released => "released",
            ReservationState::Expired => "expired",
            ReservationState::Fulfilled => "fulfilled",
        }
    }

    fn parse(raw: &str) -> Result<ReservationState, StorageError> {
        [
            Self::Held,
            Self::Confirmed,
            Self::Released,
            Self::Expired,
            Self::Fulfilled,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
        .ok_or_else(|| StorageError::Decode(format!("reservation state {raw:?}")))
    }

    /// Whether the reservation still locks its units.
    pub fn locks_stock(self) -> bool {
        matches!(self, ReservationState::Held | ReservationState::Confirmed)
    }
}

impl Serialize for ReservationState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What to reserve, for whom, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRequest {
    pub store: StoreId,
    pub customer: CustomerId,
    pub basket: Basket,
    pub hold: HoldTtl,
    /// The caller's principal (`customer:C-1`, `store:WAW-01:till-3`,
    /// `returns:RMA-7`), kept for the audit trail.
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// A line that could not be reserved: how many were wanted and how many are
/// available to promise right now (the 409's `available` member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    pub sku: Sku,
    pub requested: Quantity,
    pub available: StockQuantity,
}

/// A reservation as stored. A read model: its fields are public because
/// nothing changes through them; every change goes through the functions
/// of this module.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub id: ReservationId,
    pub store: StoreId,
    pub customer: CustomerId,
    /// The stored state; a held reservation past its TTL reads as expired
    /// through [`Reservation::state_at`].
    pub state: ReservationState,
    pub lines: Vec<ReservedLine>,
    /// The hold's end while held (kept afterwards for the record).
    pub expires_at: Option<DateTime<Utc>>,
    pub order: Option<OrderId>,
    /// The store-local date whose picking capacity the order uses: an
    /// estimate while held, the promise once confirmed.
    pub picking_date: Option<NaiveDate>,
    pub ready_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    /// The state at `now`: a hold whose TTL has passed is expired at once,
    /// whether or not a sweep has recorded it.
    pub fn state_at(&self, now: DateTime<Utc>) -> ReservationState {
        match (self.state, self.expires_at) {
            (ReservationState::Held, Some(until)) if until <= now => ReservationState::Expired,
            (state, _) => state,
        }
    }
}

/// Reserves `request.basket` at `request.store` in its own transaction.
///
/// On its own (no transaction open on `sql`) it holds the write lock for
/// one statement: the store, the assortment, the lapsed holds due and the
/// ready-by estimate are read first, and the guarded stock updates and the
/// reservation's rows are one insert (see
/// [`crate::stock::RESERVATION_REQUESTS`]). Why? Under Spin every statement
/// is a host call, and each one made while holding the lock keeps every
/// other writer waiting. The guarded updates decide on their own, so
/// nothing read before can oversell; the estimate read before is the one a
/// request a moment earlier would have got.
pub fn reserve(
    sql: &dyn Sql,
    request: &ReservationRequest,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    if sql.open_units().get() > 0 {
        return in_transaction(sql, |tx| reserve_in(tx, request, now));
    }
    let store = collectable_store(sql, request)?;
    let due = sql.execute(
        "SELECT 1 FROM reservations WHERE state = 'held' AND expires_at <= ?1 LIMIT 1",
        &[timestamp(now).into()],
    )?;
    if !due.is_empty() {
        in_transaction(sql, |tx| sweep_expired_in(tx, now, SWEEP_ON_RESERVE))?;
    }
    let estimate = picking::ready_by(sql, &store, now)?;
    hold_in_one_statement(
        sql,
        request,
        estimate.map(|e| (e.picking_date, e.ready_by)),
        now,
    )
}

/// How often a short basket whose lines all read as covered afterwards (the
/// stock came back meanwhile) is tried again.
const SHORT_RETRIES: u32 = 5;

fn hold_in_one_statement(
    sql: &dyn Sql,
    request: &ReservationRequest,
    estimate: Option<(NaiveDate, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let lines: Vec<serde_json::Value> = request
        .basket
        .lines()
        .iter()
        .map(|l| serde_json::json!({"sku": l.sku().as_str(), "quantity": l.quantity().get()}))
        .collect();
    let expires_at = now + request.hold.duration();
    for _ in 0..=SHORT_RETRIES {
        let inserted = sql.execute(
            "INSERT INTO reservation_requests (id, store, customer, expires_at, picking_date, ready_by, created_by, at, lines)
             VALUES ('RSV-' || hex(randomblob(8)), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             RETURNING id",
            &[
                request.store.as_str().into(),
                request.customer.as_str().into(),
                timestamp(expires_at).into(),
                estimate.map(|(date, _)| date.to_string()).into(),
                estimate.map(|(_, ready)| timestamp(ready)).into(),
                request.requested_by.as_str().into(),
                timestamp(now).into(),
                serde_json::Value::Array(lines.clone()).to_string().into(),
            ],
        );
        match inserted {
            Ok(rows) => {
                let id = ReservationId::parse(first_text(&rows, "id")?)
                    .map_err(|_| StorageError::Decode("generated reservation id".into()))?;
                return Ok(held(request, id, expires_at, estimate, now));
            }
            Err(StorageError::Constraint(message) | StorageError::Other(message))
                if message.contains(super::RESERVATION_SHORT) =>
            {
                let short = shortfalls(sql, request, now)?;
                if !short.is_empty() {
                    return Err(StockError::Insufficient(short));
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(StorageError::Busy.into())
}

/// The basket's lines that available-to-promise does not cover now.
fn shortfalls(
    sql: &dyn Sql,
    request: &ReservationRequest,
    now: DateTime<Utc>,
) -> Result<Vec<Shortfall>, StockError> {
    let mut short = Vec::new();
    for line in request.basket.lines() {
        let available = level_at(sql, &request.store, line.sku(), now)?.available_to_promise();
        if !available.covers(line.quantity()) {
            short.push(Shortfall {
                sku: line.sku().clone(),
                requested: line.quantity(),
                available,
            });
        }
    }
    Ok(short)
}

/// The reservation's store, when it is a store offering click & collect
/// and every line may be handed over on its shop floor.
fn collectable_store(sql: &dyn Sql, request: &ReservationRequest) -> Result<Store, StockError> {
    let store = load_store(sql, &request.store)?;
    if store.kind() != StoreKind::Store || !store.offers(Service::ClickAndCollect) {
        return Err(StockError::NotCollectable(request.store.clone()));
    }
    for (sku, assortment) in assortments(sql, &request.basket)? {
        // Handed over on a shop floor: the assortment rule of a till.
        if let Err(refusal) = assortment.sold_in(Channel::Pos) {
            return Err(StockError::NotSoldHere { sku, refusal });
        }
    }
    Ok(store)
}

/// [`reserve`] inside the caller's `BEGIN IMMEDIATE` transaction (returns
/// reserving an exchange together with its case update). All lines or
/// none: a savepoint undoes every line's lock if any line fails, even if the
/// caller then commits its own work.
///
/// Refuses an unknown store or SKU, a location without click & collect, an
/// online-only item (not handed over in stores), and any line above its ATP
/// ([`StockError::Insufficient`] lists every short line).
pub fn reserve_in(
    tx: &dyn Sql,
    request: &ReservationRequest,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let store = collectable_store(tx, request)?;
    hold_at(tx, &store, request, now)
}

/// [`reserve_in`] for goods that leave by courier (ship from store, the
/// endless aisle from a warehouse): the same guarded lock on
/// available-to-promise, so a shipment can no more oversell a shelf than a
/// pickup can. The caller has checked that the location offers the service;
/// here the lines must be items that ship to a home (store-only items do
/// not). Placing an order confirms the hold at once, in the same
/// transaction.
pub fn reserve_for_shipment_in(
    tx: &dyn Sql,
    request: &ReservationRequest,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let store = load_store(tx, &request.store)?;
    for (sku, assortment) in assortments(tx, &request.basket)? {
        if !assortment.ships_to_home()
            && let Err(refusal) = assortment.sold_in(Channel::Web)
        {
            return Err(StockError::NotSoldHere { sku, refusal });
        }
    }
    hold_at(tx, &store, request, now)
}

/// Locks every line at `store` or none: a savepoint undoes every line's
/// lock if any line fails, even if the caller then commits its own work.
fn hold_at(
    tx: &dyn Sql,
    store: &Store,
    request: &ReservationRequest,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    sweep_expired_in(tx, now, SWEEP_ON_RESERVE)?;
    let estimate = picking::ready_by(tx, store, now)?;
    tx.execute("SAVEPOINT stock_reserve", &[])?;
    let outcome = lock_and_record(
        tx,
        request,
        estimate.map(|e| (e.picking_date, e.ready_by)),
        now,
    );
    if outcome.is_err() {
        let _ = tx.execute("ROLLBACK TO stock_reserve", &[]);
    }
    tx.execute("RELEASE stock_reserve", &[])?;
    outcome
}

fn lock_and_record(
    tx: &dyn Sql,
    request: &ReservationRequest,
    estimate: Option<(NaiveDate, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let at = timestamp(now);
    let guard = format!(
        "UPDATE stock AS s SET reserved = s.reserved + ?3, updated_at = ?4
         WHERE s.store = ?1 AND s.sku = ?2 AND s.on_hand - {reserved} - s.display_min >= ?3
         RETURNING sku",
        reserved = effective_reserved("?4")
    );
    let mut short = Vec::new();
    for line in request.basket.lines() {
        let locked = tx.execute(
            &guard,
            &[
                request.store.as_str().into(),
                line.sku().as_str().into(),
                line.quantity().get().into(),
                at.as_str().into(),
            ],
        )?;
        if locked.is_empty() {
            let level = level_at(tx, &request.store, line.sku(), now)?;
            short.push(Shortfall {
                sku: line.sku().clone(),
                requested: line.quantity(),
                available: level.available_to_promise(),
            });
        }
    }
    if !short.is_empty() {
        return Err(StockError::Insufficient(short));
    }
    let expires_at = now + request.hold.duration();
    let rows = tx.execute(
        "INSERT INTO reservations (id, store, customer, state, expires_at, picking_date, ready_by,
             created_by, created_at, updated_at)
         VALUES ('RSV-' || hex(randomblob(8)), ?1, ?2, 'held', ?3, ?4, ?5, ?6, ?7, ?7)
         RETURNING id",
        &[
            request.store.as_str().into(),
            request.customer.as_str().into(),
            timestamp(expires_at).into(),
            estimate.map(|(date, _)| date.to_string()).into(),
            estimate.map(|(_, ready)| timestamp(ready)).into(),
            request.requested_by.as_str().into(),
            at.as_str().into(),
        ],
    )?;
    let id = ReservationId::parse(first_text(&rows, "id")?)
        .map_err(|_| StorageError::Decode("generated reservation id".into()))?;
    for (index, line) in request.basket.lines().iter().enumerate() {
        tx.execute(
            "INSERT INTO reservation_lines (reservation_id, line, store, sku, quantity, held_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                id.as_str().into(),
                (index as i64).into(),
                request.store.as_str().into(),
                line.sku().as_str().into(),
                line.quantity().get().into(),
                timestamp(expires_at).into(),
            ],
        )?;
    }
    Ok(held(request, id, expires_at, estimate, now))
}

/// The reservation just held for `request`.
fn held(
    request: &ReservationRequest,
    id: ReservationId,
    expires_at: DateTime<Utc>,
    estimate: Option<(NaiveDate, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Reservation {
    Reservation {
        id,
        store: request.store.clone(),
        customer: request.customer.clone(),
        state: ReservationState::Held,
        lines: request
            .basket
            .lines()
            .iter()
            .map(|l| ReservedLine {
                sku: l.sku().clone(),
                quantity: l.quantity(),
            })
            .collect(),
        expires_at: Some(expires_at),
        order: None,
        picking_date: estimate.map(|(date, _)| date),
        ready_by: estimate.map(|(_, ready)| ready),
        created_at: now,
        updated_at: now,
    }
}

/// Confirms a held reservation for `order` in its own transaction.
pub fn confirm(
    sql: &dyn Sql,
    id: &ReservationId,
    order: &OrderId,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    in_transaction(sql, |tx| confirm_in(tx, id, order, now))
}

/// [`confirm`] inside the caller's transaction (an order row and its
/// reservation committed together).
///
/// The hold stops expiring, the store's ready-by promise is computed and
/// fixed now, and the order counts against that picking date's limit.
/// Confirming again for the same order returns the reservation unchanged;
/// for another order, or after the TTL, it is refused.
pub fn confirm_in(
    tx: &dyn Sql,
    id: &ReservationId,
    order: &OrderId,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let reservation = load_reservation(tx, id)?.ok_or(StockError::NoSuchReservation)?;
    match reservation.state_at(now) {
        ReservationState::Confirmed if reservation.order.as_ref() == Some(order) => {
            return Ok(reservation);
        }
        ReservationState::Held => {}
        ReservationState::Expired if reservation.state == ReservationState::Held => {
            return Err(StockError::HoldExpired);
        }
        current => {
            return Err(StockError::WrongState {
                current,
                action: "confirmed",
            });
        }
    }
    let store = load_store(tx, &reservation.store)?;
    let promise = picking::ready_by(tx, &store, now)?
        .ok_or_else(|| StockError::NoPickupSlot(store.id().clone()))?;
    picking::count(tx, store.id(), promise.picking_date, 1)?;
    let at = timestamp(now);
    let changed = tx.execute(
        "UPDATE reservations SET state = 'confirmed', order_id = ?2, expires_at = NULL, picking_date = ?3,
             ready_by = ?4, updated_at = ?5
         WHERE id = ?1 AND state = 'held' RETURNING id",
        &[
            id.as_str().into(),
            order.as_str().into(),
            promise.picking_date.to_string().into(),
            timestamp(promise.ready_by).into(),
            at.as_str().into(),
        ],
    )?;
    if changed.is_empty() {
        return Err(StockError::WrongState {
            current: reservation.state,
            action: "confirmed",
        });
    }
    tx.execute(
        "UPDATE reservation_lines SET held_until = NULL WHERE reservation_id = ?1",
        &[id.as_str().into()],
    )?;
    Ok(Reservation {
        state: ReservationState::Confirmed,
        expires_at: None,
        order: Some(order.clone()),
        picking_date: Some(promise.picking_date),
        ready_by: Some(promise.ready_by),
        updated_at: now,
        ..reservation
    })
}

/// Releases a reservation in its own transaction.
pub fn release(
    sql: &dyn Sql,
    id: &ReservationId,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    in_transaction(sql, |tx| release_in(tx, id, now))
}

/// [`release`] inside the caller's transaction.
///
/// The units return to sale at once. Releasing a confirmed reservation also
/// frees its slot in the store's daily picking limit. Releasing one already
/// released or expired changes nothing and returns it (so a retried cancel
/// succeeds); a fulfilled one cannot be released (the goods are gone:
/// that is a return).
pub fn release_in(
    tx: &dyn Sql,
    id: &ReservationId,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let reservation = load_reservation(tx, id)?.ok_or(StockError::NoSuchReservation)?;
    match reservation.state_at(now) {
        ReservationState::Held => end(tx, reservation, ReservationState::Released, now),
        ReservationState::Expired if reservation.state == ReservationState::Held => {
            end(tx, reservation, ReservationState::Expired, now)
        }
        ReservationState::Confirmed => {
            if let Some(date) = reservation.picking_date {
                picking::count(tx, &reservation.store, date, -1)?;
            }
            end(tx, reservation, ReservationState::Released, now)
        }
        ReservationState::Released | ReservationState::Expired => Ok(reservation),
        current @ ReservationState::Fulfilled => Err(StockError::WrongState {
            current,
            action: "released",
        }),
    }
}

/// Hands a reservation over in its own transaction.
pub fn fulfil(
    sql: &dyn Sql,
    id: &ReservationId,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    in_transaction(sql, |tx| fulfil_in(tx, id, now))
}

/// [`fulfil`] inside the caller's transaction.
///
/// The goods leave the store: `on_hand` and `reserved` fall together by
/// each line, so ATP does not move. A live hold may be fulfilled directly
/// (reserved, then paid and taken at the till within the TTL). Fulfilling
/// twice returns the reservation unchanged.
pub fn fulfil_in(
    tx: &dyn Sql,
    id: &ReservationId,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let reservation = load_reservation(tx, id)?.ok_or(StockError::NoSuchReservation)?;
    match reservation.state_at(now) {
        ReservationState::Held | ReservationState::Confirmed => {
            end(tx, reservation, ReservationState::Fulfilled, now)
        }
        ReservationState::Fulfilled => Ok(reservation),
        ReservationState::Expired if reservation.state == ReservationState::Held => {
            Err(StockError::HoldExpired)
        }
        current => Err(StockError::WrongState {
            current,
            action: "fulfilled",
        }),
    }
}

/// Ends holds whose TTL has passed, oldest first, at most `limit` of them,
/// in its own transaction; returns how many it ended.
pub fn sweep_expired(sql: &dyn Sql, now: DateTime<Utc>, limit: u32) -> Result<u32, StockError> {
    in_transaction(sql, |tx| sweep_expired_in(tx, now, limit))
}

/// [`sweep_expired`] inside the caller's transaction. ATP does not change:
/// reads already ignore expired holds; this makes the record say so.
pub fn sweep_expired_in(tx: &dyn Sql, now: DateTime<Utc>, limit: u32) -> Result<u32, StockError> {
    let due = tx.execute(
        "SELECT id FROM reservations WHERE state = 'held' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
        &[timestamp(now).into(), limit.into()],
    )?;
    let mut ended = 0;
    for row in due.iter() {
        let id = ReservationId::parse(row.text("id")?)
            .map_err(|_| StorageError::Decode("stored reservation id".into()))?;
        if let Some(reservation) = load_reservation(tx, &id)? {
            end(tx, reservation, ReservationState::Expired, now)?;
            ended += 1;
        }
    }
    Ok(ended)
}

/// Adds sellable units received back (a return) to a location's shelf, in
/// one statement: the shelf is created with the location's display
/// default if the feeds never mentioned it.
pub fn restock(
    sql: &dyn Sql,
    store: &StoreId,
    sku: &Sku,
    quantity: Quantity,
    now: DateTime<Utc>,
) -> Result<StockLevel, StockError> {
    restock_in(sql, store, sku, quantity, now)
}

/// [`restock`], named for symmetry: it is one statement, so it is atomic
/// inside or outside the caller's transaction.
pub fn restock_in(
    sql: &dyn Sql,
    store: &StoreId,
    sku: &Sku,
    quantity: Quantity,
    now: DateTime<Utc>,
) -> Result<StockLevel, StockError> {
    let store_default = StockSettings::defaults_for(StoreKind::Store)
        .display_min()
        .get();
    let warehouse_default = StockSettings::defaults_for(StoreKind::Warehouse)
        .display_min()
        .get();
    let rows = sql.execute(
        "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at)
         SELECT st.id, ?2, ?3, 0,
                COALESCE((SELECT display_min FROM stock_settings WHERE store = st.id),
                         CASE st.kind WHEN 'warehouse' THEN ?6 ELSE ?5 END),
                ?4
         FROM stores st WHERE st.id = ?1 AND EXISTS (SELECT 1 FROM catalog_items WHERE sku = ?2)
         ON CONFLICT (store, sku) DO UPDATE SET on_hand = MIN(stock.on_hand + excluded.on_hand, ?7),
             updated_at = excluded.updated_at
         RETURNING on_hand",
        &[
            store.as_str().into(),
            sku.as_str().into(),
            quantity.get().into(),
            timestamp(now).into(),
            store_default.into(),
            warehouse_default.into(),
            StockQuantity::MAX.into(),
        ],
    )?;
    if rows.is_empty() {
        load_store(sql, store)?;
        return Err(StockError::UnknownSkus(vec![sku.clone()]));
    }
    Ok(level_at(sql, store, sku, now)?)
}

/// The reservation with this id, lines included.
pub fn load_reservation(
    sql: &dyn Sql,
    id: &ReservationId,
) -> Result<Option<Reservation>, StorageError> {
    let rows = sql.execute(
        "SELECT id, store, customer, state, expires_at, order_id, picking_date, ready_by, created_at, updated_at
         FROM reservations WHERE id = ?1",
        &[id.as_str().into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let decode = |what: &str, e: &dyn fmt::Display| StorageError::Decode(format!("{what}: {e}"));
    let lines = sql
        .execute(
            "SELECT sku, quantity FROM reservation_lines WHERE reservation_id = ?1 ORDER BY line",
            &[id.as_str().into()],
        )?
        .iter()
        .map(|line| {
            Ok(ReservedLine {
                sku: Sku::parse(line.text("sku")?).map_err(|e| decode("sku", &e))?,
                quantity: Quantity::parse_with_max(line.integer("quantity")?, u32::MAX)
                    .map_err(|e| decode("quantity", &e))?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    let optional_time = |column: &str| row.opt_text(column)?.map(parse_timestamp).transpose();
    Ok(Some(Reservation {
        id: id.clone(),
        store: StoreId::parse(row.text("store")?).map_err(|e| decode("store", &e))?,
        customer: CustomerId::parse(row.text("customer")?).map_err(|e| decode("customer", &e))?,
        state: ReservationState::parse(row.text("state")?)?,
        lines,
        expires_at: optional_time("expires_at")?,
        order: row
            .opt_text("order_id")?
            .map(OrderId::parse)
            .transpose()
            .map_err(|e| decode("order", &e))?,
        picking_date: row.opt_text("picking_date")?.map(parse_date).transpose()?,
        ready_by: optional_time("ready_by")?,
        created_at: parse_timestamp(row.text("created_at")?)?,
        updated_at: parse_timestamp(row.text("updated_at")?)?,
    }))
}

/// Moves a locking reservation to `to` and gives its units back: `reserved`
/// falls by each line (and `on_hand` too when the goods were handed over).
/// The state change is conditional on the stored state, so two requests can
/// never both end one reservation and return its units twice.
fn end(
    tx: &dyn Sql,
    reservation: Reservation,
    to: ReservationState,
    now: DateTime<Utc>,
) -> Result<Reservation, StockError> {
    let at = timestamp(now);
    let id = reservation.id.as_str();
    let changed = tx.execute(
        "UPDATE reservations SET state = ?2, updated_at = ?3 WHERE id = ?1 AND state = ?4 RETURNING id",
        &[id.into(), to.as_str().into(), at.as_str().into(), reservation.state.as_str().into()],
    )?;
    if changed.is_empty() {
        let current =
            load_reservation(tx, &reservation.id)?.map_or(reservation.state, |r| r.state_at(now));
        return Err(StockError::WrongState {
            current,
            action: "ended",
        });
    }
    let on_hand = if to == ReservationState::Fulfilled {
        "MAX(s.on_hand - l.quantity, 0)"
    } else {
        "s.on_hand"
    };
    tx.execute(
        &format!(
            "UPDATE stock AS s SET reserved = MAX(s.reserved - l.quantity, 0), on_hand = {on_hand}, updated_at = ?2
             FROM reservation_lines AS l
             WHERE l.reservation_id = ?1 AND s.store = l.store AND s.sku = l.sku"
        ),
        &[id.into(), at.as_str().into()],
    )?;
    tx.execute(
        "UPDATE reservation_lines SET held_until = NULL WHERE reservation_id = ?1",
        &[id.into()],
    )?;
    Ok(Reservation {
        state: to,
        updated_at: now,
        ..reservation
    })
}

fn first_text<'r>(rows: &'r Rows, column: &str) -> Result<&'r str, StorageError> {
    rows.first()
        .ok_or_else(|| StorageError::Decode("INSERT ... RETURNING gave no row".into()))?
        .text(column)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::stock::basket::BasketLine;
    use crate::stock::test_support::db;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Monday 2026-11-23, 10:00 in Warsaw.
    fn monday() -> DateTime<Utc> {
        utc("2026-11-23T09:00:00Z")
    }

    fn put(sql: &dyn Sql, store: &str, sku: &str, on_hand: i64) {
        sql.execute(
            "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at) VALUES (?1, ?2, ?3, 0, 1, 'x')",
            &[store.into(), sku.into(), on_hand.into()],
        )
        .unwrap();
    }

    fn request(store: &str, lines: &[(&str, u32)]) -> ReservationRequest {
        let lines = lines
            .iter()
            .map(|(sku, q)| {
                BasketLine::new(
                    Sku::parse(sku).unwrap(),
                    Quantity::parse(i64::from(*q)).unwrap(),
                )
            })
            .collect();
        ReservationRequest {
            store: StoreId::parse(store).unwrap(),
            customer: CustomerId::parse("C-1").unwrap(),
            basket: Basket::from_lines(lines).unwrap(),
            hold: HoldTtl::DEFAULT,
            requested_by: "customer:C-1".into(),
        }
    }

    fn atp(sql: &dyn Sql, store: &str, sku: &str, now: DateTime<Utc>) -> u32 {
        level_at(
            sql,
            &StoreId::parse(store).unwrap(),
            &Sku::parse(sku).unwrap(),
            now,
        )
        .unwrap()
        .available_to_promise()
        .get()
    }

    fn counter(sql: &dyn Sql, store: &str, sku: &str) -> (i64, i64) {
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

    #[test]
    fn a_reservation_locks_every_line_and_lowers_atp() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 5);
        put(&sql, "S1", "B", 3);
        let r = reserve(&sql, &request("S1", &[("A", 2), ("B", 2)]), monday()).unwrap();
        assert_eq!(r.state, ReservationState::Held);
        assert_eq!(r.expires_at, Some(monday() + Duration::minutes(30)));
        assert_eq!(
            r.ready_by,
            Some(utc("2026-11-23T11:00:00Z")),
            "an estimate while held"
        );
        assert!(
            r.id.as_str().starts_with("RSV-") && r.id.as_str().len() == 20,
            "{}",
            r.id
        );
        assert_eq!(
            (
                atp(&sql, "S1", "A", monday()),
                atp(&sql, "S1", "B", monday())
            ),
            (2, 0)
        );
        assert_eq!(load_reservation(&sql, &r.id).unwrap().unwrap(), r);
    }

    #[test]
    fn a_basket_is_reserved_all_or_nothing_and_every_short_line_is_named() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 5);
        put(&sql, "S1", "B", 2);
        let err = reserve(
            &sql,
            &request("S1", &[("A", 2), ("B", 2), ("SHOP", 1)]),
            monday(),
        )
        .unwrap_err();
        let StockError::Insufficient(short) = err else {
            panic!("{err:?}")
        };
        let named: Vec<(&str, u32, u32)> = short
            .iter()
            .map(|s| (s.sku.as_str(), s.requested.get(), s.available.get()))
            .collect();
        assert_eq!(named, [("B", 2, 1), ("SHOP", 1, 0)]);
        assert_eq!(
            counter(&sql, "S1", "A"),
            (5, 0),
            "the line that fitted was rolled back"
        );
        let held = sql
            .execute("SELECT count(*) AS n FROM reservations", &[])
            .unwrap();
        assert_eq!(held.first().unwrap().integer("n").unwrap(), 0);
    }

    #[test]
    fn a_failed_reservation_inside_a_callers_transaction_leaves_no_lock_behind() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 5);
        put(&sql, "S1", "B", 1);
        let outcome: Result<(), StockError> = in_transaction(&sql, |tx| {
            assert!(reserve_in(tx, &request("S1", &[("A", 1), ("B", 1)]), monday()).is_err());
            Ok(())
        });
        outcome.unwrap();
        assert_eq!(counter(&sql, "S1", "A"), (5, 0));
    }

    #[test]
    fn unknown_stores_and_skus_and_non_collect_locations_are_refused() {
        let db = db();
        let sql = db.connect();
        put(&sql, "WH", "A", 50);
        assert!(matches!(
            reserve(&sql, &request("NOPE", &[("A", 1)]), monday()),
            Err(StockError::UnknownStore(_))
        ));
        let unknown = reserve(
            &sql,
            &request("S1", &[("A", 1), ("X1", 1), ("X2", 1)]),
            monday(),
        )
        .unwrap_err();
        assert_eq!(
            unknown,
            StockError::UnknownSkus(vec![Sku::parse("X1").unwrap(), Sku::parse("X2").unwrap()])
        );
        assert!(matches!(
            reserve(&sql, &request("WH", &[("A", 1)]), monday()),
            Err(StockError::NotCollectable(_))
        ));
        let online = reserve(&sql, &request("S1", &[("ONL", 1)]), monday()).unwrap_err();
        assert!(
            matches!(online, StockError::NotSoldHere { .. }),
            "{online:?}"
        );
    }

    #[test]
    fn an_expired_hold_stops_counting_at_once_and_the_sweep_returns_its_units() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 4);
        let r = reserve(&sql, &request("S1", &[("A", 3)]), monday()).unwrap();
        assert_eq!(atp(&sql, "S1", "A", monday()), 0);
        let later = monday() + Duration::minutes(30);
        assert_eq!(
            atp(&sql, "S1", "A", later),
            3,
            "expired at its TTL, before any sweep"
        );
        assert_eq!(
            load_reservation(&sql, &r.id)
                .unwrap()
                .unwrap()
                .state_at(later),
            ReservationState::Expired
        );
        assert_eq!(sweep_expired(&sql, later, 100).unwrap(), 1);
        assert_eq!(counter(&sql, "S1", "A"), (4, 0));
        assert_eq!(
            atp(&sql, "S1", "A", later),
            3,
            "the sweep does not move ATP"
        );
        assert_eq!(sweep_expired(&sql, later, 100).unwrap(), 0);
        assert_eq!(
            load_reservation(&sql, &r.id).unwrap().unwrap().state,
            ReservationState::Expired
        );
    }

    #[test]
    fn new_reservations_can_use_units_of_expired_holds_before_a_sweep() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 2);
        let first = reserve(&sql, &request("S1", &[("A", 1)]), monday()).unwrap();
        let later = monday() + Duration::minutes(31);
        let second = reserve(&sql, &request("S1", &[("A", 1)]), later).unwrap();
        assert_eq!(atp(&sql, "S1", "A", later), 0);
        // The reservation swept the expired hold on its way.
        assert_eq!(
            load_reservation(&sql, &first.id).unwrap().unwrap().state,
            ReservationState::Expired
        );
        assert_eq!(counter(&sql, "S1", "A"), (2, 1));
        let late = confirm(&sql, &first.id, &OrderId::parse("O-1").unwrap(), later).unwrap_err();
        assert!(
            matches!(
                late,
                StockError::WrongState {
                    current: ReservationState::Expired,
                    ..
                }
            ),
            "{late:?}"
        );
        assert!(confirm(&sql, &second.id, &OrderId::parse("O-2").unwrap(), later).is_ok());
    }

    #[test]
    fn a_confirmed_reservation_does_not_expire_and_counts_against_the_daily_limit() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 10);
        let order = OrderId::parse("O-1").unwrap();
        let r = reserve(&sql, &request("S1", &[("A", 2)]), monday()).unwrap();
        let confirmed = confirm(&sql, &r.id, &order, monday() + Duration::minutes(5)).unwrap();
        assert_eq!(confirmed.state, ReservationState::Confirmed);
        assert_eq!(confirmed.expires_at, None);
        assert_eq!(confirmed.ready_by, Some(utc("2026-11-23T11:05:00Z")));
        assert_eq!(
            confirm(&sql, &r.id, &order, monday() + Duration::minutes(6)).unwrap(),
            confirmed,
            "idempotent"
        );
        let other = confirm(&sql, &r.id, &OrderId::parse("O-2").unwrap(), monday()).unwrap_err();
        assert!(matches!(
            other,
            StockError::WrongState {
                current: ReservationState::Confirmed,
                ..
            }
        ));
        let days_later = monday() + Duration::days(3);
        assert_eq!(atp(&sql, "S1", "A", days_later), 7, "still locked");
        // S1's limit is 2 a day: a second confirmed order fills Monday.
        let r2 = reserve(&sql, &request("S1", &[("A", 1)]), monday()).unwrap();
        confirm(&sql, &r2.id, &OrderId::parse("O-3").unwrap(), monday()).unwrap();
        let r3 = reserve(&sql, &request("S1", &[("A", 1)]), monday()).unwrap();
        assert_eq!(
            r3.ready_by,
            Some(utc("2026-11-24T10:00:00Z")),
            "Monday is full"
        );
        let released = release(&sql, &r2.id, monday()).unwrap();
        assert_eq!(released.state, ReservationState::Released);
        let r4 = reserve(&sql, &request("S1", &[("A", 1)]), monday()).unwrap();
        assert_eq!(
            r4.ready_by,
            Some(utc("2026-11-23T11:00:00Z")),
            "the released order freed Monday"
        );
    }

    #[test]
    fn release_returns_stock_at_once_and_is_idempotent() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 3);
        let r = reserve(&sql, &request("S1", &[("A", 2)]), monday()).unwrap();
        assert_eq!(atp(&sql, "S1", "A", monday()), 0);
        release(&sql, &r.id, monday()).unwrap();
        assert_eq!(atp(&sql, "S1", "A", monday()), 2);
        assert_eq!(
            release(&sql, &r.id, monday()).unwrap().state,
            ReservationState::Released
        );
        assert_eq!(counter(&sql, "S1", "A"), (3, 0), "units returned once");
        let confirm_released =
            confirm(&sql, &r.id, &OrderId::parse("O-1").unwrap(), monday()).unwrap_err();
        assert!(matches!(
            confirm_released,
            StockError::WrongState {
                current: ReservationState::Released,
                ..
            }
        ));
    }

    #[test]
    fn fulfilment_lowers_on_hand_and_reserved_together() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 5);
        let r = reserve(&sql, &request("S1", &[("A", 2)]), monday()).unwrap();
        confirm(&sql, &r.id, &OrderId::parse("O-1").unwrap(), monday()).unwrap();
        let before = atp(&sql, "S1", "A", monday());
        let done = fulfil(&sql, &r.id, monday()).unwrap();
        assert_eq!(done.state, ReservationState::Fulfilled);
        assert_eq!(counter(&sql, "S1", "A"), (3, 0));
        assert_eq!(
            atp(&sql, "S1", "A", monday()),
            before,
            "ATP does not move on handover"
        );
        assert_eq!(
            fulfil(&sql, &r.id, monday()).unwrap().state,
            ReservationState::Fulfilled
        );
        assert_eq!(counter(&sql, "S1", "A"), (3, 0), "handed over once");
        assert!(matches!(
            release(&sql, &r.id, monday()),
            Err(StockError::WrongState { .. })
        ));
    }

    #[test]
    fn an_expired_hold_cannot_be_fulfilled() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 5);
        let r = reserve(&sql, &request("S1", &[("A", 1)]), monday()).unwrap();
        assert_eq!(
            fulfil(&sql, &r.id, monday() + Duration::hours(1)),
            Err(StockError::HoldExpired)
        );
        assert_eq!(
            release(&sql, &r.id, monday() + Duration::hours(1))
                .unwrap()
                .state,
            ReservationState::Expired
        );
        assert_eq!(counter(&sql, "S1", "A"), (5, 0));
    }

    #[test]
    fn restock_adds_units_and_creates_the_shelf_with_the_display_default() {
        let db = db();
        let sql = db.connect();
        let (s1, a) = (StoreId::parse("S1").unwrap(), Sku::parse("A").unwrap());
        let level = restock(&sql, &s1, &a, Quantity::parse(2).unwrap(), monday()).unwrap();
        assert_eq!(
            (
                level.on_hand().get(),
                level.display_min().get(),
                level.available_to_promise().get()
            ),
            (2, 1, 1)
        );
        let level = restock(&sql, &s1, &a, Quantity::parse(3).unwrap(), monday()).unwrap();
        assert_eq!(level.on_hand().get(), 5);
        let wh = restock(
            &sql,
            &StoreId::parse("WH").unwrap(),
            &a,
            Quantity::parse(1).unwrap(),
            monday(),
        )
        .unwrap();
        assert_eq!(
            wh.available_to_promise().get(),
            1,
            "a warehouse keeps nothing on display"
        );
        assert!(matches!(
            restock(
                &sql,
                &StoreId::parse("NOPE").unwrap(),
                &a,
                Quantity::parse(1).unwrap(),
                monday()
            ),
            Err(StockError::UnknownStore(_))
        ));
        assert!(matches!(
            restock(
                &sql,
                &s1,
                &Sku::parse("X1").unwrap(),
                Quantity::parse(1).unwrap(),
                monday()
            ),
            Err(StockError::UnknownSkus(_))
        ));
    }

    #[test]
    fn concurrent_single_unit_reservations_never_oversell() {
        let db = db();
        {
            let sql = db.connect();
            put(&sql, "S1", "A", 11);
            put(&sql, "S1", "B", 11);
        }
        let threads: Vec<_> = (0..40)
            .map(|i| {
                let db = db.db.clone();
                std::thread::spawn(move || {
                    let sql = db.connect().unwrap();
                    let lines: &[(&str, u32)] = if i % 2 == 0 {
                        &[("A", 1)]
                    } else {
                        &[("A", 1), ("B", 1)]
                    };
                    loop {
                        match reserve(&sql, &request("S1", lines), monday()) {
                            Err(StockError::Storage(StorageError::Busy)) => continue,
                            other => return other.is_ok(),
                        }
                    }
                })
            })
            .collect();
        let won = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|ok| *ok)
            .count();
        let sql = db.connect();
        assert_eq!(won, 10);
        assert_eq!(atp(&sql, "S1", "A", monday()), 0);
        assert_eq!(counter(&sql, "S1", "A"), (11, 10));
        let (_, b_reserved) = counter(&sql, "S1", "B");
        let baskets = sql
            .execute(
                "SELECT count(*) AS n FROM reservation_lines WHERE sku = 'B'",
                &[],
            )
            .unwrap()
            .first()
            .unwrap()
            .integer("n")
            .unwrap();
        assert_eq!(
            b_reserved, baskets,
            "every B lock belongs to a stored basket"
        );
    }

    #[test]
    fn reservation_ids_parse_case_insensitively_and_refuse_anything_else() {
        assert_eq!(
            ReservationId::parse("rsv-00ff00ff00ff00ff")
                .unwrap()
                .as_str(),
            "RSV-00FF00FF00FF00FF"
        );
        for bad in [
            "",
            "RSV-",
            "RSV-00FF",
            "RSV-00FF00FF00FF00FG",
            "XYZ-00FF00FF00FF00FF",
            "RSV-00FF00FF00FF00FF0",
        ] {
            assert_eq!(
                ReservationId::parse(bad),
                Err(StockError::NoSuchReservation),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn holds_last_one_minute_to_a_day() {
        assert_eq!(HoldTtl::minutes(0), None);
        assert_eq!(HoldTtl::minutes(1441), None);
        assert_eq!(
            HoldTtl::minutes(1440).unwrap().duration(),
            Duration::days(1)
        );
        assert_eq!(HoldTtl::default().duration(), Duration::minutes(30));
    }
}

//! Orders for click & collect and ship-from-store: one status model seen
//! identically by the customer, the store and ops, with its history, the
//! SLA clock, pickup codes, and the notifications each status sends.
//!
//! | module | holds |
//! | --- | --- |
//! | [`status`] | the statuses, the transition table and who may make each move |
//! | [`sla`] | the at-risk and breach instants, the pickup window, the SLA state |
//! | [`model`] | an order, its lines (paid amounts after discounts), history entries, actors |
//! | [`place`] | placing an order from a reservation and/or a checkout snapshot |
//! | [`transition`] | moving an order: table, stock, history and outbox in one transaction |
//! | [`pickup`] | the signed pickup code and the store's scan that hands the order over |
//! | [`sweep`] | SLA alerts, breaches and expiry for a scheduler; the per-store hit rate |
//! | [`store`] | the orders' SQL reads |
//!
//! # One transaction per change
//!
//! Every change of an order is one `BEGIN IMMEDIATE` transaction holding
//! the guarded status UPDATE (`WHERE status = ?old AND version = ?v`), the
//! history row, the stock effect through [`crate::stock`]'s `*_in`
//! functions (confirm on placing, fulfil on pickup, release on cancel or
//! expiry) and the notifications in [`crate::notify`]'s outbox. So a
//! customer is told "ready" exactly when the order is ready, a collected
//! order's units leave the shelf count with it, and an expired order's
//! units are back on sale the moment it expires.
//!
//! # Who sees what
//!
//! A customer sees and cancels only their own orders (another's is 404: an
//! order id reveals nothing); a store device sees and moves only its own
//! store's orders (another store's is 403 `wrong-store`: the device is
//! staff, and the answer says where the order belongs); ops see all. The
//! history shows customers who acted by role and channel, and staff and
//! ops also by device or operator name.

pub mod model;
pub mod pickup;
pub mod place;
pub mod sla;
pub mod status;
pub mod store;
pub mod sweep;
pub mod transition;

use crate::catalog::FieldError;
use crate::ids::{OrderId, Sku, StoreId};
use crate::money::Currency;
use crate::stock::StockError;
use crate::storage::StorageError;
use crate::web::problem::Problem;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::fmt;

pub use model::{Actor, DeliveryAddress, HistoryEntry, Order, OrderLine, Tracking, Via};
pub use sla::{OrderPolicy, SlaState};
pub use status::{ActorKind, Fulfilment, OrderStatus};

/// The pickups component's tables (orders and notifications), appended to
/// the migrations as one step.
///
/// - `orders`: one row per order; `version` is its ETag and history
///   sequence; the SLA instants are columns so the sweep's queries are
///   index range scans (`orders_sla_open`, `orders_uncollected`).
/// - `order_lines`: what was bought and what was paid per line, after
///   discounts as allocated, in minor units of the order's currency.
/// - `order_history`: one row per status, `seq` = the order version it
///   produced.
/// - the notification tables of [`crate::notify`].
pub const SCHEMA: &str = concat!(
    "CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        fulfilment TEXT NOT NULL CHECK (fulfilment IN ('click_and_collect', 'ship_from_store')),
        store_id TEXT NOT NULL,
        store_name TEXT NOT NULL,
        store_address TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        store_locale TEXT NOT NULL,
        delivery_address TEXT,
        status TEXT NOT NULL CHECK (status IN ('placed', 'accepted', 'picking', 'ready_for_pickup', 'picked_up',
            'shipped', 'delivered', 'cancelled', 'expired')),
        version INTEGER NOT NULL,
        currency TEXT NOT NULL,
        total_paid_minor INTEGER NOT NULL CHECK (total_paid_minor >= 0),
        reservation_id TEXT UNIQUE,
        checkout_id TEXT UNIQUE,
        channel TEXT NOT NULL,
        locale TEXT NOT NULL CHECK (locale IN ('pl', 'en')),
        ready_by TEXT NOT NULL,
        sla_at_risk_at TEXT NOT NULL,
        sla_alerted_at TEXT,
        sla_breached_at TEXT,
        ready_at TEXT,
        pickup_until TEXT,
        collected_at TEXT,
        collected_store TEXT,
        collected_by TEXT,
        tracking_carrier TEXT,
        tracking_url TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX orders_by_customer ON orders (customer_id, created_at);
    CREATE INDEX orders_by_store ON orders (store_id, created_at);
    CREATE INDEX orders_sla_open ON orders (sla_at_risk_at) WHERE status IN ('placed', 'accepted', 'picking');
    CREATE INDEX orders_sla_due ON orders (ready_by) WHERE status IN ('placed', 'accepted', 'picking');
    CREATE INDEX orders_uncollected ON orders (pickup_until) WHERE status = 'ready_for_pickup';
    CREATE TABLE order_lines (
        order_id TEXT NOT NULL REFERENCES orders (id),
        line INTEGER NOT NULL,
        sku TEXT NOT NULL,
        name TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
        paid_minor INTEGER NOT NULL CHECK (paid_minor >= 0),
        PRIMARY KEY (order_id, line)
    ) WITHOUT ROWID;
    CREATE TABLE order_history (
        order_id TEXT NOT NULL REFERENCES orders (id),
        seq INTEGER NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        via TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (order_id, seq)
    ) WITHOUT ROWID;
    ",
    crate::notify::notify_tables!()
);

/// An order move as one statement (migration step `orders::MOVES`).
///
/// Why? Under Spin every SQL call is a host call, and a move holding the
/// write lock across its update, history row and notices kept every other
/// writer waiting. A move with no stock effect (accepted, picking, ready
/// for pickup, delivered: see `transition`) inserts one row here; its
/// `BEFORE` trigger ignores the row unless the order is still at
/// `from_status` and `expected_version` (the move was decided on what the
/// caller read), and its `AFTER` trigger makes the same changes the
/// transaction would: the order's status, version and dates, the history
/// row, and the notices (`notices`: a JSON array of `{event, channel,
/// recipient, payload}`, `payload` the JSON text sent), each at most once
/// per order, event, channel and recipient. Then the row is deleted, so the
/// table stays empty.
pub const MOVES: &str = "CREATE TABLE order_moves (
        order_id TEXT NOT NULL,
        from_status TEXT NOT NULL,
        expected_version INTEGER NOT NULL,
        to_status TEXT NOT NULL,
        at TEXT NOT NULL,
        ready_at TEXT,
        pickup_until TEXT,
        late INTEGER NOT NULL,
        tracking_carrier TEXT,
        tracking_url TEXT,
        actor_kind TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        via TEXT NOT NULL,
        note TEXT,
        notices TEXT NOT NULL
    );
    CREATE TRIGGER order_moves_guard BEFORE INSERT ON order_moves
    WHEN NOT EXISTS (SELECT 1 FROM orders
        WHERE id = NEW.order_id AND status = NEW.from_status AND version = NEW.expected_version)
    BEGIN
        SELECT RAISE(IGNORE);
    END;
    CREATE TRIGGER order_moves_apply AFTER INSERT ON order_moves
    BEGIN
        UPDATE orders SET status = NEW.to_status, version = NEW.expected_version + 1, updated_at = NEW.at,
            ready_at = COALESCE(NEW.ready_at, ready_at),
            pickup_until = COALESCE(NEW.pickup_until, pickup_until),
            sla_breached_at = CASE WHEN NEW.late = 1 THEN COALESCE(sla_breached_at, ready_by) ELSE sla_breached_at END,
            tracking_carrier = COALESCE(NEW.tracking_carrier, tracking_carrier),
            tracking_url = COALESCE(NEW.tracking_url, tracking_url)
        WHERE id = NEW.order_id;
        INSERT INTO order_history (order_id, seq, from_status, to_status, actor_kind, actor_id, via, note, at)
            VALUES (NEW.order_id, NEW.expected_version + 1, NEW.from_status, NEW.to_status, NEW.actor_kind,
                NEW.actor_id, NEW.via, NEW.note, NEW.at);
        INSERT INTO notification_outbox (order_id, event, channel, recipient, payload, next_attempt_at, created_at)
            SELECT NEW.order_id, json_extract(n.value, '$.event'), json_extract(n.value, '$.channel'),
                json_extract(n.value, '$.recipient'), json_extract(n.value, '$.payload'), NEW.at, NEW.at
            FROM json_each(NEW.notices) n WHERE true
            ON CONFLICT (order_id, event, channel, recipient) DO NOTHING;
        DELETE FROM order_moves WHERE rowid = NEW.rowid;
    END";

/// [`MOVES`] on PostgreSQL. The guard locks the order row (`FOR UPDATE`)
/// before it compares status and version, so of two moves decided at the
/// same version the second waits and is then ignored.
/// The table is the SQLite step's, translated
/// ([`crate::storage::migrations::OnPostgres::OwnTriggers`]); it gains an
/// identity column so that each applied row deletes itself.
pub const MOVES_POSTGRES: &str = "ALTER TABLE order_moves ADD COLUMN move_id BIGINT GENERATED ALWAYS AS IDENTITY;
    CREATE FUNCTION order_moves_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Serialised with every write transaction, as SQLite's one writer
        -- was: a transaction's read-then-write of this row cannot interleave.
        PERFORM pg_advisory_xact_lock(hashtext('omni-edge:' || current_schema()));
        PERFORM 1 FROM orders
            WHERE id = NEW.order_id AND status = NEW.from_status AND version = NEW.expected_version FOR UPDATE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER order_moves_guard BEFORE INSERT ON order_moves
        FOR EACH ROW EXECUTE FUNCTION order_moves_guard();
    CREATE FUNCTION order_moves_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE orders SET status = NEW.to_status, version = NEW.expected_version + 1, updated_at = NEW.at,
            ready_at = COALESCE(NEW.ready_at, ready_at),
            pickup_until = COALESCE(NEW.pickup_until, pickup_until),
            sla_breached_at = CASE WHEN NEW.late = 1 THEN COALESCE(sla_breached_at, ready_by) ELSE sla_breached_at END,
            tracking_carrier = COALESCE(NEW.tracking_carrier, tracking_carrier),
            tracking_url = COALESCE(NEW.tracking_url, tracking_url)
        WHERE id = NEW.order_id;
        INSERT INTO order_history (order_id, seq, from_status, to_status, actor_kind, actor_id, via, note, at)
            VALUES (NEW.order_id, NEW.expected_version + 1, NEW.from_status, NEW.to_status, NEW.actor_kind,
                NEW.actor_id, NEW.via, NEW.note, NEW.at);
        INSERT INTO notification_outbox (order_id, event, channel, recipient, payload, next_attempt_at, created_at)
            SELECT NEW.order_id, n ->> 'event', n ->> 'channel', n ->> 'recipient', n ->> 'payload', NEW.at, NEW.at
            FROM jsonb_array_elements(NEW.notices::jsonb) n
            ON CONFLICT (order_id, event, channel, recipient) DO NOTHING;
        DELETE FROM order_moves WHERE move_id = NEW.move_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER order_moves_apply AFTER INSERT ON order_moves
        FOR EACH ROW EXECUTE FUNCTION order_moves_apply()";

/// Migration: the endless aisle (an order shipped from the central
/// warehouse, [`Fulfilment::EndlessAisle`]) joins the `fulfilment` check.
/// SQLite cannot alter a CHECK, so the table is rebuilt as its docs
/// prescribe: copy, drop, rename, re-index.
pub const ENDLESS_AISLE: &str = "CREATE TABLE orders_v2 (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        fulfilment TEXT NOT NULL CHECK (fulfilment IN ('click_and_collect', 'ship_from_store', 'endless_aisle')),
        store_id TEXT NOT NULL,
        store_name TEXT NOT NULL,
        store_address TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        store_locale TEXT NOT NULL,
        delivery_address TEXT,
        status TEXT NOT NULL CHECK (status IN ('placed', 'accepted', 'picking', 'ready_for_pickup', 'picked_up',
            'shipped', 'delivered', 'cancelled', 'expired')),
        version INTEGER NOT NULL,
        currency TEXT NOT NULL,
        total_paid_minor INTEGER NOT NULL CHECK (total_paid_minor >= 0),
        reservation_id TEXT UNIQUE,
        checkout_id TEXT UNIQUE,
        channel TEXT NOT NULL,
        locale TEXT NOT NULL CHECK (locale IN ('pl', 'en')),
        ready_by TEXT NOT NULL,
        sla_at_risk_at TEXT NOT NULL,
        sla_alerted_at TEXT,
        sla_breached_at TEXT,
        ready_at TEXT,
        pickup_until TEXT,
        collected_at TEXT,
        collected_store TEXT,
        collected_by TEXT,
        tracking_carrier TEXT,
        tracking_url TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    INSERT INTO orders_v2 SELECT * FROM orders;
    DROP TABLE orders;
    ALTER TABLE orders_v2 RENAME TO orders;
    CREATE INDEX orders_by_customer ON orders (customer_id, created_at);
    CREATE INDEX orders_by_store ON orders (store_id, created_at);
    CREATE INDEX orders_sla_open ON orders (sla_at_risk_at) WHERE status IN ('placed', 'accepted', 'picking');
    CREATE INDEX orders_sla_due ON orders (ready_by) WHERE status IN ('placed', 'accepted', 'picking');
    CREATE INDEX orders_uncollected ON orders (pickup_until) WHERE status = 'ready_for_pickup';";

/// [`ENDLESS_AISLE`] on PostgreSQL, which alters a CHECK in place (and
/// refuses to drop a table others reference).
pub const ENDLESS_AISLE_POSTGRES: &str =
    "ALTER TABLE orders DROP CONSTRAINT orders_fulfilment_check;
    ALTER TABLE orders ADD CONSTRAINT orders_fulfilment_check
        CHECK (fulfilment IN ('click_and_collect', 'ship_from_store', 'endless_aisle'))";

/// Why an order operation was refused. Each variant's doc names its HTTP
/// status and problem `type`; [`From<OrderError> for Problem`] is the one
/// place they are rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderError {
    /// 404 `not-found`: no such order, or one the caller may not see.
    NotFound,
    /// 403 `wrong-store`: a store device acting on another store's order;
    /// `store_id` says where the order belongs.
    WrongStore { store: StoreId },
    /// 403 `forbidden`: the caller's role never does this.
    Forbidden(&'static str),
    /// 409 `illegal-transition`: no such move from the current status;
    /// `current` and `allowed_next` say what may follow.
    Illegal {
        current: OrderStatus,
        to: OrderStatus,
        allowed: Vec<OrderStatus>,
    },
    /// 403 `transition-not-allowed`: the move exists, but not for this
    /// caller; `allowed_next` lists the moves they may make.
    NotForActor {
        current: OrderStatus,
        to: OrderStatus,
        allowed: Vec<OrderStatus>,
    },
    /// 412 `precondition-failed`: If-Match named an older version.
    Stale { current_version: i64 },
    /// 422 `invalid-body`: fields a rule refuses, each named.
    Invalid(Vec<FieldError>),
    /// 404 `not-found`: no such checkout, or another customer's.
    UnknownCheckout,
    /// 409 `checkout-not-open`: the checkout was completed or has expired.
    CheckoutNotOpen { why: &'static str },
    /// 404 `not-found`: no such reservation, or another customer's.
    UnknownReservation,
    /// 422 `lines-mismatch`: the reservation holds other lines than the
    /// checkout (or the order) lists.
    LinesMismatch,
    /// 422 `no-price`: no base price in the order's currency.
    NoPrice { skus: Vec<Sku>, currency: Currency },
    /// 422 `not-offered`: the store does not offer this kind of order.
    NotOffered {
        store: StoreId,
        fulfilment: Fulfilment,
    },
    /// 403 `pickup-code-invalid`: not a genuine pickup code.
    PickupCodeInvalid,
    /// 410 `pickup-code-expired`: genuine, but the pickup window is over.
    PickupCodeExpired,
    /// 409 `already-collected`: the order was handed over already.
    AlreadyCollected { at: DateTime<Utc>, store: StoreId },
    /// 409 `not-ready-for-pickup`: the order is not (or no longer) waiting
    /// at the store.
    NotReady { status: OrderStatus },
    /// An availability rule refused (hold expired, unknown store, ...),
    /// rendered by [`StockError`]'s own conversion.
    Stock(StockError),
    /// 500: a Spin variable of the component has an unusable value.
    Setting { name: &'static str, reason: String },
    /// 500 (503 when busy).
    Storage(StorageError),
}

impl fmt::Display for OrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderError::NotFound => write!(f, "no such order, or not yours"),
            OrderError::WrongStore { store } => write!(
                f,
                "this order belongs to store {store}, not to this device's store"
            ),
            OrderError::Forbidden(why) => f.write_str(why),
            OrderError::Illegal {
                current,
                to,
                allowed,
            } => {
                write!(
                    f,
                    "an order that is {current} cannot become {to}; it may become: {}",
                    names(allowed)
                )
            }
            OrderError::NotForActor {
                current,
                to,
                allowed,
            } => {
                write!(
                    f,
                    "you may not move this {current} order to {to}; you may move it to: {}",
                    names(allowed)
                )
            }
            OrderError::Stale { current_version } => {
                write!(
                    f,
                    "the order has changed; its current ETag is \"v{current_version}\": reload it and retry"
                )
            }
            OrderError::Invalid(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&list.join("; "))
            }
            OrderError::UnknownCheckout => write!(f, "no such checkout, or not yours"),
            OrderError::CheckoutNotOpen { why } => {
                write!(f, "this checkout cannot become an order: it {why}")
            }
            OrderError::UnknownReservation => write!(f, "no such reservation, or not yours"),
            OrderError::LinesMismatch => {
                write!(
                    f,
                    "the reservation holds other items or quantities than the order lists"
                )
            }
            OrderError::NoPrice { skus, currency } => {
                let list: Vec<&str> = skus.iter().map(Sku::as_str).collect();
                write!(f, "no base price in {currency} for {}", list.join(", "))
            }
            OrderError::NotOffered { store, fulfilment } => {
                write!(f, "{store} does not offer {fulfilment} orders")
            }
            OrderError::PickupCodeInvalid => write!(f, "this is not a genuine pickup code"),
            OrderError::PickupCodeExpired => {
                write!(
                    f,
                    "this pickup code has expired: the order was not collected in time"
                )
            }
            OrderError::AlreadyCollected { at, store } => {
                write!(
                    f,
                    "this order was already collected at {store} on {}",
                    timestamp(*at)
                )
            }
            OrderError::NotReady { status } => {
                write!(f, "this order is {status}, not ready for pickup")
            }
            OrderError::Stock(e) => write!(f, "{e}"),
            OrderError::Setting { name, reason } => {
                write!(f, "component \"pickups\": variable {name}: {reason}")
            }
            OrderError::Storage(e) => write!(f, "{e}"),
        }
    }
}

fn names(statuses: &[OrderStatus]) -> String {
    if statuses.is_empty() {
        return "nothing (no move is open to you)".to_owned();
    }
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::error::Error for OrderError {}

impl From<StorageError> for OrderError {
    fn from(e: StorageError) -> Self {
        OrderError::Storage(e)
    }
}

impl From<StockError> for OrderError {
    fn from(e: StockError) -> Self {
        match e {
            StockError::Storage(e) => OrderError::Storage(e),
            StockError::NoSuchReservation => OrderError::UnknownReservation,
            other => OrderError::Stock(other),
        }
    }
}

impl From<crate::cart::CartError> for OrderError {
    fn from(e: crate::cart::CartError) -> Self {
        match e {
            crate::cart::CartError::Storage(e) => OrderError::Storage(e),
            _ => OrderError::UnknownCheckout,
        }
    }
}

impl From<OrderError> for Problem {
    fn from(err: OrderError) -> Problem {
        let detail = err.to_string();
        let statuses =
            |list: &[OrderStatus]| json!(list.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        match err {
            OrderError::NotFound | OrderError::UnknownCheckout | OrderError::UnknownReservation => {
                Problem::not_found(detail)
            }
            OrderError::WrongStore { store } => Problem::new(403, "wrong-store", "Wrong Store")
                .with_detail(detail)
                .with_extension("store_id", json!(store.as_str())),
            OrderError::Forbidden(_) => Problem::forbidden(detail),
            OrderError::Illegal {
                current, allowed, ..
            } => Problem::new(409, "illegal-transition", "Illegal Status Transition")
                .with_detail(detail)
                .with_extension("current", json!(current.as_str()))
                .with_extension("allowed_next", statuses(&allowed)),
            OrderError::NotForActor {
                current, allowed, ..
            } => Problem::new(403, "transition-not-allowed", "Transition Not Allowed")
                .with_detail(detail)
                .with_extension("current", json!(current.as_str()))
                .with_extension("allowed_next", statuses(&allowed)),
            OrderError::Stale { current_version } => {
                let etag = crate::web::etag::etag(current_version);
                Problem::precondition_failed(detail)
                    .with_extension("current_etag", json!(etag))
                    .with_header("etag", etag)
            }
            OrderError::Invalid(errors) => Problem::invalid_body(detail)
                .with_extension("errors", serde_json::to_value(errors).unwrap_or_default()),
            OrderError::CheckoutNotOpen { .. } => {
                Problem::new(409, "checkout-not-open", "Checkout Not Open").with_detail(detail)
            }
            OrderError::LinesMismatch => {
                Problem::new(422, "lines-mismatch", "Lines Mismatch").with_detail(detail)
            }
            OrderError::NoPrice { skus, currency } => {
                Problem::new(422, "no-price", "No Price In This Currency")
                    .with_detail(detail)
                    .with_extension(
                        "skus",
                        json!(skus.iter().map(Sku::as_str).collect::<Vec<_>>()),
                    )
                    .with_extension("currency", json!(currency.code()))
            }
            OrderError::NotOffered { store, fulfilment } => {
                Problem::new(422, "not-offered", "Not Offered")
                    .with_detail(detail)
                    .with_extension("store_id", json!(store.as_str()))
                    .with_extension("fulfilment", json!(fulfilment.as_str()))
            }
            OrderError::PickupCodeInvalid => {
                Problem::new(403, "pickup-code-invalid", "Invalid Pickup Code").with_detail(detail)
            }
            OrderError::PickupCodeExpired => {
                Problem::new(410, "pickup-code-expired", "Pickup Code Expired").with_detail(detail)
            }
            OrderError::AlreadyCollected { at, store } => {
                Problem::new(409, "already-collected", "Already Collected")
                    .with_detail(detail)
                    .with_extension("collected_at", json!(timestamp(at)))
                    .with_extension("collected_store_id", json!(store.as_str()))
            }
            OrderError::NotReady { status } => {
                Problem::new(409, "not-ready-for-pickup", "Not Ready For Pickup")
                    .with_detail(detail)
                    .with_extension("current", json!(status.as_str()))
            }
            OrderError::Stock(e) => Problem::from(e),
            OrderError::Setting { .. } => Problem::internal(&detail),
            OrderError::Storage(e) => Problem::from(e),
        }
    }
}

/// A new order id: `ORD-` and 16 upper-case hex digits of fresh random
/// bits, unguessable (ids appear in URLs and notifications) and short
/// enough to read out at a till.
pub fn new_order_id() -> Result<OrderId, StorageError> {
    let bytes = crate::notify::random_bytes::<8>()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    OrderId::parse(&format!("ORD-{hex}")).map_err(|e| StorageError::Other(e.to_string()))
}

/// Instants as stored and shown: RFC 3339 UTC with milliseconds and `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    crate::clock::wire(at)
}

pub(crate) fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Decode(format!("instant {raw:?}: {e}")))
}

pub(crate) fn decode_err(what: &str, e: impl fmt::Display) -> StorageError {
    StorageError::Decode(format!("stored order {what}: {e}"))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod test_support;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

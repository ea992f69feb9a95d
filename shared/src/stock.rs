//! Store availability: stock per location and SKU, available to promise,
//! click & collect reservations that lock stock, stock feeds from the POS
//! and ERP, honest ready-by times and fulfilment routing.
//!
//! # The model
//!
//! One row per location (store or warehouse) and SKU holds `on_hand` (what
//! the POS/ERP counted, minus what was handed over since), `reserved` (units
//! locked by reservations) and `display_min` (units that stay on the shelf).
//! Available to promise is `on_hand - reserved - display_min`, never below
//! zero ([`StockLevel::available_to_promise`]), and the in stock / low stock
//! / out of stock label comes from it alone ([`Label::of`]), so the web shop,
//! the app, the kiosk and the till can never disagree.
//!
//! # Contracts for other components
//!
//! Every state change below is one guarded statement or one `BEGIN
//! IMMEDIATE` transaction; the `*_in` variants run inside a transaction the
//! caller already holds (so an order and its reservation change commit
//! together), the plain ones open their own.
//!
//! | caller | function | effect |
//! | --- | --- | --- |
//! | availability, returns (exchanges) | [`reserve`] | locks a basket at one store, all lines or none; 409 with what is available |
//! | pickups (order placed) | [`confirm`] | the hold no longer expires; counts against the store's daily picking limit; fixes the ready-by promise |
//! | pickups (cancelled, uncollected), customers | [`release`] | the units return to sale at once |
//! | pickups (handed over) | [`fulfil`] | `on_hand` and `reserved` fall together |
//! | returns (sellable item received) | [`restock`] | `on_hand` rises at that store |
//! | ops (`POST /api/reservations/sweep`), [`reserve`] | [`sweep_expired`] | expired holds are marked and their units returned |
//!
//! # Why expired holds cost nothing even before a sweep
//!
//! A hold past its TTL must stop reducing ATP at that very instant, not when
//! some job runs. Each held line keeps `held_until` (NULL once confirmed or
//! ended), and every read and every reservation guard subtracts the units of
//! lines whose `held_until` has passed from `reserved` ([`effective_reserved`]).
//! The sweep then only tidies: it marks those reservations expired and
//! lowers the counter by the same units, which leaves ATP unchanged. A
//! partial index holds only live holds, so the subtraction is one index
//! probe that finds nothing in the common case.
//!
//! # Why `on_hand` may fall below `reserved`
//!
//! A stock count is the truth about the shelf: if the POS counts 2 where 3
//! are reserved, refusing the count would keep a lie. ATP then floors at
//! zero and no new reservation succeeds; the existing ones stay, for the
//! store to resolve. Handovers through [`fulfil`] already lower `on_hand`,
//! so a POS must not report click & collect handovers as sales again.

mod basket;
mod feed;
mod level;
mod location;
mod picking;
mod reservation;
mod routing;
mod settings;
mod shelf;

pub use basket::{Basket, BasketLine, BasketLineRow, MAX_BASKET_LINES, assortments};
pub use feed::{
    AppliedFeed, ClampedLine, DisplayMinChange, FeedError, FeedLine, FeedLineRow, FeedOutcome,
    FeedRow, FeedSequence, MAX_FEED_LINES, MAX_SEQUENCE, OnHandChange, StockFeed, apply_feeds,
    parse_feeds,
};
pub use level::{DEFAULT_LOW_STOCK_THRESHOLD, Label, StockLevel, effective_reserved};
pub use location::{load_store, load_stores};
pub use picking::{PickingLoad, ready_by};
pub use reservation::{
    HoldTtl, Reservation, ReservationId, ReservationRequest, ReservationState, ReservedLine,
    Shortfall, confirm, confirm_in, fulfil, fulfil_in, load_reservation, release, release_in,
    reserve, reserve_for_shipment_in, reserve_in, restock, restock_in, sweep_expired,
    sweep_expired_in,
};
pub use routing::{
    COURIER_CURRENCY, DeliveryQuote, RoutingCandidate, SCORE_PER_DAY, SCORE_PER_EMPTIED_SHELF,
    courier_cost, courier_tariff, delivery_date, quote, rank, shelf_risk, transit_days,
};
pub use settings::{
    MAX_SETTING, SettingsSaved, StockSettings, StockSettingsRow, load_settings, save_settings,
};
pub use shelf::{NearbyShelf, level_at, levels_at, shelves_holding, shelves_near};

use crate::catalog::NotSoldIn;
use crate::ids::{Sku, StoreId};
use crate::storage::StorageError;
use crate::web::Problem;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::fmt;

/// The availability area's tables. Appended to the migrations as one step.
///
/// `reservation_lines.held_until` repeats the reservation's hold expiry
/// while it is held (NULL otherwise) so the partial index
/// `reservation_holds` holds live holds only: see the module notes.
pub const SCHEMA: &str = "CREATE TABLE stock (
        store TEXT NOT NULL,
        sku TEXT NOT NULL,
        on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
        reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        display_min INTEGER NOT NULL CHECK (display_min >= 0),
        display_min_override INTEGER CHECK (display_min_override IS NULL OR display_min_override >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (store, sku)
    ) WITHOUT ROWID;
    CREATE INDEX stock_by_sku ON stock (sku, store);
    CREATE TABLE stock_settings (
        store TEXT PRIMARY KEY,
        display_min INTEGER NOT NULL CHECK (display_min >= 0),
        low_stock_threshold INTEGER NOT NULL CHECK (low_stock_threshold >= 0),
        version INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE stock_feeds (
        store TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        digest TEXT NOT NULL,
        lines INTEGER NOT NULL,
        applied_by TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        PRIMARY KEY (store, sequence)
    ) WITHOUT ROWID;
    CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        store TEXT NOT NULL,
        customer TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('held', 'confirmed', 'released', 'expired', 'fulfilled')),
        expires_at TEXT,
        order_id TEXT,
        picking_date TEXT,
        ready_by TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX reservations_by_customer ON reservations (customer, created_at);
    CREATE INDEX reservations_expiring ON reservations (expires_at) WHERE state = 'held';
    CREATE TABLE reservation_lines (
        reservation_id TEXT NOT NULL REFERENCES reservations (id),
        line INTEGER NOT NULL,
        store TEXT NOT NULL,
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        held_until TEXT,
        PRIMARY KEY (reservation_id, line)
    ) WITHOUT ROWID;
    CREATE INDEX reservation_holds ON reservation_lines (store, sku, held_until) WHERE held_until IS NOT NULL;
    CREATE TABLE picking_load (
        store TEXT NOT NULL,
        picking_date TEXT NOT NULL,
        accepted INTEGER NOT NULL CHECK (accepted >= 0),
        PRIMARY KEY (store, picking_date)
    ) WITHOUT ROWID";

/// A reservation as one statement (migration step `stock::RESERVATION_REQUESTS`).
///
/// Why? Under Spin every SQL call is a host call, and holding the write
/// lock across a guarded update per line, the reservation and its lines
/// kept every other writer waiting while the request was rescheduled
/// between them. Inserting one row here does all of it inside one
/// statement: every line's guarded `reserved` increment (available to
/// promise, with lapsed holds not counted, must cover the line), then
/// `RAISE(ABORT)` unless every line was locked, which undoes the whole
/// statement, so a basket is all or nothing; then the reservation and its
/// lines, and the row is deleted, so the table stays empty. `lines` is a
/// JSON array of `{"sku", "quantity"}`, no SKU twice (a `Basket` never has
/// one twice). The abort's message carries [`RESERVATION_SHORT`].
pub const RESERVATION_REQUESTS: &str = "CREATE TABLE reservation_requests (
        id TEXT NOT NULL,
        store TEXT NOT NULL,
        customer TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        picking_date TEXT,
        ready_by TEXT,
        created_by TEXT NOT NULL,
        at TEXT NOT NULL,
        lines TEXT NOT NULL
    );
    CREATE TRIGGER reservation_requests_apply AFTER INSERT ON reservation_requests
    BEGIN
        UPDATE stock SET
            reserved = reserved + (SELECT json_extract(l.value, '$.quantity') FROM json_each(NEW.lines) l
                WHERE json_extract(l.value, '$.sku') = stock.sku),
            updated_at = NEW.at
        WHERE store = NEW.store
            AND sku IN (SELECT json_extract(l.value, '$.sku') FROM json_each(NEW.lines) l)
            AND on_hand - (reserved - COALESCE((SELECT SUM(h.quantity) FROM reservation_lines h
                    WHERE h.store = stock.store AND h.sku = stock.sku
                        AND h.held_until IS NOT NULL AND h.held_until <= NEW.at), 0)) - display_min
                >= (SELECT json_extract(l.value, '$.quantity') FROM json_each(NEW.lines) l
                    WHERE json_extract(l.value, '$.sku') = stock.sku);
        SELECT RAISE(ABORT, 'constraint: reservation short of stock') WHERE changes() < json_array_length(NEW.lines);
        INSERT INTO reservations (id, store, customer, state, expires_at, picking_date, ready_by,
                created_by, created_at, updated_at)
            VALUES (NEW.id, NEW.store, NEW.customer, 'held', NEW.expires_at, NEW.picking_date, NEW.ready_by,
                NEW.created_by, NEW.at, NEW.at);
        INSERT INTO reservation_lines (reservation_id, line, store, sku, quantity, held_until)
            SELECT NEW.id, l.key, NEW.store, json_extract(l.value, '$.sku'), json_extract(l.value, '$.quantity'),
                NEW.expires_at
            FROM json_each(NEW.lines) l;
        DELETE FROM reservation_requests WHERE rowid = NEW.rowid;
    END";

/// [`RESERVATION_REQUESTS`] on PostgreSQL: the same one statement, its
/// guarded `UPDATE` re-checked by PostgreSQL on every stock row it locks,
/// and the same `constraint:` abort when a line is short.
/// The table is the SQLite step's, translated
/// ([`crate::storage::migrations::OnPostgres::OwnTriggers`]); it gains an
/// identity column so that each applied row deletes itself.
pub const RESERVATION_REQUESTS_POSTGRES: &str = "ALTER TABLE reservation_requests ADD COLUMN request_id BIGINT GENERATED ALWAYS AS IDENTITY;
    CREATE FUNCTION reservation_requests_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        locked bigint;
    BEGIN
        UPDATE stock SET reserved = stock.reserved + l.quantity, updated_at = NEW.at
            FROM (SELECT e ->> 'sku' AS sku, (e ->> 'quantity')::bigint AS quantity
                  FROM jsonb_array_elements(NEW.lines::jsonb) e) l
            WHERE stock.store = NEW.store AND stock.sku = l.sku
                AND stock.on_hand - (stock.reserved - COALESCE((SELECT SUM(h.quantity) FROM reservation_lines h
                        WHERE h.store = stock.store AND h.sku = stock.sku
                            AND h.held_until IS NOT NULL AND h.held_until <= NEW.at), 0)) - stock.display_min
                    >= l.quantity;
        GET DIAGNOSTICS locked = ROW_COUNT;
        IF locked < jsonb_array_length(NEW.lines::jsonb) THEN
            RAISE EXCEPTION 'constraint: reservation short of stock';
        END IF;
        INSERT INTO reservations (id, store, customer, state, expires_at, picking_date, ready_by,
                created_by, created_at, updated_at)
            VALUES (NEW.id, NEW.store, NEW.customer, 'held', NEW.expires_at, NEW.picking_date, NEW.ready_by,
                NEW.created_by, NEW.at, NEW.at);
        INSERT INTO reservation_lines (reservation_id, line, store, sku, quantity, held_until)
            SELECT NEW.id, e.ord - 1, NEW.store, e.value ->> 'sku', (e.value ->> 'quantity')::bigint, NEW.expires_at
            FROM jsonb_array_elements(NEW.lines::jsonb) WITH ORDINALITY AS e(value, ord);
        DELETE FROM reservation_requests WHERE request_id = NEW.request_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER reservation_requests_apply AFTER INSERT ON reservation_requests
        FOR EACH ROW EXECUTE FUNCTION reservation_requests_apply()";

/// The words of the abort a short [`RESERVATION_REQUESTS`] row raises.
pub const RESERVATION_SHORT: &str = "reservation short of stock";

/// Why a stock operation was refused. Each variant's doc names its HTTP
/// status and problem `type` slug; [`From<StockError> for Problem`] is the
/// one place that renders them, for every component that calls this area.
#[derive(Debug, Clone, PartialEq)]
pub enum StockError {
    /// 404 `not-found`: no location has this id.
    UnknownStore(StoreId),
    /// 404 `not-found`: the catalog has no item with these SKUs.
    UnknownSkus(Vec<Sku>),
    /// 422 `not-collectable`: the location does not offer click & collect
    /// (a warehouse, or a store without the service).
    NotCollectable(StoreId),
    /// 422 `not-sold-in-channel`: a line's assortment forbids handing it
    /// over in a store (online-only items).
    NotSoldHere { sku: Sku, refusal: NotSoldIn },
    /// 409 `insufficient-stock`: at least one line needs more than is
    /// available to promise; nothing was reserved. Lists every short line.
    Insufficient(Vec<Shortfall>),
    /// 404 `not-found`: no reservation with this id.
    NoSuchReservation,
    /// 409 `illegal-transition` (with `current`): the reservation cannot make this move from
    /// its current state (a released one confirmed, a fulfilled one
    /// released).
    WrongState {
        current: ReservationState,
        action: &'static str,
    },
    /// 409 `hold-expired`: the hold's TTL passed before it was confirmed; its
    /// units are back on sale and must be reserved again.
    HoldExpired,
    /// 422 `invalid-feed`: a stock feed body has invalid feeds or lines (an
    /// unknown store or SKU, a negative count); every problem is listed and
    /// nothing was applied.
    InvalidFeed(Vec<FeedError>),
    /// 409 `stale-feed`: every problem is a sequence at or below the store's
    /// last applied one; nothing was applied.
    StaleFeed(Vec<FeedError>),
    /// 422 `no-pickup-slot`: the store does not open within the look-ahead,
    /// or its picking capacity is full as far as it looks, so no honest
    /// ready-by time exists.
    NoPickupSlot(StoreId),
    /// 500 `internal` (503 when busy): the database failed.
    Storage(StorageError),
}

impl fmt::Display for StockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StockError::UnknownStore(id) => write!(f, "no store or warehouse has id {id}"),
            StockError::UnknownSkus(skus) => {
                let list: Vec<&str> = skus.iter().map(Sku::as_str).collect();
                write!(f, "the catalog has no item with SKU {}", list.join(", "))
            }
            StockError::NotCollectable(id) => write!(f, "{id} does not offer click & collect"),
            StockError::NotSoldHere { sku, refusal } => write!(f, "{sku}: {refusal}"),
            StockError::Insufficient(lines) => {
                let list: Vec<String> = lines
                    .iter()
                    .map(|s| {
                        format!(
                            "{} (wanted {}, available {})",
                            s.sku, s.requested, s.available
                        )
                    })
                    .collect();
                write!(
                    f,
                    "not enough stock for {}; nothing was reserved",
                    list.join(", ")
                )
            }
            StockError::NoSuchReservation => write!(f, "no such reservation"),
            StockError::WrongState { current, action } => {
                write!(f, "a {} reservation cannot be {action}", current.as_str())
            }
            StockError::HoldExpired => {
                write!(
                    f,
                    "the hold expired before it was confirmed; its units are back on sale, reserve again"
                )
            }
            StockError::InvalidFeed(errors) | StockError::StaleFeed(errors) => {
                write!(
                    f,
                    "{} problem(s) in the feed, nothing was applied",
                    errors.len()
                )?;
                if let Some(first) = errors.first() {
                    write!(f, "; first: {first}")?;
                }
                Ok(())
            }
            StockError::NoPickupSlot(id) => {
                write!(
                    f,
                    "{id} has no opening with picking capacity ahead, so no pickup time can be promised"
                )
            }
            StockError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StockError {}

impl From<StorageError> for StockError {
    fn from(e: StorageError) -> Self {
        StockError::Storage(e)
    }
}

impl From<StockError> for Problem {
    fn from(error: StockError) -> Problem {
        let detail = error.to_string();
        match error {
            StockError::UnknownStore(id) => {
                Problem::not_found(detail).with_extension("store_id", Value::String(id.to_string()))
            }
            StockError::UnknownSkus(skus) => {
                Problem::not_found(detail).with_extension("skus", json!(skus))
            }
            StockError::NotCollectable(id) => {
                Problem::new(422, "not-collectable", "Click & collect not offered")
                    .with_detail(detail)
                    .with_extension("store_id", Value::String(id.to_string()))
            }
            StockError::NotSoldHere { sku, refusal } => {
                let mut body = serde_json::to_value(refusal).unwrap_or_default();
                body["sku"] = Value::String(sku.to_string());
                Problem::new(422, "not-sold-in-channel", "Not Sold In This Channel")
                    .with_detail(detail)
                    .with_extension("refusal", body)
            }
            StockError::Insufficient(lines) => {
                Problem::new(409, "insufficient-stock", "Insufficient stock")
                    .with_detail(detail)
                    .with_extension("available", json!(lines))
            }
            StockError::NoSuchReservation => Problem::not_found(detail),
            StockError::WrongState { current, .. } => {
                Problem::new(409, "illegal-transition", "Illegal Status Transition")
                    .with_detail(detail)
                    .with_extension("current", Value::String(current.as_str().to_owned()))
            }
            StockError::HoldExpired => {
                Problem::new(409, "hold-expired", "Hold expired").with_detail(detail)
            }
            StockError::InvalidFeed(errors) => {
                Problem::new(422, "invalid-feed", "Invalid stock feed")
                    .with_detail(detail)
                    .with_extension("errors", json!(errors))
            }
            StockError::StaleFeed(errors) => Problem::new(409, "stale-feed", "Stale stock feed")
                .with_detail(detail)
                .with_extension("errors", json!(errors)),
            StockError::NoPickupSlot(id) => Problem::new(422, "no-pickup-slot", "No pickup slot")
                .with_detail(detail)
                .with_extension("store_id", Value::String(id.to_string())),
            StockError::Storage(e) => Problem::from(e),
        }
    }
}

/// Times are stored as RFC 3339 UTC text in one fixed shape (milliseconds,
/// `Z`), so comparing them as text in SQL (`held_until <= ?now`) is
/// comparing instants.
pub fn timestamp(instant: DateTime<Utc>) -> String {
    crate::clock::wire(instant)
}

fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Decode(format!("timestamp {raw:?}: {e}")))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod test_support {
    //! A migrated database with the demo stores and a few items, for the
    //! storage tests of this area.

    use crate::storage::Sql;
    use crate::storage::native::{NativeSql, SqliteDb};
    use serde_json::{Value, json};

    pub struct Db {
        pub _dir: tempfile::TempDir,
        pub db: SqliteDb,
    }

    impl Db {
        pub fn connect(&self) -> NativeSql {
            self.db.connect().unwrap()
        }
    }

    pub fn day(hours: &str) -> Value {
        json!([hours])
    }

    /// A store row in the catalog's wire shape, with overrides applied.
    pub fn store_json(id: &str, kind: &str, lat: f64, lon: f64, overrides: Value) -> Value {
        let d = day("09:00-21:00");
        let mut row = json!({
            "store_id": id,
            "name": format!("Store {id}"),
            "kind": kind,
            "address": {"street": "Złota 59", "city": "Warszawa", "postal_code": "00-120", "country": "PL"},
            "geo": {"lat": lat, "lon": lon},
            "time_zone": "Europe/Warsaw",
            "hours": {"mon": d, "tue": d, "wed": d, "thu": d, "fri": d, "sat": d, "sun": []},
            "closed_dates": ["2026-12-25", "2026-12-26"],
            "pickup_sla_minutes": 120,
            "order_cutoff": "19:00",
            "daily_picking_limit": 2,
            "services": if kind == "store" { json!(["click_and_collect", "ship_from_store"]) } else { json!(["ship_from_store"]) }
        });
        if let Value::Object(extra) = overrides {
            for (k, v) in extra {
                row[k] = v;
            }
        }
        row
    }

    pub fn insert_store(sql: &dyn Sql, row: &Value) {
        let store: crate::catalog::Store = serde_json::from_value(row.clone()).unwrap();
        sql.execute(
            "INSERT INTO stores (id, kind, lat, lon, data, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'x')
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, kind = excluded.kind",
            &[
                store.id().as_str().into(),
                store.kind().as_str().into(),
                crate::storage::SqlValue::Real(store.geo().lat()),
                crate::storage::SqlValue::Real(store.geo().lon()),
                serde_json::to_string(&store).unwrap().into(),
            ],
        )
        .unwrap();
    }

    pub fn insert_item(sql: &dyn Sql, sku: &str, assortment: &str) {
        sql.execute(
            "INSERT INTO catalog_items (sku, product_id, category, assortment, data, updated_at)
             VALUES (?1, 'P', 'men/t-shirts', ?2, '{}', 'x')",
            &[sku.into(), assortment.into()],
        )
        .unwrap();
    }

    /// Stores S1 (Warsaw centre), S2 (2.5 km south), WH (warehouse, 120 km
    /// away) and items A, B (both), ONL (online only), SHOP (store only).
    pub fn db() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("stock.db"));
        let sql = db.connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        insert_store(
            &sql,
            &store_json("S1", "store", 52.2297, 21.0031, json!({})),
        );
        insert_store(
            &sql,
            &store_json("S2", "store", 52.2072, 21.0031, json!({})),
        );
        insert_store(
            &sql,
            &store_json(
                "WH",
                "warehouse",
                51.9006,
                19.6031,
                json!({"order_cutoff": null, "daily_picking_limit": null}),
            ),
        );
        for (sku, assortment) in [
            ("A", "both"),
            ("B", "both"),
            ("ONL", "online_only"),
            ("SHOP", "store_only"),
        ] {
            insert_item(&sql, sku, assortment);
        }
        Db { _dir: dir, db }
    }
}

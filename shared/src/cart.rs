//! Carts: one cart per customer that the web shop, the app, the kiosk and the
//! till all see; guest carts merged at login; edits from several devices at
//! once that never lose a line; a frozen checkout handed to a till by QR.
//!
//! The area is split by concern, each part usable on its own by other
//! components (pickups turns a [`checkout::Checkout`] into an order):
//!
//! | module | holds |
//! | --- | --- |
//! | [`lines`] | the pure rules for how concurrent line edits and guest merges combine |
//! | [`pricing`] | [`pricing::price_cart`], the one place a cart gets prices, discounts and totals |
//! | [`store`] | the cart's SQL: create, load, edit lines, coupons, merge |
//! | [`checkout`] | checkout snapshots and the signed hand-off code a store device scans |
//! | [`expiry`] | expiring untouched carts and the abandoned/converted/merged events |
//! | [`access`] | who may read or edit which cart |
//! | [`secret`] | random ids and guest-cart secrets |
//!
//! # Why SQLite and not the key-value store?
//!
//! A cart is edited by several devices at once and must lose nothing: every
//! line is its own row, so two devices adding different lines write different
//! rows and never collide, and the cart's version is bumped in the same
//! `BEGIN IMMEDIATE` transaction as the line it covers, so an ETag always
//! names exactly one state. "One active cart per customer" is a partial
//! UNIQUE index, and a checkout is completed by a guarded UPDATE. None of
//! that is expressible on Spin's key-value store, which has no transactions,
//! no compare-and-swap and may be eventually consistent across edge regions
//! (see `components/cart-sync/CONCURRENCY.md` for how the same model would
//! behave there and what it would cost).
//!
//! # Why the currency is chosen at creation
//!
//! A cart holds amounts in one currency (PLN unless the creating client asks
//! for another), because the promotion engine, totals and the till's
//! receipt are all single-currency. Prices are read from the one price list
//! at every read, so a price change reaches every channel's view of the cart
//! at once; a SKU without a price in the cart's currency cannot be added.

pub mod access;
pub mod checkout;
pub mod expiry;
pub mod lines;
pub mod pricing;
pub mod secret;
pub mod store;

use crate::catalog::NotSoldIn;
use crate::ids::{CartId, Sku};
use crate::money::{Currency, MoneyError};
use crate::storage::StorageError;
use crate::web::problem::Problem;
use serde_json::{Value, json};
use std::fmt;

/// The cart tables, appended to the shared migrations as one step.
///
/// - `carts`: one row per cart; `version` is the ETag, bumped by every change;
///   `secret_sha256` is set exactly for guest carts and `customer_id` for
///   customer carts; at most one `active` cart per customer.
/// - `cart_lines`: one row per SKU; `changed_at_version` is the cart version
///   that last wrote the line (the causal context of [`lines`]).
/// - `cart_coupons`: the codes attached to a cart.
/// - `cart_checkouts`: frozen snapshots for the hand-off to a till.
/// - `cart_events`: abandoned, converted and merged carts, for cross-channel
///   measurement.
pub const SCHEMA: &str = "CREATE TABLE carts (
        id TEXT PRIMARY KEY,
        customer_id TEXT,
        secret_sha256 TEXT,
        channel TEXT NOT NULL,
        last_channel TEXT NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'merged', 'converted', 'expired')),
        version INTEGER NOT NULL DEFAULT 1,
        merged_into TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((customer_id IS NULL) <> (secret_sha256 IS NULL))
    );
    CREATE UNIQUE INDEX carts_one_active_per_customer ON carts (customer_id)
        WHERE status = 'active' AND customer_id IS NOT NULL;
    CREATE INDEX carts_active_by_age ON carts (updated_at) WHERE status = 'active';
    CREATE TABLE cart_lines (
        cart_id TEXT NOT NULL REFERENCES carts (id),
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 1),
        added_at_version INTEGER NOT NULL,
        changed_at_version INTEGER NOT NULL,
        PRIMARY KEY (cart_id, sku)
    ) WITHOUT ROWID;
    CREATE TABLE cart_coupons (
        cart_id TEXT NOT NULL REFERENCES carts (id),
        code TEXT NOT NULL,
        attached_at_version INTEGER NOT NULL,
        PRIMARY KEY (cart_id, code)
    ) WITHOUT ROWID;
    CREATE TABLE cart_checkouts (
        id TEXT PRIMARY KEY,
        cart_id TEXT NOT NULL REFERENCES carts (id),
        cart_version INTEGER NOT NULL,
        customer_id TEXT,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
        snapshot TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        completed_at TEXT,
        completed_by TEXT,
        completed_channel TEXT
    );
    CREATE INDEX cart_checkouts_by_cart ON cart_checkouts (cart_id);
    CREATE TABLE cart_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cart_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('abandoned', 'converted', 'merged')),
        channel_started TEXT NOT NULL,
        channel_finished TEXT NOT NULL,
        customer_id TEXT,
        checkout_id TEXT UNIQUE,
        line_count INTEGER NOT NULL,
        item_count INTEGER NOT NULL,
        value_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        occurred_at TEXT NOT NULL
    );
    CREATE INDEX cart_events_by_cart ON cart_events (cart_id)";

/// One line edit as one statement (migration step `cart::GUARDED_LINE_WRITES`).
///
/// Why? Under Spin every SQL call is a host call, and a request holding the
/// write lock across several of them (`BEGIN IMMEDIATE`, read, bump, write,
/// `COMMIT`) keeps every other writer waiting while it is rescheduled
/// between them. A line edit is decided from reads taken outside any
/// transaction and committed by inserting one row here: the row is applied
/// (the cart's version bumped, the line written or removed) only when the
/// cart is still active at the version the decision was read from, all
/// inside the one statement, and then removed, so the table stays empty.
/// An insert that finds the cart moved on is ignored (`RETURNING` gives no
/// row) and the caller decides again on fresh reads. A quantity of 0
/// removes the line.
pub const GUARDED_LINE_WRITES: &str = "CREATE TABLE cart_line_writes (
        cart_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 0),
        expected_version INTEGER NOT NULL,
        channel TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TRIGGER cart_line_writes_guard BEFORE INSERT ON cart_line_writes
    WHEN NOT EXISTS (SELECT 1 FROM carts
        WHERE id = NEW.cart_id AND version = NEW.expected_version AND status = 'active')
    BEGIN
        SELECT RAISE(IGNORE);
    END;
    CREATE TRIGGER cart_line_writes_apply AFTER INSERT ON cart_line_writes
    BEGIN
        UPDATE carts SET version = NEW.expected_version + 1, updated_at = NEW.at, last_channel = NEW.channel
            WHERE id = NEW.cart_id;
        INSERT INTO cart_lines (cart_id, sku, quantity, added_at_version, changed_at_version)
            SELECT NEW.cart_id, NEW.sku, NEW.quantity, NEW.expected_version + 1, NEW.expected_version + 1
            WHERE NEW.quantity > 0
            ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = excluded.quantity,
                changed_at_version = excluded.changed_at_version;
        DELETE FROM cart_lines WHERE NEW.quantity = 0 AND cart_id = NEW.cart_id AND sku = NEW.sku;
        DELETE FROM cart_line_writes WHERE rowid = NEW.rowid;
    END";

/// [`GUARDED_LINE_WRITES`] on PostgreSQL. The guard locks the cart row
/// (`FOR UPDATE`) before it compares the version, so of two edits read at
/// the same version the second waits, sees the first's version and is
/// ignored, as SQLite's single writer guaranteed by itself.
/// The table is the SQLite step's, translated
/// ([`crate::storage::migrations::OnPostgres::OwnTriggers`]); it gains an
/// identity column so that each applied row deletes itself.
pub const GUARDED_LINE_WRITES_POSTGRES: &str = "ALTER TABLE cart_line_writes ADD COLUMN write_id BIGINT GENERATED ALWAYS AS IDENTITY;
    CREATE FUNCTION cart_line_writes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Serialised with every write transaction, as SQLite's one writer
        -- was: a transaction's read-then-write of this row cannot interleave.
        PERFORM pg_advisory_xact_lock(hashtext('omni-edge:' || current_schema()));
        PERFORM 1 FROM carts
            WHERE id = NEW.cart_id AND version = NEW.expected_version AND status = 'active' FOR UPDATE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER cart_line_writes_guard BEFORE INSERT ON cart_line_writes
        FOR EACH ROW EXECUTE FUNCTION cart_line_writes_guard();
    CREATE FUNCTION cart_line_writes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE carts SET version = NEW.expected_version + 1, updated_at = NEW.at, last_channel = NEW.channel
            WHERE id = NEW.cart_id;
        IF NEW.quantity > 0 THEN
            INSERT INTO cart_lines (cart_id, sku, quantity, added_at_version, changed_at_version)
                VALUES (NEW.cart_id, NEW.sku, NEW.quantity, NEW.expected_version + 1, NEW.expected_version + 1)
                ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = excluded.quantity,
                    changed_at_version = excluded.changed_at_version;
        ELSE
            DELETE FROM cart_lines WHERE cart_id = NEW.cart_id AND sku = NEW.sku;
        END IF;
        DELETE FROM cart_line_writes WHERE write_id = NEW.write_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER cart_line_writes_apply AFTER INSERT ON cart_line_writes
        FOR EACH ROW EXECUTE FUNCTION cart_line_writes_apply()";

/// The limits a cart lives by. Defaults follow the issue; a deployment may
/// change the line maximum and the expiry through Spin variables (read by
/// the component, checked here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartPolicy {
    max_line_quantity: u32,
    expiry_days: u32,
}

impl CartPolicy {
    /// At most this many lines (distinct SKUs) per cart: far beyond a real
    /// basket, and the promotion engine's own bound.
    pub const MAX_LINES: usize = 200;
    /// At most this many coupon codes attached at once.
    pub const MAX_COUPONS: usize = 10;
    /// The highest per-line maximum a deployment may configure: a line is a
    /// shopper's basket, not a wholesale order.
    pub const MAX_LINE_QUANTITY_CEILING: u32 = 999;
    /// The longest expiry a deployment may configure.
    pub const MAX_EXPIRY_DAYS: u32 = 365;
    /// How long a hand-off code (and its snapshot's prices) stays valid: long
    /// enough to queue at a till, short enough that a screenshot of the QR is
    /// useless the next day.
    pub const HANDOFF_MINUTES: i64 = 30;

    /// Checks the configurable limits: a line maximum from 1 to
    /// [`Self::MAX_LINE_QUANTITY_CEILING`] and an expiry from 1 to
    /// [`Self::MAX_EXPIRY_DAYS`] days.
    pub fn new(max_line_quantity: u32, expiry_days: u32) -> Result<CartPolicy, CartError> {
        if !(1..=CartPolicy::MAX_LINE_QUANTITY_CEILING).contains(&max_line_quantity) {
            return Err(CartError::Setting {
                name: "cart_max_line_quantity",
                reason: format!(
                    "must be a whole number from 1 to {}",
                    CartPolicy::MAX_LINE_QUANTITY_CEILING
                ),
            });
        }
        if !(1..=CartPolicy::MAX_EXPIRY_DAYS).contains(&expiry_days) {
            return Err(CartError::Setting {
                name: "cart_expiry_days",
                reason: format!(
                    "must be a whole number from 1 to {}",
                    CartPolicy::MAX_EXPIRY_DAYS
                ),
            });
        }
        Ok(CartPolicy {
            max_line_quantity,
            expiry_days,
        })
    }

    /// Reads the two Spin variables as text (`None` or blank: the default).
    pub fn from_settings(
        max_line_quantity: Option<&str>,
        expiry_days: Option<&str>,
    ) -> Result<CartPolicy, CartError> {
        let read = |name: &'static str, raw: Option<&str>, default: u32| match raw
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            None => Ok(default),
            Some(text) => text.parse::<u32>().map_err(|_| CartError::Setting {
                name,
                reason: format!(
                    "{:?} is not a whole number",
                    text.chars().take(20).collect::<String>()
                ),
            }),
        };
        let defaults = CartPolicy::default();
        CartPolicy::new(
            read(
                "cart_max_line_quantity",
                max_line_quantity,
                defaults.max_line_quantity,
            )?,
            read("cart_expiry_days", expiry_days, defaults.expiry_days)?,
        )
    }

    pub fn max_line_quantity(&self) -> u32 {
        self.max_line_quantity
    }

    pub fn expiry_days(&self) -> u32 {
        self.expiry_days
    }
}

impl Default for CartPolicy {
    /// 99 per line (the shared [`crate::quantity::Quantity`] default) and 30
    /// days: a month covers "saved for payday" without keeping every
    /// abandoned guest cart forever.
    fn default() -> CartPolicy {
        CartPolicy {
            max_line_quantity: crate::quantity::Quantity::DEFAULT_MAX_PER_LINE,
            expiry_days: 30,
        }
    }
}

/// Where a cart is in its life. Only an `Active` cart can be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CartStatus {
    Active,
    /// A guest cart merged into a customer's cart at login.
    Merged,
    /// Bought: its last checkout was completed and nothing was left in it.
    Converted,
    /// Untouched for longer than the configured number of days.
    Expired,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Active => "active",
            CartStatus::Merged => "merged",
            CartStatus::Converted => "converted",
            CartStatus::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Result<CartStatus, StorageError> {
        [
            CartStatus::Active,
            CartStatus::Merged,
            CartStatus::Converted,
            CartStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
        .ok_or_else(|| StorageError::Decode(format!("unknown cart status {raw:?}")))
    }
}

impl fmt::Display for CartStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a cart operation was refused. Each variant names its HTTP status and
/// problem `type` slug; [`From<CartError> for Problem`](Problem) is the one
/// place they are rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum CartError {
    /// 404 `not-found`: no such cart, or one the caller may not see. Another
    /// customer's cart and a guest cart without its secret answer the same,
    /// so a cart id reveals nothing about whose it is.
    NotFound,
    /// 403 `forbidden`: the caller's role never touches carts this way (a
    /// store device reading a cart without a hand-off code, ops editing).
    Forbidden(&'static str),
    /// 409 `cart-not-active`: the cart was merged, bought or expired and is
    /// read-only; `merged_into` names the cart a merged guest cart went to.
    NotActive {
        status: CartStatus,
        merged_into: Option<CartId>,
    },
    /// 412 `precondition-failed`: `If-Match` named an older version; the
    /// component attaches the current cart.
    Stale { current_version: i64 },
    /// 422 `unknown-sku`: the catalog has no such SKU.
    UnknownSku(Sku),
    /// 422 `no-price`: the SKUs have no base price in the cart's currency.
    NoPrice { skus: Vec<Sku>, currency: Currency },
    /// 422 `not-sold-in-channel`: the assortment matrix keeps this SKU out
    /// of the channel; the body says why and what the shopper can do instead.
    NotSoldIn { sku: Sku, refusal: NotSoldIn },
    /// 422 `line-quantity-above-max`: the line would exceed the per-line
    /// maximum.
    LineQuantityAboveMax { sku: Sku, max: u32, requested: u64 },
    /// 422 `too-many-lines`.
    TooManyLines { max: usize },
    /// 422 `too-many-coupons`.
    TooManyCoupons { max: usize },
    /// 422 `unknown-coupon`: the promotion engine knows no live promotion
    /// with this code.
    UnknownCoupon { code: String },
    /// 422 `empty-cart`: a checkout needs at least one line.
    Empty,
    /// 422 `not-a-guest-cart`: only a guest cart can be merged into a
    /// customer's cart.
    NotAGuestCart,
    /// 409 `conflict`: the guest cart was already merged into another
    /// customer's cart.
    MergedElsewhere,
    /// 404 `not-found`: no such checkout, or one the caller may not see.
    CheckoutNotFound,
    /// 403 `handoff-code-invalid`: not a genuine cart hand-off code.
    HandoffCodeInvalid,
    /// 410 `handoff-code-expired`: genuine but past its expiry; the shopper
    /// shows a fresh QR.
    HandoffCodeExpired,
    /// 409 `conflict`: the checkout was already completed by another store.
    CheckoutCompletedElsewhere,
    /// 422 `amount-out-of-range`: a total beyond the money bounds.
    Money(MoneyError),
    /// 500: a Spin variable of the component has an unusable value.
    Setting { name: &'static str, reason: String },
    /// 500 (503 when busy): storage failed.
    Storage(StorageError),
}

impl fmt::Display for CartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CartError::NotFound => write!(f, "no such cart, or not yours"),
            CartError::Forbidden(why) => f.write_str(why),
            CartError::NotActive {
                status: CartStatus::Merged,
                merged_into: Some(target),
            } => {
                write!(
                    f,
                    "this guest cart was merged into cart {target} at login and can no longer be edited"
                )
            }
            CartError::NotActive { status, .. } => {
                write!(f, "this cart is {status} and can no longer be edited")
            }
            CartError::Stale { current_version } => write!(
                f,
                "the cart has changed since your copy; its current version is {current_version}: reload it and retry"
            ),
            CartError::UnknownSku(sku) => write!(f, "no item with SKU {sku} is sold"),
            CartError::NoPrice { skus, currency } => {
                let list: Vec<&str> = skus.iter().map(Sku::as_str).collect();
                write!(f, "no base price in {currency} for {}", list.join(", "))
            }
            CartError::NotSoldIn { sku, refusal } => write!(f, "{sku}: {refusal}"),
            CartError::LineQuantityAboveMax {
                sku,
                max,
                requested,
            } => {
                write!(
                    f,
                    "a line holds at most {max} units; {sku} would have {requested}"
                )
            }
            CartError::TooManyLines { max } => {
                write!(f, "a cart holds at most {max} different items")
            }
            CartError::TooManyCoupons { max } => {
                write!(f, "at most {max} coupon codes can be attached to a cart")
            }
            CartError::UnknownCoupon { code } => {
                write!(f, "no current promotion has the coupon code {code}")
            }
            CartError::Empty => write!(f, "the cart is empty; add an item before checking out"),
            CartError::NotAGuestCart => {
                write!(f, "only a guest cart can be merged into a customer's cart")
            }
            CartError::MergedElsewhere => write!(
                f,
                "this guest cart was already merged into another customer's cart"
            ),
            CartError::CheckoutNotFound => write!(f, "no such checkout, or not yours"),
            CartError::HandoffCodeInvalid => write!(f, "this is not a genuine cart hand-off code"),
            CartError::HandoffCodeExpired => {
                write!(
                    f,
                    "this hand-off code has expired; ask the shopper to show a fresh QR code"
                )
            }
            CartError::CheckoutCompletedElsewhere => {
                write!(f, "this checkout was already completed at another store")
            }
            CartError::Money(e) => write!(f, "the cart's amounts are out of range: {e}"),
            CartError::Setting { name, reason } => {
                write!(f, "component \"cart-sync\": variable {name}: {reason}")
            }
            CartError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CartError {}

impl From<StorageError> for CartError {
    fn from(e: StorageError) -> CartError {
        CartError::Storage(e)
    }
}

impl From<MoneyError> for CartError {
    fn from(e: MoneyError) -> CartError {
        CartError::Money(e)
    }
}

impl From<CartError> for Problem {
    fn from(err: CartError) -> Problem {
        let detail = err.to_string();
        match err {
            CartError::NotFound | CartError::CheckoutNotFound => Problem::not_found(detail),
            CartError::Forbidden(_) => Problem::forbidden(detail),
            CartError::NotActive {
                status,
                merged_into,
            } => {
                let mut problem = Problem::new(409, "cart-not-active", "Cart Not Active")
                    .with_detail(detail)
                    .with_extension("cart_status", json!(status.as_str()));
                if let Some(target) = merged_into {
                    problem = problem.with_extension("merged_into", json!(target.as_str()));
                }
                problem
            }
            CartError::Stale { current_version } => Problem::precondition_failed(detail)
                .with_extension(
                    "current_etag",
                    json!(crate::web::etag::etag(current_version)),
                )
                .with_header("etag", crate::web::etag::etag(current_version)),
            CartError::UnknownSku(sku) => Problem::new(422, "unknown-sku", "Unknown SKU")
                .with_detail(detail)
                .with_extension("sku", json!(sku.as_str())),
            CartError::NoPrice { skus, currency } => {
                Problem::new(422, "no-price", "No Price In This Currency")
                    .with_detail(detail)
                    .with_extension(
                        "skus",
                        json!(skus.iter().map(Sku::as_str).collect::<Vec<_>>()),
                    )
                    .with_extension("currency", json!(currency.code()))
            }
            CartError::NotSoldIn { sku, refusal } => {
                let mut problem =
                    Problem::new(422, "not-sold-in-channel", "Not Sold In This Channel")
                        .with_detail(detail);
                if let Ok(Value::Object(members)) = serde_json::to_value(refusal) {
                    for (name, value) in members {
                        problem = problem.with_extension(&name, value);
                    }
                }
                problem.with_extension("sku", json!(sku.as_str()))
            }
            CartError::LineQuantityAboveMax {
                sku,
                max,
                requested,
            } => Problem::new(
                422,
                "line-quantity-above-max",
                "Line Quantity Above Maximum",
            )
            .with_detail(detail)
            .with_extension("sku", json!(sku.as_str()))
            .with_extension("max", json!(max))
            .with_extension("requested", json!(requested)),
            CartError::TooManyLines { max } => {
                Problem::new(422, "too-many-lines", "Too Many Lines")
                    .with_detail(detail)
                    .with_extension("max", json!(max))
            }
            CartError::TooManyCoupons { max } => {
                Problem::new(422, "too-many-coupons", "Too Many Coupons")
                    .with_detail(detail)
                    .with_extension("max", json!(max))
            }
            CartError::UnknownCoupon { code } => {
                Problem::new(422, "unknown-coupon-code", "Unknown Coupon Code")
                    .with_detail(detail)
                    .with_extension("code", json!(code))
            }
            CartError::Empty => Problem::new(422, "empty-cart", "Empty Cart").with_detail(detail),
            CartError::NotAGuestCart => {
                Problem::new(422, "not-a-guest-cart", "Not A Guest Cart").with_detail(detail)
            }
            CartError::MergedElsewhere | CartError::CheckoutCompletedElsewhere => {
                Problem::conflict(detail)
            }
            CartError::HandoffCodeInvalid => {
                Problem::new(403, "handoff-code-invalid", "Invalid Hand-off Code")
                    .with_detail(detail)
            }
            CartError::HandoffCodeExpired => {
                Problem::new(410, "handoff-code-expired", "Hand-off Code Expired")
                    .with_detail(detail)
            }
            CartError::Money(_) => {
                Problem::new(422, "amount-out-of-range", "Amount Out Of Range").with_detail(detail)
            }
            CartError::Setting { .. } => Problem::internal(&detail),
            CartError::Storage(e) => Problem::from(e),
        }
    }
}

/// Instants are stored as RFC 3339 UTC text with millisecond precision and a
/// `Z`, one fixed width, so SQL compares them as text correctly.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    crate::clock::wire(at)
}

/// Reads an instant written by [`timestamp`].
pub fn parse_timestamp(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, StorageError> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StorageError::Decode(format!("instant {raw:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_99_per_line_and_30_days() {
        let policy = CartPolicy::default();
        assert_eq!((policy.max_line_quantity(), policy.expiry_days()), (99, 30));
        assert_eq!(CartPolicy::from_settings(None, Some(" ")), Ok(policy));
    }

    #[test]
    fn configured_limits_are_read_and_checked() {
        let policy = CartPolicy::from_settings(Some("20"), Some("7")).unwrap();
        assert_eq!((policy.max_line_quantity(), policy.expiry_days()), (20, 7));
        for (max, days) in [
            ("0", "7"),
            ("1000", "7"),
            ("ten", "7"),
            ("5", "0"),
            ("5", "366"),
            ("5", "-1"),
            ("2.5", "7"),
        ] {
            let err = CartPolicy::from_settings(Some(max), Some(days)).unwrap_err();
            assert!(
                matches!(err, CartError::Setting { .. }),
                "{max} {days}: {err:?}"
            );
        }
    }

    #[test]
    fn every_error_renders_with_its_status() {
        let sku = Sku::parse("TEE-M").unwrap();
        let cases = [
            (CartError::NotFound, 404),
            (CartError::Forbidden("no"), 403),
            (
                CartError::NotActive {
                    status: CartStatus::Merged,
                    merged_into: Some(CartId::parse("c-2").unwrap()),
                },
                409,
            ),
            (CartError::Stale { current_version: 4 }, 412),
            (CartError::UnknownSku(sku.clone()), 422),
            (
                CartError::NoPrice {
                    skus: vec![sku.clone()],
                    currency: Currency::Eur,
                },
                422,
            ),
            (
                CartError::LineQuantityAboveMax {
                    sku,
                    max: 99,
                    requested: 100,
                },
                422,
            ),
            (CartError::TooManyLines { max: 200 }, 422),
            (CartError::Empty, 422),
            (CartError::HandoffCodeInvalid, 403),
            (CartError::HandoffCodeExpired, 410),
            (CartError::MergedElsewhere, 409),
            (CartError::Storage(StorageError::Busy), 503),
        ];
        for (err, status) in cases {
            assert_eq!(Problem::from(err.clone()).status(), status, "{err:?}");
        }
    }

    #[test]
    fn a_merged_cart_names_where_it_went() {
        let problem = Problem::from(CartError::NotActive {
            status: CartStatus::Merged,
            merged_into: Some(CartId::parse("crt_target").unwrap()),
        });
        assert_eq!(problem.extension("merged_into"), Some(&json!("crt_target")));
        assert_eq!(problem.extension("cart_status"), Some(&json!("merged")));
    }

    #[test]
    fn a_stale_version_carries_the_current_etag() {
        let problem = Problem::from(CartError::Stale { current_version: 7 });
        assert_eq!(problem.header("etag"), Some("\"v7\""));
    }

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        use chrono::TimeZone;
        let early = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let late = early + chrono::Duration::milliseconds(1500);
        assert!(timestamp(early) < timestamp(late));
        assert_eq!(timestamp(early), "2026-01-02T03:04:05.000Z");
        assert_eq!(parse_timestamp(&timestamp(late)).unwrap(), late);
    }
}

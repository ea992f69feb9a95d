//! Promotions and coupons: one engine whose answer is the same at the till,
//! in the app, on the web and in the cart component.
//!
//! # The contract other components use
//!
//! ```text
//! evaluate(&CartSnapshot, &Context { channel, fulfilment, customer, now },
//!          &[ActivePromotion], &[CouponCode]) -> Evaluation        (pure)
//! load_active(sql, now, codes) -> Vec<ActivePromotion>            (what to evaluate against)
//! load_for_cart(sql, now, &CartSnapshot, codes)                  (the same, only what can touch the basket)
//! load_customer_facts(sql, Option<&CustomerId>) -> CustomerFacts  (who is asking)
//! validate(sql, &CartSnapshot, channel, fulfilment, customer, codes, now) -> Evaluation
//!                                                               (the three above in one call)
//! reserve(sql, &ReserveRequest, now) / commit(sql, id, now) / release(sql, id, now)
//! reservation_for_order(sql, &OrderId) -> Option<Reservation>    (what returns refund against)
//! record_order / cancel_order                                    (orders placed through the edge)
//! ```
//!
//! The cart component computes its discounts with [`validate`] (or
//! [`load_active`] + [`evaluate`]); orders call [`reserve`] at placement,
//! [`commit`] on payment and [`release`] on cancel. The coupons component
//! serves the same functions over HTTP. Nothing here knows about HTTP, JSON
//! bodies or Spin: the component turns [`PromotionError`] into problems.
//!
//! # The order of application
//!
//! 1. **Which promotions are candidates.** Every active automatic promotion,
//!    and every promotion reached through one of the shopper's codes. Each is
//!    checked against what does not depend on other promotions: paused,
//!    validity window (local time in the promotion's own IANA time zone; the
//!    start is inclusive, the end exclusive, a `valid_until` date lasts
//!    through that day), channel, currency, fulfilment, customer segment,
//!    loyalty tier, first order, global limit, single-use code, per-customer
//!    limit, and whether any line qualifies (target minus exclusions).
//! 2. **The stack.** Every stackable candidate is applied in this order:
//!    higher `priority` first; at equal priority by benefit, fixed prices,
//!    then buy-X-get-Y, then percentages, then amounts off, then free
//!    shipping; then by promotion id. Each one works on what the lines cost
//!    *after* the promotions before it, never on the original prices: a
//!    percentage is taken off the already-discounted amount, an amount off
//!    is capped at what the qualifying lines still cost, a fixed price never
//!    raises a price. Minimum basket and item conditions are measured on the
//!    qualifying lines at that moment, so an earlier discount can bring a
//!    basket below a later promotion's minimum. No line ever goes below zero,
//!    so no combination of promotions produces a negative or "free by
//!    accident" order.
//! 3. **Exclusive promotions.** Each exclusive candidate is applied alone to
//!    the original basket. The shopper gets whichever option takes off the
//!    most (the stack, or one exclusive promotion); ties go to free shipping,
//!    then to the higher priority, then to the stack. A code that lost is
//!    refused with "cannot be combined with ...".
//!
//! How each benefit computes its discount:
//! - percentage off: the percentage of the qualifying lines' current total,
//!   rounded half up once, then spread over those lines;
//! - amount off: the amount (capped at the qualifying total), spread over
//!   the qualifying lines;
//! - spreading is [`crate::money::allocate`] (largest remainder on minor
//!   units, weighted by what each line still costs), so the parts add up to
//!   the discount exactly and each line's share is what a return of that
//!   line refunds against;
//! - fixed price: each qualifying line down to price x quantity;
//! - buy X get Y: for every X+Y qualifying units, the Y cheapest (by what a
//!   unit still costs) are the percentage off (free by default);
//! - free shipping: no line changes; the answer says `free_shipping`.
//!
//! # Where customer facts come from
//!
//! See [`customers`]: an ops-fed profile (segments, loyalty tier, order
//! history from systems the edge never saw) plus the orders placed through
//! the edge, recorded as they are reserved or placed; per-customer use
//! counts come from the live redemptions.
//!
//! # Same input, same answer
//!
//! [`evaluate`] depends only on its arguments: the channel matters only
//! where a promotion names it, and every tie is broken by a stable key, so
//! the till and the web shop cannot differ on the same basket.

pub mod cart;
pub mod codes;
pub mod customers;
pub mod definition;
pub mod engine;
pub mod reason;
pub mod redemption;
pub mod store;
pub mod values;

#[cfg(test)]
mod tests;

pub use cart::{CartLine, CartLineRow, CartSnapshot, CartSnapshotRow};
pub use codes::BatchRequest;
pub use customers::{
    CustomerProfile, CustomerProfileRow, cancel_order, load_customer_facts, record_order,
    upsert_profiles,
};
pub use definition::{
    Benefit, Conditions, Exclusions, Promotion, PromotionEntry, PromotionRow, Stacking, Target,
};
pub use engine::{
    ActivePromotion, Applied, CodeState, Context, CustomerFacts, Evaluation, LineDiscount,
    LineResult, PromotionStatus, RefusedCode, evaluate, offered_to,
};
pub use reason::Refusal;
pub use redemption::{
    RedemptionState, Reservation, ReserveRequest, Reserved, Use, commit, load_reservation, release,
    reservation_for_order, reserve,
};
pub use store::{
    CodeBatch, ImportSummary, PromotionVersion, StoredPromotion, add_codes, create_batch,
    create_promotion, import_promotions, list_batches, list_promotions, load_active, load_batch,
    load_for_cart, load_promotion, load_version, replace_promotion, set_status, shared_codes,
};
pub use values::{CouponCode, Fulfilment, LoyaltyTier, Percent, Priority, PromotionId, Segment};

use chrono::{DateTime, Utc};
use std::fmt;

use crate::catalog::FieldError;
use crate::channel::Channel;
use crate::ids::{CustomerId, OrderId};
use crate::money::Money;
use crate::storage::{Sql, StorageError};

/// The promotions tables (one migration step; see `storage::migrations`).
///
/// `promotions.compiled` is the definition's compact form for the hot path
/// (see `definition::codec`), next to its JSON.
/// `promotion_targets` indexes each promotion under what it can discount
/// (`cart`, `sku:<SKU>`, `cat:<path>`), so a basket loads only the
/// promotions that can touch one of its lines ([`load_for_cart`]).
/// `redemptions_live_order` keeps one live reservation per order; the
/// `CHECK (used >= 0)` constraints make a double release impossible to
/// write, not merely unlikely.
pub const SCHEMA: &str = "CREATE TABLE promotions (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        status TEXT NOT NULL CHECK (status IN ('active', 'paused')),
        requires_code INTEGER NOT NULL CHECK (requires_code IN (0, 1)),
        starts_at TEXT,
        ends_at TEXT,
        global_limit INTEGER CHECK (global_limit IS NULL OR global_limit >= 1),
        used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
        definition TEXT NOT NULL,
        compiled BLOB,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX promotions_automatic ON promotions (requires_code, status);
    CREATE TABLE promotion_targets (
        key TEXT NOT NULL,
        promotion_id TEXT NOT NULL REFERENCES promotions (id),
        PRIMARY KEY (key, promotion_id)
    ) WITHOUT ROWID;
    CREATE INDEX promotion_targets_by_promotion ON promotion_targets (promotion_id);
    CREATE TABLE promotion_versions (
        promotion_id TEXT NOT NULL REFERENCES promotions (id),
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        definition TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        PRIMARY KEY (promotion_id, version)
    );
    CREATE TABLE coupon_batches (
        id TEXT PRIMARY KEY,
        promotion_id TEXT NOT NULL REFERENCES promotions (id),
        prefix TEXT NOT NULL,
        count INTEGER NOT NULL CHECK (count >= 1),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX coupon_batches_by_promotion ON coupon_batches (promotion_id);
    CREATE TABLE coupon_codes (
        code TEXT PRIMARY KEY,
        promotion_id TEXT NOT NULL REFERENCES promotions (id),
        batch_id TEXT REFERENCES coupon_batches (id),
        max_uses INTEGER CHECK (max_uses IS NULL OR max_uses >= 1),
        used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
        created_at TEXT NOT NULL
    );
    CREATE INDEX coupon_codes_by_promotion ON coupon_codes (promotion_id, batch_id);
    CREATE INDEX coupon_codes_by_batch ON coupon_codes (batch_id);
    CREATE TABLE customer_profiles (
        customer_id TEXT PRIMARY KEY,
        segments TEXT NOT NULL,
        loyalty_tier TEXT,
        order_history TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE customer_orders (
        order_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        fulfilment TEXT,
        placed_at TEXT NOT NULL,
        cancelled_at TEXT
    );
    CREATE INDEX customer_orders_by_customer ON customer_orders (customer_id, channel);
    CREATE TABLE redemptions (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        request_hash TEXT NOT NULL,
        order_id TEXT NOT NULL,
        customer_id TEXT,
        store_id TEXT,
        channel TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
        currency TEXT NOT NULL,
        total_discount_minor INTEGER NOT NULL CHECK (total_discount_minor >= 0),
        evaluation TEXT NOT NULL,
        created_at TEXT NOT NULL,
        committed_at TEXT,
        released_at TEXT
    );
    CREATE UNIQUE INDEX redemptions_live_order ON redemptions (order_id) WHERE state <> 'released';
    CREATE TABLE redemption_uses (
        redemption_id TEXT NOT NULL REFERENCES redemptions (id),
        promotion_id TEXT NOT NULL,
        promotion_version INTEGER NOT NULL,
        code TEXT,
        customer_id TEXT,
        released INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1)),
        PRIMARY KEY (redemption_id, promotion_id)
    );
    CREATE INDEX redemption_uses_by_customer ON redemption_uses (customer_id, promotion_id, released)";

/// Migration: checkout holds. The uses a cart checkout holds are found by
/// its key, and the ones that lapsed unpaid by state, at every freeze and
/// cart sweep: a partial index keeps that look-up to the live holds.
pub const CHECKOUT_HOLDS: &str =
    "CREATE INDEX redemptions_reserved ON redemptions (order_id) WHERE state = 'reserved'";

/// Why a promotions operation was refused. The HTTP mapping (status and
/// problem `type`) is named on each variant and done in one place, in the
/// coupons component.
#[derive(Debug, Clone, PartialEq)]
pub enum PromotionError {
    /// 422 `invalid-body`: a definition, cart or request with bad fields.
    Invalid(Vec<FieldError>),
    /// 404 `not-found`.
    UnknownPromotion(PromotionId),
    /// 404 `not-found`.
    UnknownReservation(String),
    /// 409 `promotion-exists`: create with an id in use.
    AlreadyExists(PromotionId),
    /// 412 `precondition-failed`: the promotion changed since it was read.
    VersionMismatch { current: i64 },
    /// 409 `code-taken`: the code belongs to another promotion.
    CodeTaken(CouponCode),
    /// 409 `automatic-promotion`: codes only exist for promotions that need one.
    AutomaticPromotion(PromotionId),
    /// 409 `coupon-refused`: a code does not apply (any more); nothing counted.
    CodesRefused(Box<Evaluation>),
    /// 409 `discount-changed`: the basket's discount is no longer the one the
    /// shopper saw; nothing counted.
    DiscountChanged {
        expected: Money,
        evaluation: Box<Evaluation>,
    },
    /// 422 `idempotency-key-reused`: the key was used for another request.
    KeyReused,
    /// 400 `bad-request`: an empty or oversized idempotency key.
    BadKey,
    /// 409 `order-already-redeemed`.
    OrderAlreadyReserved { order: OrderId, reservation: String },
    /// 409 `illegal-transition` (with `current`): e.g. committing a released redemption.
    InvalidTransition {
        state: RedemptionState,
        action: &'static str,
    },
    /// 503 `unavailable`: guards kept failing under contention; retry.
    Contention,
    /// 500 (503 when busy): logged, never shown.
    Storage(StorageError),
}

impl fmt::Display for PromotionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromotionError::Invalid(errors) => {
                write!(f, "{} problem(s)", errors.len())?;
                if let Some(first) = errors.first() {
                    write!(f, ", first: {first}")?;
                }
                Ok(())
            }
            PromotionError::UnknownPromotion(id) => write!(f, "no promotion with id {id}"),
            PromotionError::UnknownReservation(id) => write!(f, "no redemption reservation {id}"),
            PromotionError::AlreadyExists(id) => write!(
                f,
                "a promotion with id {id} exists already; edit it with PUT"
            ),
            PromotionError::VersionMismatch { current } => {
                write!(
                    f,
                    "the promotion has changed; its current version is {current}"
                )
            }
            PromotionError::CodeTaken(code) => {
                write!(f, "code {code} belongs to another promotion")
            }
            PromotionError::AutomaticPromotion(id) => {
                write!(
                    f,
                    "promotion {id} applies automatically; codes exist only for promotions that need one"
                )
            }
            PromotionError::CodesRefused(evaluation) => {
                let reasons: Vec<String> = evaluation
                    .refused
                    .iter()
                    .map(|r| format!("{}: {}", r.code, r.message))
                    .collect();
                write!(f, "{}", reasons.join("; "))
            }
            PromotionError::DiscountChanged {
                expected,
                evaluation,
            } => write!(
                f,
                "the discount is now {}, not the {expected} expected; show the shopper the new total",
                evaluation.total_discount
            ),
            PromotionError::KeyReused => write!(
                f,
                "this idempotency key was used for a different redemption request"
            ),
            PromotionError::BadKey => write!(
                f,
                "the idempotency key must not be empty or longer than {} characters",
                redemption::MAX_KEY_LEN
            ),
            PromotionError::OrderAlreadyReserved { order, reservation } => {
                write!(
                    f,
                    "order {order} already has redemption reservation {reservation}"
                )
            }
            PromotionError::InvalidTransition { state, action } => {
                write!(f, "a {} reservation cannot {action}", state.as_str())
            }
            PromotionError::Contention => write!(f, "too many concurrent changes; retry shortly"),
            PromotionError::Storage(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for PromotionError {}

impl From<StorageError> for PromotionError {
    fn from(err: StorageError) -> PromotionError {
        PromotionError::Storage(err)
    }
}

/// Loads what the basket needs and evaluates it: the one call a component
/// makes to price a basket's promotions.
pub fn validate(
    sql: &dyn Sql,
    cart: &CartSnapshot,
    channel: Channel,
    fulfilment: Option<Fulfilment>,
    customer: Option<&CustomerId>,
    codes: &[CouponCode],
    now: DateTime<Utc>,
) -> Result<Evaluation, PromotionError> {
    let promotions = load_for_cart(sql, now, cart, codes)?;
    let customer = load_customer_facts(sql, customer)?;
    let ctx = Context {
        channel,
        fulfilment,
        customer,
        now,
    };
    Ok(evaluate(cart, &ctx, &promotions, codes))
}

/// Instants in SQL: RFC 3339 UTC to the second with `Z`, one fixed width so
/// that text order is time order.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    crate::clock::wire(at)
}

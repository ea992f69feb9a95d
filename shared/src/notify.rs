//! Status notifications: one rendered message per order event, stored in an
//! outbox before anything is sent, then delivered at least once to the
//! customer's browsers and apps (Web Push) and to the retailer's e-mail/SMS
//! gateway or mobile push relay (a signed webhook).
//!
//! | module | holds |
//! | --- | --- |
//! | [`message`] | the words: every customer-facing status and store alert in Polish and English |
//! | [`preferences`] | a customer's channels, language and marketing consent |
//! | [`subscriptions`] | Web Push subscriptions (endpoint, `p256dh`, `auth`) |
//! | [`webpush`] | RFC 8291 payload encryption and RFC 8292 VAPID |
//! | [`webhook`] | the HMAC-SHA256 signature over timestamp and body |
//! | [`outbound`] | the one narrow port through which anything leaves: [`outbound::Outbound`] |
//! | [`outbox`] | enqueue (inside the order's transaction), claim, deliver, retry |
//!
//! # Why an outbox
//!
//! A status change and "tell the customer" must not part ways: an order
//! marked ready whose push was lost is the complaint this module exists to
//! prevent. So the rendered message is inserted into `notification_outbox`
//! in the same SQLite transaction as the status change: either both happen
//! or neither does. Delivery happens afterwards, outside any transaction
//! (a slow push service must never hold SQLite's write lock), first right
//! after the transition's response has been sent and then, for what failed,
//! by the sweep with exponential backoff.
//!
//! # Delivery guarantees
//!
//! - **At least once.** A row is claimed with a lease (`claimed_until`) by
//!   one guarded UPDATE, sent, and marked delivered only after the receiver
//!   answered 2xx. An instance that dies mid-send leaves the claim to lapse
//!   and the row is sent again: receivers dedupe on the `webhook-id` header
//!   (the webhook) or the `Topic` header (Web Push collapses by it).
//! - **Deduplicated.** `UNIQUE (order_id, event, channel, recipient)`: one
//!   row per order status, per channel, per device (`recipient` is the push
//!   subscription, or `gateway` for the webhook), inserted with
//!   `ON CONFLICT DO NOTHING`, so a retried request or a second sweep never
//!   queues a second copy.
//! - **Retried with backoff.** 30 s, 1 min, 2 min, ... capped at 6 h, until
//!   [`outbox::MAX_ATTEMPTS`]; then the row is `failed` for ops to see.
//! - **Gone subscriptions are forgotten.** A push service answering 404 or
//!   410 means the browser unsubscribed: the subscription is deleted and its
//!   pending rows are dropped.
//!
//! # Transactional, not marketing
//!
//! Status notices are transactional: they are sent whatever the marketing
//! consent says. The consent is recorded (and passed to the gateway) for
//! the retailer's marketing tools; the channel preferences (push, e-mail,
//! SMS) are always respected.

pub mod message;
pub mod outbound;
pub mod outbox;
pub mod preferences;
pub mod subscriptions;
pub mod webhook;
pub mod webpush;

use crate::storage::StorageError;
use crate::web::problem::Problem;
use serde_json::json;
use std::fmt;

pub use message::{Event, Locale, Message, MessageFacts};
pub use outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse, Timeouts};
pub use outbox::{DeliveryConfig, DeliveryReport, Scope};
pub use preferences::Preferences;
pub use subscriptions::{PushSubscription, SubscriptionId};
pub use webhook::WebhookTarget;
pub use webpush::Vapid;

/// The notification tables, created by the pickups migration step (see
/// [`crate::orders::SCHEMA`]): a macro so the two areas' DDL joins into one
/// step at compile time.
///
/// - `push_subscriptions`: one row per browser/app endpoint; the id is
///   derived from the endpoint, so re-registering updates in place.
/// - `notification_preferences`: one row per customer who chose anything;
///   a customer without a row gets [`Preferences::default`].
/// - `notification_outbox`: see the module docs.
macro_rules! notify_tables {
    () => {
        "CREATE TABLE push_subscriptions (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            endpoint TEXT NOT NULL UNIQUE,
            p256dh TEXT NOT NULL,
            auth TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX push_subscriptions_by_customer ON push_subscriptions (customer_id);
        CREATE TABLE notification_preferences (
            customer_id TEXT PRIMARY KEY,
            locale TEXT CHECK (locale IS NULL OR locale IN ('pl', 'en')),
            push INTEGER NOT NULL CHECK (push IN (0, 1)),
            email INTEGER NOT NULL CHECK (email IN (0, 1)),
            sms INTEGER NOT NULL CHECK (sms IN (0, 1)),
            marketing_consent INTEGER NOT NULL CHECK (marketing_consent IN (0, 1)),
            version INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE notification_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id TEXT NOT NULL,
            event TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('web_push', 'webhook')),
            recipient TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'failed', 'dropped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_until TEXT,
            last_status INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT,
            UNIQUE (order_id, event, channel, recipient)
        );
        CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at) WHERE state = 'pending'"
    };
}
pub(crate) use notify_tables;

/// Why a notification operation was refused. Each variant names its HTTP
/// status and problem `type`; [`From<NotifyError> for Problem`] renders
/// them in one place.
#[derive(Debug, Clone, PartialEq)]
pub enum NotifyError {
    /// 422 `invalid-push-subscription`: the endpoint or keys are unusable
    /// (not https, a key of the wrong length, a point not on P-256).
    InvalidSubscription { field: &'static str, reason: String },
    /// 422 `too-many-subscriptions`: the customer has the maximum already.
    TooManySubscriptions { max: usize },
    /// 404 `not-found`: no such subscription, or another customer's.
    NoSuchSubscription,
    /// 412 `precondition-failed`: the preferences changed since read.
    StalePreferences { current_version: i64 },
    /// 500: a Spin variable of the component has an unusable value (named).
    Setting { name: &'static str, reason: String },
    /// 500 (503 when busy): storage failed.
    Storage(StorageError),
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyError::InvalidSubscription { field, reason } => write!(f, "{field}: {reason}"),
            NotifyError::TooManySubscriptions { max } => {
                write!(
                    f,
                    "a customer may register at most {max} push subscriptions; remove an old one first"
                )
            }
            NotifyError::NoSuchSubscription => write!(f, "no such push subscription, or not yours"),
            NotifyError::StalePreferences { current_version } => write!(
                f,
                "the preferences changed since you read them; their current ETag is \"v{current_version}\""
            ),
            NotifyError::Setting { name, reason } => {
                write!(f, "component \"pickups\": variable {name}: {reason}")
            }
            NotifyError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NotifyError {}

impl From<StorageError> for NotifyError {
    fn from(e: StorageError) -> Self {
        NotifyError::Storage(e)
    }
}

impl From<NotifyError> for Problem {
    fn from(err: NotifyError) -> Problem {
        let detail = err.to_string();
        match err {
            NotifyError::InvalidSubscription { field, reason } => Problem::new(
                422,
                "invalid-push-subscription",
                "Invalid Push Subscription",
            )
            .with_detail(detail)
            .with_extension("errors", json!([{ "field": field, "reason": reason }])),
            NotifyError::TooManySubscriptions { max } => {
                Problem::new(422, "too-many-subscriptions", "Too Many Push Subscriptions")
                    .with_detail(detail)
                    .with_extension("max", json!(max))
            }
            NotifyError::NoSuchSubscription => Problem::not_found(detail),
            NotifyError::StalePreferences { current_version } => {
                let etag = crate::web::etag::etag(current_version);
                Problem::precondition_failed(detail)
                    .with_extension("current_etag", json!(etag))
                    .with_header("etag", etag)
            }
            NotifyError::Setting { .. } => Problem::internal(&detail),
            NotifyError::Storage(e) => Problem::from(e),
        }
    }
}

/// `N` bytes from the platform's cryptographic random source: wasi:random
/// on the edge, the operating system natively. Web Push needs fresh ones
/// for every message (an ephemeral ECDH key and a salt).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], StorageError> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes).map_err(|why| StorageError::Other(format!("no randomness: {why}")))?;
    Ok(bytes)
}

#[cfg(target_arch = "wasm32")]
fn fill_random(bytes: &mut [u8]) -> Result<(), String> {
    let random = wasi::random::random::get_random_bytes(bytes.len() as u64);
    if random.len() != bytes.len() {
        return Err(format!(
            "asked for {} bytes, got {}",
            bytes.len(),
            random.len()
        ));
    }
    bytes.copy_from_slice(&random);
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn fill_random(bytes: &mut [u8]) -> Result<(), String> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(bytes))
        .map_err(|e| e.to_string())
}

/// Instants as stored: RFC 3339 UTC, milliseconds, `Z`, so text order is
/// time order in SQL.
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    crate::clock::wire(at)
}

pub(crate) fn parse_timestamp(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, StorageError> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StorageError::Decode(format!("instant {raw:?}: {e}")))
}

//! Returns: one RMA system for every channel and store, with exact refunds.
//!
//! | module | holds |
//! | --- | --- |
//! | [`policy`] | the one return policy and its schema.org rendering |
//! | [`case_number`] | the human-readable case number with its Damm check digit |
//! | [`refund`] | refunds from what was paid, unit shares, till receipts' allocation |
//! | [`eligibility`] | the window in the selling store's time zone, excluded categories |
//! | [`status`] | the case statuses and their moves |
//! | [`model`] | a case as stored and shown, the actor of a change |
//! | [`cases`] | opening, intake by return code, refund, exchange, reject, inspect, close |
//! | [`receipts`] | till sales recorded so they can be returned like orders |
//! | [`store`] | the SQL reads and the policy row |
//! | [`notices`] | the customer's status messages, queued in the pickups outbox |
//!
//! # Invariants
//!
//! - One case, one case number, whatever channel opened it and whichever
//!   store receives it; every change is one `BEGIN IMMEDIATE` transaction
//!   holding the guarded status UPDATE (`WHERE status = ? AND version = ?`),
//!   its history row (actor, channel, store), its stock effect and its
//!   notifications.
//! - Units returned against a source line (order line or receipt line) in
//!   live cases never exceed the units bought; the check and the insert are
//!   in one write transaction, so concurrent openings cannot both pass.
//! - Refunds come only from stored paid amounts ([`refund`]); a request
//!   never names an amount.
//! - A return code is signed (purpose `return`), expires, and is redeemed
//!   once: the intake's `opened -> received` UPDATE is the single use.
//! - Sellable units received restock the receiving store through
//!   [`crate::stock::restock_in`] in the intake's transaction; damaged
//!   units are recorded on the case only.
//! - An exchange keeps the discount: what was paid for the returned units
//!   pays for the replacements, and the price difference is the list-price
//!   difference per unit (replacement - returned item, both from the one
//!   price list at the moment of the exchange). Another size of the same
//!   product at the same list price costs nothing and refunds nothing; a
//!   dearer or cheaper one costs or refunds exactly the difference, a refund
//!   never exceeding what was paid for the units replaced.

pub mod case_number;
pub mod cases;
pub mod eligibility;
pub mod model;
pub mod notices;
pub mod policy;
pub mod receipts;
pub mod refund;
pub mod status;
pub mod store;

pub use case_number::CaseNumber;
pub use model::{Rma, RmaLine};
pub use policy::{RefundMethod, ReturnPolicy};
pub use status::RmaStatus;

use crate::catalog::FieldError;
use crate::ids::{Sku, StoreId};
use crate::stock::StockError;
use crate::storage::StorageError;
use crate::web::problem::Problem;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::fmt;

/// The returns area's tables, appended to the migrations as one step.
///
/// - `return_policy`: one row (`id = 1`), the policy as JSON and its version.
/// - `return_receipts`, `return_receipt_lines`: till sales (see [`receipts`]).
/// - `return_cases`: one row per case; `source_id` is the order or receipt.
/// - `return_case_lines`: what is returned per source line, the unit offset
///   the refund starts from, and what the intake found.
/// - `return_history`: one row per status, `seq` = the version it produced.
pub const SCHEMA: &str = "CREATE TABLE return_policy (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE return_receipts (
        id TEXT PRIMARY KEY,
        store_id TEXT NOT NULL,
        customer_id TEXT,
        currency TEXT NOT NULL,
        total_paid_minor INTEGER NOT NULL CHECK (total_paid_minor >= 0),
        sold_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE return_receipt_lines (
        receipt_id TEXT NOT NULL REFERENCES return_receipts (id),
        line INTEGER NOT NULL,
        sku TEXT NOT NULL,
        name TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
        paid_minor INTEGER NOT NULL CHECK (paid_minor >= 0),
        PRIMARY KEY (receipt_id, line)
    ) WITHOUT ROWID;
    CREATE TABLE return_cases (
        id TEXT PRIMARY KEY,
        case_number TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL CHECK (source IN ('order', 'receipt')),
        source_id TEXT NOT NULL,
        customer_id TEXT,
        currency TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('opened', 'received', 'inspected', 'refunded', 'exchanged',
            'rejected', 'closed')),
        version INTEGER NOT NULL,
        refund_method TEXT NOT NULL,
        locale TEXT NOT NULL,
        opened_channel TEXT NOT NULL,
        opened_store TEXT,
        code_expires_at TEXT NOT NULL,
        received_store TEXT,
        received_at TEXT,
        refund_minor INTEGER,
        refunded_at TEXT,
        exchange TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX return_cases_by_source ON return_cases (source_id);
    CREATE INDEX return_cases_by_customer ON return_cases (customer_id, created_at);
    CREATE TABLE return_case_lines (
        case_id TEXT NOT NULL REFERENCES return_cases (id),
        line INTEGER NOT NULL,
        source_line INTEGER NOT NULL,
        sku TEXT NOT NULL,
        name TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        reason TEXT,
        line_quantity INTEGER NOT NULL,
        line_paid_minor INTEGER NOT NULL,
        unit_offset INTEGER NOT NULL,
        refund_minor INTEGER NOT NULL CHECK (refund_minor >= 0),
        received_sellable INTEGER,
        received_damaged INTEGER,
        PRIMARY KEY (case_id, line)
    ) WITHOUT ROWID;
    CREATE TABLE return_history (
        case_id TEXT NOT NULL REFERENCES return_cases (id),
        seq INTEGER NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        via TEXT NOT NULL,
        store_id TEXT,
        note TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID";

/// Why one line may not be returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineRefusal {
    /// The refused line's path in the request (`lines[2]`), as every
    /// `errors[]` item names its field.
    pub field: String,
    /// Why, in words.
    pub reason: String,
    /// The stable machine code: `window_closed`, `not_returnable`,
    /// `exceeds_returnable`, `not_on_order`.
    pub code: &'static str,
    pub sku: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returnable: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_ended_at: Option<String>,
}

/// Why a returns operation was refused. Each variant's doc names its HTTP
/// status and problem `type`; [`From<ReturnError> for Problem`] is the one
/// place they are rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum ReturnError {
    /// 404 `not-found`: no such order, receipt or case, or not the caller's.
    NotFound(&'static str),
    /// 422 `not-returnable`: lines outside the window, of an excluded
    /// category, not on the order, or more units than are still returnable;
    /// `errors` lists every refused line with its reason.
    Refused(Vec<LineRefusal>),
    /// 422 `not-handed-over`: the order has not been collected or
    /// delivered yet, so there is nothing to return (cancel it instead).
    NotHandedOver { status: String },
    /// 422 `invalid-body`: fields a rule refuses, each named.
    Invalid(Vec<FieldError>),
    /// 422 `not-offered`: the policy does not offer this (a refund method,
    /// in-store returns, exchanges).
    NotOffered(String),
    /// 403 `return-code-invalid`: not a genuine return code.
    CodeInvalid,
    /// 410 `return-code-expired`: genuine, but past its expiry.
    CodeExpired { expired_at: Option<DateTime<Utc>> },
    /// 409 `already-received`: the code was redeemed; when and where.
    AlreadyReceived { at: DateTime<Utc>, store: StoreId },
    /// 409 `illegal-transition`: no such move from the current status.
    Illegal { current: RmaStatus, to: RmaStatus },
    /// 403 `wrong-store`: a device of another store than the one holding
    /// the goods (or the receipt's store).
    WrongStore { store: Option<StoreId> },
    /// 403 `forbidden`: the caller's role never does this.
    Forbidden(&'static str),
    /// 412 `precondition-failed`: If-Match named an older version.
    Stale { current_version: i64 },
    /// 422 `not-an-exchange`: a replacement that is not another size or
    /// colour of the same product, or has no price in the case's currency.
    NotAnExchange {
        sku: Sku,
        replacement: Sku,
        why: &'static str,
    },
    /// The stock area refused (409 `insufficient-stock` with `available`).
    Stock(StockError),
    /// 500 (503 when busy).
    Storage(StorageError),
}

impl fmt::Display for ReturnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnError::NotFound(what) => write!(f, "no such {what}, or not yours"),
            ReturnError::Refused(lines) => {
                let list: Vec<String> = lines
                    .iter()
                    .map(|l| format!("{}: {}", l.sku, l.reason))
                    .collect();
                write!(f, "these lines cannot be returned: {}", list.join("; "))
            }
            ReturnError::NotHandedOver { status } => {
                write!(
                    f,
                    "the order is {status}: only collected or delivered orders can be returned"
                )
            }
            ReturnError::Invalid(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&list.join("; "))
            }
            ReturnError::NotOffered(what) => write!(f, "the return policy does not offer {what}"),
            ReturnError::CodeInvalid => write!(f, "this is not a genuine return code"),
            ReturnError::CodeExpired { .. } => {
                write!(
                    f,
                    "this return code has expired; open the return again in the app or at the till"
                )
            }
            ReturnError::AlreadyReceived { at, store } => {
                write!(f, "already received at {store} at {}", timestamp(*at))
            }
            ReturnError::Illegal { current, to } => {
                let next: Vec<&str> = current.allowed_next().iter().map(|s| s.as_str()).collect();
                let next = if next.is_empty() {
                    "nothing".to_owned()
                } else {
                    next.join(", ")
                };
                write!(
                    f,
                    "a return that is {current} cannot become {to}; it may become: {next}"
                )
            }
            ReturnError::WrongStore { store: Some(store) } => {
                write!(
                    f,
                    "this return is handled by store {store}, not by this device's store"
                )
            }
            ReturnError::WrongStore { store: None } => {
                write!(f, "no store has received this return yet")
            }
            ReturnError::Forbidden(why) => f.write_str(why),
            ReturnError::Stale { current_version } => {
                write!(
                    f,
                    "the return has changed; its current ETag is \"v{current_version}\": reload it and retry"
                )
            }
            ReturnError::NotAnExchange {
                sku,
                replacement,
                why,
            } => write!(f, "{sku} -> {replacement}: {why}"),
            ReturnError::Stock(e) => write!(f, "{e}"),
            ReturnError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReturnError {}

impl From<StorageError> for ReturnError {
    fn from(e: StorageError) -> Self {
        ReturnError::Storage(e)
    }
}

impl From<StockError> for ReturnError {
    fn from(e: StockError) -> Self {
        match e {
            StockError::Storage(e) => ReturnError::Storage(e),
            other => ReturnError::Stock(other),
        }
    }
}

impl From<ReturnError> for Problem {
    fn from(err: ReturnError) -> Problem {
        let detail = err.to_string();
        match err {
            ReturnError::NotFound(_) => Problem::not_found(detail),
            ReturnError::Refused(lines) => Problem::new(422, "not-returnable", "Not Returnable")
                .with_detail(detail)
                .with_extension("errors", serde_json::to_value(lines).unwrap_or_default()),
            ReturnError::NotHandedOver { status } => {
                Problem::new(422, "not-handed-over", "Not Handed Over Yet")
                    .with_detail(detail)
                    .with_extension("current", json!(status))
            }
            ReturnError::Invalid(errors) => Problem::invalid_body(detail)
                .with_extension("errors", serde_json::to_value(errors).unwrap_or_default()),
            ReturnError::NotOffered(_) => {
                Problem::new(422, "not-offered", "Not Offered").with_detail(detail)
            }
            ReturnError::CodeInvalid => {
                Problem::new(403, "return-code-invalid", "Invalid Return Code").with_detail(detail)
            }
            ReturnError::CodeExpired { expired_at } => {
                let problem = Problem::new(410, "return-code-expired", "Return Code Expired")
                    .with_detail(detail);
                match expired_at {
                    Some(at) => problem.with_extension("expired_at", json!(timestamp(at))),
                    None => problem,
                }
            }
            ReturnError::AlreadyReceived { at, store } => {
                Problem::new(409, "already-received", "Already Received")
                    .with_detail(detail)
                    .with_extension("received_at", json!(timestamp(at)))
                    .with_extension("received_store_id", json!(store.as_str()))
            }
            ReturnError::Illegal { current, .. } => {
                Problem::new(409, "illegal-transition", "Illegal Status Transition")
                    .with_detail(detail)
                    .with_extension("current", json!(current.as_str()))
                    .with_extension(
                        "allowed_next",
                        json!(
                            current
                                .allowed_next()
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                        ),
                    )
            }
            ReturnError::WrongStore { store } => Problem::new(403, "wrong-store", "Wrong Store")
                .with_detail(detail)
                .with_extension("store_id", json!(store.as_ref().map(StoreId::as_str))),
            ReturnError::Forbidden(_) => Problem::forbidden(detail),
            ReturnError::Stale { current_version } => {
                let etag = crate::web::etag::etag(current_version);
                Problem::precondition_failed(detail)
                    .with_extension("current_etag", json!(etag))
                    .with_header("etag", etag)
            }
            ReturnError::NotAnExchange {
                sku, replacement, ..
            } => Problem::new(422, "not-an-exchange", "Not An Exchange")
                .with_detail(detail)
                .with_extension("sku", json!(sku.as_str()))
                .with_extension("replacement_sku", json!(replacement.as_str())),
            ReturnError::Stock(e) => Problem::from(e),
            ReturnError::Storage(e) => Problem::from(e),
        }
    }
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
    StorageError::Decode(format!("stored return {what}: {e}"))
}

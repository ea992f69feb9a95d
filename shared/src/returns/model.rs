//! A return case as stored and shown, its lines, its history, and the
//! outcome of an exchange. A read model: every change goes through
//! [`super::cases`].

use super::case_number::CaseNumber;
use super::policy::RefundMethod;
use super::status::RmaStatus;
use crate::ids::{CustomerId, RmaId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::notify::Locale;
use crate::orders::{ActorKind, Via};
use chrono::{DateTime, Utc};

/// What a case returns against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An order of the pickups area (click & collect, ship from store).
    Order,
    /// A till sale recorded through [`super::receipts`].
    Receipt,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Order => "order",
            Source::Receipt => "receipt",
        }
    }
}

/// One returned line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmaLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: u32,
    pub reason: Option<String>,
    /// The line of the order or receipt (0-based) the units come from.
    pub source_line: u32,
    /// Units and paid amount of that whole source line.
    pub line_quantity: u32,
    pub line_paid: Money,
    /// Units of the source line already returned before this case.
    pub unit_offset: u32,
    /// The refund this line gives: quoted at opening, final after intake.
    pub refund: Money,
    /// What the intake found (None before intake).
    pub received_sellable: Option<u32>,
    pub received_damaged: Option<u32>,
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub seq: i64,
    pub from: Option<RmaStatus>,
    pub to: RmaStatus,
    pub at: DateTime<Utc>,
    pub actor: ActorKind,
    /// The principal; staff see it, customers see the role only.
    pub actor_id: String,
    pub channel: Via,
    pub store: Option<StoreId>,
    pub note: Option<String>,
}

/// A replacement line of an exchange.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExchangeLine {
    pub sku: String,
    pub replacement_sku: String,
    pub quantity: u32,
    /// The replacement's price list unit price, minor units.
    pub unit_price_minor: i64,
    /// The returned units' refund share (what was paid for them), minor
    /// units: it pays for the replacements, so the discount is kept.
    pub returned_value_minor: i64,
    /// The returned item's price list unit price, minor units (absent on
    /// exchanges recorded before the list-price rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_unit_price_minor: Option<i64>,
    /// (replacement - returned) list price x units, never below minus the
    /// returned value; minor units (absent on older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference_minor: Option<i64>,
}

/// The outcome of an exchange: the replacement reserved, the difference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exchange {
    pub reservation_id: String,
    pub store_id: String,
    pub hold_until: String,
    pub lines: Vec<ExchangeLine>,
    /// The sum of the lines' list-price differences, minor units: positive
    /// is charged to the customer, negative refunded (see
    /// `cases::exchange_in` for the rule).
    pub difference_minor: i64,
}

/// A return case.
#[derive(Debug, Clone, PartialEq)]
pub struct Rma {
    pub id: RmaId,
    pub case_number: CaseNumber,
    pub source: Source,
    /// The order id or receipt id.
    pub source_id: String,
    pub customer: Option<CustomerId>,
    pub currency: Currency,
    pub status: RmaStatus,
    pub version: i64,
    pub refund_method: RefundMethod,
    pub locale: Locale,
    pub opened_channel: Via,
    pub opened_store: Option<StoreId>,
    pub code_expires_at: DateTime<Utc>,
    pub received: Option<(StoreId, DateTime<Utc>)>,
    /// The amount refunded and when (refunded or exchanged cases).
    pub refunded: Option<(Money, DateTime<Utc>)>,
    pub exchange: Option<Exchange>,
    pub lines: Vec<RmaLine>,
    pub history: Vec<HistoryEntry>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Rma {
    /// The sum of the lines' refunds.
    pub fn refund_total(&self) -> Money {
        Money::sum(self.currency, self.lines.iter().map(|l| &l.refund))
            .unwrap_or(Money::zero(self.currency))
    }

    /// Units on the case after intake (or as opened, before it).
    pub fn units(&self) -> u32 {
        self.lines
            .iter()
            .map(|l| match (l.received_sellable, l.received_damaged) {
                (Some(s), Some(d)) => s + d,
                _ => l.quantity,
            })
            .sum()
    }
}

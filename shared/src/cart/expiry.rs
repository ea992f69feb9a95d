//! Carts untouched for the configured number of days expire, and the end of
//! every cart is recorded as an event for cross-channel measurement: which
//! channel a cart started in and which it finished (or was abandoned) in.
//!
//! Why lazily and by sweep? A Spin component has no timer. A stale cart is
//! expired the moment anyone touches it (so it can never be edited or handed
//! to a till after its time), and an operator's scheduler may call the sweep
//! (`POST /api/carts/expire`) to expire the rest in batches, which is what
//! makes the abandoned-cart figures complete.
//!
//! Why no event for an empty cart? A cart nobody put anything in was never
//! abandoned; counting it would make every app start an abandoned cart.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::pricing::Totals;
use super::store::{CartHeader, cart_id, channel, currency};
use super::{CartError, CartPolicy, CartStatus, parse_timestamp, timestamp};
use crate::channel::Channel;
use crate::ids::{CartId, CustomerId};
use crate::money::Money;
use crate::storage::{Row, Sql, StorageError};

/// How a cart ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Expired with items in it.
    Abandoned,
    /// A checkout of it was completed (paid at a till, or turned into an
    /// order); one event per checkout.
    Converted,
    /// A guest cart merged into a customer's cart at login.
    Merged,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [
        EventKind::Abandoned,
        EventKind::Converted,
        EventKind::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Abandoned => "abandoned",
            EventKind::Converted => "converted",
            EventKind::Merged => "merged",
        }
    }

    pub fn parse(raw: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One recorded end of a cart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CartEvent {
    pub event_id: i64,
    pub cart_id: CartId,
    pub kind: EventKind,
    pub channel_started: Channel,
    pub channel_finished: Channel,
    pub customer_id: Option<CustomerId>,
    pub checkout_id: Option<String>,
    pub line_count: u32,
    pub item_count: u32,
    /// What the items were worth at base prices (abandoned, merged) or what
    /// the checkout's total was (converted).
    pub value: Money,
    #[serde(with = "crate::clock::wire_format")]
    pub occurred_at: DateTime<Utc>,
}

/// The instant before which an untouched cart is stale.
pub fn cutoff(policy: &CartPolicy, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(i64::from(policy.expiry_days()))
}

/// Whether an active cart has been untouched past the expiry.
pub fn is_stale(header: &CartHeader, policy: &CartPolicy, now: DateTime<Utc>) -> bool {
    header.status == CartStatus::Active && header.updated_at < cutoff(policy, now)
}

/// Expires the cart when it is stale, recording it as abandoned when it held
/// items; `true` when it was expired now. Guarded, so two requests racing on
/// the same stale cart expire it and record it once.
pub fn expire_if_stale(
    tx: &dyn Sql,
    header: &CartHeader,
    policy: &CartPolicy,
    now: DateTime<Utc>,
) -> Result<bool, CartError> {
    if !is_stale(header, policy, now) {
        return Ok(false);
    }
    let expired = tx.execute(
        "UPDATE carts SET status = 'expired', version = version + 1
         WHERE id = ?1 AND status = 'active' AND updated_at < ?2 RETURNING id",
        &[
            header.id.as_str().into(),
            timestamp(cutoff(policy, now)).into(),
        ],
    )?;
    if expired.is_empty() {
        return Ok(false);
    }
    record(
        tx,
        header,
        EventKind::Abandoned,
        header.last_channel,
        None,
        now,
    )?;
    Ok(true)
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub expired: u32,
    pub abandoned: u32,
    /// Coupon holds of checkouts that expired unpaid, given back.
    pub coupon_holds_released: u32,
    /// More stale carts remain than one sweep takes; call again.
    pub more: bool,
}

/// Expires up to `limit` stale carts, oldest first, in one transaction.
pub fn expire_stale(
    sql: &dyn Sql,
    policy: &CartPolicy,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<SweepReport, CartError> {
    let cutoff = timestamp(cutoff(policy, now));
    let batch = "SELECT id FROM carts WHERE status = 'active' AND updated_at < ?1 ORDER BY updated_at, id LIMIT ?2";
    crate::storage::in_transaction(sql, |tx| {
        let abandoned = tx.execute(
            &format!(
                "INSERT INTO cart_events (cart_id, kind, channel_started, channel_finished, customer_id, line_count,
                     item_count, value_minor, currency, occurred_at)
                 SELECT c.id, 'abandoned', c.channel, c.last_channel, c.customer_id, count(l.sku), sum(l.quantity),
                     sum(l.quantity * coalesce(p.amount_minor, 0)), c.currency, ?3
                 FROM carts c
                 JOIN cart_lines l ON l.cart_id = c.id
                 LEFT JOIN prices p ON p.sku = l.sku AND p.currency = c.currency
                 WHERE c.id IN ({batch})
                 GROUP BY c.id
                 RETURNING id"
            ),
            &[cutoff.as_str().into(), (i64::from(limit)).into(), timestamp(now).into()],
        )?;
        let expired = tx.execute(
            &format!("UPDATE carts SET status = 'expired', version = version + 1 WHERE id IN ({batch}) RETURNING id"),
            &[cutoff.as_str().into(), (i64::from(limit)).into()],
        )?;
        let coupon_holds_released = super::checkout::release_expired_holds_in(tx, now, limit)?;
        let more = tx.execute(
            "SELECT EXISTS (SELECT 1 FROM carts WHERE status = 'active' AND updated_at < ?1) AS more",
            &[cutoff.as_str().into()],
        )?;
        Ok(SweepReport {
            expired: expired.rows.len() as u32,
            abandoned: abandoned.rows.len() as u32,
            coupon_holds_released,
            more: more
                .first()
                .map(|r| r.integer("more"))
                .transpose()?
                .unwrap_or(0)
                == 1,
        })
    })
}

/// Records how the cart in `header` ended, with its current lines' figures.
pub fn record(
    tx: &dyn Sql,
    header: &CartHeader,
    kind: EventKind,
    channel_finished: Channel,
    checkout_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CartError> {
    tx.execute(
        "INSERT INTO cart_events (cart_id, kind, channel_started, channel_finished, customer_id, checkout_id,
             line_count, item_count, value_minor, currency, occurred_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, n, items, value, ?7, ?8
         FROM (SELECT count(l.sku) AS n, coalesce(sum(l.quantity), 0) AS items,
                   coalesce(sum(l.quantity * coalesce(p.amount_minor, 0)), 0) AS value
               FROM cart_lines l LEFT JOIN prices p ON p.sku = l.sku AND p.currency = ?7
               WHERE l.cart_id = ?1) totals
         WHERE n > 0",
        &[
            header.id.as_str().into(),
            kind.as_str().into(),
            header.channel.as_str().into(),
            channel_finished.as_str().into(),
            header.customer().map(CustomerId::as_str).into(),
            checkout_id.into(),
            header.currency.code().into(),
            timestamp(now).into(),
        ],
    )?;
    Ok(())
}

/// Records a completed checkout with the figures it was sold at.
pub fn record_conversion(
    tx: &dyn Sql,
    header: &CartHeader,
    checkout_id: &str,
    channel_finished: Channel,
    sold: &Totals,
    now: DateTime<Utc>,
) -> Result<(), CartError> {
    tx.execute(
        "INSERT INTO cart_events (cart_id, kind, channel_started, channel_finished, customer_id, checkout_id,
             line_count, item_count, value_minor, currency, occurred_at)
         VALUES (?1, 'converted', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (checkout_id) DO NOTHING",
        &[
            header.id.as_str().into(),
            header.channel.as_str().into(),
            channel_finished.as_str().into(),
            header.customer().map(CustomerId::as_str).into(),
            checkout_id.into(),
            sold.line_count.into(),
            sold.item_count.into(),
            sold.total.to_minor_units().into(),
            sold.total.currency().code().into(),
            timestamp(now).into(),
        ],
    )?;
    Ok(())
}

/// Events after `after` (an event id; 0 for the first page), oldest first,
/// optionally of one kind.
pub fn events(
    sql: &dyn Sql,
    after: i64,
    limit: u32,
    kind: Option<EventKind>,
) -> Result<Vec<CartEvent>, CartError> {
    let rows = sql.execute(
        "SELECT id, cart_id, kind, channel_started, channel_finished, customer_id, checkout_id, line_count,
             item_count, value_minor, currency, occurred_at
         FROM cart_events WHERE id > ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY id LIMIT ?3",
        &[after.into(), kind.map(EventKind::as_str).into(), i64::from(limit).into()],
    )?;
    rows.iter()
        .map(event_from_row)
        .collect::<Result<_, _>>()
        .map_err(CartError::from)
}

fn event_from_row(row: Row<'_>) -> Result<CartEvent, StorageError> {
    let decode = |e: &dyn std::fmt::Display| StorageError::Decode(e.to_string());
    let kind = row.text("kind")?;
    Ok(CartEvent {
        event_id: row.integer("id")?,
        cart_id: cart_id(row.text("cart_id")?)?,
        kind: EventKind::parse(kind).ok_or_else(|| decode(&format!("event kind {kind:?}")))?,
        channel_started: channel(row.text("channel_started")?)?,
        channel_finished: channel(row.text("channel_finished")?)?,
        customer_id: row
            .opt_text("customer_id")?
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| decode(&e))?,
        checkout_id: row.opt_text("checkout_id")?.map(str::to_owned),
        line_count: super::store::count(row.integer("line_count")?)?,
        item_count: super::store::count(row.integer("item_count")?)?,
        value: Money::from_minor_units(
            row.integer("value_minor")?,
            currency(row.text("currency")?)?,
        )
        .map_err(|e| decode(&e))?,
        occurred_at: parse_timestamp(row.text("occurred_at")?)?,
    })
}

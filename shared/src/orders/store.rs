//! The orders' SQL reads: one order with its lines, lists for a customer,
//! a store or ops, and the history. Writes live with the rule that makes
//! them ([`super::place`], [`super::transition`], [`super::sweep`]).

use super::model::{Collection, DeliveryAddress, HistoryEntry, Order, OrderLine, Tracking, Via};
use super::status::{ActorKind, OrderStatus};
use super::{decode_err, parse_timestamp, timestamp};
use crate::channel::Channel;
use crate::hours::TimeZone;
use crate::ids::{CustomerId, OrderId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::notify::Locale;
use crate::stock::ReservationId;
use crate::storage::{Row, Sql, SqlValue, StorageError};
use chrono::{DateTime, Utc};

pub(crate) const COLUMNS: &str = "id, customer_id, fulfilment, store_id, store_name, store_address, time_zone, store_locale,
    delivery_address, status, version, currency, total_paid_minor, reservation_id, checkout_id, channel, locale,
    ready_by, sla_at_risk_at, sla_alerted_at, sla_breached_at, ready_at, pickup_until, collected_at,
    collected_store, tracking_carrier, tracking_url, created_at, updated_at";

/// The order with this id, lines included.
pub fn load(sql: &dyn Sql, id: &OrderId) -> Result<Option<Order>, StorageError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM orders WHERE id = ?1"),
        &[id.as_str().into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let lines = lines(sql, id, currency(row)?)?;
    order(row, lines).map(Some)
}

/// Which orders a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub customer: Option<CustomerId>,
    pub store: Option<StoreId>,
    pub status: Option<OrderStatus>,
    /// Only open orders whose SLA alert time has passed.
    pub at_risk_at: Option<DateTime<Utc>>,
    /// The work queue: only orders still to prepare (placed, accepted,
    /// picking), the one due first at the top.
    pub queue: bool,
    /// Only orders after this one in the list's order (the previous page's
    /// last order, from a cursor).
    pub after: Option<ListKey>,
}

/// An order's place in a list: what both orders sort by (a queue by
/// `ready_by`, then newest first), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKey {
    pub ready_by: String,
    pub created_at: String,
    pub id: String,
}

impl ListKey {
    pub fn of(order: &Order) -> ListKey {
        ListKey {
            ready_by: timestamp(order.ready_by),
            created_at: timestamp(order.created_at),
            id: order.id.to_string(),
        }
    }
}

/// The most orders one list answer holds.
pub const MAX_LIST: u32 = 100;

/// Orders matching `filter`, newest first (a queue: soonest due first), at
/// most `limit` (one more than [`MAX_LIST`] at most, so a page can tell
/// whether another follows).
pub fn list(sql: &dyn Sql, filter: &Filter, limit: u32) -> Result<Vec<Order>, StorageError> {
    let at_risk = filter.at_risk_at.map(timestamp);
    let after = filter.after.as_ref();
    let rows = sql.execute(
        &format!(
            "SELECT {COLUMNS} FROM orders
             WHERE (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR store_id = ?2) AND (?3 IS NULL OR status = ?3)
               AND (?4 IS NULL OR (status IN ('placed', 'accepted', 'picking') AND sla_at_risk_at <= ?4))
               AND (?6 = 0 OR status IN ('placed', 'accepted', 'picking'))
               AND (?9 IS NULL
                    OR (?6 = 0 AND (created_at < ?8 OR (created_at = ?8 AND id < ?9)))
                    OR (?6 = 1 AND (ready_by > ?7 OR (ready_by = ?7 AND (created_at < ?8 OR (created_at = ?8 AND id < ?9))))))
             ORDER BY CASE WHEN ?6 = 1 THEN ready_by END ASC, created_at DESC, id DESC LIMIT ?5"
        ),
        &[
            filter.customer.as_ref().map(CustomerId::as_str).into(),
            filter.store.as_ref().map(StoreId::as_str).into(),
            filter.status.map(OrderStatus::as_str).into(),
            at_risk.into(),
            limit.min(MAX_LIST + 1).into(),
            i64::from(filter.queue).into(),
            after.map(|k| k.ready_by.as_str()).into(),
            after.map(|k| k.created_at.as_str()).into(),
            after.map(|k| k.id.as_str()).into(),
        ],
    )?;
    rows.iter()
        .map(|row| {
            let id = OrderId::parse(row.text("id")?).map_err(|e| decode_err("id", e))?;
            order(row, lines(sql, &id, currency(row)?)?)
        })
        .collect()
}

/// The order's history, oldest first.
pub fn history(sql: &dyn Sql, id: &OrderId) -> Result<Vec<HistoryEntry>, StorageError> {
    sql.execute(
        "SELECT seq, from_status, to_status, actor_kind, actor_id, via, note, at FROM order_history
         WHERE order_id = ?1 ORDER BY seq",
        &[id.as_str().into()],
    )?
    .iter()
    .map(|row| {
        Ok(HistoryEntry {
            seq: row.integer("seq")?,
            from: row.opt_text("from_status")?.map(status).transpose()?,
            to: status(row.text("to_status")?)?,
            at: parse_timestamp(row.text("at")?)?,
            actor: ActorKind::parse(row.text("actor_kind")?)
                .ok_or_else(|| decode_err("actor", "unknown kind"))?,
            actor_id: row.text("actor_id")?.to_owned(),
            channel: Via::from_stored(row.text("via")?)
                .ok_or_else(|| decode_err("via", "unknown channel"))?,
            note: row.opt_text("note")?.map(str::to_owned),
        })
    })
    .collect()
}

fn lines(sql: &dyn Sql, id: &OrderId, currency: Currency) -> Result<Vec<OrderLine>, StorageError> {
    sql.execute(
        "SELECT sku, name, quantity, unit_price_minor, paid_minor FROM order_lines WHERE order_id = ?1 ORDER BY line",
        &[id.as_str().into()],
    )?
    .iter()
    .map(|row| {
        let money = |column: &str| {
            Money::from_minor_units(row.integer(column)?, currency).map_err(|e| decode_err(column, e))
        };
        Ok(OrderLine {
            sku: Sku::parse(row.text("sku")?).map_err(|e| decode_err("sku", e))?,
            name: row.text("name")?.to_owned(),
            quantity: u32::try_from(row.integer("quantity")?).map_err(|e| decode_err("quantity", e))?,
            unit_price: money("unit_price_minor")?,
            paid: money("paid_minor")?,
        })
    })
    .collect()
}

fn currency(row: Row<'_>) -> Result<Currency, StorageError> {
    Currency::parse(row.text("currency")?).map_err(|e| decode_err("currency", e))
}

fn status(raw: &str) -> Result<OrderStatus, StorageError> {
    OrderStatus::parse(raw).ok_or_else(|| decode_err("status", raw))
}

/// An order from a row of [`COLUMNS`] (a read, or an `UPDATE ... RETURNING`
/// that changes no line) and its lines.
pub(crate) fn decode(row: Row<'_>, lines: Vec<OrderLine>) -> Result<Order, StorageError> {
    order(row, lines)
}

fn order(row: Row<'_>, lines: Vec<OrderLine>) -> Result<Order, StorageError> {
    let time = |column: &str| parse_timestamp(row.text(column)?);
    let opt_time = |column: &str| row.opt_text(column)?.map(parse_timestamp).transpose();
    let currency = currency(row)?;
    let collected = match (opt_time("collected_at")?, row.opt_text("collected_store")?) {
        (Some(at), Some(store)) => Some(Collection {
            at,
            store_id: StoreId::parse(store).map_err(|e| decode_err("collected_store", e))?,
        }),
        _ => None,
    };
    let tracking = match (
        row.opt_text("tracking_carrier")?,
        row.opt_text("tracking_url")?,
    ) {
        (Some(carrier), Some(url)) => Some(Tracking {
            carrier: carrier.to_owned(),
            url: url.to_owned(),
        }),
        _ => None,
    };
    let delivery_address = row
        .opt_text("delivery_address")?
        .map(serde_json::from_str::<DeliveryAddress>)
        .transpose()
        .map_err(|e| decode_err("delivery_address", e))?;
    Ok(Order {
        id: OrderId::parse(row.text("id")?).map_err(|e| decode_err("id", e))?,
        customer: CustomerId::parse(row.text("customer_id")?)
            .map_err(|e| decode_err("customer", e))?,
        fulfilment: super::Fulfilment::parse(row.text("fulfilment")?)
            .ok_or_else(|| decode_err("fulfilment", "?"))?,
        store: StoreId::parse(row.text("store_id")?).map_err(|e| decode_err("store", e))?,
        store_name: row.text("store_name")?.to_owned(),
        store_address: row.text("store_address")?.to_owned(),
        time_zone: TimeZone::parse(row.text("time_zone")?)
            .map_err(|e| decode_err("time_zone", e))?,
        store_locale: Locale::parse(row.text("store_locale")?)
            .map_err(|e| decode_err("store_locale", e))?,
        delivery_address,
        status: status(row.text("status")?)?,
        version: row.integer("version")?,
        currency,
        lines,
        total_paid: Money::from_minor_units(row.integer("total_paid_minor")?, currency)
            .map_err(|e| decode_err("total", e))?,
        reservation: row
            .opt_text("reservation_id")?
            .map(ReservationId::parse)
            .transpose()
            .map_err(|e| decode_err("reservation", e))?,
        checkout: row.opt_text("checkout_id")?.map(str::to_owned),
        channel: Channel::parse(row.text("channel")?).map_err(|e| decode_err("channel", e))?,
        locale: Locale::parse(row.text("locale")?).map_err(|e| decode_err("locale", e))?,
        ready_by: time("ready_by")?,
        sla_at_risk_at: time("sla_at_risk_at")?,
        sla_alerted_at: opt_time("sla_alerted_at")?,
        sla_breached_at: opt_time("sla_breached_at")?,
        ready_at: opt_time("ready_at")?,
        pickup_until: opt_time("pickup_until")?,
        collected,
        tracking,
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}

/// Appends one history row; `seq` is the order version the change made.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    tx: &dyn Sql,
    id: &OrderId,
    seq: i64,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: &super::Actor,
    via: Via,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO order_history (order_id, seq, from_status, to_status, actor_kind, actor_id, via, note, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            id.as_str().into(),
            seq.into(),
            from.map(OrderStatus::as_str).into(),
            to.as_str().into(),
            actor.kind().as_str().into(),
            actor.principal().into(),
            via.as_str().into(),
            note.into(),
            SqlValue::Text(timestamp(now)),
        ],
    )
    .map(drop)
}

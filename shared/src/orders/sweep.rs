//! The sweep a scheduler (or cron) calls: SLA alerts before a miss,
//! breaches when it happens, expiry of uncollected orders; and the per-store
//! SLA hit rate ops read.
//!
//! Running it twice does nothing twice: each step is a guarded UPDATE that
//! marks what it handles (`sla_alerted_at`, `sla_breached_at`, the status
//! `expired`) in the same transaction that queues the alert, and only rows
//! not yet marked qualify. The outbox's dedupe key covers the rest.
//! Notification retries are the component's part of the sweep (delivery
//! happens outside any transaction: see [`crate::notify::outbox`]).

use super::model::{Actor, Via};
use super::status::OrderStatus;
use super::transition::{Move, Settings, after_commit, apply_in, notify_store};
use super::{OrderError, parse_timestamp, store, timestamp};
use crate::ids::{OrderId, StoreId};
use crate::notify::Event;
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Orders newly past their alert share (stores alerted, unless already
    /// breached).
    pub at_risk: u32,
    /// Orders newly past their promised ready-by time.
    pub breached: u32,
    /// Uncollected orders expired, their stock back on sale.
    pub expired: u32,
}

/// One sweep, at most `limit` orders per step.
pub fn sweep(
    sql: &dyn Sql,
    settings: Settings,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<SweepReport, OrderError> {
    let at = timestamp(now);
    let at_risk = in_transaction(sql, |tx| -> Result<u32, OrderError> {
        let flagged = tx.execute(
            "UPDATE orders SET sla_alerted_at = ?1
             WHERE id IN (SELECT id FROM orders
                          WHERE status IN ('placed', 'accepted', 'picking') AND sla_at_risk_at <= ?1
                            AND sla_alerted_at IS NULL
                          ORDER BY sla_at_risk_at LIMIT ?2)
             RETURNING id",
            &[at.as_str().into(), limit.into()],
        )?;
        for id in ids(&flagged)? {
            let order = store::load(tx, &id)?.ok_or(OrderError::NotFound)?;
            if order.ready_by > now {
                notify_store(tx, &order, Event::SlaAtRisk, settings, now)?;
            }
        }
        Ok(flagged.rows.len() as u32)
    })?;

    let breached = in_transaction(sql, |tx| -> Result<u32, OrderError> {
        let flagged = tx.execute(
            "UPDATE orders SET sla_breached_at = ?1, sla_alerted_at = COALESCE(sla_alerted_at, ?1)
             WHERE id IN (SELECT id FROM orders
                          WHERE status IN ('placed', 'accepted', 'picking') AND ready_by <= ?1
                            AND sla_breached_at IS NULL
                          ORDER BY ready_by LIMIT ?2)
             RETURNING id",
            &[at.as_str().into(), limit.into()],
        )?;
        for id in ids(&flagged)? {
            let order = store::load(tx, &id)?.ok_or(OrderError::NotFound)?;
            notify_store(tx, &order, Event::SlaBreached, settings, now)?;
        }
        Ok(flagged.rows.len() as u32)
    })?;

    let expired = in_transaction(sql, |tx| -> Result<Vec<super::Order>, OrderError> {
        let due = tx.execute(
            "SELECT id FROM orders WHERE status = 'ready_for_pickup' AND pickup_until <= ?1
             ORDER BY pickup_until LIMIT ?2",
            &[at.as_str().into(), limit.into()],
        )?;
        let system = Actor::system();
        let change = Move {
            to: OrderStatus::Expired,
            via: Via::System,
            note: None,
            tracking: None,
        };
        let mut done = Vec::new();
        for id in ids(&due)? {
            let order = store::load(tx, &id)?.ok_or(OrderError::NotFound)?;
            done.push(apply_in(tx, &order, &change, &system, settings, now)?);
        }
        Ok(done)
    })?;
    for order in &expired {
        after_commit(sql, order, now);
    }
    Ok(SweepReport {
        at_risk,
        breached,
        expired: expired.len() as u32,
    })
}

fn ids(rows: &crate::storage::Rows) -> Result<Vec<OrderId>, StorageError> {
    rows.iter()
        .map(|r| {
            OrderId::parse(r.text("id")?)
                .map_err(|e| StorageError::Decode(format!("order id: {e}")))
        })
        .collect()
}

/// One store's SLA record over a period (orders placed in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreSla {
    pub store_id: String,
    pub orders: i64,
    /// Ready (or shipped) by the promised time.
    pub met: i64,
    /// Ready late, or still not ready past the promise.
    pub missed: i64,
    /// Not ready yet, promise still ahead.
    pub open: i64,
    /// Cancelled before they were ready: no promise left to keep.
    pub void: i64,
    /// Orders the store was alerted about before (or at) the miss.
    pub alerted: i64,
    /// `met / (met + missed)`, four decimals; `None` with nothing decided.
    pub hit_rate: Option<Decimal>,
}

/// Per-store SLA figures for orders placed in `[from, to)`, one store or all.
pub fn sla_report(
    sql: &dyn Sql,
    store: Option<&StoreId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<StoreSla>, StorageError> {
    let rows = sql.execute(
        "SELECT store_id, count(*) AS orders,
             sum(ready_at IS NOT NULL AND ready_at <= ready_by) AS met,
             sum((ready_at IS NOT NULL AND ready_at > ready_by)
                 OR (ready_at IS NULL AND status IN ('placed', 'accepted', 'picking') AND ready_by <= ?4)) AS missed,
             sum(ready_at IS NULL AND status IN ('placed', 'accepted', 'picking') AND ready_by > ?4) AS open,
             sum(ready_at IS NULL AND status IN ('cancelled', 'expired')) AS void,
             sum(sla_alerted_at IS NOT NULL) AS alerted
         FROM orders WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR store_id = ?3)
         GROUP BY store_id ORDER BY store_id",
        &[timestamp(from).into(), timestamp(to).into(), store.map(StoreId::as_str).into(), timestamp(now).into()],
    )?;
    rows.iter()
        .map(|row| {
            let met = row.integer("met")?;
            let missed = row.integer("missed")?;
            let decided = met + missed;
            Ok(StoreSla {
                store_id: row.text("store_id")?.to_owned(),
                orders: row.integer("orders")?,
                met,
                missed,
                open: row.integer("open")?,
                void: row.integer("void")?,
                alerted: row.integer("alerted")?,
                hit_rate: (decided > 0).then(|| {
                    (Decimal::from(met) / Decimal::from(decided))
                        .round_dp(4)
                        .normalize()
                }),
            })
        })
        .collect()
}

/// Reads an RFC 3339 instant from a query parameter.
pub fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    parse_timestamp(raw).ok()
}

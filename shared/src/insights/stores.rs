//! Click & collect per store: pickup rate, time from ready to collected,
//! the SLA hit rate (per store and per day), orders at risk now, missed
//! promises and uncollected expiries.
//!
//! Definitions, over click & collect orders placed (`created_at`) within
//! the range, cancelled ones left out of every figure:
//! - *collected*: handed over to the customer (`collected_at` set);
//!   *expired*: never collected before the pickup window closed;
//!   *waiting*: ready and not collected yet;
//! - *pickup rate*: collected / (collected + expired) (orders still
//!   waiting are not decided yet);
//! - *ready to collected*: the mean of `collected_at - ready_at` over
//!   collected orders, in minutes;
//! - *SLA met*: ready at or before the promised `ready_by`; *SLA missed*:
//!   ready after it, or not ready and still open when `ready_by` has passed
//!   (now); *SLA hit rate*: met / (met + missed);
//! - *at risk now*: still open, past its at-risk time, `ready_by` not passed.
//!
//! The store filter is the collecting store; the channel filter is the
//! channel the order was placed in. Days are the days orders were placed.

use super::{Scope, filter_on, ratio};
use crate::clock::wire;
use crate::storage::{Sql, SqlValue, StorageError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stores {
    pub stores: Vec<StoreFigures>,
    /// Every store in scope together.
    pub total: Figures,
    /// Every local day of the range, in order.
    pub sla_by_day: Vec<SlaDay>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StoreFigures {
    pub store_id: String,
    pub store_name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    pub orders: i64,
    pub ready: i64,
    pub collected: i64,
    pub expired: i64,
    pub waiting: i64,
    pub pickup_rate: Option<f64>,
    pub average_ready_to_collected_minutes: Option<f64>,
    pub sla_met: i64,
    pub sla_missed: i64,
    pub sla_hit_rate: Option<f64>,
    pub at_risk_now: i64,
    #[serde(skip)]
    ready_to_collected_seconds: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlaDay {
    pub date: NaiveDate,
    pub sla_met: i64,
    pub sla_missed: i64,
    pub sla_hit_rate: Option<f64>,
}

/// Ready by the promise.
const MET: &str = "ready_at IS NOT NULL AND ready_at <= ready_by";
/// Ready, but after the promise.
const LATE: &str = "ready_at IS NOT NULL AND ready_at > ready_by";

/// The statuses of an order not ready yet.
const OPEN: &str = "('placed', 'accepted', 'picking')";

/// Why three queries? Every order's figures but two depend on the order
/// alone and are summed in one pass over the store-first index; "missed
/// while still open" and "at risk now" depend on now, and only open orders
/// (a store's work in hand, a few at a time) can have them, so they are
/// read from the open-orders index and counted here. Each `sum` over a
/// year of orders costs a few milliseconds; these two would cost the most.
pub fn report(sql: &dyn Sql, scope: &Scope, now: DateTime<Utc>) -> Result<Stores, StorageError> {
    let mut filter_params: Vec<SqlValue> = Vec::new();
    let mut filters = String::new();
    filter_on(
        &mut filters,
        &mut filter_params,
        "store_id",
        scope.store.as_ref().map(ToString::to_string),
    );
    filter_on(
        &mut filters,
        &mut filter_params,
        "channel",
        scope.channel.map(|c| c.as_str().to_owned()),
    );
    let scoped = format!(
        "created_at >= ? AND created_at < ? AND fulfilment = 'click_and_collect' AND status <> 'cancelled'{filters}"
    );
    let scoped_params = || -> Vec<SqlValue> {
        let mut params = scope.bounds().to_vec();
        params.extend(filter_params.iter().cloned());
        params
    };

    // Per store: the store-first index streams one store after another.
    let per_store = format!(
        "SELECT g.*, (SELECT store_name FROM orders INDEXED BY orders_pickups_by_store
                      WHERE store_id = g.store_id AND fulfilment = 'click_and_collect' LIMIT 1) AS store_name
         FROM (SELECT store_id, count(*) AS orders,
                   sum(ready_at IS NOT NULL) AS ready,
                   sum(collected_at IS NOT NULL) AS collected,
                   sum(status = 'expired') AS expired,
                   sum(status = 'ready_for_pickup') AS waiting,
                   sum(CASE WHEN collected_at IS NOT NULL AND ready_at IS NOT NULL
                       THEN (julianday(collected_at) - julianday(ready_at)) * 86400.0 END) AS ready_to_collected_seconds,
                   sum({MET}) AS sla_met,
                   sum({LATE}) AS late
               FROM orders INDEXED BY orders_pickups_by_store WHERE {scoped}
               GROUP BY store_id) g
         ORDER BY g.store_id"
    );
    let mut stores: BTreeMap<String, StoreFigures> = BTreeMap::new();
    for row in sql.execute(&per_store, &scoped_params())?.iter() {
        let store_id = row.text("store_id")?.to_owned();
        stores.insert(
            store_id.clone(),
            StoreFigures {
                store_id,
                store_name: row.opt_text("store_name")?.unwrap_or_default().to_owned(),
                figures: Figures {
                    orders: row.integer("orders")?,
                    ready: row.integer("ready")?,
                    collected: row.integer("collected")?,
                    expired: row.integer("expired")?,
                    waiting: row.integer("waiting")?,
                    sla_met: row.integer("sla_met")?,
                    sla_missed: row.integer("late")?,
                    ready_to_collected_seconds: match row.value("ready_to_collected_seconds")? {
                        SqlValue::Real(seconds) => *seconds,
                        SqlValue::Integer(seconds) => *seconds as f64,
                        _ => 0.0,
                    },
                    ..Figures::default()
                },
            },
        );
    }

    // Per local day: each day's UTC bounds seek the time-first index, one
    // sum per day, so nothing is sorted.
    let (days, mut params) = scope.days_sql();
    let day_filter = format!(
        "created_at >= d.starts AND created_at < d.ends AND fulfilment = 'click_and_collect' AND status <> 'cancelled'{filters}"
    );
    for _ in 0..2 {
        params.extend(filter_params.iter().cloned());
    }
    let per_day = format!(
        "WITH {days}
         SELECT d.day,
             (SELECT sum({MET}) FROM orders INDEXED BY orders_pickups_by_day WHERE {day_filter}) AS sla_met,
             (SELECT sum({LATE}) FROM orders INDEXED BY orders_pickups_by_day WHERE {day_filter}) AS late
         FROM d"
    );
    let mut by_day: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    for row in sql.execute(&per_day, &params)?.iter() {
        let day = row.text("day")?;
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| StorageError::Decode(format!("day {day:?}")))?;
        by_day.insert(
            day,
            (
                row.opt_integer("sla_met")?.unwrap_or(0),
                row.opt_integer("late")?.unwrap_or(0),
            ),
        );
    }

    // The open orders: missed if their promise has passed, at risk if
    // their at-risk time has.
    let open = format!(
        "SELECT store_id, store_name, created_at, ready_by, sla_at_risk_at FROM orders INDEXED BY orders_sla_due
         WHERE status IN {OPEN} AND {scoped}"
    );
    let now_text = wire(now);
    for row in sql.execute(&open, &scoped_params())?.iter() {
        let (ready_by, at_risk) = (row.text("ready_by")?, row.text("sla_at_risk_at")?);
        let store_id = row.text("store_id")?;
        let store = stores
            .entry(store_id.to_owned())
            .or_insert_with(|| StoreFigures {
                store_id: store_id.to_owned(),
                store_name: row.text("store_name").unwrap_or_default().to_owned(),
                figures: Figures::default(),
            });
        if ready_by <= now_text.as_str() {
            store.figures.sla_missed += 1;
            let placed = row.text("created_at")?;
            let placed: DateTime<Utc> = placed
                .parse()
                .map_err(|_| StorageError::Decode(format!("created_at {placed:?}")))?;
            by_day.entry(scope.zone.local(placed).date()).or_default().1 += 1;
        } else if at_risk <= now_text.as_str() {
            store.figures.at_risk_now += 1;
        }
    }

    let mut report = Stores::default();
    for (_, store) in stores {
        add(&mut report.total, &store.figures);
        report.stores.push(StoreFigures {
            figures: rated(store.figures),
            ..store
        });
    }
    report.total = rated(report.total);
    report.sla_by_day = scope
        .days()
        .map(|date| {
            let (met, missed) = by_day.get(&date).copied().unwrap_or_default();
            SlaDay {
                date,
                sla_met: met,
                sla_missed: missed,
                sla_hit_rate: ratio(met, met + missed),
            }
        })
        .collect();
    Ok(report)
}

fn add(total: &mut Figures, store: &Figures) {
    total.orders += store.orders;
    total.ready += store.ready;
    total.collected += store.collected;
    total.expired += store.expired;
    total.waiting += store.waiting;
    total.sla_met += store.sla_met;
    total.sla_missed += store.sla_missed;
    total.at_risk_now += store.at_risk_now;
    total.ready_to_collected_seconds += store.ready_to_collected_seconds;
}

fn rated(mut f: Figures) -> Figures {
    f.pickup_rate = ratio(f.collected, f.collected + f.expired);
    f.sla_hit_rate = ratio(f.sla_met, f.sla_met + f.sla_missed);
    f.average_ready_to_collected_minutes = (f.collected > 0)
        .then(|| (f.ready_to_collected_seconds / f.collected as f64 / 60.0 * 10.0).round() / 10.0);
    f
}

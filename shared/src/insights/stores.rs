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
/// Ready after the promise, or still open when it passed (`?3` is now).
const MISSED: &str = "(ready_at IS NOT NULL AND ready_at > ready_by)
        OR (ready_at IS NULL AND status IN ('placed', 'accepted', 'picking') AND ready_by <= ?3)";

/// The per-order indicator columns the per-store grouping sums; `?3` is now.
fn indicators() -> String {
    format!(
        "count(*) AS orders,
        sum(ready_at IS NOT NULL) AS ready,
        sum(collected_at IS NOT NULL) AS collected,
        sum(status = 'expired') AS expired,
        sum(status = 'ready_for_pickup') AS waiting,
        sum(CASE WHEN collected_at IS NOT NULL AND ready_at IS NOT NULL
            THEN (julianday(collected_at) - julianday(ready_at)) * 86400.0 END) AS ready_to_collected_seconds,
        sum({MET}) AS sla_met,
        sum({MISSED}) AS sla_missed,
        sum(status IN ('placed', 'accepted', 'picking') AND sla_at_risk_at <= ?3 AND ready_by > ?3) AS at_risk_now"
    )
}

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

    // Per store: the store-first index streams one store after another.
    let mut params: Vec<SqlValue> = scope.bounds().to_vec();
    params.push(wire(now).into());
    params.extend(filter_params.iter().cloned());
    let per_store = format!(
        "SELECT store_id, max(store_name) AS store_name, {indicators}
         FROM orders INDEXED BY orders_pickups_by_store
         WHERE created_at >= ?1 AND created_at < ?2 AND fulfilment = 'click_and_collect'
             AND status <> 'cancelled'{filters}
         GROUP BY store_id ORDER BY store_id",
        indicators = indicators(),
    );
    let mut report = Stores::default();
    for row in sql.execute(&per_store, &params)?.iter() {
        let figures = Figures {
            orders: row.integer("orders")?,
            ready: row.integer("ready")?,
            collected: row.integer("collected")?,
            expired: row.integer("expired")?,
            waiting: row.integer("waiting")?,
            sla_met: row.integer("sla_met")?,
            sla_missed: row.integer("sla_missed")?,
            at_risk_now: row.integer("at_risk_now")?,
            ready_to_collected_seconds: match row.value("ready_to_collected_seconds")? {
                SqlValue::Real(seconds) => *seconds,
                SqlValue::Integer(seconds) => *seconds as f64,
                _ => 0.0,
            },
            ..Figures::default()
        };
        add(&mut report.total, &figures);
        report.stores.push(StoreFigures {
            store_id: row.text("store_id")?.to_owned(),
            store_name: row.text("store_name")?.to_owned(),
            figures: rated(figures),
        });
    }
    report.total = rated(report.total);

    // Per local day: each day's UTC bounds seek the time-first index.
    let (days, mut params) = scope.days_sql();
    params.push(wire(now).into());
    params.extend(filter_params);
    let per_day = format!(
        "WITH {days}
         SELECT d.day, sum({MET}) AS sla_met, sum({MISSED}) AS sla_missed
         FROM d JOIN orders INDEXED BY orders_pickups_by_day ON created_at >= d.starts AND created_at < d.ends
         WHERE fulfilment = 'click_and_collect' AND status <> 'cancelled'{filters}
         GROUP BY d.day",
        MISSED = MISSED.replace("?3", "?"),
    );
    let mut by_day: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in sql.execute(&per_day, &params)?.iter() {
        by_day.insert(
            row.text("day")?.to_owned(),
            (row.integer("sla_met")?, row.integer("sla_missed")?),
        );
    }
    report.sla_by_day = scope
        .days()
        .map(|date| {
            let (met, missed) = by_day.get(&date.to_string()).copied().unwrap_or_default();
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

//! Cross-channel insights: the figures omnichannel retail is run by, read
//! from the rows the other areas already keep (orders, cart events, return
//! cases, coupon redemptions). Aggregates only: no answer names a customer.
//!
//! Every report takes one [`Scope`]: a range of calendar days in the
//! retailer's time zone (inclusive), optionally one store and one channel.
//! Each figure's exact definition is written on its field here and in the
//! insights component's OpenAPI document; the unit tests check each one on
//! hand-computed rows.
//!
//! Why read the areas' own tables and not a copy? The edge has no warehouse,
//! and a copy written beside each event would be one more write on every hot
//! path. The reports are read-only aggregates, bounded by the range (at most
//! [`MAX_DAYS`] days) and each served by one index ([`INDEXES`]) that holds
//! every column it reads, in the order it groups by, so a report reads the
//! index alone and never sorts: a year of 100,000 orders answers in tens of
//! milliseconds (BENCHMARKS.md, "Insights").
//!
//! Why `INDEXED BY`? The app never runs `ANALYZE`, and without statistics
//! SQLite prefers an index on the range column and then sorts every row for
//! the `GROUP BY`, five to fifteen times slower over a year. Naming the index
//! makes the plan the same on every database; the index ships in the same
//! migration step as the query, so it cannot be missing.
//!
//! Why are days given to SQL? Days are the retailer's, and a day in Warsaw
//! is not a day in UTC (nor always 24 hours long). SQLite knows no time
//! zones, so [`Scope::days_sql`] hands it each local day's UTC bounds.

pub mod journeys;
pub mod promotions;
pub mod returns;
pub mod sales;
pub mod stores;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use crate::channel::Channel;
use crate::clock::wire;
use crate::hours::TimeZone;
use crate::ids::StoreId;
use crate::money::{Currency, Money};
use crate::storage::{SqlValue, StorageError};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The longest range one report covers: a year and a bit, so a
/// year-on-year comparison fits and no query scans unbounded history.
pub const MAX_DAYS: i64 = 400;

/// The range a page opens with when none is named: the last four weeks.
pub const DEFAULT_DAYS: i64 = 28;

/// The indexes the reports are served by (one migration step). Each is
/// keyed by the instant a report ranges over, then covers the columns it
/// groups and sums, so a report reads the index alone.
pub const INDEXES: &str = "CREATE INDEX orders_sales_insights ON orders
        (channel, fulfilment, currency, created_at, status, total_paid_minor, store_id);
    CREATE INDEX orders_pickups_by_store ON orders
        (store_id, created_at, channel, status, ready_at, ready_by, collected_at, sla_at_risk_at, store_name, fulfilment)
        WHERE fulfilment = 'click_and_collect';
    CREATE INDEX orders_pickups_by_day ON orders
        (created_at, store_id, channel, status, ready_at, ready_by, fulfilment)
        WHERE fulfilment = 'click_and_collect';
    CREATE INDEX cart_events_journeys ON cart_events
        (kind, channel_started, channel_finished, currency, occurred_at, value_minor);
    CREATE INDEX return_cases_by_opening ON return_cases (created_at);
    CREATE INDEX redemptions_committed_by_channel ON redemptions
        (channel, currency, committed_at, total_discount_minor, store_id) WHERE state = 'committed';
    CREATE INDEX redemptions_committed_by_id ON redemptions
        (id, committed_at, channel, store_id) WHERE state = 'committed';
    CREATE INDEX redemption_uses_by_promotion ON redemption_uses (promotion_id, released, redemption_id)";

/// Why a scope is refused; each names the query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    BadDate {
        parameter: &'static str,
        found: String,
    },
    Reversed {
        from: NaiveDate,
        to: NaiveDate,
    },
    TooLong {
        days: i64,
    },
    BadStore(String),
    BadChannel(String),
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::BadDate { parameter, found } => {
                write!(
                    f,
                    "{parameter}: {found:?} is not a calendar date (YYYY-MM-DD)"
                )
            }
            ScopeError::Reversed { from, to } => {
                write!(f, "from: {from} is after to ({to})")
            }
            ScopeError::TooLong { days } => {
                write!(f, "to: the range spans {days} days; at most {MAX_DAYS}")
            }
            ScopeError::BadStore(e) => write!(f, "store_id: {e}"),
            ScopeError::BadChannel(e) => write!(f, "channel: {e}"),
        }
    }
}

/// What one report covers: local days `from..=to` in `zone`, as the UTC
/// instants `[start, end)`, and the optional store and channel filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub zone: TimeZone,
    pub store: Option<StoreId>,
    pub channel: Option<Channel>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Scope {
    /// Parses the query's values. Missing dates default to the
    /// [`DEFAULT_DAYS`] days up to and including `today` (local).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        store: Option<&str>,
        channel: Option<&str>,
        zone: TimeZone,
        now: DateTime<Utc>,
    ) -> Result<Scope, ScopeError> {
        // Exactly `YYYY-MM-DD`: chrono alone would also take `2026-1-5`.
        let date = |parameter: &'static str, raw: &str| {
            let shaped = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
            shaped
                .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
                .flatten()
                .ok_or_else(|| ScopeError::BadDate {
                    parameter,
                    found: raw.chars().take(32).collect(),
                })
        };
        let today = zone.local(now).date();
        let to = to.map(|raw| date("to", raw)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(raw) => date("from", raw)?,
            None => to - Duration::days(DEFAULT_DAYS - 1),
        };
        if from > to {
            return Err(ScopeError::Reversed { from, to });
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_DAYS {
            return Err(ScopeError::TooLong { days });
        }
        let store = store
            .map(StoreId::parse)
            .transpose()
            .map_err(|e| ScopeError::BadStore(e.to_string()))?;
        let channel = channel
            .map(Channel::parse)
            .transpose()
            .map_err(|e| ScopeError::BadChannel(e.to_string()))?;
        let midnight =
            |day: NaiveDate| zone.first_instant_at_or_after(day.and_time(NaiveTime::MIN));
        Ok(Scope {
            from,
            to,
            zone,
            store,
            channel,
            start: midnight(from),
            end: midnight(to + Duration::days(1)),
        })
    }

    /// The first instant of the range (local midnight starting `from`).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the range (local midnight after `to`).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The range's bounds as SQL text values, compared with the stored
    /// RFC 3339 instants (which sort as text).
    fn bounds(&self) -> [SqlValue; 2] {
        [wire(self.start).into(), wire(self.end).into()]
    }

    /// Every local day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(|d| *d <= self.to)
    }

    /// Every local day of the range with its UTC bounds, as SQL: a
    /// `d(day, starts, ends)` table expression to join on, and its values.
    pub fn days_sql(&self) -> (String, Vec<SqlValue>) {
        let midnight = |day: NaiveDate| {
            self.zone
                .first_instant_at_or_after(day.and_time(NaiveTime::MIN))
        };
        let mut values = Vec::new();
        let rows: Vec<&str> = self
            .days()
            .map(|day| {
                values.push(day.to_string().into());
                values.push(wire(midnight(day)).into());
                values.push(wire(midnight(day + Duration::days(1))).into());
                "(?, ?, ?)"
            })
            .collect();
        (
            format!("d(day, starts, ends) AS (VALUES {})", rows.join(", ")),
            values,
        )
    }

    /// What the answer says it covers.
    pub fn echo(&self) -> ScopeEcho {
        ScopeEcho {
            from: self.from,
            to: self.to,
            time_zone: self.zone.name(),
            store_id: self.store.as_ref().map(ToString::to_string),
            channel: self.channel.map(Channel::as_str),
            starts_at: wire(self.start),
            ends_at: wire(self.end),
        }
    }
}

/// The scope as the answer restates it, so a chart can say what it shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScopeEcho {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: &'static str,
    pub store_id: Option<String>,
    pub channel: Option<&'static str>,
    /// The UTC instant of local midnight starting `from`.
    pub starts_at: String,
    /// The UTC instant of local midnight after `to` (exclusive).
    pub ends_at: String,
}

/// `part / whole`, rounded to four decimals; `None` when nothing was
/// counted (a rate of nothing is unknown, not zero).
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// Exact sums of minor units per currency, rendered as `Money` in currency
/// order. Amounts in different currencies are never added together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amounts(BTreeMap<&'static str, i64>);

impl Amounts {
    pub fn add(&mut self, currency: &str, minor: i64) -> Result<(), StorageError> {
        let currency = Currency::parse(currency)
            .map_err(|e| StorageError::Decode(format!("stored currency: {e}")))?;
        *self.0.entry(currency.code()).or_default() += minor;
        Ok(())
    }

    pub fn minor(&self, currency: &str) -> i64 {
        self.0.get(currency).copied().unwrap_or(0)
    }
}

impl Serialize for Amounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let monies: Result<Vec<Money>, _> = self
            .0
            .iter()
            .map(|(code, minor)| {
                Currency::parse(code).and_then(|c| Money::from_minor_units(*minor, c))
            })
            .collect();
        monies.map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

/// Appends ` AND {column} = ?` and its value when the filter is set.
fn filter_on(sql: &mut String, params: &mut Vec<SqlValue>, column: &str, value: Option<String>) {
    if let Some(value) = value {
        sql.push_str(&format!(" AND {column} = ?"));
        params.push(value.into());
    }
}

//! How many click & collect orders each store has accepted per picking
//! date, and the ready-by promise that follows from it.
//!
//! The promise itself is [`Store::ready_by`] (opening hours in the store's
//! zone, SLA in open minutes, cut-off, closed days, daily limit); this
//! module supplies its one input that lives in SQL: orders already accepted
//! for a local date. A reservation counts once confirmed by an order, on the
//! picking date its promise was made for, and stops counting if it is
//! released before pickup.

use crate::catalog::Store;
use crate::hours::ReadyBy;
use crate::ids::StoreId;
use crate::storage::{Sql, SqlValue, StorageError};
use chrono::{DateTime, Days, NaiveDate, Utc};
use std::collections::HashMap;

/// Accepted orders per (store, local picking date), read once per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PickingLoad(HashMap<(StoreId, NaiveDate), u32>);

impl PickingLoad {
    /// The counts of `stores` (every store when empty) for picking dates from
    /// the day before `now`'s UTC date onwards: a store's local date is never
    /// more than a day behind UTC, and past dates cannot be promised.
    pub fn load(
        sql: &dyn Sql,
        stores: &[&StoreId],
        now: DateTime<Utc>,
    ) -> Result<PickingLoad, StorageError> {
        let from = now
            .date_naive()
            .checked_sub_days(Days::new(1))
            .unwrap_or(now.date_naive());
        let mut params: Vec<SqlValue> = vec![from.to_string().into()];
        let filter = if stores.is_empty() {
            String::new()
        } else {
            params.extend(stores.iter().map(|s| SqlValue::from(s.as_str())));
            let list: Vec<String> = (0..stores.len()).map(|i| format!("?{}", i + 2)).collect();
            format!(" AND store IN ({})", list.join(", "))
        };
        let rows = sql.execute(
            &format!("SELECT store, picking_date, accepted FROM picking_load WHERE picking_date >= ?1{filter}"),
            &params,
        )?;
        let mut counts = HashMap::new();
        for row in rows.iter() {
            let store = StoreId::parse(row.text("store")?)
                .map_err(|e| StorageError::Decode(e.to_string()))?;
            let date = parse_date(row.text("picking_date")?)?;
            let accepted = u32::try_from(row.integer("accepted")?.max(0)).unwrap_or(u32::MAX);
            counts.insert((store, date), accepted);
        }
        Ok(PickingLoad(counts))
    }

    pub fn accepted(&self, store: &StoreId, date: NaiveDate) -> u32 {
        self.0.get(&(store.clone(), date)).copied().unwrap_or(0)
    }

    /// The store's promise for an order accepted at `now`, given these counts.
    pub fn ready_by(&self, store: &Store, now: DateTime<Utc>) -> Option<ReadyBy> {
        store.ready_by(now, |date| self.accepted(store.id(), date))
    }
}

/// "Ready for pickup by" at one store for an order accepted at `now`;
/// `None` when the store offers no slot ahead (never opens, always full).
pub fn ready_by(
    sql: &dyn Sql,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<ReadyBy>, StorageError> {
    Ok(PickingLoad::load(sql, &[store.id()], now)?.ready_by(store, now))
}

/// Adds `delta` (+1 on confirm, -1 on release of a confirmed order) to the
/// store's count for `date`, in one upsert; never below zero.
pub(crate) fn count(
    sql: &dyn Sql,
    store: &StoreId,
    date: NaiveDate,
    delta: i64,
) -> Result<(), StorageError> {
    sql.execute(
        "INSERT INTO picking_load (store, picking_date, accepted) VALUES (?1, ?2, MAX(?3, 0))
         ON CONFLICT (store, picking_date) DO UPDATE SET accepted = MAX(picking_load.accepted + ?3, 0)",
        &[store.as_str().into(), date.to_string().into(), delta.into()],
    )
    .map(drop)
}

pub(crate) fn parse_date(raw: &str) -> Result<NaiveDate, StorageError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|e| StorageError::Decode(format!("date {raw:?}: {e}")))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    //! Ready-by times as the availability component computes them: the
    //! store's hours and zone, its cut-off, its closed days and the daily
    //! limit filled by confirmed orders in SQL.

    use super::*;
    use crate::stock::test_support::{db, insert_store, store_json};
    use serde_json::json;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn store(sql: &dyn Sql, overrides: serde_json::Value) -> Store {
        let row = store_json("T1", "store", 52.2297, 21.0031, overrides);
        insert_store(sql, &row);
        serde_json::from_value(row).unwrap()
    }

    fn check(store: &Store, sql: &dyn Sql, now: &str, expected: Option<&str>) {
        let got = ready_by(sql, store, utc(now)).unwrap().map(|r| r.ready_by);
        assert_eq!(got, expected.map(utc), "ordered at {now}");
    }

    #[test]
    fn ready_by_is_now_plus_the_sla_inside_opening_hours() {
        let db = db();
        let sql = db.connect();
        let store = store(&sql, json!({"order_cutoff": null}));
        // Monday 2026-11-23 10:00 in Warsaw (UTC+1): ready at 12:00 local.
        check(
            &store,
            &sql,
            "2026-11-23T09:00:00Z",
            Some("2026-11-23T11:00:00Z"),
        );
        // 20:30 local: 30 open minutes today, 90 more from 09:00 Tuesday.
        check(
            &store,
            &sql,
            "2026-11-23T19:30:00Z",
            Some("2026-11-24T09:30:00Z"),
        );
        // Before opening: picking starts at 09:00 local.
        check(
            &store,
            &sql,
            "2026-11-23T05:00:00Z",
            Some("2026-11-23T10:00:00Z"),
        );
    }

    #[test]
    fn an_order_after_the_cutoff_is_picked_from_the_next_opening_day() {
        let db = db();
        let sql = db.connect();
        let store = store(&sql, json!({}));
        // 19:00 local is the cut-off: the order waits for Tuesday 09:00.
        check(
            &store,
            &sql,
            "2026-11-23T18:00:00Z",
            Some("2026-11-24T10:00:00Z"),
        );
        // Saturday after the cut-off: Sunday is closed, so Monday.
        check(
            &store,
            &sql,
            "2026-11-28T18:30:00Z",
            Some("2026-11-30T10:00:00Z"),
        );
    }

    #[test]
    fn confirmed_orders_fill_the_daily_limit_and_push_the_next_promise_a_day() {
        let db = db();
        let sql = db.connect();
        let store = store(&sql, json!({"daily_picking_limit": 2}));
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        count(&sql, store.id(), monday, 1).unwrap();
        check(
            &store,
            &sql,
            "2026-11-23T09:00:00Z",
            Some("2026-11-23T11:00:00Z"),
        );
        count(&sql, store.id(), monday, 1).unwrap();
        check(
            &store,
            &sql,
            "2026-11-23T09:00:00Z",
            Some("2026-11-24T10:00:00Z"),
        );
        count(&sql, store.id(), monday, -1).unwrap();
        check(
            &store,
            &sql,
            "2026-11-23T09:00:00Z",
            Some("2026-11-23T11:00:00Z"),
        );
        count(&sql, store.id(), monday, -5).unwrap();
        assert_eq!(
            PickingLoad::load(&sql, &[], utc("2026-11-23T09:00:00Z"))
                .unwrap()
                .accepted(store.id(), monday),
            0
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let db = db();
        let sql = db.connect();
        let store = store(&sql, json!({}));
        // Thursday 2026-12-24 after the cut-off; 25th and 26th closed, 27th a
        // Sunday: picking starts Monday the 28th.
        check(
            &store,
            &sql,
            "2026-12-24T18:30:00Z",
            Some("2026-12-28T10:00:00Z"),
        );
    }

    #[test]
    fn ready_by_is_correct_across_both_dst_changes() {
        let db = db();
        let sql = db.connect();
        let d = json!(["09:00-21:00"]);
        let every_day = json!({"hours": {"mon": d, "tue": d, "wed": d, "thu": d, "fri": d, "sat": d, "sun": d}});
        let store = store(&sql, every_day);
        // Saturday 2026-03-28 20:00 CET (19:00Z): one open hour left, then
        // Sunday opens at 09:00 CEST (07:00Z) after the clocks go forward.
        let mut no_cutoff = store_json("T2", "store", 52.0, 21.0, json!({"order_cutoff": null}));
        no_cutoff["hours"] =
            json!({"mon": d, "tue": d, "wed": d, "thu": d, "fri": d, "sat": d, "sun": d});
        insert_store(&sql, &no_cutoff);
        let no_cutoff: Store = serde_json::from_value(no_cutoff).unwrap();
        check(
            &no_cutoff,
            &sql,
            "2026-03-28T19:00:00Z",
            Some("2026-03-29T08:00:00Z"),
        );
        // Saturday 2026-10-24 20:00 CEST (18:00Z): one hour left, then Sunday
        // opens at 09:00 CET (08:00Z) after the clocks go back.
        check(
            &no_cutoff,
            &sql,
            "2026-10-24T18:00:00Z",
            Some("2026-10-25T09:00:00Z"),
        );
        // With the 19:00 cut-off, the local cut-off moves with the offset.
        check(
            &store,
            &sql,
            "2026-03-29T16:59:00Z",
            Some("2026-03-29T18:59:00Z"),
        );
        check(
            &store,
            &sql,
            "2026-03-29T17:00:00Z",
            Some("2026-03-30T09:00:00Z"),
        );
    }

    #[test]
    fn a_store_that_never_opens_promises_nothing() {
        let db = db();
        let sql = db.connect();
        let closed = json!({"hours": {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}});
        let store = store(&sql, closed);
        check(&store, &sql, "2026-11-23T09:00:00Z", None);
    }
}

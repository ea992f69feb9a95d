//! Each definition on hand-computed rows: the rows are written straight
//! into a migrated database, so every expected figure below is counted by
//! hand from the lines that insert them.

use super::*;
use crate::storage::Sql;
use crate::storage::native::{NativeSql, SqliteDb};
use chrono::TimeZone as _;

fn database() -> (tempfile::TempDir, NativeSql) {
    let dir = tempfile::tempdir().unwrap();
    let sql = SqliteDb::at(dir.path().join("insights.db"))
        .connect()
        .unwrap();
    crate::schema::apply(&sql).unwrap();
    (dir, sql)
}

fn warsaw() -> TimeZone {
    TimeZone::parse("Europe/Warsaw").unwrap()
}

/// Noon UTC on 2026-11-20, inside the November range every test uses.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn november(store: Option<&str>, channel: Option<&str>) -> Scope {
    Scope::parse(
        Some("2026-11-01"),
        Some("2026-11-30"),
        store,
        channel,
        warsaw(),
        now(),
    )
    .unwrap()
}

/// An order row; instants are given as `MM-DDTHH:MM` in November 2026 UTC.
struct Order<'a> {
    id: &'a str,
    channel: &'a str,
    fulfilment: &'a str,
    store: &'a str,
    status: &'a str,
    paid: i64,
    created: &'a str,
    ready_by: &'a str,
    ready_at: Option<&'a str>,
    collected_at: Option<&'a str>,
}

fn at(short: &str) -> String {
    format!("2026-{short}:00.000Z")
}

fn insert_order(sql: &dyn Sql, o: Order<'_>) {
    let ready_by = at(o.ready_by);
    let at_risk = (chrono::DateTime::parse_from_rfc3339(&ready_by).unwrap()
        - Duration::minutes(30))
    .with_timezone(&Utc);
    sql.execute(
        "INSERT INTO orders (id, customer_id, fulfilment, store_id, store_name, store_address, time_zone,
             store_locale, status, version, currency, total_paid_minor, channel, locale, ready_by,
             sla_at_risk_at, ready_at, collected_at, created_at, updated_at)
         VALUES (?1, 'C-1', ?2, ?3, ?3 || ' name', 'addr', 'Europe/Warsaw', 'pl', ?4, 1, 'PLN', ?5, ?6, 'pl',
             ?7, ?8, ?9, ?10, ?11, ?11)",
        &[
            o.id.into(),
            o.fulfilment.into(),
            o.store.into(),
            o.status.into(),
            o.paid.into(),
            o.channel.into(),
            ready_by.into(),
            wire(at_risk).into(),
            o.ready_at.map(at).into(),
            o.collected_at.map(at).into(),
            at(o.created).into(),
        ],
    )
    .unwrap();
}

fn cc<'a>(
    id: &'a str,
    store: &'a str,
    status: &'a str,
    created: &'a str,
    ready_by: &'a str,
) -> Order<'a> {
    Order {
        id,
        channel: "web",
        fulfilment: "click_and_collect",
        store,
        status,
        paid: 10_00,
        created,
        ready_by,
        ready_at: None,
        collected_at: None,
    }
}

#[test]
fn a_scope_is_local_days_with_their_utc_bounds_and_refuses_each_bad_value_by_name() {
    // The day the clocks went forward in 2026: 23 hours long in Warsaw.
    let scope = Scope::parse(
        Some("2026-03-29"),
        Some("2026-03-29"),
        None,
        None,
        warsaw(),
        now(),
    )
    .unwrap();
    assert_eq!(wire(scope.start()), "2026-03-28T23:00:00.000Z");
    assert_eq!(wire(scope.end()), "2026-03-29T22:00:00.000Z");
    // No dates: the 28 days up to today in Warsaw (23:30 UTC is tomorrow there).
    let late = Utc.with_ymd_and_hms(2026, 11, 20, 23, 30, 0).unwrap();
    let default = Scope::parse(None, None, None, None, warsaw(), late).unwrap();
    assert_eq!(default.to.to_string(), "2026-11-21");
    assert_eq!(default.from.to_string(), "2026-10-25");
    assert_eq!(default.days().count(), 28);

    let refused = |from, to, store, channel| {
        Scope::parse(from, to, store, channel, warsaw(), now())
            .unwrap_err()
            .to_string()
    };
    assert!(refused(Some("2026-13-01"), None, None, None).starts_with("from:"));
    assert!(refused(None, Some("yesterday"), None, None).starts_with("to:"));
    assert!(refused(None, Some("2026-1-5"), None, None).starts_with("to:"));
    assert!(refused(Some("2026-11-02"), Some("2026-11-01"), None, None).starts_with("from:"));
    assert!(refused(Some("2025-01-01"), Some("2026-11-01"), None, None).starts_with("to:"));
    assert!(refused(None, None, Some("no spaces allowed"), None).starts_with("store_id:"));
    assert!(refused(None, None, None, Some("fax")).starts_with("channel:"));
    // A whole year and a bit is allowed.
    assert!(
        Scope::parse(
            Some("2025-10-28"),
            Some("2026-11-30"),
            None,
            None,
            warsaw(),
            now()
        )
        .is_ok()
    );
}

#[test]
fn each_local_day_is_given_to_sql_with_its_own_utc_bounds() {
    // The autumn change in Warsaw: 25 October 2026 is 25 hours long.
    let scope = Scope::parse(
        Some("2026-10-24"),
        Some("2026-10-26"),
        None,
        None,
        warsaw(),
        now(),
    )
    .unwrap();
    let (table, values) = scope.days_sql();
    assert!(
        table.starts_with("d(day, starts, ends) AS (VALUES (?, ?, ?), "),
        "{table}"
    );
    let text: Vec<String> = values
        .iter()
        .map(|v| match v {
            SqlValue::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        text,
        [
            "2026-10-24",
            "2026-10-23T22:00:00.000Z",
            "2026-10-24T22:00:00.000Z",
            "2026-10-25",
            "2026-10-24T22:00:00.000Z",
            "2026-10-25T23:00:00.000Z",
            "2026-10-26",
            "2026-10-25T23:00:00.000Z",
            "2026-10-26T23:00:00.000Z",
        ]
    );
    // Kathmandu is five hours and 45 minutes ahead.
    let kathmandu = Scope::parse(
        Some("2026-11-02"),
        Some("2026-11-02"),
        None,
        None,
        TimeZone::parse("Asia/Kathmandu").unwrap(),
        now(),
    )
    .unwrap();
    assert_eq!(
        kathmandu.days_sql().1[1],
        SqlValue::Text("2026-11-01T18:15:00.000Z".into())
    );
    assert_eq!(ratio(1, 3), Some(0.3333));
    assert_eq!(ratio(0, 0), None);
}

#[test]
fn sales_count_orders_placed_in_range_and_revenue_only_from_orders_that_kept_their_money() {
    let (_dir, sql) = database();
    let o = |id, channel, fulfilment, store, status, paid, created| {
        insert_order(
            &sql,
            Order {
                id,
                channel,
                fulfilment,
                store,
                status,
                paid,
                created,
                ready_by: "11-30T12:00",
                ready_at: None,
                collected_at: None,
            },
        );
    };
    o(
        "O1",
        "web",
        "click_and_collect",
        "WAW-01",
        "picked_up",
        100_00,
        "11-03T10:00",
    );
    o(
        "O2",
        "web",
        "click_and_collect",
        "WAW-01",
        "cancelled",
        50_00,
        "11-03T11:00",
    );
    o(
        "O3",
        "app",
        "click_and_collect",
        "WAW-02",
        "expired",
        30_00,
        "11-04T10:00",
    );
    o(
        "O4",
        "app",
        "ship_from_store",
        "WAW-01",
        "shipped",
        200_00,
        "11-05T10:00",
    );
    o(
        "O5",
        "kiosk",
        "endless_aisle",
        "WAW-02",
        "placed",
        70_01,
        "11-06T10:00",
    );
    // 23:30 UTC on 31 October is 00:30 on 1 November in Warsaw: in range.
    o(
        "O6",
        "web",
        "click_and_collect",
        "WAW-01",
        "picked_up",
        5_00,
        "10-31T23:30",
    );
    // 23:30 UTC on 30 November is 1 December in Warsaw: out of range.
    o(
        "O7",
        "web",
        "click_and_collect",
        "WAW-01",
        "picked_up",
        999_00,
        "11-30T23:30",
    );

    let all = sales::report(&sql, &november(None, None)).unwrap();
    assert_eq!((all.orders, all.cancelled, all.expired), (6, 1, 1));
    // O1 + O4 + O5 + O6: the cancelled and the expired order kept nothing.
    assert_eq!(all.revenue.minor("PLN"), 100_00 + 200_00 + 70_01 + 5_00);
    // Click & collect, cancelled excluded: O1, O3, O6 of 5 live orders.
    assert_eq!(all.click_and_collect_share, Some(0.6));
    let web = all.by_channel.iter().find(|s| s.key == "web").unwrap();
    assert_eq!(
        (
            web.orders,
            web.cancelled,
            web.revenue.minor("PLN"),
            web.share
        ),
        (3, 1, 105_00, Some(0.4))
    );
    let aisle = all
        .by_fulfilment
        .iter()
        .find(|s| s.key == "endless_aisle")
        .unwrap();
    assert_eq!((aisle.orders, aisle.share), (1, Some(0.2)));
    let json = serde_json::to_value(&all).unwrap();
    assert_eq!(
        json["revenue"],
        serde_json::json!([{ "amount": "375.01", "currency": "PLN" }])
    );

    let store = sales::report(&sql, &november(Some("WAW-02"), None)).unwrap();
    assert_eq!((store.orders, store.revenue.minor("PLN")), (2, 70_01));
    assert_eq!(store.click_and_collect_share, Some(0.5));
    let app = sales::report(&sql, &november(None, Some("app"))).unwrap();
    assert_eq!(
        (
            app.orders,
            app.revenue.minor("PLN"),
            app.click_and_collect_share
        ),
        (2, 200_00, Some(0.5))
    );
    let empty = sales::report(&sql, &november(Some("KRK-01"), None)).unwrap();
    assert_eq!((empty.orders, empty.click_and_collect_share), (0, None));
}

fn event(sql: &dyn Sql, kind: &str, started: &str, finished: &str, value: i64, occurred: &str) {
    sql.execute(
        "INSERT INTO cart_events (cart_id, kind, channel_started, channel_finished, line_count, item_count,
             value_minor, currency, occurred_at)
         VALUES ('CART', ?1, ?2, ?3, 1, 1, ?4, 'PLN', ?5)",
        &[kind.into(), started.into(), finished.into(), value.into(), at(occurred).into()],
    )
    .unwrap();
}

#[test]
fn journeys_count_conversions_by_start_and_finish_and_conversion_leaves_merged_carts_out() {
    let (_dir, sql) = database();
    for _ in 0..3 {
        event(&sql, "converted", "app", "pos", 20_00, "11-10T10:00");
    }
    event(&sql, "converted", "app", "app", 15_00, "11-11T10:00");
    event(&sql, "abandoned", "app", "app", 9_99, "11-12T10:00");
    event(&sql, "abandoned", "web", "web", 40_00, "11-12T10:00");
    event(&sql, "abandoned", "web", "app", 10_00, "11-13T10:00");
    event(&sql, "converted", "web", "kiosk", 35_00, "11-14T10:00");
    event(&sql, "merged", "web", "web", 5_00, "11-14T10:00");
    event(&sql, "converted", "app", "pos", 20_00, "10-10T10:00");

    let j = journeys::report(&sql, &november(None, None)).unwrap();
    assert_eq!((j.converted, j.cross_channel, j.abandoned), (5, 4, 3));
    let cell = |s: &str, f: &str| {
        j.matrix
            .iter()
            .find(|c| c.started == s && c.finished == f)
            .map(|c| c.carts)
    };
    assert_eq!(cell("app", "pos"), Some(3));
    assert_eq!(cell("app", "app"), Some(1));
    assert_eq!(cell("web", "kiosk"), Some(1));
    assert_eq!(cell("web", "web"), None);
    assert_eq!(
        j.matrix
            .iter()
            .find(|c| c.started == "app" && c.finished == "pos")
            .unwrap()
            .value
            .minor("PLN"),
        60_00
    );
    let app = j
        .by_starting_channel
        .iter()
        .find(|s| s.channel == "app")
        .unwrap();
    // 4 converted of 5 decided carts; 3 of them finished at the till.
    assert_eq!(
        (
            app.converted,
            app.cross_channel,
            app.abandoned,
            app.conversion
        ),
        (4, 3, 1, Some(0.8))
    );
    let web = j
        .by_starting_channel
        .iter()
        .find(|s| s.channel == "web")
        .unwrap();
    assert_eq!(
        (
            web.converted,
            web.abandoned,
            web.conversion,
            web.abandoned_value.minor("PLN")
        ),
        (1, 2, Some(0.3333), 50_00)
    );
    let pos = j
        .by_starting_channel
        .iter()
        .find(|s| s.channel == "pos")
        .unwrap();
    assert_eq!((pos.converted, pos.conversion), (0, None));
    assert_eq!(
        j.by_starting_channel.len(),
        crate::channel::Channel::ALL.len()
    );

    let only_web = journeys::report(&sql, &november(None, Some("web"))).unwrap();
    assert_eq!(
        (
            only_web.converted,
            only_web.abandoned,
            only_web.by_starting_channel.len()
        ),
        (1, 2, 1)
    );
}

#[test]
fn stores_rate_pickups_and_the_sla_per_store_and_per_local_day() {
    let (_dir, sql) = database();
    // WAW-01: collected on time after 30 min; collected late after 90 min;
    // expired (ready on time); cancelled (left out); waiting, on time.
    insert_order(
        &sql,
        Order {
            ready_at: Some("11-03T11:00"),
            collected_at: Some("11-03T11:30"),
            ..cc("A1", "WAW-01", "picked_up", "11-03T10:00", "11-03T12:00")
        },
    );
    insert_order(
        &sql,
        Order {
            ready_at: Some("11-03T13:00"),
            collected_at: Some("11-03T14:30"),
            ..cc("A2", "WAW-01", "picked_up", "11-03T10:00", "11-03T12:00")
        },
    );
    insert_order(
        &sql,
        Order {
            ready_at: Some("11-04T11:00"),
            ..cc("A3", "WAW-01", "expired", "11-04T10:00", "11-04T12:00")
        },
    );
    insert_order(
        &sql,
        cc("A4", "WAW-01", "cancelled", "11-04T10:00", "11-04T12:00"),
    );
    insert_order(
        &sql,
        Order {
            ready_at: Some("11-20T11:00"),
            ..cc(
                "A5",
                "WAW-01",
                "ready_for_pickup",
                "11-20T10:00",
                "11-20T12:00",
            )
        },
    );
    // WAW-02: open and past its promise (missed); open and at risk now
    // (ready by 12:10, at risk from 11:40, now is 12:00); open, not at risk.
    insert_order(
        &sql,
        cc("B1", "WAW-02", "picking", "11-20T08:00", "11-20T11:00"),
    );
    insert_order(
        &sql,
        cc("B2", "WAW-02", "accepted", "11-20T09:00", "11-20T12:10"),
    );
    insert_order(
        &sql,
        cc("B3", "WAW-02", "placed", "11-20T11:00", "11-20T15:00"),
    );
    // Shipped orders are not click & collect.
    insert_order(
        &sql,
        Order {
            fulfilment: "ship_from_store",
            ..cc("S1", "WAW-02", "shipped", "11-20T08:00", "11-20T09:00")
        },
    );

    let report = stores::report(&sql, &november(None, None), now()).unwrap();
    let waw1 = &report.stores[0];
    assert_eq!(waw1.store_id, "WAW-01");
    let f = &waw1.figures;
    assert_eq!(
        (f.orders, f.ready, f.collected, f.expired, f.waiting),
        (4, 4, 2, 1, 1)
    );
    assert_eq!(f.pickup_rate, Some(0.6667));
    assert_eq!(f.average_ready_to_collected_minutes, Some(60.0));
    assert_eq!(
        (f.sla_met, f.sla_missed, f.sla_hit_rate),
        (3, 1, Some(0.75))
    );
    let g = &report.stores[1].figures;
    assert_eq!(
        (
            g.orders,
            g.sla_met,
            g.sla_missed,
            g.at_risk_now,
            g.pickup_rate
        ),
        (3, 0, 1, 1, None)
    );
    assert_eq!(
        (
            report.total.orders,
            report.total.sla_met,
            report.total.sla_missed
        ),
        (7, 3, 2)
    );
    assert_eq!(report.total.sla_hit_rate, Some(0.6));

    assert_eq!(report.sla_by_day.len(), 30);
    let day = |d: &str| {
        report
            .sla_by_day
            .iter()
            .find(|x| x.date.to_string() == d)
            .unwrap()
    };
    assert_eq!(
        (day("2026-11-03").sla_met, day("2026-11-03").sla_missed),
        (1, 1)
    );
    assert_eq!(day("2026-11-04").sla_hit_rate, Some(1.0));
    assert_eq!(
        (day("2026-11-20").sla_met, day("2026-11-20").sla_missed),
        (1, 1)
    );
    assert_eq!(day("2026-11-10").sla_hit_rate, None);

    let only = stores::report(&sql, &november(Some("WAW-02"), None), now()).unwrap();
    assert_eq!(only.stores.len(), 1);
    assert_eq!(only.total.orders, 3);
}

fn case(
    sql: &dyn Sql,
    id: &str,
    source: &str,
    source_id: &str,
    opened: &str,
    status: &str,
    received_store: Option<&str>,
    refund: Option<i64>,
    created: &str,
) {
    sql.execute(
        "INSERT INTO return_cases (id, case_number, source, source_id, currency, status, version, refund_method,
             locale, opened_channel, code_expires_at, received_store, received_at, refund_minor, created_at, updated_at)
         VALUES (?1, ?1, ?2, ?3, 'PLN', ?4, 1, 'original_payment', 'pl', ?5, ?6, ?7,
             CASE WHEN ?7 IS NULL THEN NULL ELSE ?6 END, ?8, ?6, ?6)",
        &[id.into(), source.into(), source_id.into(), status.into(), opened.into(), at(created).into(),
          received_store.into(), refund.into()],
    )
    .unwrap();
}

#[test]
fn returns_cross_the_channel_of_purchase_with_the_channel_of_return_and_sum_refunds_exactly() {
    let (_dir, sql) = database();
    for (id, channel) in [
        ("W1", "web"),
        ("W2", "web"),
        ("W3", "web"),
        ("W4", "web"),
        ("A1", "app"),
    ] {
        insert_order(
            &sql,
            Order {
                channel,
                ..cc(id, "WAW-01", "picked_up", "11-02T10:00", "11-02T12:00")
            },
        );
    }
    case(
        &sql,
        "R1",
        "order",
        "W1",
        "app",
        "refunded",
        Some("WAW-01"),
        Some(19_99),
        "11-05T10:00",
    );
    case(
        &sql,
        "R2",
        "order",
        "W2",
        "kiosk",
        "exchanged",
        Some("WAW-02"),
        None,
        "11-05T10:00",
    );
    case(
        &sql,
        "R3",
        "order",
        "A1",
        "app",
        "opened",
        None,
        None,
        "11-06T10:00",
    );
    case(
        &sql,
        "R4",
        "receipt",
        "RCPT-1",
        "pos",
        "refunded",
        Some("WAW-01"),
        Some(5_01),
        "11-06T10:00",
    );
    case(
        &sql,
        "R5",
        "order",
        "W3",
        "web",
        "rejected",
        Some("WAW-01"),
        None,
        "11-07T10:00",
    );
    case(
        &sql,
        "R6",
        "order",
        "W4",
        "app",
        "refunded",
        Some("WAW-01"),
        Some(1_00),
        "10-07T10:00",
    );

    let r = returns::report(&sql, &november(None, None)).unwrap();
    assert_eq!(
        (r.cases, r.received, r.refunded, r.exchanged, r.rejected),
        (5, 4, 2, 1, 1)
    );
    assert_eq!(r.refunds.minor("PLN"), 19_99 + 5_01);
    let cell = |p: &str, ret: &str| {
        r.matrix
            .iter()
            .find(|c| c.purchased == p && c.returned == ret)
            .map(|c| c.cases)
    };
    assert_eq!(cell("web", "app"), Some(1));
    assert_eq!(cell("web", "kiosk"), Some(1));
    assert_eq!(cell("web", "web"), Some(1));
    assert_eq!(cell("app", "app"), Some(1));
    assert_eq!(cell("pos", "pos"), Some(1));
    let web = r
        .by_purchase_channel
        .iter()
        .find(|p| p.channel == "web")
        .unwrap();
    assert_eq!(
        (web.orders, web.cases, web.return_rate),
        (Some(4), 3, Some(0.75))
    );
    let pos = r
        .by_purchase_channel
        .iter()
        .find(|p| p.channel == "pos")
        .unwrap();
    assert_eq!((pos.orders, pos.cases, pos.return_rate), (None, 1, None));

    let at_waw1 = returns::report(&sql, &november(Some("WAW-01"), None)).unwrap();
    assert_eq!((at_waw1.cases, at_waw1.refunds.minor("PLN")), (3, 25_00));
    let bought_in_app = returns::report(&sql, &november(None, Some("app"))).unwrap();
    assert_eq!(
        (bought_in_app.cases, bought_in_app.by_purchase_channel.len()),
        (1, 1)
    );
}

fn promotion(sql: &dyn Sql, id: &str, limit: Option<i64>, used: i64) {
    sql.execute(
        "INSERT INTO promotions (id, version, status, requires_code, global_limit, used, definition, created_at, updated_at)
         VALUES (?1, 1, 'active', 1, ?2, ?3, '{}', 'x', 'x')",
        &[id.into(), limit.into(), used.into()],
    )
    .unwrap();
}

fn redemption(
    sql: &dyn Sql,
    id: &str,
    channel: &str,
    store: Option<&str>,
    state: &str,
    discount: i64,
    committed: Option<&str>,
    promotions: &[&str],
) {
    sql.execute(
        "INSERT INTO redemptions (id, idempotency_key, request_hash, order_id, store_id, channel, state, currency,
             total_discount_minor, evaluation, created_at, committed_at)
         VALUES (?1, ?1, 'h', ?1, ?2, ?3, ?4, 'PLN', ?5, '{}', 'x', ?6)",
        &[id.into(), store.into(), channel.into(), state.into(), discount.into(), committed.map(at).into()],
    )
    .unwrap();
    for p in promotions {
        sql.execute(
            "INSERT INTO redemption_uses (redemption_id, promotion_id, promotion_version) VALUES (?1, ?2, 1)",
            &[id.into(), (*p).into()],
        )
        .unwrap();
    }
}

#[test]
fn promotions_count_committed_uses_by_channel_and_list_reached_limits() {
    let (_dir, sql) = database();
    promotion(&sql, "FLASH", Some(2), 2);
    promotion(&sql, "TILL10", None, 3);
    redemption(
        &sql,
        "D1",
        "app",
        None,
        "committed",
        10_00,
        Some("11-03T10:00"),
        &["FLASH"],
    );
    redemption(
        &sql,
        "D2",
        "pos",
        Some("WAW-01"),
        "committed",
        3_33,
        Some("11-03T11:00"),
        &["FLASH", "TILL10"],
    );
    redemption(
        &sql,
        "D3",
        "pos",
        Some("WAW-02"),
        "committed",
        1_00,
        Some("11-04T11:00"),
        &["TILL10"],
    );
    redemption(
        &sql,
        "D4",
        "app",
        None,
        "reserved",
        50_00,
        None,
        &["TILL10"],
    );
    redemption(&sql, "D5", "web", None, "released", 50_00, None, &["FLASH"]);
    redemption(
        &sql,
        "D6",
        "pos",
        Some("WAW-01"),
        "committed",
        7_00,
        Some("10-04T11:00"),
        &["TILL10"],
    );

    let p = promotions::report(&sql, &november(None, None)).unwrap();
    assert_eq!((p.redemptions, p.discount.minor("PLN")), (3, 14_33));
    let pos = p.by_channel.iter().find(|c| c.channel == "pos").unwrap();
    assert_eq!((pos.redemptions, pos.discount.minor("PLN")), (2, 4_33));
    assert!(p.by_channel.iter().all(|c| c.channel != "web"));
    let uses: Vec<(&str, i64)> = p
        .by_promotion
        .iter()
        .map(|u| (u.promotion_id.as_str(), u.uses))
        .collect();
    assert_eq!(uses, [("FLASH", 2), ("TILL10", 2)]);
    assert_eq!(p.limits_reached.len(), 1);
    assert_eq!(
        (
            p.limits_reached[0].promotion_id.as_str(),
            p.limits_reached[0].global_limit
        ),
        ("FLASH", 2)
    );

    let at_waw1 = promotions::report(&sql, &november(Some("WAW-01"), None)).unwrap();
    assert_eq!(
        (at_waw1.redemptions, at_waw1.discount.minor("PLN")),
        (1, 3_33)
    );
    let app = promotions::report(&sql, &november(None, Some("app"))).unwrap();
    assert_eq!(app.redemptions, 1);
}

/// Insights only read: no report's source holds a statement that writes
/// (the indexes they read ship as a migration step, in `INDEXES`).
#[test]
fn the_reports_only_read() {
    for (name, source) in [
        ("sales", include_str!("sales.rs")),
        ("journeys", include_str!("journeys.rs")),
        ("stores", include_str!("stores.rs")),
        ("returns", include_str!("returns.rs")),
        ("promotions", include_str!("promotions.rs")),
    ] {
        let upper = source.to_ascii_uppercase();
        for verb in [
            "INSERT ", "UPDATE ", "DELETE ", "REPLACE ", "CREATE ", "DROP ", "ALTER ", "PRAGMA ",
            "BEGIN",
        ] {
            assert!(!upper.contains(verb), "{name} has `{verb}`");
        }
    }
}

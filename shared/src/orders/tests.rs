//! The order rules against a real SQLite database: placing from a
//! reservation, the moves and their stock effects, pickup codes and scans,
//! and the sweep.

use super::model::Via;
use super::pickup;
use super::place::{NewOrder, place};
use super::status::{Fulfilment, OrderStatus};
use super::sweep::{SweepReport, sla_report, sweep};
use super::test_support::*;
use super::transition::{Move, transition};
use super::{DeliveryAddress, OrderError, SlaState, store};
use crate::channel::Channel;
use crate::ids::StoreId;
use crate::notify::outbox;
use crate::stock::{self, ReservationState};
use crate::storage::Sql;
use chrono::Duration;

const SECRET: &[u8] = b"code-secret-that-is-at-least-32-bytes-long";

fn to(status: OrderStatus) -> Move {
    Move {
        to: status,
        via: Via::Channel(Channel::Pos),
        note: None,
        tracking: None,
    }
}

fn outbox_events(sql: &dyn Sql, order: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = outbox::entries(sql, Some(order), None, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.channel))
        .collect();
    rows.sort();
    rows
}

#[test]
fn an_order_placed_from_a_reservation_confirms_it_and_promises_its_ready_by() {
    let db = fixture();
    let sql = db.connect();
    let reservation = reserve(&sql, "C-1", "S1", &[("A", 2), ("B", 1)], monday());
    let order = place(
        &sql,
        &click_and_collect("C-1", reservation.clone()),
        &as_customer("C-1"),
        settings(),
        monday(),
    )
    .unwrap();
    assert_eq!((order.status, order.version), (OrderStatus::Placed, 1));
    assert_eq!(order.store, StoreId::parse("S1").unwrap());
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[0].paid.to_string(), "200.00 PLN");
    assert_eq!(order.total_paid.to_string(), "250.00 PLN");
    let held = stock::load_reservation(&sql, &reservation)
        .unwrap()
        .unwrap();
    assert_eq!(held.state, ReservationState::Confirmed);
    assert_eq!(held.order.as_ref(), Some(&order.id));
    assert_eq!(Some(order.ready_by), held.ready_by);
    assert_eq!(order.ready_by, monday() + Duration::hours(2));
    assert_eq!(order.sla_at_risk_at, monday() + Duration::minutes(96));
    let history = store::history(&sql, &order.id).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].from, history[0].to),
        (None, OrderStatus::Placed)
    );
    assert_eq!(
        outbox_events(&sql, order.id.as_str()),
        vec![("placed".into(), "webhook".into())]
    );
}

#[test]
fn another_customers_reservation_cannot_become_an_order() {
    let db = fixture();
    let sql = db.connect();
    let reservation = reserve(&sql, "C-1", "S1", &[("A", 1)], monday());
    let err = place(
        &sql,
        &click_and_collect("C-2", reservation),
        &as_customer("C-2"),
        settings(),
        monday(),
    )
    .unwrap_err();
    assert_eq!(err, OrderError::UnknownReservation);
}

#[test]
fn a_reservation_becomes_one_order_only() {
    let db = fixture();
    let sql = db.connect();
    let reservation = reserve(&sql, "C-1", "S1", &[("A", 1)], monday());
    place(
        &sql,
        &click_and_collect("C-1", reservation.clone()),
        &as_customer("C-1"),
        settings(),
        monday(),
    )
    .unwrap();
    let again = place(
        &sql,
        &click_and_collect("C-1", reservation),
        &as_customer("C-1"),
        settings(),
        monday(),
    )
    .unwrap_err();
    assert!(
        matches!(
            again,
            OrderError::Stock(stock::StockError::WrongState { .. })
        ),
        "{again:?}"
    );
}

#[test]
fn an_expired_hold_cannot_become_an_order() {
    let db = fixture();
    let sql = db.connect();
    let reservation = reserve(&sql, "C-1", "S1", &[("A", 1)], monday());
    let late = monday() + Duration::hours(1);
    let err = place(
        &sql,
        &click_and_collect("C-1", reservation),
        &as_customer("C-1"),
        settings(),
        late,
    )
    .unwrap_err();
    assert_eq!(err, OrderError::Stock(stock::StockError::HoldExpired));
    let count = sql
        .execute("SELECT count(*) AS n FROM orders", &[])
        .unwrap();
    assert_eq!(
        count.first().unwrap().integer("n").unwrap(),
        0,
        "nothing was written"
    );
}

#[test]
fn the_golden_path_ends_with_the_goods_off_the_shelf_count() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    assert_eq!(shelf(&sql, "S1", "A"), (10, 1));
    let store = as_store("S1");
    let mut at = monday();
    for status in [
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
    ] {
        at += Duration::minutes(10);
        transition(
            &sql,
            &order.id,
            &to(status),
            &store,
            settings(),
            |_| true,
            at,
        )
        .unwrap();
    }
    let ready = store::load(&sql, &order.id).unwrap().unwrap();
    assert_eq!(ready.ready_at, Some(at));
    assert_eq!(ready.pickup_until, Some(at + Duration::days(7)));
    assert_eq!(ready.sla_state(at), SlaState::Met);
    let code = pickup::code_for(&ready, SECRET).unwrap();
    let collected = pickup::scan(
        &sql,
        &code.code,
        SECRET,
        &store,
        Via::Channel(Channel::Kiosk),
        settings(),
        at,
    )
    .unwrap();
    assert_eq!(collected.status, OrderStatus::PickedUp);
    assert_eq!(
        shelf(&sql, "S1", "A"),
        (9, 0),
        "on hand and reserved fall together"
    );
    let history: Vec<OrderStatus> = store::history(&sql, &order.id)
        .unwrap()
        .into_iter()
        .map(|h| h.to)
        .collect();
    assert_eq!(
        history,
        [
            OrderStatus::Placed,
            OrderStatus::Accepted,
            OrderStatus::Picking,
            OrderStatus::ReadyForPickup,
            OrderStatus::PickedUp
        ]
    );
    let events: Vec<String> = outbox_events(&sql, order.id.as_str())
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(events, ["picked_up", "placed", "ready_for_pickup"]);
}

#[test]
fn a_second_scan_says_already_collected_with_when_and_where() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    let store = as_store("S1");
    for status in [
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
    ] {
        transition(
            &sql,
            &order.id,
            &to(status),
            &store,
            settings(),
            |_| true,
            monday(),
        )
        .unwrap();
    }
    let ready = store::load(&sql, &order.id).unwrap().unwrap();
    let code = pickup::code_for(&ready, SECRET).unwrap().code;
    let at = monday() + Duration::hours(3);
    pickup::scan(
        &sql,
        &code,
        SECRET,
        &store,
        Via::Channel(Channel::Kiosk),
        settings(),
        at,
    )
    .unwrap();
    let again = pickup::scan(
        &sql,
        &code,
        SECRET,
        &store,
        Via::Channel(Channel::Kiosk),
        settings(),
        at,
    )
    .unwrap_err();
    assert_eq!(
        again,
        OrderError::AlreadyCollected {
            at,
            store: StoreId::parse("S1").unwrap()
        }
    );
    assert_eq!(shelf(&sql, "S1", "A"), (9, 0), "handed over once");
}

#[test]
fn forged_expired_foreign_and_premature_codes_are_refused() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    assert_eq!(
        pickup::code_for(&order, SECRET).unwrap_err(),
        OrderError::NotReady {
            status: OrderStatus::Placed
        }
    );
    let s1 = as_store("S1");
    for status in [
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
    ] {
        transition(
            &sql,
            &order.id,
            &to(status),
            &s1,
            settings(),
            |_| true,
            monday(),
        )
        .unwrap();
    }
    let ready = store::load(&sql, &order.id).unwrap().unwrap();
    let code = pickup::code_for(&ready, SECRET).unwrap().code;
    let scan = |code: &str, device: &super::Actor, at| {
        pickup::scan(
            &sql,
            code,
            SECRET,
            device,
            Via::Channel(Channel::Kiosk),
            settings(),
            at,
        )
        .unwrap_err()
    };
    let mut forged = code.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        scan(std::str::from_utf8(&forged).unwrap(), &s1, monday()),
        OrderError::PickupCodeInvalid
    );
    let return_code = crate::auth::signed_code::sign(
        "return",
        order.id.as_str().as_bytes(),
        monday() + Duration::days(1),
        SECRET,
    );
    assert_eq!(
        scan(&return_code, &s1, monday()),
        OrderError::PickupCodeInvalid
    );
    assert_eq!(
        scan(&code, &s1, monday() + Duration::days(8)),
        OrderError::PickupCodeExpired
    );
    assert_eq!(
        scan(&code, &as_store("S2"), monday()),
        OrderError::WrongStore {
            store: StoreId::parse("S1").unwrap()
        }
    );
    assert_eq!(
        store::load(&sql, &order.id).unwrap().unwrap().status,
        OrderStatus::ReadyForPickup,
        "nothing changed"
    );
}

#[test]
fn illegal_moves_list_what_may_follow_and_change_nothing() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    let err = transition(
        &sql,
        &order.id,
        &to(OrderStatus::PickedUp),
        &as_store("S1"),
        settings(),
        |_| true,
        monday(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        OrderError::Illegal {
            current: OrderStatus::Placed,
            to: OrderStatus::PickedUp,
            allowed: vec![OrderStatus::Accepted, OrderStatus::Cancelled]
        }
    );
    let err = transition(
        &sql,
        &order.id,
        &to(OrderStatus::Accepted),
        &as_customer("C-1"),
        settings(),
        |_| true,
        monday(),
    )
    .unwrap_err();
    assert!(matches!(err, OrderError::NotForActor { .. }), "{err:?}");
    let err = transition(
        &sql,
        &order.id,
        &to(OrderStatus::Accepted),
        &as_store("S2"),
        settings(),
        |_| true,
        monday(),
    )
    .unwrap_err();
    assert!(matches!(err, OrderError::WrongStore { .. }), "{err:?}");
    let err = transition(
        &sql,
        &order.id,
        &to(OrderStatus::Cancelled),
        &as_customer("C-2"),
        settings(),
        |_| true,
        monday(),
    )
    .unwrap_err();
    assert_eq!(err, OrderError::NotFound);
    let err = transition(
        &sql,
        &order.id,
        &to(OrderStatus::Accepted),
        &as_store("S1"),
        settings(),
        |v| v == 7,
        monday(),
    )
    .unwrap_err();
    assert_eq!(err, OrderError::Stale { current_version: 1 });
    assert_eq!(store::load(&sql, &order.id).unwrap().unwrap().version, 1);
    assert_eq!(store::history(&sql, &order.id).unwrap().len(), 1);
}

#[test]
fn a_customer_cancelling_returns_the_units_to_sale() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    assert_eq!(shelf(&sql, "S1", "A"), (10, 1));
    let cancelled = transition(
        &sql,
        &order.id,
        &to(OrderStatus::Cancelled),
        &as_customer("C-1"),
        settings(),
        |_| true,
        monday(),
    )
    .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(shelf(&sql, "S1", "A"), (10, 0));
    assert!(
        outbox_events(&sql, order.id.as_str()).contains(&("cancelled".into(), "webhook".into()))
    );
}

#[test]
fn shipping_needs_a_tracking_link_and_reaches_the_sla_target() {
    let db = fixture();
    let sql = db.connect();
    let address =
        DeliveryAddress::parse("Anna Nowak", "Polna 1", "Kraków", "30-001", "PL").unwrap();
    let new = NewOrder {
        fulfilment: Fulfilment::ShipFromStore,
        store: Some(StoreId::parse("S2").unwrap()),
        reservation: None,
        lines: vec![crate::stock::BasketLine::new(
            crate::ids::Sku::parse("B").unwrap(),
            crate::quantity::Quantity::parse(3).unwrap(),
        )],
        delivery_address: Some(address),
        ..click_and_collect("C-1", reserve(&sql, "C-9", "S1", &[("A", 1)], monday()))
    };
    let order = place(&sql, &new, &as_customer("C-1"), settings(), monday()).unwrap();
    assert_eq!(order.total_paid.to_string(), "150.00 PLN");
    let store = as_store("S2");
    for status in [OrderStatus::Accepted, OrderStatus::Picking] {
        transition(
            &sql,
            &order.id,
            &to(status),
            &store,
            settings(),
            |_| true,
            monday(),
        )
        .unwrap();
    }
    let err = transition(
        &sql,
        &order.id,
        &to(OrderStatus::Shipped),
        &store,
        settings(),
        |_| true,
        monday(),
    )
    .unwrap_err();
    assert!(matches!(err, OrderError::Invalid(_)), "{err:?}");
    let tracking = super::Tracking::parse("InPost", "https://inpost.example/t/123").unwrap();
    let shipped = transition(
        &sql,
        &order.id,
        &Move {
            tracking: Some(tracking),
            ..to(OrderStatus::Shipped)
        },
        &store,
        settings(),
        |_| true,
        monday() + Duration::hours(3),
    )
    .unwrap();
    assert_eq!(
        shipped.sla_state(monday() + Duration::hours(3)),
        SlaState::Missed
    );
    assert!(shipped.sla_breached_at.is_some());
    let payload = outbox::entries(&sql, Some(order.id.as_str()), None, 10).unwrap();
    let message = &payload
        .iter()
        .find(|e| e.event == "shipped")
        .unwrap()
        .payload["message"]["body"];
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("https://inpost.example/t/123"),
        "{message}"
    );
}

#[test]
fn the_sweep_alerts_at_risk_then_breach_and_running_it_twice_does_nothing_twice() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    let before = monday() + Duration::minutes(95);
    assert_eq!(
        sweep(&sql, settings(), before, 100).unwrap(),
        SweepReport::default()
    );
    let risk = monday() + Duration::minutes(96);
    assert_eq!(
        sweep(&sql, settings(), risk, 100).unwrap(),
        SweepReport {
            at_risk: 1,
            breached: 0,
            expired: 0
        }
    );
    assert_eq!(
        sweep(&sql, settings(), risk, 100).unwrap(),
        SweepReport::default(),
        "twice does nothing twice"
    );
    let due = monday() + Duration::hours(2);
    assert_eq!(
        sweep(&sql, settings(), due, 100).unwrap(),
        SweepReport {
            at_risk: 0,
            breached: 1,
            expired: 0
        }
    );
    assert_eq!(
        sweep(&sql, settings(), due, 100).unwrap(),
        SweepReport::default()
    );
    let events = outbox_events(&sql, order.id.as_str());
    assert!(
        events.contains(&("sla_at_risk".into(), "webhook".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&("sla_breached".into(), "webhook".into())),
        "{events:?}"
    );
    let stored = store::load(&sql, &order.id).unwrap().unwrap();
    assert_eq!(
        (stored.sla_alerted_at, stored.sla_breached_at),
        (Some(risk), Some(due))
    );
}

#[test]
fn uncollected_orders_expire_after_seven_days_and_their_stock_returns_to_sale() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    for status in [
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
    ] {
        transition(
            &sql,
            &order.id,
            &to(status),
            &as_store("S1"),
            settings(),
            |_| true,
            monday(),
        )
        .unwrap();
    }
    assert_eq!(shelf(&sql, "S1", "A"), (10, 1));
    let almost = monday() + Duration::days(7) - Duration::seconds(1);
    assert_eq!(sweep(&sql, settings(), almost, 100).unwrap().expired, 0);
    let week = monday() + Duration::days(7);
    assert_eq!(sweep(&sql, settings(), week, 100).unwrap().expired, 1);
    assert_eq!(sweep(&sql, settings(), week, 100).unwrap().expired, 0);
    let expired = store::load(&sql, &order.id).unwrap().unwrap();
    assert_eq!(expired.status, OrderStatus::Expired);
    assert_eq!(shelf(&sql, "S1", "A"), (10, 0));
    let last = store::history(&sql, &order.id).unwrap().pop().unwrap();
    assert_eq!(
        (last.actor, last.channel),
        (super::ActorKind::System, Via::System)
    );
    assert!(outbox_events(&sql, order.id.as_str()).contains(&("expired".into(), "webhook".into())));
}

#[test]
fn the_sla_report_counts_hits_misses_and_open_orders_per_store() {
    let db = fixture();
    let sql = db.connect();
    let on_time = placed(&sql, "C-1", monday());
    let late = placed(&sql, "C-2", monday());
    let _open = placed(&sql, "C-3", monday());
    let store = as_store("S1");
    for (order, at) in [
        (&on_time, monday() + Duration::hours(1)),
        (&late, monday() + Duration::hours(5)),
    ] {
        for status in [
            OrderStatus::Accepted,
            OrderStatus::Picking,
            OrderStatus::ReadyForPickup,
        ] {
            transition(
                &sql,
                &order.id,
                &to(status),
                &store,
                settings(),
                |_| true,
                at,
            )
            .unwrap();
        }
    }
    let report = sla_report(
        &sql,
        None,
        monday() - Duration::days(1),
        monday() + Duration::days(1),
        monday() + Duration::hours(1),
    )
    .unwrap();
    assert_eq!(report.len(), 1);
    let s1 = &report[0];
    assert_eq!(
        (s1.store_id.as_str(), s1.orders, s1.met, s1.missed, s1.open),
        ("S1", 3, 1, 1, 1)
    );
    assert_eq!(s1.hit_rate.unwrap().to_string(), "0.5");
}

#[test]
fn a_move_in_one_statement_answers_what_a_reload_reads_and_queues_what_the_transaction_would() {
    let db = fixture();
    let sql = db.connect();
    let store = as_store("S1");
    // One order moved in one statement (no transaction open), one inside a
    // transaction (as an idempotent request runs), the same moves, a late
    // ready (past ready-by) included.
    let quick = placed(&sql, "C-1", monday());
    let slow = placed(&sql, "C-2", monday());
    let mut at = monday();
    for status in [
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
    ] {
        at += Duration::hours(3);
        let answered = transition(
            &sql,
            &quick.id,
            &to(status),
            &store,
            settings(),
            |_| true,
            at,
        )
        .unwrap();
        assert_eq!(
            Some(&answered),
            store::load(&sql, &quick.id).unwrap().as_ref(),
            "{status:?}"
        );
        let in_tx = crate::storage::in_transaction(&sql, |_| {
            transition(
                &sql,
                &slow.id,
                &to(status),
                &store,
                settings(),
                |_| true,
                at,
            )
        })
        .unwrap();
        assert_eq!(
            (in_tx.status, in_tx.version),
            (answered.status, answered.version)
        );
        assert_eq!(
            (in_tx.ready_at, in_tx.pickup_until, in_tx.sla_breached_at),
            (
                answered.ready_at,
                answered.pickup_until,
                answered.sla_breached_at
            )
        );
    }
    assert!(
        store::load(&sql, &quick.id)
            .unwrap()
            .unwrap()
            .sla_breached_at
            .is_some(),
        "ready after ready-by"
    );
    let events = |id: &crate::ids::OrderId| {
        outbox_events(&sql, id.as_str())
            .into_iter()
            .map(|(event, channel)| format!("{event}/{channel}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(events(&quick.id), events(&slow.id));
    let history = sql
        .execute(
            "SELECT count(*) AS n FROM order_history WHERE order_id = ?1",
            &[quick.id.as_str().into()],
        )
        .unwrap();
    assert_eq!(
        history.first().unwrap().integer("n").unwrap(),
        4,
        "placed + three moves"
    );
    let left = sql
        .execute("SELECT count(*) AS n FROM order_moves", &[])
        .unwrap();
    assert_eq!(
        left.first().unwrap().integer("n").unwrap(),
        0,
        "the command rows are gone"
    );
}

#[test]
fn a_move_decided_on_a_stale_read_is_ignored_and_decided_again() {
    let db = fixture();
    let sql = db.connect();
    let order = placed(&sql, "C-1", monday());
    let store = as_store("S1");
    transition(
        &sql,
        &order.id,
        &to(OrderStatus::Accepted),
        &store,
        settings(),
        |_| true,
        monday(),
    )
    .unwrap();
    // A move decided on the placed order (version 1) finds it accepted.
    let stale = sql
        .execute(
            "INSERT INTO order_moves (order_id, from_status, expected_version, to_status, at, late, actor_kind, actor_id, via, notices)
             VALUES (?1, 'placed', 1, 'cancelled', '2026-01-05T09:00:00.000Z', 0, 'store_device', 'x', 'pos', '[]') RETURNING order_id",
            &[order.id.as_str().into()],
        )
        .unwrap();
    assert!(stale.is_empty(), "ignored");
    let now = store::load(&sql, &order.id).unwrap().unwrap();
    assert_eq!((now.status, now.version), (OrderStatus::Accepted, 2));
}

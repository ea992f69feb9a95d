//! Safe to retry after a crash (issue 14): the edge host is killed with
//! SIGKILL while concurrent reservations and order placements with
//! Idempotency-Keys are in flight, restarted on the same state, and every
//! request is retried with its key. Each retry must either replay the
//! original answer or run for the first time; never both (units held ==
//! distinct keys, one order per key) and never a 409 for an effect that was
//! committed.

use blackbox_tests::{AppOptions, TestApp, customer, ops, private_app, token, unique};
use chrono::Utc;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const ROUNDS: usize = 5;
const PER_ROUND: usize = 30;

fn start(state: &Path) -> Option<TestApp> {
    private_app(AppOptions {
        state_dir: Some(state.to_owned()),
        ..Default::default()
    })
}

fn address() -> Value {
    json!({"name": "Jan Kowalski", "street": "Długa 5", "city": "Warszawa", "postal_code": "00-002", "country": "PL"})
}

/// Request `i` of round `round`: even ones hold a unit, odd ones place a
/// ship-from-store order; each has its own customer and key.
struct Call {
    who: String,
    key: String,
    path: &'static str,
    body: Value,
}

fn call(round: usize, i: usize, sku: &str, run: &str) -> Call {
    let who = format!("C-CRASH-{run}-{round}-{i}");
    let key = format!("key-{run}-{round}-{i}");
    let lines = json!([{"sku": sku, "quantity": 1}]);
    if i % 2 == 0 {
        Call {
            who,
            key,
            path: "/api/reservations",
            body: json!({"store_id": "WAW-01", "lines": lines}),
        }
    } else {
        Call {
            who,
            key,
            path: "/api/orders",
            body: json!({"fulfilment": "ship_from_store", "store_id": "WAW-01", "lines": lines, "delivery_address": address(), "channel": "app"}),
        }
    }
}

fn send(app: &TestApp, c: &Call) -> Result<(u16, Value, bool), String> {
    let body = c.body.to_string();
    app.try_send(
        "POST",
        c.path,
        Some(&token(&customer(&c.who))),
        &[("idempotency-key", &c.key)],
        Some(body.as_bytes()),
    )
    .map(|r| {
        let replayed = r.header("idempotent-replayed") == Some("true");
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            replayed,
        )
    })
}

#[test]
fn killed_mid_flight_five_times_every_retry_replays_or_runs_once_and_units_held_equal_distinct_keys()
 {
    let state = tempfile::tempdir().unwrap();
    let Some(app) = start(state.path()) else {
        return;
    };
    app.seed_demo();
    let run = unique("R").replace('-', "");
    let sku = format!("CRASH{run}");
    let ops = token(&ops());
    let item = json!({"items": [{"sku": sku, "product_id": sku, "name": "Crash test coat", "category": ["women", "coats"]}]});
    assert_eq!(
        app.post("/api/catalog/items", Some(&ops), &item).status,
        200
    );
    assert_eq!(
        app.post(
            "/api/catalog/prices",
            Some(&ops),
            &json!({"prices": [{"sku": sku, "amount": "100.00", "currency": "PLN"}]})
        )
        .status,
        200
    );
    let feed = json!({"feeds": [{"store_id": "WAW-01", "sequence": Utc::now().timestamp_millis(), "lines": [{"sku": sku, "on_hand": 1000}]}]});
    assert_eq!(
        app.post("/api/availability/feed", Some(&ops), &feed).status,
        200
    );

    let mut app = Some(app);
    let mut answered_before_kill = 0;
    let mut cut_by_kill = 0;
    let mut committed_unanswered = 0;
    for round in 0..ROUNDS {
        let live = Arc::new(app.take().expect("a running app"));
        let calls: Arc<Vec<Call>> =
            Arc::new((0..PER_ROUND).map(|i| call(round, i, &sku, &run)).collect());
        let handles: Vec<_> = (0..PER_ROUND)
            .map(|i| {
                let (live, calls) = (Arc::clone(&live), Arc::clone(&calls));
                std::thread::spawn(move || send(&live, &calls[i]))
            })
            .collect();
        // Kill while the requests are in flight: a few milliseconds in,
        // later each round, so the kill lands at different points.
        std::thread::sleep(std::time::Duration::from_millis(5 + 10 * round as u64));
        live.kill_now();
        let first: Vec<Result<(u16, Value, bool), String>> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        drop(live);
        let restarted = start(state.path()).expect("the host restarts on the same state");
        for (c, before) in calls.iter().zip(&first) {
            let retried = send(&restarted, c).expect("the restarted host answers");
            assert_eq!(
                retried.0, 201,
                "{} {}: the retry answers the original success: {}",
                c.path, c.key, retried.1
            );
            match before {
                Ok((status, body, _)) => {
                    answered_before_kill += 1;
                    assert_eq!(*status, 201, "{}: {body}", c.key);
                    assert_eq!(
                        &retried.1, body,
                        "{}: the retry replays the original body",
                        c.key
                    );
                }
                Err(_) => {
                    cut_by_kill += 1;
                    // Committed before the kill, answer lost: the retry replays it.
                    if retried.2 {
                        committed_unanswered += 1;
                    }
                }
            }
        }
        app = Some(restarted);
    }
    let app = app.unwrap();
    let keys = ROUNDS * PER_ROUND;
    let shelf = app
        .get(&format!("/api/stores/WAW-01/stock/{sku}"), Some(&ops))
        .json();
    let held = shelf["reserved"].as_i64().unwrap();
    eprintln!(
        "crash test: {ROUNDS} kills, {keys} keys ({answered_before_kill} answered before a kill; {cut_by_kill} cut by it, of which {committed_unanswered} had committed and were replayed): units held {held} / distinct keys {keys}"
    );
    assert_eq!(held, keys as i64, "units held == distinct keys");
    for round in 0..ROUNDS {
        for i in (1..PER_ROUND).step_by(2) {
            let who = format!("C-CRASH-{run}-{round}-{i}");
            let orders = app
                .get(&format!("/api/orders?customer_id={who}"), Some(&ops))
                .json();
            assert_eq!(
                orders["orders"].as_array().unwrap().len(),
                1,
                "{who}: one order for one key"
            );
        }
    }
}

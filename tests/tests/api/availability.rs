//! Store availability through the running app: golden path 1 up to the
//! reservation, no overselling under 200 concurrent reservations, expired
//! holds, stale feeds, and every bad-input class.

use blackbox_tests::{
    AppOptions, TestApp, customer, ops, private_app, seeded_app, store_device, token, token_at,
    workspace_root,
};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Barrier};

/// A shopper in central Warsaw, a few hundred metres from WAW-01.
const WARSAW: (f64, f64) = (52.2320, 21.0060);

/// The demo retailer with its demo stock (infra/demo/stock.json).
fn stocked_app() -> TestApp {
    let app = seeded_app();
    load_demo_stock(&app);
    app
}

fn load_demo_stock(app: &TestApp) {
    let body = std::fs::read(workspace_root().join("infra/demo/stock.json")).expect("demo stock");
    let reply = app.send(
        "POST",
        "/api/availability/feed",
        Some(&token(&ops())),
        &[],
        Some(&body),
    );
    // An external app may already hold the demo stock: a replay is acknowledged.
    assert_eq!(
        reply.status,
        200,
        "loading the demo stock: {}",
        reply.text()
    );
}

fn feed(app: &TestApp, store: &str, sequence: u64, lines: Value) -> blackbox_tests::Reply {
    let body = json!({"feeds": [{"store_id": store, "sequence": sequence, "lines": lines}]});
    app.post("/api/availability/feed", Some(&token(&ops())), &body)
}

/// A sequence above anything the demo or an earlier run used.
fn fresh_sequence() -> u64 {
    Utc::now().timestamp_millis() as u64
}

fn atp(app: &TestApp, store: &str, sku: &str) -> u64 {
    let reply = app.post(
        "/api/availability/basket",
        None,
        &json!({"store_id": store, "lines": [{"sku": sku, "quantity": 1}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["lines"][0]["available"].as_u64().unwrap()
}

fn shelf(app: &TestApp, store: &str, sku: &str) -> Value {
    let reply = app.get(
        &format!("/api/stores/{store}/stock/{sku}"),
        Some(&token(&ops())),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[test]
fn golden_path_one_nearby_stores_then_a_reservation_that_locks_the_stock() {
    let app = stocked_app();
    // App cart -> nearby stores with availability and ready-by time.
    let path = format!(
        "/api/availability/nearby?sku=TEE-ORG-BLK-M&lat={}&lon={}&radius_km=10",
        WARSAW.0, WARSAW.1
    );
    let nearby = app.get(&path, None);
    assert_eq!(nearby.status, 200, "{}", nearby.text());
    let stores = nearby.json()["stores"].as_array().unwrap().clone();
    assert_eq!(stores[0]["store_id"], "WAW-01");
    assert_eq!(stores[1]["store_id"], "WAW-02");
    let before = stores[0]["available"].as_u64().unwrap();
    assert!(before >= 2, "{}", stores[0]);
    assert!(
        stores[0]["ready_by"].is_string(),
        "WAW-01 offers click & collect: {}",
        stores[0]
    );
    // The store's details and hours, as the app shows them.
    let store = app.get("/api/stores/WAW-01", None).json();
    assert_eq!(store["time_zone"], "Europe/Warsaw");
    assert_eq!(store["hours"]["sun"], json!([]));
    // The basket at the chosen store can be picked up.
    let basket = app.post(
        "/api/availability/basket",
        None,
        &json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 2}]}),
    );
    assert_eq!(basket.json()["can_pick_up"], true, "{}", basket.text());
    // Reserve: the stock is locked at once.
    let shopper = token(&customer(&blackbox_tests::unique("C")));
    let reserved = app.send(
        "POST",
        "/api/reservations",
        Some(&shopper),
        &[("idempotency-key", "checkout-1")],
        Some(
            json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 2}]})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(reserved.status, 201, "{}", reserved.text());
    let reservation = reserved.json();
    assert_eq!(reservation["state"], "held");
    assert_eq!(atp(&app, "WAW-01", "TEE-ORG-BLK-M"), before - 2);
    // A retry of the same checkout does not lock twice.
    let retried = app.send(
        "POST",
        "/api/reservations",
        Some(&shopper),
        &[("idempotency-key", "checkout-1")],
        Some(
            json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 2}]})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(
        retried.json()["reservation_id"],
        reservation["reservation_id"]
    );
    assert_eq!(atp(&app, "WAW-01", "TEE-ORG-BLK-M"), before - 2);
    let id = reservation["reservation_id"].as_str().unwrap();
    let read = app.get(&format!("/api/reservations/{id}"), Some(&shopper));
    assert_eq!(
        read.json()["lines"],
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 2}])
    );
    // Another shopper cannot see it; the store can.
    app.get(
        &format!("/api/reservations/{id}"),
        Some(&token(&customer("C-OTHER"))),
    )
    .problem(404);
    assert_eq!(
        app.get(
            &format!("/api/reservations/{id}"),
            Some(&token(&store_device("WAW-01")))
        )
        .status,
        200
    );
}

/// `threads` requests at once, each reserving `lines` at WAW-02 for its own
/// customer; returns the statuses.
fn reserve_at_once(app: &Arc<TestApp>, threads: usize, lines: Value) -> Vec<u16> {
    let tokens: Vec<String> = (0..threads)
        .map(|i| token(&customer(&format!("C-RUSH-{i}"))))
        .collect();
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = tokens
        .into_iter()
        .map(|shopper| {
            let (app, barrier, lines) = (Arc::clone(app), Arc::clone(&barrier), lines.clone());
            std::thread::spawn(move || {
                barrier.wait();
                app.post(
                    "/api/reservations",
                    Some(&shopper),
                    &json!({"store_id": "WAW-02", "lines": lines}),
                )
                .status
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn two_hundred_concurrent_one_unit_reservations_against_atp_ten_sell_exactly_ten() {
    let app = Arc::new(stocked_app());
    // 11 on hand, 1 kept on display: ATP 10.
    assert_eq!(
        feed(
            &app,
            "WAW-02",
            fresh_sequence(),
            json!([{"sku": "TEE-ORG-WHT-M", "on_hand": 11}])
        )
        .status,
        200
    );
    assert_eq!(atp(&app, "WAW-02", "TEE-ORG-WHT-M"), 10);
    let statuses = reserve_at_once(&app, 200, json!([{"sku": "TEE-ORG-WHT-M", "quantity": 1}]));
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 201 | 409)),
        "{statuses:?}"
    );
    assert_eq!(atp(&app, "WAW-02", "TEE-ORG-WHT-M"), 0);
    let numbers = shelf(&app, "WAW-02", "TEE-ORG-WHT-M");
    assert_eq!(
        (numbers["on_hand"].as_u64(), numbers["reserved"].as_u64()),
        (Some(11), Some(10)),
        "none oversold"
    );
}

#[test]
fn two_hundred_concurrent_two_sku_baskets_are_all_or_nothing() {
    let app = Arc::new(stocked_app());
    // The tee limits at 10; the scarf alone would allow 15.
    let sequence = fresh_sequence();
    let lines =
        json!([{"sku": "TEE-ORG-WHT-L", "on_hand": 11}, {"sku": "SCF-WOL-RED", "on_hand": 16}]);
    assert_eq!(feed(&app, "WAW-02", sequence, lines).status, 200);
    let basket =
        json!([{"sku": "TEE-ORG-WHT-L", "quantity": 1}, {"sku": "SCF-WOL-RED", "quantity": 1}]);
    let statuses = reserve_at_once(&app, 200, basket);
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 201 | 409)),
        "{statuses:?}"
    );
    assert_eq!(atp(&app, "WAW-02", "TEE-ORG-WHT-L"), 0);
    assert_eq!(
        atp(&app, "WAW-02", "SCF-WOL-RED"),
        5,
        "no scarf locked by a basket that failed"
    );
    assert_eq!(shelf(&app, "WAW-02", "SCF-WOL-RED")["reserved"], 10);
}

#[test]
fn an_expired_hold_returns_its_stock() {
    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..Default::default()
    }) else {
        return;
    };
    app.seed_demo();
    load_demo_stock(&app);
    let start = Utc::now();
    app.set_clock(start);
    let shopper = customer("C-LATE");
    let before = atp(&app, "WAW-01", "BAG-TOT-NAT");
    let reply = app.post(
        "/api/reservations",
        Some(&token_at(&shopper, start, Duration::hours(2))),
        &json!({"store_id": "WAW-01", "lines": [{"sku": "BAG-TOT-NAT", "quantity": before}]}),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["reservation_id"].as_str().unwrap().to_owned();
    assert_eq!(atp(&app, "WAW-01", "BAG-TOT-NAT"), 0);
    app.set_clock(start + Duration::minutes(29));
    assert_eq!(
        atp(&app, "WAW-01", "BAG-TOT-NAT"),
        0,
        "still held at 29 minutes"
    );
    let later = start + Duration::minutes(31);
    app.set_clock(later);
    assert_eq!(
        atp(&app, "WAW-01", "BAG-TOT-NAT"),
        before,
        "back after the 30-minute TTL"
    );
    let read = app.get(
        &format!("/api/reservations/{id}"),
        Some(&token_at(&shopper, later, Duration::hours(1))),
    );
    assert_eq!(read.json()["state"], "expired");
    let swept = app.post(
        "/api/reservations/sweep",
        Some(&token_at(&ops(), later, Duration::hours(1))),
        &json!({}),
    );
    assert_eq!(swept.json()["expired"], 1);
    assert_eq!(atp(&app, "WAW-01", "BAG-TOT-NAT"), before);
}

#[test]
fn a_stale_feed_is_ignored_and_a_newer_one_applies() {
    let app = stocked_app();
    let sequence = fresh_sequence();
    assert_eq!(
        feed(
            &app,
            "KRK-01",
            sequence,
            json!([{"sku": "JKT-RAN-OLV-M", "on_hand": 7}])
        )
        .status,
        200
    );
    assert_eq!(atp(&app, "KRK-01", "JKT-RAN-OLV-M"), 6);
    let stale = feed(
        &app,
        "KRK-01",
        sequence - 1,
        json!([{"sku": "JKT-RAN-OLV-M", "on_hand": 99}]),
    );
    let problem = stale.problem(409);
    assert_eq!(problem["type"], "urn:omnichannel-edge:problem:stale-feed");
    assert_eq!(
        atp(&app, "KRK-01", "JKT-RAN-OLV-M"),
        6,
        "the stale count changed nothing"
    );
    // The same message again is a harmless replay.
    let replay = feed(
        &app,
        "KRK-01",
        sequence,
        json!([{"sku": "JKT-RAN-OLV-M", "on_hand": 7}]),
    );
    assert_eq!(replay.json()["duplicates"][0]["store_id"], "KRK-01");
    let sold = feed(
        &app,
        "KRK-01",
        sequence + 1,
        json!([{"sku": "JKT-RAN-OLV-M", "delta": -2}]),
    );
    assert_eq!(sold.status, 200, "{}", sold.text());
    assert_eq!(atp(&app, "KRK-01", "JKT-RAN-OLV-M"), 4);
}

#[test]
fn every_bad_input_is_a_4xx_problem_and_stock_is_unchanged() {
    let app = stocked_app();
    let shopper = token(&customer("C-BAD"));
    let before = shelf(&app, "WAW-01", "TEE-ORG-BLK-M");
    let near = |query: &str| app.get(&format!("/api/availability/nearby?{query}"), None);
    // Unknown store or SKU.
    near("sku=NOPE-1&lat=52.2&lon=21.0").problem(404);
    app.get("/api/stores/NOPE", None).problem(404);
    app.post(
        "/api/availability/basket",
        None,
        &json!({"store_id": "NOPE", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]}),
    )
    .problem(404);
    app.post(
        "/api/reservations",
        Some(&shopper),
        &json!({"store_id": "WAW-01", "lines": [{"sku": "NOPE-1", "quantity": 1}]}),
    )
    .problem(404);
    // Latitude/longitude out of range, radius zero or huge.
    near("sku=TEE-ORG-BLK-M&lat=90.5&lon=21.0").problem(400);
    near("sku=TEE-ORG-BLK-M&lat=52.2&lon=180.5").problem(400);
    near("sku=TEE-ORG-BLK-M&lat=52.2&lon=21.0&radius_km=0").problem(400);
    near("sku=TEE-ORG-BLK-M&lat=52.2&lon=21.0&radius_km=20000").problem(400);
    // A basket over the limit; negative and fractional quantities.
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"sku": format!("TEE-{i}"), "quantity": 1}))
        .collect();
    app.post(
        "/api/availability/basket",
        None,
        &json!({"store_id": "WAW-01", "lines": many}),
    )
    .problem(422);
    for quantity in [json!(-1), json!(1.5), json!(0), json!("1")] {
        let body = json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": quantity}]});
        app.post("/api/reservations", Some(&shopper), &body)
            .problem(422);
    }
    let bad_feed = json!([{"sku": "TEE-ORG-BLK-M", "on_hand": -5}]);
    feed(&app, "WAW-01", fresh_sequence(), bad_feed).problem(422);
    feed(
        &app,
        "WAW-01",
        fresh_sequence(),
        json!([{"sku": "TEE-ORG-BLK-M", "on_hand": 2.5}]),
    )
    .problem(422);
    // A stale feed.
    feed(
        &app,
        "WAW-01",
        1,
        json!([{"sku": "TEE-ORG-BLK-M", "on_hand": 500}]),
    )
    .problem(409);
    // Malformed JSON.
    app.send(
        "POST",
        "/api/reservations",
        Some(&shopper),
        &[],
        Some(b"{\"store_id\": "),
    )
    .problem(400);
    app.send(
        "POST",
        "/api/availability/feed",
        Some(&token(&ops())),
        &[],
        Some(b"{\"feeds\": ["),
    )
    .problem(400);
    // Reserving more than ATP: 409 with what is available.
    let wanted = before["available"].as_u64().unwrap() + 1;
    let body =
        json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": wanted}]});
    let problem = app
        .post("/api/reservations", Some(&shopper), &body)
        .problem(409);
    assert_eq!(
        problem["available"],
        json!([{"sku": "TEE-ORG-BLK-M", "requested": wanted, "available": before["available"]}])
    );
    // Nothing above changed the shelf.
    assert_eq!(shelf(&app, "WAW-01", "TEE-ORG-BLK-M"), before);
}

#[test]
fn lookups_are_public_reservations_need_a_customer_and_feeds_need_ops() {
    let app = stocked_app();
    let lines = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]);
    assert_eq!(
        app.get(
            "/api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.23&lon=21.0",
            None
        )
        .status,
        200
    );
    app.post(
        "/api/reservations",
        None,
        &json!({"store_id": "WAW-01", "lines": lines}),
    )
    .problem(401);
    app.post(
        "/api/reservations",
        Some(&token(&ops())),
        &json!({"store_id": "WAW-01", "lines": lines}),
    )
    .problem(403);
    let for_customer = json!({"store_id": "WAW-01", "lines": lines, "customer_id": "C-AT-TILL"});
    app.post(
        "/api/reservations",
        Some(&token(&store_device("WAW-02"))),
        &for_customer,
    )
    .problem(403);
    assert_eq!(
        app.post(
            "/api/reservations",
            Some(&token(&store_device("WAW-01"))),
            &for_customer
        )
        .status,
        201
    );
    let body = json!({"feeds": [{"store_id": "WAW-01", "sequence": fresh_sequence(), "lines": [{"sku": "TEE-ORG-BLK-M", "on_hand": 1}]}]});
    app.post("/api/availability/feed", None, &body).problem(401);
    app.post(
        "/api/availability/feed",
        Some(&token(&customer("C-1"))),
        &body,
    )
    .problem(403);
    app.post(
        "/api/availability/feed",
        Some(&token(&store_device("WAW-01"))),
        &body,
    )
    .problem(403);
    app.post(
        "/api/reservations/sweep",
        Some(&token(&customer("C-1"))),
        &json!({}),
    )
    .problem(403);
}

#[test]
fn a_store_only_shopper_gets_the_endless_aisle_when_the_size_is_not_in_store() {
    let app = stocked_app();
    // DRS-LIN-NAV-M is out at WAW-01; the kiosk offers central stock to home.
    let body = json!({"channel": "kiosk", "store_id": "WAW-01", "lines": [{"sku": "DRS-LIN-NAV-M", "quantity": 1}]});
    let reply = app.post(
        "/api/availability/fulfilment-options",
        Some(&token(&store_device("WAW-01"))),
        &body,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let options = reply.json()["options"].as_array().unwrap().clone();
    let endless = options
        .iter()
        .find(|o| o["method"] == "endless_aisle")
        .unwrap_or_else(|| panic!("{options:?}"));
    assert_eq!(endless["location_id"], "WH-CENTRAL");
    assert!(endless["delivery_date"].is_string());
}

#[test]
fn an_online_only_item_on_a_store_shelf_gets_one_answer_from_nearby_basket_and_reservation() {
    let app = stocked_app();
    // A returned online-only knit restocked at WAW-02.
    assert_eq!(
        feed(
            &app,
            "WAW-02",
            fresh_sequence(),
            json!([{"sku": "KNT-MER-GRY-L", "on_hand": 4}])
        )
        .status,
        200
    );
    let path = format!(
        "/api/availability/nearby?sku=KNT-MER-GRY-L&lat={}&lon={}&radius_km=10",
        WARSAW.0, WARSAW.1
    );
    let nearby = app.get(&path, None);
    assert_eq!(nearby.status, 200, "{}", nearby.text());
    let nearby = nearby.json();
    assert_eq!(nearby["collectable"], false, "{nearby}");
    let stores = nearby["stores"].as_array().unwrap();
    let waw02 = stores
        .iter()
        .find(|s| s["store_id"] == "WAW-02")
        .unwrap_or_else(|| panic!("{nearby}"));
    assert_eq!(waw02["available"], 3, "{waw02}");
    for store in stores {
        assert_eq!(store["can_pick_up"], false, "{store}");
        assert!(
            store["ready_by"].is_null() && store["picking_date"].is_null(),
            "{store}"
        );
    }
    let reason = waw02["reasons"][0].as_str().unwrap().to_owned();
    assert!(reason.contains("sold online only"), "{reason}");
    // The basket lookup at that store: the same answer, the same words.
    let lines = json!([{"sku": "KNT-MER-GRY-L", "quantity": 1}]);
    let basket = app
        .post(
            "/api/availability/basket",
            None,
            &json!({"store_id": "WAW-02", "lines": lines}),
        )
        .json();
    assert_eq!(basket["can_pick_up"], false, "{basket}");
    assert!(basket["ready_by"].is_null());
    assert_eq!(basket["reasons"], json!([reason]));
    // A reservation is refused with it and locks nothing.
    let shopper = token(&customer(&blackbox_tests::unique("C")));
    let refused = app
        .post(
            "/api/reservations",
            Some(&shopper),
            &json!({"store_id": "WAW-02", "lines": lines}),
        )
        .problem(422);
    assert_eq!(
        refused["type"],
        "urn:omnichannel-edge:problem:not-sold-in-channel"
    );
    assert_eq!(refused["detail"], reason.as_str());
    assert_eq!(atp(&app, "WAW-02", "KNT-MER-GRY-L"), 3);
    // The fulfilment options offer no pickup either.
    let asked =
        json!({"channel": "web", "lines": lines, "location": {"lat": WARSAW.0, "lon": WARSAW.1}});
    let options = app
        .post("/api/availability/fulfilment-options", None, &asked)
        .json();
    assert!(
        options["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["method"] != "pickup"),
        "{options}"
    );
}

#[test]
fn fulfilment_options_accept_only_the_channels_a_caller_may_act_in() {
    let app = stocked_app();
    let body = |channel: &str| {
        json!({"channel": channel, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}],
            "location": {"lat": WARSAW.0, "lon": WARSAW.1}, "store_id": "WAW-01"})
    };
    let shopper = token(&customer(&blackbox_tests::unique("C")));
    let till = token(&store_device("WAW-01"));
    let staff = token(&ops());
    let callers: [(&str, Option<&str>, &[&str]); 4] = [
        ("guest", None, &["web", "app"]),
        ("customer", Some(&shopper), &["web", "app"]),
        ("store device", Some(&till), &["kiosk", "pos"]),
        (
            "ops",
            Some(&staff),
            &["web", "app", "kiosk", "pos", "call_center"],
        ),
    ];
    let before = shelf(&app, "WAW-01", "TEE-ORG-BLK-M");
    for (who, caller, allowed) in callers {
        for channel in ["web", "app", "kiosk", "pos", "call_center"] {
            let reply = app.post(
                "/api/availability/fulfilment-options",
                caller,
                &body(channel),
            );
            if allowed.contains(&channel) {
                assert_eq!(reply.status, 200, "{who} in {channel}: {}", reply.text());
                assert_eq!(reply.json()["channel"], channel);
            } else {
                let problem = reply.problem(403);
                assert_eq!(
                    problem["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{who} in {channel}"
                );
            }
        }
    }
    // A guest claiming the kiosk is told which channels it may use.
    let kiosk = app
        .post("/api/availability/fulfilment-options", None, &body("kiosk"))
        .problem(403);
    assert_eq!(kiosk["allowed_channels"], json!(["web", "app"]));
    assert_eq!(
        shelf(&app, "WAW-01", "TEE-ORG-BLK-M"),
        before,
        "a refused claim changes nothing"
    );
}

//! The seams between components (issue 13): a journey crosses the cart, the
//! promotion engine, the stock and the orders, and each promise must hold
//! across them, under concurrency:
//!
//! - every discount the cart grants is a counted coupon use (held at the
//!   checkout, committed at the till or by the order, given back when the
//!   checkout lapses or is superseded);
//! - every order reserves its units at its source (pickup store, shipping
//!   store, central warehouse) in the transaction that places it;
//! - a channel is a claim the caller's credential must allow;
//! - golden path 3: the endless aisle, ordered at the kiosk, shipped from the
//!   warehouse, delivered, returned in another store.

use blackbox_tests::{
    AppOptions, Reply, TestApp, customer, ops, private_app, seeded_app, store_device, token, unique,
};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

fn ops_token() -> String {
    token(&ops())
}

/// A fresh SKU at 100.00 PLN, stocked so that exactly `available` units are
/// available to promise at each of `stores` (after its display minimum).
fn stocked_sku(app: &TestApp, stores: &[&str], available: i64) -> String {
    let sku = unique("SEAM").replace('-', "");
    let ops = ops_token();
    let item = json!({"items": [{"sku": sku, "product_id": sku, "name": "Seam test jacket", "category": ["women", "jackets"], "size": "M"}]});
    assert_eq!(
        app.post("/api/catalog/items", Some(&ops), &item).status,
        200
    );
    let price = json!({"prices": [{"sku": sku, "amount": "100.00", "currency": "PLN"}]});
    assert_eq!(
        app.post("/api/catalog/prices", Some(&ops), &price).status,
        200
    );
    let sequence = Utc::now().timestamp_millis();
    for (i, store) in stores.iter().enumerate() {
        // The shelf's display minimum applies once the shelf exists: feed,
        // read it, and feed the count that leaves exactly `available`.
        let mut on_hand = available;
        for round in 0..2 {
            let feed = json!({"feeds": [{"store_id": store, "sequence": sequence + (10 * i + round) as i64,
                "lines": [{"sku": sku, "on_hand": on_hand}]}]});
            let reply = app.post("/api/availability/feed", Some(&ops), &feed);
            assert_eq!(reply.status, 200, "{}", reply.text());
            on_hand = available + shelf(app, store, &sku)["display_min"].as_i64().unwrap();
        }
    }
    sku
}

fn shelf(app: &TestApp, store: &str, sku: &str) -> Value {
    let reply = app.get(
        &format!("/api/stores/{store}/stock/{sku}"),
        Some(&ops_token()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn counts(app: &TestApp, store: &str, sku: &str) -> (i64, i64) {
    let shelf = shelf(app, store, sku);
    (
        shelf["on_hand"].as_i64().unwrap(),
        shelf["reserved"].as_i64().unwrap(),
    )
}

fn address() -> Value {
    json!({"name": "Anna Nowak", "street": "Marszałkowska 1", "city": "Warszawa", "postal_code": "00-001", "country": "PL"})
}

/// A code promotion (percent off) with `conditions`; returns its id (= code).
fn code_promotion(app: &TestApp, percent: &str, conditions: Value) -> String {
    let id = unique("SEAMP").replace('-', "X");
    let body = json!({"id": id, "name": format!("{percent}% off"), "benefit": {"type": "percent_off", "percent": percent},
        "conditions": conditions, "time_zone": "Europe/Warsaw", "codes": [id]});
    let reply = app.post("/api/promotions", Some(&ops_token()), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    id
}

fn used(app: &TestApp, id: &str) -> i64 {
    app.get(&format!("/api/promotions/{id}"), Some(&ops_token()))
        .json()["used"]
        .as_i64()
        .expect("used")
}

/// A customer's cart in `channel` holding one unit of `sku` and `code`.
fn cart_with_code(
    app: &TestApp,
    who: &str,
    channel: &str,
    sku: &str,
    code: Option<&str>,
) -> String {
    let shopper = token(&customer(who));
    let headers = [("x-channel", channel)];
    let created = app.send(
        "POST",
        "/api/carts",
        Some(&shopper),
        &headers,
        Some(json!({"channel": channel}).to_string().as_bytes()),
    );
    assert!(matches!(created.status, 200 | 201), "{}", created.text());
    let id = created.json()["cart_id"].as_str().unwrap().to_owned();
    let line = json!({"sku": sku, "quantity": 1}).to_string();
    let added = app.send(
        "POST",
        &format!("/api/carts/{id}/lines"),
        Some(&shopper),
        &headers,
        Some(line.as_bytes()),
    );
    assert_eq!(added.status, 200, "{}", added.text());
    if let Some(code) = code {
        let body = json!({"code": code}).to_string();
        let attached = app.send(
            "POST",
            &format!("/api/carts/{id}/coupons"),
            Some(&shopper),
            &headers,
            Some(body.as_bytes()),
        );
        assert_eq!(attached.status, 200, "{}", attached.text());
    }
    id
}

fn checkout(app: &TestApp, who: &str, channel: &str, cart: &str) -> Reply {
    app.send(
        "POST",
        &format!("/api/carts/{cart}/checkouts"),
        Some(&token(&customer(who))),
        &[("x-channel", channel)],
        None,
    )
}

fn discount(body: &Value) -> String {
    body["totals"]["discount"]["amount"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn complete(app: &TestApp, handoff: &str) -> Reply {
    app.send(
        "POST",
        &format!("/api/carts/handoff/{handoff}/complete"),
        Some(&token(&store_device("WAW-01"))),
        &[("x-channel", "pos")],
        None,
    )
}

/// Runs `work(i)` for i in 0..n on n threads at once; returns the results in order.
fn all_at_once<T: Send + 'static>(
    n: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (work, barrier) = (Arc::clone(&work), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a worker"))
        .collect()
}

#[test]
fn a_global_limit_of_5_holds_through_50_concurrent_cart_checkouts_and_till_completions() {
    let app = Arc::new(seeded_app());
    let sku = stocked_sku(&app, &["WAW-01"], 1);
    let code = code_promotion(&app, "10", json!({"global_limit": 5}));
    let shoppers: Vec<String> = (0..50).map(|_| unique("C")).collect();
    let carts: Vec<String> = shoppers
        .iter()
        .map(|who| cart_with_code(&app, who, "app", &sku, Some(&code)))
        .collect();
    let work = (Arc::clone(&app), shoppers.clone(), carts.clone());
    let frozen = all_at_once(50, move |i| {
        let reply = checkout(&work.0, &work.1[i], "app", &work.2[i]);
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()
    });
    let discounted = frozen.iter().filter(|c| discount(c) != "0.00").count();
    assert_eq!(
        discounted, 5,
        "exactly the limit's worth of checkouts carry the discount"
    );
    assert_eq!(
        used(&app, &code),
        5,
        "each discounted checkout holds one use"
    );
    for refused in frozen.iter().filter(|c| discount(c) == "0.00") {
        let coupon = &refused["coupons"][0];
        assert_eq!(coupon["applied"], false, "{refused}");
        assert!(
            coupon["message"].as_str().unwrap().contains("limit"),
            "the reason is said in words: {coupon}"
        );
    }
    let codes: Vec<String> = frozen
        .iter()
        .map(|c| c["handoff"]["code"].as_str().unwrap().to_owned())
        .collect();
    let till_app = Arc::clone(&app);
    let paid = all_at_once(50, move |i| {
        let reply = complete(&till_app, &codes[i]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    });
    assert_eq!(
        paid.iter().filter(|c| discount(c) != "0.00").count(),
        5,
        "the till charged the discount 5 times"
    );
    assert_eq!(
        used(&app, &code),
        5,
        "the till made no second count and lost none"
    );
    eprintln!("global limit through the cart: 5 of 50 discounted, used = 5");
}

#[test]
fn a_per_customer_limit_holds_across_app_web_and_till_and_a_superseded_checkout_gives_its_use_back()
{
    let app = seeded_app();
    let sku = stocked_sku(&app, &["WAW-01"], 5);
    let code = code_promotion(&app, "10", json!({"per_customer_limit": 1}));
    let who = unique("C");
    let cart = cart_with_code(&app, &who, "app", &sku, Some(&code));
    let first = checkout(&app, &who, "app", &cart);
    assert_eq!(first.status, 201, "{}", first.text());
    let first = first.json();
    assert_eq!(discount(&first), "10.00");
    assert_eq!(used(&app, &code), 1);

    // Handed over again from the web: the first checkout is superseded, its
    // use given back and taken by the new one; still one use.
    let second = checkout(&app, &who, "web", &cart);
    assert_eq!(second.status, 201, "{}", second.text());
    let second = second.json();
    assert_eq!(discount(&second), "10.00");
    assert_eq!(used(&app, &code), 1);
    let stale = complete(&app, first["handoff"]["code"].as_str().unwrap());
    assert!(
        matches!(stale.status, 409 | 410 | 422),
        "a superseded checkout cannot be paid: {}",
        stale.text()
    );
    let paid = complete(&app, second["handoff"]["code"].as_str().unwrap());
    assert_eq!(paid.status, 200, "{}", paid.text());
    assert_eq!(used(&app, &code), 1);

    // The same customer on the web afterwards: the cart says why, and the
    // coupons API refuses a redemption.
    let again = cart_with_code(&app, &who, "web", &sku, Some(&code));
    let view = app
        .send(
            "GET",
            &format!("/api/carts/{again}"),
            Some(&token(&customer(&who))),
            &[("x-channel", "web")],
            None,
        )
        .json();
    assert_eq!(view["coupons"][0]["applied"], false, "{view}");
    let redemption = json!({"order_id": unique("O"), "channel": "web", "codes": [code],
        "cart": {"currency": "PLN", "lines": [{"sku": sku, "quantity": 1, "unit_price": {"amount": "100.00", "currency": "PLN"}, "category": ["women", "jackets"]}]}});
    let refused = app.send(
        "POST",
        "/api/coupons/redemptions",
        Some(&token(&customer(&who))),
        &[("idempotency-key", &unique("K"))],
        Some(redemption.to_string().as_bytes()),
    );
    assert!(
        refused.status >= 400 && refused.status < 500,
        "{}",
        refused.text()
    );
    assert_eq!(used(&app, &code), 1);
}

#[test]
fn a_checkout_that_lapses_unpaid_gives_its_coupon_use_back_at_the_sweep() {
    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..Default::default()
    }) else {
        return;
    };
    let start = Utc::now();
    app.set_clock(start);
    app.seed_demo();
    let sku = stocked_sku(&app, &["WAW-01"], 5);
    let code = code_promotion(&app, "10", json!({"global_limit": 1}));
    let (anna, ben) = (unique("C"), unique("C"));
    let cart = cart_with_code(&app, &anna, "app", &sku, Some(&code));
    assert_eq!(
        discount(&checkout(&app, &anna, "app", &cart).json()),
        "10.00"
    );
    assert_eq!(used(&app, &code), 1);
    let other = cart_with_code(&app, &ben, "app", &sku, Some(&code));
    assert_eq!(
        discount(&checkout(&app, &ben, "app", &other).json()),
        "0.00",
        "the limit is held by Anna's checkout"
    );

    app.set_clock(start + Duration::minutes(31));
    let swept = app.post("/api/carts/expire", Some(&ops_token()), &json!({}));
    assert_eq!(swept.status, 200, "{}", swept.text());
    assert!(
        swept.json()["coupon_holds_released"].as_i64().unwrap() >= 1,
        "{}",
        swept.text()
    );
    assert_eq!(
        used(&app, &code),
        0,
        "the lapsed checkout gave its use back"
    );
    let retry = checkout(&app, &ben, "app", &other);
    assert_eq!(
        discount(&retry.json()),
        "10.00",
        "the freed use is Ben's now"
    );
    assert_eq!(used(&app, &code), 1);
}

#[test]
fn an_order_from_a_checkout_commits_its_coupon_use_and_a_cancellation_gives_it_back() {
    let app = seeded_app();
    let sku = stocked_sku(&app, &["WAW-01"], 5);
    let code = code_promotion(&app, "10", json!({"global_limit": 3}));
    let who = unique("C");
    let cart = cart_with_code(&app, &who, "app", &sku, Some(&code));
    let frozen = checkout(&app, &who, "app", &cart).json();
    assert_eq!(used(&app, &code), 1);
    let body = json!({"fulfilment": "ship_from_store", "store_id": "WAW-01", "checkout_id": frozen["checkout_id"],
        "delivery_address": address()});
    // Another channel than the checkout's is refused: its prices belong to it.
    let web = app.post("/api/orders", Some(&token(&customer(&who))), &json!({"channel": "web", "fulfilment": "ship_from_store", "store_id": "WAW-01", "checkout_id": frozen["checkout_id"], "delivery_address": address()}));
    web.problem(422);
    assert_eq!(
        counts(&app, "WAW-01", &sku).1,
        0,
        "a refused order reserves nothing"
    );
    let placed = app.post("/api/orders", Some(&token(&customer(&who))), &body);
    assert_eq!(placed.status, 201, "{}", placed.text());
    let order = placed.json();
    assert_eq!(order["channel"], "app", "placed in the checkout's channel");
    assert_eq!(order["total_paid"]["amount"], "90.00");
    assert_eq!(
        used(&app, &code),
        1,
        "the order took over the checkout's use"
    );
    assert_eq!(
        counts(&app, "WAW-01", &sku).1,
        1,
        "the shipping store reserved the unit"
    );
    let checkout_now = app
        .get(
            &format!(
                "/api/carts/checkouts/{}",
                frozen["checkout_id"].as_str().unwrap()
            ),
            Some(&token(&customer(&who))),
        )
        .json();
    assert_eq!(checkout_now["status"], "completed");
    let id = order["order_id"].as_str().unwrap();
    let cancelled = app.post(
        &format!("/api/orders/{id}/transitions"),
        Some(&token(&customer(&who))),
        &json!({"status": "cancelled"}),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert_eq!(used(&app, &code), 0, "a cancelled order gives its use back");
    assert_eq!(counts(&app, "WAW-01", &sku).1, 0, "and its unit");
}

#[test]
fn a_shopper_cannot_claim_the_tills_channel_in_any_component_and_a_refused_claim_changes_no_price()
{
    let app = seeded_app();
    let sku = stocked_sku(&app, &["WAW-01"], 50);
    let ops = ops_token();
    let till_only = unique("TILL").replace('-', "X");
    let promotion = json!({"id": till_only, "name": "Till only 30%", "benefit": {"type": "percent_off", "percent": "30"},
        "conditions": {"channels": ["pos"]}, "time_zone": "Europe/Warsaw", "requires_code": false});
    assert_eq!(
        app.post("/api/promotions", Some(&ops), &promotion).status,
        201
    );

    let who = unique("C");
    let shopper = token(&customer(&who));
    let cart = cart_with_code(&app, &who, "web", &sku, None);
    let guest = app
        .post("/api/carts", None, &json!({"channel": "web"}))
        .json();
    let (guest_cart, secret) = (
        guest["cart_id"].as_str().unwrap().to_owned(),
        guest["secret"].as_str().unwrap().to_owned(),
    );
    for channel in ["web", "app", "kiosk", "pos", "call_center"] {
        let remote = matches!(channel, "web" | "app");
        for (path, credential) in [
            (
                format!("/api/carts/{cart}"),
                ("authorization", format!("Bearer {shopper}")),
            ),
            (
                format!("/api/carts/{guest_cart}"),
                ("x-cart-secret", secret.clone()),
            ),
        ] {
            let reply = app.send(
                "GET",
                &path,
                None,
                &[
                    ("x-channel", channel),
                    (credential.0, credential.1.as_str()),
                ],
                None,
            );
            if remote {
                assert_eq!(reply.status, 200, "{channel}: {}", reply.text());
                assert_eq!(
                    reply.json()["totals"]["discount"]["amount"],
                    "0.00",
                    "{channel}"
                );
            } else {
                let problem = reply.problem(403);
                assert_eq!(
                    problem["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{channel}"
                );
            }
        }
        // Creating a cart in a store channel, as a shopper or a guest.
        let created = app.send(
            "POST",
            "/api/carts",
            None,
            &[],
            Some(json!({"channel": channel}).to_string().as_bytes()),
        );
        assert_eq!(
            created.status,
            if remote { 201 } else { 403 },
            "{channel}: {}",
            created.text()
        );
        // Orders: a customer only remotely, a store device only in store, ops anywhere.
        for (caller, allowed) in [
            (token(&customer(&who)), remote),
            (
                token(&store_device("WAW-01")),
                matches!(channel, "kiosk" | "pos"),
            ),
            (ops.clone(), true),
        ] {
            let body = json!({"fulfilment": "ship_from_store", "store_id": "WAW-01", "customer_id": who, "channel": channel,
                "lines": [{"sku": sku, "quantity": 1}], "delivery_address": address()});
            let reply = app.post("/api/orders", Some(&caller), &body);
            if allowed {
                assert_eq!(reply.status, 201, "{channel}: {}", reply.text());
                assert_eq!(
                    reply.json()["total_paid"]["amount"],
                    "100.00",
                    "an order without a checkout pays list price"
                );
            } else {
                assert_eq!(
                    reply.problem(403)["type"],
                    "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{channel}"
                );
            }
        }
    }
    // A status move records the channel it was made through: the same rule.
    let placed = app
        .post(
            "/api/orders",
            Some(&token(&customer(&who))),
            &json!({"fulfilment": "ship_from_store", "store_id": "WAW-01",
        "lines": [{"sku": sku, "quantity": 1}], "delivery_address": address()}),
        )
        .json();
    let moves = format!(
        "/api/orders/{}/transitions",
        placed["order_id"].as_str().unwrap()
    );
    let refused = app.post(
        &moves,
        Some(&token(&customer(&who))),
        &json!({"status": "cancelled", "channel": "pos"}),
    );
    assert_eq!(
        refused.problem(403)["type"],
        "urn:omnichannel-edge:problem:channel-not-allowed"
    );
    let refused = app.post(
        &moves,
        Some(&token(&store_device("WAW-01"))),
        &json!({"status": "accepted", "channel": "web"}),
    );
    assert_eq!(
        refused.problem(403)["type"],
        "urn:omnichannel-edge:problem:channel-not-allowed"
    );
    let seen = app
        .get(
            &format!("/api/orders/{}", placed["order_id"].as_str().unwrap()),
            Some(&ops),
        )
        .json();
    assert_eq!(seen["status"], "placed", "a refused claim moved nothing");
    assert_eq!(
        app.post(
            &moves,
            Some(&token(&store_device("WAW-01"))),
            &json!({"status": "accepted", "channel": "kiosk"})
        )
        .status,
        200
    );
    // A store device of WAW-01 cannot ship from WAW-02.
    let body = json!({"fulfilment": "ship_from_store", "store_id": "WAW-02", "customer_id": who, "lines": [{"sku": sku, "quantity": 1}], "delivery_address": address()});
    app.post("/api/orders", Some(&token(&store_device("WAW-01"))), &body)
        .problem(403);
    // The till's discount is the till's: a store device completing a cart
    // checkout frozen on the web charges the web's price.
    let frozen = checkout(&app, &who, "web", &cart).json();
    assert_eq!(discount(&frozen), "0.00");
    let paid = complete(&app, frozen["handoff"]["code"].as_str().unwrap()).json();
    assert_eq!(paid["totals"]["total"]["amount"], "100.00");
}

#[test]
fn a_hundred_concurrent_ship_from_store_and_endless_aisle_orders_take_exactly_the_ten_units_at_each_source()
 {
    let app = Arc::new(seeded_app());
    let sku = stocked_sku(&app, &["WAW-01", "WH-CENTRAL"], 10);
    let before = (
        counts(&app, "WAW-01", &sku),
        counts(&app, "WH-CENTRAL", &sku),
    );
    let work = (Arc::clone(&app), sku.clone());
    let statuses = all_at_once(100, move |i| {
        let (fulfilment, store) = if i % 2 == 0 {
            ("ship_from_store", "WAW-01")
        } else {
            ("endless_aisle", "WH-CENTRAL")
        };
        let body = json!({"fulfilment": fulfilment, "store_id": store, "lines": [{"sku": work.1, "quantity": 1}],
            "delivery_address": address(), "channel": "app"});
        let reply = work.0.post(
            "/api/orders",
            Some(&token(&customer(&format!("C-SEAM-{i}")))),
            &body,
        );
        if reply.status == 409 {
            assert_eq!(
                reply.json()["type"],
                "urn:omnichannel-edge:problem:insufficient-stock"
            );
        } else {
            assert_eq!(reply.status, 201, "{}", reply.text());
        }
        (
            fulfilment,
            reply.status,
            reply.json()["order_id"].as_str().map(str::to_owned),
        )
    });
    let accepted = |kind: &str| {
        statuses
            .iter()
            .filter(|(f, s, _)| *f == kind && *s == 201)
            .count()
    };
    assert_eq!(
        accepted("ship_from_store"),
        10,
        "ship from store: exactly the 10 units available"
    );
    assert_eq!(
        accepted("endless_aisle"),
        10,
        "endless aisle: exactly the 10 units available"
    );
    assert_eq!(
        counts(&app, "WAW-01", &sku),
        (before.0.0, before.0.1 + 10),
        "on hand unchanged, 10 reserved"
    );
    assert_eq!(
        counts(&app, "WH-CENTRAL", &sku),
        (before.1.0, before.1.1 + 10)
    );
    eprintln!(
        "100 concurrent delivered orders against 10 + 10 units: accepted 10 / 10 and 10 / 10"
    );

    // Shipping takes the unit off the shelf once; a cancellation puts one back.
    let orders: Vec<&String> = statuses
        .iter()
        .filter(|(f, _, _)| *f == "ship_from_store")
        .filter_map(|(_, _, o)| o.as_ref())
        .collect();
    let till = token(&store_device("WAW-01"));
    for status in ["accepted", "picking"] {
        assert_eq!(
            app.post(
                &format!("/api/orders/{}/transitions", orders[0]),
                Some(&till),
                &json!({"status": status})
            )
            .status,
            200
        );
    }
    let shipped = app.post(&format!("/api/orders/{}/transitions", orders[0]), Some(&till),
        &json!({"status": "shipped", "tracking": {"carrier": "InPost", "url": "https://inpost.example/t/1"}}));
    assert_eq!(shipped.status, 200, "{}", shipped.text());
    assert_eq!(
        counts(&app, "WAW-01", &sku),
        (before.0.0 - 1, before.0.1 + 9)
    );
    let cancelled = app.post(
        &format!("/api/orders/{}/transitions", orders[1]),
        Some(&till),
        &json!({"status": "cancelled"}),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert_eq!(
        counts(&app, "WAW-01", &sku),
        (before.0.0 - 1, before.0.1 + 8)
    );
}

#[test]
fn golden_path_3_a_size_the_store_lacks_ordered_at_the_kiosk_from_central_stock_to_home_and_returned_anywhere()
 {
    let app = seeded_app();
    let sku = stocked_sku(&app, &["WH-CENTRAL"], 3);
    let kiosk = token(&store_device("WAW-01"));
    let who = unique("C");

    // The kiosk asks how the shopper can have it: not in this store, so the
    // endless aisle from the central warehouse.
    let options = app.post(
        "/api/availability/fulfilment-options",
        Some(&kiosk),
        &json!({"channel": "kiosk", "store_id": "WAW-01", "lines": [{"sku": sku, "quantity": 1}]}),
    );
    assert_eq!(options.status, 200, "{}", options.text());
    let options = options.json();
    let aisle = options["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["method"] == "endless_aisle")
        .cloned()
        .unwrap_or_else(|| panic!("the endless aisle is offered: {options}"));
    let source = aisle["location_id"].as_str().unwrap().to_owned();
    assert_eq!(source, "WH-CENTRAL");
    assert!(
        options["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["method"] == "pickup"),
        "{options}"
    );

    let body = json!({"fulfilment": "endless_aisle", "store_id": source, "customer_id": who, "channel": "kiosk",
        "lines": [{"sku": sku, "quantity": 1}], "delivery_address": address(), "locale": "pl"});
    let placed = app.post("/api/orders", Some(&kiosk), &body);
    assert_eq!(placed.status, 201, "{}", placed.text());
    let order = placed.json();
    let id = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(
        (order["fulfilment"].as_str(), order["channel"].as_str()),
        (Some("endless_aisle"), Some("kiosk"))
    );
    assert_eq!(order["total_paid"]["amount"], "100.00");
    let (on_hand, reserved) = counts(&app, "WH-CENTRAL", &sku);
    assert_eq!(reserved, 1, "the warehouse unit is locked at once");

    // The warehouse ships it; the carrier delivers it.
    let warehouse = token(&store_device("WH-CENTRAL"));
    for status in ["accepted", "picking"] {
        let reply = app.post(
            &format!("/api/orders/{id}/transitions"),
            Some(&warehouse),
            &json!({"status": status}),
        );
        assert_eq!(reply.status, 200, "{status}: {}", reply.text());
    }
    let shipped = app.post(&format!("/api/orders/{id}/transitions"), Some(&warehouse),
        &json!({"status": "shipped", "tracking": {"carrier": "DPD", "url": "https://dpd.example/t/42"}}));
    assert_eq!(shipped.status, 200, "{}", shipped.text());
    assert_eq!(
        counts(&app, "WH-CENTRAL", &sku),
        (on_hand - 1, 0),
        "shipped: off the warehouse shelf once"
    );
    let delivered = app.post(
        &format!("/api/orders/{id}/transitions"),
        Some(&ops_token()),
        &json!({"status": "delivered"}),
    );
    assert_eq!(delivered.status, 200, "{}", delivered.text());
    let seen = app
        .get(&format!("/api/orders/{id}"), Some(&token(&customer(&who))))
        .json();
    assert_eq!(seen["status"], "delivered");
    assert_eq!(
        seen["tracking"]["url"], "https://dpd.example/t/42",
        "{seen}"
    );
    let history = app.get(
        &format!("/api/orders/{id}/history"),
        Some(&token(&customer(&who))),
    );
    assert_eq!(history.status, 200, "{}", history.text());
    let text = history.text();
    for status in ["placed", "accepted", "picking", "shipped", "delivered"] {
        assert!(
            text.contains(&format!("\"{status}\"")),
            "{status} in the history: {text}"
        );
    }

    // Returned in another store, with no label.
    let rma = app.post("/api/returns", Some(&token(&customer(&who))),
        &json!({"order_id": id, "lines": [{"sku": sku, "quantity": 1, "reason": "too_small"}], "refund_method": "original_payment"}));
    assert_eq!(rma.status, 201, "{}", rma.text());
    let code = rma.json()["return_code"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let received = app.post(
        "/api/returns/intakes",
        Some(&token(&store_device("KRK-01"))),
        &json!({"code": code}),
    );
    assert_eq!(received.status, 200, "{}", received.text());
    assert_eq!(received.json()["status"], "received");
}

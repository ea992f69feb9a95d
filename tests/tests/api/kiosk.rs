//! The store kiosk page (issues 9 and 18): end-to-end in headless Chromium,
//! driven by tests/kiosk (playwright-core) against a seeded app.
//!
//! The Rust side starts the app, prepares what a store sees in a day over
//! the API (orders ready at this store and another, an order not ready yet,
//! a customer with a coupon, a cart handed over from the app with a
//! promotion and a refused code, returns opened in the app, a 24-hour
//! store's queue with orders placed hours ago), writes the codes into a JSON
//! config, runs `node tests/kiosk/scenarios.mjs` (through `blackbox_tests::browser`), which types each code or
//! number into the page and saves a screenshot per scenario into
//! `target/kiosk-artifacts/`, and then checks what changed on the server:
//! statuses, shelves, the exchange's reservation, and that every action
//! was recorded in the `kiosk` channel.
//!
//! The app runs with the edge host's test clock so that the queue's orders
//! can be placed in the past (a late one, one at risk); the clock is set
//! back to the real time before the browser starts, so the page's
//! countdowns and the server agree.
//!
//! A machine without Debian's Chromium or the npm packages FAILS here with
//! the command to run (`source infra/setup.sh`): a browser test that is
//! silently skipped proves nothing.

use blackbox_tests::{
    AppOptions, TestApp, browser, customer, ops, private_app, store_device, testing, token,
    token_at, unique, workspace_root,
};
use chrono::{DateTime, Duration, Utc};
use omni_shared::auth::{Caller, signed_code};
use serde_json::{Value, json};

const STORE: &str = "WAW-01";
const OTHER_STORE: &str = "WAW-02";
const SKU: &str = "TEE-ORG-BLK-M";
/// The returned item: another SKU, so its shelf moves only by the return.
const RETURNED: &str = "DRS-LIN-SND-M";
/// The item exchanged for another size: its shelf moves only by the return.
const EXCHANGED: &str = "TEE-ORG-WHT-M";
/// The order handed over by its typed number.
const TYPED: &str = "TEE-ORG-BLK-S";
/// A store open around the clock, so the queue's promises do not depend on
/// the hour the test runs at.
const ALL_DAY_STORE: &str = "WAW-24";

fn ok(reply: blackbox_tests::Reply, expected: u16) -> Value {
    assert_eq!(reply.status, expected, "{}", reply.text());
    reply.json()
}

/// A store open every hour of every day, with a one-hour pickup promise
/// and stock of [`SKU`].
fn seed_all_day_store(app: &TestApp) {
    let mut store: Value = serde_json::from_slice::<Value>(
        &std::fs::read(workspace_root().join("infra/demo/stores.json")).unwrap(),
    )
    .unwrap()["stores"][0]
        .clone();
    store["store_id"] = json!(ALL_DAY_STORE);
    store["name"] = json!("Warszawa Dworzec 24h");
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    store["hours"] = days
        .iter()
        .map(|d| (d.to_string(), json!(["00:00-24:00"])))
        .collect::<serde_json::Map<_, _>>()
        .into();
    store["closed_dates"] = json!([]);
    store["pickup_sla_minutes"] = json!(60);
    store["order_cutoff"] = json!("23:59");
    store["daily_picking_limit"] = json!(500);
    ok(
        app.post(
            "/api/catalog/stores",
            Some(&token(&ops())),
            &json!({"stores": [store]}),
        ),
        200,
    );
    let feed = json!({"feeds": [{"store_id": ALL_DAY_STORE, "sequence": 1, "lines": [{"sku": SKU, "on_hand": 50}]}]});
    ok(
        app.post("/api/availability/feed", Some(&token(&ops())), &feed),
        200,
    );
}

/// What a day at the counter needs: who acts, and when (the app's clock).
struct Counter<'a> {
    app: &'a TestApp,
    /// The instant the app's clock reads; tokens are issued then.
    now: DateTime<Utc>,
}

impl Counter<'_> {
    fn token(&self, caller: &Caller) -> String {
        token_at(caller, self.now - Duration::seconds(5), Duration::hours(6))
    }

    /// An order of `lines` placed by `who` for pickup at `store`, moved
    /// up to `until` by that store's device (`None`: left as placed).
    fn order(&self, who: &str, store: &str, lines: &[(&str, u32)], until: Option<&str>) -> String {
        let shopper = self.token(&customer(who));
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
            .collect();
        let body = json!({"store_id": store, "lines": lines});
        let reservation = ok(
            self.app.post("/api/reservations", Some(&shopper), &body),
            201,
        )["reservation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"fulfilment": "click_and_collect", "reservation_id": reservation, "locale": "en", "channel": "app"});
        let id = ok(self.app.post("/api/orders", Some(&shopper), &body), 201)["order_id"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Some(last) = until {
            let device = self.token(&store_device(store));
            for status in ["accepted", "picking", "ready_for_pickup", "picked_up"] {
                ok(
                    self.app.post(
                        &format!("/api/orders/{id}/transitions"),
                        Some(&device),
                        &json!({"status": status}),
                    ),
                    200,
                );
                if status == last {
                    break;
                }
            }
        }
        id
    }

    /// A return of `lines` opened in the app for an order collected at
    /// [`STORE`]: (return code, case number).
    fn opened_return(&self, who: &str, sku: &str, quantity: u32) -> (String, String) {
        let bought = self.order(who, STORE, &[(sku, quantity)], Some("picked_up"));
        let body = json!({"order_id": bought, "lines": [{"sku": sku, "quantity": quantity, "reason": "too small"}]});
        let opened = ok(
            self.app
                .post("/api/returns", Some(&self.token(&customer(who))), &body),
            201,
        );
        (
            opened["return_code"]["code"]
                .as_str()
                .expect("return_code.code")
                .to_owned(),
            opened["case_number"]
                .as_str()
                .expect("case_number")
                .to_owned(),
        )
    }
}

fn pickup_code(app: &TestApp, who: &str, order: &str) -> String {
    let body = ok(
        app.get(
            &format!("/api/orders/{order}/pickup-code"),
            Some(&token(&customer(who))),
        ),
        200,
    );
    body["code"].as_str().unwrap().to_owned()
}

fn order_of(app: &TestApp, order: &str) -> Value {
    ok(
        app.get(&format!("/api/orders/{order}"), Some(&token(&ops()))),
        200,
    )
}

fn order_status(app: &TestApp, order: &str) -> String {
    order_of(app, order)["status"].as_str().unwrap().to_owned()
}

/// The channels of an order's moves by a store device, in order.
fn store_channels(app: &TestApp, order: &str) -> Vec<(String, String)> {
    let history = ok(
        app.get(
            &format!("/api/orders/{order}/history"),
            Some(&token(&ops())),
        ),
        200,
    );
    history["history"]
        .as_array()
        .or_else(|| history.as_array())
        .unwrap_or_else(|| panic!("history of {order}: {history}"))
        .iter()
        .filter(|h| h["actor"] == "store_device")
        .map(|h| {
            (
                h["to"].as_str().unwrap().to_owned(),
                h["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn return_case(app: &TestApp, case: &str) -> Value {
    ok(
        app.get(&format!("/api/returns/{case}"), Some(&token(&ops()))),
        200,
    )
}

fn on_hand(app: &TestApp, store: &str, sku: &str) -> i64 {
    let body = ok(
        app.get(
            &format!("/api/stores/{store}/stock/{sku}"),
            Some(&token(&ops())),
        ),
        200,
    );
    body["on_hand"]
        .as_i64()
        .unwrap_or_else(|| panic!("on_hand in {body}"))
}

fn promotion(app: &TestApp, id: &str, name: &str, channels: &[&str]) -> String {
    let body = json!({
        "id": id, "name": name, "time_zone": "Europe/Warsaw", "stacking": "stackable",
        "benefit": {"type": "percent_off", "percent": "10"},
        "conditions": {"channels": channels},
        "codes": [id],
    });
    ok(
        app.post("/api/promotions", Some(&token(&ops())), &body),
        201,
    );
    id.to_owned()
}

#[test]
fn a_store_device_serves_every_kind_of_code_and_its_queue_in_headless_chromium() {
    blackbox_tests::browser::tooling();
    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..AppOptions::default()
    }) else {
        return;
    };
    app.seed_demo();
    app.seed_demo_stock();
    seed_all_day_store(&app);
    let secret = testing::CODE_SECRET.as_bytes();
    let real_now = Utc::now();
    let counter = Counter {
        app: &app,
        now: real_now,
    };

    // Pickup: an order ready here, one ready at another store, one not ready.
    let ada = unique("ada");
    let ready = counter.order(&ada, STORE, &[(SKU, 1)], Some("ready_for_pickup"));
    let ready_code = pickup_code(&app, &ada, &ready);
    let elsewhere = counter.order(&ada, OTHER_STORE, &[(SKU, 1)], Some("ready_for_pickup"));
    let elsewhere_code = pickup_code(&app, &ada, &elsewhere);
    let waiting = counter.order(&ada, STORE, &[(SKU, 1)], Some("accepted"));
    // The app shows no code before the order is ready; a code the app showed
    // for an order that went back (or a code made by hand) must still be
    // refused clearly, so the test signs one as the pickup code would be.
    let waiting_code = signed_code::sign(
        "pickup",
        waiting.as_bytes(),
        Utc::now() + Duration::days(1),
        secret,
    );
    let expired_code = signed_code::sign(
        "pickup",
        ready.as_bytes(),
        Utc::now() - Duration::minutes(1),
        secret,
    );
    let mut forged_code = ready_code.clone();
    let last = forged_code.pop().unwrap();
    forged_code.push(if last == 'A' { 'B' } else { 'A' });
    // A customer without a phone gives the order number instead.
    let typed = counter.order(&ada, STORE, &[(TYPED, 1)], Some("ready_for_pickup"));

    // A customer identifying with the app: one order ready here, a coupon.
    let bea = unique("bea");
    let bea_ready = counter.order(&bea, STORE, &[(SKU, 1)], Some("ready_for_pickup"));
    counter.order(&bea, OTHER_STORE, &[(SKU, 1)], Some("ready_for_pickup"));
    let coupon = unique("KIOSK").replace('-', "");
    let regulars = json!({
        "id": coupon, "name": "Store regulars 5%", "time_zone": "Europe/Warsaw",
        "benefit": {"type": "percent_off", "percent": "5"},
        "conditions": {"channels": ["pos", "kiosk"], "loyalty_tiers": ["gold"]},
    });
    ok(
        app.post("/api/promotions", Some(&token(&ops())), &regulars),
        201,
    );
    let profile = json!({"customers": [{"customer_id": bea, "loyalty_tier": "gold"}]});
    let reply = app.post("/api/promotions/customers", Some(&token(&ops())), &profile);
    assert!(matches!(reply.status, 200 | 201), "{}", reply.text());
    let identity = ok(
        app.post(
            "/api/identity/codes",
            Some(&token(&customer(&bea))),
            &json!({}),
        ),
        200,
    );
    let identity_code = identity["code"].as_str().unwrap().to_owned();
    let expired_identity = signed_code::sign(
        "customer-identity",
        format!("cid:{bea}").as_bytes(),
        Utc::now() - Duration::seconds(5),
        secret,
    );

    // A cart built in the app and handed to the kiosk, with a code that
    // applies and one the app's channel may not use.
    let applied_code = promotion(
        &app,
        &unique("APP10").replace('-', ""),
        "App 10% off",
        &["app"],
    );
    let refused_code = promotion(
        &app,
        &unique("WEB10").replace('-', ""),
        "Web only 10% off",
        &["web"],
    );
    let cy = token(&customer(&unique("cy")));
    let cart = app.send(
        "POST",
        "/api/carts",
        Some(&cy),
        &[("x-channel", "app")],
        Some(br#"{"channel":"app"}"#),
    );
    assert!(matches!(cart.status, 200 | 201), "{}", cart.text());
    let cart_id = cart.json()["cart_id"].as_str().unwrap().to_owned();
    for (sku, quantity) in [("TEE-ORG-BLK-M", 2), ("DRS-LIN-NAV-M", 1)] {
        let body = json!({"sku": sku, "quantity": quantity}).to_string();
        ok(
            app.send(
                "POST",
                &format!("/api/carts/{cart_id}/lines"),
                Some(&cy),
                &[("x-channel", "app")],
                Some(body.as_bytes()),
            ),
            200,
        );
    }
    for code in [&applied_code, &refused_code] {
        let body = json!({"code": code}).to_string();
        ok(
            app.send(
                "POST",
                &format!("/api/carts/{cart_id}/coupons"),
                Some(&cy),
                &[("x-channel", "app")],
                Some(body.as_bytes()),
            ),
            200,
        );
    }
    let in_app = ok(
        app.send(
            "GET",
            &format!("/api/carts/{cart_id}"),
            Some(&cy),
            &[("x-channel", "app")],
            None,
        ),
        200,
    );
    let if_match = format!("\"v{}\"", in_app["version"]);
    let checkout_path = format!("/api/carts/{cart_id}/checkouts");
    let frozen = ok(
        app.send(
            "POST",
            &checkout_path,
            Some(&cy),
            &[("x-channel", "app"), ("if-match", &if_match)],
            None,
        ),
        201,
    );
    assert_eq!(frozen["totals"], in_app["totals"]);
    let handoff_code = frozen["handoff"]["code"].as_str().unwrap().to_owned();
    let promotion_ids: Vec<&str> = frozen["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["promotion_id"].as_str())
        .collect();
    assert!(promotion_ids.contains(&applied_code.as_str()), "{frozen}");

    // Returns opened in the app: one the customer shows as a QR (two
    // units, one comes back damaged), one whose number is typed (exchanged
    // for another size), and the customer who identifies has one open too.
    let (return_code, damaged_case) = counter.opened_return(&bea, RETURNED, 2);
    let dee = unique("dee");
    let (_, exchange_case) = counter.opened_return(&dee, EXCHANGED, 1);
    let typo_case = {
        let mut digits: Vec<char> = exchange_case.chars().collect();
        let last = digits.pop().unwrap();
        digits.push(if last == '0' { '1' } else { '0' });
        digits.into_iter().collect::<String>()
    };

    // The 24-hour store's queue: one order placed 3 hours ago (late), one 55
    // minutes ago (at risk: 80 % of its hour gone), one just now, and one
    // ready and waiting. Placed with the app's clock moved back.
    let queue_customer = unique("eve");
    counter.app.set_clock(real_now - Duration::hours(3));
    let late = Counter {
        app: &app,
        now: real_now - Duration::hours(3),
    }
    .order(&queue_customer, ALL_DAY_STORE, &[(SKU, 1)], None);
    counter.app.set_clock(real_now - Duration::minutes(55));
    let at_risk = Counter {
        app: &app,
        now: real_now - Duration::minutes(55),
    }
    .order(&queue_customer, ALL_DAY_STORE, &[(SKU, 2)], None);
    app.set_clock(Utc::now());
    let counter = Counter {
        app: &app,
        now: Utc::now(),
    };
    let on_track = counter.order(&queue_customer, ALL_DAY_STORE, &[(SKU, 1)], None);
    let waiting_here = counter.order(
        &queue_customer,
        ALL_DAY_STORE,
        &[(SKU, 1)],
        Some("ready_for_pickup"),
    );

    let stock_before = on_hand(&app, STORE, SKU);
    let typed_before = on_hand(&app, STORE, TYPED);
    let returned_before = on_hand(&app, STORE, RETURNED);
    let exchanged_before = on_hand(&app, STORE, EXCHANGED);

    let artifacts = workspace_root().join("target/kiosk-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let config = json!({
        "base_url": app.base_url,
        "artifacts": artifacts,
        "chromium": browser::CHROMIUM,
        "store_id": STORE,
        "store_name": "Warszawa Centrum",
        "store_token": token(&store_device(STORE)),
        "customer_token": token(&customer(&ada)),
        "strings": {
            "en": workspace_root().join("components/kiosk/assets/strings-en.json"),
            "pl": workspace_root().join("components/kiosk/assets/strings-pl.json"),
        },
        "pickup": {"code": ready_code, "order_id": ready, "line_names": [SKU]},
        "typed_order": {"order_id": typed},
        "other_store": {"code": elsewhere_code, "store_id": OTHER_STORE},
        "not_ready": {"code": waiting_code},
        "expired": {"code": expired_code},
        "forged": {"code": forged_code},
        "unknown": {"code": "HELLO-THIS-IS-NOT-A-CODE"},
        "identity": {
            "code": identity_code, "expired_code": expired_identity, "customer_id": bea, "order_id": bea_ready, "coupon_id": coupon,
            "return_case": damaged_case,
        },
        "handoff": {
            "code": handoff_code, "total": frozen["totals"]["total"], "skus": ["TEE-ORG-BLK-M", "DRS-LIN-NAV-M"],
            "promotion_id": applied_code, "refused_code": refused_code, "refused_reason": "wrong-channel",
        },
        "return": {"code": return_code, "case_number": damaged_case, "sku": RETURNED},
        "exchange": {"case_number": exchange_case, "typo": typo_case, "sku": EXCHANGED},
        "queue": {
            "store_id": ALL_DAY_STORE,
            "store_token": token(&store_device(ALL_DAY_STORE)),
            "late": late, "at_risk": at_risk, "on_track": on_track, "ready": waiting_here,
        },
    });
    browser::run_scenarios("scenarios.mjs", &config);

    // What changed on the server, and in which channel.
    let kiosk_moves = |order: &str, moves: &[&str]| {
        let expected: Vec<(String, String)> = moves
            .iter()
            .map(|m| (m.to_string(), "kiosk".to_owned()))
            .collect();
        let seen: Vec<(String, String)> = store_channels(&app, order)
            .into_iter()
            .filter(|(_, channel)| channel == "kiosk")
            .collect();
        assert_eq!(
            seen, expected,
            "the kiosk's moves of {order}, recorded as kiosk"
        );
    };
    assert_eq!(
        order_status(&app, &ready),
        "picked_up",
        "the kiosk handed the order over"
    );
    kiosk_moves(&ready, &["picked_up"]);
    assert_eq!(
        order_status(&app, &typed),
        "picked_up",
        "the order typed by number was handed over"
    );
    kiosk_moves(&typed, &["picked_up"]);
    assert_eq!(
        order_status(&app, &elsewhere),
        "ready_for_pickup",
        "another store's order is untouched"
    );
    assert_eq!(
        order_status(&app, &waiting),
        "accepted",
        "an order not ready is untouched"
    );
    assert_eq!(
        order_status(&app, &bea_ready),
        "ready_for_pickup",
        "looking a customer up changes nothing"
    );
    assert_eq!(
        on_hand(&app, STORE, SKU),
        stock_before - 1,
        "the handed-over unit left the shelf"
    );
    assert_eq!(
        on_hand(&app, STORE, TYPED),
        typed_before - 1,
        "the typed order's unit left the shelf"
    );

    let checkout_id = frozen["checkout_id"].as_str().unwrap();
    let paid = ok(
        app.get(
            &format!("/api/carts/checkouts/{checkout_id}"),
            Some(&token(&ops())),
        ),
        200,
    );
    assert_eq!(paid["status"], "completed");
    assert_eq!(paid["completed_by"], STORE);
    assert_eq!(
        paid["completed_channel"], "kiosk",
        "the kiosk completed the cart as the kiosk: {paid}"
    );

    let damaged = return_case(&app, &damaged_case);
    assert_eq!(
        damaged["status"], "refunded",
        "received, then refunded from the kiosk: {damaged}"
    );
    assert_eq!(damaged["lines"][0]["received_sellable"], 1, "{damaged}");
    assert_eq!(damaged["lines"][0]["received_damaged"], 1, "{damaged}");
    assert_eq!(
        on_hand(&app, STORE, RETURNED),
        returned_before + 1,
        "only the sellable unit is back on this store's shelf"
    );
    let staff_channels = |rma: &Value| -> Vec<(String, String)> {
        rma["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["actor"] == "store_device")
            .map(|h| {
                (
                    h["status"].as_str().unwrap().to_owned(),
                    h["channel"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        staff_channels(&damaged),
        [
            ("received".to_owned(), "kiosk".to_owned()),
            ("refunded".to_owned(), "kiosk".to_owned())
        ]
    );

    let exchanged = return_case(&app, &exchange_case);
    assert_eq!(exchanged["status"], "exchanged", "{exchanged}");
    assert_eq!(
        staff_channels(&exchanged),
        [
            ("received".to_owned(), "kiosk".to_owned()),
            ("exchanged".to_owned(), "kiosk".to_owned())
        ]
    );
    let swap = &exchanged["exchange"];
    let replacement = swap["lines"][0]["replacement_sku"].as_str().unwrap();
    assert!(
        replacement.starts_with("TEE-ORG-") && replacement != EXCHANGED,
        "another variant of the product: {swap}"
    );
    assert_eq!(
        swap["store_id"], STORE,
        "the replacement is held at the store that took the return: {swap}"
    );
    assert_eq!(
        swap["settlement"], "none",
        "same list price, nothing to settle: {swap}"
    );
    let reservation = swap["reservation_id"]
        .as_str()
        .expect("the replacement is reserved");
    let held = ok(
        app.get(
            &format!("/api/reservations/{reservation}"),
            Some(&token(&ops())),
        ),
        200,
    );
    assert!(
        held.to_string().contains(replacement),
        "the reservation holds {replacement}: {held}"
    );
    assert_eq!(
        on_hand(&app, STORE, EXCHANGED),
        exchanged_before + 1,
        "the returned unit is back on the shelf"
    );

    assert_eq!(
        order_status(&app, &on_track),
        "ready_for_pickup",
        "moved from placed to ready in the queue"
    );
    kiosk_moves(&on_track, &["accepted", "picking", "ready_for_pickup"]);
    assert_eq!(
        order_status(&app, &late),
        "placed",
        "the queue moved only the order the clerk chose"
    );
    assert_eq!(order_status(&app, &at_risk), "placed");

    let shots = browser::screenshots(&artifacts);
    assert!(
        shots >= 25,
        "a screenshot per scenario in {}: {shots}",
        artifacts.display()
    );
}

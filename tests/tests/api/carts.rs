//! Carts over HTTP: golden paths 2 (app -> web -> till by QR) and 5 (guest
//! -> login -> merge), devices editing one cart at once, expiry, and every
//! bad-input class answered with a problem while the cart stays unchanged.

use blackbox_tests::{
    AppOptions, Reply, TestApp, customer, ops, private_app, seeded_app, store_device, token,
    token_at, unique,
};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// A cart as a test addresses it: by the owner's token, or by a guest
/// secret, from one channel.
#[derive(Clone)]
struct Cart {
    id: String,
    token: Option<String>,
    secret: Option<String>,
    channel: &'static str,
}

impl Cart {
    fn send(
        &self,
        app: &TestApp,
        method: &str,
        suffix: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut headers: Vec<(&str, &str)> = vec![("x-channel", self.channel)];
        if let Some(secret) = &self.secret {
            headers.push(("x-cart-secret", secret));
        }
        headers.extend_from_slice(extra);
        let body = body.map(|b| b.to_string().into_bytes());
        app.send(
            method,
            &format!("/api/carts/{}{suffix}", self.id),
            self.token.as_deref(),
            &headers,
            body.as_deref(),
        )
    }

    fn in_channel(&self, channel: &'static str) -> Cart {
        Cart {
            channel,
            ..self.clone()
        }
    }

    fn get(&self, app: &TestApp) -> Value {
        ok(self.send(app, "GET", "", None, &[]))
    }

    fn add(&self, app: &TestApp, sku: &str, quantity: i64) -> Reply {
        self.send(
            app,
            "POST",
            "/lines",
            Some(&json!({"sku": sku, "quantity": quantity})),
            &[],
        )
    }
}

fn ok(reply: Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn guest_cart(app: &TestApp, channel: &'static str) -> Cart {
    let reply = app.post("/api/carts", None, &json!({"channel": channel}));
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    Cart {
        id: body["cart_id"].as_str().unwrap().into(),
        token: None,
        secret: Some(body["secret"].as_str().unwrap().into()),
        channel,
    }
}

fn customer_cart(app: &TestApp, token: &str, channel: &'static str) -> Cart {
    let reply = app.send(
        "POST",
        "/api/carts",
        Some(token),
        &[("x-channel", channel)],
        Some(json!({"channel": channel}).to_string().as_bytes()),
    );
    assert!(matches!(reply.status, 200 | 201), "{}", reply.text());
    Cart {
        id: reply.json()["cart_id"].as_str().unwrap().into(),
        token: Some(token.into()),
        secret: None,
        channel,
    }
}

fn lines(cart: &Value) -> Vec<(String, u64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Loads `count` extra SKUs at 10.00 PLN through the catalog API.
fn load_skus(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let ops = token(&ops());
    let skus: Vec<String> = (0..count).map(|i| format!("{prefix}-{i:03}")).collect();
    let items: Vec<Value> = skus
        .iter()
        .map(|sku| json!({"sku": sku, "product_id": prefix, "name": "Test sock", "category": ["men", "socks"], "size": "M"}))
        .collect();
    let reply = app.post("/api/catalog/items", Some(&ops), &json!({"items": items}));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let prices: Vec<Value> = skus
        .iter()
        .map(|sku| json!({"sku": sku, "amount": "10.00", "currency": "PLN"}))
        .collect();
    let reply = app.post(
        "/api/catalog/prices",
        Some(&ops),
        &json!({"prices": prices}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    skus
}

#[test]
fn golden_path_2_app_to_web_to_till_by_qr_keeps_the_prices_and_the_coupon_result() {
    let app = seeded_app();
    let code = unique("SPRING").replace('-', "");
    let promotion = json!({
        "id": code, "name": "Spring 10%", "time_zone": "Europe/Warsaw", "requires_code": true,
        "benefit": {"type": "percent_off", "percent": "10"}, "codes": [code],
    });
    let created = app.post("/api/promotions", Some(&token(&ops())), &promotion);
    assert_eq!(created.status, 201, "{}", created.text());

    let shopper = token(&customer(&unique("C")));
    let in_app = customer_cart(&app, &shopper, "app");
    ok(in_app.add(&app, "TEE-ORG-BLK-M", 2));
    ok(in_app.add(&app, "DRS-LIN-NAV-M", 1));
    let with_coupon = ok(in_app.send(&app, "POST", "/coupons", Some(&json!({"code": code})), &[]));
    assert_eq!(with_coupon["coupons"][0]["applied"], true, "{with_coupon}");

    // Continued on the web: the same cart, the same prices and discount.
    let mine = ok(app.send(
        "GET",
        "/api/carts/me",
        Some(&shopper),
        &[("x-channel", "web")],
        None,
    ));
    assert_eq!(mine["cart_id"], with_coupon["cart_id"]);
    assert_eq!(mine["totals"], with_coupon["totals"]);
    let on_web = in_app.in_channel("web");
    let more = ok(on_web.add(&app, "SCF-WOL-RED", 1));
    assert_eq!(more["totals"]["line_count"], 3);

    // Handed to the till by QR.
    let reply = on_web.send(
        &app,
        "POST",
        "/checkouts",
        None,
        &[("if-match", &format!("\"v{}\"", more["version"]))],
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let frozen = reply.json();
    assert_eq!(frozen["totals"], more["totals"]);
    let used = || {
        app.get(&format!("/api/promotions/{code}"), Some(&token(&ops())))
            .json()["used"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(used(), 1, "the checkout holds the coupon's use");
    assert!(
        frozen["handoff"]["qr_svg"]
            .as_str()
            .unwrap()
            .starts_with("<?xml")
    );
    let handoff = frozen["handoff"]["code"].as_str().unwrap();
    let till = token(&store_device("WAW-01"));
    let scanned = ok(app.send(
        "GET",
        &format!("/api/carts/handoff/{handoff}"),
        Some(&till),
        &[("x-channel", "pos")],
        None,
    ));
    for field in ["totals", "coupons", "currency"] {
        assert_eq!(scanned[field], more[field], "{field}");
    }
    assert_eq!(scanned["cart_version"], more["version"]);
    let priced = |cart: &Value| -> Vec<Value> {
        cart["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                json!([
                    l["sku"],
                    l["quantity"],
                    l["unit_price"],
                    l["discount"],
                    l["total"]
                ])
            })
            .collect()
    };
    assert_eq!(
        priced(&scanned),
        priced(&more),
        "line by line, the till charges what the web showed"
    );
    assert_eq!(scanned["totals"]["discount"], more["totals"]["discount"]);
    assert_ne!(scanned["totals"]["discount"]["amount"], "0.00");

    let paid = ok(app.send(
        "POST",
        &format!("/api/carts/handoff/{handoff}/complete"),
        Some(&till),
        &[("x-channel", "pos")],
        None,
    ));
    assert_eq!(paid["status"], "completed");
    assert_eq!(used(), 1, "the till counted it once, with no second call");
    let retried = ok(app.send(
        "POST",
        &format!("/api/carts/handoff/{handoff}/complete"),
        Some(&till),
        &[("x-channel", "pos")],
        None,
    ));
    assert_eq!(
        retried["completed_at"], paid["completed_at"],
        "one instant, one text: in the answer, a retry and a later read"
    );
    let after = on_web.get(&app);
    assert_eq!(after["status"], "converted");
    let events = ok(app.get(
        "/api/carts/events?kind=converted&limit=1000",
        Some(&token(&ops())),
    ));
    let event = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["cart_id"] == frozen["cart_id"])
        .expect("a converted event");
    assert_eq!(
        (
            event["channel_started"].as_str(),
            event["channel_finished"].as_str()
        ),
        (Some("app"), Some("pos"))
    );
}

#[test]
fn golden_path_5_a_guest_cart_merges_at_login_with_nothing_lost_or_doubled() {
    let app = seeded_app();
    let shopper = token(&customer(&unique("C")));
    let in_app = customer_cart(&app, &shopper, "app");
    ok(in_app.add(&app, "TEE-ORG-BLK-M", 1));
    ok(in_app.add(&app, "JNS-SLM-IND-32", 1));

    let guest = guest_cart(&app, "web");
    ok(guest.add(&app, "TEE-ORG-BLK-M", 1));
    ok(guest.add(&app, "DRS-LIN-NAV-M", 2));
    let at_login = Cart {
        token: Some(shopper.clone()),
        ..guest.clone()
    };
    let merged = ok(at_login.send(&app, "POST", "/merge", None, &[]));
    assert_eq!(merged["cart_id"].as_str(), Some(in_app.id.as_str()));
    let expected = vec![
        ("TEE-ORG-BLK-M".to_owned(), 1),
        ("JNS-SLM-IND-32".to_owned(), 1),
        ("DRS-LIN-NAV-M".to_owned(), 2),
    ];
    assert_eq!(
        lines(&merged),
        expected,
        "the same tee in both carts stays one tee"
    );
    let again = ok(at_login.send(&app, "POST", "/merge", None, &[]));
    assert_eq!(
        (lines(&again), &again["version"]),
        (expected.clone(), &merged["version"]),
        "merged twice = merged once"
    );
    assert_eq!(lines(&in_app.get(&app)), expected);

    let closed = guest.add(&app, "TEE-ORG-BLK-M", 1).problem(409);
    assert_eq!(closed["merged_into"].as_str(), Some(in_app.id.as_str()));
    assert_eq!(guest.get(&app)["status"], "merged");
}

#[test]
fn three_devices_adding_fifty_different_lines_at_once_keep_all_150() {
    let app = seeded_app();
    let skus = load_skus(&app, &unique("SOCK"), 150);
    let cart = customer_cart(&app, &token(&customer(&unique("C"))), "app");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        // A phone, a browser and a tablet (the app again, asking for the
        // minimal answer: only the new ETag).
        let devices: Vec<_> = [("app", 0), ("web", 50), ("app", 100)]
            .into_iter()
            .map(|(channel, first)| {
                let (app, cart, skus) = (&app, cart.in_channel(channel), &skus);
                let prefer: &[(&str, &str)] = if first == 100 {
                    &[("prefer", "return=minimal")]
                } else {
                    &[]
                };
                scope.spawn(move || {
                    (first..first + 50)
                        .map(|i| {
                            cart.send(
                                app,
                                "POST",
                                "/lines",
                                Some(&json!({"sku": skus[i], "quantity": 1})),
                                prefer,
                            )
                            .status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        devices
            .into_iter()
            .flat_map(|d| d.join().unwrap())
            .collect()
    });
    assert!(
        statuses[..100].iter().all(|s| *s == 200) && statuses[100..].iter().all(|s| *s == 204),
        "{statuses:?}"
    );
    let body = cart.get(&app);
    assert_eq!(body["totals"]["line_count"], 150);
    assert_eq!(body["version"], 151, "one version per add, none lost");
    assert_eq!(
        body["totals"]["total"],
        json!({"amount": "1500.00", "currency": "PLN"})
    );
}

#[test]
fn three_devices_changing_one_line_at_once_agree_on_one_quantity_without_errors() {
    let app = seeded_app();
    let cart = customer_cart(&app, &token(&customer(&unique("C"))), "app");
    ok(cart.add(&app, "TEE-ORG-BLK-M", 1));
    let base = cart.get(&app)["version"].as_i64().unwrap();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let devices: Vec<_> = [("app", 4), ("web", 9), ("app", 6)]
            .into_iter()
            .map(|(channel, quantity)| {
                let (app, cart) = (&app, cart.in_channel(channel));
                scope.spawn(move || {
                    let body = json!({"quantity": quantity, "base_version": base});
                    cart.send(app, "PUT", "/lines/TEE-ORG-BLK-M", Some(&body), &[])
                        .status
                })
            })
            .collect();
        devices.into_iter().map(|d| d.join().unwrap()).collect()
    });
    assert_eq!(statuses, [200, 200, 200]);
    for channel in ["app", "web"] {
        assert_eq!(
            lines(&cart.in_channel(channel).get(&app)),
            [("TEE-ORG-BLK-M".to_owned(), 9)],
            "{channel}"
        );
    }
}

#[test]
fn every_bad_input_class_is_a_problem_and_the_cart_is_unchanged() {
    let app = seeded_app();
    let cart = customer_cart(&app, &token(&customer(&unique("C"))), "web");
    ok(cart.add(&app, "TEE-ORG-BLK-M", 2));
    let before = cart.get(&app);
    let raw = |body: &[u8]| cart.send_raw(&app, body);
    cart.add(&app, "NO-SUCH-SKU", 1).problem(422);
    for quantity in [json!(0), json!(-1), json!(1.5), json!(100), json!(1e30)] {
        cart.send(
            &app,
            "POST",
            "/lines",
            Some(&json!({"sku": "TEE-ORG-BLK-M", "quantity": quantity})),
            &[],
        )
        .problem(422);
    }
    cart.send(
        &app,
        "PUT",
        "/lines/TEE-ORG-BLK-M",
        Some(&json!({"quantity": 0})),
        &[],
    )
    .problem(422);
    raw(b"{\"sku\": \"TEE").problem(400);
    raw(json!({"sku": ["TEE-ORG-BLK-M"], "quantity": "2"})
        .to_string()
        .as_bytes())
    .problem(422);
    raw(
        json!({"sku": "TEE-ORG-BLK-M", "quantity": 1, "discount": "100%"})
            .to_string()
            .as_bytes(),
    )
    .problem(422);
    raw(format!(
        "{{\"sku\": \"TEE-ORG-BLK-M\", \"quantity\": 1, \"note\": \"{}\"}}",
        "x".repeat(70 * 1024)
    )
    .as_bytes())
    .problem(413);
    assert_eq!(
        app.announce_body(
            "POST",
            &format!("/api/carts/{}/lines", cart.id),
            2 * 1024 * 1024
        ),
        413
    );
    let stale = cart
        .send(&app, "DELETE", "/lines", None, &[("if-match", "\"v1\"")])
        .problem(412);
    assert_eq!(stale["current"]["version"], before["version"]);
    cart.send(&app, "DELETE", "/lines", None, &[("if-match", "v1")])
        .problem(400);
    let skus = load_skus(&app, &unique("LIM"), 200);
    for sku in &skus[..199] {
        ok(cart.add(&app, sku, 1));
    }
    cart.add(&app, &skus[199], 1).problem(422);
    let after = cart.get(&app);
    assert_eq!(after["totals"]["line_count"], 200);
    assert_eq!(
        lines(&after)[0],
        lines(&before)[0],
        "the first line was never touched by the refused edits"
    );
}

impl Cart {
    /// A POST of raw bytes to the cart's lines, as a broken client sends it.
    fn send_raw(&self, app: &TestApp, body: &[u8]) -> Reply {
        app.send(
            "POST",
            &format!("/api/carts/{}/lines", self.id),
            self.token.as_deref(),
            &[("x-channel", self.channel)],
            Some(body),
        )
    }
}

#[test]
fn carts_are_reachable_only_by_their_owner_ops_or_a_handoff_code() {
    let app = seeded_app();
    let cart = customer_cart(&app, &token(&customer(&unique("C"))), "app");
    ok(cart.add(&app, "TEE-ORG-BLK-M", 1));
    let other = Cart {
        token: Some(token(&customer(&unique("C")))),
        ..cart.clone()
    };
    other.send(&app, "GET", "", None, &[]).problem(404);
    other.add(&app, "TEE-ORG-BLK-M", 5).problem(404);
    let till = Cart {
        token: Some(token(&store_device("WAW-01"))),
        ..cart.clone()
    };
    till.send(&app, "GET", "", None, &[]).problem(403);
    let operator = Cart {
        token: Some(token(&ops())),
        ..cart.clone()
    };
    assert_eq!(
        lines(&operator.get(&app)),
        [("TEE-ORG-BLK-M".to_owned(), 1)]
    );
    operator.add(&app, "TEE-ORG-BLK-M", 1).problem(403);
    let guest = guest_cart(&app, "web");
    Cart {
        secret: None,
        ..guest.clone()
    }
    .send(&app, "GET", "", None, &[])
    .problem(404);
    Cart {
        secret: Some("A".repeat(43)),
        ..guest.clone()
    }
    .send(&app, "GET", "", None, &[])
    .problem(404);
    let forged = format!("{}x", &cart.token.clone().unwrap()[..10]);
    Cart {
        token: Some(forged),
        ..cart.clone()
    }
    .send(&app, "GET", "", None, &[])
    .problem(401);
    assert_eq!(lines(&cart.get(&app)), [("TEE-ORG-BLK-M".to_owned(), 1)]);
}

#[test]
fn a_store_only_item_online_is_refused_with_the_alternative() {
    let app = seeded_app();
    let cart = guest_cart(&app, "web");
    let refused = cart.add(&app, "SKT-PLT-BLK-M", 1).problem(422);
    assert_eq!(
        refused["type"],
        "urn:omnichannel-edge:problem:not-sold-in-channel"
    );
    assert_eq!(
        (refused["reason"].as_str(), refused["alternative"].as_str()),
        (
            Some("this item is sold in stores only"),
            Some("reserve_in_store")
        )
    );
    // A guest cannot claim the till to reach the store-only assortment.
    let at_till = cart
        .in_channel("pos")
        .add(&app, "SKT-PLT-BLK-M", 1)
        .problem(403);
    assert_eq!(
        at_till["type"],
        "urn:omnichannel-edge:problem:channel-not-allowed"
    );
    assert!(lines(&cart.get(&app)).is_empty());
}

#[test]
fn forged_and_expired_handoff_codes_are_refused_and_untouched_carts_expire() {
    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..Default::default()
    }) else {
        return;
    };
    app.seed_demo();
    let start = Utc::now();
    app.set_clock(start);
    let shopper = customer(&unique("C"));
    let cart = customer_cart(&app, &token_at(&shopper, start, Duration::hours(1)), "app");
    ok(cart.add(&app, "TEE-ORG-BLK-M", 1));
    let reply = cart.send(&app, "POST", "/checkouts", None, &[]);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let code = reply.json()["handoff"]["code"].as_str().unwrap().to_owned();
    let till = token_at(&store_device("KRK-01"), start, Duration::hours(1));
    let tampered = format!(
        "{}{}",
        &code[..code.len() - 2],
        if code.ends_with("AA") { "BB" } else { "AA" }
    );
    app.get(&format!("/api/carts/handoff/{tampered}"), Some(&till))
        .problem(403);

    let later = start + Duration::minutes(45);
    app.set_clock(later);
    let till = token_at(&store_device("KRK-01"), later, Duration::hours(1));
    let expired = app
        .get(&format!("/api/carts/handoff/{code}"), Some(&till))
        .problem(410);
    assert_eq!(
        expired["type"],
        "urn:omnichannel-edge:problem:handoff-code-expired"
    );

    let month = start + Duration::days(31);
    app.set_clock(month);
    let fresh = token_at(&shopper, month, Duration::hours(1));
    app.get("/api/carts/me", Some(&fresh)).problem(404);
    let old = Cart {
        token: Some(fresh.clone()),
        ..cart.clone()
    };
    assert_eq!(old.get(&app)["status"], "expired");
    old.add(&app, "TEE-ORG-BLK-M", 1).problem(409);
    let operator = token_at(&ops(), month, Duration::hours(1));
    let events = ok(app.get("/api/carts/events?kind=abandoned", Some(&operator)));
    let event = &events["events"][0];
    assert_eq!(
        (event["cart_id"].as_str(), event["channel_started"].as_str()),
        (Some(cart.id.as_str()), Some("app"))
    );
}

#[test]
fn sixteen_devices_adding_to_one_line_at_once_lose_no_unit() {
    // The hottest row there is: every add decides from the same version and
    // all but one lose the guarded write and decide again.
    let app = seeded_app();
    let cart = customer_cart(&app, &token(&customer(&unique("C"))), "app");
    ok(cart.add(&app, "TEE-ORG-BLK-M", 1));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let devices: Vec<_> = (0..16)
            .map(|i| {
                let (app, cart) = (
                    &app,
                    cart.in_channel(if i % 2 == 0 { "app" } else { "web" }),
                );
                scope.spawn(move || {
                    (0..4)
                        .map(|_| {
                            let body = json!({"sku": "TEE-ORG-BLK-M", "quantity": 1});
                            cart.send(
                                app,
                                "POST",
                                "/lines",
                                Some(&body),
                                &[("prefer", "return=minimal")],
                            )
                            .status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        devices
            .into_iter()
            .flat_map(|d| d.join().unwrap())
            .collect()
    });
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let body = cart.get(&app);
    assert_eq!(lines(&body), [("TEE-ORG-BLK-M".to_owned(), 65)]);
    assert_eq!(
        body["version"],
        2 + 64,
        "one version per add, none lost or doubled"
    );
}

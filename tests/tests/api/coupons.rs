//! Coupons over HTTP: the till and the web get the same answer, channel-only
//! codes are refused with their reason, limits hold under concurrency and
//! across channels, retries count once, bad input is a problem that counts
//! nothing, the basket is priced from the catalog (a price the caller makes
//! up is refused), and each caller acts only in the channels it may.

use blackbox_tests::{
    AppOptions, TestApp, customer, ops, private_app, seeded_app, store_device, token, token_at,
    unique,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// The demo promotions with their dates rendered for today, as the demo
/// seed renders them.
fn demo_promotions() -> Value {
    let path = blackbox_tests::workspace_root().join("infra/demo/promotions.json");
    let text = std::fs::read_to_string(path).expect("demo promotions");
    let rendered = blackbox_tests::testing::render_relative_dates(&text, Utc::now().date_naive())
        .expect("relative dates");
    serde_json::from_str(&rendered).expect("JSON")
}

/// Loads the demo promotions (idempotent: an unchanged definition keeps its
/// version), as the seed script does.
fn seed_promotions(app: &TestApp) {
    let reply = app.post(
        "/api/promotions/import",
        Some(&token(&ops())),
        &demo_promotions(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn line(sku: &str, category: &[&str], quantity: u32, price: &str) -> Value {
    json!({"sku": sku, "category": category, "quantity": quantity, "unit_price": {"amount": price, "currency": "PLN"}})
}

/// Prices as the demo catalogue has them.
fn basket() -> Value {
    json!({"currency": "PLN", "lines": [
        line("DRS-LIN-NAV-M", &["women", "dresses"], 1, "249.99"),
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 2, "59.99"),
        line("TEE-ORG-WHT-L", &["men", "t-shirts"], 1, "59.99"),
    ]})
}

/// A promotion with a fresh id and one shared code of the same text.
fn promotion(percent: &str, conditions: Value) -> (String, Value) {
    let id = unique("P").replace('-', "X");
    let body = json!({"id": id, "name": format!("{percent}% off"), "benefit": {"type": "percent_off", "percent": percent},
        "conditions": conditions, "time_zone": "Europe/Warsaw", "codes": [id]});
    (id, body)
}

fn create(app: &TestApp, body: &Value) {
    let reply = app.post("/api/promotions", Some(&token(&ops())), body);
    assert_eq!(reply.status, 201, "{}", reply.text());
}

fn validate(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let reply = app.post("/api/coupons/validate", token, &body);
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn reserve(app: &TestApp, token: &str, key: &str, body: &Value) -> blackbox_tests::Reply {
    app.send(
        "POST",
        "/api/coupons/redemptions",
        Some(token),
        &[("idempotency-key", key)],
        Some(body.to_string().as_bytes()),
    )
}

fn order(code: &str, channel: &str) -> Value {
    json!({"order_id": unique("O"), "channel": channel, "cart": basket(), "codes": [code]})
}

fn used(app: &TestApp, id: &str) -> i64 {
    app.get(&format!("/api/promotions/{id}"), Some(&token(&ops())))
        .json()["used"]
        .as_i64()
        .expect("used")
}

#[test]
fn the_same_cart_gets_identical_discounts_at_the_till_and_on_the_web() {
    let app = seeded_app();
    seed_promotions(&app);
    let (code, body) = promotion("15", json!({}));
    create(&app, &body);
    let till = token(&store_device("WAW-01"));
    let at_till = validate(
        &app,
        Some(&till),
        json!({"channel": "pos", "cart": basket(), "codes": [code.to_lowercase()]}),
    );
    let on_web = validate(
        &app,
        None,
        json!({"channel": "web", "cart": basket(), "codes": [code]}),
    );
    assert_eq!(at_till, on_web);
    // 15% of 429.96 = 64.49 beats the tees deal (59.99): the exclusive code wins.
    assert_eq!(
        on_web["total_discount"],
        json!({"amount": "64.49", "currency": "PLN"})
    );
    let parts: i64 = on_web["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["discount"]["amount"]
                .as_str()
                .unwrap()
                .replace('.', "")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(parts, 6449, "line discounts add up to the total");
    // Without a code, the automatic deals apply the same way in both channels.
    let plain_till = validate(
        &app,
        Some(&till),
        json!({"channel": "pos", "cart": basket()}),
    );
    let plain_web = validate(&app, None, json!({"channel": "web", "cart": basket()}));
    assert_eq!(plain_till["lines"], plain_web["lines"]);
    assert_eq!(plain_till["total_discount"], plain_web["total_discount"]);
}

#[test]
fn an_app_only_code_is_refused_at_the_till_with_its_reason() {
    let app = seeded_app();
    let (code, body) = promotion("5", json!({"channels": ["app"]}));
    create(&app, &body);
    let till = token(&store_device("WAW-01"));
    let answer = validate(
        &app,
        Some(&till),
        json!({"channel": "pos", "cart": basket(), "codes": [code]}),
    );
    assert_eq!(answer["refused"][0]["code"], code);
    assert_eq!(answer["refused"][0]["reason"], "wrong-channel");
    assert_eq!(answer["refused"][0]["message"], "valid only in the app");
    let shopper = token(&customer(&unique("C")));
    let in_app = validate(
        &app,
        Some(&shopper),
        json!({"channel": "app", "cart": basket(), "codes": [code]}),
    );
    assert_eq!(in_app["applied"][0]["code"], code);
    assert_eq!(in_app["total_discount"]["amount"], "21.50");
    // A redemption at the till is refused the same way, and counts nothing.
    let mut at_till = order(&code, "pos");
    at_till["store_id"] = json!("WAW-01");
    let refused = reserve(&app, &till, &unique("k"), &at_till).problem(409);
    assert_eq!(refused["refused"][0]["message"], "valid only in the app");
    assert_eq!(used(&app, &code), 0);
}

#[test]
fn a_global_limit_of_20_holds_under_200_concurrent_redemptions() {
    let app = seeded_app();
    let (code, body) = promotion("10", json!({"global_limit": 20}));
    create(&app, &body);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..200)
            .map(|_| {
                let app = &app;
                let code = &code;
                scope.spawn(move || {
                    let shopper = token(&customer(&unique("C")));
                    reserve(app, &shopper, &unique("k"), &order(code, "web")).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        180,
        "{statuses:?}"
    );
    assert_eq!(used(&app, &code), 20);
    let late = reserve(
        &app,
        &token(&customer(&unique("C"))),
        &unique("k"),
        &order(&code, "web"),
    )
    .problem(409);
    assert_eq!(
        late["refused"][0]["message"],
        "limit reached: all 20 uses are taken"
    );
}

#[test]
fn a_per_customer_limit_holds_across_channels() {
    let app = seeded_app();
    let (code, body) = promotion("10", json!({"per_customer_limit": 1}));
    create(&app, &body);
    let shopper_id = unique("C");
    let shopper = token(&customer(&shopper_id));
    assert_eq!(
        reserve(&app, &shopper, &unique("k"), &order(&code, "app")).status,
        201
    );
    // The same customer at the till, identified by the app code the till scanned.
    let till = token(&store_device("KRK-01"));
    let mut at_till = order(&code, "pos");
    at_till["customer_id"] = json!(shopper_id);
    let refused = reserve(&app, &till, &unique("k"), &at_till).problem(409);
    assert_eq!(refused["refused"][0]["message"], "already used");
    let on_web = reserve(&app, &shopper, &unique("k"), &order(&code, "web")).problem(409);
    assert_eq!(on_web["refused"][0]["reason"], "customer-limit-reached");
    assert_eq!(used(&app, &code), 1);
}

#[test]
fn retrying_a_redemption_with_the_same_key_counts_once() {
    let app = seeded_app();
    let (code, body) = promotion("10", json!({"global_limit": 5}));
    create(&app, &body);
    let shopper = token(&customer(&unique("C")));
    let key = unique("place-order");
    let request = order(&code, "app");
    let first = reserve(&app, &shopper, &key, &request);
    assert_eq!(first.status, 201, "{}", first.text());
    for _ in 0..3 {
        let retry = reserve(&app, &shopper, &key, &request);
        assert_eq!(retry.status, 201);
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(retry.json()["redemption_id"], first.json()["redemption_id"]);
    }
    assert_eq!(used(&app, &code), 1);
    // The same key with another body is refused, not counted.
    reserve(&app, &shopper, &key, &order(&code, "app")).problem(422);
    assert_eq!(used(&app, &code), 1);
    // Commit on payment, release on cancel: the use comes back.
    let id = first.json()["redemption_id"].as_str().unwrap().to_owned();
    let committed = app.post(
        &format!("/api/coupons/redemptions/{id}/commit"),
        Some(&shopper),
        &json!({}),
    );
    assert_eq!(committed.json()["state"], "committed");
    let frozen = app
        .get(&format!("/api/coupons/redemptions/{id}"), Some(&shopper))
        .json();
    assert_eq!(frozen["uses"][0]["promotion_version"], 1);
    assert_eq!(frozen["evaluation"]["total_discount"]["amount"], "43.00");
    app.get(
        &format!("/api/coupons/redemptions/{id}"),
        Some(&token(&customer(&unique("C")))),
    )
    .problem(404);
    let released = app.post(
        &format!("/api/coupons/redemptions/{id}/release"),
        Some(&shopper),
        &json!({}),
    );
    assert_eq!(released.json()["state"], "released");
    assert_eq!(used(&app, &code), 0);
    app.post(
        &format!("/api/coupons/redemptions/{id}/commit"),
        Some(&shopper),
        &json!({}),
    )
    .problem(409);
}

#[test]
fn bad_input_is_a_problem_and_counts_nothing() {
    let app = seeded_app();
    let ops = token(&ops());
    let (code, body) = promotion("10", json!({"global_limit": 3}));
    create(&app, &body);
    let shopper = token(&customer(&unique("C")));
    // A mistyped code beside a good one: each code answered on its own.
    let both = app.post(
        "/api/coupons/validate",
        None,
        &json!({"channel": "web", "cart": basket(), "codes": ["NOSUCHCODE1", code]}),
    );
    assert_eq!(both.status, 200, "{}", both.text());
    let both = both.json();
    assert_eq!(both["refused"][0]["code"], "NOSUCHCODE1", "{both}");
    assert_eq!(both["refused"][0]["reason"], "unknown-code", "{both}");
    assert!(
        both["applied"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == code.as_str()),
        "the good code still applies: {both}"
    );
    reserve(&app, &shopper, &unique("k"), &json!({"order_id": unique("O"), "channel": "web", "cart": basket(), "codes": ["NOSUCHCODE1", code]})).problem(422);
    // A malformed snapshot, negative, absurd and fractional prices, mismatched currencies.
    app.send(
        "POST",
        "/api/coupons/validate",
        None,
        &[],
        Some(b"{\"channel\": \"web\", \"cart\": "),
    )
    .problem(400);
    for bad_line in [
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 1, "-59.99"),
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 1, "99999999999.00"),
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 1, "59.999"),
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 0, "59.99"),
        line("TEE-ORG-BLK-M", &["Men"], 1, "59.99"),
        json!({"sku": "TEE-ORG-BLK-M", "category": ["men"], "quantity": 1, "unit_price": {"amount": "59.99", "currency": "EUR"}}),
        json!({"sku": "TEE-ORG-BLK-M", "category": ["men"], "quantity": 1, "unit_price": {"amount": 59.99, "currency": "PLN"}}),
        json!({"sku": "TEE-ORG-BLK-M", "category": ["men"], "quantity": 1, "unit_price": {"amount": "59.99", "currency": "PLN"}, "discount": "50%"}),
    ] {
        let cart = json!({"currency": "PLN", "lines": [bad_line]});
        app.post(
            "/api/coupons/validate",
            None,
            &json!({"channel": "web", "cart": cart, "codes": [code]}),
        )
        .problem(422);
        reserve(
            &app,
            &shopper,
            &unique("k"),
            &json!({"order_id": unique("O"), "channel": "web", "cart": cart, "codes": [code]}),
        )
        .problem(422);
    }
    // Dates out of range, contradictory definitions, an absurd batch.
    let (_, mut far) = promotion("10", json!({"valid_until": "2206-01-01"}));
    far["codes"] = json!([]);
    app.post("/api/promotions", Some(&ops), &far).problem(422);
    let (_, backwards) = promotion(
        "10",
        json!({"valid_from": "2026-12-24", "valid_until": "2026-12-01"}),
    );
    assert_eq!(
        app.post("/api/promotions", Some(&ops), &backwards)
            .problem(422)["errors"][0]["field"],
        "conditions.valid_until"
    );
    let (_, limits) = promotion("10", json!({"per_customer_limit": 5, "global_limit": 1}));
    app.post("/api/promotions", Some(&ops), &limits)
        .problem(422);
    let (_, mut free_order) = promotion("10", json!({}));
    free_order["benefit"] = json!({"type": "percent_off", "percent": "150"});
    app.post("/api/promotions", Some(&ops), &free_order)
        .problem(422);
    let batch = app
        .post(
            &format!("/api/promotions/{code}/code-batches"),
            Some(&ops),
            &json!({"count": 10_000_000}),
        )
        .problem(422);
    assert_eq!(batch["errors"][0]["field"], "count");
    // Forged, wrong-role and missing tokens.
    let at = shopper.len() - 5;
    let swapped = if &shopper[at..at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    let forged = format!("{}{swapped}{}", &shopper[..at], &shopper[at + 1..]);
    app.post(
        "/api/coupons/validate",
        Some(&forged),
        &json!({"channel": "web", "cart": basket()}),
    )
    .problem(401);
    app.post("/api/promotions", Some(&shopper), &body)
        .problem(403);
    app.post(
        "/api/coupons/validate",
        None,
        &json!({"channel": "web", "cart": basket(), "customer_id": "someone"}),
    )
    .problem(401);
    reserve(
        &app,
        &token(&store_device("WAW-01")),
        &unique("k"),
        &order(&code, "app"),
    )
    .problem(403);
    app.send(
        "POST",
        "/api/coupons/redemptions",
        Some(&shopper),
        &[],
        Some(order(&code, "web").to_string().as_bytes()),
    )
    .problem(400);
    // Nothing above was counted.
    assert_eq!(used(&app, &code), 0);
}

#[test]
fn operators_version_pause_and_batch_promotions() {
    let app = seeded_app();
    let ops = token(&ops());
    let (id, body) = promotion("10", json!({}));
    create(&app, &body);
    let mut twenty = body.clone();
    twenty["benefit"]["percent"] = json!("20");
    twenty["codes"] = json!([]);
    app.put(&format!("/api/promotions/{id}"), Some(&ops), &twenty)
        .problem(428);
    let edited = app.send(
        "PUT",
        &format!("/api/promotions/{id}"),
        Some(&ops),
        &[("if-match", "\"v1\"")],
        Some(twenty.to_string().as_bytes()),
    );
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert_eq!(edited.header("etag"), Some("\"v2\""));
    app.send(
        "PUT",
        &format!("/api/promotions/{id}"),
        Some(&ops),
        &[("if-match", "\"v1\"")],
        Some(twenty.to_string().as_bytes()),
    )
    .problem(412);
    let shopper = token(&customer(&unique("C")));
    let reserved = reserve(&app, &shopper, &unique("k"), &order(&id, "web"));
    assert_eq!(
        reserved.json()["uses"][0]["promotion_version"],
        2,
        "a redemption records the version it used"
    );
    let paused = app.post(
        &format!("/api/promotions/{id}/pause"),
        Some(&ops),
        &json!({}),
    );
    assert_eq!(paused.json()["status"], "paused");
    let answer = validate(
        &app,
        None,
        json!({"channel": "web", "cart": basket(), "codes": [id]}),
    );
    assert_eq!(answer["refused"][0]["message"], "this promotion is paused");
    let v1 = app
        .get(&format!("/api/promotions/{id}/versions/1"), Some(&ops))
        .json();
    assert_eq!(v1["definition"]["benefit"]["percent"], "10");

    let batch = app.post(
        &format!("/api/promotions/{id}/code-batches"),
        Some(&ops),
        &json!({"count": 25, "prefix": "BB"}),
    );
    assert_eq!(batch.status, 201, "{}", batch.text());
    let codes: Vec<String> = batch.json()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 25);
    assert!(
        codes
            .iter()
            .all(|c| !c[2..].contains(['0', 'O', '1', 'I', 'L'])),
        "{codes:?}"
    );
    let listed = app
        .get(&format!("/api/promotions/{id}/code-batches"), Some(&ops))
        .json();
    assert_eq!(listed["batches"][0]["count"], 25);
    let batch_id = batch.json()["batch"]["batch_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = app
        .get(
            &format!("/api/promotions/{id}/code-batches/{batch_id}"),
            Some(&ops),
        )
        .json();
    assert_eq!(one["codes"].as_array().unwrap().len(), 25);
    let list = app
        .get("/api/promotions?status=paused&limit=200", Some(&ops))
        .json();
    assert!(
        list["promotions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["promotion_id"] == id.as_str())
    );
}

#[test]
fn an_offline_shopper_gets_the_first_app_click_and_collect_offer() {
    let app = seeded_app();
    seed_promotions(&app);
    let shopper_id = unique("C");
    let feed = json!({"customers": [{"customer_id": shopper_id, "loyalty_tier": "member", "order_history": {"pos": 4}}]});
    assert_eq!(
        app.post("/api/promotions/customers", Some(&token(&ops())), &feed)
            .status,
        200
    );
    let shopper = token(&customer(&shopper_id));
    let cart = json!({"currency": "PLN", "lines": [line("DRS-LIN-NAV-M", &["women", "dresses"], 1, "249.99")]});
    let body = json!({"channel": "app", "cart": cart, "fulfilment": "click_and_collect"});
    let answer = validate(&app, Some(&shopper), body.clone());
    let applied: Vec<&str> = answer["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["promotion_id"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["APP5", "FIRSTCC", "SHIP200"]);
    // 5% of 249.99 = 12.50, then 10% of 237.49 = 23.75: percentages on the discounted amount.
    assert_eq!(answer["total"]["amount"], "213.74");
    assert_eq!(answer["free_shipping"], true);
    let mut placed = body.clone();
    placed["order_id"] = json!(unique("O"));
    assert_eq!(reserve(&app, &shopper, &unique("k"), &placed).status, 201);
    let next = validate(&app, Some(&shopper), body);
    let applied: Vec<&str> = next["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["promotion_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        applied,
        ["APP5", "SHIP200"],
        "the first app order has been placed"
    );
}

#[test]
fn a_promotion_ends_at_the_retailers_local_midnight() {
    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..Default::default()
    }) else {
        return;
    };
    // The basket is priced from the catalog, so the catalog is loaded first
    // (at real time, which the seeding token is valid for).
    app.seed_demo();
    let at = |text: &str| -> DateTime<Utc> { DateTime::parse_from_rfc3339(text).unwrap().into() };
    app.set_clock(at("2026-11-30T12:00:00Z"));
    let ops = token_at(&ops(), at("2026-11-30T12:00:00Z"), Duration::hours(1));
    let (code, body) = promotion(
        "10",
        json!({"valid_from": "2026-11-01", "valid_until": "2026-11-30"}),
    );
    assert_eq!(app.post("/api/promotions", Some(&ops), &body).status, 201);
    let ask = || {
        validate(
            &app,
            None,
            json!({"channel": "web", "cart": basket(), "codes": [code]}),
        )
    };
    // Midnight in Warsaw (UTC+1 in winter) is 23:00 UTC.
    app.set_clock(at("2026-11-30T22:59:59Z"));
    assert_eq!(ask()["total_discount"]["amount"], "43.00");
    app.set_clock(at("2026-11-30T23:00:00Z"));
    assert_eq!(ask()["refused"][0]["message"], "expired on 2026-11-30");
    app.set_clock(at("2026-10-31T22:59:59Z"));
    assert_eq!(ask()["refused"][0]["message"], "valid from 2026-11-01");
}

/// The field and reason of every error of a 422 problem.
fn errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_made_up_price_is_refused_and_the_catalog_prices_the_basket() {
    let app = seeded_app();
    let (code, body) = promotion("10", json!({"global_limit": 5}));
    create(&app, &body);
    // An 89.90 scarf sent at 1.00: refused, naming the line and the catalog price.
    let cheap = json!({"currency": "PLN", "lines": [line("SCF-WOL-RED", &["accessories", "scarves"], 1, "1.00")]});
    let refused = app
        .post(
            "/api/coupons/validate",
            None,
            &json!({"channel": "web", "cart": cheap, "codes": [code]}),
        )
        .problem(422);
    assert_eq!(refused["type"], "urn:omnichannel-edge:problem:invalid-body");
    let found = errors(&refused);
    assert_eq!(found.len(), 1, "{refused}");
    assert_eq!(found[0].0, "cart.lines[0].unit_price");
    assert!(
        found[0]
            .1
            .contains("the catalog price of SCF-WOL-RED is 89.90 PLN"),
        "{}",
        found[0].1
    );
    // The same at redemption: nothing is counted.
    let shopper = token(&customer(&unique("C")));
    let order = json!({"order_id": unique("O"), "channel": "web", "cart": cheap, "codes": [code]});
    let refused = reserve(&app, &shopper, &unique("k"), &order).problem(422);
    assert_eq!(errors(&refused)[0].0, "cart.lines[0].unit_price");
    assert_eq!(used(&app, &code), 0);
    // SKUs and quantities are enough; the answer is the one the right prices get.
    let bare = json!({"currency": "PLN", "lines": [
        {"sku": "DRS-LIN-NAV-M", "quantity": 1}, {"sku": "TEE-ORG-BLK-M", "quantity": 2}, {"sku": "TEE-ORG-WHT-L", "quantity": 1}]});
    let from_catalog = validate(
        &app,
        None,
        json!({"channel": "web", "cart": bare, "codes": [code]}),
    );
    let priced = validate(
        &app,
        None,
        json!({"channel": "web", "cart": basket(), "codes": [code]}),
    );
    assert_eq!(from_catalog, priced);
    assert_eq!(
        from_catalog["lines"][0]["unit_price"],
        json!({"amount": "249.99", "currency": "PLN"})
    );
    assert_eq!(from_catalog["total_discount"]["amount"], "43.00");
    // A wrong category, an unknown SKU, one without a price in the cart's currency.
    let wrong = json!({"currency": "PLN", "lines": [
        {"sku": "SCF-WOL-RED", "quantity": 1, "category": ["men", "t-shirts"]},
        {"sku": "NO-SUCH-SKU", "quantity": 1}]});
    let refused = app
        .post(
            "/api/coupons/validate",
            None,
            &json!({"channel": "web", "cart": wrong}),
        )
        .problem(422);
    let fields: Vec<String> = errors(&refused).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["cart.lines[0].category", "cart.lines[1].sku"]);
    // The demo prices every item in PLN and EUR only: a GBP cart of it is refused on its line.
    let in_pounds = json!({"currency": "GBP", "lines": [{"sku": "SCF-WOL-RED", "quantity": 1}]});
    let refused = app
        .post(
            "/api/coupons/validate",
            None,
            &json!({"channel": "web", "cart": in_pounds}),
        )
        .problem(422);
    let found = errors(&refused);
    assert_eq!(found.len(), 1, "{refused}");
    assert_eq!(found[0].0, "cart.lines[0].sku");
    assert!(found[0].1.contains("no price in GBP"), "{}", found[0].1);
}

#[test]
fn each_caller_acts_only_in_its_channels_and_a_refused_claim_counts_nothing() {
    let app = seeded_app();
    let (code, body) = promotion("10", json!({"global_limit": 50}));
    create(&app, &body);
    let shopper = token(&customer(&unique("C")));
    let till = token(&store_device("WAW-01"));
    let staff = token(&ops());
    let callers: [(&str, Option<&str>, &[&str]); 4] = [
        ("guest", None, &["web", "app"]),
        ("customer", Some(&shopper), &["web", "app"]),
        ("store device", Some(&till), &["pos", "kiosk"]),
        (
            "ops",
            Some(&staff),
            &["web", "app", "kiosk", "pos", "call_center"],
        ),
    ];
    let mut redeemed = 0;
    for (who, caller, allowed) in callers {
        for channel in ["web", "app", "kiosk", "pos", "call_center"] {
            let reply = app.post(
                "/api/coupons/validate",
                caller,
                &json!({"channel": channel, "cart": basket(), "codes": [code]}),
            );
            if allowed.contains(&channel) {
                assert_eq!(
                    reply.status,
                    200,
                    "{who} validating in {channel}: {}",
                    reply.text()
                );
            } else {
                let problem = reply.problem(403);
                assert_eq!(
                    problem["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{who} in {channel}"
                );
                assert_eq!(
                    problem["allowed_channels"],
                    json!(allowed),
                    "{who} in {channel}"
                );
            }
            // Redemptions are made by the order's customer or a store device.
            let Some(caller) = caller.filter(|_| matches!(who, "customer" | "store device")) else {
                continue;
            };
            let reply = reserve(&app, caller, &unique("k"), &order(&code, channel));
            if allowed.contains(&channel) {
                assert_eq!(
                    reply.status,
                    201,
                    "{who} redeeming in {channel}: {}",
                    reply.text()
                );
                redeemed += 1;
            } else {
                assert_eq!(
                    reply.problem(403)["type"],
                    "urn:omnichannel-edge:problem:channel-not-allowed"
                );
            }
        }
    }
    assert_eq!(
        used(&app, &code),
        redeemed,
        "only the allowed redemptions counted"
    );
    assert_eq!(redeemed, 4);
}

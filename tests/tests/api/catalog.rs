//! Master data through the API, and every bad-input class on its batches.

use blackbox_tests::{app, customer, ops, seeded_app, store_device, token, token_at, unique};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

fn item(sku: &str) -> Value {
    json!({"sku": sku, "product_id": "TEST", "name": "Test tee", "category": ["men", "t-shirts"], "size": "M", "colour": "black"})
}

#[test]
fn the_demo_retailer_reads_back_through_the_api() {
    let app = seeded_app();
    let item = app.get("/api/catalog/items/TEE-ORG-BLK-M", None);
    assert_eq!(item.status, 200);
    let body = item.json();
    assert_eq!(body["name"], "Organic cotton tee");
    assert_eq!(
        body["prices"][1],
        json!({"amount": "59.99", "currency": "PLN"})
    );
    let stores = app.get("/api/catalog/stores", None).json();
    let ids: Vec<&str> = stores["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["BER-01", "KRK-01", "WAW-01", "WAW-02", "WH-CENTRAL"]);
    let all = app.get("/api/catalog/items?limit=200", None).json();
    assert!(all["items"].as_array().unwrap().len() >= 40);
}

#[test]
fn an_operator_loads_items_and_prices_all_or_nothing() {
    let app = app();
    let ops = token(&ops());
    let good = unique("SKU");
    let reply = app.post(
        "/api/catalog/items",
        Some(&ops),
        &json!({"items": [item(&good), {"sku": "", "name": 3}]}),
    );
    let problem = reply.problem(422);
    assert_eq!(problem["errors"][0]["row"], 1);
    app.get(&format!("/api/catalog/items/{good}"), None)
        .problem(404);

    assert_eq!(
        app.post(
            "/api/catalog/items",
            Some(&ops),
            &json!({"items": [item(&good)]})
        )
        .status,
        200
    );
    let prices = json!({"prices": [{"sku": good, "amount": "10.00", "currency": "PLN"}]});
    assert_eq!(
        app.post("/api/catalog/prices", Some(&ops), &prices).status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/catalog/items/{good}"), None).json()["prices"],
        json!([{"amount": "10.00", "currency": "PLN"}])
    );
}

#[test]
fn every_bad_input_class_is_a_4xx_problem_and_changes_nothing() {
    let app = app();
    let ops = token(&ops());
    let sku = unique("BAD");
    let send = |body: &[u8]| app.send("POST", "/api/catalog/items", Some(&ops), &[], Some(body));
    // malformed JSON
    send(b"{\"items\": [").problem(400);
    // wrong types
    send(
        json!({"items": [{"sku": 5, "product_id": [], "name": {}, "category": "x"}]})
            .to_string()
            .as_bytes(),
    )
    .problem(422);
    // unknown fields
    let mut extra = item(&sku);
    extra["discount"] = json!("50%");
    send(json!({"items": [extra]}).to_string().as_bytes()).problem(422);
    // body over the component's 64 KiB limit, and over the host's 1 MiB limit
    let big = format!(
        "{{\"items\": [{}]}}",
        vec![item(&sku).to_string(); 700].join(",")
    );
    assert!(big.len() > 64 * 1024);
    send(big.as_bytes()).problem(413);
    assert_eq!(
        app.announce_body("POST", "/api/catalog/items", 2 * 1024 * 1024),
        413
    );
    // wrong media type
    app.send(
        "POST",
        "/api/catalog/items",
        Some(&ops),
        &[("content-type", "text/csv")],
        Some(b"sku,name"),
    )
    .problem(415);
    // negative and huge numbers in prices, and an unknown id
    for amount in ["-1.00", "1e400", "123456789012345678901234567890"] {
        let body =
            json!({"prices": [{"sku": "TEE-ORG-BLK-M", "amount": amount, "currency": "PLN"}]});
        app.post("/api/catalog/prices", Some(&ops), &body)
            .problem(422);
    }
    let body = json!({"prices": [{"sku": sku, "amount": "1.00", "currency": "PLN"}]});
    app.post("/api/catalog/prices", Some(&ops), &body)
        .problem(422);
    // forged, expired and wrong-role tokens
    // A signature character changed in the middle (the last one may carry
    // only padding bits, and may already be the replacement).
    let at = ops.len() - 5;
    let swapped = if &ops[at..at + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &ops[..at], &ops[at + 1..]);
    app.post(
        "/api/catalog/items",
        Some(&forged),
        &json!({"items": [item(&sku)]}),
    )
    .problem(401);
    let expired = token_at(
        &blackbox_tests::ops(),
        Utc::now() - Duration::hours(2),
        Duration::hours(1),
    );
    app.post(
        "/api/catalog/items",
        Some(&expired),
        &json!({"items": [item(&sku)]}),
    )
    .problem(401);
    app.post(
        "/api/catalog/items",
        Some("not-a-jwt"),
        &json!({"items": [item(&sku)]}),
    )
    .problem(401);
    let shopper = token(&customer("C-1"));
    app.post(
        "/api/catalog/items",
        Some(&shopper),
        &json!({"items": [item(&sku)]}),
    )
    .problem(403);
    let till = token(&store_device("WAW-01"));
    app.post("/api/catalog/stores", Some(&till), &json!({"stores": []}))
        .problem(403);
    // nothing of the above was stored
    app.get(&format!("/api/catalog/items/{sku}"), None)
        .problem(404);
}

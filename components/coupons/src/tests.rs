//! The coupons endpoints exercised natively, request in, response out.

use super::handle;
use omni_shared::auth::Caller;
use omni_shared::host::Host;
use omni_shared::testing::{
    TestHost, body_json, customer, header, json_request, ops, request, status, store_device,
};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};

const DEMO_PROMOTIONS_FILE: &str = include_str!("../../../infra/demo/promotions.json");

/// The demo's promotions with their dates rendered for the test clock's today.
fn demo_promotions(t: &TestHost) -> Value {
    let rendered =
        omni_shared::testing::render_relative_dates(DEMO_PROMOTIONS_FILE, t.now().date_naive())
            .unwrap();
    serde_json::from_str(&rendered).unwrap()
}
const DEMO_ITEMS: &str = include_str!("../../../infra/demo/items.json");
const DEMO_PRICES: &str = include_str!("../../../infra/demo/prices.json");

/// Minor units of a decimal amount like "249.99".
fn minor(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}").parse::<i64>().unwrap()
}

fn add_item(t: &TestHost, sku: &str, category: &[&str], assortment: &str, prices: &[(&str, &str)]) {
    let sql = t.host.sql().unwrap();
    let data =
        json!({"sku": sku, "product_id": sku, "name": format!("Item {sku}"), "category": category});
    sql.execute(
        "INSERT INTO catalog_items (sku, product_id, category, assortment, data, updated_at) VALUES (?1, ?1, ?2, ?3, ?4, 'now')",
        &[sku.into(), category.join("/").into(), assortment.into(), data.to_string().into()],
    )
    .unwrap();
    for (currency, amount) in prices {
        sql.execute(
            "INSERT INTO prices (sku, currency, amount_minor, updated_at) VALUES (?1, ?2, ?3, 'now')",
            &[sku.into(), (*currency).into(), minor(amount).into()],
        )
        .unwrap();
    }
}

/// A host whose catalog holds the demo items and prices (as the catalog
/// component stores them), plus DRS-WRP-GRN-M, a dress at 200.00 PLN with
/// no EUR price.
fn shop() -> TestHost {
    let t = TestHost::new();
    let items: Value = serde_json::from_str(DEMO_ITEMS).unwrap();
    let prices: Value = serde_json::from_str(DEMO_PRICES).unwrap();
    for item in items["items"].as_array().unwrap() {
        let sku = item["sku"].as_str().unwrap();
        let category: Vec<&str> = item["category"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let own: Vec<(&str, &str)> = prices["prices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["sku"] == sku)
            .map(|p| {
                (
                    p["currency"].as_str().unwrap(),
                    p["amount"].as_str().unwrap(),
                )
            })
            .collect();
        add_item(
            &t,
            sku,
            &category,
            item["assortment"].as_str().unwrap(),
            &own,
        );
    }
    add_item(
        &t,
        "DRS-WRP-GRN-M",
        &["women", "dresses"],
        "both",
        &[("PLN", "200.00")],
    );
    t
}

fn send(t: &TestHost, req: Request) -> Response {
    handle(req, &t.host.another_request())
}

fn post(t: &TestHost, path: &str, caller: Option<&Caller>, body: Value) -> Response {
    let token = caller.map(|c| t.token(c));
    send(t, json_request(Method::Post, path, &body, token.as_deref()))
}

fn get(t: &TestHost, path: &str, caller: Option<&Caller>) -> Response {
    let token = caller.map(|c| t.token(c));
    send(t, request(Method::Get, path, token.as_deref()))
}

/// A request with extra headers (Idempotency-Key, If-Match).
fn with_headers(
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Request {
    let mut builder = Request::builder();
    builder
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        builder.header(*name, *value);
    }
    if let Some(body) = body {
        builder
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    builder.build()
}

fn create(t: &TestHost, definition: Value) -> Response {
    post(t, "/api/promotions", Some(&ops()), definition)
}

fn created(t: &TestHost, definition: Value) {
    let response = create(t, definition);
    assert_eq!(status(&response), 201, "{}", body_json(&response));
}

fn line(sku: &str, category: &[&str], quantity: u32, price: &str) -> Value {
    json!({"sku": sku, "category": category, "quantity": quantity, "unit_price": {"amount": price, "currency": "PLN"}})
}

fn basket() -> Value {
    json!({"currency": "PLN", "lines": [
        line("DRS-LIN-NAV-M", &["women", "dresses"], 1, "249.99"),
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 3, "59.99"),
    ]})
}

fn validate(t: &TestHost, caller: Option<&Caller>, channel: &str, codes: &[&str]) -> Response {
    post(
        t,
        "/api/coupons/validate",
        caller,
        json!({"channel": channel, "cart": basket(), "codes": codes}),
    )
}

fn reserve_body(order: &str, channel: &str, codes: &[&str]) -> Value {
    json!({"order_id": order, "channel": channel, "cart": basket(), "codes": codes})
}

fn reserve(t: &TestHost, caller: &Caller, key: &str, body: &Value) -> Response {
    let token = t.token(caller);
    send(
        t,
        with_headers(
            Method::Post,
            "/api/coupons/redemptions",
            &token,
            Some(body),
            &[("idempotency-key", key)],
        ),
    )
}

fn percent(id: &str, pct: &str) -> Value {
    json!({"id": id, "name": format!("{pct}% off"), "benefit": {"type": "percent_off", "percent": pct}, "time_zone": "Europe/Warsaw"})
}

fn with(mut value: Value, key: &str, set: Value) -> Value {
    value[key] = set;
    value
}

fn used(t: &TestHost, id: &str) -> i64 {
    body_json(&get(t, &format!("/api/promotions/{id}"), Some(&ops())))["used"]
        .as_i64()
        .unwrap()
}

#[test]
fn health_names_the_component() {
    let t = TestHost::new();
    assert_eq!(
        body_json(&get(&t, "/api/coupons/health", None))["component"],
        "coupons"
    );
}

#[test]
fn the_same_basket_gets_the_same_discounts_at_the_till_and_on_the_web() {
    let t = shop();
    let response = post(
        &t,
        "/api/promotions/import",
        Some(&ops()),
        demo_promotions(&t),
    );
    assert_eq!(status(&response), 200, "{}", body_json(&response));
    created(
        &t,
        with(percent("SPRING15", "15"), "codes", json!(["SPRING15"])),
    );
    let till = body_json(&validate(
        &t,
        Some(&store_device("WAW-01")),
        "pos",
        &["spring-15"],
    ));
    let web = body_json(&validate(&t, None, "web", &["SPRING15"]));
    assert_eq!(till, web);
    // The tees deal (automatic, stackable) loses to the exclusive 15% code.
    assert_eq!(till["applied"][0]["promotion_id"], "SPRING15");
    assert_eq!(
        till["total_discount"],
        json!({"amount": "64.49", "currency": "PLN"})
    );
    assert_eq!(till["refused"], json!([]));
}

#[test]
fn an_app_only_code_is_refused_at_the_till_with_its_reason() {
    let t = shop();
    let app_only = with(
        with(percent("APPONLY", "5"), "codes", json!(["APPONLY"])),
        "conditions",
        json!({"channels": ["app"]}),
    );
    created(&t, app_only);
    let response = validate(&t, Some(&store_device("WAW-01")), "pos", &["APPONLY"]);
    assert_eq!(status(&response), 200);
    let body = body_json(&response);
    assert_eq!(body["refused"][0]["message"], "valid only in the app");
    assert_eq!(body["refused"][0]["reason"], "wrong-channel");
    assert_eq!(body["total_discount"]["amount"], "0.00");
    let in_app = body_json(&validate(&t, Some(&customer("C-1")), "app", &["APPONLY"]));
    assert_eq!(in_app["total_discount"]["amount"], "21.50");
}

#[test]
fn an_unknown_code_is_answered_per_code_and_malformed_baskets_are_4xx_problems() {
    let t = shop();
    let unknown = validate(&t, None, "web", &["NOSUCHCODE"]);
    assert_eq!(status(&unknown), 200, "{}", body_json(&unknown));
    let refused = &body_json(&unknown)["refused"];
    assert_eq!(refused[0]["code"], "NOSUCHCODE", "{refused}");
    assert_eq!(refused[0]["reason"], "unknown-code", "{refused}");
    let bad_cart = json!({"currency": "PLN", "lines": [
        line("", &["men"], 0, "10.00"),
        {"sku": "A", "category": ["men"], "quantity": 1, "unit_price": {"amount": "-1.00", "currency": "PLN"}},
        {"sku": "B", "category": ["men"], "quantity": 1, "unit_price": {"amount": "5.00", "currency": "EUR"}},
        line("C", &["men"], 1, "99999999.00"),
    ]});
    let response = post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "tv", "cart": bad_cart, "codes": ["a"]}),
    );
    assert_eq!(status(&response), 422);
    let fields: Vec<String> = body_json(&response)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "channel",
            "cart.lines[0].sku",
            "cart.lines[0].quantity",
            "cart.lines[1].unit_price",
            "cart.lines[2].unit_price",
            "cart.lines[3].unit_price",
            "codes[0]"
        ]
    );
    let malformed = send(&t, {
        let mut b = Request::builder();
        b.method(Method::Post)
            .uri("/api/coupons/validate")
            .header("content-type", "application/json")
            .body("{\"channel\":");
        b.build()
    });
    assert_eq!(status(&malformed), 400);
    let numbers = post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": {"currency": "PLN", "lines": [
        {"sku": "A", "category": ["men"], "quantity": 1, "unit_price": {"amount": 10.5, "currency": "PLN"}}]}}),
    );
    assert_eq!(status(&numbers), 422);
}

#[test]
fn channels_and_customers_are_checked_against_the_caller() {
    let t = shop();
    let named = post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": basket(), "customer_id": "C-1"}),
    );
    assert_eq!(status(&named), 401);
    let other = post(
        &t,
        "/api/coupons/validate",
        Some(&customer("C-2")),
        json!({"channel": "web", "cart": basket(), "customer_id": "C-1"}),
    );
    assert_eq!(status(&other), 403);
    assert_eq!(
        status(&validate(&t, Some(&customer("C-1")), "pos", &[])),
        403
    );
    assert_eq!(status(&validate(&t, None, "kiosk", &[])), 403);
    assert_eq!(
        status(&validate(&t, Some(&store_device("WAW-01")), "app", &[])),
        403
    );
    assert_eq!(status(&validate(&t, Some(&ops()), "pos", &[])), 200);
}

#[test]
fn operators_create_version_pause_and_read_promotions() {
    let t = shop();
    let response = create(&t, with(percent("SALE", "10"), "codes", json!(["SALE10"])));
    assert_eq!(status(&response), 201);
    assert_eq!(header(&response, "etag"), Some("\"v1\""));
    assert_eq!(header(&response, "location"), Some("/api/promotions/SALE"));
    assert_eq!(status(&create(&t, percent("SALE", "20"))), 409);
    assert_eq!(
        status(&post(
            &t,
            "/api/promotions",
            Some(&customer("C-1")),
            percent("X", "5")
        )),
        403
    );
    assert_eq!(
        status(&post(&t, "/api/promotions", None, percent("X", "5"))),
        401
    );

    let token = t.token(&ops());
    let put = |if_match: Option<&str>, body: &Value| {
        let headers: Vec<(&str, &str)> =
            if_match.map(|m| vec![("if-match", m)]).unwrap_or_default();
        send(
            &t,
            with_headers(
                Method::Put,
                "/api/promotions/SALE",
                &token,
                Some(body),
                &headers,
            ),
        )
    };
    let twenty = percent("SALE", "20");
    assert_eq!(status(&put(None, &twenty)), 428);
    assert_eq!(status(&put(Some("\"v7\""), &twenty)), 412);
    let replaced = put(Some("\"v1\""), &twenty);
    assert_eq!(status(&replaced), 200, "{}", body_json(&replaced));
    assert_eq!(header(&replaced, "etag"), Some("\"v2\""));
    assert_eq!(
        status(&put(Some("\"v2\""), &percent("OTHER", "5"))),
        422,
        "the body's id must match the path"
    );

    let paused = post(&t, "/api/promotions/SALE/pause", Some(&ops()), json!({}));
    assert_eq!(body_json(&paused)["version"], 3);
    assert_eq!(body_json(&paused)["status"], "paused");
    let refused = body_json(&validate(&t, None, "web", &["SALE10"]));
    assert_eq!(refused["refused"][0]["message"], "this promotion is paused");
    assert_eq!(
        body_json(&post(
            &t,
            "/api/promotions/SALE/pause",
            Some(&ops()),
            json!({})
        ))["version"],
        3,
        "a repeated pause changes nothing"
    );
    assert_eq!(
        body_json(&post(
            &t,
            "/api/promotions/SALE/resume",
            Some(&ops()),
            json!({})
        ))["version"],
        4
    );

    let v1 = body_json(&get(&t, "/api/promotions/SALE/versions/1", Some(&ops())));
    assert_eq!(v1["definition"]["benefit"]["percent"], "10");
    assert_eq!(v1["changed_by"], "ops:back-office");
    assert_eq!(
        status(&get(&t, "/api/promotions/SALE/versions/9", Some(&ops()))),
        404
    );
    let one = body_json(&get(&t, "/api/promotions/SALE", Some(&ops())));
    assert_eq!(one["codes"], json!(["SALE10"]));
    assert_eq!(one["definition"]["benefit"]["percent"], "20");
    let list = body_json(&get(
        &t,
        "/api/promotions?status=active&limit=10",
        Some(&ops()),
    ));
    assert_eq!(list["promotions"].as_array().unwrap().len(), 1);
    assert_eq!(
        status(&get(&t, "/api/promotions?sort=x", Some(&ops()))),
        400
    );
}

#[test]
fn contradictory_definitions_are_refused_by_field() {
    let t = shop();
    let bad = json!({"id": "BAD", "name": "Bad", "time_zone": "Europe/Warsaw",
        "benefit": {"type": "fixed_price", "price": {"amount": "10.00", "currency": "PLN"}},
        "conditions": {"valid_from": "2026-12-01", "valid_until": "2026-11-01", "per_customer_limit": 5, "global_limit": 2}});
    let response = create(&t, bad);
    assert_eq!(status(&response), 422);
    let fields: Vec<String> = body_json(&response)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "conditions.valid_until",
            "target",
            "conditions.per_customer_limit"
        ]
    );
    let response = create(
        &t,
        with(
            percent("BAD", "10"),
            "conditions",
            json!({"per_customer_limit": 5, "global_limit": 2}),
        ),
    );
    assert_eq!(
        body_json(&response)["errors"][0]["field"],
        "conditions.per_customer_limit"
    );
    assert_eq!(status(&get(&t, "/api/promotions/BAD", Some(&ops()))), 404);
}

#[test]
fn code_batches_are_bounded_unique_and_single_use() {
    let t = shop();
    created(
        &t,
        with(percent("XMAS", "10"), "requires_code", json!(true)),
    );
    let huge = post(
        &t,
        "/api/promotions/XMAS/code-batches",
        Some(&ops()),
        json!({"count": 10_000_000}),
    );
    assert_eq!(status(&huge), 422);
    assert_eq!(body_json(&huge)["errors"][0]["field"], "count");
    let response = post(
        &t,
        "/api/promotions/XMAS/code-batches",
        Some(&ops()),
        json!({"count": 50, "prefix": "xmas"}),
    );
    assert_eq!(status(&response), 201, "{}", body_json(&response));
    let body = body_json(&response);
    let codes: Vec<String> = body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 50);
    assert!(codes.iter().all(|c| c.starts_with("XMAS") && c.len() == 14));
    let batch_id = body["batch"]["batch_id"].as_str().unwrap().to_owned();

    let code = codes[0].to_lowercase();
    let first = reserve(
        &t,
        &customer("C-1"),
        "k1",
        &reserve_body("O-1", "web", &[&code]),
    );
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    let again = reserve(
        &t,
        &customer("C-2"),
        "k2",
        &reserve_body("O-2", "web", &[&code]),
    );
    assert_eq!(status(&again), 409);
    assert_eq!(body_json(&again)["refused"][0]["message"], "already used");
    let batch = body_json(&get(
        &t,
        &format!("/api/promotions/XMAS/code-batches/{batch_id}"),
        Some(&ops()),
    ));
    assert_eq!(batch["batch"]["used"], 1);
    assert_eq!(
        batch["codes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["used"] == true)
            .count(),
        1
    );
    let batches = body_json(&get(&t, "/api/promotions/XMAS/code-batches", Some(&ops())));
    assert_eq!(batches["batches"][0]["count"], 50);
    created(&t, percent("AUTO", "5"));
    let automatic = post(
        &t,
        "/api/promotions/AUTO/code-batches",
        Some(&ops()),
        json!({"count": 5}),
    );
    assert_eq!(status(&automatic), 409);
}

#[test]
fn a_retried_redemption_with_the_same_key_counts_once() {
    let t = shop();
    created(&t, with(percent("ONCE", "10"), "codes", json!(["ONCE"])));
    let body = reserve_body("O-1", "app", &["ONCE"]);
    let first = reserve(&t, &customer("C-1"), "place-O-1", &body);
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    let retry = reserve(&t, &customer("C-1"), "place-O-1", &body);
    assert_eq!(status(&retry), 201);
    assert_eq!(header(&retry, "idempotent-replayed"), Some("true"));
    assert_eq!(
        body_json(&retry)["redemption_id"],
        body_json(&first)["redemption_id"]
    );
    assert_eq!(used(&t, "ONCE"), 1);
    let changed = reserve(
        &t,
        &customer("C-1"),
        "place-O-1",
        &reserve_body("O-1", "app", &[]),
    );
    assert_eq!(status(&changed), 422);
    let no_key = post(
        &t,
        "/api/coupons/redemptions",
        Some(&customer("C-1")),
        body.clone(),
    );
    assert_eq!(status(&no_key), 400);
    let second_for_order = reserve(&t, &customer("C-1"), "another-key", &body);
    assert_eq!(status(&second_for_order), 409);
    assert_eq!(
        body_json(&second_for_order)["type"],
        "urn:omnichannel-edge:problem:order-already-redeemed"
    );
    assert_eq!(used(&t, "ONCE"), 1);
}

#[test]
fn a_global_limit_holds_under_concurrent_redemptions() {
    let t = shop();
    created(
        &t,
        with(
            with(percent("TWENTY", "10"), "codes", json!(["TWENTY"])),
            "conditions",
            json!({"global_limit": 20}),
        ),
    );
    let token = t.token(&customer("C-1"));
    let handles: Vec<_> = (0..60)
        .map(|i| {
            let host = t.host.another_request();
            let token = token.clone();
            std::thread::spawn(move || {
                let body = reserve_body(&format!("O-{i}"), "web", &["TWENTY"]);
                let key = format!("k-{i}");
                let req = with_headers(
                    Method::Post,
                    "/api/coupons/redemptions",
                    &token,
                    Some(&body),
                    &[("idempotency-key", &key)],
                );
                status(&handle(req, &host))
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        20,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(used(&t, "TWENTY"), 20);
    let refused = reserve(
        &t,
        &customer("C-1"),
        "late",
        &reserve_body("O-late", "web", &["TWENTY"]),
    );
    assert_eq!(
        body_json(&refused)["refused"][0]["message"],
        "limit reached: all 20 uses are taken"
    );
}

#[test]
fn a_per_customer_limit_holds_across_channels() {
    let t = shop();
    created(
        &t,
        with(
            with(percent("ONEEACH", "10"), "codes", json!(["ONEEACH"])),
            "conditions",
            json!({"per_customer_limit": 1}),
        ),
    );
    let in_app = reserve(
        &t,
        &customer("C-1"),
        "k1",
        &reserve_body("O-1", "app", &["ONEEACH"]),
    );
    assert_eq!(status(&in_app), 201, "{}", body_json(&in_app));
    let mut at_till = reserve_body("O-2", "pos", &["ONEEACH"]);
    at_till["customer_id"] = json!("C-1");
    let till = reserve(&t, &store_device("WAW-01"), "k2", &at_till);
    assert_eq!(status(&till), 409);
    assert_eq!(body_json(&till)["refused"][0]["message"], "already used");
    let validated = body_json(&post(
        &t,
        "/api/coupons/validate",
        Some(&store_device("WAW-01")),
        json!({"channel": "pos", "cart": basket(), "codes": ["ONEEACH"], "customer_id": "C-1"}),
    ));
    assert_eq!(validated["refused"][0]["message"], "already used");
    at_till["customer_id"] = json!("C-2");
    assert_eq!(
        status(&reserve(&t, &store_device("WAW-01"), "k3", &at_till)),
        201
    );
}

#[test]
fn release_gives_the_use_back_and_commit_after_release_is_refused() {
    let t = shop();
    created(
        &t,
        with(
            with(percent("ONE", "10"), "codes", json!(["ONE"])),
            "conditions",
            json!({"global_limit": 1}),
        ),
    );
    let first = body_json(&reserve(
        &t,
        &customer("C-1"),
        "k1",
        &reserve_body("O-1", "web", &["ONE"]),
    ));
    let id = first["redemption_id"].as_str().unwrap().to_owned();
    assert_eq!(first["evaluation"]["lines"][1]["total"]["amount"], "161.97");
    assert_eq!(
        first["uses"],
        json!([{"promotion_id": "ONE", "promotion_version": 1, "code": "ONE"}])
    );
    assert_eq!(
        status(&reserve(
            &t,
            &customer("C-2"),
            "k2",
            &reserve_body("O-2", "web", &["ONE"])
        )),
        409
    );
    let released = post(
        &t,
        &format!("/api/coupons/redemptions/{id}/release"),
        Some(&customer("C-1")),
        json!({}),
    );
    assert_eq!(body_json(&released)["state"], "released");
    assert_eq!(
        status(&post(
            &t,
            &format!("/api/coupons/redemptions/{id}/release"),
            Some(&customer("C-1")),
            json!({})
        )),
        200
    );
    assert_eq!(used(&t, "ONE"), 0);
    let commit = post(
        &t,
        &format!("/api/coupons/redemptions/{id}/commit"),
        Some(&customer("C-1")),
        json!({}),
    );
    assert_eq!(status(&commit), 409);
    assert_eq!(
        body_json(&commit)["type"],
        "urn:omnichannel-edge:problem:illegal-transition",
        "one type for an impossible move in every component"
    );
    assert_eq!(body_json(&commit)["current"], "released");
    let second = body_json(&reserve(
        &t,
        &customer("C-2"),
        "k3",
        &reserve_body("O-2", "web", &["ONE"]),
    ));
    let second_id = second["redemption_id"].as_str().unwrap().to_owned();
    let committed = post(
        &t,
        &format!("/api/coupons/redemptions/{second_id}/commit"),
        Some(&customer("C-2")),
        json!({}),
    );
    assert_eq!(body_json(&committed)["state"], "committed");
    assert_eq!(
        status(&post(
            &t,
            &format!("/api/coupons/redemptions/{second_id}/commit"),
            Some(&customer("C-2")),
            json!({})
        )),
        200
    );
}

#[test]
fn only_the_orders_customer_or_store_may_act_on_a_reservation() {
    let t = shop();
    let mut till = reserve_body("O-9", "pos", &[]);
    till["store_id"] = json!("WAW-01");
    let made = reserve(&t, &store_device("WAW-01"), "k", &till);
    assert_eq!(status(&made), 201, "{}", body_json(&made));
    let id = body_json(&made)["redemption_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/coupons/redemptions/{id}");
    assert_eq!(status(&get(&t, &path, Some(&store_device("WAW-01")))), 200);
    assert_eq!(status(&get(&t, &path, Some(&ops()))), 200);
    assert_eq!(status(&get(&t, &path, Some(&store_device("KRK-01")))), 403);
    assert_eq!(status(&get(&t, &path, Some(&customer("C-1")))), 404);
    assert_eq!(status(&get(&t, &path, None)), 401);
    assert_eq!(
        status(&post(
            &t,
            &format!("{path}/commit"),
            Some(&ops()),
            json!({})
        )),
        403
    );
    assert_eq!(
        status(&get(&t, "/api/coupons/redemptions/RSV-nope", Some(&ops()))),
        404
    );
    let mut elsewhere = reserve_body("O-10", "pos", &[]);
    elsewhere["store_id"] = json!("KRK-01");
    assert_eq!(
        status(&reserve(&t, &store_device("WAW-01"), "k2", &elsewhere)),
        403
    );
    assert_eq!(
        status(&reserve(
            &t,
            &ops(),
            "k3",
            &reserve_body("O-11", "web", &[])
        )),
        403
    );
}

#[test]
fn an_offline_shoppers_first_app_click_and_collect_order_gets_the_demo_offer() {
    let t = shop();
    assert_eq!(
        status(&post(
            &t,
            "/api/promotions/import",
            Some(&ops()),
            demo_promotions(&t)
        )),
        200
    );
    let feed = json!({"customers": [{"customer_id": "C-OFF", "segments": ["offline-frequent"], "loyalty_tier": "member", "order_history": {"pos": 9}}]});
    assert_eq!(
        status(&post(&t, "/api/promotions/customers", Some(&ops()), feed)),
        200
    );
    let mut body = reserve_body("O-APP-1", "app", &[]);
    body["fulfilment"] = json!("click_and_collect");
    body["cart"] = json!({"currency": "PLN", "lines": [line("DRS-WRP-GRN-M", &["women", "dresses"], 1, "200.00")]});
    let first = reserve(&t, &customer("C-OFF"), "k1", &body);
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    let applied: Vec<String> = body_json(&first)["evaluation"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["promotion_id"].as_str().unwrap().to_owned())
        .collect();
    // Loyalty -5% in the app (APP5), then +10% on the discounted amount
    // (FIRSTCC), then free shipping (SHIP200 no longer reached: 171.00).
    assert_eq!(applied, ["APP5", "FIRSTCC"]);
    assert_eq!(body_json(&first)["evaluation"]["total"]["amount"], "171.00");
    body["order_id"] = json!("O-APP-2");
    let second = body_json(&reserve(&t, &customer("C-OFF"), "k2", &body));
    let applied: Vec<&str> = second["evaluation"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["promotion_id"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["APP5"], "the first order has been placed");
    let demo = demo_promotions(&t);
    let count = demo["promotions"].as_array().unwrap().len();
    let again = post(&t, "/api/promotions/import", Some(&ops()), demo);
    assert_eq!(
        body_json(&again)["unchanged"].as_array().unwrap().len(),
        count,
        "an import of the same file changes nothing"
    );
}

#[test]
fn an_expired_code_says_on_which_local_day() {
    let t = shop();
    let dated = with(
        with(percent("NOV", "10"), "codes", json!(["NOV10"])),
        "conditions",
        json!({"valid_until": "2026-11-30"}),
    );
    created(&t, dated);
    assert_eq!(
        body_json(&validate(&t, None, "web", &["NOV10"]))["total_discount"]["amount"],
        "43.00"
    );
    t.host.fixed_clock().set(
        chrono::DateTime::parse_from_rfc3339("2026-11-30T23:00:00Z")
            .unwrap()
            .into(),
    );
    let late = body_json(&validate(&t, None, "web", &["NOV10"]));
    assert_eq!(late["refused"][0]["message"], "expired on 2026-11-30");
}

#[test]
fn customer_feeds_are_validated_all_or_nothing() {
    let t = shop();
    let feed = json!({"customers": [{"customer_id": "C-1"}, {"customer_id": "C-2", "loyalty_tier": "Gold"}]});
    let response = post(&t, "/api/promotions/customers", Some(&ops()), feed);
    assert_eq!(status(&response), 422);
    assert_eq!(body_json(&response)["errors"][0]["row"], 1);
    assert_eq!(
        status(&post(
            &t,
            "/api/promotions/customers",
            Some(&customer("C-1")),
            json!({"customers": []})
        )),
        403
    );
}

fn errors_of(response: &Response) -> Vec<(String, String)> {
    body_json(response)["errors"]
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
fn the_basket_is_priced_from_the_catalog_and_a_price_that_disagrees_is_refused() {
    let t = shop();
    created(
        &t,
        with(percent("TENOFF", "10"), "codes", json!(["TENOFF"])),
    );
    // A scarf claimed at 1.00: refused, naming the field and the catalog price.
    let cheap = json!({"currency": "PLN", "lines": [line("SCF-WOL-RED", &["accessories", "scarves"], 1, "1.00")]});
    let response = post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": cheap, "codes": ["TENOFF"]}),
    );
    assert_eq!(status(&response), 422, "{}", body_json(&response));
    assert_eq!(
        body_json(&response)["type"],
        "urn:omnichannel-edge:problem:invalid-body"
    );
    let errors = errors_of(&response);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "cart.lines[0].unit_price");
    assert!(
        errors[0]
            .1
            .contains("the catalog price of SCF-WOL-RED is 89.90 PLN"),
        "{}",
        errors[0].1
    );
    assert!(
        body_json(&response)["detail"]
            .as_str()
            .unwrap()
            .contains("89.90 PLN")
    );
    // SKUs and quantities are enough: the catalog gives price and category.
    let bare = json!({"currency": "PLN", "lines": [{"sku": "SCF-WOL-RED", "quantity": 2}, {"sku": "tee-org-blk-m", "quantity": 1}]});
    let answer = body_json(&post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": bare, "codes": ["TENOFF"]}),
    ));
    assert_eq!(
        answer["lines"][0]["unit_price"],
        json!({"amount": "89.90", "currency": "PLN"}),
        "{answer}"
    );
    assert_eq!(answer["subtotal"]["amount"], "239.79");
    assert_eq!(answer["total_discount"]["amount"], "23.98");
    // The right price, sent, is accepted and gives the same answer.
    let shown = json!({"currency": "PLN", "lines": [
        line("SCF-WOL-RED", &["accessories", "scarves"], 2, "89.90"),
        line("TEE-ORG-BLK-M", &["men", "t-shirts"], 1, "59.99"),
    ]});
    let same = body_json(&post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": shown, "codes": ["TENOFF"]}),
    ));
    assert_eq!(same, answer);
    // A wrong category, an unknown SKU, a SKU without a price in the cart's
    // currency: each refused on its line.
    let wrong = json!({"currency": "PLN", "lines": [
        line("SCF-WOL-RED", &["men", "t-shirts"], 1, "89.90"),
        {"sku": "NOPE-1", "quantity": 1},
    ]});
    let response = post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": wrong}),
    );
    assert_eq!(status(&response), 422);
    let fields: Vec<String> = errors_of(&response).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["cart.lines[0].category", "cart.lines[1].sku"]);
    let in_euro = json!({"currency": "EUR", "lines": [{"sku": "SCF-WOL-RED", "quantity": 1}, {"sku": "DRS-WRP-GRN-M", "quantity": 1}]});
    let response = post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": in_euro}),
    );
    assert_eq!(status(&response), 422);
    let errors = errors_of(&response);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "cart.lines[1].sku");
    assert!(errors[0].1.contains("no price in EUR"), "{}", errors[0].1);
    // A redemption priced by the caller is refused the same way and counts nothing.
    let mut order = reserve_body("O-CHEAP", "app", &["TENOFF"]);
    order["cart"] = json!({"currency": "PLN", "lines": [line("SCF-WOL-RED", &["accessories", "scarves"], 1, "1.00")]});
    let refused = reserve(&t, &customer("C-1"), "k-cheap", &order);
    assert_eq!(status(&refused), 422, "{}", body_json(&refused));
    assert_eq!(errors_of(&refused)[0].0, "cart.lines[0].unit_price");
    assert_eq!(used(&t, "TENOFF"), 0);
}

#[test]
fn a_line_marked_down_keeps_its_flag_and_the_catalog_price() {
    let t = shop();
    let full_price_only = with(
        with(percent("FULL10", "10"), "codes", json!(["FULL10"])),
        "exclusions",
        json!({"discounted_lines": true}),
    );
    created(&t, full_price_only);
    let cart = json!({"currency": "PLN", "lines": [
        {"sku": "SCF-WOL-RED", "quantity": 1, "already_discounted": true},
        {"sku": "TEE-ORG-BLK-M", "quantity": 1},
    ]});
    let answer = body_json(&post(
        &t,
        "/api/coupons/validate",
        None,
        json!({"channel": "web", "cart": cart, "codes": ["FULL10"]}),
    ));
    assert_eq!(
        answer["lines"][0]["unit_price"]["amount"], "89.90",
        "{answer}"
    );
    assert_eq!(
        answer["lines"][0]["discount"]["amount"], "0.00",
        "the marked-down line is left alone"
    );
    assert_eq!(answer["lines"][1]["discount"]["amount"], "6.00");
}

#[test]
fn each_caller_validates_and_redeems_only_in_the_channels_it_may_act_in() {
    let t = shop();
    created(
        &t,
        with(
            with(percent("LIMITED", "10"), "codes", json!(["LIMITED"])),
            "conditions",
            json!({"global_limit": 100}),
        ),
    );
    let (shopper, till, staff) = (customer("C-1"), store_device("WAW-01"), ops());
    let callers: [(&str, Option<&Caller>, &[&str]); 4] = [
        ("guest", None, &["web", "app"]),
        ("customer", Some(&shopper), &["web", "app"]),
        ("store device", Some(&till), &["pos", "kiosk"]),
        (
            "ops",
            Some(&staff),
            &["web", "app", "kiosk", "pos", "call_center"],
        ),
    ];
    let mut n = 0;
    for (who, caller, allowed) in callers {
        for channel in ["web", "app", "kiosk", "pos", "call_center"] {
            let response = validate(&t, caller, channel, &["LIMITED"]);
            let body = body_json(&response);
            if allowed.contains(&channel) {
                assert_eq!(
                    status(&response),
                    200,
                    "{who} validating in {channel}: {body}"
                );
                assert_eq!(body["applied"][0]["promotion_id"], "LIMITED");
            } else {
                assert_eq!(
                    status(&response),
                    403,
                    "{who} validating in {channel}: {body}"
                );
                assert_eq!(
                    body["type"],
                    "urn:omnichannel-edge:problem:channel-not-allowed"
                );
                assert_eq!(body["allowed_channels"], json!(allowed));
            }
            // Redemptions: the order's customer or a store device.
            let Some(caller) =
                caller.filter(|c| matches!(c, Caller::Customer(_) | Caller::StoreDevice { .. }))
            else {
                continue;
            };
            n += 1;
            let response = reserve(
                &t,
                caller,
                &format!("k-{n}"),
                &reserve_body(&format!("O-{n}"), channel, &["LIMITED"]),
            );
            if allowed.contains(&channel) {
                assert_eq!(
                    status(&response),
                    201,
                    "{who} redeeming in {channel}: {}",
                    body_json(&response)
                );
            } else {
                assert_eq!(
                    status(&response),
                    403,
                    "{who} redeeming in {channel}: {}",
                    body_json(&response)
                );
                assert_eq!(
                    body_json(&response)["type"],
                    "urn:omnichannel-edge:problem:channel-not-allowed"
                );
            }
        }
    }
    // Two channels each for the customer and the till were redeemed; every
    // refused claim counted nothing.
    assert_eq!(used(&t, "LIMITED"), 4);
}

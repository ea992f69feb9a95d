//! The catalog's endpoints exercised natively, request in, response out.

use super::handle;
use omni_shared::testing::{TestHost, body_json, customer, json_request, ops, request, status};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Response};

const DEMO_ITEMS: &str = include_str!("../../../infra/demo/items.json");
const DEMO_PRICES: &str = include_str!("../../../infra/demo/prices.json");
const DEMO_STORES: &str = include_str!("../../../infra/demo/stores.json");

fn post(t: &TestHost, path: &str, body: Value) -> Response {
    let token = t.token(&ops());
    handle(
        json_request(Method::Post, path, &body, Some(&token)),
        &t.host.another_request(),
    )
}

fn get(t: &TestHost, path: &str) -> Response {
    handle(request(Method::Get, path, None), &t.host.another_request())
}

fn item(sku: &str) -> Value {
    json!({"sku": sku, "product_id": "TEE", "name": "Tee", "category": ["men", "t-shirts"], "size": "M"})
}

fn seeded() -> TestHost {
    let t = TestHost::new();
    for (path, body) in [
        ("stores", DEMO_STORES),
        ("items", DEMO_ITEMS),
        ("prices", DEMO_PRICES),
    ] {
        let response = post(
            &t,
            &format!("/api/catalog/{path}"),
            serde_json::from_str(body).unwrap(),
        );
        assert_eq!(status(&response), 200, "{path}: {}", body_json(&response));
    }
    t
}

#[test]
fn health_names_the_component_and_version() {
    let t = TestHost::new();
    let response = get(&t, "/api/catalog/health");
    assert_eq!(status(&response), 200);
    assert_eq!(body_json(&response)["component"], "catalog");
}

#[test]
fn the_demo_master_data_loads_and_reads_back_with_prices() {
    let t = seeded();
    let body = body_json(&get(&t, "/api/catalog/items/drs-lin-nav-m"));
    assert_eq!(body["sku"], "DRS-LIN-NAV-M");
    assert_eq!(body["assortment"], "both");
    assert_eq!(
        body["prices"],
        json!([{"amount": "59.99", "currency": "EUR"}, {"amount": "249.99", "currency": "PLN"}])
    );
    let stores = body_json(&get(&t, "/api/catalog/stores"));
    assert_eq!(stores["stores"].as_array().unwrap().len(), 5);
    let store = body_json(&get(&t, "/api/catalog/stores/krk-01"));
    assert_eq!(store["time_zone"], "Europe/Warsaw");
}

#[test]
fn only_operators_load_master_data() {
    let t = TestHost::new();
    let body = json!({"items": [item("TEE-M")]});
    let anonymous = handle(
        json_request(Method::Post, "/api/catalog/items", &body, None),
        &t.host.another_request(),
    );
    assert_eq!(status(&anonymous), 401);
    let token = t.token(&customer("C-1"));
    let shopper = handle(
        json_request(Method::Post, "/api/catalog/items", &body, Some(&token)),
        &t.host.another_request(),
    );
    assert_eq!(status(&shopper), 403);
    assert_eq!(status(&get(&t, "/api/catalog/items/TEE-M")), 404);
}

#[test]
fn a_forged_token_is_refused() {
    let t = TestHost::new();
    let token = t.token(&ops());
    let forged = format!("{}x", &token[..token.len() - 1]);
    let body = json!({"items": [item("TEE-M")]});
    let response = handle(
        json_request(Method::Post, "/api/catalog/items", &body, Some(&forged)),
        &t.host.another_request(),
    );
    assert_eq!(status(&response), 401);
    assert_eq!(
        body_json(&response)["type"],
        "urn:omnichannel-edge:problem:unauthorized"
    );
}

#[test]
fn a_batch_with_a_bad_row_names_it_and_changes_nothing() {
    let t = TestHost::new();
    let mut bad = item("TEE-L");
    bad["gtin"] = json!("4006381333932");
    let response = post(
        &t,
        "/api/catalog/items",
        json!({"items": [item("TEE-M"), bad]}),
    );
    assert_eq!(status(&response), 422);
    let body = body_json(&response);
    assert_eq!(body["errors"][0]["row"], 1);
    assert_eq!(body["errors"][0]["field"], "gtin");
    assert_eq!(
        status(&get(&t, "/api/catalog/items/TEE-M")),
        404,
        "the good row must not be stored"
    );
}

#[test]
fn a_price_for_an_unknown_sku_rolls_back_the_whole_batch() {
    let t = TestHost::new();
    assert_eq!(
        status(&post(
            &t,
            "/api/catalog/items",
            json!({"items": [item("TEE-M")]})
        )),
        200
    );
    let response = post(
        &t,
        "/api/catalog/prices",
        json!({"prices": [
            {"sku": "TEE-M", "amount": "59.99", "currency": "PLN"},
            {"sku": "NOPE", "amount": "1.00", "currency": "PLN"}
        ]}),
    );
    assert_eq!(status(&response), 422);
    assert_eq!(body_json(&response)["errors"][0]["row"], 1);
    assert_eq!(
        body_json(&get(&t, "/api/catalog/items/TEE-M"))["prices"],
        json!([])
    );
}

#[test]
fn prices_reject_floats_extra_decimals_negatives_and_unknown_currencies() {
    let t = TestHost::new();
    assert_eq!(
        status(&post(
            &t,
            "/api/catalog/items",
            json!({"items": [item("TEE-M")]})
        )),
        200
    );
    for (amount, currency) in [
        (json!(59.99), "PLN"),
        (json!("59.999"), "PLN"),
        (json!("-1.00"), "PLN"),
        (json!("100.5"), "JPY"),
        (json!("1.00"), "XXX"),
        (json!("99999999999999999999"), "PLN"),
    ] {
        let response = post(
            &t,
            "/api/catalog/prices",
            json!({"prices": [{"sku": "TEE-M", "amount": amount, "currency": currency}]}),
        );
        assert_eq!(
            status(&response),
            422,
            "{amount} {currency}: {}",
            body_json(&response)
        );
    }
    assert_eq!(
        body_json(&get(&t, "/api/catalog/items/TEE-M"))["prices"],
        json!([])
    );
}

#[test]
fn assortment_changes_apply_to_existing_items_only() {
    let t = TestHost::new();
    assert_eq!(
        status(&post(
            &t,
            "/api/catalog/items",
            json!({"items": [item("TEE-M")]})
        )),
        200
    );
    let response = post(
        &t,
        "/api/catalog/assortment",
        json!({"assortment": [{"sku": "TEE-M", "assortment": "store_only"}]}),
    );
    assert_eq!(status(&response), 200);
    assert_eq!(
        body_json(&get(&t, "/api/catalog/items/TEE-M"))["assortment"],
        "store_only"
    );
    let unknown = post(
        &t,
        "/api/catalog/assortment",
        json!({"assortment": [{"sku": "TEE-M", "assortment": "both"}, {"sku": "X-1", "assortment": "both"}]}),
    );
    assert_eq!(status(&unknown), 422);
    assert_eq!(
        body_json(&get(&t, "/api/catalog/items/TEE-M"))["assortment"],
        "store_only"
    );
    let wrong = post(
        &t,
        "/api/catalog/assortment",
        json!({"assortment": [{"sku": "TEE-M", "assortment": "mail_order"}]}),
    );
    assert_eq!(status(&wrong), 422);
}

#[test]
fn reloading_an_item_updates_it_in_place() {
    let t = TestHost::new();
    assert_eq!(
        status(&post(
            &t,
            "/api/catalog/items",
            json!({"items": [item("TEE-M")]})
        )),
        200
    );
    let mut renamed = item("TEE-M");
    renamed["name"] = json!("Heavy tee");
    assert_eq!(
        status(&post(&t, "/api/catalog/items", json!({"items": [renamed]}))),
        200
    );
    let list = body_json(&get(&t, "/api/catalog/items"));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["name"], "Heavy tee");
}

#[test]
fn item_lists_page_by_sku_and_filter_by_category() {
    let t = seeded();
    let first = body_json(&get(&t, "/api/catalog/items?limit=20"));
    assert_eq!(first["items"].as_array().unwrap().len(), 20);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let last_of_first = first["items"][19]["sku"].as_str().unwrap().to_owned();
    let second = body_json(&get(
        &t,
        &format!("/api/catalog/items?limit=20&cursor={cursor}"),
    ));
    assert!(second["items"][0]["sku"].as_str().unwrap() > last_of_first.as_str());
    let mut all = 0;
    let mut next = Some(String::new());
    while let Some(cursor) = next {
        let path = if cursor.is_empty() {
            "/api/catalog/items?limit=7".to_owned()
        } else {
            format!("/api/catalog/items?limit=7&cursor={cursor}")
        };
        let page = body_json(&get(&t, &path));
        all += page["items"].as_array().unwrap().len();
        next = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(all, 49, "paging by 7 visits every item once");
    let dresses = body_json(&get(
        &t,
        "/api/catalog/items?category=women%2Fdresses&limit=200",
    ));
    assert_eq!(dresses["items"].as_array().unwrap().len(), 8);
    assert!(dresses["next_cursor"].is_null());
    let women = body_json(&get(&t, "/api/catalog/items?category=women&limit=200"));
    assert!(women["items"].as_array().unwrap().len() > 8);
}

/// An exchange at the counter lists the other sizes and colours of the
/// returned item: one product's variants, case-insensitively named.
#[test]
fn item_lists_filter_by_product_to_list_its_variants() {
    let t = seeded();
    let variants = body_json(&get(&t, "/api/catalog/items?product_id=drs-lin&limit=200"));
    let skus: Vec<&str> = variants["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus.len(), 8, "{skus:?}");
    assert!(skus.iter().all(|s| s.starts_with("DRS-LIN-")), "{skus:?}");
    assert!(variants["items"][0]["size"].is_string() && variants["items"][0]["colour"].is_string());
    let none = body_json(&get(&t, "/api/catalog/items?product_id=NOPE"));
    assert_eq!(none["items"], json!([]));
}

#[test]
fn bad_list_queries_are_400() {
    let t = TestHost::new();
    for query in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "category=Women!",
        "cursor=a%20b",
        "after=DRS",
        "colour=red",
        "product_id=-x",
        "category=%ZZ",
    ] {
        let response = get(&t, &format!("/api/catalog/items?{query}"));
        assert_eq!(status(&response), 400, "{query}");
    }
}

#[test]
fn malformed_bodies_get_precise_problems() {
    let t = TestHost::new();
    let token = t.token(&ops());
    let send = |content_type: &str, body: &str| {
        let mut builder = spin_sdk::http::Request::builder();
        builder
            .method(Method::Post)
            .uri("/api/catalog/items")
            .header("content-type", content_type)
            .header("authorization", format!("Bearer {token}"))
            .body(body.to_owned());
        status(&handle(builder.build(), &t.host.another_request()))
    };
    assert_eq!(send("application/json", "{\"items\": ["), 400);
    assert_eq!(send("text/plain", "{}"), 415);
    assert_eq!(send("application/json", "{\"items\": []}"), 422);
    assert_eq!(send("application/json", "{\"items\": {}}"), 422);
    assert_eq!(send("application/json", "{\"stores\": []}"), 422);
    assert_eq!(send("application/json", "[1, 2]"), 422);
    assert_eq!(
        send(
            "application/json",
            &format!("{{\"items\": [{}]}}", "1,".repeat(40_000))
        ),
        413
    );
    let mut extra = item("TEE-M");
    extra["price"] = json!("1");
    assert_eq!(
        send("application/json", &json!({"items": [extra]}).to_string()),
        422
    );
    assert_eq!(
        send("application/json", &json!({"items": [[1, 2]]}).to_string()),
        422
    );
}

#[test]
fn more_than_a_thousand_rows_is_refused_whole() {
    let t = TestHost::new();
    let rows: Vec<Value> = (0..1001)
        .map(|i| json!({"sku": format!("S{i}"), "assortment": "both"}))
        .collect();
    let response = post(&t, "/api/catalog/assortment", json!({"assortment": rows}));
    assert!(
        matches!(status(&response), 413 | 422),
        "{}",
        status(&response)
    );
}

#[test]
fn unknown_routes_and_methods_are_problems() {
    let t = TestHost::new();
    assert_eq!(status(&get(&t, "/api/catalog/nothing")), 404);
    let response = handle(
        request(Method::Delete, "/api/catalog/items", None),
        &t.host.another_request(),
    );
    assert_eq!(status(&response), 405);
    assert_eq!(status(&get(&t, "/api/catalog/items/a%20b")), 404);
}

#[test]
fn the_openapi_document_lists_exactly_the_served_routes() {
    omni_shared::testing::assert_openapi_matches_routes(
        super::ROUTES,
        include_str!("../openapi.yaml"),
    );
}

//! The availability endpoints exercised natively, request in, response out,
//! over the demo retailer and its demo stock.

use super::{ROUTES, handle};
use chrono::Duration;
use omni_shared::auth::Caller;
use omni_shared::testing::{
    TestHost, assert_openapi_matches_routes, body_json, customer, header, json_request, ops,
    request, status, store_device,
};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};

const DEMO_ITEMS: &str = include_str!("../../../infra/demo/items.json");
const DEMO_STORES: &str = include_str!("../../../infra/demo/stores.json");
const DEMO_STOCK: &str = include_str!("../../../infra/demo/stock.json");
const OPENAPI: &str = include_str!("../openapi.yaml");

/// Warsaw city centre, a few hundred metres from WAW-01.
const WARSAW: (f64, f64) = (52.2320, 21.0060);

fn seeded() -> TestHost {
    let t = TestHost::new();
    let token = t.token(&ops());
    for (path, body) in [("stores", DEMO_STORES), ("items", DEMO_ITEMS)] {
        let req = json_request(
            Method::Post,
            &format!("/api/catalog/{path}"),
            &serde_json::from_str(body).unwrap(),
            Some(&token),
        );
        let response = catalog::handle(req, &t.host.another_request());
        assert_eq!(status(&response), 200, "{path}: {}", body_json(&response));
    }
    let response = send(
        &t,
        Method::Post,
        "/api/availability/feed",
        Some(&ops()),
        Some(serde_json::from_str(DEMO_STOCK).unwrap()),
    );
    assert_eq!(status(&response), 200, "{}", body_json(&response));
    t
}

fn send(
    t: &TestHost,
    method: Method,
    path: &str,
    caller: Option<&Caller>,
    body: Option<Value>,
) -> Response {
    let token = caller.map(|c| t.token(c));
    let req = match body {
        Some(body) => json_request(method, path, &body, token.as_deref()),
        None => request(method, path, token.as_deref()),
    };
    handle(req, &t.host.another_request())
}

fn get(t: &TestHost, path: &str) -> Response {
    send(t, Method::Get, path, None, None)
}

fn post(t: &TestHost, path: &str, caller: &Caller, body: Value) -> Response {
    send(t, Method::Post, path, Some(caller), Some(body))
}

fn nearby(t: &TestHost, sku: &str) -> Value {
    let response = get(
        t,
        &format!(
            "/api/availability/nearby?sku={sku}&lat={}&lon={}&radius_km=10",
            WARSAW.0, WARSAW.1
        ),
    );
    assert_eq!(status(&response), 200, "{}", body_json(&response));
    body_json(&response)
}

/// ATP of `sku` at `store`, as the basket lookup (any channel) reports it.
fn atp(t: &TestHost, store: &str, sku: &str) -> u64 {
    let response = post(
        t,
        "/api/availability/basket",
        &customer("C-ANY"),
        json!({"store_id": store, "lines": [{"sku": sku, "quantity": 1}]}),
    );
    assert_eq!(status(&response), 200, "{}", body_json(&response));
    body_json(&response)["lines"][0]["available"]
        .as_u64()
        .unwrap()
}

fn stock_feed(t: &TestHost, store: &str, sequence: u64, lines: Value) -> Response {
    post(
        t,
        "/api/availability/feed",
        &ops(),
        json!({"feeds": [{"store_id": store, "sequence": sequence, "lines": lines}]}),
    )
}

fn reserve(t: &TestHost, who: &Caller, store: &str, lines: Value) -> Response {
    post(
        t,
        "/api/reservations",
        who,
        json!({"store_id": store, "lines": lines}),
    )
}

#[test]
fn health_names_the_component_and_version() {
    let t = TestHost::new();
    let response = get(&t, "/api/availability/health");
    assert_eq!(status(&response), 200);
    assert_eq!(body_json(&response)["component"], "availability");
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    assert_openapi_matches_routes(ROUTES, OPENAPI);
}

#[test]
fn nearby_stores_come_nearest_first_with_atp_label_and_ready_by() {
    let t = seeded();
    let body = nearby(&t, "tee-org-blk-m");
    assert_eq!(body["sku"], "TEE-ORG-BLK-M");
    let stores = body["stores"].as_array().unwrap();
    let ids: Vec<&str> = stores
        .iter()
        .map(|s| s["store_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["WAW-01", "WAW-02"],
        "the warehouse is not a pickup point"
    );
    // WAW-01 has 12 on hand, 1 kept on display; WAW-02 has 5.
    assert_eq!(
        (stores[0]["available"].as_u64(), stores[0]["label"].as_str()),
        (Some(11), Some("in_stock"))
    );
    assert_eq!(
        (stores[1]["available"].as_u64(), stores[1]["label"].as_str()),
        (Some(4), Some("in_stock"))
    );
    assert!(
        stores[0]["distance_km"].as_f64().unwrap() < stores[1]["distance_km"].as_f64().unwrap()
    );
    // Monday 10:00 in Warsaw, SLA 120 minutes.
    assert_eq!(stores[0]["ready_by"], "2026-11-23T11:00:00.000Z");
    let out = nearby(&t, "DRS-LIN-NAV-M");
    assert_eq!(out["stores"][0]["label"], "out_of_stock");
    assert_eq!(
        out["stores"][0]["ready_by"],
        Value::Null,
        "no promise without stock"
    );
    assert_eq!(out["stores"][1]["label"], "low_stock");
}

#[test]
fn a_single_unit_kept_on_display_is_out_of_stock_online() {
    let t = seeded();
    // JNS-SLM-IND-32: one unit at WAW-01, the display minimum.
    assert_eq!(atp(&t, "WAW-01", "JNS-SLM-IND-32"), 0);
}

#[test]
fn bad_lookup_queries_are_400_and_unknown_skus_404() {
    let t = seeded();
    for query in [
        "sku=TEE-ORG-BLK-M&lat=91&lon=21",
        "sku=TEE-ORG-BLK-M&lat=52&lon=-181",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&radius_km=0",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&radius_km=501",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&radius_km=NaN",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&limit=0",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&limit=101",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&quantity=1.5",
        "sku=TEE-ORG-BLK-M&lat=52&lon=21&radius=5",
        "sku=TEE-ORG-BLK-M&lat=52",
        "lat=52&lon=21",
        "sku=a%20b&lat=52&lon=21",
        "sku=TEE-ORG-BLK-M&sku=X&lat=52&lon=21",
    ] {
        let response = get(&t, &format!("/api/availability/nearby?{query}"));
        assert_eq!(status(&response), 400, "{query}: {}", body_json(&response));
    }
    assert_eq!(
        status(&get(
            &t,
            "/api/availability/nearby?sku=NOPE-1&lat=52&lon=21"
        )),
        404
    );
}

#[test]
fn a_basket_at_one_store_reports_every_line_and_whether_it_can_be_picked_up() {
    let t = seeded();
    let lines =
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 2}, {"sku": "BAG-TOT-NAT", "quantity": 1}]);
    let response = post(
        &t,
        "/api/availability/basket",
        &ops(),
        json!({"store_id": "WAW-01", "lines": lines}),
    );
    let body = body_json(&response);
    assert_eq!(status(&response), 200, "{body}");
    assert_eq!(body["can_pick_up"], true, "{body}");
    assert_eq!(body["ready_by"], "2026-11-23T11:00:00.000Z");
    assert_eq!(body["lines"][1]["available"], 8);
    let short =
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 12}, {"sku": "DRS-LIN-NAV-M", "quantity": 1}]);
    let body = body_json(&post(
        &t,
        "/api/availability/basket",
        &ops(),
        json!({"store_id": "WAW-01", "lines": short}),
    ));
    assert_eq!(body["can_pick_up"], false);
    assert_eq!(body["ready_by"], Value::Null);
    assert_eq!(
        (
            body["lines"][0]["enough"].as_bool(),
            body["lines"][1]["enough"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert_eq!(body["reasons"].as_array().unwrap().len(), 2, "{body}");
    let online_only = json!([{"sku": "KNT-MER-GRY-M", "quantity": 1}]);
    let body = body_json(&post(
        &t,
        "/api/availability/basket",
        &ops(),
        json!({"store_id": "WAW-01", "lines": online_only}),
    ));
    assert_eq!(body["lines"][0]["collectable"], false);
}

#[test]
fn bad_baskets_are_4xx_problems() {
    let t = seeded();
    let check = |body: Value, expected: u16| {
        let response = post(&t, "/api/availability/basket", &ops(), body.clone());
        assert_eq!(
            status(&response),
            expected,
            "{body}: {}",
            body_json(&response)
        );
        assert_eq!(
            header(&response, "content-type"),
            Some("application/problem+json")
        );
    };
    let line = |sku: &str, quantity: Value| json!({"sku": sku, "quantity": quantity});
    check(
        json!({"store_id": "WAW-01", "lines": [line("TEE-ORG-BLK-M", json!(-1))]}),
        422,
    );
    check(
        json!({"store_id": "WAW-01", "lines": [line("TEE-ORG-BLK-M", json!(1.5))]}),
        422,
    );
    check(
        json!({"store_id": "WAW-01", "lines": [line("TEE-ORG-BLK-M", json!(0))]}),
        422,
    );
    check(json!({"store_id": "WAW-01", "lines": []}), 422);
    let many: Vec<Value> = (0..51).map(|i| line(&format!("S{i}"), json!(1))).collect();
    check(json!({"store_id": "WAW-01", "lines": many}), 422);
    check(
        json!({"store_id": "WAW-01", "lines": [line("TEE-ORG-BLK-M", json!(1))], "channel": "web"}),
        422,
    );
    check(
        json!({"store_id": "NOPE", "lines": [line("TEE-ORG-BLK-M", json!(1))]}),
        404,
    );
    check(
        json!({"store_id": "WAW-01", "lines": [line("NOPE-1", json!(1))]}),
        404,
    );
}

#[test]
fn a_customer_reserves_a_basket_and_the_stock_is_locked_at_once() {
    let t = seeded();
    let before = atp(&t, "WAW-01", "TEE-ORG-BLK-M");
    let response = reserve(
        &t,
        &customer("C-1"),
        "WAW-01",
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 2}]),
    );
    let body = body_json(&response);
    assert_eq!(status(&response), 201, "{body}");
    let id = body["reservation_id"].as_str().unwrap().to_owned();
    assert_eq!(
        header(&response, "location"),
        Some(format!("/api/reservations/{id}").as_str())
    );
    assert_eq!(body["state"], "held");
    assert_eq!(body["expires_at"], "2026-11-23T09:30:00.000Z");
    assert_eq!(atp(&t, "WAW-01", "TEE-ORG-BLK-M"), before - 2);
    let read = send(
        &t,
        Method::Get,
        &format!("/api/reservations/{id}"),
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(
        body_json(&read)["lines"],
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 2}])
    );
    // Only its customer, its store and ops see it.
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            &format!("/api/reservations/{id}"),
            Some(&customer("C-2")),
            None
        )),
        404
    );
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            &format!("/api/reservations/{id}"),
            Some(&store_device("WAW-02")),
            None
        )),
        404
    );
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            &format!("/api/reservations/{id}"),
            Some(&store_device("WAW-01")),
            None
        )),
        200
    );
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            &format!("/api/reservations/{id}"),
            None,
            None
        )),
        401
    );
    assert_eq!(
        status(&post(
            &t,
            &format!("/api/reservations/{id}/release"),
            &customer("C-2"),
            json!({})
        )),
        404
    );
    let released = post(
        &t,
        &format!("/api/reservations/{id}/release"),
        &customer("C-1"),
        json!({}),
    );
    assert_eq!(body_json(&released)["state"], "released");
    assert_eq!(
        atp(&t, "WAW-01", "TEE-ORG-BLK-M"),
        before,
        "released stock is back at once"
    );
}

#[test]
fn reserving_more_than_is_available_is_409_with_what_is_available_and_locks_nothing() {
    let t = seeded();
    let lines =
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 3}, {"sku": "BAG-TOT-NAT", "quantity": 9}]);
    let response = reserve(&t, &customer("C-1"), "WAW-01", lines);
    let body = body_json(&response);
    assert_eq!(status(&response), 409, "{body}");
    assert_eq!(
        body["type"],
        "urn:omnichannel-edge:problem:insufficient-stock"
    );
    assert_eq!(
        body["available"],
        json!([{"sku": "BAG-TOT-NAT", "requested": 9, "available": 8}])
    );
    assert_eq!(
        atp(&t, "WAW-01", "TEE-ORG-BLK-M"),
        11,
        "the line that fitted was not locked"
    );
}

#[test]
fn who_may_reserve_is_checked() {
    let t = seeded();
    let lines = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]);
    let anonymous = send(
        &t,
        Method::Post,
        "/api/reservations",
        None,
        Some(json!({"store_id": "WAW-01", "lines": lines})),
    );
    assert_eq!(status(&anonymous), 401);
    assert_eq!(status(&reserve(&t, &ops(), "WAW-01", lines.clone())), 403);
    let for_someone_else = json!({"store_id": "WAW-01", "lines": lines, "customer_id": "C-2"});
    assert_eq!(
        status(&post(
            &t,
            "/api/reservations",
            &customer("C-1"),
            for_someone_else.clone()
        )),
        403
    );
    assert_eq!(
        status(&post(
            &t,
            "/api/reservations",
            &store_device("WAW-02"),
            for_someone_else.clone()
        )),
        403
    );
    assert_eq!(
        status(&reserve(
            &t,
            &store_device("WAW-01"),
            "WAW-01",
            lines.clone()
        )),
        422,
        "a device names the customer"
    );
    let at_the_till = post(
        &t,
        "/api/reservations",
        &store_device("WAW-01"),
        for_someone_else,
    );
    assert_eq!(status(&at_the_till), 201);
    assert_eq!(body_json(&at_the_till)["customer_id"], "C-2");
    assert_eq!(
        atp(&t, "WAW-01", "TEE-ORG-BLK-M"),
        10,
        "only the till's reservation locked stock"
    );
}

#[test]
fn reservations_refuse_warehouses_online_only_items_and_unknown_ids() {
    let t = seeded();
    let one = |sku: &str| json!([{"sku": sku, "quantity": 1}]);
    assert_eq!(
        status(&reserve(
            &t,
            &customer("C-1"),
            "WH-CENTRAL",
            one("TEE-ORG-BLK-M")
        )),
        422
    );
    let online = reserve(&t, &customer("C-1"), "WAW-01", one("KNT-MER-GRY-M"));
    assert_eq!(
        body_json(&online)["type"],
        "urn:omnichannel-edge:problem:not-sold-in-channel"
    );
    assert_eq!(
        status(&reserve(&t, &customer("C-1"), "NOPE", one("TEE-ORG-BLK-M"))),
        404
    );
    assert_eq!(
        status(&reserve(&t, &customer("C-1"), "WAW-01", one("NOPE-1"))),
        404
    );
    for id in ["RSV-0000000000000000", "nonsense", "RSV-XYZ"] {
        assert_eq!(
            status(&send(
                &t,
                Method::Get,
                &format!("/api/reservations/{id}"),
                Some(&ops()),
                None
            )),
            404,
            "{id}"
        );
    }
}

#[test]
fn a_retried_reservation_with_the_same_key_locks_stock_once() {
    let t = seeded();
    let token = t.token(&customer("C-1"));
    let body = json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]});
    let send_with_key = || {
        let mut req = json_request(Method::Post, "/api/reservations", &body, Some(&token));
        req.set_header("idempotency-key", "checkout-42");
        handle(req, &t.host.another_request())
    };
    let first = send_with_key();
    let second = send_with_key();
    assert_eq!((status(&first), status(&second)), (201, 201));
    assert_eq!(
        body_json(&first)["reservation_id"],
        body_json(&second)["reservation_id"]
    );
    assert_eq!(header(&second, "idempotent-replayed"), Some("true"));
    assert_eq!(atp(&t, "WAW-01", "TEE-ORG-BLK-M"), 10);
}

#[test]
fn concurrent_reservations_never_oversell() {
    let t = seeded();
    // BAG-TOT-NAT at WAW-01: 9 on hand, 1 on display: 8 to promise.
    let token = t.token(&customer("C-1"));
    let threads: Vec<_> = (0..30)
        .map(|_| {
            let host = t.host.another_request();
            let token = token.clone();
            std::thread::spawn(move || {
                let body =
                    json!({"store_id": "WAW-01", "lines": [{"sku": "BAG-TOT-NAT", "quantity": 1}]});
                status(&handle(
                    json_request(Method::Post, "/api/reservations", &body, Some(&token)),
                    &host,
                ))
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        8,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 201 | 409)),
        "{statuses:?}"
    );
    assert_eq!(atp(&t, "WAW-01", "BAG-TOT-NAT"), 0);
}

#[test]
fn an_unconfirmed_hold_expires_after_thirty_minutes_and_its_stock_returns() {
    let t = seeded();
    let response = reserve(
        &t,
        &customer("C-1"),
        "WAW-01",
        json!([{"sku": "BAG-TOT-NAT", "quantity": 8}]),
    );
    let id = body_json(&response)["reservation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(atp(&t, "WAW-01", "BAG-TOT-NAT"), 0);
    t.host.fixed_clock().advance(Duration::minutes(29));
    assert_eq!(atp(&t, "WAW-01", "BAG-TOT-NAT"), 0);
    t.host.fixed_clock().advance(Duration::minutes(1));
    assert_eq!(
        atp(&t, "WAW-01", "BAG-TOT-NAT"),
        8,
        "back at the TTL, before any sweep"
    );
    let read = send(
        &t,
        Method::Get,
        &format!("/api/reservations/{id}"),
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(body_json(&read)["state"], "expired");
    assert_eq!(
        status(&post(
            &t,
            "/api/reservations/sweep",
            &customer("C-1"),
            json!({})
        )),
        403
    );
    let swept = post(&t, "/api/reservations/sweep", &ops(), json!({}));
    assert_eq!(body_json(&swept), json!({"expired": 1}));
    assert_eq!(atp(&t, "WAW-01", "BAG-TOT-NAT"), 8);
    let staff = send(
        &t,
        Method::Get,
        "/api/stores/WAW-01/stock/BAG-TOT-NAT",
        Some(&store_device("WAW-01")),
        None,
    );
    assert_eq!(body_json(&staff)["reserved"], 0);
}

#[test]
fn stock_feeds_need_ops_and_a_stale_one_changes_nothing() {
    let t = seeded();
    let line = json!([{"sku": "TEE-ORG-BLK-M", "on_hand": 30}]);
    let as_till = send(
        &t,
        Method::Post,
        "/api/availability/feed",
        Some(&store_device("WAW-01")),
        Some(json!({"feeds": []})),
    );
    assert_eq!(status(&as_till), 403);
    assert_eq!(status(&stock_feed(&t, "WAW-01", 5, line.clone())), 200);
    assert_eq!(atp(&t, "WAW-01", "TEE-ORG-BLK-M"), 29);
    let stale = stock_feed(
        &t,
        "WAW-01",
        4,
        json!([{"sku": "TEE-ORG-BLK-M", "on_hand": 2}]),
    );
    assert_eq!(status(&stale), 409);
    assert_eq!(body_json(&stale)["errors"][0]["field"], "sequence");
    assert_eq!(atp(&t, "WAW-01", "TEE-ORG-BLK-M"), 29);
    let replay = stock_feed(&t, "WAW-01", 5, line);
    assert_eq!(body_json(&replay)["duplicates"][0]["sequence"], 5);
    let delta = stock_feed(
        &t,
        "WAW-01",
        6,
        json!([{"sku": "TEE-ORG-BLK-M", "delta": -4}]),
    );
    assert_eq!(status(&delta), 200);
    assert_eq!(atp(&t, "WAW-01", "TEE-ORG-BLK-M"), 25);
}

#[test]
fn a_feed_with_one_bad_line_is_refused_whole_with_row_level_reasons() {
    let t = seeded();
    let body = json!({"feeds": [
        {"store_id": "WAW-01", "sequence": 2, "lines": [{"sku": "TEE-ORG-BLK-M", "on_hand": 40}]},
        {"store_id": "WAW-02", "sequence": 2, "lines": [{"sku": "TEE-ORG-BLK-M", "on_hand": -3}, {"sku": "NOPE-1", "on_hand": 1}]}
    ]});
    let parse_error = post(&t, "/api/availability/feed", &ops(), body);
    assert_eq!(status(&parse_error), 422);
    assert_eq!(body_json(&parse_error)["errors"][0]["line"], 0);
    let body = json!({"feeds": [
        {"store_id": "WAW-01", "sequence": 2, "lines": [{"sku": "TEE-ORG-BLK-M", "on_hand": 40}]},
        {"store_id": "WAW-02", "sequence": 2, "lines": [{"sku": "TEE-ORG-BLK-M", "on_hand": 3}, {"sku": "NOPE-1", "on_hand": 1}]}
    ]});
    let unknown = post(&t, "/api/availability/feed", &ops(), body);
    assert_eq!(status(&unknown), 422);
    assert_eq!(
        body_json(&unknown)["errors"],
        json!([{"feed": 1, "line": 1, "field": "sku", "reason": "the catalog has no item with SKU NOPE-1"}])
    );
    assert_eq!(
        atp(&t, "WAW-01", "TEE-ORG-BLK-M"),
        11,
        "the valid feed was rolled back"
    );
    let token = t.token(&ops());
    let mut malformed = Request::builder();
    malformed
        .method(Method::Post)
        .uri("/api/availability/feed")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body("{\"feeds\": [");
    assert_eq!(
        status(&handle(malformed.build(), &t.host.another_request())),
        400
    );
}

#[test]
fn store_details_show_hours_in_the_stores_zone_and_the_ready_by_time() {
    let t = seeded();
    let response = get(&t, "/api/stores/waw-01");
    let body = body_json(&response);
    assert_eq!(status(&response), 200, "{body}");
    assert_eq!(body["store_id"], "WAW-01");
    assert_eq!(body["hours"]["mon"], json!(["09:00-21:00"]));
    assert_eq!(body["local_time"], "2026-11-23T10:00");
    assert_eq!(body["open_now"], true);
    assert_eq!(body["ready_by"], "2026-11-23T11:00:00.000Z");
    assert_eq!(status(&get(&t, "/api/stores/NOPE")), 404);
}

#[test]
fn staff_see_full_numbers_of_their_own_store_only() {
    let t = seeded();
    let path = "/api/stores/WAW-01/stock/TEE-ORG-BLK-M";
    let body = body_json(&send(
        &t,
        Method::Get,
        path,
        Some(&store_device("WAW-01")),
        None,
    ));
    assert_eq!(
        (
            body["on_hand"].as_u64(),
            body["display_min"].as_u64(),
            body["available"].as_u64()
        ),
        (Some(12), Some(1), Some(11))
    );
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            path,
            Some(&store_device("WAW-02")),
            None
        )),
        403
    );
    assert_eq!(
        status(&send(&t, Method::Get, path, Some(&customer("C-1")), None)),
        403
    );
    assert_eq!(status(&send(&t, Method::Get, path, None, None)), 401);
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            "/api/stores/WAW-01/stock/NOPE-1",
            Some(&ops()),
            None
        )),
        404
    );
}

#[test]
fn display_settings_change_with_if_match_and_move_atp() {
    let t = seeded();
    let path = "/api/stores/WAW-01/stock-settings";
    let current = send(&t, Method::Get, path, Some(&ops()), None);
    assert_eq!(header(&current, "etag"), Some("\"v0\""));
    assert_eq!(body_json(&current)["display_min"], 1);
    let body = json!({"display_min": 2, "low_stock_threshold": 5});
    let put = |if_match: Option<&str>, body: &Value| {
        let token = t.token(&ops());
        let mut req = json_request(Method::Put, path, body, Some(&token));
        if let Some(tag) = if_match {
            req.set_header("if-match", tag);
        }
        handle(req, &t.host.another_request())
    };
    assert_eq!(status(&put(None, &body)), 428);
    let saved = put(Some("\"v0\""), &body);
    assert_eq!(status(&saved), 200, "{}", body_json(&saved));
    assert_eq!(header(&saved, "etag"), Some("\"v1\""));
    assert_eq!(
        atp(&t, "WAW-01", "TEE-ORG-BLK-M"),
        10,
        "two units now stay on display"
    );
    let stale = put(
        Some("\"v0\""),
        &json!({"display_min": 0, "low_stock_threshold": 5}),
    );
    assert_eq!(status(&stale), 412);
    assert_eq!(body_json(&stale)["current"]["display_min"], 2);
    assert_eq!(
        status(&put(
            Some("\"v1\""),
            &json!({"display_min": -1, "low_stock_threshold": 5})
        )),
        422
    );
    let as_till = send(
        &t,
        Method::Put,
        path,
        Some(&store_device("WAW-01")),
        Some(body),
    );
    assert_eq!(status(&as_till), 403);
}

#[test]
fn fulfilment_options_offer_pickup_ship_from_store_and_central_delivery() {
    let t = seeded();
    let body = json!({
        "channel": "app",
        "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}],
        "location": {"lat": WARSAW.0, "lon": WARSAW.1}
    });
    let response = post(
        &t,
        "/api/availability/fulfilment-options",
        &customer("C-1"),
        body,
    );
    let body = body_json(&response);
    assert_eq!(status(&response), 200, "{body}");
    let methods: Vec<&str> = body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["pickup", "pickup", "ship_from_store", "home_delivery"],
        "{body}"
    );
    assert_eq!(body["options"][0]["store"]["store_id"], "WAW-01");
    // Both Warsaw stores ship next day; WAW-01 keeps more of its shelf.
    let ship = &body["options"][2];
    assert_eq!(
        (ship["location_id"].as_str(), ship["days"].as_u64()),
        (Some("WAW-01"), Some(1)),
        "{ship}"
    );
    assert_eq!(ship["delivery_date"], "2026-11-24");
    assert_eq!(body["options"][3]["location_id"], "WH-CENTRAL");
    // A Polish shop and warehouse quote their courier in PLN, not in the
    // ranking's EUR.
    assert_eq!(
        ship["courier_cost"],
        json!({"amount": "19.90", "currency": "PLN"}),
        "{ship}"
    );
    assert_eq!(
        body["options"][3]["courier_cost"]["currency"], "PLN",
        "{body}"
    );
}

#[test]
fn the_channel_assortment_decides_what_is_offered() {
    let t = seeded();
    // A store-only bag asked for in the app: reserve in store, no delivery.
    let bag = json!({"channel": "app", "lines": [{"sku": "BAG-TOT-NAT", "quantity": 1}], "location": {"lat": WARSAW.0, "lon": WARSAW.1}});
    let body = body_json(&post(
        &t,
        "/api/availability/fulfilment-options",
        &customer("C-1"),
        bag,
    ));
    assert_eq!(body["lines"][0]["sold_in_channel"], false);
    assert_eq!(
        body["lines"][0]["refusal"]["alternative"],
        "reserve_in_store"
    );
    assert!(
        body["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["method"] == "pickup"),
        "{body}"
    );
    let refused: Vec<&str> = body["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["method"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["ship_from_store", "home_delivery"]);
    // Not in my size at WAW-01: the kiosk offers the endless aisle.
    let dress = json!({"channel": "kiosk", "store_id": "WAW-01", "lines": [{"sku": "DRS-LIN-NAV-M", "quantity": 1}]});
    let body = body_json(&post(
        &t,
        "/api/availability/fulfilment-options",
        &store_device("WAW-01"),
        dress,
    ));
    let endless = body["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["method"] == "endless_aisle")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(endless["location_id"], "WH-CENTRAL");
    assert_eq!(endless["ordered_in_store"], "WAW-01");
    assert!(
        body["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["store_id"] == "WAW-01"),
        "{body}"
    );
    // An online-only knit at the till: home delivery only, never pickup.
    let knit = json!({"channel": "pos", "store_id": "WAW-01", "lines": [{"sku": "KNT-MER-GRY-M", "quantity": 1}]});
    let body = body_json(&post(
        &t,
        "/api/availability/fulfilment-options",
        &store_device("WAW-01"),
        knit,
    ));
    let methods: Vec<&str> = body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["endless_aisle"], "{body}");
    assert_eq!(body["lines"][0]["refusal"]["alternative"], "home_delivery");
}

#[test]
fn bad_fulfilment_requests_are_422() {
    let t = seeded();
    let line = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]);
    for body in [
        json!({"channel": "fax", "lines": line, "location": {"lat": 52, "lon": 21}}),
        json!({"channel": "web", "lines": line}),
        json!({"channel": "kiosk", "lines": line}),
        json!({"channel": "web", "lines": line, "location": {"lat": 95, "lon": 21}}),
        json!({"channel": "web", "lines": line, "location": {"lat": 52, "lon": 21}, "radius_km": 0}),
    ] {
        let response = post(
            &t,
            "/api/availability/fulfilment-options",
            &customer("C-1"),
            body.clone(),
        );
        assert_eq!(status(&response), 422, "{body}: {}", body_json(&response));
    }
}

#[test]
fn nearby_basket_options_and_reservations_give_one_answer_for_an_online_only_item() {
    let t = seeded();
    // A returned online-only knit sits on WAW-01's shelf: stock, but not
    // something a store hands over.
    assert_eq!(
        status(&stock_feed(
            &t,
            "WAW-01",
            2,
            json!([{"sku": "KNT-MER-GRY-M", "on_hand": 6}])
        )),
        200
    );
    let body = nearby(&t, "KNT-MER-GRY-M");
    assert_eq!(body["collectable"], false, "{body}");
    assert_eq!(body["assortment"], "online_only");
    let here = &body["stores"][0];
    assert_eq!(here["store_id"], "WAW-01");
    assert_eq!(
        (here["available"].as_u64(), here["enough"].as_bool()),
        (Some(5), Some(true)),
        "{here}"
    );
    assert_eq!(here["can_pick_up"], false);
    assert_eq!(here["ready_by"], Value::Null);
    assert_eq!(here["picking_date"], Value::Null);
    let reason = here["reasons"][0].as_str().unwrap().to_owned();
    assert!(reason.contains("sold online only"), "{reason}");
    for store in body["stores"].as_array().unwrap() {
        assert_eq!(
            (store["can_pick_up"].as_bool(), store["ready_by"].is_null()),
            (Some(false), true),
            "{store}"
        );
    }

    // The basket lookup says the same, in the same words.
    let lines = json!([{"sku": "KNT-MER-GRY-M", "quantity": 1}]);
    let basket = body_json(&post(
        &t,
        "/api/availability/basket",
        &customer("C-1"),
        json!({"store_id": "WAW-01", "lines": lines}),
    ));
    assert_eq!(
        (
            basket["can_pick_up"].as_bool(),
            basket["ready_by"].is_null()
        ),
        (Some(false), true),
        "{basket}"
    );
    assert_eq!(basket["reasons"], json!([reason]));
    // A reservation is refused with that reason, and locks nothing.
    let refused = reserve(&t, &customer("C-1"), "WAW-01", lines.clone());
    assert_eq!(status(&refused), 422, "{}", body_json(&refused));
    assert_eq!(
        body_json(&refused)["type"],
        "urn:omnichannel-edge:problem:not-sold-in-channel"
    );
    assert_eq!(body_json(&refused)["detail"], reason.as_str());
    assert_eq!(atp(&t, "WAW-01", "KNT-MER-GRY-M"), 5);
    // The fulfilment options offer no pickup anywhere.
    let asked =
        json!({"channel": "app", "lines": lines, "location": {"lat": WARSAW.0, "lon": WARSAW.1}});
    let options = body_json(&post(
        &t,
        "/api/availability/fulfilment-options",
        &customer("C-1"),
        asked,
    ));
    assert!(
        options["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["method"] != "pickup"),
        "{options}"
    );
    assert!(
        options["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["method"] == "pickup"),
        "{options}"
    );

    // An item sold everywhere: nearby promises what the basket promises.
    let tee = nearby(&t, "TEE-ORG-BLK-M");
    assert_eq!(tee["collectable"], true);
    let first = &tee["stores"][0];
    assert_eq!(
        (first["can_pick_up"].as_bool(), first["reasons"].clone()),
        (Some(true), json!([])),
        "{first}"
    );
    let lines = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]);
    let basket = body_json(&post(
        &t,
        "/api/availability/basket",
        &customer("C-1"),
        json!({"store_id": "WAW-01", "lines": lines}),
    ));
    assert_eq!(basket["ready_by"], first["ready_by"]);
    assert_eq!(basket["picking_date"], first["picking_date"]);
    // Out of stock: no promise, and the reason says how many are available.
    let out = nearby(&t, "DRS-LIN-NAV-M");
    assert_eq!(out["stores"][0]["can_pick_up"], false);
    assert_eq!(
        out["stores"][0]["reasons"],
        json!(["DRS-LIN-NAV-M: 1 wanted, 0 available"])
    );
}

/// Each caller's allowed channels, for fulfilment options.
fn fulfilment_by(t: &TestHost, caller: Option<&Caller>, channel: &str) -> Response {
    let body = json!({
        "channel": channel,
        "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}],
        "location": {"lat": WARSAW.0, "lon": WARSAW.1},
        "store_id": "WAW-01"
    });
    send(
        t,
        Method::Post,
        "/api/availability/fulfilment-options",
        caller,
        Some(body),
    )
}

#[test]
fn fulfilment_options_are_asked_only_in_a_channel_the_caller_may_act_in() {
    let t = seeded();
    let till = store_device("WAW-01");
    let shopper = customer("C-1");
    let staff = ops();
    let callers: [(&str, Option<&Caller>, &[&str]); 4] = [
        ("guest", None, &["web", "app"]),
        ("customer", Some(&shopper), &["web", "app"]),
        ("store device", Some(&till), &["kiosk", "pos"]),
        (
            "ops",
            Some(&staff),
            &["web", "app", "kiosk", "pos", "call_center"],
        ),
    ];
    for (who, caller, allowed) in callers {
        for channel in ["web", "app", "kiosk", "pos", "call_center"] {
            let response = fulfilment_by(&t, caller, channel);
            let body = body_json(&response);
            if allowed.contains(&channel) {
                assert_eq!(status(&response), 200, "{who} in {channel}: {body}");
                assert_eq!(body["channel"], channel);
            } else {
                assert_eq!(status(&response), 403, "{who} in {channel}: {body}");
                assert_eq!(
                    body["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{who} in {channel}"
                );
                assert!(body["detail"].as_str().unwrap().contains(channel), "{body}");
            }
        }
    }
    // A guest claiming the kiosk is refused; an invalid body is still 422
    // first, and a forged token is 401, never a guest.
    let kiosk = fulfilment_by(&t, None, "kiosk");
    assert_eq!(body_json(&kiosk)["allowed_channels"], json!(["web", "app"]));
    let mut forged = spin_sdk::http::Request::builder();
    forged
        .method(Method::Post)
        .uri("/api/availability/fulfilment-options")
        .header("authorization", "Bearer not-a-token")
        .header("content-type", "application/json")
        .body(json!({"channel": "web", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}], "location": {"lat": 52, "lon": 21}}).to_string());
    assert_eq!(
        status(&handle(forged.build(), &t.host.another_request())),
        401
    );
    // Nothing any of it asked changed a shelf.
    assert_eq!(atp(&t, "WAW-01", "TEE-ORG-BLK-M"), 11);
}

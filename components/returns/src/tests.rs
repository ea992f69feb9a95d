//! The returns endpoints exercised natively over the demo retailer: orders
//! are placed and collected through the orders domain (the pickups
//! component's rules), then returned through this component's routes.

use super::{ROUTES, handle};
use chrono::Duration;
use omni_shared::auth::Caller;
use omni_shared::channel::Channel;
use omni_shared::host::{Host, NativeHost};
use omni_shared::ids::{CustomerId, StoreId};
use omni_shared::money::Currency;
use omni_shared::orders::place::{NewOrder, place};
use omni_shared::orders::transition::{Move, Settings, transition};
use omni_shared::orders::{Actor, Fulfilment, OrderStatus, Via};
use omni_shared::stock::{self, Basket, BasketLineRow, HoldTtl, ReservationRequest};
use omni_shared::testing::{
    self, TestHost, assert_openapi_matches_routes, body_json, customer, ops, request, status,
    store_device,
};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Response};

const DEMO_ITEMS: &str = include_str!("../../../infra/demo/items.json");
const DEMO_STORES: &str = include_str!("../../../infra/demo/stores.json");
const DEMO_PRICES: &str = include_str!("../../../infra/demo/prices.json");
const OPENAPI: &str = include_str!("../openapi.yaml");

/// The demo retailer with 10 units (1 on display) of a tee and a dress in
/// sizes M and L at WAW-01 and WAW-02.
fn seeded() -> TestHost {
    let t = TestHost::new();
    let token = t.token(&ops());
    for (path, body) in [
        ("stores", DEMO_STORES),
        ("items", DEMO_ITEMS),
        ("prices", DEMO_PRICES),
    ] {
        let req = testing::json_request(
            Method::Post,
            &format!("/api/catalog/{path}"),
            &serde_json::from_str(body).unwrap(),
            Some(&token),
        );
        let response = catalog::handle(req, &t.host.another_request());
        assert_eq!(status(&response), 200, "{path}: {}", body_json(&response));
    }
    let sql = t.host.sql().unwrap();
    for store in ["WAW-01", "WAW-02"] {
        for sku in ["TEE-ORG-BLK-M", "TEE-ORG-BLK-L", "DRS-LIN-NAV-S"] {
            sql.execute(
                "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at) VALUES (?1, ?2, 10, 0, 1, 'x')",
                &[store.into(), sku.into()],
            )
            .unwrap();
        }
    }
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
        Some(body) => testing::json_request(method, path, &body, token.as_deref()),
        None => request(method, path, token.as_deref()),
    };
    handle(req, &t.host.another_request())
}

fn on_hand(t: &TestHost, store: &str, sku: &str) -> i64 {
    let rows = t
        .host
        .sql()
        .unwrap()
        .execute(
            "SELECT on_hand FROM stock WHERE store = ?1 AND sku = ?2",
            &[store.into(), sku.into()],
        )
        .unwrap();
    rows.first().unwrap().integer("on_hand").unwrap()
}

/// A click & collect order of `lines` at WAW-01 for `who`, collected now.
fn collected_order(t: &TestHost, who: &str, lines: &[(&str, i64)]) -> String {
    let sql = t.host.sql().unwrap();
    let now = t.now();
    let rows: Vec<BasketLineRow> = lines
        .iter()
        .map(|(sku, q)| BasketLineRow {
            sku: (*sku).into(),
            quantity: json!(q),
        })
        .collect();
    let reservation = stock::reserve(
        sql,
        &ReservationRequest {
            store: StoreId::parse("WAW-01").unwrap(),
            customer: CustomerId::parse(who).unwrap(),
            basket: Basket::parse(&rows).unwrap(),
            hold: HoldTtl::DEFAULT,
            requested_by: format!("customer:{who}"),
        },
        now,
    )
    .unwrap();
    let buyer = Actor::of(&customer(who)).unwrap();
    let new = NewOrder {
        customer: CustomerId::parse(who).unwrap(),
        fulfilment: Fulfilment::ClickAndCollect,
        store: None,
        reservation: Some(reservation.id),
        checkout: None,
        lines: Vec::new(),
        currency: Currency::Pln,
        delivery_address: None,
        locale: None,
        channel: Channel::App,
    };
    let order = place(sql, &new, &buyer, Settings::default(), now).unwrap();
    let till = Actor::of(&store_device("WAW-01")).unwrap();
    for to in [
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
        OrderStatus::PickedUp,
    ] {
        let change = Move {
            to,
            via: Via::Channel(Channel::Pos),
            note: None,
            tracking: None,
        };
        transition(
            sql,
            &order.id,
            &change,
            &till,
            Settings::default(),
            |_| true,
            now,
        )
        .unwrap();
    }
    order.id.as_str().to_owned()
}

fn open(t: &TestHost, who: &str, order: &str, lines: Value) -> Response {
    send(
        t,
        Method::Post,
        "/api/returns",
        Some(&customer(who)),
        Some(json!({"order_id": order, "lines": lines})),
    )
}

#[test]
fn openapi_documents_every_route() {
    assert_openapi_matches_routes(ROUTES, OPENAPI);
}

#[test]
fn the_policy_is_public_with_a_schema_org_view_and_ops_edit_it_with_if_match() {
    let t = seeded();
    let policy = send(&t, Method::Get, "/api/return-policy", None, None);
    assert_eq!(status(&policy), 200);
    let doc = body_json(&policy);
    assert_eq!(doc["window_days"], 30);
    assert_eq!(doc["schema_org"]["@type"], "MerchantReturnPolicy");
    assert_eq!(testing::header(&policy, "etag"), Some("\"v0\""));
    let mut edited = doc.clone();
    for extra in [
        "version",
        "window_starts",
        "refund_basis",
        "coupon_minimum_rule",
        "schema_org",
    ] {
        edited.as_object_mut().unwrap().remove(extra);
    }
    edited["window_days"] = json!(14);
    assert_eq!(
        status(&send(
            &t,
            Method::Put,
            "/api/return-policy",
            Some(&customer("C-1")),
            Some(edited.clone())
        )),
        403
    );
    let mut req = testing::json_request(
        Method::Put,
        "/api/return-policy",
        &edited,
        Some(&t.token(&ops())),
    );
    req.set_header("if-match", "\"v0\"");
    let saved = handle(req, &t.host.another_request());
    assert_eq!(status(&saved), 200, "{}", body_json(&saved));
    assert_eq!(body_json(&saved)["schema_org"]["merchantReturnDays"], 14);
    let mut stale = testing::json_request(
        Method::Put,
        "/api/return-policy",
        &edited,
        Some(&t.token(&ops())),
    );
    stale.set_header("if-match", "\"v0\"");
    assert_eq!(status(&handle(stale, &t.host.another_request())), 412);
    // Edited again and again, each time with the tag just read.
    for (version, days) in [(1, 21), (2, 28), (3, 35)] {
        edited["window_days"] = json!(days);
        let mut req = testing::json_request(
            Method::Put,
            "/api/return-policy",
            &edited,
            Some(&t.token(&ops())),
        );
        req.set_header("if-match", format!("\"v{version}\""));
        let saved = handle(req, &t.host.another_request());
        assert_eq!(status(&saved), 200, "edit {version}: {}", body_json(&saved));
        assert_eq!(
            testing::header(&saved, "etag").map(str::to_owned),
            Some(format!("\"v{}\"", version + 1))
        );
        let mut stale = testing::json_request(
            Method::Put,
            "/api/return-policy",
            &edited,
            Some(&t.token(&ops())),
        );
        stale.set_header("if-match", format!("\"v{version}\""));
        assert_eq!(
            status(&handle(stale, &t.host.another_request())),
            412,
            "v{version} is stale now"
        );
    }
    edited["window_days"] = json!(0);
    assert_eq!(
        status(&send(
            &t,
            Method::Put,
            "/api/return-policy",
            Some(&ops()),
            Some(edited)
        )),
        422
    );
    assert_eq!(
        body_json(&send(&t, Method::Get, "/api/return-policy", None, None))["window_days"],
        35
    );
}

#[test]
fn golden_path_opened_in_the_app_received_in_another_store_refunded_exactly_and_restocked() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 2)]);
    let opened = open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1, "reason": "too_small"}]),
    );
    assert_eq!(status(&opened), 201, "{}", body_json(&opened));
    let rma = body_json(&opened);
    assert_eq!(rma["status"], "opened");
    assert_eq!(
        rma["lines"][0]["refund"],
        json!({"amount": "59.99", "currency": "PLN"})
    );
    let case = rma["case_number"].as_str().unwrap().to_owned();
    assert!(
        rma["return_code"]["qr_svg"]
            .as_str()
            .unwrap()
            .contains("<svg")
    );
    let code = rma["return_code"]["code"].as_str().unwrap().to_owned();

    let before = on_hand(&t, "WAW-02", "TEE-ORG-BLK-M");
    let kiosk = store_device("WAW-02");
    let scanned = send(
        &t,
        Method::Post,
        "/api/returns/lookups",
        Some(&kiosk),
        Some(json!({"code": code})),
    );
    assert_eq!(status(&scanned), 200);
    assert_eq!(body_json(&scanned)["receivable"], true);
    let received = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&kiosk),
        Some(json!({"code": code})),
    );
    assert_eq!(status(&received), 200, "{}", body_json(&received));
    assert_eq!(body_json(&received)["received"]["store_id"], "WAW-02");
    assert_eq!(on_hand(&t, "WAW-02", "TEE-ORG-BLK-M"), before + 1);

    let again = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&kiosk),
        Some(json!({"code": code})),
    );
    assert_eq!(status(&again), 409);
    assert!(
        body_json(&again)["detail"]
            .as_str()
            .unwrap()
            .starts_with("already received at WAW-02 at ")
    );
    let other_store = send(
        &t,
        Method::Post,
        &format!("/api/returns/{case}/refund"),
        Some(&store_device("WAW-01")),
        None,
    );
    assert_eq!(status(&other_store), 403);
    let refunded = send(
        &t,
        Method::Post,
        &format!("/api/returns/{case}/refund"),
        Some(&kiosk),
        None,
    );
    assert_eq!(status(&refunded), 200, "{}", body_json(&refunded));
    assert_eq!(
        body_json(&refunded)["refunded"]["amount"],
        json!({"amount": "59.99", "currency": "PLN"})
    );
    let illegal = send(
        &t,
        Method::Post,
        &format!("/api/returns/{case}/inspect"),
        Some(&kiosk),
        None,
    );
    assert_eq!(status(&illegal), 409);
    assert_eq!(body_json(&illegal)["allowed_next"], json!(["closed"]));
    let mine = send(
        &t,
        Method::Get,
        &format!("/api/returns/{case}"),
        Some(&customer("C-1")),
        None,
    );
    let statuses: Vec<String> = body_json(&mine)["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["opened", "received", "refunded"]);
    assert!(
        body_json(&mine)["history"][1].get("actor_id").is_none(),
        "customers see roles, not devices"
    );
    assert_eq!(
        status(&send(
            &t,
            Method::Get,
            &format!("/api/returns/{case}"),
            Some(&customer("C-2")),
            None
        )),
        404
    );
}

#[test]
fn several_returns_never_return_more_than_was_bought() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 2)]);
    let line = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]);
    assert_eq!(status(&open(&t, "C-1", &order, line.clone())), 201);
    assert_eq!(status(&open(&t, "C-1", &order, line.clone())), 201);
    let third = open(&t, "C-1", &order, line);
    assert_eq!(status(&third), 422);
    assert_eq!(body_json(&third)["errors"][0]["code"], "exceeds_returnable");
    assert_eq!(body_json(&third)["errors"][0]["returnable"], 0);
    assert_eq!(
        body_json(&third)["errors"][0]["field"],
        "lines[0]",
        "every errors[] item names its field"
    );
    assert!(
        body_json(&third)["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("still returnable")
    );
    let list = send(
        &t,
        Method::Get,
        &format!("/api/returns?order_id={order}"),
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(body_json(&list)["count"], 2);
}

#[test]
fn bad_input_is_refused_with_a_problem_and_changes_nothing() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 1)]);
    let too_many = open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 2}]),
    );
    assert_eq!(status(&too_many), 422);
    let unknown_line = open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "DRS-LIN-NAV-S", "quantity": 1}]),
    );
    assert_eq!(
        body_json(&unknown_line)["errors"][0]["code"],
        "not_on_order"
    );
    assert_eq!(
        status(&open(
            &t,
            "C-1",
            "ORD-0000000000000000",
            json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}])
        )),
        404
    );
    assert_eq!(
        status(&open(
            &t,
            "C-2",
            &order,
            json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}])
        )),
        404
    );
    assert_eq!(
        status(&open(
            &t,
            "C-1",
            &order,
            json!([{"sku": "TEE-ORG-BLK-M", "quantity": -1}])
        )),
        422
    );
    let malformed = handle(
        {
            let mut b = spin_sdk::http::Request::builder();
            b.method(Method::Post)
                .uri("/api/returns")
                .header("content-type", "application/json")
                .body("{\"order_id\":");
            b.header(
                "authorization",
                format!("Bearer {}", t.token(&customer("C-1"))),
            );
            b.build()
        },
        &t.host.another_request(),
    );
    assert_eq!(status(&malformed), 400);
    let forged = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&store_device("WAW-01")),
        Some(json!({"code": "AQAAAABmb3JnZWQtY29kZS1hYWFhYWFhYWFhYWFh"})),
    );
    assert_eq!(status(&forged), 403);
    let none = send(
        &t,
        Method::Get,
        &format!("/api/returns?order_id={order}"),
        Some(&ops()),
        None,
    );
    assert_eq!(body_json(&none)["count"], 0, "nothing was opened");
}

#[test]
fn a_return_after_the_window_is_refused_with_the_reason_and_an_expired_code_too() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 1), ("DRS-LIN-NAV-S", 1)]);
    let opened = body_json(&open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "DRS-LIN-NAV-S", "quantity": 1}]),
    ));
    let code = opened["return_code"]["code"].as_str().unwrap().to_owned();
    // Collected Monday 23 Nov 2026, 10:00 in Warsaw: the window closes at
    // the end of 23 December, Warsaw time.
    t.host.fixed_clock().advance(Duration::days(31));
    let late = open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]),
    );
    assert_eq!(status(&late), 422);
    assert_eq!(body_json(&late)["errors"][0]["code"], "window_closed");
    assert_eq!(
        body_json(&late)["errors"][0]["window_ended_at"],
        "2026-12-23T23:00:00.000Z"
    );
    let expired = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&store_device("WAW-01")),
        Some(json!({"code": code})),
    );
    assert_eq!(status(&expired), 410);
}

#[test]
fn an_exchange_for_another_size_reserves_it_at_the_intake_store_and_prices_the_difference() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 1)]);
    let opened = body_json(&open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]),
    ));
    let case = opened["case_number"].as_str().unwrap().to_owned();
    let kiosk = store_device("WAW-02");
    let code = opened["return_code"]["code"].clone();
    let lines = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1, "condition": "damaged"}]);
    let received = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&kiosk),
        Some(json!({"code": code, "lines": lines})),
    );
    assert_eq!(status(&received), 200, "{}", body_json(&received));
    assert_eq!(
        on_hand(&t, "WAW-02", "TEE-ORG-BLK-M"),
        10,
        "a damaged unit is recorded, not restocked"
    );
    let not_same = send(
        &t,
        Method::Post,
        &format!("/api/returns/{case}/exchange"),
        Some(&kiosk),
        Some(
            json!({"lines": [{"sku": "TEE-ORG-BLK-M", "replacement_sku": "DRS-LIN-NAV-S", "quantity": 1}]}),
        ),
    );
    assert_eq!(status(&not_same), 422);
    let swapped = send(
        &t,
        Method::Post,
        &format!("/api/returns/{case}/exchange"),
        Some(&kiosk),
        Some(
            json!({"lines": [{"sku": "TEE-ORG-BLK-M", "replacement_sku": "TEE-ORG-BLK-L", "quantity": 1}]}),
        ),
    );
    assert_eq!(status(&swapped), 200, "{}", body_json(&swapped));
    let exchange = &body_json(&swapped)["exchange"];
    assert_eq!(exchange["store_id"], "WAW-02");
    assert_eq!(exchange["settlement"], "none");
    assert_eq!(exchange["price_difference"]["amount"], "0.00");
    let reserved = t
        .host
        .sql()
        .unwrap()
        .execute(
            "SELECT reserved FROM stock WHERE store = 'WAW-02' AND sku = 'TEE-ORG-BLK-L'",
            &[],
        )
        .unwrap();
    assert_eq!(reserved.first().unwrap().integer("reserved").unwrap(), 1);
}

#[test]
fn ten_concurrent_intakes_of_one_code_receive_once_and_restock_once() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 1)]);
    let opened = body_json(&open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]),
    ));
    let code = opened["return_code"]["code"].as_str().unwrap().to_owned();
    let token = t.token(&store_device("WAW-02"));
    let dir = t.dir.path().to_owned();
    let now = t.now();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let (code, token, dir) = (code.clone(), token.clone(), dir.clone());
                s.spawn(move || {
                    let host = NativeHost::new(&dir, now)
                        .with_variable("jwt_issuer", testing::ISSUER)
                        .with_variable("jwt_audience", testing::AUDIENCE)
                        .with_variable("jwt_hs256_secret", testing::JWT_SECRET)
                        .with_variable("code_signing_secret", testing::CODE_SECRET);
                    let req = testing::json_request(
                        Method::Post,
                        "/api/returns/intakes",
                        &json!({"code": code}),
                        Some(&token),
                    );
                    status(&handle(req, &host))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(on_hand(&t, "WAW-02", "TEE-ORG-BLK-M"), 11);
}

#[test]
fn a_till_receipt_with_order_discounts_is_returned_at_the_till_for_exactly_what_its_line_paid() {
    let t = seeded();
    let till = store_device("WAW-01");
    let receipt = send(
        &t,
        Method::Post,
        "/api/returns/receipts",
        Some(&till),
        Some(json!({
            "currency": "PLN",
            "lines": [
                {"sku": "TEE-ORG-BLK-M", "quantity": 2, "unit_price": "59.99", "line_discount": "10.00"},
                {"sku": "DRS-LIN-NAV-S", "quantity": 1, "unit_price": "249.99"}
            ],
            "order_discounts": ["33.00", "20.00"]
        })),
    );
    assert_eq!(status(&receipt), 201, "{}", body_json(&receipt));
    let receipt = body_json(&receipt);
    assert_eq!(receipt["total_paid"]["amount"], "306.97");
    assert_eq!(receipt["lines"][0]["paid"]["amount"], "93.79");
    let id = receipt["receipt_id"].as_str().unwrap();
    let opened = send(
        &t,
        Method::Post,
        "/api/returns",
        Some(&store_device("WAW-02")),
        Some(
            json!({"order_id": id, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}], "channel": "pos"}),
        ),
    );
    assert_eq!(status(&opened), 201, "{}", body_json(&opened));
    assert_eq!(body_json(&opened)["refund_total"]["amount"], "46.90");
    let second = send(
        &t,
        Method::Post,
        "/api/returns",
        Some(&store_device("WAW-02")),
        Some(json!({"order_id": id, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]})),
    );
    assert_eq!(
        body_json(&second)["refund_total"]["amount"],
        "46.89",
        "the two units add up to the line exactly"
    );
}

const CHANNELS: [&str; 6] = ["web", "app", "kiosk", "pos", "call_center", "back_office"];

#[test]
fn a_return_names_only_a_channel_its_caller_may_act_in_and_a_refused_claim_changes_nothing() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 4), ("TEE-ORG-BLK-L", 6)]);
    let (shopper, till, staff) = (customer("C-1"), store_device("WAW-01"), ops());
    let callers: [(&str, &Caller, &str, &[&str]); 3] = [
        ("customer", &shopper, "TEE-ORG-BLK-M", &["web", "app"]),
        ("store device", &till, "TEE-ORG-BLK-M", &["pos", "kiosk"]),
        ("ops", &staff, "TEE-ORG-BLK-L", &CHANNELS),
    ];
    let mut opened = 0;
    for (who, caller, sku, allowed) in callers {
        for channel in CHANNELS {
            let body = json!({"order_id": order, "lines": [{"sku": sku, "quantity": 1}], "channel": channel});
            let response = send(&t, Method::Post, "/api/returns", Some(caller), Some(body));
            let answer = body_json(&response);
            if allowed.contains(&channel) {
                assert_eq!(status(&response), 201, "{who} in {channel}: {answer}");
                assert_eq!(answer["opened_channel"], channel);
                assert_eq!(answer["history"][0]["channel"], channel);
                opened += 1;
            } else {
                assert_eq!(status(&response), 403, "{who} in {channel}: {answer}");
                assert_eq!(
                    answer["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{who} in {channel}"
                );
            }
        }
    }
    let listed = body_json(&send(
        &t,
        Method::Get,
        &format!("/api/returns?order_id={order}"),
        Some(&ops()),
        None,
    ));
    assert_eq!(listed["count"], opened, "a refused claim opened nothing");
    assert_eq!(opened, 10);

    // The intake and the staff's moves check the claim before anything changes.
    let second = collected_order(&t, "C-2", &[("TEE-ORG-BLK-M", 1)]);
    let rma = body_json(&open(
        &t,
        "C-2",
        &second,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1}]),
    ));
    assert_eq!(rma["opened_channel"], "app", "a customer's usual channel");
    let case = rma["case_number"].as_str().unwrap().to_owned();
    let code = rma["return_code"]["code"].clone();
    let kiosk = store_device("WAW-02");
    let before = on_hand(&t, "WAW-02", "TEE-ORG-BLK-M");
    for channel in ["web", "app", "call_center", "back_office"] {
        let refused = send(
            &t,
            Method::Post,
            "/api/returns/intakes",
            Some(&kiosk),
            Some(json!({"code": code, "channel": channel})),
        );
        assert_eq!(
            status(&refused),
            403,
            "intake in {channel}: {}",
            body_json(&refused)
        );
        assert_eq!(
            body_json(&refused)["type"],
            "urn:omnichannel-edge:problem:channel-not-allowed"
        );
    }
    assert_eq!(
        on_hand(&t, "WAW-02", "TEE-ORG-BLK-M"),
        before,
        "nothing restocked"
    );
    let still = body_json(&send(
        &t,
        Method::Get,
        &format!("/api/returns/{case}"),
        Some(&ops()),
        None,
    ));
    assert_eq!(
        (still["status"].as_str(), still["version"].as_i64()),
        (Some("opened"), Some(1))
    );
    let received = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&kiosk),
        Some(json!({"code": code, "channel": "kiosk"})),
    );
    assert_eq!(status(&received), 200, "{}", body_json(&received));
    assert_eq!(on_hand(&t, "WAW-02", "TEE-ORG-BLK-M"), before + 1);
    let refund = format!("/api/returns/{case}/refund");
    let as_office = send(
        &t,
        Method::Post,
        &refund,
        Some(&kiosk),
        Some(json!({"channel": "back_office"})),
    );
    assert_eq!(status(&as_office), 403, "{}", body_json(&as_office));
    assert_eq!(
        body_json(&as_office)["allowed_channels"],
        json!(["pos", "kiosk"])
    );
    let online = send(
        &t,
        Method::Post,
        &refund,
        Some(&kiosk),
        Some(json!({"channel": "web"})),
    );
    assert_eq!(status(&online), 403);
    let still = body_json(&send(
        &t,
        Method::Get,
        &format!("/api/returns/{case}"),
        Some(&ops()),
        None,
    ));
    assert_eq!(
        (still["status"].as_str(), still["refunded"].is_null()),
        (Some("received"), true),
        "{still}"
    );
    let refunded = send(
        &t,
        Method::Post,
        &refund,
        Some(&ops()),
        Some(json!({"channel": "back_office"})),
    );
    assert_eq!(status(&refunded), 200, "{}", body_json(&refunded));
    let steps: Vec<(String, String)> = body_json(&refunded)["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["status"].as_str().unwrap().to_owned(),
                h["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("opened".into(), "app".into()),
            ("received".into(), "kiosk".into()),
            ("refunded".into(), "back_office".into())
        ]
    );
}

#[test]
fn an_exchange_on_a_discounted_sale_keeps_the_discount() {
    let t = seeded();
    let till = store_device("WAW-01");
    // Two tees at 59.99 with 5.92 off the sale: each paid 57.03.
    let receipt = send(
        &t,
        Method::Post,
        "/api/returns/receipts",
        Some(&till),
        Some(
            json!({"currency": "PLN", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 2, "unit_price": "59.99"}], "order_discounts": ["5.92"]}),
        ),
    );
    assert_eq!(status(&receipt), 201, "{}", body_json(&receipt));
    let id = body_json(&receipt)["receipt_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let opened = send(
        &t,
        Method::Post,
        "/api/returns",
        Some(&till),
        Some(json!({"order_id": id, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]})),
    );
    assert_eq!(status(&opened), 201, "{}", body_json(&opened));
    let opened = body_json(&opened);
    assert_eq!(opened["refund_total"]["amount"], "57.03");
    let case = opened["case_number"].as_str().unwrap().to_owned();
    let code = opened["return_code"]["code"].clone();
    assert_eq!(
        status(&send(
            &t,
            Method::Post,
            "/api/returns/intakes",
            Some(&till),
            Some(json!({"code": code}))
        )),
        200
    );
    let swapped = send(
        &t,
        Method::Post,
        &format!("/api/returns/{case}/exchange"),
        Some(&till),
        Some(
            json!({"lines": [{"sku": "TEE-ORG-BLK-M", "replacement_sku": "TEE-ORG-BLK-L", "quantity": 1}]}),
        ),
    );
    assert_eq!(status(&swapped), 200, "{}", body_json(&swapped));
    let swapped = body_json(&swapped);
    let exchange = &swapped["exchange"];
    assert_eq!(
        exchange["price_difference"],
        json!({"amount": "0.00", "currency": "PLN"}),
        "{exchange}"
    );
    assert_eq!(exchange["settlement"], "none");
    assert_eq!(exchange["lines"][0]["returned_value"]["amount"], "57.03");
    assert_eq!(
        exchange["lines"][0]["returned_unit_price"]["amount"],
        "59.99"
    );
    assert_eq!(swapped["refunded"]["amount"]["amount"], "0.00");
}

/// A customer without a phone reads the case number off the e-mail: the
/// store finds the case by it and receives it with the units' condition;
/// a typo in the check digit, an unknown number or both keys at once are
/// refused with a problem naming the field, and change nothing.
#[test]
fn a_typed_case_number_finds_and_receives_the_case_with_damaged_units_and_typos_are_refused() {
    let t = seeded();
    let order = collected_order(&t, "C-1", &[("TEE-ORG-BLK-M", 2)]);
    let opened = body_json(&open(
        &t,
        "C-1",
        &order,
        json!([{"sku": "TEE-ORG-BLK-M", "quantity": 2, "reason": "too_small"}]),
    ));
    let case = opened["case_number"].as_str().unwrap().to_owned();
    let code = opened["return_code"]["code"].as_str().unwrap().to_owned();
    let kiosk = store_device("WAW-01");
    let before = on_hand(&t, "WAW-01", "TEE-ORG-BLK-M");

    // What people type: lower case, spaces, no dashes.
    let typed = case.to_ascii_lowercase().replace('-', " ");
    let scanned = send(
        &t,
        Method::Post,
        "/api/returns/lookups",
        Some(&kiosk),
        Some(json!({"case_number": typed})),
    );
    assert_eq!(status(&scanned), 200, "{}", body_json(&scanned));
    assert_eq!(body_json(&scanned)["case_number"], case.as_str());
    assert_eq!(body_json(&scanned)["receivable"], true);

    let mut digits: Vec<char> = case.chars().collect();
    let last = digits.pop().unwrap();
    digits.push(if last == '0' { '1' } else { '0' });
    let typo: String = digits.into_iter().collect();
    for (body, expected, field) in [
        (json!({"case_number": typo}), 422, Some("case_number")),
        (json!({"case_number": "RMA-1"}), 422, Some("case_number")),
        (
            json!({"case_number": case, "code": code}),
            422,
            Some("code"),
        ),
        (json!({}), 422, Some("code")),
        (json!({"case_number": "RMA-0000-0000-0"}), 404, None),
    ] {
        for path in ["/api/returns/lookups", "/api/returns/intakes"] {
            let refused = send(&t, Method::Post, path, Some(&kiosk), Some(body.clone()));
            assert_eq!(
                status(&refused),
                expected,
                "{path} {body}: {}",
                body_json(&refused)
            );
            if let Some(field) = field {
                assert_eq!(
                    body_json(&refused)["errors"][0]["field"],
                    field,
                    "{path} {body}"
                );
            }
        }
    }
    assert_eq!(
        on_hand(&t, "WAW-01", "TEE-ORG-BLK-M"),
        before,
        "nothing received by a refused intake"
    );

    let lines = json!([{"sku": "TEE-ORG-BLK-M", "quantity": 1, "condition": "sellable"}, {"sku": "TEE-ORG-BLK-M", "quantity": 1, "condition": "damaged"}]);
    let received = send(
        &t,
        Method::Post,
        "/api/returns/intakes",
        Some(&kiosk),
        Some(json!({"case_number": case, "lines": lines, "channel": "kiosk"})),
    );
    assert_eq!(status(&received), 200, "{}", body_json(&received));
    let rma = body_json(&received);
    assert_eq!(rma["lines"][0]["received_sellable"], 1);
    assert_eq!(rma["lines"][0]["received_damaged"], 1);
    assert_eq!(rma["history"][1]["channel"], "kiosk");
    assert_eq!(
        on_hand(&t, "WAW-01", "TEE-ORG-BLK-M"),
        before + 1,
        "only the sellable unit is back on the shelf"
    );
    let again = send(
        &t,
        Method::Post,
        "/api/returns/lookups",
        Some(&kiosk),
        Some(json!({"case_number": case})),
    );
    assert_eq!(body_json(&again)["receivable"], false);
    assert_eq!(body_json(&again)["already_received"]["store_id"], "WAW-01");
}

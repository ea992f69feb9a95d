//! The pickups endpoints exercised natively, request in, response out, over
//! the demo retailer, with a recording fake in place of push services and
//! the gateway (the black-box suite uses a real push receiver).

use super::{FollowUp, ROUTES, handle};
use chrono::{DateTime, Duration, Utc};
use omni_shared::auth::{Caller, Claims, sign_hs256};
use omni_shared::host::{Host, NativeHost};
use omni_shared::ids::{CustomerId, StoreId};
use omni_shared::notify::webhook;
use omni_shared::notify::{OutboundResponse, outbound::RecordingOutbound};
use omni_shared::stock::{self, Basket, BasketLineRow, HoldTtl, ReservationRequest};
use omni_shared::testing::{
    self, TestHost, assert_openapi_matches_routes, body_json, customer, header, ops, status,
    store_device,
};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};

const DEMO_ITEMS: &str = include_str!("../../../infra/demo/items.json");
const DEMO_STORES: &str = include_str!("../../../infra/demo/stores.json");
const DEMO_PRICES: &str = include_str!("../../../infra/demo/prices.json");
const OPENAPI: &str = include_str!("../openapi.yaml");

/// RFC 8291's example keys: the application server's as the VAPID key, the
/// user agent's as a subscriber's.
const VAPID_KEY: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
const UA_PUBLIC: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const UA_AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
const PUSH_ENDPOINT: &str = "https://push.example.net/wpush/v2/abc";
const HOOK_URL: &str = "https://gateway.example/hooks";
const HOOK_SECRET: &str = "webhook-secret-of-at-least-32-bytes!";

/// The demo retailer with stock at WAW-01 and WAW-02.
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
        for sku in ["TEE-ORG-BLK-M", "DRS-LIN-NAV-S"] {
            sql.execute(
                "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at) VALUES (?1, ?2, 10, 0, 1, 'x')",
                &[store.into(), sku.into()],
            )
            .unwrap();
        }
    }
    t
}

/// The host of one request at `at`, with Web Push and the webhook on.
fn host_at(t: &TestHost, at: DateTime<Utc>) -> NativeHost {
    let host = t
        .host
        .another_request()
        .with_variable("vapid_private_key", VAPID_KEY)
        .with_variable("vapid_subject", "mailto:push@retailer.example")
        .with_variable("notification_webhook_url", HOOK_URL)
        .with_variable("notification_webhook_secret", HOOK_SECRET);
    host.fixed_clock().set(at);
    host
}

fn token_at(caller: &Caller, at: DateTime<Utc>) -> String {
    let claims = Claims::for_caller(
        caller,
        testing::ISSUER,
        testing::AUDIENCE,
        at,
        Duration::hours(1),
    )
    .unwrap();
    sign_hs256(&claims, testing::JWT_SECRET.as_bytes())
}

fn build(
    method: Method,
    path: &str,
    caller: Option<&Caller>,
    body: Option<&Value>,
    at: DateTime<Utc>,
) -> Request {
    let mut builder = Request::builder();
    builder.method(method).uri(path);
    if let Some(caller) = caller {
        builder.header("authorization", format!("Bearer {}", token_at(caller, at)));
    }
    if let Some(body) = body {
        builder
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    builder.build()
}

fn send_at(
    t: &TestHost,
    at: DateTime<Utc>,
    method: Method,
    path: &str,
    caller: Option<&Caller>,
    body: Option<Value>,
) -> Response {
    handle(
        build(method, path, caller, body.as_ref(), at),
        &host_at(t, at),
    )
}

fn send(
    t: &TestHost,
    method: Method,
    path: &str,
    caller: Option<&Caller>,
    body: Option<Value>,
) -> Response {
    send_at(t, TestHost::start(), method, path, caller, body)
}

/// What the instance does after a write: deliver through `outbound`.
fn follow_up(t: &TestHost, at: DateTime<Utc>, kind: FollowUp, outbound: &RecordingOutbound) {
    kind.run(&host_at(t, at), outbound);
}

fn for_order(id: &str) -> FollowUp {
    FollowUp::Order(id.to_owned())
}

fn reserve(t: &TestHost, who: &str, store: &str, sku: &str) -> String {
    let request = ReservationRequest {
        store: StoreId::parse(store).unwrap(),
        customer: CustomerId::parse(who).unwrap(),
        basket: Basket::parse(&[BasketLineRow {
            sku: sku.into(),
            quantity: json!(1),
        }])
        .unwrap(),
        hold: HoldTtl::DEFAULT,
        requested_by: format!("customer:{who}"),
    };
    stock::reserve(t.host.sql().unwrap(), &request, TestHost::start())
        .unwrap()
        .id
        .to_string()
}

fn place(t: &TestHost, who: &str) -> Value {
    let reservation = reserve(t, who, "WAW-01", "TEE-ORG-BLK-M");
    let response = send(
        t,
        Method::Post,
        "/api/orders",
        Some(&customer(who)),
        Some(
            json!({"fulfilment": "click_and_collect", "reservation_id": reservation, "locale": "en"}),
        ),
    );
    assert_eq!(status(&response), 201, "{}", body_json(&response));
    body_json(&response)
}

fn move_to(t: &TestHost, at: DateTime<Utc>, order: &str, who: &Caller, to: &str) -> Response {
    send_at(
        t,
        at,
        Method::Post,
        &format!("/api/orders/{order}/transitions"),
        Some(who),
        Some(json!({"status": to})),
    )
}

fn ready(t: &TestHost, order: &str) {
    for to in ["accepted", "picking", "ready_for_pickup"] {
        let response = move_to(t, TestHost::start(), order, &store_device("WAW-01"), to);
        assert_eq!(status(&response), 200, "{to}: {}", body_json(&response));
    }
}

fn subscribe(t: &TestHost, who: &str, endpoint: &str) -> Response {
    send(
        t,
        Method::Post,
        "/api/notifications/push-subscriptions",
        Some(&customer(who)),
        Some(
            json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": UA_PUBLIC, "auth": UA_AUTH}}),
        ),
    )
}

fn outbox(t: &TestHost, order: &str) -> Vec<Value> {
    let response = send(
        t,
        Method::Get,
        &format!("/api/notifications/outbox?order_id={order}"),
        Some(&ops()),
        None,
    );
    assert_eq!(status(&response), 200, "{}", body_json(&response));
    body_json(&response)["entries"].as_array().unwrap().clone()
}

fn shelf(t: &TestHost, store: &str, sku: &str) -> (i64, i64) {
    let rows = t
        .host
        .sql()
        .unwrap()
        .execute(
            "SELECT on_hand, reserved FROM stock WHERE store = ?1 AND sku = ?2",
            &[store.into(), sku.into()],
        )
        .unwrap();
    let row = rows.first().unwrap();
    (
        row.integer("on_hand").unwrap(),
        row.integer("reserved").unwrap(),
    )
}

fn problem(response: &Response, expected: u16, slug: &str) -> Value {
    let body = body_json(response);
    assert_eq!(status(response), expected, "{body}");
    assert_eq!(
        header(response, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        body["type"],
        format!("urn:omnichannel-edge:problem:{slug}"),
        "{body}"
    );
    body
}

#[test]
fn health_names_the_component_and_version() {
    let t = TestHost::new();
    let response = send(&t, Method::Get, "/api/orders/health", None, None);
    assert_eq!(status(&response), 200);
    assert_eq!(body_json(&response)["component"], "pickups");
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    assert_openapi_matches_routes(ROUTES, OPENAPI);
}

#[test]
fn golden_path_from_order_to_picked_up_tells_the_customer_when_it_is_ready() {
    let t = seeded();
    assert_eq!(status(&subscribe(&t, "C-1", PUSH_ENDPOINT)), 201);
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    assert_eq!(order["status"], "placed");
    assert_eq!(
        order["total_paid"],
        json!({"amount": "59.99", "currency": "PLN"})
    );
    assert_eq!(
        order["allowed_next"],
        json!(["cancelled"]),
        "a customer may only cancel"
    );
    assert_eq!(shelf(&t, "WAW-01", "TEE-ORG-BLK-M"), (10, 1));

    let outbound = RecordingOutbound::answering(201);
    follow_up(&t, TestHost::start(), for_order(id), &outbound);
    assert_eq!(outbound.sent().len(), 2, "placed: one push, one webhook");

    ready(&t, id);
    follow_up(&t, TestHost::start(), for_order(id), &outbound);
    let sent = outbound.sent();
    assert_eq!(
        sent.len(),
        4,
        "accepted and picking notify nobody; ready notifies push and gateway"
    );
    let push = &sent[2];
    assert_eq!(push.url, PUSH_ENDPOINT);
    assert_eq!(push.header("content-encoding"), Some("aes128gcm"));
    assert_eq!(push.header("urgency"), Some("high"));
    assert!(
        push.header("authorization")
            .unwrap()
            .starts_with("vapid t=")
    );
    let hook = &sent[3];
    let timestamp: i64 = hook.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!(webhook::verify(
        HOOK_SECRET.as_bytes(),
        timestamp,
        &hook.body,
        hook.header("webhook-signature").unwrap()
    ));
    let hook_body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(hook_body["event"], "ready_for_pickup");
    assert_eq!(
        hook_body["message"]["title"],
        format!("Your order {id} is ready for pickup")
    );

    let code = send(
        &t,
        Method::Get,
        &format!("/api/orders/{id}/pickup-code"),
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(status(&code), 200, "{}", body_json(&code));
    let code = body_json(&code);
    assert!(code["qr_svg"].as_str().unwrap().contains("<svg"));
    let scan = json!({"code": code["code"], "channel": "kiosk"});
    let collected = send(
        &t,
        Method::Post,
        "/api/orders/pickup-handovers",
        Some(&store_device("WAW-01")),
        Some(scan.clone()),
    );
    assert_eq!(status(&collected), 200, "{}", body_json(&collected));
    assert_eq!(body_json(&collected)["status"], "picked_up");
    assert_eq!(
        shelf(&t, "WAW-01", "TEE-ORG-BLK-M"),
        (9, 0),
        "the goods left the shelf count"
    );

    let again = send(
        &t,
        Method::Post,
        "/api/orders/pickup-handovers",
        Some(&store_device("WAW-01")),
        Some(scan),
    );
    let body = problem(&again, 409, "already-collected");
    assert_eq!(body["collected_store_id"], "WAW-01");
    assert!(body["collected_at"].is_string());

    let history = send(
        &t,
        Method::Get,
        &format!("/api/orders/{id}/history"),
        Some(&customer("C-1")),
        None,
    );
    let history = body_json(&history)["history"].as_array().unwrap().clone();
    let statuses: Vec<&str> = history.iter().map(|h| h["to"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "placed",
            "accepted",
            "picking",
            "ready_for_pickup",
            "picked_up"
        ]
    );
    assert_eq!(history[4]["channel"], "kiosk");
    assert!(
        history[4].get("actor_id").is_none(),
        "customers do not see device names"
    );
    let staff = send(
        &t,
        Method::Get,
        &format!("/api/orders/{id}/history"),
        Some(&ops()),
        None,
    );
    assert_eq!(
        body_json(&staff)["history"][4]["actor_id"],
        "store:WAW-01:till-1"
    );
}

#[test]
fn bad_input_is_a_problem_that_changes_nothing_and_sends_nothing() {
    let t = seeded();
    subscribe(&t, "C-1", PUSH_ENDPOINT);
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    let outbound = RecordingOutbound::answering(201);
    follow_up(&t, TestHost::start(), for_order(id), &outbound);
    let queued_before = outbox(&t, id).len();

    let cases: Vec<(Response, u16, &str)> = vec![
        (
            send(
                &t,
                Method::Get,
                "/api/orders/ORD-0000000000000000",
                Some(&ops()),
                None,
            ),
            404,
            "not-found",
        ),
        (
            move_to(
                &t,
                TestHost::start(),
                "ORD-0000000000000000",
                &ops(),
                "accepted",
            ),
            404,
            "not-found",
        ),
        (
            send(
                &t,
                Method::Get,
                &format!("/api/orders/{id}"),
                Some(&customer("C-2")),
                None,
            ),
            404,
            "not-found",
        ),
        (
            move_to(
                &t,
                TestHost::start(),
                id,
                &store_device("WAW-01"),
                "picked_up",
            ),
            409,
            "illegal-transition",
        ),
        (
            move_to(
                &t,
                TestHost::start(),
                id,
                &store_device("WAW-02"),
                "accepted",
            ),
            403,
            "wrong-store",
        ),
        (
            move_to(&t, TestHost::start(), id, &customer("C-1"), "accepted"),
            403,
            "transition-not-allowed",
        ),
        (
            move_to(
                &t,
                TestHost::start(),
                id,
                &store_device("WAW-01"),
                "teleported",
            ),
            422,
            "invalid-body",
        ),
        (
            send(
                &t,
                Method::Post,
                "/api/orders/pickup-handovers",
                Some(&store_device("WAW-01")),
                Some(json!({"code": "forged"})),
            ),
            403,
            "pickup-code-invalid",
        ),
        (
            handle(
                {
                    let mut b = Request::builder();
                    b.method(Method::Post)
                        .uri(format!("/api/orders/{id}/transitions"))
                        .header(
                            "authorization",
                            format!(
                                "Bearer {}",
                                token_at(&store_device("WAW-01"), TestHost::start())
                            ),
                        )
                        .header("content-type", "application/json")
                        .body("{\"status\": ");
                    b.build()
                },
                &host_at(&t, TestHost::start()),
            ),
            400,
            "malformed-json",
        ),
        (
            send(
                &t,
                Method::Post,
                &format!("/api/orders/{id}/transitions"),
                Some(&store_device("WAW-01")),
                Some(json!({"status": "accepted", "colour": "red"})),
            ),
            422,
            "invalid-body",
        ),
        (
            send(
                &t,
                Method::Post,
                "/api/notifications/push-subscriptions",
                Some(&customer("C-1")),
                Some(
                    json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "AAAA", "auth": UA_AUTH}}),
                ),
            ),
            422,
            "invalid-push-subscription",
        ),
        (
            send(
                &t,
                Method::Post,
                "/api/notifications/push-subscriptions",
                Some(&customer("C-1")),
                Some(
                    json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": UA_PUBLIC, "auth": "AAAAAAAA"}}),
                ),
            ),
            422,
            "invalid-push-subscription",
        ),
        (
            subscribe(&t, "C-1", "http://push.example.net/plain"),
            422,
            "invalid-push-subscription",
        ),
        (
            send(
                &t,
                Method::Post,
                "/api/orders/sweep",
                Some(&customer("C-1")),
                None,
            ),
            403,
            "forbidden",
        ),
        (
            send(
                &t,
                Method::Get,
                "/api/notifications/outbox",
                Some(&store_device("WAW-01")),
                None,
            ),
            403,
            "forbidden",
        ),
        (
            send(
                &t,
                Method::Get,
                &format!("/api/orders/{id}/pickup-code"),
                Some(&customer("C-1")),
                None,
            ),
            409,
            "not-ready-for-pickup",
        ),
        (
            send(
                &t,
                Method::Get,
                &format!("/api/orders/{id}/pickup-code"),
                Some(&store_device("WAW-01")),
                None,
            ),
            403,
            "forbidden",
        ),
        (
            send(&t, Method::Get, &format!("/api/orders/{id}"), None, None),
            401,
            "unauthorized",
        ),
    ];
    for (response, expected, slug) in &cases {
        problem(response, *expected, slug);
    }
    let illegal = body_json(&cases[3].0);
    assert_eq!(illegal["allowed_next"], json!(["accepted", "cancelled"]));
    assert_eq!(illegal["current"], "placed");

    let stored = send(
        &t,
        Method::Get,
        &format!("/api/orders/{id}"),
        Some(&ops()),
        None,
    );
    assert_eq!(body_json(&stored)["version"], 1, "nothing changed");
    assert_eq!(outbox(&t, id).len(), queued_before, "nothing queued");
    follow_up(&t, TestHost::start(), for_order(id), &outbound);
    assert_eq!(
        outbound.sent().len(),
        2,
        "nothing sent beyond the placed notices"
    );
    let subscriptions = send(
        &t,
        Method::Get,
        "/api/notifications/push-subscriptions",
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(
        body_json(&subscriptions)["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_failed_push_is_retried_by_the_sweep_with_backoff_and_delivered_once() {
    let t = seeded();
    subscribe(&t, "C-1", PUSH_ENDPOINT);
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    let down = RecordingOutbound::down();
    follow_up(&t, TestHost::start(), for_order(id), &down);
    assert_eq!(down.sent().len(), 2);
    let pending: Vec<Value> = outbox(&t, id);
    assert!(
        pending
            .iter()
            .all(|e| e["state"] == "pending" && e["attempts"] == 1),
        "{pending:?}"
    );

    let soon = TestHost::start() + Duration::seconds(10);
    let sweep = send_at(
        &t,
        soon,
        Method::Post,
        "/api/orders/sweep",
        Some(&ops()),
        None,
    );
    assert_eq!(body_json(&sweep)["notifications_due"], 0, "backing off");
    let later = TestHost::start() + Duration::seconds(31);
    let sweep = send_at(
        &t,
        later,
        Method::Post,
        "/api/orders/sweep",
        Some(&ops()),
        None,
    );
    assert_eq!(status(&sweep), 200);
    assert_eq!(body_json(&sweep)["notifications_due"], 2);
    let up = RecordingOutbound::answering(201);
    follow_up(&t, later, FollowUp::Sweep, &up);
    follow_up(&t, later + Duration::hours(1), FollowUp::Sweep, &up);
    assert_eq!(up.sent().len(), 2, "each dedupe key delivered exactly once");
    assert!(
        outbox(&t, id)
            .iter()
            .all(|e| e["state"] == "delivered" && e["attempts"] == 2)
    );
}

#[test]
fn a_push_service_saying_gone_removes_the_subscription() {
    let t = seeded();
    subscribe(&t, "C-1", PUSH_ENDPOINT);
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    let gone = RecordingOutbound::answering(200).then(Ok(OutboundResponse { status: 410 }));
    follow_up(&t, TestHost::start(), for_order(id), &gone);
    let subscriptions = send(
        &t,
        Method::Get,
        "/api/notifications/push-subscriptions",
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(body_json(&subscriptions)["subscriptions"], json!([]));
}

#[test]
fn the_sweep_alerts_the_store_before_the_sla_is_missed_and_twice_does_nothing_twice() {
    let t = seeded();
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    // WAW-01 promises 120 minutes: at 80 % (96 minutes) the order is at risk.
    let risk = TestHost::start() + Duration::minutes(96);
    let first = send_at(
        &t,
        risk,
        Method::Post,
        "/api/orders/sweep",
        Some(&ops()),
        None,
    );
    assert_eq!(body_json(&first)["at_risk"], 1);
    let second = send_at(
        &t,
        risk,
        Method::Post,
        "/api/orders/sweep",
        Some(&ops()),
        None,
    );
    assert_eq!(
        (
            body_json(&second)["at_risk"].clone(),
            body_json(&second)["breached"].clone()
        ),
        (json!(0), json!(0))
    );
    let alerts: Vec<Value> = outbox(&t, id)
        .into_iter()
        .filter(|e| e["event"] == "sla_at_risk")
        .collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["payload"]["audience"], "store");
    assert_eq!(alerts[0]["payload"]["store_id"], "WAW-01");
    let listed = send_at(
        &t,
        risk,
        Method::Get,
        "/api/orders?at_risk=true",
        Some(&store_device("WAW-01")),
        None,
    );
    assert_eq!(body_json(&listed)["orders"][0]["sla"]["state"], "at_risk");
    let due = TestHost::start() + Duration::minutes(120);
    assert_eq!(
        body_json(&send_at(
            &t,
            due,
            Method::Post,
            "/api/orders/sweep",
            Some(&ops()),
            None
        ))["breached"],
        1
    );
    let report = send_at(
        &t,
        due,
        Method::Get,
        "/api/orders/sla",
        Some(&store_device("WAW-01")),
        None,
    );
    let stores = body_json(&report)["stores"].clone();
    assert_eq!(stores[0]["missed"], 1);
    assert_eq!(stores[0]["hit_rate"], "0");
    let other = send_at(
        &t,
        due,
        Method::Get,
        "/api/orders/sla?store_id=WAW-02",
        Some(&store_device("WAW-01")),
        None,
    );
    problem(&other, 403, "wrong-store");
}

#[test]
fn an_uncollected_order_expires_its_code_and_returns_its_stock() {
    let t = seeded();
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    ready(&t, id);
    let code = body_json(&send(
        &t,
        Method::Get,
        &format!("/api/orders/{id}/pickup-code"),
        Some(&customer("C-1")),
        None,
    ));
    let week = TestHost::start() + Duration::days(7);
    let scan = send_at(
        &t,
        week,
        Method::Post,
        "/api/orders/pickup-handovers",
        Some(&store_device("WAW-01")),
        Some(json!({"code": code["code"]})),
    );
    problem(&scan, 410, "pickup-code-expired");
    assert_eq!(shelf(&t, "WAW-01", "TEE-ORG-BLK-M"), (10, 1));
    let sweep = send_at(
        &t,
        week,
        Method::Post,
        "/api/orders/sweep",
        Some(&ops()),
        None,
    );
    assert_eq!(body_json(&sweep)["expired"], 1);
    assert_eq!(
        shelf(&t, "WAW-01", "TEE-ORG-BLK-M"),
        (10, 0),
        "back on sale"
    );
    let again = send_at(
        &t,
        week,
        Method::Post,
        "/api/orders/sweep",
        Some(&ops()),
        None,
    );
    assert_eq!(body_json(&again)["expired"], 0);
    let stored = send_at(
        &t,
        week,
        Method::Get,
        &format!("/api/orders/{id}"),
        Some(&customer("C-1")),
        None,
    );
    assert_eq!(body_json(&stored)["status"], "expired");
    assert_eq!(body_json(&stored)["status_label"], "Not collected");
}

#[test]
fn a_customer_may_cancel_until_picking_starts() {
    let t = seeded();
    let first = place(&t, "C-1");
    let id = first["order_id"].as_str().unwrap();
    let cancelled = move_to(&t, TestHost::start(), id, &customer("C-1"), "cancelled");
    assert_eq!(status(&cancelled), 200, "{}", body_json(&cancelled));
    assert_eq!(shelf(&t, "WAW-01", "TEE-ORG-BLK-M"), (10, 0));
    let second = place(&t, "C-1");
    let id = second["order_id"].as_str().unwrap();
    for to in ["accepted", "picking"] {
        assert_eq!(
            status(&move_to(
                &t,
                TestHost::start(),
                id,
                &store_device("WAW-01"),
                to
            )),
            200
        );
    }
    let refused = move_to(&t, TestHost::start(), id, &customer("C-1"), "cancelled");
    let body = problem(&refused, 403, "transition-not-allowed");
    assert_eq!(body["allowed_next"], json!([]));
}

#[test]
fn a_stale_if_match_is_412_and_a_current_one_moves_the_order() {
    let t = seeded();
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap();
    let with_tag = |tag: &str| {
        let mut b = Request::builder();
        b.method(Method::Post)
            .uri(format!("/api/orders/{id}/transitions"))
            .header(
                "authorization",
                format!(
                    "Bearer {}",
                    token_at(&store_device("WAW-01"), TestHost::start())
                ),
            )
            .header("content-type", "application/json")
            .header("if-match", tag)
            .body(json!({"status": "accepted"}).to_string());
        handle(b.build(), &host_at(&t, TestHost::start()))
    };
    problem(&with_tag("\"v7\""), 412, "precondition-failed");
    let moved = with_tag("\"v1\"");
    assert_eq!(status(&moved), 200);
    assert_eq!(header(&moved, "etag"), Some("\"v2\""));
}

#[test]
fn placing_with_the_same_idempotency_key_returns_the_same_order() {
    let t = seeded();
    let reservation = reserve(&t, "C-1", "WAW-01", "TEE-ORG-BLK-M");
    let body = json!({"fulfilment": "click_and_collect", "reservation_id": reservation});
    let post = || {
        let mut b = Request::builder();
        b.method(Method::Post)
            .uri("/api/orders")
            .header(
                "authorization",
                format!("Bearer {}", token_at(&customer("C-1"), TestHost::start())),
            )
            .header("content-type", "application/json")
            .header("idempotency-key", "order-attempt-1")
            .body(body.to_string());
        handle(b.build(), &host_at(&t, TestHost::start()))
    };
    let first = post();
    let second = post();
    assert_eq!(status(&first), 201, "{}", body_json(&first));
    assert_eq!(status(&second), 201);
    assert_eq!(
        body_json(&first)["order_id"],
        body_json(&second)["order_id"]
    );
    assert_eq!(header(&second, "idempotent-replayed"), Some("true"));
    let listed = send(&t, Method::Get, "/api/orders", Some(&customer("C-1")), None);
    assert_eq!(body_json(&listed)["orders"].as_array().unwrap().len(), 1);
}

#[test]
fn two_scans_at_once_hand_the_order_over_exactly_once() {
    let t = seeded();
    let order = place(&t, "C-1");
    let id = order["order_id"].as_str().unwrap().to_owned();
    ready(&t, &id);
    let code = body_json(&send(
        &t,
        Method::Get,
        &format!("/api/orders/{id}/pickup-code"),
        Some(&customer("C-1")),
        None,
    ))["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = t.dir.path().to_owned();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (dir, code) = (dir.clone(), code.clone());
                scope.spawn(move || {
                    let host = NativeHost::new(&dir, TestHost::start())
                        .with_variable("jwt_issuer", testing::ISSUER)
                        .with_variable("jwt_audience", testing::AUDIENCE)
                        .with_variable("jwt_hs256_secret", testing::JWT_SECRET)
                        .with_variable("code_signing_secret", testing::CODE_SECRET);
                    let req = build(
                        Method::Post,
                        "/api/orders/pickup-handovers",
                        Some(&store_device("WAW-01")),
                        Some(&json!({"code": code})),
                        TestHost::start(),
                    );
                    status(&handle(req, &host))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409, 409, 409], "{statuses:?}");
    assert_eq!(shelf(&t, "WAW-01", "TEE-ORG-BLK-M"), (9, 0));
}

#[test]
fn ship_from_store_carries_its_tracking_link_to_every_channel() {
    let t = seeded();
    let placed = send(
        &t,
        Method::Post,
        "/api/orders",
        Some(&customer("C-1")),
        Some(json!({
            "fulfilment": "ship_from_store",
            "store_id": "WAW-02",
            "lines": [{"sku": "DRS-LIN-NAV-S", "quantity": 2}],
            "delivery_address": {"name": "Anna Nowak", "street": "Polna 1", "city": "Kraków", "postal_code": "30-001", "country": "PL"},
            "locale": "pl"
        })),
    );
    assert_eq!(status(&placed), 201, "{}", body_json(&placed));
    let id = body_json(&placed)["order_id"].as_str().unwrap().to_owned();
    for to in ["accepted", "picking"] {
        assert_eq!(
            status(&move_to(
                &t,
                TestHost::start(),
                &id,
                &store_device("WAW-02"),
                to
            )),
            200
        );
    }
    let missing = move_to(
        &t,
        TestHost::start(),
        &id,
        &store_device("WAW-02"),
        "shipped",
    );
    problem(&missing, 422, "invalid-body");
    let shipped = send(
        &t,
        Method::Post,
        &format!("/api/orders/{id}/transitions"),
        Some(&store_device("WAW-02")),
        Some(
            json!({"status": "shipped", "tracking": {"carrier": "InPost", "url": "https://inpost.example/t/123"}}),
        ),
    );
    assert_eq!(status(&shipped), 200, "{}", body_json(&shipped));
    assert_eq!(body_json(&shipped)["status_label"], "Wysłane");
    let hook = outbox(&t, &id)
        .into_iter()
        .find(|e| e["event"] == "shipped" && e["channel"] == "webhook")
        .unwrap();
    assert!(
        hook["payload"]["message"]["body"]
            .as_str()
            .unwrap()
            .contains("https://inpost.example/t/123")
    );
    assert_eq!(
        hook["payload"]["data"]["tracking_url"],
        "https://inpost.example/t/123"
    );
    let delivered = move_to(
        &t,
        TestHost::start(),
        &id,
        &store_device("WAW-02"),
        "delivered",
    );
    problem(&delivered, 403, "transition-not-allowed");
    assert_eq!(
        status(&move_to(&t, TestHost::start(), &id, &ops(), "delivered")),
        200
    );
}

#[test]
fn preferences_are_respected_and_versioned() {
    let t = seeded();
    let me = customer("C-1");
    let defaults = send(
        &t,
        Method::Get,
        "/api/notifications/preferences",
        Some(&me),
        None,
    );
    assert_eq!(header(&defaults, "etag"), Some("\"v0\""));
    assert_eq!(
        body_json(&defaults)["channels"],
        json!({"push": true, "email": true, "sms": false})
    );
    let choice = json!({"locale": "pl", "channels": {"push": false, "email": false, "sms": false}, "marketing_consent": false});
    let saved = send(
        &t,
        Method::Put,
        "/api/notifications/preferences",
        Some(&me),
        Some(choice.clone()),
    );
    assert_eq!(status(&saved), 200, "{}", body_json(&saved));
    assert_eq!(header(&saved, "etag"), Some("\"v1\""));
    subscribe(&t, "C-1", PUSH_ENDPOINT);
    let order = place(&t, "C-1");
    assert!(
        outbox(&t, order["order_id"].as_str().unwrap()).is_empty(),
        "every channel off: nothing queued"
    );
    let bad = send(
        &t,
        Method::Put,
        "/api/notifications/preferences",
        Some(&me),
        Some(json!({"channels": {"push": true}, "marketing_consent": false})),
    );
    problem(&bad, 422, "invalid-body");
}

#[test]
fn the_vapid_public_key_is_served_when_web_push_is_configured() {
    let t = TestHost::new();
    let response = send(
        &t,
        Method::Get,
        "/api/notifications/vapid-public-key",
        None,
        None,
    );
    assert_eq!(status(&response), 200);
    assert_eq!(
        body_json(&response)["public_key"],
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
    );
    let plain = handle(
        build(
            Method::Get,
            "/api/notifications/vapid-public-key",
            None,
            None,
            TestHost::start(),
        ),
        &t.host.another_request(),
    );
    problem(&plain, 404, "web-push-disabled");
}

#[test]
fn follow_ups_run_only_after_successful_posts_under_orders() {
    let answer = |status: u16, body: Value| {
        let mut response = Response::new(status, body.to_string());
        response.set_header("content-type", "application/json");
        response
    };
    let order = answer(
        200,
        json!({"order_id": "ORD-1", "status": "ready_for_pickup"}),
    );
    assert_eq!(
        FollowUp::after(&Method::Post, "/api/orders", &order),
        for_order("ORD-1")
    );
    assert_eq!(
        FollowUp::after(&Method::Post, "/api/orders/ORD-1/transitions", &order),
        for_order("ORD-1")
    );
    assert_eq!(
        FollowUp::after(&Method::Post, "/api/orders/pickup-handovers", &order),
        for_order("ORD-1")
    );
    assert_eq!(
        FollowUp::after(&Method::Post, "/api/orders/sweep", &answer(200, json!({}))),
        FollowUp::Sweep
    );
    let refused = answer(
        409,
        json!({"type": "urn:omnichannel-edge:problem:illegal-transition"}),
    );
    assert_eq!(
        FollowUp::after(&Method::Post, "/api/orders/ORD-1/transitions", &refused),
        FollowUp::Nothing
    );
    assert_eq!(
        FollowUp::after(&Method::Get, "/api/orders/ORD-1", &order),
        FollowUp::Nothing
    );
    let subscribed = answer(201, json!({"subscription_id": "psub_1"}));
    assert_eq!(
        FollowUp::after(
            &Method::Post,
            "/api/notifications/push-subscriptions",
            &subscribed
        ),
        FollowUp::Nothing
    );
}

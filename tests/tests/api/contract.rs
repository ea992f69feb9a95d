//! The HTTP contract every component keeps (issue 14): a presented token
//! that fails verification is 401 on every route, public reads included;
//! a browser may send every header the API documents; a body of another
//! JSON shape than the documented object is a 4xx that changes nothing.

use blackbox_tests::openapi::COMPONENTS;
use blackbox_tests::{customer, seeded_app, token, token_at, workspace_root};
use chrono::{Duration, Utc};
use omni_shared::auth::{Audience, Claims, sign_hs256};
use omni_shared::testing;
use serde_json::{Value, json};

/// Three tokens that must each be refused: expired, tampered, and meant for
/// another audience.
fn broken_tokens() -> Vec<(&'static str, String)> {
    let expired = token_at(
        &customer("C-1"),
        Utc::now() - Duration::hours(3),
        Duration::hours(1),
    );
    let good = token(&customer("C-1"));
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let mut claims = Claims::for_caller(
        &customer("C-1"),
        testing::ISSUER,
        testing::AUDIENCE,
        Utc::now(),
        Duration::hours(1),
    )
    .unwrap();
    claims.aud = Audience::One("someone-else".into());
    let foreign = sign_hs256(&claims, testing::JWT_SECRET.as_bytes());
    vec![
        ("expired", expired),
        ("tampered", String::from_utf8(tampered).unwrap()),
        ("wrong audience", foreign),
    ]
}

#[test]
fn a_presented_token_that_fails_verification_is_401_on_every_public_route() {
    let app = seeded_app();
    let public: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/api/catalog/health", None),
        ("GET", "/api/catalog/items", None),
        ("GET", "/api/catalog/items/TEE-ORG-BLK-M", None),
        ("GET", "/api/catalog/stores", None),
        ("GET", "/api/catalog/stores/WAW-01", None),
        (
            "GET",
            "/api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.23&lon=21.01",
            None,
        ),
        (
            "POST",
            "/api/availability/basket",
            Some(json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]})),
        ),
        ("GET", "/api/return-policy", None),
        (
            "POST",
            "/api/coupons/validate",
            Some(
                json!({"channel": "web", "cart": {"currency": "PLN", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]}}),
            ),
        ),
        ("POST", "/api/carts", Some(json!({"channel": "web"}))),
    ];
    for (method, path, body) in &public {
        let bytes = body.as_ref().map(|b| b.to_string().into_bytes());
        let anonymous = app.send(method, path, None, &[], bytes.as_deref());
        assert!(
            anonymous.status < 400,
            "{method} {path} answers anonymous callers: {}",
            anonymous.text()
        );
        for (kind, bad) in broken_tokens() {
            let reply = app.send(method, path, Some(&bad), &[], bytes.as_deref());
            reply.problem(401);
            assert!(
                reply
                    .header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Bearer")),
                "{method} {path} with an {kind} token challenges the client"
            );
        }
    }
}

/// Every header parameter any OpenAPI document defines.
fn documented_headers() -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    fn walk(value: &Value, names: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if map.get("in").and_then(Value::as_str) == Some("header")
                    && let Some(name) = map.get("name").and_then(Value::as_str)
                {
                    names.insert(name.to_ascii_lowercase());
                }
                map.values().for_each(|v| walk(v, names));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    for component in COMPONENTS {
        let path = workspace_root()
            .join("components")
            .join(component)
            .join("openapi.yaml");
        let doc: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // What a browser sends: the operations' headers (the `webhooks`
        // are calls the app makes to a gateway, not ones it receives).
        walk(&doc["paths"], &mut names);
        walk(&doc["components"], &mut names);
    }
    names.into_iter().collect()
}

#[test]
fn a_browser_on_an_allowed_origin_may_send_every_documented_header_and_read_the_useful_ones() {
    let app = seeded_app();
    let mut wanted = documented_headers();
    wanted.extend(["authorization".to_owned(), "content-type".to_owned()]);
    assert!(
        wanted.contains(&"x-cart-secret".to_owned()) && wanted.contains(&"prefer".to_owned()),
        "{wanted:?}"
    );
    let request_headers = wanted.join(", ");
    let preflight = app.send(
        "OPTIONS",
        "/api/carts/crt_1/lines",
        None,
        &[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", &request_headers),
        ],
        None,
    );
    assert_eq!(preflight.status, 204, "{}", preflight.text());
    let allowed: Vec<String> = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for header in &wanted {
        assert!(
            allowed.contains(header),
            "{header} is allowed cross-origin: {allowed:?}"
        );
    }
    assert!(
        preflight
            .header("access-control-max-age")
            .is_some_and(|age| age.parse::<u32>().unwrap() > 0)
    );
    let answer = app.send(
        "GET",
        "/api/return-policy",
        None,
        &[("origin", "https://shop.example")],
        None,
    );
    let exposed = answer
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for header in ["etag", "location", "retry-after"] {
        assert!(
            exposed.contains(header),
            "{header} is readable by a script: {exposed}"
        );
    }
    let foreign = app.send(
        "OPTIONS",
        "/api/carts",
        None,
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        None,
    );
    assert_eq!(foreign.status, 403);
    assert!(foreign.header("access-control-allow-origin").is_none());
}

/// A received return case, a placed order and a guest cart to aim the bad
/// bodies at, so that a body refused too late would have something to change.
struct Fixture {
    who: String,
    order: String,
    placed: String,
    case: String,
    cart: String,
    secret: String,
}

fn fixture(app: &blackbox_tests::TestApp) -> Fixture {
    use blackbox_tests::{ops, store_device, unique};
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).unwrap();
    assert_eq!(
        app.send(
            "POST",
            "/api/availability/feed",
            Some(&token(&ops())),
            &[],
            Some(&stock)
        )
        .status,
        200
    );
    let who = unique("C");
    let shopper = token(&customer(&who));
    let place = || {
        let held = app.post(
            "/api/reservations",
            Some(&shopper),
            &json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]}),
        );
        assert_eq!(held.status, 201, "{}", held.text());
        let body = json!({"fulfilment": "click_and_collect", "reservation_id": held.json()["reservation_id"], "channel": "app"});
        let placed = app.post("/api/orders", Some(&shopper), &body);
        assert_eq!(placed.status, 201, "{}", placed.text());
        placed.json()["order_id"].as_str().unwrap().to_owned()
    };
    let order = place();
    let till = token(&store_device("WAW-01"));
    for status in ["accepted", "picking", "ready_for_pickup"] {
        assert_eq!(
            app.post(
                &format!("/api/orders/{order}/transitions"),
                Some(&till),
                &json!({"status": status})
            )
            .status,
            200
        );
    }
    let code = app
        .get(&format!("/api/orders/{order}/pickup-code"), Some(&shopper))
        .json();
    assert_eq!(
        app.post(
            "/api/orders/pickup-handovers",
            Some(&till),
            &json!({"code": code["code"]})
        )
        .status,
        200
    );
    let rma = app.post("/api/returns", Some(&shopper), &json!({"order_id": order, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1, "reason": "too_small"}], "refund_method": "original_payment"}));
    assert_eq!(rma.status, 201, "{}", rma.text());
    let rma = rma.json();
    let received = app.post(
        "/api/returns/intakes",
        Some(&token(&store_device("WAW-02"))),
        &json!({"code": rma["return_code"]["code"]}),
    );
    assert_eq!(received.status, 200, "{}", received.text());
    let guest = app
        .post("/api/carts", None, &json!({"channel": "web"}))
        .json();
    Fixture {
        who,
        order,
        placed: place(),
        case: rma["case_number"].as_str().unwrap().to_owned(),
        cart: guest["cart_id"].as_str().unwrap().to_owned(),
        secret: guest["secret"].as_str().unwrap().to_owned(),
    }
}

/// What the bad bodies must not have changed.
fn snapshot(app: &blackbox_tests::TestApp, f: &Fixture) -> Value {
    use blackbox_tests::ops;
    let ops = token(&ops());
    json!({
        "case": app.get(&format!("/api/returns/{}", f.case), Some(&ops)).json()["status"],
        "order": app.get(&format!("/api/orders/{}", f.order), Some(&ops)).json()["version"],
        "placed": app.get(&format!("/api/orders/{}", f.placed), Some(&ops)).json()["version"],
        "cart": app.send("GET", &format!("/api/carts/{}", f.cart), None, &[("x-cart-secret", &f.secret)], None).json()["version"],
        "policy": app.get("/api/return-policy", None).header("etag").map(str::to_owned),
        "shelf": app.get("/api/stores/WAW-01/stock/TEE-ORG-BLK-M", Some(&ops)).json(),
        "promotions": app.get("/api/promotions", Some(&ops)).text().len(),
    })
}

#[test]
fn an_array_a_scalar_or_null_where_an_object_is_documented_is_a_4xx_on_every_json_operation_and_changes_nothing()
 {
    use blackbox_tests::{ops, store_device};
    let app = seeded_app();
    let f = fixture(&app);
    let before = snapshot(&app, &f);
    let callers = [
        None,
        Some(token(&customer(&f.who))),
        Some(token(&store_device("WAW-02"))),
        Some(token(&ops())),
    ];
    let bad: [&[u8]; 6] = [
        b"[]",
        b"[\"by array\", \"pos\"]",
        b"[[\"TEE-ORG-BLK-M\", 1]]",
        b"\"text\"",
        b"null",
        b"42",
    ];
    let mut tried = 0;
    for component in COMPONENTS {
        let path = workspace_root()
            .join("components")
            .join(component)
            .join("openapi.yaml");
        let doc: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (template, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if operation.get("requestBody").is_none() {
                    continue;
                }
                let concrete = template
                    .replace("{cart_id}", &f.cart)
                    .replace("{order_id}", &f.placed)
                    .replace("{case_number}", &f.case)
                    .replace("{store_id}", "WAW-02")
                    .replace("{sku}", "TEE-ORG-BLK-M")
                    .replace("{id}", "WELCOME10");
                for caller in &callers {
                    for body in bad {
                        let reply = app.send(
                            &method.to_ascii_uppercase(),
                            &concrete,
                            caller.as_deref(),
                            &[("x-cart-secret", &f.secret)],
                            Some(body),
                        );
                        tried += 1;
                        assert!(
                            (400..500).contains(&reply.status),
                            "{method} {concrete} with {}: {} {}",
                            String::from_utf8_lossy(body),
                            reply.status,
                            reply.text()
                        );
                        let detail = reply.json()["detail"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        for rust in ["struct ", "u32", "i64", "sequence", "Body"] {
                            assert!(
                                !detail.contains(rust),
                                "{method} {concrete}: {detail:?} leaks {rust:?}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(tried > 800, "{tried} requests");
    assert_eq!(snapshot(&app, &f), before, "no bad body changed anything");
}

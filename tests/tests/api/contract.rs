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
    let expired = token_at(&customer("C-1"), Utc::now() - Duration::hours(3), Duration::hours(1));
    let good = token(&customer("C-1"));
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let mut claims = Claims::for_caller(&customer("C-1"), testing::ISSUER, testing::AUDIENCE, Utc::now(), Duration::hours(1)).unwrap();
    claims.aud = Audience::One("someone-else".into());
    let foreign = sign_hs256(&claims, testing::JWT_SECRET.as_bytes());
    vec![("expired", expired), ("tampered", String::from_utf8(tampered).unwrap()), ("wrong audience", foreign)]
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
        ("GET", "/api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.23&lon=21.01", None),
        ("POST", "/api/availability/basket", Some(json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]}))),
        ("GET", "/api/return-policy", None),
        ("POST", "/api/coupons/validate", Some(json!({"channel": "web", "cart": {"currency": "PLN", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]}}))),
        ("POST", "/api/carts", Some(json!({"channel": "web"}))),
    ];
    for (method, path, body) in &public {
        let bytes = body.as_ref().map(|b| b.to_string().into_bytes());
        let anonymous = app.send(method, path, None, &[], bytes.as_deref());
        assert!(anonymous.status < 400, "{method} {path} answers anonymous callers: {}", anonymous.text());
        for (kind, bad) in broken_tokens() {
            let reply = app.send(method, path, Some(&bad), &[], bytes.as_deref());
            reply.problem(401);
            assert!(
                reply.header("www-authenticate").is_some_and(|c| c.starts_with("Bearer")),
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
        let path = workspace_root().join("components").join(component).join("openapi.yaml");
        let doc: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        walk(&doc, &mut names);
    }
    names.into_iter().collect()
}

#[test]
fn a_browser_on_an_allowed_origin_may_send_every_documented_header_and_read_the_useful_ones() {
    let app = seeded_app();
    let mut wanted = documented_headers();
    wanted.extend(["authorization".to_owned(), "content-type".to_owned()]);
    assert!(wanted.contains(&"x-cart-secret".to_owned()) && wanted.contains(&"prefer".to_owned()), "{wanted:?}");
    let request_headers = wanted.join(", ");
    let preflight = app.send(
        "OPTIONS",
        "/api/carts/crt_1/lines",
        None,
        &[("origin", "https://shop.example"), ("access-control-request-method", "POST"), ("access-control-request-headers", &request_headers)],
        None,
    );
    assert_eq!(preflight.status, 204, "{}", preflight.text());
    let allowed: Vec<String> =
        preflight.header("access-control-allow-headers").unwrap().split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
    for header in &wanted {
        assert!(allowed.contains(header), "{header} is allowed cross-origin: {allowed:?}");
    }
    assert!(preflight.header("access-control-max-age").is_some_and(|age| age.parse::<u32>().unwrap() > 0));
    let answer = app.send("GET", "/api/return-policy", None, &[("origin", "https://shop.example")], None);
    let exposed = answer.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    for header in ["etag", "location", "retry-after"] {
        assert!(exposed.contains(header), "{header} is readable by a script: {exposed}");
    }
    let foreign = app.send(
        "OPTIONS",
        "/api/carts",
        None,
        &[("origin", "https://evil.example"), ("access-control-request-method", "POST")],
        None,
    );
    assert_eq!(foreign.status, 403);
    assert!(foreign.header("access-control-allow-origin").is_none());
}

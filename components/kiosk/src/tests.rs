//! The kiosk component over HTTP, natively: the page's files and headers,
//! the identity code from issue to scan, who may call what, and the
//! OpenAPI document against the route table.

use crate::assets::{ASSETS, CONTENT_SECURITY_POLICY};
use crate::{ROUTES, handle};
use chrono::Duration;
use omni_shared::host::Host;
use omni_shared::promotions::{
    self, CustomerProfile, CustomerProfileRow, PromotionEntry, PromotionRow, PromotionStatus,
};
use omni_shared::testing::{
    TestHost, body_json, customer, header, json_request, ops, request, status, store_device,
};
use omni_shared::web::static_page::etag;
use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};

fn send(t: &TestHost, req: Request) -> Response {
    handle(req, &t.host.another_request())
}

fn get_page(t: &TestHost, path: &str, if_none_match: Option<&str>) -> Response {
    let mut builder = Request::builder();
    builder.method(Method::Get).uri(path);
    if let Some(tag) = if_none_match {
        builder.header("if-none-match", tag);
    }
    send(t, builder.build())
}

fn issue(t: &TestHost, who: &str) -> Value {
    let token = t.token(&customer(who));
    let response = send(
        t,
        request(Method::Post, "/api/identity/codes", Some(&token)),
    );
    assert_eq!(
        status(&response),
        200,
        "{}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    body_json(&response)
}

fn scan(t: &TestHost, store: &str, code: &str) -> Response {
    let token = t.token(&store_device(store));
    send(
        t,
        json_request(
            Method::Post,
            "/api/identity/lookups",
            &json!({ "code": code }),
            Some(&token),
        ),
    )
}

fn problem(response: &Response, expected: u16, slug: &str) {
    assert_eq!(
        status(response),
        expected,
        "{}",
        String::from_utf8_lossy(response.body())
    );
    let body = body_json(response);
    assert_eq!(
        body["type"],
        format!("urn:omnichannel-edge:problem:{slug}"),
        "{body}"
    );
}

#[test]
fn the_openapi_document_lists_exactly_the_served_api_routes() {
    omni_shared::testing::assert_openapi_matches_routes(ROUTES, include_str!("../openapi.yaml"));
}

#[test]
fn the_page_is_served_at_the_directory_with_a_strict_policy() {
    let t = TestHost::new();
    let response = get_page(&t, "/kiosk/", None);
    assert_eq!(status(&response), 200);
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header(&response, "content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&response, "cache-control"), Some("no-cache"));
    assert!(CONTENT_SECURITY_POLICY.contains("default-src 'self'"));
    assert!(
        !CONTENT_SECURITY_POLICY.contains("unsafe-inline")
            && !CONTENT_SECURITY_POLICY.contains("unsafe-eval")
    );
    let html = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(html.contains("<script src=\"kiosk.js\""), "{html}");
}

#[test]
fn the_bare_prefix_redirects_to_the_directory_keeping_the_query() {
    let t = TestHost::new();
    let response = get_page(&t, "/kiosk", None);
    assert_eq!(status(&response), 308);
    assert_eq!(header(&response, "location"), Some("/kiosk/"));
    let response = get_page(&t, "/kiosk?lang=pl", None);
    assert_eq!(header(&response, "location"), Some("/kiosk/?lang=pl"));
}

#[test]
fn every_file_has_its_content_type_and_a_content_etag_that_revalidates_to_304() {
    let t = TestHost::new();
    let expected = [
        ("kiosk.js", "text/javascript; charset=utf-8"),
        ("kiosk.css", "text/css; charset=utf-8"),
        ("strings-pl.json", "application/json; charset=utf-8"),
        ("strings-en.json", "application/json; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
        ("index.html", "text/html; charset=utf-8"),
    ];
    assert_eq!(
        expected.len(),
        ASSETS.len(),
        "every embedded file is checked here"
    );
    for (name, content_type) in expected {
        let response = get_page(&t, &format!("/kiosk/{name}"), None);
        assert_eq!(status(&response), 200, "{name}");
        assert_eq!(
            header(&response, "content-type"),
            Some(content_type),
            "{name}"
        );
        let asset = ASSETS.iter().find(|a| a.name == name).unwrap();
        assert_eq!(response.body(), asset.body, "{name}");
        let tag = header(&response, "etag").unwrap().to_owned();
        assert_eq!(tag, etag(asset.body));
        let again = get_page(&t, &format!("/kiosk/{name}"), Some(&tag));
        assert_eq!(status(&again), 304, "{name}");
        assert!(again.body().is_empty());
        let stale = get_page(&t, &format!("/kiosk/{name}"), Some("\"0000\""));
        assert_eq!(status(&stale), 200, "{name}");
    }
    let tags: std::collections::BTreeSet<String> = ASSETS.iter().map(|a| etag(a.body)).collect();
    assert_eq!(
        tags.len(),
        ASSETS.len(),
        "different files have different ETags"
    );
}

#[test]
fn unknown_files_are_404_and_writes_are_405_problems() {
    let t = TestHost::new();
    for path in [
        "/kiosk/nope.js",
        "/kiosk/../Cargo.toml",
        "/kiosk/assets/kiosk.js",
        "/kiosk//",
    ] {
        problem(&get_page(&t, path, None), 404, "not-found");
    }
    let response = send(&t, request(Method::Post, "/kiosk/", None));
    problem(&response, 405, "method-not-allowed");
    let head = send(&t, request(Method::Head, "/kiosk/kiosk.css", None));
    assert_eq!(status(&head), 200);
    assert!(head.body().is_empty());
}

#[test]
fn the_page_has_no_inline_script_style_or_outside_resource() {
    let html =
        std::str::from_utf8(ASSETS.iter().find(|a| a.name == "index.html").unwrap().body).unwrap();
    let lower = html.to_ascii_lowercase();
    for forbidden in [
        " on",
        "style=",
        "javascript:",
        "http://",
        "https://",
        "<style",
    ] {
        let found = match forbidden {
            // Event-handler attributes: ` onclick=`, ` onload=` and so on.
            " on" => lower.match_indices(" on").any(|(i, _)| {
                lower[i + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count()
                    > 0
                    && lower[i + 3..]
                        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                        .starts_with('=')
            }),
            other => lower.contains(other),
        };
        assert!(!found, "index.html contains {forbidden:?}");
    }
    assert_eq!(
        lower.matches("<script").count(),
        lower.matches("<script src=").count(),
        "every script is a file"
    );
    let js =
        std::str::from_utf8(ASSETS.iter().find(|a| a.name == "kiosk.js").unwrap().body).unwrap();
    assert!(
        !js.contains("innerHTML") && !js.contains("eval("),
        "the script never turns data into markup or code"
    );
    assert!(
        !js.contains("http://") && !js.contains("https://"),
        "the script fetches nothing from outside"
    );
}

/// Every key the page asks for exists in both languages, and both
/// languages have the same keys.
#[test]
fn polish_and_english_strings_cover_every_key_the_page_uses() {
    let strings = |name: &str| -> serde_json::Map<String, Value> {
        let body = ASSETS.iter().find(|a| a.name == name).unwrap().body;
        serde_json::from_slice::<Value>(body)
            .unwrap()
            .as_object()
            .unwrap()
            .clone()
    };
    let (pl, en) = (strings("strings-pl.json"), strings("strings-en.json"));
    let pl_keys: Vec<&String> = pl.keys().collect();
    let en_keys: Vec<&String> = en.keys().collect();
    assert_eq!(pl_keys, en_keys);
    for (key, value) in &pl {
        assert_ne!(
            Some(value),
            en.get(key).filter(|_| !key.starts_with("col.")
                && key != "problem.other"
                && !key.starts_with("return.status")
                && !key.starts_with("pickup.status")),
            "{key} is not translated"
        );
    }
    let js =
        std::str::from_utf8(ASSETS.iter().find(|a| a.name == "kiosk.js").unwrap().body).unwrap();
    let html =
        std::str::from_utf8(ASSETS.iter().find(|a| a.name == "index.html").unwrap().body).unwrap();
    let mut used = Vec::new();
    for (text, opener) in [
        (js, "t('"),
        (js, "clearButton('"),
        (js, "busy('"),
        (html, "data-i18n=\""),
    ] {
        // `split('-')` is not a string lookup: the opener must start a call.
        for (at, _) in text.match_indices(opener) {
            if text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let key: String = text[at + opener.len()..]
                .chars()
                .take_while(|c| *c != '\'' && *c != '"')
                .collect();
            used.push(key);
        }
    }
    assert!(used.len() > 40, "{used:?}");
    for key in used {
        assert!(
            en.contains_key(&key),
            "the page uses {key:?}, which has no string"
        );
    }
}

#[test]
fn a_customer_gets_a_five_minute_code_with_its_qr() {
    let t = TestHost::new();
    let body = issue(&t, "cust-ada");
    assert_eq!(body["customer_id"], "cust-ada");
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        expires.with_timezone(&chrono::Utc),
        t.now() + Duration::minutes(5)
    );
    let code = body["code"].as_str().unwrap();
    assert_eq!(
        omni_shared::identity::resolve(
            code,
            b"code-secret-that-is-at-least-32-bytes-long",
            t.now()
        )
        .unwrap()
        .as_str(),
        "cust-ada"
    );
}

#[test]
fn only_customers_get_codes_and_only_store_devices_scan_them() {
    let t = TestHost::new();
    let anonymous = send(&t, request(Method::Post, "/api/identity/codes", None));
    problem(&anonymous, 401, "unauthorized");
    for caller in [store_device("WAW-01"), ops()] {
        let token = t.token(&caller);
        problem(
            &send(
                &t,
                request(Method::Post, "/api/identity/codes", Some(&token)),
            ),
            403,
            "forbidden",
        );
    }
    let code = issue(&t, "cust-ada")["code"].as_str().unwrap().to_owned();
    for caller in [customer("cust-ada"), ops()] {
        let token = t.token(&caller);
        let response = send(
            &t,
            json_request(
                Method::Post,
                "/api/identity/lookups",
                &json!({ "code": code }),
                Some(&token),
            ),
        );
        problem(&response, 403, "forbidden");
    }
    let response = send(
        &t,
        json_request(
            Method::Post,
            "/api/identity/lookups",
            &json!({ "code": code }),
            None,
        ),
    );
    problem(&response, 401, "unauthorized");
}

#[test]
fn a_store_device_sees_the_customer_with_no_orders_and_the_coupons_they_qualify_for() {
    let t = TestHost::new();
    let sql = t.host.sql().unwrap();
    let row: CustomerProfileRow =
        serde_json::from_value(json!({ "customer_id": "cust-ada", "segments": ["offline-regular"], "loyalty_tier": "gold" })).unwrap();
    let profile = CustomerProfile::try_from(row).unwrap();
    promotions::upsert_profiles(sql, &[profile], t.now()).unwrap();
    let define = |row: Value| {
        let entry =
            PromotionEntry::try_from(serde_json::from_value::<PromotionRow>(row).unwrap()).unwrap();
        promotions::create_promotion(
            sql,
            &entry.promotion,
            PromotionStatus::Active,
            &entry.codes,
            "test",
            t.now(),
        )
        .unwrap();
    };
    let base = |id: &str, conditions: Value| {
        json!({ "id": id, "name": format!("{id} offer"), "time_zone": "Europe/Warsaw",
                "benefit": {"type": "percent_off", "percent": "10"}, "conditions": conditions })
    };
    define(base("GOLD10", json!({ "loyalty_tiers": ["gold"] })));
    define(base(
        "REGULARS",
        json!({ "segments": ["offline-regular"], "channels": ["pos", "app"] }),
    ));
    define(base("SILVER5", json!({ "loyalty_tiers": ["silver"] })));
    define(base("APPONLY", json!({ "channels": ["app"] })));
    define(base("EVERYONE", json!({})));

    let code = issue(&t, "cust-ada")["code"].as_str().unwrap().to_owned();
    let response = scan(&t, "WAW-01", &code);
    assert_eq!(
        status(&response),
        200,
        "{}",
        String::from_utf8_lossy(response.body())
    );
    let body = body_json(&response);
    assert_eq!(body["customer_id"], "cust-ada");
    assert_eq!(body["store_id"], "WAW-01");
    assert_eq!(body["orders_ready_here"], json!([]));
    assert_eq!(body["open_returns"], json!([]));
    let ids: Vec<&str> = body["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["promotion_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["EVERYONE", "GOLD10", "REGULARS"], "{body}");
    assert_eq!(body["coupons"][1]["kind"], "percent_off");

    // Another customer, with no profile, qualifies only for the open offer.
    let other = issue(&t, "cust-bob")["code"].as_str().unwrap().to_owned();
    let ids: Vec<String> = body_json(&scan(&t, "WAW-01", &other))["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["promotion_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["EVERYONE"]);
}

#[test]
fn forged_expired_and_other_kinds_of_code_are_refused_clearly() {
    let t = TestHost::new();
    let code = issue(&t, "cust-ada")["code"].as_str().unwrap().to_owned();
    let mut forged = code.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    problem(&scan(&t, "WAW-01", &forged), 403, "identity-code-invalid");
    problem(
        &scan(&t, "WAW-01", "not-a-code"),
        403,
        "identity-code-invalid",
    );
    let pickup = omni_shared::auth::signed_code::sign(
        "pickup",
        b"ORD-0000000000000001",
        t.now() + Duration::days(1),
        b"code-secret-that-is-at-least-32-bytes-long",
    );
    problem(&scan(&t, "WAW-01", &pickup), 403, "identity-code-invalid");
    t.host.fixed_clock().advance(Duration::minutes(5));
    problem(&scan(&t, "WAW-01", &code), 410, "identity-code-expired");
}

#[test]
fn bad_bodies_are_problems() {
    let t = TestHost::new();
    let token = t.token(&store_device("WAW-01"));
    for body in [
        json!({}),
        json!({ "code": 7 }),
        json!({ "code": "x", "extra": true }),
        json!([]),
    ] {
        let response = send(
            &t,
            json_request(Method::Post, "/api/identity/lookups", &body, Some(&token)),
        );
        problem(&response, 422, "invalid-body");
    }
    let customer_token = t.token(&customer("cust-ada"));
    let response = send(
        &t,
        json_request(
            Method::Post,
            "/api/identity/codes",
            &json!({ "for": "someone-else" }),
            Some(&customer_token),
        ),
    );
    problem(&response, 422, "invalid-body");
}

#[test]
fn whoami_names_the_store_device_and_its_store_or_null_when_the_catalog_lacks_it() {
    let t = TestHost::new();
    let token = t.token(&store_device("WAW-01"));
    let response = send(
        &t,
        request(Method::Get, "/api/identity/whoami", Some(&token)),
    );
    assert_eq!(status(&response), 200);
    let body = body_json(&response);
    assert_eq!(
        body,
        json!({ "role": "store", "store_id": "WAW-01", "device": "till-1", "store": null })
    );
    let token = t.token(&customer("cust-ada"));
    let body = body_json(&send(
        &t,
        request(Method::Get, "/api/identity/whoami", Some(&token)),
    ));
    assert_eq!(
        body,
        json!({ "role": "customer", "customer_id": "cust-ada" })
    );
    problem(
        &send(&t, request(Method::Get, "/api/identity/whoami", None)),
        401,
        "unauthorized",
    );
    let response = send(
        &t,
        request(
            Method::Get,
            "/api/identity/whoami",
            Some("forged.token.here"),
        ),
    );
    problem(&response, 401, "unauthorized");
}

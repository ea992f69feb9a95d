//! The insights component over HTTP, natively: who may read, every bad
//! scope refused by name, a figure through the whole stack, the page's
//! files, and the OpenAPI document against the route table.

use crate::assets::{ASSETS, CONTENT_SECURITY_POLICY};
use crate::{ROUTES, handle};
use omni_shared::host::Host;
use omni_shared::testing::{
    TestHost, body_json, customer, header, ops, request, status, store_device,
};
use spin_sdk::http::{Method, Response};

fn get(t: &TestHost, path: &str, token: Option<&str>) -> Response {
    handle(request(Method::Get, path, token), &t.host.another_request())
}

fn problem(response: &Response, expected: u16, slug: &str) -> serde_json::Value {
    assert_eq!(
        status(response),
        expected,
        "{}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(
        header(response, "content-type"),
        Some("application/problem+json")
    );
    let body = body_json(response);
    assert_eq!(body["type"], format!("urn:omnichannel-edge:problem:{slug}"));
    body
}

#[test]
fn the_openapi_document_lists_exactly_the_served_routes() {
    omni_shared::testing::assert_openapi_matches_routes(ROUTES, include_str!("../openapi.yaml"));
}

#[test]
fn only_operations_read_the_figures() {
    let t = TestHost::new();
    for report in ["sales", "journeys", "stores", "returns", "promotions"] {
        let path = format!("/api/insights/{report}");
        problem(&get(&t, &path, None), 401, "unauthorized");
        for caller in [customer("C-1"), store_device("WAW-01")] {
            problem(&get(&t, &path, Some(&t.token(&caller))), 403, "forbidden");
        }
        let ok = get(&t, &path, Some(&t.token(&ops())));
        assert_eq!(status(&ok), 200, "{report}");
        assert_eq!(header(&ok, "cache-control"), Some("no-store"));
    }
}

#[test]
fn each_bad_scope_is_a_400_naming_its_parameter() {
    let t = TestHost::new();
    let token = t.token(&ops());
    for (query, named) in [
        ("from=2026-02-30", "from:"),
        ("to=tomorrow", "to:"),
        ("from=2026-11-10&to=2026-11-01", "from:"),
        ("from=2024-01-01&to=2026-11-01", "to:"),
        ("store_id=%20", "store_id:"),
        ("channel=fax", "channel:"),
        ("form=2026-11-01", "form"),
    ] {
        let body = problem(
            &get(&t, &format!("/api/insights/sales?{query}"), Some(&token)),
            400,
            "bad-request",
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(named), "{query}: {detail}");
    }
    let body = problem(
        &get(&t, "/api/insights/journeys?store_id=WAW-01", Some(&token)),
        400,
        "bad-request",
    );
    assert!(body["detail"].as_str().unwrap().starts_with("store_id:"));
}

#[test]
fn a_figure_reads_through_the_stack_in_the_retailers_days() {
    let t = TestHost::new();
    let sql = t.host.sql().unwrap();
    // 23:30 UTC on 22 November is 00:30 on the 23rd in Warsaw.
    for (id, created) in [
        ("O1", "2026-11-22T23:30:00.000Z"),
        ("O2", "2026-11-22T22:30:00.000Z"),
    ] {
        sql.execute(
            "INSERT INTO orders (id, customer_id, fulfilment, store_id, store_name, store_address, time_zone,
                 store_locale, status, version, currency, total_paid_minor, channel, locale, ready_by,
                 sla_at_risk_at, created_at, updated_at)
             VALUES (?1, 'C-1', 'click_and_collect', 'WAW-01', 'Mokotów', 'addr', 'Europe/Warsaw', 'pl',
                 'placed', 1, 'PLN', 5999, 'app', 'pl', ?2, ?2, ?2, ?2)",
            &[id.into(), created.into()],
        )
        .unwrap();
    }
    let token = t.token(&ops());
    let body = body_json(&get(
        &t,
        "/api/insights/sales?from=2026-11-23&to=2026-11-23",
        Some(&token),
    ));
    assert_eq!(body["scope"]["time_zone"], "Europe/Warsaw");
    assert_eq!(body["scope"]["starts_at"], "2026-11-22T23:00:00.000Z");
    assert_eq!(body["sales"]["orders"], 1);
    assert_eq!(
        body["sales"]["revenue"],
        serde_json::json!([{ "amount": "59.99", "currency": "PLN" }])
    );
    assert_eq!(body["sales"]["click_and_collect_share"], 1.0);
    let store = body_json(&get(
        &t,
        "/api/insights/stores?from=2026-11-22&to=2026-11-23",
        Some(&token),
    ));
    assert_eq!(store["pickups"]["stores"][0]["store_name"], "Mokotów");
    assert_eq!(store["pickups"]["sla_by_day"].as_array().unwrap().len(), 2);
}

#[test]
fn the_page_is_served_with_a_strict_policy_and_every_file_it_names() {
    let t = TestHost::new();
    let redirect = get(&t, "/insights", None);
    assert_eq!(status(&redirect), 308);
    assert_eq!(header(&redirect, "location"), Some("/insights/"));
    let page = get(&t, "/insights/", None);
    assert_eq!(status(&page), 200);
    assert_eq!(
        header(&page, "content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    let html = String::from_utf8_lossy(page.body()).into_owned();
    for asset in ASSETS {
        let response = get(&t, &format!("/insights/{}", asset.name), None);
        assert_eq!(status(&response), 200, "{}", asset.name);
        assert_eq!(header(&response, "content-type"), Some(asset.content_type));
    }
    for linked in ["insights.js", "insights.css"] {
        assert!(html.contains(linked), "index.html links {linked}");
    }
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    problem(&get(&t, "/insights/nothing.js", None), 404, "not-found");
    let pl: serde_json::Value = serde_json::from_slice(
        ASSETS
            .iter()
            .find(|a| a.name == "strings-pl.json")
            .unwrap()
            .body,
    )
    .unwrap();
    let en: serde_json::Value = serde_json::from_slice(
        ASSETS
            .iter()
            .find(|a| a.name == "strings-en.json")
            .unwrap()
            .body,
    )
    .unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&pl), keys(&en), "both languages have every string");
}

#[test]
fn every_string_the_page_looks_up_exists_in_both_languages() {
    let file = |name: &str| {
        std::str::from_utf8(ASSETS.iter().find(|a| a.name == name).unwrap().body).unwrap()
    };
    let en: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(file("strings-en.json")).unwrap();
    let pl: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(file("strings-pl.json")).unwrap();
    let mut used = Vec::new();
    for (text, opener) in [
        (file("insights.js"), "t('"),
        (file("insights.js"), "['"),
        (file("index.html"), "data-i18n=\""),
    ] {
        for (at, _) in text.match_indices(opener) {
            if text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let key: String = text[at + opener.len()..]
                .chars()
                .take_while(|c| *c != '\'' && *c != '"')
                .collect();
            // Tiles and charts name their string keys as `['sales.orders', ...]`.
            if opener == "['" && !key.contains('.') {
                continue;
            }
            used.push(key);
        }
    }
    assert!(
        used.len() > 60,
        "the page's lookups were found: {}",
        used.len()
    );
    for key in used {
        assert!(
            en.contains_key(&key) && pl.contains_key(&key),
            "`{key}` is missing from a string table"
        );
    }
    // Channel, fulfilment and problem names are looked up by the server's
    // values: every one the API can answer has its words.
    for channel in ["web", "app", "kiosk", "pos", "call_center"] {
        assert!(en.contains_key(&format!("channel.{channel}")));
    }
    for fulfilment in ["click_and_collect", "ship_from_store", "endless_aisle"] {
        assert!(en.contains_key(&format!("fulfilment.{fulfilment}")));
    }
    for (key, value) in &pl {
        let same = en.get(key) == Some(value);
        assert!(
            !same
                || ["channel.kiosk", "stores.minutes", "promotions.limit"].contains(&key.as_str()),
            "{key} is not translated"
        );
    }
}

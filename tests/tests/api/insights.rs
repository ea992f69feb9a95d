//! Cross-channel insights (issue 20): known journeys are driven through the
//! other components' APIs, and the figures `/api/insights` answers must be
//! exactly what those journeys add up to; then the page at `/insights/`
//! charts the same numbers in headless Chromium.
//!
//! The history, all through the API:
//! - 40 days ago (test clock): two carts started on the web and one in the
//!   app get a line each and are never touched again; back at the real
//!   time, the expiry sweep abandons all three;
//! - three carts started in the app are paid at the WAW-01 till (the first
//!   with the coupon INSIGHT10);
//! - click & collect: an app order collected at WAW-01, an app order ready
//!   at WAW-01, a web order at WAW-02 cancelled;
//! - the collected order is returned, started in the app, received and
//!   refunded at the WAW-01 kiosk.

use blackbox_tests::{
    AppOptions, TestApp, browser, customer, ops, private_app, store_device, token, token_at,
    unique, workspace_root,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use omni_shared::hours::TimeZone;
use serde_json::{Value, json};

const SKU: &str = "TEE-ORG-BLK-M";

fn ok(reply: blackbox_tests::Reply, expected: u16) -> Value {
    assert_eq!(reply.status, expected, "{}", reply.text());
    reply.json()
}

fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    who: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> blackbox_tests::Reply {
    let bytes = body.map(|b| b.to_string().into_bytes());
    app.send(method, path, Some(who), headers, bytes.as_deref())
}

/// What the history left behind, for the expected figures.
struct History {
    app: TestApp,
    /// The scope every assertion uses: yesterday to tomorrow in Warsaw,
    /// so a run at midnight still covers today.
    query: String,
    collected_paid: i64,
    ready_paid: i64,
    refunded: Value,
    coupon_discount: Value,
}

fn minor(money: &Value) -> i64 {
    let amount = money["amount"].as_str().unwrap();
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}")[..2].parse::<i64>().unwrap()
}

fn seed(app: &TestApp) {
    app.seed_demo();
    app.seed_demo_stock();
    let coupon = json!({
        "id": "INSIGHT10", "name": "10% for the insights test", "time_zone": "Europe/Warsaw", "stacking": "stackable",
        "benefit": {"type": "percent_off", "percent": "10"}, "codes": ["INSIGHT10"],
    });
    ok(
        app.post("/api/promotions", Some(&token(&ops())), &coupon),
        201,
    );
}

/// A cart of `who` started in `channel` with one unit of [`SKU`].
fn cart_with_a_line(
    app: &TestApp,
    who: &str,
    channel: &str,
    at: DateTime<Utc>,
) -> (String, String) {
    let bearer = token_at(
        &customer(who),
        at - Duration::seconds(5),
        Duration::hours(2),
    );
    let cart = ok(
        send(
            app,
            "POST",
            "/api/carts",
            &bearer,
            &[("x-channel", channel)],
            Some(json!({"channel": channel})),
        ),
        201,
    );
    let id = cart["cart_id"].as_str().unwrap().to_owned();
    ok(
        send(
            app,
            "POST",
            &format!("/api/carts/{id}/lines"),
            &bearer,
            &[("x-channel", channel)],
            Some(json!({"sku": SKU, "quantity": 1})),
        ),
        200,
    );
    (id, bearer)
}

/// A click & collect order of one unit at `store`, moved up to `until`.
fn order(app: &TestApp, who: &str, channel: &str, store: &str, until: &[&str]) -> Value {
    let shopper = token(&customer(who));
    let reservation = ok(
        app.post(
            "/api/reservations",
            Some(&shopper),
            &json!({"store_id": store, "lines": [{"sku": SKU, "quantity": 1}]}),
        ),
        201,
    );
    let placed = ok(
        app.post("/api/orders", Some(&shopper), &json!({"fulfilment": "click_and_collect", "reservation_id": reservation["reservation_id"], "channel": channel, "locale": "en"})),
        201,
    );
    let id = placed["order_id"].as_str().unwrap();
    let device = token(&store_device(store));
    for status in until {
        ok(
            app.post(
                &format!("/api/orders/{id}/transitions"),
                Some(&device),
                &json!({"status": status}),
            ),
            200,
        );
    }
    placed
}

/// The history; `abandoned` adds the carts that need the edge host's test
/// clock (so the app runs there), without it the app runs on the suite's
/// runtime (real Spin in the Spin pass).
fn history(abandoned: bool) -> Option<History> {
    let app = private_app(AppOptions {
        test_clock: abandoned,
        ..AppOptions::default()
    })?;
    seed(&app);
    let now = Utc::now();

    if abandoned {
        // Carts left alone for 40 days, abandoned by the sweep today.
        let long_ago = now - Duration::days(40);
        app.set_clock(long_ago);
        for (who, channel) in [("web", "web"), ("web", "web"), ("app", "app")] {
            cart_with_a_line(&app, &unique(&format!("C-AB-{who}")), channel, long_ago);
        }
        app.set_clock(now);
        let swept = ok(
            app.post("/api/carts/expire", Some(&token(&ops())), &json!({})),
            200,
        );
        assert!(
            swept.to_string().contains('3'),
            "three carts expire: {swept}"
        );
    }

    // Three carts started in the app and paid at the WAW-01 till.
    let till = token(&store_device("WAW-01"));
    let mut coupon_discount = Value::Null;
    for n in 0..3 {
        let (id, bearer) = cart_with_a_line(&app, &unique("C-TILL"), "app", now);
        if n == 0 {
            ok(
                send(
                    &app,
                    "POST",
                    &format!("/api/carts/{id}/coupons"),
                    &bearer,
                    &[("x-channel", "app")],
                    Some(json!({"code": "INSIGHT10"})),
                ),
                200,
            );
        }
        let cart = ok(
            send(
                &app,
                "GET",
                &format!("/api/carts/{id}"),
                &bearer,
                &[("x-channel", "app")],
                None,
            ),
            200,
        );
        let if_match = format!("\"v{}\"", cart["version"]);
        let frozen = ok(
            send(
                &app,
                "POST",
                &format!("/api/carts/{id}/checkouts"),
                &bearer,
                &[("x-channel", "app"), ("if-match", &if_match)],
                None,
            ),
            201,
        );
        if n == 0 {
            coupon_discount = frozen["totals"]["discount"].clone();
            assert_ne!(
                coupon_discount["amount"], "0.00",
                "INSIGHT10 takes something off: {frozen}"
            );
        }
        let code = frozen["handoff"]["code"].as_str().unwrap();
        ok(
            send(
                &app,
                "POST",
                &format!("/api/carts/handoff/{code}/complete"),
                &till,
                &[("x-channel", "pos")],
                None,
            ),
            200,
        );
    }

    // Click & collect orders, and a return of the collected one.
    let returner = unique("C-RET");
    let collected = order(
        &app,
        &returner,
        "app",
        "WAW-01",
        &["accepted", "picking", "ready_for_pickup", "picked_up"],
    );
    let ready = order(
        &app,
        &unique("C-READY"),
        "app",
        "WAW-01",
        &["accepted", "picking", "ready_for_pickup"],
    );
    order(&app, &unique("C-CANCEL"), "web", "WAW-02", &["cancelled"]);
    let opened = ok(
        app.post("/api/returns", Some(&token(&customer(&returner))), &json!({"order_id": collected["order_id"], "channel": "app", "lines": [{"sku": SKU, "quantity": 1, "reason": "too small"}]})),
        201,
    );
    let kiosk = token(&store_device("WAW-01"));
    ok(
        app.post(
            "/api/returns/intakes",
            Some(&kiosk),
            &json!({"code": opened["return_code"]["code"], "channel": "kiosk"}),
        ),
        200,
    );
    let case = opened["case_number"].as_str().unwrap();
    let refund = ok(
        app.post(
            &format!("/api/returns/{case}/refund"),
            Some(&kiosk),
            &json!({"channel": "kiosk"}),
        ),
        200,
    );

    let warsaw = TimeZone::parse("Europe/Warsaw").unwrap();
    let today: NaiveDate = warsaw.local(now).date();
    Some(History {
        app,
        query: format!(
            "from={}&to={}",
            today.pred_opt().unwrap(),
            today.succ_opt().unwrap()
        ),
        collected_paid: minor(&collected["total_paid"]),
        ready_paid: minor(&ready["total_paid"]),
        refunded: refund["refunded"]["amount"]["amount"].clone(),
        coupon_discount,
    })
}

fn figures(h: &History, report: &str, extra: &str) -> Value {
    ok(
        h.app.get(
            &format!("/api/insights/{report}?{}{extra}", h.query),
            Some(&token(&ops())),
        ),
        200,
    )
}

fn row<'a>(rows: &'a Value, key: &str, value: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {rows}"))
}

#[test]
fn the_figures_of_known_journeys_are_exact() {
    if let Some(h) = history(true) {
        assert_figures(&h, true);
    }
}

/// The same journeys but the abandoned carts, on the suite's runtime: the
/// figures under real Spin are the edge host's.
#[test]
fn the_figures_are_exact_on_the_suites_runtime_too() {
    if let Some(h) = history(false) {
        assert_figures(&h, false);
    }
}

fn assert_figures(h: &History, abandoned: bool) {
    let (app_abandoned, web_abandoned) = if abandoned { (1, 2) } else { (0, 0) };

    let sales = &figures(h, "sales", "")["sales"];
    assert_eq!(
        (sales["orders"].as_i64(), sales["cancelled"].as_i64()),
        (Some(3), Some(1)),
        "{sales}"
    );
    assert_eq!(
        minor(&sales["revenue"][0]),
        h.collected_paid + h.ready_paid,
        "{sales}"
    );
    assert_eq!(sales["click_and_collect_share"], 1.0);
    let app_slice = row(&sales["by_channel"], "key", "app");
    assert_eq!(
        (app_slice["orders"].as_i64(), app_slice["share"].as_f64()),
        (Some(2), Some(1.0))
    );
    assert_eq!(row(&sales["by_channel"], "key", "web")["share"], 0.0);
    let at_waw2 = &figures(h, "sales", "&store_id=WAW-02")["sales"];
    assert_eq!(
        (at_waw2["orders"].as_i64(), at_waw2["cancelled"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        at_waw2["click_and_collect_share"],
        Value::Null,
        "no live order, no share"
    );

    let journeys = &figures(h, "journeys", "")["journeys"];
    assert_eq!(
        journeys["matrix"],
        json!([{"started": "app", "finished": "pos", "carts": 3, "value": journeys["matrix"][0]["value"]}])
    );
    assert_eq!(
        (
            journeys["converted"].as_i64(),
            journeys["cross_channel"].as_i64(),
            journeys["abandoned"].as_i64()
        ),
        (Some(3), Some(3), Some(app_abandoned + web_abandoned))
    );
    let app_start = row(&journeys["by_starting_channel"], "channel", "app");
    assert_eq!(
        (
            app_start["converted"].as_i64(),
            app_start["abandoned"].as_i64(),
            app_start["conversion"].as_f64()
        ),
        (
            Some(3),
            Some(app_abandoned),
            Some(3.0 / f64::from(3 + app_abandoned as i32))
        )
    );
    let web_start = row(&journeys["by_starting_channel"], "channel", "web");
    assert_eq!(
        (
            web_start["abandoned"].as_i64(),
            web_start["conversion"].as_f64()
        ),
        (Some(web_abandoned), abandoned.then_some(0.0))
    );
    let only_web = &figures(h, "journeys", "&channel=web")["journeys"];
    assert_eq!(
        (
            only_web["converted"].as_i64(),
            only_web["abandoned"].as_i64()
        ),
        (Some(0), Some(web_abandoned))
    );

    let pickups = &figures(h, "stores", "")["pickups"];
    assert_eq!(
        pickups["stores"].as_array().unwrap().len(),
        1,
        "the cancelled WAW-02 order counts nowhere: {pickups}"
    );
    let waw1 = row(&pickups["stores"], "store_id", "WAW-01");
    for (figure, expected) in [
        ("orders", json!(2)),
        ("ready", json!(2)),
        ("collected", json!(1)),
        ("waiting", json!(1)),
        ("expired", json!(0)),
        ("pickup_rate", json!(1.0)),
        ("sla_met", json!(2)),
        ("sla_missed", json!(0)),
        ("sla_hit_rate", json!(1.0)),
    ] {
        assert_eq!(waw1[figure], expected, "{figure} in {waw1}");
    }
    assert_eq!(pickups["sla_by_day"].as_array().unwrap().len(), 3);

    let returns = &figures(h, "returns", "")["returns"];
    assert_eq!(
        returns["matrix"],
        json!([{"purchased": "app", "returned": "app", "cases": 1}])
    );
    assert_eq!(
        (
            returns["cases"].as_i64(),
            returns["refunded"].as_i64(),
            returns["received"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(returns["refunds"][0]["amount"], h.refunded);
    let bought_in_app = row(&returns["by_purchase_channel"], "channel", "app");
    assert_eq!(
        (
            bought_in_app["orders"].as_i64(),
            bought_in_app["return_rate"].as_f64()
        ),
        (Some(2), Some(0.5))
    );

    let promotions = &figures(h, "promotions", "")["promotions"];
    assert_eq!(promotions["redemptions"], 1, "{promotions}");
    assert_eq!(
        promotions["discount"][0]["amount"],
        h.coupon_discount["amount"]
    );
    assert_eq!(promotions["by_promotion"][0]["uses"], 1);
    let at_waw2 = &figures(h, "promotions", "&store_id=WAW-02")["promotions"];
    assert_eq!(at_waw2["redemptions"], 0);
}

#[test]
fn bad_scopes_are_400_naming_the_parameter_and_only_operations_read() {
    let Some(app) = private_app(AppOptions::default()) else {
        return;
    };
    let ops_token = token(&ops());
    let before = ok(app.get("/api/insights/sales", Some(&ops_token)), 200);
    // The longest range there is (400 days: every day's bounds go to SQL as
    // parameters) and the far ends of the calendar are answers, not 5xx.
    for query in [
        "from=2025-10-01&to=2026-11-04",
        "from=0001-01-01&to=0001-01-02",
        "from=9999-12-30&to=9999-12-31",
    ] {
        for report in ["sales", "journeys", "stores", "returns", "promotions"] {
            let reply = app.get(&format!("/api/insights/{report}?{query}"), Some(&ops_token));
            assert_eq!(reply.status, 200, "{report}?{query}: {}", reply.text());
        }
    }
    for (query, parameter) in [
        ("from=2026-02-30", "from"),
        ("to=2026-1-5", "to"),
        ("from=2026-12-01&to=2026-11-01", "from"),
        ("from=2020-01-01&to=2026-11-01", "to"),
        ("channel=carrier-pigeon", "channel"),
        ("store_id=%3Cscript%3E", "store_id"),
        ("limit=10", "limit"),
    ] {
        let problem = app
            .get(&format!("/api/insights/sales?{query}"), Some(&ops_token))
            .problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains(parameter),
            "{query}: {problem}"
        );
    }
    app.get("/api/insights/journeys?store_id=WAW-01", Some(&ops_token))
        .problem(400);
    for caller in [customer("C-1"), store_device("WAW-01")] {
        app.get("/api/insights/stores", Some(&token(&caller)))
            .problem(403);
    }
    app.get("/api/insights/returns", None).problem(401);
    let after = ok(app.get("/api/insights/sales", Some(&ops_token)), 200);
    assert_eq!(before["sales"], after["sales"]);
}

#[test]
fn the_page_charts_the_numbers_of_the_api_and_the_filters_change_them() {
    browser::tooling();
    let Some(h) = history(true) else { return };
    let artifacts = workspace_root().join("target/insights-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    let query: Vec<(&str, &str)> = h
        .query
        .split('&')
        .map(|kv| kv.split_once('=').unwrap())
        .collect();
    let config = json!({
        "base_url": h.app.url(""),
        "token": token(&ops()),
        "store_token": token(&store_device("WAW-01")),
        "from": query[0].1,
        "to": query[1].1,
        "artifacts": artifacts,
        "chromium": browser::CHROMIUM,
    });
    browser::run_scenarios("insights.mjs", &config);
    let shots = browser::screenshots(&artifacts);
    assert!(shots >= 6, "a screenshot per view: {shots}");
}

//! The cart's endpoints exercised natively, request in, response out: every
//! operation, every bad-input class, authorisation, the guest merge, the
//! hand-off to a till, expiry, and devices editing one cart at once.

use super::handle;
use chrono::Duration;
use omni_shared::host::{Host, NativeHost};
use omni_shared::testing::{TestHost, body_json, customer, header, ops, status, store_device};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};

/// `(sku, category, assortment, PLN price, EUR price)`.
const ITEMS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "TEE-ORG-BLK-M",
        "men/t-shirts",
        "both",
        "59.99",
        Some("14.99"),
    ),
    (
        "DRS-LIN-NAV-M",
        "women/dresses",
        "both",
        "249.99",
        Some("59.99"),
    ),
    (
        "SKT-PLT-BLK-M",
        "women/skirts",
        "store_only",
        "149.99",
        Some("34.99"),
    ),
    (
        "BLZ-TAI-BLK-38",
        "women/blazers",
        "online_only",
        "399.00",
        Some("94.99"),
    ),
    ("SCF-WOL-RED", "accessories/scarves", "both", "79.90", None),
];

fn minor(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

fn add_item(
    host: &NativeHost,
    sku: &str,
    category: &str,
    assortment: &str,
    pln: &str,
    eur: Option<&str>,
) {
    let sql = host.sql().unwrap();
    let segments: Vec<&str> = category.split('/').collect();
    let data =
        json!({"sku": sku, "product_id": sku, "name": format!("Item {sku}"), "category": segments});
    sql.execute(
        "INSERT INTO catalog_items (sku, product_id, category, assortment, data, updated_at) VALUES (?1, ?1, ?2, ?3, ?4, 'now')",
        &[sku.into(), category.into(), assortment.into(), data.to_string().into()],
    )
    .unwrap();
    for (currency, amount) in [("PLN", Some(pln)), ("EUR", eur)] {
        if let Some(amount) = amount {
            sql.execute(
                "INSERT INTO prices (sku, currency, amount_minor, updated_at) VALUES (?1, ?2, ?3, 'now')",
                &[sku.into(), currency.into(), minor(amount).into()],
            )
            .unwrap();
        }
    }
}

/// A host with the test items and `generic` more SKUs `GEN-000`... at 10.00.
fn shop_with(generic: usize) -> TestHost {
    let t = TestHost::new();
    for (sku, category, assortment, pln, eur) in ITEMS {
        add_item(&t.host, sku, category, assortment, pln, *eur);
    }
    for i in 0..generic {
        add_item(
            &t.host,
            &format!("GEN-{i:03}"),
            "home/misc",
            "both",
            "10.00",
            Some("2.50"),
        );
    }
    t
}

fn shop() -> TestHost {
    shop_with(0)
}

/// One request with optional body, token and extra headers.
fn call(
    host: &NativeHost,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Response {
    let mut builder = Request::builder();
    builder.method(method).uri(path);
    if let Some(token) = token {
        builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder.header(*name, *value);
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(body.to_string()),
        None => builder.body(Vec::new()),
    };
    handle(builder.build(), &host.another_request())
}

/// How a test addresses a cart: by owner token or by guest secret.
#[derive(Clone)]
struct Key {
    id: String,
    token: Option<String>,
    secret: Option<String>,
}

impl Key {
    fn headers<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(secret) = &self.secret {
            headers.push(("x-cart-secret", secret));
        }
        headers
    }

    fn send(
        &self,
        host: &NativeHost,
        method: Method,
        suffix: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Response {
        let path = format!("/api/carts/{}{suffix}", self.id);
        call(
            host,
            method,
            &path,
            body,
            self.token.as_deref(),
            &self.headers(extra),
        )
    }

    fn get(&self, host: &NativeHost) -> Value {
        let response = self.send(host, Method::Get, "", None, &[]);
        assert_eq!(status(&response), 200, "{}", body_json(&response));
        body_json(&response)
    }

    fn add(&self, host: &NativeHost, sku: &str, quantity: i64) -> Response {
        self.send(
            host,
            Method::Post,
            "/lines",
            Some(&json!({"sku": sku, "quantity": quantity})),
            &[],
        )
    }
}

fn guest_cart(t: &TestHost, channel: &str) -> Key {
    let response = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": channel})),
        None,
        &[],
    );
    assert_eq!(status(&response), 201, "{}", body_json(&response));
    let body = body_json(&response);
    Key {
        id: body["cart_id"].as_str().unwrap().into(),
        token: None,
        secret: Some(body["secret"].as_str().unwrap().into()),
    }
}

fn customer_cart(t: &TestHost, id: &str, channel: &str) -> Key {
    let token = t.token(&customer(id));
    let response = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": channel})),
        Some(&token),
        &[],
    );
    assert!(
        matches!(status(&response), 200 | 201),
        "{}",
        body_json(&response)
    );
    Key {
        id: body_json(&response)["cart_id"].as_str().unwrap().into(),
        token: Some(token),
        secret: None,
    }
}

fn ok(response: Response) -> Value {
    let body = body_json(&response);
    assert_eq!(status(&response), 200, "{body}");
    body
}

fn problem(response: Response, expected: u16) -> Value {
    let body = body_json(&response);
    assert_eq!(status(&response), expected, "{body}");
    assert_eq!(
        header(&response, "content-type"),
        Some("application/problem+json")
    );
    body
}

fn quantities(cart: &Value) -> Vec<(String, u64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn amount(money: &Value) -> &str {
    money["amount"].as_str().unwrap()
}

#[test]
fn health_names_the_component() {
    let t = TestHost::new();
    let response = call(&t.host, Method::Get, "/api/carts/health", None, None, &[]);
    assert_eq!(body_json(&response)["component"], "cart-sync");
}

#[test]
fn a_guest_cart_is_created_with_a_secret_shown_once_and_opens_only_with_it() {
    let t = shop();
    let response = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": "web"})),
        None,
        &[],
    );
    assert_eq!(status(&response), 201);
    assert_eq!(header(&response, "etag"), Some("\"v1\""));
    let body = body_json(&response);
    let id = body["cart_id"].as_str().unwrap();
    assert_eq!(
        header(&response, "location"),
        Some(format!("/api/carts/{id}").as_str())
    );
    assert_eq!(
        (
            body["channel"].as_str(),
            body["currency"].as_str(),
            body["guest"].as_bool()
        ),
        (Some("web"), Some("PLN"), Some(true))
    );
    let secret = body["secret"].as_str().unwrap();
    let key = Key {
        id: id.into(),
        token: None,
        secret: Some(secret.into()),
    };
    assert!(
        key.get(&t.host).get("secret").is_none(),
        "the secret is shown only at creation"
    );
    let stored = t
        .host
        .sql()
        .unwrap()
        .execute("SELECT secret_sha256 FROM carts", &[])
        .unwrap();
    assert_ne!(
        stored.first().unwrap().text("secret_sha256").unwrap(),
        secret,
        "only a hash is stored"
    );

    let without = Key {
        secret: None,
        ..key.clone()
    };
    problem(without.send(&t.host, Method::Get, "", None, &[]), 404);
    let wrong = Key {
        secret: Some("x".repeat(43)),
        ..key.clone()
    };
    problem(wrong.send(&t.host, Method::Get, "", None, &[]), 404);
    problem(wrong.add(&t.host, "TEE-ORG-BLK-M", 1), 404);
}

#[test]
fn a_customer_has_one_active_cart_that_every_channel_sees() {
    let t = shop();
    let token = t.token(&customer("C-1"));
    let first = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": "app"})),
        Some(&token),
        &[],
    );
    assert_eq!(status(&first), 201);
    let id = body_json(&first)["cart_id"].clone();
    let again = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": "web", "currency": "EUR"})),
        Some(&token),
        &[],
    );
    assert_eq!(status(&again), 200);
    assert_eq!(body_json(&again)["cart_id"], id);
    assert_eq!(
        body_json(&again)["channel"],
        "app",
        "the cart keeps the channel it started in"
    );
    let key = Key {
        id: id.as_str().unwrap().into(),
        token: Some(token.clone()),
        secret: None,
    };
    ok(key.add(&t.host, "TEE-ORG-BLK-M", 2));
    for channel in ["app", "web"] {
        let mine = ok(call(
            &t.host,
            Method::Get,
            "/api/carts/me",
            None,
            Some(&token),
            &[("x-channel", channel)],
        ));
        assert_eq!(mine["cart_id"], id);
        assert_eq!(mine["priced_for_channel"], channel);
        assert_eq!(
            amount(&mine["totals"]["total"]),
            "119.98",
            "the same base price in every channel"
        );
    }
    for channel in ["kiosk", "pos", "call_center"] {
        let refused = problem(
            call(
                &t.host,
                Method::Get,
                "/api/carts/me",
                None,
                Some(&token),
                &[("x-channel", channel)],
            ),
            403,
        );
        assert_eq!(
            refused["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
            "a shopper cannot claim {channel}"
        );
    }
    problem(
        call(
            &t.host,
            Method::Get,
            "/api/carts/me",
            None,
            Some(&t.token(&customer("C-2"))),
            &[],
        ),
        404,
    );
    problem(
        call(&t.host, Method::Get, "/api/carts/me", None, None, &[]),
        401,
    );
}

#[test]
fn lines_are_added_changed_removed_and_cleared_with_exact_totals() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "web");
    let after_add = cart.add(&t.host, "tee-org-blk-m", 2);
    assert_eq!(header(&after_add, "etag"), Some("\"v2\""));
    ok(after_add);
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    let body = ok(cart.add(&t.host, "DRS-LIN-NAV-M", 1));
    assert_eq!(
        quantities(&body),
        [
            ("TEE-ORG-BLK-M".to_owned(), 3),
            ("DRS-LIN-NAV-M".to_owned(), 1)
        ]
    );
    let tee = &body["lines"][0];
    assert_eq!(
        (
            amount(&tee["unit_price"]),
            amount(&tee["subtotal"]),
            amount(&tee["total"])
        ),
        ("59.99", "179.97", "179.97")
    );
    let totals = &body["totals"];
    assert_eq!(amount(&totals["subtotal"]), "429.96");
    assert_eq!(amount(&totals["discount"]), "0.00");
    assert_eq!(amount(&totals["total"]), "429.96");
    assert_eq!(
        (
            totals["item_count"].as_u64(),
            totals["line_count"].as_u64(),
            totals["currency"].as_str()
        ),
        (Some(4), Some(2), Some("PLN"))
    );

    let set = ok(cart.send(
        &t.host,
        Method::Put,
        "/lines/TEE-ORG-BLK-M",
        Some(&json!({"quantity": 1})),
        &[],
    ));
    assert_eq!(quantities(&set)[0].1, 1);
    assert_eq!(set["version"], 5);
    let removed = ok(cart.send(&t.host, Method::Delete, "/lines/DRS-LIN-NAV-M", None, &[]));
    assert_eq!(quantities(&removed), [("TEE-ORG-BLK-M".to_owned(), 1)]);
    let again = ok(cart.send(&t.host, Method::Delete, "/lines/DRS-LIN-NAV-M", None, &[]));
    assert_eq!(
        again["version"], removed["version"],
        "removing a missing line changes nothing"
    );
    let cleared = ok(cart.send(&t.host, Method::Delete, "/lines", None, &[]));
    assert!(quantities(&cleared).is_empty());
    assert_eq!(amount(&cleared["totals"]["total"]), "0.00");
}

#[test]
fn every_bad_input_is_a_problem_and_leaves_the_cart_unchanged() {
    let t = shop_with(1);
    let cart = customer_cart(&t, "C-1", "web");
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 98));
    let before = cart.get(&t.host);
    let post = |body: &str, content_type: &str| {
        let mut builder = Request::builder();
        builder
            .method(Method::Post)
            .uri(format!("/api/carts/{}/lines", cart.id))
            .header(
                "authorization",
                format!("Bearer {}", cart.token.as_deref().unwrap()),
            )
            .header("content-type", content_type)
            .body(body.to_owned());
        handle(builder.build(), &t.host.another_request())
    };
    let unknown = problem(cart.add(&t.host, "NO-SUCH-SKU", 1), 422);
    assert_eq!(unknown["type"], "urn:omnichannel-edge:problem:unknown-sku");
    for (quantity, reason) in [
        (json!(0), "zero"),
        (json!(-1), "negative"),
        (json!(1.5), "fractional"),
        (json!(100), "above-max"),
        (json!("1"), "not-a-number"),
    ] {
        let body = problem(
            cart.send(
                &t.host,
                Method::Post,
                "/lines",
                Some(&json!({"sku": "GEN-000", "quantity": quantity})),
                &[],
            ),
            422,
        );
        assert_eq!(body["errors"][0]["reason"], reason, "{quantity}");
    }
    let above = problem(cart.add(&t.host, "TEE-ORG-BLK-M", 2), 422);
    assert_eq!(
        (
            above["type"].as_str(),
            above["max"].as_u64(),
            above["requested"].as_u64()
        ),
        (
            Some("urn:omnichannel-edge:problem:line-quantity-above-max"),
            Some(99),
            Some(100)
        )
    );
    problem(post("{\"sku\": ", "application/json"), 400);
    problem(
        post(
            &json!({"sku": 5, "quantity": "x"}).to_string(),
            "application/json",
        ),
        422,
    );
    problem(
        post(
            &json!({"sku": "GEN-000", "quantity": 1, "price": "0.01"}).to_string(),
            "application/json",
        ),
        422,
    );
    problem(
        post(
            &json!({"sku": "GEN-000", "quantity": 1}).to_string(),
            "text/plain",
        ),
        415,
    );
    problem(
        post(
            &format!(
                "{{\"sku\": \"GEN-000\", \"quantity\": 1, \"pad\": \"{}\"}}",
                "x".repeat(70_000)
            ),
            "application/json",
        ),
        413,
    );
    problem(post("[1]", "application/json"), 422);
    for bad in [json!(0), json!(-3), json!(1.5), json!("7"), json!([7])] {
        problem(
            cart.send(
                &t.host,
                Method::Put,
                "/lines/GEN-000",
                Some(&json!({"quantity": 1, "base_version": bad})),
                &[],
            ),
            422,
        );
    }
    problem(
        cart.send(
            &t.host,
            Method::Put,
            "/lines/GEN-000",
            Some(&json!({"quantity": 0})),
            &[],
        ),
        422,
    );
    problem(
        cart.send(
            &t.host,
            Method::Delete,
            "/lines/GEN-000?base_version=x",
            None,
            &[],
        ),
        400,
    );
    problem(
        cart.send(&t.host, Method::Delete, "/lines?bse_version=1", None, &[]),
        400,
    );
    let stale = problem(
        cart.send(
            &t.host,
            Method::Post,
            "/lines",
            Some(&json!({"sku": "GEN-000", "quantity": 1})),
            &[("if-match", "\"v1\"")],
        ),
        412,
    );
    assert!(
        stale["current"]["version"].as_i64().unwrap() > 1,
        "the current cart comes with a 412"
    );
    problem(
        cart.send(
            &t.host,
            Method::Post,
            "/lines",
            Some(&json!({"sku": "GEN-000", "quantity": 1})),
            &[("if-match", "v1")],
        ),
        400,
    );
    problem(
        cart.send(&t.host, Method::Get, "", None, &[("x-channel", "mobile")]),
        400,
    );
    let after = cart.get(&t.host);
    assert_eq!(quantities(&after), quantities(&before));
    assert_eq!(after["version"], before["version"]);
}

#[test]
fn a_cart_holds_at_most_200_lines() {
    let t = shop_with(201);
    let cart = customer_cart(&t, "C-1", "web");
    for i in 0..200 {
        ok(cart.add(&t.host, &format!("GEN-{i:03}"), 1));
    }
    let refused = problem(cart.add(&t.host, "GEN-200", 1), 422);
    assert_eq!(
        refused["type"],
        "urn:omnichannel-edge:problem:too-many-lines"
    );
    ok(cart.add(&t.host, "GEN-000", 1));
    assert_eq!(cart.get(&t.host)["totals"]["line_count"], 200);
}

#[test]
fn an_item_not_sold_in_the_channel_is_refused_with_the_alternative() {
    let t = shop();
    let web = customer_cart(&t, "C-1", "web");
    let skirt = problem(web.add(&t.host, "SKT-PLT-BLK-M", 1), 422);
    assert_eq!(
        skirt["type"],
        "urn:omnichannel-edge:problem:not-sold-in-channel"
    );
    assert_eq!(
        (skirt["assortment"].as_str(), skirt["alternative"].as_str()),
        (Some("store_only"), Some("reserve_in_store"))
    );
    assert!(
        skirt["alternative_text"]
            .as_str()
            .unwrap()
            .contains("click & collect")
    );
    // Claiming the kiosk does not open the store-only assortment to a shopper.
    let at_kiosk = web.send(
        &t.host,
        Method::Post,
        "/lines",
        Some(&json!({"sku": "SKT-PLT-BLK-M", "quantity": 1})),
        &[("x-channel", "kiosk")],
    );
    assert_eq!(
        problem(at_kiosk, 403)["type"],
        "urn:omnichannel-edge:problem:channel-not-allowed"
    );
    let online = web.get(&t.host);
    assert_eq!(online["lines"], json!([]), "nothing was added");
    assert_eq!(online["last_channel"], "web");
}

#[test]
fn a_cart_in_euros_refuses_a_sku_without_a_euro_price() {
    let t = shop();
    let token = t.token(&customer("C-1"));
    let created = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": "web", "currency": "eur"})),
        Some(&token),
        &[],
    );
    let key = Key {
        id: body_json(&created)["cart_id"].as_str().unwrap().into(),
        token: Some(token),
        secret: None,
    };
    let body = ok(key.add(&t.host, "TEE-ORG-BLK-M", 2));
    assert_eq!(
        body["totals"]["total"],
        json!({"amount": "29.98", "currency": "EUR"})
    );
    let refused = problem(key.add(&t.host, "SCF-WOL-RED", 1), 422);
    assert_eq!(
        (refused["type"].as_str(), refused["currency"].as_str()),
        (Some("urn:omnichannel-edge:problem:no-price"), Some("EUR"))
    );
    for bad in [
        json!({"channel": "mobile"}),
        json!({"channel": "web", "currency": "XXX"}),
        json!({"channel": "web", "colour": "red"}),
        json!({}),
    ] {
        problem(
            call(&t.host, Method::Post, "/api/carts", Some(&bad), None, &[]),
            422,
        );
    }
}

#[test]
fn customers_ops_and_store_devices_reach_only_what_they_may() {
    let t = shop();
    let mine = customer_cart(&t, "C-1", "app");
    ok(mine.add(&t.host, "TEE-ORG-BLK-M", 1));
    let theirs = Key {
        token: Some(t.token(&customer("C-2"))),
        ..mine.clone()
    };
    problem(theirs.send(&t.host, Method::Get, "", None, &[]), 404);
    problem(theirs.add(&t.host, "TEE-ORG-BLK-M", 1), 404);
    let operator = Key {
        token: Some(t.token(&ops())),
        ..mine.clone()
    };
    assert_eq!(operator.get(&t.host)["lines"][0]["quantity"], 1);
    problem(operator.add(&t.host, "TEE-ORG-BLK-M", 1), 403);
    let till = Key {
        token: Some(t.token(&store_device("WAW-01"))),
        ..mine.clone()
    };
    problem(till.send(&t.host, Method::Get, "", None, &[]), 403);
    let anonymous = Key {
        token: None,
        ..mine.clone()
    };
    problem(anonymous.send(&t.host, Method::Get, "", None, &[]), 404);
    problem(
        call(
            &t.host,
            Method::Post,
            "/api/carts",
            Some(&json!({"channel": "pos"})),
            Some(&t.token(&store_device("WAW-01"))),
            &[],
        ),
        403,
    );
    assert_eq!(mine.get(&t.host)["lines"][0]["quantity"], 1);
}

#[test]
fn a_guest_cart_merges_at_login_by_the_larger_quantity_once() {
    let t = shop();
    let app = customer_cart(&t, "C-1", "app");
    ok(app.add(&t.host, "TEE-ORG-BLK-M", 1));
    ok(app.add(&t.host, "DRS-LIN-NAV-M", 3));
    let guest = guest_cart(&t, "web");
    ok(guest.add(&t.host, "TEE-ORG-BLK-M", 2));
    ok(guest.add(&t.host, "DRS-LIN-NAV-M", 1));
    ok(guest.add(&t.host, "BLZ-TAI-BLK-38", 1));
    let login = Key {
        token: app.token.clone(),
        ..guest.clone()
    };
    let merged = ok(login.send(&t.host, Method::Post, "/merge", None, &[]));
    assert_eq!(merged["cart_id"].as_str(), Some(app.id.as_str()));
    let expected = [
        ("TEE-ORG-BLK-M".to_owned(), 2),
        ("DRS-LIN-NAV-M".to_owned(), 3),
        ("BLZ-TAI-BLK-38".to_owned(), 1),
    ];
    assert_eq!(quantities(&merged), expected);
    let twice = ok(login.send(&t.host, Method::Post, "/merge", None, &[]));
    assert_eq!(quantities(&twice), expected, "merged twice = merged once");
    assert_eq!(twice["version"], merged["version"]);

    let old = guest.get(&t.host);
    assert_eq!(
        (old["status"].as_str(), old["merged_into"].as_str()),
        (Some("merged"), Some(app.id.as_str()))
    );
    let closed = problem(guest.add(&t.host, "TEE-ORG-BLK-M", 1), 409);
    assert_eq!(closed["merged_into"].as_str(), Some(app.id.as_str()));
    let thief = Key {
        token: Some(t.token(&customer("C-9"))),
        ..guest.clone()
    };
    problem(thief.send(&t.host, Method::Post, "/merge", None, &[]), 409);
    let not_guest = problem(app.send(&t.host, Method::Post, "/merge", None, &[]), 422);
    assert_eq!(
        not_guest["type"],
        "urn:omnichannel-edge:problem:not-a-guest-cart"
    );
    let events = ok(call(
        &t.host,
        Method::Get,
        "/api/carts/events?kind=merged",
        None,
        Some(&t.token(&ops())),
        &[],
    ));
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            events["events"][0]["channel_started"].as_str(),
            events["events"][0]["item_count"].as_u64()
        ),
        (Some("web"), Some(4))
    );
}

#[test]
fn a_guest_merging_with_no_customer_cart_gets_a_new_one_with_its_lines() {
    let t = shop();
    let guest = guest_cart(&t, "web");
    ok(guest.add(&t.host, "TEE-ORG-BLK-M", 2));
    let token = t.token(&customer("C-7"));
    let login = Key {
        token: Some(token.clone()),
        ..guest.clone()
    };
    let merged = ok(login.send(&t.host, Method::Post, "/merge", None, &[]));
    assert_ne!(merged["cart_id"].as_str(), Some(guest.id.as_str()));
    assert_eq!(
        (merged["customer_id"].as_str(), merged["channel"].as_str()),
        (Some("C-7"), Some("web"))
    );
    let mine = ok(call(
        &t.host,
        Method::Get,
        "/api/carts/me",
        None,
        Some(&token),
        &[],
    ));
    assert_eq!(quantities(&mine), [("TEE-ORG-BLK-M".to_owned(), 2)]);
    let anonymous = Key {
        token: None,
        ..guest
    };
    problem(
        anonymous.send(&t.host, Method::Post, "/merge", None, &[]),
        401,
    );
}

#[test]
fn devices_adding_different_lines_at_once_all_succeed() {
    let t = shop_with(150);
    let cart = customer_cart(&t, "C-1", "app");
    let threads: Vec<_> = (0..3)
        .map(|device| {
            let host = t.host.another_request();
            let cart = cart.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| status(&cart.add(&host, &format!("GEN-{:03}", device * 50 + i), 1)))
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap().iter().all(|s| *s == 200));
    }
    let body = cart.get(&t.host);
    assert_eq!(body["totals"]["line_count"], 150);
    assert_eq!(body["version"], 151, "one version per change, none lost");
}

#[test]
fn devices_setting_one_line_at_once_end_in_the_largest_quantity() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "app");
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    for round in 0..5 {
        let base = cart.get(&t.host)["version"].as_i64().unwrap();
        let wanted = [3 + round, 7 + round, 5 + round];
        let threads: Vec<_> = wanted
            .iter()
            .map(|&quantity| {
                let host = t.host.another_request();
                let cart = cart.clone();
                std::thread::spawn(move || {
                    let body = json!({"quantity": quantity, "base_version": base});
                    status(&cart.send(&host, Method::Put, "/lines/TEE-ORG-BLK-M", Some(&body), &[]))
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), 200);
        }
        assert_eq!(
            quantities(&cart.get(&t.host))[0].1,
            7 + round as u64,
            "round {round}"
        );
        // A later edit from the latest state may lower it again.
        let lower = ok(cart.send(
            &t.host,
            Method::Put,
            "/lines/TEE-ORG-BLK-M",
            Some(&json!({"quantity": 1, "base_version": base + 3})),
            &[],
        ));
        assert_eq!(quantities(&lower)[0].1, 1);
    }
}

#[test]
fn a_stale_if_match_is_412_with_the_current_cart_and_a_fresh_one_applies() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "web");
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    let stale = problem(
        cart.send(
            &t.host,
            Method::Delete,
            "/lines",
            None,
            &[("if-match", "\"v1\"")],
        ),
        412,
    );
    assert_eq!(stale["current"]["lines"][0]["sku"], "TEE-ORG-BLK-M");
    assert_eq!(stale["current_etag"], "\"v2\"");
    let applied = cart.send(
        &t.host,
        Method::Delete,
        "/lines",
        None,
        &[("if-match", "\"v2\"")],
    );
    assert_eq!(header(&applied, "etag"), Some("\"v3\""));
    assert!(quantities(&ok(applied)).is_empty());
}

#[test]
fn a_device_may_ask_for_only_the_new_etag() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "app");
    let body = json!({"sku": "TEE-ORG-BLK-M", "quantity": 2});
    let minimal = cart.send(
        &t.host,
        Method::Post,
        "/lines",
        Some(&body),
        &[("prefer", "return=minimal")],
    );
    assert_eq!(status(&minimal), 204);
    assert!(minimal.body().is_empty());
    assert_eq!(header(&minimal, "etag"), Some("\"v2\""));
    let unchanged = cart.send(
        &t.host,
        Method::Delete,
        "/lines/DRS-LIN-NAV-M",
        None,
        &[("prefer", "return=minimal")],
    );
    assert_eq!(
        header(&unchanged, "etag"),
        Some("\"v2\""),
        "a no-op keeps the version"
    );
    let full = cart.send(&t.host, Method::Get, "", None, &[]);
    assert_eq!(header(&full, "etag"), Some("\"v2\""));
    assert_eq!(
        quantities(&body_json(&full)),
        [("TEE-ORG-BLK-M".to_owned(), 2)]
    );
    problem(
        cart.send(
            &t.host,
            Method::Post,
            "/lines",
            Some(&json!({"sku": "NOPE", "quantity": 1})),
            &[("prefer", "return=minimal")],
        ),
        422,
    );
}

#[test]
fn a_retried_add_with_an_idempotency_key_counts_once() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "app");
    let body = json!({"sku": "TEE-ORG-BLK-M", "quantity": 2});
    for _ in 0..3 {
        ok(cart.send(
            &t.host,
            Method::Post,
            "/lines",
            Some(&body),
            &[("idempotency-key", "add-tee-1")],
        ));
    }
    assert_eq!(
        quantities(&cart.get(&t.host)),
        [("TEE-ORG-BLK-M".to_owned(), 2)]
    );
}

fn checkout(t: &TestHost, cart: &Key, channel: &str) -> Value {
    let response = cart.send(
        &t.host,
        Method::Post,
        "/checkouts",
        None,
        &[("x-channel", channel)],
    );
    let body = body_json(&response);
    assert_eq!(status(&response), 201, "{body}");
    body
}

#[test]
fn a_cart_handed_to_the_till_by_qr_loads_exactly_the_snapshot() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "app");
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 2));
    ok(cart.add(&t.host, "DRS-LIN-NAV-M", 1));
    let frozen = checkout(&t, &cart, "app");
    let handoff = &frozen["handoff"];
    let code = handoff["code"].as_str().unwrap();
    assert!(handoff["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(
        (frozen["status"].as_str(), frozen["channel"].as_str()),
        (Some("open"), Some("app"))
    );
    // Edits after the hand-off do not change what the till charges.
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    let till = t.token(&store_device("WAW-01"));
    let loaded = ok(call(
        &t.host,
        Method::Get,
        &format!("/api/carts/handoff/{code}"),
        None,
        Some(&till),
        &[],
    ));
    for field in [
        "lines",
        "totals",
        "coupons",
        "currency",
        "checkout_id",
        "cart_version",
    ] {
        assert_eq!(loaded[field], frozen[field], "{field}");
    }
    assert_eq!(amount(&loaded["totals"]["total"]), "369.97");
    assert!(
        loaded.get("handoff").is_none(),
        "the till never gets a code to pass on"
    );
    let id = frozen["checkout_id"].as_str().unwrap();
    let by_id = ok(call(
        &t.host,
        Method::Get,
        &format!("/api/carts/checkouts/{id}"),
        None,
        Some(&till),
        &[("x-handoff-code", code)],
    ));
    assert_eq!(by_id["totals"], frozen["totals"]);
    problem(
        call(
            &t.host,
            Method::Get,
            &format!("/api/carts/checkouts/{id}"),
            None,
            Some(&till),
            &[],
        ),
        403,
    );
    let owner = ok(call(
        &t.host,
        Method::Get,
        &format!("/api/carts/checkouts/{id}"),
        None,
        cart.token.as_deref(),
        &[],
    ));
    assert_eq!(owner["handoff"]["code"], code);
    problem(
        call(
            &t.host,
            Method::Get,
            &format!("/api/carts/checkouts/{id}"),
            None,
            Some(&t.token(&customer("C-2"))),
            &[],
        ),
        404,
    );
    problem(
        call(
            &t.host,
            Method::Get,
            &format!("/api/carts/handoff/{code}"),
            None,
            cart.token.as_deref(),
            &[],
        ),
        403,
    );

    let paid = ok(call(
        &t.host,
        Method::Post,
        &format!("/api/carts/handoff/{code}/complete"),
        None,
        Some(&till),
        &[],
    ));
    assert_eq!(
        (
            paid["status"].as_str(),
            paid["completed_by"].as_str(),
            paid["completed_channel"].as_str()
        ),
        (Some("completed"), Some("WAW-01"), Some("pos"))
    );
    let retry = ok(call(
        &t.host,
        Method::Post,
        &format!("/api/carts/handoff/{code}/complete"),
        None,
        Some(&till),
        &[],
    ));
    assert_eq!(retry["completed_at"], paid["completed_at"]);
    let elsewhere = t.token(&store_device("KRK-01"));
    problem(
        call(
            &t.host,
            Method::Post,
            &format!("/api/carts/handoff/{code}/complete"),
            None,
            Some(&elsewhere),
            &[],
        ),
        409,
    );
    let left = cart.get(&t.host);
    assert_eq!(left["status"], "active");
    assert_eq!(
        quantities(&left),
        [("TEE-ORG-BLK-M".to_owned(), 1)],
        "what was added after the hand-off stays"
    );
    let events = ok(call(
        &t.host,
        Method::Get,
        "/api/carts/events?kind=converted",
        None,
        Some(&t.token(&ops())),
        &[],
    ));
    let event = &events["events"][0];
    assert_eq!(
        (
            event["channel_started"].as_str(),
            event["channel_finished"].as_str()
        ),
        (Some("app"), Some("pos"))
    );
    assert_eq!(amount(&event["value"]), "369.97");
}

#[test]
fn a_cart_bought_whole_is_converted_and_read_only() {
    let t = shop();
    let cart = guest_cart(&t, "web");
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    let frozen = checkout(&t, &cart, "web");
    let code = frozen["handoff"]["code"].as_str().unwrap();
    let kiosk = t.token(&store_device("WAW-02"));
    ok(call(
        &t.host,
        Method::Post,
        &format!("/api/carts/handoff/{code}/complete"),
        None,
        Some(&kiosk),
        &[("x-channel", "kiosk")],
    ));
    assert_eq!(cart.get(&t.host)["status"], "converted");
    problem(cart.add(&t.host, "TEE-ORG-BLK-M", 1), 409);
}

#[test]
fn forged_expired_and_misused_handoff_codes_are_refused() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "app");
    problem(
        cart.send(&t.host, Method::Post, "/checkouts", None, &[]),
        422,
    );
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    let frozen = checkout(&t, &cart, "app");
    let code = frozen["handoff"]["code"].as_str().unwrap().to_owned();
    let till = t.token(&store_device("WAW-01"));
    let mut forged = code.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = problem(
        call(
            &t.host,
            Method::Get,
            &format!("/api/carts/handoff/{forged}"),
            None,
            Some(&till),
            &[],
        ),
        403,
    );
    assert_eq!(
        refused["type"],
        "urn:omnichannel-edge:problem:handoff-code-invalid"
    );
    problem(
        call(
            &t.host,
            Method::Get,
            "/api/carts/handoff/not-a-code",
            None,
            Some(&till),
            &[],
        ),
        403,
    );
    problem(
        call(
            &t.host,
            Method::Get,
            &format!("/api/carts/handoff/{code}"),
            None,
            None,
            &[],
        ),
        401,
    );
    t.host.fixed_clock().advance(Duration::minutes(31));
    let till = t.token(&store_device("WAW-01"));
    let expired = problem(
        call(
            &t.host,
            Method::Get,
            &format!("/api/carts/handoff/{code}"),
            None,
            Some(&till),
            &[],
        ),
        410,
    );
    assert_eq!(
        expired["type"],
        "urn:omnichannel-edge:problem:handoff-code-expired"
    );
    problem(
        call(
            &t.host,
            Method::Post,
            &format!("/api/carts/handoff/{code}/complete"),
            None,
            Some(&till),
            &[],
        ),
        410,
    );
    let owner = ok(call(
        &t.host,
        Method::Get,
        &format!(
            "/api/carts/checkouts/{}",
            frozen["checkout_id"].as_str().unwrap()
        ),
        None,
        Some(&t.token(&customer("C-1"))),
        &[],
    ));
    assert!(
        owner["handoff"].is_null(),
        "an expired checkout offers no code"
    );
}

#[test]
fn an_untouched_cart_expires_and_is_recorded_as_abandoned() {
    let t = shop();
    let cart = customer_cart(&t, "C-1", "app");
    ok(cart.send(
        &t.host,
        Method::Post,
        "/lines",
        Some(&json!({"sku": "TEE-ORG-BLK-M", "quantity": 2})),
        &[("x-channel", "web")],
    ));
    let _empty = guest_cart(&t, "web");
    t.host.fixed_clock().advance(Duration::days(29));
    let token = t.token(&customer("C-1"));
    assert_eq!(
        ok(call(
            &t.host,
            Method::Get,
            "/api/carts/me",
            None,
            Some(&token),
            &[]
        ))["status"],
        "active"
    );
    t.host.fixed_clock().advance(Duration::days(2));
    let token = t.token(&customer("C-1"));
    problem(
        call(
            &t.host,
            Method::Get,
            "/api/carts/me",
            None,
            Some(&token),
            &[],
        ),
        404,
    );
    let key = Key {
        token: Some(token.clone()),
        ..cart.clone()
    };
    assert_eq!(key.get(&t.host)["status"], "expired");
    problem(key.add(&t.host, "TEE-ORG-BLK-M", 1), 409);
    let fresh = call(
        &t.host,
        Method::Post,
        "/api/carts",
        Some(&json!({"channel": "app"})),
        Some(&token),
        &[],
    );
    assert_eq!(status(&fresh), 201);
    assert_ne!(
        body_json(&fresh)["cart_id"].as_str(),
        Some(cart.id.as_str())
    );

    let operator = t.token(&ops());
    let sweep = ok(call(
        &t.host,
        Method::Post,
        "/api/carts/expire",
        None,
        Some(&operator),
        &[],
    ));
    assert_eq!(
        (
            sweep["expired"].as_u64(),
            sweep["abandoned"].as_u64(),
            sweep["more"].as_bool()
        ),
        (Some(1), Some(0), Some(false)),
        "the empty guest cart expires unrecorded"
    );
    let events = ok(call(
        &t.host,
        Method::Get,
        "/api/carts/events",
        None,
        Some(&operator),
        &[],
    ));
    let all = events["events"].as_array().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (
            all[0]["kind"].as_str(),
            all[0]["channel_started"].as_str(),
            all[0]["channel_finished"].as_str()
        ),
        (Some("abandoned"), Some("app"), Some("web"))
    );
    assert_eq!(amount(&all[0]["value"]), "119.98");
    problem(
        call(
            &t.host,
            Method::Post,
            "/api/carts/expire",
            None,
            Some(&token),
            &[],
        ),
        403,
    );
    problem(
        call(
            &t.host,
            Method::Get,
            "/api/carts/events?limit=0",
            None,
            Some(&operator),
            &[],
        ),
        400,
    );
}

#[test]
fn the_expiry_is_configurable() {
    let mut t = shop();
    t.host = NativeHost::new(t.dir.path(), TestHost::start())
        .with_variable("jwt_issuer", omni_shared::testing::ISSUER)
        .with_variable("jwt_audience", omni_shared::testing::AUDIENCE)
        .with_variable("jwt_hs256_secret", omni_shared::testing::JWT_SECRET)
        .with_variable("code_signing_secret", omni_shared::testing::CODE_SECRET)
        .with_variable("cart_expiry_days", "2")
        .with_variable("cart_max_line_quantity", "5");
    let cart = customer_cart(&t, "C-1", "app");
    problem(cart.add(&t.host, "TEE-ORG-BLK-M", 6), 422);
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 5));
    t.host.fixed_clock().advance(Duration::days(3));
    let key = Key {
        token: Some(t.token(&customer("C-1"))),
        ..cart
    };
    assert_eq!(key.get(&t.host)["status"], "expired");
}

fn seed_promotion(t: &TestHost, definition: Value, code: &str) {
    let row: omni_shared::promotions::PromotionRow = serde_json::from_value(definition).unwrap();
    let promotion = omni_shared::promotions::Promotion::try_from(row).unwrap();
    let code = omni_shared::promotions::CouponCode::parse(code).unwrap();
    omni_shared::promotions::create_promotion(
        t.host.sql().unwrap(),
        &promotion,
        omni_shared::promotions::PromotionStatus::Active,
        &[code],
        "test",
        t.now(),
    )
    .unwrap();
}

#[test]
fn coupons_are_priced_by_the_promotion_engine_per_line_and_in_total() {
    let t = shop();
    seed_promotion(
        &t,
        json!({"id": "WELCOME10", "name": "Welcome", "time_zone": "Europe/Warsaw", "requires_code": true,
               "benefit": {"type": "percent_off", "percent": "10"}}),
        "WELCOME10",
    );
    seed_promotion(
        &t,
        json!({"id": "APP5", "name": "App only", "time_zone": "Europe/Warsaw", "requires_code": true,
               "benefit": {"type": "percent_off", "percent": "5"}, "conditions": {"channels": ["app"]}}),
        "APP5",
    );
    let cart = customer_cart(&t, "C-1", "web");
    ok(cart.add(&t.host, "TEE-ORG-BLK-M", 1));
    ok(cart.add(&t.host, "DRS-LIN-NAV-M", 1));
    let unknown = problem(
        cart.send(
            &t.host,
            Method::Post,
            "/coupons",
            Some(&json!({"code": "NOPE123"})),
            &[],
        ),
        422,
    );
    assert_eq!(
        unknown["type"],
        "urn:omnichannel-edge:problem:unknown-coupon-code"
    );
    problem(
        cart.send(
            &t.host,
            Method::Post,
            "/coupons",
            Some(&json!({"code": "!"})),
            &[],
        ),
        422,
    );
    let body = ok(cart.send(
        &t.host,
        Method::Post,
        "/coupons",
        Some(&json!({"code": "welcome-10"})),
        &[],
    ));
    assert_eq!(body["coupons"][0]["code"], "WELCOME10");
    assert_eq!(body["coupons"][0]["applied"], true);
    assert_eq!(amount(&body["totals"]["subtotal"]), "309.98");
    assert_eq!(amount(&body["totals"]["discount"]), "31.00");
    assert_eq!(amount(&body["totals"]["total"]), "278.98");
    let line_discounts: Vec<&str> = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| amount(&l["discount"]))
        .collect();
    assert_eq!(
        line_discounts,
        ["6.00", "25.00"],
        "spread over the lines, adding up exactly"
    );

    let web = ok(cart.send(
        &t.host,
        Method::Post,
        "/coupons",
        Some(&json!({"code": "APP5"})),
        &[],
    ));
    let app5 = &web["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "APP5")
        .unwrap()
        .clone();
    assert_eq!(
        (
            app5["applied"].as_bool(),
            app5["refusal"]["reason"].as_str()
        ),
        (Some(false), Some("wrong-channel"))
    );
    assert_eq!(app5["message"], "valid only in the app");
    let detached = ok(cart.send(&t.host, Method::Delete, "/coupons/WELCOME10", None, &[]));
    assert_eq!(detached["coupons"].as_array().unwrap().len(), 1);
    let again = ok(cart.send(&t.host, Method::Delete, "/coupons/WELCOME10", None, &[]));
    assert_eq!(again["version"], detached["version"]);
}

#[test]
fn a_checkout_freezes_the_coupon_result_of_the_channel_it_was_handed_from() {
    let t = shop();
    seed_promotion(
        &t,
        json!({"id": "APP5", "name": "App only", "time_zone": "Europe/Warsaw", "requires_code": true,
               "benefit": {"type": "percent_off", "percent": "5"}, "conditions": {"channels": ["app"]}}),
        "APP5",
    );
    let cart = customer_cart(&t, "C-1", "app");
    ok(cart.add(&t.host, "DRS-LIN-NAV-M", 1));
    ok(cart.send(
        &t.host,
        Method::Post,
        "/coupons",
        Some(&json!({"code": "APP5"})),
        &[],
    ));
    let frozen = checkout(&t, &cart, "app");
    assert_eq!(amount(&frozen["totals"]["discount"]), "12.50");
    let till = t.token(&store_device("WAW-01"));
    let code = frozen["handoff"]["code"].as_str().unwrap();
    let loaded = ok(call(
        &t.host,
        Method::Get,
        &format!("/api/carts/handoff/{code}"),
        None,
        Some(&till),
        &[("x-channel", "pos")],
    ));
    assert_eq!(
        loaded["totals"], frozen["totals"],
        "the till charges what the app showed"
    );
    assert_eq!(loaded["coupons"], frozen["coupons"]);
}

#[test]
fn unknown_routes_and_ids_are_problems() {
    let t = shop();
    let token = t.token(&customer("C-1"));
    problem(
        call(
            &t.host,
            Method::Get,
            "/api/carts/crt_nope",
            None,
            Some(&token),
            &[],
        ),
        404,
    );
    problem(
        call(
            &t.host,
            Method::Get,
            "/api/carts/checkouts/chk_nope",
            None,
            Some(&token),
            &[],
        ),
        404,
    );
    problem(
        call(
            &t.host,
            Method::Patch,
            "/api/carts/me",
            None,
            Some(&token),
            &[],
        ),
        405,
    );
}

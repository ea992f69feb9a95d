//! `omni-demo journeys BASE_URL`: walks the five golden paths against a
//! running, seeded app and prints each step as the HTTP call a client makes
//! (method and path, which `curl` repeats) and its answer in a few words.
//!
//! It is the newcomer's first minute (`make demo`) and a test: `make test`
//! runs it against a fresh app, so a journey that stops working fails the
//! build instead of rotting in a README. Each run uses new customer ids, so
//! it can run again and again against the same app.

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde_json::{Value, json};

/// Who calls: a bearer token (or none), extra headers.
#[derive(Clone)]
struct As {
    token: Option<String>,
    headers: Vec<(&'static str, String)>,
}

impl As {
    /// A caller with this bearer token (`None`: a guest).
    fn bearer(token: Option<String>) -> As {
        As {
            token,
            headers: Vec::new(),
        }
    }

    /// The same caller sending one more header.
    fn with(&self, name: &'static str, value: impl Into<String>) -> As {
        let mut next = self.clone();
        next.headers.push((name, value.into()));
        next
    }
}

struct Demo {
    base: String,
    agent: ureq::Agent,
    steps: usize,
}

impl Demo {
    /// One call; prints `   METHOD path` and, once the answer is in, what
    /// `say` makes of it. Any answer but `expect` stops the walk with the
    /// problem the app gave.
    fn call(
        &mut self,
        who: &As,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expect: u16,
        say: impl FnOnce(&Value) -> String,
    ) -> Result<Value> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("accept", "application/json");
        if let Some(token) = &who.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in &who.headers {
            request = request.header(*name, value.as_str());
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())?;
        let mut response = self.agent.run(request).with_context(|| {
            format!("{method} {path}: the app at {} does not answer", self.base)
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        self.steps += 1;
        if status != expect {
            bail!(
                "{method} {path} answered {status}, not {expect}: {} {}",
                value["title"].as_str().unwrap_or(""),
                value["detail"].as_str().unwrap_or(text.as_str())
            );
        }
        println!("   {:<6} {:<58} {}", method, shorten(path, 58), say(&value));
        Ok(value)
    }
}

fn shorten(path: &str, width: usize) -> String {
    if path.chars().count() <= width {
        path.to_owned()
    } else {
        format!("{}…", path.chars().take(width - 1).collect::<String>())
    }
}

fn token(role: &str, sub: &str, store: Option<&str>) -> Result<String> {
    let mut args: Vec<String> = ["--role", role, "--sub", sub, "--ttl-secs", "900"]
        .map(String::from)
        .to_vec();
    if let Some(store) = store {
        args.extend(["--store".to_owned(), store.to_owned()]);
    }
    crate::token(&args)
}

fn money(value: &Value) -> String {
    format!(
        "{} {}",
        value["amount"].as_str().unwrap_or("?"),
        value["currency"].as_str().unwrap_or("")
    )
}

fn lines(cart: &Value) -> String {
    cart["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| format!("{} × {}", l["quantity"], l["sku"].as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// An instant as people read it (`Sat 05 Dec 10:00 UTC`); the API's own
/// text when it is not one.
fn when(value: &Value, key: &str) -> String {
    let raw = value[key].as_str().unwrap_or("?");
    chrono::DateTime::parse_from_rfc3339(raw).map_or_else(
        |_| raw.to_owned(),
        |t| {
            t.with_timezone(&Utc)
                .format("%a %d %b %H:%M UTC")
                .to_string()
        },
    )
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or("?").to_owned()
}

pub fn run(args: &[String]) -> Result<()> {
    let base = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .context("usage: omni-demo journeys BASE_URL")?
        .trim_end_matches('/')
        .to_owned();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut demo = Demo {
        base,
        agent,
        steps: 0,
    };
    let run = Utc::now().format("%H%M%S%3f").to_string();
    let started = std::time::Instant::now();
    click_and_collect(&mut demo, &format!("C-DEMO-{run}-1"))?;
    app_to_till(&mut demo, &format!("C-DEMO-{run}-2"))?;
    endless_aisle(&mut demo, &format!("C-DEMO-{run}-3"))?;
    return_anywhere(&mut demo, &format!("C-DEMO-{run}-4"))?;
    guest_becomes_customer(&mut demo, &format!("C-DEMO-{run}-5"))?;
    println!(
        "\nAll five journeys worked: {} calls in {:.1} s.",
        demo.steps,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// 1. Check availability online, reserve, pick up in store.
fn click_and_collect(demo: &mut Demo, who: &str) -> Result<()> {
    println!("\n1. Check availability online, reserve, pick up in store ({who})");
    let shopper = As::bearer(Some(token("customer", who, None)?)).with("x-channel", "app");
    let store = As::bearer(Some(token("store", "kiosk-1", Some("WAW-01"))?));
    let ops = As::bearer(Some(token("ops", "demo", None)?));
    let sku = "TEE-ORG-BLK-M";
    demo.call(
        &shopper,
        "GET",
        &format!("/api/availability/nearby?sku={sku}&lat=52.2297&lon=21.0122&radius_km=10"),
        None,
        200,
        |v| {
            let stores = v["stores"].as_array().cloned().unwrap_or_default();
            let first = stores.iter().find(|s| s["can_pick_up"] == true);
            format!(
                "{} stores near Warsaw centre; {}",
                stores.len(),
                first.map_or("none can hand it over".into(), |s| format!(
                    "{} has {} ({}), ready by {}",
                    text(s, "store_id"),
                    s["available"],
                    text(s, "label_text"),
                    when(s, "ready_by")
                ))
            )
        },
    )?;
    let reservation = demo.call(
        &shopper,
        "POST",
        "/api/reservations",
        Some(&json!({"store_id": "WAW-01", "lines": [{"sku": sku, "quantity": 1}]})),
        201,
        |v| {
            format!(
                "{} holds 1 × {sku} at WAW-01 until {}",
                text(v, "reservation_id"),
                when(v, "expires_at")
            )
        },
    )?;
    let body = json!({"fulfilment": "click_and_collect", "reservation_id": reservation["reservation_id"], "channel": "app", "locale": "en"});
    let order = demo.call(&shopper, "POST", "/api/orders", Some(&body), 201, |v| {
        format!(
            "{} {} ({}), promised ready by {}",
            text(v, "order_id"),
            text(v, "status"),
            money(&v["total_paid"]),
            when(v, "ready_by")
        )
    })?;
    let id = text(&order, "order_id");
    let mut version = order["version"].as_i64().unwrap_or(1);
    for status in ["accepted", "picking", "ready_for_pickup"] {
        let store_now = As::bearer(store.token.clone()).with("if-match", format!("\"v{version}\""));
        let moved = demo.call(
            &store_now,
            "POST",
            &format!("/api/orders/{id}/transitions"),
            Some(&json!({"status": status, "channel": "kiosk"})),
            200,
            |v| {
                format!(
                    "the store moves it: {} (\"{}\")",
                    text(v, "status"),
                    text(v, "status_label")
                )
            },
        )?;
        version = moved["version"].as_i64().unwrap_or(version + 1);
    }
    demo.call(
        &ops,
        "GET",
        &format!("/api/notifications/outbox?order_id={id}"),
        None,
        200,
        |v| {
            let notices: Vec<String> = v["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    format!(
                        "{} by {} ({})",
                        text(e, "event"),
                        text(e, "channel"),
                        text(e, "state")
                    )
                })
                .collect();
            format!(
                "notices: {}",
                if notices.is_empty() {
                    "none (no webhook or push subscription set)".into()
                } else {
                    notices.join(", ")
                }
            )
        },
    )?;
    let code = demo.call(
        &shopper,
        "GET",
        &format!("/api/orders/{id}/pickup-code"),
        None,
        200,
        |v| {
            format!(
                "the app shows the pickup QR (valid until {})",
                when(v, "expires_at")
            )
        },
    )?;
    demo.call(
        &store,
        "POST",
        "/api/orders/pickup-handovers",
        Some(&json!({"code": code["code"], "channel": "kiosk"})),
        200,
        |v| {
            format!(
                "the kiosk scans it: {} {} at {}",
                text(v, "order_id"),
                text(v, "status"),
                text(&v["collected"], "store_id")
            )
        },
    )?;
    demo.call(
        &store,
        "POST",
        "/api/orders/pickup-handovers",
        Some(&json!({"code": code["code"], "channel": "kiosk"})),
        409,
        |v| {
            format!(
                "scanned again: refused ({}), collected at {}",
                text(v, "title"),
                text(v, "collected_store_id")
            )
        },
    )?;
    Ok(())
}

/// 2. Start in the app, finish at the till.
fn app_to_till(demo: &mut Demo, who: &str) -> Result<()> {
    println!("\n2. Start in the app, continue on the web, pay at the till ({who})");
    let customer = token("customer", who, None)?;
    let in_app = As::bearer(Some(customer.clone())).with("x-channel", "app");
    let on_web = As::bearer(Some(customer.clone())).with("x-channel", "web");
    let cart = demo.call(
        &in_app,
        "POST",
        "/api/carts",
        Some(&json!({"channel": "app"})),
        201,
        |v| format!("cart {} in the app", text(v, "cart_id")),
    )?;
    let id = text(&cart, "cart_id");
    demo.call(
        &in_app,
        "POST",
        &format!("/api/carts/{id}/lines"),
        Some(&json!({"sku": "DRS-LIN-NAV-S", "quantity": 1})),
        200,
        |v| format!("in the app: {}", lines(v)),
    )?;
    demo.call(
        &in_app,
        "POST",
        &format!("/api/carts/{id}/coupons"),
        Some(&json!({"code": "WELCOME10"})),
        200,
        |v| {
            let coupon = &v["coupons"][0];
            format!(
                "WELCOME10 applied: {}, total {}",
                coupon["applied"],
                money(&v["totals"]["total"])
            )
        },
    )?;
    let web = demo.call(&on_web, "GET", "/api/carts/me", None, 200, |v| {
        format!(
            "on the web, the same cart: {}, total {}",
            lines(v),
            money(&v["totals"]["total"])
        )
    })?;
    let web = demo.call(
        &As::bearer(Some(customer.clone()))
            .with("x-channel", "web")
            .with("if-match", format!("\"v{}\"", web["version"])),
        "POST",
        &format!("/api/carts/{id}/lines"),
        Some(&json!({"sku": "TEE-ORG-BLK-M", "quantity": 2})),
        200,
        |v| {
            format!(
                "added on the web: {}, total {}",
                lines(v),
                money(&v["totals"]["total"])
            )
        },
    )?;
    let checkout = demo.call(
        &As::bearer(Some(customer))
            .with("x-channel", "web")
            .with("if-match", format!("\"v{}\"", web["version"])),
        "POST",
        &format!("/api/carts/{id}/checkouts"),
        None,
        201,
        |v| {
            format!(
                "frozen for the till: {} to pay, handoff QR until {}",
                money(&v["totals"]["total"]),
                when(&v["handoff"], "expires_at")
            )
        },
    )?;
    let code = text(&checkout["handoff"], "code");
    let till = As::bearer(Some(token("store", "till-1", Some("WAW-01"))?)).with("x-channel", "pos");
    let same = checkout["totals"].clone();
    demo.call(
        &till,
        "GET",
        &format!("/api/carts/handoff/{code}"),
        None,
        200,
        |v| {
            format!(
                "the till scans it: {} to pay, {}",
                money(&v["totals"]["total"]),
                if v["totals"] == same {
                    "the same totals and coupon result"
                } else {
                    "DIFFERENT totals"
                }
            )
        },
    )?;
    demo.call(
        &till,
        "POST",
        &format!("/api/carts/handoff/{code}/complete"),
        None,
        200,
        |v| {
            format!(
                "paid at the till: checkout {} {}",
                text(v, "checkout_id"),
                text(v, "status")
            )
        },
    )?;
    Ok(())
}

/// 3. Not in my size in this store: the endless aisle.
fn endless_aisle(demo: &mut Demo, who: &str) -> Result<()> {
    println!(
        "\n3. Not in this store in my size: ordered at the kiosk from central stock to home ({who})"
    );
    let kiosk = As::bearer(Some(token("store", "kiosk-1", Some("WAW-01"))?));
    let sku = "DRS-LIN-NAV-M";
    let options = demo.call(&kiosk, "POST", "/api/availability/fulfilment-options", Some(&json!({"channel": "kiosk", "store_id": "WAW-01", "lines": [{"sku": sku, "quantity": 1}]})), 200, |v| {
        let offered: Vec<String> = v["options"].as_array().into_iter().flatten().map(|o| match o["location_id"].as_str() {
            Some(from) => format!("{} from {from}", text(o, "method")),
            None => format!("{} ready by {}", text(o, "method"), when(o, "ready_by")),
        }).collect();
        format!("{sku} at WAW-01: {}", offered.join(", "))
    })?;
    let aisle = options["options"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["method"] == "endless_aisle")
        .context("the endless aisle was not offered")?;
    let body = json!({"fulfilment": "endless_aisle", "store_id": aisle["location_id"], "customer_id": who, "channel": "kiosk", "locale": "pl",
        "lines": [{"sku": sku, "quantity": 1}],
        "delivery_address": {"name": "Anna Nowak", "street": "Marszałkowska 1", "city": "Warszawa", "postal_code": "00-001", "country": "PL"}});
    demo.call(&kiosk, "POST", "/api/orders", Some(&body), 201, |v| {
        format!(
            "{} {} from {} to the shopper's home ({}), by {}",
            text(v, "order_id"),
            text(v, "status"),
            text(&v["store"], "store_id"),
            money(&v["total_paid"]),
            when(v, "ready_by")
        )
    })?;
    Ok(())
}

/// 4. Return anywhere: bought for pickup in one store, returned in another.
fn return_anywhere(demo: &mut Demo, who: &str) -> Result<()> {
    println!(
        "\n4. Return anywhere: collected in Warsaw, returned in Kraków, refunded exactly ({who})"
    );
    let shopper = As::bearer(Some(token("customer", who, None)?));
    let waw = As::bearer(Some(token("store", "kiosk-1", Some("WAW-01"))?));
    let krk = As::bearer(Some(token("store", "kiosk-1", Some("KRK-01"))?));
    let ops = As::bearer(Some(token("ops", "demo", None)?));
    let sku = "DRS-LIN-SND-L";
    let reservation = demo.call(
        &shopper,
        "POST",
        "/api/reservations",
        Some(&json!({"store_id": "WAW-01", "lines": [{"sku": sku, "quantity": 1}]})),
        201,
        |v| format!("{} at WAW-01", text(v, "reservation_id")),
    )?;
    let order = demo.call(&shopper, "POST", "/api/orders", Some(&json!({"fulfilment": "click_and_collect", "reservation_id": reservation["reservation_id"], "channel": "web"})), 201, |v| {
        format!("{} bought on the web for {}", text(v, "order_id"), money(&v["total_paid"]))
    })?;
    let id = text(&order, "order_id");
    for status in ["accepted", "picking", "ready_for_pickup", "picked_up"] {
        demo.call(
            &waw,
            "POST",
            &format!("/api/orders/{id}/transitions"),
            Some(&json!({"status": status})),
            200,
            |v| format!("WAW-01: {}", text(v, "status")),
        )?;
    }
    let rma = demo.call(
        &shopper,
        "POST",
        "/api/returns",
        Some(
            &json!({"order_id": id, "lines": [{"sku": sku, "quantity": 1, "reason": "too_small"}]}),
        ),
        201,
        |v| {
            format!(
                "return {} opened in the app: refund {} to {}",
                text(v, "case_number"),
                money(&v["refund_total"]),
                text(v, "refund_method")
            )
        },
    )?;
    let case = text(&rma, "case_number");
    let shelf = |v: &Value| v["on_hand"].as_i64().unwrap_or(-1);
    let before = demo.call(
        &ops,
        "GET",
        &format!("/api/stores/KRK-01/stock/{sku}"),
        None,
        200,
        |v| format!("KRK-01 shelf of {sku}: {} on hand", shelf(v)),
    )?;
    demo.call(
        &krk,
        "POST",
        "/api/returns/lookups",
        Some(&json!({"code": rma["return_code"]["code"]})),
        200,
        |v| {
            format!(
                "Kraków scans the QR: {} {}, receivable {}",
                text(v, "case_number"),
                text(v, "status"),
                v["receivable"]
            )
        },
    )?;
    demo.call(
        &krk,
        "POST",
        "/api/returns/intakes",
        Some(&json!({"code": rma["return_code"]["code"], "channel": "kiosk"})),
        200,
        |v| format!("received at {}", text(&v["received"], "store_id")),
    )?;
    demo.call(
        &krk,
        "POST",
        &format!("/api/returns/{case}/refund"),
        Some(&json!({"channel": "kiosk"})),
        200,
        |v| {
            format!(
                "refunded {} (what the line paid)",
                money(&v["refunded"]["amount"])
            )
        },
    )?;
    let was = shelf(&before);
    demo.call(
        &ops,
        "GET",
        &format!("/api/stores/KRK-01/stock/{sku}"),
        None,
        200,
        |v| {
            format!(
                "KRK-01 shelf: {was} → {} on hand (restocked where it came back)",
                shelf(v)
            )
        },
    )?;
    Ok(())
}

/// 5. Guest becomes customer: the guest cart merges into the app cart.
fn guest_becomes_customer(demo: &mut Demo, who: &str) -> Result<()> {
    println!(
        "\n5. A guest cart on the web merges at login with the app cart: nothing lost, nothing doubled ({who})"
    );
    let customer = token("customer", who, None)?;
    let in_app = As::bearer(Some(customer.clone())).with("x-channel", "app");
    let cart = demo.call(
        &in_app,
        "POST",
        "/api/carts",
        Some(&json!({"channel": "app"})),
        201,
        |v| format!("the customer's app cart {}", text(v, "cart_id")),
    )?;
    let app_cart = text(&cart, "cart_id");
    for (sku, quantity) in [("TEE-ORG-BLK-M", 1), ("JNS-SLM-IND-32", 1)] {
        demo.call(
            &in_app,
            "POST",
            &format!("/api/carts/{app_cart}/lines"),
            Some(&json!({"sku": sku, "quantity": quantity})),
            200,
            |v| format!("app cart: {}", lines(v)),
        )?;
    }
    let guest = demo.call(
        &As::bearer(None).with("x-channel", "web"),
        "POST",
        "/api/carts",
        Some(&json!({"channel": "web"})),
        201,
        |v| {
            format!(
                "a guest's web cart {} (with its secret)",
                text(v, "cart_id")
            )
        },
    )?;
    let guest_id = text(&guest, "cart_id");
    let as_guest = As::bearer(None)
        .with("x-channel", "web")
        .with("x-cart-secret", text(&guest, "secret"));
    for (sku, quantity) in [("TEE-ORG-BLK-M", 1), ("DRS-LIN-NAV-S", 2)] {
        demo.call(
            &as_guest,
            "POST",
            &format!("/api/carts/{guest_id}/lines"),
            Some(&json!({"sku": sku, "quantity": quantity})),
            200,
            |v| format!("guest cart: {}", lines(v)),
        )?;
    }
    let at_login = As::bearer(Some(customer))
        .with("x-channel", "web")
        .with("x-cart-secret", text(&guest, "secret"));
    demo.call(
        &at_login,
        "POST",
        &format!("/api/carts/{guest_id}/merge"),
        None,
        200,
        |v| {
            format!(
                "signed in, merged into {}: {}",
                text(v, "cart_id"),
                lines(v)
            )
        },
    )?;
    demo.call(
        &at_login,
        "POST",
        &format!("/api/carts/{guest_id}/merge"),
        None,
        200,
        |v| format!("merged again (a retry): still {}", lines(v)),
    )?;
    Ok(())
}

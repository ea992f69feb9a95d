//! The store kiosk page (issue 9): end-to-end in headless Chromium, driven by
//! tests/kiosk (playwright-core) against a seeded app.
//!
//! The Rust side starts the app, prepares what a store sees in a day over
//! the API (orders ready at this store and another, an order not ready yet,
//! a customer with a coupon, a cart handed over from the app, a return
//! opened in the app), writes the codes into a JSON config, runs
//! `node tests/kiosk/scenarios.mjs`, which types each code into the page's
//! scan field and saves a screenshot per scenario into
//! `target/kiosk-artifacts/`, and then checks what changed on the server.
//!
//! A machine without Debian's Chromium or the npm packages FAILS here with
//! the command to run (`source infra/setup.sh`): a browser test that is
//! silently skipped proves nothing.

use blackbox_tests::{
    TestApp, customer, ops, seeded_app, store_device, testing, token, unique, workspace_root,
};
use chrono::{Duration, Utc};
use omni_shared::auth::signed_code;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const STORE: &str = "WAW-01";
const OTHER_STORE: &str = "WAW-02";
const SKU: &str = "TEE-ORG-BLK-M";
/// The returned item: another SKU, so its shelf moves only by the return.
const RETURNED: &str = "DRS-LIN-SND-M";

/// The browser and the npm packages, or a failure saying how to get them.
fn browser_tooling() -> PathBuf {
    let kiosk = workspace_root().join("tests/kiosk");
    let missing: Vec<String> = [
        (Path::new(CHROMIUM).to_path_buf(), "Debian's chromium"),
        (
            kiosk.join("node_modules/playwright-core/package.json"),
            "tests/kiosk/node_modules (npm ci --prefix tests/kiosk)",
        ),
    ]
    .into_iter()
    .filter(|(path, _)| !path.exists())
    .map(|(path, what)| format!("{} ({what})", path.display()))
    .collect();
    assert!(
        missing.is_empty(),
        "the kiosk browser tests need {}: run `source infra/setup.sh` (it installs chromium with apt-get and runs npm ci)",
        missing.join(" and ")
    );
    kiosk
}

fn ok(reply: blackbox_tests::Reply, expected: u16) -> Value {
    assert_eq!(reply.status, expected, "{}", reply.text());
    reply.json()
}

fn seed_stock(app: &TestApp) {
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).expect("demo stock");
    let reply = app.send(
        "POST",
        "/api/availability/feed",
        Some(&token(&ops())),
        &[],
        Some(&stock),
    );
    assert_eq!(reply.status, 200, "stock feed: {}", reply.text());
}

/// An order placed by `who` for pickup at `store`, moved to `until` by
/// that store's device (`None`: left as placed).
fn order(app: &TestApp, who: &str, store: &str, until: Option<&str>) -> String {
    order_of(app, who, store, SKU, until)
}

fn order_of(app: &TestApp, who: &str, store: &str, sku: &str, until: Option<&str>) -> String {
    let shopper = token(&customer(who));
    let body = json!({"store_id": store, "lines": [{"sku": sku, "quantity": 1}]});
    let reservation =
        ok(app.post("/api/reservations", Some(&shopper), &body), 201)["reservation_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let body = json!({"fulfilment": "click_and_collect", "reservation_id": reservation, "locale": "en", "channel": "app"});
    let id = ok(app.post("/api/orders", Some(&shopper), &body), 201)["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some(last) = until {
        let device = token(&store_device(store));
        for status in ["accepted", "picking", "ready_for_pickup", "picked_up"] {
            ok(
                app.post(
                    &format!("/api/orders/{id}/transitions"),
                    Some(&device),
                    &json!({"status": status}),
                ),
                200,
            );
            if status == last {
                break;
            }
        }
    }
    id
}

fn pickup_code(app: &TestApp, who: &str, order: &str) -> String {
    let body = ok(
        app.get(
            &format!("/api/orders/{order}/pickup-code"),
            Some(&token(&customer(who))),
        ),
        200,
    );
    body["code"].as_str().unwrap().to_owned()
}

fn order_status(app: &TestApp, order: &str) -> String {
    ok(
        app.get(&format!("/api/orders/{order}"), Some(&token(&ops()))),
        200,
    )["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn on_hand(app: &TestApp, store: &str, sku: &str) -> i64 {
    let body = ok(
        app.get(
            &format!("/api/stores/{store}/stock/{sku}"),
            Some(&token(&ops())),
        ),
        200,
    );
    body["on_hand"]
        .as_i64()
        .unwrap_or_else(|| panic!("on_hand in {body}"))
}

/// Whether the returns component serves the contract the kiosk's return
/// flow is built against: documented, and answering in the running app
/// (a route the built component lacks is 404 `no resource`).
fn returns_deployed(app: &TestApp) -> bool {
    let documented =
        std::fs::read_to_string(workspace_root().join("components/returns/openapi.yaml"))
            .is_ok_and(|doc| {
                doc.contains("/api/returns/scans:") && doc.contains("/api/returns/intakes:")
            });
    documented
        && app
            .post(
                "/api/returns/scans",
                Some(&token(&store_device(STORE))),
                &json!({"code": "x"}),
            )
            .status
            != 404
}

#[test]
fn a_store_device_serves_every_kind_of_code_in_headless_chromium() {
    let kiosk = browser_tooling();
    let app = seeded_app();
    seed_stock(&app);
    let secret = testing::CODE_SECRET.as_bytes();

    // Pickup: an order ready here, one ready at another store, one not ready.
    let ada = unique("ada");
    let ready = order(&app, &ada, STORE, Some("ready_for_pickup"));
    let ready_code = pickup_code(&app, &ada, &ready);
    let elsewhere = order(&app, &ada, OTHER_STORE, Some("ready_for_pickup"));
    let elsewhere_code = pickup_code(&app, &ada, &elsewhere);
    let waiting = order(&app, &ada, STORE, Some("accepted"));
    // The app shows no code before the order is ready; a code the app showed
    // for an order that went back (or a code made by hand) must still be
    // refused clearly, so the test signs one as the pickup code would be.
    let waiting_code = signed_code::sign(
        "pickup",
        waiting.as_bytes(),
        Utc::now() + Duration::days(1),
        secret,
    );
    let expired_code = signed_code::sign(
        "pickup",
        ready.as_bytes(),
        Utc::now() - Duration::minutes(1),
        secret,
    );
    let mut forged_code = ready_code.clone();
    let last = forged_code.pop().unwrap();
    forged_code.push(if last == 'A' { 'B' } else { 'A' });

    // A customer identifying with the app: one order ready here, a coupon.
    let bea = unique("bea");
    let bea_ready = order(&app, &bea, STORE, Some("ready_for_pickup"));
    order(&app, &bea, OTHER_STORE, Some("ready_for_pickup"));
    let coupon = unique("KIOSK").replace('-', "");
    let promotion = json!({
        "id": coupon, "name": "Store regulars 5%", "time_zone": "Europe/Warsaw",
        "benefit": {"type": "percent_off", "percent": "5"},
        "conditions": {"channels": ["pos", "kiosk"], "loyalty_tiers": ["gold"]},
    });
    ok(
        app.post("/api/promotions", Some(&token(&ops())), &promotion),
        201,
    );
    let profile = json!({"customers": [{"customer_id": bea, "loyalty_tier": "gold"}]});
    let reply = app.post("/api/promotions/customers", Some(&token(&ops())), &profile);
    assert!(matches!(reply.status, 200 | 201), "{}", reply.text());
    let identity = ok(
        app.post(
            "/api/identity/codes",
            Some(&token(&customer(&bea))),
            &json!({}),
        ),
        200,
    );
    let identity_code = identity["code"].as_str().unwrap().to_owned();
    let expired_identity = signed_code::sign(
        "customer-identity",
        format!("cid:{bea}").as_bytes(),
        Utc::now() - Duration::seconds(5),
        secret,
    );

    // A cart built in the app and handed to the till.
    let cy = token(&customer(&unique("cy")));
    let cart = app.send(
        "POST",
        "/api/carts",
        Some(&cy),
        &[("x-channel", "app")],
        Some(br#"{"channel":"app"}"#),
    );
    assert!(matches!(cart.status, 200 | 201), "{}", cart.text());
    let cart = cart.json();
    let cart_id = cart["cart_id"].as_str().unwrap().to_owned();
    for (sku, quantity) in [("TEE-ORG-BLK-M", 2), ("DRS-LIN-NAV-M", 1)] {
        let body = json!({"sku": sku, "quantity": quantity}).to_string();
        let path = format!("/api/carts/{cart_id}/lines");
        ok(
            app.send(
                "POST",
                &path,
                Some(&cy),
                &[("x-channel", "app")],
                Some(body.as_bytes()),
            ),
            200,
        );
    }
    let in_app = ok(
        app.send(
            "GET",
            &format!("/api/carts/{cart_id}"),
            Some(&cy),
            &[("x-channel", "app")],
            None,
        ),
        200,
    );
    let checkout_path = format!("/api/carts/{cart_id}/checkouts");
    let if_match = format!("\"v{}\"", in_app["version"]);
    let frozen = ok(
        app.send(
            "POST",
            &checkout_path,
            Some(&cy),
            &[("x-channel", "app"), ("if-match", &if_match)],
            None,
        ),
        201,
    );
    assert_eq!(frozen["totals"], in_app["totals"]);
    let handoff_code = frozen["handoff"]["code"].as_str().unwrap().to_owned();

    // A return opened in the app for an order collected earlier.
    let return_case = if returns_deployed(&app) {
        // The customer who identifies with the app also has this return open.
        let dee = bea.clone();
        let bought = order_of(&app, &dee, STORE, RETURNED, Some("picked_up"));
        let body = json!({"order_id": bought, "lines": [{"sku": RETURNED, "quantity": 1, "reason": "too small"}]});
        let opened = app.post("/api/returns", Some(&token(&customer(&dee))), &body);
        assert!(
            matches!(opened.status, 200 | 201),
            "opening a return: {}",
            opened.text()
        );
        let opened = opened.json();
        Some((
            opened["return_code"]["code"]
                .as_str()
                .expect("return_code.code")
                .to_owned(),
            opened["case_number"]
                .as_str()
                .expect("case_number")
                .to_owned(),
            dee,
        ))
    } else {
        eprintln!(
            "NOTE: the returns component does not serve /api/returns/scans and /intakes yet: the return scenario is left out of this run"
        );
        None
    };
    let stock_before = on_hand(&app, STORE, SKU);
    let returned_before = on_hand(&app, STORE, RETURNED);

    let artifacts = workspace_root().join("target/kiosk-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let config = json!({
        "base_url": app.base_url,
        "artifacts": artifacts,
        "chromium": CHROMIUM,
        "store_id": STORE,
        "store_name": "Warszawa Centrum",
        "store_token": token(&store_device(STORE)),
        "customer_token": token(&customer(&ada)),
        "pickup": {"code": ready_code, "order_id": ready, "line_names": [SKU]},
        "other_store": {"code": elsewhere_code, "store_id": OTHER_STORE},
        "not_ready": {"code": waiting_code},
        "expired": {"code": expired_code},
        "forged": {"code": forged_code},
        "unknown": {"code": "HELLO-THIS-IS-NOT-A-CODE"},
        "identity": {
            "code": identity_code, "expired_code": expired_identity, "customer_id": bea, "order_id": bea_ready, "coupon_id": coupon,
            "return_case": return_case.as_ref().map(|(_, case, _)| case.clone()),
        },
        "handoff": {"code": handoff_code, "total": frozen["totals"]["total"], "skus": ["TEE-ORG-BLK-M", "DRS-LIN-NAV-M"]},
        "return": return_case.as_ref().map(|(code, case, _)| json!({"code": code, "case_number": case})),
    });
    let config_path = artifacts.join("config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    let run = Command::new("node")
        .arg(kiosk.join("scenarios.mjs"))
        .env("KIOSK_CONFIG", &config_path)
        .current_dir(&kiosk)
        .output()
        .expect("node runs (install Node.js 20+)");
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    println!("{out}");
    assert!(
        run.status.success(),
        "kiosk scenarios failed ({}):\n{out}\n{err}",
        run.status
    );

    // What changed on the server.
    assert_eq!(
        order_status(&app, &ready),
        "picked_up",
        "the kiosk handed the order over"
    );
    assert_eq!(
        order_status(&app, &elsewhere),
        "ready_for_pickup",
        "another store's order is untouched"
    );
    assert_eq!(
        order_status(&app, &waiting),
        "accepted",
        "an order not ready is untouched"
    );
    assert_eq!(
        order_status(&app, &bea_ready),
        "ready_for_pickup",
        "looking a customer up changes nothing"
    );
    let checkout_id = frozen["checkout_id"].as_str().unwrap();
    let paid = ok(
        app.get(
            &format!("/api/carts/checkouts/{checkout_id}"),
            Some(&token(&ops())),
        ),
        200,
    );
    assert_eq!(paid["status"], "completed");
    assert_eq!(paid["completed_by"], STORE);
    assert_eq!(
        on_hand(&app, STORE, SKU),
        stock_before - 1,
        "the handed-over unit left the shelf"
    );
    if let Some((_, case, who)) = &return_case {
        let listed = ok(
            app.get(
                &format!("/api/returns?customer_id={who}"),
                Some(&token(&ops())),
            ),
            200,
        );
        let rma = listed["returns"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["case_number"] == case.as_str()))
            .unwrap_or_else(|| panic!("case {case} in {listed}"));
        assert_eq!(
            rma["status"], "refunded",
            "received, then refunded from the kiosk: {rma}"
        );
        assert_eq!(
            on_hand(&app, STORE, RETURNED),
            returned_before + 1,
            "the returned unit is back on this store's shelf"
        );
    }
    let shots = std::fs::read_dir(&artifacts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert!(
        shots >= 15,
        "a screenshot per scenario in {}: {shots}",
        artifacts.display()
    );
}

//! Return intake (issue 8) over HTTP: golden path 4 (bought online, opened
//! in the app, QR scanned in another store, received, refunded exactly,
//! that store's stock up by one), an exchange for another size that
//! reserves the replacement, and ten concurrent intakes of one QR.

use blackbox_tests::{TestApp, customer, ops, seeded_app, store_device, token, workspace_root};
use serde_json::{Value, json};

/// The demo retailer and its stock.
fn stocked_app() -> TestApp {
    let app = seeded_app();
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).unwrap();
    let reply = app.send(
        "POST",
        "/api/availability/feed",
        Some(&token(&ops())),
        &[],
        Some(&stock),
    );
    assert_eq!(reply.status, 200, "stock feed: {}", reply.text());
    app
}

/// A click & collect order at WAW-01 placed in the app and collected.
fn collected_order(app: &TestApp, who: &str, sku: &str, quantity: u32) -> String {
    let body = json!({"store_id": "WAW-01", "lines": [{"sku": sku, "quantity": quantity}]});
    let reply = app.post("/api/reservations", Some(&token(&customer(who))), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reservation = reply.json()["reservation_id"].as_str().unwrap().to_owned();
    let body = json!({"fulfilment": "click_and_collect", "reservation_id": reservation, "locale": "en", "channel": "app"});
    let reply = app.post("/api/orders", Some(&token(&customer(who))), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let order = reply.json()["order_id"].as_str().unwrap().to_owned();
    let till = token(&store_device("WAW-01"));
    for status in ["accepted", "picking", "ready_for_pickup"] {
        let reply = app.post(
            &format!("/api/orders/{order}/transitions"),
            Some(&till),
            &json!({"status": status}),
        );
        assert_eq!(reply.status, 200, "{status}: {}", reply.text());
    }
    let code = app
        .get(
            &format!("/api/orders/{order}/pickup-code"),
            Some(&token(&customer(who))),
        )
        .json();
    let reply = app.post(
        "/api/orders/pickup-handovers",
        Some(&till),
        &json!({"code": code["code"]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    order
}

fn on_hand(app: &TestApp, store: &str, sku: &str) -> i64 {
    let shelf = app.get(
        &format!("/api/stores/{store}/stock/{sku}"),
        Some(&token(&ops())),
    );
    assert_eq!(shelf.status, 200, "{}", shelf.text());
    shelf.json()["on_hand"].as_i64().unwrap()
}

fn open(app: &TestApp, who: &str, order: &str, sku: &str, quantity: u32) -> Value {
    let body = json!({"order_id": order, "lines": [{"sku": sku, "quantity": quantity, "reason": "too_small"}], "refund_method": "original_payment"});
    let reply = app.post("/api/returns", Some(&token(&customer(who))), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

#[test]
fn golden_path_4_bought_online_returned_in_another_store_refunded_exactly_and_restocked() {
    let app = stocked_app();
    let order = collected_order(&app, "C-4004", "TEE-ORG-BLK-M", 2);
    let rma = open(&app, "C-4004", &order, "TEE-ORG-BLK-M", 1);
    assert_eq!(rma["status"], "opened");
    assert_eq!(rma["customer_id"], "C-4004");
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
    let again = app
        .get(
            &format!("/api/returns/{case}/return-code"),
            Some(&token(&customer("C-4004"))),
        )
        .json();
    assert_eq!(
        again["code"], rma["return_code"]["code"],
        "the app shows the same code every time"
    );

    let kiosk = token(&store_device("WAW-02"));
    let code = json!({"code": rma["return_code"]["code"]});
    let before = on_hand(&app, "WAW-02", "TEE-ORG-BLK-M");
    let scanned = app.post("/api/returns/lookups", Some(&kiosk), &code);
    assert_eq!(scanned.status, 200, "{}", scanned.text());
    assert_eq!(scanned.json()["case_number"], case.as_str());
    let received = app.post("/api/returns/intakes", Some(&kiosk), &code);
    assert_eq!(received.status, 200, "{}", received.text());
    assert_eq!(received.json()["status"], "received");
    assert_eq!(received.json()["received"]["store_id"], "WAW-02");
    assert_eq!(
        on_hand(&app, "WAW-02", "TEE-ORG-BLK-M"),
        before + 1,
        "the sellable unit is back on that store's shelf"
    );
    let reused = app
        .post("/api/returns/intakes", Some(&kiosk), &code)
        .problem(409);
    assert_eq!(
        reused["type"],
        "urn:omnichannel-edge:problem:already-received"
    );
    assert_eq!(reused["received_store_id"], "WAW-02");

    let refunded = app.post(
        &format!("/api/returns/{case}/refund"),
        Some(&kiosk),
        &json!({"note": "card refund"}),
    );
    assert_eq!(refunded.status, 200, "{}", refunded.text());
    assert_eq!(
        refunded.json()["refunded"]["amount"],
        json!({"amount": "59.99", "currency": "PLN"})
    );
    let closed = app.post(
        &format!("/api/returns/{case}/close"),
        Some(&kiosk),
        &json!({}),
    );
    assert_eq!(closed.status, 200, "{}", closed.text());
    let seen = app
        .get(
            &format!("/api/returns/{case}"),
            Some(&token(&customer("C-4004"))),
        )
        .json();
    let steps: Vec<(&str, &str)> = seen["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["status"].as_str().unwrap(),
                h["channel"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("opened", "app"),
            ("received", "pos"),
            ("refunded", "pos"),
            ("closed", "pos")
        ]
    );
    let outbox = app.get(
        &format!("/api/notifications/outbox?order_id={case}"),
        Some(&token(&ops())),
    );
    assert_eq!(outbox.status, 200, "{}", outbox.text());
}

#[test]
fn bad_input_is_refused_with_a_problem_and_changes_nothing() {
    let app = stocked_app();
    let order = collected_order(&app, "C-4005", "TEE-ORG-BLK-M", 1);
    let who = token(&customer("C-4005"));
    let too_many = json!({"order_id": order, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 2}]});
    assert_eq!(
        app.post("/api/returns", Some(&who), &too_many).problem(422)["errors"][0]["code"],
        "exceeds_returnable"
    );
    let unknown = json!({"order_id": "ORD-0000000000000000", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]});
    app.post("/api/returns", Some(&who), &unknown).problem(404);
    let someone_else =
        json!({"order_id": order, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]});
    app.post(
        "/api/returns",
        Some(&token(&customer("C-9999"))),
        &someone_else,
    )
    .problem(404);
    let malformed = app.send(
        "POST",
        "/api/returns",
        Some(&who),
        &[("content-type", "application/json")],
        Some(b"{\"order_id\":"),
    );
    malformed.problem(400);
    let forged = json!({"code": "AQAAAABmb3JnZWQtY29kZS1hYWFhYWFhYWFhYWFh"});
    app.post(
        "/api/returns/intakes",
        Some(&token(&store_device("WAW-01"))),
        &forged,
    )
    .problem(403);
    let rma = open(&app, "C-4005", &order, "TEE-ORG-BLK-M", 1);
    let case = rma["case_number"].as_str().unwrap();
    let received = app.post(
        "/api/returns/intakes",
        Some(&token(&store_device("WAW-01"))),
        &json!({"code": rma["return_code"]["code"]}),
    );
    assert_eq!(received.status, 200, "{}", received.text());
    let wrong_store = app.post(
        &format!("/api/returns/{case}/refund"),
        Some(&token(&store_device("KRK-01"))),
        &json!({}),
    );
    assert_eq!(
        wrong_store.problem(403)["type"],
        "urn:omnichannel-edge:problem:wrong-store"
    );
    let listed = app
        .get(
            &format!("/api/returns?order_id={order}"),
            Some(&token(&ops())),
        )
        .json();
    assert_eq!(listed["count"], 1, "only the one good return exists");
    assert_eq!(
        listed["returns"][0]["status"], "received",
        "the refused refund changed nothing"
    );
}

#[test]
fn an_exchange_for_another_size_reserves_the_replacement_at_the_intake_store() {
    let app = stocked_app();
    let order = collected_order(&app, "C-4006", "TEE-ORG-BLK-M", 1);
    let rma = open(&app, "C-4006", &order, "TEE-ORG-BLK-M", 1);
    let case = rma["case_number"].as_str().unwrap();
    let kiosk = token(&store_device("WAW-02"));
    let received = app.post(
        "/api/returns/intakes",
        Some(&kiosk),
        &json!({"code": rma["return_code"]["code"], "channel": "kiosk"}),
    );
    assert_eq!(received.status, 200, "{}", received.text());
    let before = app
        .get(
            "/api/stores/WAW-02/stock/TEE-ORG-BLK-L",
            Some(&token(&ops())),
        )
        .json();
    let body = json!({"lines": [{"sku": "TEE-ORG-BLK-M", "replacement_sku": "TEE-ORG-BLK-L", "quantity": 1}]});
    let swapped = app.post(
        &format!("/api/returns/{case}/exchange"),
        Some(&kiosk),
        &body,
    );
    assert_eq!(swapped.status, 200, "{}", swapped.text());
    let exchange = &swapped.json()["exchange"];
    assert_eq!(exchange["store_id"], "WAW-02");
    assert!(
        exchange["reservation_id"]
            .as_str()
            .unwrap()
            .starts_with("RSV-")
    );
    assert_eq!(
        exchange["price_difference"],
        json!({"amount": "0.00", "currency": "PLN"})
    );
    let after = app
        .get(
            "/api/stores/WAW-02/stock/TEE-ORG-BLK-L",
            Some(&token(&ops())),
        )
        .json();
    assert_eq!(
        after["reserved"].as_i64().unwrap(),
        before["reserved"].as_i64().unwrap() + 1,
        "{after}"
    );
}

#[test]
fn ten_concurrent_intakes_of_one_qr_make_one_rma_received_and_restock_once() {
    let app = stocked_app();
    let order = collected_order(&app, "C-4007", "TEE-ORG-BLK-M", 1);
    let rma = open(&app, "C-4007", &order, "TEE-ORG-BLK-M", 1);
    let before = on_hand(&app, "KRK-01", "TEE-ORG-BLK-M");
    let kiosk = token(&store_device("KRK-01"));
    let body = json!({"code": rma["return_code"]["code"]});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| s.spawn(|| app.post("/api/returns/intakes", Some(&kiosk), &body).status))
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
    assert_eq!(on_hand(&app, "KRK-01", "TEE-ORG-BLK-M"), before + 1);
    let listed = app
        .get(
            &format!("/api/returns?order_id={order}"),
            Some(&token(&ops())),
        )
        .json();
    assert_eq!(listed["count"], 1);
}

#[test]
fn an_exchange_for_another_size_at_the_same_list_price_keeps_the_sales_discount() {
    let app = stocked_app();
    let till = token(&store_device("WAW-01"));
    // Two pairs of jeans at 199.00 with 11.84 off the sale: each paid 193.08.
    let sale = json!({"currency": "PLN", "lines": [{"sku": "JNS-SLM-IND-30", "quantity": 2, "unit_price": "199.00"}], "order_discounts": ["11.84"]});
    let receipt = app.post("/api/returns/receipts", Some(&till), &sale);
    assert_eq!(receipt.status, 201, "{}", receipt.text());
    let receipt = receipt.json()["receipt_id"].as_str().unwrap().to_owned();
    let opened = app.post("/api/returns", Some(&till), &json!({"order_id": receipt, "lines": [{"sku": "JNS-SLM-IND-30", "quantity": 1}], "channel": "pos"}));
    assert_eq!(opened.status, 201, "{}", opened.text());
    let rma = opened.json();
    assert_eq!(rma["refund_total"]["amount"], "193.08");
    let case = rma["case_number"].as_str().unwrap().to_owned();
    let received = app.post(
        "/api/returns/intakes",
        Some(&till),
        &json!({"code": rma["return_code"]["code"]}),
    );
    assert_eq!(received.status, 200, "{}", received.text());
    let body = json!({"lines": [{"sku": "JNS-SLM-IND-30", "replacement_sku": "JNS-SLM-IND-34", "quantity": 1}]});
    let swapped = app.post(&format!("/api/returns/{case}/exchange"), Some(&till), &body);
    assert_eq!(swapped.status, 200, "{}", swapped.text());
    let swapped = swapped.json();
    let exchange = &swapped["exchange"];
    // Not 199.00 - 193.08 = 5.92: the same list price costs nothing.
    assert_eq!(
        exchange["price_difference"],
        json!({"amount": "0.00", "currency": "PLN"}),
        "{exchange}"
    );
    assert_eq!(exchange["settlement"], "none");
    assert_eq!(exchange["lines"][0]["returned_value"]["amount"], "193.08");
    assert_eq!(swapped["refunded"]["amount"]["amount"], "0.00");
}

#[test]
fn a_return_names_only_a_channel_its_caller_may_act_in_and_a_refused_claim_changes_nothing() {
    let app = stocked_app();
    let who = blackbox_tests::unique("C");
    let order = collected_order(&app, &who, "TEE-ORG-BLK-L", 6);
    let shopper = token(&customer(&who));
    let till = token(&store_device("WAW-01"));
    let staff = token(&ops());
    let channels = ["web", "app", "kiosk", "pos", "call_center", "back_office"];
    let callers: [(&str, &str, &[&str]); 3] = [
        ("customer", &shopper, &["web", "app"]),
        ("store device", &till, &["pos", "kiosk"]),
        ("ops", &staff, &["app", "back_office"]),
    ];
    let mut opened = 0;
    for (name, caller, allowed) in callers {
        for channel in channels {
            // Ops may use every channel; two are enough to show it, and the
            // order has six units.
            if name == "ops" && !allowed.contains(&channel) {
                continue;
            }
            let body = json!({"order_id": order, "lines": [{"sku": "TEE-ORG-BLK-L", "quantity": 1}], "channel": channel});
            let reply = app.post("/api/returns", Some(caller), &body);
            if allowed.contains(&channel) {
                assert_eq!(reply.status, 201, "{name} in {channel}: {}", reply.text());
                assert_eq!(reply.json()["opened_channel"], channel);
                opened += 1;
            } else {
                let problem = reply.problem(403);
                assert_eq!(
                    problem["type"], "urn:omnichannel-edge:problem:channel-not-allowed",
                    "{name} in {channel}"
                );
            }
        }
    }
    let listed = app
        .get(&format!("/api/returns?order_id={order}"), Some(&staff))
        .json();
    assert_eq!(listed["count"], opened, "the refused claims opened nothing");
    // An intake claiming a remote channel is refused before the code is used.
    let second = collected_order(&app, &who, "TEE-ORG-BLK-M", 1);
    let rma = open(&app, &who, &second, "TEE-ORG-BLK-M", 1);
    let case = rma["case_number"].as_str().unwrap().to_owned();
    let kiosk = token(&store_device("WAW-02"));
    let before = on_hand(&app, "WAW-02", "TEE-ORG-BLK-M");
    let refused = app.post(
        "/api/returns/intakes",
        Some(&kiosk),
        &json!({"code": rma["return_code"]["code"], "channel": "web"}),
    );
    assert_eq!(
        refused.problem(403)["allowed_channels"],
        json!(["pos", "kiosk"])
    );
    assert_eq!(
        on_hand(&app, "WAW-02", "TEE-ORG-BLK-M"),
        before,
        "nothing restocked"
    );
    let seen = app
        .get(&format!("/api/returns/{case}"), Some(&staff))
        .json();
    assert_eq!(seen["status"], "opened");
    let received = app.post(
        "/api/returns/intakes",
        Some(&kiosk),
        &json!({"code": rma["return_code"]["code"], "channel": "kiosk"}),
    );
    assert_eq!(received.status, 200, "{}", received.text());
    // A staff move in the back office's channel is the operators' alone.
    app.post(
        &format!("/api/returns/{case}/refund"),
        Some(&kiosk),
        &json!({"channel": "back_office"}),
    )
    .problem(403);
    assert_eq!(
        app.get(&format!("/api/returns/{case}"), Some(&staff))
            .json()["status"],
        "received"
    );
    let refunded = app.post(
        &format!("/api/returns/{case}/refund"),
        Some(&staff),
        &json!({"channel": "back_office"}),
    );
    assert_eq!(refunded.status, 200, "{}", refunded.text());
}

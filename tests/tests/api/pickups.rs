//! Pickups end to end: an order from a reservation to the hand-over, with a
//! real Web Push receiver and a real webhook receiver on 127.0.0.1 started
//! by the test. The push messages are decrypted with Mozilla's `ece` (an
//! independent RFC 8291 implementation over OpenSSL) and the VAPID JWT and
//! webhook signature are verified with OpenSSL, not with the crates the
//! component uses.
//!
//! The push tests run the app from spin.toml rewritten for the test (see
//! [`push_app`]): the pickups component may reach 127.0.0.1, accepts http
//! push endpoints, and has VAPID and webhook settings; everything else is
//! the real manifest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blackbox_tests::{
    AppOptions, TestApp, customer, ops, private_app, seeded_app, store_device, token,
    workspace_root,
};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The VAPID key the test deployment signs with (RFC 8291's example key:
/// public test material) and its public half.
const VAPID_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
const VAPID_PUBLIC: &str =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const VAPID_SUBJECT: &str = "mailto:push-tests@omnichannel-edge.local";
const HOOK_SECRET: &str = "gateway-secret-of-at-least-32-bytes!";

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 receiver (a push service or the gateway): records
/// each POST and answers 201. Stops when dropped.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::on(
            TcpListener::bind("127.0.0.1:0").expect("bind a receiver"),
            201,
        )
    }

    /// A receiver answering every request with `status` (410: a push
    /// service whose subscription is gone).
    fn answering(status: u16) -> Receiver {
        Receiver::on(
            TcpListener::bind("127.0.0.1:0").expect("bind a receiver"),
            status,
        )
    }

    fn at(addr: SocketAddr) -> Receiver {
        Receiver::on(
            TcpListener::bind(addr).expect("rebind the receiver's port"),
            201,
        )
    }

    fn on(listener: TcpListener, status: u16) -> Receiver {
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (Arc::clone(&received), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(request) = serve(stream, status) {
                            log.lock().unwrap().push(request);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver {
            addr,
            received,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (delivery runs after the
    /// app's response, so it lags the test's request a little).
    fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one request (its Content-Length body) and answers 201.
fn serve(stream: TcpStream, status: u16) -> Option<Received> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    // As a push service does: exactly the declared length is the body. A
    // request without Content-Length (chunked) is refused with 411 and not
    // recorded, so every push test proves the header is sent.
    let mut stream = stream;
    let Some(length) = find("content-length") else {
        let _ = stream.write_all(
            b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        return None;
    };
    let mut body = vec![0; length.parse().ok()?];
    reader.read_exact(&mut body).ok()?;
    stream
        .write_all(
            format!("HTTP/1.1 {status} Answer\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    Some(Received {
        path,
        headers,
        body,
    })
}

/// A private app from spin.toml, rewritten so the pickups component may
/// reach 127.0.0.1 and accepts http push endpoints, with the test's VAPID
/// key and `gateway` as the webhook; the guest clock is movable.
fn push_app(gateway: &Receiver) -> Option<(tempfile::TempDir, TestApp)> {
    push_app_with(gateway, &[])
}

/// [`push_app`] with more Spin variables.
fn push_app_with(
    gateway: &Receiver,
    variables: &[(&str, &str)],
) -> Option<(tempfile::TempDir, TestApp)> {
    push_app_full(gateway, variables, &[])
}

/// [`push_app`] with more Spin variables and edge-host arguments.
fn push_app_full(
    gateway: &Receiver,
    variables: &[(&str, &str)],
    args: &[&str],
) -> Option<(tempfile::TempDir, TestApp)> {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("spin.toml")).expect("spin.toml");
    let target = format!("source = \"{}/target/", root.display());
    let mut rewritten = manifest.replace("source = \"target/", &target);
    let pickups = rewritten
        .find("[component.pickups]")
        .expect("a pickups component");
    let grant = rewritten[pickups..]
        .find("allowed_outbound_hosts = [")
        .expect("pickups' outbound hosts")
        + pickups;
    let end = rewritten[grant..].find(']').expect("the list's end") + grant + 1;
    rewritten.replace_range(
        grant..end,
        r#"allowed_outbound_hosts = ["http://127.0.0.1:*", "postgres://{{ database_host }}"]"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pickups-push.spin.toml");
    std::fs::write(&path, rewritten).unwrap();
    let variable = |assignment: String| ["--variable".to_owned(), assignment];
    let extra_args = [
        variable(format!("vapid_private_key={VAPID_PRIVATE}")),
        variable(format!("vapid_subject={VAPID_SUBJECT}")),
        variable(format!(
            "notification_webhook_url={}",
            gateway.url("/hooks/omni")
        )),
        variable(format!("notification_webhook_secret={HOOK_SECRET}")),
        variable("push_allow_http_endpoints=true".to_owned()),
    ]
    .into_iter()
    .chain(
        variables
            .iter()
            .map(|(name, value)| variable(format!("{name}={value}"))),
    )
    .flatten()
    .chain(args.iter().map(|a| (*a).to_owned()))
    .collect::<Vec<String>>();
    let app = private_app(AppOptions {
        manifest: Some(path),
        test_clock: true,
        extra_args,
        ..Default::default()
    })?;
    Some((dir, app))
}

/// The demo retailer and its stock.
fn seed(app: &TestApp) {
    app.seed_demo();
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).unwrap();
    let reply = app.send(
        "POST",
        "/api/availability/feed",
        Some(&token(&ops())),
        &[],
        Some(&stock),
    );
    assert_eq!(reply.status, 200, "stock feed: {}", reply.text());
}

/// A browser's push subscription: a fresh key pair and auth secret.
struct Browser {
    keys: Box<dyn ece::LocalKeyPair>,
    auth: [u8; 16],
    endpoint: String,
}

impl Browser {
    fn new(endpoint: String) -> Browser {
        let (keys, auth) = ece::generate_keypair_and_auth_secret().expect("ece keys");
        Browser {
            keys,
            auth,
            endpoint,
        }
    }

    fn subscribe(&self, app: &TestApp, who: &str) {
        let body = json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.keys.pub_as_raw().unwrap()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        });
        let reply = app.post(
            "/api/notifications/push-subscriptions",
            Some(&token(&customer(who))),
            &body,
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    /// Decrypts a received push with the independent implementation.
    fn read(&self, push: &Received) -> Value {
        assert_eq!(push.header("content-encoding"), Some("aes128gcm"));
        let plain = ece::decrypt(&self.keys.raw_components().unwrap(), &self.auth, &push.body)
            .expect("ece decrypts");
        serde_json::from_slice(&plain).expect("the payload is JSON")
    }
}

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// Verifies an RFC 8292 `Authorization: vapid t=<jwt>, k=<key>` header with
/// OpenSSL: an ES256 JWT for the endpoint's origin, signed by `k`.
fn verify_vapid(push: &Received, origin: &str) {
    let header = push.header("authorization").expect("a VAPID authorization");
    let (jwt, k) = header
        .strip_prefix("vapid t=")
        .and_then(|r| r.split_once(", k="))
        .expect("vapid t=..., k=...");
    assert_eq!(k, VAPID_PUBLIC);
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let head: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    assert_eq!(head["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    assert_eq!(claims["aud"], origin);
    assert_eq!(claims["sub"], VAPID_SUBJECT);
    let exp = claims["exp"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        exp > now && exp <= now + 24 * 3600 + 3600,
        "exp {exp} vs now {now}"
    );
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let point = EcPoint::from_bytes(&group, &b64(k), &mut ctx).unwrap();
    let key = EcKey::from_public_key(&group, &point).unwrap();
    let raw = b64(parts[2]);
    assert_eq!(raw.len(), 64, "JOSE ES256 signatures are r || s");
    let signature = EcdsaSig::from_private_components(
        BigNum::from_slice(&raw[..32]).unwrap(),
        BigNum::from_slice(&raw[32..]).unwrap(),
    )
    .unwrap();
    let digest = openssl::sha::sha256(format!("{}.{}", parts[0], parts[1]).as_bytes());
    assert!(
        signature.verify(&digest, &key).unwrap(),
        "the VAPID signature verifies"
    );
}

/// Verifies the webhook's HMAC-SHA256 over `timestamp.body` with OpenSSL.
fn verify_webhook(call: &Received) -> Value {
    let timestamp = call.header("webhook-timestamp").expect("a timestamp");
    let signature = call.header("webhook-signature").expect("a signature");
    let key = PKey::hmac(HOOK_SECRET.as_bytes()).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(timestamp.as_bytes()).unwrap();
    signer.update(b".").unwrap();
    signer.update(&call.body).unwrap();
    let expected: String = signer
        .sign_to_vec()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        signature,
        format!("v1={expected}"),
        "the webhook signature verifies"
    );
    assert!(call.header("webhook-id").is_some());
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    // The contract the pickups document publishes under `webhooks`.
    blackbox_tests::openapi::specs().check_schema(
        "pickups",
        "/webhooks/notification/post/requestBody/content/application~1json/schema",
        &body,
    );
    body
}

fn reserve(app: &TestApp, who: &str) -> String {
    let body = json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]});
    let reply = app.post("/api/reservations", Some(&token(&customer(who))), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["reservation_id"].as_str().unwrap().to_owned()
}

fn place(app: &TestApp, who: &str) -> String {
    let reservation = reserve(app, who);
    let body = json!({"fulfilment": "click_and_collect", "reservation_id": reservation, "locale": "en", "channel": "app"});
    let reply = app.post("/api/orders", Some(&token(&customer(who))), &body);
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["order_id"].as_str().unwrap().to_owned()
}

fn make_ready(app: &TestApp, order: &str) {
    let till = token(&store_device("WAW-01"));
    for status in ["accepted", "picking", "ready_for_pickup"] {
        let reply = app.post(
            &format!("/api/orders/{order}/transitions"),
            Some(&till),
            &json!({"status": status}),
        );
        assert_eq!(reply.status, 200, "{status}: {}", reply.text());
    }
}

fn outbox(app: &TestApp, order: &str) -> Vec<Value> {
    let reply = app.get(
        &format!("/api/notifications/outbox?order_id={order}"),
        Some(&blackbox_tests::token_at(
            &ops(),
            chrono::Utc::now(),
            chrono::Duration::days(10),
        )),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["entries"].as_array().unwrap().clone()
}

#[test]
fn eight_devices_moving_one_order_at_once_move_it_once_and_queue_one_notice() {
    // Variables through the environment, not edge host flags, and no test
    // clock: so this runs under real Spin too when the suite does.
    let gateway = Receiver::start();
    let options = AppOptions {
        env: vec![
            (
                "SPIN_VARIABLE_NOTIFICATION_WEBHOOK_URL".into(),
                gateway.url("/hooks/omni"),
            ),
            (
                "SPIN_VARIABLE_NOTIFICATION_WEBHOOK_SECRET".into(),
                HOOK_SECRET.into(),
            ),
            (
                "SPIN_VARIABLE_NOTIFICATION_GATEWAY_ORIGIN".into(),
                format!("http://{}", gateway.addr),
            ),
        ],
        ..Default::default()
    };
    let Some(app) = private_app(options) else {
        return;
    };
    seed(&app);
    let who = blackbox_tests::unique("C");
    let order = place(&app, &who);
    let till = token(&store_device("WAW-01"));
    for status in ["accepted", "picking"] {
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
    let before = outbox(&app, &order).len();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let devices: Vec<_> = (0..8)
            .map(|_| {
                let (app, till, order) = (&app, &till, &order);
                scope.spawn(move || {
                    app.post(
                        &format!("/api/orders/{order}/transitions"),
                        Some(till),
                        &json!({"status": "ready_for_pickup"}),
                    )
                    .status
                })
            })
            .collect();
        devices.into_iter().map(|d| d.join().unwrap()).collect()
    });
    let moved = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(moved, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "the others are refused as illegal from ready: {statuses:?}"
    );
    let history = app
        .get(
            &format!("/api/orders/{order}/history"),
            Some(&token(&ops())),
        )
        .json();
    let ready = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["to"] == "ready_for_pickup")
        .count();
    assert_eq!(ready, 1, "{history}");
    let queued = outbox(&app, &order);
    let ready_notices = queued
        .iter()
        .filter(|n| n["event"] == "ready_for_pickup")
        .count();
    assert_eq!(
        (queued.len() - before, ready_notices),
        (1, 1),
        "one webhook row for the one move: {queued:?}"
    );
}

#[test]
fn golden_path_from_reservation_to_pickup_pushes_ready_to_the_app_and_the_gateway() {
    let push_service = Receiver::start();
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app(&gateway) else {
        return;
    };
    seed(&app);
    let browser = Browser::new(push_service.url("/wpush/v2/device-1"));
    browser.subscribe(&app, "C-1001");
    let order = place(&app, "C-1001");
    make_ready(&app, &order);

    let pushes = push_service.wait_for(2);
    assert_eq!(
        pushes.len(),
        2,
        "placed and ready, nothing for accepted or picking"
    );
    let messages: Vec<Value> = pushes.iter().map(|p| browser.read(p)).collect();
    let ready = messages
        .iter()
        .find(|m| m["event"] == "ready_for_pickup")
        .expect("the ready notification");
    assert_eq!(ready["order_id"], order.as_str());
    assert_eq!(
        ready["title"],
        format!("Your order {order} is ready for pickup")
    );
    assert!(
        ready["body"]
            .as_str()
            .unwrap()
            .starts_with("Collect it at Warszawa Centrum"),
        "{ready}"
    );
    let ready_push = &pushes[messages
        .iter()
        .position(|m| m["event"] == "ready_for_pickup")
        .unwrap()];
    assert_eq!(ready_push.path, "/wpush/v2/device-1");
    assert_eq!(ready_push.header("urgency"), Some("high"));
    assert!(ready_push.header("ttl").is_some());
    verify_vapid(ready_push, &format!("http://{}", push_service.addr));

    let calls = gateway.wait_for(2);
    let hooks: Vec<Value> = calls.iter().map(verify_webhook).collect();
    let hook = hooks
        .iter()
        .find(|h| h["event"] == "ready_for_pickup")
        .expect("the gateway was told too");
    assert_eq!(
        hook["message"]["title"], ready["title"],
        "the same words in every channel"
    );
    assert_eq!(hook["message"]["body"], ready["body"]);
    assert_eq!(hook["customer_id"], "C-1001");

    let code = app.get(
        &format!("/api/orders/{order}/pickup-code"),
        Some(&token(&customer("C-1001"))),
    );
    assert_eq!(code.status, 200, "{}", code.text());
    let code = code.json();
    assert!(
        code["qr_svg"].as_str().unwrap().starts_with("<?xml")
            || code["qr_svg"].as_str().unwrap().contains("<svg")
    );
    let kiosk = token(&store_device("WAW-01"));
    let scan = json!({"code": code["code"], "channel": "kiosk"});
    let collected = app.post("/api/orders/pickup-handovers", Some(&kiosk), &scan);
    assert_eq!(collected.status, 200, "{}", collected.text());
    assert_eq!(collected.json()["status"], "picked_up");
    let again = app.post("/api/orders/pickup-handovers", Some(&kiosk), &scan);
    let refused = again.problem(409);
    assert_eq!(
        refused["type"],
        "urn:omnichannel-edge:problem:already-collected"
    );
    assert_eq!(refused["collected_store_id"], "WAW-01");

    let shelf = app.get(
        "/api/stores/WAW-01/stock/TEE-ORG-BLK-M",
        Some(&token(&ops())),
    );
    assert_eq!(shelf.status, 200, "{}", shelf.text());
    assert_eq!(
        shelf.json()["on_hand"],
        11,
        "the collected unit left the shelf count: {}",
        shelf.text()
    );
    let history = app
        .get(
            &format!("/api/orders/{order}/history"),
            Some(&token(&customer("C-1001"))),
        )
        .json();
    let statuses: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
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
}

#[test]
fn with_the_push_receiver_down_the_sweep_later_delivers_each_notification_exactly_once() {
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app(&gateway) else {
        return;
    };
    seed(&app);
    // A port with nothing listening: the push service is down.
    let down = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let browser = Browser::new(format!("http://{down}/wpush/v2/device-2"));
    browser.subscribe(&app, "C-2002");
    let order = place(&app, "C-2002");
    make_ready(&app, &order);

    // Both first attempts (placed, ready) have failed and are backing off.
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let pushes: Vec<Value> = outbox(&app, &order)
            .into_iter()
            .filter(|e| e["channel"] == "web_push")
            .collect();
        // Settled: the attempt is over (its error recorded), not in flight.
        let settled = |e: &Value| {
            e["attempts"] == 1 && e["state"] == "pending" && e["last_error"].is_string()
        };
        if pushes.len() == 2 && pushes.iter().all(settled) {
            break pushes;
        }
        assert!(
            Instant::now() < deadline,
            "first attempts did not fail as expected: {pushes:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        failed.iter().all(|e| e["last_status"].is_null()),
        "no answer at all: {failed:?}"
    );

    let push_service = Receiver::at(down);
    let ops_token = token(&ops());
    let clock = app.post("/_edge/clock", None, &json!({"offset_seconds": 600}));
    assert_eq!(clock.status, 200, "{}", clock.text());
    let sweep = app.post("/api/orders/sweep", Some(&ops_token), &json!({}));
    assert_eq!(sweep.status, 200, "{}", sweep.text());
    assert!(
        sweep.json()["notifications_due"].as_i64().unwrap() >= 2,
        "{}",
        sweep.text()
    );
    let pushes = push_service.wait_for(2);
    assert_eq!(pushes.len(), 2);

    let again = app.post("/api/orders/sweep", Some(&ops_token), &json!({}));
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["notifications_due"], 0, "{}", again.text());
    std::thread::sleep(Duration::from_millis(500));
    let pushes = push_service.received();
    let mut events: Vec<String> = pushes
        .iter()
        .map(|p| browser.read(p)["event"].as_str().unwrap().to_owned())
        .collect();
    events.sort();
    assert_eq!(
        events,
        ["placed", "ready_for_pickup"],
        "exactly once per (order, status, channel)"
    );
    let rows: Vec<Value> = outbox(&app, &order)
        .into_iter()
        .filter(|e| e["channel"] == "web_push")
        .collect();
    assert!(
        rows.iter()
            .all(|e| e["state"] == "delivered" && e["attempts"] == 2),
        "{rows:?}"
    );
}

#[test]
fn an_expired_pickup_code_is_refused_and_the_sweep_returns_the_stock_to_sale() {
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app(&gateway) else {
        return;
    };
    seed(&app);
    let order = place(&app, "C-3003");
    make_ready(&app, &order);
    let code = app
        .get(
            &format!("/api/orders/{order}/pickup-code"),
            Some(&token(&customer("C-3003"))),
        )
        .json();
    // Eight days on: tokens are minted at the guest's new now.
    let clock = app.post(
        "/_edge/clock",
        None,
        &json!({"offset_seconds": 8 * 24 * 3600}),
    );
    assert_eq!(clock.status, 200);
    let later = chrono::Utc::now() + chrono::Duration::days(8);
    let kiosk =
        blackbox_tests::token_at(&store_device("WAW-01"), later, chrono::Duration::hours(1));
    let scan = app.post(
        "/api/orders/pickup-handovers",
        Some(&kiosk),
        &json!({"code": code["code"]}),
    );
    assert_eq!(
        scan.problem(410)["type"],
        "urn:omnichannel-edge:problem:pickup-code-expired"
    );
    let ops_token = blackbox_tests::token_at(&ops(), later, chrono::Duration::hours(1));
    let sweep = app.post("/api/orders/sweep", Some(&ops_token), &json!({}));
    assert_eq!(sweep.json()["expired"], 1, "{}", sweep.text());
    assert_eq!(
        app.post("/api/orders/sweep", Some(&ops_token), &json!({}))
            .json()["expired"],
        0
    );
    let stored = app
        .get(&format!("/api/orders/{order}"), Some(&ops_token))
        .json();
    assert_eq!(stored["status"], "expired");
    let shelf = app
        .get("/api/stores/WAW-01/stock/TEE-ORG-BLK-M", Some(&ops_token))
        .json();
    assert_eq!(
        shelf["reserved"], 0,
        "the reserved unit is back on sale: {shelf}"
    );
}

#[test]
fn bad_input_is_refused_with_a_problem_and_changes_nothing() {
    let app = seeded_app();
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).unwrap();
    app.send(
        "POST",
        "/api/availability/feed",
        Some(&token(&ops())),
        &[],
        Some(&stock),
    );
    let order = place(&app, "C-4004");
    let till = token(&store_device("WAW-01"));
    let problem_type = |reply: blackbox_tests::Reply, status: u16| {
        reply.problem(status)["type"].as_str().unwrap().to_owned()
    };

    let unknown = app.get("/api/orders/ORD-0000000000000000", Some(&token(&ops())));
    assert_eq!(
        problem_type(unknown, 404),
        "urn:omnichannel-edge:problem:not-found"
    );
    let illegal = app.post(
        &format!("/api/orders/{order}/transitions"),
        Some(&till),
        &json!({"status": "picked_up"}),
    );
    let body = illegal.problem(409);
    assert_eq!(body["allowed_next"], json!(["accepted", "cancelled"]));
    let other_store = app.post(
        &format!("/api/orders/{order}/transitions"),
        Some(&token(&store_device("KRK-01"))),
        &json!({"status": "accepted"}),
    );
    assert_eq!(
        problem_type(other_store, 403),
        "urn:omnichannel-edge:problem:wrong-store"
    );
    let forged = app.post(
        "/api/orders/pickup-handovers",
        Some(&till),
        &json!({"code": "AQAAAABmb3JnZWQtY29kZS1hYWFhYWFhYWFhYWFh"}),
    );
    assert_eq!(
        problem_type(forged, 403),
        "urn:omnichannel-edge:problem:pickup-code-invalid"
    );
    let malformed = app.send(
        "POST",
        &format!("/api/orders/{order}/transitions"),
        Some(&till),
        &[],
        Some(b"{\"status\": \"accepted\""),
    );
    assert_eq!(
        problem_type(malformed, 400),
        "urn:omnichannel-edge:problem:malformed-json"
    );
    let me = token(&customer("C-4004"));
    let not_https = app.post(
        "/api/notifications/push-subscriptions",
        Some(&me),
        &json!({"endpoint": "http://push.example.net/x", "keys": {"p256dh": VAPID_PUBLIC, "auth": "BTBZMqHH6r4Tts7J_aSIgg"}}),
    );
    assert_eq!(
        problem_type(not_https, 422),
        "urn:omnichannel-edge:problem:invalid-push-subscription"
    );
    let short_key = app.post(
        "/api/notifications/push-subscriptions",
        Some(&me),
        &json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "BAAA", "auth": "BTBZMqHH6r4Tts7J_aSIgg"}}),
    );
    assert_eq!(
        problem_type(short_key, 422),
        "urn:omnichannel-edge:problem:invalid-push-subscription"
    );
    let short_auth = app.post(
        "/api/notifications/push-subscriptions",
        Some(&me),
        &json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": VAPID_PUBLIC, "auth": "AAAA"}}),
    );
    assert_eq!(
        problem_type(short_auth, 422),
        "urn:omnichannel-edge:problem:invalid-push-subscription"
    );
    let someone_else = app.get(
        &format!("/api/orders/{order}"),
        Some(&token(&customer("C-9999"))),
    );
    assert_eq!(
        problem_type(someone_else, 404),
        "urn:omnichannel-edge:problem:not-found"
    );

    let stored = app
        .get(&format!("/api/orders/{order}"), Some(&token(&ops())))
        .json();
    assert_eq!(
        (stored["status"].clone(), stored["version"].clone()),
        (json!("placed"), json!(1)),
        "nothing changed"
    );
    let subscriptions = app
        .get("/api/notifications/push-subscriptions", Some(&me))
        .json();
    assert_eq!(subscriptions["subscriptions"], json!([]));
    let queued = outbox(&app, &order);
    assert!(
        queued.iter().all(|e| e["event"] == "placed"),
        "nothing was queued by refused requests: {queued:?}"
    );
}

/// A push service that accepts connections and never answers.
struct Hanging {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Hanging {
    fn start() -> Hanging {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Hanging { addr, stop }
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn one_push_service_that_never_answers_holds_up_no_other_customer_and_reaches_its_attempt_limit() {
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app_with(&gateway, &[("notification_timeout_ms", "1000")])
    else {
        return;
    };
    seed(&app);
    let restock = json!({"feeds": [{"store_id": "WAW-01", "sequence": 1_000_000, "lines": [{"sku": "TEE-ORG-BLK-M", "on_hand": 100}]}]});
    assert_eq!(
        app.post("/api/availability/feed", Some(&token(&ops())), &restock)
            .status,
        200
    );
    let hanging = Hanging::start();
    // The healthy push service is down while the orders are placed.
    let down = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let customers: Vec<String> = (0..20).map(|i| format!("C-HANG-{i}")).collect();
    let browsers: Vec<Browser> = customers
        .iter()
        .map(|c| Browser::new(format!("http://{down}/wpush/{c}")))
        .collect();
    for (customer, browser) in customers.iter().zip(&browsers) {
        browser.subscribe(&app, customer);
    }
    Browser::new(format!("http://{}/wpush/stuck", hanging.addr)).subscribe(&app, "C-HANG-STUCK");
    let orders: Vec<String> = customers.iter().map(|c| place(&app, c)).collect();
    let stuck = place(&app, "C-HANG-STUCK");
    // Every first attempt has ended (refused, or timed out after 1 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pending: usize = orders
            .iter()
            .chain([&stuck])
            .map(|o| {
                outbox(&app, o)
                    .into_iter()
                    .filter(|e| {
                        e["channel"] == "web_push"
                            && e["attempts"] == 1
                            && e["last_error"].is_string()
                    })
                    .count()
            })
            .sum();
        if pending == 21 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "first attempts did not end: {pending} of 21"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let push_service = Receiver::at(down);
    // The guest clock travels days ahead: one token valid the whole way.
    let ops_token =
        blackbox_tests::token_at(&ops(), chrono::Utc::now(), chrono::Duration::days(10));
    assert_eq!(
        app.post("/_edge/clock", None, &json!({"offset_seconds": 600}))
            .status,
        200
    );
    let started = Instant::now();
    let sweep = app.post("/api/orders/sweep", Some(&ops_token), &json!({}));
    assert_eq!(sweep.status, 200, "{}", sweep.text());
    let pushes = push_service.wait_for(20);
    let took = started.elapsed();
    assert_eq!(
        pushes.len(),
        20,
        "every healthy customer's notice in the next sweep"
    );
    assert!(
        took < Duration::from_secs(10),
        "the sweep delivered within its budget: {took:?}"
    );
    for push in &pushes {
        let who = push.path.rsplit('/').next().unwrap();
        let browser = &browsers[customers.iter().position(|c| c == who).unwrap()];
        assert_eq!(browser.read(push)["event"], "placed");
    }

    // The stuck row: each sweep counts an attempt, until the limit.
    let mut offset = 600;
    let last = loop {
        let row = outbox(&app, &stuck)
            .into_iter()
            .find(|e| e["channel"] == "web_push")
            .unwrap();
        if row["state"] != "pending" || offset > 600 + 20 * 25_200 {
            break row;
        }
        offset += 25_200;
        assert_eq!(
            app.post("/_edge/clock", None, &json!({"offset_seconds": offset}))
                .status,
            200
        );
        assert_eq!(
            app.post("/api/orders/sweep", Some(&ops_token), &json!({}))
                .status,
            200
        );
        std::thread::sleep(Duration::from_millis(1300));
    };
    assert_eq!(last["state"], "failed", "{last}");
    assert_eq!(last["attempts"], 8, "{last}");
    eprintln!(
        "hanging push service: 20 of 20 healthy notices in {took:?}; the stuck one failed after {} attempts",
        last["attempts"]
    );
}

#[test]
fn a_store_device_sees_its_work_queue_soonest_due_first_with_the_sla_of_each_order() {
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app(&gateway) else {
        return;
    };
    seed(&app);
    let first = place(&app, "C-QUEUE-1");
    assert_eq!(
        app.post("/_edge/clock", None, &json!({"offset_seconds": 3600}))
            .status,
        200
    );
    let later = place(&app, "C-QUEUE-2");
    let ready = place(&app, "C-QUEUE-3");
    make_ready(&app, &ready);
    let till = blackbox_tests::token_at(
        &store_device("WAW-01"),
        chrono::Utc::now(),
        chrono::Duration::days(1),
    );
    let reply = app.get("/api/orders?queue=true", Some(&till));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let queue: Vec<Value> = reply.json()["orders"].as_array().unwrap().clone();
    let ids: Vec<&str> = queue
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&first.as_str()) && ids.contains(&later.as_str()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&ready.as_str()),
        "a ready order is no longer to prepare"
    );
    let due: Vec<&str> = queue
        .iter()
        .map(|o| o["ready_by"].as_str().unwrap())
        .collect();
    assert!(
        due.windows(2).all(|w| w[0] <= w[1]),
        "soonest due first: {due:?}"
    );
    assert!(
        queue
            .iter()
            .all(|o| o["sla"]["state"].is_string() && o["store"]["store_id"] == "WAW-01"),
        "{queue:?}"
    );
    app.get("/api/orders?queue=maybe", Some(&till)).problem(400);
}

#[test]
fn with_the_schedule_on_promises_keep_themselves_with_no_call_to_any_sweep_route() {
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app_full(&gateway, &[], &["--schedule-every-secs", "1"])
    else {
        return;
    };
    seed(&app);
    let placed = place(&app, "C-SCHED-1");
    let uncollected = place(&app, "C-SCHED-2");
    make_ready(&app, &uncollected);
    let ops_token =
        blackbox_tests::token_at(&ops(), chrono::Utc::now(), chrono::Duration::days(30));
    let order = |id: &str| {
        app.get(&format!("/api/orders/{id}"), Some(&ops_token))
            .json()
    };
    assert!(order(&placed)["sla"]["alerted_at"].is_null());
    // Past the SLA alert time of the placed order and the pickup window of
    // the ready one: the host's schedule runs the sweep, nobody else does.
    assert_eq!(
        app.post(
            "/_edge/clock",
            None,
            &json!({"offset_seconds": 15 * 86_400})
        )
        .status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (alerted, expired) = (order(&placed), order(&uncollected));
        if !alerted["sla"]["alerted_at"].is_null() && expired["status"] == "expired" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not swept by the schedule: {alerted} {expired}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let history = app
        .get(
            &format!("/api/orders/{uncollected}/history"),
            Some(&ops_token),
        )
        .text();
    assert!(
        history.contains("\"system\""),
        "the expiry was the system's: {history}"
    );
}

#[test]
fn a_410_from_the_push_service_is_recorded_on_its_row_and_forgets_the_subscription() {
    let gateway = Receiver::start();
    let Some((_manifest, app)) = push_app(&gateway) else {
        return;
    };
    seed(&app);
    let gone = Receiver::answering(410);
    Browser::new(gone.url("/wpush/gone")).subscribe(&app, "C-GONE-1");
    let order = place(&app, "C-GONE-1");
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let row = outbox(&app, &order)
            .into_iter()
            .find(|e| e["channel"] == "web_push")
            .expect("a push row");
        if row["state"] != "pending" {
            break row;
        }
        assert!(Instant::now() < deadline, "not settled: {row}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        (row["state"].as_str(), row["last_status"].as_i64()),
        (Some("dropped"), Some(410)),
        "{row}"
    );
    let subscriptions = app.get(
        "/api/notifications/push-subscriptions",
        Some(&token(&customer("C-GONE-1"))),
    );
    assert_eq!(subscriptions.status, 200, "{}", subscriptions.text());
    assert_eq!(
        subscriptions.json()["subscriptions"],
        json!([]),
        "the subscription is forgotten"
    );
}

//! A browser storefront on its own origin, in headless Chromium (issue 14):
//! from an allowed origin it creates a guest cart, adds to it with the guest
//! secret and `Prefer`, reads it and checks it out with `If-Match` and
//! `Idempotency-Key`, every call a real cross-origin request with its
//! preflight; from an origin the app does not allow, the browser blocks the
//! first call and nothing is created.

use blackbox_tests::{AppOptions, ops, private_app, token, workspace_root};
use serde_json::{Value, json};
use std::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_storefront_on_an_allowed_origin_uses_a_guest_cart_end_to_end_and_a_foreign_origin_is_blocked()
{
    let kiosk = workspace_root().join("tests/kiosk");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && kiosk
                .join("node_modules/playwright-core/package.json")
                .exists(),
        "the browser tests need Debian's chromium and tests/kiosk/node_modules: run `OMNI_SETUP_TESTS=1 source infra/setup.sh`"
    );
    let (allowed, foreign) = (free_port(), free_port());
    let options = AppOptions {
        env: vec![(
            "SPIN_VARIABLE_CORS_ORIGINS".into(),
            format!("http://localhost:{allowed}"),
        )],
        ..Default::default()
    };
    let Some(app) = private_app(options) else {
        return;
    };
    app.seed_demo();
    let artifacts = workspace_root().join("target/kiosk-artifacts");
    let config = json!({
        "api": app.base_url, "chromium": "/usr/bin/chromium", "allowed_port": allowed, "foreign_port": foreign,
        "sku": "TEE-ORG-BLK-M", "artifacts": artifacts,
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), config.to_string()).unwrap();
    let run = Command::new("node")
        .arg(kiosk.join("storefront-cors.mjs"))
        .env("STOREFRONT_CONFIG", file.path())
        .env("NODE_PATH", kiosk.join("node_modules"))
        .current_dir(&kiosk)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "storefront script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line");

    let ok = &seen["allowed"];
    assert_eq!(ok["error"], Value::Null, "{seen}");
    assert_eq!(
        (
            ok["create"].as_u64(),
            ok["add"].as_u64(),
            ok["read"].as_u64(),
            ok["checkout"].as_u64()
        ),
        (Some(201), Some(204), Some(200), Some(201)),
        "{seen}"
    );
    assert!(
        ok["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("/api/carts/")),
        "Location is exposed: {seen}"
    );
    assert!(
        ok["etag"].as_str().is_some_and(|e| e.starts_with("\"v")),
        "ETag is exposed: {seen}"
    );
    assert_eq!(ok["lines"], json!([["TEE-ORG-BLK-M", 2]]));
    let checkout = app.get(
        &format!(
            "/api/carts/checkouts/{}",
            ok["checkout_id"].as_str().unwrap()
        ),
        Some(&token(&ops())),
    );
    assert_eq!(checkout.status, 200, "{}", checkout.text());
    assert_eq!(checkout.json()["totals"]["total"]["amount"], ok["total"]);

    let blocked = &seen["foreign"];
    assert!(
        blocked["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "the browser blocks a foreign origin: {seen}"
    );
    assert_eq!(
        blocked["create"],
        Value::Null,
        "not even the first call got through: {seen}"
    );
}

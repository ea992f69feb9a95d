//! Outbound PostgreSQL (`spin:postgres/postgres@3.0.0`, issue 16), through
//! the guest-probe app against a real PostgreSQL 15.
//!
//! - The same guest calls give the same typed answers on whichever runtime
//!   this pass runs (the edge host, or real Spin with `SPIN_BIN`), and an
//!   address the manifest does not allow is refused before any connection.
//! - The edge host rolls back a transaction a guest leaves open or traps
//!   inside: its row is gone and its table lock released.
//! - Spin 4.0.2 does not: it pools the client with the transaction still
//!   open, so the lock outlives the request and the next request on that
//!   client runs inside it. That is pinned here as a known hazard (the test
//!   fails the day Spin changes, so the note in DEPLOY.md can go); it is
//!   why the app's PostgreSQL code must end every transaction it begins,
//!   on every path.

use blackbox_tests::postgres::Postgres;
use blackbox_tests::{AppOptions, Runtime, TestApp, private_app, suite_runtime, workspace_root};

fn probe_app(edge_host_only: bool) -> Option<TestApp> {
    private_app(AppOptions {
        manifest: Some(workspace_root().join("tests/fixtures/host-probe.spin.toml")),
        // An edge host flag runs the app on the edge host in either pass.
        extra_args: if edge_host_only {
            vec!["--quiet".into()]
        } else {
            Vec::new()
        },
        ..AppOptions::default()
    })
}

fn count(app: &TestApp, address: &str) -> serde_json::Value {
    app.get(&format!("/probe/pg?address={address}"), None)
        .json()["count"]
        .clone()
}

#[test]
fn a_guest_reads_and_writes_postgres_values_the_same_on_either_runtime() {
    let pg = Postgres::start();
    let Some(app) = probe_app(false) else { return };
    let address = pg.address();

    let wrote = app.get(&format!("/probe/pg?address={address}&insert=alpha"), None);
    assert_eq!(wrote.status, 200, "{}", wrote.text());
    let body = wrote.json();
    assert_eq!(
        (body["count"].as_i64(), body["inserted"].as_i64()),
        (Some(1), Some(1)),
        "{body}"
    );
    let row: Vec<String> = serde_json::from_value(body["row"].clone()).unwrap();
    assert_eq!(
        row,
        [
            "DbValue::Str(\"alpha\")",
            "DbValue::Int64(9007199254740993)",
            "DbValue::Int32(-7)",
            "DbValue::Floating64(0.25)",
            "DbValue::Boolean(true)",
            "DbValue::Date((2026, 12, 4))",
            "DbValue::Datetime((2026, 12, 4, 13, 43, 31, 120000000))",
            "DbValue::Binary([0, 1, 254, 255])",
            "DbValue::DbNull",
        ],
        "{body}"
    );
    let columns: Vec<String> = serde_json::from_value(body["columns"].clone()).unwrap();
    assert_eq!(columns[1], "n:DbDataType::Int64");
    assert_eq!(
        pg.psql("SELECT v || ' ' || n || ' ' || at FROM probe_pg"),
        "alpha 9007199254740993 2026-12-04 13:43:31.12"
    );

    // The manifest allows postgres://127.0.0.1:* only.
    let refused = app.get(
        "/probe/pg?address=postgres://postgres@localhost:1/postgres",
        None,
    );
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert_eq!(refused.json()["error"], "connection-failed");
}

#[test]
fn the_edge_host_rolls_back_what_a_guest_leaves_open_or_traps_inside() {
    let pg = Postgres::start();
    let Some(app) = probe_app(true) else { return };
    let address = pg.address();
    assert_eq!(count(&app, &address), 0);

    let open = app.get(&format!("/probe/pg-left-open?address={address}"), None);
    assert_eq!(open.status, 200, "{}", open.text());
    assert_eq!(
        open.json()["count_inside"],
        1,
        "the guest saw its own insert"
    );
    assert_eq!(count(&app, &address), 0, "rolled back");

    let trapped = app.get(&format!("/probe/pg-trap?address={address}"), None);
    assert_eq!(trapped.status, 500, "{}", trapped.text());
    assert_eq!(count(&app, &address), 0, "nothing committed");
    // From outside: no row, and no lock left to wait for.
    assert_eq!(
        pg.psql("SET lock_timeout = '2s'; SELECT count(*) FROM probe_pg"),
        "SET\n0"
    );
}

#[test]
fn spin_keeps_a_dropped_connections_transaction_open_in_its_pool() {
    if suite_runtime() != Runtime::Spin {
        eprintln!("skipped here: this pins a behaviour of Spin itself (the Spin pass runs it)");
        return;
    }
    let pg = Postgres::start();
    let Some(app) = probe_app(false) else { return };
    let address = pg.address();
    // A row first: on Spin 4.0.2 the probe's first query of an empty table
    // did not come back (the request ran into the test's 60 s timeout).
    let first = app.get(&format!("/probe/pg?address={address}&insert=alpha"), None);
    assert_eq!(first.status, 200, "{}", first.text());
    let open = app.get(&format!("/probe/pg-left-open?address={address}"), None);
    assert_eq!(open.status, 200, "{}", open.text());
    // The answer is out, yet the guest's table lock is still held.
    let outside = pg.psql_status("SET lock_timeout = '1s'; SELECT count(*) FROM probe_pg");
    assert!(
        outside.contains("lock timeout"),
        "Spin now releases it: {outside}"
    );
}

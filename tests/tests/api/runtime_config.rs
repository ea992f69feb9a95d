//! One runtime configuration for both runtimes (issue 16): the project's
//! `infra/spin/runtime-config-redis.toml` (key-value store on Redis, SQLite
//! per node) is handed to whichever runtime this pass runs (the edge host,
//! or real Spin with `SPIN_BIN`), with only the Redis port and the database
//! path made the test's own. Both must keep the key-value store in Redis,
//! every key as is, so two nodes share it while each keeps its own SQLite
//! file; the guest-probe app reads and writes them directly.

use blackbox_tests::redis::RedisServer;
use blackbox_tests::{AppOptions, private_app, workspace_root};

#[test]
fn the_redis_runtime_config_shares_the_key_value_store_between_nodes_on_either_runtime() {
    let redis = RedisServer::start();
    let scratch = tempfile::tempdir().unwrap();
    let file =
        std::fs::read_to_string(workspace_root().join("infra/spin/runtime-config-redis.toml"))
            .unwrap();
    assert!(
        file.contains("redis://127.0.0.1:6379/0") && file.contains(".spin/prod/omnichannel.db"),
        "{file}"
    );
    let options = |node: &str| {
        let db = scratch.path().join(format!("{node}.db"));
        let config = scratch.path().join(format!("{node}.toml"));
        std::fs::write(
            &config,
            file.replace("redis://127.0.0.1:6379/0", &redis.url())
                .replace(".spin/prod/omnichannel.db", &db.display().to_string()),
        )
        .unwrap();
        AppOptions {
            manifest: Some(workspace_root().join("tests/fixtures/host-probe.spin.toml")),
            runtime_config: Some(config),
            ..AppOptions::default()
        }
    };
    let Some(first) = private_app(options("first")) else {
        return;
    };
    let Some(second) = private_app(options("second")) else {
        return;
    };

    let wrote = first.get("/probe/kv?key=colour&value=blue", None);
    assert_eq!(wrote.status, 200, "{}", wrote.text());
    assert_eq!(
        second.get("/probe/kv?key=colour", None).json()["value"],
        "blue",
        "the other node reads it"
    );
    assert_eq!(
        redis.get("colour").as_deref(),
        Some("blue"),
        "kept in Redis under its own name"
    );

    assert_eq!(
        first.get("/probe/sql?insert=alpha", None).json()["count"],
        1
    );
    assert_eq!(
        second.get("/probe/sql", None).json()["count"],
        0,
        "SQLite stays each node's own"
    );
    assert!(
        scratch.path().join("first.db").is_file(),
        "the configured database file holds the data"
    );
}

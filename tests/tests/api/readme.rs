//! The README's claims, checked where a test can check them (issue 19): the
//! demo's SKU count, the health route of every component in the endpoint
//! table, the Makefile targets it names, and the "first session with curl"
//! run as written against a seeded app.

use blackbox_tests::{AppOptions, private_app, testing, workspace_root};
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md")
}

#[test]
fn the_readme_names_the_demo_as_it_is() {
    let readme = readme();
    let items: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("infra/demo/items.json")).unwrap(),
    )
    .unwrap();
    let skus = items["items"].as_array().unwrap().len();
    assert!(
        readme.contains(&format!("{skus} SKUs")),
        "the README says how many SKUs the demo has ({skus})"
    );
    let stores: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("infra/demo/stores.json")).unwrap(),
    )
    .unwrap();
    let warehouses = stores["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "warehouse")
        .count();
    assert_eq!(warehouses, 1, "the README speaks of a central warehouse");
    for english in ["Warsaw", "Kraków", "Berlin"] {
        assert!(readme.contains(english), "the README names {english}");
    }
    let cities: Vec<&str> = stores["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "store")
        .filter_map(|s| s["address"]["city"].as_str())
        .collect();
    for city in &cities {
        assert!(
            ["Warszawa", "Kraków", "Berlin"].contains(city),
            "a store in {city}, which the README does not name"
        );
    }
    let makefile = std::fs::read_to_string(workspace_root().join("Makefile")).unwrap();
    for target in ["run", "test", "demo", "bench"] {
        assert!(
            readme.contains(&format!("make {target}")),
            "the README shows make {target}"
        );
        assert!(
            makefile.contains(&format!("\n{target}:")),
            "the Makefile has {target}"
        );
    }
}

/// Every component row of the README's endpoint table: its API prefix
/// answers `GET <prefix>/health` with 200.
#[test]
fn every_component_in_the_readme_table_answers_its_health_route() {
    let readme = readme();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| component | prefixes |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 8, "eight components in the table");
    let Some(app) = private_app(AppOptions::default()) else {
        return;
    };
    for row in table {
        let prefixes = row.split('|').nth(2).unwrap();
        let first_api = prefixes
            .split('`')
            .find(|p| p.starts_with("/api/"))
            .unwrap_or_else(|| panic!("an API prefix in {row}"));
        let health = app.get(&format!("{first_api}/health"), None);
        assert_eq!(
            health.status,
            200,
            "GET {first_api}/health: {}",
            health.text()
        );
    }
}

/// The README's first curl session, run as written (with the app's address
/// and the test secret in place of the demo's), each call answering 2xx.
#[test]
fn the_first_session_with_curl_runs_as_written() {
    let readme = readme();
    let session = readme
        .split("### A first session with curl")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the README's first curl session");
    let Some(app) = private_app(AppOptions::default()) else {
        return;
    };
    app.seed_demo();
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).unwrap();
    let fed = app.send(
        "POST",
        "/api/availability/feed",
        Some(&blackbox_tests::token(&blackbox_tests::ops())),
        &[],
        Some(&stock),
    );
    assert_eq!(fed.status, 200, "{}", fed.text());

    // A directory that looks like a checkout after `make run`: the secrets
    // file and the demo tool where the README says.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".spin")).unwrap();
    std::fs::write(
        dir.path().join(".spin/demo-secrets.env"),
        format!("SPIN_VARIABLE_JWT_HS256_SECRET={}\n", testing::JWT_SECRET),
    )
    .unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    std::os::unix::fs::symlink(target, dir.path().join("target")).unwrap();
    let host = app.base_url.trim_start_matches("http://");
    let script = session
        .replace("127.0.0.1:3000", host)
        .replace("curl -s ", "curl -fsS ");
    let run = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("SPIN_VARIABLE_JWT_ISSUER", testing::ISSUER)
        .env("SPIN_VARIABLE_JWT_AUDIENCE", testing::AUDIENCE)
        .env_remove("SPIN_VARIABLE_JWT_HS256_SECRET")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the README's curl session failed:\n{script}\n{out}\n{err}"
    );
    assert!(out.contains("DRS-LIN-NAV-S"), "{out}");
    assert!(out.contains("\"on_hand\""), "{out}");
}

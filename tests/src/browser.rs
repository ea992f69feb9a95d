//! Browser tests: Debian's Chromium driven by the playwright-core scripts in
//! `tests/kiosk/` (the kiosk page, the insights page), which share
//! `harness.mjs`. A test starts the app, prepares its data over the API,
//! writes what the script needs into a config, and runs the script here.
//!
//! A machine without Chromium or the npm packages FAILS with the command to
//! run (`source infra/setup.sh`): a browser test that is silently skipped
//! proves nothing.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's Chromium, which `make test` installs with apt-get.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The scripts' directory, once the browser and the npm packages are there.
pub fn tooling() -> PathBuf {
    let dir = crate::workspace_root().join("tests/kiosk");
    let missing: Vec<String> = [
        (Path::new(CHROMIUM).to_path_buf(), "Debian's chromium"),
        (
            dir.join("node_modules/playwright-core/package.json"),
            "tests/kiosk/node_modules (npm ci --prefix tests/kiosk)",
        ),
    ]
    .into_iter()
    .filter(|(path, _)| !path.exists())
    .map(|(path, what)| format!("{} ({what})", path.display()))
    .collect();
    assert!(
        missing.is_empty(),
        "the browser tests need {}: run `OMNI_SETUP_TESTS=1 source infra/setup.sh` (it installs chromium with apt-get and runs npm ci)",
        missing.join(" and ")
    );
    dir
}

/// Runs `tests/kiosk/<script>` with `config` (which names its `artifacts`
/// directory; the config is written there) and fails the test unless every
/// scenario passed. Returns what the script printed.
pub fn run_scenarios(script: &str, config: &Value) -> String {
    let dir = tooling();
    let artifacts = PathBuf::from(
        config["artifacts"]
            .as_str()
            .expect("the config names its artifacts directory"),
    );
    std::fs::create_dir_all(&artifacts).expect("the artifacts directory");
    let config_path = artifacts.join("config.json");
    std::fs::write(
        &config_path,
        serde_json::to_vec_pretty(config).expect("a JSON config"),
    )
    .expect("the config");
    let run = Command::new("node")
        .arg(dir.join(script))
        .env("SCENARIO_CONFIG", &config_path)
        .current_dir(&dir)
        .output()
        .expect("node runs (install Node.js 20+)");
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    let err = String::from_utf8_lossy(&run.stderr);
    println!("{out}");
    assert!(
        run.status.success(),
        "{script} failed ({}):\n{out}\n{err}",
        run.status
    );
    out
}

/// The screenshots a script saved.
pub fn screenshots(artifacts: &Path) -> usize {
    std::fs::read_dir(artifacts)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
                .count()
        })
        .unwrap_or(0)
}

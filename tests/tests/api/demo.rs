//! The newcomer's demo (issue 19), run as a test so it cannot rot: the demo
//! seed (`omni-demo seed`, what `make run` calls) loads the demo retailer
//! into a fresh app and reports what it changed, a second run changes
//! nothing, and `omni-demo journeys` (what `make demo` calls) walks the five
//! golden paths against it with every call answered as expected.

use blackbox_tests::{AppOptions, private_app, testing, workspace_root};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The demo tool the test command built, in cargo's target directory.
fn omni_demo() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target.join("host/omni-demo");
    assert!(
        bin.exists(),
        "{} is missing: the test command builds it (make test)",
        bin.display()
    );
    bin
}

/// `omni-demo ARGS` with the app's test secrets in the environment, as a
/// newcomer has them after `source .spin/demo-secrets.env`.
fn run(args: &[&str]) -> (Output, String) {
    let output = Command::new(omni_demo())
        .args(args)
        .current_dir(workspace_root())
        .env("SPIN_VARIABLE_JWT_HS256_SECRET", testing::JWT_SECRET)
        .env("SPIN_VARIABLE_JWT_ISSUER", testing::ISSUER)
        .env("SPIN_VARIABLE_JWT_AUDIENCE", testing::AUDIENCE)
        .env("STATE_DIR", "/nonexistent-demo-state")
        .output()
        .expect("omni-demo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

#[test]
fn the_demo_seed_reports_its_changes_a_reseed_changes_nothing_and_the_five_journeys_walk() {
    let Some(app) = private_app(AppOptions::default()) else {
        return;
    };

    let (first, report) = run(&["seed", &app.base_url]);
    println!("{report}");
    assert!(first.status.success(), "the first seed: {report}");
    let items = std::fs::read_to_string(workspace_root().join("infra/demo/items.json")).unwrap();
    let skus = serde_json::from_str::<serde_json::Value>(&items).unwrap()["items"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        report.contains(&format!("items              {skus} changed")),
        "every item is new: {report}"
    );
    let promotions =
        std::fs::read_to_string(workspace_root().join("infra/demo/promotions.json")).unwrap();
    let offers = serde_json::from_str::<serde_json::Value>(&promotions).unwrap()["promotions"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        report.contains(&format!("promotions         {offers} changed")),
        "{report}"
    );
    assert!(report.contains("customer profiles  3 written"), "{report}");

    let (second, again) = run(&["seed", &app.base_url]);
    println!("{again}");
    assert!(second.status.success(), "a re-seed: {again}");
    for batch in ["stores", "items", "prices", "stock", "promotions"] {
        let line = again
            .lines()
            .find(|l| l.starts_with(batch))
            .unwrap_or_else(|| panic!("{batch} in {again}"));
        assert!(
            line.ends_with(" unchanged") && !line.contains("changed ("),
            "a re-seed changes nothing: {line}"
        );
    }

    // The dated demo offers are current whenever the demo runs.
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    for id in ["FLASH50", "APP15", "TILL10", "STUDENT10", "BLACKWEEK20"] {
        let promotion = app.get(
            &format!("/api/promotions/{id}"),
            Some(&blackbox_tests::token(&blackbox_tests::ops())),
        );
        assert_eq!(promotion.status, 200, "{id}: {}", promotion.text());
        let body = promotion.json();
        let conditions = body["definition"]["conditions"].clone();
        let conditions = if conditions.is_null() {
            body["conditions"].clone()
        } else {
            conditions
        };
        let (from, until) = (
            conditions["valid_from"].as_str().unwrap_or(""),
            conditions["valid_until"].as_str().unwrap_or(""),
        );
        assert!(
            from <= today.as_str() && today.as_str() <= until,
            "{id} is valid today ({today}): {from}..{until} in {body}"
        );
    }

    let (walk, journeys) = run(&["journeys", &app.base_url]);
    println!("{journeys}");
    assert!(walk.status.success(), "the five journeys: {journeys}");
    for heading in ["\n1. ", "\n2. ", "\n3. ", "\n4. ", "\n5. "] {
        assert!(
            journeys.contains(heading),
            "journey {heading:?} in {journeys}"
        );
    }
    assert!(journeys.contains("All five journeys worked"), "{journeys}");
    assert!(
        journeys.contains("the same totals and coupon result"),
        "{journeys}"
    );
    assert!(
        journeys.contains("restocked where it came back"),
        "{journeys}"
    );
    // A second walk on the same app works too (new customers each time).
    let (walk, journeys) = run(&["journeys", &app.base_url]);
    assert!(walk.status.success(), "the journeys again: {journeys}");
}

#[test]
fn the_demo_tool_says_how_to_get_the_secret_and_helps_with_exit_status_zero() {
    let help = Command::new(omni_demo()).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("omni-demo seed BASE_URL"));
    let missing = Command::new(omni_demo())
        .args(["token", "--role", "ops", "--sub", "me"])
        .env_remove("SPIN_VARIABLE_JWT_HS256_SECRET")
        .env("STATE_DIR", "/nonexistent-demo-state")
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("source /nonexistent-demo-state/demo-secrets.env"),
        "{said}"
    );
    assert!(!said.contains("backtrace"), "{said}");
}

/// `omni-demo history` (what `make run` calls after the seed) writes five
/// weeks of shopping through the API with the test clock, so the insights
/// page has pictures: every figure family has data, the limited campaign
/// ran out, the clock is back at the real time, and a second run sends
/// nothing. An app without the test clock is told why no history came.
#[test]
fn the_demo_history_gives_every_insights_figure_weeks_of_data_once() {
    let Some(plain) = private_app(AppOptions::default()) else {
        return;
    };
    let (refused, why) = run(&["history", &plain.base_url]);
    assert!(
        !refused.status.success() && why.contains("test clock"),
        "{why}"
    );
    drop(plain);

    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..AppOptions::default()
    }) else {
        return;
    };
    let (seeded, report) = run(&["seed", &app.base_url]);
    assert!(seeded.status.success(), "{report}");
    let (first, report) = run(&["history", &app.base_url]);
    assert!(first.status.success(), "the history: {report}");
    assert!(report.contains("click & collect orders"), "{report}");

    let clock = app.get("/_edge/clock", None).json();
    assert_eq!(
        clock["offset_seconds"], 0,
        "the clock is back at the real time: {clock}"
    );
    let ops = blackbox_tests::token(&testing::ops());
    let today = chrono::Utc::now().date_naive();
    let scope = format!("from={}&to={today}", today - chrono::Duration::days(36));
    let figures = |report: &str| {
        app.get(&format!("/api/insights/{report}?{scope}"), Some(&ops))
            .json()
    };

    let sales = figures("sales");
    assert!(sales["sales"]["orders"].as_i64().unwrap() > 150, "{sales}");
    let fulfilments = sales["sales"]["by_fulfilment"].as_array().unwrap().len();
    assert_eq!(
        fulfilments, 2,
        "click & collect and ship from store: {sales}"
    );
    let journeys = figures("journeys");
    assert!(
        journeys["journeys"]["matrix"].as_array().unwrap().len() >= 5,
        "{journeys}"
    );
    assert!(
        journeys["journeys"]["abandoned"].as_i64().unwrap() > 50,
        "{journeys}"
    );
    let stores = figures("stores");
    assert_eq!(
        stores["pickups"]["stores"].as_array().unwrap().len(),
        3,
        "{stores}"
    );
    let rated_days = stores["pickups"]["sla_by_day"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["sla_hit_rate"].is_null())
        .count();
    assert!(
        rated_days >= 30,
        "an SLA line over the weeks: {rated_days} days"
    );
    assert!(
        stores["pickups"]["total"]["expired"].as_i64().unwrap() > 0,
        "{stores}"
    );
    let returns = figures("returns");
    assert!(
        returns["returns"]["refunded"].as_i64().unwrap() > 3,
        "{returns}"
    );
    let promotions = figures("promotions");
    let reached = promotions["promotions"]["limits_reached"].to_string();
    assert!(
        reached.contains("AUTUMN25"),
        "the limited campaign ran out: {reached}"
    );

    let (second, again) = run(&["history", &app.base_url]);
    assert!(
        second.status.success() && again.contains("already there"),
        "{again}"
    );
}

//! DEPLOY.md's commands, run as written under the real Spin CLI (issue 19).
//! Runs in the suite's Spin pass (`SPIN_BIN` set by `make test`); the edge
//! host pass skips it with a message, since it tests Spin itself.
//!
//! Each command the test runs must appear verbatim in DEPLOY.md, so the
//! guide and the test cannot drift apart; only the port and the working
//! directory differ (the app runs from a scratch copy of the manifest so
//! that `.spin/prod/` is not the repository's).

use blackbox_tests::{testing, workspace_root};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SPIN_UP: &str =
    "spin up --listen 127.0.0.1:3000 --runtime-config-file infra/spin/runtime-config.toml";
const SEED: &str = "infra/demo/seed.sh http://127.0.0.1:3000";
const SWEEP: &str = r#"curl -fsS -X POST http://127.0.0.1:3000/api/orders/sweep -H "authorization: Bearer $(target/host/omni-demo token --role ops --sub cron --ttl-secs 300)""#;
const VAPID: &str = r#"target/host/omni-demo vapid-public "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')""#;
const CORS: &str = "curl -si -X OPTIONS http://127.0.0.1:3000/api/carts -H 'origin: https://shop.example' -H 'access-control-request-method: POST'";
const SECRETS: [&str; 2] = [
    r#"export SPIN_VARIABLE_JWT_HS256_SECRET="$(head -c 32 /dev/urandom | base64)""#,
    r#"export SPIN_VARIABLE_CODE_SIGNING_SECRET="$(head -c 32 /dev/urandom | base64)""#,
];

/// `spin up`'s process group, killed when the test ends.
struct Up(Child);
impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

fn bash(script: &str, dir: &Path, env: &[(&str, String)]) -> (bool, String) {
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_deploy_guide_commands_work_under_spin() {
    let Some(spin) = std::env::var_os("SPIN_BIN").map(PathBuf::from) else {
        eprintln!(
            "skipped here: DEPLOY.md's commands run in the suite's Spin pass (SPIN_BIN), see infra/test-all.sh"
        );
        return;
    };
    let guide = std::fs::read_to_string(workspace_root().join("DEPLOY.md")).unwrap();
    for command in [SPIN_UP, SEED, SWEEP, VAPID, CORS, "spin build"]
        .iter()
        .chain(SECRETS.iter())
    {
        assert!(
            guide.contains(command),
            "DEPLOY.md shows the command this test runs: {command}"
        );
    }
    let root = workspace_root();
    // `spin` on the PATH, as the guide's reader has it.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&spin, bin.path().join("spin")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // 1. spin build (incremental: the test command built everything).
    let (built, output) = bash("spin build", &root, &[("PATH", path.clone())]);
    assert!(built, "spin build: {output}");

    // 2. The secrets as the guide makes them, then spin up as written, from
    // a scratch directory holding the manifest (component paths made
    // absolute) and the runtime config byte for byte.
    let scratch = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(root.join("spin.toml"))
        .unwrap()
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", root.display()),
        );
    std::fs::write(scratch.path().join("spin.toml"), manifest).unwrap();
    std::fs::create_dir_all(scratch.path().join("infra/spin")).unwrap();
    std::fs::copy(
        root.join("infra/spin/runtime-config.toml"),
        scratch.path().join("infra/spin/runtime-config.toml"),
    )
    .unwrap();
    let (made, secrets) = bash(
        &format!(
            "{}\n{}\nenv | grep '^SPIN_VARIABLE_'",
            SECRETS[0], SECRETS[1]
        ),
        scratch.path(),
        &[],
    );
    assert!(made, "{secrets}");
    let mut env: Vec<(&str, String)> = secrets
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                if k.ends_with("JWT_HS256_SECRET") {
                    "SPIN_VARIABLE_JWT_HS256_SECRET"
                } else {
                    "SPIN_VARIABLE_CODE_SIGNING_SECRET"
                },
                v.to_owned(),
            )
        })
        .collect();
    assert_eq!(env.len(), 2, "{secrets}");
    env.push(("SPIN_VARIABLE_CORS_ORIGINS", "https://shop.example".into()));
    env.push(("SPIN_VARIABLE_JWT_ISSUER", testing::ISSUER.into()));
    env.push(("SPIN_VARIABLE_JWT_AUDIENCE", testing::AUDIENCE.into()));
    env.push(("PATH", path));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let at = |command: &str| command.replace("127.0.0.1:3000", &format!("127.0.0.1:{port}"));
    let up = Up(Command::new("bash")
        .args(["-c", &format!("exec {}", at(SPIN_UP))])
        .current_dir(scratch.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    while !bash(
        &format!("curl -fsS http://127.0.0.1:{port}/.well-known/spin/health"),
        scratch.path(),
        &[],
    )
    .0
    {
        assert!(
            Instant::now() < deadline,
            "spin up did not answer within 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // 3. The demo seed through the API, the secret from the environment.
    let (seeded, report) = bash(&at(SEED), &root, &env);
    assert!(seeded, "{report}");
    assert!(
        report.contains("items              49 changed") || report.contains(" changed ("),
        "{report}"
    );
    assert!(
        scratch.path().join(".spin/prod/omnichannel.db").exists(),
        "the database is where the runtime config says"
    );

    // 4. A sweep, 5. a VAPID key, 6. CORS.
    let (swept, answer) = bash(&at(SWEEP), &root, &env);
    assert!(swept && answer.contains("\"swept_at\""), "{answer}");
    let (vapid, key) = bash(VAPID, &root, &env);
    assert!(
        vapid && key.trim().len() == 87 && key.trim().starts_with('B'),
        "an uncompressed P-256 point in base64url: {key}"
    );
    let (preflight, headers) = bash(&at(CORS), &root, &env);
    assert!(preflight, "{headers}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("access-control-allow-origin: https://shop.example"),
        "{headers}"
    );
    drop(up);
}

/// Makes a Kubernetes structural schema strict, as `kubectl apply
/// --validate=strict` is: an object schema that lists its properties
/// refuses others (the API server would silently drop a misspelt field).
fn strict(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(map) => {
            let preserves = map.get("x-kubernetes-preserve-unknown-fields")
                == Some(&serde_json::Value::Bool(true));
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !preserves
            {
                map.insert(
                    "additionalProperties".into(),
                    serde_json::Value::Bool(false),
                );
            }
            map.values_mut().for_each(strict);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// Every SpinApp this project ships (`infra/k8s/*.yaml`) validates against
/// SpinKube's SpinApp CRD (vendored in tests/fixtures/spinkube, strict), and
/// DEPLOY.md applies the file; a misspelt or mistyped field is refused.
#[test]
fn the_spinkube_manifests_validate_against_the_spinapp_crd() {
    use serde::Deserialize;
    let root = workspace_root();
    let read_docs = |path: &Path| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(path).unwrap();
        serde_norway::Deserializer::from_str(&text)
            .map(|doc| serde_json::Value::deserialize(doc).unwrap())
            .filter(|doc| !doc.is_null())
            .collect()
    };
    let crd = read_docs(&root.join("tests/fixtures/spinkube/core.spinkube.dev_spinapps.yaml"))
        .into_iter()
        .next()
        .unwrap();
    let group = crd["spec"]["group"].as_str().unwrap();
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["served"] == true && v["storage"] == true)
        .unwrap();
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors = |doc: &serde_json::Value| -> Vec<String> {
        validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    };

    let mut apps = Vec::new();
    for entry in std::fs::read_dir(root.join("infra/k8s")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "yaml") {
            apps.extend(
                read_docs(&path)
                    .into_iter()
                    .filter(|d| d["kind"] == "SpinApp")
                    .map(|d| (path.clone(), d)),
            );
        }
    }
    assert!(!apps.is_empty(), "infra/k8s ships a SpinApp");
    for (path, app) in &apps {
        assert_eq!(
            app["apiVersion"],
            format!("{group}/{}", version["name"].as_str().unwrap()),
            "{}",
            path.display()
        );
        assert_eq!(errors(app), Vec::<String>::new(), "{}", path.display());
        // Every Spin variable the app requires is bound, from a Secret.
        let bound: Vec<&str> = app["spec"]["variables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["name"].as_str())
            .collect();
        for required in ["jwt_hs256_secret", "code_signing_secret"] {
            assert!(
                bound.contains(&required),
                "{}: {required} is bound",
                path.display()
            );
        }
        // Replicas share one truth only on PostgreSQL: a replicated app
        // names its database, from a Secret, and keeps no SQLite volume.
        if app["spec"]["replicas"].as_u64().unwrap_or(1) > 1 {
            let url = app["spec"]["variables"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == "database_url");
            assert!(
                url.is_some_and(|v| v["valueFrom"]["secretKeyRef"].is_object()),
                "{}: a replicated app binds database_url from a Secret",
                path.display()
            );
            assert!(
                app["spec"]["runtimeConfig"]["sqliteDatabases"].is_null(),
                "{}: no replica keeps state of its own",
                path.display()
            );
        }
    }
    assert!(
        apps.iter()
            .any(|(_, app)| app["spec"]["replicas"].as_u64() > Some(1)),
        "infra/k8s ships a replicated SpinApp"
    );
    let (_, app) = &apps[0];
    let mut misspelt = app.clone();
    misspelt["spec"]["replica"] = serde_json::json!(2);
    assert!(!errors(&misspelt).is_empty(), "a misspelt field is refused");
    let mut mistyped = app.clone();
    mistyped["spec"]["replicas"] = serde_json::json!("two");
    assert!(!errors(&mistyped).is_empty(), "a mistyped field is refused");

    let guide = std::fs::read_to_string(root.join("DEPLOY.md")).unwrap();
    for file in ["infra/k8s/spinapp.yaml", "infra/k8s/spinapp-cluster.yaml"] {
        assert!(
            guide.contains(&format!("kubectl apply -f {file}")),
            "DEPLOY.md applies the validated {file}"
        );
    }
}

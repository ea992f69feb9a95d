//! Black-box test support: start the app, talk HTTP to it.
//!
//! [`spawn_app`] starts the app on a free port with a fresh state directory
//! and the test variables, and returns a [`TestApp`] with request helpers.
//! The runtime is the local edge host (`target/host/edge-host`, built
//! beforehand by the test command; `EDGE_HOST_BIN` overrides), or the real
//! Spin CLI when `SPIN_BIN` names one: then every app a test starts is a
//! `spin up` of the same `spin.toml` in its own process group, except the
//! apps that need what only the edge host has (the test clock, its
//! scheduler flags), which stay on the edge host and say so in the test's
//! output (see [`Runtime`]). With `EDGE_BASE_URL` set, the tests talk
//! to that app instead (for example a `spin up` started with the same
//! secrets: `SPIN_VARIABLE_JWT_HS256_SECRET` = [`testing::JWT_SECRET`] and
//! `SPIN_VARIABLE_JWT_ISSUER` = [`testing::ISSUER`]), and tests that need a
//! private app or a movable clock are skipped with a message.

pub mod browser;
pub mod cluster;
pub mod openapi;
pub mod postgres;
pub mod redis;

use chrono::{DateTime, Duration, Utc};
use omni_shared::auth::{Caller, Claims, sign_hs256};
pub use omni_shared::testing::{self, customer, ops, store_device};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

/// A running app: either a private app this process started, or the app at
/// `EDGE_BASE_URL`.
pub struct TestApp {
    pub base_url: String,
    agent: ureq::Agent,
    host: Option<HostProcess>,
}

/// Which runtime serves a private app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// The project's local edge host (wasmtime), `infra/edge-host`.
    EdgeHost,
    /// The real Spin CLI named by `SPIN_BIN` (`spin up`).
    Spin,
}

/// The runtime the suite targets: Spin when `SPIN_BIN` is set.
pub fn suite_runtime() -> Runtime {
    if std::env::var_os("SPIN_BIN").is_some_and(|v| !v.is_empty()) {
        Runtime::Spin
    } else {
        Runtime::EdgeHost
    }
}

struct HostProcess {
    child: Child,
    runtime: Runtime,
    /// Kept so the state directory lives as long as the host.
    state: tempfile::TempDir,
}

impl HostProcess {
    /// SIGKILL to the whole process: `spin up` forks a `spin trigger http`
    /// child that keeps serving when only its parent dies, so a Spin app
    /// runs in its own process group and the group is killed.
    fn kill(&self) -> bool {
        let target = match self.runtime {
            Runtime::EdgeHost => self.child.id().to_string(),
            Runtime::Spin => format!("-{}", self.child.id()),
        };
        Command::new("kill")
            .args(["-KILL", "--", &target])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "status {}: body is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an RFC 9457 problem with this status and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.text()
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content-type {content_type:?}"
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:omnichannel-edge:problem:")),
            "{body}"
        );
        assert!(body["title"].is_string(), "{body}");
        body
    }
}

/// Options for a private app.
#[derive(Default, Clone)]
pub struct AppOptions {
    pub manifest: Option<PathBuf>,
    pub test_clock: bool,
    pub state_dir: Option<PathBuf>,
    /// Extra edge host flags (`--no-schedule`, ...): such an app runs on the
    /// edge host whatever the suite's runtime.
    pub extra_args: Vec<String>,
    /// Extra environment (Spin variables as `SPIN_VARIABLE_<NAME>`), set
    /// after the test defaults so they override them.
    pub env: Vec<(String, String)>,
    /// Spin's runtime configuration, passed as `--runtime-config-file` to
    /// whichever runtime serves (both read the same keys).
    pub runtime_config: Option<PathBuf>,
}

/// The app a test talks to: a private edge host with fresh state, stopped
/// when the value drops (nextest runs every test in its own process, so a
/// process-wide shared app would share nothing and outlive its test), or the
/// app at `EDGE_BASE_URL`.
pub fn app() -> TestApp {
    match std::env::var("EDGE_BASE_URL") {
        Ok(base_url) => TestApp {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent: agent(),
            host: None,
        },
        Err(_) => spawn_app(AppOptions::default()).expect("the edge host starts"),
    }
}

/// [`app`] with the demo retailer loaded (once, when the app is external).
pub fn seeded_app() -> TestApp {
    let app = app();
    let already = app.get("/api/catalog/stores/WAW-01", None).status == 200;
    if !already {
        app.seed_demo();
    }
    app
}

/// A private app with fresh state; `None` (with a message) when the tests
/// target an external app, which cannot be started or restarted from here.
pub fn private_app(options: AppOptions) -> Option<TestApp> {
    if std::env::var("EDGE_BASE_URL").is_ok() {
        eprintln!("skipped: needs a private edge host, but EDGE_BASE_URL is set");
        return None;
    }
    Some(spawn_app(options).expect("the edge host starts"))
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

impl AppOptions {
    /// The runtime these options can run on: the test clock and the edge
    /// host's own flags exist only there.
    fn runtime(&self) -> Runtime {
        if self.test_clock || !self.extra_args.is_empty() {
            Runtime::EdgeHost
        } else {
            suite_runtime()
        }
    }
}

fn edge_host_bin() -> PathBuf {
    std::env::var_os("EDGE_HOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/host/edge-host"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(StdDuration::from_secs(60)))
        .build()
        .into()
}

/// The variables every test app starts with (the test secrets), before
/// [`AppOptions::env`].
fn test_variables() -> [(&'static str, &'static str); 5] {
    [
        ("SPIN_VARIABLE_JWT_HS256_SECRET", testing::JWT_SECRET),
        ("SPIN_VARIABLE_JWT_ISSUER", testing::ISSUER),
        ("SPIN_VARIABLE_JWT_AUDIENCE", testing::AUDIENCE),
        ("SPIN_VARIABLE_CODE_SIGNING_SECRET", testing::CODE_SECRET),
        ("SPIN_VARIABLE_CORS_ORIGINS", "https://shop.example"),
    ]
}

/// The PostgreSQL server the whole black-box suite runs on instead of
/// SQLite when set (an admin URL such as
/// `postgres://postgres@127.0.0.1:5433/postgres`): every app then gets a
/// fresh database of its own on it. `infra/test-all.sh` sets it for its
/// PostgreSQL pass.
pub const SUITE_POSTGRES_ENV: &str = "OMNI_SUITE_POSTGRES_URL";

/// The Redis server the black-box suite keeps the key-value store on
/// when set (a `redis://` URL); `infra/test-all.sh` sets it with
/// [`SUITE_POSTGRES_ENV`], so that pass runs on PostgreSQL + Redis.
pub const SUITE_REDIS_ENV: &str = "OMNI_SUITE_REDIS_URL";

/// The runtime config an app starts with: its own when the test names one,
/// else one keeping the key-value store on the suite's Redis, if any.
fn suite_runtime_config(options: &AppOptions) -> Result<Option<PathBuf>, String> {
    if let Some(own) = &options.runtime_config {
        return Ok(Some(own.clone()));
    }
    match std::env::var(SUITE_REDIS_ENV) {
        Ok(url) if !url.is_empty() => {
            let path =
                std::env::temp_dir().join(format!("omni-suite-redis-{}.toml", std::process::id()));
            std::fs::write(
                &path,
                format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
            )
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(Some(path))
        }
        _ => Ok(None),
    }
}

/// The variables that point a new app at its database on the suite's
/// PostgreSQL server; none when the suite runs on SQLite. An app started
/// on a state directory it names (a restart after a kill) finds the
/// database it had there; any other gets a fresh one.
fn suite_database(state_dir: Option<&std::path::Path>) -> Result<Vec<(String, String)>, String> {
    match std::env::var(SUITE_POSTGRES_ENV) {
        Ok(admin) if !admin.is_empty() => {
            let url = postgres::database_for(&admin, state_dir)?;
            Ok(postgres::app_variables(&url))
        }
        _ => Ok(Vec::new()),
    }
}

/// Starts a private app on the runtime its options allow (see
/// [`AppOptions::runtime`]) and waits until it serves.
pub fn spawn_app(options: AppOptions) -> Result<TestApp, String> {
    match options.runtime() {
        Runtime::EdgeHost => {
            if suite_runtime() == Runtime::Spin {
                eprintln!(
                    "runtime: edge host (this test needs its test clock or flags; the suite runs on Spin)"
                );
            }
            spawn_edge_host(options)
        }
        Runtime::Spin => spawn_spin(options),
    }
}

/// Starts the edge host and waits for its "listening" line.
fn spawn_edge_host(options: AppOptions) -> Result<TestApp, String> {
    let bin = edge_host_bin();
    if !bin.exists() {
        return Err(format!(
            "{} is missing: run the README's test command (make test), which builds it",
            bin.display()
        ));
    }
    let state = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state_dir = options
        .state_dir
        .clone()
        .unwrap_or_else(|| state.path().to_owned());
    let manifest = options
        .manifest
        .clone()
        .unwrap_or_else(|| workspace_root().join("spin.toml"));
    let mut command = Command::new(&bin);
    command
        .arg("up")
        .arg("--manifest")
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--cache-dir")
        .arg(workspace_root().join("target/edge-host-cache"))
        .args(&options.extra_args)
        .args(suite_runtime_config(&options)?.iter().flat_map(|p| {
            [
                std::ffi::OsString::from("--runtime-config-file"),
                p.clone().into_os_string(),
            ]
        }))
        .envs(test_variables())
        .envs(suite_database(options.state_dir.as_deref())?)
        .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if options.test_clock {
        command.arg("--test-clock");
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && let Some(url) = line.strip_prefix("edge-host listening on ") {
                let _ = sender.send(url.trim().to_owned());
                sent = true;
            }
            // The host's request log stays visible in a failing test's output.
            println!("[edge-host] {line}");
        }
    });
    let base_url = receiver
        .recv_timeout(StdDuration::from_secs(120))
        .map_err(|_| "the edge host did not report listening within 120 s".to_owned())?;
    Ok(TestApp {
        base_url,
        agent: agent(),
        host: Some(HostProcess {
            child,
            runtime: Runtime::EdgeHost,
            state,
        }),
    })
}

/// Starts `$SPIN_BIN up` on the manifest in its own process group, on a free
/// port, and waits until Spin's own health route answers. Spin takes a
/// fixed `--listen` address, so the port is found by binding port 0 first;
/// a port taken in between makes Spin exit, and the start is retried.
fn spawn_spin(options: AppOptions) -> Result<TestApp, String> {
    use std::os::unix::process::CommandExt;
    let bin = PathBuf::from(std::env::var_os("SPIN_BIN").expect("SPIN_BIN is set"));
    if !bin.exists() {
        return Err(format!("SPIN_BIN={} does not exist", bin.display()));
    }
    let manifest = options
        .manifest
        .clone()
        .unwrap_or_else(|| workspace_root().join("spin.toml"));
    let mut last_error = String::new();
    for _attempt in 0..5 {
        let state = tempfile::tempdir().map_err(|e| e.to_string())?;
        let state_dir = options
            .state_dir
            .clone()
            .unwrap_or_else(|| state.path().to_owned());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        let child = Command::new(&bin)
            .arg("up")
            .arg("--from")
            .arg(&manifest)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(&state_dir)
            .args(suite_runtime_config(&options)?.iter().flat_map(|p| {
                [
                    std::ffi::OsString::from("--runtime-config-file"),
                    p.clone().into_os_string(),
                ]
            }))
            .envs(test_variables())
            .envs(suite_database(options.state_dir.as_deref())?)
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut host = HostProcess {
            child,
            runtime: Runtime::Spin,
            state,
        };
        let base_url = format!("http://127.0.0.1:{port}");
        let app = TestApp {
            base_url,
            agent: agent(),
            host: None,
        };
        let deadline = std::time::Instant::now() + StdDuration::from_secs(120);
        loop {
            if let Ok(Some(status)) = host.child.try_wait() {
                last_error = format!("spin up exited with {status}");
                break;
            }
            if app
                .raw_get("/.well-known/spin/health")
                .is_ok_and(|status| status == 200)
            {
                return Ok(TestApp {
                    host: Some(host),
                    ..app
                });
            }
            if std::time::Instant::now() > deadline {
                return Err("spin up did not serve /.well-known/spin/health within 120 s".into());
            }
            std::thread::sleep(StdDuration::from_millis(50));
        }
        drop(host);
    }
    Err(last_error)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The runtime serving a private app; `None` for an external app.
    pub fn runtime(&self) -> Option<Runtime> {
        self.host.as_ref().map(|h| h.runtime)
    }

    /// A GET with no checks on the answer, for readiness polling.
    fn raw_get(&self, path: &str) -> Result<u16, String> {
        let request = ureq::http::Request::builder()
            .uri(self.url(path))
            .body(Vec::new())
            .expect("a valid request");
        self.agent
            .run(request)
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    }

    /// The state directory of a private app.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.host.as_ref().map(|h| h.state.path().to_owned())
    }

    /// Sends headers announcing `content_length` bytes and reads the answer
    /// before sending any body: how a server must refuse an oversized upload
    /// (413) without reading it.
    pub fn announce_body(&self, method: &str, path: &str, content_length: usize) -> u16 {
        use std::io::{Read, Write};
        let address = self.base_url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(StdDuration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
        )
        .expect("send headers");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).expect("read status line");
        let line = String::from_utf8_lossy(&head);
        line[9..12]
            .parse()
            .unwrap_or_else(|_| panic!("bad status line {line:?}"))
    }

    /// Stops a private app at once with SIGKILL, as a crash would: no
    /// drain, no shutdown hook, whoever else is still talking to it.
    pub fn kill_now(&self) {
        if let Some(host) = &self.host {
            assert!(host.kill(), "kill -KILL the app");
        }
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        self.try_send(method, path, token, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`TestApp::send`] that reports a transport failure (the app died
    /// mid-request) instead of panicking.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, String> {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let has_content_type = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_content_type {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .expect("a valid request");
        let mut response = self.agent.run(request).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("reading the body: {e}"))?;
        let reply = Reply {
            status,
            headers,
            body,
        };
        openapi::specs().check(
            method,
            path,
            reply.status,
            reply.header("content-type"),
            &reply.body,
        );
        check_instants(method, path, &reply.body);
        Ok(reply)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send("GET", path, token, &[], None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send("POST", path, token, &[], Some(body.to_string().as_bytes()))
    }

    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send("PUT", path, token, &[], Some(body.to_string().as_bytes()))
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send("DELETE", path, token, &[], None)
    }

    /// Moves the guests' wall clock (private apps started with `test_clock`).
    pub fn set_clock(&self, now: DateTime<Utc>) {
        let reply = self.post(
            "/_edge/clock",
            None,
            &serde_json::json!({ "now": now.to_rfc3339() }),
        );
        assert_eq!(reply.status, 200, "setting the clock: {}", reply.text());
    }

    /// Loads the demo shelves (`infra/demo/stock.json`) through the stock feed.
    pub fn seed_demo_stock(&self) {
        let stock =
            std::fs::read(workspace_root().join("infra/demo/stock.json")).expect("demo stock");
        let reply = self.send(
            "POST",
            "/api/availability/feed",
            Some(&token(&ops())),
            &[],
            Some(&stock),
        );
        assert_eq!(reply.status, 200, "stock feed: {}", reply.text());
    }

    /// Loads the demo retailer through the master-data API.
    pub fn seed_demo(&self) {
        let token = token(&ops());
        for kind in ["stores", "items", "prices"] {
            let path = workspace_root().join(format!("infra/demo/{kind}.json"));
            let body = std::fs::read(&path).expect("demo data");
            let reply = self.send(
                "POST",
                &format!("/api/catalog/{kind}"),
                Some(&token),
                &[],
                Some(&body),
            );
            assert_eq!(reply.status, 200, "seeding {kind}: {}", reply.text());
        }
    }
}

/// Every instant in a JSON answer has the one wire format: RFC 3339 in UTC
/// with exactly three fractional digits (`2026-12-04T13:43:31.120Z`), so a
/// first answer, a replay and a later read agree byte for byte.
fn check_instants(method: &str, path: &str, body: &[u8]) {
    fn walk(value: &Value, at: &str, bad: &mut Vec<String>) {
        match value {
            Value::String(text) => {
                let b = text.as_bytes();
                let looks_like_instant = b.len() >= 11
                    && b[..4].iter().all(u8::is_ascii_digit)
                    && b[4] == b'-'
                    && b[10] == b'T';
                let fixed = b.len() == 24
                    && text.ends_with('Z')
                    && b[19] == b'.'
                    && b[20..23].iter().all(u8::is_ascii_digit)
                    && chrono::DateTime::parse_from_rfc3339(text).is_ok();
                // A store's wall clock (`2026-12-04T15:03`, no zone) is a
                // local time, not an instant.
                let local_minute = b.len() == 16
                    && chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").is_ok();
                if looks_like_instant && !fixed && !local_minute {
                    bad.push(format!("{at}: {text:?}"));
                }
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(v, &format!("{at}[{i}]"), bad)),
            Value::Object(map) => map
                .iter()
                .for_each(|(k, v)| walk(v, &format!("{at}.{k}"), bad)),
            _ => {}
        }
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let mut bad = Vec::new();
    walk(&value, "", &mut bad);
    assert!(
        bad.is_empty(),
        "{method} {path}: instants not in the wire format (RFC 3339 UTC, milliseconds, Z): {bad:?}"
    );
}

/// A bearer token for `caller`, valid for an hour of real time.
pub fn token(caller: &Caller) -> String {
    token_at(caller, Utc::now(), Duration::hours(1))
}

/// A bearer token issued at `issued_at`, valid for `lifetime`.
pub fn token_at(caller: &Caller, issued_at: DateTime<Utc>, lifetime: Duration) -> String {
    let claims = Claims::for_caller(
        caller,
        testing::ISSUER,
        testing::AUDIENCE,
        issued_at,
        lifetime,
    )
    .expect("anonymous callers have no token");
    sign_hs256(&claims, testing::JWT_SECRET.as_bytes())
}

/// A unique suffix so tests sharing one app never touch each other's data.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

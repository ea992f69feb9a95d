//! Black-box test support: start the app, talk HTTP to it.
//!
//! [`spawn_app`] starts the local edge host (`target/host/edge-host`, built
//! beforehand by the test command; `EDGE_HOST_BIN` overrides) on a free port
//! with a fresh state directory and the test variables, and returns a
//! [`TestApp`] with request helpers. With `EDGE_BASE_URL` set, the tests talk
//! to that app instead (for example a `spin up` started with the same
//! secrets: `SPIN_VARIABLE_JWT_HS256_SECRET` = [`testing::JWT_SECRET`] and
//! `SPIN_VARIABLE_JWT_ISSUER` = [`testing::ISSUER`]), and tests that need a
//! private app or a movable clock are skipped with a message.

pub mod openapi;

use chrono::{DateTime, Duration, Utc};
use omni_shared::auth::{Caller, Claims, sign_hs256};
pub use omni_shared::testing::{self, customer, ops, store_device};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

/// A running app: either a private edge host this process started, or the
/// app at `EDGE_BASE_URL`.
pub struct TestApp {
    pub base_url: String,
    agent: ureq::Agent,
    host: Option<HostProcess>,
}

struct HostProcess {
    child: Child,
    /// Kept so the state directory lives as long as the host.
    state: tempfile::TempDir,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
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
            panic!("status {}: body is not JSON: {}", self.status, String::from_utf8_lossy(&self.body))
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Asserts an RFC 9457 problem with this status and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "expected {status}, got {}: {}", self.status, self.text());
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with("application/problem+json"), "content-type {content_type:?}");
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(body["type"].as_str().is_some_and(|t| t.starts_with("urn:omnichannel-edge:problem:")), "{body}");
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
    pub extra_args: Vec<String>,
    /// Extra environment (Spin variables as `SPIN_VARIABLE_<NAME>`), set
    /// after the test defaults so they override them.
    pub env: Vec<(String, String)>,
}

/// The app a test talks to: a private edge host with fresh state, stopped
/// when the value drops (nextest runs every test in its own process, so a
/// process-wide shared app would share nothing and outlive its test), or the
/// app at `EDGE_BASE_URL`.
pub fn app() -> TestApp {
    match std::env::var("EDGE_BASE_URL") {
        Ok(base_url) => TestApp { base_url: base_url.trim_end_matches('/').to_owned(), agent: agent(), host: None },
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
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
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

/// Starts the edge host and waits for its "listening" line.
pub fn spawn_app(options: AppOptions) -> Result<TestApp, String> {
    let bin = edge_host_bin();
    if !bin.exists() {
        return Err(format!("{} is missing: run the README's test command (make test), which builds it", bin.display()));
    }
    let state = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state_dir = options.state_dir.clone().unwrap_or_else(|| state.path().to_owned());
    let manifest = options.manifest.clone().unwrap_or_else(|| workspace_root().join("spin.toml"));
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
        .env("SPIN_VARIABLE_JWT_HS256_SECRET", testing::JWT_SECRET)
        .env("SPIN_VARIABLE_JWT_ISSUER", testing::ISSUER)
        .env("SPIN_VARIABLE_JWT_AUDIENCE", testing::AUDIENCE)
        .env("SPIN_VARIABLE_CODE_SIGNING_SECRET", testing::CODE_SECRET)
        .env("SPIN_VARIABLE_CORS_ORIGINS", "https://shop.example")
        .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if options.test_clock {
        command.arg("--test-clock");
    }
    let mut child = command.spawn().map_err(|e| format!("starting {}: {e}", bin.display()))?;
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
    Ok(TestApp { base_url, agent: agent(), host: Some(HostProcess { child, state }) })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
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
        stream.set_read_timeout(Some(StdDuration::from_secs(30))).expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
        )
        .expect("send headers");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).expect("read status line");
        let line = String::from_utf8_lossy(&head);
        line[9..12].parse().unwrap_or_else(|_| panic!("bad status line {line:?}"))
    }

    /// Stops a private app at once with SIGKILL, as a crash would: no
    /// drain, no shutdown hook, whoever else is still talking to it.
    pub fn kill_now(&self) {
        if let Some(host) = &self.host {
            let killed = Command::new("kill").args(["-KILL", &host.child.id().to_string()]).status();
            assert!(killed.is_ok_and(|s| s.success()), "kill -KILL the edge host");
        }
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub fn send(&self, method: &str, path: &str, token: Option<&str>, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
        self.try_send(method, path, token, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
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
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let has_content_type = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_content_type {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder.body(body.map(<[u8]>::to_vec).unwrap_or_default()).expect("a valid request");
        let mut response = self.agent.run(request).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("reading the body: {e}"))?;
        let reply = Reply { status, headers, body };
        openapi::specs().check(method, path, reply.status, reply.header("content-type"), &reply.body);
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
        let reply = self.post("/_edge/clock", None, &serde_json::json!({ "now": now.to_rfc3339() }));
        assert_eq!(reply.status, 200, "setting the clock: {}", reply.text());
    }

    /// Loads the demo retailer through the master-data API.
    pub fn seed_demo(&self) {
        let token = token(&ops());
        for kind in ["stores", "items", "prices"] {
            let path = workspace_root().join(format!("infra/demo/{kind}.json"));
            let body = std::fs::read(&path).expect("demo data");
            let reply = self.send("POST", &format!("/api/catalog/{kind}"), Some(&token), &[], Some(&body));
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
                let looks_like_instant = b.len() >= 11 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T';
                let fixed = b.len() == 24
                    && text.ends_with('Z')
                    && b[19] == b'.'
                    && b[20..23].iter().all(u8::is_ascii_digit)
                    && chrono::DateTime::parse_from_rfc3339(text).is_ok();
                // A store's wall clock (`2026-12-04T15:03`, no zone) is a
                // local time, not an instant.
                let local_minute = b.len() == 16 && chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").is_ok();
                if looks_like_instant && !fixed && !local_minute {
                    bad.push(format!("{at}: {text:?}"));
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{at}[{i}]"), bad)),
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, &format!("{at}.{k}"), bad)),
            _ => {}
        }
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return };
    let mut bad = Vec::new();
    walk(&value, "", &mut bad);
    assert!(bad.is_empty(), "{method} {path}: instants not in the wire format (RFC 3339 UTC, milliseconds, Z): {bad:?}");
}

/// A bearer token for `caller`, valid for an hour of real time.
pub fn token(caller: &Caller) -> String {
    token_at(caller, Utc::now(), Duration::hours(1))
}

/// A bearer token issued at `issued_at`, valid for `lifetime`.
pub fn token_at(caller: &Caller, issued_at: DateTime<Utc>, lifetime: Duration) -> String {
    let claims = Claims::for_caller(caller, testing::ISSUER, testing::AUDIENCE, issued_at, lifetime)
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

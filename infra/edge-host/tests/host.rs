//! Black-box tests of edge-host: start the real binary on the guest-probe app
//! (tests/fixtures/host-probe.spin.toml) and talk HTTP to it.
//!
//! They build nothing: the probe wasm must exist beforehand
//! (`cargo build --manifest-path tests/guest-probe/Cargo.toml --target
//! wasm32-wasip2 --release`); the binary is the one cargo built for this test
//! target (`CARGO_BIN_EXE_edge-host`). Every host gets a fresh state
//! directory; all share one compilation cache, so the probe is compiled once
//! per test run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_edge-host");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn probe_manifest() -> PathBuf {
    repo_root().join("tests/fixtures/host-probe.spin.toml")
}

fn probe_wasm() -> PathBuf {
    repo_root().join("tests/guest-probe/target/wasm32-wasip2/release/guest_probe.wasm")
}

fn shared_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("edge-host-test-cache")
}

/// A running edge-host and the state directory it owns.
struct TestHost {
    child: Child,
    addr: SocketAddr,
    state: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

#[derive(Default)]
struct Options {
    state: Option<PathBuf>,
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

fn spawn_host() -> TestHost {
    spawn_with(Options::default())
}

fn spawn_with(options: Options) -> TestHost {
    assert!(
        probe_wasm().is_file(),
        "{} is missing: build it with `cargo build --manifest-path tests/guest-probe/Cargo.toml --target wasm32-wasip2 --release`",
        probe_wasm().display()
    );
    let (tmp, state) = match options.state {
        Some(state) => (None, state),
        None => {
            let tmp = tempfile::tempdir().unwrap();
            let state = tmp.path().join("state");
            (Some(tmp), state)
        }
    };
    let mut cmd = Command::new(BIN);
    cmd.arg("up")
        .arg("--manifest")
        .arg(probe_manifest())
        .args(["--listen", "127.0.0.1:0"])
        .arg("--state-dir")
        .arg(&state)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .args(&options.extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &options.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start edge-host");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (ready_tx, ready_rx) = mpsc::channel();
    {
        let out = child.stdout.take().unwrap();
        let lines = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("edge-host listening on http://") {
                    let _ = ready_tx.send(addr.parse::<SocketAddr>().unwrap());
                }
                lines.lock().unwrap().push(line);
            }
        });
    }
    {
        let err = child.stderr.take().unwrap();
        let lines = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
    }
    let addr = match ready_rx.recv_timeout(Duration::from_secs(120)) {
        Ok(addr) => addr,
        Err(_) => {
            let status = child.try_wait();
            let _ = child.kill();
            // Give the reader thread a moment to collect the last lines.
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "edge-host did not become ready (exit: {status:?}); stdout:\n{}\nstderr:\n{}",
                stdout.lock().unwrap().join("\n"),
                stderr.lock().unwrap().join("\n")
            );
        }
    };
    TestHost {
        child,
        addr,
        state,
        _tmp: tmp,
        stdout,
        stderr,
    }
}

impl TestHost {
    fn get(&self, path: &str) -> HttpResponse {
        request(self.addr, "GET", path, &[], None)
    }

    fn post(&self, path: &str, body: &[u8]) -> HttpResponse {
        request(self.addr, "POST", path, &[], Some(Body::Sized(body)))
    }

    /// Sends SIGTERM and waits for the process to exit.
    fn stop(mut self) -> ExitStatus {
        signal_term(&self.child);
        wait_exit(&mut self.child, Duration::from_secs(20))
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Whether the host's stderr says `text` within two seconds: a thread
    /// collects the lines, so a line written just before an answer may
    /// arrive a moment after it.
    fn stderr_says(&self, text: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            if self.stderr_text().contains(text) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal_term(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < until,
            "edge-host did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// A deliberately small HTTP/1.1 client: one request per connection, so the
// tests see exactly what the host writes.

enum Body<'a> {
    Sized(&'a [u8]),
    Chunked(&'a [u8]),
}

#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Body<'_>>,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match &body {
        Some(Body::Sized(b)) => head.push_str(&format!("content-length: {}\r\n", b.len())),
        Some(Body::Chunked(_)) => head.push_str("transfer-encoding: chunked\r\n"),
        None => {}
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The host may answer (413) and close before reading a large body, so
    // write errors are not failures here.
    match body {
        Some(Body::Sized(b)) => {
            let _ = stream.write_all(b);
        }
        Some(Body::Chunked(b)) => {
            for chunk in b.chunks(64 << 10) {
                if stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .and_then(|()| stream.write_all(chunk))
                    .and_then(|()| stream.write_all(b"\r\n"))
                    .is_err()
                {
                    break;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        None => {}
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&data[..eol]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

fn assert_problem(r: &HttpResponse, status: u16, kind_suffix: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let v = r.json();
    assert_eq!(v["status"], status);
    assert!(
        v["type"].as_str().unwrap().ends_with(kind_suffix),
        "type {} does not end with {kind_suffix}",
        v["type"]
    );
    assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()));
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with
/// `200 hello`, counting them.
struct Upstream {
    port: u16,
    hits: Arc<AtomicUsize>,
}

fn start_upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut seen = Vec::new();
            let mut byte = [0u8; 1];
            while !seen.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                seen.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    Upstream { port, hits }
}

// ---------------------------------------------------------------- routing

#[test]
fn the_most_specific_route_wins() {
    let host = spawn_host();
    // (path, expected spin-matched-route)
    let cases = [
        ("/probe/exact", "/probe/exact"),
        ("/probe/specific/headers", "/probe/specific/..."),
        ("/probe/specific", "/probe/specific/..."),
        ("/probe/headers", "/probe/..."),
        ("/probe/exactly/headers", "/probe/..."),
    ];
    for (path, matched) in cases {
        let r = host.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.json()["headers"]["spin-matched-route"], matched, "{path}");
    }
    // Which component ran is visible through its own variables.
    assert_eq!(host.get("/probe/var?name=who").json()["value"], "probe");
    assert_eq!(
        host.get("/probe/specific/var?name=who").json()["value"],
        "probe-specific"
    );
}

#[test]
fn a_path_without_route_gets_an_empty_404_as_under_spin() {
    let host = spawn_host();
    for path in ["/nowhere", "/prob", "/.well-known/spin/other"] {
        let r = host.get(path);
        assert_eq!(
            (r.status, r.body.as_slice()),
            (404, &b""[..]),
            "{path}: {r:?}"
        );
    }
}

#[test]
fn the_well_known_info_route_answers_as_spin_does() {
    let host = spawn_host();
    let r = host.get("/.well-known/spin/info");
    assert_eq!(r.status, 200);
    let info = r.json();
    let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
    assert!(
        keys.iter().all(|k| *k == "name" || *k == "version"),
        "{info}"
    );
    assert!(info["name"].is_string(), "{info}");
}

#[test]
fn spin_request_headers_carry_spin_values() {
    let host = spawn_host();
    let r = host.get("/probe/specific/headers?x=1&y=2");
    assert_eq!(r.status, 200);
    let body = r.json();
    let h = &body["headers"];
    assert_eq!(
        h["spin-full-url"],
        format!("http://{}/probe/specific/headers?x=1&y=2", host.addr)
    );
    assert_eq!(h["spin-path-info"], "/headers");
    assert_eq!(h["spin-matched-route"], "/probe/specific/...");
    assert_eq!(h["spin-raw-component-route"], "/probe/specific/...");
    assert_eq!(h["spin-component-route"], "/probe/specific");
    assert_eq!(h["spin-base-path"], "/");
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{h}"
    );
    // The guest sees the absolute URI, as under Spin.
    assert_eq!(
        body["uri"],
        format!("http://{}/probe/specific/headers?x=1&y=2", host.addr)
    );

    let captured = host.get("/probe/stores/s42/headers").json();
    assert_eq!(captured["headers"]["spin-path-match-store"], "s42");
    assert_eq!(
        captured["headers"]["spin-matched-route"],
        "/probe/stores/:store/..."
    );
    assert_eq!(
        captured["headers"]["spin-component-route"],
        "/probe/stores/:store"
    );
    assert_eq!(captured["headers"]["spin-path-info"], "/headers");

    let exact = host.get("/probe/exact").json();
    assert_eq!(exact["headers"]["spin-path-info"], "");
    assert_eq!(exact["headers"]["spin-component-route"], "/probe/exact");
}

#[test]
fn the_well_known_health_route_answers_ok() {
    let host = spawn_host();
    let r = host.get("/.well-known/spin/health");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"OK");
}

// ------------------------------------------------------- stores and data

#[test]
fn a_store_or_database_the_manifest_does_not_list_is_access_denied() {
    let host = spawn_host();
    let kv = host.get("/probe/specific/kv");
    assert_eq!(kv.status, 403, "{kv:?}");
    assert_eq!(kv.json()["error"], "access-denied");
    let sql = host.get("/probe/specific/sql");
    assert_eq!(sql.status, 403, "{sql:?}");
    assert_eq!(sql.json()["error"], "access-denied");
    // A label no manifest can grant is access-denied too, as in Spin.
    let other = host.get("/probe/kv?label=elsewhere");
    assert_eq!(other.json()["error"], "access-denied");
    // The listed store works.
    let ok = host.get("/probe/kv?key=k&value=v");
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json()["value"], "v");
}

#[test]
fn key_value_and_sqlite_data_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let first = spawn_with(Options {
        state: Some(state.clone()),
        ..Options::default()
    });
    assert_eq!(
        first.get("/probe/kv?key=colour&value=blue").json()["value"],
        "blue"
    );
    let inserted = first.get("/probe/sql?insert=alpha").json();
    assert_eq!(inserted["count"], 1);
    assert_eq!(inserted["last_insert_rowid"], 1);
    let status = first.stop();
    assert!(status.success(), "SIGTERM should exit 0, got {status}");
    assert!(state.join("sqlite_db.db").is_file());
    assert!(state.join("sqlite_key_value.db").is_file());

    let second = spawn_with(Options {
        state: Some(state),
        ..Options::default()
    });
    assert_eq!(second.get("/probe/kv?key=colour").json()["value"], "blue");
    assert_eq!(second.get("/probe/sql").json()["count"], 1);
}

#[test]
fn a_transaction_spans_execute_calls_on_one_connection() {
    let host = spawn_host();
    let r = host.get("/probe/sql-tx").json();
    assert_eq!(r["changes"], 1, "{r}");
    assert_eq!(
        r["inside"].as_i64().unwrap(),
        r["before"].as_i64().unwrap() + 1,
        "{r}"
    );
    assert_eq!(r["after"], r["before"], "{r}");
}

#[test]
fn a_transaction_left_open_is_rolled_back_and_releases_the_write_lock() {
    let host = spawn_host();
    let before = host.get("/probe/sql-tx").json()["before"].as_i64().unwrap();
    assert_eq!(host.get("/probe/sql-left-open").status, 200);
    let started = Instant::now();
    let after = host.get("/probe/sql-tx").json();
    assert_eq!(
        after["before"], before,
        "the abandoned insert must not be committed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "write lock was held"
    );
}

#[test]
fn attaching_another_database_file_is_refused() {
    let host = spawn_host();
    let r = host.get("/probe/attach");
    assert_eq!(r.status, 500, "{r:?}");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("not authorized"),
        "{r:?}"
    );
    assert!(!host.state.join("stolen.db").exists());
}

// ------------------------------------------------------------- outbound

#[test]
fn outbound_http_reaches_only_allowed_hosts() {
    let upstream = start_upstream();
    let host = spawn_host();
    let allowed = host.get(&format!(
        "/probe/outbound?url=http://127.0.0.1:{}/x",
        upstream.port
    ));
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(allowed.json()["status"], 200);
    assert_eq!(allowed.json()["body"], "hello");

    // Same server, but `localhost` is not in `http://127.0.0.1:*`.
    let by_name = host.get(&format!(
        "/probe/outbound?url=http://localhost:{}/x",
        upstream.port
    ));
    assert_eq!(by_name.status, 502, "{by_name:?}");
    assert!(
        by_name.json()["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied")
    );

    // The component with no allowed hosts may reach nothing.
    let denied = host.get(&format!(
        "/probe/specific/outbound?url=http://127.0.0.1:{}/x",
        upstream.port
    ));
    assert_eq!(denied.status, 502, "{denied:?}");
    assert!(
        denied.json()["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied")
    );

    assert_eq!(
        upstream.hits.load(Ordering::SeqCst),
        1,
        "refused requests must not leave the host"
    );
    assert!(host.stderr_says("non-allowed host"));
}

// ----------------------------------------------------------- robustness

#[test]
fn a_trap_answers_500_and_the_next_request_is_served() {
    let host = spawn_host();
    assert_problem(&host.get("/probe/trap"), 500, "component-failed");
    let r = host.get("/probe/headers");
    assert_eq!(r.status, 200);
    assert!(host.stderr_says("\"probe\" failed"));
}

#[test]
fn a_trap_inside_a_write_transaction_does_not_keep_the_lock() {
    let host = spawn_host();
    let before = host.get("/probe/sql-tx").json()["before"].as_i64().unwrap();
    assert_problem(&host.get("/probe/sql-trap"), 500, "component-failed");
    let started = Instant::now();
    let r = host.get("/probe/sql?insert=after-trap");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The trapped insert was rolled back, and no transaction lingers on the
    // pooled connection (sql-tx would fail to BEGIN inside one).
    let after = host.get("/probe/sql-tx");
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(after.json()["before"], before);
}

#[test]
fn a_guest_past_its_deadline_is_stopped_and_the_host_keeps_serving() {
    let host = spawn_with(Options {
        extra: vec!["--deadline-secs".into(), "1".into()],
        ..Options::default()
    });
    let started = Instant::now();
    let r = host.get("/probe/spin");
    let took = started.elapsed();
    assert_problem(&r, 504, "deadline-exceeded");
    assert!(
        took >= Duration::from_millis(900),
        "stopped too early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "stopped too late: {took:?}");
    assert_eq!(host.get("/probe/headers").status, 200);
}

#[test]
fn a_spinning_guest_does_not_starve_other_requests() {
    let host = spawn_with(Options {
        extra: vec!["--deadline-secs".into(), "4".into()],
        ..Options::default()
    });
    let addr = host.addr;
    let spinners: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || request(addr, "GET", "/probe/spin", &[], None).status))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(host.get("/probe/headers").status, 200);
    // Starved, it would wait for the spinners' 4 s deadline.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a healthy request waited {:?} behind busy guests",
        started.elapsed()
    );
    for s in spinners {
        assert_eq!(s.join().unwrap(), 504);
    }
}

#[test]
fn when_every_instance_slot_is_busy_further_requests_get_503() {
    let host = spawn_with(Options {
        extra: vec!["--max-instances".into(), "1".into()],
        ..Options::default()
    });
    let addr = host.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/probe/sleep?ms=2000", &[], None));
    std::thread::sleep(Duration::from_millis(700));
    assert_problem(&host.get("/probe/headers"), 503, "overloaded");
    assert_eq!(slow.join().unwrap().status, 200);
    // The slot is free again.
    assert_eq!(host.get("/probe/headers").status, 200);
}

#[test]
fn bodies_over_the_limit_get_413_before_the_guest_runs() {
    let host = spawn_with(Options {
        extra: vec!["--max-body-bytes".into(), (1u64 << 20).to_string()],
        ..Default::default()
    });
    let big = vec![b'x'; (1 << 20) + 1];
    assert_problem(&host.post("/probe/echo", &big), 413, "payload-too-large");
    let chunked = request(
        host.addr,
        "POST",
        "/probe/echo",
        &[],
        Some(Body::Chunked(&big)),
    );
    assert_problem(&chunked, 413, "payload-too-large");

    // Under the host limit (and over the components' own 64 KiB), the body
    // reaches the guest whole, sized or chunked.
    let fine = vec![b'y'; 100 * 1024];
    let r = host.post("/probe/echo", &fine);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["length"], 100 * 1024);
    let r = request(
        host.addr,
        "POST",
        "/probe/echo",
        &[],
        Some(Body::Chunked(&fine)),
    );
    assert_eq!(r.json()["length"], 100 * 1024);
}

#[test]
fn without_a_limit_every_body_reaches_the_guest_as_under_spin() {
    let host = spawn_host();
    let big = vec![b'z'; 3 << 20];
    let r = host.post("/probe/echo", &big);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["length"], 3 << 20);
    let r = request(
        host.addr,
        "POST",
        "/probe/echo",
        &[],
        Some(Body::Chunked(&big)),
    );
    assert_eq!(r.json()["length"], 3 << 20);
}

#[test]
fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    let host = spawn_host();
    let addr = host.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/probe/sleep?ms=2000", &[], None));
    std::thread::sleep(Duration::from_millis(700));
    let status = host.stop();
    let r = slow.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["slept_ms"], 2000);
    assert!(status.success(), "{status}");
}

#[test]
fn every_request_is_logged_with_method_path_component_status_and_duration() {
    let host = spawn_host();
    host.get("/probe/headers");
    host.get("/nowhere");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = host.stdout.lock().unwrap().clone();
        let ok = lines
            .iter()
            .any(|l| l.starts_with("GET /probe/headers probe 200 ") && l.ends_with("ms"));
        let missing = lines.iter().any(|l| l.starts_with("GET /nowhere - 404 "));
        if ok && missing {
            break;
        }
        assert!(Instant::now() < deadline, "log lines missing: {lines:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn guest_output_goes_to_per_component_log_files() {
    let host = spawn_host();
    assert_eq!(host.get("/probe/stdout").status, 200);
    let logs = host.state.join("logs");
    let out = std::fs::read_to_string(logs.join("probe_stdout.txt")).unwrap();
    let err = std::fs::read_to_string(logs.join("probe_stderr.txt")).unwrap();
    assert!(out.contains("guest-probe stdout line"), "{out}");
    assert!(err.contains("guest-probe stderr line"), "{err}");
}

// ---------------------------------------------------- variables and env

#[test]
fn component_variables_render_application_variables() {
    let host = spawn_with(Options {
        env: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "from-env".into())],
        ..Options::default()
    });
    assert_eq!(
        host.get("/probe/var?name=greeting").json()["value"],
        "hello, world"
    );
    assert_eq!(
        host.get("/probe/var?name=secret").json()["value"],
        "from-env"
    );
    let undefined = host.get("/probe/var?name=nope");
    assert_eq!(undefined.status, 404);
    assert!(
        undefined.json()["error"]
            .as_str()
            .unwrap()
            .contains("Undefined")
    );
    // Variables are per component: the other entry does not see `greeting`.
    let other = host.get("/probe/specific/var?name=greeting");
    assert!(
        other.json()["error"]
            .as_str()
            .unwrap()
            .contains("Undefined")
    );
}

#[test]
fn the_manifest_environment_reaches_the_guest() {
    let host = spawn_host();
    assert_eq!(host.get("/probe/env").json()["PROBE_ENV"], "from-manifest");
    assert_eq!(
        host.get("/probe/specific/env").json()["PROBE_ENV"],
        Value::Null
    );
}

// ------------------------------------------------------------ test clock

#[test]
fn the_test_clock_moves_the_guests_wall_clock() {
    let host = spawn_with(Options {
        extra: vec!["--test-clock".into()],
        ..Options::default()
    });
    let before = host.get("/probe/now").json()["unix_seconds"]
        .as_i64()
        .unwrap();
    let set = host.post("/_edge/clock", br#"{"offset_seconds": 86400}"#);
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.json()["offset_seconds"], 86400);
    let after = host.get("/probe/now").json()["unix_seconds"]
        .as_i64()
        .unwrap();
    assert!((after - before - 86_400).abs() <= 5, "{before} -> {after}");

    let absolute = host.post("/_edge/clock", br#"{"now": "2031-05-06T07:08:09Z"}"#);
    assert_eq!(absolute.status, 200);
    let now = host.get("/probe/now").json()["unix_seconds"]
        .as_i64()
        .unwrap();
    assert!((now - 1_935_817_689).abs() <= 5, "{now}");

    assert_problem(&host.post("/_edge/clock", b"{}"), 400, "bad-request");
}

#[test]
fn without_the_flag_there_is_no_clock_route() {
    let host = spawn_host();
    let r = host.post("/_edge/clock", br#"{"offset_seconds": 5}"#);
    assert_eq!((r.status, r.body.as_slice()), (404, &b""[..]), "{r:?}");
}

// ------------------------------------------------------- manifest errors

/// Writes a variant of the probe manifest next to the real one's sources and
/// returns edge-host's exit status and stderr.
fn run_with_manifest(
    edit: impl Fn(String) -> String,
    env: &[(&str, &str)],
) -> (ExitStatus, String) {
    let original = std::fs::read_to_string(probe_manifest()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Sources are relative to the manifest: point them at the real probe.
    let text = edit(original).replace(
        "../guest-probe/target",
        &format!("{}/tests/guest-probe/target", repo_root().display()),
    );
    let manifest = dir.path().join("spin.toml");
    std::fs::write(&manifest, text).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("up")
        .arg("--manifest")
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A valid manifest would serve forever: give it a moment, then stop it.
    let status = match wait_or_none(&mut child, Duration::from_secs(60)) {
        Some(status) => status,
        None => {
            signal_term(&child);
            wait_exit(&mut child, Duration::from_secs(20))
        }
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn wait_or_none(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + limit;
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // Ready means valid; otherwise the process exits on its own.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 {
            if line.starts_with("edge-host listening on") {
                let _ = tx.send(());
            }
            line.clear();
        }
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if rx.try_recv().is_ok() || Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn manifest_errors_name_the_key_and_stop_the_host_before_serving() {
    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|m| {
                m.replace(
                    r#"key_value_stores = ["default"]"#,
                    r#"key_value_stores = ["default", "x"]"#,
                )
            }),
            r#"component "probe": key_value_stores: unknown label "x""#,
        ),
        (
            Box::new(|m| {
                m.replace(
                    r#"sqlite_databases = ["default"]"#,
                    r#"sqlite_databases = ["orders"]"#,
                )
            }),
            r#"component "probe": sqlite_databases: unknown label "orders""#,
        ),
        (
            Box::new(|m| {
                m.replacen(
                    r#"component = "probe-specific""#,
                    r#"component = "ghost""#,
                    1,
                )
            }),
            r#"trigger.http[1]: component: unknown component "ghost""#,
        ),
        (
            Box::new(|m| m.replacen("guest_probe.wasm", "missing.wasm", 1)),
            r#"component "probe": source: file not found: "#,
        ),
        (
            Box::new(|m| {
                m.replace(
                    r#"greeting = { default = "hello" }"#,
                    "greeting = { required = true }",
                )
            }),
            "variables.greeting: required variable has no value (set SPIN_VARIABLE_GREETING)",
        ),
        (
            Box::new(|m| m.replace("{{ greeting }}, world", "{{ salutation }}, world")),
            r#"component "probe": variables.greeting: unknown application variable "salutation""#,
        ),
    ];
    for (edit, expected) in cases {
        let (status, stderr) = run_with_manifest(edit, &[]);
        assert!(
            !status.success(),
            "expected failure for {expected}; stderr: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_required_variable_set_in_the_environment_lets_the_host_start() {
    let (status, stderr) = run_with_manifest(
        |m| {
            m.replace(
                r#"greeting = { default = "hello" }"#,
                "greeting = { required = true }",
            )
        },
        &[("SPIN_VARIABLE_GREETING", "hi")],
    );
    // It started (and was stopped by SIGTERM, which exits 0).
    assert!(status.success(), "{stderr}");
}

fn runtime_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_runtime_config_file_puts_the_stores_where_spins_keys_say() {
    let tmp = tempfile::tempdir().unwrap();
    let kv_file = tmp.path().join("elsewhere/kv.db");
    let sql_file = tmp.path().join("elsewhere/app.db");
    let config = runtime_config(
        tmp.path(),
        &format!(
            "[key_value_store.default]\ntype = \"spin\"\npath = \"{}\"\n\n[sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n",
            kv_file.display(),
            sql_file.display()
        ),
    );
    let host = spawn_with(Options {
        extra: vec!["--runtime-config-file".into(), config.display().to_string()],
        ..Options::default()
    });
    assert_eq!(
        host.get("/probe/kv?key=colour&value=green").json()["value"],
        "green"
    );
    assert_eq!(host.get("/probe/sql?insert=alpha").json()["count"], 1);
    assert!(
        kv_file.is_file() && sql_file.is_file(),
        "the configured files hold the data"
    );
    assert!(
        !host.state.join("sqlite_key_value.db").exists(),
        "not the state directory's default"
    );
}

#[test]
fn a_runtime_config_with_a_key_the_host_does_not_honour_is_refused_at_start() {
    for (text, named) in [
        (
            "[[variables_provider]]\ntype = \"vault\"\nurl = \"http://vault\"\n",
            "variables_provider",
        ),
        (
            "[key_value_store.default]\ntype = \"spin\"\npaht = \"kv.db\"\n",
            "paht",
        ),
        (
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://:bad url\"\n",
            "url",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let config = runtime_config(tmp.path(), text);
        let mut child = Command::new(BIN)
            .arg("up")
            .arg("--manifest")
            .arg(probe_manifest())
            .args(["--listen", "127.0.0.1:0", "--runtime-config-file"])
            .arg(&config)
            .arg("--state-dir")
            .arg(tmp.path().join("state"))
            .arg("--cache-dir")
            .arg(shared_cache_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = match wait_or_none(&mut child, Duration::from_secs(60)) {
            Some(status) => status,
            None => {
                signal_term(&child);
                panic!("{text}: the host started");
            }
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!status.success(), "{text}: {status}");
        assert!(
            stderr.contains(named) && stderr.contains("runtime"),
            "{text}: {stderr}"
        );
    }
}

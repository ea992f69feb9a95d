//! guest-probe: a Spin component (spin-sdk 5.2, wasi:http 0.2) whose routes
//! each exercise one thing a Spin host must provide, so edge-host can be
//! tested through HTTP exactly as a component sees it. The route is taken
//! from `spin-path-info`, so the same wasm serves under several triggers.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};
use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::{self, Store};
use spin_sdk::pg3;
use spin_sdk::sqlite::{self, Connection, Value};
use spin_sdk::variables;

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let info = header(&req, "spin-path-info");
    let query = req.query().to_owned();
    let param = |name: &str| -> Option<String> {
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| v.to_owned())
        })
    };
    // The last segment of the path info picks the probe, so the same probe is
    // reachable under any route (`/probe/x/headers`, `/probe/exact`, ...).
    let op = info.rsplit('/').next().unwrap_or_default();
    Ok(match op {
        "" | "headers" => headers(&req),
        // The cheapest route: what the host itself costs per request.
        "ping" => Response::new(200, "pong"),
        "kv" => kv(
            &param("label").unwrap_or_else(|| "default".into()),
            param("key"),
            param("value"),
        ),
        "sql" => sql(
            &param("db").unwrap_or_else(|| "default".into()),
            param("insert"),
        ),
        "sql-insert" => sql_insert(&param("v").unwrap_or_default()),
        "sql-tx" => sql_tx(),
        "sql-left-open" => sql_left_open(),
        "sql-trap" => sql_trap(),
        "attach" => attach(),
        "pg" => pg(&param("address").unwrap_or_default(), param("insert")),
        "pg-left-open" => pg_left_open(&param("address").unwrap_or_default()),
        "pg-trap" => pg_trap(&param("address").unwrap_or_default()),
        "outbound" => outbound(&param("url").unwrap_or_default()).await,
        "trap" => panic!("guest-probe: trapping on purpose"),
        "spin" => spin_forever(),
        "var" => var(&param("name").unwrap_or_default()),
        "now" => now(),
        "sleep" => {
            let ms: u64 = param("ms").and_then(|v| v.parse().ok()).unwrap_or(100);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            json_response(200, json!({ "slept_ms": ms }))
        }
        "env" => json_response(200, json!({ "PROBE_ENV": std::env::var("PROBE_ENV").ok() })),
        "echo" => echo(&req),
        "stdout" => {
            println!("guest-probe stdout line");
            eprintln!("guest-probe stderr line");
            json_response(200, json!({ "printed": true }))
        }
        other => json_response(
            404,
            json!({ "error": "no probe", "probe": other, "path_info": info }),
        ),
    })
}

fn header(req: &Request, name: &str) -> String {
    req.header(name)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn json_response(status: u16, body: Json) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

fn headers(req: &Request) -> Response {
    let spin: serde_json::Map<String, Json> = req
        .headers()
        .filter(|(name, _)| name.starts_with("spin-"))
        .map(|(name, value)| (name.to_owned(), json!(value.as_str().unwrap_or_default())))
        .collect();
    json_response(
        200,
        json!({ "headers": spin, "uri": req.uri(), "path": req.path(), "method": req.method().to_string() }),
    )
}

fn kv_error(e: key_value::Error) -> Response {
    let (status, name) = match &e {
        key_value::Error::AccessDenied => (403, "access-denied"),
        key_value::Error::NoSuchStore => (404, "no-such-store"),
        key_value::Error::StoreTableFull => (503, "store-table-full"),
        key_value::Error::Other(_) => (500, "other"),
    };
    json_response(status, json!({ "error": name, "detail": format!("{e:?}") }))
}

fn kv(label: &str, key: Option<String>, value: Option<String>) -> Response {
    let store = match Store::open(label) {
        Ok(s) => s,
        Err(e) => return kv_error(e),
    };
    let key = key.unwrap_or_else(|| "probe".into());
    if let Some(value) = value
        && let Err(e) = store.set(&key, value.as_bytes())
    {
        return kv_error(e);
    }
    match store.get(&key) {
        Ok(v) => json_response(
            200,
            json!({ "label": label, "key": key, "value": v.map(|b| String::from_utf8_lossy(&b).into_owned()) }),
        ),
        Err(e) => kv_error(e),
    }
}

fn sql_error(e: sqlite::Error) -> Response {
    let (status, name) = match &e {
        sqlite::Error::AccessDenied => (403, "access-denied"),
        sqlite::Error::NoSuchDatabase => (404, "no-such-database"),
        sqlite::Error::InvalidConnection => (500, "invalid-connection"),
        sqlite::Error::DatabaseFull => (507, "database-full"),
        sqlite::Error::Io(_) => (500, "io"),
    };
    json_response(status, json!({ "error": name, "detail": format!("{e:?}") }))
}

fn scalar(conn: &Connection, statement: &str) -> Result<i64, sqlite::Error> {
    let result = conn.execute(statement, &[])?;
    Ok(match result.rows.first().and_then(|r| r.values.first()) {
        Some(Value::Integer(i)) => *i,
        _ => -1,
    })
}

fn sql(db: &str, insert: Option<String>) -> Response {
    let run = || -> Result<Json, sqlite::Error> {
        let conn = Connection::open(db)?;
        conn.execute("CREATE TABLE IF NOT EXISTS probe (v TEXT NOT NULL)", &[])?;
        let mut rowid = None;
        if let Some(v) = insert {
            conn.execute("INSERT INTO probe (v) VALUES (?)", &[Value::Text(v)])?;
            rowid = Some(scalar(&conn, "SELECT last_insert_rowid()")?);
        }
        let count = scalar(&conn, "SELECT count(*) FROM probe")?;
        Ok(json!({ "db": db, "count": count, "last_insert_rowid": rowid }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => sql_error(e),
    }
}

/// One INSERT and nothing else (the table exists once `sql` has run): the
/// write path the benchmark measures.
fn sql_insert(v: &str) -> Response {
    let run = || -> Result<Json, sqlite::Error> {
        let conn = Connection::open("default")?;
        conn.execute(
            "INSERT INTO probe (v) VALUES (?)",
            &[Value::Text(v.to_owned())],
        )?;
        Ok(json!({ "inserted": true }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => sql_error(e),
    }
}

/// A transaction spanning several `execute` calls on one connection.
fn sql_tx() -> Response {
    let run = || -> Result<Json, sqlite::Error> {
        let conn = Connection::open("default")?;
        conn.execute("CREATE TABLE IF NOT EXISTS probe_tx (v INTEGER)", &[])?;
        let before = scalar(&conn, "SELECT count(*) FROM probe_tx")?;
        conn.execute("BEGIN", &[])?;
        conn.execute("INSERT INTO probe_tx (v) VALUES (1)", &[])?;
        let changes = scalar(&conn, "SELECT changes()")?;
        let inside = scalar(&conn, "SELECT count(*) FROM probe_tx")?;
        conn.execute("ROLLBACK", &[])?;
        let after = scalar(&conn, "SELECT count(*) FROM probe_tx")?;
        Ok(json!({ "before": before, "inside": inside, "after": after, "changes": changes }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => sql_error(e),
    }
}

/// Begins a write transaction and returns without ending it: the host must
/// roll it back when the connection is released.
fn sql_left_open() -> Response {
    let run = || -> Result<Json, sqlite::Error> {
        let conn = Connection::open("default")?;
        conn.execute("CREATE TABLE IF NOT EXISTS probe_tx (v INTEGER)", &[])?;
        conn.execute("BEGIN IMMEDIATE", &[])?;
        conn.execute("INSERT INTO probe_tx (v) VALUES (2)", &[])?;
        Ok(json!({ "left_open": true }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => sql_error(e),
    }
}

/// Traps while holding the write lock.
fn sql_trap() -> Response {
    let conn = Connection::open("default").expect("open");
    conn.execute("CREATE TABLE IF NOT EXISTS probe_tx (v INTEGER)", &[])
        .expect("create");
    conn.execute("BEGIN IMMEDIATE", &[]).expect("begin");
    conn.execute("INSERT INTO probe_tx (v) VALUES (3)", &[])
        .expect("insert");
    panic!("guest-probe: trapping inside a write transaction");
}

fn attach() -> Response {
    let run = || -> Result<Json, sqlite::Error> {
        let conn = Connection::open("default")?;
        conn.execute("ATTACH DATABASE 'stolen.db' AS stolen", &[])?;
        Ok(json!({ "attached": true }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => sql_error(e),
    }
}

async fn outbound(url: &str) -> Response {
    let request = Request::get(url).build();
    match spin_sdk::http::send::<_, Response>(request).await {
        Ok(response) => json_response(
            200,
            json!({ "status": response.status(), "body": String::from_utf8_lossy(response.body()) }),
        ),
        Err(e) => json_response(502, json!({ "error": format!("{e:?}") })),
    }
}

fn spin_forever() -> Response {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn var(name: &str) -> Response {
    match variables::get(name) {
        Ok(value) => json_response(200, json!({ "name": name, "value": value })),
        Err(e) => json_response(404, json!({ "name": name, "error": format!("{e:?}") })),
    }
}

fn now() -> Response {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    json_response(
        200,
        json!({ "unix_seconds": since.as_secs(), "unix_ms": since.as_millis() as u64 }),
    )
}

fn echo(req: &Request) -> Response {
    let method = req.method();
    json_response(
        200,
        json!({ "method": method.to_string(), "length": req.body().len(), "post": *method == Method::Post }),
    )
}

fn pg_error(e: pg3::PgError) -> Response {
    let (status, kind, detail) = match e {
        pg3::PgError::ConnectionFailed(d) => (502, "connection-failed", d),
        pg3::PgError::BadParameter(d) => (400, "bad-parameter", d),
        pg3::PgError::QueryFailed(d) => (500, "query-failed", d),
        pg3::PgError::ValueConversionFailed(d) => (500, "value-conversion-failed", d),
        pg3::PgError::Other(d) => (500, "other", d),
    };
    json_response(status, json!({ "error": kind, "detail": detail }))
}

fn pg_count(conn: &pg3::Connection) -> Result<i64, pg3::PgError> {
    let rows = conn.query("SELECT count(*) FROM probe_pg", &[])?;
    match rows.rows.first().and_then(|r| r.first()) {
        Some(pg3::DbValue::Int64(n)) => Ok(*n),
        other => Err(pg3::PgError::Other(format!("count is {other:?}"))),
    }
}

/// Creates the table, inserts one row of every mapped type when asked, and
/// answers the row count and the newest row as the guest decodes it.
fn pg(address: &str, insert: Option<String>) -> Response {
    let run = || -> Result<Json, pg3::PgError> {
        let conn = pg3::Connection::open(address)?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS probe_pg (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL, n BIGINT, i INTEGER,
                f DOUBLE PRECISION, b BOOLEAN, d DATE, at TIMESTAMP, raw BYTEA, missing TEXT)",
            &[],
        )?;
        let mut inserted = None;
        if let Some(v) = insert {
            inserted = Some(conn.execute(
                "INSERT INTO probe_pg (v, n, i, f, b, d, at, raw, missing) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    pg3::ParameterValue::Str(v),
                    pg3::ParameterValue::Int64(9_007_199_254_740_993),
                    pg3::ParameterValue::Int32(-7),
                    pg3::ParameterValue::Floating64(0.25),
                    pg3::ParameterValue::Boolean(true),
                    pg3::ParameterValue::Date((2026, 12, 4)),
                    pg3::ParameterValue::Datetime((2026, 12, 4, 13, 43, 31, 120_000_000)),
                    pg3::ParameterValue::Binary(vec![0, 1, 254, 255]),
                    pg3::ParameterValue::DbNull,
                ],
            )?);
        }
        let newest = conn.query("SELECT v, n, i, f, b, d, at, raw, missing FROM probe_pg ORDER BY id DESC LIMIT 1", &[])?;
        let columns: Vec<String> = newest.columns.iter().map(|c| format!("{}:{:?}", c.name, c.data_type)).collect();
        let row: Vec<String> = newest.rows.first().map(|r| r.iter().map(|v| format!("{v:?}")).collect()).unwrap_or_default();
        Ok(json!({ "count": pg_count(&conn)?, "inserted": inserted, "columns": columns, "row": row }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => pg_error(e),
    }
}

/// BEGIN and an INSERT, then the answer without COMMIT: the host must roll
/// the transaction back when the connection is dropped.
fn pg_left_open(address: &str) -> Response {
    let run = || -> Result<Json, pg3::PgError> {
        let conn = pg3::Connection::open(address)?;
        conn.execute("BEGIN", &[])?;
        conn.execute("INSERT INTO probe_pg (v) VALUES ('left-open')", &[])?;
        conn.execute("LOCK TABLE probe_pg IN ACCESS EXCLUSIVE MODE", &[])?;
        Ok(json!({ "count_inside": pg_count(&conn)? }))
    };
    match run() {
        Ok(body) => json_response(200, body),
        Err(e) => pg_error(e),
    }
}

/// BEGIN, an INSERT and a table lock, then a trap: nothing may commit and
/// the lock must not outlive the instance.
fn pg_trap(address: &str) -> Response {
    let conn = match pg3::Connection::open(address) {
        Ok(conn) => conn,
        Err(e) => return pg_error(e),
    };
    let _ = conn.execute("BEGIN", &[]);
    let _ = conn.execute("INSERT INTO probe_pg (v) VALUES ('trapped')", &[]);
    let _ = conn.execute("LOCK TABLE probe_pg IN ACCESS EXCLUSIVE MODE", &[]);
    panic!("guest-probe: trapping inside a PostgreSQL transaction");
}

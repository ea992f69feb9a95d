//! Idempotency-Key for creating POSTs (IETF draft-ietf-httpapi-idempotency-key-header).
//!
//! A till on a flaky store network or an app losing signal retries "place
//! order" and "reserve stock"; without this, a retry is a second order. With
//! it, the look-up of `(scope, key)`, the handler's every effect and the
//! stored answer are **one SQLite transaction**: the request either happened
//! with its answer recorded, or did not happen at all. A process killed at
//! any instant leaves no half state, so a retry with the same key either
//! replays the original answer or runs for the first time; never both, and
//! never "still being processed" for an effect that was committed.
//!
//! | situation | answer |
//! | --- | --- |
//! | no `Idempotency-Key` | the handler runs, nothing is stored |
//! | key empty, over 255 characters, or not printable ASCII | 400 `bad-request` |
//! | first use | the handler runs; a non-5xx answer is stored with its effects |
//! | same key, same body | the stored status, selected headers and body, `Idempotent-Replayed: true` |
//! | same key, different body | 422 `idempotency-key-reused` |
//! | same key at the same time | the second waits for the first's transaction, then replays its answer |
//! | the handler answered 5xx | its effects are rolled back and nothing is stored: a retry runs afresh |
//!
//! How? The request opens `BEGIN IMMEDIATE` and marks a unit open on the
//! connection ([`crate::storage::Sql::open_units`]); every
//! [`crate::storage::in_transaction`] of the handler then runs as a
//! savepoint inside it, and the answer is inserted before the one `COMMIT`.
//! Concurrent duplicates queue on the write lock, so the second sees the
//! first's stored answer. The cost is that the write lock spans the whole
//! handler, which on these handlers is a few milliseconds of SQL and no
//! network I/O (notifications go out after the response).
//!
//! Why store 4xx but not 5xx? A 4xx is the request's own fault and the same
//! request gets the same answer; a 5xx is ours (a busy database, a bug), and a
//! retry must get a fresh chance. Why a scope? Keys are client-chosen: the
//! component passes caller + route (e.g. `customer:C-1 POST /api/orders`) so
//! two customers, or one customer on two routes, never share a key space.
//!
//! A stored answer is kept for [`RETENTION`], after which the key may be
//! reused ([`purge_expired`] deletes old rows).

use super::problem::Problem;
use crate::storage::{Row, Sql, SqlValue, StorageError};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use spin_sdk::http::{Request, Response};

/// The longest key accepted, as the draft suggests for interoperability.
pub const MAX_KEY_LEN: usize = 255;

/// How long a stored answer is replayed.
pub const RETENTION: Duration = Duration::hours(24);

/// The response headers stored and replayed with the status and body; the
/// rest (CORS, caching) are added afresh by the component on every answer.
pub const STORED_HEADERS: &[&str] = &[
    "content-type",
    "location",
    "etag",
    "content-location",
    "link",
    "retry-after",
];

/// A validated key: 1 to 255 printable ASCII characters. A structured-field
/// string (`"abc"`, as the draft defines the header) is unquoted; a bare
/// token, as many clients send, is taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, Problem> {
        let raw = raw.trim_matches([' ', '\t']);
        let key = match raw.strip_prefix('"') {
            Some(quoted) => {
                unquote(quoted).ok_or_else(|| bad_key("is not a valid quoted string"))?
            }
            None if raw.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"') => raw.to_owned(),
            None => return Err(bad_key("may hold only printable ASCII characters")),
        };
        if key.is_empty() {
            return Err(bad_key("must not be empty"));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(bad_key("must not be longer than 255 characters"));
        }
        Ok(IdempotencyKey(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Runs `handle` at most once per `(scope, key)` and request body; see the
/// module docs for every outcome. Without a key the handler simply runs.
pub fn run_idempotent(
    sql: &dyn Sql,
    scope: &str,
    key: Option<&str>,
    request_body: &[u8],
    now: DateTime<Utc>,
    handle: impl FnOnce() -> Response,
) -> Response {
    let Some(raw) = key else {
        return handle();
    };
    let key = match IdempotencyKey::parse(raw) {
        Ok(key) => key,
        Err(problem) => return problem.into_response(),
    };
    let fingerprint = fingerprint(request_body);
    if let Err(err) = sql.execute("BEGIN IMMEDIATE", &[]) {
        return Problem::from(err).into_response();
    }
    let units = sql.open_units();
    units.set(units.get() + 1);
    let outcome = (|| -> Result<Outcome, StorageError> {
        match look_up(sql, scope, key.as_str(), &fingerprint, now)? {
            Found::Replay(response) => return Ok(Outcome::Keep(response)),
            Found::Refused(problem) => return Ok(Outcome::Keep(problem.into_response())),
            Found::Absent => {}
        }
        let response = handle();
        if *response.status() >= 500 {
            return Ok(Outcome::Undo(response));
        }
        store(sql, scope, key.as_str(), &fingerprint, now, &response)?;
        Ok(Outcome::Keep(response))
    })();
    units.set(units.get() - 1);
    match outcome {
        Ok(Outcome::Keep(response)) => match sql.execute("COMMIT", &[]) {
            Ok(_) => response,
            Err(err) => {
                // Nothing happened: the answer must not claim otherwise.
                let _ = sql.execute("ROLLBACK", &[]);
                Problem::from(err).into_response()
            }
        },
        Ok(Outcome::Undo(response)) => {
            let _ = sql.execute("ROLLBACK", &[]);
            response
        }
        Err(err) => {
            let _ = sql.execute("ROLLBACK", &[]);
            Problem::from(err).into_response()
        }
    }
}

/// What the one transaction of an idempotent request ends with.
enum Outcome {
    /// Commit: a replay, a refusal, or a new answer stored with its effects.
    Keep(Response),
    /// Roll back the handler's effects (it answered 5xx).
    Undo(Response),
}

/// [`run_idempotent`] with the key and body taken from the request; a key
/// header that is not UTF-8 is 400 rather than silently ignored.
pub fn run_for_request(
    sql: &dyn Sql,
    scope: &str,
    req: &Request,
    now: DateTime<Utc>,
    handle: impl FnOnce() -> Response,
) -> Response {
    let key = match req.header("idempotency-key").map(|v| v.as_str()) {
        None => None,
        Some(Some(key)) => Some(key),
        Some(None) => return bad_key("may hold only printable ASCII characters").into_response(),
    };
    run_idempotent(sql, scope, key, req.body(), now, handle)
}

/// Deletes stored answers older than [`RETENTION`]; a scheduled back-office
/// call or an occasional request may run it, since it is one statement.
pub fn purge_expired(sql: &dyn Sql, now: DateTime<Utc>) -> Result<(), StorageError> {
    sql.execute(
        "DELETE FROM idempotency_keys WHERE created_at < ?1",
        &[SqlValue::Text(timestamp(now - RETENTION))],
    )
    .map(drop)
}

enum Found {
    Absent,
    Replay(Response),
    Refused(Problem),
}

/// The stored answer under `(scope, key)`, inside the request's
/// transaction. An answer past [`RETENTION`], or a row an earlier version
/// left without an answer, no longer counts and is removed.
fn look_up(
    sql: &dyn Sql,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Found, StorageError> {
    let rows = sql.execute(
        "SELECT request_hash, status, response_headers, response_body, created_at
         FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
        &[scope.into(), key.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(Found::Absent);
    };
    let created_at = DateTime::parse_from_rfc3339(row.text("created_at")?)
        .map_err(|e| StorageError::Decode(format!("idempotency_keys.created_at: {e}")))?
        .with_timezone(&Utc);
    let status = row.opt_integer("status")?;
    if created_at + RETENTION <= now || status.is_none() {
        sql.execute(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            &[scope.into(), key.into()],
        )?;
        return Ok(Found::Absent);
    }
    if row.text("request_hash")? != fingerprint {
        return Ok(Found::Refused(Problem::idempotency_key_reused()));
    }
    Ok(Found::Replay(replay(&row, status.unwrap_or_default())?))
}

/// Records the answer; it commits with the handler's effects.
fn store(
    sql: &dyn Sql,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    response: &Response,
) -> Result<(), StorageError> {
    let headers: Vec<(&str, &str)> = STORED_HEADERS
        .iter()
        .filter_map(|name| Some((*name, response.header(name)?.as_str()?)))
        .collect();
    let headers =
        serde_json::to_string(&headers).map_err(|e| StorageError::Other(e.to_string()))?;
    sql.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, response_headers, response_body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            scope.into(),
            key.into(),
            fingerprint.into(),
            SqlValue::Integer(i64::from(*response.status())),
            headers.into(),
            SqlValue::Blob(response.body().to_vec()),
            timestamp(now).into(),
        ],
    )?;
    Ok(())
}

fn replay(row: &Row<'_>, status: i64) -> Result<Response, StorageError> {
    let status = u16::try_from(status).map_err(|_| {
        StorageError::Decode(format!(
            "idempotency_keys.status {status} is not an HTTP status"
        ))
    })?;
    let headers: Vec<(String, String)> = match row.opt_text("response_headers")? {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| StorageError::Decode(format!("idempotency_keys.response_headers: {e}")))?,
        None => Vec::new(),
    };
    let body = match row.value("response_body")? {
        SqlValue::Null => Vec::new(),
        _ => row.blob("response_body")?.to_vec(),
    };
    let mut response = Response::new(status, body);
    for (name, value) in headers {
        response.set_header(name.to_ascii_lowercase(), value);
    }
    response.set_header("idempotent-replayed", "true");
    Ok(response)
}

fn bad_key(reason: &str) -> Problem {
    Problem::bad_request(format!("the Idempotency-Key header {reason}"))
}

/// Unquotes the rest of an RFC 8941 sf-string after its opening quote.
fn unquote(quoted: &str) -> Option<String> {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    loop {
        match chars.next()? {
            '"' => return chars.next().is_none().then_some(out),
            '\\' => match chars.next()? {
                c @ ('"' | '\\') => out.push(c),
                _ => return None,
            },
            c if (' '..='~').contains(&c) => out.push(c),
            _ => return None,
        }
    }
}

fn fingerprint(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fixed-width UTC text, so `created_at` compares correctly as a string.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::native::{NativeSql, SqliteDb};
    use chrono::TimeZone;
    use std::cell::Cell;

    struct Fixture {
        _dir: tempfile::TempDir,
        db: SqliteDb,
        sql: NativeSql,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("idem.db"));
        let sql = db.connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        Fixture { _dir: dir, db, sql }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    fn created(id: &str) -> Response {
        let mut response = Response::new(201, format!(r#"{{"id":"{id}"}}"#));
        response.set_header("content-type", "application/json");
        response.set_header("location", format!("/api/orders/{id}"));
        response.set_header("etag", "\"v1\"");
        response.set_header("x-request-local", "not stored");
        response
    }

    fn text(response: &Response, name: &str) -> Option<String> {
        response
            .header(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    fn problem_type(response: &Response) -> String {
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        body["type"].as_str().unwrap().to_owned()
    }

    #[test]
    fn a_retry_with_the_same_key_and_body_replays_the_stored_answer() {
        let f = fixture();
        let runs = Cell::new(0);
        let run = |at| {
            run_idempotent(
                &f.sql,
                "customer:C1 POST /api/orders",
                Some("k-1"),
                b"{\"a\":1}",
                at,
                || {
                    runs.set(runs.get() + 1);
                    created(&format!("o-{}", runs.get()))
                },
            )
        };
        let first = run(t0());
        let second = run(t0() + Duration::seconds(5));
        assert_eq!(runs.get(), 1);
        assert_eq!(*second.status(), 201);
        assert_eq!(second.body(), first.body());
        assert_eq!(
            text(&second, "location").as_deref(),
            Some("/api/orders/o-1")
        );
        assert_eq!(text(&second, "etag").as_deref(), Some("\"v1\""));
        assert_eq!(
            text(&second, "content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            text(&second, "idempotent-replayed").as_deref(),
            Some("true")
        );
        assert_eq!(text(&second, "x-request-local"), None);
        assert_eq!(text(&first, "idempotent-replayed"), None);
    }

    #[test]
    fn the_same_key_with_a_different_body_is_422() {
        let f = fixture();
        run_idempotent(&f.sql, "s", Some("k"), b"{\"a\":1}", t0(), || {
            created("o-1")
        });
        let reused = run_idempotent(&f.sql, "s", Some("k"), b"{\"a\":2}", t0(), || {
            panic!("must not run")
        });
        assert_eq!(*reused.status(), 422);
        assert_eq!(
            problem_type(&reused),
            "urn:omnichannel-edge:problem:idempotency-key-reused"
        );
    }

    fn effects(sql: &dyn Sql) -> i64 {
        sql.execute(
            "CREATE TABLE IF NOT EXISTS effects (id INTEGER PRIMARY KEY)",
            &[],
        )
        .unwrap();
        sql.execute("SELECT count(*) AS n FROM effects", &[])
            .unwrap()
            .first()
            .unwrap()
            .integer("n")
            .unwrap()
    }

    /// The handler's effect, in its own unit as every handler writes.
    fn effect(sql: &dyn Sql) {
        crate::storage::in_transaction(sql, |tx| {
            tx.execute("INSERT INTO effects DEFAULT VALUES", &[])
                .map(drop)
        })
        .unwrap();
    }

    #[test]
    fn a_concurrent_duplicate_waits_for_the_first_and_replays_its_answer() {
        let f = fixture();
        assert_eq!(effects(&f.sql), 0);
        let db = f.db.clone();
        let (started, wait) = std::sync::mpsc::channel();
        let first = std::thread::spawn(move || {
            let sql = db.connect().unwrap();
            let response = run_idempotent(&sql, "s", Some("k"), b"{}", t0(), || {
                effect(&sql);
                started.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                created("o-1")
            });
            String::from_utf8(response.body().to_vec()).unwrap()
        });
        wait.recv().unwrap();
        let other = f.db.connect().unwrap();
        let second = run_idempotent(&other, "s", Some("k"), b"{}", t0(), || {
            effect(&other);
            created("o-2")
        });
        let first = first.join().unwrap();
        assert_eq!(
            text(&second, "idempotent-replayed").as_deref(),
            Some("true")
        );
        assert_eq!(String::from_utf8(second.body().to_vec()).unwrap(), first);
        assert_eq!(effects(&f.sql), 1, "one effect for two concurrent requests");
    }

    #[test]
    fn a_crash_before_the_commit_leaves_no_effect_and_no_key_so_the_retry_runs_once() {
        let f = fixture();
        assert_eq!(effects(&f.sql), 0);
        {
            // The process dies inside the handler, after its own unit
            // "committed": the connection goes away with the transaction.
            let doomed = f.db.connect().unwrap();
            let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_idempotent(&doomed, "s", Some("k"), b"{}", t0(), || {
                    effect(&doomed);
                    panic!("killed");
                })
            }));
            assert!(crashed.is_err());
        }
        assert_eq!(effects(&f.sql), 0, "nothing of the dead request is visible");
        let retried = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || {
            effect(&f.sql);
            created("o-1")
        });
        assert_eq!(*retried.status(), 201);
        assert_eq!(
            text(&retried, "idempotent-replayed"),
            None,
            "the retry ran for the first time"
        );
        let again = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || panic!("stored"));
        assert_eq!(again.body(), retried.body());
        assert_eq!(effects(&f.sql), 1);
    }

    #[test]
    fn a_5xx_answer_rolls_back_the_handlers_effects() {
        let f = fixture();
        assert_eq!(effects(&f.sql), 0);
        let failed = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || {
            effect(&f.sql);
            Response::new(500, "bug")
        });
        assert_eq!(*failed.status(), 500);
        assert_eq!(effects(&f.sql), 0);
    }

    #[test]
    fn a_5xx_answer_is_not_stored_so_a_retry_runs_again() {
        let f = fixture();
        let failed = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || {
            Response::new(503, "busy")
        });
        assert_eq!(*failed.status(), 503);
        let retried = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || created("o-1"));
        assert_eq!(*retried.status(), 201);
        assert_eq!(text(&retried, "idempotent-replayed"), None);
    }

    #[test]
    fn a_4xx_answer_is_stored_and_replayed() {
        let f = fixture();
        let runs = Cell::new(0);
        for _ in 0..2 {
            let response = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || {
                runs.set(runs.get() + 1);
                Problem::unprocessable("below minimum basket").into_response()
            });
            assert_eq!(*response.status(), 422);
            assert_eq!(
                text(&response, "content-type").as_deref(),
                Some("application/problem+json")
            );
        }
        assert_eq!(runs.get(), 1);
    }

    #[test]
    fn without_a_key_the_handler_runs_every_time() {
        let f = fixture();
        let runs = Cell::new(0);
        for _ in 0..2 {
            run_idempotent(&f.sql, "s", None, b"{}", t0(), || {
                runs.set(runs.get() + 1);
                created("o")
            });
        }
        assert_eq!(runs.get(), 2);
        let rows = f
            .sql
            .execute("SELECT count(*) AS n FROM idempotency_keys", &[])
            .unwrap();
        assert_eq!(rows.first().unwrap().integer("n").unwrap(), 0);
    }

    #[test]
    fn keys_are_separate_per_scope() {
        let f = fixture();
        let runs = Cell::new(0);
        for scope in [
            "customer:C1 POST /api/orders",
            "customer:C2 POST /api/orders",
        ] {
            run_idempotent(&f.sql, scope, Some("k"), b"{}", t0(), || {
                runs.set(runs.get() + 1);
                created("o")
            });
        }
        assert_eq!(runs.get(), 2);
    }

    #[test]
    fn empty_overlong_or_non_ascii_keys_are_400() {
        let f = fixture();
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        for key in [
            "",
            "  ",
            "\"\"",
            too_long.as_str(),
            "ké",
            "a b",
            "\"unterminated",
        ] {
            let response = run_idempotent(&f.sql, "s", Some(key), b"{}", t0(), || {
                panic!("must not run")
            });
            assert_eq!(*response.status(), 400, "{key:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn quoted_keys_are_unquoted() {
        assert_eq!(
            IdempotencyKey::parse("\"8e03-40d5 x\"").unwrap().as_str(),
            "8e03-40d5 x"
        );
        assert_eq!(
            IdempotencyKey::parse(r#""a\"b\\c""#).unwrap().as_str(),
            r#"a"b\c"#
        );
        assert!(IdempotencyKey::parse(r#""a\nb""#).is_err());
        assert!(IdempotencyKey::parse(r#""ab"c"#).is_err());
    }

    #[test]
    fn the_key_is_read_from_the_request_header() {
        let f = fixture();
        let req = Request::builder()
            .method(spin_sdk::http::Method::Post)
            .uri("/api/orders")
            .header("Idempotency-Key", "\"k-7\"")
            .body("{}")
            .build();
        let runs = Cell::new(0);
        for _ in 0..2 {
            run_for_request(&f.sql, "s", &req, t0(), || {
                runs.set(runs.get() + 1);
                created("o")
            });
        }
        assert_eq!(runs.get(), 1);
    }

    #[test]
    fn a_key_may_be_reused_after_the_retention_period() {
        let f = fixture();
        run_idempotent(&f.sql, "s", Some("k"), b"{\"a\":1}", t0(), || {
            created("o-1")
        });
        let later = t0() + RETENTION + Duration::seconds(1);
        let fresh = run_idempotent(&f.sql, "s", Some("k"), b"{\"a\":2}", later, || {
            created("o-2")
        });
        assert_eq!(*fresh.status(), 201);
        assert!(String::from_utf8_lossy(fresh.body()).contains("o-2"));
    }

    #[test]
    fn purging_deletes_only_expired_answers() {
        let f = fixture();
        run_idempotent(&f.sql, "s", Some("old"), b"{}", t0(), || created("o-1"));
        run_idempotent(
            &f.sql,
            "s",
            Some("new"),
            b"{}",
            t0() + Duration::hours(23),
            || created("o-2"),
        );
        purge_expired(&f.sql, t0() + RETENTION + Duration::seconds(1)).unwrap();
        let rows = f
            .sql
            .execute("SELECT key FROM idempotency_keys", &[])
            .unwrap();
        let keys: Vec<&str> = rows.iter().map(|r| r.text("key").unwrap()).collect();
        assert_eq!(keys, ["new"]);
    }

    #[test]
    fn a_storage_failure_is_a_500_and_the_handler_does_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("empty.db")).connect().unwrap();
        let response = run_idempotent(&sql, "s", Some("k"), b"{}", t0(), || panic!("must not run"));
        assert_eq!(*response.status(), 500);
    }
}

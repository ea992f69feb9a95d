//! Idempotency-Key for creating POSTs (IETF draft-ietf-httpapi-idempotency-key-header).
//!
//! A till on a flaky store network or an app losing signal retries "place
//! order" and "reserve stock"; without this, a retry is a second order. With
//! it, the first request with a key claims `(scope, key)` in SQL with one
//! atomic `INSERT ... ON CONFLICT DO NOTHING`, runs, and stores its answer;
//! every retry with the same key and the same body gets that stored answer
//! (with `Idempotent-Replayed: true`) and never runs the handler again.
//!
//! | situation | answer |
//! | --- | --- |
//! | no `Idempotency-Key` | the handler runs, nothing is stored |
//! | key empty, over 255 characters, or not printable ASCII | 400 `bad-request` |
//! | first use | the handler runs; a non-5xx answer is stored |
//! | same key, same body, finished | the stored status, selected headers and body |
//! | same key, different body | 422 `idempotency-key-reused` |
//! | same key while the first is still running | 409 `conflict`, `Retry-After: 1` |
//! | the first answered 5xx | the claim is released, so a retry runs again |
//!
//! Why store 4xx but not 5xx? A 4xx is the request's own fault and the same
//! request gets the same answer; a 5xx is ours (a busy database, a bug), and a
//! retry must get a fresh chance. Why a scope? Keys are client-chosen: the
//! component passes caller + route (e.g. `customer:C-1 POST /api/orders`) so
//! two customers, or one customer on two routes, never share a key space.
//!
//! A claim whose request died mid-flight (a trapped instance never releases
//! it) is taken over after [`IN_FLIGHT_TIMEOUT`]; a stored answer is kept for
//! [`RETENTION`], after which the key may be reused ([`purge_expired`] deletes
//! old rows). Both takeovers are compare-and-swap on `created_at`, which also
//! serves as the claim's ownership token when the answer is stored.

use super::problem::Problem;
use crate::storage::{Row, Sql, SqlValue, StorageError};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use spin_sdk::http::{Request, Response};

/// The longest key accepted, as the draft suggests for interoperability.
pub const MAX_KEY_LEN: usize = 255;

/// How long a claim may stay in flight before another request may take it
/// over. Far longer than any edge request may run.
pub const IN_FLIGHT_TIMEOUT: Duration = Duration::seconds(60);

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
    let claimed_at = match claim(sql, scope, key.as_str(), &fingerprint, now) {
        Ok(Claim::Won { claimed_at }) => claimed_at,
        Ok(Claim::Replay(response)) => return response,
        Ok(Claim::Refused(problem)) => return problem.into_response(),
        Err(err) => return Problem::from(err).into_response(),
    };
    let response = handle();
    if let Err(err) = settle(sql, scope, key.as_str(), &claimed_at, &response) {
        // The answer was produced, so it still goes out. The claim stays in
        // flight until IN_FLIGHT_TIMEOUT, after which a retry runs again.
        eprintln!("idempotency: storing the answer for scope {scope:?} failed: {err}");
    }
    response
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

enum Claim {
    Won { claimed_at: String },
    Replay(Response),
    Refused(Problem),
}

fn claim(
    sql: &dyn Sql,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Claim, StorageError> {
    let claimed_at = timestamp(now);
    // A claim released between our INSERT and SELECT (a 5xx) is retried; a
    // few rounds settle any realistic race, after which the answer is 409.
    for _ in 0..3 {
        let inserted = sql.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope, key) DO NOTHING
             RETURNING key",
            &[
                scope.into(),
                key.into(),
                fingerprint.into(),
                claimed_at.as_str().into(),
            ],
        )?;
        if !inserted.is_empty() {
            return Ok(Claim::Won { claimed_at });
        }
        let rows = sql.execute(
            "SELECT request_hash, status, response_headers, response_body, created_at
             FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            &[scope.into(), key.into()],
        )?;
        let Some(row) = rows.first() else {
            continue;
        };
        let created_text = row.text("created_at")?;
        let created_at = DateTime::parse_from_rfc3339(created_text)
            .map_err(|e| StorageError::Decode(format!("idempotency_keys.created_at: {e}")))?
            .with_timezone(&Utc);
        if created_at + RETENTION <= now {
            if take_over(sql, scope, key, fingerprint, created_text, &claimed_at)? {
                return Ok(Claim::Won { claimed_at });
            }
            continue;
        }
        if row.text("request_hash")? != fingerprint {
            return Ok(Claim::Refused(Problem::idempotency_key_reused()));
        }
        match row.opt_integer("status")? {
            Some(status) => return Ok(Claim::Replay(replay(&row, status)?)),
            None if created_at + IN_FLIGHT_TIMEOUT <= now => {
                if take_over(sql, scope, key, fingerprint, created_text, &claimed_at)? {
                    return Ok(Claim::Won { claimed_at });
                }
            }
            None => return Ok(Claim::Refused(in_flight())),
        }
    }
    Ok(Claim::Refused(in_flight()))
}

/// Compare-and-swap on `created_at`: of several requests taking over the
/// same stale row, exactly one wins.
fn take_over(
    sql: &dyn Sql,
    scope: &str,
    key: &str,
    fingerprint: &str,
    seen_created_at: &str,
    claimed_at: &str,
) -> Result<bool, StorageError> {
    let rows = sql.execute(
        "UPDATE idempotency_keys
         SET request_hash = ?1, status = NULL, response_headers = NULL, response_body = NULL, created_at = ?2
         WHERE scope = ?3 AND key = ?4 AND created_at = ?5
         RETURNING key",
        &[fingerprint.into(), claimed_at.into(), scope.into(), key.into(), seen_created_at.into()],
    )?;
    Ok(!rows.is_empty())
}

fn settle(
    sql: &dyn Sql,
    scope: &str,
    key: &str,
    claimed_at: &str,
    response: &Response,
) -> Result<(), StorageError> {
    let status = *response.status();
    if status >= 500 {
        sql.execute(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND created_at = ?3 AND status IS NULL",
            &[scope.into(), key.into(), claimed_at.into()],
        )?;
        return Ok(());
    }
    let headers: Vec<(&str, &str)> = STORED_HEADERS
        .iter()
        .filter_map(|name| Some((*name, response.header(name)?.as_str()?)))
        .collect();
    let headers =
        serde_json::to_string(&headers).map_err(|e| StorageError::Other(e.to_string()))?;
    sql.execute(
        "UPDATE idempotency_keys SET status = ?1, response_headers = ?2, response_body = ?3
         WHERE scope = ?4 AND key = ?5 AND created_at = ?6 AND status IS NULL",
        &[
            SqlValue::Integer(i64::from(status)),
            headers.into(),
            SqlValue::Blob(response.body().to_vec()),
            scope.into(),
            key.into(),
            claimed_at.into(),
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

fn in_flight() -> Problem {
    Problem::conflict("a request with this Idempotency-Key is still being processed; retry shortly")
        .with_header("retry-after", "1")
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
    use crate::storage::migrations;
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
        migrations::apply(&sql).unwrap();
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

    #[test]
    fn a_request_with_a_key_still_in_flight_is_409() {
        let f = fixture();
        let other_connection = f.db.connect().unwrap();
        let outer = run_idempotent(&f.sql, "s", Some("k"), b"{}", t0(), || {
            let inner = run_idempotent(&other_connection, "s", Some("k"), b"{}", t0(), || {
                panic!("must not run")
            });
            assert_eq!(*inner.status(), 409);
            assert_eq!(
                problem_type(&inner),
                "urn:omnichannel-edge:problem:conflict"
            );
            assert_eq!(text(&inner, "retry-after").as_deref(), Some("1"));
            created("o-1")
        });
        assert_eq!(*outer.status(), 201);
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
    fn a_claim_abandoned_mid_flight_is_taken_over_after_the_timeout() {
        let f = fixture();
        // A request that claimed the key and then died never settles it.
        let claimed = claim(&f.sql, "s", "k", &fingerprint(b"{}"), t0()).unwrap();
        assert!(matches!(claimed, Claim::Won { .. }));
        let early = run_idempotent(
            &f.sql,
            "s",
            Some("k"),
            b"{}",
            t0() + Duration::seconds(10),
            || panic!("in flight"),
        );
        assert_eq!(*early.status(), 409);
        let late = run_idempotent(
            &f.sql,
            "s",
            Some("k"),
            b"{}",
            t0() + IN_FLIGHT_TIMEOUT,
            || created("o-2"),
        );
        assert_eq!(*late.status(), 201);
        let replay = run_idempotent(
            &f.sql,
            "s",
            Some("k"),
            b"{}",
            t0() + IN_FLIGHT_TIMEOUT,
            || panic!("stored"),
        );
        assert_eq!(replay.body(), late.body());
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

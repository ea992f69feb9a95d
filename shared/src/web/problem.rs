//! RFC 9457 problem details: the one error shape every endpoint answers with.
//!
//! A problem's `type` is a stable URN, `urn:omnichannel-edge:problem:<slug>`,
//! so clients (the app, a till, a storefront) branch on it rather than on
//! wording. `title` is fixed per type; `detail` explains this occurrence in
//! plain words; extension members carry machine-readable context such as
//! `errors: [{row, field, reason}]` or the `current` resource after a 412.
//!
//! The shared types (components may add their own slugs with [`Problem::new`]):
//!
//! | status | slug | raised by |
//! | --- | --- | --- |
//! | 400 | `malformed-json`, `bad-request` | [`crate::web::body`], header parsing |
//! | 401 | `unauthorized` | [`crate::auth`] |
//! | 403 | `forbidden` | [`crate::auth::Caller`]'s `require_*`, CORS |
//! | 404 | `not-found` | [`crate::web::route`], components |
//! | 405 | `method-not-allowed` | [`crate::web::route`] |
//! | 409 | `conflict` | idempotency (request in flight), components |
//! | 412 | `precondition-failed` | [`crate::web::etag`] |
//! | 413 | `payload-too-large` | [`crate::web::body`] |
//! | 415 | `unsupported-media-type` | [`crate::web::body`] |
//! | 422 | `invalid-body`, `idempotency-key-reused`, `unprocessable` | body, idempotency, rules |
//! | 428 | `precondition-required` | [`crate::web::etag`] |
//! | 500 | `internal` | [`Problem::internal`] |
//! | 503 | `unavailable` | a busy database ([`StorageError::Busy`]) |

use crate::storage::StorageError;
use serde_json::{Map, Value};
use spin_sdk::http::Response;
use std::fmt;

/// Every problem `type` starts with this; the slug follows.
pub const TYPE_PREFIX: &str = "urn:omnichannel-edge:problem:";

/// The media type of every error body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem, built by a constructor and rendered once by
/// [`Problem::into_response`].
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    status: u16,
    slug: &'static str,
    title: &'static str,
    detail: Option<String>,
    extensions: Map<String, Value>,
    headers: Vec<(String, String)>,
}

impl Problem {
    /// A problem of any type. Components use it for their own slugs (e.g.
    /// `insufficient-stock`); the slug must stay stable once shipped because
    /// clients branch on it.
    pub fn new(status: u16, slug: &'static str, title: &'static str) -> Problem {
        Problem {
            status,
            slug,
            title,
            detail: None,
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    /// Adds an extension member. The standard members (`type`, `title`,
    /// `status`, `detail`) always win over an extension of the same name.
    pub fn with_extension(mut self, name: &str, value: Value) -> Problem {
        self.extensions.insert(name.to_owned(), value);
        self
    }

    /// Adds a response header (e.g. `allow`, `www-authenticate`,
    /// `retry-after`, `etag`), since several problems are only complete with
    /// one. A second value for the same name replaces the first.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Problem {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn slug(&self) -> &'static str {
        self.slug
    }

    /// The full `type` URI, e.g. `urn:omnichannel-edge:problem:not-found`.
    pub fn type_uri(&self) -> String {
        format!("{TYPE_PREFIX}{}", self.slug)
    }

    pub fn title(&self) -> &'static str {
        self.title
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn extension(&self, name: &str) -> Option<&Value> {
        self.extensions.get(name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The problem as its JSON document.
    pub fn to_json(&self) -> Value {
        let mut body = self.extensions.clone();
        body.insert("type".into(), Value::String(self.type_uri()));
        body.insert("title".into(), Value::String(self.title.to_owned()));
        body.insert("status".into(), Value::from(self.status));
        if let Some(detail) = &self.detail {
            body.insert("detail".into(), Value::String(detail.clone()));
        }
        Value::Object(body)
    }

    pub fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_else(|_| {
            // A `Value` always serialises; this branch exists only so that the
            // one place that renders errors can never panic.
            br#"{"title":"Internal Server Error","status":500}"#.to_vec()
        });
        let mut response = Response::new(self.status, body);
        response.set_header("content-type", CONTENT_TYPE);
        for (name, value) in self.headers {
            response.set_header(name, value);
        }
        response
    }

    /// 400 `malformed-json`: the body is not JSON at all.
    pub fn malformed_json(detail: impl Into<String>) -> Problem {
        Problem::new(400, "malformed-json", "Malformed JSON").with_detail(detail)
    }

    /// 400 `bad-request`: a header or query parameter is unusable.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(400, "bad-request", "Bad Request").with_detail(detail)
    }

    /// 401 `unauthorized`, with the RFC 6750 challenge so clients know to
    /// (re)authenticate with a bearer token.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(401, "unauthorized", "Unauthorized")
            .with_detail(detail)
            .with_header("www-authenticate", r#"Bearer realm="omnichannel-edge""#)
    }

    /// 403 `forbidden`: the caller is known but may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(403, "forbidden", "Forbidden").with_detail(detail)
    }

    /// 404 `not-found`.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(404, "not-found", "Not Found").with_detail(detail)
    }

    /// 405 `method-not-allowed`; `allow` is the value of the `Allow` header
    /// (e.g. `GET, HEAD, POST`), which RFC 9110 requires on a 405.
    pub fn method_not_allowed(allow: &str) -> Problem {
        Problem::new(405, "method-not-allowed", "Method Not Allowed")
            .with_detail(format!("this resource supports {allow}"))
            .with_header("allow", allow)
    }

    /// 409 `conflict`: the request collides with the resource's state or with
    /// another request in flight.
    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(409, "conflict", "Conflict").with_detail(detail)
    }

    /// 412 `precondition-failed`: an If-Match named a stale version. The
    /// component attaches the current resource as the `current` member.
    pub fn precondition_failed(detail: impl Into<String>) -> Problem {
        Problem::new(412, "precondition-failed", "Precondition Failed").with_detail(detail)
    }

    /// 413 `payload-too-large`.
    pub fn payload_too_large(limit_bytes: usize) -> Problem {
        Problem::new(413, "payload-too-large", "Payload Too Large")
            .with_detail(format!(
                "the request body is larger than {limit_bytes} bytes"
            ))
            .with_extension("limit_bytes", Value::from(limit_bytes))
    }

    /// 415 `unsupported-media-type`.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(415, "unsupported-media-type", "Unsupported Media Type")
            .with_detail(detail)
            .with_header("accept", "application/json")
    }

    /// 422 `invalid-body`: well-formed JSON of the wrong shape.
    pub fn invalid_body(detail: impl Into<String>) -> Problem {
        Problem::new(422, "invalid-body", "Invalid Request Body").with_detail(detail)
    }

    /// 422 `idempotency-key-reused`: the key was first used with another body.
    pub fn idempotency_key_reused() -> Problem {
        Problem::new(422, "idempotency-key-reused", "Idempotency Key Reused").with_detail(
            "this Idempotency-Key was already used with a different request body; use a new key",
        )
    }

    /// 422 `unprocessable`: valid input that a domain rule refuses.
    pub fn unprocessable(detail: impl Into<String>) -> Problem {
        Problem::new(422, "unprocessable", "Unprocessable Request").with_detail(detail)
    }

    /// 428 `precondition-required`: an edit came without If-Match.
    pub fn precondition_required(detail: impl Into<String>) -> Problem {
        Problem::new(428, "precondition-required", "Precondition Required").with_detail(detail)
    }

    /// 500 `internal`. The error goes to stderr (Spin keeps it in
    /// `.spin/logs/<component>_stderr.txt`) and never into the body: it may
    /// hold SQL, keys or personal data.
    pub fn internal(err: &dyn fmt::Display) -> Problem {
        eprintln!("internal error: {err}");
        Problem::new(500, "internal", "Internal Server Error")
            .with_detail("an unexpected error occurred; it has been logged")
    }

    /// 503 `unavailable`: a transient condition; the client should retry.
    pub fn unavailable(retry_after_seconds: u32) -> Problem {
        Problem::new(503, "unavailable", "Service Unavailable")
            .with_detail("the service is busy; retry shortly")
            .with_header("retry-after", retry_after_seconds.to_string())
    }
}

impl From<StorageError> for Problem {
    /// A busy database is the only storage failure a retry can cure; all the
    /// others are logged as internal errors.
    fn from(err: StorageError) -> Problem {
        match err {
            StorageError::Busy => {
                eprintln!("storage busy: {err}");
                Problem::unavailable(1)
            }
            other => Problem::internal(&other),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl From<Problem> for Response {
    fn from(problem: Problem) -> Response {
        problem.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(response: &Response) -> Value {
        serde_json::from_slice(response.body()).expect("problem bodies are JSON")
    }

    fn content_type(response: &Response) -> &str {
        response
            .header("content-type")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    }

    #[test]
    fn problems_render_as_problem_json_with_the_standard_members() {
        let response = Problem::not_found("no cart c-1").into_response();
        assert_eq!(*response.status(), 404);
        assert_eq!(content_type(&response), "application/problem+json");
        assert_eq!(
            body(&response),
            json!({
                "type": "urn:omnichannel-edge:problem:not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "no cart c-1",
            })
        );
    }

    #[test]
    fn extension_members_appear_beside_the_standard_ones() {
        let errors = json!([{"row": 3, "field": "sku", "reason": "empty"}]);
        let response = Problem::invalid_body("2 rows are invalid")
            .with_extension("errors", errors.clone())
            .into_response();
        let body = body(&response);
        assert_eq!(body["status"], 422);
        assert_eq!(body["type"], "urn:omnichannel-edge:problem:invalid-body");
        assert_eq!(body["errors"], errors);
    }

    #[test]
    fn extensions_cannot_overwrite_standard_members() {
        let response = Problem::conflict("x")
            .with_extension("status", json!(200))
            .with_extension("type", json!("about:blank"))
            .into_response();
        let body = body(&response);
        assert_eq!(body["status"], 409);
        assert_eq!(body["type"], "urn:omnichannel-edge:problem:conflict");
    }

    #[test]
    fn every_common_constructor_has_its_status_and_slug() {
        let cases = [
            (Problem::malformed_json("x"), 400, "malformed-json"),
            (Problem::bad_request("x"), 400, "bad-request"),
            (Problem::unauthorized("x"), 401, "unauthorized"),
            (Problem::forbidden("x"), 403, "forbidden"),
            (Problem::not_found("x"), 404, "not-found"),
            (
                Problem::method_not_allowed("GET"),
                405,
                "method-not-allowed",
            ),
            (Problem::conflict("x"), 409, "conflict"),
            (
                Problem::precondition_failed("x"),
                412,
                "precondition-failed",
            ),
            (Problem::payload_too_large(10), 413, "payload-too-large"),
            (
                Problem::unsupported_media_type("x"),
                415,
                "unsupported-media-type",
            ),
            (Problem::invalid_body("x"), 422, "invalid-body"),
            (
                Problem::idempotency_key_reused(),
                422,
                "idempotency-key-reused",
            ),
            (Problem::unprocessable("x"), 422, "unprocessable"),
            (
                Problem::precondition_required("x"),
                428,
                "precondition-required",
            ),
            (Problem::internal(&"boom"), 500, "internal"),
            (Problem::unavailable(1), 503, "unavailable"),
        ];
        for (problem, status, slug) in cases {
            assert_eq!(problem.status(), status, "{slug}");
            assert_eq!(problem.slug(), slug);
            let response = problem.into_response();
            assert_eq!(*response.status(), status);
            assert_eq!(body(&response)["type"], format!("{TYPE_PREFIX}{slug}"));
        }
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let response =
            Problem::internal(&"UNIQUE constraint failed: secret_table.token").into_response();
        let text = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(!text.contains("secret_table"), "{text}");
        assert_eq!(body(&response)["status"], 500);
    }

    #[test]
    fn a_busy_database_is_a_retryable_503_and_other_storage_errors_are_500() {
        let busy = Problem::from(StorageError::Busy);
        assert_eq!(busy.status(), 503);
        assert_eq!(busy.header("Retry-After"), Some("1"));
        let other = Problem::from(StorageError::Other("disk I/O error at /var/x".into()));
        assert_eq!(other.status(), 500);
        assert!(!other.to_json().to_string().contains("/var/x"));
    }

    #[test]
    fn problems_carry_their_headers_into_the_response() {
        let response = Problem::method_not_allowed("GET, HEAD").into_response();
        assert_eq!(
            response.header("allow").and_then(|v| v.as_str()),
            Some("GET, HEAD")
        );
        let response = Problem::unauthorized("no token").into_response();
        assert!(
            response
                .header("www-authenticate")
                .and_then(|v| v.as_str())
                .unwrap()
                .starts_with("Bearer")
        );
    }
}

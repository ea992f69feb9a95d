//! Bounded JSON request bodies and JSON responses.
//!
//! The policy every component follows:
//! - a body is read only when `Content-Type` is `application/json` (any
//!   parameters allowed, but a `charset` other than UTF-8 is refused: JSON on
//!   the wire is UTF-8, RFC 8259 §8.1), else 415 `unsupported-media-type`;
//! - a body over the limit (64 KiB by default, [`DEFAULT_LIMIT`]) is 413
//!   `payload-too-large`, before any parsing;
//! - an empty body or text that is not JSON is 400 `malformed-json`, with the
//!   line and column as `line`/`column` members;
//! - JSON of the wrong shape (wrong types, missing fields, values a domain
//!   type's `parse` refuses, unknown fields, an array or a scalar where an
//!   object is documented, at any depth) is 422 `invalid-body`, with the
//!   path of the offending value as `field` and a message in JSON's words
//!   ([`super::strict_json`]).
//!
//! Why reject unknown fields? A misspelt optional field (`"quantiy": 3`)
//! would otherwise be silently ignored and the default applied: at a till
//! that is a wrong sale. So every request wire type carries
//! `#[serde(deny_unknown_fields)]`; response types do not, so clients may
//! keep ignoring members added later.

use super::problem::Problem;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use spin_sdk::http::{Request, Response};

/// The default body limit: generous for a cart or a return, small enough
/// that an edge instance never buffers much for a bad client.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// Parses a JSON request body under [`DEFAULT_LIMIT`].
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, Problem> {
    parse_json_with_limit(req, DEFAULT_LIMIT)
}

/// Parses a JSON request body under `limit` bytes (bulk back-office loads
/// pass a larger one).
pub fn parse_json_with_limit<T: DeserializeOwned>(
    req: &Request,
    limit: usize,
) -> Result<T, Problem> {
    check_content_type(req.header("content-type").map(|v| v.as_bytes()))?;
    let body = req.body();
    if body.len() > limit {
        return Err(Problem::payload_too_large(limit));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed_json(
            "the request body is empty; a JSON document is required",
        ));
    }
    let document: Value = serde_json::from_slice(body).map_err(|err| {
        Problem::malformed_json(err.to_string())
            .with_extension("line", Value::from(err.line()))
            .with_extension("column", Value::from(err.column()))
    })?;
    super::strict_json::from_value(&document).map_err(|err| {
        let problem = Problem::invalid_body(err.to_string());
        if err.path.is_empty() {
            problem
        } else {
            problem.with_extension("field", Value::from(err.path))
        }
    })
}

/// A JSON response. Serialising our own wire types cannot fail in practice;
/// if it ever did, the client gets a logged 500 rather than a half body.
pub fn json_response<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = Response::new(status, body);
            response.set_header("content-type", "application/json");
            response
        }
        Err(err) => Problem::internal(&err).into_response(),
    }
}

fn check_content_type(header: Option<&[u8]>) -> Result<(), Problem> {
    let Some(raw) = header else {
        return Err(Problem::unsupported_media_type(
            "a Content-Type of application/json is required",
        ));
    };
    let value = std::str::from_utf8(raw).unwrap_or_default();
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Problem::unsupported_media_type(format!(
            "the request body must be application/json, not {:?}",
            truncate(essence, 64)
        )));
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
            return Err(Problem::unsupported_media_type(
                "JSON request bodies must be UTF-8",
            ));
        }
    }
    Ok(())
}

fn truncate(text: &str, max_chars: usize) -> &str {
    text.char_indices()
        .nth(max_chars)
        .map_or(text, |(i, _)| &text[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sku;
    use serde::Deserialize;
    use spin_sdk::http::Method;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct AddLine {
        sku: Sku,
        quantity: u32,
    }

    fn request(content_type: Option<&str>, body: &[u8]) -> Request {
        let mut builder = Request::builder();
        builder
            .method(Method::Post)
            .uri("/api/carts/c1/lines")
            .body(body.to_vec());
        if let Some(ct) = content_type {
            builder.header("content-type", ct);
        }
        builder.build()
    }

    fn problem(content_type: Option<&str>, body: &[u8]) -> Problem {
        parse_json::<AddLine>(&request(content_type, body)).expect_err("should be refused")
    }

    #[test]
    fn a_json_body_of_the_right_shape_parses() {
        let line: AddLine = parse_json(&request(
            Some("application/json"),
            br#"{"sku":"tee-m","quantity":2}"#,
        ))
        .unwrap();
        assert_eq!(
            line,
            AddLine {
                sku: Sku::parse("TEE-M").unwrap(),
                quantity: 2
            }
        );
    }

    #[test]
    fn content_type_parameters_and_case_are_accepted() {
        for ct in [
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/json;charset=\"UTF-8\"",
        ] {
            let req = request(Some(ct), br#"{"sku":"a","quantity":1}"#);
            assert!(parse_json::<AddLine>(&req).is_ok(), "{ct}");
        }
    }

    #[test]
    fn other_media_types_are_415() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/json-seq"),
        ] {
            let p = problem(ct, br#"{"sku":"a","quantity":1}"#);
            assert_eq!(
                (p.status(), p.slug()),
                (415, "unsupported-media-type"),
                "{ct:?}"
            );
        }
    }

    #[test]
    fn a_charset_other_than_utf8_is_415() {
        let p = problem(
            Some("application/json; charset=latin1"),
            br#"{"sku":"a","quantity":1}"#,
        );
        assert_eq!(p.status(), 415);
    }

    #[test]
    fn bodies_over_the_limit_are_413() {
        let big = format!(
            r#"{{"sku":"a","quantity":1,"pad":"{}"}}"#,
            "x".repeat(DEFAULT_LIMIT)
        );
        let p = problem(Some("application/json"), big.as_bytes());
        assert_eq!((p.status(), p.slug()), (413, "payload-too-large"));
        let small = request(Some("application/json"), br#"{"sku":"a","quantity":1}"#);
        let p = parse_json_with_limit::<AddLine>(&small, 8).unwrap_err();
        assert_eq!(p.status(), 413);
        assert_eq!(p.extension("limit_bytes"), Some(&Value::from(8)));
    }

    #[test]
    fn syntax_errors_are_400_with_line_and_column() {
        let p = problem(
            Some("application/json"),
            b"{\n  \"sku\": \"a\",\n  \"quantity\": 1,,\n}",
        );
        assert_eq!((p.status(), p.slug()), (400, "malformed-json"));
        assert_eq!(p.extension("line"), Some(&Value::from(3)));
        assert!(p.extension("column").is_some());
    }

    #[test]
    fn truncated_json_and_trailing_garbage_are_400() {
        assert_eq!(
            problem(Some("application/json"), br#"{"sku":"a""#).status(),
            400
        );
        assert_eq!(
            problem(Some("application/json"), br#"{"sku":"a","quantity":1} x"#).status(),
            400
        );
    }

    #[test]
    fn an_empty_body_is_400() {
        for body in [&b""[..], b"  \n"] {
            let p = problem(Some("application/json"), body);
            assert_eq!((p.status(), p.slug()), (400, "malformed-json"));
        }
    }

    #[test]
    fn wrong_types_and_missing_fields_are_422() {
        let cases: [&[u8]; 4] = [
            br#"{"sku":"a","quantity":"two"}"#,
            br#"{"sku":"a"}"#,
            br#"{"sku":"a","quantity":-1}"#,
            br#"[1,2]"#,
        ];
        for body in cases {
            let p = problem(Some("application/json"), body);
            assert_eq!(
                (p.status(), p.slug()),
                (422, "invalid-body"),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn values_a_domain_type_refuses_are_422() {
        let p = problem(Some("application/json"), br#"{"sku":"a b","quantity":1}"#);
        assert_eq!(p.status(), 422);
        assert!(p.detail().unwrap().contains("sku"), "{p}");
    }

    #[test]
    fn unknown_fields_are_422_and_named() {
        let p = problem(
            Some("application/json"),
            br#"{"sku":"a","quantiy":1,"quantity":1}"#,
        );
        assert_eq!((p.status(), p.slug()), (422, "invalid-body"));
        assert!(p.detail().unwrap().contains("quantiy"), "{p}");
    }

    #[test]
    fn json_responses_carry_the_json_content_type() {
        let response = json_response(201, &serde_json::json!({"id": "c1"}));
        assert_eq!(*response.status(), 201);
        assert_eq!(
            response.header("content-type").and_then(|v| v.as_str()),
            Some("application/json")
        );
        assert_eq!(response.body(), br#"{"id":"c1"}"#);
    }
}

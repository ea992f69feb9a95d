//! Optimistic concurrency: resource versions as strong ETags and If-Match.
//!
//! Every edited resource keeps an integer `version` in SQL, bumped by the
//! same conditional UPDATE that changes it. Its ETag is `"v<version>"`. A
//! client sends it back in `If-Match`; a stale one gets 412 with the current
//! ETag (and, from the component, the current resource as `current`), so two
//! devices editing one cart can never silently overwrite each other.
//!
//! Why strong comparison only? RFC 9110 §13.1.1 evaluates If-Match with the
//! strong comparison, so a weak tag (`W/"v3"`) parses but never matches: a
//! weak validator cannot prove the bytes a client edited are the current ones.

use super::problem::Problem;
use serde_json::Value;
use spin_sdk::http::{Request, Response};

/// The strong ETag of a resource version, quotes included: `"v7"`.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// Whether the request's `If-None-Match` already names `tag` (quotes
/// included), so a GET may answer 304. RFC 9110 §13.1.2 evaluates it with
/// the weak comparison (`W/"x"` matches `"x"`), and `*` matches any current
/// representation.
pub fn none_match(req: &Request, tag: &str) -> bool {
    req.header("if-none-match")
        .and_then(|v| v.as_str())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == tag)
        })
}

/// Sets the `ETag` header of a response to `version`'s tag.
pub fn with_etag(mut response: Response, version: i64) -> Response {
    response.set_header("etag", etag(version));
    response
}

/// One entity tag from an `If-Match` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    weak: bool,
    opaque: String,
}

impl EntityTag {
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The tag between its quotes.
    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// Strong comparison against a version: never true for a weak tag.
    pub fn matches(&self, version: i64) -> bool {
        // Compared as text, as RFC 9110 says: `"v05"` is not `"v5"`.
        !self.weak
            && self
                .opaque
                .strip_prefix('v')
                .is_some_and(|n| n == version.to_string())
    }
}

/// What a request's `If-Match` header asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No `If-Match` header.
    Absent,
    /// `If-Match: *`: any current representation.
    Any,
    /// One or more entity tags, in the order sent.
    Tags(Vec<EntityTag>),
}

impl IfMatch {
    /// Reads `If-Match`; a header that is not `*` or a list of entity tags
    /// is 400 `bad-request` rather than a silent mismatch.
    pub fn from_request(req: &Request) -> Result<IfMatch, Problem> {
        IfMatch::parse(req.header("if-match").map(|v| v.as_bytes()))
    }

    /// Parses a raw header value (`None` when the header is absent).
    pub fn parse(header: Option<&[u8]>) -> Result<IfMatch, Problem> {
        let Some(raw) = header else {
            return Ok(IfMatch::Absent);
        };
        if raw.trim_ascii() == b"*" {
            return Ok(IfMatch::Any);
        }
        parse_tag_list(raw).map(IfMatch::Tags).ok_or_else(|| {
            Problem::bad_request(
                "If-Match must be * or a comma-separated list of entity tags such as \"v3\"",
            )
        })
    }

    /// Makes the precondition mandatory: 428 when the client sent none, so
    /// a client that never read the resource cannot blindly overwrite it.
    pub fn require(self) -> Result<IfMatch, Problem> {
        match self {
            IfMatch::Absent => Err(Problem::precondition_required(
                "this change needs an If-Match header with the resource's current ETag",
            )),
            other => Ok(other),
        }
    }

    /// Whether the precondition holds for the resource's current version.
    /// An absent header holds (use [`IfMatch::require`] to forbid that).
    pub fn matches(&self, current_version: i64) -> bool {
        match self {
            IfMatch::Absent | IfMatch::Any => true,
            IfMatch::Tags(tags) => tags.iter().any(|tag| tag.matches(current_version)),
        }
    }

    /// 412 `precondition-failed` when the client's version is stale. The
    /// problem carries the current ETag as a header and as `current_etag`;
    /// the component adds the current resource as the `current` member.
    pub fn check(&self, current_version: i64) -> Result<(), Problem> {
        if self.matches(current_version) {
            return Ok(());
        }
        let current = etag(current_version);
        Err(Problem::precondition_failed(format!(
            "the resource has changed; its current ETag is {current}: reload it and retry"
        ))
        .with_extension("current_etag", Value::String(current.clone()))
        .with_header("etag", current))
    }
}

/// `#entity-tag` (RFC 9110 §8.8.3 and §5.6.1): empty list elements are
/// allowed, at least one tag is required, and anything else is malformed.
fn parse_tag_list(raw: &[u8]) -> Option<Vec<EntityTag>> {
    let mut tags = Vec::new();
    let mut rest = raw;
    loop {
        rest = skip_separators(rest);
        if rest.is_empty() {
            break;
        }
        let weak = rest.starts_with(b"W/");
        if weak {
            rest = &rest[2..];
        }
        rest = rest.strip_prefix(b"\"")?;
        let end = rest.iter().position(|&b| b == b'"')?;
        let opaque = &rest[..end];
        if !opaque
            .iter()
            .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        {
            return None;
        }
        tags.push(EntityTag {
            weak,
            opaque: String::from_utf8_lossy(opaque).into_owned(),
        });
        rest = rest[end + 1..].trim_ascii_start();
        if !(rest.is_empty() || rest.starts_with(b",")) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}

fn skip_separators(mut rest: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b',', tail @ ..] = rest {
        rest = tail;
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_match(raw: &str) -> Result<IfMatch, Problem> {
        IfMatch::parse(Some(raw.as_bytes()))
    }

    fn tag(weak: bool, opaque: &str) -> EntityTag {
        EntityTag {
            weak,
            opaque: opaque.into(),
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_star_matches_anything() {
        let get = |header: Option<&str>| {
            let mut builder = Request::builder();
            builder.method(spin_sdk::http::Method::Get).uri("/x");
            if let Some(value) = header {
                builder.header("if-none-match", value);
            }
            builder.build()
        };
        assert!(none_match(&get(Some("\"v3\"")), "\"v3\""));
        assert!(none_match(&get(Some("\"v1\", W/\"v3\"")), "\"v3\""));
        assert!(none_match(&get(Some("*")), "\"v3\""));
        assert!(!none_match(&get(Some("\"v2\"")), "\"v3\""));
        assert!(!none_match(&get(None), "\"v3\""));
    }

    #[test]
    fn versions_become_strong_etags_on_responses() {
        assert_eq!(etag(7), "\"v7\"");
        let response = with_etag(Response::new(200, "{}"), 7);
        assert_eq!(
            response.header("etag").and_then(|v| v.as_str()),
            Some("\"v7\"")
        );
    }

    #[test]
    fn an_absent_header_is_absent_and_passes_unless_required() {
        let req = Request::builder().uri("/x").build();
        let absent = IfMatch::from_request(&req).unwrap();
        assert_eq!(absent, IfMatch::Absent);
        assert!(absent.check(3).is_ok());
        let p = absent.require().unwrap_err();
        assert_eq!((p.status(), p.slug()), (428, "precondition-required"));
    }

    #[test]
    fn a_star_matches_any_version() {
        let any = if_match(" * ").unwrap();
        assert_eq!(any, IfMatch::Any);
        assert!(any.clone().require().is_ok());
        assert!(any.check(1).is_ok() && any.check(99).is_ok());
    }

    #[test]
    fn a_list_of_tags_matches_any_of_its_versions() {
        let list = if_match(r#""v1", "v3" ,,"v4""#).unwrap();
        assert_eq!(
            list,
            IfMatch::Tags(vec![tag(false, "v1"), tag(false, "v3"), tag(false, "v4")])
        );
        assert!(list.check(3).is_ok());
        assert!(list.check(2).is_err());
    }

    #[test]
    fn the_header_is_read_from_requests() {
        let req = Request::builder()
            .uri("/x")
            .header("If-Match", "\"v2\"")
            .build();
        assert!(
            IfMatch::from_request(&req)
                .unwrap()
                .require()
                .unwrap()
                .check(2)
                .is_ok()
        );
    }

    #[test]
    fn a_stale_version_is_412_with_the_current_etag() {
        let p = if_match("\"v2\"").unwrap().check(5).unwrap_err();
        assert_eq!((p.status(), p.slug()), (412, "precondition-failed"));
        assert_eq!(p.header("etag"), Some("\"v5\""));
        assert_eq!(p.extension("current_etag"), Some(&Value::from("\"v5\"")));
    }

    #[test]
    fn weak_tags_parse_but_never_match() {
        let weak = if_match("W/\"v5\"").unwrap();
        assert_eq!(weak, IfMatch::Tags(vec![tag(true, "v5")]));
        assert_eq!(weak.check(5).unwrap_err().status(), 412);
        assert!(if_match("W/\"v5\", \"v5\"").unwrap().check(5).is_ok());
    }

    #[test]
    fn foreign_or_odd_tags_do_not_match() {
        for raw in ["\"5\"", "\"v05\"", "\"v05x\"", "\"V5\"", "\"v+5\"", "\"\""] {
            assert!(if_match(raw).unwrap().check(5).is_err(), "{raw}");
        }
    }

    #[test]
    fn malformed_headers_are_400() {
        for raw in [
            "v5",
            "\"v5",
            "\"v5\" \"v6\"",
            "*, \"v5\"",
            "",
            " , ",
            "w/\"v5\"",
            "\"v 5\"",
            "\"v5\"x",
        ] {
            let p = if_match(raw).unwrap_err();
            assert_eq!((p.status(), p.slug()), (400, "bad-request"), "{raw:?}");
        }
    }
}

//! RFC 9457 problem+json answers the host gives on its own behalf (body too
//! large under `--max-body-bytes`, a component that failed or ran out of
//! time), in the same shape the components use for theirs. A path no route
//! matches is an empty 404, as under Spin.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

/// A problem the host reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostProblem {
    /// 413: the request body exceeds `--max-body-bytes`.
    PayloadTooLarge,
    /// 500: the component trapped, returned an error or never answered.
    ComponentFailed,
    /// 504: the component ran past `--deadline-secs`.
    DeadlineExceeded,
    /// 503: every instance slot of the pooling allocator is in use.
    Overloaded,
    /// 400: a malformed request to a host route (`/_edge/clock`).
    BadRequest,
    /// 405: a host route called with the wrong method.
    MethodNotAllowed,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl HostProblem {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ComponentFailed => StatusCode::INTERNAL_SERVER_ERROR,
            Self::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The problem `type` URI.
    pub fn kind(self) -> &'static str {
        match self {
            Self::PayloadTooLarge => "urn:edge-host:problem:payload-too-large",
            Self::ComponentFailed => "urn:edge-host:problem:component-failed",
            Self::DeadlineExceeded => "urn:edge-host:problem:deadline-exceeded",
            Self::Overloaded => "urn:edge-host:problem:overloaded",
            Self::BadRequest => "urn:edge-host:problem:bad-request",
            Self::MethodNotAllowed => "urn:edge-host:problem:method-not-allowed",
        }
    }

    /// A short human-readable summary.
    pub fn title(self) -> &'static str {
        match self {
            Self::PayloadTooLarge => "Request body too large",
            Self::ComponentFailed => "The component failed to handle the request",
            Self::DeadlineExceeded => "The component did not answer in time",
            Self::Overloaded => "Too many requests in flight",
            Self::BadRequest => "Malformed request",
            Self::MethodNotAllowed => "Method not allowed",
        }
    }

    /// The response; `detail` must hold nothing internal (errors are logged,
    /// not leaked).
    pub fn response(self, detail: Option<&str>) -> Response<Bytes> {
        let body = serde_json::to_vec(&Body {
            kind: self.kind(),
            title: self.title(),
            status: self.status().as_u16(),
            detail,
        })
        .expect("problem bodies serialise");
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_rfc9457_json_with_their_status() {
        let r = HostProblem::PayloadTooLarge.response(Some("limit is 10 bytes"));
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(v["status"], 413);
        assert_eq!(v["type"], "urn:edge-host:problem:payload-too-large");
        assert_eq!(v["title"], "Request body too large");
        assert_eq!(v["detail"], "limit is 10 bytes");
    }

    #[test]
    fn a_problem_without_detail_omits_the_field() {
        let r = HostProblem::Overloaded.response(None);
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert!(v.get("detail").is_none());
        assert_eq!(v["status"], 503);
    }
}

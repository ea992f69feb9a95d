//! Test support for the components' native tests (never built for wasm):
//! a host with the manifest's variables, tokens for each role, and request
//! builders, so a component test reads as the HTTP exchange it checks.

use crate::auth::{Caller, Claims, sign_hs256};
use crate::host::{Host, NativeHost};
use crate::ids::{CustomerId, StoreId};
use chrono::{DateTime, Duration, TimeZone, Utc};
use spin_sdk::http::{Method, Request, Response};

pub const ISSUER: &str = "https://auth.test.local";
pub const AUDIENCE: &str = "omnichannel-edge";
pub const JWT_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
pub const CODE_SECRET: &str = "code-secret-that-is-at-least-32-bytes-long";

/// A fresh state directory and the variables spin.toml declares.
pub struct TestHost {
    pub dir: tempfile::TempDir,
    pub host: NativeHost,
}

impl TestHost {
    /// The instant every test starts at: a Monday, 10:00 in Warsaw.
    pub fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    pub fn new() -> TestHost {
        let dir = tempfile::tempdir().expect("temporary directory");
        let host = NativeHost::new(dir.path(), Self::start())
            .with_variable("jwt_issuer", ISSUER)
            .with_variable("jwt_audience", AUDIENCE)
            .with_variable("jwt_hs256_secret", JWT_SECRET)
            .with_variable("jwt_es256_public_key", "")
            .with_variable("code_signing_secret", CODE_SECRET)
            .with_variable("cors_origins", "https://shop.example")
            .with_variable("retailer_time_zone", "Europe/Warsaw");
        TestHost { dir, host }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.host.clock().now()
    }

    /// A bearer token for `caller`, valid for an hour from the host's now.
    pub fn token(&self, caller: &Caller) -> String {
        let claims = Claims::for_caller(caller, ISSUER, AUDIENCE, self.now(), Duration::hours(1))
            .expect("anonymous callers have no token");
        sign_hs256(&claims, JWT_SECRET.as_bytes())
    }
}

impl Default for TestHost {
    fn default() -> Self {
        Self::new()
    }
}

pub fn customer(id: &str) -> Caller {
    Caller::Customer(CustomerId::parse(id).expect("test customer id"))
}

pub fn store_device(store: &str) -> Caller {
    Caller::StoreDevice {
        store: StoreId::parse(store).expect("test store id"),
        device: "till-1".into(),
    }
}

pub fn ops() -> Caller {
    Caller::Ops {
        operator: "back-office".into(),
    }
}

/// A JSON request, with a bearer token when one is given.
pub fn json_request(
    method: Method,
    path: &str,
    body: &serde_json::Value,
    token: Option<&str>,
) -> Request {
    let mut builder = Request::builder();
    builder
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        builder.header("authorization", format!("Bearer {token}"));
    }
    builder.build()
}

/// A bodiless request, with a bearer token when one is given.
pub fn request(method: Method, path: &str, token: Option<&str>) -> Request {
    let mut builder = Request::builder();
    builder.method(method).uri(path);
    if let Some(token) = token {
        builder.header("authorization", format!("Bearer {token}"));
    }
    builder.build()
}

/// The response body as JSON (panics with the body when it is not JSON).
pub fn body_json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|_| {
        panic!(
            "body is not JSON: {}",
            String::from_utf8_lossy(response.body())
        )
    })
}

pub fn status(response: &Response) -> u16 {
    *response.status()
}

pub fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.header(name).and_then(|v| v.as_str())
}

/// Asserts that a component's OpenAPI document lists exactly the routes its
/// table serves: every served route documented, every documented operation
/// served. (The black-box harness checks every reply against the same
/// document, so together they keep the contract and the code in step.)
pub fn assert_openapi_matches_routes(
    routes: &[crate::web::route::Route<crate::pipeline::Handler>],
    openapi_yaml: &str,
) {
    let doc: serde_json::Value =
        serde_norway::from_str(openapi_yaml).expect("openapi.yaml is valid YAML");
    let paths = doc["paths"].as_object().expect("openapi.yaml has paths");
    let shape = |pattern: &str| -> Vec<String> {
        pattern
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "{}".to_owned()
                } else {
                    s.to_owned()
                }
            })
            .collect()
    };
    let documented: Vec<(String, Vec<String>)> = paths
        .iter()
        .flat_map(|(template, item)| {
            ["get", "put", "post", "delete", "patch"]
                .into_iter()
                .filter(|m| item.get(*m).is_some())
                .map(move |m| (m.to_ascii_uppercase(), shape(template)))
        })
        .collect();
    let served: Vec<(String, Vec<String>)> = routes
        .iter()
        .map(|r| {
            (
                r.method().to_string().to_ascii_uppercase(),
                shape(r.pattern()),
            )
        })
        .collect();
    let missing: Vec<String> = served
        .iter()
        .filter(|r| !documented.contains(r))
        .map(|(m, p)| format!("{m} {}", p.join("/")))
        .collect();
    let phantom: Vec<String> = documented
        .iter()
        .filter(|d| !served.contains(d))
        .map(|(m, p)| format!("{m} {}", p.join("/")))
        .collect();
    assert!(
        missing.is_empty(),
        "served but not in openapi.yaml: {missing:?}"
    );
    assert!(
        phantom.is_empty(),
        "in openapi.yaml but not served: {phantom:?}"
    );
}

/// Demo data with dates relative to today: `{today}`, `{today-N}` and
/// `{today+N}` in `text` become ISO dates (the demo's promotions are
/// written this way so their offers are current whenever the demo runs;
/// the demo seed and the tests that load the same file render them alike).
pub fn render_relative_dates(text: &str, today: chrono::NaiveDate) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{today") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').ok_or("an unclosed {today...}")? + at;
        let offset = &rest[at + "{today".len()..end];
        let days: i64 = if offset.is_empty() {
            0
        } else {
            offset.replace('+', "").parse().map_err(|_| {
                format!("{{today{offset}}}: expected {{today}}, {{today+N}} or {{today-N}}")
            })?
        };
        out.push_str(
            &(today + Duration::days(days))
                .format("%Y-%m-%d")
                .to_string(),
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod relative_dates {
    #[test]
    fn dates_are_rendered_relative_to_today() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let text = r#"{"valid_from": "{today-3}", "valid_until": "{today+30}", "on": "{today}"}"#;
        assert_eq!(
            super::render_relative_dates(text, today).unwrap(),
            r#"{"valid_from": "2026-12-01", "valid_until": "2027-01-03", "on": "2026-12-04"}"#
        );
        assert!(super::render_relative_dates("{today+x}", today).is_err());
        assert!(super::render_relative_dates("{today", today).is_err());
    }
}

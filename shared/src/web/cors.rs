//! CORS for the storefront origins that call the components from a browser.
//!
//! Origins are matched exactly (scheme, host and port, as the browser sends
//! them); `*` allows any origin and is meant for local development. No
//! credentials mode is offered: callers authenticate with a bearer token in
//! `Authorization`, never with cookies, so `Access-Control-Allow-Credentials`
//! is never sent and a wildcard cannot leak a session.
//!
//! `Vary: Origin` goes on every answer, allowed or not, because the same URL
//! answers differently per origin and a shared cache must not mix them.

use super::problem::Problem;
use spin_sdk::http::{Method, Request, Response};

/// Methods a browser may use cross-origin.
pub const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers a browser may send cross-origin: every header the API
/// defines (a black-box test checks each OpenAPI document's header
/// parameters against this list), so a browser storefront can use guest
/// carts (`X-Cart-Secret`), the minimal answer (`Prefer`) and the rest.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Prefer, \
     X-Cart-Secret, X-Channel, X-Handoff-Code, Accept-Language";
/// Response headers a browser script may read.
pub const EXPOSE_HEADERS: &str =
    "ETag, Location, Retry-After, Idempotent-Replayed, Preference-Applied, WWW-Authenticate";
/// How long a browser may cache a preflight, in seconds.
pub const MAX_AGE_SECONDS: u32 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    any_origin: bool,
    origins: Vec<String>,
}

impl Cors {
    /// `allowed_origins` are exact origins such as `https://shop.example`;
    /// a trailing `/` is ignored and `*` allows every origin.
    pub fn new(allowed_origins: Vec<String>) -> Cors {
        let mut cors = Cors {
            any_origin: false,
            origins: Vec::with_capacity(allowed_origins.len()),
        };
        for origin in allowed_origins {
            let origin = origin.trim().trim_end_matches('/');
            match origin {
                "" => {}
                "*" => cors.any_origin = true,
                exact => cors.origins.push(exact.to_owned()),
            }
        }
        cors
    }

    /// From a Spin variable holding a comma-separated list.
    pub fn from_list(list: &str) -> Cors {
        Cors::new(list.split(',').map(str::to_owned).collect())
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.any_origin
            || self
                .origins
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }

    /// Answers a preflight: `Some` for an `OPTIONS` carrying `Origin` and
    /// `Access-Control-Request-Method` (204 when the origin is allowed, 403
    /// `forbidden` when not), `None` for every other request.
    pub fn preflight(&self, req: &Request) -> Option<Response> {
        if *req.method() != Method::Options || req.header("access-control-request-method").is_none()
        {
            return None;
        }
        let origin = header_text(req, "origin")?;
        if !self.allows(origin) {
            let mut response =
                Problem::forbidden(format!("the origin {origin:?} may not call this API"))
                    .into_response();
            add_vary(&mut response, "Origin");
            return Some(response);
        }
        let mut response = Response::new(204, Vec::new());
        response.set_header(
            "access-control-allow-origin",
            self.allow_origin_value(origin),
        );
        response.set_header("access-control-allow-methods", ALLOW_METHODS);
        response.set_header("access-control-allow-headers", ALLOW_HEADERS);
        response.set_header("access-control-max-age", MAX_AGE_SECONDS.to_string());
        add_vary(
            &mut response,
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        );
        Some(response)
    }

    /// Adds the CORS headers to an actual (non-preflight) answer.
    pub fn apply(&self, req: &Request, response: &mut Response) {
        add_vary(response, "Origin");
        let Some(origin) = header_text(req, "origin") else {
            return;
        };
        if self.allows(origin) {
            response.set_header(
                "access-control-allow-origin",
                self.allow_origin_value(origin),
            );
            response.set_header("access-control-expose-headers", EXPOSE_HEADERS);
        }
    }

    fn allow_origin_value(&self, origin: &str) -> String {
        if self.any_origin {
            "*".to_owned()
        } else {
            origin.to_owned()
        }
    }
}

fn header_text<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.header(name).and_then(|v| v.as_str())
}

/// Appends to `Vary` rather than replacing what the component set.
fn add_vary(response: &mut Response, names: &str) {
    let value = match response.header("vary").and_then(|v| v.as_str()) {
        Some(existing) if !existing.trim().is_empty() => {
            let missing: Vec<&str> = names
                .split(',')
                .map(str::trim)
                .filter(|name| {
                    !existing
                        .split(',')
                        .any(|e| e.trim().eq_ignore_ascii_case(name))
                })
                .collect();
            if missing.is_empty() {
                return;
            }
            format!("{existing}, {}", missing.join(", "))
        }
        _ => names.to_owned(),
    };
    response.set_header("vary", value);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "https://shop.example";

    fn cors() -> Cors {
        Cors::new(vec![SHOP.into(), "https://app.example/".into()])
    }

    fn preflight_from(origin: &str) -> Request {
        Request::builder()
            .method(Method::Options)
            .uri("/api/carts/c1")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PUT")
            .header("Access-Control-Request-Headers", "authorization, if-match")
            .build()
    }

    fn text<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
        response.header(name).and_then(|v| v.as_str())
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_is_204_with_the_allowances() {
        let response = cors()
            .preflight(&preflight_from(SHOP))
            .expect("a preflight");
        assert_eq!(*response.status(), 204);
        assert_eq!(text(&response, "access-control-allow-origin"), Some(SHOP));
        let headers = text(&response, "access-control-allow-headers").unwrap();
        for needed in [
            "Authorization",
            "Content-Type",
            "If-Match",
            "Idempotency-Key",
        ] {
            assert!(headers.contains(needed), "{needed}");
        }
        assert!(
            text(&response, "access-control-allow-methods")
                .unwrap()
                .contains("PUT")
        );
        assert_eq!(text(&response, "access-control-max-age"), Some("3600"));
        assert!(text(&response, "vary").unwrap().contains("Origin"));
        assert_eq!(text(&response, "access-control-allow-credentials"), None);
    }

    #[test]
    fn trailing_slashes_in_configured_origins_are_ignored() {
        assert!(
            cors()
                .preflight(&preflight_from("https://app.example"))
                .is_some_and(|r| *r.status() == 204)
        );
    }

    #[test]
    fn a_preflight_from_another_origin_is_403() {
        for origin in [
            "https://evil.example",
            "http://shop.example",
            "https://shop.example:8443",
            "null",
        ] {
            let response = cors().preflight(&preflight_from(origin)).expect("answered");
            assert_eq!(*response.status(), 403, "{origin}");
            assert_eq!(text(&response, "access-control-allow-origin"), None);
            assert_eq!(
                text(&response, "content-type"),
                Some("application/problem+json")
            );
        }
    }

    #[test]
    fn requests_that_are_not_preflights_pass_through() {
        let plain_options = Request::builder()
            .method(Method::Options)
            .uri("/x")
            .header("Origin", SHOP)
            .build();
        assert!(cors().preflight(&plain_options).is_none());
        let get = Request::builder().uri("/x").header("Origin", SHOP).build();
        assert!(cors().preflight(&get).is_none());
    }

    #[test]
    fn answers_to_allowed_origins_get_allow_origin_expose_and_vary() {
        let req = Request::builder().uri("/x").header("Origin", SHOP).build();
        let mut response = Response::new(200, "{}");
        cors().apply(&req, &mut response);
        assert_eq!(text(&response, "access-control-allow-origin"), Some(SHOP));
        let exposed = text(&response, "access-control-expose-headers").unwrap();
        assert!(exposed.contains("ETag") && exposed.contains("Location"));
        assert_eq!(text(&response, "vary"), Some("Origin"));
    }

    #[test]
    fn answers_to_other_origins_get_only_vary() {
        let req = Request::builder()
            .uri("/x")
            .header("Origin", "https://evil.example")
            .build();
        let mut response = Response::new(200, "{}");
        cors().apply(&req, &mut response);
        assert_eq!(text(&response, "access-control-allow-origin"), None);
        assert_eq!(text(&response, "vary"), Some("Origin"));
    }

    #[test]
    fn vary_is_appended_to_not_replaced() {
        let req = Request::builder().uri("/x").header("Origin", SHOP).build();
        let mut response = Response::new(200, "{}");
        response.set_header("vary", "Accept-Language");
        cors().apply(&req, &mut response);
        cors().apply(&req, &mut response);
        assert_eq!(text(&response, "vary"), Some("Accept-Language, Origin"));
    }

    #[test]
    fn a_wildcard_allows_every_origin() {
        let dev = Cors::from_list("*");
        let response = dev
            .preflight(&preflight_from("http://localhost:5173"))
            .unwrap();
        assert_eq!(*response.status(), 204);
        assert_eq!(text(&response, "access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn origins_load_from_a_comma_separated_list() {
        let cors = Cors::from_list(" https://a.example, https://b.example ,");
        assert!(cors.allows("https://a.example") && cors.allows("https://b.example"));
        assert!(!cors.allows("https://c.example"));
        assert!(!Cors::from_list("").allows("https://a.example"));
    }
}

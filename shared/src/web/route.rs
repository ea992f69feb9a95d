//! A tiny router: each component dispatches from one static table of routes,
//! as mini-redis dispatches from its command table.
//!
//! ```
//! use omni_shared::web::route::{self, Route};
//! use spin_sdk::http::Method;
//!
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! enum Op { GetCart, SetLine }
//!
//! static ROUTES: &[Route<Op>] = &[
//!     Route::new(Method::Get, "/api/carts/{id}", Op::GetCart),
//!     Route::new(Method::Put, "/api/carts/{id}/lines/{sku}", Op::SetLine),
//! ];
//!
//! let found = route::find(ROUTES, &Method::Put, "/api/carts/c-1/lines/TEE%2DM").unwrap();
//! assert_eq!(*found.handler, Op::SetLine);
//! assert_eq!(found.params.get("sku"), Some("TEE-M"));
//! ```
//!
//! Patterns are `/`-separated literal segments and `{name}` parameters, each
//! matching exactly one non-empty segment; a malformed pattern fails to
//! compile (the check runs in `const` evaluation of a static table). Each
//! parameter is percent-decoded after the path is split, so `%2F` stays
//! inside its segment; a segment whose escapes are malformed or not UTF-8
//! matches nothing. A `GET` route also answers `HEAD`. A path that matches
//! with another method is 405 with `Allow`; no match at all is 404.

use super::problem::Problem;
use spin_sdk::http::Method;
use std::borrow::Cow;

/// One row of a component's route table.
#[derive(Debug)]
pub struct Route<H> {
    method: Method,
    pattern: &'static str,
    handler: H,
}

impl<H> Route<H> {
    /// Panics (at compile time, in a `static` table) on a malformed pattern.
    pub const fn new(method: Method, pattern: &'static str, handler: H) -> Route<H> {
        assert!(
            valid_pattern(pattern),
            "route patterns are /literal and /{{name}} segments"
        );
        Route {
            method,
            pattern,
            handler,
        }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn pattern(&self) -> &'static str {
        self.pattern
    }
}

/// A matched route: its handler and the decoded path parameters.
#[derive(Debug)]
pub struct Found<'t, 'p, H> {
    pub handler: &'t H,
    pub params: Params<'p>,
}

/// Path parameters by name; borrowed from the path unless a segment needed
/// percent-decoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params<'p> {
    pairs: Vec<(&'static str, Cow<'p, str>)>,
}

impl<'p> Params<'p> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.pairs.iter().map(|(n, v)| (*n, v.as_ref()))
    }
}

impl std::ops::Index<&str> for Params<'_> {
    type Output = str;

    /// Panics when the route's pattern has no such parameter: that is a bug
    /// in the component's table, which its tests catch, not bad input.
    fn index(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("the route pattern has no parameter {{{name}}}"))
    }
}

/// Finds the route for `method` and `path` (the path without its query).
pub fn find<'t, 'p, H>(
    routes: &'t [Route<H>],
    method: &Method,
    path: &'p str,
) -> Result<Found<'t, 'p, H>, Problem> {
    let mut head_fallback = None;
    let mut path_exists = false;
    for route in routes {
        let Some(params) = match_path(route.pattern, path) else {
            continue;
        };
        path_exists = true;
        if route.method == *method {
            return Ok(Found {
                handler: &route.handler,
                params,
            });
        }
        if *method == Method::Head && route.method == Method::Get && head_fallback.is_none() {
            head_fallback = Some(Found {
                handler: &route.handler,
                params,
            });
        }
    }
    if let Some(found) = head_fallback {
        return Ok(found);
    }
    if path_exists {
        return Err(method_not_allowed(routes, path));
    }
    Err(not_found(path))
}

/// 405 with the `Allow` header listing every method the path supports.
pub fn method_not_allowed<H>(routes: &[Route<H>], path: &str) -> Problem {
    let mut allowed: Vec<&Method> = Vec::new();
    for route in routes
        .iter()
        .filter(|r| match_path(r.pattern, path).is_some())
    {
        if !allowed.contains(&&route.method) {
            allowed.push(&route.method);
        }
        if route.method == Method::Get && !allowed.contains(&&Method::Head) {
            allowed.push(&Method::Head);
        }
    }
    let allow: Vec<String> = allowed.iter().map(|m| m.to_string()).collect();
    Problem::method_not_allowed(&allow.join(", "))
}

/// 404 for a path no route matches.
pub fn not_found(path: &str) -> Problem {
    let shown: String = path.chars().take(200).collect();
    Problem::not_found(format!("no resource at {shown}"))
}

fn match_path<'p>(pattern: &'static str, path: &'p str) -> Option<Params<'p>> {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    let mut params = Params::default();
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(params),
            (Some(expected), Some(segment)) => {
                if let Some(name) = expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let value = percent_decode(segment)?;
                    if value.is_empty() {
                        return None;
                    }
                    params.pairs.push((name, value));
                } else if expected != segment
                    && percent_decode(segment).as_deref() != Some(expected)
                {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

fn percent_decode(segment: &str) -> Option<Cow<'_, str>> {
    if !segment.contains('%') {
        return Some(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// `/`, or `/`-separated segments that are non-empty literals without braces
/// or `{name}` with a name of lower-case letters, digits and `_`.
const fn valid_pattern(pattern: &str) -> bool {
    let bytes = pattern.as_bytes();
    if bytes.is_empty() || bytes[0] != b'/' {
        return false;
    }
    if bytes.len() == 1 {
        return true;
    }
    let mut start = 1;
    while start <= bytes.len() {
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'/' {
            end += 1;
        }
        if !valid_segment(bytes, start, end) {
            return false;
        }
        start = end + 1;
    }
    true
}

const fn valid_segment(bytes: &[u8], start: usize, end: usize) -> bool {
    if start >= end {
        return false;
    }
    let is_param = bytes[start] == b'{';
    if is_param && (end - start < 3 || bytes[end - 1] != b'}') {
        return false;
    }
    let (from, to) = if is_param {
        (start + 1, end - 1)
    } else {
        (start, end)
    };
    let mut i = from;
    while i < to {
        let b = bytes[i];
        let ok = if is_param {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
        } else {
            b != b'{' && b != b'}' && b != b'%' && b.is_ascii_graphic()
        };
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Op {
        Health,
        GetCart,
        ReplaceCart,
        DeleteCart,
        SetLine,
        Merge,
    }

    static ROUTES: &[Route<Op>] = &[
        Route::new(Method::Get, "/api/carts/health", Op::Health),
        Route::new(Method::Get, "/api/carts/{id}", Op::GetCart),
        Route::new(Method::Put, "/api/carts/{id}", Op::ReplaceCart),
        Route::new(Method::Delete, "/api/carts/{id}", Op::DeleteCart),
        Route::new(Method::Put, "/api/carts/{id}/lines/{sku}", Op::SetLine),
        Route::new(Method::Post, "/api/carts/{id}/merge", Op::Merge),
    ];

    /// The handler and its params, or the problem status.
    type Expected<'a> = Result<(Op, &'a [(&'a str, &'a str)]), u16>;

    fn check(method: Method, path: &str, expected: Expected<'_>) {
        match (find(ROUTES, &method, path), expected) {
            (Ok(found), Ok((op, params))) => {
                assert_eq!(*found.handler, op, "{method} {path}");
                let actual: Vec<(&str, &str)> = found.params.iter().collect();
                assert_eq!(actual, params, "{method} {path}");
            }
            (Err(problem), Err(status)) => assert_eq!(problem.status(), status, "{method} {path}"),
            (Ok(found), Err(status)) => panic!(
                "{method} {path}: expected {status}, got {:?}",
                found.handler
            ),
            (Err(problem), Ok((op, _))) => {
                panic!("{method} {path}: expected {op:?}, got {problem}")
            }
        }
    }

    #[test]
    fn parameters_are_captured_by_name() {
        check(
            Method::Put,
            "/api/carts/c-1/lines/TEE-M",
            Ok((Op::SetLine, &[("id", "c-1"), ("sku", "TEE-M")])),
        );
        check(
            Method::Post,
            "/api/carts/c-9/merge",
            Ok((Op::Merge, &[("id", "c-9")])),
        );
        let found = find(ROUTES, &Method::Get, "/api/carts/c-1").unwrap();
        assert_eq!(&found.params["id"], "c-1");
    }

    #[test]
    fn literal_routes_listed_first_win_over_parameters() {
        check(Method::Get, "/api/carts/health", Ok((Op::Health, &[])));
    }

    #[test]
    fn each_method_finds_its_own_route() {
        check(
            Method::Get,
            "/api/carts/c1",
            Ok((Op::GetCart, &[("id", "c1")])),
        );
        check(
            Method::Put,
            "/api/carts/c1",
            Ok((Op::ReplaceCart, &[("id", "c1")])),
        );
        check(
            Method::Delete,
            "/api/carts/c1",
            Ok((Op::DeleteCart, &[("id", "c1")])),
        );
    }

    #[test]
    fn parameters_are_percent_decoded_within_their_segment() {
        check(
            Method::Get,
            "/api/carts/a%2Fb",
            Ok((Op::GetCart, &[("id", "a/b")])),
        );
        check(
            Method::Get,
            "/api/carts/%C5%BC%C3%B3%C5%82w",
            Ok((Op::GetCart, &[("id", "żółw")])),
        );
        check(
            Method::Get,
            "/api/%63arts/c1",
            Ok((Op::GetCart, &[("id", "c1")])),
        );
    }

    #[test]
    fn malformed_escapes_and_empty_segments_match_nothing() {
        check(Method::Get, "/api/carts/%zz", Err(404));
        check(Method::Get, "/api/carts/%C5", Err(404));
        check(Method::Get, "/api/carts/%4", Err(404));
        check(Method::Get, "/api/carts/", Err(404));
        check(Method::Get, "/api/carts//lines/x", Err(404));
    }

    #[test]
    fn unknown_paths_are_404_problems() {
        check(Method::Get, "/api/cart/c1", Err(404));
        check(Method::Get, "/api/carts/c1/extra", Err(404));
        check(Method::Get, "/api/carts", Err(404));
        check(Method::Get, "/", Err(404));
        assert_eq!(
            find(ROUTES, &Method::Get, "/nope").unwrap_err().slug(),
            "not-found"
        );
    }

    #[test]
    fn a_known_path_with_another_method_is_405_with_allow() {
        let problem = find(ROUTES, &Method::Post, "/api/carts/c1").unwrap_err();
        assert_eq!(
            (problem.status(), problem.slug()),
            (405, "method-not-allowed")
        );
        assert_eq!(problem.header("allow"), Some("GET, HEAD, PUT, DELETE"));
        let problem = find(ROUTES, &Method::Get, "/api/carts/c1/merge").unwrap_err();
        assert_eq!(problem.header("allow"), Some("POST"));
    }

    #[test]
    fn head_is_answered_by_the_get_route() {
        check(
            Method::Head,
            "/api/carts/c1",
            Ok((Op::GetCart, &[("id", "c1")])),
        );
        check(Method::Head, "/api/carts/c1/merge", Err(405));
    }

    #[test]
    fn params_borrow_from_the_path_unless_decoded() {
        let found = find(ROUTES, &Method::Get, "/api/carts/c1").unwrap();
        assert!(matches!(found.params.pairs[0].1, Cow::Borrowed(_)));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "", "api", "/api/", "/api//x", "/{}", "/{Id}", "/{id", "/a{id}", "/{i-d}", "/a b",
        ] {
            assert!(!valid_pattern(bad), "{bad:?}");
        }
        for good in [
            "/",
            "/api",
            "/api/carts/{id}/lines/{sku_2}",
            "/api/v1.0/x-y",
        ] {
            assert!(valid_pattern(good), "{good:?}");
        }
    }

    #[test]
    #[should_panic(expected = "route patterns")]
    fn building_a_route_with_a_malformed_pattern_panics() {
        let _ = Route::new(Method::Get, "/api/{bad", ());
    }
}

//! HTTP trigger routes: parsing `route = "..."` patterns and picking the most
//! specific one for a request path, with the precedence `spin up` uses.
//!
//! Spin routes are exact (`/cart`), trailing-wildcard (`/cart/...`, which also
//! matches `/cart` itself) or contain single-segment wildcards (`/users/:id`).
//! When several match, Spin's router (routefinder) prefers, segment by
//! segment from the left, a literal segment over a `:name` capture over the
//! trailing wildcard, so an exact route beats a wildcard and a longer literal
//! prefix beats a shorter one. Two triggers with the same route: the later one
//! wins, as in Spin (which logs the earlier one as unreachable).

use std::fmt;

/// A parsed `route` value of one `[[trigger.http]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    raw: String,
    based: String,
    segments: Vec<Segment>,
    trailing_wildcard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture(String),
}

/// Why a `route` value is not a valid Spin route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// `...` may only appear as the whole last segment (`/x/...`).
    #[error("`...` is only allowed as the last segment (`/prefix/...`)")]
    MisplacedWildcard,
    /// A `:` capture needs a name (`/users/:id`).
    #[error("a `:` wildcard needs a name, as in `/users/:id`")]
    UnnamedCapture,
    /// Two `:` captures with the same name would overwrite each other's header.
    #[error("the wildcard name `{0}` is used twice")]
    DuplicateCapture(String),
    /// Query strings and fragments are not part of a route.
    #[error("a route cannot contain `?` or `#`")]
    QueryInRoute,
}

impl RoutePattern {
    /// Parses a route as written in the manifest.
    pub fn parse(raw: &str) -> Result<Self, RouteError> {
        if raw.contains('?') || raw.contains('#') {
            return Err(RouteError::QueryInRoute);
        }
        // Spin makes the route absolute and strips one trailing slash: the
        // result is what it reports as `spin-matched-route`.
        let absolute = if raw.starts_with('/') {
            raw.to_owned()
        } else {
            format!("/{raw}")
        };
        let based = absolute
            .strip_suffix('/')
            .map(str::to_owned)
            .unwrap_or(absolute);
        let (prefix, trailing_wildcard) = match based.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None if based == "..." => ("", true),
            None => (based.as_str(), false),
        };
        let mut segments = Vec::new();
        for part in prefix.split('/').skip(1) {
            if part == "..." {
                return Err(RouteError::MisplacedWildcard);
            }
            match part.strip_prefix(':') {
                Some("") => return Err(RouteError::UnnamedCapture),
                Some(name) => {
                    if segments
                        .iter()
                        .any(|s| matches!(s, Segment::Capture(n) if n == name))
                    {
                        return Err(RouteError::DuplicateCapture(name.to_owned()));
                    }
                    segments.push(Segment::Capture(name.to_owned()));
                }
                None => segments.push(Segment::Literal(part.to_owned())),
            }
        }
        Ok(Self {
            raw: raw.to_owned(),
            based,
            segments,
            trailing_wildcard,
        })
    }

    /// The route exactly as written in the manifest (`spin-raw-component-route`).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The normalised route (`spin-matched-route`): absolute, one trailing
    /// slash removed, wildcard kept.
    pub fn based(&self) -> &str {
        &self.based
    }

    /// The raw route without its trailing `/...` (`spin-component-route`).
    pub fn raw_without_wildcard(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    /// Whether the route ends in `/...`.
    pub fn is_wildcard(&self) -> bool {
        self.trailing_wildcard
    }

    /// Matches a request path (percent-encoded, without query).
    fn matches(&self, path: &str) -> Option<PathMatch> {
        // `end` is the byte index just after the last matched segment.
        let mut end = 0;
        let mut captures = Vec::new();
        for segment in &self.segments {
            if path.as_bytes().get(end) != Some(&b'/') {
                return None;
            }
            let start = end + 1;
            let stop = path[start..].find('/').map_or(path.len(), |i| start + i);
            let part = &path[start..stop];
            match segment {
                Segment::Literal(lit) if lit == part => {}
                Segment::Capture(name) if !part.is_empty() => {
                    captures.push((name.clone(), part.to_owned()));
                }
                _ => return None,
            }
            end = stop;
        }
        let rest = &path[end..];
        if self.trailing_wildcard {
            // Everything under the prefix, with the request's own trailing
            // slash, is the path info Spin reports.
            (rest.is_empty() || rest.starts_with('/')).then(|| PathMatch {
                path_info: rest.to_owned(),
                captures,
            })
        } else {
            // routefinder tolerates one trailing slash on the request path.
            (rest.is_empty() || rest == "/").then(|| PathMatch {
                path_info: String::new(),
                captures,
            })
        }
    }

    /// The specificity key: per segment, literal (0) before capture (1),
    /// then the end of an exact route (0) before a trailing wildcard (2).
    fn rank(&self) -> Vec<u8> {
        let mut rank: Vec<u8> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Capture(_) => 1,
            })
            .collect();
        rank.push(if self.trailing_wildcard { 2 } else { 0 });
        rank
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

struct PathMatch {
    path_info: String,
    captures: Vec<(String, String)>,
}

/// The routing table of an app: every HTTP trigger with the component it runs.
#[derive(Debug, Clone, Default)]
pub struct Router<T> {
    entries: Vec<(RoutePattern, T)>,
}

/// The outcome of routing one request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    /// The trigger's route.
    pub route: &'a RoutePattern,
    /// What the route maps to (a component).
    pub target: &'a T,
    /// The part of the path under a trailing wildcard (`spin-path-info`).
    pub path_info: String,
    /// `:name` captures in route order (`spin-path-match-<name>`).
    pub captures: Vec<(String, String)>,
}

impl<T> Router<T> {
    /// Builds a router; entries given later win over identical earlier routes.
    pub fn new(entries: Vec<(RoutePattern, T)>) -> Self {
        Self { entries }
    }

    /// Routes whose pattern repeats a later one and so can never be reached,
    /// as `(unreachable, effective)` pairs of entry indexes.
    pub fn shadowed(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, (a, _)) in self.entries.iter().enumerate() {
            if let Some(j) = (i + 1..self.entries.len())
                .rev()
                .find(|&j| self.entries[j].0.based == a.based)
            {
                out.push((i, j));
            }
        }
        out
    }

    /// Every entry, in manifest order.
    pub fn entries(&self) -> impl Iterator<Item = (&RoutePattern, &T)> {
        self.entries.iter().map(|(r, t)| (r, t))
    }

    /// Picks the most specific route matching `path`.
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_, T>> {
        let mut best: Option<(Vec<u8>, RouteMatch<'_, T>)> = None;
        for (pattern, target) in &self.entries {
            let Some(m) = pattern.matches(path) else {
                continue;
            };
            let rank = pattern.rank();
            // `<=` so that a later identical route replaces an earlier one.
            if best.as_ref().is_none_or(|(r, _)| rank <= *r) {
                best = Some((
                    rank,
                    RouteMatch {
                        route: pattern,
                        target,
                        path_info: m.path_info,
                        captures: m.captures,
                    },
                ));
            }
        }
        best.map(|(_, m)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[&str]) -> Router<String> {
        Router::new(
            routes
                .iter()
                .map(|r| (RoutePattern::parse(r).unwrap(), (*r).to_owned()))
                .collect(),
        )
    }

    /// `check(routes, path, expected route, expected path info)`.
    fn check(routes: &[&str], path: &str, expected: Option<(&str, &str)>) {
        let r = router(routes);
        let got = r
            .route(path)
            .map(|m| (m.target.clone(), m.path_info.clone()));
        let expected = expected.map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(got, expected, "routing {path} over {routes:?}");
    }

    #[test]
    fn exact_routes_match_only_their_path() {
        check(&["/cart"], "/cart", Some(("/cart", "")));
        check(&["/cart"], "/cart/checkout", None);
        check(&["/cart"], "/car", None);
        check(&["/cart"], "/", None);
    }

    #[test]
    fn a_trailing_slash_on_the_path_still_matches_an_exact_route() {
        check(&["/cart"], "/cart/", Some(("/cart", "")));
    }

    #[test]
    fn a_wildcard_matches_its_prefix_itself_and_everything_below() {
        let routes = ["/api/carts/..."];
        check(&routes, "/api/carts", Some(("/api/carts/...", "")));
        check(&routes, "/api/carts/", Some(("/api/carts/...", "/")));
        check(&routes, "/api/carts/42", Some(("/api/carts/...", "/42")));
        check(
            &routes,
            "/api/carts/42/lines/",
            Some(("/api/carts/...", "/42/lines/")),
        );
        check(&routes, "/api/cartsx", None);
        check(&routes, "/api", None);
    }

    #[test]
    fn the_root_wildcard_matches_every_path() {
        check(&["/..."], "/", Some(("/...", "/")));
        check(&["/..."], "/a/b", Some(("/...", "/a/b")));
    }

    #[test]
    fn exact_beats_wildcard_whatever_the_order() {
        check(&["/...", "/one"], "/one", Some(("/one", "")));
        check(&["/one", "/..."], "/one", Some(("/one", "")));
        check(&["/one/...", "/one"], "/one", Some(("/one", "")));
    }

    #[test]
    fn the_longest_wildcard_prefix_wins_whatever_the_order() {
        let a = ["/one/...", "/one/two/...", "/one/two/three/..."];
        let b = ["/one/two/three/...", "/one/two/...", "/one/..."];
        for routes in [&a[..], &b[..]] {
            check(
                routes,
                "/one/two/three/four",
                Some(("/one/two/three/...", "/four")),
            );
            check(routes, "/one/two/x", Some(("/one/two/...", "/x")));
            check(routes, "/one", Some(("/one/...", "")));
        }
    }

    #[test]
    fn a_literal_segment_beats_a_capture() {
        let routes = ["/users/:id", "/users/me"];
        check(&routes, "/users/me", Some(("/users/me", "")));
        check(&routes, "/users/42", Some(("/users/:id", "")));
    }

    #[test]
    fn captures_are_reported_by_name() {
        let r = router(&["/stores/:store/orders/:order/..."]);
        let m = r.route("/stores/s1/orders/o9/lines").unwrap();
        assert_eq!(
            m.captures,
            vec![
                ("store".to_owned(), "s1".to_owned()),
                ("order".to_owned(), "o9".to_owned())
            ]
        );
        assert_eq!(m.path_info, "/lines");
        assert!(r.route("/stores//orders/o9").is_none());
    }

    #[test]
    fn a_later_duplicate_route_wins_and_the_earlier_is_reported() {
        let r = Router::new(vec![
            (RoutePattern::parse("/x").unwrap(), "first"),
            (RoutePattern::parse("/x/").unwrap(), "second"),
        ]);
        assert_eq!(*r.route("/x").unwrap().target, "second");
        assert_eq!(r.shadowed(), vec![(0, 1)]);
    }

    #[test]
    fn the_root_exact_route_matches_only_the_root() {
        check(&["/"], "/", Some(("/", "")));
        check(&["/"], "/a", None);
    }

    #[test]
    fn header_values_follow_spin() {
        let p = RoutePattern::parse("/foo/...").unwrap();
        assert_eq!(p.based(), "/foo/...");
        assert_eq!(p.raw(), "/foo/...");
        assert_eq!(p.raw_without_wildcard(), "/foo");
        let p = RoutePattern::parse("bar/").unwrap();
        assert_eq!(p.based(), "/bar");
        assert_eq!(p.raw(), "bar/");
        assert_eq!(p.raw_without_wildcard(), "bar/");
    }

    #[test]
    fn malformed_routes_are_rejected() {
        assert_eq!(
            RoutePattern::parse("/a/.../b"),
            Err(RouteError::MisplacedWildcard)
        );
        assert_eq!(RoutePattern::parse("/a/:"), Err(RouteError::UnnamedCapture));
        assert_eq!(
            RoutePattern::parse("/a/:x/:x"),
            Err(RouteError::DuplicateCapture("x".into()))
        );
        assert_eq!(RoutePattern::parse("/a?b=c"), Err(RouteError::QueryInRoute));
    }
}

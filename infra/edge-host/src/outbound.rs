//! `allowed_outbound_hosts`: which hosts a component may send HTTP requests
//! (or open PostgreSQL connections) to. Everything not listed is refused, as
//! Spin refuses it, so a component that works here does not rely on a
//! permission `spin up` would deny.
//!
//! Entries have Spin's form `scheme://host[:port]`: the scheme is `http`,
//! `https`, `postgres` or `*`; the host is a name, an IP address, `*` or `*.domain`
//! (any subdomain, not the domain itself); the port is a number, a range
//! `a..b` (end exclusive, as Rust and Spin write it) or `*`, and defaults to
//! the scheme's well-known port (80/443/5432). Paths are not allowed.

use std::fmt;

/// The outbound HTTP permissions of one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    source: String,
    scheme: SchemeMatch,
    host: HostMatch,
    port: PortMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemeMatch {
    Any,
    Is(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Is(String),
    SubdomainOf(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortMatch {
    Any,
    /// No port written: the well-known port of the request's scheme.
    WellKnown,
    Is(u16),
    /// `start..end`, end exclusive.
    Range(u16, u16),
}

/// Why an `allowed_outbound_hosts` entry is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundHostError {
    /// Spin requires the scheme (`https://example.com`, not `example.com`).
    #[error("`{0}` has no scheme: write it as `https://{0}` (or `http://`, `*://`)")]
    MissingScheme(String),
    /// Only HTTP schemes make sense for outbound HTTP.
    #[error("`{0}`: unsupported scheme `{1}` (expected http, https, postgres or *)")]
    UnsupportedScheme(String, String),
    /// A path, query or fragment after the authority.
    #[error("`{0}`: an allowed host cannot contain a path")]
    HasPath(String),
    /// The port is not a number, a range or `*`.
    #[error("`{0}`: invalid port `{1}`")]
    InvalidPort(String, String),
    /// An empty host or a wildcard in the middle of a name.
    #[error("`{0}`: invalid host `{1}`")]
    InvalidHost(String, String),
    /// Spin's service chaining (`http://self`, `*.spin.internal`) needs Spin's
    /// in-process routing, which this host does not provide.
    #[error("`{0}`: service chaining (`self`, `*.spin.internal`) is not supported by edge-host")]
    ServiceChaining(String),
    /// Template expressions in allowed hosts are not expanded by edge-host.
    #[error("`{0}`: variable templates in allowed_outbound_hosts are not supported by edge-host")]
    Template(String),
}

impl OutboundPolicy {
    /// Parses the manifest list; an empty list allows nothing.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, OutboundHostError> {
        let rules = entries
            .iter()
            .map(|e| Rule::parse(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Whether a request to `scheme://host:port` is allowed. `host` is
    /// compared case-insensitively; `port` is the explicit port, if any.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let Some(port) = port.or_else(|| well_known_port(&scheme)) else {
            return false;
        };
        self.rules.iter().any(|r| r.allows(&scheme, &host, port))
    }

    /// Whether any host at all is allowed (used to explain refusals).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl fmt::Display for OutboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<&str> = self.rules.iter().map(|r| r.source.as_str()).collect();
        write!(f, "[{}]", list.join(", "))
    }
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        _ => None,
    }
}

impl Rule {
    fn parse(entry: &str) -> Result<Self, OutboundHostError> {
        let source = entry.trim().to_owned();
        if source.contains("{{") {
            return Err(OutboundHostError::Template(source));
        }
        let Some((scheme, rest)) = source.split_once("://") else {
            return Err(OutboundHostError::MissingScheme(source));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => SchemeMatch::Any,
            s @ ("http" | "https" | "postgres") => SchemeMatch::Is(s.to_owned()),
            other => {
                return Err(OutboundHostError::UnsupportedScheme(
                    source.clone(),
                    other.to_owned(),
                ));
            }
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(OutboundHostError::HasPath(source));
        }
        let (host, port) = split_host_port(authority);
        let host = host.to_ascii_lowercase();
        let host_rule = if host == "*" {
            HostMatch::Any
        } else if host == "self" || host.ends_with(".spin.internal") {
            return Err(OutboundHostError::ServiceChaining(source));
        } else if let Some(domain) = host.strip_prefix("*.") {
            if domain.is_empty() || domain.contains('*') {
                return Err(OutboundHostError::InvalidHost(source.clone(), host));
            }
            HostMatch::SubdomainOf(domain.to_owned())
        } else if host.is_empty() || host.contains('*') {
            return Err(OutboundHostError::InvalidHost(source.clone(), host));
        } else {
            HostMatch::Is(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            )
        };
        let port_rule = match port {
            None => PortMatch::WellKnown,
            Some("*") => PortMatch::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b)) if a < b => PortMatch::Range(a, b),
                    _ => return Err(OutboundHostError::InvalidPort(source.clone(), p.to_owned())),
                },
                None => {
                    PortMatch::Is(p.parse().map_err(|_| {
                        OutboundHostError::InvalidPort(source.clone(), p.to_owned())
                    })?)
                }
            },
        };
        Ok(Self {
            source,
            scheme,
            host: host_rule,
            port: port_rule,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = match &self.scheme {
            SchemeMatch::Any => true,
            SchemeMatch::Is(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostMatch::Any => true,
            HostMatch::Is(h) => h == host,
            HostMatch::SubdomainOf(d) => host
                .strip_suffix(d.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        };
        let port_ok = match self.port {
            PortMatch::Any => true,
            PortMatch::WellKnown => well_known_port(scheme) == Some(port),
            PortMatch::Is(p) => p == port,
            PortMatch::Range(a, b) => (a..b).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

/// Splits `host[:port]`, keeping IPv6 literals (`[::1]:8080`) whole.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(i) => {
                let (host, rest) = authority.split_at(i + 1);
                (host, rest.strip_prefix(':'))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check(allowed, (scheme, host, port), expected)`.
    fn check(allowed: &[&str], request: (&str, &str, Option<u16>), expected: bool) {
        let policy = OutboundPolicy::parse(allowed).unwrap();
        assert_eq!(
            policy.allows(request.0, request.1, request.2),
            expected,
            "{allowed:?} allows {request:?}"
        );
    }

    #[test]
    fn an_empty_list_allows_nothing() {
        check(&[], ("https", "example.com", None), false);
    }

    #[test]
    fn a_plain_https_host_allows_only_that_host_on_443() {
        let allowed = ["https://example.com"];
        check(&allowed, ("https", "example.com", None), true);
        check(&allowed, ("https", "EXAMPLE.com", Some(443)), true);
        check(&allowed, ("https", "example.com", Some(8443)), false);
        check(&allowed, ("http", "example.com", None), false);
        check(&allowed, ("https", "api.example.com", None), false);
        check(&allowed, ("https", "example.com.evil.test", None), false);
    }

    #[test]
    fn a_port_wildcard_allows_every_port_of_that_host() {
        let allowed = ["http://127.0.0.1:*"];
        check(&allowed, ("http", "127.0.0.1", Some(40123)), true);
        check(&allowed, ("http", "127.0.0.1", None), true);
        check(&allowed, ("https", "127.0.0.1", Some(40123)), false);
        check(&allowed, ("http", "127.0.0.2", Some(40123)), false);
    }

    #[test]
    fn an_explicit_port_allows_only_that_port() {
        let allowed = ["http://localhost:8080"];
        check(&allowed, ("http", "localhost", Some(8080)), true);
        check(&allowed, ("http", "localhost", Some(8081)), false);
        check(&allowed, ("http", "localhost", None), false);
    }

    #[test]
    fn a_subdomain_wildcard_allows_subdomains_but_not_the_domain() {
        let allowed = ["https://*.example.com"];
        check(&allowed, ("https", "api.example.com", None), true);
        check(&allowed, ("https", "a.b.example.com", None), true);
        check(&allowed, ("https", "example.com", None), false);
        check(&allowed, ("https", "badexample.com", None), false);
    }

    #[test]
    fn port_ranges_exclude_their_end() {
        let allowed = ["http://localhost:8000..8002"];
        check(&allowed, ("http", "localhost", Some(8000)), true);
        check(&allowed, ("http", "localhost", Some(8001)), true);
        check(&allowed, ("http", "localhost", Some(8002)), false);
    }

    #[test]
    fn any_scheme_and_host_wildcards_allow_everything_listed() {
        check(&["*://*:*"], ("http", "anything.test", Some(1)), true);
        check(&["*://example.com"], ("http", "example.com", None), true);
        check(&["*://example.com"], ("https", "example.com", None), true);
        check(
            &["*://example.com"],
            ("https", "example.com", Some(80)),
            false,
        );
    }

    #[test]
    fn ipv6_literals_are_matched_without_brackets() {
        check(&["http://[::1]:8080"], ("http", "[::1]", Some(8080)), true);
        check(&["http://[::1]:8080"], ("http", "::1", Some(8080)), true);
    }

    #[test]
    fn malformed_entries_are_rejected_with_the_entry() {
        let cases: &[(&str, OutboundHostError)] = &[
            (
                "example.com",
                OutboundHostError::MissingScheme("example.com".into()),
            ),
            (
                "ftp://example.com",
                OutboundHostError::UnsupportedScheme("ftp://example.com".into(), "ftp".into()),
            ),
            (
                "https://example.com/api",
                OutboundHostError::HasPath("https://example.com/api".into()),
            ),
            (
                "https://example.com:http",
                OutboundHostError::InvalidPort("https://example.com:http".into(), "http".into()),
            ),
            (
                "http://self",
                OutboundHostError::ServiceChaining("http://self".into()),
            ),
            (
                "https://{{ host }}",
                OutboundHostError::Template("https://{{ host }}".into()),
            ),
            (
                "https://api.*.com",
                OutboundHostError::InvalidHost("https://api.*.com".into(), "api.*.com".into()),
            ),
        ];
        for (entry, expected) in cases {
            assert_eq!(
                OutboundPolicy::parse(&[*entry]).unwrap_err(),
                *expected,
                "{entry}"
            );
        }
    }

    #[test]
    fn a_trailing_slash_is_accepted() {
        check(
            &["https://example.com/"],
            ("https", "example.com", None),
            true,
        );
    }
}

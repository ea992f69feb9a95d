//! Query strings (`application/x-www-form-urlencoded`), decoded once at the
//! edge: a bad escape, invalid UTF-8 or a repeated name is a 400 naming the
//! parameter, never a silently different value.

use super::Problem;

/// The decoded parameters of one query string, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Why refuse a repeated name? `?store=A&store=B` has no one meaning;
    /// picking the first or the last would answer a question nobody asked.
    pub fn parse(raw: &str) -> Result<Query, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode(name).ok_or_else(|| {
                Problem::bad_request("a query parameter name is not valid percent-encoded UTF-8")
            })?;
            let value = form_decode(value).ok_or_else(|| {
                Problem::bad_request(format!(
                    "`{}` is not valid percent-encoded UTF-8",
                    printable(&name)
                ))
            })?;
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(Problem::bad_request(format!(
                    "query parameter `{}` is given twice",
                    printable(&name)
                )));
            }
            pairs.push((name, value));
        }
        Ok(Query { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(n, _)| n.as_str())
    }

    /// Refuses any parameter not in `allowed`: a misspelt filter must not
    /// quietly widen a listing.
    pub fn only(self, allowed: &[&str]) -> Result<Query, Problem> {
        if let Some(unknown) = self.names().find(|n| !allowed.contains(n)) {
            return Err(Problem::bad_request(format!(
                "unknown query parameter `{}`; expected {}",
                printable(unknown),
                allowed.join(", ")
            )));
        }
        Ok(self)
    }

    /// `limit`, from 1 to `max`, or `default` when absent.
    pub fn limit(&self, default: u32, max: u32) -> Result<u32, Problem> {
        match self.get("limit") {
            None => Ok(default),
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=max).contains(l))
                .ok_or_else(|| {
                    Problem::bad_request(format!("limit must be a whole number from 1 to {max}"))
                }),
        }
    }
}

/// Decodes `%XX` escapes and `+` (a space in form encoding); `None` for a
/// truncated or non-hex escape or bytes that are not UTF-8.
pub fn form_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A name as an error message may quote it: short and without controls.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_plus_signs_are_decoded() {
        assert_eq!(form_decode("a%2Db+c").as_deref(), Some("a-b c"));
        assert_eq!(form_decode("Krak%C3%B3w").as_deref(), Some("Kraków"));
        assert_eq!(form_decode("").as_deref(), Some(""));
    }

    #[test]
    fn truncated_non_hex_and_non_utf8_escapes_are_refused() {
        for raw in ["%", "%4", "abc%zz", "%+1", "%-1", "%FF", "%C3"] {
            assert_eq!(form_decode(raw), None, "{raw}");
        }
    }

    #[test]
    fn parameters_are_read_by_name_and_a_repeated_one_is_refused() {
        let query = Query::parse("status=active&after=a%2Db&limit=5").unwrap();
        assert_eq!(query.get("after"), Some("a-b"));
        assert_eq!(query.limit(10, 100).unwrap(), 5);
        assert_eq!(query.get("missing"), None);
        assert_eq!(Query::parse("a=1&a=2").unwrap_err().status(), 400);
        assert_eq!(Query::parse("a=%zz").unwrap_err().status(), 400);
    }

    #[test]
    fn unknown_parameters_are_refused_when_the_known_ones_are_listed() {
        assert!(Query::parse("status=x").unwrap().only(&["status"]).is_ok());
        assert_eq!(
            Query::parse("stauts=x")
                .unwrap()
                .only(&["status"])
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn a_limit_outside_its_range_is_refused() {
        let query = |raw: &str| Query::parse(raw).unwrap();
        assert_eq!(query("").limit(20, 100).unwrap(), 20);
        for raw in ["limit=0", "limit=101", "limit=-1", "limit=1.5", "limit=x"] {
            assert!(query(raw).limit(20, 100).is_err(), "{raw}");
        }
    }
}

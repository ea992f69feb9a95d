//! Query strings of the list endpoints: known names only, each at most
//! once, percent-decoded; anything else is 400 rather than silently ignored.

use omni_shared::web::Problem;

pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<Query, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !allowed.contains(&name) {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter `{}`; expected {}",
                    name.chars().take(32).collect::<String>(),
                    allowed.join(", ")
                )));
            }
            if pairs.iter().any(|(n, _)| n == name) {
                return Err(Problem::bad_request(format!("query parameter `{name}` is given twice")));
            }
            let value = percent_decode(value)
                .ok_or_else(|| Problem::bad_request(format!("`{name}` is not valid percent-encoded UTF-8")))?;
            pairs.push((name.to_owned(), value));
        }
        Ok(Query { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `limit`, from 1 to `max`, or `default` when absent.
    pub fn limit(&self, default: u32, max: u32) -> Result<u32, Problem> {
        match self.get("limit") {
            None => Ok(default),
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=max).contains(l))
                .ok_or_else(|| Problem::bad_request(format!("limit must be a whole number from 1 to {max}"))),
        }
    }
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_parameters_are_decoded_and_others_refused() {
        let q = Query::parse("status=active&after=a%2Db&limit=5", &["status", "after", "limit"]).unwrap();
        assert_eq!(q.get("after"), Some("a-b"));
        assert_eq!(q.limit(50, 200).unwrap(), 5);
        assert_eq!(Query::parse("sort=x", &["limit"]).err().unwrap().status(), 400);
        assert_eq!(Query::parse("limit=1&limit=2", &["limit"]).err().unwrap().status(), 400);
        assert_eq!(Query::parse("limit=%zz", &["limit"]).err().unwrap().status(), 400);
        for bad in ["0", "201", "-1", "x", "1.5"] {
            assert!(Query::parse(&format!("limit={bad}"), &["limit"]).unwrap().limit(50, 200).is_err(), "{bad}");
        }
    }
}

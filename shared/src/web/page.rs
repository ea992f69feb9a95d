//! Cursor pagination, the same on every list (see docs/API-STYLE.md):
//! `?limit=N&cursor=C`, and the answer's `next_cursor` (null on the last
//! page) is the `cursor` of the next one.
//!
//! Why a cursor and not an offset? A page boundary is a keyset seek on the
//! list's own sort key, so rows added while a client pages (a new order, a
//! new event) neither repeat nor vanish between pages. Why opaque? The
//! cursor is base64url of that sort key; clients pass it back untouched, so
//! a list may change its key without a client noticing.

use super::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Separates the parts of a sort key inside a cursor (a control character
/// no id, SKU or timestamp contains).
const SEPARATOR: char = '\u{1f}';

/// What a list was asked for: how many rows, and after which sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// The previous page's last sort key, in its parts.
    pub after: Option<Vec<String>>,
}

impl PageRequest {
    /// `limit` (1..=`max`, default `default`) and `cursor` from a query's
    /// values; `parts` is how many parts this list's sort key has, so a
    /// cursor from another list is refused instead of misread.
    pub fn parse(
        limit: Option<&str>,
        cursor: Option<&str>,
        default: u32,
        max: u32,
        parts: usize,
    ) -> Result<PageRequest, Problem> {
        let limit = match limit {
            None => default,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=max).contains(l))
                .ok_or_else(|| {
                    Problem::bad_request(format!("limit must be a whole number from 1 to {max}"))
                })?,
        };
        let after = cursor.map(|raw| decode(raw, parts)).transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// One part of the previous page's sort key, if there was a cursor.
    pub fn after_part(&self, index: usize) -> Option<&str> {
        self.after
            .as_ref()
            .and_then(|parts| parts.get(index))
            .map(String::as_str)
    }

    /// The rows to fetch: one more than the page, to know whether another
    /// page follows.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts `rows` (fetched with [`PageRequest::fetch`]) to the page and
    /// returns the next cursor, made from the last row's sort key.
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> Vec<String>) -> Option<String> {
        if rows.len() <= self.limit as usize {
            return None;
        }
        rows.truncate(self.limit as usize);
        rows.last().map(|last| encode(&key(last)))
    }
}

impl PageRequest {
    /// A page of a small collection read whole (a customer's few push
    /// subscriptions, a promotion's code batches): ordered by `key`, cut
    /// after the cursor's key, with the same `next_cursor` as a keyset list.
    pub fn page_of<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        rows.sort_by_key(|row| key(row));
        if let Some(after) = self.after_part(0) {
            rows.retain(|row| key(row).as_str() > after);
        }
        let next = self.finish(&mut rows, |row| vec![key(row)]);
        (rows, next)
    }
}

/// The cursor of a sort key.
pub fn encode(parts: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join(&SEPARATOR.to_string()))
}

/// The sort key in a cursor this API gave out; anything else is a 400.
pub fn decode(raw: &str, parts: usize) -> Result<Vec<String>, Problem> {
    let refused = || {
        Problem::bad_request(
            "cursor: not a cursor this list gave out (pass `next_cursor` back unchanged)",
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .map_err(|_| refused())?;
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
    let key: Vec<String> = text.split(SEPARATOR).map(str::to_owned).collect();
    if key.len() != parts || key.iter().any(String::is_empty) {
        return Err(refused());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_carries_its_sort_key_back() {
        let key = vec!["2026-12-04T10:00:00.000Z".to_owned(), "ORD-00FF".to_owned()];
        let cursor = encode(&key);
        assert!(
            cursor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(decode(&cursor, 2).unwrap(), key);
    }

    #[test]
    fn a_foreign_or_damaged_cursor_and_a_bad_limit_are_400() {
        let two = encode(&["a".to_owned(), "b".to_owned()]);
        assert_eq!(
            decode(&two, 1).unwrap_err().status(),
            400,
            "another list's cursor"
        );
        assert_eq!(decode("!!", 1).unwrap_err().status(), 400);
        assert_eq!(decode("", 1).unwrap_err().status(), 400);
        for limit in ["0", "101", "ten", "-1"] {
            assert_eq!(
                PageRequest::parse(Some(limit), None, 50, 100, 1)
                    .unwrap_err()
                    .status(),
                400,
                "{limit}"
            );
        }
        assert_eq!(
            PageRequest::parse(None, None, 50, 100, 1).unwrap().limit,
            50
        );
    }

    #[test]
    fn a_small_collection_pages_like_a_list() {
        let first = PageRequest::parse(Some("2"), None, 50, 100, 1).unwrap();
        let (rows, next) = first.page_of(vec!["c", "a", "b"], |r| (*r).to_owned());
        assert_eq!(rows, ["a", "b"]);
        let second = PageRequest::parse(Some("2"), next.as_deref(), 50, 100, 1).unwrap();
        assert_eq!(
            second.page_of(vec!["c", "a", "b"], |r| (*r).to_owned()),
            (vec!["c"], None)
        );
    }

    #[test]
    fn the_last_page_has_no_next_cursor() {
        let page = PageRequest::parse(Some("2"), None, 50, 100, 1).unwrap();
        let mut rows = vec!["a", "b", "c"];
        let next = page.finish(&mut rows, |r| vec![(*r).to_owned()]);
        assert_eq!(rows, ["a", "b"]);
        assert_eq!(decode(&next.unwrap(), 1).unwrap(), ["b"]);
        let mut last = vec!["c"];
        assert_eq!(page.finish(&mut last, |r| vec![(*r).to_owned()]), None);
    }
}

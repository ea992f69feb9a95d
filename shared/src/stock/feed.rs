//! Stock feeds from the POS and ERP: absolute counts and deltas, per store,
//! each message numbered so that a stale or replayed one never overwrites
//! newer stock, and a whole body applied all or nothing.
//!
//! The wire form (`POST /api/availability/feed`):
//!
//! ```json
//! {"feeds": [{"store_id": "WAW-01", "sequence": 42, "lines": [
//!     {"sku": "TEE-ORG-BLK-M", "on_hand": 12},
//!     {"sku": "DRS-LIN-NAV-S", "delta": -1},
//!     {"sku": "BAG-TOT-NAT", "on_hand": 4, "display_min": 2},
//!     {"sku": "SCF-WOL-RED", "delta": 3, "display_min": null}
//! ]}]}
//! ```
//!
//! A line sets `on_hand` (a count) or adds `delta` to it (a sale, a
//! delivery); `display_min` sets that shelf's own display minimum, `null`
//! returns it to the store default, and leaving it out keeps it.
//!
//! Why a sequence per store and not a timestamp per line? Tills and the ERP
//! number their exports; one number per message makes "is this newer than
//! what we applied?" one comparison, and a feed that only has timestamps
//! can send its export time in epoch milliseconds as the sequence. A
//! message with a sequence at or below the store's last applied one is
//! stale and refused (409), unless it is an exact replay of an applied
//! message (same store, sequence and content), which is acknowledged as a
//! duplicate and changes nothing, so a retried POST is harmless.
//!
//! Why does a delta that would go below zero floor at zero rather than
//! refuse the batch? The till has sold the item: our count was wrong, not
//! the sale. Refusing would block every other line of the feed; flooring
//! keeps ATP honest (zero) and the answer lists the line as `clamped` for
//! the store to recount.

use super::StockError;
use super::settings::{StockSettings, load_settings};
use super::timestamp;
use crate::catalog::{FieldError, Store};
use crate::ids::{Sku, StoreId};
use crate::quantity::{QuantityError, StockQuantity};
use crate::storage::{Sql, SqlValue, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The most lines one request may carry across all its feeds: a full
/// store count of a fashion range, within the edge's body limit.
pub const MAX_FEED_LINES: usize = 5_000;

/// The largest sequence accepted: the largest integer a JSON number holds
/// exactly (2^53 - 1), so a JavaScript exporter cannot round it.
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;

/// One store's message as it arrives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedRow {
    pub store_id: String,
    pub sequence: serde_json::Value,
    pub lines: Vec<serde_json::Value>,
}

/// One line as it arrives; numbers stay raw JSON until checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedLineRow {
    pub sku: String,
    #[serde(default)]
    pub on_hand: Option<serde_json::Value>,
    #[serde(default)]
    pub delta: Option<serde_json::Value>,
    /// Absent: keep; `null`: the store default; a number: this shelf's own.
    #[serde(default, deserialize_with = "present")]
    pub display_min: Option<serde_json::Value>,
}

/// Tells a member that is absent (`None`) from one that is `null`
/// (`Some(Null)`), which serde's `Option` alone folds together.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// A feed's sequence number: 1 to [`MAX_SEQUENCE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FeedSequence(u64);

impl FeedSequence {
    pub fn parse_json(raw: &serde_json::Value) -> Result<FeedSequence, QuantityError> {
        let n = whole_number(raw)?;
        if n < 1 {
            return Err(if n < 0 {
                QuantityError::Negative
            } else {
                QuantityError::Zero
            });
        }
        if n > i128::from(MAX_SEQUENCE) {
            return Err(QuantityError::AboveMax { max: u32::MAX });
        }
        Ok(FeedSequence(n as u64))
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FeedSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a line does to `on_hand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnHandChange {
    /// A count: `on_hand` becomes this.
    Set(StockQuantity),
    /// A movement: `on_hand` moves by this (floored at zero).
    Add(i64),
}

/// What a line does to the shelf's display minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMinChange {
    Keep,
    Set(StockQuantity),
    StoreDefault,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLine {
    sku: Sku,
    on_hand: OnHandChange,
    display_min: DisplayMinChange,
}

impl FeedLine {
    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn on_hand(&self) -> OnHandChange {
        self.on_hand
    }

    pub fn display_min(&self) -> DisplayMinChange {
        self.display_min
    }
}

/// One store's valid message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockFeed {
    store: StoreId,
    sequence: FeedSequence,
    lines: Vec<FeedLine>,
}

impl StockFeed {
    pub fn store(&self) -> &StoreId {
        &self.store
    }

    pub fn sequence(&self) -> FeedSequence {
        self.sequence
    }

    pub fn lines(&self) -> &[FeedLine] {
        &self.lines
    }

    /// A fingerprint of the message's meaning (not its bytes: key order and
    /// spacing do not matter), to tell a replay from a different message
    /// reusing a sequence.
    fn digest(&self) -> String {
        let mut text = format!("{}|{}|", self.store, self.sequence);
        for line in &self.lines {
            let on_hand = match line.on_hand {
                OnHandChange::Set(n) => format!("={n}"),
                OnHandChange::Add(d) => format!("{d:+}"),
            };
            let display = match line.display_min {
                DisplayMinChange::Keep => "keep".to_owned(),
                DisplayMinChange::Set(n) => n.to_string(),
                DisplayMinChange::StoreDefault => "default".to_owned(),
            };
            text.push_str(&format!("{}{on_hand}/{display};", line.sku));
        }
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// One problem with one feed (and line): `feed` and `line` are 0-based
/// indexes into the body, `field` the member's wire name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedError {
    pub feed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub field: String,
    pub reason: String,
    /// Set for sequence conflicts, which answer 409 rather than 422.
    #[serde(skip)]
    pub stale: bool,
}

impl FeedError {
    fn new(feed: usize, line: Option<usize>, field: &str, reason: impl fmt::Display) -> FeedError {
        FeedError {
            feed,
            line,
            field: field.to_owned(),
            reason: reason.to_string(),
            stale: false,
        }
    }
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "feeds[{}]", self.feed)?;
        if let Some(line) = self.line {
            write!(f, ".lines[{line}]")?;
        }
        write!(f, ".{}: {}", self.field, self.reason)
    }
}

/// Parses every feed of a body, reporting every problem of every line.
pub fn parse_feeds(rows: Vec<serde_json::Value>) -> Result<Vec<StockFeed>, StockError> {
    if rows.is_empty() {
        return Err(StockError::InvalidFeed(vec![FeedError::new(
            0,
            None,
            "feeds",
            "at least one feed is needed",
        )]));
    }
    let mut errors = Vec::new();
    let mut feeds = Vec::with_capacity(rows.len());
    let mut total_lines = 0;
    for (f, value) in rows.into_iter().enumerate() {
        let row: FeedRow = match serde_json::from_value(value) {
            Ok(row) => row,
            Err(e) => {
                errors.push(FeedError::new(f, None, "", e));
                continue;
            }
        };
        total_lines += row.lines.len();
        if total_lines > MAX_FEED_LINES {
            return Err(StockError::InvalidFeed(vec![FeedError::new(
                f,
                None,
                "lines",
                format!("a request holds at most {MAX_FEED_LINES} lines in all; split it"),
            )]));
        }
        let store = StoreId::parse(&row.store_id)
            .map_err(|e| errors.push(FeedError::new(f, None, "store_id", e)));
        let sequence = FeedSequence::parse_json(&row.sequence).map_err(|_| {
            errors.push(FeedError::new(
                f,
                None,
                "sequence",
                format!("must be a whole number from 1 to {MAX_SEQUENCE}"),
            ))
        });
        if row.lines.is_empty() {
            errors.push(FeedError::new(
                f,
                None,
                "lines",
                "a feed needs at least one line",
            ));
        }
        let mut lines = Vec::with_capacity(row.lines.len());
        let mut seen: HashMap<Sku, usize> = HashMap::new();
        for (l, value) in row.lines.into_iter().enumerate() {
            match parse_line(value) {
                Ok(line) => {
                    if let Some(first) = seen.insert(line.sku.clone(), l) {
                        errors.push(FeedError::new(
                            f,
                            Some(l),
                            "sku",
                            format!(
                                "{} already appears in line {first}; one line per SKU",
                                line.sku
                            ),
                        ));
                    }
                    lines.push(line);
                }
                Err(field_errors) => {
                    errors.extend(
                        field_errors
                            .into_iter()
                            .map(|e| FeedError::new(f, Some(l), &e.field, e.reason)),
                    );
                }
            }
        }
        if let (Ok(store), Ok(sequence)) = (store, sequence) {
            feeds.push(StockFeed {
                store,
                sequence,
                lines,
            });
        }
    }
    if errors.is_empty() {
        Ok(feeds)
    } else {
        Err(StockError::InvalidFeed(errors))
    }
}

fn parse_line(value: serde_json::Value) -> Result<FeedLine, Vec<FieldError>> {
    if !value.is_object() {
        return Err(vec![FieldError::new("", "a line must be a JSON object")]);
    }
    let row: FeedLineRow =
        serde_json::from_value(value).map_err(|e| vec![FieldError::new("", e)])?;
    let mut errors = Vec::new();
    let sku = Sku::parse(&row.sku)
        .map_err(|e| errors.push(FieldError::new("sku", e)))
        .ok();
    let on_hand = match (&row.on_hand, &row.delta) {
        (Some(count), None) => StockQuantity::parse_json(count)
            .map(OnHandChange::Set)
            .map_err(|e| errors.push(FieldError::new("on_hand", e)))
            .ok(),
        (None, Some(delta)) => parse_delta(delta)
            .map(OnHandChange::Add)
            .map_err(|_| {
                let max = StockQuantity::MAX;
                errors.push(FieldError::new(
                    "delta",
                    format!("must be a whole number of units from -{max} to {max}"),
                ))
            })
            .ok(),
        _ => {
            errors.push(FieldError::new(
                "",
                "a line has exactly one of on_hand (a count) or delta (a movement)",
            ));
            None
        }
    };
    let display_min = match &row.display_min {
        None => Some(DisplayMinChange::Keep),
        Some(serde_json::Value::Null) => Some(DisplayMinChange::StoreDefault),
        Some(n) => match StockQuantity::parse_json(n) {
            Ok(n) if n.get() <= super::settings::MAX_SETTING => Some(DisplayMinChange::Set(n)),
            Ok(_) => {
                errors.push(FieldError::new(
                    "display_min",
                    format!("must be at most {}", super::settings::MAX_SETTING),
                ));
                None
            }
            Err(e) => {
                errors.push(FieldError::new("display_min", e));
                None
            }
        },
    };
    match (sku, on_hand, display_min) {
        (Some(sku), Some(on_hand), Some(display_min)) if errors.is_empty() => Ok(FeedLine {
            sku,
            on_hand,
            display_min,
        }),
        _ => Err(errors),
    }
}

/// A signed whole number of units, at most [`StockQuantity::MAX`] either way.
fn parse_delta(raw: &serde_json::Value) -> Result<i64, QuantityError> {
    let n = whole_number(raw)?;
    let max = i128::from(StockQuantity::MAX);
    if n > max || n < -max {
        return Err(QuantityError::AboveMax {
            max: StockQuantity::MAX,
        });
    }
    Ok(n as i64)
}

/// A JSON number as a whole number, telling a fraction from a non-number.
fn whole_number(raw: &serde_json::Value) -> Result<i128, QuantityError> {
    let serde_json::Value::Number(n) = raw else {
        return Err(QuantityError::NotANumber);
    };
    if let Some(i) = n.as_i64() {
        return Ok(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(i128::from(u));
    }
    match n.as_f64() {
        Some(f) if !f.is_finite() => Err(QuantityError::NotANumber),
        Some(f) if f.fract() != 0.0 => Err(QuantityError::Fractional),
        // Saturating: anything this large fails the range checks after.
        Some(f) => Ok(f as i128),
        None => Err(QuantityError::NotANumber),
    }
}

/// What a feed request did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedOutcome {
    pub applied: Vec<AppliedFeed>,
    /// Exact replays of messages already applied: acknowledged, not applied.
    pub duplicates: Vec<AppliedFeed>,
    /// Deltas that would have taken `on_hand` below zero, floored there.
    pub clamped: Vec<ClampedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedFeed {
    pub store_id: StoreId,
    pub sequence: FeedSequence,
    pub lines: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClampedLine {
    pub store_id: StoreId,
    pub sku: Sku,
    pub on_hand_before: i64,
    pub delta: i64,
}

/// Applies every feed in one transaction, in body order (two messages of
/// one store in a body must come in sequence order). Any invalid feed (an
/// unknown store or SKU, a stale sequence) rolls the whole body back:
/// [`StockError::StaleFeed`] when sequence conflicts are the only problems,
/// else [`StockError::InvalidFeed`]; both list every problem.
pub fn apply_feeds(
    sql: &dyn Sql,
    feeds: &[StockFeed],
    applied_by: &str,
    now: DateTime<Utc>,
) -> Result<FeedOutcome, StockError> {
    let at = timestamp(now);
    in_transaction(sql, |tx| {
        let mut outcome = FeedOutcome::default();
        let mut errors = Vec::new();
        let mut stores: HashMap<StoreId, Option<Store>> = HashMap::new();
        for (f, feed) in feeds.iter().enumerate() {
            let store = match stores.get(&feed.store) {
                Some(known) => known.clone(),
                None => {
                    let found = match super::location::load_store(tx, &feed.store) {
                        Ok(store) => Some(store),
                        Err(StockError::UnknownStore(_)) => None,
                        Err(other) => return Err(other),
                    };
                    stores.insert(feed.store.clone(), found.clone());
                    found
                }
            };
            let Some(store) = store else {
                errors.push(FeedError::new(
                    f,
                    None,
                    "store_id",
                    format!("no store or warehouse has id {}", feed.store),
                ));
                continue;
            };
            let digest = feed.digest();
            let seen = AppliedFeed {
                store_id: feed.store.clone(),
                sequence: feed.sequence,
                lines: feed.lines.len(),
            };
            match sequence_check(tx, feed, &digest)? {
                SequenceCheck::Next => {}
                SequenceCheck::Replay => {
                    outcome.duplicates.push(seen);
                    continue;
                }
                SequenceCheck::Stale(reason) => {
                    errors.push(FeedError {
                        stale: true,
                        ..FeedError::new(f, None, "sequence", reason)
                    });
                    continue;
                }
            }
            let unknown = unknown_skus(tx, feed)?;
            if !unknown.is_empty() {
                for (l, line) in feed
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(_, line)| unknown.contains(&line.sku))
                {
                    errors.push(FeedError::new(
                        f,
                        Some(l),
                        "sku",
                        format!("the catalog has no item with SKU {}", line.sku),
                    ));
                }
                continue;
            }
            let (settings, _) = load_settings(tx, &store)?;
            for line in &feed.lines {
                if let Some(clamped) = apply_line(tx, &feed.store, line, settings, &at)? {
                    outcome.clamped.push(clamped);
                }
            }
            tx.execute(
                "INSERT INTO stock_feeds (store, sequence, digest, lines, applied_by, applied_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    feed.store.as_str().into(),
                    SqlValue::Integer(feed.sequence.0 as i64),
                    digest.into(),
                    SqlValue::Integer(feed.lines.len() as i64),
                    applied_by.into(),
                    at.as_str().into(),
                ],
            )?;
            outcome.applied.push(seen);
        }
        if errors.is_empty() {
            Ok(outcome)
        } else if errors.iter().all(|e| e.stale) {
            Err(StockError::StaleFeed(errors))
        } else {
            Err(StockError::InvalidFeed(errors))
        }
    })
}

enum SequenceCheck {
    Next,
    Replay,
    Stale(String),
}

fn sequence_check(
    tx: &dyn Sql,
    feed: &StockFeed,
    digest: &str,
) -> Result<SequenceCheck, StorageError> {
    let rows = tx.execute(
        "SELECT MAX(sequence) AS last,
                (SELECT digest FROM stock_feeds WHERE store = ?1 AND sequence = ?2) AS same
         FROM stock_feeds WHERE store = ?1",
        &[
            feed.store.as_str().into(),
            SqlValue::Integer(feed.sequence.0 as i64),
        ],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StorageError::Decode("MAX() returned no row".into()))?;
    if let Some(same) = row.opt_text("same")? {
        return Ok(if same == digest {
            SequenceCheck::Replay
        } else {
            SequenceCheck::Stale(format!(
                "sequence {} of {} was already applied with different content; send a new sequence",
                feed.sequence, feed.store
            ))
        });
    }
    match row.opt_integer("last")? {
        Some(last) if last >= feed.sequence.0 as i64 => Ok(SequenceCheck::Stale(format!(
            "sequence {} is not after {}, the last applied for {}: this feed is stale and was not applied",
            feed.sequence, last, feed.store
        ))),
        _ => Ok(SequenceCheck::Next),
    }
}

fn unknown_skus(tx: &dyn Sql, feed: &StockFeed) -> Result<HashSet<Sku>, StorageError> {
    let mut unknown: HashSet<Sku> = feed.lines.iter().map(|l| l.sku.clone()).collect();
    for chunk in feed.lines.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let params: Vec<SqlValue> = chunk
            .iter()
            .map(|l| SqlValue::from(l.sku.as_str()))
            .collect();
        let rows = tx.execute(
            &format!(
                "SELECT sku FROM catalog_items WHERE sku IN ({})",
                placeholders.join(", ")
            ),
            &params,
        )?;
        for row in rows.iter() {
            if let Ok(sku) = Sku::parse(row.text("sku")?) {
                unknown.remove(&sku);
            }
        }
    }
    Ok(unknown)
}

/// One line, inside the feed's transaction (the read of the old count and
/// the write of the new one cannot interleave with another writer).
fn apply_line(
    tx: &dyn Sql,
    store: &StoreId,
    line: &FeedLine,
    settings: StockSettings,
    at: &str,
) -> Result<Option<ClampedLine>, StorageError> {
    let current = tx.execute(
        "SELECT on_hand FROM stock WHERE store = ?1 AND sku = ?2",
        &[store.as_str().into(), line.sku.as_str().into()],
    )?;
    let before = current
        .first()
        .map(|r| r.integer("on_hand"))
        .transpose()?
        .unwrap_or(0);
    let (on_hand, clamped) = match line.on_hand {
        OnHandChange::Set(n) => (i64::from(n.get()), None),
        OnHandChange::Add(delta) => {
            let wanted = before + delta;
            let clamped = (wanted < 0).then(|| ClampedLine {
                store_id: store.clone(),
                sku: line.sku.clone(),
                on_hand_before: before,
                delta,
            });
            (wanted.clamp(0, i64::from(StockQuantity::MAX)), clamped)
        }
    };
    let default = i64::from(settings.display_min().get());
    // (display_min for a new row, override for a new row, SQL for an existing row)
    let (display_min, override_value, on_conflict) = match line.display_min {
        DisplayMinChange::Keep => (default, SqlValue::Null, ""),
        DisplayMinChange::Set(n) => (
            i64::from(n.get()),
            SqlValue::Integer(i64::from(n.get())),
            ", display_min = excluded.display_min, display_min_override = excluded.display_min_override",
        ),
        DisplayMinChange::StoreDefault => (
            default,
            SqlValue::Null,
            ", display_min = excluded.display_min, display_min_override = NULL",
        ),
    };
    tx.execute(
        &format!(
            "INSERT INTO stock (store, sku, on_hand, reserved, display_min, display_min_override, updated_at)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)
             ON CONFLICT (store, sku) DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at{on_conflict}"
        ),
        &[
            store.as_str().into(),
            line.sku.as_str().into(),
            on_hand.into(),
            display_min.into(),
            override_value,
            at.into(),
        ],
    )?;
    Ok(clamped)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::stock::shelf::level_at;
    use crate::stock::test_support::db;
    use serde_json::json;

    fn feeds(value: serde_json::Value) -> Result<Vec<StockFeed>, StockError> {
        parse_feeds(value.as_array().unwrap().clone())
    }

    fn errors(result: Result<Vec<StockFeed>, StockError>) -> Vec<String> {
        match result {
            Err(StockError::InvalidFeed(errors)) => {
                errors.iter().map(ToString::to_string).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    fn apply(sql: &dyn Sql, value: serde_json::Value) -> Result<FeedOutcome, StockError> {
        apply_feeds(sql, &feeds(value)?, "ops:erp", Utc::now())
    }

    fn shelf(sql: &dyn Sql, store: &str, sku: &str) -> (u32, u32) {
        let level = level_at(
            sql,
            &StoreId::parse(store).unwrap(),
            &Sku::parse(sku).unwrap(),
            Utc::now(),
        )
        .unwrap();
        (level.on_hand().get(), level.display_min().get())
    }

    #[test]
    fn counts_and_deltas_parse_and_every_bad_line_is_named() {
        let ok = feeds(json!([{"store_id": "s1", "sequence": 1, "lines": [
            {"sku": "a", "on_hand": 5},
            {"sku": "b", "delta": -2, "display_min": null},
            {"sku": "c", "delta": 3.0, "display_min": 2}
        ]}]))
        .unwrap();
        assert_eq!(ok[0].store().as_str(), "S1");
        let changes: Vec<_> = ok[0]
            .lines()
            .iter()
            .map(|l| (l.on_hand(), l.display_min()))
            .collect();
        assert_eq!(
            changes,
            [
                (
                    OnHandChange::Set(StockQuantity::parse(5).unwrap()),
                    DisplayMinChange::Keep
                ),
                (OnHandChange::Add(-2), DisplayMinChange::StoreDefault),
                (
                    OnHandChange::Add(3),
                    DisplayMinChange::Set(StockQuantity::parse(2).unwrap())
                ),
            ]
        );
        let bad = errors(feeds(
            json!([{"store_id": "s 1", "sequence": 0.5, "lines": [
                {"sku": "a", "on_hand": -1},
                {"sku": "b", "on_hand": 1.5},
                {"sku": "c", "on_hand": 1, "delta": 1},
                {"sku": "d"},
                {"sku": "e", "delta": "1"},
                {"sku": "f", "on_hand": 1, "colour": "red"},
                {"sku": "h", "on_hand": 2},
                {"sku": "h", "on_hand": 3},
                {"sku": "g", "on_hand": 1, "display_min": -1}
            ]}]),
        ));
        assert_eq!(bad.len(), 10, "{bad:#?}");
        assert!(bad[0].starts_with("feeds[0].store_id"), "{bad:#?}");
        assert!(
            bad[1].starts_with("feeds[0].sequence") && bad[1].contains("whole"),
            "{bad:#?}"
        );
        assert!(
            bad[2].contains("lines[0].on_hand") && bad[2].contains("negative"),
            "{bad:#?}"
        );
        assert!(
            bad[3].contains("lines[1].on_hand") && bad[3].contains("whole"),
            "{bad:#?}"
        );
        assert!(
            bad.iter()
                .any(|e| e.contains("lines[5]") && e.contains("colour")),
            "{bad:#?}"
        );
        assert!(
            bad.iter()
                .any(|e| e.contains("lines[7].sku") && e.contains("line 6")),
            "{bad:#?}"
        );
    }

    #[test]
    fn sequences_are_positive_json_safe_integers() {
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("1"),
            json!(9_007_199_254_740_992_u64),
        ] {
            assert!(FeedSequence::parse_json(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            FeedSequence::parse_json(&json!(9_007_199_254_740_991_u64))
                .unwrap()
                .get(),
            MAX_SEQUENCE
        );
    }

    #[test]
    fn a_feed_sets_counts_and_moves_them_by_deltas() {
        let db = db();
        let sql = db.connect();
        let outcome = apply(&sql, json!([
            {"store_id": "S1", "sequence": 1, "lines": [{"sku": "A", "on_hand": 5}, {"sku": "B", "on_hand": 2, "display_min": 0}]},
            {"store_id": "WH", "sequence": 7, "lines": [{"sku": "A", "on_hand": 100}]},
            {"store_id": "S1", "sequence": 2, "lines": [{"sku": "A", "delta": -2}, {"sku": "B", "delta": -5}]}
        ]))
        .unwrap();
        assert_eq!(outcome.applied.len(), 3);
        assert_eq!(shelf(&sql, "S1", "A"), (3, 1));
        assert_eq!(
            shelf(&sql, "S1", "B"),
            (0, 0),
            "floored at zero, its own display minimum kept"
        );
        assert_eq!(
            shelf(&sql, "WH", "A"),
            (100, 0),
            "a warehouse keeps nothing on display"
        );
        assert_eq!(outcome.clamped.len(), 1);
        assert_eq!(
            (outcome.clamped[0].on_hand_before, outcome.clamped[0].delta),
            (2, -5)
        );
        apply(
            &sql,
            json!([{"store_id": "S1", "sequence": 3, "lines": [{"sku": "B", "on_hand": 4, "display_min": null}]}]),
        )
        .unwrap();
        assert_eq!(shelf(&sql, "S1", "B"), (4, 1), "back to the store default");
    }

    #[test]
    fn a_stale_feed_never_overwrites_newer_stock() {
        let db = db();
        let sql = db.connect();
        apply(
            &sql,
            json!([{"store_id": "S1", "sequence": 10, "lines": [{"sku": "A", "on_hand": 5}]}]),
        )
        .unwrap();
        let stale = apply(
            &sql,
            json!([{"store_id": "S1", "sequence": 9, "lines": [{"sku": "A", "on_hand": 50}]}]),
        );
        let Err(StockError::StaleFeed(errors)) = stale else {
            panic!("{stale:?}")
        };
        assert!(
            errors[0].reason.contains("not after 10"),
            "{}",
            errors[0].reason
        );
        let reused = apply(
            &sql,
            json!([{"store_id": "S1", "sequence": 10, "lines": [{"sku": "A", "on_hand": 6}]}]),
        );
        assert!(
            matches!(reused, Err(StockError::StaleFeed(_))),
            "{reused:?}"
        );
        assert_eq!(shelf(&sql, "S1", "A"), (5, 1));
    }

    #[test]
    fn an_exact_replay_is_acknowledged_and_changes_nothing() {
        let db = db();
        let sql = db.connect();
        let body = json!([{"store_id": "S1", "sequence": 4, "lines": [{"sku": "A", "delta": 2}]}]);
        apply(&sql, body.clone()).unwrap();
        let replay = apply(&sql, body).unwrap();
        assert_eq!(replay.applied.len(), 0);
        assert_eq!(replay.duplicates.len(), 1);
        assert_eq!(shelf(&sql, "S1", "A"), (2, 1), "the delta was applied once");
    }

    #[test]
    fn one_bad_feed_rolls_back_the_whole_body_with_row_level_reasons() {
        let db = db();
        let sql = db.connect();
        apply(
            &sql,
            json!([{"store_id": "S2", "sequence": 5, "lines": [{"sku": "A", "on_hand": 1}]}]),
        )
        .unwrap();
        let result = apply(
            &sql,
            json!([
                {"store_id": "S1", "sequence": 1, "lines": [{"sku": "A", "on_hand": 5}]},
                {"store_id": "NOPE", "sequence": 1, "lines": [{"sku": "A", "on_hand": 5}]},
                {"store_id": "S1", "sequence": 2, "lines": [{"sku": "A", "on_hand": 1}, {"sku": "X9", "on_hand": 1}]},
                {"store_id": "S2", "sequence": 5, "lines": [{"sku": "A", "on_hand": 9}]}
            ]),
        );
        let Err(StockError::InvalidFeed(errors)) = result else {
            panic!("{result:?}")
        };
        let located: Vec<(usize, Option<usize>, &str)> = errors
            .iter()
            .map(|e| (e.feed, e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            located,
            [
                (1, None, "store_id"),
                (2, Some(1), "sku"),
                (3, None, "sequence")
            ]
        );
        assert_eq!(
            shelf(&sql, "S1", "A"),
            (0, 0),
            "the valid first feed was rolled back"
        );
        let applied = sql
            .execute("SELECT count(*) AS n FROM stock_feeds", &[])
            .unwrap();
        assert_eq!(applied.first().unwrap().integer("n").unwrap(), 1);
    }

    #[test]
    fn a_body_may_not_exceed_the_line_limit() {
        let lines: Vec<_> = (0..MAX_FEED_LINES + 1)
            .map(|i| json!({"sku": format!("S{i}"), "on_hand": 1}))
            .collect();
        let result = feeds(json!([{"store_id": "S1", "sequence": 1, "lines": lines}]));
        assert!(
            matches!(result, Err(StockError::InvalidFeed(ref e)) if e[0].reason.contains("at most"))
        );
    }
}

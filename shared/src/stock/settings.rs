//! Per-location stock settings: how many units stay on display by default
//! and where "low stock" starts.
//!
//! Why keep the default display minimum in every `stock` row too? The
//! reservation guard must be one conditional UPDATE on that row; a join to
//! the settings there would put a second table in the hottest statement.
//! So a row keeps its effective `display_min` (its own override, else the
//! store default), and changing the default rewrites the rows without an
//! override in the same transaction.

use super::StockError;
use super::level::DEFAULT_LOW_STOCK_THRESHOLD;
use crate::catalog::{FieldError, Store, StoreKind};
use crate::quantity::StockQuantity;
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A store keeps one unit of each SKU on the shelf unless told otherwise,
/// so a shopper who comes to try it on finds it; a warehouse has no shelf.
const STORE_DISPLAY_MIN: u32 = 1;

/// No store keeps more than this many units of one SKU on display, and a
/// threshold beyond it would call every shelf "low".
pub const MAX_SETTING: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StockSettings {
    display_min: StockQuantity,
    low_stock_threshold: StockQuantity,
}

/// The wire form of `PUT /api/stores/{id}/stock-settings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockSettingsRow {
    pub display_min: serde_json::Value,
    pub low_stock_threshold: serde_json::Value,
}

impl StockSettings {
    pub fn defaults_for(kind: StoreKind) -> StockSettings {
        let display = match kind {
            StoreKind::Store => STORE_DISPLAY_MIN,
            StoreKind::Warehouse => 0,
        };
        StockSettings {
            display_min: capped(display),
            low_stock_threshold: capped(DEFAULT_LOW_STOCK_THRESHOLD),
        }
    }

    pub fn display_min(&self) -> StockQuantity {
        self.display_min
    }

    pub fn low_stock_threshold(&self) -> StockQuantity {
        self.low_stock_threshold
    }
}

impl TryFrom<StockSettingsRow> for StockSettings {
    type Error = Vec<FieldError>;

    fn try_from(row: StockSettingsRow) -> Result<Self, Self::Error> {
        let field = |name: &str, raw: &serde_json::Value| {
            let n = StockQuantity::parse_json(raw).map_err(|e| FieldError::new(name, e))?;
            if n.get() > MAX_SETTING {
                return Err(FieldError::new(
                    name,
                    format!("must be at most {MAX_SETTING}"),
                ));
            }
            Ok(n)
        };
        match (
            field("display_min", &row.display_min),
            field("low_stock_threshold", &row.low_stock_threshold),
        ) {
            (Ok(display_min), Ok(low_stock_threshold)) => Ok(StockSettings {
                display_min,
                low_stock_threshold,
            }),
            (a, b) => Err(a.err().into_iter().chain(b.err()).collect()),
        }
    }
}

fn capped(n: u32) -> StockQuantity {
    StockQuantity::parse(i64::from(n.min(MAX_SETTING))).unwrap_or(StockQuantity::ZERO)
}

/// The location's settings and their version (0 while only the defaults
/// apply, which is what an `If-Match` for a never-edited resource names).
pub fn load_settings(sql: &dyn Sql, store: &Store) -> Result<(StockSettings, i64), StorageError> {
    let rows = sql.execute(
        "SELECT display_min, low_stock_threshold, version FROM stock_settings WHERE store = ?1",
        &[store.id().as_str().into()],
    )?;
    match rows.first() {
        None => Ok((StockSettings::defaults_for(store.kind()), 0)),
        Some(row) => Ok((
            StockSettings {
                display_min: capped(
                    row.integer("display_min")?.clamp(0, i64::from(MAX_SETTING)) as u32
                ),
                low_stock_threshold: capped(
                    row.integer("low_stock_threshold")?
                        .clamp(0, i64::from(MAX_SETTING)) as u32,
                ),
            },
            row.integer("version")?,
        )),
    }
}

/// What [`save_settings`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSaved {
    /// Stored as this new version.
    Saved(i64),
    /// `expected_version` was stale; this is the current one. Nothing changed.
    Stale(i64),
}

/// Replaces the settings if they are still at `expected_version` (`None`:
/// whatever they are) and applies the new display default to every shelf
/// of the location without its own override, all in one transaction.
pub fn save_settings(
    sql: &dyn Sql,
    store: &Store,
    settings: StockSettings,
    expected_version: impl Fn(i64) -> bool,
    now: DateTime<Utc>,
) -> Result<SettingsSaved, StockError> {
    let id = store.id().as_str();
    let now = super::timestamp(now);
    in_transaction(sql, |tx| {
        let (_, current) = load_settings(tx, store)?;
        if !expected_version(current) {
            return Ok(SettingsSaved::Stale(current));
        }
        let next = current + 1;
        tx.execute(
            "INSERT INTO stock_settings (store, display_min, low_stock_threshold, version, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (store) DO UPDATE SET display_min = excluded.display_min,
                 low_stock_threshold = excluded.low_stock_threshold, version = excluded.version,
                 updated_at = excluded.updated_at",
            &[
                id.into(),
                settings.display_min.get().into(),
                settings.low_stock_threshold.get().into(),
                next.into(),
                now.as_str().into(),
            ],
        )?;
        tx.execute(
            "UPDATE stock SET display_min = ?2, updated_at = ?3
             WHERE store = ?1 AND display_min_override IS NULL AND display_min <> ?2",
            &[
                id.into(),
                settings.display_min.get().into(),
                now.as_str().into(),
            ],
        )?;
        Ok(SettingsSaved::Saved(next))
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::ids::StoreId;
    use crate::stock::load_store;
    use crate::stock::test_support::db;
    use serde_json::json;

    fn row(value: serde_json::Value) -> Result<StockSettings, Vec<FieldError>> {
        StockSettings::try_from(serde_json::from_value::<StockSettingsRow>(value).unwrap())
    }

    #[test]
    fn stores_keep_one_unit_on_display_and_warehouses_none_by_default() {
        assert_eq!(
            StockSettings::defaults_for(StoreKind::Store)
                .display_min()
                .get(),
            1
        );
        assert_eq!(
            StockSettings::defaults_for(StoreKind::Warehouse)
                .display_min()
                .get(),
            0
        );
        assert_eq!(
            StockSettings::defaults_for(StoreKind::Store)
                .low_stock_threshold()
                .get(),
            3
        );
    }

    #[test]
    fn settings_must_be_whole_non_negative_and_bounded() {
        assert!(row(json!({"display_min": 2, "low_stock_threshold": 0})).is_ok());
        let errors = row(json!({"display_min": -1, "low_stock_threshold": 1.5})).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["display_min", "low_stock_threshold"]
        );
        assert!(row(json!({"display_min": 10_001, "low_stock_threshold": 1})).is_err());
    }

    #[test]
    fn a_new_display_default_applies_to_shelves_without_their_own() {
        let db = db();
        let sql = db.connect();
        let store = load_store(&sql, &StoreId::parse("S1").unwrap()).unwrap();
        sql.execute(
            "INSERT INTO stock (store, sku, on_hand, reserved, display_min, display_min_override, updated_at)
             VALUES ('S1', 'A', 5, 0, 1, NULL, 'x'), ('S1', 'B', 5, 0, 0, 0, 'x')",
            &[],
        )
        .unwrap();
        let two = row(json!({"display_min": 2, "low_stock_threshold": 4})).unwrap();
        let now = chrono::Utc::now();
        assert_eq!(
            save_settings(&sql, &store, two, |v| v == 0, now).unwrap(),
            SettingsSaved::Saved(1)
        );
        assert_eq!(
            save_settings(&sql, &store, two, |v| v == 0, now).unwrap(),
            SettingsSaved::Stale(1)
        );
        let rows = sql
            .execute("SELECT sku, display_min FROM stock ORDER BY sku", &[])
            .unwrap();
        let mins: Vec<i64> = rows
            .iter()
            .map(|r| r.integer("display_min").unwrap())
            .collect();
        assert_eq!(mins, [2, 0], "the override of B stays");
        assert_eq!(load_settings(&sql, &store).unwrap(), (two, 1));
    }
}

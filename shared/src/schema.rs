//! The app's database schema: every area's migration steps, in the order
//! they shipped. The one registry of them, above every area: each area owns
//! its DDL (`cart::SCHEMA`, `stock::RESERVATION_REQUESTS`, ...) and is named
//! here, and the storage layer applies the steps it is handed
//! ([`crate::storage::migrations`]) without knowing any area.
//!
//! Rules for adding a migration: the area writes its step next to its rules,
//! then appends it to [`STEPS`]; never edit or reorder a shipped step, and
//! keep each step valid on a database that already holds data.

use crate::storage::migrations::{self, Step};
use crate::storage::{Sql, StorageError};

/// One step per version; index + 1 is the version it produces.
pub const STEPS: &[Step] = &[
    Step::portable(FOUNDATION),
    Step::portable(crate::cart::SCHEMA),
    Step::portable(crate::stock::SCHEMA),
    Step::portable(crate::promotions::SCHEMA),
    Step::portable(crate::orders::SCHEMA),
    Step::portable(crate::returns::SCHEMA),
    Step::per_dialect(
        crate::orders::ENDLESS_AISLE,
        crate::orders::ENDLESS_AISLE_POSTGRES,
    ),
    Step::portable(crate::promotions::CHECKOUT_HOLDS),
    Step::with_postgres_triggers(
        crate::cart::GUARDED_LINE_WRITES,
        crate::cart::GUARDED_LINE_WRITES_POSTGRES,
    ),
    Step::with_postgres_triggers(
        crate::stock::RESERVATION_REQUESTS,
        crate::stock::RESERVATION_REQUESTS_POSTGRES,
    ),
    Step::with_postgres_triggers(crate::orders::MOVES, crate::orders::MOVES_POSTGRES),
    Step::portable(crate::insights::INDEXES),
];

/// Brings a database to the app's latest schema (a no-op when it is).
pub fn apply(sql: &dyn Sql) -> Result<(), StorageError> {
    migrations::apply(sql, STEPS)
}

/// The version of a database with every step applied.
pub fn latest_version() -> i64 {
    migrations::latest_version(STEPS)
}

/// The first step, shipped before areas owned their DDL: HTTP conventions
/// (idempotency) and catalog master data.
const FOUNDATION: &str = "CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER,
        response_headers TEXT,
        response_body BLOB,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE catalog_items (
        sku TEXT PRIMARY KEY,
        product_id TEXT NOT NULL,
        category TEXT NOT NULL,
        assortment TEXT NOT NULL DEFAULT 'both'
            CHECK (assortment IN ('both', 'online_only', 'store_only')),
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX catalog_items_by_product ON catalog_items (product_id);
    CREATE INDEX catalog_items_by_category ON catalog_items (category);
    CREATE TABLE prices (
        sku TEXT NOT NULL REFERENCES catalog_items (sku),
        currency TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (sku, currency)
    );
    CREATE TABLE stores (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('store', 'warehouse')),
        lat REAL NOT NULL,
        lon REAL NOT NULL,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::dialect::Dialect;
    use crate::storage::migrations::{current_version, last_word, starts_with_words};
    use crate::storage::native::SqliteDb;

    #[test]
    fn a_fresh_database_reaches_the_latest_version_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("m.db")).connect().unwrap();
        assert_eq!(current_version(&sql).unwrap(), 0);
        apply(&sql).unwrap();
        assert_eq!(current_version(&sql).unwrap(), latest_version());
        let mode = sql.execute("PRAGMA journal_mode", &[]).unwrap();
        assert_eq!(mode.first().unwrap().text("journal_mode").unwrap(), "wal");
        apply(&sql).unwrap();
        assert_eq!(
            current_version(&sql).unwrap(),
            latest_version(),
            "applied twice is applied once"
        );
    }

    #[test]
    fn every_step_splits_into_executable_statements() {
        for step in STEPS {
            for statement in step
                .statements(Dialect::Sqlite)
                .into_iter()
                .chain(step.statements(Dialect::Postgres))
            {
                let is_trigger = starts_with_words(statement, &["CREATE", "TRIGGER"])
                    && !statement.contains("EXECUTE FUNCTION");
                let has_body = statement.contains("$$");
                assert!(
                    is_trigger || has_body || !statement.contains(';'),
                    "{statement}"
                );
                assert!(
                    !is_trigger || last_word(statement).eq_ignore_ascii_case("END"),
                    "{statement}"
                );
            }
        }
    }
}

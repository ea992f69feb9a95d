//! Versioned schema migrations of the one shared SQLite database.
//!
//! Why do the components migrate, not a deploy step? `spin up` and managed
//! edge platforms give no hook to run one, and the app must work on a fresh
//! database with no extra flags as well as on an existing one after an
//! upgrade. So every component calls [`apply`] before its first statement:
//! a single `user_version` read when the schema is current, and an
//! exclusive, re-checked upgrade when it is not, so two components racing on
//! a fresh database apply each step exactly once.
//!
//! Rules for adding a migration: append a step to [`MIGRATIONS`] (each area
//! keeps its DDL in its own module and names it here), never edit or reorder
//! a shipped one, and keep each step valid on a database that already holds
//! data.

use super::{Sql, StorageError};

/// The schema, one step per version; index + 1 is the version it produces.
pub const MIGRATIONS: &[&str] = &[
    FOUNDATION,
    crate::cart::SCHEMA,
    crate::stock::SCHEMA,
    crate::promotions::SCHEMA,
    crate::orders::SCHEMA,
    crate::returns::SCHEMA,
    crate::orders::ENDLESS_AISLE,
    crate::promotions::CHECKOUT_HOLDS,
    crate::cart::GUARDED_LINE_WRITES,
    crate::stock::RESERVATION_REQUESTS,
    crate::orders::MOVES,
];

/// HTTP conventions (idempotency) and catalog master data.
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

/// The version a database has once every migration is applied.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to [`latest_version`]; a no-op when it already is.
///
/// Why retry on `Busy`? SQLite answers a journal-mode switch or a lock
/// upgrade that would deadlock with `SQLITE_BUSY` at once, without waiting
/// out the busy timeout; that happens only while several first requests
/// race to migrate a fresh database, and a short pause settles it.
pub fn apply(sql: &dyn Sql) -> Result<(), StorageError> {
    const ATTEMPTS: u32 = 50;
    let mut attempt = 1;
    loop {
        match apply_once(sql) {
            Err(StorageError::Busy) if attempt < ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(
                    10 * u64::from(attempt.min(10)),
                ));
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

fn apply_once(sql: &dyn Sql) -> Result<(), StorageError> {
    if current_version(sql)? >= latest_version() {
        return Ok(());
    }
    // WAL lets readers proceed while one writer commits; the setting is
    // stored in the file, so it is set once here rather than per request.
    // It cannot change inside a transaction, hence before BEGIN.
    sql.execute("PRAGMA journal_mode=WAL", &[])?;
    super::in_transaction(sql, |tx| {
        // Re-read under the write lock: another component may have migrated
        // between the first read and BEGIN IMMEDIATE.
        let from = current_version(tx)?;
        for (index, step) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
            for statement in statements(step) {
                tx.execute(statement, &[])?;
            }
            tx.execute(&format!("PRAGMA user_version = {}", index + 1), &[])?;
        }
        Ok(())
    })
}

/// The schema version, read as a `SELECT` so that a request that only reads
/// is recognised as such by the storage layer (see `storage::spin`).
pub fn current_version(sql: &dyn Sql) -> Result<i64, StorageError> {
    let rows = sql.execute("SELECT user_version FROM pragma_user_version", &[])?;
    rows.first()
        .ok_or_else(|| StorageError::Decode("PRAGMA user_version returned no row".into()))?
        .integer("user_version")
}

/// Splits a migration into statements, since the SQL port (like Spin's)
/// executes one statement per call. Migrations hold no `;` inside literals,
/// which keeps this split honest; a `CREATE TRIGGER` keeps the `;`s of its
/// body up to its closing `END`.
fn statements(step: &str) -> impl Iterator<Item = &str> {
    let mut statements = Vec::new();
    let mut start = 0;
    let mut in_trigger = false;
    for (at, _) in step.match_indices(';') {
        let piece = step[start..at].trim();
        if !in_trigger && starts_with_words(piece, &["CREATE", "TRIGGER"]) {
            in_trigger = true;
        }
        let trigger_done = in_trigger && last_word(piece).eq_ignore_ascii_case("END");
        if !in_trigger || trigger_done {
            statements.push(piece);
            start = at + 1;
            in_trigger = false;
        }
    }
    statements.push(step[start..].trim());
    statements.into_iter().filter(|s| !s.is_empty())
}

fn starts_with_words(text: &str, words: &[&str]) -> bool {
    let mut found = text.split_whitespace();
    words
        .iter()
        .all(|w| found.next().is_some_and(|f| f.eq_ignore_ascii_case(w)))
}

fn last_word(text: &str) -> &str {
    text.split_whitespace().last().unwrap_or_default()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::native::SqliteDb;

    #[test]
    fn a_fresh_database_reaches_the_latest_version() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("m.db")).connect().unwrap();
        assert_eq!(current_version(&sql).unwrap(), 0);
        apply(&sql).unwrap();
        assert_eq!(current_version(&sql).unwrap(), latest_version());
        let mode = sql.execute("PRAGMA journal_mode", &[]).unwrap();
        assert_eq!(mode.first().unwrap().text("journal_mode").unwrap(), "wal");
    }

    #[test]
    fn migrations_applied_twice_are_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("m.db"));
        let sql = db.connect().unwrap();
        apply(&sql).unwrap();
        sql.execute(
            "INSERT INTO stores (id, kind, lat, lon, data, updated_at) VALUES ('S1', 'store', 0, 0, '{}', 'now')",
            &[],
        )
        .unwrap();
        apply(&sql).unwrap();
        apply(&db.connect().unwrap()).unwrap();
        let rows = sql
            .execute("SELECT count(*) AS n FROM stores", &[])
            .unwrap();
        assert_eq!(rows.first().unwrap().integer("n").unwrap(), 1);
        assert_eq!(current_version(&sql).unwrap(), latest_version());
    }

    #[test]
    fn concurrent_first_uses_migrate_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("m.db"));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || apply(&db.connect().unwrap()))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
        assert_eq!(
            current_version(&db.connect().unwrap()).unwrap(),
            latest_version()
        );
    }

    #[test]
    fn every_step_splits_into_executable_statements() {
        for step in MIGRATIONS {
            for statement in statements(step) {
                let is_trigger = starts_with_words(statement, &["CREATE", "TRIGGER"]);
                assert!(is_trigger || !statement.contains(';'), "{statement}");
                assert!(
                    !is_trigger || last_word(statement).eq_ignore_ascii_case("END"),
                    "{statement}"
                );
            }
        }
    }

    #[test]
    fn a_trigger_body_stays_one_statement() {
        let step = "CREATE TABLE a (x); CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM a; END; CREATE INDEX i ON a (x)";
        let split: Vec<&str> = statements(step).collect();
        assert_eq!(split.len(), 3, "{split:?}");
        assert_eq!(
            split[1],
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM a; END"
        );
    }
}

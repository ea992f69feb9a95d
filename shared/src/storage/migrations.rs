//! Versioned schema migrations of the one shared database.
//!
//! Why do the components migrate, not a deploy step? `spin up` and managed
//! edge platforms give no hook to run one, and the app must work on a fresh
//! database with no extra flags as well as on an existing one after an
//! upgrade. So every component calls [`apply`] before its first statement:
//! a single version read when the schema is current, and an exclusive,
//! re-checked upgrade when it is not, so two components (or, on PostgreSQL,
//! two nodes) racing on a fresh database apply each step exactly once.
//!
//! On SQLite the version is `PRAGMA user_version` and the upgrade holds the
//! write lock (`BEGIN IMMEDIATE`). On PostgreSQL it is the one row of
//! `omni_schema_version` and the upgrade holds a transaction-scoped
//! advisory lock ([`dialect::MIGRATION_LOCK`]); PostgreSQL's DDL is
//! transactional, so a node killed mid-upgrade leaves no half schema.
//!
//! This module knows how to apply steps, not which: the app's steps are
//! listed by [`crate::schema`], above every area, and handed down here, so
//! the storage layer imports no area (each area owns its DDL). Rules for
//! adding a migration are in [`crate::schema`].

use super::dialect::{self, Dialect};
use super::{Sql, StorageError};

/// One migration step, written in SQLite's dialect and translated for
/// PostgreSQL by [`dialect::to_postgres`]; where SQL cannot be translated
/// word by word (a trigger body, a table rebuild), the step carries the
/// PostgreSQL text of that part.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub sqlite: &'static str,
    pub postgres: OnPostgres,
}

/// What a [`Step`] runs on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub enum OnPostgres {
    /// The SQLite text, translated.
    Same,
    /// The SQLite text's tables and indexes, translated, then these
    /// statements in place of its `CREATE TRIGGER`s.
    OwnTriggers(&'static str),
    /// This text instead.
    Instead(&'static str),
}

impl Step {
    /// A step both engines run (PostgreSQL after translation).
    pub const fn portable(sql: &'static str) -> Self {
        Step {
            sqlite: sql,
            postgres: OnPostgres::Same,
        }
    }

    /// A step whose triggers PostgreSQL writes its own way.
    pub const fn with_postgres_triggers(sqlite: &'static str, triggers: &'static str) -> Self {
        Step {
            sqlite,
            postgres: OnPostgres::OwnTriggers(triggers),
        }
    }

    /// A step written once per engine.
    pub const fn per_dialect(sqlite: &'static str, postgres: &'static str) -> Self {
        Step {
            sqlite,
            postgres: OnPostgres::Instead(postgres),
        }
    }

    /// The statements this step runs on `dialect`, in order.
    pub fn statements(&self, dialect: Dialect) -> Vec<&'static str> {
        let is_trigger = |s: &&str| starts_with_words(s, &["CREATE", "TRIGGER"]);
        match (dialect, self.postgres) {
            (Dialect::Sqlite, _) | (Dialect::Postgres, OnPostgres::Same) => {
                statements(self.sqlite).collect()
            }
            (Dialect::Postgres, OnPostgres::Instead(text)) => statements(text).collect(),
            (Dialect::Postgres, OnPostgres::OwnTriggers(triggers)) => statements(self.sqlite)
                .filter(|s| !is_trigger(s))
                .chain(statements(triggers))
                .collect(),
        }
    }
}

/// The version a database has once every one of `steps` is applied.
pub fn latest_version(steps: &[Step]) -> i64 {
    steps.len() as i64
}

/// Brings the schema up to the last of `steps` (one step per version: index
/// + 1 is the version it produces); a no-op when it already is.
///
/// Why retry on `Busy`? SQLite answers a journal-mode switch or a lock
/// upgrade that would deadlock with `SQLITE_BUSY` at once, without waiting
/// out the busy timeout; that happens only while several first requests
/// race to migrate a fresh database, and a short pause settles it.
pub fn apply(sql: &dyn Sql, steps: &[Step]) -> Result<(), StorageError> {
    const ATTEMPTS: u32 = 50;
    let mut attempt = 1;
    loop {
        match apply_once(sql, steps) {
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

fn apply_once(sql: &dyn Sql, steps: &[Step]) -> Result<(), StorageError> {
    if sql.dialect() == Dialect::Postgres {
        return apply_postgres(sql, steps);
    }
    if current_version(sql)? >= latest_version(steps) {
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
        for (index, step) in steps.iter().enumerate().skip(from.max(0) as usize) {
            for statement in step.statements(Dialect::Sqlite) {
                tx.execute(statement, &[])?;
            }
            tx.execute(&format!("PRAGMA user_version = {}", index + 1), &[])?;
        }
        Ok(())
    })
}

/// The version table PostgreSQL keeps in place of `user_version`.
const PG_VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS omni_schema_version (version INTEGER NOT NULL)";

/// PostgreSQL: one read when current; otherwise every step inside one
/// transaction under the migration lock, re-checked once the lock is held,
/// so nodes starting together on an empty database make one schema.
fn apply_postgres(sql: &dyn Sql, steps: &[Step]) -> Result<(), StorageError> {
    let current = sql
        .execute(
            "SELECT max(version) AS version FROM omni_schema_version",
            &[],
        )
        .ok()
        .and_then(|rows| {
            rows.first()
                .and_then(|r| r.opt_integer("version").ok().flatten())
        });
    if current.unwrap_or(0) >= latest_version(steps) {
        return Ok(());
    }
    super::in_transaction(sql, |tx| {
        tx.execute(dialect::MIGRATION_LOCK, &[])?;
        tx.execute(PG_VERSION_TABLE, &[])?;
        let rows = tx.execute(
            "SELECT max(version) AS version FROM omni_schema_version",
            &[],
        )?;
        let from = rows
            .first()
            .and_then(|r| r.opt_integer("version").ok().flatten())
            .unwrap_or(0);
        if from == 0 {
            for statement in statements(dialect::PRELUDE) {
                tx.execute(statement, &[])?;
            }
        }
        for step in steps.iter().skip(from.max(0) as usize) {
            for statement in step.statements(Dialect::Postgres) {
                tx.execute(statement, &[])?;
            }
        }
        tx.execute("DELETE FROM omni_schema_version", &[])?;
        tx.execute(
            "INSERT INTO omni_schema_version (version) VALUES (?1)",
            &[latest_version(steps).into()],
        )?;
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
/// body up to its closing `END`, and a PostgreSQL `$$ ... $$` body keeps
/// its own.
pub(crate) fn statements(step: &str) -> impl Iterator<Item = &str> {
    let mut statements = Vec::new();
    let mut start = 0;
    let mut in_trigger = false;
    for (at, _) in step.match_indices(';') {
        if step[start..at].matches("$$").count() % 2 == 1 {
            continue;
        }
        let piece = step[start..at].trim();
        // A SQLite trigger has a body up to `END`; PostgreSQL's names a function.
        if !in_trigger
            && starts_with_words(piece, &["CREATE", "TRIGGER"])
            && !piece.to_ascii_uppercase().contains("EXECUTE FUNCTION")
        {
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

pub(crate) fn starts_with_words(text: &str, words: &[&str]) -> bool {
    let mut found = text.split_whitespace();
    words
        .iter()
        .all(|w| found.next().is_some_and(|f| f.eq_ignore_ascii_case(w)))
}

pub(crate) fn last_word(text: &str) -> &str {
    text.split_whitespace().last().unwrap_or_default()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A small schema of two steps, the second with a trigger.
    const STEPS: &[Step] = &[
        Step::portable(
            "CREATE TABLE stores (id TEXT PRIMARY KEY, kind TEXT NOT NULL, lat REAL, lon REAL, data TEXT, updated_at TEXT)",
        ),
        Step::portable(
            "CREATE TABLE log (x); CREATE TRIGGER keep AFTER INSERT ON stores BEGIN INSERT INTO log VALUES (1); END",
        ),
    ];
    use crate::storage::native::SqliteDb;

    #[test]
    fn a_fresh_database_reaches_the_last_step() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("m.db")).connect().unwrap();
        assert_eq!(current_version(&sql).unwrap(), 0);
        apply(&sql, STEPS).unwrap();
        assert_eq!(current_version(&sql).unwrap(), latest_version(STEPS));
        let mode = sql.execute("PRAGMA journal_mode", &[]).unwrap();
        assert_eq!(mode.first().unwrap().text("journal_mode").unwrap(), "wal");
    }

    #[test]
    fn migrations_applied_twice_are_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("m.db"));
        let sql = db.connect().unwrap();
        apply(&sql, STEPS).unwrap();
        sql.execute(
            "INSERT INTO stores (id, kind, lat, lon, data, updated_at) VALUES ('S1', 'store', 0, 0, '{}', 'now')",
            &[],
        )
        .unwrap();
        apply(&sql, STEPS).unwrap();
        apply(&db.connect().unwrap(), STEPS).unwrap();
        let rows = sql
            .execute("SELECT count(*) AS n FROM stores", &[])
            .unwrap();
        assert_eq!(rows.first().unwrap().integer("n").unwrap(), 1);
        assert_eq!(current_version(&sql).unwrap(), latest_version(STEPS));
    }

    #[test]
    fn concurrent_first_uses_migrate_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("m.db"));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || apply(&db.connect().unwrap(), STEPS))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
        assert_eq!(
            current_version(&db.connect().unwrap()).unwrap(),
            latest_version(STEPS)
        );
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

//! The Spin implementations of the storage ports (wasm32 only).
//!
//! Each `SpinSql` is one `fermyon:spin/sqlite` connection, so a transaction
//! begun through it stays on it, exactly as the native implementation.
//!
//! # Waiting for the write lock
//!
//! Spin opens a fresh connection per request with SQLite's default busy
//! handler, whose sleeps grow to 100 ms: under sixteen concurrent writers a
//! request that lost the lock a few times slept its way to a 1.4 s answer
//! while the lock was free most of that time. So before its first write a
//! connection sets `busy_timeout = 0` and waits here instead, in short
//! jittered pauses (0.2 ms doubling to 4 ms, five seconds in all), and only
//! where waiting is safe: a statement outside any transaction, or the
//! `BEGIN IMMEDIATE` that opens one. It also sets `synchronous = NORMAL`
//! (in WAL mode a commit then no longer waits for an fsync while holding the
//! lock; a power cut, not a crash, may lose the last commits), the setting
//! the local edge host gives its own connections.
//!
//! Both are session settings of this one connection: the edge host, which
//! pools connections, restores its own values when the connection comes
//! back, and reads never pay for them.

use super::{KeyValue, Rows, Sql, SqlValue, StorageError};
use spin_sdk::{key_value, sqlite};
use std::cell::Cell;
use std::time::{Duration, Instant};

pub struct SpinSql {
    connection: sqlite::Connection,
    units: Cell<u32>,
    /// Whether the write settings are applied on this connection yet.
    ready_to_write: Cell<bool>,
}

/// The session settings a connection takes before its first write.
const WRITE_SETTINGS: [&str; 2] = ["PRAGMA busy_timeout = 0", "PRAGMA synchronous = NORMAL"];

/// How long a statement waits for the write lock in all.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

impl SpinSql {
    pub fn open_default() -> Result<Self, StorageError> {
        let connection = sqlite::Connection::open_default().map_err(from_sqlite)?;
        Ok(SpinSql {
            connection,
            units: Cell::new(0),
            ready_to_write: Cell::new(false),
        })
    }

    fn run(
        &self,
        statement: &str,
        params: &[sqlite::Value],
    ) -> Result<sqlite::QueryResult, StorageError> {
        self.connection
            .execute(statement, params)
            .map_err(from_sqlite)
    }

    /// Runs `statement`, waiting out a busy lock where that is safe.
    fn run_patiently(
        &self,
        statement: &str,
        params: &[sqlite::Value],
    ) -> Result<sqlite::QueryResult, StorageError> {
        let started = Instant::now();
        let mut pause_us: u64 = 200;
        loop {
            match self.run(statement, params) {
                Err(StorageError::Busy)
                    if may_wait(self.units.get(), statement)
                        && started.elapsed() < LOCK_PATIENCE =>
                {
                    // Jitter keeps the waiters from retrying in step.
                    let jitter =
                        wasi::random::insecure::get_insecure_random_u64() % (pause_us / 2 + 1);
                    std::thread::sleep(Duration::from_micros(pause_us / 2 + jitter));
                    pause_us = (pause_us * 2).min(4_000);
                }
                outcome => return outcome,
            }
        }
    }
}

/// A statement may wait for the lock when it holds nothing yet: outside a
/// transaction, or the `BEGIN` opening one. Inside a transaction a busy
/// answer means a deadlock SQLite has already decided, so it goes up.
fn may_wait(open_units: u32, statement: &str) -> bool {
    open_units == 0 || first_word(statement).eq_ignore_ascii_case("BEGIN")
}

fn first_word(statement: &str) -> &str {
    statement.split_whitespace().next().unwrap_or_default()
}

thread_local! {
    /// This request's statements: (all, made while holding or taking the
    /// write lock), for [`take_statement_counts`].
    static STATEMENTS: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
    /// Whether a `BEGIN` ... `COMMIT`/`ROLLBACK` is open on some connection.
    static IN_TRANSACTION: Cell<bool> = const { Cell::new(false) };
}

/// The statements this instance ran since the last call: all of them, and
/// those made while holding or taking the write lock (everything from a
/// `BEGIN` to its `COMMIT`, and writes outside a transaction). Each is one
/// host call and, under Spin, one database round trip; the pipeline logs
/// them per request when the component's environment has
/// `OMNI_SQL_TRACE=1` (see BENCHMARKS.md).
pub fn take_statement_counts() -> (u32, u32) {
    STATEMENTS.with(|c| c.replace((0, 0)))
}

pub(crate) fn count(statement: &str) {
    let word = first_word(statement);
    let opens = word.eq_ignore_ascii_case("BEGIN");
    let closes = word.eq_ignore_ascii_case("COMMIT")
        || word.eq_ignore_ascii_case("ROLLBACK")
        || word.eq_ignore_ascii_case("END");
    let open = IN_TRANSACTION.with(|t| t.get());
    let locked = open || opens || !word.eq_ignore_ascii_case("SELECT");
    STATEMENTS.with(|c| {
        let (all, held) = c.get();
        c.set((all + 1, held + u32::from(locked)));
    });
    if opens {
        IN_TRANSACTION.with(|t| t.set(true));
    } else if closes {
        IN_TRANSACTION.with(|t| t.set(false));
    }
}

impl Sql for SpinSql {
    fn open_units(&self) -> &std::cell::Cell<u32> {
        &self.units
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        count(statement);
        if !self.ready_to_write.get() && !first_word(statement).eq_ignore_ascii_case("SELECT") {
            for setting in WRITE_SETTINGS {
                self.run_patiently(setting, &[])?;
            }
            self.ready_to_write.set(true);
        }
        let params: Vec<sqlite::Value> = params.iter().map(to_spin_value).collect();
        let result = self.run_patiently(statement, &params)?;
        Ok(Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin_value).collect())
                .collect(),
        })
    }
}

fn to_spin_value(value: &SqlValue) -> sqlite::Value {
    match value {
        SqlValue::Integer(i) => sqlite::Value::Integer(*i),
        SqlValue::Real(r) => sqlite::Value::Real(*r),
        SqlValue::Text(s) => sqlite::Value::Text(s.clone()),
        SqlValue::Blob(b) => sqlite::Value::Blob(b.clone()),
        SqlValue::Null => sqlite::Value::Null,
    }
}

fn from_spin_value(value: sqlite::Value) -> SqlValue {
    match value {
        sqlite::Value::Integer(i) => SqlValue::Integer(i),
        sqlite::Value::Real(r) => SqlValue::Real(r),
        sqlite::Value::Text(s) => SqlValue::Text(s),
        sqlite::Value::Blob(b) => SqlValue::Blob(b),
        sqlite::Value::Null => SqlValue::Null,
    }
}

/// Spin reports SQLite failures as `io(message)`; the message is SQLite's own,
/// so constraint and busy failures are recognised by its wording.
fn from_sqlite(error: sqlite::Error) -> StorageError {
    match error {
        sqlite::Error::AccessDenied => StorageError::AccessDenied,
        sqlite::Error::NoSuchDatabase => StorageError::NoSuchStore,
        sqlite::Error::Io(message) => classify_message(message),
        other => StorageError::Other(other.to_string()),
    }
}

pub(crate) fn classify_message(message: String) -> StorageError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("constraint") {
        StorageError::Constraint(message)
    } else if lower.contains("database is locked") || lower.contains("busy") {
        StorageError::Busy
    } else {
        StorageError::Other(message)
    }
}

pub struct SpinKeyValue(key_value::Store);

impl SpinKeyValue {
    pub fn open_default() -> Result<Self, StorageError> {
        key_value::Store::open_default()
            .map(SpinKeyValue)
            .map_err(from_kv)
    }
}

impl KeyValue for SpinKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.0.get(key).map_err(from_kv)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.0.set(key, value).map_err(from_kv)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.0.delete(key).map_err(from_kv)
    }
}

fn from_kv(error: key_value::Error) -> StorageError {
    match error {
        key_value::Error::AccessDenied => StorageError::AccessDenied,
        key_value::Error::NoSuchStore => StorageError::NoSuchStore,
        other => StorageError::Other(other.to_string()),
    }
}

//! Storage ports: the two host capabilities every component persists through.
//!
//! Components never call `spin_sdk::sqlite` or `spin_sdk::key_value` directly;
//! they take a `&dyn Sql` and a `&dyn KeyValue`. On wasm32 the Spin
//! implementations back them ([`spin`]); natively, rusqlite does ([`native`]),
//! so every rule that touches storage is tested without a runtime.
//!
//! Why two ports and not one? Spin's key-value store may be eventually
//! consistent across edge regions, SQLite is a single writer. Anything whose
//! read-modify-write must be exact (stock, coupon counts, cart lines, order
//! status) goes through [`Sql`] with a guarded statement; [`KeyValue`] only
//! holds data that tolerates a stale read (caches, idempotency replays are in
//! SQL for that reason).

pub mod dialect;
pub mod migrations;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(not(target_arch = "wasm32"))]
pub mod native_pg;
#[cfg(target_arch = "wasm32")]
pub mod spin;
#[cfg(target_arch = "wasm32")]
pub mod spin_pg;

use std::fmt;

/// One SQLite value, as Spin's `fermyon:spin/sqlite` interface carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Integer(v)
    }
}
impl From<u32> for SqlValue {
    fn from(v: u32) -> Self {
        SqlValue::Integer(i64::from(v))
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_owned())
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}
impl From<Vec<u8>> for SqlValue {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Blob(v)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// The rows a statement returned (empty for statements that return none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

impl Rows {
    /// The rows as name-addressable records.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One row, read by column name so that a reordered SELECT cannot silently
/// shift values.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [SqlValue],
}

impl<'a> Row<'a> {
    pub fn value(&self, column: &str) -> Result<&'a SqlValue, StorageError> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| StorageError::Decode(format!("no column `{column}`")))
    }

    pub fn text(&self, column: &str) -> Result<&'a str, StorageError> {
        match self.value(column)? {
            SqlValue::Text(s) => Ok(s),
            other => Err(StorageError::Decode(format!(
                "column `{column}` is {other:?}, not text"
            ))),
        }
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<&'a str>, StorageError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Text(s) => Ok(Some(s)),
            other => Err(StorageError::Decode(format!(
                "column `{column}` is {other:?}, not text"
            ))),
        }
    }

    pub fn integer(&self, column: &str) -> Result<i64, StorageError> {
        match self.value(column)? {
            SqlValue::Integer(i) => Ok(*i),
            other => Err(StorageError::Decode(format!(
                "column `{column}` is {other:?}, not an integer"
            ))),
        }
    }

    pub fn opt_integer(&self, column: &str) -> Result<Option<i64>, StorageError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Integer(i) => Ok(Some(*i)),
            other => Err(StorageError::Decode(format!(
                "column `{column}` is {other:?}, not an integer"
            ))),
        }
    }

    pub fn blob(&self, column: &str) -> Result<&'a [u8], StorageError> {
        match self.value(column)? {
            SqlValue::Blob(b) => Ok(b),
            SqlValue::Text(s) => Ok(s.as_bytes()),
            other => Err(StorageError::Decode(format!(
                "column `{column}` is {other:?}, not a blob"
            ))),
        }
    }
}

/// Why a storage call failed. None of these is the caller's fault: the HTTP
/// layer logs them and answers 500 (or 503 for `Busy`) without leaking detail.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageError {
    /// The manifest does not grant this component the store or database.
    AccessDenied,
    /// The store or database label is not known to the host.
    NoSuchStore,
    /// SQLite stayed locked past its busy timeout, or PostgreSQL could not
    /// be reached or gave up a transaction (deadlock, serialisation): a
    /// retry may clear it.
    Busy,
    /// A UNIQUE, CHECK or foreign-key constraint refused the statement.
    Constraint(String),
    /// A stored value did not have the expected shape.
    Decode(String),
    /// Anything else the host reported.
    Other(String),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::AccessDenied => {
                write!(f, "access to the store was denied by the manifest")
            }
            StorageError::NoSuchStore => write!(f, "no such store or database"),
            StorageError::Busy => write!(f, "the database stayed busy or could not be reached"),
            StorageError::Constraint(m) => write!(f, "constraint failed: {m}"),
            StorageError::Decode(m) => write!(f, "stored value has an unexpected shape: {m}"),
            StorageError::Other(m) => write!(f, "storage error: {m}"),
        }
    }
}

impl std::error::Error for StorageError {}

/// A SQL connection. Like Spin's, each value is one connection of its own, so
/// `BEGIN ... COMMIT` across several calls is meaningful.
pub trait Sql {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, StorageError>;

    /// How many [`in_transaction`] units are open on this connection: with
    /// one open, a further unit is a savepoint inside it, so an outer unit
    /// (an idempotent request storing its answer) commits or rolls back
    /// everything its handler did as one.
    fn open_units(&self) -> &std::cell::Cell<u32>;

    /// The engine behind this connection; every statement is written in
    /// SQLite's dialect and translated by the PostgreSQL implementations
    /// ([`dialect`]), so only the migrations ask.
    fn dialect(&self) -> dialect::Dialect {
        dialect::Dialect::Sqlite
    }
}

/// A key-value store (Spin's `default` store in production).
pub trait KeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError>;
    fn delete(&self, key: &str) -> Result<(), StorageError>;
}

/// Runs `work` inside one `BEGIN IMMEDIATE` transaction: the write lock is
/// taken up front so two requests can never interleave a read and a write of
/// the same rows, and any error rolls the whole unit back.
///
/// Inside a unit already open on the connection (see [`Sql::open_units`])
/// the work runs in a savepoint instead: an error undoes just this work, and
/// the outer unit decides whether any of it is committed.
pub fn in_transaction<T, E>(
    sql: &dyn Sql,
    work: impl FnOnce(&dyn Sql) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StorageError>,
{
    let nested = sql.open_units().get() > 0;
    let (begin, commit, rollback): (&str, &[&str], &[&str]) = if nested {
        (
            "SAVEPOINT unit",
            &["RELEASE unit"],
            &["ROLLBACK TO unit", "RELEASE unit"],
        )
    } else {
        ("BEGIN IMMEDIATE", &["COMMIT"], &["ROLLBACK"])
    };
    sql.execute(begin, &[])?;
    let units = sql.open_units();
    units.set(units.get() + 1);
    let outcome = work(sql);
    units.set(units.get() - 1);
    let undo = || {
        for statement in rollback {
            let _ = sql.execute(statement, &[]);
        }
    };
    match outcome {
        Ok(value) => {
            for statement in commit {
                if let Err(e) = sql.execute(statement, &[]) {
                    undo();
                    return Err(e.into());
                }
            }
            Ok(value)
        }
        Err(e) => {
            undo();
            Err(e)
        }
    }
}

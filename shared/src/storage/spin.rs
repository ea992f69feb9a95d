//! The Spin implementations of the storage ports (wasm32 only).
//!
//! Each `SpinSql` is one `fermyon:spin/sqlite` connection, so a transaction
//! begun through it stays on it, exactly as the native implementation.

use super::{KeyValue, Rows, Sql, SqlValue, StorageError};
use spin_sdk::{key_value, sqlite};

pub struct SpinSql(sqlite::Connection, std::cell::Cell<u32>);

impl SpinSql {
    pub fn open_default() -> Result<Self, StorageError> {
        sqlite::Connection::open_default().map(|c| SpinSql(c, std::cell::Cell::new(0))).map_err(from_sqlite)
    }
}

impl Sql for SpinSql {
    fn open_units(&self) -> &std::cell::Cell<u32> {
        &self.1
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let params: Vec<sqlite::Value> = params.iter().map(to_spin_value).collect();
        let result = self.0.execute(statement, &params).map_err(from_sqlite)?;
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
        key_value::Store::open_default().map(SpinKeyValue).map_err(from_kv)
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

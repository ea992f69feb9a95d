//! Native implementations of the storage ports on rusqlite, for tests and
//! tools. They keep Spin's meaning: every [`SqliteDb::connect`] is a connection
//! of its own, and the key-value store lives in its own SQLite file as Spin's
//! `sqlite_key_value.db` does.

use super::{KeyValue, Rows, Sql, SqlValue, StorageError};
use rusqlite::types::{Value, ValueRef};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A database file; connections are opened from it on demand.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    path: PathBuf,
}

impl SqliteDb {
    pub fn at(path: impl AsRef<Path>) -> Self {
        SqliteDb {
            path: path.as_ref().to_owned(),
        }
    }

    pub fn connect(&self) -> Result<NativeSql, StorageError> {
        let conn = rusqlite::Connection::open(&self.path).map_err(from_rusqlite)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(from_rusqlite)?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(from_rusqlite)?;
        Ok(NativeSql(conn, std::cell::Cell::new(0)))
    }
}

/// One rusqlite connection behind the [`Sql`] port.
pub struct NativeSql(rusqlite::Connection, std::cell::Cell<u32>);

impl Sql for NativeSql {
    fn open_units(&self) -> &std::cell::Cell<u32> {
        &self.1
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let mut stmt = self.0.prepare(statement).map_err(from_rusqlite)?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let bound: Vec<Value> = params.iter().map(to_rusqlite).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(bound.iter()))
            .map_err(from_rusqlite)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(from_rusqlite)? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(from_rusqlite_ref(row.get_ref(i).map_err(from_rusqlite)?));
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }
}

fn to_rusqlite(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Real(r) => Value::Real(*r),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn from_rusqlite_ref(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(r) => SqlValue::Real(r),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

fn from_rusqlite(error: rusqlite::Error) -> StorageError {
    use rusqlite::ErrorCode;
    match &error {
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation => {
            StorageError::Constraint(error.to_string())
        }
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StorageError::Busy
        }
        _ => StorageError::Other(error.to_string()),
    }
}

/// A key-value store in its own SQLite file, shaped like Spin's.
pub struct NativeKeyValue(rusqlite::Connection);

impl NativeKeyValue {
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let conn = rusqlite::Connection::open(path).map_err(from_rusqlite)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(from_rusqlite)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                 store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                 PRIMARY KEY (store, key));",
        )
        .map_err(from_rusqlite)?;
        Ok(NativeKeyValue(conn))
    }
}

impl KeyValue for NativeKeyValue {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?1")
            .map_err(from_rusqlite)?;
        let mut rows = stmt.query([key]).map_err(from_rusqlite)?;
        match rows.next().map_err(from_rusqlite)? {
            Some(row) => Ok(Some(row.get(0).map_err(from_rusqlite)?)),
            None => Ok(None),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.0
            .execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            )
            .map(drop)
            .map_err(from_rusqlite)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.0
            .execute(
                "DELETE FROM spin_key_value WHERE store = 'default' AND key = ?1",
                [key],
            )
            .map(drop)
            .map_err(from_rusqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::in_transaction;

    fn db() -> (tempfile::TempDir, SqliteDb) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::at(dir.path().join("t.db"));
        (dir, db)
    }

    #[test]
    fn statements_round_trip_every_value_kind() {
        let (_dir, db) = db();
        let sql = db.connect().unwrap();
        sql.execute(
            "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)",
            &[],
        )
        .unwrap();
        let values = vec![
            SqlValue::Integer(-7),
            SqlValue::Real(1.5),
            SqlValue::Text("zł".into()),
            SqlValue::Blob(vec![0, 255]),
            SqlValue::Null,
        ];
        sql.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", &values)
            .unwrap();
        let rows = sql.execute("SELECT * FROM t", &[]).unwrap();
        assert_eq!(rows.columns, ["i", "r", "s", "b", "n"]);
        assert_eq!(rows.rows, vec![values]);
        let row = rows.first().unwrap();
        assert_eq!(row.integer("i").unwrap(), -7);
        assert_eq!(row.text("s").unwrap(), "zł");
        assert_eq!(row.opt_text("n").unwrap(), None);
        assert!(row.text("i").is_err());
        assert!(row.value("missing").is_err());
    }

    #[test]
    fn unique_violations_are_reported_as_constraint_errors() {
        let (_dir, db) = db();
        let sql = db.connect().unwrap();
        sql.execute("CREATE TABLE t (k TEXT PRIMARY KEY)", &[])
            .unwrap();
        sql.execute("INSERT INTO t VALUES ('a')", &[]).unwrap();
        let err = sql.execute("INSERT INTO t VALUES ('a')", &[]).unwrap_err();
        assert!(matches!(err, StorageError::Constraint(_)), "{err:?}");
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let (_dir, db) = db();
        let sql = db.connect().unwrap();
        sql.execute("CREATE TABLE t (k TEXT PRIMARY KEY)", &[])
            .unwrap();
        let result: Result<(), StorageError> = in_transaction(&sql, |tx| {
            tx.execute("INSERT INTO t VALUES ('a')", &[])?;
            tx.execute("INSERT INTO t VALUES ('a')", &[])?;
            Ok(())
        });
        assert!(result.is_err());
        let rows = sql.execute("SELECT count(*) AS n FROM t", &[]).unwrap();
        assert_eq!(rows.first().unwrap().integer("n").unwrap(), 0);
    }

    #[test]
    fn key_values_persist_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        let kv = NativeKeyValue::open(&path).unwrap();
        assert_eq!(kv.get("a").unwrap(), None);
        kv.set("a", b"1").unwrap();
        kv.set("a", b"2").unwrap();
        drop(kv);
        let kv = NativeKeyValue::open(&path).unwrap();
        assert_eq!(kv.get("a").unwrap(), Some(b"2".to_vec()));
        kv.delete("a").unwrap();
        kv.delete("a").unwrap();
        assert_eq!(kv.get("a").unwrap(), None);
    }
}

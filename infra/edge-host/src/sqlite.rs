//! `fermyon:spin/sqlite@2.0.0`: the `default` database,
//! `<state-dir>/sqlite_db.db`, shared by every component that lists it.
//!
//! Each `open` checks a connection out of the pool for the lifetime of the
//! guest's handle (see `db` for why), so transactions spanning several
//! `execute` calls behave as on Spin. Statements run on the blocking thread
//! pool: a query waiting on a lock must not stall the executor threads that
//! serve every other request.

use std::sync::Arc;

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::db::{Database, PooledConnection};
use crate::state::HostState;

/// An open database connection held by a guest. `None` only while a
/// statement is running on the blocking pool.
pub struct SqlConnection {
    conn: Option<PooledConnection>,
}

impl sqlite::Host for HostState {}

impl sqlite::HostConnection for HostState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqlConnection>, Error>> {
        // As in Spin: a database the manifest does not grant is
        // access-denied, whether or not it exists.
        if !self.component().sqlite_databases.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(db) = self.services().sqlite.clone() else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        let conn = match tokio::task::spawn_blocking(move || db.checkout()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Ok(Err(Error::Io(e.to_string()))),
            Err(e) => return Ok(Err(Error::Io(e.to_string()))),
        };
        Ok(Ok(self.table().push(SqlConnection { conn: Some(conn) })?))
    }

    async fn execute(
        &mut self,
        connection: Resource<SqlConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let Some(conn) = self.table().get_mut(&connection)?.conn.take() else {
            return Ok(Err(Error::InvalidConnection));
        };
        let outcome = tokio::task::spawn_blocking(move || {
            let result = run(&conn, &statement, parameters);
            (conn, result)
        })
        .await;
        let (conn, result) = match outcome {
            Ok(pair) => pair,
            Err(e) => return Ok(Err(Error::Io(e.to_string()))),
        };
        self.table().get_mut(&connection)?.conn = Some(conn);
        Ok(result.map_err(to_error))
    }

    async fn drop(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<()> {
        let handle = self.table().delete(connection)?;
        // Giving the connection back may roll back an open transaction:
        // file I/O, so not on an executor thread.
        if let Some(conn) = handle.conn {
            tokio::task::spawn_blocking(move || drop(conn));
        }
        Ok(())
    }
}

/// Runs one statement and collects every row, as Spin's SQLite host does.
fn run(
    conn: &rusqlite::Connection,
    statement: &str,
    parameters: Vec<Value>,
) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let params: Vec<SqlValue> = parameters.into_iter().map(to_sql).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(from_sql))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

fn to_sql(v: Value) -> SqlValue {
    match v {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(f) => SqlValue::Real(f),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Null => Value::Null,
    }
}

fn to_error(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::DatabaseFull,
        _ => Error::Io(e.to_string()),
    }
}

/// The SQLite schema edge-host itself needs in the default database: none,
/// the components run their own migrations (they must, under `spin up`).
pub const SCHEMA: &str = "";

/// Opens the default database.
pub fn open_default(path: &std::path::Path) -> Result<Arc<Database>, crate::db::DbError> {
    Database::open(path, SCHEMA)
}

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
///
/// Field order matters: on drop the connection goes back to the pool (rolling
/// back an open transaction) before the write gate is released.
pub struct SqlConnection {
    conn: Option<PooledConnection>,
    gate: Arc<tokio::sync::Mutex<()>>,
    /// Held from `BEGIN IMMEDIATE` until the connection is back in
    /// autocommit mode.
    writing: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// How long a writer queues at the gate before it goes on to SQLite's own
/// busy handling (which then decides, as without the gate). Bounds the wait
/// of a guest that writes on a second connection while its first holds the
/// gate.
const GATE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a statement takes SQLite's write lock from autocommit mode:
/// `BEGIN IMMEDIATE`/`BEGIN EXCLUSIVE` (held across several calls), or a
/// lone `INSERT`, `UPDATE`, `DELETE` or `REPLACE`.
///
/// Why queue lone writes too? The components' hot writes are single
/// guarded statements (a cart line, a reservation, an order move: see
/// `omni_shared::storage::spin`). Left to SQLite's busy handler, sixteen of
/// them polling for one lock are served in no order, and a writer that kept
/// losing waited 170 ms while others got in at once; the gate serves them
/// first come, first served.
fn starts_writing(statement: &str) -> bool {
    let mut words = statement
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let lone_write = ["INSERT", "UPDATE", "DELETE", "REPLACE"]
        .iter()
        .any(|w| first.eq_ignore_ascii_case(w));
    lone_write
        || (first.eq_ignore_ascii_case("BEGIN")
            && words.next().is_some_and(|w| {
                w.eq_ignore_ascii_case("IMMEDIATE") || w.eq_ignore_ascii_case("EXCLUSIVE")
            }))
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
        let gate = db.writer();
        let conn = match tokio::task::spawn_blocking(move || db.checkout()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Ok(Err(Error::Io(e.to_string()))),
            Err(e) => return Ok(Err(Error::Io(e.to_string()))),
        };
        Ok(Ok(self.table().push(SqlConnection {
            conn: Some(conn),
            gate,
            writing: None,
        })?))
    }

    async fn execute(
        &mut self,
        connection: Resource<SqlConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let handle = self.table().get_mut(&connection)?;
        if handle.conn.is_none() {
            return Ok(Err(Error::InvalidConnection));
        }
        if handle.writing.is_none()
            && handle.conn.as_ref().is_some_and(|c| c.is_autocommit())
            && starts_writing(&statement)
        {
            let gate = Arc::clone(&handle.gate);
            // On timeout, go on without the gate: SQLite's lock still guards.
            let guard = tokio::time::timeout(GATE_PATIENCE, gate.lock_owned())
                .await
                .ok();
            self.table().get_mut(&connection)?.writing = guard;
        }
        let Some(conn) = self.table().get_mut(&connection)?.conn.take() else {
            return Ok(Err(Error::InvalidConnection));
        };
        let outcome = tokio::task::spawn_blocking(move || {
            let result = run(&conn, &statement, parameters);
            conn.keep_host_busy_handler();
            (conn, result)
        })
        .await;
        let (conn, result) = match outcome {
            Ok(pair) => pair,
            Err(e) => return Ok(Err(Error::Io(e.to_string()))),
        };
        let handle = self.table().get_mut(&connection)?;
        // Back in autocommit mode (COMMIT, ROLLBACK, a failed BEGIN): the
        // next writer's turn.
        if conn.is_autocommit() {
            handle.writing = None;
        }
        handle.conn = Some(conn);
        Ok(result.map_err(to_error))
    }

    async fn drop(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<()> {
        let handle = self.table().delete(connection)?;
        // Giving the connection back may roll back an open transaction:
        // file I/O, so not on an executor thread.
        let writing = handle.writing;
        if let Some(conn) = handle.conn {
            tokio::task::spawn_blocking(move || {
                drop(conn);
                drop(writing);
            });
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

#[cfg(test)]
mod tests {
    use super::starts_writing;

    #[test]
    fn write_transactions_and_lone_writes_queue_at_the_gate() {
        for statement in [
            "BEGIN IMMEDIATE",
            "begin exclusive transaction",
            "  BEGIN\nIMMEDIATE;",
            "INSERT INTO t VALUES (1)",
            "update t SET a = 1",
            "DELETE FROM t",
            "REPLACE INTO t VALUES (2)",
        ] {
            assert!(starts_writing(statement), "{statement}");
        }
    }

    #[test]
    fn reads_and_deferred_transactions_do_not_queue() {
        for statement in [
            "SELECT 1",
            "BEGIN",
            "BEGIN DEFERRED",
            "COMMIT",
            "PRAGMA user_version",
            "",
            "INSERTED",
        ] {
            assert!(!starts_writing(statement), "{statement}");
        }
    }
}

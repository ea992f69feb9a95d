//! The PostgreSQL implementation of the SQL port on Spin (wasm32 only),
//! through `spin:postgres/postgres@3.0.0`, the interface spin-sdk 5.2
//! exposes as `pg3` and both Spin 3 and Spin 4 serve (`pg4` needs Spin 3.4
//! or later, so a deployment on an older Spin would lose it).
//!
//! Each `SpinPg` is one connection for the request's lifetime, so
//! `BEGIN ... COMMIT` across calls stays on it. Every statement goes through
//! [`dialect::to_postgres`] first; a statement that answers no rows is sent
//! as `execute`, and a query with its row mark ([`dialect::with_row_mark`],
//! which keeps Spin 4.0.0-4.0.2 from hanging on an empty answer).

use super::dialect::{self, Dialect};
use super::{Rows, Sql, SqlValue, StorageError};
use spin_sdk::pg3;
use std::cell::Cell;

pub struct SpinPg {
    connection: pg3::Connection,
    units: Cell<u32>,
}

impl SpinPg {
    /// Opens `url` (a `postgres://` URL or a key=value string); the host
    /// must be in the component's `allowed_outbound_hosts`.
    pub fn open(url: &str) -> Result<Self, StorageError> {
        let connection = pg3::Connection::open(url).map_err(|e| from_pg(e, "connect"))?;
        Ok(SpinPg {
            connection,
            units: Cell::new(0),
        })
    }
}

impl Sql for SpinPg {
    fn open_units(&self) -> &Cell<u32> {
        &self.units
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        super::spin::count(statement);
        let mut last = Rows::default();
        for translated in dialect::to_postgres(statement, params)? {
            let bound: Vec<pg3::ParameterValue> = translated.params.iter().map(to_param).collect();
            if !dialect::returns_rows(&translated.text) {
                self.connection
                    .execute(&translated.text, &bound)
                    .map_err(|e| from_pg(e, &translated.text))?;
                last = Rows::default();
                continue;
            }
            let set = self
                .connection
                .query(&dialect::with_row_mark(&translated.text), &bound)
                .map_err(|e| from_pg(e, &translated.text))?;
            let mut rows = Vec::with_capacity(set.rows.len());
            for row in set.rows {
                rows.push(
                    row.into_iter()
                        .map(from_db)
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            last = dialect::without_row_mark(Rows {
                columns: set.columns.into_iter().map(|c| c.name).collect(),
                rows,
            });
        }
        Ok(last)
    }
}

fn to_param(value: &SqlValue) -> pg3::ParameterValue {
    match value {
        SqlValue::Integer(i) => pg3::ParameterValue::Int64(*i),
        SqlValue::Real(r) => pg3::ParameterValue::Floating64(*r),
        SqlValue::Text(s) => pg3::ParameterValue::Str(s.clone()),
        SqlValue::Blob(b) => pg3::ParameterValue::Binary(b.clone()),
        SqlValue::Null => pg3::ParameterValue::DbNull,
    }
}

fn from_db(value: pg3::DbValue) -> Result<SqlValue, StorageError> {
    Ok(match value {
        pg3::DbValue::Boolean(b) => SqlValue::Integer(i64::from(b)),
        pg3::DbValue::Int8(i) => SqlValue::Integer(i64::from(i)),
        pg3::DbValue::Int16(i) => SqlValue::Integer(i64::from(i)),
        pg3::DbValue::Int32(i) => SqlValue::Integer(i64::from(i)),
        pg3::DbValue::Int64(i) => SqlValue::Integer(i),
        pg3::DbValue::Floating32(f) => SqlValue::Real(f64::from(f)),
        pg3::DbValue::Floating64(f) => SqlValue::Real(f),
        pg3::DbValue::Str(s) => SqlValue::Text(s),
        pg3::DbValue::Binary(b) => SqlValue::Blob(b),
        pg3::DbValue::DbNull => SqlValue::Null,
        other => {
            return Err(StorageError::Decode(format!(
                "PostgreSQL answered {other:?}; the app stores integers, floats, text and bytes only"
            )));
        }
    })
}

/// The failure with the statement (never its parameters) for the log.
fn from_pg(error: pg3::PgError, statement: &str) -> StorageError {
    let (pg3::PgError::QueryFailed(message)
    | pg3::PgError::ConnectionFailed(message)
    | pg3::PgError::BadParameter(message)
    | pg3::PgError::ValueConversionFailed(message)
    | pg3::PgError::Other(message)) = error;
    dialect::classify_postgres(&message, statement)
}

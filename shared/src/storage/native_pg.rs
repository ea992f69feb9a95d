//! The PostgreSQL implementation of the SQL port for native tests and
//! tools, on the `postgres` crate: the same translation
//! ([`dialect::to_postgres`]) and the same value mapping as
//! [`super::spin_pg`], so the whole native suite can run on PostgreSQL
//! (`OMNI_TEST_DATABASE_URL`, see `crate::host::NativeHost`).

use super::dialect::{self, Dialect};
use super::{Rows, Sql, SqlValue, StorageError};
use postgres::types::{ToSql, Type};
use std::cell::{Cell, RefCell};

pub struct NativePg {
    client: RefCell<postgres::Client>,
    units: Cell<u32>,
}

impl NativePg {
    /// Connects to `url`, with `search_path` set to `schema` when given.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Self, StorageError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StorageError::Other(e.to_string()))?;
        if let Some(schema) = schema {
            config.options(&format!("-c search_path={schema}"));
        }
        let client = config
            .connect(postgres::NoTls)
            .map_err(|e| StorageError::Other(e.to_string()))?;
        Ok(NativePg {
            client: RefCell::new(client),
            units: Cell::new(0),
        })
    }
}

impl Sql for NativePg {
    fn open_units(&self) -> &Cell<u32> {
        &self.units
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let mut last = Rows::default();
        for translated in dialect::to_postgres(statement, params)? {
            let bound: Vec<Box<dyn ToSql + Sync>> =
                translated.params.iter().map(to_param).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
            // The same row mark as on Spin (see `dialect::with_row_mark`),
            // so the native suite on PostgreSQL runs the statements Spin runs.
            let text = if dialect::returns_rows(&translated.text) {
                dialect::with_row_mark(&translated.text)
            } else {
                translated.text.clone()
            };
            let found = self
                .client
                .borrow_mut()
                .query(text.as_str(), &refs)
                .map_err(|e| from_pg(e, &translated.text))?;
            let columns: Vec<String> = found
                .first()
                .map(|row| row.columns().iter().map(|c| c.name().to_owned()).collect())
                .unwrap_or_default();
            let mut rows = Vec::with_capacity(found.len());
            for row in &found {
                let mut values = Vec::with_capacity(columns.len());
                for (i, column) in row.columns().iter().enumerate() {
                    values.push(from_pg_value(row, i, column.type_())?);
                }
                rows.push(values);
            }
            last = dialect::without_row_mark(Rows { columns, rows });
        }
        Ok(last)
    }
}

fn to_param(value: &SqlValue) -> Box<dyn ToSql + Sync> {
    match value {
        SqlValue::Integer(i) => Box::new(*i),
        SqlValue::Real(r) => Box::new(*r),
        SqlValue::Text(s) => Box::new(s.clone()),
        SqlValue::Blob(b) => Box::new(b.clone()),
        SqlValue::Null => Box::new(Option::<String>::None),
    }
}

fn from_pg_value(row: &postgres::Row, i: usize, ty: &Type) -> Result<SqlValue, StorageError> {
    let decode = |e: postgres::Error| StorageError::Decode(e.to_string());
    let value = match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(decode)?
            .map(|b| SqlValue::Integer(i64::from(b))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(decode)?
            .map(|v| SqlValue::Integer(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(decode)?
            .map(|v| SqlValue::Integer(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(decode)?
            .map(SqlValue::Integer),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map_err(decode)?
            .map(|v| SqlValue::Real(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map_err(decode)?
            .map(SqlValue::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(i)
            .map_err(decode)?
            .map(SqlValue::Text),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(decode)?
            .map(SqlValue::Blob),
        Type::VOID => None,
        ref other => {
            return Err(StorageError::Decode(format!(
                "PostgreSQL answered a {other} in column {}; the app stores integers, floats, text and bytes only",
                row.columns()[i].name()
            )));
        }
    };
    Ok(value.unwrap_or(SqlValue::Null))
}

/// The failure with PostgreSQL's code and the statement (never its
/// parameters) for the log.
fn from_pg(error: postgres::Error, statement: &str) -> StorageError {
    let message = match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    };
    dialect::classify_postgres(&message, statement)
}

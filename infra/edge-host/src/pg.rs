//! `spin:postgres/postgres@3.0.0`: outbound PostgreSQL, as Spin serves it.
//!
//! - A guest's `open(address)` is checked against the component's
//!   `allowed_outbound_hosts` (`postgres://host:port`, port 5432 when none
//!   is written), as Spin checks it: an address the manifest does not allow
//!   is `connection-failed` before any packet leaves the host.
//! - The connection the guest gets is one pooled client, its own for the
//!   handle's lifetime, so a transaction spanning several calls behaves as on
//!   Spin (which opens a client per `open`).
//! - When the handle goes away (the guest drops it, or the instance traps or
//!   times out and its resources are dropped), the client is given back to
//!   the pool only after `ROLLBACK`: a transaction left open never commits
//!   half its work and never holds its locks past the request. A client whose
//!   connection broke is not given back.
//! - Values map as Spin's `postgres@3.0.0` host maps them (spin's
//!   `factor-outbound-pg`): BOOL, "char", INT2/4/8, FLOAT4/8, TEXT/VARCHAR/
//!   BPCHAR/NAME, BYTEA, DATE, TIME, TIMESTAMP(TZ) in UTC; anything else
//!   reads as `unsupported`. A parameter's Rust type must match the server's
//!   inferred column type (an `int64` for a BIGINT), as on Spin.
//!
//! Divergence: no TLS (`sslmode` is ignored; connections are plain), which
//! suits a database on loopback or a private network, not one across the
//! internet. Spin negotiates TLS where the server offers it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls};
use wasmtime::component::Resource;

use crate::bindings::spin::postgres::postgres::{
    self, Column, DbDataType, DbValue, Error, ParameterValue, RowSet,
};
use crate::state::HostState;

/// Idle clients kept per address; more are closed when given back.
const IDLE_PER_ADDRESS: usize = 16;

/// Connections this node holds open at most, idle or in use: a burst of
/// requests waits for one (up to [`WAIT_FOR_CONNECTION`]) rather than
/// opening one each and running the server out of `max_connections`
/// (three nodes at 32 stay under PostgreSQL's default 100).
const MAX_CONNECTIONS: usize = 32;

/// How long `open` waits for a free connection before it fails.
const WAIT_FOR_CONNECTION: std::time::Duration = std::time::Duration::from_secs(10);

/// A client with its place among [`MAX_CONNECTIONS`].
struct Pooled {
    client: Client,
    _permit: OwnedSemaphorePermit,
}

/// Idle clients by connection string, shared by every request.
pub struct PgPool {
    idle: Mutex<HashMap<String, Vec<Pooled>>>,
    places: Arc<Semaphore>,
}

impl Default for PgPool {
    fn default() -> Self {
        PgPool {
            idle: Mutex::default(),
            places: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

impl PgPool {
    fn take(&self, address: &str) -> Option<Pooled> {
        let mut idle = self.idle.lock().expect("pool lock");
        let clients = idle.get_mut(address)?;
        while let Some(pooled) = clients.pop() {
            if !pooled.client.is_closed() {
                return Some(pooled);
            }
        }
        None
    }

    fn give_back(&self, address: String, pooled: Pooled) {
        if pooled.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().expect("pool lock");
        let clients = idle.entry(address).or_default();
        if clients.len() < IDLE_PER_ADDRESS {
            clients.push(pooled);
        }
    }

    /// A place for one more connection, making room by closing an idle
    /// client of another address when every place is taken.
    async fn place(&self) -> Result<OwnedSemaphorePermit, Error> {
        if let Ok(permit) = Arc::clone(&self.places).try_acquire_owned() {
            return Ok(permit);
        }
        {
            let mut idle = self.idle.lock().expect("pool lock");
            if let Some(clients) = idle.values_mut().find(|c| !c.is_empty()) {
                clients.pop();
            }
        }
        tokio::time::timeout(
            WAIT_FOR_CONNECTION,
            Arc::clone(&self.places).acquire_owned(),
        )
        .await
        .map_err(|_| {
            Error::ConnectionFailed(format!(
                "all {MAX_CONNECTIONS} connections of this node stayed busy for {} s",
                WAIT_FOR_CONNECTION.as_secs()
            ))
        })?
        .map_err(|e| Error::ConnectionFailed(e.to_string()))
    }
}

/// A guest's connection: one client, its own until the handle is dropped.
pub struct PgConnection {
    client: Option<Pooled>,
    address: String,
    pool: Arc<PgPool>,
}

impl Drop for PgConnection {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let (pool, address) = (Arc::clone(&self.pool), std::mem::take(&mut self.address));
        // Dropped on trap or timeout too, perhaps outside a task: roll back
        // whatever the guest left open, then pool the client.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if client.client.batch_execute("ROLLBACK").await.is_ok() {
                    pool.give_back(address, client);
                }
            });
        }
    }
}

/// The host and port an address names (`host=... port=...` or a
/// `postgres://` URL), for the outbound check.
fn target(address: &str) -> Result<(tokio_postgres::Config, String, u16), Error> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|e| Error::ConnectionFailed(format!("invalid address: {e}")))?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => {
            return Err(Error::ConnectionFailed(
                "the address names no TCP host".into(),
            ));
        }
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Ok((config, host, port))
}

impl postgres::Host for HostState {}

impl HostState {
    /// The client a guest's handle owns (`None` cannot happen while the
    /// handle lives; see [`closed`]).
    fn pg_client(
        &mut self,
        connection: &Resource<PgConnection>,
    ) -> wasmtime::Result<Option<&Client>> {
        Ok(self
            .table()
            .get(connection)?
            .client
            .as_ref()
            .map(|p| &p.client))
    }
}

impl postgres::HostConnection for HostState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, Error>> {
        let (config, host, port) = match target(&address) {
            Ok(target) => target,
            Err(e) => return Ok(Err(e)),
        };
        let allowed = &self.component().allowed_outbound_hosts;
        if !allowed.allows("postgres", &host, Some(port)) {
            return Ok(Err(Error::ConnectionFailed(format!(
                "postgres://{host}:{port} is not in allowed_outbound_hosts {allowed}"
            ))));
        }
        let pool = Arc::clone(&self.services().pg);
        let client = match pool.take(&address) {
            Some(pooled) => pooled,
            None => {
                let permit = match pool.place().await {
                    Ok(permit) => permit,
                    Err(e) => return Ok(Err(e)),
                };
                match config.connect(NoTls).await {
                    Ok((client, connection)) => {
                        tokio::spawn(async move {
                            let _ = connection.await;
                        });
                        Pooled {
                            client,
                            _permit: permit,
                        }
                    }
                    Err(e) => return Ok(Err(Error::ConnectionFailed(e.to_string()))),
                }
            }
        };
        Ok(Ok(self.table().push(PgConnection {
            client: Some(client),
            address,
            pool,
        })?))
    }

    async fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        let Some(client) = self.pg_client(&connection)? else {
            return Ok(Err(closed()));
        };
        let params: Vec<Param> = params.into_iter().map(Param).collect();
        let refs = Param::refs(&params);
        let statement = match client.prepare(&statement).await {
            Ok(statement) => statement,
            Err(e) => return Ok(Err(Error::QueryFailed(e.to_string()))),
        };
        let rows = match client.query(&statement, &refs).await {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(query_error(e))),
        };
        let columns: Vec<Column> = statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                data_type: data_type(c.type_()),
            })
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                match db_value(row, i, column.type_()) {
                    Ok(value) => values.push(value),
                    Err(e) => return Ok(Err(Error::ValueConversionFailed(e.to_string()))),
                }
            }
            out.push(values);
        }
        Ok(Ok(RowSet { columns, rows: out }))
    }

    async fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let Some(client) = self.pg_client(&connection)? else {
            return Ok(Err(closed()));
        };
        let params: Vec<Param> = params.into_iter().map(Param).collect();
        let refs = Param::refs(&params);
        Ok(client
            .execute(statement.as_str(), &refs)
            .await
            .map_err(query_error))
    }

    async fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        // Dropping the handle rolls back and pools the client (see Drop).
        self.table().delete(connection)?;
        Ok(())
    }
}

/// A handle whose client is gone (it cannot be: the client lives as long
/// as the handle; kept as an error rather than a panic).
fn closed() -> Error {
    Error::ConnectionFailed("the connection is closed".into())
}

fn query_error(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::QueryFailed(format!("{}: {}", db.code().code(), db.message())),
        None if e.to_string().contains("serializing parameter") => {
            Error::BadParameter(e.to_string())
        }
        None => Error::QueryFailed(e.to_string()),
    }
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        _ => DbDataType::Other,
    }
}

fn db_value(
    row: &tokio_postgres::Row,
    i: usize,
    ty: &Type,
) -> Result<DbValue, tokio_postgres::Error> {
    fn or_null<T>(value: Option<T>, wrap: impl FnOnce(T) -> DbValue) -> DbValue {
        value.map_or(DbValue::DbNull, wrap)
    }
    Ok(match *ty {
        Type::BOOL => or_null(row.try_get::<_, Option<bool>>(i)?, DbValue::Boolean),
        Type::CHAR => or_null(row.try_get::<_, Option<i8>>(i)?, DbValue::Int8),
        Type::INT2 => or_null(row.try_get::<_, Option<i16>>(i)?, DbValue::Int16),
        Type::INT4 => or_null(row.try_get::<_, Option<i32>>(i)?, DbValue::Int32),
        Type::INT8 => or_null(row.try_get::<_, Option<i64>>(i)?, DbValue::Int64),
        Type::FLOAT4 => or_null(row.try_get::<_, Option<f32>>(i)?, DbValue::Floating32),
        Type::FLOAT8 => or_null(row.try_get::<_, Option<f64>>(i)?, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            or_null(row.try_get::<_, Option<String>>(i)?, DbValue::Str)
        }
        Type::BYTEA => or_null(row.try_get::<_, Option<Vec<u8>>>(i)?, DbValue::Binary),
        Type::DATE => or_null(row.try_get::<_, Option<NaiveDate>>(i)?, |d| {
            DbValue::Date((d.year(), d.month() as u8, d.day() as u8))
        }),
        Type::TIME => or_null(row.try_get::<_, Option<NaiveTime>>(i)?, |t| {
            DbValue::Time((
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond(),
            ))
        }),
        Type::TIMESTAMP => or_null(row.try_get::<_, Option<NaiveDateTime>>(i)?, datetime),
        Type::TIMESTAMPTZ => or_null(
            row.try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)?,
            |t| datetime(t.naive_utc()),
        ),
        _ => DbValue::Unsupported,
    })
}

fn datetime(t: NaiveDateTime) -> DbValue {
    DbValue::Datetime((
        t.year(),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        t.nanosecond(),
    ))
}

/// A guest's parameter as tokio-postgres sends it.
#[derive(Debug)]
struct Param(ParameterValue);

impl Param {
    /// The parameters as tokio-postgres takes them.
    fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
        params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let bad = |what: &str| -> Box<dyn std::error::Error + Sync + Send> {
            format!("invalid {what}").into()
        };
        match &self.0 {
            ParameterValue::Boolean(v) => v.to_sql_checked(ty, out),
            ParameterValue::Int8(v) => v.to_sql_checked(ty, out),
            ParameterValue::Int16(v) => v.to_sql_checked(ty, out),
            ParameterValue::Int32(v) => v.to_sql_checked(ty, out),
            ParameterValue::Int64(v) => v.to_sql_checked(ty, out),
            ParameterValue::Floating32(v) => v.to_sql_checked(ty, out),
            ParameterValue::Floating64(v) => v.to_sql_checked(ty, out),
            ParameterValue::Str(v) => v.to_sql_checked(ty, out),
            ParameterValue::Binary(v) => v.to_sql_checked(ty, out),
            ParameterValue::Date((y, m, d)) => {
                NaiveDate::from_ymd_opt(*y, u32::from(*m), u32::from(*d))
                    .ok_or_else(|| bad("date"))?
                    .to_sql_checked(ty, out)
            }
            ParameterValue::Time((h, m, s, ns)) => {
                NaiveTime::from_hms_nano_opt(u32::from(*h), u32::from(*m), u32::from(*s), *ns)
                    .ok_or_else(|| bad("time"))?
                    .to_sql_checked(ty, out)
            }
            ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
                let date = NaiveDate::from_ymd_opt(*y, u32::from(*mo), u32::from(*d))
                    .ok_or_else(|| bad("date"))?;
                let time =
                    NaiveTime::from_hms_nano_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *ns)
                        .ok_or_else(|| bad("time"))?;
                let at = NaiveDateTime::new(date, time);
                if *ty == Type::TIMESTAMPTZ {
                    at.and_utc().to_sql_checked(ty, out)
                } else {
                    at.to_sql_checked(ty, out)
                }
            }
            ParameterValue::Timestamp(v) => v.to_sql_checked(ty, out),
            ParameterValue::DbNull => Ok(IsNull::Yes),
        }
    }

    /// Any column type: the value's own `to_sql` refuses a mismatch (as
    /// "error serializing parameter"), which is what Spin answers too.
    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

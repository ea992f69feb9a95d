//! The host capabilities one request runs with, behind one narrow trait.
//!
//! A component handler receives `&dyn Host` and never names Spin: on wasm32
//! [`SpinHost`] opens Spin's `default` database and key-value store; in native
//! tests [`NativeHost`] opens files in a temporary directory. Both open lazily
//! (a health check touches no storage) and migrate the schema on the first
//! SQL use, which is how the app works under `spin up` with no set-up step.

use crate::clock::Clock;
use crate::storage::{KeyValue, Sql, StorageError};
use std::cell::OnceCell;

pub trait Host {
    /// The shared `default` SQLite database, migrated to the latest schema.
    fn sql(&self) -> Result<&dyn Sql, StorageError>;
    /// The `default` key-value store.
    fn key_value(&self) -> Result<&dyn KeyValue, StorageError>;
    /// A Spin variable declared for the component; `None` when undefined.
    fn variable(&self, name: &str) -> Result<Option<String>, StorageError>;
    fn clock(&self) -> &dyn Clock;
}

/// Opens `slot`'s value once per request, keeping the first error visible to
/// every caller rather than retrying a failing open on each statement.
fn open_once<'a, T>(
    slot: &'a OnceCell<Result<T, StorageError>>,
    open: impl FnOnce() -> Result<T, StorageError>,
) -> Result<&'a T, StorageError> {
    slot.get_or_init(open).as_ref().map_err(Clone::clone)
}

#[cfg(target_arch = "wasm32")]
pub use spin_host::SpinHost;

#[cfg(target_arch = "wasm32")]
mod spin_host {
    use super::*;
    use crate::clock::SystemClock;
    use crate::storage::spin::{SpinKeyValue, SpinSql};
    use crate::storage::spin_pg::SpinPg;

    /// The capabilities Spin grants through the component's manifest entry.
    #[derive(Default)]
    pub struct SpinHost {
        sql: OnceCell<Result<Box<dyn Sql>, StorageError>>,
        key_value: OnceCell<Result<SpinKeyValue, StorageError>>,
    }

    impl Host for SpinHost {
        fn sql(&self) -> Result<&dyn Sql, StorageError> {
            open_once(&self.sql, || {
                // No per-request `PRAGMA synchronous`: a runtime that pools
                // connections (the local edge host) sets it once per
                // connection and treats a guest's PRAGMA as a session change
                // that forbids reuse, which costs a connection per request.
                let sql: Box<dyn Sql> = match database_url(self)? {
                    Some(url) => {
                        let sql = SpinPg::open(&url)?;
                        // A far database costs two round trips for the
                        // version check alone; the key-value store (local,
                        // or the region's Redis) remembers that this
                        // database is at this build's version.
                        let marker = schema_marker(&url);
                        let store = self.key_value().ok();
                        let known = store.is_some_and(|kv| matches!(kv.get(&marker), Ok(Some(_))));
                        if !known {
                            crate::schema::apply(&sql)?;
                            if let Some(kv) = store {
                                let _ = kv.set(&marker, b"current");
                            }
                        }
                        Box::new(sql)
                    }
                    None => {
                        let sql = SpinSql::open_default()?;
                        crate::schema::apply(&sql)?;
                        Box::new(sql)
                    }
                };
                Ok(sql)
            })
            .map(|s| s.as_ref())
        }

        fn key_value(&self) -> Result<&dyn KeyValue, StorageError> {
            open_once(&self.key_value, SpinKeyValue::open_default).map(|s| s as &dyn KeyValue)
        }

        fn variable(&self, name: &str) -> Result<Option<String>, StorageError> {
            match spin_sdk::variables::get(name) {
                Ok(value) => Ok(Some(value)),
                Err(spin_sdk::variables::Error::Undefined(_)) => Ok(None),
                Err(other) => Err(StorageError::Other(format!("variable {name}: {other}"))),
            }
        }

        fn clock(&self) -> &dyn Clock {
            &SystemClock
        }
    }
}

/// The PostgreSQL database a deployment names (the `database_url`
/// variable); `None`, the default, keeps the embedded SQLite database.
fn database_url(host: &dyn Host) -> Result<Option<String>, StorageError> {
    Ok(host
        .variable(DATABASE_URL)?
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty()))
}

/// The Spin variable naming the PostgreSQL database.
pub const DATABASE_URL: &str = "database_url";

/// The key-value key (family `omni:schema:*`) saying that the database
/// `url` names is at this build's schema version, so a request skips the
/// version check. It names the database by a digest of its URL and the
/// version, so a new build (or another database) misses it and checks; if
/// it is lost, the next request checks again. Only restoring an older
/// backup under the same URL needs the family deleted (DEPLOY.md).
pub fn schema_marker(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("omni:schema:{hex}:v{}", crate::schema::latest_version())
}

#[cfg(not(target_arch = "wasm32"))]
pub use native_host::{NativeHost, TEST_DATABASE_ENV};

#[cfg(not(target_arch = "wasm32"))]
mod native_host {
    use super::*;
    use crate::clock::FixedClock;
    use crate::storage::native::{NativeKeyValue, SqliteDb};
    use crate::storage::native_pg::NativePg;
    use chrono::{DateTime, Utc};
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    /// Files in a directory standing in for Spin's state directory, variables
    /// from a map, and a clock the test sets. Several `NativeHost`s over the
    /// same directory behave like concurrent requests: each has its own
    /// connection.
    pub struct NativeHost {
        state_dir: PathBuf,
        variables: HashMap<String, String>,
        clock: FixedClock,
        sql: OnceCell<Result<Box<dyn Sql + Send>, StorageError>>,
        key_value: OnceCell<Result<NativeKeyValue, StorageError>>,
    }

    /// The PostgreSQL server the native suite runs on instead of SQLite
    /// when set (each test's state directory becomes a schema of its own).
    pub const TEST_DATABASE_ENV: &str = "OMNI_TEST_DATABASE_URL";

    impl NativeHost {
        pub fn new(state_dir: &Path, now: DateTime<Utc>) -> Self {
            NativeHost {
                state_dir: state_dir.to_owned(),
                variables: HashMap::new(),
                clock: FixedClock::at(now),
                sql: OnceCell::new(),
                key_value: OnceCell::new(),
            }
        }

        pub fn with_variable(mut self, name: &str, value: &str) -> Self {
            self.variables.insert(name.to_owned(), value.to_owned());
            self
        }

        /// The schema standing in for this state directory on the test
        /// server, created on first use.
        fn test_schema(&self, url: &str) -> Result<String, StorageError> {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.state_dir.hash(&mut hasher);
            let schema = format!("t_{:016x}", hasher.finish());
            let admin = NativePg::connect(url, None)?;
            // Two first requests of one test may race to create it.
            for _ in 0..5 {
                match admin.execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"), &[]) {
                    Ok(_) => return Ok(schema),
                    Err(StorageError::Constraint(_)) => continue,
                    Err(other) => return Err(other),
                }
            }
            Ok(schema)
        }

        /// The fixed clock, for tests that move time between calls.
        pub fn fixed_clock(&self) -> &FixedClock {
            &self.clock
        }

        /// Another request's view of the same state: fresh connections, the
        /// same variables and the same instant.
        pub fn another_request(&self) -> Self {
            NativeHost {
                state_dir: self.state_dir.clone(),
                variables: self.variables.clone(),
                clock: FixedClock::at(self.clock.now()),
                sql: OnceCell::new(),
                key_value: OnceCell::new(),
            }
        }
    }

    impl Host for NativeHost {
        fn sql(&self) -> Result<&dyn Sql, StorageError> {
            open_once(&self.sql, || {
                let sql: Box<dyn Sql + Send> =
                    match (database_url(self)?, std::env::var(TEST_DATABASE_ENV)) {
                        (Some(url), _) => Box::new(NativePg::connect(&url, None)?),
                        (None, Ok(url)) if !url.is_empty() => {
                            Box::new(NativePg::connect(&url, Some(&self.test_schema(&url)?))?)
                        }
                        _ => Box::new(SqliteDb::at(self.state_dir.join("sqlite_db.db")).connect()?),
                    };
                crate::schema::apply(sql.as_ref())?;
                Ok(sql)
            })
            .map(|s| s.as_ref() as &dyn Sql)
        }

        fn key_value(&self) -> Result<&dyn KeyValue, StorageError> {
            open_once(&self.key_value, || {
                NativeKeyValue::open(self.state_dir.join("sqlite_key_value.db"))
            })
            .map(|s| s as &dyn KeyValue)
        }

        fn variable(&self, name: &str) -> Result<Option<String>, StorageError> {
            Ok(self.variables.get(name).cloned())
        }

        fn clock(&self) -> &dyn Clock {
            &self.clock
        }
    }
}

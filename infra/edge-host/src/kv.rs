//! `fermyon:spin/key-value@2.0.0`: the `default` store, kept in
//! `<state-dir>/sqlite_key_value.db` in the table layout Spin itself uses, so
//! a state directory written by edge-host can be opened by `spin up` and the
//! other way round; or, with a runtime configuration of `type = "redis"`, in
//! Redis with every key as is (as Spin's Redis store keeps them), so nodes
//! share it.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin::key_value::{self, Error};
use crate::db::Database;
use crate::state::HostState;

/// Spin's key-value schema (crates/key-value-spin), byte-compatible.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
)";

/// How many stores one instance may hold open at once (Spin's table size).
const MAX_OPEN_STORES: usize = 256;

/// Where the `default` store's data is.
pub enum KvBackend {
    /// SQLite in Spin's layout.
    Sqlite(Arc<Database>),
    /// A Redis server; connected on first use and reconnected by the
    /// connection manager after a failure (as Spin does).
    Redis {
        client: redis::Client,
        connection: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    },
}

impl KvBackend {
    /// A Redis backend for `url` (checked now, connected on first use).
    pub fn redis(url: &str) -> Result<KvBackend, redis::RedisError> {
        Ok(KvBackend::Redis {
            client: redis::Client::open(url)?,
            connection: tokio::sync::OnceCell::new(),
        })
    }

    /// Closes the SQLite pool at shutdown (Redis needs nothing).
    pub fn shutdown(&self) {
        if let KvBackend::Sqlite(db) = self {
            db.shutdown();
        }
    }

    async fn redis_connection(
        client: &redis::Client,
        connection: &tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    ) -> Result<redis::aio::ConnectionManager, Error> {
        connection
            .get_or_try_init(|| client.get_connection_manager())
            .await
            .cloned()
            .map_err(|e| Error::Other(format!("redis: {e}")))
    }
}

/// An open key-value store handle held by a guest.
pub struct KvStore {
    label: String,
}

/// One store operation, on whichever backend holds the store.
enum Op {
    Get(String),
    Set(String, Vec<u8>),
    Delete(String),
    Exists(String),
    Keys,
}

/// What an [`Op`] answers.
enum Answer {
    Value(Option<Vec<u8>>),
    Done,
    Exists(bool),
    Keys(Vec<String>),
}

impl HostState {
    async fn kv(
        &mut self,
        store: &Resource<KvStore>,
        op: Op,
    ) -> wasmtime::Result<Result<Answer, Error>> {
        let label = self.table().get(store)?.label.clone();
        let services = self.services();
        let backend = services
            .kv
            .as_ref()
            .ok_or_else(|| wasmtime::format_err!("key-value store used without a backend"))?;
        Ok(match backend {
            KvBackend::Sqlite(db) => sqlite_op(db.clone(), label, op).await,
            KvBackend::Redis { client, connection } => {
                match KvBackend::redis_connection(client, connection).await {
                    Ok(connection) => redis_op(connection, op).await,
                    Err(e) => Err(e),
                }
            }
        })
    }
}

async fn sqlite_op(db: Arc<Database>, label: String, op: Op) -> Result<Answer, Error> {
    blocking(db, move |c| match op {
        Op::Get(key) => c
            .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .query_row(params![label, key], |r| r.get(0))
            .optional()
            .map(Answer::Value),
        Op::Set(key, value) => c
            .prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![label, key, value])
            .map(|_| Answer::Done),
        Op::Delete(key) => c
            .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .execute(params![label, key])
            .map(|_| Answer::Done),
        Op::Exists(key) => c
            .prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .exists(params![label, key])
            .map(Answer::Exists),
        Op::Keys => c
            .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?
            .query_map(params![label], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map(Answer::Keys),
    })
    .await
}

/// The same operations as Spin's Redis store: `GET`, `SET`, `DEL`,
/// `EXISTS`, `KEYS *`.
async fn redis_op(mut connection: redis::aio::ConnectionManager, op: Op) -> Result<Answer, Error> {
    use redis::AsyncCommands;
    let failed = |e: redis::RedisError| Error::Other(format!("redis: {e}"));
    match op {
        Op::Get(key) => connection
            .get::<_, Option<Vec<u8>>>(key)
            .await
            .map(Answer::Value)
            .map_err(failed),
        Op::Set(key, value) => connection
            .set::<_, _, ()>(key, value)
            .await
            .map(|()| Answer::Done)
            .map_err(failed),
        Op::Delete(key) => connection
            .del::<_, ()>(key)
            .await
            .map(|()| Answer::Done)
            .map_err(failed),
        Op::Exists(key) => connection
            .exists::<_, bool>(key)
            .await
            .map(Answer::Exists)
            .map_err(failed),
        Op::Keys => connection
            .keys::<_, Vec<String>>("*")
            .await
            .map(Answer::Keys)
            .map_err(failed),
    }
}

/// Runs one key-value statement on a pooled connection, off the async
/// executor's threads.
async fn blocking<T: Send + 'static>(
    db: Arc<Database>,
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || {
        let conn = db.checkout()?;
        f(&conn)
    })
    .await
    .map_err(|e| Error::Other(e.to_string()))?
    .map_err(|e| Error::Other(e.to_string()))
}

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<KvStore>, Error>> {
        // As in Spin: a label the manifest does not grant is access-denied,
        // whether or not such a store exists.
        if !self.component().key_value_stores.contains(&label) {
            return Ok(Err(Error::AccessDenied));
        }
        if self.services().kv.is_none() {
            return Ok(Err(Error::NoSuchStore));
        }
        if self.open_kv_stores >= MAX_OPEN_STORES {
            return Ok(Err(Error::StoreTableFull));
        }
        self.open_kv_stores += 1;
        Ok(Ok(self.table().push(KvStore { label })?))
    }

    async fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        Ok(self.kv(&store, Op::Get(key)).await?.map(|a| match a {
            Answer::Value(v) => v,
            _ => None,
        }))
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(self.kv(&store, Op::Set(key, value)).await?.map(drop))
    }

    async fn delete(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(self.kv(&store, Op::Delete(key)).await?.map(drop))
    }

    async fn exists(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        Ok(self
            .kv(&store, Op::Exists(key))
            .await?
            .map(|a| matches!(a, Answer::Exists(true))))
    }

    async fn get_keys(
        &mut self,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        Ok(self.kv(&store, Op::Keys).await?.map(|a| match a {
            Answer::Keys(keys) => keys,
            _ => Vec::new(),
        }))
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table().delete(store)?;
        self.open_kv_stores = self.open_kv_stores.saturating_sub(1);
        Ok(())
    }
}

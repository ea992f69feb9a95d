//! `fermyon:spin/key-value@2.0.0`: the `default` store, kept in
//! `<state-dir>/sqlite_key_value.db` in the table layout Spin itself uses, so
//! a state directory written by edge-host can be opened by `spin up` and the
//! other way round.

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

/// An open key-value store handle held by a guest.
pub struct KvStore {
    label: String,
}

impl HostState {
    fn kv_store(&mut self, store: &Resource<KvStore>) -> wasmtime::Result<(Arc<Database>, String)> {
        let label = self.table().get(store)?.label.clone();
        let db = self
            .services()
            .kv
            .clone()
            .ok_or_else(|| wasmtime::format_err!("key-value store used without a database"))?;
        Ok((db, label))
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
        let (db, label) = self.kv_store(&store)?;
        Ok(blocking(db, move |c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![label, key], |r| r.get(0))
                .optional()
        })
        .await)
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let (db, label) = self.kv_store(&store)?;
        Ok(blocking(db, move |c| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![label, key, value])
            .map(drop)
        })
        .await)
    }

    async fn delete(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let (db, label) = self.kv_store(&store)?;
        Ok(blocking(db, move |c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![label, key])
                .map(drop)
        })
        .await)
    }

    async fn exists(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let (db, label) = self.kv_store(&store)?;
        Ok(blocking(db, move |c| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists(params![label, key])
        })
        .await)
    }

    async fn get_keys(
        &mut self,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let (db, label) = self.kv_store(&store)?;
        Ok(blocking(db, move |c| {
            c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?
                .query_map(params![label], |r| r.get(0))?
                .collect()
        })
        .await)
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table().delete(store)?;
        self.open_kv_stores = self.open_kv_stores.saturating_sub(1);
        Ok(())
    }
}

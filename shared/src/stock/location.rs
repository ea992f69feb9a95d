//! Locations as the catalog stored them: read, never written, here.
//!
//! Why parse the stored row on every use rather than cache it? Spin gives
//! each request a fresh instance, so a cache would live in key-value and
//! could be stale after the back office edits a store's hours; parsing one
//! row costs microseconds, so reads parse only the stores they answer with.

use super::StockError;
use crate::catalog::Store;
use crate::ids::StoreId;
use crate::storage::{Sql, SqlValue, StorageError};
use std::collections::HashMap;

/// The location with this id, or [`StockError::UnknownStore`].
pub fn load_store(sql: &dyn Sql, id: &StoreId) -> Result<Store, StockError> {
    let rows = sql.execute(
        "SELECT data FROM stores WHERE id = ?1",
        &[id.as_str().into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StockError::UnknownStore(id.clone()))?;
    Ok(decode(row.text("data")?)?)
}

/// The locations among `ids` that exist, by id.
pub fn load_stores(
    sql: &dyn Sql,
    ids: &[StoreId],
) -> Result<HashMap<StoreId, Store>, StorageError> {
    let mut stores = HashMap::with_capacity(ids.len());
    // SQLite's default limit on host parameters is 32,766; chunks keep well
    // under it whatever the caller passes.
    for chunk in ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let params: Vec<SqlValue> = chunk.iter().map(|id| id.as_str().into()).collect();
        let rows = sql.execute(
            &format!("SELECT data FROM stores WHERE id IN ({placeholders})"),
            &params,
        )?;
        for row in rows.iter() {
            let store = decode(row.text("data")?)?;
            stores.insert(store.id().clone(), store);
        }
    }
    Ok(stores)
}

fn decode(data: &str) -> Result<Store, StorageError> {
    serde_json::from_str(data).map_err(|e| StorageError::Decode(format!("stored store: {e}")))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::stock::test_support::db;

    #[test]
    fn stores_load_by_id_and_unknown_ones_are_named() {
        let db = db();
        let sql = db.connect();
        let s1 = StoreId::parse("s1").unwrap();
        assert_eq!(load_store(&sql, &s1).unwrap().id(), &s1);
        let nope = StoreId::parse("NOPE").unwrap();
        assert_eq!(
            load_store(&sql, &nope).unwrap_err(),
            StockError::UnknownStore(nope.clone())
        );
        let found = load_stores(&sql, &[s1.clone(), nope]).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found.contains_key(&s1));
    }
}

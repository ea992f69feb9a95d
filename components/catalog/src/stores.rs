//! Stores and warehouses: bulk upsert by operators, reads for every channel.

use crate::batch;
use omni_shared::catalog::{FieldError, Store, StoreRow};
use omni_shared::ids::StoreId;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Sql, StorageError};
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// `POST /api/catalog/stores` `{"stores": [StoreRow...]}`.
pub fn upsert(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    batch::upsert::<StoreRow, Store>(ctx, "stores", write)
}

/// The location's coordinates and kind are columns (for "stores near me"
/// lookups); the rest is the canonical wire row.
fn write(sql: &dyn Sql, store: &Store, now: &str) -> Result<Option<FieldError>, StorageError> {
    let data = serde_json::to_string(store).map_err(|e| StorageError::Decode(e.to_string()))?;
    let geo = store.geo();
    sql.execute(
        "INSERT INTO stores (id, kind, lat, lon, data, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, lat = excluded.lat,
             lon = excluded.lon, data = excluded.data, updated_at = excluded.updated_at",
        &[
            store.id().as_str().into(),
            store.kind().as_str().into(),
            omni_shared::storage::SqlValue::Real(geo.lat()),
            omni_shared::storage::SqlValue::Real(geo.lon()),
            data.into(),
            now.into(),
        ],
    )?;
    Ok(None)
}

/// `GET /api/catalog/stores/{store_id}`.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let id =
        StoreId::parse(ctx.param("store_id")).map_err(|e| Problem::not_found(e.to_string()))?;
    let rows = ctx.sql()?.execute(
        "SELECT data FROM stores WHERE id = ?1",
        &[id.as_str().into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| Problem::not_found(format!("no store with id {id}")))?;
    Ok(json_response(200, &stored(row.text("data")?)?))
}

/// `GET /api/catalog/stores?limit=100&cursor=C`: the locations in id order,
/// a page at a time like every list (a retailer with a few hundred stores
/// gets them in one or two pages).
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let query = Query::parse(ctx.req.query())?.only(&["limit", "cursor"])?;
    let page = PageRequest::parse(query.get("limit"), query.get("cursor"), 100, 500, 1)?;
    let rows = ctx.sql()?.execute(
        "SELECT id, data FROM stores WHERE id > ?1 ORDER BY id LIMIT ?2",
        &[page.after_part(0).unwrap_or("").into(), page.fetch().into()],
    )?;
    let mut stores = rows
        .iter()
        .map(|r| Ok((r.text("id")?.to_owned(), stored(r.text("data")?)?)))
        .collect::<Result<Vec<_>, StorageError>>()?;
    let next_cursor = page.finish(&mut stores, |(id, _)| vec![id.clone()]);
    let stores: Vec<Value> = stores.into_iter().map(|(_, store)| store).collect();
    Ok(json_response(
        200,
        &json!({ "stores": stores, "next_cursor": next_cursor }),
    ))
}

fn stored(data: &str) -> Result<Value, StorageError> {
    serde_json::from_str(data).map_err(|e| StorageError::Decode(e.to_string()))
}

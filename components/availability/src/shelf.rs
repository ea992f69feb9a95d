//! A shelf's full numbers and a location's stock settings, for the store's
//! staff and the back office (shoppers see ATP and a label, never counts).
//!
//! `GET /api/stores/{store_id}/stock/{sku}`,
//! `GET|PUT /api/stores/{store_id}/stock-settings` (PUT with `If-Match`).

use crate::basket::field_problem;
use crate::nearby::merge;
use crate::render;
use omni_shared::auth::Caller;
use omni_shared::catalog::Store;
use omni_shared::ids::{Sku, StoreId};
use omni_shared::pipeline::Ctx;
use omni_shared::stock::{
    SettingsSaved, StockSettings, StockSettingsRow, level_at, load_settings, load_store,
    save_settings,
};
use omni_shared::web::{IfMatch, Problem, json_response, parse_json, with_etag};
use serde_json::{Value, json};
use spin_sdk::http::Response;

pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let store = staff_store(ctx)?;
    let sku = Sku::parse(ctx.param("sku")).map_err(|e| Problem::not_found(e.to_string()))?;
    let sql = ctx.sql()?;
    if sql
        .execute(
            "SELECT 1 AS known FROM catalog_items WHERE sku = ?1",
            &[sku.as_str().into()],
        )?
        .is_empty()
    {
        return Err(Problem::not_found(format!(
            "the catalog has no item with SKU {sku}"
        )));
    }
    let level = level_at(sql, store.id(), &sku, ctx.now())?;
    let (settings, _) = load_settings(sql, &store)?;
    let mut body = json!({
        "store_id": store.id(),
        "sku": sku,
        "on_hand": level.on_hand(),
        "reserved": level.reserved(),
        "display_min": level.display_min(),
        "low_stock_threshold": settings.low_stock_threshold(),
    });
    merge(
        &mut body,
        render::availability(&level, settings.low_stock_threshold()),
    );
    Ok(json_response(200, &body))
}

pub fn get_settings(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let store = staff_store(ctx)?;
    let (settings, version) = load_settings(ctx.sql()?, &store)?;
    Ok(with_etag(
        json_response(200, &settings_json(&store, settings)),
        version,
    ))
}

/// Replaces the settings; `If-Match` is required (`"v0"` or `*` for a
/// location still on the defaults), so two operators cannot silently
/// overwrite each other.
pub fn put_settings(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let if_match = IfMatch::from_request(ctx.req)?.require()?;
    let row: StockSettingsRow = parse_json(ctx.req)?;
    let settings = StockSettings::try_from(row).map_err(field_problem)?;
    let id =
        StoreId::parse(ctx.param("store_id")).map_err(|e| Problem::not_found(e.to_string()))?;
    let sql = ctx.sql()?;
    let store = load_store(sql, &id)?;
    match save_settings(
        sql,
        &store,
        settings,
        |current| if_match.matches(current),
        ctx.now(),
    )? {
        SettingsSaved::Saved(version) => Ok(with_etag(
            json_response(200, &settings_json(&store, settings)),
            version,
        )),
        SettingsSaved::Stale(current) => {
            let (now_settings, _) = load_settings(sql, &store)?;
            Err(if_match
                .check(current)
                .err()
                .unwrap_or_else(|| {
                    Problem::precondition_failed("the settings changed; reload them and retry")
                })
                .with_extension("current", settings_json(&store, now_settings)))
        }
    }
}

fn settings_json(store: &Store, settings: StockSettings) -> Value {
    json!({
        "store_id": store.id(),
        "display_min": settings.display_min(),
        "low_stock_threshold": settings.low_stock_threshold(),
    })
}

/// The location in the path, for ops or a device of that very store. A
/// device of another store gets 403: which stores exist is public anyway.
fn staff_store(ctx: &Ctx<'_>) -> Result<Store, Problem> {
    let id =
        StoreId::parse(ctx.param("store_id")).map_err(|e| Problem::not_found(e.to_string()))?;
    match ctx.caller()? {
        Caller::Ops { .. } => {}
        caller => caller.require_store_for(&id)?,
    }
    Ok(load_store(ctx.sql()?, &id)?)
}

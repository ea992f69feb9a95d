//! "Is it really there?": one SKU across the stores near a point, nearest
//! first, each with what it can promise and when it would be ready.
//!
//! `GET /api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.23&lon=21.01&radius_km=25&limit=20&quantity=1`
//!
//! Whether a store can hand the item over is the same question the basket
//! lookup, the fulfilment options and a reservation answer, with the same
//! rules in the same words (see [`crate::basket::Pickup`]): the item must be
//! sold on a shop floor (an online-only item is never handed over in a
//! store, wherever it is stocked), the store must offer click & collect,
//! hold enough units and have a pickup slot ahead. A store that cannot has
//! `can_pick_up: false`, `ready_by: null` and `reasons` in plain words; the
//! top-level `collectable` says whether the item can be picked up in any
//! store at all.

use crate::basket::Pickup;
use crate::query::Query;
use crate::render;
use omni_shared::catalog::Assortment;
use omni_shared::channel::Channel;
use omni_shared::ids::Sku;
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::Quantity;
use omni_shared::stock::{PickingLoad, shelves_near, timestamp};
use omni_shared::web::{Problem, json_response};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// A "near me" search for one item wants a few nearby stores, not a map of
/// the network.
const DEFAULT_RADIUS_KM: f64 = 25.0;
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

pub fn lookup(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let mut query = Query::parse(ctx.req.query())?;
    let sku = Sku::parse(&query.required("sku")?)
        .map_err(|e| Problem::bad_request(format!("sku: {e}")))?;
    let origin = query.point()?;
    let radius = query.radius(DEFAULT_RADIUS_KM)?;
    let limit = query.whole("limit", 1..=MAX_LIMIT, DEFAULT_LIMIT)?;
    let quantity = query.whole("quantity", 1..=Quantity::DEFAULT_MAX_PER_LINE, 1)?;
    query.finish("sku, lat, lon, radius_km, limit or quantity")?;
    let quantity = Quantity::parse(i64::from(quantity))
        .map_err(|e| Problem::bad_request(format!("quantity: {e}")))?;

    let sql = ctx.sql()?;
    let item = sql.execute(
        "SELECT assortment FROM catalog_items WHERE sku = ?1",
        &[sku.as_str().into()],
    )?;
    let assortment = item
        .first()
        .ok_or_else(|| Problem::not_found(format!("the catalog has no item with SKU {sku}")))?;
    let assortment = Assortment::parse(assortment.text("assortment")?)
        .map_err(|e| omni_shared::storage::StorageError::Decode(e.to_string()))?;
    // Handed over on a shop floor: the assortment rule of a till, as for a
    // reservation.
    let collectable = assortment.sold_in(Channel::Pos);
    let now = ctx.now();
    let shelves = shelves_near(sql, &sku, origin, radius, limit as usize, now)?;
    let ids: Vec<_> = shelves.iter().map(|s| s.store.id()).collect();
    let load = PickingLoad::load(sql, &ids, now)?;
    let mut found = Vec::with_capacity(shelves.len());
    for shelf in &shelves {
        let store = &shelf.store;
        let enough = shelf.level.covers(quantity);
        let mut pickup = Pickup::at(store);
        pickup.line(&sku, quantity, &shelf.level, collectable.as_ref().err());
        let promise = if pickup.possible() {
            load.ready_by(store, now)
        } else {
            None
        };
        let reasons = pickup.finish(store, promise.is_some());
        let mut entry = render::store_summary(store);
        merge(
            &mut entry,
            render::availability(&shelf.level, shelf.low_stock_threshold),
        );
        merge(
            &mut entry,
            json!({
                "distance_km": render::km(shelf.distance_km),
                "enough": enough,
                "can_pick_up": promise.is_some(),
                "ready_by": promise.map(|p| timestamp(p.ready_by)),
                "picking_date": promise.map(|p| p.picking_date.to_string()),
                "reasons": reasons,
            }),
        );
        found.push(entry);
    }
    Ok(json_response(
        200,
        &json!({
            "sku": sku,
            "assortment": assortment.as_str(),
            "collectable": collectable.is_ok(),
            "quantity": quantity,
            "origin": origin,
            "radius_km": radius.km(),
            "stores": found,
        }),
    ))
}

/// Adds `extra`'s members to `target` (both objects).
pub fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

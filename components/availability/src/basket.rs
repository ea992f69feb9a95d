//! A basket at one store: what each line can promise there and whether the
//! whole basket can be picked up, and by when.
//!
//! `POST /api/availability/basket` `{"store_id": "WAW-01", "lines": [{"sku", "quantity"}...]}`
//! (a POST because a 50-line basket does not belong in a URL; it changes
//! nothing).

use crate::nearby::merge;
use crate::render;
use omni_shared::catalog::{FieldError, Service, StoreKind};
use omni_shared::channel::Channel;
use omni_shared::ids::StoreId;
use omni_shared::pipeline::Ctx;
use omni_shared::stock::{
    Basket, BasketLineRow, StockLevel, assortments, levels_at, load_settings, load_store, ready_by, timestamp,
};
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::{Value, json};
use spin_sdk::http::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BasketBody {
    store_id: String,
    lines: Vec<BasketLineRow>,
}

pub fn lookup(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let body: BasketBody = parse_json(ctx.req)?;
    let store_id = StoreId::parse(&body.store_id).map_err(|e| field_problem(vec![FieldError::new("store_id", e)]))?;
    let basket = Basket::parse(&body.lines).map_err(field_problem)?;

    let sql = ctx.sql()?;
    let now = ctx.now();
    let store = load_store(sql, &store_id)?;
    let kinds = assortments(sql, &basket)?;
    let skus: Vec<_> = basket.skus().collect();
    let levels = levels_at(sql, &store_id, &skus, now)?;
    let (settings, _) = load_settings(sql, &store)?;
    let collect_here = store.kind() == StoreKind::Store && store.offers(Service::ClickAndCollect);
    let mut reasons = Vec::new();
    if !collect_here {
        reasons.push(format!("{} does not offer click & collect", store.id()));
    }
    let mut lines = Vec::with_capacity(basket.lines().len());
    for (line, (_, assortment)) in basket.lines().iter().zip(&kinds) {
        let level = levels.get(line.sku()).copied().unwrap_or(StockLevel::EMPTY);
        let enough = level.covers(line.quantity());
        let collectable = assortment.sold_in(Channel::Pos);
        if !enough {
            reasons.push(format!(
                "{}: {} wanted, {} available",
                line.sku(),
                line.quantity(),
                level.available_to_promise()
            ));
        }
        if let Err(refusal) = collectable {
            reasons.push(format!("{}: {refusal}", line.sku()));
        }
        let mut entry = json!({
            "sku": line.sku(),
            "quantity": line.quantity(),
            "assortment": assortment.as_str(),
            "enough": enough,
            "collectable": collectable.is_ok(),
        });
        merge(&mut entry, render::availability(&level, settings.low_stock_threshold()));
        lines.push(entry);
    }
    let promise = if reasons.is_empty() { ready_by(sql, &store, now)? } else { None };
    if reasons.is_empty() && promise.is_none() {
        reasons.push(format!("{} has no pickup slot ahead (closed, or its picking capacity is full)", store.id()));
    }
    let mut answer = json!({
        "store": render::store_summary(&store),
        "lines": lines,
        "can_pick_up": promise.is_some(),
        "ready_by": promise.map(|p| timestamp(p.ready_by)),
        "picking_date": promise.map(|p| p.picking_date.to_string()),
        "reasons": reasons,
    });
    answer["store_id"] = Value::String(store.id().to_string());
    Ok(json_response(200, &answer))
}

/// 422 listing every invalid field of the body.
pub fn field_problem(errors: Vec<FieldError>) -> Problem {
    let detail = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    Problem::invalid_body(detail).with_extension("errors", serde_json::to_value(errors).unwrap_or_default())
}

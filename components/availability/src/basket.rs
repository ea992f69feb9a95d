//! A basket at one store: what each line can promise there and whether the
//! whole basket can be picked up, and by when.
//!
//! `POST /api/availability/basket` `{"store_id": "WAW-01", "lines": [{"sku", "quantity"}...]}`
//! (a POST because a 50-line basket does not belong in a URL; it changes
//! nothing).
//!
//! The body names no channel: the answer is about a hand-over on a shop
//! floor, which is the same whoever asks. [`Pickup`] is the one rule the
//! basket and the nearby search share, and it checks what a reservation
//! checks (`omni_shared::stock::reserve_in`), so a store that "can pick up"
//! here is one where a reservation of the same lines would be accepted.

use crate::nearby::merge;
use crate::render;
use omni_shared::catalog::{FieldError, NotSoldIn, Service, Store, StoreKind};
use omni_shared::channel::Channel;
use omni_shared::ids::{Sku, StoreId};
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::Quantity;
use omni_shared::stock::{
    Basket, BasketLineRow, StockLevel, assortments, levels_at, load_settings, load_store, ready_by,
    timestamp,
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
    let store_id = StoreId::parse(&body.store_id)
        .map_err(|e| field_problem(vec![FieldError::new("store_id", e)]))?;
    let basket = Basket::parse(&body.lines).map_err(field_problem)?;

    let sql = ctx.sql()?;
    let now = ctx.now();
    let store = load_store(sql, &store_id)?;
    let kinds = assortments(sql, &basket)?;
    let skus: Vec<_> = basket.skus().collect();
    let levels = levels_at(sql, &store_id, &skus, now)?;
    let (settings, _) = load_settings(sql, &store)?;
    let mut pickup = Pickup::at(&store);
    let mut lines = Vec::with_capacity(basket.lines().len());
    for (line, (_, assortment)) in basket.lines().iter().zip(&kinds) {
        let level = levels.get(line.sku()).copied().unwrap_or(StockLevel::EMPTY);
        let enough = level.covers(line.quantity());
        // Handed over on a shop floor: the assortment rule of a till.
        let collectable = assortment.sold_in(Channel::Pos);
        pickup.line(
            line.sku(),
            line.quantity(),
            &level,
            collectable.as_ref().err(),
        );
        let mut entry = json!({
            "sku": line.sku(),
            "quantity": line.quantity(),
            "assortment": assortment.as_str(),
            "enough": enough,
            "collectable": collectable.is_ok(),
        });
        merge(
            &mut entry,
            render::availability(&level, settings.low_stock_threshold()),
        );
        lines.push(entry);
    }
    let promise = if pickup.possible() {
        ready_by(sql, &store, now)?
    } else {
        None
    };
    let reasons = pickup.finish(&store, promise.is_some());
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

/// Whether one store can hand some lines over, and if not why, in plain
/// words: the store offers click & collect, every line is sold on a shop
/// floor (the assortment rule of a till, as a reservation applies it) and
/// has enough units available to promise, and the store has a pickup slot
/// ahead. The basket lookup and the nearby search both answer through it.
pub struct Pickup {
    reasons: Vec<String>,
}

impl Pickup {
    /// Starts with the store's own refusal, if any.
    pub fn at(store: &Store) -> Pickup {
        let mut reasons = Vec::new();
        if store.kind() != StoreKind::Store || !store.offers(Service::ClickAndCollect) {
            reasons.push(format!("{} does not offer click & collect", store.id()));
        }
        Pickup { reasons }
    }

    /// One line: `refusal` is the assortment's answer for a shop floor.
    pub fn line(
        &mut self,
        sku: &Sku,
        wanted: Quantity,
        level: &StockLevel,
        refusal: Option<&NotSoldIn>,
    ) {
        if let Some(refusal) = refusal {
            self.reasons.push(format!("{sku}: {refusal}"));
        }
        if !level.covers(wanted) {
            self.reasons.push(format!(
                "{sku}: {wanted} wanted, {} available",
                level.available_to_promise()
            ));
        }
    }

    /// Whether nothing so far stands in the way (the slot is asked next).
    pub fn possible(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Every reason the lines cannot be picked up; empty when they can.
    /// `slot` is whether the store has a ready-by time ahead.
    pub fn finish(mut self, store: &Store, slot: bool) -> Vec<String> {
        if self.reasons.is_empty() && !slot {
            self.reasons.push(format!(
                "{} has no pickup slot ahead (closed, or its picking capacity is full)",
                store.id()
            ));
        }
        self.reasons
    }
}

/// 422 listing every invalid field of the body.
pub fn field_problem(errors: Vec<FieldError>) -> Problem {
    let detail = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Problem::invalid_body(detail)
        .with_extension("errors", serde_json::to_value(errors).unwrap_or_default())
}

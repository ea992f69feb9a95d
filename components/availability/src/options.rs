//! Fulfilment options for a basket and a place: pick up at a store (ready
//! by when), ship from a store (chosen by delivery date, courier cost and
//! shelf risk), delivery from the central warehouse, and, for a shopper at
//! a kiosk or till, the endless aisle (central stock ordered to home).
//!
//! `POST /api/availability/fulfilment-options`
//! `{"channel": "app", "lines": [...], "location": {"lat", "lon"}, "store_id": "WAW-01", "radius_km": 25}`
//!
//! The channel assortment decides what may be offered: an online-only line
//! cannot be handed over in a store (no pickup), a store-only line cannot be
//! shipped (no delivery); each refusal is listed with its reason under
//! `unavailable`, never silently dropped. The routing score is documented in
//! `omni_shared::stock::routing`.
//!
//! The channel is a claim the caller's credential must allow
//! (`omni_shared::auth::channel_claim`): a guest or a customer asks as
//! `web` or `app`, a store device as `pos` or `kiosk`, ops as any. The
//! in-store channels open the endless aisle and the kiosk's assortment, so
//! a guest claiming `kiosk` is 403 `channel-not-allowed`, checked after the
//! body is valid.

use crate::basket::field_problem;
use crate::nearby::merge;
use crate::render;
use chrono::{DateTime, Utc};
use omni_shared::auth::channel_claim;
use omni_shared::catalog::{FieldError, GeoRow, Service, Store, StoreKind};
use omni_shared::channel::Channel;
use omni_shared::geo::{GeoPoint, Radius};
use omni_shared::ids::StoreId;
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::{Quantity, StockQuantity};
use omni_shared::stock::{
    Basket, BasketLineRow, DeliveryQuote, PickingLoad, RoutingCandidate, StockLevel, assortments,
    load_store, load_stores, quote, rank, shelves_holding, timestamp,
};
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::{Value, json};
use spin_sdk::http::Response;
use std::collections::HashMap;

const DEFAULT_PICKUP_RADIUS_KM: f64 = 25.0;
/// Pickup stores offered: the nearest few that are ready soonest.
const PICKUP_OPTIONS: usize = 3;
/// Runner-up shipping locations shown next to the chosen one, so the
/// choice can be checked against the documented score.
const SHIP_ALTERNATIVES: usize = 2;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsBody {
    channel: String,
    lines: Vec<BasketLineRow>,
    #[serde(default)]
    location: Option<GeoRow>,
    #[serde(default)]
    store_id: Option<String>,
    #[serde(default)]
    radius_km: Option<f64>,
}

struct Request {
    channel: Channel,
    basket: Basket,
    location: Option<GeoPoint>,
    store: Option<StoreId>,
    radius: Radius,
}

impl TryFrom<OptionsBody> for Request {
    type Error = Vec<FieldError>;

    fn try_from(body: OptionsBody) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let channel = Channel::parse(&body.channel)
            .map_err(|e| errors.push(FieldError::new("channel", e)))
            .ok();
        let basket = Basket::parse(&body.lines)
            .map_err(|e| errors.extend(e))
            .ok();
        let location = match body.location {
            None => Some(None),
            Some(geo) => GeoPoint::parse(geo.lat, geo.lon)
                .map(Some)
                .map_err(|e| errors.push(FieldError::new("location", e)))
                .ok(),
        };
        let store = match body.store_id.as_deref() {
            None => Some(None),
            Some(raw) => StoreId::parse(raw)
                .map(Some)
                .map_err(|e| errors.push(FieldError::new("store_id", e)))
                .ok(),
        };
        let radius = Radius::parse(body.radius_km.unwrap_or(DEFAULT_PICKUP_RADIUS_KM))
            .map_err(|e| errors.push(FieldError::new("radius_km", e)))
            .ok();
        if let Some(channel) = channel {
            if channel.is_in_store() && matches!(store, Some(None)) {
                errors.push(FieldError::new(
                    "store_id",
                    "a kiosk or till request names the store it stands in",
                ));
            }
            if channel.is_remote() && matches!(location, Some(None)) {
                errors.push(FieldError::new(
                    "location",
                    "a remote request gives the shopper's location",
                ));
            }
        }
        match (channel, basket, location, store, radius) {
            (Some(channel), Some(basket), Some(location), Some(store), Some(radius))
                if errors.is_empty() =>
            {
                Ok(Request {
                    channel,
                    basket,
                    location,
                    store,
                    radius,
                })
            }
            _ => Err(errors),
        }
    }
}

pub fn compute(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    // A bad token is 401 before the body is read; no token is a guest.
    let caller = ctx.caller()?;
    let body: OptionsBody = parse_json(ctx.req)?;
    let request = Request::try_from(body).map_err(field_problem)?;
    channel_claim::check(&caller, request.channel)?;
    let sql = ctx.sql()?;
    let now = ctx.now();
    let kinds = assortments(sql, &request.basket)?;
    let own = request
        .store
        .as_ref()
        .map(|id| load_store(sql, id))
        .transpose()?;
    // The request has a location, or (in store) the store it stands in.
    let Some(destination) = request.location.or(own.as_ref().map(Store::geo)) else {
        return Err(Problem::invalid_body(
            "give the shopper's location or the store_id",
        ));
    };

    let mut lines = Vec::new();
    let mut no_pickup = Vec::new();
    let mut no_delivery = Vec::new();
    for (line, (sku, assortment)) in request.basket.lines().iter().zip(&kinds) {
        let mut entry =
            json!({"sku": sku, "quantity": line.quantity(), "assortment": assortment.as_str()});
        match assortment.sold_in(request.channel) {
            Ok(()) => entry["sold_in_channel"] = Value::Bool(true),
            Err(refusal) => {
                entry["sold_in_channel"] = Value::Bool(false);
                entry["refusal"] = serde_json::to_value(refusal).unwrap_or_default();
            }
        }
        if let Err(refusal) = assortment.sold_in(Channel::Pos) {
            no_pickup.push(format!("{sku}: {}", refusal.reason));
        }
        if !assortment.ships_to_home() {
            no_delivery.push(format!(
                "{sku}: this item is sold in stores only and is not shipped"
            ));
        }
        lines.push(entry);
    }

    // Locations holding every line in full: the only ones that can serve
    // the basket whole.
    let skus: Vec<_> = request.basket.skus().collect();
    let wanted: Vec<Quantity> = request
        .basket
        .lines()
        .iter()
        .map(|l| l.quantity())
        .collect();
    let shelves = shelves_holding(sql, &skus, now)?;
    let able: HashMap<StoreId, Vec<StockQuantity>> = shelves
        .into_iter()
        .filter_map(|(id, by_sku)| {
            let atp: Vec<StockQuantity> = skus
                .iter()
                .map(|s| {
                    by_sku
                        .get(*s)
                        .copied()
                        .unwrap_or(StockLevel::EMPTY)
                        .available_to_promise()
                })
                .collect();
            atp.iter()
                .zip(&wanted)
                .all(|(a, w)| a.covers(*w))
                .then_some((id, atp))
        })
        .collect();
    let ids: Vec<StoreId> = able.keys().cloned().collect();
    let stores = load_stores(sql, &ids)?;
    let load = PickingLoad::load(sql, &[], now)?;

    let mut options = Vec::new();
    let mut unavailable = Vec::new();

    // Pick up in a store.
    if !no_pickup.is_empty() {
        unavailable.push(refusal("pickup", &no_pickup.join("; ")));
    } else {
        let mut pickups: Vec<(DateTime<Utc>, f64, &Store, omni_shared::hours::ReadyBy)> = stores
            .values()
            .filter(|s| s.kind() == StoreKind::Store && s.offers(Service::ClickAndCollect))
            .filter_map(|s| {
                let distance = destination.distance_km(&s.geo());
                let own_store = request.store.as_ref() == Some(s.id());
                (own_store || distance <= request.radius.km())
                    .then(|| load.ready_by(s, now))
                    .flatten()
                    .map(|promise| (promise.ready_by, distance, s, promise))
            })
            .collect();
        // The shopper's own store first, then the nearest (as the nearby
        // lookup lists them), each with its own ready-by time.
        pickups.sort_by(|a, b| {
            let elsewhere = |s: &Store| request.store.as_ref() != Some(s.id());
            elsewhere(a.2)
                .cmp(&elsewhere(b.2))
                .then(a.1.total_cmp(&b.1))
                .then(a.0.cmp(&b.0))
                .then_with(|| a.2.id().cmp(b.2.id()))
        });
        if let Some(own) = own
            .as_ref()
            .filter(|s| !pickups.iter().any(|p| p.2.id() == s.id()))
        {
            let why = if own.offers(Service::ClickAndCollect) {
                "does not have the whole basket available to promise"
            } else {
                "does not offer click & collect"
            };
            unavailable
                .push(json!({"method": "pickup", "store_id": own.id(), "reason": format!("{} {why}", own.id())}));
        }
        if pickups.is_empty() {
            unavailable.push(refusal(
                "pickup",
                &format!(
                    "no store within {} km has the whole basket",
                    request.radius.km()
                ),
            ));
        }
        for (_, distance, store, promise) in pickups.into_iter().take(PICKUP_OPTIONS) {
            let mut option = json!({
                "method": "pickup",
                "distance_km": render::km(distance),
                "ready_by": timestamp(promise.ready_by),
                "picking_date": promise.picking_date.to_string(),
            });
            option["store"] = render::store_summary(store);
            options.push(option);
        }
    }

    // Ship to the shopper: from a store, or from the central warehouse.
    let home_method = if request.channel.is_in_store() {
        "endless_aisle"
    } else {
        "home_delivery"
    };
    if !no_delivery.is_empty() {
        let why = no_delivery.join("; ");
        unavailable.push(refusal("ship_from_store", &why));
        unavailable.push(refusal(home_method, &why));
    } else {
        let quotes_of = |kind: StoreKind, service: Option<Service>| {
            let mut quotes: Vec<DeliveryQuote> = stores
                .values()
                .filter(|s| s.kind() == kind && service.is_none_or(|svc| s.offers(svc)))
                .filter_map(|s| {
                    let promise = load.ready_by(s, now)?;
                    let hours = s.opening_hours();
                    Some(quote(&RoutingCandidate {
                        location: s.id().clone(),
                        kind,
                        distance_km: destination.distance_km(&s.geo()),
                        today: hours.local_date(now),
                        dispatch: promise,
                        dispatch_date: hours.local_date(promise.ready_by),
                        lines: wanted
                            .iter()
                            .copied()
                            .zip(able[s.id()].iter().copied())
                            .collect(),
                    }))
                })
                .collect();
            rank(&mut quotes);
            quotes
        };
        let from_stores = quotes_of(StoreKind::Store, Some(Service::ShipFromStore));
        match from_stores.split_first() {
            Some((best, rest)) => {
                let mut option = delivery("ship_from_store", best, &stores);
                option["alternatives"] = rest
                    .iter()
                    .take(SHIP_ALTERNATIVES)
                    .map(quote_json)
                    .collect();
                options.push(option);
            }
            None => unavailable.push(refusal(
                "ship_from_store",
                "no shipping store has the whole basket",
            )),
        }
        let central = quotes_of(StoreKind::Warehouse, None);
        match central.first() {
            Some(best) => {
                let mut option = delivery(home_method, best, &stores);
                if let Some(own) = &own {
                    option["ordered_in_store"] = Value::String(own.id().to_string());
                }
                options.push(option);
            }
            None => unavailable.push(refusal(
                home_method,
                "the central warehouse does not have the whole basket",
            )),
        }
    }

    Ok(json_response(
        200,
        &json!({
            "channel": request.channel,
            "destination": destination,
            "lines": lines,
            "options": options,
            "unavailable": unavailable,
        }),
    ))
}

fn refusal(method: &str, reason: &str) -> Value {
    json!({"method": method, "reason": reason})
}

fn delivery(method: &str, best: &DeliveryQuote, stores: &HashMap<StoreId, Store>) -> Value {
    let mut option = json!({"method": method});
    merge(&mut option, quote_json(best));
    if let Some(store) = stores.get(&best.location_id) {
        option["location"] = render::store_summary(store);
        // The courier in the shipping location's currency (a PLN shop pays
        // PLN); the ranking's EUR figure stays internal to the score.
        option["courier_cost"] = json!(omni_shared::stock::courier_tariff(
            best.distance_km,
            store.address().country().as_str()
        ));
    }
    option
}

fn quote_json(q: &DeliveryQuote) -> Value {
    json!({
        "location_id": q.location_id,
        "kind": q.kind.as_str(),
        "distance_km": render::km(q.distance_km),
        "dispatch_by": timestamp(q.dispatch_by),
        "delivery_date": q.delivery_date.to_string(),
        "days": q.days,
        "courier_cost": q.courier_cost,
        "shelf_risk": q.shelf_risk.to_string(),
        "score": q.score.to_string(),
    })
}

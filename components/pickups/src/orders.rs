//! Orders: place (idempotent by key), list, read, history.

use crate::{render, settings};
use omni_shared::auth::{Caller, channel_claim};
use omni_shared::cart::checkout::CheckoutId;
use omni_shared::catalog::FieldError;
use omni_shared::channel::Channel;
use omni_shared::ids::{CustomerId, OrderId, StoreId};
use omni_shared::money::Currency;
use omni_shared::notify::Locale;
use omni_shared::orders::place::{NewOrder, place};
use omni_shared::orders::store::{self, Filter, ListKey, MAX_LIST};
use omni_shared::orders::{
    Actor, ActorKind, DeliveryAddress, Fulfilment, Order, OrderError, OrderStatus,
};
use omni_shared::pipeline::Ctx;
use omni_shared::stock::{Basket, BasketLineRow, ReservationId};
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    fulfilment: String,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    store_id: Option<String>,
    #[serde(default)]
    reservation_id: Option<String>,
    #[serde(default)]
    checkout_id: Option<String>,
    #[serde(default)]
    lines: Vec<BasketLineRow>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    delivery_address: Option<AddressBody>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    name: String,
    street: String,
    city: String,
    postal_code: String,
    country: String,
}

/// The caller as an actor; anonymous callers get 401.
pub fn actor(ctx: &Ctx<'_>) -> Result<Actor, Problem> {
    let caller = ctx.caller()?;
    Actor::of(&caller).ok_or_else(|| {
        caller
            .require_customer()
            .err()
            .unwrap_or_else(|| Problem::unauthorized("sign in"))
    })
}

/// A path's order id; a malformed one names no order (404).
pub fn order_id(ctx: &Ctx<'_>) -> Result<OrderId, Problem> {
    OrderId::parse(ctx.param("order_id")).map_err(|_| Problem::from(OrderError::NotFound))
}

/// The order, if `actor` may see it.
pub fn visible(ctx: &Ctx<'_>, actor: &Actor) -> Result<Order, Problem> {
    let id = order_id(ctx)?;
    let order = store::load(ctx.sql()?, &id)?.ok_or(OrderError::NotFound)?;
    actor.may_see(&order)?;
    Ok(order)
}

/// `POST /api/orders`: 201 with the placed order.
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let actor = Actor::of(&caller).ok_or_else(|| caller.require_customer().unwrap_err())?;
    let body: CreateBody = parse_json(ctx.req)?;
    let (mut new, claimed) = new_order(body, &caller)?;
    let settings = settings::order_settings(ctx)?;
    let sql = ctx.sql()?;
    new.channel = order_channel(sql, &caller, claimed, new.checkout.as_ref())?;
    let now = ctx.now();
    let scope = format!("{} POST /api/orders", caller.principal());
    Ok(run_for_request(sql, &scope, ctx.req, now, || {
        match place(sql, &new, &actor, settings, now) {
            Ok(order) => {
                let mut response = render::order_response(201, &order, &actor, now);
                response.set_header("location", format!("/api/orders/{}", order.id));
                response
            }
            Err(e) => Problem::from(e).into_response(),
        }
    }))
}

/// The channel an order is placed in: the one its checkout was priced for,
/// else the one the caller names, else the caller's usual channel; in every
/// case one the caller may act in (403 `channel-not-allowed` otherwise).
/// Naming another channel than the checkout's is refused by the placement
/// (422): the checkout's prices belong to its channel.
fn order_channel(
    sql: &dyn omni_shared::storage::Sql,
    caller: &Caller,
    claimed: Option<Channel>,
    checkout: Option<&CheckoutId>,
) -> Result<Channel, Problem> {
    let priced_for = match checkout {
        Some(id) => omni_shared::cart::checkout::load(sql, id)?.map(|c| c.snapshot.channel),
        None => None,
    };
    let channel = claimed
        .or(priced_for)
        .unwrap_or_else(|| channel_claim::default_for(caller));
    channel_claim::check(caller, channel)?;
    Ok(channel)
}

fn new_order(body: CreateBody, caller: &Caller) -> Result<(NewOrder, Option<Channel>), Problem> {
    let mut errors = Vec::new();
    let mut field = |name: &str, e: &dyn std::fmt::Display| errors.push(FieldError::new(name, e));
    let fulfilment = Fulfilment::parse(&body.fulfilment);
    if fulfilment.is_none() {
        field(
            "fulfilment",
            &"must be click_and_collect, ship_from_store or endless_aisle",
        );
    }
    let named = body
        .customer_id
        .as_deref()
        .map(CustomerId::parse)
        .transpose()
        .map_err(|e| field("customer_id", &e))
        .ok()
        .flatten();
    let store = body
        .store_id
        .as_deref()
        .map(StoreId::parse)
        .transpose()
        .map_err(|e| field("store_id", &e))
        .ok()
        .flatten();
    let reservation = body
        .reservation_id
        .as_deref()
        .map(ReservationId::parse)
        .transpose()
        .map_err(|_| {
            field(
                "reservation_id",
                &"is not a reservation id (RSV- and 16 hex digits)",
            )
        })
        .ok()
        .flatten();
    let checkout = body
        .checkout_id
        .as_deref()
        .map(CheckoutId::parse)
        .transpose()
        .map_err(|_| field("checkout_id", &"is not a checkout id"))
        .ok()
        .flatten();
    let currency = body
        .currency
        .as_deref()
        .map(Currency::parse)
        .transpose()
        .map_err(|e| field("currency", &e))
        .ok()
        .flatten()
        .unwrap_or(Currency::Pln);
    let locale = body
        .locale
        .as_deref()
        .map(Locale::parse)
        .transpose()
        .map_err(|e| field("locale", &e))
        .ok()
        .flatten();
    let channel = body
        .channel
        .as_deref()
        .map(Channel::parse)
        .transpose()
        .map_err(|e| field("channel", &e))
        .ok()
        .flatten();
    let lines = if body.lines.is_empty() {
        Vec::new()
    } else {
        match Basket::parse(&body.lines) {
            Ok(basket) => basket.lines().to_vec(),
            Err(line_errors) => {
                errors.extend(line_errors);
                Vec::new()
            }
        }
    };
    let delivery_address = match body.delivery_address {
        Some(a) => {
            match DeliveryAddress::parse(&a.name, &a.street, &a.city, &a.postal_code, &a.country) {
                Ok(address) => Some(address),
                Err(address_errors) => {
                    errors.extend(address_errors);
                    None
                }
            }
        }
        None => None,
    };
    let Some(fulfilment) = fulfilment.filter(|_| errors.is_empty()) else {
        return Err(OrderError::Invalid(errors).into());
    };
    let (customer, store) = match caller {
        Caller::Customer(me) => match named {
            Some(other) if other != *me => {
                return Err(Problem::forbidden(
                    "a customer may place orders only for themself",
                ));
            }
            _ => (me.clone(), store),
        },
        Caller::StoreDevice { store: own, .. } => {
            let customer = named.ok_or_else(|| {
                Problem::from(OrderError::Invalid(vec![FieldError::new(
                    "customer_id",
                    "name the customer the order is for",
                )]))
            })?;
            if fulfilment == Fulfilment::EndlessAisle {
                // The store orders from the central stock for its shopper:
                // the source is the warehouse, not the device's store.
                (customer, store)
            } else {
                if store.as_ref().is_some_and(|s| s != own) {
                    return Err(OrderError::WrongStore {
                        store: store.unwrap_or_else(|| own.clone()),
                    }
                    .into());
                }
                (customer, Some(own.clone()))
            }
        }
        Caller::Ops { .. } => {
            let customer = named.ok_or_else(|| {
                Problem::from(OrderError::Invalid(vec![FieldError::new(
                    "customer_id",
                    "name the customer the order is for",
                )]))
            })?;
            (customer, store)
        }
        Caller::Anonymous => return Err(caller.require_customer().unwrap_err()),
    };
    let new = NewOrder {
        customer,
        fulfilment,
        store,
        reservation,
        checkout,
        lines,
        currency,
        delivery_address,
        locale,
        // Settled by `order_channel` once the checkout is read.
        channel: channel_claim::default_for(caller),
    };
    Ok((new, channel))
}

/// `GET /api/orders/{order_id}`.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = actor(ctx)?;
    let order = visible(ctx, &actor)?;
    Ok(render::order_response(200, &order, &actor, ctx.now()))
}

/// `GET /api/orders/{order_id}/history`.
pub fn history(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = actor(ctx)?;
    let order = visible(ctx, &actor)?;
    let entries = store::history(ctx.sql()?, &order.id)?;
    Ok(json_response(
        200,
        &render::history(&order, &entries, &actor),
    ))
}

/// `GET /api/orders?status=&store_id=&customer_id=&at_risk=true&queue=true&limit=&cursor=`:
/// a customer's own orders, a store's orders, or (ops) any, newest first;
/// `queue=true` is a store's work queue: the orders still to prepare, the
/// one due first at the top, each with its SLA state.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = actor(ctx)?;
    let query = Query::parse(ctx.req.query())?.only(&[
        "status",
        "store_id",
        "customer_id",
        "at_risk",
        "queue",
        "limit",
        "cursor",
    ])?;
    let mut filter = Filter::default();
    if let Some(raw) = query.get("status") {
        filter.status = Some(
            OrderStatus::parse(raw)
                .ok_or_else(|| Problem::bad_request(format!("status: unknown status {raw:?}")))?,
        );
    }
    let named_store = query
        .get("store_id")
        .map(StoreId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("store_id: {e}")))?;
    let named_customer = query
        .get("customer_id")
        .map(CustomerId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("customer_id: {e}")))?;
    match actor.kind() {
        ActorKind::Customer => {
            if named_customer.is_some_and(|c| Some(&c) != actor.customer()) {
                return Err(Problem::forbidden("a customer sees only their own orders"));
            }
            filter.customer = actor.customer().cloned();
            filter.store = named_store;
        }
        ActorKind::StoreDevice => {
            let own = actor.store().cloned();
            if let Some(named) = named_store.filter(|s| Some(s) != own.as_ref()) {
                return Err(OrderError::WrongStore { store: named }.into());
            }
            filter.store = own;
            filter.customer = named_customer;
        }
        ActorKind::Ops | ActorKind::System => {
            filter.store = named_store;
            filter.customer = named_customer;
        }
    }
    match query.get("at_risk") {
        None | Some("false") => {}
        Some("true") => filter.at_risk_at = Some(ctx.now()),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "at_risk: expected true or false, not {other:?}"
            )));
        }
    }
    match query.get("queue") {
        None | Some("false") => {}
        Some("true") => filter.queue = true,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "queue: expected true or false, not {other:?}"
            )));
        }
    }
    let page = PageRequest::parse(query.get("limit"), query.get("cursor"), 50, MAX_LIST, 3)?;
    filter.after = page.after.as_ref().map(|key| ListKey {
        ready_by: key[0].clone(),
        created_at: key[1].clone(),
        id: key[2].clone(),
    });
    let now = ctx.now();
    let mut orders = store::list(ctx.sql()?, &filter, page.fetch())?;
    let next_cursor = page.finish(&mut orders, |o| {
        let key = ListKey::of(o);
        vec![key.ready_by, key.created_at, key.id]
    });
    let rendered: Vec<_> = orders
        .iter()
        .map(|o| render::order(o, &actor, now))
        .collect();
    Ok(json_response(
        200,
        &json!({ "orders": rendered, "next_cursor": next_cursor }),
    ))
}

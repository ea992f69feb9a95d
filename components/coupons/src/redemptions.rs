//! Redemptions: reserve at order placement, commit on payment, release on
//! cancel (the rules are in `omni_shared::promotions::redemption`).
//!
//! The basket is read as validation reads it ([`crate::validate`]): priced
//! from the catalog, in a channel the caller may act in.
//!
//! Only the order's customer, or a store device of the order's store, may
//! act on a reservation. Another customer gets 404 (a reservation id must
//! not confirm that someone else's order exists); a device of another store
//! gets 403 (devices are trusted to know which store they are in).

use omni_shared::auth::Caller;
use omni_shared::ids::{OrderId, StoreId};
use omni_shared::money::Money;
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::{self, CartSnapshotRow, Reservation, ReserveRequest, Reserved};
use omni_shared::web::idempotency::IdempotencyKey;
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use spin_sdk::http::Response;

use crate::problems::{invalid, problem};
use crate::validate::Basket;
use omni_shared::catalog::FieldError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveBody {
    order_id: String,
    channel: String,
    cart: CartSnapshotRow,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    store_id: Option<String>,
    #[serde(default)]
    fulfilment: Option<String>,
    #[serde(default)]
    expected_discount: Option<Money>,
}

/// `POST /api/coupons/redemptions` with an `Idempotency-Key`: reserves the
/// uses of every promotion the basket gets. 201 with the reservation (also
/// on a replay of the same key and body, marked `idempotent-replayed`).
pub fn reserve(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    if !matches!(caller, Caller::Customer(_) | Caller::StoreDevice { .. }) {
        return Err(match caller {
            Caller::Anonymous => {
                Problem::unauthorized("a redemption needs the customer's token or a store device")
            }
            _ => {
                Problem::forbidden("a redemption is made by the order's customer or a store device")
            }
        });
    }
    let key = match ctx.req.header("idempotency-key").map(|v| v.as_str()) {
        Some(Some(raw)) => IdempotencyKey::parse(raw)?,
        Some(None) => {
            return Err(Problem::bad_request(
                "the Idempotency-Key header must be printable ASCII",
            ));
        }
        None => {
            return Err(Problem::bad_request(
                "a redemption needs an Idempotency-Key header, so a retried order placement counts once",
            ));
        }
    };
    let body: ReserveBody = parse_json(ctx.req)?;
    let mut errors = Vec::new();
    let order = OrderId::parse(&body.order_id)
        .map_err(|e| errors.push(FieldError::new("order_id", e)))
        .ok();
    let store = match &body.store_id {
        None => Some(None),
        Some(raw) => StoreId::parse(raw)
            .map(Some)
            .map_err(|e| errors.push(FieldError::new("store_id", e)))
            .ok(),
    };
    let basket = Basket::parse(
        body.channel,
        body.cart,
        body.codes,
        body.customer_id,
        body.fulfilment,
    )
    .map_err(|e| errors.extend(e))
    .ok();
    let (Some(order), Some(store), Some(basket)) = (order, store, basket) else {
        return Err(invalid(errors));
    };
    let customer = basket.customer_for(&caller)?;
    let sql = ctx.sql()?;
    let store = match &caller {
        Caller::StoreDevice { store: own, .. } => {
            if let Some(named) = &store
                && named != own
            {
                return Err(Problem::forbidden(format!(
                    "this device may act only for its own store, not {named}"
                )));
            }
            Some(own.clone())
        }
        _ => store,
    };
    if let Some(expected) = body.expected_discount
        && expected.currency() != basket.cart.currency()
    {
        return Err(invalid(vec![FieldError::new(
            "expected_discount",
            "must be in the cart's currency",
        )]));
    }
    let cart = basket.priced(sql)?;
    let request = ReserveRequest {
        key: format!("{} {}", caller.principal(), key.as_str()),
        order,
        cart,
        channel: basket.channel,
        fulfilment: basket.fulfilment,
        customer,
        store,
        codes: basket.codes,
        expected_discount: body.expected_discount,
    };
    let (reservation, replayed) =
        match promotions::reserve(sql, &request, ctx.now()).map_err(problem)? {
            Reserved::Created(r) => (r, false),
            Reserved::Replayed(r) => (r, true),
        };
    let mut response = json_response(201, &reservation);
    response.set_header(
        "location",
        format!("/api/coupons/redemptions/{}", reservation.reservation_id),
    );
    if replayed {
        response.set_header("idempotent-replayed", "true");
    }
    Ok(response)
}

/// `GET /api/coupons/redemptions/{id}`: the reservation and its frozen
/// evaluation (per-line discounts, what returns refund against). Ops may
/// read any.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let reservation = owned(ctx, &caller, true)?;
    Ok(json_response(200, &reservation))
}

/// `POST /api/coupons/redemptions/{id}/commit`: the order was paid.
pub fn commit(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let reservation = owned(ctx, &caller, false)?;
    let committed =
        promotions::commit(ctx.sql()?, &reservation.reservation_id, ctx.now()).map_err(problem)?;
    Ok(json_response(200, &committed))
}

/// `POST /api/coupons/redemptions/{id}/release`: the order was cancelled;
/// its uses count no more.
pub fn release(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let reservation = owned(ctx, &caller, false)?;
    let released =
        promotions::release(ctx.sql()?, &reservation.reservation_id, ctx.now()).map_err(problem)?;
    Ok(json_response(200, &released))
}

/// The reservation in the path, if the caller may act on it.
fn owned(ctx: &Ctx<'_>, caller: &Caller, ops_may_read: bool) -> Result<Reservation, Problem> {
    let id = ctx.param("id");
    let not_found = || {
        Problem::not_found(format!(
            "no redemption reservation {}",
            id.chars().take(64).collect::<String>()
        ))
    };
    if let Caller::Anonymous = caller {
        return Err(Problem::unauthorized(
            "a redemption needs the customer's token or a store device",
        ));
    }
    if matches!(caller, Caller::Ops { .. }) && !ops_may_read {
        return Err(Problem::forbidden(
            "a redemption is committed or released by the order's customer or a store device",
        ));
    }
    let reservation = promotions::load_reservation(ctx.sql()?, id)
        .map_err(problem)?
        .ok_or_else(not_found)?;
    match caller {
        Caller::Customer(me) if reservation.customer_id.as_ref() != Some(me) => Err(not_found()),
        Caller::StoreDevice { store, .. } if reservation.store_id.as_ref() != Some(store) => {
            Err(Problem::forbidden(format!(
                "this reservation belongs to another store's order, not {store}'s"
            )))
        }
        _ => Ok(reservation),
    }
}

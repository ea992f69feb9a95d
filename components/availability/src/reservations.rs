//! Click & collect reservations over HTTP: create (idempotent by key), read,
//! release, and the operators' sweep of expired holds.
//!
//! Confirming a reservation for an order and handing it over are not routes
//! here: the pickups component does both with `omni_shared::stock::confirm`
//! and `fulfil` in the same transaction as its order change.
//!
//! Who sees a reservation: its customer, a device of its store, ops. Anyone
//! else gets 404, not 403, so reservation ids cannot be probed for
//! existence.

use crate::basket::field_problem;
use crate::render;
use omni_shared::auth::Caller;
use omni_shared::catalog::FieldError;
use omni_shared::ids::{CustomerId, StoreId};
use omni_shared::pipeline::Ctx;
use omni_shared::stock::{
    Basket, BasketLineRow, HoldTtl, Reservation, ReservationId, ReservationRequest, StockError,
    load_reservation, release as release_reservation, reserve, sweep_expired,
};
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

/// One sweep request ends at most this many holds (in batches), so the
/// request stays short; a larger backlog takes another call.
const SWEEP_BATCH: u32 = 500;
const SWEEP_MAX: u32 = 5_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveBody {
    store_id: String,
    lines: Vec<BasketLineRow>,
    /// Required when a store device reserves for a customer; a customer may
    /// leave it out or name themself.
    #[serde(default)]
    customer_id: Option<String>,
}

/// `POST /api/reservations`: 201 with the held reservation, or 409
/// `insufficient-stock` with what each short line has available.
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    // Anonymous callers get 401 and operators 403 before the body is read.
    let acting_store = match &caller {
        Caller::Customer(_) => None,
        Caller::StoreDevice { store, .. } => Some(store.clone()),
        other => {
            return Err(other
                .require_customer()
                .err()
                .unwrap_or_else(|| Problem::forbidden("customers only")));
        }
    };
    let body: ReserveBody = parse_json(ctx.req)?;
    let mut errors = Vec::new();
    let store = StoreId::parse(&body.store_id)
        .map_err(|e| errors.push(FieldError::new("store_id", e)))
        .ok();
    let named = body
        .customer_id
        .as_deref()
        .map(CustomerId::parse)
        .transpose()
        .map_err(|e| errors.push(FieldError::new("customer_id", e)))
        .ok()
        .flatten();
    let basket = Basket::parse(&body.lines)
        .map_err(|e| errors.extend(e))
        .ok();
    let (Some(store), Some(basket)) = (store, basket) else {
        return Err(field_problem(errors));
    };
    if !errors.is_empty() {
        return Err(field_problem(errors));
    }
    let customer = match (&caller, acting_store) {
        (_, Some(own)) => {
            if own != store {
                return Err(Problem::forbidden(format!(
                    "this device may reserve only in its own store, not {store}"
                )));
            }
            named.ok_or_else(|| {
                field_problem(vec![FieldError::new(
                    "customer_id",
                    "a store device reserves for a named customer",
                )])
            })?
        }
        (Caller::Customer(me), None) => match named {
            Some(other) if other != *me => {
                return Err(Problem::forbidden(
                    "a customer may reserve only for themself",
                ));
            }
            _ => me.clone(),
        },
        (_, None) => {
            return Err(Problem::forbidden(
                "only a customer or a store device may reserve",
            ));
        }
    };
    let request = ReservationRequest {
        store,
        customer,
        basket,
        hold: HoldTtl::DEFAULT,
        requested_by: caller.principal(),
    };
    let sql = ctx.sql()?;
    let now = ctx.now();
    let scope = format!("{} POST /api/reservations", caller.principal());
    Ok(run_for_request(
        sql,
        &scope,
        ctx.req,
        now,
        || match reserve(sql, &request, now) {
            Ok(held) => {
                let mut response = json_response(201, &render::reservation(&held, now));
                response.set_header("location", format!("/api/reservations/{}", held.id));
                response
            }
            Err(e) => Problem::from(e).into_response(),
        },
    ))
}

/// `GET /api/reservations/{reservation_id}`.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let reservation = visible(ctx)?;
    Ok(json_response(
        200,
        &render::reservation(&reservation, ctx.now()),
    ))
}

/// `POST /api/reservations/{reservation_id}/release`: the units return to
/// sale at once; releasing again answers the same.
pub fn release(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let reservation = visible(ctx)?;
    let now = ctx.now();
    let released = release_reservation(ctx.sql()?, &reservation.id, now)?;
    Ok(json_response(200, &render::reservation(&released, now)))
}

/// `POST /api/reservations/sweep` (ops): marks expired holds and returns
/// their units to the counters (ATP already ignored them).
pub fn sweep(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let sql = ctx.sql()?;
    let now = ctx.now();
    let mut expired = 0;
    loop {
        let ended = sweep_expired(sql, now, SWEEP_BATCH)?;
        expired += ended;
        if ended < SWEEP_BATCH || expired >= SWEEP_MAX {
            break;
        }
    }
    Ok(json_response(200, &json!({ "expired": expired })))
}

/// The reservation in the path, if the caller may see it.
fn visible(ctx: &Ctx<'_>) -> Result<Reservation, Problem> {
    let caller = ctx.caller()?;
    if caller == Caller::Anonymous {
        caller.require_customer()?;
    }
    let id = ReservationId::parse(ctx.param("reservation_id"))?;
    let reservation = load_reservation(ctx.sql()?, &id)?.ok_or(StockError::NoSuchReservation)?;
    let allowed = match &caller {
        Caller::Customer(me) => *me == reservation.customer,
        Caller::StoreDevice { store, .. } => *store == reservation.store,
        Caller::Ops { .. } => true,
        Caller::Anonymous => false,
    };
    if allowed {
        Ok(reservation)
    } else {
        Err(StockError::NoSuchReservation.into())
    }
}

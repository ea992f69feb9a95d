//! The pickup code (the customer's QR) and the store's scan of it.

use crate::orders::{actor, visible};
use crate::{render, settings};
use omni_shared::auth::Caller;
use omni_shared::catalog::FieldError;
use omni_shared::orders::pickup::{code_for, look_up, scan as hand_over_by_code};
use omni_shared::orders::{Actor, OrderError, Via, timestamp};
use omni_shared::pipeline::Ctx;
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

/// `GET /api/orders/{order_id}/pickup-code`: the code and its QR, for the
/// order's customer only (staff never need to see a customer's code).
pub fn code(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    caller.require_customer()?;
    let actor = actor(ctx)?;
    let order = visible(ctx, &actor)?;
    let pickup = code_for(&order, &ctx.code_signing_secret()?)?;
    let svg = omni_shared::qr::svg(&pickup.code).map_err(|e| Problem::internal(&e))?;
    let mut response = json_response(
        200,
        &json!({
            "order_id": order.id.as_str(),
            "code": pickup.code,
            "qr_svg": svg,
            "expires_at": timestamp(pickup.expires_at),
        }),
    );
    // A pickup code is a bearer credential for the goods: never cached.
    response.set_header("cache-control", "no-store");
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    code: String,
    #[serde(default)]
    channel: Option<String>,
}

/// `POST /api/orders/pickup-handovers` `{code}`: a device of the order's store
/// hands the order over; 200 with the collected order.
pub fn hand_over(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    if !matches!(caller, Caller::StoreDevice { .. }) {
        caller.require_store()?;
    }
    let device = Actor::of(&caller).ok_or(OrderError::Forbidden(
        "only a store device scans pickup codes",
    ))?;
    let body: ScanBody = parse_json(ctx.req)?;
    let via = match body.channel.as_deref() {
        None => Via::default_for(device.kind()),
        Some(raw) => Via::parse(raw)
            .map_err(|why| OrderError::Invalid(vec![FieldError::new("channel", why)]))?,
    };
    via.check_claim(&caller)?;
    let settings = settings::order_settings(ctx)?;
    let now = ctx.now();
    let order = hand_over_by_code(
        ctx.sql()?,
        &body.code,
        &ctx.code_signing_secret()?,
        &device,
        via,
        settings,
        now,
    )?;
    Ok(render::order_response(200, &order, &device, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupBody {
    code: String,
}

/// `POST /api/orders/pickup-lookups` `{code}`: what a scan of this code
/// would hand over, changing nothing (the kiosk shows the order, then hands
/// it over with `pickup-scans`). The same refusals as a scan.
pub fn lookup(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    caller.require_store()?;
    let device = Actor::of(&caller).ok_or(OrderError::Forbidden(
        "only a store device scans pickup codes",
    ))?;
    let body: LookupBody = parse_json(ctx.req)?;
    let now = ctx.now();
    let order = look_up(
        ctx.sql()?,
        &body.code,
        &ctx.code_signing_secret()?,
        &device,
        now,
    )?;
    Ok(render::order_response(200, &order, &device, now))
}

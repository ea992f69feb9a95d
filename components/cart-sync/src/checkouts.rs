//! The hand-off to a till or kiosk: freeze the cart into a checkout snapshot
//! with a signed, expiring code and its QR; a store device scans the code to
//! load exactly that snapshot, and completes it once paid.
//!
//! | request | who |
//! | --- | --- |
//! | `POST /api/carts/{cart_id}/checkouts` | the cart's owner; answers the snapshot with `handoff: {code, expires_at, qr_svg}` |
//! | `GET /api/carts/checkouts/{checkout_id}` | the owner, ops, or a store device sending the code as `X-Handoff-Code` |
//! | `GET /api/carts/handoff/{code}` | a store device: what the scan loads |
//! | `POST /api/carts/handoff/{code}/complete` | a store device, once paid |
//!
//! A store device reaches a cart through a code and nothing else: the code
//! is the shopper's consent, bound to one frozen snapshot, and it expires.

use omni_shared::auth::Caller;
use omni_shared::cart::access::{Intent, authorize};
use omni_shared::cart::checkout::{self, Checkout, CheckoutId, CheckoutStatus};
use omni_shared::cart::{CartError, CartStatus, expiry, store};
use omni_shared::channel::Channel;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::in_transaction;
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::{IfMatch, Problem, json_response};
use serde_json::{Value, json};
use spin_sdk::http::Response;

use crate::render;
use crate::request::{self, Shopper};

/// `POST /api/carts/{cart_id}/checkouts`: freezes the cart as the shopper
/// sees it in their channel. Send `If-Match` with the ETag of the cart on
/// screen to freeze exactly that version; an `Idempotency-Key` makes a retry
/// return the same checkout rather than a second one.
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let id = request::cart_id(ctx)?;
    let shopper = Shopper::from_ctx(ctx)?;
    let if_match = IfMatch::from_request(ctx.req)?;
    let policy = request::policy(ctx)?;
    let secret = ctx.code_signing_secret()?;
    let scope = format!(
        "{} POST /api/carts/{id}/checkouts",
        shopper.caller.principal()
    );
    let now = ctx.now();
    let sql = ctx.sql()?;
    Ok(run_for_request(sql, &scope, ctx.req, now, || {
        let outcome = in_transaction(
            sql,
            |tx| -> Result<Result<Checkout, CartError>, CartError> {
                let header = store::header(tx, &id)?.ok_or(CartError::NotFound)?;
                authorize(&shopper.caller, shopper.secret(), &header, Intent::Edit)?;
                if expiry::expire_if_stale(tx, &header, &policy, now)? {
                    return Ok(Err(CartError::NotActive {
                        status: CartStatus::Expired,
                        merged_into: None,
                    }));
                }
                header.ensure_active()?;
                if !if_match.matches(header.version) {
                    return Err(CartError::Stale {
                        current_version: header.version,
                    });
                }
                let cart = store::load(tx, &id)?.ok_or(CartError::NotFound)?;
                let channel = shopper.channel_for(&header);
                checkout::freeze(tx, &cart, channel, now).map(Ok)
            },
        );
        match outcome {
            Ok(Ok(checkout)) => {
                let body = owner_view(&checkout, &secret, now);
                let mut response = json_response(201, &body);
                response.set_header(
                    "location",
                    format!("/api/carts/checkouts/{}", checkout.snapshot.checkout_id),
                );
                response.set_header("cache-control", "no-store");
                response
            }
            Ok(Err(error)) | Err(error) => {
                render::refusal(ctx, sql, &id, shopper.channel, &policy, error).into_response()
            }
        }
    }))
}

/// `GET /api/carts/checkouts/{checkout_id}`.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let id = CheckoutId::parse(ctx.param("checkout_id"))?;
    let shopper = Shopper::from_ctx(ctx)?;
    let now = ctx.now();
    let sql = ctx.sql()?;
    let secret = ctx.code_signing_secret()?;
    if let Caller::StoreDevice { .. } = shopper.caller {
        let code = ctx
            .req
            .header("x-handoff-code")
            .and_then(|v| v.as_str())
            .ok_or(CartError::Forbidden(
                "a store device reads a checkout only with its hand-off code (X-Handoff-Code)",
            ))?;
        if checkout::verify_handoff(code, &secret, now)? != id {
            return Err(CartError::HandoffCodeInvalid.into());
        }
        let checkout = checkout::load(sql, &id)?.ok_or(CartError::CheckoutNotFound)?;
        return Ok(json_response(200, &checkout));
    }
    let checkout = checkout::load(sql, &id)?.ok_or(CartError::CheckoutNotFound)?;
    if let Caller::Ops { .. } = shopper.caller {
        return Ok(json_response(200, &checkout));
    }
    let cart =
        store::header(sql, &checkout.snapshot.cart_id)?.ok_or(CartError::CheckoutNotFound)?;
    authorize(&shopper.caller, shopper.secret(), &cart, Intent::Read)
        .map_err(|_| CartError::CheckoutNotFound)?;
    let mut response = json_response(200, &owner_view(&checkout, &secret, now));
    response.set_header("cache-control", "no-store");
    Ok(response)
}

/// `GET /api/carts/handoff/{code}`: what a till or kiosk loads on a scan.
pub fn load_by_code(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_store()?;
    let id = checkout::verify_handoff(ctx.param("code"), &ctx.code_signing_secret()?, ctx.now())?;
    let checkout = checkout::load(ctx.sql()?, &id)?.ok_or(CartError::CheckoutNotFound)?;
    Ok(json_response(200, &checkout))
}

/// `POST /api/carts/handoff/{code}/complete`: the till was paid. The channel
/// is `X-Channel` when it names a store channel (`pos` or `kiosk`), else
/// `pos`. A retry by the same store answers the completed checkout again.
pub fn complete(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let shopper = Shopper::from_ctx(ctx)?;
    let store_id = shopper.caller.require_store()?.clone();
    let channel = match shopper.channel {
        None => Channel::Pos,
        Some(c) if c.is_in_store() => c,
        Some(c) => {
            return Err(Problem::bad_request(format!(
                "a store device completes a checkout at the till or kiosk, not {c}"
            )));
        }
    };
    let id = checkout::verify_handoff(ctx.param("code"), &ctx.code_signing_secret()?, ctx.now())?;
    let completed = checkout::complete(ctx.sql()?, &id, store_id.as_str(), channel, ctx.now())?;
    Ok(json_response(200, &completed))
}

/// The checkout as its owner sees it: with the hand-off code and its QR
/// while it can still be scanned.
fn owner_view(checkout: &Checkout, secret: &[u8], now: chrono::DateTime<chrono::Utc>) -> Value {
    let mut body = serde_json::to_value(checkout).unwrap_or(Value::Null);
    let open = checkout.status == CheckoutStatus::Open && !checkout.is_expired(now);
    body["handoff"] = if open {
        let code = checkout::handoff_code(&checkout.snapshot, secret);
        let qr = omni_shared::qr::svg(&code).ok();
        json!({ "code": code, "expires_at": omni_shared::clock::wire(checkout.snapshot.expires_at), "qr_svg": qr })
    } else {
        Value::Null
    };
    body
}

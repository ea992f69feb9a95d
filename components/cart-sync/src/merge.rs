//! Guest to customer: at login the guest cart merges into the customer's
//! active cart (created if they have none). The rule (same-SKU lines take the
//! larger quantity) and its reasons live in [`omni_shared::cart::lines`].
//!
//! `POST /api/carts/{guest_cart_id}/merge` with the customer's token and the
//! guest cart's `X-Cart-Secret`: the secret proves the shopper at this login
//! is the one who built the guest cart. The answer is the customer's cart.
//! Calling it again (a retry, or the app and the web both doing it after the
//! same login) answers the same cart and changes nothing.

use omni_shared::cart::access::{Intent, authorize};
use omni_shared::cart::store;
use omni_shared::cart::{CartError, CartStatus, expiry};
use omni_shared::pipeline::Ctx;
use omni_shared::storage::in_transaction;
use omni_shared::web::Problem;
use spin_sdk::http::Response;

use crate::render;
use crate::request::{self, Shopper};

/// `POST /api/carts/{cart_id}/merge`.
pub fn merge(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let guest_id = request::cart_id(ctx)?;
    let shopper = Shopper::from_ctx(ctx)?;
    let customer = shopper.caller.require_customer()?.clone();
    let policy = request::policy(ctx)?;
    let now = ctx.now();
    let sql = ctx.sql()?;
    let outcome = in_transaction(sql, |tx| {
        let guest = store::header(tx, &guest_id)?.ok_or(CartError::NotFound)?;
        authorize(&shopper.caller, shopper.secret(), &guest, Intent::Edit)?;
        if expiry::expire_if_stale(tx, &guest, &policy, now)? {
            return Ok(Err(CartError::NotActive {
                status: CartStatus::Expired,
                merged_into: None,
            }));
        }
        let channel = shopper.channel_for(&guest);
        store::merge_guest(tx, &guest, &customer, channel, &policy, now).map(Ok)
    });
    let target = match outcome {
        Ok(Ok(target)) => target,
        Ok(Err(error)) | Err(error) => return Err(Problem::from(error)),
    };
    render::current_response(ctx, sql, &target, 200, shopper.channel, &policy)
}

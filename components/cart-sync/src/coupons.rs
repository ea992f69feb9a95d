//! Coupon codes on a cart: attach and detach. What a code takes off is the
//! promotion engine's answer, computed at every read of the cart by
//! [`omni_shared::cart::pricing::price_cart`], never stored; so a code that
//! does not apply yet (a basket below its minimum) stays attached, shows why,
//! and applies as soon as the basket qualifies.
//!
//! A code no live promotion has is refused at attach time (422
//! `unknown-coupon`), so a typo is caught while the shopper is still typing.

use omni_shared::cart::{pricing, store};
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::CouponCode;
use omni_shared::web::{Problem, parse_json};
use serde::Deserialize;
use spin_sdk::http::Response;

use crate::edit::edit_cart;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachBody {
    code: String,
}

/// `POST /api/carts/{cart_id}/coupons` `{"code": "WELCOME10"}`.
pub fn attach(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let body = parse_json::<AttachBody>(ctx.req)?;
    let code =
        CouponCode::parse(&body.code).map_err(|e| Problem::invalid_body(format!("code: {e}")))?;
    edit_cart(ctx, |c| {
        if !pricing::code_exists(c.tx, &code, c.now)? {
            return Err(omni_shared::cart::CartError::UnknownCoupon {
                code: code.as_str().to_owned(),
            });
        }
        store::attach_coupon(c.tx, c.header, code.as_str(), c.channel, c.now)
    })
}

/// `DELETE /api/carts/{cart_id}/coupons/{code}`: detaching a code that is not
/// attached changes nothing and answers 200.
pub fn detach(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let code = CouponCode::parse(ctx.param("code"))
        .map_err(|e| Problem::not_found(format!("no coupon: {e}")))?;
    edit_cart(ctx, |c| {
        store::detach_coupon(c.tx, c.header, code.as_str(), c.channel, c.now)
    })
}

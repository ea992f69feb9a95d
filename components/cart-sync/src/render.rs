//! A cart as every channel sees it, priced for the channel asking, with its
//! version as the ETag; and the one way a cart reaches a response.

use chrono::Duration;
use omni_shared::cart::pricing::{self, PricedCart};
use omni_shared::cart::store::{self, Cart};
use omni_shared::cart::{CartError, CartPolicy, CartStatus};
use omni_shared::channel::Channel;
use omni_shared::ids::CartId;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::Sql;
use omni_shared::web::{Problem, json_response, with_etag};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// The cart's JSON (see the `Cart` schema in openapi.yaml).
pub fn cart_json(cart: &Cart, priced: &PricedCart, channel: Channel, policy: &CartPolicy) -> Value {
    let header = &cart.header;
    let lines: Vec<Value> = cart
        .lines
        .iter()
        .zip(&priced.lines)
        .map(|(line, priced)| {
            json!({
                "sku": line.sku,
                "name": priced.name,
                "category": priced.category,
                "assortment": line.assortment.as_str(),
                "not_sold_in_channel": line.assortment.sold_in(channel).err(),
                "quantity": priced.quantity,
                "unit_price": priced.unit_price,
                "subtotal": priced.subtotal,
                "discount": priced.discount,
                "total": priced.total,
                "discounts": priced.discounts,
                "added_at_version": line.added_at_version,
                "changed_at_version": line.changed_at_version,
            })
        })
        .collect();
    let expires_at = (header.status == CartStatus::Active)
        .then(|| header.updated_at + Duration::days(i64::from(policy.expiry_days())));
    json!({
        "cart_id": header.id,
        "status": header.status.as_str(),
        "customer_id": header.customer(),
        "guest": header.customer().is_none(),
        "channel": header.channel,
        "last_channel": header.last_channel,
        "priced_for_channel": channel,
        "currency": header.currency,
        "version": header.version,
        "merged_into": header.merged_into,
        "lines": lines,
        "coupons": priced.coupons,
        "promotions": priced.promotions,
        "totals": priced.totals,
        "created_at": header.created_at,
        "updated_at": header.updated_at,
        "expires_at": expires_at,
    })
}

/// Loads, prices and renders the cart with its ETag.
pub fn cart_response(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    id: &CartId,
    status: u16,
    channel: Option<Channel>,
    policy: &CartPolicy,
) -> Result<Response, Problem> {
    let (body, version) = current(ctx, sql, id, channel, policy)?;
    Ok(with_etag(json_response(status, &body), version))
}

/// The cart's JSON and version as they are now.
pub fn current(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    id: &CartId,
    channel: Option<Channel>,
    policy: &CartPolicy,
) -> Result<(Value, i64), Problem> {
    let cart = store::load(sql, id)?.ok_or(CartError::NotFound)?;
    let channel = channel.unwrap_or(cart.header.channel);
    let priced = pricing::price(sql, &cart, channel, ctx.now())?;
    Ok((cart_json(&cart, &priced, channel, policy), cart.header.version))
}

/// A refusal as a problem; a stale `If-Match` also carries the current cart
/// as `current`, so the device can redo its edit without another request.
pub fn refusal(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    id: &CartId,
    channel: Option<Channel>,
    policy: &CartPolicy,
    error: CartError,
) -> Problem {
    let stale = matches!(error, CartError::Stale { .. });
    let problem = Problem::from(error);
    if !stale {
        return problem;
    }
    match current(ctx, sql, id, channel, policy) {
        Ok((body, _)) => problem.with_extension("current", body),
        Err(other) => other,
    }
}

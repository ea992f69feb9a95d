//! A cart as every channel sees it, priced for the channel asking, with its
//! version as the ETag; and the one way a cart reaches a response.
//!
//! Why borrowing view structs rather than `json!`? A cart is read on every
//! screen of every channel; serialising straight from the loaded cart skips
//! building (and copying) a tree of JSON values per line, which was most of
//! a 30-line read's time.

use chrono::{DateTime, Duration, Utc};
use omni_shared::cart::pricing::{self, CouponResult, PricedCart, PricedLine, Totals};
use omni_shared::cart::store::{self, Cart, CartLine};
use omni_shared::cart::{CartError, CartPolicy, CartStatus};
use omni_shared::catalog::NotSoldIn;
use omni_shared::channel::Channel;
use omni_shared::ids::{CartId, CustomerId, Sku};
use omni_shared::money::{Currency, Money};
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::{Applied, LineDiscount};
use omni_shared::storage::Sql;
use omni_shared::web::{Problem, json_response, with_etag};
use serde::Serialize;
use serde_json::Value;
use spin_sdk::http::Response;

/// The cart's JSON (the `Cart` schema in openapi.yaml).
#[derive(Serialize)]
pub struct CartView<'a> {
    cart_id: &'a CartId,
    status: &'static str,
    customer_id: Option<&'a CustomerId>,
    guest: bool,
    channel: Channel,
    last_channel: Channel,
    priced_for_channel: Channel,
    currency: Currency,
    version: i64,
    merged_into: Option<&'a CartId>,
    lines: Vec<LineView<'a>>,
    coupons: &'a [CouponResult],
    promotions: &'a [Applied],
    totals: &'a Totals,
    #[serde(with = "omni_shared::clock::wire_format")]
    created_at: DateTime<Utc>,
    #[serde(with = "omni_shared::clock::wire_format")]
    updated_at: DateTime<Utc>,
    #[serde(with = "omni_shared::clock::wire_format::option")]
    expires_at: Option<DateTime<Utc>>,
    /// Only in the answer that created a guest cart: its one key.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

#[derive(Serialize)]
struct LineView<'a> {
    sku: &'a Sku,
    name: &'a str,
    /// The category path's segments, as the catalog and promotions write it.
    category: Vec<&'a str>,
    assortment: &'static str,
    /// Set when the channel asking does not sell the SKU (it was added in
    /// another channel): the shopper sees why and the alternative.
    not_sold_in_channel: Option<NotSoldIn>,
    quantity: u32,
    unit_price: Money,
    subtotal: Money,
    discount: Money,
    total: Money,
    discounts: &'a [LineDiscount],
    added_at_version: i64,
    changed_at_version: i64,
}

impl<'a> LineView<'a> {
    fn new(line: &'a CartLine, priced: &'a PricedLine, channel: Channel) -> LineView<'a> {
        LineView {
            sku: &line.sku,
            name: &priced.name,
            category: priced
                .category
                .split('/')
                .filter(|s| !s.is_empty())
                .collect(),
            assortment: line.assortment.as_str(),
            not_sold_in_channel: line.assortment.sold_in(channel).err(),
            quantity: priced.quantity,
            unit_price: priced.unit_price,
            subtotal: priced.subtotal,
            discount: priced.discount,
            total: priced.total,
            discounts: &priced.discounts,
            added_at_version: line.added_at_version,
            changed_at_version: line.changed_at_version,
        }
    }
}

impl<'a> CartView<'a> {
    pub fn new(
        cart: &'a Cart,
        priced: &'a PricedCart,
        channel: Channel,
        policy: &CartPolicy,
    ) -> CartView<'a> {
        let header = &cart.header;
        CartView {
            cart_id: &header.id,
            status: header.status.as_str(),
            customer_id: header.customer(),
            guest: header.customer().is_none(),
            channel: header.channel,
            last_channel: header.last_channel,
            priced_for_channel: channel,
            currency: header.currency,
            version: header.version,
            merged_into: header.merged_into.as_ref(),
            lines: cart
                .lines
                .iter()
                .zip(&priced.lines)
                .map(|(l, p)| LineView::new(l, p, channel))
                .collect(),
            coupons: &priced.coupons,
            promotions: &priced.promotions,
            totals: &priced.totals,
            created_at: header.created_at,
            updated_at: header.updated_at,
            expires_at: (header.status == CartStatus::Active)
                .then(|| header.updated_at + Duration::days(i64::from(policy.expiry_days()))),
            secret: None,
        }
    }

    pub fn with_secret(mut self, secret: &'a str) -> CartView<'a> {
        self.secret = Some(secret);
        self
    }
}

/// Prices `cart` for `channel` (the cart's own channel when `None`) and
/// hands the view to `respond`.
pub fn priced<T>(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    cart: &Cart,
    channel: Option<Channel>,
    policy: &CartPolicy,
    respond: impl FnOnce(CartView<'_>) -> T,
) -> Result<T, Problem> {
    let channel = channel.unwrap_or(cart.header.channel);
    let priced = pricing::price(sql, cart, channel, ctx.now())?;
    Ok(respond(CartView::new(cart, &priced, channel, policy)))
}

/// The cart as a response with `status` and its ETag.
pub fn cart_response(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    cart: &Cart,
    status: u16,
    channel: Option<Channel>,
    policy: &CartPolicy,
) -> Result<Response, Problem> {
    priced(ctx, sql, cart, channel, policy, |view| {
        with_etag(json_response(status, &view), cart.header.version)
    })
}

/// Loads the cart named `id` and answers it.
pub fn current_response(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    id: &CartId,
    status: u16,
    channel: Option<Channel>,
    policy: &CartPolicy,
) -> Result<Response, Problem> {
    let cart = store::load(sql, id)?.ok_or(CartError::NotFound)?;
    cart_response(ctx, sql, &cart, status, channel, policy)
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
    let current = store::load(sql, id)
        .map_err(Problem::from)
        .and_then(|cart| {
            let cart = cart.ok_or(CartError::NotFound)?;
            priced(ctx, sql, &cart, channel, policy, |view| {
                serde_json::to_value(view).unwrap_or(Value::Null)
            })
        });
    match current {
        Ok(body) => problem.with_extension("current", body),
        Err(other) => other,
    }
}

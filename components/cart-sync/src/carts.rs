//! Carts themselves: start one (guest or customer), read one, and find the
//! customer's one active cart from any channel.
//!
//! Why no Idempotency-Key on `POST /api/carts`? For a customer the call is
//! create-or-get, idempotent by nature. For a guest, a replay would have to
//! store the answer, secret included, in plain text for a day, against the
//! rule that only the secret's hash is kept; a retried guest creation
//! instead leaves an empty cart behind, which costs nothing and expires.

use omni_shared::auth::Caller;
use omni_shared::cart::access::{Intent, authorize};
use omni_shared::cart::store;
use omni_shared::cart::{CartError, expiry};
use omni_shared::channel::Channel;
use omni_shared::money::Currency;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::in_transaction;
use omni_shared::web::{Problem, json_response, parse_json, with_etag};
use serde::Deserialize;
use spin_sdk::http::Response;

use crate::render;
use crate::request::{self, Shopper};

/// `POST /api/carts` `{"channel": "app", "currency": "PLN"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCartBody {
    channel: String,
    #[serde(default)]
    currency: Option<String>,
}

/// A new cart as the domain takes it: the channel it starts in and its
/// currency (PLN unless named).
struct NewCart {
    channel: Channel,
    currency: Currency,
}

impl TryFrom<NewCartBody> for NewCart {
    type Error = Problem;

    fn try_from(body: NewCartBody) -> Result<NewCart, Problem> {
        let channel = Channel::parse(&body.channel)
            .map_err(|e| Problem::invalid_body(format!("channel: {e}")))?;
        let currency = match body.currency {
            None => Currency::Pln,
            Some(code) => Currency::parse(&code)
                .map_err(|e| Problem::invalid_body(format!("currency: {e}")))?,
        };
        Ok(NewCart { channel, currency })
    }
}

/// `POST /api/carts`: a guest cart (201, with its secret shown once), or the
/// customer's active cart (201 when created now, 200 when they had one).
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let shopper = Shopper::from_ctx(ctx)?;
    let new = NewCart::try_from(parse_json::<NewCartBody>(ctx.req)?)?;
    omni_shared::auth::channel_claim::check(&shopper.caller, new.channel)?;
    let policy = request::policy(ctx)?;
    let sql = ctx.sql()?;
    let now = ctx.now();
    let (id, status, secret) = match &shopper.caller {
        Caller::Anonymous => {
            let (id, secret) = store::create_guest(sql, new.channel, new.currency, now)?;
            (id, 201, Some(secret))
        }
        Caller::Customer(customer) => {
            let (id, created) = store::create_or_get_customer_cart(
                sql,
                customer,
                new.channel,
                new.currency,
                &policy,
                now,
            )?;
            (id, if created { 201 } else { 200 }, None)
        }
        Caller::StoreDevice { .. } => {
            return Err(Problem::forbidden(
                "store devices do not own carts; they load a shopper's cart through its hand-off code",
            ));
        }
        Caller::Ops { .. } => {
            return Err(Problem::forbidden(
                "operators read carts but do not start them",
            ));
        }
    };
    let cart = store::load(sql, &id)?.ok_or(CartError::NotFound)?;
    let mut response = render::priced(ctx, sql, &cart, shopper.channel, &policy, |view| {
        let view = match &secret {
            Some(secret) => view.with_secret(secret.as_str()),
            None => view,
        };
        with_etag(json_response(status, &view), cart.header.version)
    })?;
    response.set_header("location", format!("/api/carts/{id}"));
    // The secret must not linger in a shared cache or a browser's history.
    response.set_header("cache-control", "no-store");
    Ok(response)
}

/// `GET /api/carts/{cart_id}`: one read of the cart serves the access
/// check and the answer.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let id = request::cart_id(ctx)?;
    let shopper = Shopper::from_ctx(ctx)?;
    let policy = request::policy(ctx)?;
    let sql = ctx.sql()?;
    let mut cart = store::load(sql, &id)?.ok_or(CartError::NotFound)?;
    authorize(
        &shopper.caller,
        shopper.secret(),
        &cart.header,
        Intent::Read,
    )?;
    if expiry::is_stale(&cart.header, &policy, ctx.now()) {
        in_transaction(sql, |tx| {
            expiry::expire_if_stale(tx, &cart.header, &policy, ctx.now())
        })?;
        cart = store::load(sql, &id)?.ok_or(CartError::NotFound)?;
    }
    render::cart_response(ctx, sql, &cart, 200, shopper.channel, &policy)
}

/// `GET /api/carts/me`: the customer's one active cart, whichever channel
/// asks; 404 when they have none (`POST /api/carts` starts one).
pub fn mine(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let shopper = Shopper::from_ctx(ctx)?;
    let customer = shopper.caller.require_customer()?;
    let policy = request::policy(ctx)?;
    let sql = ctx.sql()?;
    let no_cart =
        || Problem::not_found("this customer has no active cart; POST /api/carts starts one");
    let id = store::active_cart_of(sql, customer)?.ok_or_else(no_cart)?;
    let cart = store::load(sql, &id)?.ok_or_else(no_cart)?;
    if expiry::is_stale(&cart.header, &policy, ctx.now()) {
        in_transaction(sql, |tx| {
            expiry::expire_if_stale(tx, &cart.header, &policy, ctx.now())
        })?;
        return Err(no_cart());
    }
    render::cart_response(ctx, sql, &cart, 200, shopper.channel, &policy)
}

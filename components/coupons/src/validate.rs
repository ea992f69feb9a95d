//! `POST /api/coupons/validate`: which promotions apply to a basket, the
//! discount per line and in total, and why each code that does not apply
//! does not. Open to every caller, each in the channels its credential
//! allows; nothing is counted.
//!
//! The basket is priced from the catalog: the caller's snapshot supplies
//! SKUs and quantities, and each line's unit price and category are the
//! catalog's (one base price per SKU and currency, the same in every
//! channel). A `unit_price` or `category` the caller sends is checked, never
//! used: if it differs from the catalog's the request is 422 naming the
//! field (`cart.lines[i].unit_price`) and the catalog's price in words, and
//! a SKU the catalog lacks or has no price for in the cart's currency is
//! 422 on its line. See `omni_shared::promotions::cart`.

use omni_shared::auth::{Caller, channel_claim};
use omni_shared::catalog::FieldError;
use omni_shared::channel::Channel;
use omni_shared::ids::CustomerId;
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::cart::CartRequest;
use omni_shared::promotions::{
    self, CartSnapshot, CartSnapshotRow, CouponCode, Fulfilment, PromotionError,
};
use omni_shared::storage::Sql;
use omni_shared::web::{Problem, parse_json};
use serde::Deserialize;
use spin_sdk::http::Response;

use crate::problems::{invalid, problem};

/// The most codes one basket may carry.
pub const MAX_CODES: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    channel: String,
    cart: CartSnapshotRow,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    fulfilment: Option<String>,
}

pub fn validate(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let body: ValidateBody = parse_json(ctx.req)?;
    let basket = Basket::parse(
        body.channel,
        body.cart,
        body.codes,
        body.customer_id,
        body.fulfilment,
    )
    .map_err(invalid)?;
    let customer = basket.customer_for(&caller)?;
    let sql = ctx.sql()?;
    let cart = basket.priced(sql)?;
    let evaluation = promotions::validate(
        sql,
        &cart,
        basket.channel,
        basket.fulfilment,
        customer.as_ref(),
        &basket.codes,
        ctx.now(),
    )
    .map_err(problem)?;
    // Every code is answered on its own, as the cart and the till show it:
    // a mistyped one is refused with `unknown-code` beside the others'
    // results instead of failing the whole validation (a redemption, which
    // acts, still refuses a basket with an unknown code).
    Ok(evaluation_response(&evaluation))
}

/// The evaluation as JSON, written into a buffer sized for a large basket
/// at once (growing a small one is a measurable share of a large answer).
fn evaluation_response(evaluation: &promotions::Evaluation) -> Response {
    let mut body =
        Vec::with_capacity(1024 + 640 * evaluation.lines.len() + 256 * evaluation.applied.len());
    match serde_json::to_writer(&mut body, evaluation) {
        Ok(()) => {
            let mut response = Response::new(200, body);
            response.set_header("content-type", "application/json");
            response
        }
        Err(err) => Problem::internal(&err).into_response(),
    }
}

/// What validation and redemption share: a basket, where it is, who it is
/// for and the codes typed or scanned.
pub struct Basket {
    /// What the caller asks about; [`Basket::priced`] prices it.
    pub cart: CartRequest,
    pub channel: Channel,
    pub fulfilment: Option<Fulfilment>,
    pub codes: Vec<CouponCode>,
    pub customer: Option<CustomerId>,
}

impl Basket {
    /// Parses every part, reporting all bad fields at once.
    pub fn parse(
        channel: String,
        cart: CartSnapshotRow,
        codes: Vec<String>,
        customer: Option<String>,
        fulfilment: Option<String>,
    ) -> Result<Basket, Vec<FieldError>> {
        let mut errors = Vec::new();
        let channel = Channel::parse(&channel)
            .map_err(|e| errors.push(FieldError::new("channel", e)))
            .ok();
        let cart = CartRequest::try_from(cart)
            .map_err(|e| errors.extend(in_cart(e)))
            .ok();
        let mut parsed_codes = Vec::new();
        if codes.len() > MAX_CODES {
            errors.push(FieldError::new(
                "codes",
                format!("at most {MAX_CODES} codes per basket"),
            ));
        } else {
            for (i, raw) in codes.iter().enumerate() {
                match CouponCode::parse(raw) {
                    Ok(code) => parsed_codes.push(code),
                    Err(e) => errors.push(FieldError::new(format!("codes[{i}]"), e)),
                }
            }
        }
        let customer = match customer {
            None => Some(None),
            Some(raw) => CustomerId::parse(&raw)
                .map(Some)
                .map_err(|e| errors.push(FieldError::new("customer_id", e)))
                .ok(),
        };
        let fulfilment = match fulfilment {
            None => Some(None),
            Some(raw) => Fulfilment::parse(&raw)
                .map(Some)
                .map_err(|e| errors.push(FieldError::new("fulfilment", e)))
                .ok(),
        };
        match (channel, cart, customer, fulfilment) {
            (Some(channel), Some(cart), Some(customer), Some(fulfilment)) if errors.is_empty() => {
                Ok(Basket {
                    cart,
                    channel,
                    fulfilment,
                    codes: parsed_codes,
                    customer,
                })
            }
            _ => Err(errors),
        }
    }

    /// The customer whose facts the rules may read, checked against the
    /// caller: a shopper is who their token says (naming someone else is
    /// 403), a store device names the customer whose app code it scanned,
    /// and an anonymous storefront names nobody (401: a guest basket has no
    /// customer facts, and guessing ids must not reveal anyone's). The
    /// channel is a claim the credential must allow
    /// ([`channel_claim::check`]: guests and customers `web` and `app`,
    /// store devices `pos` and `kiosk`, ops any; else 403
    /// `channel-not-allowed`), so a shopper cannot dodge or borrow an
    /// in-store rule, nor a till an app-only one.
    pub fn customer_for(&self, caller: &Caller) -> Result<Option<CustomerId>, Problem> {
        let customer = match caller {
            Caller::Anonymous => {
                if self.customer.is_some() {
                    return Err(Problem::unauthorized(
                        "naming a customer needs that customer's token or a store device that scanned their code",
                    ));
                }
                None
            }
            Caller::Customer(id) => {
                if self.customer.as_ref().is_some_and(|named| named != id) {
                    return Err(Problem::forbidden(
                        "a customer may validate only their own basket",
                    ));
                }
                Some(id.clone())
            }
            Caller::StoreDevice { .. } | Caller::Ops { .. } => self.customer.clone(),
        };
        channel_claim::check(caller, self.channel)?;
        Ok(customer)
    }

    /// The snapshot the engine evaluates: the caller's SKUs and quantities
    /// priced from the catalog; a price or category that disagrees with it,
    /// an unknown SKU or one without a price in the cart's currency is 422
    /// naming `cart.lines[i].<field>`.
    pub fn priced(&self, sql: &dyn Sql) -> Result<CartSnapshot, Problem> {
        self.cart.price(sql).map_err(|err| match err {
            PromotionError::Invalid(errors) => invalid(in_cart(errors)),
            other => problem(other),
        })
    }
}

/// Field errors of the cart, named as the body names them (`cart.<field>`).
fn in_cart(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError::new(format!("cart.{}", e.field), e.reason))
        .collect()
}

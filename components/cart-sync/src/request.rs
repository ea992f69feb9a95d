//! What every cart request carries besides its body: who is calling, the
//! guest secret, the channel the shopper is in, and the component's limits.
//!
//! Headers (all optional):
//!
//! | header | meaning |
//! | --- | --- |
//! | `Authorization: Bearer` | a customer, store device or operator token |
//! | `X-Cart-Secret` | the guest cart's secret, as returned at creation |
//! | `X-Channel` | where the shopper is now (`web`, `app`, `kiosk`, `pos`, `call_center`); defaults to the channel the cart was created in |
//!
//! The channel is a claim checked against the credential
//! ([`omni_shared::auth::channel_claim`]): a guest or customer may name only
//! `web` or `app`, a store device only `pos` or `kiosk`. Any other claim is
//! 403 `channel-not-allowed`, so a shopper cannot borrow the till's prices
//! or the kiosk's store-only assortment.
//!
//! Why a channel header and not a field of each body? The channel matters
//! on reads too (an app-only coupon shows as applied in the app and as "valid
//! only in the app" on the web), and reads have no body.

use omni_shared::auth::{Caller, channel_claim};
use omni_shared::cart::CartPolicy;
use omni_shared::cart::store::CartHeader;
use omni_shared::channel::Channel;
use omni_shared::ids::CartId;
use omni_shared::pipeline::Ctx;
use omni_shared::web::Problem;

/// The request's caller and cart credentials.
pub struct Shopper {
    pub caller: Caller,
    pub secret: Option<String>,
    pub channel: Option<Channel>,
}

impl Shopper {
    /// A bad token is 401 and an unknown channel 400; a secret that is not
    /// text simply opens nothing.
    pub fn from_ctx(ctx: &Ctx<'_>) -> Result<Shopper, Problem> {
        let caller = ctx.caller()?;
        let secret = ctx
            .req
            .header("x-cart-secret")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let channel = match ctx.req.header("x-channel") {
            None => None,
            Some(value) => {
                let text = value
                    .as_str()
                    .ok_or_else(|| Problem::bad_request("X-Channel must be text"))?;
                let claimed = Channel::parse(text.trim())
                    .map_err(|e| Problem::bad_request(format!("X-Channel: {e}")))?;
                channel_claim::check(&caller, claimed)?;
                Some(claimed)
            }
        };
        Ok(Shopper {
            caller,
            secret,
            channel,
        })
    }

    /// The channel a change or a price is for: the one the shopper named,
    /// else the one the cart started in.
    pub fn channel_for(&self, header: &CartHeader) -> Channel {
        // The claim was checked in `from_ctx`; the cart's own channel only
        // when this caller may act in it.
        channel_claim::resolve(&self.caller, self.channel, Some(header.channel))
            .unwrap_or(header.channel)
    }

    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }
}

/// The limits from the component's Spin variables (`cart_max_line_quantity`,
/// `cart_expiry_days`); unset means the defaults.
pub fn policy(ctx: &Ctx<'_>) -> Result<CartPolicy, Problem> {
    let read = |name: &str| ctx.host.variable(name).ok().flatten();
    CartPolicy::from_settings(
        read("cart_max_line_quantity").as_deref(),
        read("cart_expiry_days").as_deref(),
    )
    .map_err(Problem::from)
}

/// The `{cart_id}` path parameter; one that is not an id names no cart.
pub fn cart_id(ctx: &Ctx<'_>) -> Result<CartId, Problem> {
    CartId::parse(ctx.param("cart_id"))
        .map_err(|_| Problem::from(omni_shared::cart::CartError::NotFound))
}

/// Reads a `name=value` query parameter as a whole number, if present.
pub fn query_integer(
    ctx: &Ctx<'_>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, Problem> {
    let mut found = None;
    for pair in ctx.req.query().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != name {
            continue;
        }
        let number = value
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "{name} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))
            })?;
        found = Some(number);
    }
    Ok(found)
}

/// Refuses query parameters other than `allowed`, so a misspelt
/// `base_verison` is an error rather than silently ignored.
pub fn only_query(ctx: &Ctx<'_>, allowed: &[&str]) -> Result<(), Problem> {
    for pair in ctx.req.query().split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if !allowed.contains(&key) {
            let expected = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            };
            return Err(Problem::bad_request(format!(
                "unknown query parameter `{}`; expected {expected}",
                key.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(())
}

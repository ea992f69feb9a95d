//! Prices, discounts and totals of a cart: [`price_cart`] is the only place
//! a cart gets them, so the app, the web, the kiosk and the checkout
//! snapshot a till loads can never disagree.
//!
//! Base prices come from the one price list (the same in every channel).
//! Discounts come from the promotion engine the coupons component uses
//! ([`crate::promotions::evaluate`]), fed with the cart's lines, the attached
//! codes and who is asking from which channel; the cart never computes a
//! discount itself. The engine spreads a basket-level discount over the
//! lines exactly, so the line discounts always add up to the total discount,
//! to the minor unit.
//!
//! Why is the channel a parameter and not the cart's? The cart is one, the
//! shopper moves: an app-only coupon applies while they look at the cart in
//! the app and is shown as "valid only in the app" on the web. The checkout
//! snapshot freezes the answer of the channel that handed it over, so the
//! till charges exactly what the shopper saw.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::CartError;
use super::store::Cart;
use crate::channel::Channel;
use crate::ids::Sku;
use crate::money::{Currency, Money};
use crate::promotions::{
    ActivePromotion, Applied, CartLine as BasketLine, CartSnapshot, Context, CouponCode, CustomerFacts, Evaluation,
    LineDiscount, Refusal, evaluate,
};
use crate::storage::Sql;

/// A cart with its prices, discounts and totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    /// Every attached code, applied or with the reason it does not apply.
    pub coupons: Vec<CouponResult>,
    /// The promotions applied, automatic ones and those reached by a code.
    pub promotions: Vec<Applied>,
    pub totals: Totals,
}

/// One priced line; `discount` is the sum of `discounts`, and `total` is
/// `subtotal - discount`, what a return later refunds against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub sku: Sku,
    pub name: String,
    /// The `/`-joined category path.
    pub category: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    pub discounts: Vec<LineDiscount>,
}

/// An attached code and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponResult {
    pub code: CouponCode,
    pub applied: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_id: Option<String>,
    /// What the code took off, when it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// Why not, when it did not: the engine's stable reason and its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The cart's totals, exact in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub currency: Currency,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    /// Units over all lines.
    pub item_count: u32,
    pub line_count: u32,
    pub free_shipping: bool,
}

/// Prices `cart` for a shopper in `channel` (with what the rules may know
/// about them, `customer`) at `now`, against the live `promotions`.
///
/// Codes the engine does not know are reported as not applying (the code
/// may have been withdrawn since it was attached); they are never dropped
/// from the cart silently.
pub fn price_cart(
    cart: &Cart,
    channel: Channel,
    customer: CustomerFacts,
    now: DateTime<Utc>,
    promotions: &[ActivePromotion],
) -> Result<PricedCart, CartError> {
    let currency = cart.header.currency;
    let basket = CartSnapshot::new(
        currency,
        cart.lines
            .iter()
            .map(|l| BasketLine {
                sku: l.sku.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                already_discounted: false,
            })
            .collect(),
    )
    .map_err(|errors| {
        let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
        CartError::Storage(crate::storage::StorageError::Decode(format!("cart {}: {}", cart.header.id, reasons.join("; "))))
    })?;
    let codes: Vec<CouponCode> = cart.coupons.iter().filter_map(|c| CouponCode::parse(c).ok()).collect();
    let context = Context { channel, fulfilment: None, customer, now };
    let evaluation = evaluate(&basket, &context, promotions, &codes);
    assemble(cart, &codes, evaluation)
}

/// Loads what [`price_cart`] needs (the customer's facts and the live
/// promotions with the cart's codes) and prices the cart.
pub fn price(sql: &dyn Sql, cart: &Cart, channel: Channel, now: DateTime<Utc>) -> Result<PricedCart, CartError> {
    let codes: Vec<CouponCode> = cart.coupons.iter().filter_map(|c| CouponCode::parse(c).ok()).collect();
    let facts = crate::promotions::load_customer_facts(sql, cart.header.customer()).map_err(promotion_error)?;
    let promotions = crate::promotions::load_active(sql, now, &codes).map_err(promotion_error)?;
    price_cart(cart, channel, facts, now, &promotions)
}

/// Whether the promotion engine knows a live promotion with `code`.
pub fn code_exists(sql: &dyn Sql, code: &CouponCode, now: DateTime<Utc>) -> Result<bool, CartError> {
    let promotions = crate::promotions::load_active(sql, now, std::slice::from_ref(code)).map_err(promotion_error)?;
    Ok(promotions.iter().any(|p| p.codes.iter().any(|c| c.code == *code)))
}

fn promotion_error(err: crate::promotions::PromotionError) -> CartError {
    CartError::Storage(crate::storage::StorageError::Other(format!("promotions: {err}")))
}

fn assemble(cart: &Cart, codes: &[CouponCode], evaluation: Evaluation) -> Result<PricedCart, CartError> {
    let currency = cart.header.currency;
    let lines = cart
        .lines
        .iter()
        .zip(evaluation.lines)
        .map(|(line, result)| PricedLine {
            sku: line.sku.clone(),
            name: line.name.clone(),
            category: line.category.to_string(),
            quantity: line.quantity.get(),
            unit_price: result.unit_price,
            subtotal: result.subtotal,
            discount: result.discount,
            total: result.total,
            discounts: result.discounts,
        })
        .collect::<Vec<_>>();
    let coupons = codes
        .iter()
        .map(|code| {
            if let Some(applied) = evaluation.applied.iter().find(|a| a.code.as_ref() == Some(code)) {
                CouponResult {
                    code: code.clone(),
                    applied: true,
                    promotion_id: Some(applied.promotion_id.as_str().to_owned()),
                    discount: Some(applied.discount),
                    refusal: None,
                    message: None,
                }
            } else {
                let refused = evaluation.refused.iter().find(|r| r.code == *code);
                CouponResult {
                    code: code.clone(),
                    applied: false,
                    promotion_id: refused.and_then(|r| r.promotion_id.as_ref()).map(|p| p.as_str().to_owned()),
                    discount: None,
                    refusal: Some(refused.map_or(Refusal::UnknownCode, |r| r.refusal.clone())),
                    message: Some(refused.map_or_else(|| Refusal::UnknownCode.message(), |r| r.message.clone())),
                }
            }
        })
        .collect();
    let totals = Totals {
        currency,
        subtotal: evaluation.subtotal,
        discount: evaluation.total_discount,
        total: evaluation.total,
        item_count: cart.item_count(),
        line_count: u32::try_from(lines.len()).unwrap_or(u32::MAX),
        free_shipping: evaluation.free_shipping,
    };
    check_sums(&lines, &totals)?;
    Ok(PricedCart { currency, lines, coupons, promotions: evaluation.applied, totals })
}

/// The invariants every priced cart keeps, checked rather than trusted:
/// lines add up to the totals and each line's parts add up to the line.
fn check_sums(lines: &[PricedLine], totals: &Totals) -> Result<(), CartError> {
    let currency = totals.currency;
    let subtotal = Money::sum(currency, lines.iter().map(|l| &l.subtotal))?;
    let discount = Money::sum(currency, lines.iter().map(|l| &l.discount))?;
    let lines_ok = lines.iter().all(|l| {
        l.unit_price.times_count(l.quantity) == Ok(l.subtotal)
            && Money::sum(currency, l.discounts.iter().map(|d| &d.amount)) == Ok(l.discount)
            && l.subtotal.checked_sub(&l.discount) == Ok(l.total)
    });
    if lines_ok && subtotal == totals.subtotal && discount == totals.discount && subtotal.checked_sub(&discount)? == totals.total {
        Ok(())
    } else {
        Err(CartError::Storage(crate::storage::StorageError::Other(
            "a priced cart's lines do not add up to its totals".into(),
        )))
    }
}

trait TimesCount {
    fn times_count(&self, quantity: u32) -> Result<Money, crate::money::MoneyError>;
}

impl TimesCount for Money {
    fn times_count(&self, quantity: u32) -> Result<Money, crate::money::MoneyError> {
        Money::from_minor_units(
            self.to_minor_units().checked_mul(i64::from(quantity)).ok_or(crate::money::MoneyError::OutOfRange)?,
            self.currency(),
        )
    }
}

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
    ActivePromotion, Applied, CartLine as BasketLine, CartSnapshot, Context, CouponCode,
    CustomerFacts, Evaluation, LineDiscount, Refusal, evaluate,
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
    /// The `/`-joined category path; on the wire the path's segments, as
    /// the catalog and the promotions write a category (a snapshot stored
    /// before that, with the joined text, still reads).
    #[serde(with = "category_segments")]
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
    let basket = snapshot_of(cart)?;
    let codes: Vec<CouponCode> = cart
        .coupons
        .iter()
        .filter_map(|c| CouponCode::parse(c).ok())
        .collect();
    let context = Context {
        channel,
        fulfilment: None,
        customer,
        now,
    };
    let evaluation = evaluate(&basket, &context, promotions, &codes);
    assemble(cart, &codes, evaluation)
}

/// The cart's lines as the engine takes them.
fn snapshot_of(cart: &Cart) -> Result<CartSnapshot, CartError> {
    let currency = cart.header.currency;
    CartSnapshot::new(
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
        CartError::Storage(crate::storage::StorageError::Decode(format!(
            "cart {}: {}",
            cart.header.id,
            reasons.join("; ")
        )))
    })
}

/// Loads what [`price_cart`] needs (the customer's facts and the live
/// promotions with the cart's codes) and prices the cart.
///
/// The customer's facts are read only when some promotion could use them:
/// with none live, the answer cannot depend on who is asking.
pub fn price(
    sql: &dyn Sql,
    cart: &Cart,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<PricedCart, CartError> {
    price_with_evaluation(sql, cart, channel, now).map(|detailed| detailed.cart)
}

/// A priced cart with what the engine decided it from: the evaluation and
/// the live promotions, which a checkout needs to reserve its coupon uses.
pub struct DetailedPrice {
    pub cart: PricedCart,
    pub evaluation: Evaluation,
    pub promotions: Vec<ActivePromotion>,
}

/// [`price`], keeping the engine's evaluation and the promotions it read.
pub fn price_with_evaluation(
    sql: &dyn Sql,
    cart: &Cart,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<DetailedPrice, CartError> {
    let codes: Vec<CouponCode> = cart
        .coupons
        .iter()
        .filter_map(|c| CouponCode::parse(c).ok())
        .collect();
    let promotions = crate::promotions::load_active(sql, now, &codes).map_err(promotion_error)?;
    let facts = if promotions.is_empty() {
        CustomerFacts {
            customer: cart.header.customer().cloned(),
            ..CustomerFacts::guest()
        }
    } else {
        crate::promotions::load_customer_facts(sql, cart.header.customer())
            .map_err(promotion_error)?
    };
    let basket = snapshot_of(cart)?;
    let context = Context {
        channel,
        fulfilment: None,
        customer: facts,
        now,
    };
    let evaluation = evaluate(&basket, &context, &promotions, &codes);
    let priced = assemble(cart, &codes, evaluation.clone())?;
    Ok(DetailedPrice {
        cart: priced,
        evaluation,
        promotions,
    })
}

/// Whether the promotion engine knows a live promotion with `code`.
pub fn code_exists(
    sql: &dyn Sql,
    code: &CouponCode,
    now: DateTime<Utc>,
) -> Result<bool, CartError> {
    let promotions = crate::promotions::load_active(sql, now, std::slice::from_ref(code))
        .map_err(promotion_error)?;
    Ok(promotions
        .iter()
        .any(|p| p.codes.iter().any(|c| c.code == *code)))
}

pub(super) fn promotion_error(err: crate::promotions::PromotionError) -> CartError {
    use crate::promotions::PromotionError;
    match err {
        // A concurrent writer moved a limit: 503 with Retry-After, and the
        // retry prices the cart afresh.
        PromotionError::Contention => CartError::Storage(crate::storage::StorageError::Busy),
        PromotionError::Storage(inner) => CartError::Storage(inner),
        other => CartError::Storage(crate::storage::StorageError::Other(format!(
            "promotions: {other}"
        ))),
    }
}

fn assemble(
    cart: &Cart,
    codes: &[CouponCode],
    evaluation: Evaluation,
) -> Result<PricedCart, CartError> {
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
            if let Some(applied) = evaluation
                .applied
                .iter()
                .find(|a| a.code.as_ref() == Some(code))
            {
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
                    promotion_id: refused
                        .and_then(|r| r.promotion_id.as_ref())
                        .map(|p| p.as_str().to_owned()),
                    discount: None,
                    refusal: Some(refused.map_or(Refusal::UnknownCode, |r| r.refusal.clone())),
                    message: Some(
                        refused
                            .map_or_else(|| Refusal::UnknownCode.message(), |r| r.message.clone()),
                    ),
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
    Ok(PricedCart {
        currency,
        lines,
        coupons,
        promotions: evaluation.applied,
        totals,
    })
}

/// The invariants every priced cart keeps, checked rather than trusted:
/// lines add up to the totals and each line's parts add up to the line.
fn check_sums(lines: &[PricedLine], totals: &Totals) -> Result<(), CartError> {
    let currency = totals.currency;
    let subtotal = Money::sum(currency, lines.iter().map(|l| &l.subtotal))?;
    let discount = Money::sum(currency, lines.iter().map(|l| &l.discount))?;
    let lines_ok = lines.iter().all(|l| {
        l.unit_price
            .to_minor_units()
            .checked_mul(i64::from(l.quantity))
            == Some(l.subtotal.to_minor_units())
            && Money::sum(currency, l.discounts.iter().map(|d| &d.amount)) == Ok(l.discount)
            && l.subtotal.checked_sub(&l.discount) == Ok(l.total)
    });
    if lines_ok
        && subtotal == totals.subtotal
        && discount == totals.discount
        && subtotal.checked_sub(&discount)? == totals.total
    {
        Ok(())
    } else {
        Err(CartError::Storage(crate::storage::StorageError::Other(
            "a priced cart's lines do not add up to its totals".into(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::CartStatus;
    use crate::cart::store::{CartHeader, CartLine, Owner};
    use crate::catalog::{Assortment, CategoryPath};
    use crate::ids::CartId;
    use crate::promotions::{CodeState, Promotion, PromotionRow, PromotionStatus};
    use crate::quantity::Quantity;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    /// A cart of `(sku, category, quantity, unit price in minor units)`.
    fn cart(lines: &[(&str, &str, i64, i64)], coupons: &[&str]) -> Cart {
        Cart {
            header: CartHeader {
                id: CartId::parse("crt_test").unwrap(),
                owner: Owner::Guest {
                    secret_sha256: "x".into(),
                },
                channel: Channel::Web,
                last_channel: Channel::Web,
                currency: Currency::Pln,
                status: CartStatus::Active,
                version: 1,
                merged_into: None,
                created_at: now(),
                updated_at: now(),
            },
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (sku, category, quantity, price))| CartLine {
                    sku: Sku::parse(sku).unwrap(),
                    name: format!("Item {sku}"),
                    category: CategoryPath::parse(&category.split('/').collect::<Vec<_>>())
                        .unwrap(),
                    assortment: Assortment::Both,
                    quantity: Quantity::parse(*quantity).unwrap(),
                    unit_price: Money::from_minor_units(*price, Currency::Pln).unwrap(),
                    added_at_version: i as i64 + 2,
                    changed_at_version: i as i64 + 2,
                })
                .collect(),
            coupons: coupons.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    /// An active promotion reached through `code` (none: automatic).
    fn promotion(mut definition: Value, code: Option<&str>) -> ActivePromotion {
        definition["name"] = json!("Test");
        definition["time_zone"] = json!("Europe/Warsaw");
        definition["requires_code"] = json!(code.is_some());
        let row: PromotionRow = serde_json::from_value(definition).unwrap();
        ActivePromotion {
            promotion: Promotion::try_from(row).unwrap(),
            version: 1,
            status: PromotionStatus::Active,
            used: 0,
            codes: code
                .map(|c| {
                    vec![CodeState {
                        code: CouponCode::parse(c).unwrap(),
                        max_uses: None,
                        used: 0,
                    }]
                })
                .unwrap_or_default(),
        }
    }

    fn price(cart: &Cart, channel: Channel, promotions: &[ActivePromotion]) -> PricedCart {
        price_cart(cart, channel, CustomerFacts::guest(), now(), promotions).unwrap()
    }

    #[test]
    fn without_promotions_the_totals_are_the_base_prices_times_quantities() {
        let priced = price(
            &cart(
                &[
                    ("TEE-M", "men/t-shirts", 3, 5999),
                    ("DRS-M", "women/dresses", 1, 24999),
                ],
                &[],
            ),
            Channel::Web,
            &[],
        );
        let amounts: Vec<String> = priced
            .lines
            .iter()
            .map(|l| l.subtotal.amount().to_string())
            .collect();
        assert_eq!(amounts, ["179.97", "249.99"]);
        let t = &priced.totals;
        assert_eq!(
            (
                t.subtotal.amount().to_string(),
                t.discount.amount().to_string(),
                t.total.amount().to_string()
            ),
            ("429.96".into(), "0.00".into(), "429.96".into())
        );
        assert_eq!(
            (t.item_count, t.line_count, t.currency),
            (4, 2, Currency::Pln)
        );
        assert!(priced.coupons.is_empty() && priced.promotions.is_empty());
    }

    #[test]
    fn an_empty_cart_costs_nothing() {
        let priced = price(&cart(&[], &[]), Channel::App, &[]);
        assert!(priced.totals.total.is_zero() && priced.totals.item_count == 0);
    }

    #[test]
    fn a_coupon_discount_is_spread_over_the_lines_exactly() {
        let welcome = promotion(
            json!({"id": "WELCOME10", "benefit": {"type": "percent_off", "percent": "10"}}),
            Some("WELCOME10"),
        );
        let priced = price(
            &cart(
                &[
                    ("TEE-M", "men/t-shirts", 1, 5999),
                    ("DRS-M", "women/dresses", 1, 24999),
                ],
                &["WELCOME10"],
            ),
            Channel::Web,
            &[welcome],
        );
        let discounts: Vec<String> = priced
            .lines
            .iter()
            .map(|l| l.discount.amount().to_string())
            .collect();
        assert_eq!(discounts, ["6.00", "25.00"]);
        assert_eq!(priced.totals.discount.amount().to_string(), "31.00");
        assert_eq!(priced.totals.total.amount().to_string(), "278.98");
        assert!(priced.coupons[0].applied);
        assert_eq!(
            priced.coupons[0].discount.unwrap().amount().to_string(),
            "31.00"
        );
    }

    #[test]
    fn a_code_no_promotion_has_is_shown_as_not_applying() {
        let priced = price(
            &cart(&[("TEE-M", "men/t-shirts", 1, 5999)], &["GONE2025"]),
            Channel::Web,
            &[],
        );
        assert!(!priced.coupons[0].applied);
        assert_eq!(priced.coupons[0].refusal, Some(Refusal::UnknownCode));
        assert!(priced.totals.discount.is_zero());
    }

    #[test]
    fn a_channel_only_coupon_applies_in_its_channel_and_says_why_elsewhere() {
        let app5 = promotion(
            json!({"id": "APP5", "benefit": {"type": "percent_off", "percent": "5"}, "conditions": {"channels": ["app"]}}),
            Some("APP5"),
        );
        let basket = cart(&[("DRS-M", "women/dresses", 1, 24999)], &["APP5"]);
        let in_app = price(&basket, Channel::App, std::slice::from_ref(&app5));
        assert_eq!(in_app.totals.discount.amount().to_string(), "12.50");
        let on_web = price(&basket, Channel::Web, &[app5]);
        assert!(on_web.totals.discount.is_zero());
        assert_eq!(
            on_web.coupons[0].refusal.as_ref().map(Refusal::reason),
            Some("wrong-channel")
        );
        assert_eq!(
            on_web.coupons[0].message.as_deref(),
            Some("valid only in the app")
        );
    }

    #[test]
    fn without_channel_rules_every_channel_gets_the_same_answer() {
        let auto = promotion(
            json!({"id": "DRESS20", "benefit": {"type": "percent_off", "percent": "20"},
            "target": {"type": "categories", "categories": [["women", "dresses"]]}}),
            None,
        );
        let basket = cart(
            &[
                ("TEE-M", "men/t-shirts", 2, 5999),
                ("DRS-M", "women/dresses", 1, 24999),
            ],
            &[],
        );
        let answers: Vec<PricedCart> = Channel::ALL
            .iter()
            .map(|c| price(&basket, *c, std::slice::from_ref(&auto)))
            .collect();
        assert!(answers.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(answers[0].lines[1].discount.amount().to_string(), "50.00");
        assert!(answers[0].lines[0].discount.is_zero());
    }

    #[test]
    fn every_priced_cart_adds_up_to_the_minor_unit() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let skus: Vec<String> = (0..1 + next(8)).map(|i| format!("SKU-{i}")).collect();
            let lines: Vec<(&str, &str, i64, i64)> = skus
                .iter()
                .map(|s| {
                    (
                        s.as_str(),
                        "home/misc",
                        1 + next(99) as i64,
                        1 + next(500_000) as i64,
                    )
                })
                .collect();
            let percent = format!("{}.{}", 1 + next(99), next(100));
            let off = promotion(
                json!({"id": "RANDOM", "benefit": {"type": "percent_off", "percent": percent}}),
                Some("RANDOM"),
            );
            let amount = promotion(
                json!({"id": "AMOUNT", "stacking": "stackable",
                "benefit": {"type": "amount_off", "amount": {"amount": format!("{}.{:02}", next(300), next(100)), "currency": "PLN"}}}),
                None,
            );
            // `price_cart` refuses a result whose parts do not add up, so Ok is the property.
            let priced = price_cart(
                &cart(&lines, &["RANDOM"]),
                Channel::Pos,
                CustomerFacts::guest(),
                now(),
                &[off, amount],
            )
            .unwrap();
            let subtotal: i64 = lines.iter().map(|(_, _, q, p)| q * p).sum();
            assert_eq!(priced.totals.subtotal.to_minor_units(), subtotal);
            assert!(priced.lines.iter().all(|l| !l.total.is_negative()));
        }
    }
}

/// A category path as its segments on the wire (`["women", "dresses"]`),
/// held joined by `/` inside; either form is read back.
mod category_segments {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(path: &str, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(path.split('/').filter(|segment| !segment.is_empty()))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Joined(String),
        Segments(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Either::deserialize(d)? {
            Either::Joined(path) => path,
            Either::Segments(segments) => segments.join("/"),
        })
    }
}

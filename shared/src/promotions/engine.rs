//! The promotion engine: one pure function from a basket, who and where is
//! asking, and the live promotions, to the discounts.
//!
//! [`evaluate`] touches no storage and no clock of its own, so the till, the
//! web shop, the app and the cart component get the same answer for the same
//! input, and every rule is tested natively. The documented order of
//! application lives in the module root ([`super`]).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::cart::CartSnapshot;
use super::definition::{Benefit, Conditions, Promotion, Stacking};
use super::reason::Refusal;
use super::values::{CouponCode, Fulfilment, LoyaltyTier, PromotionId, Segment};
use crate::channel::Channel;
use crate::ids::{CustomerId, Sku};
use crate::money::{Currency, Money, allocate};
use crate::quantity::Quantity;

/// Who is asking, from where, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub channel: Channel,
    /// How the order will be fulfilled, once the shopper has chosen.
    pub fulfilment: Option<Fulfilment>,
    pub customer: CustomerFacts,
    pub now: DateTime<Utc>,
}

/// What the rules may know about the customer (see the module root for
/// where each fact comes from). A guest has none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerFacts {
    pub customer: Option<CustomerId>,
    pub segments: BTreeSet<Segment>,
    pub loyalty_tier: Option<LoyaltyTier>,
    /// Orders placed so far per channel (cancelled ones do not count).
    pub orders_by_channel: BTreeMap<Channel, u32>,
    /// Live (reserved or committed) redemptions per promotion, for
    /// per-customer limits.
    pub uses: BTreeMap<PromotionId, u32>,
}

impl CustomerFacts {
    pub fn guest() -> CustomerFacts {
        CustomerFacts::default()
    }

    fn orders_in(&self, channels: &BTreeSet<Channel>) -> u32 {
        channels
            .iter()
            .map(|c| self.orders_by_channel.get(c).copied().unwrap_or(0))
            .sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionStatus {
    Active,
    Paused,
}

impl PromotionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PromotionStatus::Active => "active",
            PromotionStatus::Paused => "paused",
        }
    }

    pub fn parse(raw: &str) -> Option<PromotionStatus> {
        match raw {
            "active" => Some(PromotionStatus::Active),
            "paused" => Some(PromotionStatus::Paused),
            _ => None,
        }
    }
}

/// A promotion as loaded for one evaluation: the current version of its
/// definition, its status and usage, and the asked-for codes bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePromotion {
    pub promotion: Promotion,
    pub version: i64,
    pub status: PromotionStatus,
    /// Live redemptions (reserved or committed), against the global limit.
    pub used: u32,
    pub codes: Vec<CodeState>,
}

/// One code of a promotion and how often it was redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    pub code: CouponCode,
    /// 1 for a code from a batch of unique codes; none for a shared code.
    pub max_uses: Option<u32>,
    pub used: u32,
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub currency: Currency,
    #[serde(serialize_with = "money_wire")]
    pub subtotal: Money,
    #[serde(serialize_with = "money_wire")]
    pub total_discount: Money,
    #[serde(serialize_with = "money_wire")]
    pub total: Money,
    pub free_shipping: bool,
    /// In the order they were applied.
    pub applied: Vec<Applied>,
    /// One per cart line, in cart order.
    pub lines: Vec<LineResult>,
    /// Each code given that does not apply, in the order given. Never
    /// stored (a reservation with a refused code is not made), so it is not
    /// read back either.
    #[serde(default, skip_deserializing)]
    pub refused: Vec<RefusedCode>,
}

impl Evaluation {
    /// The codes that applied, for counting at redemption.
    pub fn applied_codes(&self) -> impl Iterator<Item = &CouponCode> {
        self.applied.iter().filter_map(|a| a.code.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub promotion_id: PromotionId,
    /// The version of the definition used, recorded with a redemption.
    pub version: i64,
    pub name: String,
    pub kind: String,
    pub stacking: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CouponCode>,
    #[serde(serialize_with = "money_wire")]
    pub discount: Money,
    pub free_shipping: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineResult {
    pub index: usize,
    pub sku: Sku,
    pub quantity: Quantity,
    #[serde(serialize_with = "money_wire")]
    pub unit_price: Money,
    #[serde(serialize_with = "money_wire")]
    pub subtotal: Money,
    #[serde(serialize_with = "money_wire")]
    pub discount: Money,
    /// What the shopper pays for the line: what a return refunds against.
    #[serde(serialize_with = "money_wire")]
    pub total: Money,
    pub discounts: Vec<LineDiscount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDiscount {
    pub promotion_id: PromotionId,
    #[serde(serialize_with = "money_wire")]
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedCode {
    pub code: CouponCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_id: Option<PromotionId>,
    #[serde(flatten)]
    pub refusal: Refusal,
    pub message: String,
}

impl RefusedCode {
    fn new(code: CouponCode, promotion_id: Option<PromotionId>, refusal: Refusal) -> RefusedCode {
        let message = refusal.message();
        RefusedCode {
            code,
            promotion_id,
            refusal,
            message,
        }
    }
}

/// Writes an amount exactly as `Money`'s own `Serialize` does, from its
/// minor units. Why? Formatting a `Decimal` is the costliest step of
/// rendering an evaluation (hundreds of amounts for a large basket), and the
/// integer form gives the same text: `"12.50"`, `"0.00"`, `"500"` for JPY.
fn money_wire<S: Serializer>(money: &Money, s: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0_u8; 32];
    let mut wire = s.serialize_struct("Money", 2)?;
    wire.serialize_field("amount", amount_text(money, &mut buffer))?;
    wire.serialize_field("currency", money.currency().code())?;
    wire.end()
}

/// The amount's digits, written right to left into `buffer`.
fn amount_text<'b>(money: &Money, buffer: &'b mut [u8; 32]) -> &'b str {
    let minor = money.to_minor_units();
    let places = money.currency().minor_units() as usize;
    let mut n = minor.unsigned_abs();
    let mut at = buffer.len();
    let mut written = 0;
    while n > 0 || written <= places {
        if places > 0 && written == places {
            at -= 1;
            buffer[at] = b'.';
        }
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        written += 1;
    }
    if minor < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    std::str::from_utf8(&buffer[at..]).expect("ASCII digits")
}

/// Evaluates `cart` for `ctx` against `promotions` with the shopper's
/// `codes`. Automatic promotions apply when their conditions hold; a
/// promotion that needs a code applies only when one of its codes is given.
/// See the module root for the order of application and stacking rules.
pub fn evaluate(
    cart: &CartSnapshot,
    ctx: &Context,
    promotions: &[ActivePromotion],
    codes: &[CouponCode],
) -> Evaluation {
    let mut refused: Vec<(usize, RefusedCode)> = Vec::new();
    // Which code reached which promotion, keyed by promotion index.
    let mut code_for: BTreeMap<usize, (usize, &CouponCode)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (position, code) in codes.iter().enumerate() {
        if !seen.insert(code) {
            continue;
        }
        match promotions
            .iter()
            .position(|p| p.codes.iter().any(|c| c.code == *code))
        {
            None => refused.push((
                position,
                RefusedCode::new(code.clone(), None, Refusal::UnknownCode),
            )),
            Some(index) if code_for.contains_key(&index) => refused.push((
                position,
                RefusedCode::new(
                    code.clone(),
                    Some(promotions[index].promotion.id().clone()),
                    Refusal::DuplicatePromotion,
                ),
            )),
            Some(index) => {
                code_for.insert(index, (position, code));
            }
        }
    }

    let mut candidates = Vec::new();
    // The lines each candidate may discount: its target minus exclusions.
    // They do not change as promotions apply, so they are found once.
    let mut eligible: Vec<Vec<usize>> = vec![Vec::new(); promotions.len()];
    for (index, active) in promotions.iter().enumerate() {
        let code = code_for.get(&index);
        if active.promotion.requires_code() && code.is_none() {
            continue;
        }
        let code_state = code.and_then(|(_, c)| active.codes.iter().find(|s| s.code == **c));
        match precheck(active, code_state, cart, ctx) {
            Ok(lines) => {
                eligible[index] = lines;
                candidates.push(index);
            }
            Err(refusal) => {
                if let Some((position, code)) = code {
                    refused.push((
                        *position,
                        RefusedCode::new(
                            (*code).clone(),
                            Some(active.promotion.id().clone()),
                            refusal,
                        ),
                    ));
                }
            }
        }
    }
    candidates.sort_by(|&a, &b| {
        let (a, b) = (&promotions[a].promotion, &promotions[b].promotion);
        (Reverse(a.priority()), a.benefit().phase(), a.id()).cmp(&(
            Reverse(b.priority()),
            b.benefit().phase(),
            b.id(),
        ))
    });

    // The stack, applied line by line; each exclusive promotion measured
    // alone on the original basket (its total is enough to rank it, so
    // only the winner is spread over the lines).
    let stackable: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| promotions[i].promotion.stacking() == Stacking::Stackable)
        .collect();
    let stack = Outcome::apply(cart, promotions, &eligible, &stackable);
    let originals: Vec<i64> = cart.lines().iter().map(|l| l.total_minor()).collect();
    let alone: Vec<(usize, Result<Effect, Refusal>)> = candidates
        .iter()
        .copied()
        .filter(|&i| promotions[i].promotion.stacking() == Stacking::Exclusive)
        .map(|i| {
            (
                i,
                apply_one(
                    cart,
                    &promotions[i].promotion,
                    &eligible[i],
                    &originals,
                    false,
                ),
            )
        })
        .collect();
    // Ranked by discount, then free shipping, then priority; the stack is
    // option 0 and wins remaining ties, then the earlier exclusive.
    let stack_rank = (!stack.applied.is_empty()).then(|| {
        (
            stack.discount_minor(),
            stack.free_shipping(),
            stack.priority(promotions),
            Reverse(0_usize),
        )
    });
    let best_alone = alone
        .iter()
        .enumerate()
        .filter_map(|(position, (i, effect))| {
            let effect = effect.as_ref().ok()?;
            let priority = promotions[*i].promotion.priority().get();
            Some((
                (
                    effect.total,
                    effect.free_shipping,
                    priority,
                    Reverse(position + 1),
                ),
                *i,
            ))
        })
        .max_by_key(|(rank, _)| *rank);
    let winner: Option<usize> = match (stack_rank, best_alone) {
        (Some(stack_rank), Some((alone_rank, i))) if alone_rank > stack_rank => Some(i),
        (None, Some((_, i))) => Some(i),
        _ => None,
    };
    let (chosen, losing_stack) = match winner {
        Some(i) => (
            Outcome::apply(cart, promotions, &eligible, &[i]),
            Some(stack),
        ),
        None => (stack, None),
    };
    let winners: Vec<String> = chosen
        .applied
        .iter()
        .map(|a| promotions[a.index].promotion.name().to_owned())
        .collect();
    let won = |index: usize| chosen.applied.iter().any(|a| a.index == index);

    let mut refuse = |index: usize, refusal: Refusal| {
        if let Some((position, code)) = code_for.get(&index) {
            let id = Some(promotions[index].promotion.id().clone());
            refused.push((*position, RefusedCode::new((*code).clone(), id, refusal)));
        }
    };
    if let Some(stack) = losing_stack {
        // The stack lost: its refusals stand, and what it applied lost.
        for (index, refusal) in stack.refusals {
            refuse(index, refusal);
        }
        for applied in &stack.applied {
            refuse(
                applied.index,
                Refusal::NotCombinable {
                    with: winners.clone(),
                },
            );
        }
    } else {
        for (index, refusal) in chosen.refusals.iter().cloned() {
            refuse(index, refusal);
        }
    }
    for (index, effect) in alone {
        match effect {
            Err(refusal) => refuse(index, refusal),
            Ok(_) if !won(index) => refuse(
                index,
                Refusal::NotCombinable {
                    with: winners.clone(),
                },
            ),
            Ok(_) => {}
        }
    }
    refused.sort_by_key(|(position, _)| *position);

    chosen.render(
        cart,
        promotions,
        &code_for,
        refused.into_iter().map(|(_, r)| r).collect(),
    )
}

/// The checks that do not depend on what other promotions took off; the
/// lines the promotion may discount when they pass.
fn precheck(
    active: &ActivePromotion,
    code: Option<&CodeState>,
    cart: &CartSnapshot,
    ctx: &Context,
) -> Result<Vec<usize>, Refusal> {
    let p = &active.promotion;
    let c = p.conditions();
    let facts = &ctx.customer;
    if active.status == PromotionStatus::Paused {
        return Err(Refusal::Paused);
    }
    if let Some(start) = p.window().starts_at()
        && ctx.now < start
    {
        return Err(Refusal::NotYetValid {
            from: p.window().from_text().unwrap_or_default(),
        });
    }
    if let Some(end) = p.window().ends_at()
        && ctx.now >= end
    {
        let on = p
            .window()
            .last_day(p.time_zone())
            .expect("a window with an end has a last day");
        return Err(Refusal::Expired { on });
    }
    if let Some(channels) = &c.channels
        && !channels.contains(&ctx.channel)
    {
        return Err(Refusal::WrongChannel {
            allowed: channels.clone(),
        });
    }
    if let Some(currency) = p.currency()
        && currency != cart.currency()
    {
        return Err(Refusal::WrongCurrency { currency });
    }
    if let Some(allowed) = &c.fulfilment
        && !ctx.fulfilment.is_some_and(|f| allowed.contains(&f))
    {
        return Err(Refusal::WrongFulfilment {
            allowed: allowed.clone(),
        });
    }
    customer_conditions(c, facts)?;
    if let Some(limit) = c.global_limit
        && active.used >= limit
    {
        return Err(Refusal::GlobalLimitReached { limit });
    }
    if let Some(code) = code
        && code.max_uses.is_some_and(|max| code.used >= max)
    {
        return Err(Refusal::CodeUsed);
    }
    if let Some(limit) = c.per_customer_limit {
        if facts.customer.is_none() {
            return Err(Refusal::SignInRequired);
        }
        if facts.uses.get(p.id()).copied().unwrap_or(0) >= limit {
            return Err(Refusal::CustomerLimitReached { limit });
        }
    }
    let lines: Vec<usize> = cart
        .lines()
        .iter()
        .enumerate()
        .filter(|(_, l)| p.covers(&l.sku, &l.category, l.already_discounted))
        .map(|(i, _)| i)
        .collect();
    if lines.is_empty() {
        return Err(Refusal::NoQualifyingItems);
    }
    Ok(lines)
}

/// Whether `facts` meet the promotion's conditions on who the customer is:
/// segment, loyalty tier, first order in a channel. One function, so the
/// engine and [`offered_to`] can never disagree about a customer.
fn customer_conditions(c: &Conditions, facts: &CustomerFacts) -> Result<(), Refusal> {
    if let Some(segments) = &c.segments
        && segments.is_disjoint(&facts.segments)
    {
        return Err(Refusal::SegmentOnly {
            segments: segments.clone(),
        });
    }
    let tier_ok = match (&c.loyalty_tiers, &facts.loyalty_tier) {
        (Some(tiers), Some(tier)) => tiers.contains(tier),
        (Some(_), None) => false,
        (None, tier) => !c.loyalty_members_only || tier.is_some(),
    };
    if !tier_ok {
        return Err(Refusal::LoyaltyOnly {
            tiers: c.loyalty_tiers.clone(),
        });
    }
    if let Some(first) = &c.first_order {
        if facts.customer.is_none() {
            return Err(Refusal::SignInRequired);
        }
        if facts.orders_in(&first.channels) > 0 {
            return Err(Refusal::NotFirstOrder {
                channels: first.channels.clone(),
            });
        }
        if !first.history_in.is_empty() && facts.orders_in(&first.history_in) == 0 {
            return Err(Refusal::NoPriorPurchase {
                channels: first.history_in.clone(),
            });
        }
    }
    Ok(())
}

/// Whether `active` is on offer to this customer in `channel` at `now`
/// before any basket exists: not paused, inside its window, open to the
/// channel, the customer meets its segment / tier / first-order conditions,
/// and neither its global nor its per-customer limit is used up. What a
/// till shows as "coupons for this customer" when the app's identity code
/// is scanned; basket conditions (minimum basket, target items, currency,
/// fulfilment) are left to [`evaluate`] at checkout. Read-only.
pub fn offered_to(
    active: &ActivePromotion,
    channel: Channel,
    facts: &CustomerFacts,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let p = &active.promotion;
    let c = p.conditions();
    if active.status == PromotionStatus::Paused {
        return Err(Refusal::Paused);
    }
    if let Some(start) = p.window().starts_at()
        && now < start
    {
        return Err(Refusal::NotYetValid {
            from: p.window().from_text().unwrap_or_default(),
        });
    }
    if let Some(end) = p.window().ends_at()
        && now >= end
    {
        let on = p
            .window()
            .last_day(p.time_zone())
            .expect("a window with an end has a last day");
        return Err(Refusal::Expired { on });
    }
    if let Some(channels) = &c.channels
        && !channels.contains(&channel)
    {
        return Err(Refusal::WrongChannel {
            allowed: channels.clone(),
        });
    }
    customer_conditions(c, facts)?;
    if let Some(limit) = c.global_limit
        && active.used >= limit
    {
        return Err(Refusal::GlobalLimitReached { limit });
    }
    if let Some(limit) = c.per_customer_limit {
        if facts.customer.is_none() {
            return Err(Refusal::SignInRequired);
        }
        if facts.uses.get(p.id()).copied().unwrap_or(0) >= limit {
            return Err(Refusal::CustomerLimitReached { limit });
        }
    }
    Ok(())
}

/// One way to combine promotions (the stack, or one exclusive alone), applied
/// to the cart.
struct Outcome {
    /// What each line still costs, in minor units.
    current: Vec<i64>,
    applied: Vec<AppliedPart>,
    refusals: Vec<(usize, Refusal)>,
}

struct AppliedPart {
    index: usize,
    /// Per line, in minor units.
    parts: Vec<i64>,
    free_shipping: bool,
}

impl Outcome {
    fn apply(
        cart: &CartSnapshot,
        promotions: &[ActivePromotion],
        eligible: &[Vec<usize>],
        order: &[usize],
    ) -> Outcome {
        let mut outcome = Outcome {
            current: cart.lines().iter().map(|l| l.total_minor()).collect(),
            applied: Vec::new(),
            refusals: Vec::new(),
        };
        for &index in order {
            match apply_one(
                cart,
                &promotions[index].promotion,
                &eligible[index],
                &outcome.current,
                true,
            ) {
                Ok(Effect {
                    parts,
                    free_shipping,
                    ..
                }) => {
                    for (current, part) in outcome.current.iter_mut().zip(&parts) {
                        *current -= part;
                    }
                    outcome.applied.push(AppliedPart {
                        index,
                        parts,
                        free_shipping,
                    });
                }
                Err(refusal) => outcome.refusals.push((index, refusal)),
            }
        }
        outcome
    }

    fn discount_minor(&self) -> i64 {
        self.applied.iter().flat_map(|a| &a.parts).sum()
    }

    fn free_shipping(&self) -> bool {
        self.applied.iter().any(|a| a.free_shipping)
    }

    fn priority(&self, promotions: &[ActivePromotion]) -> u16 {
        self.applied
            .iter()
            .map(|a| promotions[a.index].promotion.priority().get())
            .max()
            .unwrap_or(0)
    }

    fn render(
        &self,
        cart: &CartSnapshot,
        promotions: &[ActivePromotion],
        code_for: &BTreeMap<usize, (usize, &CouponCode)>,
        refused: Vec<RefusedCode>,
    ) -> Evaluation {
        let currency = cart.currency();
        let money =
            |minor: i64| Money::from_minor_units(minor, currency).expect("bounded by the cart");
        let lines = cart
            .lines()
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let subtotal = line.total_minor();
                let discounts = self
                    .applied
                    .iter()
                    .filter(|a| a.parts[i] > 0)
                    .map(|a| LineDiscount {
                        promotion_id: promotions[a.index].promotion.id().clone(),
                        amount: money(a.parts[i]),
                    })
                    .collect();
                LineResult {
                    index: i,
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    subtotal: money(subtotal),
                    discount: money(subtotal - self.current[i]),
                    total: money(self.current[i]),
                    discounts,
                }
            })
            .collect();
        let applied = self
            .applied
            .iter()
            .map(|a| {
                let active = &promotions[a.index];
                let p = &active.promotion;
                Applied {
                    promotion_id: p.id().clone(),
                    version: active.version,
                    name: p.name().to_owned(),
                    kind: p.benefit().kind().to_owned(),
                    stacking: p.stacking().as_str().to_owned(),
                    code: code_for.get(&a.index).map(|(_, c)| (*c).clone()),
                    discount: money(a.parts.iter().sum()),
                    free_shipping: a.free_shipping,
                }
            })
            .collect();
        let subtotal = cart.subtotal();
        let total_discount = money(self.discount_minor());
        Evaluation {
            currency,
            subtotal,
            total_discount,
            total: money(subtotal.to_minor_units() - total_discount.to_minor_units()),
            free_shipping: self.free_shipping(),
            applied,
            lines,
            refused,
        }
    }
}

/// What one promotion takes off: its total, the part of each line (when
/// asked for, or when computing the total needs them anyway) and whether
/// shipping is free.
struct Effect {
    total: i64,
    parts: Vec<i64>,
    free_shipping: bool,
}

/// Applies one promotion to the lines' current amounts: the discount per
/// line (never more than the line still costs) and whether shipping is free.
/// Without `with_parts`, an order-level discount is not spread over the
/// lines (ranking exclusive promotions needs only their totals).
fn apply_one(
    cart: &CartSnapshot,
    promotion: &Promotion,
    eligible: &[usize],
    current: &[i64],
    with_parts: bool,
) -> Result<Effect, Refusal> {
    let currency = cart.currency();
    let money = |minor: i64| Money::from_minor_units(minor, currency).expect("bounded by the cart");
    let whole_cart = eligible.len() == cart.lines().len();
    let basket: i64 = eligible.iter().map(|&i| current[i]).sum();
    let items: u32 = eligible
        .iter()
        .map(|&i| cart.lines()[i].quantity.get())
        .sum();
    let c = promotion.conditions();
    if let Some(minimum) = c.min_basket
        && basket < minimum.to_minor_units()
    {
        return Err(Refusal::MinimumBasket {
            minimum,
            basket: money(basket),
            whole_cart,
        });
    }
    if let Some(minimum) = c.min_items
        && items < minimum
    {
        return Err(Refusal::MinimumItems {
            minimum,
            items,
            whole_cart,
        });
    }
    let spread = |total: i64| -> Vec<i64> {
        if !with_parts {
            return Vec::new();
        }
        let mut parts = vec![0_i64; current.len()];
        let weights: Vec<Money> = eligible.iter().map(|&i| money(current[i])).collect();
        let shares =
            allocate(money(total), &weights).expect("a discount never exceeds what the lines cost");
        for (&i, share) in eligible.iter().zip(shares) {
            parts[i] = share.to_minor_units();
        }
        parts
    };
    let effect = |parts: Vec<i64>| Effect {
        total: parts.iter().sum(),
        parts,
        free_shipping: false,
    };
    let outcome = match promotion.benefit() {
        Benefit::PercentOff(percent) => {
            let total = money(basket)
                .percentage_rounded(percent.get())
                .expect("a percentage of a bounded amount");
            let total = total.to_minor_units();
            Effect {
                total,
                parts: spread(total),
                free_shipping: false,
            }
        }
        Benefit::AmountOff(amount) => {
            let total = amount.to_minor_units().min(basket);
            Effect {
                total,
                parts: spread(total),
                free_shipping: false,
            }
        }
        Benefit::FixedPrice(price) => {
            let mut parts = vec![0_i64; current.len()];
            for &i in eligible {
                let target = price.to_minor_units() * i64::from(cart.lines()[i].quantity.get());
                parts[i] = (current[i] - target).max(0);
            }
            effect(parts)
        }
        Benefit::BuyXGetY { buy, get, percent } => {
            // The cheapest units go free (or `percent` off): rank lines by
            // what one unit still costs, compared exactly by cross-multiplying.
            let mut parts = vec![0_i64; current.len()];
            let mut by_unit_value = eligible.to_vec();
            let quantity = |i: usize| i128::from(cart.lines()[i].quantity.get());
            by_unit_value.sort_by(|&a, &b| {
                (i128::from(current[a]) * quantity(b))
                    .cmp(&(i128::from(current[b]) * quantity(a)))
                    .then(a.cmp(&b))
            });
            let mut free_units = items / (buy + get) * get;
            for i in by_unit_value {
                if free_units == 0 {
                    break;
                }
                let units = free_units.min(cart.lines()[i].quantity.get());
                free_units -= units;
                parts[i] = share_half_up(current[i], i128::from(units), quantity(i), percent.get());
            }
            effect(parts)
        }
        Benefit::FreeShipping => Effect {
            total: 0,
            parts: vec![0; current.len()],
            free_shipping: true,
        },
    };
    if outcome.total == 0 && !outcome.free_shipping {
        return Err(Refusal::NoDiscount);
    }
    Ok(outcome)
}

/// `amount * units / quantity * percent / 100`, rounded half up to a minor
/// unit, in exact integer arithmetic.
fn share_half_up(amount: i64, units: i128, quantity: i128, percent: Decimal) -> i64 {
    let scale = 10_i128.pow(percent.scale());
    let numerator = i128::from(amount) * units * percent.mantissa();
    let denominator = quantity * 100 * scale;
    let rounded = (2 * numerator + denominator) / (2 * denominator);
    i64::try_from(rounded).expect("never more than the line amount")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_render_exactly_as_money_renders_them() {
        for currency in Currency::ALL {
            for minor in [
                0_i64,
                1,
                5,
                9,
                10,
                99,
                100,
                101,
                1_050,
                12_345_678,
                -1,
                -5,
                -100,
                -1_050,
                99_999_999_999,
                -99_999_999_999,
            ] {
                let money = Money::from_minor_units(minor, currency).unwrap();
                assert_eq!(
                    amount_text(&money, &mut [0; 32]),
                    money.amount().to_string(),
                    "{minor} {currency}"
                );
            }
        }
    }
}

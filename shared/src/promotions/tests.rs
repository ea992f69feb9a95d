//! The engine's worked examples: every promotion type and condition, the
//! stacking order, allocation sums and the time-zone edges of windows.

use super::*;
use crate::catalog::CategoryPath;
use crate::ids::Sku;
use crate::money::Currency;
use crate::quantity::Quantity;
use chrono::TimeZone as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn pln(amount: &str) -> Money {
    Money::parse_non_negative(amount, Currency::Pln).unwrap()
}

/// A promotion from wire JSON; `id`, `name` and `time_zone` default.
fn promotion(mut value: Value) -> Promotion {
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("P")
        .to_owned();
    value["id"] = json!(id);
    if value.get("name").is_none() {
        value["name"] = json!(format!("Promotion {id}"));
    }
    if value.get("time_zone").is_none() {
        value["time_zone"] = json!("Europe/Warsaw");
    }
    let row: PromotionRow = serde_json::from_value(value).expect("wire shape");
    Promotion::try_from(row).unwrap_or_else(|e| panic!("invalid test promotion: {e:?}"))
}

fn active(promotion: Promotion) -> ActivePromotion {
    ActivePromotion {
        promotion,
        version: 1,
        status: PromotionStatus::Active,
        used: 0,
        codes: Vec::new(),
    }
}

/// An active promotion reached through `code`.
fn coded(value: Value, code: &str) -> ActivePromotion {
    let mut value = value;
    value["requires_code"] = json!(true);
    let mut a = active(promotion(value));
    a.codes.push(CodeState {
        code: CouponCode::parse(code).unwrap(),
        max_uses: None,
        used: 0,
    });
    a
}

fn code(raw: &str) -> CouponCode {
    CouponCode::parse(raw).unwrap()
}

/// `(sku, "cat/sub", quantity, unit price PLN)`.
fn cart(lines: &[(&str, &str, u32, &str)]) -> CartSnapshot {
    let lines = lines
        .iter()
        .map(|(sku, category, quantity, price)| CartLine {
            sku: Sku::parse(sku).unwrap(),
            category: CategoryPath::parse(&category.split('/').collect::<Vec<_>>()).unwrap(),
            quantity: Quantity::parse(i64::from(*quantity)).unwrap(),
            unit_price: pln(price),
            already_discounted: false,
        })
        .collect();
    CartSnapshot::new(Currency::Pln, lines).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn ctx(channel: Channel) -> Context {
    Context {
        channel,
        fulfilment: None,
        customer: CustomerFacts::guest(),
        now: now(),
    }
}

fn customer(id: &str) -> CustomerFacts {
    CustomerFacts {
        customer: Some(CustomerId::parse(id).unwrap()),
        ..CustomerFacts::default()
    }
}

fn run(
    cart: &CartSnapshot,
    ctx: &Context,
    promotions: &[ActivePromotion],
    codes: &[&str],
) -> Evaluation {
    let codes: Vec<CouponCode> = codes.iter().map(|c| code(c)).collect();
    let evaluation = evaluate(cart, ctx, promotions, &codes);
    assert_sums(&evaluation);
    evaluation
}

/// The invariants every answer keeps: line parts add up to each line's
/// discount and to the total, and nothing goes below zero.
fn assert_sums(e: &Evaluation) {
    let mut by_promotion: BTreeMap<&PromotionId, i64> = BTreeMap::new();
    let mut total = 0;
    for line in &e.lines {
        let parts: i64 = line
            .discounts
            .iter()
            .map(|d| d.amount.to_minor_units())
            .sum();
        assert_eq!(
            parts,
            line.discount.to_minor_units(),
            "line {} parts",
            line.index
        );
        assert_eq!(
            line.subtotal.to_minor_units() - line.discount.to_minor_units(),
            line.total.to_minor_units()
        );
        assert!(!line.total.is_negative());
        for d in &line.discounts {
            *by_promotion.entry(&d.promotion_id).or_default() += d.amount.to_minor_units();
        }
        total += line.discount.to_minor_units();
    }
    assert_eq!(total, e.total_discount.to_minor_units());
    for applied in &e.applied {
        assert_eq!(
            by_promotion
                .get(&applied.promotion_id)
                .copied()
                .unwrap_or(0),
            applied.discount.to_minor_units()
        );
    }
    assert_eq!(
        e.subtotal.to_minor_units() - total,
        e.total.to_minor_units()
    );
}

fn discounts(e: &Evaluation) -> Vec<String> {
    e.lines
        .iter()
        .map(|l| l.discount.amount().to_string())
        .collect()
}

fn reasons(e: &Evaluation) -> Vec<(String, String)> {
    e.refused
        .iter()
        .map(|r| (r.code.to_string(), r.message.clone()))
        .collect()
}

const TEE: (&str, &str, u32, &str) = ("TEE-ORG-BLK-M", "men/t-shirts", 1, "59.99");
const DRESS: (&str, &str, u32, &str) = ("DRS-LIN-NAV-M", "women/dresses", 1, "249.99");

#[test]
fn a_percentage_off_the_cart_is_rounded_once_and_spread_over_the_lines() {
    let basket = cart(&[DRESS, ("TEE-ORG-BLK-M", "men/t-shirts", 2, "59.99")]);
    let welcome = coded(
        json!({"id": "WELCOME10", "benefit": {"type": "percent_off", "percent": "10"}}),
        "WELCOME10",
    );
    let e = run(&basket, &ctx(Channel::Web), &[welcome], &["welcome10"]);
    // 10% of 369.97 is 36.997, rounded half up once: 37.00.
    assert_eq!(e.total_discount, pln("37.00"));
    assert_eq!(discounts(&e), ["25.00", "12.00"]);
    assert_eq!(e.total, pln("332.97"));
    assert_eq!(e.applied[0].code.as_ref().unwrap().as_str(), "WELCOME10");
    assert!(e.refused.is_empty());
}

#[test]
fn an_amount_off_is_spread_by_largest_remainder_and_sums_exactly() {
    let basket = cart(&[
        ("A", "men/t-shirts", 1, "10.00"),
        ("B", "men/t-shirts", 1, "10.00"),
        ("C", "men/t-shirts", 1, "10.00"),
    ]);
    let ten = active(promotion(
        json!({"benefit": {"type": "amount_off", "amount": {"amount": "10.00", "currency": "PLN"}}}),
    ));
    let e = run(&basket, &ctx(Channel::Pos), &[ten], &[]);
    assert_eq!(discounts(&e), ["3.34", "3.33", "3.33"]);
}

#[test]
fn an_amount_off_never_takes_more_than_the_basket() {
    let basket = cart(&[TEE]);
    let huge = active(promotion(
        json!({"benefit": {"type": "amount_off", "amount": {"amount": "500.00", "currency": "PLN"}}}),
    ));
    let e = run(&basket, &ctx(Channel::Web), &[huge], &[]);
    assert_eq!(e.total_discount, pln("59.99"));
    assert_eq!(e.total, pln("0.00"));
}

#[test]
fn a_fixed_price_sets_each_target_unit_and_never_raises_one() {
    let basket = cart(&[
        ("TEE-ORG-BLK-M", "men/t-shirts", 3, "59.99"),
        ("TEE-ORG-WHT-M", "men/t-shirts", 1, "19.99"),
        DRESS,
    ]);
    let fixed = active(promotion(json!({
        "benefit": {"type": "fixed_price", "price": {"amount": "39.99", "currency": "PLN"}},
        "target": {"type": "categories", "categories": [["men"]]}})));
    let e = run(&basket, &ctx(Channel::App), &[fixed], &[]);
    assert_eq!(discounts(&e), ["60.00", "0.00", "0.00"]);
}

#[test]
fn buy_two_tees_get_the_cheapest_third_free() {
    let tees = json!({"id": "TEES3", "benefit": {"type": "buy_x_get_y", "buy": 2, "get": 1},
        "target": {"type": "categories", "categories": [["men", "t-shirts"]]}});
    let basket = cart(&[
        ("TEE-ORG-BLK-M", "men/t-shirts", 2, "59.99"),
        ("TEE-ORG-WHT-S", "men/t-shirts", 1, "49.99"),
        DRESS,
    ]);
    let e = run(
        &basket,
        &ctx(Channel::Web),
        &[active(promotion(tees.clone()))],
        &[],
    );
    assert_eq!(discounts(&e), ["0.00", "49.99", "0.00"]);
    // Five tees make one group of three: still one free; six make two.
    let five = cart(&[("TEE-ORG-BLK-M", "men/t-shirts", 5, "59.99")]);
    assert_eq!(
        run(
            &five,
            &ctx(Channel::Web),
            &[active(promotion(tees.clone()))],
            &[]
        )
        .total_discount,
        pln("59.99")
    );
    let six = cart(&[("TEE-ORG-BLK-M", "men/t-shirts", 6, "59.99")]);
    assert_eq!(
        run(
            &six,
            &ctx(Channel::Web),
            &[active(promotion(tees.clone()))],
            &[]
        )
        .total_discount,
        pln("119.98")
    );
    // Two tees are not enough: the promotion gives nothing and is skipped.
    let two = cart(&[("TEE-ORG-BLK-M", "men/t-shirts", 2, "59.99")]);
    assert!(
        run(&two, &ctx(Channel::Web), &[active(promotion(tees))], &[])
            .applied
            .is_empty()
    );
}

#[test]
fn buy_x_get_y_can_be_a_percentage_off_the_extra_units() {
    let half = active(promotion(
        json!({"benefit": {"type": "buy_x_get_y", "buy": 1, "get": 1, "percent": "50"},
        "target": {"type": "skus", "skus": ["TEE-ORG-BLK-M"]}}),
    ));
    let basket = cart(&[("TEE-ORG-BLK-M", "men/t-shirts", 3, "59.99")]);
    // One group of two: one unit at half price, 29.995 rounded half up.
    assert_eq!(
        run(&basket, &ctx(Channel::Web), &[half], &[]).total_discount,
        pln("30.00")
    );
}

#[test]
fn free_shipping_over_200_pln_says_why_below_it() {
    let shipping = json!({"id": "SHIP200", "benefit": {"type": "free_shipping"},
        "conditions": {"min_basket": {"amount": "200.00", "currency": "PLN"}}});
    let small = cart(&[("JNS-SLM-IND-32", "men/jeans", 1, "150.00")]);
    let e = run(
        &small,
        &ctx(Channel::Web),
        &[coded(shipping.clone(), "SHIP200")],
        &["SHIP200"],
    );
    assert!(!e.free_shipping);
    assert_eq!(
        reasons(&e),
        [(
            "SHIP200".into(),
            "minimum basket 200.00 PLN, the basket is 150.00 PLN".into()
        )]
    );
    assert_eq!(e.refused[0].refusal.reason(), "minimum-basket");
    let big = cart(&[DRESS]);
    let e = run(
        &big,
        &ctx(Channel::Web),
        &[active(promotion(shipping))],
        &[],
    );
    assert!(e.free_shipping);
    assert_eq!(e.total_discount, pln("0.00"));
    assert_eq!(e.applied[0].kind, "free_shipping");
}

#[test]
fn an_app_only_code_is_refused_at_the_till_with_its_reason() {
    let app5 = json!({"id": "APP5", "benefit": {"type": "percent_off", "percent": "5"}, "conditions": {"channels": ["app"]}});
    let basket = cart(&[DRESS]);
    let till = run(
        &basket,
        &ctx(Channel::Pos),
        &[coded(app5.clone(), "APP5")],
        &["APP5"],
    );
    assert_eq!(
        reasons(&till),
        [("APP5".into(), "valid only in the app".into())]
    );
    assert_eq!(till.total_discount, pln("0.00"));
    let app = run(
        &basket,
        &ctx(Channel::App),
        &[coded(app5, "APP5")],
        &["APP5"],
    );
    assert_eq!(app.total_discount, pln("12.50"));
}

#[test]
fn the_same_basket_gets_the_same_answer_in_every_channel() {
    let promotions = [
        coded(
            json!({"id": "WELCOME10", "benefit": {"type": "percent_off", "percent": "10"}, "stacking": "stackable"}),
            "WELCOME10",
        ),
        active(promotion(
            json!({"id": "TEES", "benefit": {"type": "buy_x_get_y", "buy": 2, "get": 1},
            "target": {"type": "categories", "categories": [["men", "t-shirts"]]}, "stacking": "stackable"}),
        )),
    ];
    let basket = cart(&[("TEE-ORG-BLK-M", "men/t-shirts", 3, "59.99"), DRESS]);
    let answers: Vec<Evaluation> = Channel::ALL
        .into_iter()
        .map(|c| run(&basket, &ctx(c), &promotions, &["WELCOME10"]))
        .collect();
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].applied.len(), 2);
}

#[test]
fn loyalty_members_get_five_percent_in_the_app() {
    let app5 = active(promotion(
        json!({"benefit": {"type": "percent_off", "percent": "5"},
        "conditions": {"channels": ["app"], "loyalty_members_only": true}}),
    ));
    let basket = cart(&[DRESS]);
    let mut member = ctx(Channel::App);
    member.customer = CustomerFacts {
        loyalty_tier: Some(LoyaltyTier::parse("silver").unwrap()),
        ..customer("C-1")
    };
    assert_eq!(
        run(&basket, &member, std::slice::from_ref(&app5), &[]).total_discount,
        pln("12.50")
    );
    let mut not_member = ctx(Channel::App);
    not_member.customer = customer("C-2");
    assert!(run(&basket, &not_member, &[app5], &[]).applied.is_empty());
}

#[test]
fn tier_and_segment_rules_name_who_they_are_for() {
    let gold = coded(
        json!({"id": "GOLD", "benefit": {"type": "percent_off", "percent": "15"}, "conditions": {"loyalty_tiers": ["gold"]}}),
        "GOLD15",
    );
    let students = coded(
        json!({"id": "STU", "benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"segments": ["students"]}}),
        "STUDENT",
    );
    let mut silver = ctx(Channel::Web);
    silver.customer = CustomerFacts {
        loyalty_tier: Some(LoyaltyTier::parse("silver").unwrap()),
        ..customer("C-1")
    };
    let e = run(
        &cart(&[DRESS]),
        &silver,
        &[gold.clone(), students.clone()],
        &["GOLD15", "STUDENT"],
    );
    assert_eq!(
        reasons(&e),
        [
            (
                "GOLD15".into(),
                "only for loyalty members of tier gold".into()
            ),
            (
                "STUDENT".into(),
                "only for customers in the students group".into()
            )
        ]
    );
    silver
        .customer
        .segments
        .insert(Segment::parse("students").unwrap());
    silver.customer.loyalty_tier = Some(LoyaltyTier::parse("gold").unwrap());
    let e = run(
        &cart(&[DRESS]),
        &silver,
        &[gold, students],
        &["GOLD15", "STUDENT"],
    );
    // Both are exclusive: the larger one wins and the other says why.
    assert_eq!(e.applied[0].promotion_id.as_str(), "GOLD");
    assert_eq!(
        reasons(&e),
        [(
            "STUDENT".into(),
            "cannot be combined with Promotion GOLD, which gives a larger discount".into()
        )]
    );
}

#[test]
fn a_first_app_click_and_collect_order_for_offline_shoppers_gets_ten_percent() {
    let firstcc = json!({"id": "FIRSTCC", "benefit": {"type": "percent_off", "percent": "10"},
        "conditions": {"channels": ["app"], "fulfilment": ["click_and_collect"],
            "first_order": {"channels": ["app"], "history_in": ["pos", "kiosk"]}, "per_customer_limit": 1}});
    let basket = cart(&[DRESS]);
    let offline_shopper = CustomerFacts {
        orders_by_channel: BTreeMap::from([(Channel::Pos, 7)]),
        ..customer("C-1")
    };
    let mut in_app = Context {
        channel: Channel::App,
        fulfilment: Some(Fulfilment::ClickAndCollect),
        customer: offline_shopper.clone(),
        now: now(),
    };
    let promotions = [coded(firstcc, "FIRSTCC")];
    assert_eq!(
        run(&basket, &in_app, &promotions, &["FIRSTCC"]).total_discount,
        pln("25.00")
    );

    let refused = |context: &Context| {
        reasons(&run(&basket, context, &promotions, &["FIRSTCC"]))[0]
            .1
            .clone()
    };
    in_app.fulfilment = Some(Fulfilment::Delivery);
    assert_eq!(refused(&in_app), "valid only for click & collect orders");
    in_app.fulfilment = Some(Fulfilment::ClickAndCollect);
    in_app.customer.orders_by_channel.insert(Channel::App, 1);
    assert_eq!(
        refused(&in_app),
        "only for a first order in the app; this customer has ordered there before"
    );
    in_app.customer = customer("C-2");
    assert_eq!(
        refused(&in_app),
        "only for customers who have bought at the kiosk or at the till before"
    );
    in_app.customer = CustomerFacts::guest();
    assert_eq!(
        refused(&in_app),
        "the customer must be identified (signed in, or their app code scanned) to use this"
    );
    in_app.customer = offline_shopper;
    in_app
        .customer
        .uses
        .insert(PromotionId::parse("FIRSTCC").unwrap(), 1);
    assert_eq!(refused(&in_app), "already used");
}

#[test]
fn targets_match_skus_and_categories_with_their_subcategories() {
    let basket = cart(&[TEE, DRESS, ("BAG-TOT-NAT", "accessories/bags", 1, "89.00")]);
    let by_sku = active(promotion(
        json!({"benefit": {"type": "percent_off", "percent": "50"},
        "target": {"type": "skus", "skus": ["bag-tot-nat"]}}),
    ));
    assert_eq!(
        discounts(&run(&basket, &ctx(Channel::Web), &[by_sku], &[])),
        ["0.00", "0.00", "44.50"]
    );
    let by_parent = active(promotion(
        json!({"benefit": {"type": "percent_off", "percent": "10"},
        "target": {"type": "categories", "categories": [["women"]]}}),
    ));
    assert_eq!(
        discounts(&run(&basket, &ctx(Channel::Web), &[by_parent], &[])),
        ["0.00", "25.00", "0.00"]
    );
}

#[test]
fn exclusions_leave_skus_categories_and_marked_down_lines_alone() {
    let mut basket_lines = cart(&[
        TEE,
        DRESS,
        ("BAG-TOT-NAT", "accessories/bags", 1, "89.00"),
        ("SCF-WOL-RED", "accessories/scarves", 1, "40.00"),
    ])
    .lines()
    .to_vec();
    basket_lines[3].already_discounted = true;
    let basket = CartSnapshot::new(Currency::Pln, basket_lines).unwrap();
    let promo = active(promotion(
        json!({"benefit": {"type": "percent_off", "percent": "10"},
        "exclusions": {"skus": ["TEE-ORG-BLK-M"], "categories": [["accessories", "bags"]], "discounted_lines": true}}),
    ));
    assert_eq!(
        discounts(&run(&basket, &ctx(Channel::Web), &[promo], &[])),
        ["0.00", "25.00", "0.00", "0.00"]
    );
}

#[test]
fn minimums_are_measured_on_the_qualifying_lines() {
    let dresses = coded(
        json!({"id": "D", "benefit": {"type": "percent_off", "percent": "10"},
        "target": {"type": "categories", "categories": [["women"]]},
        "conditions": {"min_basket": {"amount": "300.00", "currency": "PLN"}, "min_items": 2}}),
        "DRESSES",
    );
    let e = run(
        &cart(&[DRESS, ("JKT-RAN-OLV-M", "men/jackets", 1, "400.00")]),
        &ctx(Channel::Web),
        &[dresses.clone()],
        &["DRESSES"],
    );
    assert_eq!(
        reasons(&e)[0].1,
        "minimum basket 300.00 PLN of qualifying items, the basket has 249.99 PLN of them"
    );
    let e = run(
        &cart(&[("DRS-LIN-NAV-M", "women/dresses", 1, "349.99")]),
        &ctx(Channel::Web),
        &[dresses.clone()],
        &["DRESSES"],
    );
    assert_eq!(reasons(&e)[0].1, "minimum 2 items, the basket has 1");
    let e = run(
        &cart(&[("DRS-LIN-NAV-M", "women/dresses", 2, "249.99")]),
        &ctx(Channel::Web),
        &[dresses],
        &["DRESSES"],
    );
    assert_eq!(e.total_discount, pln("50.00"));
}

#[test]
fn percentages_stack_on_the_already_discounted_amount_never_the_original() {
    let basket = cart(&[("A", "men/t-shirts", 1, "100.00")]);
    let ten = |id: &str| {
        active(promotion(
            json!({"id": id, "benefit": {"type": "percent_off", "percent": "10"}, "stacking": "stackable"}),
        ))
    };
    let e = run(&basket, &ctx(Channel::Web), &[ten("P1"), ten("P2")], &[]);
    // 10% of 100, then 10% of 90: 19, not 20.
    assert_eq!(e.total_discount, pln("19.00"));
    assert_eq!(
        e.applied
            .iter()
            .map(|a| a.discount.to_string())
            .collect::<Vec<_>>(),
        ["10.00 PLN", "9.00 PLN"]
    );
}

#[test]
fn the_documented_order_puts_percentages_before_amounts_unless_priority_says_otherwise() {
    let basket = cart(&[("A", "men/t-shirts", 1, "100.00")]);
    let percent = |priority: i64| {
        active(promotion(
            json!({"id": "PCT", "benefit": {"type": "percent_off", "percent": "10"}, "stacking": "stackable", "priority": priority}),
        ))
    };
    let amount = active(promotion(
        json!({"id": "AMT", "benefit": {"type": "amount_off", "amount": {"amount": "20.00", "currency": "PLN"}},
        "stacking": "stackable", "priority": 5}),
    ));
    // The amount has the higher priority: 100 - 20 = 80, then 10% of 80.
    let e = run(
        &basket,
        &ctx(Channel::Web),
        &[percent(0), amount.clone()],
        &[],
    );
    assert_eq!(
        e.applied
            .iter()
            .map(|a| a.promotion_id.as_str())
            .collect::<Vec<_>>(),
        ["AMT", "PCT"]
    );
    assert_eq!(e.total, pln("72.00"));
    // At equal priority percentages go first: 10% of 100, then 20 off.
    let e = run(&basket, &ctx(Channel::Web), &[percent(5), amount], &[]);
    assert_eq!(
        e.applied
            .iter()
            .map(|a| a.promotion_id.as_str())
            .collect::<Vec<_>>(),
        ["PCT", "AMT"]
    );
    assert_eq!(e.total, pln("70.00"));
}

#[test]
fn stacking_can_never_produce_a_negative_order() {
    let basket = cart(&[TEE]);
    let off = |id: &str, amount: &str| {
        coded(
            json!({"id": id, "benefit": {"type": "amount_off", "amount": {"amount": amount, "currency": "PLN"}}, "stacking": "stackable"}),
            id,
        )
    };
    let fixed = active(promotion(
        json!({"id": "FIX", "benefit": {"type": "fixed_price", "price": {"amount": "5.00", "currency": "PLN"}},
        "target": {"type": "skus", "skus": ["TEE-ORG-BLK-M"]}, "stacking": "stackable"}),
    ));
    let e = run(
        &basket,
        &ctx(Channel::Web),
        &[fixed, off("OFF50", "50.00"), off("OFF40", "40.00")],
        &["OFF50", "OFF40"],
    );
    assert_eq!(e.total, pln("0.00"));
    assert_eq!(e.total_discount, pln("59.99"));
    assert_eq!(
        reasons(&e),
        [("OFF50".into(), "gives no discount on this basket".into())]
    );
}

#[test]
fn an_exclusive_code_loses_to_a_larger_stack_and_says_so() {
    let basket = cart(&[DRESS]);
    let sale = active(promotion(
        json!({"id": "SALE", "name": "Winter sale", "benefit": {"type": "percent_off", "percent": "20"}, "stacking": "stackable"}),
    ));
    let welcome = coded(
        json!({"id": "WELCOME10", "benefit": {"type": "percent_off", "percent": "10"}}),
        "WELCOME10",
    );
    let e = run(
        &basket,
        &ctx(Channel::Web),
        &[sale.clone(), welcome.clone()],
        &["WELCOME10"],
    );
    assert_eq!(e.total_discount, pln("50.00"));
    assert_eq!(
        reasons(&e),
        [(
            "WELCOME10".into(),
            "cannot be combined with Winter sale, which gives a larger discount".into()
        )]
    );
    // A larger exclusive code wins over the stack instead.
    let big = coded(
        json!({"id": "BIG", "benefit": {"type": "percent_off", "percent": "30"}}),
        "BIG30",
    );
    let e = run(&basket, &ctx(Channel::Web), &[sale, big], &["BIG30"]);
    assert_eq!(
        e.applied
            .iter()
            .map(|a| a.promotion_id.as_str())
            .collect::<Vec<_>>(),
        ["BIG"]
    );
    assert_eq!(e.total_discount, pln("75.00"));
    assert!(
        e.refused.is_empty(),
        "an automatic promotion that loses is not reported"
    );
}

#[test]
fn validity_windows_follow_the_retailers_local_midnight() {
    let autumn = coded(
        json!({"id": "NOV", "benefit": {"type": "percent_off", "percent": "10"},
        "conditions": {"valid_from": "2026-11-01", "valid_until": "2026-11-30"}}),
        "NOV10",
    );
    let basket = cart(&[DRESS]);
    let at = |h: u32, m: u32, s: u32, d: u32, mo: u32| {
        let mut c = ctx(Channel::Web);
        c.now = Utc.with_ymd_and_hms(2026, mo, d, h, m, s).unwrap();
        run(&basket, &c, std::slice::from_ref(&autumn), &["NOV10"])
    };
    // Midnight in Warsaw (UTC+1 in November) is 23:00 UTC the day before.
    assert_eq!(at(22, 59, 59, 30, 11).total_discount, pln("25.00"));
    assert_eq!(reasons(&at(23, 0, 0, 30, 11))[0].1, "expired on 2026-11-30");
    assert_eq!(
        reasons(&at(22, 59, 59, 31, 10))[0].1,
        "valid from 2026-11-01"
    );
    assert_eq!(at(23, 0, 0, 31, 10).total_discount, pln("25.00"));
}

#[test]
fn windows_across_daylight_saving_changes_use_the_first_matching_instant() {
    // 02:30 on 2026-03-29 never happens in Warsaw: it starts at 03:00 CEST.
    let spring = promotion(
        json!({"benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"valid_from": "2026-03-29T02:30"}}),
    );
    assert_eq!(
        spring.window().starts_at().unwrap().to_rfc3339(),
        "2026-03-29T01:00:00+00:00"
    );
    // 02:30 on 2026-10-25 happens twice: the first, still in summer time.
    let autumn = promotion(
        json!({"benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"valid_until": "2026-10-25T02:30"}}),
    );
    assert_eq!(
        autumn.window().ends_at().unwrap().to_rfc3339(),
        "2026-10-25T00:30:00+00:00"
    );
    // A promotion in Lisbon ends at Lisbon's midnight, an hour after Warsaw's.
    let lisbon = promotion(
        json!({"benefit": {"type": "percent_off", "percent": "10"}, "time_zone": "Europe/Lisbon",
        "conditions": {"valid_until": "2026-11-30"}}),
    );
    assert_eq!(
        lisbon.window().ends_at().unwrap().to_rfc3339(),
        "2026-12-01T00:00:00+00:00"
    );
}

#[test]
fn limits_and_single_use_codes_say_they_are_used_up() {
    let basket = cart(&[DRESS]);
    let mut limited = coded(
        json!({"id": "L", "benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"global_limit": 20}}),
        "LIMITED",
    );
    limited.used = 20;
    assert_eq!(
        reasons(&run(&basket, &ctx(Channel::Web), &[limited], &["LIMITED"]))[0].1,
        "limit reached: all 20 uses are taken"
    );
    let mut single = coded(
        json!({"id": "S", "benefit": {"type": "percent_off", "percent": "10"}}),
        "XMASK7M2QR9TX4",
    );
    single.codes[0].max_uses = Some(1);
    single.codes[0].used = 1;
    assert_eq!(
        reasons(&run(
            &basket,
            &ctx(Channel::Web),
            &[single],
            &["xmas-k7m2-qr9t-x4"]
        ))[0]
            .1,
        "already used"
    );
    let per_customer = coded(
        json!({"id": "PC", "benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"per_customer_limit": 3}}),
        "THREE",
    );
    let mut c = ctx(Channel::Web);
    c.customer = customer("C-1");
    c.customer.uses.insert(PromotionId::parse("PC").unwrap(), 3);
    assert_eq!(
        reasons(&run(
            &basket,
            &c,
            std::slice::from_ref(&per_customer),
            &["THREE"]
        ))[0]
            .1,
        "already used 3 times, the most allowed per customer"
    );
    assert_eq!(
        reasons(&run(
            &basket,
            &ctx(Channel::Web),
            &[per_customer],
            &["THREE"]
        ))[0]
            .1
            .as_str(),
        Refusal::SignInRequired.message()
    );
}

#[test]
fn unknown_duplicate_paused_and_foreign_currency_codes_are_refused() {
    let mut paused = coded(
        json!({"id": "PAUSED", "benefit": {"type": "percent_off", "percent": "10"}}),
        "PAUSED10",
    );
    paused.status = PromotionStatus::Paused;
    let mut two_codes = coded(
        json!({"id": "TWO", "benefit": {"type": "percent_off", "percent": "10"}}),
        "FIRST",
    );
    two_codes.codes.push(CodeState {
        code: code("SECOND"),
        max_uses: None,
        used: 0,
    });
    let euro = coded(
        json!({"id": "EUR5", "benefit": {"type": "amount_off", "amount": {"amount": "5.00", "currency": "EUR"}}}),
        "EURO5",
    );
    let e = run(
        &cart(&[DRESS]),
        &ctx(Channel::Web),
        &[paused, two_codes, euro],
        &["NOPE", "PAUSED10", "FIRST", "SECOND", "EURO5", "first"],
    );
    assert_eq!(
        reasons(&e),
        [
            ("NOPE".into(), "unknown code".into()),
            ("PAUSED10".into(), "this promotion is paused".into()),
            (
                "SECOND".into(),
                "another code of the same promotion is already applied".into()
            ),
            ("EURO5".into(), "valid only for baskets in EUR".into()),
        ]
    );
    assert_eq!(e.applied.len(), 1);
}

#[test]
fn a_code_for_items_not_in_the_basket_says_none_qualifies() {
    let shoes = coded(
        json!({"id": "SHOES", "benefit": {"type": "percent_off", "percent": "10"},
        "target": {"type": "categories", "categories": [["shoes"]]}}),
        "SHOES10",
    );
    assert_eq!(
        reasons(&run(
            &cart(&[DRESS]),
            &ctx(Channel::Web),
            &[shoes],
            &["SHOES10"]
        ))[0]
            .1,
        "none of the items in the basket qualifies"
    );
}

#[test]
fn the_answer_does_not_depend_on_the_order_promotions_were_loaded_in() {
    let mut promotions: Vec<ActivePromotion> = (0..6)
        .map(|i| {
            active(promotion(json!({"id": format!("P{i}"), "benefit": {"type": "percent_off", "percent": format!("{}", i + 1)},
                "stacking": if i % 2 == 0 { "stackable" } else { "exclusive" }, "priority": i % 3})))
        })
        .collect();
    let basket = cart(&[TEE, DRESS, ("BAG-TOT-NAT", "accessories/bags", 3, "89.01")]);
    let first = run(&basket, &ctx(Channel::Kiosk), &promotions, &[]);
    promotions.reverse();
    assert_eq!(run(&basket, &ctx(Channel::Kiosk), &promotions, &[]), first);
}

#[test]
fn allocations_always_sum_to_the_discount_on_awkward_baskets() {
    // A deterministic spread of prices and quantities, every benefit type,
    // stacked: `run` checks the sums on each answer.
    let promotions = [
        active(promotion(
            json!({"id": "A", "benefit": {"type": "percent_off", "percent": "13.37"}, "stacking": "stackable"}),
        )),
        active(promotion(
            json!({"id": "B", "benefit": {"type": "amount_off", "amount": {"amount": "17.03", "currency": "PLN"}}, "stacking": "stackable"}),
        )),
        active(promotion(
            json!({"id": "C", "benefit": {"type": "buy_x_get_y", "buy": 2, "get": 1, "percent": "33.3"},
            "target": {"type": "categories", "categories": [["men"]]}, "stacking": "stackable"}),
        )),
        active(promotion(
            json!({"id": "D", "benefit": {"type": "fixed_price", "price": {"amount": "7.77", "currency": "PLN"}},
            "target": {"type": "categories", "categories": [["women"]]}, "stacking": "stackable", "priority": 1}),
        )),
    ];
    let mut seed: u64 = 42;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    for _ in 0..200 {
        let lines: Vec<(String, &str, u32, String)> = (0..1 + next(12))
            .map(|i| {
                let category = if next(2) == 0 {
                    "men/t-shirts"
                } else {
                    "women/dresses"
                };
                (
                    format!("SKU-{i}"),
                    category,
                    1 + next(5) as u32,
                    format!("{}.{:02}", next(300), next(100)),
                )
            })
            .collect();
        let borrowed: Vec<(&str, &str, u32, &str)> = lines
            .iter()
            .map(|(s, c, q, p)| (s.as_str(), *c, *q, p.as_str()))
            .collect();
        let e = run(&cart(&borrowed), &ctx(Channel::Web), &promotions, &[]);
        assert!(e.total_discount.compare(&e.subtotal).unwrap().is_le());
    }
}

#[test]
fn codes_are_matched_whatever_their_case_or_separators() {
    let welcome = coded(
        json!({"id": "WELCOME10", "benefit": {"type": "percent_off", "percent": "10"}}),
        "WELCOME10",
    );
    for typed in ["welcome10", "Welcome-10", "WELCOME 10"] {
        assert_eq!(
            run(
                &cart(&[DRESS]),
                &ctx(Channel::Pos),
                std::slice::from_ref(&welcome),
                &[typed]
            )
            .total_discount,
            pln("25.00")
        );
    }
}

/// A migrated database in a temporary directory.
fn database() -> (tempfile::TempDir, crate::storage::native::NativeSql) {
    let dir = tempfile::tempdir().unwrap();
    let sql = crate::storage::native::SqliteDb::at(dir.path().join("promotions.db"))
        .connect()
        .unwrap();
    crate::schema::apply(&sql).unwrap();
    (dir, sql)
}

fn store_all(sql: &dyn Sql, definitions: &[Value]) {
    let entries: Vec<(Promotion, Vec<CouponCode>)> = definitions
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d["name"] = json!("Stored");
            d["time_zone"] = json!("Europe/Warsaw");
            let entry =
                PromotionEntry::try_from(serde_json::from_value::<PromotionRow>(d).unwrap())
                    .unwrap();
            (entry.promotion, entry.codes)
        })
        .collect();
    import_promotions(sql, &entries, "ops:test", now()).unwrap();
}

fn ids(loaded: &[ActivePromotion]) -> Vec<&str> {
    loaded.iter().map(|a| a.promotion.id().as_str()).collect()
}

#[test]
fn a_basket_loads_only_the_promotions_that_can_touch_it_and_gets_the_same_answer() {
    let (_dir, sql) = database();
    let percent = |id: &str, target: Value| json!({"id": id, "benefit": {"type": "percent_off", "percent": "10"}, "target": target, "stacking": "stackable"});
    store_all(
        &sql,
        &[
            percent("CART", json!({"type": "cart"})),
            percent(
                "TEE-SKU",
                json!({"type": "skus", "skus": ["TEE-ORG-BLK-M", "NOT-IN-BASKET"]}),
            ),
            percent(
                "MEN",
                json!({"type": "categories", "categories": [["men"]]}),
            ),
            percent(
                "MEN-TEES",
                json!({"type": "categories", "categories": [["men", "t-shirts"]]}),
            ),
            percent(
                "SHOES",
                json!({"type": "categories", "categories": [["shoes"]]}),
            ),
            percent(
                "OTHER-SKU",
                json!({"type": "skus", "skus": ["BAG-TOT-NAT"]}),
            ),
            json!({"id": "CODED", "benefit": {"type": "percent_off", "percent": "5"}, "target": {"type": "categories", "categories": [["shoes"]]}, "codes": ["SHOES5"]}),
        ],
    );
    let basket = cart(&[TEE, DRESS]);
    let codes = [code("SHOES5")];
    let narrow = load_for_cart(&sql, now(), &basket, &codes).unwrap();
    assert_eq!(
        ids(&narrow),
        ["CART", "CODED", "MEN", "MEN-TEES", "TEE-SKU"]
    );
    let everything = load_active(&sql, now(), &codes).unwrap();
    assert_eq!(everything.len(), 7);
    let context = ctx(Channel::Web);
    assert_eq!(
        evaluate(&basket, &context, &narrow, &codes),
        evaluate(&basket, &context, &everything, &codes)
    );
}

#[test]
fn an_edit_moves_a_promotion_in_the_target_index() {
    let (_dir, sql) = database();
    let on = |category: &str| json!({"id": "MOVING", "benefit": {"type": "percent_off", "percent": "10"}, "target": {"type": "categories", "categories": [[category]]}});
    store_all(&sql, &[on("shoes")]);
    let basket = cart(&[TEE]);
    assert!(load_for_cart(&sql, now(), &basket, &[]).unwrap().is_empty());
    store_all(&sql, &[on("men")]);
    assert_eq!(
        ids(&load_for_cart(&sql, now(), &basket, &[]).unwrap()),
        ["MOVING"]
    );
    assert_eq!(
        load_promotion(&sql, &PromotionId::parse("MOVING").unwrap())
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[test]
fn a_row_without_its_compact_form_is_read_from_its_json() {
    let (_dir, sql) = database();
    store_all(
        &sql,
        &[
            json!({"id": "OLD", "benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"valid_until": "2026-12-31"}}),
        ],
    );
    let compact = load_active(&sql, now(), &[]).unwrap();
    sql.execute("UPDATE promotions SET compiled = NULL", &[])
        .unwrap();
    assert_eq!(load_active(&sql, now(), &[]).unwrap(), compact);
    sql.execute("UPDATE promotions SET compiled = x'7f00'", &[])
        .unwrap();
    assert_eq!(
        load_active(&sql, now(), &[]).unwrap(),
        compact,
        "another layout version falls back to the JSON"
    );
}

#[test]
fn expired_automatic_promotions_are_not_loaded_but_a_code_still_finds_its_promotion() {
    let (_dir, sql) = database();
    store_all(
        &sql,
        &[
            json!({"id": "OVER", "benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"valid_until": "2026-11-01"}}),
            json!({"id": "OVERCODE", "benefit": {"type": "percent_off", "percent": "10"}, "conditions": {"valid_until": "2026-11-01"}, "codes": ["GONE10"]}),
        ],
    );
    assert!(load_active(&sql, now(), &[]).unwrap().is_empty());
    let with_code = load_for_cart(&sql, now(), &cart(&[TEE]), &[code("gone10")]).unwrap();
    assert_eq!(ids(&with_code), ["OVERCODE"]);
    let e = evaluate(
        &cart(&[TEE]),
        &ctx(Channel::Web),
        &with_code,
        &[code("GONE10")],
    );
    assert_eq!(
        reasons(&e),
        [("GONE10".into(), "expired on 2026-11-01".into())]
    );
}

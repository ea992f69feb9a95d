//! What an operator defines: a promotion's benefit, its target, its
//! conditions, its exclusions, its validity window in the retailer's time
//! zone, and how it stacks.
//!
//! A [`Promotion`] exists only if it is coherent: every field parsed, and no
//! part contradicts another (a window that ends before it starts, a fixed
//! price on the whole cart, a first app order in a web-only promotion, a
//! per-customer limit above the global one, exclusions that leave nothing to
//! discount). [`PromotionRow`] is the wire and storage form; the conversion
//! reports every problem by field at once.

pub(super) mod codec;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use super::values::{CouponCode, Fulfilment, LoyaltyTier, Percent, Priority, PromotionId, Segment};
use crate::catalog::{BatchKeys, CategoryPath, FieldError};
use crate::channel::Channel;
use crate::hours::TimeZone;
use crate::ids::Sku;
use crate::money::{Currency, Money};

/// Dates outside these years are typing errors (`2206`, `0026`), refused.
pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;
/// Bounds that keep one definition small and one evaluation fast.
pub const MAX_TARGET_SKUS: usize = 1_000;
pub const MAX_CATEGORIES: usize = 100;
pub const MAX_NAME_LEN: usize = 120;
pub const MAX_LIMIT: u32 = 100_000_000;
pub const MAX_MIN_ITEMS: u32 = 10_000;
pub const MAX_BUY_GET: u32 = 50;

/// What the shopper gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Benefit {
    /// A percentage off the target lines, on their already-discounted amount.
    PercentOff(Percent),
    /// An amount off the order (or the target lines), spread over the lines.
    AmountOff(Money),
    /// Each target unit sold at this price (never raising one).
    FixedPrice(Money),
    /// For every `buy + get` target units, the `get` cheapest are `percent`
    /// off (100: free).
    BuyXGetY {
        buy: u32,
        get: u32,
        percent: Percent,
    },
    /// The order ships free; no line changes.
    FreeShipping,
}

impl Benefit {
    /// The phase of the documented order of application (see the module
    /// root): fixed prices, then item deals, then percentages, then amounts.
    pub fn phase(&self) -> u8 {
        match self {
            Benefit::FixedPrice(_) => 0,
            Benefit::BuyXGetY { .. } => 1,
            Benefit::PercentOff(_) => 2,
            Benefit::AmountOff(_) => 3,
            Benefit::FreeShipping => 4,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Benefit::PercentOff(_) => "percent_off",
            Benefit::AmountOff(_) => "amount_off",
            Benefit::FixedPrice(_) => "fixed_price",
            Benefit::BuyXGetY { .. } => "buy_x_get_y",
            Benefit::FreeShipping => "free_shipping",
        }
    }

    /// The currency the benefit is written in, if it names money.
    fn currency(&self) -> Option<Currency> {
        match self {
            Benefit::AmountOff(m) | Benefit::FixedPrice(m) => Some(m.currency()),
            _ => None,
        }
    }
}

/// Which lines the benefit applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Cart,
    Skus(BTreeSet<Sku>),
    /// A line matches when its category is one of these or lies below one.
    Categories(Vec<CategoryPath>),
}

impl Target {
    pub fn matches(&self, sku: &Sku, category: &CategoryPath) -> bool {
        match self {
            Target::Cart => true,
            Target::Skus(skus) => skus.contains(sku),
            Target::Categories(categories) => categories.iter().any(|c| category.starts_with(c)),
        }
    }
}

/// Lines a promotion never touches, whatever its target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exclusions {
    pub skus: BTreeSet<Sku>,
    pub categories: Vec<CategoryPath>,
    /// Lines the snapshot marks as already discounted (markdowns).
    pub discounted_lines: bool,
}

impl Exclusions {
    pub fn excludes(&self, sku: &Sku, category: &CategoryPath, already_discounted: bool) -> bool {
        (self.discounted_lines && already_discounted)
            || self.skus.contains(sku)
            || self.categories.iter().any(|c| category.starts_with(c))
    }
}

/// "A first order in `channels`", optionally only for customers who have
/// bought in `history_in` before (the offline shopper's first app order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstOrder {
    pub channels: BTreeSet<Channel>,
    pub history_in: BTreeSet<Channel>,
}

/// The validity window, written in the retailer's local time and held as
/// the UTC instants it means. `ends_at` is exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    from: Option<LocalBound>,
    until: Option<LocalBound>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

impl Window {
    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.starts_at
    }

    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at
    }

    /// The local start as written, for "valid from ..." answers.
    pub fn from_text(&self) -> Option<String> {
        self.from.as_ref().map(|b| b.spoken_start())
    }

    /// The last local day the promotion is valid, for "expired on ..."
    /// answers: the day of the last instant before the end.
    pub fn last_day(&self, time_zone: TimeZone) -> Option<NaiveDate> {
        self.ends_at
            .map(|end| time_zone.local(end - chrono::Duration::seconds(1)).date())
    }
}

/// A local date (`2026-11-30`) or date-time (`2026-11-30T18:00`) as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalBound {
    raw: String,
    at: NaiveDateTime,
    date_only: bool,
}

impl LocalBound {
    /// Read by hand rather than with chrono's format strings: the shape is
    /// fixed, and chrono's strftime parser and formatter add tens of KiB to
    /// every component's .wasm.
    fn parse(raw: &str) -> Result<LocalBound, String> {
        let bad = || {
            format!(
                "{:?} is not a local date like \"2026-11-30\" or date-time like \"2026-11-30T18:00\"",
                shortened(raw)
            )
        };
        let b = raw.as_bytes();
        let shape_ok = matches!(b.len(), 10 | 16 | 19)
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(bad());
        }
        let number =
            |from: usize, to: usize| raw[from..to].parse::<u32>().expect("digits checked above");
        let year = i32::try_from(number(0, 4)).expect("four digits");
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(format!(
                "{raw:?} is out of range: dates must fall between {MIN_YEAR} and {MAX_YEAR}"
            ));
        }
        let date = NaiveDate::from_ymd_opt(year, number(5, 7), number(8, 10)).ok_or_else(bad)?;
        let (time, date_only) = match b.len() {
            10 => (NaiveTime::MIN, true),
            16 => (
                NaiveTime::from_hms_opt(number(11, 13), number(14, 16), 0).ok_or_else(bad)?,
                false,
            ),
            _ => (
                NaiveTime::from_hms_opt(number(11, 13), number(14, 16), number(17, 19))
                    .ok_or_else(bad)?,
                false,
            ),
        };
        Ok(LocalBound {
            raw: raw.to_owned(),
            at: date.and_time(time),
            date_only,
        })
    }

    /// The local instant a `valid_until` means: a date is valid through its
    /// whole day, a date-time ends at that minute.
    fn end(&self) -> NaiveDateTime {
        if self.date_only {
            self.at + chrono::Duration::days(1)
        } else {
            self.at
        }
    }

    fn spoken_start(&self) -> String {
        if self.at.time() == NaiveTime::MIN {
            self.at.date().to_string()
        } else {
            format!(
                "{} {:02}:{:02}",
                self.at.date(),
                self.at.hour(),
                self.at.minute()
            )
        }
    }
}

/// How a promotion combines with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stacking {
    /// Applies alone: the shopper gets it or the stack of the others,
    /// whichever is worth more.
    Exclusive,
    /// Applies together with every other stackable promotion, in the
    /// documented order.
    Stackable,
}

impl Stacking {
    fn parse(raw: &str) -> Result<Stacking, String> {
        match raw {
            "exclusive" => Ok(Stacking::Exclusive),
            "stackable" => Ok(Stacking::Stackable),
            other => Err(format!(
                "{:?} is not a stacking mode; expected exclusive or stackable",
                shortened(other)
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stacking::Exclusive => "exclusive",
            Stacking::Stackable => "stackable",
        }
    }
}

/// Who, where, when and how much: every condition is optional, and an absent
/// one does not restrict.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// Measured on the lines the promotion may discount, at the moment it is
    /// applied (after promotions applied before it).
    pub min_basket: Option<Money>,
    /// Units among the lines the promotion may discount.
    pub min_items: Option<u32>,
    pub channels: Option<BTreeSet<Channel>>,
    pub segments: Option<BTreeSet<Segment>>,
    pub loyalty_members_only: bool,
    pub loyalty_tiers: Option<BTreeSet<LoyaltyTier>>,
    pub first_order: Option<FirstOrder>,
    pub fulfilment: Option<BTreeSet<Fulfilment>>,
    pub per_customer_limit: Option<u32>,
    pub global_limit: Option<u32>,
}

/// A coherent promotion definition (one version of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    id: PromotionId,
    name: String,
    benefit: Benefit,
    target: Target,
    exclusions: Exclusions,
    conditions: Conditions,
    time_zone: TimeZone,
    window: Window,
    stacking: Stacking,
    priority: Priority,
    requires_code: bool,
}

impl Promotion {
    pub fn id(&self) -> &PromotionId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn benefit(&self) -> &Benefit {
        &self.benefit
    }
    pub fn target(&self) -> &Target {
        &self.target
    }
    pub fn exclusions(&self) -> &Exclusions {
        &self.exclusions
    }
    pub fn conditions(&self) -> &Conditions {
        &self.conditions
    }
    pub fn time_zone(&self) -> TimeZone {
        self.time_zone
    }
    pub fn window(&self) -> &Window {
        &self.window
    }
    pub fn stacking(&self) -> Stacking {
        self.stacking
    }
    pub fn priority(&self) -> Priority {
        self.priority
    }
    /// Whether it applies only when one of its codes is given; otherwise it
    /// applies automatically to every basket that meets its conditions.
    pub fn requires_code(&self) -> bool {
        self.requires_code
    }

    /// The currency the promotion is limited to, if any of its amounts names
    /// one; a pure percentage applies in every currency.
    pub fn currency(&self) -> Option<Currency> {
        self.benefit
            .currency()
            .or(self.conditions.min_basket.map(|m| m.currency()))
    }

    /// Whether the line is one this promotion may discount.
    pub fn covers(&self, sku: &Sku, category: &CategoryPath, already_discounted: bool) -> bool {
        self.target.matches(sku, category)
            && !self.exclusions.excludes(sku, category, already_discounted)
    }

    /// The wire and storage form of this definition.
    pub fn to_row(&self) -> PromotionRow {
        let c = &self.conditions;
        let channels = |set: &BTreeSet<Channel>| {
            set.iter()
                .map(|c| c.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        PromotionRow {
            id: self.id.to_string(),
            name: self.name.clone(),
            benefit: match &self.benefit {
                Benefit::PercentOff(p) => BenefitRow {
                    percent: Some(p.to_string()),
                    ..BenefitRow::of("percent_off")
                },
                Benefit::AmountOff(m) => BenefitRow {
                    amount: Some(*m),
                    ..BenefitRow::of("amount_off")
                },
                Benefit::FixedPrice(m) => BenefitRow {
                    price: Some(*m),
                    ..BenefitRow::of("fixed_price")
                },
                Benefit::BuyXGetY { buy, get, percent } => BenefitRow {
                    buy: Some(*buy),
                    get: Some(*get),
                    percent: Some(percent.to_string()),
                    ..BenefitRow::of("buy_x_get_y")
                },
                Benefit::FreeShipping => BenefitRow::of("free_shipping"),
            },
            target: match &self.target {
                Target::Cart => TargetRow::default(),
                Target::Skus(skus) => TargetRow {
                    kind: "skus".into(),
                    skus: Some(skus.iter().map(|s| s.to_string()).collect()),
                    categories: None,
                },
                Target::Categories(cats) => TargetRow {
                    kind: "categories".into(),
                    skus: None,
                    categories: Some(cats.iter().map(|c| c.segments().to_vec()).collect()),
                },
            },
            conditions: ConditionsRow {
                min_basket: c.min_basket,
                min_items: c.min_items,
                channels: c.channels.as_ref().map(channels),
                segments: c
                    .segments
                    .as_ref()
                    .map(|s| s.iter().map(|s| s.to_string()).collect()),
                loyalty_members_only: c.loyalty_members_only.then_some(true),
                loyalty_tiers: c
                    .loyalty_tiers
                    .as_ref()
                    .map(|s| s.iter().map(|s| s.to_string()).collect()),
                first_order: c.first_order.as_ref().map(|f| FirstOrderRow {
                    channels: channels(&f.channels),
                    history_in: (!f.history_in.is_empty()).then(|| channels(&f.history_in)),
                }),
                fulfilment: c
                    .fulfilment
                    .as_ref()
                    .map(|s| s.iter().map(|f| f.as_str().to_owned()).collect()),
                valid_from: self.window.from.as_ref().map(|b| b.raw.clone()),
                valid_until: self.window.until.as_ref().map(|b| b.raw.clone()),
                per_customer_limit: c.per_customer_limit,
                global_limit: c.global_limit,
            },
            exclusions: ExclusionsRow {
                skus: self.exclusions.skus.iter().map(|s| s.to_string()).collect(),
                categories: self
                    .exclusions
                    .categories
                    .iter()
                    .map(|c| c.segments().to_vec())
                    .collect(),
                discounted_lines: self.exclusions.discounted_lines,
            },
            time_zone: self.time_zone.name().to_owned(),
            stacking: Some(self.stacking.as_str().to_owned()),
            priority: Some(i64::from(self.priority.get())),
            requires_code: Some(self.requires_code),
            codes: Vec::new(),
        }
    }
}

/// The wire form of a promotion. `codes` (shared codes to bind) is read on
/// create and import only; it is not part of the versioned definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionRow {
    pub id: String,
    pub name: String,
    pub benefit: BenefitRow,
    #[serde(default)]
    pub target: TargetRow,
    #[serde(default)]
    pub conditions: ConditionsRow,
    #[serde(default)]
    pub exclusions: ExclusionsRow,
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_code: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
}

/// `{"type": "percent_off", "percent": "10"}`, `{"type": "amount_off",
/// "amount": {...}}`, `{"type": "fixed_price", "price": {...}}`,
/// `{"type": "buy_x_get_y", "buy": 2, "get": 1, "percent": "100"}` or
/// `{"type": "free_shipping"}`.
///
/// Why one flat struct and not a serde-tagged enum? A tagged enum buffers
/// every definition before reading it, which costs time on each evaluation
/// (definitions are read per request) and size in every .wasm; the checks
/// of which fields belong to which type are done in the conversion instead,
/// with a named error for each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitRow {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<u32>,
}

impl BenefitRow {
    fn of(kind: &str) -> BenefitRow {
        BenefitRow {
            kind: kind.to_owned(),
            percent: None,
            amount: None,
            price: None,
            buy: None,
            get: None,
        }
    }
}

/// `{"type": "cart"}` (the default), `{"type": "skus", "skus": [...]}` or
/// `{"type": "categories", "categories": [["men", "t-shirts"]]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRow {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skus: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Vec<String>>>,
}

/// An absent target is the whole cart.
impl Default for TargetRow {
    fn default() -> TargetRow {
        TargetRow {
            kind: "cart".into(),
            skus: None,
            categories: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConditionsRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_basket: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_members_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_tiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_order: Option<FirstOrderRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstOrderRow {
    pub channels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_in: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExclusionsRow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skus: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discounted_lines: bool,
}

fn shortened(raw: &str) -> String {
    raw.chars().take(48).collect()
}

/// Collects every problem of one definition, so an operator fixes them in
/// one round trip.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|e| self.0.push(FieldError::new(field, e)))
            .ok()
    }

    fn refuse(&mut self, field: &str, reason: impl std::fmt::Display) {
        self.0.push(FieldError::new(field, reason));
    }

    /// A list that restricts (channels, segments...): absent means "any",
    /// and an empty list would mean "none", which is never what was meant.
    fn set<T: Ord, E: std::fmt::Display>(
        &mut self,
        field: &str,
        raw: Option<&Vec<String>>,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Option<BTreeSet<T>>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        if raw.is_empty() {
            self.refuse(
                field,
                "an empty list allows nothing; leave the field out to allow every value",
            );
            return None;
        }
        if raw.len() > MAX_CATEGORIES {
            self.refuse(field, format!("at most {MAX_CATEGORIES} values"));
            return None;
        }
        let mut set = BTreeSet::new();
        let mut ok = true;
        for (i, value) in raw.iter().enumerate() {
            match parse(value) {
                Ok(v) => {
                    set.insert(v);
                }
                Err(e) => {
                    self.refuse(&format!("{field}[{i}]"), e);
                    ok = false;
                }
            }
        }
        ok.then_some(Some(set))
    }

    fn categories(&mut self, field: &str, raw: &[Vec<String>]) -> Option<Vec<CategoryPath>> {
        if raw.len() > MAX_CATEGORIES {
            self.refuse(field, format!("at most {MAX_CATEGORIES} categories"));
            return None;
        }
        let parsed: Vec<Option<CategoryPath>> = raw
            .iter()
            .enumerate()
            .map(|(i, c)| self.check(&format!("{field}[{i}]"), CategoryPath::parse(c)))
            .collect();
        parsed.into_iter().collect()
    }

    fn skus(&mut self, field: &str, raw: &[String]) -> Option<BTreeSet<Sku>> {
        if raw.len() > MAX_TARGET_SKUS {
            self.refuse(field, format!("at most {MAX_TARGET_SKUS} SKUs"));
            return None;
        }
        let parsed: Vec<Option<Sku>> = raw
            .iter()
            .enumerate()
            .map(|(i, s)| self.check(&format!("{field}[{i}]"), Sku::parse(s)))
            .collect();
        parsed.into_iter().collect()
    }
}

impl TryFrom<PromotionRow> for Promotion {
    type Error = Vec<FieldError>;

    fn try_from(row: PromotionRow) -> Result<Promotion, Vec<FieldError>> {
        let mut p = Problems::default();
        let id = p.check("id", PromotionId::parse(&row.id));
        let name = p.check("name", name(&row.name));
        let time_zone = p.check("time_zone", TimeZone::parse(&row.time_zone));
        let stacking = p.check(
            "stacking",
            row.stacking
                .as_deref()
                .map_or(Ok(Stacking::Exclusive), Stacking::parse),
        );
        let priority = p.check("priority", Priority::parse(row.priority.unwrap_or(0)));
        let benefit = benefit(&mut p, &row.benefit);
        let target = target(&mut p, &row.target);
        let exclusions = {
            let skus = p.skus("exclusions.skus", &row.exclusions.skus);
            let categories = p.categories("exclusions.categories", &row.exclusions.categories);
            match (skus, categories) {
                (Some(skus), Some(categories)) => Some(Exclusions {
                    skus,
                    categories,
                    discounted_lines: row.exclusions.discounted_lines,
                }),
                _ => None,
            }
        };
        let conditions = conditions(&mut p, &row.conditions);
        let window = window(&mut p, &row.conditions, time_zone);
        let codes_given = !row.codes.is_empty();
        let requires_code = row.requires_code.unwrap_or(codes_given);
        if codes_given && !requires_code {
            p.refuse("requires_code", "codes are given but requires_code is false; a code of an automatic promotion would do nothing");
        }
        let (
            Some(id),
            Some(name),
            Some(time_zone),
            Some(stacking),
            Some(priority),
            Some(benefit),
            Some(target),
            Some(exclusions),
            Some(conditions),
            Some(window),
        ) = (
            id, name, time_zone, stacking, priority, benefit, target, exclusions, conditions,
            window,
        )
        else {
            return Err(p.0);
        };
        let promotion = Promotion {
            id,
            name,
            benefit,
            target,
            exclusions,
            conditions,
            time_zone,
            window,
            stacking,
            priority,
            requires_code,
        };
        contradictions(&mut p, &promotion);
        if p.0.is_empty() {
            Ok(promotion)
        } else {
            Err(p.0)
        }
    }
}

/// A definition with the shared codes to bind to it: one row of a create
/// or an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionEntry {
    pub promotion: Promotion,
    pub codes: Vec<CouponCode>,
}

/// The most shared codes one definition may bring along.
pub const MAX_SHARED_CODES: usize = 100;

impl TryFrom<PromotionRow> for PromotionEntry {
    type Error = Vec<FieldError>;

    fn try_from(mut row: PromotionRow) -> Result<PromotionEntry, Vec<FieldError>> {
        let raw_codes = std::mem::take(&mut row.codes);
        let mut errors = Vec::new();
        let mut codes = Vec::new();
        if raw_codes.len() > MAX_SHARED_CODES {
            errors.push(FieldError::new(
                "codes",
                format!("at most {MAX_SHARED_CODES} shared codes"),
            ));
        } else {
            for (i, raw) in raw_codes.iter().enumerate() {
                match CouponCode::parse(raw) {
                    Ok(code) if codes.contains(&code) => errors.push(FieldError::new(
                        format!("codes[{i}]"),
                        format!("{code} is listed twice"),
                    )),
                    Ok(code) => codes.push(code),
                    Err(e) => errors.push(FieldError::new(format!("codes[{i}]"), e)),
                }
            }
        }
        // `requires_code` defaults from the codes given, so they are put back
        // for the definition's own check.
        row.codes = raw_codes;
        match Promotion::try_from(row) {
            Ok(promotion) if errors.is_empty() => Ok(PromotionEntry { promotion, codes }),
            Ok(_) => Err(errors),
            Err(mut more) => {
                more.extend(errors);
                Err(more)
            }
        }
    }
}

impl BatchKeys for PromotionEntry {
    fn batch_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![("id", self.promotion.id().to_string())];
        keys.extend(self.codes.iter().map(|c| ("codes", c.to_string())));
        keys
    }
}

fn name(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > MAX_NAME_LEN {
        return Err(format!("must be at most {MAX_NAME_LEN} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

/// Refuses the fields a benefit or target type does not use, so a
/// `"price"` sent with a percentage is an error rather than ignored.
fn only(
    p: &mut Problems,
    prefix: &str,
    kind: &str,
    present: &[(&str, bool)],
    allowed: &[&str],
) -> bool {
    let mut ok = true;
    for (field, is_present) in present {
        if *is_present && !allowed.contains(field) {
            p.refuse(
                &format!("{prefix}.{field}"),
                format!("does not belong to a {kind} {prefix}"),
            );
            ok = false;
        }
    }
    ok
}

fn missing<T>(p: &mut Problems, field: &str) -> Option<T> {
    p.refuse(field, "is required");
    None
}

fn benefit(p: &mut Problems, row: &BenefitRow) -> Option<Benefit> {
    let present = [
        ("percent", row.percent.is_some()),
        ("amount", row.amount.is_some()),
        ("price", row.price.is_some()),
        ("buy", row.buy.is_some()),
        ("get", row.get.is_some()),
    ];
    let kind = row.kind.as_str();
    match kind {
        "percent_off" => {
            let fields_ok = only(p, "benefit", kind, &present, &["percent"]);
            let percent = match row.percent.as_deref() {
                None => missing(p, "benefit.percent"),
                Some(raw) => p.check("benefit.percent", Percent::parse(raw)),
            };
            percent.filter(|_| fields_ok).map(Benefit::PercentOff)
        }
        "amount_off" => {
            let fields_ok = only(p, "benefit", kind, &present, &["amount"]);
            let amount = match row.amount {
                None => missing(p, "benefit.amount"),
                Some(amount) if amount.is_zero() => {
                    p.refuse("benefit.amount", "must be above zero");
                    None
                }
                Some(amount) => Some(amount),
            };
            amount.filter(|_| fields_ok).map(Benefit::AmountOff)
        }
        "fixed_price" => {
            let fields_ok = only(p, "benefit", kind, &present, &["price"]);
            let price = match row.price {
                None => missing(p, "benefit.price"),
                Some(price) => Some(price),
            };
            price.filter(|_| fields_ok).map(Benefit::FixedPrice)
        }
        "buy_x_get_y" => {
            let fields_ok = only(p, "benefit", kind, &present, &["buy", "get", "percent"]);
            let percent = p.check(
                "benefit.percent",
                row.percent
                    .as_deref()
                    .map_or(Percent::parse("100"), Percent::parse),
            );
            let mut ok = fields_ok;
            for (field, n) in [("buy", row.buy), ("get", row.get)] {
                match n {
                    None => {
                        missing::<()>(p, &format!("benefit.{field}"));
                        ok = false;
                    }
                    Some(n) if !(1..=MAX_BUY_GET).contains(&n) => {
                        p.refuse(
                            &format!("benefit.{field}"),
                            format!("must be between 1 and {MAX_BUY_GET}"),
                        );
                        ok = false;
                    }
                    Some(_) => {}
                }
            }
            match (ok, percent, row.buy, row.get) {
                (true, Some(percent), Some(buy), Some(get)) => {
                    Some(Benefit::BuyXGetY { buy, get, percent })
                }
                _ => None,
            }
        }
        "free_shipping" => only(p, "benefit", kind, &present, &[]).then_some(Benefit::FreeShipping),
        other => {
            p.refuse(
                "benefit.type",
                format!("{:?} is not a benefit; expected percent_off, amount_off, fixed_price, buy_x_get_y or free_shipping", shortened(other)),
            );
            None
        }
    }
}

fn target(p: &mut Problems, row: &TargetRow) -> Option<Target> {
    let present = [
        ("skus", row.skus.is_some()),
        ("categories", row.categories.is_some()),
    ];
    let kind = row.kind.as_str();
    match kind {
        "cart" => only(p, "target", kind, &present, &[]).then_some(Target::Cart),
        "skus" => {
            let fields_ok = only(p, "target", kind, &present, &["skus"]);
            match row.skus.as_deref() {
                None | Some([]) => {
                    p.refuse("target.skus", "name at least one SKU, or target the cart");
                    None
                }
                Some(skus) => p
                    .skus("target.skus", skus)
                    .filter(|_| fields_ok)
                    .map(Target::Skus),
            }
        }
        "categories" => {
            let fields_ok = only(p, "target", kind, &present, &["categories"]);
            match row.categories.as_deref() {
                None | Some([]) => {
                    p.refuse(
                        "target.categories",
                        "name at least one category, or target the cart",
                    );
                    None
                }
                Some(categories) => p
                    .categories("target.categories", categories)
                    .filter(|_| fields_ok)
                    .map(Target::Categories),
            }
        }
        other => {
            p.refuse(
                "target.type",
                format!(
                    "{:?} is not a target; expected cart, skus or categories",
                    shortened(other)
                ),
            );
            None
        }
    }
}

fn conditions(p: &mut Problems, row: &ConditionsRow) -> Option<Conditions> {
    let channel = |raw: &str| Channel::parse(raw);
    let channels = p.set("conditions.channels", row.channels.as_ref(), channel);
    let segments = p.set("conditions.segments", row.segments.as_ref(), Segment::parse);
    let loyalty_tiers = p.set(
        "conditions.loyalty_tiers",
        row.loyalty_tiers.as_ref(),
        LoyaltyTier::parse,
    );
    let fulfilment = p.set(
        "conditions.fulfilment",
        row.fulfilment.as_ref(),
        Fulfilment::parse,
    );
    let first_order = match &row.first_order {
        None => Some(None),
        Some(first) => {
            let channels = p.set(
                "conditions.first_order.channels",
                Some(&first.channels),
                channel,
            );
            let history_in = p.set(
                "conditions.first_order.history_in",
                first.history_in.as_ref(),
                channel,
            );
            match (channels, history_in) {
                (Some(Some(channels)), Some(history_in)) => Some(Some(FirstOrder {
                    channels,
                    history_in: history_in.unwrap_or_default(),
                })),
                _ => None,
            }
        }
    };
    let mut ok = true;
    if let Some(min) = row.min_basket
        && min.is_zero()
    {
        p.refuse(
            "conditions.min_basket",
            "a minimum of zero restricts nothing; leave it out",
        );
        ok = false;
    }
    if let Some(n) = row.min_items
        && !(1..=MAX_MIN_ITEMS).contains(&n)
    {
        p.refuse(
            "conditions.min_items",
            format!("must be between 1 and {MAX_MIN_ITEMS}"),
        );
        ok = false;
    }
    for (field, limit) in [
        ("conditions.per_customer_limit", row.per_customer_limit),
        ("conditions.global_limit", row.global_limit),
    ] {
        if let Some(n) = limit
            && !(1..=MAX_LIMIT).contains(&n)
        {
            p.refuse(field, format!("must be between 1 and {MAX_LIMIT}; a limit of zero would be a promotion nobody can use"));
            ok = false;
        }
    }
    let (
        Some(channels),
        Some(segments),
        Some(loyalty_tiers),
        Some(fulfilment),
        Some(first_order),
        true,
    ) = (
        channels,
        segments,
        loyalty_tiers,
        fulfilment,
        first_order,
        ok,
    )
    else {
        return None;
    };
    Some(Conditions {
        min_basket: row.min_basket,
        min_items: row.min_items,
        channels,
        segments,
        loyalty_members_only: row.loyalty_members_only.unwrap_or(false),
        loyalty_tiers,
        first_order,
        fulfilment,
        per_customer_limit: row.per_customer_limit,
        global_limit: row.global_limit,
    })
}

fn window(p: &mut Problems, row: &ConditionsRow, time_zone: Option<TimeZone>) -> Option<Window> {
    let from = match &row.valid_from {
        Some(raw) => Some(p.check("conditions.valid_from", LocalBound::parse(raw))?),
        None => None,
    };
    let until = match &row.valid_until {
        Some(raw) => Some(p.check("conditions.valid_until", LocalBound::parse(raw))?),
        None => None,
    };
    let time_zone = time_zone?;
    let starts_at = from
        .as_ref()
        .map(|b| time_zone.first_instant_at_or_after(b.at));
    let ends_at = until
        .as_ref()
        .map(|b| time_zone.first_instant_at_or_after(b.end()));
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && end <= start
    {
        // Reported, but the definition is still built so that its other
        // contradictions are reported in the same answer.
        p.refuse(
            "conditions.valid_until",
            "the promotion would end before it starts",
        );
    }
    Some(Window {
        from,
        until,
        starts_at,
        ends_at,
    })
}

/// Parts that parse on their own but cannot all hold at once.
fn contradictions(p: &mut Problems, promotion: &Promotion) {
    let c = &promotion.conditions;
    match (&promotion.benefit, &promotion.target) {
        (Benefit::FixedPrice(_), Target::Cart) => {
            p.refuse("target", "a fixed price is a price per unit of named SKUs or categories, not of the whole cart")
        }
        (Benefit::FreeShipping, Target::Skus(_) | Target::Categories(_)) => p.refuse(
            "target",
            "free shipping applies to the whole order; use conditions (minimum basket, channels) to restrict it",
        ),
        _ => {}
    }
    if let (Some(benefit), Some(min)) = (promotion.benefit.currency(), c.min_basket)
        && benefit != min.currency()
    {
        p.refuse(
            "conditions.min_basket",
            format!("is in {}, but the benefit is in {benefit}", min.currency()),
        );
    }
    if let (Some(per_customer), Some(global)) = (c.per_customer_limit, c.global_limit)
        && per_customer > global
    {
        p.refuse(
            "conditions.per_customer_limit",
            format!("{per_customer} is above the global limit of {global}"),
        );
    }
    if let Some(first) = &c.first_order {
        if let Some(channels) = &c.channels
            && first.channels.is_disjoint(channels)
        {
            p.refuse(
                "conditions.first_order.channels",
                "the first order must be in a channel the promotion allows",
            );
        }
        if !first.history_in.is_disjoint(&first.channels) {
            p.refuse(
                "conditions.first_order.history_in",
                "a customer cannot have bought in a channel before and still place a first order there",
            );
        }
    }
    if let (Some(fulfilment), Some(channels)) = (&c.fulfilment, &c.channels)
        && fulfilment.iter().all(|f| *f == Fulfilment::InStore)
        && !channels.iter().any(|ch| ch.is_in_store())
    {
        p.refuse(
            "conditions.fulfilment",
            "in-store purchases happen only at a till or kiosk, which the channels exclude",
        );
    }
    let ex = &promotion.exclusions;
    let nothing_left = match &promotion.target {
        Target::Cart => false,
        Target::Skus(skus) => skus.iter().all(|s| ex.skus.contains(s)),
        Target::Categories(cats) => cats
            .iter()
            .all(|c| ex.categories.iter().any(|e| c.starts_with(e))),
    };
    if nothing_left {
        p.refuse(
            "exclusions",
            "the exclusions cover the whole target, so the promotion could never discount anything",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn row(value: Value) -> PromotionRow {
        serde_json::from_value(value).expect("wire shape")
    }

    fn base() -> Value {
        json!({"id": "P1", "name": "Ten off", "benefit": {"type": "percent_off", "percent": "10"}, "time_zone": "Europe/Warsaw"})
    }

    fn with(mut value: Value, path: &[&str], set: Value) -> Value {
        let mut at = &mut value;
        for key in &path[..path.len() - 1] {
            if at.get(*key).is_none() {
                at[*key] = json!({});
            }
            at = at.get_mut(*key).unwrap();
        }
        at[path[path.len() - 1]] = set;
        value
    }

    fn problems(value: Value) -> Vec<String> {
        match Promotion::try_from(row(value)) {
            Ok(p) => panic!("expected problems, got {p:?}"),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_minimal_definition_is_an_exclusive_automatic_cart_promotion() {
        let promotion = Promotion::try_from(row(base())).unwrap();
        assert_eq!(promotion.target(), &Target::Cart);
        assert_eq!(promotion.stacking(), Stacking::Exclusive);
        assert!(!promotion.requires_code());
        assert_eq!(promotion.priority().get(), 0);
    }

    #[test]
    fn giving_codes_makes_a_promotion_need_one() {
        let promotion =
            Promotion::try_from(row(with(base(), &["codes"], json!(["WELCOME10"])))).unwrap();
        assert!(promotion.requires_code());
        let mut contradictory = with(base(), &["codes"], json!(["WELCOME10"]));
        contradictory["requires_code"] = json!(false);
        assert_eq!(problems(contradictory), ["requires_code"]);
    }

    #[test]
    fn every_definition_round_trips_through_its_row() {
        let full = json!({
            "id": "FIRSTCC", "name": "First app click & collect", "time_zone": "Europe/Warsaw",
            "benefit": {"type": "buy_x_get_y", "buy": 2, "get": 1, "percent": "50"},
            "target": {"type": "categories", "categories": [["men", "t-shirts"]]},
            "conditions": {"min_basket": {"amount": "100.00", "currency": "PLN"}, "min_items": 2, "channels": ["app", "web"],
                "segments": ["offline-frequent"], "loyalty_members_only": true, "loyalty_tiers": ["gold"],
                "first_order": {"channels": ["app"], "history_in": ["pos"]}, "fulfilment": ["click_and_collect"],
                "valid_from": "2026-11-01", "valid_until": "2026-11-30T18:00", "per_customer_limit": 1, "global_limit": 500},
            "exclusions": {"skus": ["TEE-ORG-BLK-S"], "categories": [["men", "t-shirts", "sale"]], "discounted_lines": true},
            "stacking": "stackable", "priority": 5, "requires_code": true
        });
        let promotion = Promotion::try_from(row(full)).unwrap();
        let again = Promotion::try_from(promotion.to_row()).unwrap();
        assert_eq!(again, promotion);
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused() {
        let value = with(
            with(base(), &["conditions", "valid_from"], json!("2026-12-01")),
            &["conditions", "valid_until"],
            json!("2026-11-30"),
        );
        assert_eq!(problems(value), ["conditions.valid_until"]);
    }

    #[test]
    fn dates_out_of_range_or_malformed_are_refused() {
        for bad in [
            "2206-01-01",
            "1999-12-31",
            "2026-13-01",
            "2026-11-31",
            "26-11-01",
            "+2026-11-01",
            "2026-11-01T25:00",
            "tomorrow",
        ] {
            assert_eq!(
                problems(with(base(), &["conditions", "valid_from"], json!(bad))),
                ["conditions.valid_from"],
                "{bad}"
            );
        }
    }

    #[test]
    fn a_valid_until_date_lasts_through_that_local_day() {
        let value = with(base(), &["conditions", "valid_until"], json!("2026-11-30"));
        let promotion = Promotion::try_from(row(value)).unwrap();
        // Midnight in Warsaw (CET, UTC+1) is 23:00 UTC the day before.
        assert_eq!(
            promotion.window().ends_at().unwrap().to_rfc3339(),
            "2026-11-30T23:00:00+00:00"
        );
        assert_eq!(
            promotion
                .window()
                .last_day(promotion.time_zone())
                .unwrap()
                .to_string(),
            "2026-11-30"
        );
    }

    #[test]
    fn contradictory_definitions_are_refused() {
        let fixed_on_cart = with(
            base(),
            &["benefit"],
            json!({"type": "fixed_price", "price": {"amount": "10.00", "currency": "PLN"}}),
        );
        assert_eq!(problems(fixed_on_cart), ["target"]);
        let shipping_on_skus = with(
            with(base(), &["benefit"], json!({"type": "free_shipping"})),
            &["target"],
            json!({"type": "skus", "skus": ["A"]}),
        );
        assert_eq!(problems(shipping_on_skus), ["target"]);
        let currencies = with(
            with(
                base(),
                &["benefit"],
                json!({"type": "amount_off", "amount": {"amount": "10.00", "currency": "PLN"}}),
            ),
            &["conditions", "min_basket"],
            json!({"amount": "50.00", "currency": "EUR"}),
        );
        assert_eq!(problems(currencies), ["conditions.min_basket"]);
        let limits = with(
            with(base(), &["conditions", "per_customer_limit"], json!(5)),
            &["conditions", "global_limit"],
            json!(2),
        );
        assert_eq!(problems(limits), ["conditions.per_customer_limit"]);
        let first_app_on_web = with(
            with(base(), &["conditions", "channels"], json!(["web"])),
            &["conditions", "first_order"],
            json!({"channels": ["app"]}),
        );
        assert_eq!(
            problems(first_app_on_web),
            ["conditions.first_order.channels"]
        );
        let history_in_same = with(
            base(),
            &["conditions", "first_order"],
            json!({"channels": ["app"], "history_in": ["app", "pos"]}),
        );
        assert_eq!(
            problems(history_in_same),
            ["conditions.first_order.history_in"]
        );
        let excluded_target = with(
            with(
                base(),
                &["target"],
                json!({"type": "categories", "categories": [["men", "t-shirts"]]}),
            ),
            &["exclusions", "categories"],
            json!([["men"]]),
        );
        assert_eq!(problems(excluded_target), ["exclusions"]);
        let in_store_online = with(
            with(base(), &["conditions", "fulfilment"], json!(["in_store"])),
            &["conditions", "channels"],
            json!(["web"]),
        );
        assert_eq!(problems(in_store_online), ["conditions.fulfilment"]);
    }

    #[test]
    fn empty_lists_zero_limits_and_bad_values_are_each_named() {
        let value = json!({"id": "bad id", "name": " ", "time_zone": "Mars/Base",
            "benefit": {"type": "buy_x_get_y", "buy": 0, "get": 1, "percent": "150"},
            "conditions": {"channels": [], "segments": ["Bad"], "global_limit": 0, "min_items": 0},
            "stacking": "sometimes", "priority": 5000});
        assert_eq!(
            problems(value),
            [
                "id",
                "name",
                "time_zone",
                "stacking",
                "priority",
                "benefit.percent",
                "benefit.buy",
                "conditions.channels",
                "conditions.segments[0]",
                "conditions.min_items",
                "conditions.global_limit"
            ]
        );
    }

    #[test]
    fn zero_amounts_off_are_refused_and_unknown_fields_never_parse() {
        let zero = with(
            base(),
            &["benefit"],
            json!({"type": "amount_off", "amount": {"amount": "0.00", "currency": "PLN"}}),
        );
        assert_eq!(problems(zero), ["benefit.amount"]);
        assert!(
            serde_json::from_value::<PromotionRow>(with(base(), &["discount"], json!(5))).is_err()
        );
        assert!(
            serde_json::from_value::<PromotionRow>(with(base(), &["benefit", "extra"], json!(5)))
                .is_err()
        );
        assert_eq!(
            problems(with(base(), &["benefit", "type"], json!("half_off"))),
            ["benefit.type"]
        );
        assert_eq!(
            problems(with(base(), &["target"], json!({"type": "brands"}))),
            ["target.type"]
        );
    }

    #[test]
    fn fields_of_another_benefit_or_target_type_are_refused() {
        let mixed = with(
            base(),
            &["benefit", "price"],
            json!({"amount": "1.00", "currency": "PLN"}),
        );
        assert_eq!(problems(mixed), ["benefit.price"]);
        assert_eq!(
            problems(with(base(), &["benefit"], json!({"type": "amount_off"}))),
            ["benefit.amount"]
        );
        assert_eq!(
            problems(with(
                base(),
                &["benefit"],
                json!({"type": "buy_x_get_y", "buy": 2})
            )),
            ["benefit.get"]
        );
        let skus_with_categories = with(
            base(),
            &["target"],
            json!({"type": "skus", "skus": ["A"], "categories": [["men"]]}),
        );
        assert_eq!(problems(skus_with_categories), ["target.categories"]);
        assert_eq!(
            problems(with(base(), &["target"], json!({"type": "skus"}))),
            ["target.skus"]
        );
    }
}

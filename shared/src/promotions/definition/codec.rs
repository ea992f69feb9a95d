//! A compact binary form of a definition, for the hot path.
//!
//! Why not read the stored JSON on every evaluation? A basket's evaluation
//! loads every live promotion that can touch it, per request (a Spin
//! instance keeps nothing in memory), and reading ~400 bytes of JSON into
//! wire structs, then checking them field by field, cost several times the
//! rest of the evaluation. This form is written once, when the definition is
//! stored, next to the JSON (which stays the source of truth, shown to
//! operators and kept per version); reading it is a straight walk over
//! length-prefixed fields with no field names and no re-validation of what
//! was validated on the way in.
//!
//! The first byte is [`VERSION`]; a reader that meets another version (or
//! bytes it cannot read) reports it, and the caller falls back to the JSON.
//! So the format can change freely: bump the version.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

use super::{
    Benefit, Conditions, Exclusions, FirstOrder, LocalBound, Promotion, Stacking, Target, Window,
};
use crate::catalog::CategoryPath;
use crate::channel::Channel;
use crate::hours::TimeZone;
use crate::ids::Sku;
use crate::money::{Currency, Money};
use crate::promotions::values::{Fulfilment, LoyaltyTier, Percent, Priority, PromotionId, Segment};

/// The layout version written first.
pub const VERSION: u8 = 1;

/// The bytes are not a definition this reader knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable;

pub fn encode(p: &Promotion) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256));
    w.u8(VERSION);
    w.str(p.id.as_str());
    w.str(&p.name);
    match &p.benefit {
        Benefit::PercentOff(percent) => {
            w.u8(0);
            w.decimal(percent.get());
        }
        Benefit::AmountOff(amount) => {
            w.u8(1);
            w.money(amount);
        }
        Benefit::FixedPrice(price) => {
            w.u8(2);
            w.money(price);
        }
        Benefit::BuyXGetY { buy, get, percent } => {
            w.u8(3);
            w.uint(u64::from(*buy));
            w.uint(u64::from(*get));
            w.decimal(percent.get());
        }
        Benefit::FreeShipping => w.u8(4),
    }
    match &p.target {
        Target::Cart => w.u8(0),
        Target::Skus(skus) => {
            w.u8(1);
            w.list(skus.iter().map(Sku::as_str));
        }
        Target::Categories(categories) => {
            w.u8(2);
            w.categories(categories);
        }
    }
    w.list(p.exclusions.skus.iter().map(Sku::as_str));
    w.categories(&p.exclusions.categories);
    w.u8(u8::from(p.exclusions.discounted_lines));
    let c = &p.conditions;
    w.option(c.min_basket.as_ref(), Writer::money);
    w.option(c.min_items.map(u64::from).as_ref(), |w, n| w.uint(*n));
    w.option(c.channels.as_ref(), |w, set| w.u8(channel_mask(set)));
    w.option(c.segments.as_ref(), |w, set| {
        w.list(set.iter().map(Segment::as_str))
    });
    w.u8(u8::from(c.loyalty_members_only));
    w.option(c.loyalty_tiers.as_ref(), |w, set| {
        w.list(set.iter().map(LoyaltyTier::as_str))
    });
    w.option(c.first_order.as_ref(), |w, first| {
        w.u8(channel_mask(&first.channels));
        w.u8(channel_mask(&first.history_in));
    });
    w.option(c.fulfilment.as_ref(), |w, set| {
        w.u8(set
            .iter()
            .map(|f| 1 << Fulfilment::ALL.iter().position(|x| x == f).expect("listed"))
            .sum())
    });
    w.option(c.per_customer_limit.map(u64::from).as_ref(), |w, n| {
        w.uint(*n)
    });
    w.option(c.global_limit.map(u64::from).as_ref(), |w, n| w.uint(*n));
    w.str(p.time_zone.name());
    w.option(p.window.from.as_ref(), |w, b| w.str(&b.raw));
    w.option(p.window.until.as_ref(), |w, b| w.str(&b.raw));
    w.u8(match p.stacking {
        Stacking::Exclusive => 0,
        Stacking::Stackable => 1,
    });
    w.uint(u64::from(p.priority.get()));
    w.u8(u8::from(p.requires_code));
    w.0
}

pub fn decode(bytes: &[u8]) -> Result<Promotion, Unreadable> {
    let mut r = Reader { bytes, at: 0 };
    if r.u8()? != VERSION {
        return Err(Unreadable);
    }
    let id = PromotionId::parse(r.str()?).map_err(|_| Unreadable)?;
    let name = r.str()?.to_owned();
    let benefit = match r.u8()? {
        0 => Benefit::PercentOff(r.percent()?),
        1 => Benefit::AmountOff(r.money()?),
        2 => Benefit::FixedPrice(r.money()?),
        3 => {
            let buy = r.u32()?;
            let get = r.u32()?;
            Benefit::BuyXGetY {
                buy,
                get,
                percent: r.percent()?,
            }
        }
        4 => Benefit::FreeShipping,
        _ => return Err(Unreadable),
    };
    let target = match r.u8()? {
        0 => Target::Cart,
        1 => Target::Skus(r.skus()?),
        2 => Target::Categories(r.categories()?),
        _ => return Err(Unreadable),
    };
    let exclusions = Exclusions {
        skus: r.skus()?,
        categories: r.categories()?,
        discounted_lines: r.bool()?,
    };
    let min_basket = r.option(Reader::money)?;
    let min_items = r.option(Reader::u32)?;
    let channels = r.option(|r| channel_set(r.u8()?))?;
    let segments = r.option(|r| r.set(Segment::parse))?;
    let loyalty_members_only = r.bool()?;
    let loyalty_tiers = r.option(|r| r.set(LoyaltyTier::parse))?;
    let first_order = r.option(|r| {
        Ok(FirstOrder {
            channels: channel_set(r.u8()?)?,
            history_in: channel_set(r.u8()?)?,
        })
    })?;
    let fulfilment = r.option(|r| {
        let mask = r.u8()?;
        Ok(Fulfilment::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, f)| f)
            .collect())
    })?;
    let per_customer_limit = r.option(Reader::u32)?;
    let global_limit = r.option(Reader::u32)?;
    let time_zone = TimeZone::parse(r.str()?).map_err(|_| Unreadable)?;
    let from = r.option(|r| LocalBound::parse(r.str()?).map_err(|_| Unreadable))?;
    let until = r.option(|r| LocalBound::parse(r.str()?).map_err(|_| Unreadable))?;
    let stacking = match r.u8()? {
        0 => Stacking::Exclusive,
        1 => Stacking::Stackable,
        _ => return Err(Unreadable),
    };
    let priority = Priority::parse(i64::from(r.u32()?)).map_err(|_| Unreadable)?;
    let requires_code = r.bool()?;
    if r.at != bytes.len() {
        return Err(Unreadable);
    }
    let starts_at: Option<DateTime<Utc>> = from
        .as_ref()
        .map(|b| time_zone.first_instant_at_or_after(b.at));
    let ends_at = until
        .as_ref()
        .map(|b| time_zone.first_instant_at_or_after(b.end()));
    Ok(Promotion {
        id,
        name,
        benefit,
        target,
        exclusions,
        conditions: Conditions {
            min_basket,
            min_items,
            channels,
            segments,
            loyalty_members_only,
            loyalty_tiers,
            first_order,
            fulfilment,
            per_customer_limit,
            global_limit,
        },
        time_zone,
        window: Window {
            from,
            until,
            starts_at,
            ends_at,
        },
        stacking,
        priority,
        requires_code,
    })
}

fn channel_mask(set: &BTreeSet<Channel>) -> u8 {
    set.iter()
        .map(|c| 1 << Channel::ALL.iter().position(|x| x == c).expect("listed"))
        .sum()
}

fn channel_set(mask: u8) -> Result<BTreeSet<Channel>, Unreadable> {
    if mask >> Channel::ALL.len() != 0 {
        return Err(Unreadable);
    }
    Ok(Channel::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, c)| c)
        .collect())
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    /// LEB128.
    fn uint(&mut self, mut n: u64) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn list<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a str>) {
        self.uint(items.len() as u64);
        for item in items {
            self.str(item);
        }
    }

    fn categories(&mut self, categories: &[CategoryPath]) {
        self.uint(categories.len() as u64);
        for category in categories {
            self.list(category.segments().iter().map(String::as_str));
        }
    }

    /// Amounts are never negative here (prices, minimums, discounts).
    fn money(&mut self, money: &Money) {
        let currency = Currency::ALL
            .iter()
            .position(|c| *c == money.currency())
            .expect("listed");
        self.u8(currency as u8);
        self.uint(u64::try_from(money.to_minor_units()).expect("non-negative amounts"));
    }

    fn decimal(&mut self, d: Decimal) {
        self.uint(u64::try_from(d.mantissa()).expect("percentages are positive and small"));
        self.u8(d.scale() as u8);
    }

    fn option<T>(&mut self, value: Option<&T>, write: impl FnOnce(&mut Writer, &T)) {
        match value {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                write(self, v);
            }
        }
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn u8(&mut self) -> Result<u8, Unreadable> {
        let b = *self.bytes.get(self.at).ok_or(Unreadable)?;
        self.at += 1;
        Ok(b)
    }

    fn bool(&mut self) -> Result<bool, Unreadable> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Unreadable),
        }
    }

    fn uint(&mut self) -> Result<u64, Unreadable> {
        let mut n = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Unreadable)
    }

    fn u32(&mut self) -> Result<u32, Unreadable> {
        u32::try_from(self.uint()?).map_err(|_| Unreadable)
    }

    fn str(&mut self) -> Result<&'b str, Unreadable> {
        let len = usize::try_from(self.uint()?).map_err(|_| Unreadable)?;
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(Unreadable)?;
        let s = std::str::from_utf8(&self.bytes[self.at..end]).map_err(|_| Unreadable)?;
        self.at = end;
        Ok(s)
    }

    fn count(&mut self) -> Result<usize, Unreadable> {
        // Each item takes at least one byte, which bounds a corrupt count.
        usize::try_from(self.uint()?)
            .ok()
            .filter(|n| *n <= self.bytes.len() - self.at)
            .ok_or(Unreadable)
    }

    fn skus(&mut self) -> Result<BTreeSet<Sku>, Unreadable> {
        self.set(Sku::parse)
    }

    fn set<T: Ord, E>(
        &mut self,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<BTreeSet<T>, Unreadable> {
        let n = self.count()?;
        (0..n)
            .map(|_| parse(self.str()?).map_err(|_| Unreadable))
            .collect()
    }

    fn categories(&mut self) -> Result<Vec<CategoryPath>, Unreadable> {
        let n = self.count()?;
        (0..n)
            .map(|_| {
                let segments = self.count()?;
                let parts = (0..segments)
                    .map(|_| self.str())
                    .collect::<Result<Vec<&str>, _>>()?;
                CategoryPath::parse(&parts).map_err(|_| Unreadable)
            })
            .collect()
    }

    fn money(&mut self) -> Result<Money, Unreadable> {
        let currency = *Currency::ALL
            .get(usize::from(self.u8()?))
            .ok_or(Unreadable)?;
        let minor = i64::try_from(self.uint()?).map_err(|_| Unreadable)?;
        Money::from_minor_units(minor, currency).map_err(|_| Unreadable)
    }

    fn percent(&mut self) -> Result<Percent, Unreadable> {
        let mantissa = i64::try_from(self.uint()?).map_err(|_| Unreadable)?;
        let scale = u32::from(self.u8()?);
        Percent::from_parts(mantissa, scale).map_err(|_| Unreadable)
    }

    fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Reader<'b>) -> Result<T, Unreadable>,
    ) -> Result<Option<T>, Unreadable> {
        match self.u8()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(Unreadable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::PromotionRow;
    use super::*;
    use serde_json::json;

    fn promotion(value: serde_json::Value) -> Promotion {
        Promotion::try_from(serde_json::from_value::<PromotionRow>(value).unwrap()).unwrap()
    }

    #[test]
    fn every_field_survives_a_round_trip() {
        let full = promotion(json!({
            "id": "FIRSTCC", "name": "First app click & collect", "time_zone": "Europe/Lisbon",
            "benefit": {"type": "buy_x_get_y", "buy": 2, "get": 1, "percent": "12.5"},
            "target": {"type": "categories", "categories": [["men", "t-shirts"], ["women"]]},
            "conditions": {"min_basket": {"amount": "100.00", "currency": "PLN"}, "min_items": 2, "channels": ["app", "web"],
                "segments": ["offline-frequent", "vip"], "loyalty_members_only": true, "loyalty_tiers": ["gold"],
                "first_order": {"channels": ["app"], "history_in": ["pos", "kiosk"]}, "fulfilment": ["click_and_collect", "delivery"],
                "valid_from": "2026-03-29T02:30", "valid_until": "2026-11-30", "per_customer_limit": 1, "global_limit": 500},
            "exclusions": {"skus": ["TEE-ORG-BLK-S"], "categories": [["men", "t-shirts", "sale"]], "discounted_lines": true},
            "stacking": "stackable", "priority": 999, "requires_code": true
        }));
        assert_eq!(decode(&encode(&full)).unwrap(), full);
        for benefit in [
            json!({"type": "percent_off", "percent": "100"}),
            json!({"type": "amount_off", "amount": {"amount": "1000000.00", "currency": "EUR"}}),
            json!({"type": "free_shipping"}),
        ] {
            let p = promotion(
                json!({"id": "P", "name": "P", "time_zone": "Europe/Warsaw", "benefit": benefit}),
            );
            assert_eq!(decode(&encode(&p)).unwrap(), p);
        }
        let fixed = promotion(
            json!({"id": "F", "name": "F", "time_zone": "America/New_York",
            "benefit": {"type": "fixed_price", "price": {"amount": "500", "currency": "JPY"}}, "target": {"type": "skus", "skus": ["A", "B"]}}),
        );
        assert_eq!(decode(&encode(&fixed)).unwrap(), fixed);
    }

    #[test]
    fn other_versions_and_damaged_bytes_are_unreadable() {
        let p = promotion(
            json!({"id": "P", "name": "P", "time_zone": "Europe/Warsaw", "benefit": {"type": "percent_off", "percent": "10"}}),
        );
        let bytes = encode(&p);
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert_eq!(decode(&other), Err(Unreadable));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Err(Unreadable), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(Unreadable));
        assert_eq!(
            decode(&[
                VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]),
            Err(Unreadable)
        );
    }
}

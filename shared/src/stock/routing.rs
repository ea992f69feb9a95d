//! Fulfilment routing: which location ships a basket to a shopper, scored
//! by delivery date, courier cost and the risk of emptying a shelf.
//!
//! # The score (lower is better)
//!
//! ```text
//! score = 10 × days  +  courier cost (EUR)  +  8 × shelf risk
//! ```
//!
//! - `days`: calendar days from today (at the location) to the delivery
//!   date, D+1 being 1. The location dispatches when its picking is done
//!   (its own ready-by: SLA inside opening hours, cut-off, daily limit);
//!   the courier then needs [`transit_days`] delivery days (Monday to
//!   Saturday) by distance.
//! - courier cost: the tariff zone of the distance ([`courier_cost`]).
//! - shelf risk: the largest share of a line's available-to-promise units
//!   the order takes (`wanted / ATP`, 0 to 1): 1 means the order empties
//!   that shelf, so the store loses the next walk-in sale of it.
//!
//! Why these weights? A day later costs more conversion than any courier
//! tariff difference (10 EUR a day outweighs the dearest zone step), while
//! emptying a shelf (8) is worth paying a dearer courier (up to 8 EUR more)
//! but not a later day. Ties go to the shorter distance, then the id, so
//! the answer is deterministic. Every number is a `Decimal`: routing never
//! rounds a float into a decision.
//!
//! A basket ships whole from one location (no split shipments); the
//! caller offers only locations that hold every line.

use crate::catalog::StoreKind;
use crate::hours::ReadyBy;
use crate::ids::StoreId;
use crate::money::{Currency, Money};
use crate::quantity::{Quantity, StockQuantity};
use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use rust_decimal::Decimal;
use serde::Serialize;

/// Courier tariffs are compared, not charged, so one currency serves every
/// country.
pub const COURIER_CURRENCY: Currency = Currency::Eur;

/// Score points per day of delivery (see the module notes).
pub const SCORE_PER_DAY: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

/// Score points for an order that empties a shelf (shelf risk 1).
pub const SCORE_PER_EMPTIED_SHELF: Decimal = Decimal::from_parts(8, 0, 0, false, 0);

/// One location able to ship the whole basket.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingCandidate {
    pub location: StoreId,
    pub kind: StoreKind,
    /// From the location to the delivery address.
    pub distance_km: f64,
    /// The location's local date now.
    pub today: NaiveDate,
    /// When the location would have the basket picked (its ready-by).
    pub dispatch: ReadyBy,
    /// The location's local date at `dispatch.ready_by`.
    pub dispatch_date: NaiveDate,
    /// Each line: units wanted, units available to promise there.
    pub lines: Vec<(Quantity, StockQuantity)>,
}

/// A candidate's delivery promise and score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryQuote {
    pub location_id: StoreId,
    #[serde(serialize_with = "kind_name")]
    pub kind: StoreKind,
    pub distance_km: f64,
    #[serde(with = "crate::clock::wire_format")]
    pub dispatch_by: DateTime<Utc>,
    pub delivery_date: NaiveDate,
    /// D+n: calendar days from the location's today to delivery.
    pub days: u32,
    pub courier_cost: Money,
    pub shelf_risk: Decimal,
    pub score: Decimal,
}

fn kind_name<S: serde::Serializer>(kind: &StoreKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// Courier delivery days after dispatch: next day within 300 km (a
/// national overnight network), two within 800 km, three beyond.
pub fn transit_days(distance_km: f64) -> u32 {
    if distance_km <= 300.0 {
        1
    } else if distance_km <= 800.0 {
        2
    } else {
        3
    }
}

/// The courier tariff zone of a distance, in [`COURIER_CURRENCY`]: local
/// (50 km) 4.90, national (300 km) 6.90, neighbouring (800 km) 9.90,
/// further 14.90.
pub fn courier_cost(distance_km: f64) -> Money {
    let cents = if distance_km <= 50.0 {
        490
    } else if distance_km <= 300.0 {
        690
    } else if distance_km <= 800.0 {
        990
    } else {
        1490
    };
    Money::from_minor_units(cents, COURIER_CURRENCY).expect("tariffs are small positive amounts")
}

/// The courier tariff a shipping location pays, in its own currency: the
/// same zones as [`courier_cost`] (which ranks locations in one currency)
/// from the carrier's PLN price list for a location in Poland, its EUR one
/// elsewhere. What a client is shown beside a location is this, never the
/// ranking's EUR figure for a PLN shop.
pub fn courier_tariff(distance_km: f64, country: &str) -> Money {
    if country != "PL" {
        return courier_cost(distance_km);
    }
    let grosze = if distance_km <= 50.0 {
        1990
    } else if distance_km <= 300.0 {
        2790
    } else if distance_km <= 800.0 {
        3990
    } else {
        5990
    };
    Money::from_minor_units(grosze, Currency::Pln).expect("tariffs are small positive amounts")
}

/// The date a courier delivers a parcel dispatched on `dispatch_date`,
/// `transit` delivery days later; couriers do not deliver on Sundays.
pub fn delivery_date(dispatch_date: NaiveDate, transit: u32) -> NaiveDate {
    let mut date = dispatch_date;
    let mut left = transit;
    while left > 0 {
        date = date.succ_opt().unwrap_or(date);
        if date.weekday() != Weekday::Sun {
            left -= 1;
        }
    }
    date
}

/// The largest share of a line's ATP the order takes, 0 to 1 (4 decimal
/// places); 1 when any line has nothing to spare.
pub fn shelf_risk(lines: &[(Quantity, StockQuantity)]) -> Decimal {
    lines
        .iter()
        .map(|(wanted, available)| {
            if available.get() == 0 {
                Decimal::ONE
            } else {
                (Decimal::from(wanted.get()) / Decimal::from(available.get()))
                    .min(Decimal::ONE)
                    .round_dp(4)
            }
        })
        .max()
        .unwrap_or(Decimal::ZERO)
}

/// The candidate's promise and score.
pub fn quote(candidate: &RoutingCandidate) -> DeliveryQuote {
    let delivery = delivery_date(candidate.dispatch_date, transit_days(candidate.distance_km));
    let days = u32::try_from((delivery - candidate.today).num_days().max(0)).unwrap_or(u32::MAX);
    let cost = courier_cost(candidate.distance_km);
    let risk = shelf_risk(&candidate.lines);
    let score =
        SCORE_PER_DAY * Decimal::from(days) + cost.amount() + SCORE_PER_EMPTIED_SHELF * risk;
    DeliveryQuote {
        location_id: candidate.location.clone(),
        kind: candidate.kind,
        distance_km: candidate.distance_km,
        dispatch_by: candidate.dispatch.ready_by,
        delivery_date: delivery,
        days,
        courier_cost: cost,
        shelf_risk: risk,
        score,
    }
}

/// Best first: lowest score, then fewest days, shortest distance, id.
pub fn rank(quotes: &mut [DeliveryQuote]) {
    quotes.sort_by(|a, b| {
        a.score
            .cmp(&b.score)
            .then(a.days.cmp(&b.days))
            .then(a.distance_km.total_cmp(&b.distance_km))
            .then_with(|| a.location_id.cmp(&b.location_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn dec(raw: &str) -> Decimal {
        Decimal::from_str(raw).unwrap()
    }

    fn line(wanted: u32, available: u32) -> (Quantity, StockQuantity) {
        (
            Quantity::parse(i64::from(wanted)).unwrap(),
            StockQuantity::parse(i64::from(available)).unwrap(),
        )
    }

    fn candidate(
        id: &str,
        distance_km: f64,
        dispatch: &str,
        lines: Vec<(Quantity, StockQuantity)>,
    ) -> RoutingCandidate {
        let ready = DateTime::parse_from_rfc3339(&format!("{dispatch}T15:00:00Z"))
            .unwrap()
            .with_timezone(&Utc);
        RoutingCandidate {
            location: StoreId::parse(id).unwrap(),
            kind: StoreKind::Store,
            distance_km,
            today: date("2026-11-23"),
            dispatch: ReadyBy {
                picking_date: date(dispatch),
                picking_starts_at: ready,
                ready_by: ready,
            },
            dispatch_date: date(dispatch),
            lines,
        }
    }

    #[test]
    fn transit_and_tariff_grow_with_distance() {
        assert_eq!(
            [10.0, 300.0, 300.1, 800.0, 801.0].map(transit_days),
            [1, 1, 2, 2, 3]
        );
        let cost = |km| courier_cost(km).amount().to_string();
        assert_eq!(
            [cost(0.0), cost(50.0), cost(51.0), cost(700.0), cost(2000.0)],
            ["4.90", "4.90", "6.90", "9.90", "14.90"]
        );
    }

    #[test]
    fn couriers_deliver_monday_to_saturday() {
        assert_eq!(
            delivery_date(date("2026-11-23"), 1),
            date("2026-11-24"),
            "Monday to Tuesday"
        );
        assert_eq!(
            delivery_date(date("2026-11-28"), 1),
            date("2026-11-30"),
            "Saturday skips Sunday"
        );
        assert_eq!(
            delivery_date(date("2026-11-27"), 2),
            date("2026-11-30"),
            "Friday + 2 is Monday"
        );
        assert_eq!(
            delivery_date(date("2026-11-29"), 1),
            date("2026-11-30"),
            "dispatched Sunday, delivered Monday"
        );
    }

    #[test]
    fn shelf_risk_is_the_largest_share_of_atp_taken() {
        assert_eq!(shelf_risk(&[line(1, 10)]), dec("0.1"));
        assert_eq!(shelf_risk(&[line(1, 10), line(2, 3)]), dec("0.6667"));
        assert_eq!(
            shelf_risk(&[line(2, 2)]),
            Decimal::ONE,
            "emptying the shelf"
        );
        assert_eq!(shelf_risk(&[line(1, 0)]), Decimal::ONE);
        assert_eq!(shelf_risk(&[]), Decimal::ZERO);
    }

    #[test]
    fn the_score_adds_days_courier_cost_and_shelf_risk() {
        let q = quote(&candidate("S1", 10.0, "2026-11-23", vec![line(1, 4)]));
        assert_eq!(q.delivery_date, date("2026-11-24"));
        assert_eq!(q.days, 1);
        assert_eq!(q.score, dec("10") + dec("4.90") + dec("8") * dec("0.25"));
        assert_eq!(q.score, dec("16.90"));
    }

    #[test]
    fn an_earlier_delivery_beats_a_cheaper_courier_and_a_fuller_shelf() {
        // Near but past its cut-off (dispatches tomorrow) against far (D+1).
        let near_late = quote(&candidate("NEAR", 5.0, "2026-11-24", vec![line(1, 50)]));
        let far_today = quote(&candidate("FAR", 250.0, "2026-11-23", vec![line(1, 1)]));
        assert_eq!((near_late.days, far_today.days), (2, 1));
        let mut quotes = vec![near_late, far_today];
        rank(&mut quotes);
        assert_eq!(quotes[0].location_id.as_str(), "FAR");
    }

    #[test]
    fn on_the_same_day_the_store_that_keeps_its_shelf_wins_over_a_cheaper_courier() {
        let emptying = quote(&candidate("LAST", 5.0, "2026-11-23", vec![line(1, 1)]));
        let plenty = quote(&candidate("DEEP", 120.0, "2026-11-23", vec![line(1, 20)]));
        assert_eq!(emptying.score, dec("22.90"));
        assert_eq!(plenty.score, dec("17.30"));
        let mut quotes = vec![emptying, plenty];
        rank(&mut quotes);
        assert_eq!(quotes[0].location_id.as_str(), "DEEP");
    }

    #[test]
    fn ties_go_to_the_nearer_location_then_the_id() {
        let mut quotes = vec![
            quote(&candidate("B", 20.0, "2026-11-23", vec![line(1, 10)])),
            quote(&candidate("A", 20.0, "2026-11-23", vec![line(1, 10)])),
            quote(&candidate("C", 10.0, "2026-11-23", vec![line(1, 10)])),
        ];
        rank(&mut quotes);
        let order: Vec<&str> = quotes.iter().map(|q| q.location_id.as_str()).collect();
        assert_eq!(order, ["C", "A", "B"]);
    }
}

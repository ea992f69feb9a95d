//! The SLA clock of an order and the pickup window.
//!
//! An order's SLA runs from placement to its promised ready-by time (the
//! store's picking SLA within its opening hours, fixed when the
//! reservation was confirmed). When [`OrderPolicy::alert_percent`] of that
//! span has passed and the order is still not ready, it is *at risk* and
//! the store is alerted; at the ready-by time it is *breached*. Reaching
//! the SLA target (ready for pickup, or shipped) by the ready-by time is a
//! hit, later a miss: the per-store hit rate ops read.
//!
//! Why store the at-risk instant rather than compute it in the sweep? The
//! sweep then finds due alerts with one indexed range query; the policy in
//! force when the order was placed is the one its promise was made under.
//!
//! An order ready for pickup may be collected for
//! [`OrderPolicy::expiry_days`] days; then the sweep expires it and its
//! reserved stock returns to sale.

use super::OrderError;
use super::status::OrderStatus;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// The SLA and pickup settings of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPolicy {
    alert_percent: u32,
    expiry_days: u32,
}

impl Default for OrderPolicy {
    /// Alert at 80 % of the SLA; collect within 7 days.
    fn default() -> OrderPolicy {
        OrderPolicy {
            alert_percent: 80,
            expiry_days: 7,
        }
    }
}

impl OrderPolicy {
    pub const MAX_EXPIRY_DAYS: u32 = 60;

    /// `alert_percent` from 1 to 99 (0 would alert at placement, 100 at the
    /// breach itself), `expiry_days` from 1 to [`Self::MAX_EXPIRY_DAYS`].
    pub fn new(alert_percent: u32, expiry_days: u32) -> Result<OrderPolicy, OrderError> {
        if !(1..=99).contains(&alert_percent) {
            return Err(OrderError::Setting {
                name: "pickup_sla_alert_percent",
                reason: "must be a whole number from 1 to 99".into(),
            });
        }
        if !(1..=Self::MAX_EXPIRY_DAYS).contains(&expiry_days) {
            return Err(OrderError::Setting {
                name: "pickup_expiry_days",
                reason: format!("must be a whole number from 1 to {}", Self::MAX_EXPIRY_DAYS),
            });
        }
        Ok(OrderPolicy {
            alert_percent,
            expiry_days,
        })
    }

    /// Reads the Spin variables as text; blank or absent is the default.
    pub fn from_settings(
        alert_percent: Option<&str>,
        expiry_days: Option<&str>,
    ) -> Result<OrderPolicy, OrderError> {
        let read = |name: &'static str, raw: Option<&str>, default: u32| match raw
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            None => Ok(default),
            Some(text) => text.parse::<u32>().map_err(|_| OrderError::Setting {
                name,
                reason: format!(
                    "{:?} is not a whole number",
                    text.chars().take(20).collect::<String>()
                ),
            }),
        };
        let defaults = OrderPolicy::default();
        OrderPolicy::new(
            read(
                "pickup_sla_alert_percent",
                alert_percent,
                defaults.alert_percent,
            )?,
            read("pickup_expiry_days", expiry_days, defaults.expiry_days)?,
        )
    }

    pub fn alert_percent(&self) -> u32 {
        self.alert_percent
    }

    pub fn expiry_days(&self) -> u32 {
        self.expiry_days
    }

    /// The instant the share of the SLA has passed: `started` plus
    /// `alert_percent` % of the span to `due`, to the millisecond.
    pub fn at_risk_at(&self, started: DateTime<Utc>, due: DateTime<Utc>) -> DateTime<Utc> {
        let span = (due - started).num_milliseconds().max(0);
        started + Duration::milliseconds(span * i64::from(self.alert_percent) / 100)
    }

    /// The end of the pickup window of an order ready at `ready_at`.
    pub fn pickup_until(&self, ready_at: DateTime<Utc>) -> DateTime<Utc> {
        ready_at + Duration::days(i64::from(self.expiry_days))
    }
}

/// Where an order stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    AtRisk,
    Breached,
    /// Reached its target by the promised time.
    Met,
    /// Reached its target late.
    Missed,
    /// Cancelled before its target: no promise left to keep.
    Void,
}

/// The SLA state at `now` of an order in `status`.
pub fn state(
    status: OrderStatus,
    now: DateTime<Utc>,
    at_risk_at: DateTime<Utc>,
    due: DateTime<Utc>,
    ready_at: Option<DateTime<Utc>>,
) -> SlaState {
    match ready_at {
        Some(ready) if ready <= due => SlaState::Met,
        Some(_) => SlaState::Missed,
        None if !status.is_open_for_sla() => SlaState::Void,
        None if now >= due => SlaState::Breached,
        None if now >= at_risk_at => SlaState::AtRisk,
        None => SlaState::OnTrack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    #[test]
    fn an_order_is_at_risk_once_eighty_percent_of_its_sla_has_passed() {
        let policy = OrderPolicy::default();
        // Placed 09:00, promised 11:00: 120 minutes, 80 % is 96 minutes.
        assert_eq!(policy.at_risk_at(at(9, 0), at(11, 0)), at(10, 36));
        let risk = policy.at_risk_at(at(9, 0), at(11, 0));
        let check = |now| state(OrderStatus::Accepted, now, risk, at(11, 0), None);
        assert_eq!(check(at(10, 35)), SlaState::OnTrack);
        assert_eq!(check(at(10, 36)), SlaState::AtRisk);
        assert_eq!(check(at(10, 59)), SlaState::AtRisk);
        assert_eq!(check(at(11, 0)), SlaState::Breached);
    }

    #[test]
    fn the_alert_share_is_configurable() {
        let policy = OrderPolicy::new(50, 7).unwrap();
        assert_eq!(policy.at_risk_at(at(9, 0), at(11, 0)), at(10, 0));
        // A promise spanning a night (ready next morning) scales with it.
        let overnight = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        assert_eq!(policy.at_risk_at(at(9, 0), overnight), at(21, 0));
    }

    #[test]
    fn reaching_the_target_by_the_promise_is_a_hit_and_later_a_miss() {
        let risk = at(10, 36);
        assert_eq!(
            state(
                OrderStatus::ReadyForPickup,
                at(12, 0),
                risk,
                at(11, 0),
                Some(at(11, 0))
            ),
            SlaState::Met
        );
        assert_eq!(
            state(
                OrderStatus::PickedUp,
                at(12, 0),
                risk,
                at(11, 0),
                Some(at(11, 1))
            ),
            SlaState::Missed
        );
        assert_eq!(
            state(OrderStatus::Cancelled, at(12, 0), risk, at(11, 0), None),
            SlaState::Void
        );
    }

    #[test]
    fn uncollected_orders_expire_exactly_seven_days_after_they_were_ready() {
        let policy = OrderPolicy::default();
        let ready = at(14, 30);
        assert_eq!(
            policy.pickup_until(ready),
            Utc.with_ymd_and_hms(2026, 11, 30, 14, 30, 0).unwrap()
        );
        assert_eq!(
            OrderPolicy::new(80, 3).unwrap().pickup_until(ready),
            Utc.with_ymd_and_hms(2026, 11, 26, 14, 30, 0).unwrap()
        );
    }

    #[test]
    fn settings_are_read_and_checked() {
        assert_eq!(
            OrderPolicy::from_settings(None, Some(" ")),
            Ok(OrderPolicy::default())
        );
        assert_eq!(
            OrderPolicy::from_settings(Some("90"), Some("3"))
                .unwrap()
                .alert_percent(),
            90
        );
        for (percent, days) in [
            ("0", "7"),
            ("100", "7"),
            ("80", "0"),
            ("80", "61"),
            ("x", "7"),
            ("80", "-1"),
        ] {
            assert!(
                OrderPolicy::from_settings(Some(percent), Some(days)).is_err(),
                "{percent} {days}"
            );
        }
    }
}

//! May this item still be returned? The window in the selling store's time
//! zone, and the categories the policy excludes.
//!
//! Why the store's local calendar? "30 days" on a receipt means 30 calendar
//! days where the shopper bought, through the end of the last day: an item
//! handed over in Warsaw at 21:30 on 1 March may come back until midnight
//! in Warsaw at the end of 31 March, whatever the edge node's or the
//! phone's time zone, and across a daylight-saving change.

use super::policy::ReturnPolicy;
use crate::catalog::CategoryPath;
use crate::hours::TimeZone;
use chrono::{DateTime, Days, NaiveTime, Utc};

/// Why an item may not be returned; each becomes a 422 with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    /// The window closed at `ended_at` (the end of the last local day).
    WindowClosed { ended_at: DateTime<Utc> },
    /// The item's category is excluded by the policy's rule `rule`.
    NotReturnable {
        category: CategoryPath,
        rule: CategoryPath,
    },
}

/// The instant the return window of an item handed over at `handover` in
/// `zone` closes: the start of the local day `window_days + 1` days after
/// the handover's local date.
pub fn window_ends_at(handover: DateTime<Utc>, zone: TimeZone, window_days: u16) -> DateTime<Utc> {
    let date = zone.local(handover).date();
    let last = date
        .checked_add_days(Days::new(u64::from(window_days) + 1))
        .unwrap_or(date);
    zone.first_instant_at_or_after(last.and_time(NaiveTime::MIN))
}

/// Checks one item against the policy at `now`.
pub fn check(
    policy: &ReturnPolicy,
    handover: DateTime<Utc>,
    zone: TimeZone,
    category: &CategoryPath,
    now: DateTime<Utc>,
) -> Result<(), Ineligible> {
    if let Some(rule) = policy.excluded_by(category) {
        return Err(Ineligible::NotReturnable {
            category: category.clone(),
            rule: rule.clone(),
        });
    }
    let ended_at = window_ends_at(handover, zone, policy.window_days());
    if now >= ended_at {
        return Err(Ineligible::WindowClosed { ended_at });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone as _};

    fn warsaw() -> TimeZone {
        TimeZone::parse("Europe/Warsaw").unwrap()
    }

    fn tees() -> CategoryPath {
        CategoryPath::parse(&["men", "t-shirts"]).unwrap()
    }

    #[test]
    fn the_window_runs_to_the_end_of_the_last_local_day() {
        // Handed over 1 March 2026, 21:30 in Warsaw (20:30 UTC).
        let handover = Utc.with_ymd_and_hms(2026, 3, 1, 20, 30, 0).unwrap();
        let ends = window_ends_at(handover, warsaw(), 30);
        // 1 April 00:00 in Warsaw is 31 March 22:00 UTC (CEST since 29 March).
        assert_eq!(ends, Utc.with_ymd_and_hms(2026, 3, 31, 22, 0, 0).unwrap());
        let policy = ReturnPolicy::default();
        assert_eq!(
            check(
                &policy,
                handover,
                warsaw(),
                &tees(),
                ends - Duration::milliseconds(1)
            ),
            Ok(())
        );
        assert_eq!(
            check(&policy, handover, warsaw(), &tees(), ends),
            Err(Ineligible::WindowClosed { ended_at: ends })
        );
    }

    #[test]
    fn a_late_evening_handover_counts_on_the_stores_date_not_the_utc_date() {
        // 23:30 in Warsaw on 10 January is already the 10th there, but 22:30
        // UTC; a UTC calendar would agree here, while 00:30 local on the
        // 11th (23:30 UTC on the 10th) must count as the 11th.
        let after_midnight = Utc.with_ymd_and_hms(2026, 1, 10, 23, 30, 0).unwrap();
        let ends = window_ends_at(after_midnight, warsaw(), 1);
        assert_eq!(
            ends,
            Utc.with_ymd_and_hms(2026, 1, 12, 23, 0, 0).unwrap(),
            "end of 12 January in Warsaw"
        );
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let utc = TimeZone::parse("UTC").unwrap();
        assert_ne!(
            window_ends_at(after_midnight, berlin, 1),
            window_ends_at(after_midnight, utc, 1)
        );
    }

    #[test]
    fn excluded_categories_are_refused_whatever_the_date() {
        let handover = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let briefs = CategoryPath::parse(&["underwear", "briefs"]).unwrap();
        let refusal = check(
            &ReturnPolicy::default(),
            handover,
            warsaw(),
            &briefs,
            handover,
        )
        .unwrap_err();
        assert!(
            matches!(refusal, Ineligible::NotReturnable { rule, .. } if rule.segments() == ["underwear"])
        );
    }
}

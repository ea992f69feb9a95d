//! A POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`, POSIX.1-2017 §8.3 with
//! RFC 8536's extensions: hours from -167 to 167 in transition times) and
//! the UTC offset it gives at an instant.
//!
//! This is the footer of every compiled tz database file: the rule in force
//! from the zone's last change on. [`super::TimeZone`] keeps one per IANA
//! zone ([`super::zone_rules`]) instead of compiling the zones' histories
//! into every component.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// When a daylight-saving period starts or ends, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Day {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian(u16),
    /// `n`: day 0..=365, February 29 counted.
    Ordinal(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    MonthWeekDay { month: u32, week: u8, weekday: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Transition {
    day: Day,
    /// Seconds after local midnight (may be negative or past 24 h).
    time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Dst {
    /// Seconds east of UTC while daylight-saving time is in force.
    offset: i64,
    start: Transition,
    end: Transition,
}

/// A parsed rule: standard time, and daylight-saving time when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PosixTz {
    /// Seconds east of UTC in standard time.
    std_offset: i64,
    dst: Option<Dst>,
}

impl PosixTz {
    /// Parses a rule; `None` when it is not one.
    pub fn parse(rule: &str) -> Option<PosixTz> {
        let mut p = Parser {
            rest: rule.as_bytes(),
        };
        p.name()?;
        // POSIX offsets are west of UTC: `CET-1` is one hour east.
        let std_offset = -p.offset()?;
        if p.rest.is_empty() {
            return Some(PosixTz {
                std_offset,
                dst: None,
            });
        }
        p.name()?;
        let dst_offset = if p.peek().is_some_and(|c| c != b',') {
            -p.offset()?
        } else {
            std_offset + 3600
        };
        let (start, end) = if p.eat(b',') {
            let start = p.transition()?;
            if !p.eat(b',') {
                return None;
            }
            (start, p.transition()?)
        } else {
            // The POSIX default when a zone names DST without rules (US rules).
            (
                Transition {
                    day: Day::MonthWeekDay {
                        month: 3,
                        week: 2,
                        weekday: 0,
                    },
                    time: 7200,
                },
                Transition {
                    day: Day::MonthWeekDay {
                        month: 11,
                        week: 1,
                        weekday: 0,
                    },
                    time: 7200,
                },
            )
        };
        p.rest.is_empty().then_some(PosixTz {
            std_offset,
            dst: Some(Dst {
                offset: dst_offset,
                start,
                end,
            }),
        })
    }

    /// The offset east of UTC, in seconds, in force at `utc` (seconds since
    /// the epoch).
    pub fn offset_at(&self, utc: i64) -> i64 {
        let Some(dst) = self.dst else {
            return self.std_offset;
        };
        let year = match chrono::DateTime::from_timestamp(utc + self.std_offset, 0) {
            Some(local) => local.year(),
            None => return self.std_offset,
        };
        // Transitions in UTC: the start is read on the standard clock, the
        // end on the daylight-saving clock.
        let start = instant(year, dst.start) - self.std_offset;
        let end = instant(year, dst.end) - dst.offset;
        let in_dst = if start < end {
            start <= utc && utc < end
        } else {
            !(end <= utc && utc < start)
        };
        if in_dst { dst.offset } else { self.std_offset }
    }

    /// The offsets the zone ever uses, standard first.
    pub fn offsets(&self) -> impl Iterator<Item = i64> {
        std::iter::once(self.std_offset).chain(self.dst.map(|d| d.offset))
    }
}

/// The local instant (seconds since the epoch, as if local time were UTC)
/// of `transition` in `year`.
fn instant(year: i32, transition: Transition) -> i64 {
    let date = match transition.day {
        Day::Julian(n) => {
            // Day 60 is always March 1: February 29 is skipped.
            let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
            let ordinal = if leap && n >= 60 { n + 1 } else { n };
            NaiveDate::from_yo_opt(year, u32::from(ordinal))
        }
        Day::Ordinal(n) => NaiveDate::from_yo_opt(year, u32::from(n) + 1),
        Day::MonthWeekDay {
            month,
            week,
            weekday,
        } => month_week_day(year, month, week, weekday),
    };
    let midnight =
        date.unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 1, 1).expect("January 1 exists"));
    NaiveDateTime::new(midnight, NaiveTime::MIN)
        .and_utc()
        .timestamp()
        + transition.time
}

fn month_week_day(year: i32, month: u32, week: u8, weekday: u8) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let wanted = Weekday::try_from(((weekday + 6) % 7) as u8).ok()?; // chrono counts from Monday
    let shift = (7 + wanted.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    let mut day =
        first + chrono::Duration::days(i64::from(shift) + 7 * i64::from(week.saturating_sub(1)));
    while day.month() != month {
        day -= chrono::Duration::days(7);
    }
    Some(day)
}

struct Parser<'a> {
    rest: &'a [u8],
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.rest = &self.rest[1..];
            true
        } else {
            false
        }
    }

    /// `CET` or `<+0545>`: at least three characters, unused here.
    fn name(&mut self) -> Option<()> {
        if self.eat(b'<') {
            let end = self.rest.iter().position(|&c| c == b'>')?;
            self.rest = &self.rest[end + 1..];
            return (end >= 3).then_some(());
        }
        let end = self
            .rest
            .iter()
            .position(|c| !c.is_ascii_alphabetic())
            .unwrap_or(self.rest.len());
        self.rest = &self.rest[end..];
        (end >= 3).then_some(())
    }

    fn number(&mut self) -> Option<i64> {
        let end = self
            .rest
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if end == 0 || end > 3 {
            return None;
        }
        let n = std::str::from_utf8(&self.rest[..end]).ok()?.parse().ok()?;
        self.rest = &self.rest[end..];
        Some(n)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn offset(&mut self) -> Option<i64> {
        let sign = if self.eat(b'-') {
            -1
        } else {
            self.eat(b'+');
            1
        };
        let hours = self.number()?;
        let minutes = if self.eat(b':') { self.number()? } else { 0 };
        let seconds = if self.eat(b':') { self.number()? } else { 0 };
        (hours <= 167 && minutes < 60 && seconds < 60)
            .then_some(sign * (hours * 3600 + minutes * 60 + seconds))
    }

    fn transition(&mut self) -> Option<Transition> {
        let day = if self.eat(b'M') {
            let month = self.number()?;
            self.eat(b'.').then_some(())?;
            let week = self.number()?;
            self.eat(b'.').then_some(())?;
            let weekday = self.number()?;
            if !(1..=12).contains(&month) || !(1..=5).contains(&week) || weekday > 6 {
                return None;
            }
            Day::MonthWeekDay {
                month: month as u32,
                week: week as u8,
                weekday: weekday as u8,
            }
        } else if self.eat(b'J') {
            let n = self.number()?;
            (1..=365).contains(&n).then_some(Day::Julian(n as u16))?
        } else {
            let n = self.number()?;
            (0..=365).contains(&n).then_some(Day::Ordinal(n as u16))?
        };
        let time = if self.eat(b'/') { self.offset()? } else { 7200 };
        Some(Transition { day, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp()
    }

    #[test]
    fn central_europe_switches_on_the_last_sundays_of_march_and_october() {
        let cet = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2026: March 29 01:00 UTC and October 25 01:00 UTC.
        assert_eq!(cet.offset_at(at(2026, 3, 29, 0, 59)), 3600);
        assert_eq!(cet.offset_at(at(2026, 3, 29, 1, 0)), 7200);
        assert_eq!(cet.offset_at(at(2026, 10, 25, 0, 59)), 7200);
        assert_eq!(cet.offset_at(at(2026, 10, 25, 1, 0)), 3600);
        assert_eq!(cet.offset_at(at(2026, 1, 1, 0, 0)), 3600);
    }

    #[test]
    fn southern_zones_keep_daylight_time_over_new_year() {
        let sydney = PosixTz::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(sydney.offset_at(at(2027, 1, 1, 0, 0)), 11 * 3600);
        assert_eq!(sydney.offset_at(at(2026, 7, 1, 0, 0)), 10 * 3600);
        // 2026: April 5 03:00 AEDT = April 4 16:00 UTC; October 4 02:00 AEST = October 3 16:00 UTC.
        assert_eq!(sydney.offset_at(at(2026, 4, 4, 15, 59)), 11 * 3600);
        assert_eq!(sydney.offset_at(at(2026, 4, 4, 16, 0)), 10 * 3600);
        assert_eq!(sydney.offset_at(at(2026, 10, 3, 15, 59)), 10 * 3600);
        assert_eq!(sydney.offset_at(at(2026, 10, 3, 16, 0)), 11 * 3600);
    }

    #[test]
    fn fixed_and_fractional_offsets_and_quoted_names_parse() {
        assert_eq!(PosixTz::parse("JST-9").unwrap().offset_at(0), 9 * 3600);
        assert_eq!(
            PosixTz::parse("<+0545>-5:45").unwrap().offset_at(0),
            5 * 3600 + 45 * 60
        );
        assert_eq!(PosixTz::parse("<-03>3").unwrap().offset_at(0), -3 * 3600);
        assert_eq!(PosixTz::parse("UTC0").unwrap().offset_at(0), 0);
        let chatham = PosixTz::parse("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45").unwrap();
        assert_eq!(chatham.offset_at(at(2027, 1, 1, 0, 0)), 13 * 3600 + 45 * 60);
        let lord_howe = PosixTz::parse("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0").unwrap();
        assert_eq!(lord_howe.offset_at(at(2027, 1, 1, 0, 0)), 11 * 3600);
        // RFC 8536: a transition at hour 25 and negative times.
        assert!(PosixTz::parse("<-02>2<-01>,M3.5.0/-1,M10.5.0/0").is_some());
        assert!(PosixTz::parse("EST5EDT,M3.2.0,M11.1.0").is_some());
    }

    #[test]
    fn julian_days_skip_february_29() {
        let rule = PosixTz::parse("XXX0YYY,J60/0,J300/0").unwrap();
        // J60 is March 1 in a leap year too.
        assert_eq!(rule.offset_at(at(2028, 2, 29, 23, 59)), 0);
        assert_eq!(rule.offset_at(at(2028, 3, 1, 0, 0)), 3600);
    }

    #[test]
    fn malformed_rules_are_refused() {
        for bad in [
            "",
            "CE-1",
            "CET",
            "CET-1CEST,M13.5.0,M10.5.0",
            "CET-1CEST,M3.5.0",
            "CET-1CEST,M3.5.7,M10.5.0",
            "CET-1x",
        ] {
            assert_eq!(PosixTz::parse(bad), None, "{bad:?}");
        }
    }
}

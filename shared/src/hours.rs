//! Opening hours in a store's own time zone, and the one computation that
//! turns them into a promise: "ready for pickup by".
//!
//! A store's hours are written in wall-clock time ("09:00-21:00" in
//! Europe/Warsaw) but every query here takes and returns UTC instants, so
//! the answer is the same on every edge node whatever its own clock zone.
//!
//! Why does a local time mean "the first instant the wall clock reads that
//! time or later"? Twice a year the wall clock is not a clean line:
//! - spring forward (Europe/Warsaw, 2026-03-29): 02:00 jumps to 03:00, so a
//!   local 02:30 never happens; it means 03:00 CEST, the moment the clock
//!   has passed 02:30. A store "opening at 02:30" opens then.
//! - fall back (2026-10-25): 03:00 returns to 02:00, so 02:30 happens twice;
//!   it means the first time (02:30 CEST, still summer time), as the staff's
//!   clock shows it first.
//!
//! One rule for both keeps every boundary monotone (a later local time never
//! maps to an earlier instant), so an open interval is a plain UTC interval
//! and working minutes are real elapsed minutes: an interval spanning the
//! spring-forward night is an hour shorter, one spanning the fall-back night
//! an hour longer.
//!
//! Why no overnight interval ("22:00-02:00")? Each weekday owns its own
//! hours, so a late opening is written as "22:00-24:00" on one day and
//! "00:00-02:00" on the next; the two touch and count as one stretch of open
//! time. That keeps "which day's limit and cut-off apply" unambiguous.

mod posix_tz;
mod zone_rules;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use posix_tz::PosixTz;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Why hours, a time zone or picking rules were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoursError {
    UnknownTimeZone {
        name: String,
    },
    /// Not `HH:MM` on a 24-hour clock.
    BadTime {
        raw: String,
    },
    /// Not `HH:MM-HH:MM`.
    BadInterval {
        raw: String,
    },
    /// Closing is not after opening (an overnight interval must be split at
    /// midnight).
    EmptyInterval {
        day: Weekday,
        raw: String,
    },
    OverlappingIntervals {
        day: Weekday,
    },
    TooManyIntervals {
        day: Weekday,
        max: usize,
    },
    UnknownDay {
        key: String,
    },
    MissingDay {
        day: Weekday,
    },
    BadDate {
        raw: String,
    },
    TooManyClosedDates {
        max: usize,
    },
    SlaOutOfRange {
        found: i64,
    },
    ZeroDailyLimit,
}

impl fmt::Display for HoursError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoursError::UnknownTimeZone { name } => {
                write!(
                    f,
                    "{name:?} is not a time zone of the IANA tz database; give its Area/Location name as the database spells it, like \"Europe/Warsaw\", \"Asia/Tokyo\", \"America/Sao_Paulo\" or \"UTC\""
                )
            }
            HoursError::BadTime { raw } => write!(f, "{raw:?} is not a time like \"09:00\""),
            HoursError::BadInterval { raw } => {
                write!(f, "{raw:?} is not an interval like \"09:00-21:00\"")
            }
            HoursError::EmptyInterval { day, raw } => write!(
                f,
                "{}: {raw:?} closes before it opens; split an overnight interval at midnight (\"22:00-24:00\" and \"00:00-02:00\" the next day)",
                day_key(*day)
            ),
            HoursError::OverlappingIntervals { day } => {
                write!(f, "{}: intervals overlap", day_key(*day))
            }
            HoursError::TooManyIntervals { day, max } => {
                write!(f, "{}: at most {max} intervals per day", day_key(*day))
            }
            HoursError::UnknownDay { key } => {
                write!(
                    f,
                    "{key:?} is not a day; expected mon, tue, wed, thu, fri, sat, sun"
                )
            }
            HoursError::MissingDay { day } => {
                write!(f, "{} is missing; give [] for a closed day", day_key(*day))
            }
            HoursError::BadDate { raw } => write!(f, "{raw:?} is not a date like \"2026-12-25\""),
            HoursError::TooManyClosedDates { max } => write!(f, "at most {max} closed dates"),
            HoursError::SlaOutOfRange { found } => write!(
                f,
                "picking SLA of {found} minutes must be between 1 and {} (one week)",
                PickingRules::MAX_SLA_MINUTES
            ),
            HoursError::ZeroDailyLimit => write!(f, "a daily picking limit must be above zero"),
        }
    }
}

impl std::error::Error for HoursError {}

/// An IANA time zone (`Europe/Warsaw`, `Asia/Tokyo`, `America/Sao_Paulo`):
/// any of the tz database's names, matched exactly as it spells them.
///
/// Each zone carries the rule in force there as a POSIX TZ string
/// ([`zone_rules`], generated from the tz database), not the zone's whole
/// history: ready-by times, validity windows and return windows are about
/// now and the weeks ahead, and the rules make every zone of the world fit
/// in a few kilobytes of each component instead of hundreds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone {
    /// Index into [`zone_rules::ZONES`].
    index: u16,
    rule: PosixTz,
    /// Transitions the rule cannot express, `(utc, offset)` in seconds,
    /// oldest first; the rule applies after the last.
    listed: &'static [(i64, i64)],
}

impl TimeZone {
    pub fn parse(raw: &str) -> Result<TimeZone, HoursError> {
        let name = raw.trim();
        let unknown = || HoursError::UnknownTimeZone {
            name: raw.chars().take(64).collect(),
        };
        let index = zone_rules::ZONES
            .binary_search_by(|(zone, _, _)| (*zone).cmp(name))
            .map_err(|_| unknown())?;
        let (_, rule, listed) = zone_rules::ZONES[index];
        let rule = PosixTz::parse(rule).ok_or_else(unknown)?;
        Ok(TimeZone {
            index: index as u16,
            rule,
            listed,
        })
    }

    pub fn name(&self) -> &'static str {
        zone_rules::ZONES[usize::from(self.index)].0
    }

    /// Seconds east of UTC at `utc` (seconds since the epoch).
    fn offset_at(&self, utc: i64) -> i64 {
        match self.listed.last() {
            Some((last, _)) if utc < *last => {
                match self.listed.partition_point(|(at, _)| *at <= utc) {
                    0 => self.listed[0].1,
                    n => self.listed[n - 1].1,
                }
            }
            _ => self.rule.offset_at(utc),
        }
    }

    /// The wall-clock time at `instant` in this zone.
    pub fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        (instant + chrono::Duration::seconds(self.offset_at(instant.timestamp()))).naive_utc()
    }

    /// The first instant at which this zone's wall clock reads `local` or
    /// later (see the module notes for why).
    pub fn first_instant_at_or_after(&self, local: NaiveDateTime) -> DateTime<Utc> {
        // Each offset the zone uses gives a candidate; it is real when the
        // zone uses that offset then. Two real ones: the clock went back
        // (take the earlier); none: `local` is in a spring-forward gap.
        let as_utc = local.and_utc();
        self.rule
            .offsets()
            .chain(self.listed.iter().map(|(_, offset)| *offset))
            .map(|offset| as_utc - chrono::Duration::seconds(offset))
            .filter(|candidate| self.local(*candidate) == local)
            .min()
            .unwrap_or_else(|| self.end_of_gap(local))
    }

    /// `local` fell into a spring-forward gap: find the transition by
    /// bisection. Within two days either side of `local` the wall clock
    /// only moves forward (a gap and a fall-back are months apart), so "the
    /// wall clock reads at least `local`" flips exactly once.
    fn end_of_gap(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let as_utc = local.and_utc().timestamp();
        // UTC offsets stay within ±26 hours, so these bracket the answer.
        let (mut lo, mut hi) = (as_utc - 2 * 86_400, as_utc + 2 * 86_400);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let at = DateTime::from_timestamp(mid, 0).expect("within chrono's range");
            if self.local(at) >= local {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        DateTime::from_timestamp(hi, 0).expect("within chrono's range")
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        TimeZone::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A wall-clock time of day, `HH:MM` from 00:00 to 23:59 (an order cut-off,
/// say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalTime(u16);

impl LocalTime {
    pub fn parse(raw: &str) -> Result<LocalTime, HoursError> {
        match minutes_of_day(raw) {
            Some(m) if m < MINUTES_PER_DAY => Ok(LocalTime(m)),
            _ => Err(HoursError::BadTime {
                raw: raw.chars().take(32).collect(),
            }),
        }
    }

    pub fn hour(self) -> u32 {
        u32::from(self.0 / 60)
    }

    pub fn minute(self) -> u32 {
        u32::from(self.0 % 60)
    }

    pub fn to_naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour(), self.minute(), 0).expect("minutes of a day")
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hhmm(f, self.0)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        LocalTime::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One open stretch within a day, `"09:00-21:00"`; `24:00` closes at
/// midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    open: u16,
    close: u16,
}

impl Interval {
    fn parse(day: Weekday, raw: &str) -> Result<Interval, HoursError> {
        let bad = || HoursError::BadInterval {
            raw: raw.chars().take(32).collect(),
        };
        let (open, close) = raw.trim().split_once('-').ok_or_else(bad)?;
        let open = minutes_of_day(open)
            .filter(|m| *m < MINUTES_PER_DAY)
            .ok_or_else(bad)?;
        let close = minutes_of_day(close).ok_or_else(bad)?;
        if close <= open {
            return Err(HoursError::EmptyInterval {
                day,
                raw: raw.chars().take(32).collect(),
            });
        }
        Ok(Interval { open, close })
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hhmm(f, self.open)?;
        f.write_str("-")?;
        write_hhmm(f, self.close)
    }
}

/// The regular week: for each weekday, zero (closed) or more open
/// intervals, sorted and not overlapping.
///
/// The wire form names all seven days, `{"mon": ["09:00-21:00"], ...,
/// "sun": []}`: a forgotten day is an error, not a silent closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<Interval>; 7],
}

impl WeeklyHours {
    pub const MAX_INTERVALS_PER_DAY: usize = 6;

    pub fn parse(days: &BTreeMap<String, Vec<String>>) -> Result<WeeklyHours, HoursError> {
        if let Some(key) = days.keys().find(|k| weekday_from_key(k).is_none()) {
            return Err(HoursError::UnknownDay {
                key: key.chars().take(32).collect(),
            });
        }
        let mut parsed: [Vec<Interval>; 7] = Default::default();
        for day in WEEK {
            let raw = days
                .get(day_key(day))
                .ok_or(HoursError::MissingDay { day })?;
            if raw.len() > WeeklyHours::MAX_INTERVALS_PER_DAY {
                return Err(HoursError::TooManyIntervals {
                    day,
                    max: WeeklyHours::MAX_INTERVALS_PER_DAY,
                });
            }
            let mut intervals = raw
                .iter()
                .map(|r| Interval::parse(day, r))
                .collect::<Result<Vec<_>, _>>()?;
            intervals.sort_by_key(|i| i.open);
            // Touching intervals ("09:00-13:00", "13:00-17:00") are fine.
            if intervals.windows(2).any(|w| w[1].open < w[0].close) {
                return Err(HoursError::OverlappingIntervals { day });
            }
            parsed[day.num_days_from_monday() as usize] = intervals;
        }
        Ok(WeeklyHours { days: parsed })
    }

    pub fn intervals(&self, day: Weekday) -> &[Interval] {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// The wire form, for storage and for echoing back.
    pub fn to_wire(&self) -> BTreeMap<String, Vec<String>> {
        WEEK.into_iter()
            .map(|day| {
                (
                    day_key(day).to_owned(),
                    self.intervals(day)
                        .iter()
                        .map(Interval::to_string)
                        .collect(),
                )
            })
            .collect()
    }
}

impl Serialize for WeeklyHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(7))?;
        for day in WEEK {
            let intervals: Vec<String> = self
                .intervals(day)
                .iter()
                .map(Interval::to_string)
                .collect();
            map.serialize_entry(day_key(day), &intervals)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WeeklyHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Vec<String>>::deserialize(d)?;
        WeeklyHours::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Whole local dates on which a location is closed regardless of its weekly
/// hours (public holidays, stock-taking, refits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosedDates(BTreeSet<NaiveDate>);

impl ClosedDates {
    /// Enough for a year of holidays and closures ahead; the back office
    /// sends the coming dates, not a history.
    pub const MAX: usize = 366;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<ClosedDates, HoursError> {
        if raw.len() > ClosedDates::MAX {
            return Err(HoursError::TooManyClosedDates {
                max: ClosedDates::MAX,
            });
        }
        raw.iter()
            .map(|r| parse_date(r.as_ref()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(ClosedDates)
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.0.contains(&date)
    }

    pub fn iter(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.0.iter().copied()
    }
}

impl Serialize for ClosedDates {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|d| d.format("%Y-%m-%d").to_string()))
    }
}

impl<'de> Deserialize<'de> for ClosedDates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Vec::<String>::deserialize(d)?;
        ClosedDates::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Everything that says when a location is open: its zone, its week and its
/// closed dates. The queries answer in UTC instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    time_zone: TimeZone,
    weekly: WeeklyHours,
    closed: ClosedDates,
}

/// How far ahead the queries look for an open hour. A location closed for
/// longer (all days closed, or a year of closed dates) never opens as far as
/// a promise to a shopper is concerned.
const LOOKAHEAD_DAYS: u32 = ClosedDates::MAX as u32 + 14;

impl OpeningHours {
    pub fn new(time_zone: TimeZone, weekly: WeeklyHours, closed: ClosedDates) -> OpeningHours {
        OpeningHours {
            time_zone,
            weekly,
            closed,
        }
    }

    pub fn time_zone(&self) -> TimeZone {
        self.time_zone
    }

    pub fn weekly(&self) -> &WeeklyHours {
        &self.weekly
    }

    pub fn closed_dates(&self) -> &ClosedDates {
        &self.closed
    }

    /// The local calendar date at `instant`: the day whose limits and
    /// cut-off apply.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        self.time_zone.local(instant).date()
    }

    pub fn is_open_at(&self, instant: DateTime<Utc>) -> bool {
        let today = self.local_date(instant);
        // Yesterday and tomorrow too: around a transition at midnight, an
        // instant's local date and the day owning the interval can differ.
        [today.pred_opt(), Some(today), today.succ_opt()]
            .into_iter()
            .flatten()
            .flat_map(|date| self.spans_of(date))
            .any(|span| span.start <= instant && instant < span.end)
    }

    /// `instant` itself when open, else the next moment the location opens;
    /// `None` if it does not open within the look-ahead (about a year).
    pub fn next_opening_at_or_after(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.spans_from(instant)
            .find(|span| span.end > instant)
            .map(|span| span.start.max(instant))
    }

    /// The instant at which `minutes` of open time have passed since
    /// `start`, counting only while the location is open (closed nights,
    /// lunch breaks, closed days and holidays do not count). Work that ends
    /// exactly at closing time ends at closing time, not the next morning.
    pub fn add_working_minutes(&self, start: DateTime<Utc>, minutes: u32) -> Option<DateTime<Utc>> {
        let mut remaining = Duration::minutes(i64::from(minutes));
        for span in self.spans_from(start) {
            if span.end <= start {
                continue;
            }
            let from = span.start.max(start);
            let available = span.end - from;
            if remaining <= available {
                return Some(from + remaining);
            }
            remaining -= available;
        }
        None
    }

    /// When an order accepted at `now` will be ready for pickup.
    ///
    /// Picking starts at the next open moment (now, if open), except that an
    /// order placed at or after the cut-off, or on a day whose picking limit
    /// is already full, starts at the opening of the next open day that has
    /// room. The SLA then runs in open time only.
    ///
    /// `orders_already_accepted_for(local_date)` is the count the caller
    /// keeps (the availability component, in SQL); this stays a pure
    /// function and asks at most once per date. The returned `picking_date`
    /// is the date to count the new order against.
    pub fn ready_by(
        &self,
        rules: &PickingRules,
        now: DateTime<Utc>,
        mut orders_already_accepted_for: impl FnMut(NaiveDate) -> u32,
    ) -> Option<ReadyBy> {
        let today = self.local_date(now);
        let past_cutoff = rules.cutoff.is_some_and(|cutoff| {
            now >= self
                .time_zone
                .first_instant_at_or_after(today.and_time(cutoff.to_naive()))
        });
        let mut checked: Option<(NaiveDate, bool)> = None;
        for span in self.spans_from(now) {
            if span.end <= now || (past_cutoff && span.date <= today) {
                continue;
            }
            if let Some(limit) = rules.daily_limit {
                let full = match checked {
                    Some((date, full)) if date == span.date => full,
                    _ => {
                        let full = orders_already_accepted_for(span.date) >= limit;
                        checked = Some((span.date, full));
                        full
                    }
                };
                if full {
                    continue;
                }
            }
            let picking_starts_at = span.start.max(now);
            let ready_by = self.add_working_minutes(picking_starts_at, rules.sla_minutes)?;
            return Some(ReadyBy {
                picking_date: span.date,
                picking_starts_at,
                ready_by,
            });
        }
        None
    }

    /// The open spans of one local date as UTC intervals (empty on a closed
    /// date). Spans squeezed to nothing by a spring-forward gap are dropped.
    fn spans_of(&self, date: NaiveDate) -> Vec<Span> {
        if self.closed.contains(date) {
            return Vec::new();
        }
        self.weekly
            .intervals(date.weekday())
            .iter()
            .filter_map(|interval| {
                let start = self.instant_at(date, interval.open)?;
                let end = self.instant_at(date, interval.close)?;
                (start < end).then_some(Span { date, start, end })
            })
            .collect()
    }

    /// Open spans in time order, starting with the day before `instant`'s
    /// local date, for at most the look-ahead.
    fn spans_from(&self, instant: DateTime<Utc>) -> impl Iterator<Item = Span> + '_ {
        let first = self.local_date(instant).pred_opt();
        first
            .into_iter()
            .flat_map(|first| first.iter_days().take(LOOKAHEAD_DAYS as usize))
            .flat_map(|date| self.spans_of(date))
    }

    /// `minute` (0..=1440) of local `date` as an instant; 1440 is the next
    /// day's midnight.
    fn instant_at(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let (date, minute) = if minute >= MINUTES_PER_DAY {
            (date.succ_opt()?, 0)
        } else {
            (date, minute)
        };
        let time = NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
        Some(
            self.time_zone
                .first_instant_at_or_after(date.and_time(time)),
        )
    }
}

impl Serialize for OpeningHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut wire = s.serialize_struct("OpeningHours", 3)?;
        wire.serialize_field("time_zone", &self.time_zone)?;
        wire.serialize_field("hours", &self.weekly)?;
        wire.serialize_field("closed_dates", &self.closed)?;
        wire.end()
    }
}

impl<'de> Deserialize<'de> for OpeningHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            time_zone: TimeZone,
            hours: WeeklyHours,
            #[serde(default)]
            closed_dates: ClosedDates,
        }
        let wire = Wire::deserialize(d)?;
        Ok(OpeningHours::new(
            wire.time_zone,
            wire.hours,
            wire.closed_dates,
        ))
    }
}

/// A location's picking promise: how long picking takes in open minutes,
/// the local time after which orders wait for the next open day, and how
/// many orders a day it can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickingRules {
    sla_minutes: u32,
    cutoff: Option<LocalTime>,
    daily_limit: Option<u32>,
}

impl PickingRules {
    /// A week: a promise further out than that is not a promise.
    pub const MAX_SLA_MINUTES: u32 = 10_080;

    pub fn new(
        sla_minutes: u32,
        cutoff: Option<LocalTime>,
        daily_limit: Option<u32>,
    ) -> Result<PickingRules, HoursError> {
        if !(1..=PickingRules::MAX_SLA_MINUTES).contains(&sla_minutes) {
            return Err(HoursError::SlaOutOfRange {
                found: i64::from(sla_minutes),
            });
        }
        if daily_limit == Some(0) {
            return Err(HoursError::ZeroDailyLimit);
        }
        Ok(PickingRules {
            sla_minutes,
            cutoff,
            daily_limit,
        })
    }

    pub fn sla_minutes(&self) -> u32 {
        self.sla_minutes
    }

    pub fn cutoff(&self) -> Option<LocalTime> {
        self.cutoff
    }

    pub fn daily_limit(&self) -> Option<u32> {
        self.daily_limit
    }
}

/// The answer of [`OpeningHours::ready_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadyBy {
    /// The store-local date whose picking capacity the order uses.
    pub picking_date: NaiveDate,
    #[serde(with = "crate::clock::wire_format")]
    pub picking_starts_at: DateTime<Utc>,
    #[serde(with = "crate::clock::wire_format")]
    pub ready_by: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    date: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

const MINUTES_PER_DAY: u16 = 24 * 60;

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn day_key(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn weekday_from_key(key: &str) -> Option<Weekday> {
    WEEK.into_iter().find(|d| day_key(*d) == key)
}

/// Minutes since midnight of a strict `HH:MM` (two digits each), with
/// `24:00` allowed as the end of the day.
fn minutes_of_day(raw: &str) -> Option<u16> {
    let bytes = raw.trim().as_bytes();
    let [h1, h2, b':', m1, m2] = bytes else {
        return None;
    };
    let digit = |b: &u8| b.is_ascii_digit().then(|| u16::from(b - b'0'));
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = digit(m1)? * 10 + digit(m2)?;
    match (hours, minutes) {
        (24, 0) => Some(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Some(hours * 60 + minutes),
        _ => None,
    }
}

fn write_hhmm(f: &mut fmt::Formatter<'_>, minutes: u16) -> fmt::Result {
    write!(f, "{:02}:{:02}", minutes / 60, minutes % 60)
}

fn parse_date(raw: &str) -> Result<NaiveDate, HoursError> {
    let raw = raw.trim();
    let bad = || HoursError::BadDate {
        raw: raw.chars().take(32).collect(),
    };
    // chrono's %Y also takes signs and more digits; the wire form is exactly
    // YYYY-MM-DD.
    if raw.len() != 10
        || !raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    {
        return Err(bad());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())
}

#[cfg(test)]
mod tests;

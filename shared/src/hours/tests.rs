//! Opening hours, working minutes and ready-by times, including both 2026
//! DST changes in Europe/Warsaw (spring forward 2026-03-29, fall back
//! 2026-10-25).

use super::*;
use serde_json::json;
use std::cell::RefCell;

fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .unwrap()
        .with_timezone(&Utc)
}

fn week(days: serde_json::Value) -> WeeklyHours {
    let raw: BTreeMap<String, Vec<String>> = serde_json::from_value(days).unwrap();
    WeeklyHours::parse(&raw).unwrap()
}

fn week_err(days: serde_json::Value) -> HoursError {
    let raw: BTreeMap<String, Vec<String>> = serde_json::from_value(days).unwrap();
    WeeklyHours::parse(&raw).unwrap_err()
}

fn hours(zone: &str, days: serde_json::Value, closed: &[&str]) -> OpeningHours {
    OpeningHours::new(
        TimeZone::parse(zone).unwrap(),
        week(days),
        ClosedDates::parse(closed).unwrap(),
    )
}

/// Monday to Saturday 09:00-21:00, Sundays closed (Polish trading rules),
/// closed on Christmas Day and Boxing Day.
fn warsaw_store() -> OpeningHours {
    let day = ["09:00-21:00"];
    hours(
        "Europe/Warsaw",
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": []}),
        &["2026-12-25", "2026-12-26"],
    )
}

/// Open 09:00-21:00 every day, Sundays included, so the DST weekends matter.
fn warsaw_every_day() -> OpeningHours {
    let day = ["09:00-21:00"];
    hours(
        "Europe/Warsaw",
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}),
        &[],
    )
}

fn warsaw_all_night() -> OpeningHours {
    let day = ["00:00-24:00"];
    hours(
        "Europe/Warsaw",
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}),
        &[],
    )
}

fn warsaw_with_sunday(sunday: &[&str]) -> OpeningHours {
    let day = ["09:00-21:00"];
    hours(
        "Europe/Warsaw",
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": sunday}),
        &[],
    )
}

fn rules(sla: u32, cutoff: Option<&str>, limit: Option<u32>) -> PickingRules {
    PickingRules::new(sla, cutoff.map(|c| LocalTime::parse(c).unwrap()), limit).unwrap()
}

fn no_orders(_: NaiveDate) -> u32 {
    0
}

fn date(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

// Parsing.

#[test]
fn time_zones_parse_from_iana_names() {
    for name in [
        "Europe/Warsaw",
        "Europe/Berlin",
        "Europe/London",
        "America/New_York",
        "UTC",
    ] {
        assert_eq!(TimeZone::parse(name).unwrap().name(), name);
    }
    for bad in [
        "",
        "Europe/Warszawa",
        "europe/warsaw",
        "CET+1",
        "Mars/Olympus",
    ] {
        assert!(
            matches!(
                TimeZone::parse(bad),
                Err(HoursError::UnknownTimeZone { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(serde_json::from_str::<TimeZone>("\"Europe/Nowhere\"").is_err());
}

#[test]
fn local_times_parse_only_as_two_digit_hours_and_minutes() {
    assert_eq!(LocalTime::parse("09:05").unwrap().to_string(), "09:05");
    assert_eq!(LocalTime::parse("23:59").unwrap().hour(), 23);
    assert_eq!(LocalTime::parse("00:00").unwrap().minute(), 0);
    for bad in [
        "24:00",
        "9:00",
        "12:60",
        "25:00",
        "12-00",
        "12:00:00",
        "ab:cd",
        "",
        "１２:００",
    ] {
        assert!(
            matches!(LocalTime::parse(bad), Err(HoursError::BadTime { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn weekly_hours_parse_from_the_compact_wire_form_and_serialize_back() {
    let raw = json!({
        "mon": ["09:00-13:00", "14:00-18:00"], "tue": ["09:00-21:00"], "wed": ["09:00-21:00"],
        "thu": ["09:00-21:00"], "fri": ["09:00-24:00"], "sat": ["10:00-16:00"], "sun": []
    });
    let parsed: WeeklyHours = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(parsed.intervals(Weekday::Mon).len(), 2);
    assert!(parsed.intervals(Weekday::Sun).is_empty());
    assert_eq!(serde_json::to_value(&parsed).unwrap(), raw);
    let text = serde_json::to_string(&parsed).unwrap();
    assert!(
        text.starts_with(r#"{"mon":["09:00-13:00","14:00-18:00"],"tue""#),
        "{text}"
    );
    assert_eq!(WeeklyHours::parse(&parsed.to_wire()).unwrap(), parsed);
}

#[test]
fn intervals_are_sorted_and_may_touch() {
    let day = json!(["14:00-18:00", "09:00-14:00"]);
    let parsed =
        week(json!({"mon": day, "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}));
    let listed: Vec<String> = parsed
        .intervals(Weekday::Mon)
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(listed, ["09:00-14:00", "14:00-18:00"]);
}

#[test]
fn a_forgotten_day_is_an_error_not_a_closure() {
    let err = week_err(json!({"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": []}));
    assert_eq!(err, HoursError::MissingDay { day: Weekday::Sun });
    assert!(err.to_string().contains("give []"));
}

#[test]
fn unknown_day_names_are_rejected() {
    let err = week_err(
        json!({"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": [], "sunday": []}),
    );
    assert_eq!(
        err,
        HoursError::UnknownDay {
            key: "sunday".into()
        }
    );
}

#[test]
fn overnight_or_empty_intervals_must_be_split_at_midnight() {
    for bad in ["21:00-09:00", "09:00-09:00"] {
        let err = week_err(
            json!({"mon": [bad], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}),
        );
        assert!(
            matches!(
                err,
                HoursError::EmptyInterval {
                    day: Weekday::Mon,
                    ..
                }
            ),
            "{bad}"
        );
        assert!(err.to_string().contains("24:00"));
    }
}

#[test]
fn overlapping_intervals_are_rejected() {
    let err = week_err(
        json!({"mon": [], "tue": ["09:00-14:00", "13:00-18:00"], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}),
    );
    assert_eq!(err, HoursError::OverlappingIntervals { day: Weekday::Tue });
}

#[test]
fn malformed_intervals_are_rejected() {
    for bad in [
        "09:00",
        "09:00-",
        "24:00-24:00",
        "09:00\u{2013}21:00",
        "9-21",
        "09:00-24:01",
        "closed",
    ] {
        let err = week_err(
            json!({"mon": [bad], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}),
        );
        assert!(
            matches!(err, HoursError::BadInterval { .. }),
            "{bad:?} gave {err:?}"
        );
    }
}

#[test]
fn a_day_may_hold_at_most_six_intervals() {
    let seven = [
        "01:00-02:00",
        "03:00-04:00",
        "05:00-06:00",
        "07:00-08:00",
        "09:00-10:00",
        "11:00-12:00",
        "13:00-14:00",
    ];
    let err = week_err(
        json!({"mon": [], "tue": [], "wed": seven, "thu": [], "fri": [], "sat": [], "sun": []}),
    );
    assert_eq!(
        err,
        HoursError::TooManyIntervals {
            day: Weekday::Wed,
            max: 6
        }
    );
}

#[test]
fn closed_dates_parse_only_as_iso_dates() {
    let closed = ClosedDates::parse(&["2026-12-25", "2026-12-26", "2026-12-25"]).unwrap();
    assert!(closed.contains(date("2026-12-25")));
    assert_eq!(closed.iter().count(), 2);
    assert_eq!(
        serde_json::to_string(&closed).unwrap(),
        r#"["2026-12-25","2026-12-26"]"#
    );
    for bad in [
        "2026-13-01",
        "2026-02-30",
        "25.12.2026",
        "+2026-12-25",
        "2026-1-05",
        "",
    ] {
        assert!(
            matches!(ClosedDates::parse(&[bad]), Err(HoursError::BadDate { .. })),
            "{bad:?}"
        );
    }
    let too_many: Vec<String> = date("2026-01-01")
        .iter_days()
        .take(367)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        ClosedDates::parse(&too_many),
        Err(HoursError::TooManyClosedDates { max: 366 })
    );
}

#[test]
fn picking_rules_need_an_sla_within_a_week_and_a_positive_limit() {
    assert_eq!(
        PickingRules::new(0, None, None),
        Err(HoursError::SlaOutOfRange { found: 0 })
    );
    assert_eq!(
        PickingRules::new(10_081, None, None),
        Err(HoursError::SlaOutOfRange { found: 10_081 })
    );
    assert_eq!(
        PickingRules::new(60, None, Some(0)),
        Err(HoursError::ZeroDailyLimit)
    );
    let ok = PickingRules::new(10_080, LocalTime::parse("16:00").ok(), Some(40)).unwrap();
    assert_eq!((ok.sla_minutes(), ok.daily_limit()), (10_080, Some(40)));
}

#[test]
fn opening_hours_round_trip_through_their_wire_form() {
    let store = warsaw_store();
    let json = serde_json::to_value(&store).unwrap();
    assert_eq!(json["time_zone"], "Europe/Warsaw");
    assert_eq!(json["closed_dates"], json!(["2026-12-25", "2026-12-26"]));
    assert_eq!(
        serde_json::from_value::<OpeningHours>(json.clone()).unwrap(),
        store
    );
    let mut extra = json.clone();
    extra["note"] = json!("x");
    assert!(serde_json::from_value::<OpeningHours>(extra).is_err());
    let mut bad_zone = json;
    bad_zone["time_zone"] = json!("Europe/Atlantis");
    assert!(serde_json::from_value::<OpeningHours>(bad_zone).is_err());
}

// Open or closed.

#[test]
fn a_store_is_open_only_within_its_hours_in_its_own_time_zone() {
    let store = warsaw_store();
    // 2026-06-01 is a Monday; Warsaw is on CEST (UTC+2).
    assert!(!store.is_open_at(utc("2026-06-01T06:59:59Z")));
    assert!(store.is_open_at(utc("2026-06-01T07:00:00Z")));
    assert!(store.is_open_at(utc("2026-06-01T18:59:59Z")));
    assert!(!store.is_open_at(utc("2026-06-01T19:00:00Z")));

    let day = ["09:00-21:00"];
    let new_york = hours(
        "America/New_York",
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": []}),
        &[],
    );
    assert!(!new_york.is_open_at(utc("2026-06-01T07:00:00Z")));
    assert!(new_york.is_open_at(utc("2026-06-01T13:00:00Z")));
}

#[test]
fn a_store_is_closed_all_day_on_its_closed_days_and_holidays() {
    let store = warsaw_store();
    assert!(!store.is_open_at(utc("2026-06-07T10:00:00Z")), "Sunday");
    assert!(
        store.is_open_at(utc("2026-12-24T10:00:00Z")),
        "Christmas Eve is a normal Thursday"
    );
    assert!(
        !store.is_open_at(utc("2026-12-25T10:00:00Z")),
        "Christmas Day"
    );
    assert!(!store.is_open_at(utc("2026-12-26T10:00:00Z")), "Boxing Day");
}

#[test]
fn the_next_opening_is_now_when_open() {
    let now = utc("2026-06-01T10:00:00Z");
    assert_eq!(warsaw_store().next_opening_at_or_after(now), Some(now));
}

#[test]
fn the_next_opening_after_closing_is_the_next_morning() {
    let store = warsaw_store();
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-06-01T20:00:00Z")),
        Some(utc("2026-06-02T07:00:00Z"))
    );
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-06-02T05:00:00Z")),
        Some(utc("2026-06-02T07:00:00Z"))
    );
}

#[test]
fn the_next_opening_skips_closed_sundays_and_holidays() {
    let store = warsaw_store();
    // Saturday 21:30 -> Monday 09:00.
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-06-06T19:30:00Z")),
        Some(utc("2026-06-08T07:00:00Z"))
    );
    // Christmas Eve after closing (CET, UTC+1): Friday and Saturday are
    // holidays, Sunday is closed, so Monday 28 December at 09:00.
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-12-24T20:00:00Z")),
        Some(utc("2026-12-28T08:00:00Z"))
    );
}

#[test]
fn a_location_that_never_opens_promises_nothing() {
    let never = hours(
        "Europe/Warsaw",
        json!({"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}),
        &[],
    );
    let now = utc("2026-06-01T10:00:00Z");
    assert!(!never.is_open_at(now));
    assert_eq!(never.next_opening_at_or_after(now), None);
    assert_eq!(never.add_working_minutes(now, 1), None);
    assert_eq!(never.ready_by(&rules(60, None, None), now, no_orders), None);
}

// Working minutes.

#[test]
fn working_minutes_run_only_while_open() {
    let store = warsaw_store();
    // Monday 20:00 + 120 minutes = 60 on Monday, 60 on Tuesday -> 10:00.
    assert_eq!(
        store.add_working_minutes(utc("2026-06-01T18:00:00Z"), 120),
        Some(utc("2026-06-02T08:00:00Z"))
    );
    // Before opening, the clock starts at opening.
    assert_eq!(
        store.add_working_minutes(utc("2026-06-01T04:00:00Z"), 30),
        Some(utc("2026-06-01T07:30:00Z"))
    );
    // Zero minutes is the next open moment.
    assert_eq!(
        store.add_working_minutes(utc("2026-06-01T04:00:00Z"), 0),
        Some(utc("2026-06-01T07:00:00Z"))
    );
}

#[test]
fn work_that_ends_at_closing_time_ends_then() {
    let store = warsaw_store();
    assert_eq!(
        store.add_working_minutes(utc("2026-06-01T18:00:00Z"), 60),
        Some(utc("2026-06-01T19:00:00Z"))
    );
}

#[test]
fn lunch_breaks_and_overnight_gaps_do_not_count() {
    let day = ["09:00-13:00", "14:00-18:00"];
    let store = hours(
        "Europe/Warsaw",
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": [], "sun": []}),
        &[],
    );
    // Monday 12:30 + 60 -> 30 before lunch, 30 after: 14:30.
    assert_eq!(
        store.add_working_minutes(utc("2026-06-01T10:30:00Z"), 60),
        Some(utc("2026-06-01T12:30:00Z"))
    );
    assert!(
        !store.is_open_at(utc("2026-06-01T11:30:00Z")),
        "closed for lunch"
    );
    // Friday 17:00 + 3 hours -> 1 on Friday, then Monday 09:00 + 2 = 11:00.
    assert_eq!(
        store.add_working_minutes(utc("2026-06-05T15:00:00Z"), 180),
        Some(utc("2026-06-08T09:00:00Z"))
    );
}

#[test]
fn working_minutes_skip_holidays() {
    let store = warsaw_store();
    // Christmas Eve 20:00 CET + 120 -> 60 that evening, 60 on Monday 28th.
    assert_eq!(
        store.add_working_minutes(utc("2026-12-24T19:00:00Z"), 120),
        Some(utc("2026-12-28T09:00:00Z"))
    );
}

#[test]
fn hours_split_at_midnight_count_as_one_stretch_of_open_time() {
    let store = hours(
        "Europe/Warsaw",
        json!({"mon": [], "tue": [], "wed": [], "thu": [], "fri": ["18:00-24:00"], "sat": ["00:00-02:00"], "sun": []}),
        &[],
    );
    // Friday 2026-06-05 23:30 + 60 -> Saturday 00:30.
    assert_eq!(
        store.add_working_minutes(utc("2026-06-05T21:30:00Z"), 60),
        Some(utc("2026-06-05T22:30:00Z"))
    );
    assert!(
        store.is_open_at(utc("2026-06-05T22:00:00Z")),
        "open at midnight"
    );
    assert!(
        !store.is_open_at(utc("2026-06-06T00:00:00Z")),
        "closed from 02:00"
    );
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-06-06T00:00:00Z")),
        Some(utc("2026-06-12T16:00:00Z"))
    );
}

// Daylight saving time in Europe/Warsaw.

#[test]
fn working_minutes_carry_over_the_spring_forward_night_on_the_new_offset() {
    // Saturday 2026-03-28 20:30 CET (UTC+1) + 60: 30 minutes on Saturday,
    // 30 on Sunday from 09:00 CEST (UTC+2) = 07:00 UTC. A fixed offset
    // would say 08:30 UTC.
    let store = warsaw_every_day();
    assert_eq!(
        store.add_working_minutes(utc("2026-03-28T19:30:00Z"), 60),
        Some(utc("2026-03-29T07:30:00Z"))
    );
    assert!(
        !store.is_open_at(utc("2026-03-29T06:59:59Z")),
        "08:59:59 CEST is before opening"
    );
    assert!(store.is_open_at(utc("2026-03-29T07:00:00Z")));
}

#[test]
fn working_minutes_carry_over_the_fall_back_night_on_the_new_offset() {
    // Saturday 2026-10-24 20:30 CEST (UTC+2) + 60 -> Sunday 09:30 CET (UTC+1).
    let store = warsaw_every_day();
    assert_eq!(
        store.add_working_minutes(utc("2026-10-24T18:30:00Z"), 60),
        Some(utc("2026-10-25T08:30:00Z"))
    );
    assert!(
        !store.is_open_at(utc("2026-10-25T07:30:00Z")),
        "08:30 CET is before opening"
    );
}

#[test]
fn the_spring_forward_night_is_an_hour_shorter_for_a_store_open_all_night() {
    let store = warsaw_all_night();
    // 00:30 CET on the 29th + 3 hours of real time = 02:30 UTC = 04:30 CEST.
    assert_eq!(
        store.add_working_minutes(utc("2026-03-28T23:30:00Z"), 180),
        Some(utc("2026-03-29T02:30:00Z"))
    );
    assert!(
        store.is_open_at(utc("2026-03-29T01:00:00Z")),
        "open through the jump"
    );
}

#[test]
fn the_fall_back_night_is_an_hour_longer_for_a_store_open_all_night() {
    let store = warsaw_all_night();
    // 00:30 CEST on the 25th + 3 hours of real time = 01:30 UTC = 02:30 CET,
    // the second time the clock shows 02:30.
    assert_eq!(
        store.add_working_minutes(utc("2026-10-24T22:30:00Z"), 180),
        Some(utc("2026-10-25T01:30:00Z"))
    );
    assert!(store.is_open_at(utc("2026-10-25T01:15:00Z")));
}

#[test]
fn an_opening_time_skipped_by_spring_forward_opens_when_the_clock_passes_it() {
    // Sunday opens at 02:30, which does not exist on 2026-03-29: the clock
    // jumps from 02:00 CET to 03:00 CEST, at 01:00 UTC.
    let store = warsaw_with_sunday(&["02:30-21:00"]);
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-03-29T00:00:00Z")),
        Some(utc("2026-03-29T01:00:00Z"))
    );
    assert!(!store.is_open_at(utc("2026-03-29T00:59:59Z")));
    assert!(store.is_open_at(utc("2026-03-29T01:00:00Z")));
    // A normal Sunday opens at 02:30 CEST.
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-04-05T00:00:00Z")),
        Some(utc("2026-04-05T00:30:00Z"))
    );
}

#[test]
fn a_closing_time_skipped_by_spring_forward_closes_at_the_jump() {
    let store = warsaw_with_sunday(&["00:00-02:30"]);
    // Open from 00:00 CET (23:00 UTC) until the jump at 01:00 UTC: 2 hours.
    assert_eq!(
        store.add_working_minutes(utc("2026-03-28T23:00:00Z"), 120),
        Some(utc("2026-03-29T01:00:00Z"))
    );
    // One more minute waits for Monday 09:00 CEST.
    assert_eq!(
        store.add_working_minutes(utc("2026-03-28T23:00:00Z"), 121),
        Some(utc("2026-03-30T07:01:00Z"))
    );
}

#[test]
fn an_opening_time_repeated_by_fall_back_means_its_first_occurrence() {
    // 02:30 happens twice on 2026-10-25: first at 00:30 UTC (CEST), again
    // at 01:30 UTC (CET). The store opens at the first and stays open.
    let store = warsaw_with_sunday(&["02:30-21:00"]);
    assert_eq!(
        store.next_opening_at_or_after(utc("2026-10-25T00:00:00Z")),
        Some(utc("2026-10-25T00:30:00Z"))
    );
    assert!(!store.is_open_at(utc("2026-10-25T00:29:59Z")));
    assert!(
        store.is_open_at(utc("2026-10-25T01:15:00Z")),
        "02:15 CET, after the first 02:30"
    );
}

#[test]
fn local_times_map_to_the_first_instant_the_wall_clock_reaches_them() {
    let warsaw = TimeZone::parse("Europe/Warsaw").unwrap();
    let local = |raw: &str| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").unwrap();
    assert_eq!(
        warsaw.first_instant_at_or_after(local("2026-03-29 02:30")),
        utc("2026-03-29T01:00:00Z")
    );
    assert_eq!(
        warsaw.first_instant_at_or_after(local("2026-03-29 03:00")),
        utc("2026-03-29T01:00:00Z")
    );
    assert_eq!(
        warsaw.first_instant_at_or_after(local("2026-03-29 01:59")),
        utc("2026-03-29T00:59:00Z")
    );
    assert_eq!(
        warsaw.first_instant_at_or_after(local("2026-10-25 02:30")),
        utc("2026-10-25T00:30:00Z")
    );
    assert_eq!(
        warsaw.first_instant_at_or_after(local("2026-10-25 03:00")),
        utc("2026-10-25T02:00:00Z")
    );
}

// Ready for pickup by.

#[test]
fn an_order_before_the_cutoff_is_picked_today() {
    let ready = warsaw_store()
        .ready_by(
            &rules(120, Some("16:00"), None),
            utc("2026-06-01T13:59:00Z"),
            no_orders,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-01"));
    assert_eq!(ready.picking_starts_at, utc("2026-06-01T13:59:00Z"));
    assert_eq!(ready.ready_by, utc("2026-06-01T15:59:00Z"));
}

#[test]
fn an_order_at_or_after_the_cutoff_is_picked_from_the_next_opening_day() {
    let ready = warsaw_store()
        .ready_by(
            &rules(120, Some("16:00"), None),
            utc("2026-06-01T14:00:00Z"),
            no_orders,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-02"));
    assert_eq!(ready.picking_starts_at, utc("2026-06-02T07:00:00Z"));
    assert_eq!(ready.ready_by, utc("2026-06-02T09:00:00Z"));
}

#[test]
fn without_a_cutoff_picking_continues_until_closing_and_the_next_morning() {
    // Monday 20:30, 120 minutes: 30 tonight, 90 tomorrow -> 10:30.
    let ready = warsaw_store()
        .ready_by(
            &rules(120, None, None),
            utc("2026-06-01T18:30:00Z"),
            no_orders,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-01"));
    assert_eq!(ready.ready_by, utc("2026-06-02T08:30:00Z"));
}

#[test]
fn an_order_after_the_saturday_cutoff_waits_for_monday() {
    let ready = warsaw_store()
        .ready_by(
            &rules(60, Some("16:00"), None),
            utc("2026-06-06T15:00:00Z"),
            no_orders,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-08"));
    assert_eq!(ready.ready_by, utc("2026-06-08T08:00:00Z"));
}

#[test]
fn an_order_after_the_cutoff_before_holidays_waits_until_after_them() {
    // Christmas Eve 17:00 CET -> Monday 28th 09:00 CET + 2 hours.
    let ready = warsaw_store()
        .ready_by(
            &rules(120, Some("16:00"), None),
            utc("2026-12-24T16:00:00Z"),
            no_orders,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-12-28"));
    assert_eq!(ready.ready_by, utc("2026-12-28T10:00:00Z"));
}

#[test]
fn an_order_placed_overnight_is_picked_that_morning() {
    let rules = rules(60, Some("16:00"), None);
    // Monday 22:00 (after the cut-off) and Tuesday 01:00 (before Tuesday's
    // cut-off) both start at Tuesday's opening.
    for now in ["2026-06-01T20:00:00Z", "2026-06-01T23:00:00Z"] {
        let ready = warsaw_store()
            .ready_by(&rules, utc(now), no_orders)
            .unwrap();
        assert_eq!(ready.picking_date, date("2026-06-02"), "{now}");
        assert_eq!(ready.ready_by, utc("2026-06-02T08:00:00Z"), "{now}");
    }
}

#[test]
fn the_cutoff_is_in_local_time_across_the_spring_forward_weekend() {
    // Saturday 2026-03-28 20:30 CET is after a 20:00 cut-off; Sunday opens
    // at 09:00 CEST = 07:00 UTC.
    let ready = warsaw_every_day()
        .ready_by(
            &rules(120, Some("20:00"), None),
            utc("2026-03-28T19:30:00Z"),
            no_orders,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-03-29"));
    assert_eq!(ready.picking_starts_at, utc("2026-03-29T07:00:00Z"));
    assert_eq!(ready.ready_by, utc("2026-03-29T09:00:00Z"));
}

#[test]
fn a_full_daily_picking_limit_moves_the_order_to_the_next_day_with_room() {
    let asked = RefCell::new(Vec::new());
    let accepted = |d: NaiveDate| {
        asked.borrow_mut().push(d);
        match d.to_string().as_str() {
            "2026-06-01" => 40,
            "2026-06-02" => 41,
            _ => 12,
        }
    };
    let ready = warsaw_store()
        .ready_by(
            &rules(60, None, Some(40)),
            utc("2026-06-01T08:00:00Z"),
            accepted,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-03"));
    assert_eq!(ready.picking_starts_at, utc("2026-06-03T07:00:00Z"));
    assert_eq!(ready.ready_by, utc("2026-06-03T08:00:00Z"));
    assert_eq!(
        *asked.borrow(),
        [date("2026-06-01"), date("2026-06-02"), date("2026-06-03")],
        "asked once per date"
    );
}

#[test]
fn a_daily_limit_with_room_left_keeps_the_order_today() {
    let ready = warsaw_store()
        .ready_by(
            &rules(60, None, Some(40)),
            utc("2026-06-01T08:00:00Z"),
            |_| 39,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-01"));
    assert_eq!(ready.ready_by, utc("2026-06-01T09:00:00Z"));
}

#[test]
fn a_full_saturday_moves_the_order_past_the_closed_sunday() {
    let accepted = |d: NaiveDate| if d == date("2026-06-06") { 5 } else { 0 };
    let ready = warsaw_store()
        .ready_by(
            &rules(30, None, Some(5)),
            utc("2026-06-06T08:00:00Z"),
            accepted,
        )
        .unwrap();
    assert_eq!(ready.picking_date, date("2026-06-08"));
    assert_eq!(ready.ready_by, utc("2026-06-08T07:30:00Z"));
}

#[test]
fn a_limit_that_is_always_full_gives_no_promise_and_asks_a_bounded_number_of_times() {
    let mut asked = 0;
    let ready = warsaw_store().ready_by(
        &rules(30, None, Some(5)),
        utc("2026-06-01T08:00:00Z"),
        |_| {
            asked += 1;
            5
        },
    );
    assert_eq!(ready, None);
    assert!(asked > 300 && asked <= LOOKAHEAD_DAYS, "{asked}");
}

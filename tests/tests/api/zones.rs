//! Every IANA time zone, one build (issue 14): stores and promotions in 20
//! zones on every continent (half-hour and 45-minute offsets, southern and
//! northern daylight saving, Egypt's hour-24 transition), their ready-by
//! times and validity windows checked against an independent computation:
//! chrono-tz with each zone's full history, compiled into this test only.

use blackbox_tests::{AppOptions, TestApp, ops, private_app, token, token_at};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

const ZONES: [&str; 20] = [
    "Europe/Warsaw",
    "Europe/London",
    "Europe/Lisbon",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/St_Johns",
    "Asia/Tokyo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Africa/Lagos",
];

const SKU: &str = "TEE-ORG-BLK-M";
const SLA_MINUTES: i64 = 60;

/// The first instant `zone`'s wall clock reads `date` `time` (or later).
fn instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&date.and_time(time)) {
        chrono::MappedLocalTime::Single(t) | chrono::MappedLocalTime::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        chrono::MappedLocalTime::None => instant(zone, date, time + Duration::hours(1)),
    }
}

/// Ready by, computed independently: the SLA's minutes counted inside
/// 09:00-21:00 local, every day, from `now`.
fn expected_ready_by(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut remaining = Duration::minutes(SLA_MINUTES);
    let mut date = now.with_timezone(&zone).date_naive();
    loop {
        let open = instant(zone, date, NaiveTime::from_hms_opt(9, 0, 0).unwrap()).max(now);
        let close = instant(zone, date, NaiveTime::from_hms_opt(21, 0, 0).unwrap());
        if open < close {
            if close - open >= remaining {
                return open + remaining;
            }
            remaining -= close - open;
        }
        date = date.succ_opt().unwrap();
    }
}

fn store(i: usize, zone: &str) -> Value {
    let day = json!(["09:00-21:00"]);
    json!({
        "store_id": format!("TZ-{i:02}"), "name": format!("Store in {zone}"), "kind": "store",
        "address": {"street": "Main 1", "city": "City", "postal_code": "00-001", "country": "PL"},
        "geo": {"lat": 10.0 + i as f64, "lon": 20.0}, "time_zone": zone,
        "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
        "closed_dates": [], "pickup_sla_minutes": SLA_MINUTES, "daily_picking_limit": 1000,
        "services": ["click_and_collect"],
    })
}

fn ready_by(app: &TestApp, i: usize) -> DateTime<Utc> {
    let reply = app.post(
        "/api/availability/basket",
        None,
        &json!({"store_id": format!("TZ-{i:02}"), "lines": [{"sku": SKU, "quantity": 1}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    let text = body["ready_by"]
        .as_str()
        .unwrap_or_else(|| panic!("TZ-{i:02} gives a ready-by: {body}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn applies(app: &TestApp, code: &str) -> bool {
    let body = json!({"channel": "web", "codes": [code], "cart": {"currency": "PLN", "lines": [{"sku": SKU, "quantity": 1}]}});
    let reply = app.post("/api/coupons/validate", None, &body);
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["applied"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["code"] == code)
}

#[test]
fn stores_and_promotions_in_twenty_zones_on_every_continent_keep_their_local_hours_and_windows() {
    let Some(app) = private_app(AppOptions {
        test_clock: true,
        ..Default::default()
    }) else {
        return;
    };
    app.seed_demo();
    // The guest clock travels to mid-2027: one token valid the whole way.
    let ops = token_at(
        &ops(),
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
        Duration::days(400),
    );
    app.set_clock(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let stores: Vec<Value> = ZONES.iter().enumerate().map(|(i, z)| store(i, z)).collect();
    let reply = app.post(
        "/api/catalog/stores",
        Some(&ops),
        &json!({"stores": stores}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let feeds: Vec<Value> = (0..ZONES.len())
        .map(|i| json!({"store_id": format!("TZ-{i:02}"), "sequence": 1, "lines": [{"sku": SKU, "on_hand": 50}]}))
        .collect();
    let reply = app.post(
        "/api/availability/feed",
        Some(&ops),
        &json!({"feeds": feeds}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());

    // Ready by, in southern summer and in northern summer, at several hours
    // of the UTC day (so every store is met open, closing and closed).
    for now in [
        Utc.with_ymd_and_hms(2026, 12, 10, 0, 30, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 10, 8, 15, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 10, 19, 40, 0).unwrap(),
        Utc.with_ymd_and_hms(2027, 7, 14, 3, 5, 0).unwrap(),
        Utc.with_ymd_and_hms(2027, 7, 14, 15, 50, 0).unwrap(),
    ] {
        app.set_clock(now);
        for (i, zone) in ZONES.iter().enumerate() {
            let tz: Tz = zone.parse().unwrap();
            // The test clock runs on from where it was set: a store met open
            // promises a few milliseconds later than `now + SLA`.
            let (got, expected) = (ready_by(&app, i), expected_ready_by(tz, now));
            assert!(
                (got - expected).abs() < Duration::seconds(5),
                "{zone} at {now}: {got} vs {expected}"
            );
        }
    }

    // A promotion valid from a local date starts at that zone's midnight.
    app.set_clock(Utc.with_ymd_and_hms(2027, 2, 20, 0, 0, 0).unwrap());
    let start = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    for (i, zone) in ZONES.iter().enumerate() {
        let code = format!("TZCODE{i:02}");
        let promotion = json!({"id": code, "name": format!("From March in {zone}"), "benefit": {"type": "percent_off", "percent": "10"},
            "conditions": {"valid_from": start.to_string()}, "time_zone": zone, "codes": [code]});
        let reply = app.post("/api/promotions", Some(&ops), &promotion);
        assert_eq!(reply.status, 201, "{zone}: {}", reply.text());
    }
    for (i, zone) in ZONES.iter().enumerate() {
        let tz: Tz = zone.parse().unwrap();
        let midnight = instant(tz, start, NaiveTime::MIN);
        let code = format!("TZCODE{i:02}");
        app.set_clock(midnight - Duration::seconds(30));
        assert!(
            !applies(&app, &code),
            "{zone}: not yet valid 30 s before local midnight ({midnight})"
        );
        app.set_clock(midnight + Duration::seconds(30));
        assert!(
            applies(&app, &code),
            "{zone}: valid 30 s after local midnight ({midnight})"
        );
    }
}

#[test]
fn a_zone_name_the_tz_database_does_not_have_is_refused_with_what_is_accepted() {
    let Some(app) = private_app(AppOptions::default()) else {
        return;
    };
    let mut bad = store(0, "Mars/Olympus_Mons");
    bad["store_id"] = json!("TZ-BAD");
    let reply = app.post(
        "/api/catalog/stores",
        Some(&token(&ops())),
        &json!({"stores": [bad]}),
    );
    let problem = reply.problem(422);
    let text = problem.to_string();
    assert!(
        text.contains("Mars/Olympus_Mons") && text.contains("Asia/Tokyo"),
        "{text}"
    );
    for lower in ["europe/warsaw", "Europe/Warsaw "] {
        let mut store = store(1, lower);
        store["store_id"] = json!("TZ-CASE");
        let reply = app.post(
            "/api/catalog/stores",
            Some(&token(&ops())),
            &json!({"stores": [store]}),
        );
        if lower.trim() == "Europe/Warsaw" {
            assert_eq!(reply.status, 200, "{}", reply.text());
        } else {
            reply.problem(422);
        }
    }
}

#[test]
fn every_zone_rule_agrees_with_the_full_tz_database_from_2026_to_2028() {
    use omni_shared::hours::TimeZone as Zone;
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut checked = 0;
    let mut disagree = Vec::new();
    for tz in chrono_tz::TZ_VARIANTS {
        let Ok(zone) = Zone::parse(tz.name()) else {
            continue;
        };
        checked += 1;
        let mut at = from;
        while at.year_ce().1 < 2029 {
            let expected = at.with_timezone(&tz).naive_local();
            if zone.local(at) != expected {
                disagree.push(format!(
                    "{} at {at}: {} vs {expected}",
                    tz.name(),
                    zone.local(at)
                ));
                break;
            }
            at += Duration::minutes(90);
        }
    }
    assert!(checked >= 590, "{checked} zones known to both");
    assert!(
        disagree.is_empty(),
        "{} zones disagree: {disagree:#?}",
        disagree.len()
    );
}

//! The words of every notification, in Polish and English.
//!
//! Why render once, here, and store the result? "Same text in every
//! channel": the push a phone shows, the e-mail and SMS the gateway sends
//! and what the store's screen says all come from one [`Message`] rendered
//! when the status changed, stored in the outbox and sent as it is. A
//! gateway never words a status itself, so it cannot word it differently.
//!
//! Times are shown in the store's own time zone (a pickup in Warsaw is "by
//! 18:00" in Warsaw, wherever the customer's phone is).

use crate::hours::TimeZone;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A language notifications are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    Pl,
    En,
}

/// Why a locale was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLocale(pub String);

impl fmt::Display for UnknownLocale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unsupported locale {:?}; expected \"pl\" or \"en\"",
            self.0
        )
    }
}

impl std::error::Error for UnknownLocale {}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Pl, Locale::En];

    /// Reads `pl`, `en`, or a BCP 47 tag whose language is one of them
    /// (`pl-PL`, `en_GB`, `EN`), since apps send what the phone says.
    pub fn parse(raw: &str) -> Result<Locale, UnknownLocale> {
        let language = raw
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match language.as_str() {
            "pl" => Ok(Locale::Pl),
            "en" => Ok(Locale::En),
            _ => Err(UnknownLocale(raw.chars().take(16).collect())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Pl => "pl",
            Locale::En => "en",
        }
    }

    /// The language of a store's country: what store alerts are written in.
    pub fn for_country(country: &str) -> Locale {
        if country.eq_ignore_ascii_case("PL") {
            Locale::Pl
        } else {
            Locale::En
        }
    }

    /// A date and time as people in this language write it.
    pub fn format_time(self, instant: DateTime<Utc>, zone: TimeZone) -> String {
        let local = zone.local(instant);
        match self {
            Locale::Pl => local.format("%d.%m.%Y, %H:%M").to_string(),
            Locale::En => local.format("%-d %b %Y, %H:%M").to_string(),
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Locale {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Locale::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a notification is about: a customer-facing order status, or an
/// alert for the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Placed,
    ReadyForPickup,
    PickedUp,
    Shipped,
    Delivered,
    Cancelled,
    Expired,
    /// For the store: a set share of the SLA has passed and the order is
    /// not ready yet.
    SlaAtRisk,
    /// For the store: the promised ready-by time has passed.
    SlaBreached,
}

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Customer,
    Store,
}

impl Event {
    pub const ALL: [Event; 9] = [
        Event::Placed,
        Event::ReadyForPickup,
        Event::PickedUp,
        Event::Shipped,
        Event::Delivered,
        Event::Cancelled,
        Event::Expired,
        Event::SlaAtRisk,
        Event::SlaBreached,
    ];

    /// The stored and wire name: the status's own name for customer
    /// events, so the outbox's dedupe key is (order, status, channel).
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Placed => "placed",
            Event::ReadyForPickup => "ready_for_pickup",
            Event::PickedUp => "picked_up",
            Event::Shipped => "shipped",
            Event::Delivered => "delivered",
            Event::Cancelled => "cancelled",
            Event::Expired => "expired",
            Event::SlaAtRisk => "sla_at_risk",
            Event::SlaBreached => "sla_breached",
        }
    }

    pub fn parse(raw: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == raw)
    }

    pub fn audience(self) -> Audience {
        match self {
            Event::SlaAtRisk | Event::SlaBreached => Audience::Store,
            _ => Audience::Customer,
        }
    }

    /// The webhook's `type`.
    pub fn webhook_type(self) -> &'static str {
        match self.audience() {
            Audience::Customer => "order.status_changed",
            Audience::Store => match self {
                Event::SlaBreached => "order.sla_breached",
                _ => "order.sla_at_risk",
            },
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a message may mention about its order.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageFacts<'a> {
    pub order_id: &'a str,
    /// Whether the order is collected (click & collect) or shipped.
    pub collect: bool,
    pub store_name: &'a str,
    /// Street and city of the store, for "collect it at ...".
    pub store_address: &'a str,
    pub time_zone: TimeZone,
    /// The promised ready-by time.
    pub ready_by: DateTime<Utc>,
    /// The end of the pickup window, once the order is ready.
    pub pickup_until: Option<DateTime<Utc>>,
    /// When the order was collected.
    pub collected_at: Option<DateTime<Utc>>,
    pub carrier: Option<&'a str>,
    pub tracking_url: Option<&'a str>,
    /// The instant the message is rendered (for "N minutes left").
    pub now: DateTime<Utc>,
}

/// A rendered notification: the same title and body in every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub title: String,
    pub body: String,
}

/// The message for `event` in `locale`.
pub fn render(event: Event, locale: Locale, facts: &MessageFacts<'_>) -> Message {
    let id = facts.order_id;
    let store = facts.store_name;
    let at = |instant: DateTime<Utc>| locale.format_time(instant, facts.time_zone);
    let ready_by = at(facts.ready_by);
    let until = facts
        .pickup_until
        .map(at)
        .unwrap_or_else(|| ready_by.clone());
    let collected = facts.collected_at.map(at).unwrap_or_default();
    let carrier = facts.carrier.unwrap_or_default();
    let tracking = facts.tracking_url.unwrap_or_default();
    let minutes_left = (facts.ready_by - facts.now).num_minutes().max(0);
    let address = facts.store_address;
    let (title, body) = match (locale, event) {
        (Locale::Pl, Event::Placed) if facts.collect => (
            format!("Przyjęliśmy zamówienie {id}"),
            format!(
                "Zamówienie do odbioru w sklepie {store}. Damy znać, gdy będzie gotowe, najpóźniej {ready_by}."
            ),
        ),
        (Locale::Pl, Event::Placed) => (
            format!("Przyjęliśmy zamówienie {id}"),
            format!(
                "Zamówienie wyślemy ze sklepu {store}. Damy znać, gdy będzie w drodze, najpóźniej {ready_by}."
            ),
        ),
        (Locale::Pl, Event::ReadyForPickup) => (
            format!("Zamówienie {id} czeka na odbiór"),
            format!(
                "Odbierz je w sklepie {store} ({address}) do {until}. Pokaż kod odbioru z aplikacji."
            ),
        ),
        (Locale::Pl, Event::PickedUp) => (
            format!("Zamówienie {id} odebrane"),
            format!("Odebrano w sklepie {store}, {collected}. Dziękujemy!"),
        ),
        (Locale::Pl, Event::Shipped) => (
            format!("Zamówienie {id} jest w drodze"),
            format!("Nadaliśmy je u przewoźnika {carrier}. Śledzenie przesyłki: {tracking}"),
        ),
        (Locale::Pl, Event::Delivered) => (
            format!("Zamówienie {id} dostarczone"),
            "Przesyłka dotarła. Dziękujemy za zakupy!".to_owned(),
        ),
        (Locale::Pl, Event::Cancelled) => (
            format!("Zamówienie {id} anulowane"),
            "Zamówienie zostało anulowane. Jeśli zapłacono online, zwrócimy pieniądze.".to_owned(),
        ),
        (Locale::Pl, Event::Expired) => (
            format!("Zamówienie {id} nie zostało odebrane"),
            format!(
                "Czas na odbiór w sklepie {store} minął {until}, więc zamówienie anulowaliśmy, a towar wrócił do sprzedaży."
            ),
        ),
        (Locale::Pl, Event::SlaAtRisk) => (
            format!("Zamówienie {id} zagrożone opóźnieniem"),
            format!("Ma być gotowe do {ready_by}, zostało {minutes_left} min. Przygotuj je teraz."),
        ),
        (Locale::Pl, Event::SlaBreached) => (
            format!("Zamówienie {id} po terminie"),
            format!(
                "Miało być gotowe do {ready_by} i wciąż nie jest. Przygotuj je i powiadom klienta."
            ),
        ),
        (Locale::En, Event::Placed) if facts.collect => (
            format!("Order {id} received"),
            format!(
                "Your order will be ready for pickup at {store}. We will tell you when it is ready, by {ready_by} at the latest."
            ),
        ),
        (Locale::En, Event::Placed) => (
            format!("Order {id} received"),
            format!(
                "Your order ships from {store}. We will tell you when it is on its way, by {ready_by} at the latest."
            ),
        ),
        (Locale::En, Event::ReadyForPickup) => (
            format!("Your order {id} is ready for pickup"),
            format!(
                "Collect it at {store} ({address}) by {until}. Show the pickup code in the app."
            ),
        ),
        (Locale::En, Event::PickedUp) => (
            format!("Order {id} collected"),
            format!("Collected at {store}, {collected}. Thank you!"),
        ),
        (Locale::En, Event::Shipped) => (
            format!("Order {id} is on its way"),
            format!("It was handed to {carrier}. Track the parcel: {tracking}"),
        ),
        (Locale::En, Event::Delivered) => (
            format!("Order {id} delivered"),
            "Your parcel has arrived. Thank you for shopping with us!".to_owned(),
        ),
        (Locale::En, Event::Cancelled) => (
            format!("Order {id} cancelled"),
            "Your order has been cancelled. If you paid online, the payment will be refunded."
                .to_owned(),
        ),
        (Locale::En, Event::Expired) => (
            format!("Order {id} was not collected"),
            format!(
                "The pickup window at {store} ended on {until}, so the order was cancelled and the items went back on sale."
            ),
        ),
        (Locale::En, Event::SlaAtRisk) => (
            format!("Order {id} is at risk of missing its SLA"),
            format!(
                "It is promised ready by {ready_by}, {minutes_left} min from now. Prepare it now."
            ),
        ),
        (Locale::En, Event::SlaBreached) => (
            format!("Order {id} missed its SLA"),
            format!(
                "It was promised ready by {ready_by} and is still not ready. Prepare it and tell the customer."
            ),
        ),
    };
    Message { title, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone as _};

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn facts() -> MessageFacts<'static> {
        MessageFacts {
            order_id: "ORD-1A2B",
            collect: true,
            store_name: "Warszawa Centrum",
            store_address: "Złota 59, Warszawa",
            time_zone: TimeZone::parse("Europe/Warsaw").unwrap(),
            ready_by: utc(2026, 11, 23, 11, 0),
            pickup_until: Some(utc(2026, 11, 30, 17, 0)),
            collected_at: Some(utc(2026, 11, 24, 15, 5)),
            carrier: Some("InPost"),
            tracking_url: Some("https://track.example/123"),
            now: utc(2026, 11, 23, 10, 36),
        }
    }

    fn check(event: Event, locale: Locale, title: &str, body: &str) {
        let message = render(event, locale, &facts());
        assert_eq!(
            (message.title.as_str(), message.body.as_str()),
            (title, body),
            "{event} {locale}"
        );
    }

    #[test]
    fn ready_for_pickup_is_rendered_in_polish_in_the_stores_time_zone() {
        check(
            Event::ReadyForPickup,
            Locale::Pl,
            "Zamówienie ORD-1A2B czeka na odbiór",
            "Odbierz je w sklepie Warszawa Centrum (Złota 59, Warszawa) do 30.11.2026, 18:00. Pokaż kod odbioru z aplikacji.",
        );
    }

    #[test]
    fn ready_for_pickup_is_rendered_in_english_in_the_stores_time_zone() {
        check(
            Event::ReadyForPickup,
            Locale::En,
            "Your order ORD-1A2B is ready for pickup",
            "Collect it at Warszawa Centrum (Złota 59, Warszawa) by 30 Nov 2026, 18:00. Show the pickup code in the app.",
        );
    }

    #[test]
    fn placed_says_when_the_order_will_be_ready_in_both_languages() {
        check(
            Event::Placed,
            Locale::Pl,
            "Przyjęliśmy zamówienie ORD-1A2B",
            "Zamówienie do odbioru w sklepie Warszawa Centrum. Damy znać, gdy będzie gotowe, najpóźniej 23.11.2026, 12:00.",
        );
        check(
            Event::Placed,
            Locale::En,
            "Order ORD-1A2B received",
            "Your order will be ready for pickup at Warszawa Centrum. We will tell you when it is ready, by 23 Nov 2026, 12:00 at the latest.",
        );
    }

    #[test]
    fn shipped_carries_the_carrier_and_tracking_link_in_both_languages() {
        for locale in Locale::ALL {
            let message = render(Event::Shipped, locale, &facts());
            assert!(message.body.contains("InPost"), "{message:?}");
            assert!(
                message.body.contains("https://track.example/123"),
                "{message:?}"
            );
        }
    }

    #[test]
    fn store_alerts_say_how_many_minutes_are_left() {
        check(
            Event::SlaAtRisk,
            Locale::Pl,
            "Zamówienie ORD-1A2B zagrożone opóźnieniem",
            "Ma być gotowe do 23.11.2026, 12:00, zostało 24 min. Przygotuj je teraz.",
        );
        check(
            Event::SlaAtRisk,
            Locale::En,
            "Order ORD-1A2B is at risk of missing its SLA",
            "It is promised ready by 23 Nov 2026, 12:00, 24 min from now. Prepare it now.",
        );
    }

    #[test]
    fn every_event_has_a_distinct_non_empty_message_in_each_language() {
        for locale in Locale::ALL {
            let mut titles = std::collections::HashSet::new();
            for event in Event::ALL {
                let message = render(event, locale, &facts());
                assert!(!message.body.is_empty(), "{event} {locale}");
                assert!(
                    message.title.contains("ORD-1A2B"),
                    "{event} {locale}: {message:?}"
                );
                assert!(
                    titles.insert(message.title.clone()),
                    "{event} {locale}: title repeated"
                );
            }
        }
        let pl = render(Event::Cancelled, Locale::Pl, &facts());
        let en = render(Event::Cancelled, Locale::En, &facts());
        assert_ne!(pl, en);
    }

    #[test]
    fn times_follow_summer_time_in_the_store_zone() {
        let mut summer = facts();
        summer.pickup_until = Some(utc(2026, 7, 1, 16, 0));
        let message = render(Event::ReadyForPickup, Locale::Pl, &summer);
        assert!(message.body.contains("01.07.2026, 18:00"), "{message:?}");
    }

    #[test]
    fn minutes_left_never_go_negative() {
        let mut late = facts();
        late.now = late.ready_by + Duration::minutes(30);
        assert!(
            render(Event::SlaAtRisk, Locale::En, &late)
                .body
                .contains(", 0 min from now")
        );
    }

    #[test]
    fn locales_are_read_from_language_tags() {
        for (raw, expected) in [
            ("pl", Locale::Pl),
            ("pl-PL", Locale::Pl),
            ("EN", Locale::En),
            ("en_GB", Locale::En),
        ] {
            assert_eq!(Locale::parse(raw), Ok(expected), "{raw}");
        }
        for bad in ["", "de", "polish", "-pl"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Locale::for_country("pl"), Locale::Pl);
        assert_eq!(Locale::for_country("DE"), Locale::En);
    }

    #[test]
    fn events_round_trip_their_names_and_know_their_audience() {
        for event in Event::ALL {
            assert_eq!(Event::parse(event.as_str()), Some(event));
        }
        assert_eq!(Event::SlaAtRisk.audience(), Audience::Store);
        assert_eq!(Event::ReadyForPickup.audience(), Audience::Customer);
        assert_eq!(Event::SlaBreached.webhook_type(), "order.sla_breached");
        assert_eq!(Event::Shipped.webhook_type(), "order.status_changed");
    }
}

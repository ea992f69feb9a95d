//! An order as the domain sees it, and the values its changes are made of:
//! who acts (an [`Actor`]), through which channel ([`Via`]), and the
//! validated pieces a request may carry (a delivery address, a tracking
//! link).

use super::status::{ActorKind, Fulfilment, OrderStatus};
use super::{OrderError, sla};
use crate::auth::Caller;
use crate::catalog::{CountryCode, FieldError};
use crate::channel::Channel;
use crate::hours::TimeZone;
use crate::ids::{CustomerId, OrderId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::notify::Locale;
use crate::stock::ReservationId;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

/// One bought line: `paid` is what the customer paid for the whole line,
/// after discounts as the promotion engine allocated them (what a return
/// later refunds against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub paid: Money,
}

/// Where a ship-from-store order goes. Only what a courier needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeliveryAddress {
    name: String,
    street: String,
    city: String,
    postal_code: String,
    country: String,
}

impl DeliveryAddress {
    /// Checks each part; every problem is reported, named
    /// `delivery_address.<part>`.
    pub fn parse(
        name: &str,
        street: &str,
        city: &str,
        postal_code: &str,
        country: &str,
    ) -> Result<DeliveryAddress, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &str, raw: &str, max: usize| {
            let value = raw.trim();
            if value.is_empty()
                || value.chars().count() > max
                || value.chars().any(char::is_control)
            {
                errors.push(FieldError::new(
                    format!("delivery_address.{field}"),
                    format!("must be 1 to {max} printable characters"),
                ));
            }
            value.to_owned()
        };
        let name = text("name", name, 200);
        let street = text("street", street, 200);
        let city = text("city", city, 100);
        let postal = postal_code.trim();
        if !(2..=10).contains(&postal.len())
            || !postal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            errors.push(FieldError::new(
                "delivery_address.postal_code",
                "must be 2 to 10 letters, digits, spaces or '-'",
            ));
        }
        let country = CountryCode::parse(country)
            .map_err(|e| errors.push(FieldError::new("delivery_address.country", e)))
            .ok();
        match country {
            Some(country) if errors.is_empty() => Ok(DeliveryAddress {
                name,
                street,
                city,
                postal_code: postal.to_owned(),
                country: country.as_str().to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

/// A carrier and its tracking link (https only: it goes into messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tracking {
    pub carrier: String,
    pub url: String,
}

impl Tracking {
    pub fn parse(carrier: &str, url: &str) -> Result<Tracking, Vec<FieldError>> {
        let mut errors = Vec::new();
        let carrier = carrier.trim();
        if carrier.is_empty()
            || carrier.chars().count() > 64
            || carrier.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                "tracking.carrier",
                "must be 1 to 64 printable characters",
            ));
        }
        let url = url.trim();
        let valid_url = url.len() <= 512
            && url.starts_with("https://")
            && crate::notify::webpush::origin(url).is_some()
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid_url {
            errors.push(FieldError::new(
                "tracking.url",
                "must be an https:// link of at most 512 characters",
            ));
        }
        if errors.is_empty() {
            Ok(Tracking {
                carrier: carrier.to_owned(),
                url: url.to_owned(),
            })
        } else {
            Err(errors)
        }
    }
}

/// The hand-over of a click & collect order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    #[serde(with = "crate::clock::wire_format")]
    pub at: DateTime<Utc>,
    pub store_id: StoreId,
}

/// An order, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub customer: CustomerId,
    pub fulfilment: Fulfilment,
    pub store: StoreId,
    pub store_name: String,
    /// "street, city": what a pickup message names.
    pub store_address: String,
    pub time_zone: TimeZone,
    /// The language of alerts to the store.
    pub store_locale: Locale,
    pub delivery_address: Option<DeliveryAddress>,
    pub status: OrderStatus,
    /// The ETag, and the history sequence of the latest change.
    pub version: i64,
    pub currency: Currency,
    pub lines: Vec<OrderLine>,
    pub total_paid: Money,
    pub reservation: Option<ReservationId>,
    pub checkout: Option<String>,
    /// The channel the order was placed in.
    pub channel: Channel,
    /// The language of the customer's notifications.
    pub locale: Locale,
    /// The promise: ready for pickup (or shipped) by then.
    pub ready_by: DateTime<Utc>,
    pub sla_at_risk_at: DateTime<Utc>,
    pub sla_alerted_at: Option<DateTime<Utc>>,
    pub sla_breached_at: Option<DateTime<Utc>>,
    /// When the order reached its SLA target (ready for pickup, shipped).
    pub ready_at: Option<DateTime<Utc>>,
    /// The end of the pickup window, once ready.
    pub pickup_until: Option<DateTime<Utc>>,
    pub collected: Option<Collection>,
    pub tracking: Option<Tracking>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    pub fn sla_state(&self, now: DateTime<Utc>) -> sla::SlaState {
        sla::state(
            self.status,
            now,
            self.sla_at_risk_at,
            self.ready_by,
            self.ready_at,
        )
    }
}

/// Through which channel a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Channel(Channel),
    /// The retailer's back office (ops tools, integrations).
    BackOffice,
    /// The sweep.
    System,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Channel(channel) => channel.as_str(),
            Via::BackOffice => "back_office",
            Via::System => "system",
        }
    }

    /// Reads what a request may name: a sales channel or `back_office`.
    /// `system` is the sweep's alone and never accepted from a request.
    pub fn parse(raw: &str) -> Result<Via, String> {
        if raw == "back_office" {
            return Ok(Via::BackOffice);
        }
        Channel::parse(raw).map(Via::Channel).map_err(|_| {
            format!(
                "unknown channel {:?}; expected web, app, kiosk, pos, call_center or back_office",
                raw.chars().take(32).collect::<String>()
            )
        })
    }

    /// Reads a stored value (which may be `system`).
    pub(crate) fn from_stored(raw: &str) -> Option<Via> {
        if raw == "system" {
            Some(Via::System)
        } else {
            Via::parse(raw).ok()
        }
    }

    /// The channel a caller acts through when the request does not say:
    /// customers mostly use the app, stores their tills, ops the back office.
    pub fn default_for(kind: ActorKind) -> Via {
        match kind {
            ActorKind::Customer => Via::Channel(Channel::App),
            ActorKind::StoreDevice => Via::Channel(Channel::Pos),
            ActorKind::Ops => Via::BackOffice,
            ActorKind::System => Via::System,
        }
    }

    /// Whether `caller` may record a step as made through `self`: a sales
    /// channel by the rule every component applies
    /// ([`crate::auth::channel_claim`]), the back office and the system
    /// for operators alone. Refused: 403 `channel-not-allowed`, naming what
    /// the caller may use, before anything is read or changed, so a
    /// history never records a channel its actor could not have used.
    pub fn check_claim(self, caller: &Caller) -> Result<(), crate::web::Problem> {
        use crate::auth::channel_claim;
        match self {
            Via::Channel(channel) => channel_claim::check(caller, channel),
            Via::BackOffice | Via::System if !matches!(caller, Caller::Ops { .. }) => Err(
                channel_claim::refused(caller, self.as_str(), "that is the operators' channel"),
            ),
            Via::BackOffice | Via::System => Ok(()),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Via {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who changes an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    kind: ActorKind,
    /// `customer:C-1`, `store:WAW-01:till-3`, `ops:back-office`, `system:sweep`.
    principal: String,
    customer: Option<CustomerId>,
    store: Option<StoreId>,
}

impl Actor {
    /// The actor a verified caller is; anonymous callers act on no order.
    pub fn of(caller: &Caller) -> Option<Actor> {
        let principal = caller.principal();
        match caller {
            Caller::Anonymous => None,
            Caller::Customer(id) => Some(Actor {
                kind: ActorKind::Customer,
                principal,
                customer: Some(id.clone()),
                store: None,
            }),
            Caller::StoreDevice { store, .. } => Some(Actor {
                kind: ActorKind::StoreDevice,
                principal,
                customer: None,
                store: Some(store.clone()),
            }),
            Caller::Ops { .. } => Some(Actor {
                kind: ActorKind::Ops,
                principal,
                customer: None,
                store: None,
            }),
        }
    }

    /// The sweep.
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            principal: "system:sweep".into(),
            customer: None,
            store: None,
        }
    }

    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    pub fn principal(&self) -> &str {
        &self.principal
    }

    pub fn store(&self) -> Option<&StoreId> {
        self.store.as_ref()
    }

    pub fn customer(&self) -> Option<&CustomerId> {
        self.customer.as_ref()
    }

    /// May this actor see `order`? Another customer's is
    /// [`OrderError::NotFound`]; another store's is
    /// [`OrderError::WrongStore`] (see the module docs for why they differ).
    pub fn may_see(&self, order: &Order) -> Result<(), OrderError> {
        match self.kind {
            ActorKind::Customer if self.customer.as_ref() == Some(&order.customer) => Ok(()),
            ActorKind::Customer => Err(OrderError::NotFound),
            ActorKind::StoreDevice if self.store.as_ref() == Some(&order.store) => Ok(()),
            ActorKind::StoreDevice => Err(OrderError::WrongStore {
                store: order.store.clone(),
            }),
            ActorKind::Ops | ActorKind::System => Ok(()),
        }
    }
}

/// One status change, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub seq: i64,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    #[serde(with = "crate::clock::wire_format")]
    pub at: DateTime<Utc>,
    pub actor: ActorKind,
    /// The device or operator; hidden from customers by the component.
    pub actor_id: String,
    pub channel: Via,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The longest free-text note a change may carry.
pub const MAX_NOTE_CHARS: usize = 500;

/// Checks a note: printable, at most [`MAX_NOTE_CHARS`].
pub fn parse_note(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_NOTE_CHARS || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(
            "note",
            format!("must be at most {MAX_NOTE_CHARS} printable characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_addresses_report_every_bad_part() {
        let errors = DeliveryAddress::parse("", "Złota 59", "", "0", "XX").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "delivery_address.name",
                "delivery_address.city",
                "delivery_address.postal_code",
                "delivery_address.country"
            ]
        );
        assert!(
            DeliveryAddress::parse("Anna Nowak", "Złota 59", "Warszawa", "00-120", "pl").is_ok()
        );
    }

    #[test]
    fn tracking_links_must_be_https() {
        assert!(Tracking::parse("InPost", "https://inpost.pl/sledzenie?n=123").is_ok());
        for (carrier, url) in [
            ("", "https://x.example/1"),
            ("DHL", "http://x.example/1"),
            ("DHL", "javascript:alert(1)"),
        ] {
            assert!(Tracking::parse(carrier, url).is_err(), "{carrier} {url}");
        }
    }

    #[test]
    fn channels_are_read_but_system_is_never_accepted_from_a_request() {
        assert_eq!(Via::parse("kiosk"), Ok(Via::Channel(Channel::Kiosk)));
        assert_eq!(Via::parse("back_office"), Ok(Via::BackOffice));
        assert!(Via::parse("system").is_err());
        assert_eq!(Via::from_stored("system"), Some(Via::System));
        assert_eq!(
            Via::default_for(ActorKind::StoreDevice),
            Via::Channel(Channel::Pos)
        );
    }

    #[test]
    fn notes_are_bounded_and_blank_ones_are_none() {
        assert_eq!(parse_note(Some("  ")), Ok(None));
        assert_eq!(
            parse_note(Some("customer called")),
            Ok(Some("customer called".into()))
        );
        assert!(parse_note(Some(&"x".repeat(MAX_NOTE_CHARS + 1))).is_err());
        assert!(parse_note(Some("a\u{0007}b")).is_err());
    }
}

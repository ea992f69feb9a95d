//! Locations: stores and warehouses, with where they are, when they are open,
//! how fast they pick and which services they offer.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{BatchKeys, CatalogError, FieldError, Fields, joined, text};
use crate::geo::GeoPoint;
use crate::hours::{
    ClosedDates, HoursError, LocalTime, OpeningHours, PickingRules, ReadyBy, TimeZone, WeeklyHours,
};
use crate::ids::StoreId;

/// Whether a location has a shop floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    Store,
    Warehouse,
}

impl StoreKind {
    pub fn parse(raw: &str) -> Result<StoreKind, CatalogError> {
        match raw.trim() {
            "store" => Ok(StoreKind::Store),
            "warehouse" => Ok(StoreKind::Warehouse),
            other => Err(CatalogError::UnknownStoreKind {
                found: other.chars().take(32).collect(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Store => "store",
            StoreKind::Warehouse => "warehouse",
        }
    }
}

/// A service a location offers to shoppers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    ClickAndCollect,
    ShipFromStore,
    Returns,
    Kiosk,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::ClickAndCollect,
        Service::ShipFromStore,
        Service::Returns,
        Service::Kiosk,
    ];

    pub fn parse(raw: &str) -> Result<Service, CatalogError> {
        Service::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| CatalogError::UnknownService {
                found: raw.chars().take(32).collect(),
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Service::ClickAndCollect => "click_and_collect",
            Service::ShipFromStore => "ship_from_store",
            Service::Returns => "returns",
            Service::Kiosk => "kiosk",
        }
    }

    /// Services that need shoppers on the premises.
    fn needs_shop_floor(self) -> bool {
        !matches!(self, Service::ShipFromStore)
    }
}

/// An officially assigned ISO 3166-1 alpha-2 country code, upper-cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<CountryCode, CatalogError> {
        let upper = raw.trim().to_ascii_uppercase();
        let unknown = || CatalogError::UnknownCountry {
            found: raw.chars().take(8).collect(),
        };
        let [a, b] = upper.as_bytes() else {
            return Err(unknown());
        };
        if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
            return Err(unknown());
        }
        if !ISO_3166_ALPHA_2
            .split(' ')
            .any(|code| code.as_bytes() == [*a, *b])
        {
            return Err(unknown());
        }
        Ok(CountryCode([*a, *b]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII letters")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 249 officially assigned codes (user-assigned ones such as XK are not
/// accepted: a feed using one should say so explicitly, not slip through).
const ISO_3166_ALPHA_2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A postal address, each part checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    street: String,
    city: String,
    postal_code: String,
    country: CountryCode,
}

impl Address {
    pub fn street(&self) -> &str {
        &self.street
    }

    pub fn city(&self) -> &str {
        &self.city
    }

    pub fn postal_code(&self) -> &str {
        &self.postal_code
    }

    pub fn country(&self) -> CountryCode {
        self.country
    }
}

fn postal_code(raw: &str) -> Result<String, CatalogError> {
    let code = raw.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == ' ' || c == '-';
    if !(2..=10).contains(&code.len()) || !code.chars().all(allowed) {
        return Err(CatalogError::BadPostalCode);
    }
    Ok(code.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressRow {
    pub street: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoRow {
    pub lat: f64,
    pub lon: f64,
}

/// The wire form of a location.
///
/// `hours` is the compact week (`{"mon": ["09:00-21:00"], ..., "sun": []}`),
/// `closed_dates` are local `YYYY-MM-DD` dates, `order_cutoff` a local
/// `HH:MM`; `closed_dates` and `services` default to empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreRow {
    pub store_id: String,
    pub name: String,
    pub kind: String,
    pub address: AddressRow,
    pub geo: GeoRow,
    pub time_zone: String,
    pub hours: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub closed_dates: Vec<String>,
    pub pickup_sla_minutes: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_cutoff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_picking_limit: Option<i64>,
    #[serde(default)]
    pub services: Vec<String>,
}

/// A store or warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    id: StoreId,
    name: String,
    kind: StoreKind,
    address: Address,
    geo: GeoPoint,
    opening_hours: OpeningHours,
    picking: PickingRules,
    services: BTreeSet<Service>,
}

impl Store {
    pub const MAX_NAME_LEN: usize = 200;

    pub fn id(&self) -> &StoreId {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub fn geo(&self) -> GeoPoint {
        self.geo
    }

    pub fn time_zone(&self) -> TimeZone {
        self.opening_hours.time_zone()
    }

    pub fn opening_hours(&self) -> &OpeningHours {
        &self.opening_hours
    }

    pub fn picking_rules(&self) -> &PickingRules {
        &self.picking
    }

    pub fn services(&self) -> &BTreeSet<Service> {
        &self.services
    }

    pub fn offers(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    /// "Ready for pickup by" for an order accepted at `now`; see
    /// [`OpeningHours::ready_by`].
    pub fn ready_by(
        &self,
        now: DateTime<Utc>,
        orders_already_accepted_for: impl FnMut(NaiveDate) -> u32,
    ) -> Option<ReadyBy> {
        self.opening_hours
            .ready_by(&self.picking, now, orders_already_accepted_for)
    }
}

impl TryFrom<StoreRow> for Store {
    type Error = Vec<FieldError>;

    fn try_from(row: StoreRow) -> Result<Self, Self::Error> {
        let mut fields = Fields::default();
        let id = fields.check("store_id", StoreId::parse(&row.store_id));
        let name = fields.check("name", text(&row.name, Store::MAX_NAME_LEN));
        let kind = fields.check("kind", StoreKind::parse(&row.kind));
        let street = fields.check("address.street", text(&row.address.street, 200));
        let city = fields.check("address.city", text(&row.address.city, 100));
        let postal = fields.check("address.postal_code", postal_code(&row.address.postal_code));
        let country = fields.check("address.country", CountryCode::parse(&row.address.country));
        let geo = fields.check("geo", GeoPoint::parse(row.geo.lat, row.geo.lon));
        let time_zone = fields.check("time_zone", TimeZone::parse(&row.time_zone));
        let weekly = fields.check("hours", WeeklyHours::parse(&row.hours));
        let closed = fields.check("closed_dates", ClosedDates::parse(&row.closed_dates));
        let sla = fields.check(
            "pickup_sla_minutes",
            u32::try_from(row.pickup_sla_minutes)
                .ok()
                .filter(|sla| (1..=PickingRules::MAX_SLA_MINUTES).contains(sla))
                .ok_or(HoursError::SlaOutOfRange {
                    found: row.pickup_sla_minutes,
                }),
        );
        let cutoff = fields.check(
            "order_cutoff",
            row.order_cutoff
                .as_deref()
                .map(LocalTime::parse)
                .transpose(),
        );
        let limit = fields.check(
            "daily_picking_limit",
            row.daily_picking_limit
                .map(|l| {
                    u32::try_from(l)
                        .ok()
                        .filter(|l| *l > 0)
                        .ok_or(HoursError::ZeroDailyLimit)
                })
                .transpose(),
        );
        // Each part was checked above, so that every bad one is reported;
        // `new` re-checks them as the one place the rules live.
        let picking = match (sla, cutoff, limit) {
            (Some(sla), Some(cutoff), Some(limit)) => {
                fields.check("pickup_sla_minutes", PickingRules::new(sla, cutoff, limit))
            }
            _ => None,
        };
        let services = fields.check(
            "services",
            row.services
                .iter()
                .map(|s| Service::parse(s))
                .collect::<Result<BTreeSet<_>, _>>(),
        );
        if let (Some(StoreKind::Warehouse), Some(services)) = (kind, &services)
            && let Some(service) = services.iter().find(|s| s.needs_shop_floor())
        {
            fields.errors.push(FieldError::new(
                "services",
                CatalogError::WarehouseService { service: *service },
            ));
        }
        let (
            Some(id),
            Some(name),
            Some(kind),
            Some(street),
            Some(city),
            Some(postal_code),
            Some(country),
            Some(geo),
            Some(time_zone),
            Some(weekly),
            Some(closed),
            Some(picking),
            Some(services),
        ) = (
            id, name, kind, street, city, postal, country, geo, time_zone, weekly, closed, picking,
            services,
        )
        else {
            return Err(fields.errors);
        };
        if !fields.errors.is_empty() {
            return Err(fields.errors);
        }
        Ok(Store {
            id,
            name,
            kind,
            address: Address {
                street,
                city,
                postal_code,
                country,
            },
            geo,
            opening_hours: OpeningHours::new(time_zone, weekly, closed),
            picking,
            services,
        })
    }
}

impl From<&Store> for StoreRow {
    fn from(store: &Store) -> Self {
        let hours = store.opening_hours();
        StoreRow {
            store_id: store.id.to_string(),
            name: store.name.clone(),
            kind: store.kind.as_str().to_owned(),
            address: AddressRow {
                street: store.address.street.clone(),
                city: store.address.city.clone(),
                postal_code: store.address.postal_code.clone(),
                country: store.address.country.to_string(),
            },
            geo: GeoRow {
                lat: store.geo.lat(),
                lon: store.geo.lon(),
            },
            time_zone: hours.time_zone().name().to_owned(),
            hours: hours.weekly().to_wire(),
            closed_dates: hours
                .closed_dates()
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
            pickup_sla_minutes: i64::from(store.picking.sla_minutes()),
            order_cutoff: store.picking.cutoff().map(|c| c.to_string()),
            daily_picking_limit: store.picking.daily_limit().map(i64::from),
            services: store
                .services
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        }
    }
}

impl BatchKeys for Store {
    fn batch_keys(&self) -> Vec<(&'static str, String)> {
        vec![("store_id", self.id.to_string())]
    }
}

impl Serialize for Store {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoreRow::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Store {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let row = StoreRow::deserialize(d)?;
        Store::try_from(row).map_err(|errors| serde::de::Error::custom(joined(&errors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn warsaw_json() -> serde_json::Value {
        let day = ["09:00-21:00"];
        json!({
            "store_id": "waw-01",
            "name": "Warszawa Marszałkowska",
            "kind": "store",
            "address": {"street": "Marszałkowska 104", "city": "Warszawa", "postal_code": "00-017", "country": "pl"},
            "geo": {"lat": 52.2319, "lon": 21.0067},
            "time_zone": "Europe/Warsaw",
            "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": []},
            "closed_dates": ["2026-12-25", "2026-12-26"],
            "pickup_sla_minutes": 120,
            "order_cutoff": "16:00",
            "daily_picking_limit": 40,
            "services": ["click_and_collect", "returns", "kiosk", "returns"]
        })
    }

    fn store(value: serde_json::Value) -> Result<Store, Vec<FieldError>> {
        Store::try_from(serde_json::from_value::<StoreRow>(value).unwrap())
    }

    fn fields_of(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_complete_row_becomes_a_store() {
        let store = store(warsaw_json()).unwrap();
        assert_eq!(store.id().as_str(), "WAW-01");
        assert_eq!(store.kind(), StoreKind::Store);
        assert_eq!(store.address().country().as_str(), "PL");
        assert_eq!(store.time_zone().name(), "Europe/Warsaw");
        assert_eq!(store.picking_rules().sla_minutes(), 120);
        assert_eq!(store.picking_rules().daily_limit(), Some(40));
        assert_eq!(
            store.services().len(),
            3,
            "duplicates collapse into the set"
        );
        assert!(store.offers(Service::Kiosk));
        assert!(!store.offers(Service::ShipFromStore));
    }

    #[test]
    fn a_store_computes_its_own_ready_by_time() {
        let store = store(warsaw_json()).unwrap();
        let monday_noon = DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let ready = store.ready_by(monday_noon, |_| 0).unwrap();
        assert_eq!(ready.ready_by.to_rfc3339(), "2026-06-01T12:00:00+00:00");
        let full = store
            .ready_by(monday_noon, |d| {
                if d.to_string() == "2026-06-01" { 40 } else { 0 }
            })
            .unwrap();
        assert_eq!(full.ready_by.to_rfc3339(), "2026-06-02T09:00:00+00:00");
    }

    #[test]
    fn every_bad_field_of_a_store_is_reported_with_its_path() {
        let mut value = warsaw_json();
        value["store_id"] = json!("");
        value["kind"] = json!("shop");
        value["address"]["city"] = json!(" ");
        value["address"]["country"] = json!("XX");
        value["address"]["postal_code"] = json!("00/017");
        value["geo"]["lat"] = json!(91.0);
        value["time_zone"] = json!("Europe/Warszawa");
        value["hours"]["mon"] = json!(["21:00-09:00"]);
        value["closed_dates"] = json!(["2026-02-30"]);
        value["pickup_sla_minutes"] = json!(0);
        value["order_cutoff"] = json!("4pm");
        value["daily_picking_limit"] = json!(0);
        value["services"] = json!(["delivery"]);
        let errors = store(value).unwrap_err();
        assert_eq!(
            fields_of(&errors),
            [
                "store_id",
                "kind",
                "address.city",
                "address.postal_code",
                "address.country",
                "geo",
                "time_zone",
                "hours",
                "closed_dates",
                "pickup_sla_minutes",
                "order_cutoff",
                "daily_picking_limit",
                "services"
            ]
        );
    }

    #[test]
    fn the_picking_sla_must_be_between_one_minute_and_a_week() {
        for bad in [0, -5, 10_081, i64::MAX] {
            let mut value = warsaw_json();
            value["pickup_sla_minutes"] = json!(bad);
            let errors = store(value).unwrap_err();
            assert_eq!(fields_of(&errors), ["pickup_sla_minutes"], "{bad}");
        }
        let mut value = warsaw_json();
        value["pickup_sla_minutes"] = json!(10_080);
        assert!(store(value).is_ok());
    }

    #[test]
    fn a_negative_daily_limit_is_refused() {
        let mut value = warsaw_json();
        value["daily_picking_limit"] = json!(-1);
        assert_eq!(
            fields_of(&store(value).unwrap_err()),
            ["daily_picking_limit"]
        );
    }

    #[test]
    fn a_warehouse_offers_no_shop_floor_services() {
        let mut value = warsaw_json();
        value["kind"] = json!("warehouse");
        let errors = store(value.clone()).unwrap_err();
        assert_eq!(fields_of(&errors), ["services"]);
        assert!(
            errors[0].reason.contains("click_and_collect"),
            "{}",
            errors[0].reason
        );
        value["services"] = json!(["ship_from_store"]);
        assert_eq!(store(value).unwrap().kind(), StoreKind::Warehouse);
    }

    #[test]
    fn optional_fields_may_be_left_out() {
        let mut value = warsaw_json();
        let object = value.as_object_mut().unwrap();
        for key in [
            "closed_dates",
            "order_cutoff",
            "daily_picking_limit",
            "services",
        ] {
            object.remove(key);
        }
        let store = store(value).unwrap();
        assert_eq!(store.picking_rules().cutoff(), None);
        assert!(store.services().is_empty());
    }

    #[test]
    fn country_codes_must_be_officially_assigned() {
        for good in ["PL", "de", " GB ", "CZ"] {
            assert!(CountryCode::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["XX", "XK", "POL", "P", "", "U1", "ÜK"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ISO_3166_ALPHA_2.split(' ').count(), 249);
        assert!(
            ISO_3166_ALPHA_2
                .split(' ')
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn stores_round_trip_through_their_wire_form() {
        let original = store(warsaw_json()).unwrap();
        let json = serde_json::to_value(&original).unwrap();
        assert_eq!(json["address"]["country"], "PL");
        assert_eq!(
            json["services"],
            json!(["click_and_collect", "returns", "kiosk"])
        );
        assert_eq!(serde_json::from_value::<Store>(json).unwrap(), original);
    }
}

//! The clock port: "now" comes from here, never from `Utc::now()` in a rule,
//! so every time-dependent rule (expiry, SLAs, validity windows) is tested at
//! the instant the test chooses.

use chrono::{DateTime, Utc};
use std::cell::Cell;

pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

/// The host's wall clock (wasi:clocks on wasm, the OS natively). The local
/// edge host can shift the guest's wall clock in test mode, which is how the
/// black-box tests move time without any test-only code in the components.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_millis(Utc::now())
    }
}

/// A clock that stays where a test puts it.
pub struct FixedClock(Cell<DateTime<Utc>>);

impl FixedClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        FixedClock(Cell::new(instant))
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        self.0.set(instant);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.0.set(self.0.get() + by);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.get()
    }
}

/// The one wire and storage format of an instant: RFC 3339 in UTC with
/// exactly three fractional digits and `Z` (`2026-12-04T13:43:31.120Z`).
/// Fixed width, so stored instants also sort as text; millisecond
/// precision, because [`SystemClock`] and every `now` a request uses are
/// truncated to it, so a first answer, a replay and a later read of the
/// same instant are byte for byte the same.
pub fn wire(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An instant truncated to the millisecond the wire format keeps.
pub fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    at.trunc_subsecs(3)
}

/// `#[serde(with = "crate::clock::wire_format")]` for instants in wire and
/// stored JSON types ([`wire`]'s format out; any RFC 3339 in).
pub mod wire_format {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::wire(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| {
                serde::de::Error::custom(format!("{text:?} is not an RFC 3339 instant: {e}"))
            })
    }

    /// The same for `Option<DateTime<Utc>>` (`null` when absent).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.serialize_str(&super::super::wire(*at)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| {
                    DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.with_timezone(&Utc))
                        .map_err(|e| {
                            serde::de::Error::custom(format!(
                                "{text:?} is not an RFC 3339 instant: {e}"
                            ))
                        })
                })
                .transpose()
        }
    }
}

//! The channel matrix: which channels sell a SKU, and what a shopper is
//! offered instead when theirs does not.
//!
//! Why is the alternative for a store-only SKU asked for online *not* the
//! endless aisle? The endless aisle ships from the central warehouse to the
//! shopper's home, and a store-only SKU is by definition not stocked there
//! for home delivery; offering it would promise what cannot be sent. A
//! store-only SKU is sold on a shop floor, so the honest alternative is to
//! reserve it in a store (click & collect, paid in store) or ask in store.
//!
//! The endless aisle belongs to two other cases: an online-only SKU asked
//! for at a kiosk or till (the store cannot hand it over, but can order it
//! for home delivery), and "not in my size in this store" for a SKU sold in
//! both, which is an availability question, not an assortment one; the
//! availability component offers it when [`Assortment::ships_to_home`]
//! holds.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use super::CatalogError;
use crate::channel::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Assortment {
    /// Sold everywhere: the default, as most of a fashion range is.
    #[default]
    Both,
    /// Sold for home delivery only (web exclusives, sizes stores do not
    /// carry): not handed over at a kiosk or till.
    OnlineOnly,
    /// Sold on shop floors only: not on the web, in the app or by the call
    /// centre.
    StoreOnly,
}

impl Assortment {
    pub const ALL: [Assortment; 3] = [
        Assortment::Both,
        Assortment::OnlineOnly,
        Assortment::StoreOnly,
    ];

    pub fn parse(raw: &str) -> Result<Assortment, CatalogError> {
        Assortment::ALL
            .into_iter()
            .find(|a| a.as_str() == raw.trim())
            .ok_or_else(|| CatalogError::UnknownAssortment {
                found: raw.chars().take(32).collect(),
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Assortment::Both => "both",
            Assortment::OnlineOnly => "online_only",
            Assortment::StoreOnly => "store_only",
        }
    }

    /// Whether `channel` may sell this SKU; if not, why and what instead.
    /// The call centre counts as online (it takes remote orders).
    pub fn sold_in(self, channel: Channel) -> Result<(), NotSoldIn> {
        match (self, channel.is_in_store()) {
            (Assortment::OnlineOnly, true) => Err(NotSoldIn {
                channel,
                assortment: self,
                reason: "this item is sold online only",
                alternative: Alternative::HomeDelivery,
            }),
            (Assortment::StoreOnly, false) => Err(NotSoldIn {
                channel,
                assortment: self,
                reason: "this item is sold in stores only",
                alternative: Alternative::ReserveInStore,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the central warehouse may ship this SKU to a home, which is
    /// what the endless aisle ("not in my size in this store") needs.
    pub fn ships_to_home(self) -> bool {
        !matches!(self, Assortment::StoreOnly)
    }
}

impl fmt::Display for Assortment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Assortment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Assortment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Assortment::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a shopper can do instead when their channel does not sell the SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alternative {
    /// Endless aisle: order for delivery from the central warehouse to home.
    HomeDelivery,
    /// Reserve in a store (click & collect, paid there) or ask in store.
    ReserveInStore,
}

impl Alternative {
    pub fn as_str(self) -> &'static str {
        match self {
            Alternative::HomeDelivery => "home_delivery",
            Alternative::ReserveInStore => "reserve_in_store",
        }
    }

    /// The words shown to the shopper, the same on every channel.
    pub fn text(self) -> &'static str {
        match self {
            Alternative::HomeDelivery => {
                "order it online for home delivery from our central warehouse; a seller or the kiosk can place the order for you"
            }
            Alternative::ReserveInStore => {
                "reserve it in a store (click & collect) and pay there, or ask for it in store"
            }
        }
    }
}

/// The answer "not sold here", with its reason and alternative in plain
/// words. Serialized for the problem+json body as `channel`, `assortment`,
/// `reason`, `alternative` (a code) and `alternative_text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotSoldIn {
    pub channel: Channel,
    pub assortment: Assortment,
    pub reason: &'static str,
    pub alternative: Alternative,
}

impl fmt::Display for NotSoldIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.reason,
            self.channel,
            self.alternative.text()
        )
    }
}

impl std::error::Error for NotSoldIn {}

impl Serialize for NotSoldIn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut wire = s.serialize_struct("NotSoldIn", 5)?;
        wire.serialize_field("channel", &self.channel)?;
        wire.serialize_field("assortment", &self.assortment)?;
        wire.serialize_field("reason", self.reason)?;
        wire.serialize_field("alternative", self.alternative.as_str())?;
        wire.serialize_field("alternative_text", self.alternative.text())?;
        wire.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_sold_in_both_are_sold_in_every_channel() {
        for channel in Channel::ALL {
            assert_eq!(Assortment::Both.sold_in(channel), Ok(()), "{channel}");
        }
    }

    #[test]
    fn online_only_items_are_not_sold_at_kiosk_or_till_but_can_be_delivered_home() {
        for channel in [Channel::Kiosk, Channel::Pos] {
            let refusal = Assortment::OnlineOnly.sold_in(channel).unwrap_err();
            assert_eq!(refusal.alternative, Alternative::HomeDelivery);
            assert!(refusal.to_string().contains("home delivery"));
        }
        for channel in [Channel::Web, Channel::App, Channel::CallCenter] {
            assert_eq!(Assortment::OnlineOnly.sold_in(channel), Ok(()), "{channel}");
        }
    }

    #[test]
    fn store_only_items_are_not_sold_remotely_and_the_alternative_is_a_store() {
        for channel in [Channel::Web, Channel::App, Channel::CallCenter] {
            let refusal = Assortment::StoreOnly.sold_in(channel).unwrap_err();
            assert_eq!(
                refusal.alternative,
                Alternative::ReserveInStore,
                "{channel}"
            );
            assert!(refusal.alternative.text().contains("click & collect"));
        }
        for channel in [Channel::Kiosk, Channel::Pos] {
            assert_eq!(Assortment::StoreOnly.sold_in(channel), Ok(()), "{channel}");
        }
    }

    #[test]
    fn the_endless_aisle_is_never_offered_for_store_only_items() {
        assert!(Assortment::Both.ships_to_home());
        assert!(Assortment::OnlineOnly.ships_to_home());
        assert!(!Assortment::StoreOnly.ships_to_home());
    }

    #[test]
    fn assortments_parse_from_their_wire_names_only() {
        for a in Assortment::ALL {
            assert_eq!(Assortment::parse(a.as_str()), Ok(a));
            assert_eq!(
                serde_json::from_value::<Assortment>(serde_json::to_value(a).unwrap()).unwrap(),
                a
            );
        }
        for bad in ["", "online", "Both", "store-only"] {
            assert!(Assortment::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_refusal_serializes_with_its_reason_and_alternative() {
        let refusal = Assortment::StoreOnly.sold_in(Channel::App).unwrap_err();
        let json = serde_json::to_value(refusal).unwrap();
        assert_eq!(json["channel"], "app");
        assert_eq!(json["assortment"], "store_only");
        assert_eq!(json["alternative"], "reserve_in_store");
        assert_eq!(json["reason"], "this item is sold in stores only");
    }
}

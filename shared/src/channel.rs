//! The sales channels a request comes from. Prices are the same in all of
//! them; a channel only matters where a rule names it explicitly (an app-only
//! coupon, the assortment matrix), so it is a closed enum, never free text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelError {
    Unknown { found: String },
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::Unknown { found } => {
                write!(
                    f,
                    "unknown channel {found:?}; expected one of {}",
                    Channel::ALL.map(Channel::as_str).join(", ")
                )
            }
        }
    }
}

impl std::error::Error for ChannelError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Web,
    App,
    Kiosk,
    Pos,
    CallCenter,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Web,
        Channel::App,
        Channel::Kiosk,
        Channel::Pos,
        Channel::CallCenter,
    ];

    /// Reads the snake_case wire name exactly (`call_center`, not
    /// `CallCenter`): channel names appear in coupon rules, and a rule must
    /// not match by accident of spelling.
    pub fn parse(raw: &str) -> Result<Channel, ChannelError> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| ChannelError::Unknown {
                found: raw.chars().take(32).collect(),
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Kiosk => "kiosk",
            Channel::Pos => "pos",
            Channel::CallCenter => "call_center",
        }
    }

    /// Whether the shopper is physically in a store (kiosk or till). The
    /// call centre counts as remote: its orders ship or are collected like
    /// web orders, so the assortment matrix treats it as online.
    pub fn is_in_store(self) -> bool {
        matches!(self, Channel::Kiosk | Channel::Pos)
    }

    pub fn is_remote(self) -> bool {
        !self.is_in_store()
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Channel::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_parses_from_its_wire_name() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Ok(channel));
            let json = serde_json::to_string(&channel).unwrap();
            assert_eq!(serde_json::from_str::<Channel>(&json).unwrap(), channel);
        }
        assert_eq!(
            serde_json::to_string(&Channel::CallCenter).unwrap(),
            "\"call_center\""
        );
    }

    #[test]
    fn unknown_channels_are_rejected_with_the_valid_list() {
        for bad in ["", "Web", "mobile", "call-center", "CallCenter", "pos "] {
            assert!(Channel::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let message = Channel::parse("mobile").unwrap_err().to_string();
        assert!(
            message.contains("web, app, kiosk, pos, call_center"),
            "{message}"
        );
        assert!(serde_json::from_str::<Channel>("\"mobile\"").is_err());
    }

    #[test]
    fn only_kiosk_and_till_are_in_store() {
        let in_store: Vec<_> = Channel::ALL
            .into_iter()
            .filter(|c| c.is_in_store())
            .collect();
        assert_eq!(in_store, [Channel::Kiosk, Channel::Pos]);
        assert!(Channel::CallCenter.is_remote());
    }
}

//! The statuses of a return case and the moves between them.
//!
//! ```text
//!  opened ─intake─▶ received ─▶ inspected ─▶ refunded | exchanged | rejected ─▶ closed
//!    │                 └──────────────────────▶ refunded | exchanged | rejected
//!    └──▶ rejected (ops: never brought back)
//! ```
//!
//! Inspection is optional: a till refunds a received item in the same
//! visit. `received` is reached only by an intake (the QR scan), never by a
//! plain transition, so a case is always received at a known store.

use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RmaStatus {
    Opened,
    Received,
    Inspected,
    Refunded,
    Exchanged,
    Rejected,
    Closed,
}

impl RmaStatus {
    pub const ALL: [RmaStatus; 7] = [
        RmaStatus::Opened,
        RmaStatus::Received,
        RmaStatus::Inspected,
        RmaStatus::Refunded,
        RmaStatus::Exchanged,
        RmaStatus::Rejected,
        RmaStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RmaStatus::Opened => "opened",
            RmaStatus::Received => "received",
            RmaStatus::Inspected => "inspected",
            RmaStatus::Refunded => "refunded",
            RmaStatus::Exchanged => "exchanged",
            RmaStatus::Rejected => "rejected",
            RmaStatus::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<RmaStatus> {
        RmaStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The statuses a case may move to from this one.
    pub fn allowed_next(self) -> &'static [RmaStatus] {
        use RmaStatus::*;
        match self {
            Opened => &[Received, Rejected],
            Received => &[Inspected, Refunded, Exchanged, Rejected],
            Inspected => &[Refunded, Exchanged, Rejected],
            Refunded | Exchanged | Rejected => &[Closed],
            Closed => &[],
        }
    }

    pub fn may_become(self, next: RmaStatus) -> bool {
        self.allowed_next().contains(&next)
    }

    /// Whether the case's units still count as returned (a rejected case
    /// gives them back to the customer, so they may be returned again).
    pub fn holds_units(self) -> bool {
        self != RmaStatus::Rejected
    }
}

impl fmt::Display for RmaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RmaStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_its_name() {
        for status in RmaStatus::ALL {
            assert_eq!(RmaStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RmaStatus::parse("Opened"), None);
    }

    #[test]
    fn a_closed_case_moves_nowhere_and_an_outcome_only_closes() {
        assert!(RmaStatus::Closed.allowed_next().is_empty());
        for outcome in [
            RmaStatus::Refunded,
            RmaStatus::Exchanged,
            RmaStatus::Rejected,
        ] {
            assert_eq!(outcome.allowed_next(), [RmaStatus::Closed]);
        }
        assert!(
            !RmaStatus::Opened.may_become(RmaStatus::Refunded),
            "nothing is refunded before it is received"
        );
        assert!(
            RmaStatus::Received.may_become(RmaStatus::Refunded),
            "inspection is optional"
        );
    }
}

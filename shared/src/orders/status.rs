//! The one order status model and its transition table.
//!
//! ```text
//!                 click & collect                          ship from store
//!  placed ─▶ accepted ─▶ picking ─▶ ready_for_pickup ─▶ picked_up     picking ─▶ shipped ─▶ delivered
//!    │          │           │              │   └──────▶ expired
//!    └──────────┴───────────┴──────────────┴──▶ cancelled
//! ```
//!
//! The table says which moves exist for which kind of order and who may
//! make each: the customer cancels while the store has not started picking;
//! the store (a device of the order's store) works the order through;
//! `expired` is the system's (the sweep) or an operator's; `delivered` is
//! reported by the carrier integration (ops). Ops may make every move
//! except the customer-only none, so the back office can always repair.
//!
//! A move not in the table is 409 with the statuses that may follow; a move
//! in the table that this caller may not make is 403 with the ones they may.

use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    Placed,
    Accepted,
    Picking,
    ReadyForPickup,
    PickedUp,
    Shipped,
    Delivered,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::Placed,
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::ReadyForPickup,
        OrderStatus::PickedUp,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Picking => "picking",
            OrderStatus::ReadyForPickup => "ready_for_pickup",
            OrderStatus::PickedUp => "picked_up",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }

    /// Reads the exact snake_case name.
    pub fn parse(raw: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// No move leaves these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::PickedUp
                | OrderStatus::Delivered
                | OrderStatus::Cancelled
                | OrderStatus::Expired
        )
    }

    /// Still before its SLA target (ready for pickup, or shipped).
    pub fn is_open_for_sla(self) -> bool {
        matches!(
            self,
            OrderStatus::Placed | OrderStatus::Accepted | OrderStatus::Picking
        )
    }

    /// What the customer is told, in every channel, in both languages.
    pub fn label(self, locale: crate::notify::Locale) -> &'static str {
        use crate::notify::Locale::{En, Pl};
        match (self, locale) {
            (OrderStatus::Placed, Pl) => "Przyjęte",
            (OrderStatus::Accepted, Pl) => "Potwierdzone przez sklep",
            (OrderStatus::Picking, Pl) => "W kompletacji",
            (OrderStatus::ReadyForPickup, Pl) => "Gotowe do odbioru",
            (OrderStatus::PickedUp, Pl) => "Odebrane",
            (OrderStatus::Shipped, Pl) => "Wysłane",
            (OrderStatus::Delivered, Pl) => "Dostarczone",
            (OrderStatus::Cancelled, Pl) => "Anulowane",
            (OrderStatus::Expired, Pl) => "Nieodebrane",
            (OrderStatus::Placed, En) => "Placed",
            (OrderStatus::Accepted, En) => "Accepted by the store",
            (OrderStatus::Picking, En) => "Being picked",
            (OrderStatus::ReadyForPickup, En) => "Ready for pickup",
            (OrderStatus::PickedUp, En) => "Collected",
            (OrderStatus::Shipped, En) => "Shipped",
            (OrderStatus::Delivered, En) => "Delivered",
            (OrderStatus::Cancelled, En) => "Cancelled",
            (OrderStatus::Expired, En) => "Not collected",
        }
    }

    /// The notification this status sends the customer, if any. `accepted`
    /// and `picking` are progress shown in the app, not pushed: a shopper
    /// wants "ready", not every step of the back room.
    pub fn customer_event(self) -> Option<crate::notify::Event> {
        use crate::notify::Event;
        match self {
            OrderStatus::Placed => Some(Event::Placed),
            OrderStatus::Accepted | OrderStatus::Picking => None,
            OrderStatus::ReadyForPickup => Some(Event::ReadyForPickup),
            OrderStatus::PickedUp => Some(Event::PickedUp),
            OrderStatus::Shipped => Some(Event::Shipped),
            OrderStatus::Delivered => Some(Event::Delivered),
            OrderStatus::Cancelled => Some(Event::Cancelled),
            OrderStatus::Expired => Some(Event::Expired),
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OrderStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How the goods reach the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fulfilment {
    ClickAndCollect,
    ShipFromStore,
    /// Ordered in a store (or the app) for what the store lacks, shipped
    /// from the central warehouse to the customer's home: the endless aisle.
    EndlessAisle,
}

impl Fulfilment {
    pub const ALL: [Fulfilment; 3] = [
        Fulfilment::ClickAndCollect,
        Fulfilment::ShipFromStore,
        Fulfilment::EndlessAisle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fulfilment::ClickAndCollect => "click_and_collect",
            Fulfilment::ShipFromStore => "ship_from_store",
            Fulfilment::EndlessAisle => "endless_aisle",
        }
    }

    pub fn parse(raw: &str) -> Option<Fulfilment> {
        Fulfilment::ALL.into_iter().find(|f| f.as_str() == raw)
    }

    /// The status that meets the SLA: the goods are ready for the customer.
    pub fn sla_target(self) -> OrderStatus {
        match self {
            Fulfilment::ClickAndCollect => OrderStatus::ReadyForPickup,
            Fulfilment::ShipFromStore | Fulfilment::EndlessAisle => OrderStatus::Shipped,
        }
    }

    /// Whether the goods travel to the customer (a delivery address, a
    /// carrier) rather than wait in a store.
    pub fn is_delivered(self) -> bool {
        !matches!(self, Fulfilment::ClickAndCollect)
    }
}

impl fmt::Display for Fulfilment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Fulfilment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Who moves an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Customer,
    /// A till or kiosk of the order's own store.
    StoreDevice,
    Ops,
    /// The sweep: SLA checks and expiry.
    System,
}

impl ActorKind {
    pub const ALL: [ActorKind; 4] = [
        ActorKind::Customer,
        ActorKind::StoreDevice,
        ActorKind::Ops,
        ActorKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Customer => "customer",
            ActorKind::StoreDevice => "store_device",
            ActorKind::Ops => "ops",
            ActorKind::System => "system",
        }
    }

    pub fn parse(raw: &str) -> Option<ActorKind> {
        ActorKind::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

impl Serialize for ActorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One row of the table: a move, the orders it applies to, who makes it.
struct Move {
    from: OrderStatus,
    to: OrderStatus,
    /// `None`: both kinds of order.
    only: Option<Fulfilment>,
    by: &'static [ActorKind],
}

const STORE: &[ActorKind] = &[ActorKind::StoreDevice, ActorKind::Ops];
const ANYONE_BUT_SYSTEM: &[ActorKind] =
    &[ActorKind::Customer, ActorKind::StoreDevice, ActorKind::Ops];

use Fulfilment::{ClickAndCollect as Cc, ShipFromStore as Sfs};
use OrderStatus::*;

const TABLE: &[Move] = &[
    Move {
        from: Placed,
        to: Accepted,
        only: None,
        by: STORE,
    },
    Move {
        from: Placed,
        to: Cancelled,
        only: None,
        by: ANYONE_BUT_SYSTEM,
    },
    Move {
        from: Accepted,
        to: Picking,
        only: None,
        by: STORE,
    },
    Move {
        from: Accepted,
        to: Cancelled,
        only: None,
        by: ANYONE_BUT_SYSTEM,
    },
    Move {
        from: Picking,
        to: ReadyForPickup,
        only: Some(Cc),
        by: STORE,
    },
    Move {
        from: Picking,
        to: Shipped,
        only: Some(Sfs),
        by: STORE,
    },
    Move {
        from: Picking,
        to: Cancelled,
        only: None,
        by: STORE,
    },
    Move {
        from: ReadyForPickup,
        to: PickedUp,
        only: Some(Cc),
        by: STORE,
    },
    Move {
        from: ReadyForPickup,
        to: Expired,
        only: Some(Cc),
        by: &[ActorKind::System, ActorKind::Ops],
    },
    Move {
        from: ReadyForPickup,
        to: Cancelled,
        only: Some(Cc),
        by: STORE,
    },
    Move {
        from: Shipped,
        to: Delivered,
        only: Some(Sfs),
        by: &[ActorKind::Ops, ActorKind::System],
    },
];

/// `only: Some(Sfs)` stands for every delivered fulfilment (ship from
/// store and the endless aisle share one status path).
fn applies(m: &Move, from: OrderStatus, fulfilment: Fulfilment) -> bool {
    m.from == from
        && m.only.is_none_or(|only| {
            only == fulfilment || (only.is_delivered() && fulfilment.is_delivered())
        })
}

/// Every status that may follow `from` for this kind of order.
pub fn next(from: OrderStatus, fulfilment: Fulfilment) -> Vec<OrderStatus> {
    TABLE
        .iter()
        .filter(|m| applies(m, from, fulfilment))
        .map(|m| m.to)
        .collect()
}

/// The statuses `actor` may move an order to from `from`.
pub fn next_for(from: OrderStatus, fulfilment: Fulfilment, actor: ActorKind) -> Vec<OrderStatus> {
    TABLE
        .iter()
        .filter(|m| applies(m, from, fulfilment) && m.by.contains(&actor))
        .map(|m| m.to)
        .collect()
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveRefused {
    /// 409: no such move for this order; `allowed` may follow.
    Illegal {
        from: OrderStatus,
        to: OrderStatus,
        allowed: Vec<OrderStatus>,
    },
    /// 403: the move exists but not for this actor; `allowed` they may make.
    NotForActor {
        from: OrderStatus,
        to: OrderStatus,
        actor: ActorKind,
        allowed: Vec<OrderStatus>,
    },
}

/// Checks one move against the table.
pub fn check(
    from: OrderStatus,
    to: OrderStatus,
    fulfilment: Fulfilment,
    actor: ActorKind,
) -> Result<(), MoveRefused> {
    let Some(m) = TABLE
        .iter()
        .find(|m| applies(m, from, fulfilment) && m.to == to)
    else {
        return Err(MoveRefused::Illegal {
            from,
            to,
            allowed: next(from, fulfilment),
        });
    };
    if !m.by.contains(&actor) {
        return Err(MoveRefused::NotForActor {
            from,
            to,
            actor,
            allowed: next_for(from, fulfilment, actor),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table written out independently, one line per allowed move:
    /// `from -> to : fulfilments : actors` (c = click & collect, s = ship
    /// from store, e = endless aisle; C customer, S store device, O ops, Y system).
    const EXPECTED: &str = "
        placed -> accepted : cse : SO
        placed -> cancelled : cse : CSO
        accepted -> picking : cse : SO
        accepted -> cancelled : cse : CSO
        picking -> ready_for_pickup : c : SO
        picking -> shipped : se : SO
        picking -> cancelled : cse : SO
        ready_for_pickup -> picked_up : c : SO
        ready_for_pickup -> expired : c : OY
        ready_for_pickup -> cancelled : c : SO
        shipped -> delivered : se : OY
    ";

    fn expected(
        from: OrderStatus,
        to: OrderStatus,
        fulfilment: Fulfilment,
        actor: ActorKind,
    ) -> (bool, bool) {
        let f = match fulfilment {
            Fulfilment::ClickAndCollect => 'c',
            Fulfilment::ShipFromStore => 's',
            Fulfilment::EndlessAisle => 'e',
        };
        let a = match actor {
            ActorKind::Customer => 'C',
            ActorKind::StoreDevice => 'S',
            ActorKind::Ops => 'O',
            ActorKind::System => 'Y',
        };
        for line in EXPECTED.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line
                .split([' ', ':'])
                .filter(|p| !p.is_empty() && *p != "->")
                .collect();
            if parts[0] == from.as_str() && parts[1] == to.as_str() && parts[2].contains(f) {
                return (true, parts[3].contains(a));
            }
        }
        (false, false)
    }

    #[test]
    fn the_transition_table_is_exactly_the_specified_one_for_every_status_pair_kind_and_actor() {
        let mut legal = 0;
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                for fulfilment in Fulfilment::ALL {
                    for actor in ActorKind::ALL {
                        let (exists, allowed) = expected(from, to, fulfilment, actor);
                        let outcome = check(from, to, fulfilment, actor);
                        match (exists, allowed) {
                            (true, true) => {
                                assert_eq!(
                                    outcome,
                                    Ok(()),
                                    "{from} -> {to} {fulfilment} by {actor:?}"
                                );
                                legal += 1;
                            }
                            (true, false) => assert!(
                                matches!(outcome, Err(MoveRefused::NotForActor { .. })),
                                "{from} -> {to} {fulfilment} by {actor:?}: {outcome:?}"
                            ),
                            (false, _) => assert!(
                                matches!(outcome, Err(MoveRefused::Illegal { .. })),
                                "{from} -> {to} {fulfilment} by {actor:?}: {outcome:?}"
                            ),
                        }
                    }
                }
            }
        }
        assert_eq!(
            legal, 52,
            "every allowed (move, kind, actor) combination was checked"
        );
    }

    #[test]
    fn final_statuses_have_no_way_out() {
        for status in OrderStatus::ALL {
            let ways_out = Fulfilment::ALL.map(|fulfilment| next(status, fulfilment).len());
            if status.is_final() {
                assert_eq!(ways_out, [0, 0, 0], "{status}");
            } else {
                assert!(ways_out.iter().any(|n| *n > 0), "{status} is a dead end");
            }
        }
    }

    #[test]
    fn an_illegal_move_lists_what_may_follow() {
        let refused = check(Placed, PickedUp, Cc, ActorKind::StoreDevice).unwrap_err();
        assert_eq!(
            refused,
            MoveRefused::Illegal {
                from: Placed,
                to: PickedUp,
                allowed: vec![Accepted, Cancelled]
            }
        );
    }

    #[test]
    fn a_customer_may_cancel_only_until_picking_starts() {
        assert_eq!(check(Accepted, Cancelled, Cc, ActorKind::Customer), Ok(()));
        let refused = check(Picking, Cancelled, Cc, ActorKind::Customer).unwrap_err();
        assert!(
            matches!(refused, MoveRefused::NotForActor { ref allowed, .. } if allowed.is_empty()),
            "{refused:?}"
        );
    }

    #[test]
    fn each_kind_of_order_reaches_its_own_sla_target() {
        assert_eq!(next(Picking, Cc), vec![ReadyForPickup, Cancelled]);
        assert_eq!(next(Picking, Sfs), vec![Shipped, Cancelled]);
        assert_eq!(Cc.sla_target(), ReadyForPickup);
        assert_eq!(Sfs.sla_target(), Shipped);
    }

    #[test]
    fn an_endless_aisle_order_follows_the_delivery_path() {
        let ea = Fulfilment::EndlessAisle;
        assert_eq!(next(Placed, ea), vec![Accepted, Cancelled]);
        assert_eq!(next(Picking, ea), vec![Shipped, Cancelled]);
        assert_eq!(next(Shipped, ea), vec![Delivered]);
        assert_eq!(next(ReadyForPickup, ea), Vec::<OrderStatus>::new());
        assert_eq!(ea.sla_target(), Shipped);
        assert_eq!(Fulfilment::parse("endless_aisle"), Some(ea));
        assert!(ea.is_delivered() && Sfs.is_delivered() && !Cc.is_delivered());
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("Ready_For_Pickup"), None);
        assert_eq!(Fulfilment::parse("ship_from_store"), Some(Sfs));
        assert_eq!(
            ActorKind::parse("store_device"),
            Some(ActorKind::StoreDevice)
        );
    }

    #[test]
    fn every_status_has_a_label_in_both_languages_and_only_some_notify() {
        for status in OrderStatus::ALL {
            for locale in crate::notify::Locale::ALL {
                assert!(!status.label(locale).is_empty());
            }
        }
        assert_eq!(Accepted.customer_event(), None);
        assert_eq!(
            ReadyForPickup.customer_event(),
            Some(crate::notify::Event::ReadyForPickup)
        );
    }
}

//! One shelf's numbers, what can be promised from them, and the label every
//! channel shows.

use crate::quantity::{Quantity, StockQuantity};
use serde::{Serialize, Serializer};

/// Units at or below which a shelf shows "low stock" unless the store says
/// otherwise: three is what a fashion store can still sell in a day.
pub const DEFAULT_LOW_STOCK_THRESHOLD: u32 = 3;

/// `reserved` as a read sees it: the counter minus the units of holds whose
/// TTL has passed but which no sweep has ended yet (see the area notes).
/// `s` is the `stock` row and `now` the placeholder (`?3`) the caller binds
/// to [`super::timestamp`] of the current instant. One function, so every
/// read and every reservation guard subtract expired holds the same way;
/// the one copy is the `reservation_requests` trigger
/// ([`crate::stock::RESERVATION_REQUESTS`]), since a shipped migration step
/// is fixed text: a change here must add a step that recreates it.
pub fn effective_reserved(now: &str) -> String {
    format!(
        "(s.reserved - COALESCE((SELECT SUM(h.quantity) FROM reservation_lines h \
         WHERE h.store = s.store AND h.sku = s.sku AND h.held_until IS NOT NULL AND h.held_until <= {now}), 0))"
    )
}

/// A shelf: what is there, what is locked, what stays on display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockLevel {
    on_hand: StockQuantity,
    reserved: StockQuantity,
    display_min: StockQuantity,
}

impl StockLevel {
    pub fn new(
        on_hand: StockQuantity,
        reserved: StockQuantity,
        display_min: StockQuantity,
    ) -> StockLevel {
        StockLevel {
            on_hand,
            reserved,
            display_min,
        }
    }

    /// A shelf the feeds never mentioned: nothing there.
    pub const EMPTY: StockLevel = StockLevel {
        on_hand: StockQuantity::ZERO,
        reserved: StockQuantity::ZERO,
        display_min: StockQuantity::ZERO,
    };

    /// From the integers SQL holds. Negative or absurd values cannot be
    /// stored (CHECK constraints), but a read must not fail on a shelf, so
    /// they are floored at zero and capped rather than refused.
    pub fn from_columns(on_hand: i64, reserved: i64, display_min: i64) -> StockLevel {
        let q = |n: i64| {
            StockQuantity::parse(n.clamp(0, i64::from(StockQuantity::MAX)))
                .unwrap_or(StockQuantity::ZERO)
        };
        StockLevel {
            on_hand: q(on_hand),
            reserved: q(reserved),
            display_min: q(display_min),
        }
    }

    pub fn on_hand(&self) -> StockQuantity {
        self.on_hand
    }

    pub fn reserved(&self) -> StockQuantity {
        self.reserved
    }

    pub fn display_min(&self) -> StockQuantity {
        self.display_min
    }

    /// `on_hand - reserved - display_min`, never below zero. The SQL guard
    /// of a reservation (`on_hand - reserved - display_min >= wanted`) is
    /// the same inequality: `covers` below is that guard in Rust.
    pub fn available_to_promise(&self) -> StockQuantity {
        self.on_hand
            .saturating_sub(self.reserved)
            .saturating_sub(self.display_min)
    }

    /// Whether `wanted` units can be promised from this shelf.
    pub fn covers(&self, wanted: Quantity) -> bool {
        self.available_to_promise().covers(wanted)
    }

    pub fn label(&self, low_stock_threshold: StockQuantity) -> Label {
        Label::of(self.available_to_promise(), low_stock_threshold)
    }
}

/// What a shopper is told about a shelf, identical in every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    InStock,
    LowStock,
    OutOfStock,
}

impl Label {
    /// The one rule: nothing to promise is out of stock; up to and including
    /// the threshold is low stock; above it, in stock.
    pub fn of(available: StockQuantity, low_stock_threshold: StockQuantity) -> Label {
        if available == StockQuantity::ZERO {
            Label::OutOfStock
        } else if available <= low_stock_threshold {
            Label::LowStock
        } else {
            Label::InStock
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::InStock => "in_stock",
            Label::LowStock => "low_stock",
            Label::OutOfStock => "out_of_stock",
        }
    }

    /// The words on the product page, the kiosk and the till screen.
    pub fn text(self) -> &'static str {
        match self {
            Label::InStock => "In stock",
            Label::LowStock => "Only a few left",
            Label::OutOfStock => "Out of stock",
        }
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64) -> StockQuantity {
        StockQuantity::parse(n).unwrap()
    }

    fn level(on_hand: i64, reserved: i64, display_min: i64) -> StockLevel {
        StockLevel::new(q(on_hand), q(reserved), q(display_min))
    }

    fn check(on_hand: i64, reserved: i64, display_min: i64, atp: i64, label: Label) {
        let shelf = level(on_hand, reserved, display_min);
        assert_eq!(shelf.available_to_promise(), q(atp), "{shelf:?}");
        assert_eq!(
            shelf.label(q(i64::from(DEFAULT_LOW_STOCK_THRESHOLD))),
            label,
            "{shelf:?}"
        );
    }

    #[test]
    fn available_to_promise_keeps_the_display_minimum_and_the_reservations_back() {
        check(10, 0, 1, 9, Label::InStock);
        check(10, 3, 1, 6, Label::InStock);
        check(10, 6, 1, 3, Label::LowStock);
        check(10, 8, 1, 1, Label::LowStock);
        check(10, 9, 1, 0, Label::OutOfStock);
    }

    #[test]
    fn available_to_promise_never_goes_below_zero() {
        check(2, 5, 1, 0, Label::OutOfStock);
        check(1, 0, 1, 0, Label::OutOfStock);
        check(0, 0, 1, 0, Label::OutOfStock);
        check(0, 0, 0, 0, Label::OutOfStock);
        check(3, 3, 0, 0, Label::OutOfStock);
    }

    #[test]
    fn a_single_unit_on_display_is_not_promised() {
        let shelf = level(1, 0, 1);
        assert!(!shelf.covers(Quantity::parse(1).unwrap()));
        assert!(level(2, 0, 1).covers(Quantity::parse(1).unwrap()));
        assert!(!level(2, 0, 1).covers(Quantity::parse(2).unwrap()));
    }

    #[test]
    fn the_low_stock_threshold_is_inclusive_and_configurable() {
        assert_eq!(Label::of(q(3), q(3)), Label::LowStock);
        assert_eq!(Label::of(q(4), q(3)), Label::InStock);
        assert_eq!(
            Label::of(q(1), q(0)),
            Label::InStock,
            "a zero threshold never says low stock"
        );
        assert_eq!(Label::of(q(0), q(0)), Label::OutOfStock);
        assert_eq!(Label::of(q(10), q(10)), Label::LowStock);
    }

    #[test]
    fn values_read_from_sql_are_floored_and_capped() {
        let shelf = StockLevel::from_columns(-3, -1, -2);
        assert_eq!(shelf, StockLevel::EMPTY);
        let huge = StockLevel::from_columns(i64::MAX, 0, 0);
        assert_eq!(huge.on_hand().get(), StockQuantity::MAX);
    }

    #[test]
    fn labels_serialize_as_their_wire_names() {
        assert_eq!(
            serde_json::to_string(&Label::LowStock).unwrap(),
            "\"low_stock\""
        );
        assert_eq!(Label::OutOfStock.text(), "Out of stock");
    }
}

//! How edits of a cart's lines combine when several devices edit one cart at
//! once, and how a guest cart merges into a customer's cart.
//!
//! The cart is a map from SKU to a line; each line is its own register, so
//! edits of different lines never interact: two phones adding different
//! items both succeed, always. Only edits of the *same* line can conflict,
//! and this module decides them deterministically.
//!
//! # Causal context
//!
//! Every change bumps the cart's version, and each line remembers the
//! version that last wrote it (`changed_at_version`). A device that sets or
//! removes a line may say which cart version its view was built from
//! (`base_version`, the number in the ETag it holds):
//!
//! - the line has not changed since `base_version`: the device saw the
//!   latest value, so its edit simply replaces it (a decrease is honoured);
//! - the line changed after `base_version`: another device edited it
//!   concurrently. The two edits conflict and the larger quantity wins, and
//!   an edit wins over a concurrent removal.
//!
//! Without `base_version` an edit is taken as based on the latest state
//! (last writer wins, in the database's commit order).
//!
//! # Why "larger wins" and "edit beats removal"?
//!
//! They make the outcome independent of which request reached the database
//! first: any order of the same concurrent edits ends in the same quantity
//! (the tests below check every permutation). And they lose nothing the
//! shopper asked for: a unit that one of their devices still wanted stays
//! in the cart, visible, where deleting it is one tap; the opposite rule
//! would silently drop an item the shopper believes is in the cart.
//!
//! # Adds
//!
//! Adding units of a SKU (`Add`) is relative: it increments whatever the
//! line holds, so concurrent adds commute and all of them count.
//!
//! # Guest merge: why the larger quantity and not the sum?
//!
//! At login the guest cart and the customer's cart are usually the same
//! shopper's two views of one intention: the tee they put in the app cart
//! yesterday and again in the web cart today is one tee, not two. Taking
//! the larger quantity keeps every unit either cart asked for (nothing
//! lost) without doubling the shared ones (nothing doubled). It is also
//! idempotent, commutative and associative, so merging twice is merging
//! once, and it can never push a line past the per-line maximum, so a merge
//! never fails on quantities.

use std::collections::BTreeMap;

use super::CartError;
use crate::ids::Sku;
use crate::quantity::Quantity;

/// A line as stored: its quantity and the cart version that last wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineState {
    pub quantity: u32,
    pub changed_at_version: i64,
}

/// One edit of one line, as a device sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEdit {
    /// Add units: increments the line (or creates it).
    Add(Quantity),
    /// Set the quantity, as seen from `base_version` when given.
    Set {
        quantity: Quantity,
        base_version: Option<i64>,
    },
    /// Remove the line, as seen from `base_version` when given.
    Remove { base_version: Option<i64> },
}

/// What an edit does to the stored line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    /// Store this quantity (creating the line if absent).
    Write(u32),
    /// Delete the line.
    Delete,
    /// Nothing changes: the cart's version stays as it is.
    Unchanged,
}

impl LineEdit {
    /// Whether a line written at `changed_at_version` is newer than what a
    /// device based its edit on.
    fn concurrent_with(base_version: Option<i64>, line: LineState) -> bool {
        base_version.is_some_and(|base| line.changed_at_version > base)
    }

    /// The outcome of this edit on `current` (the stored line, if any),
    /// under a per-line maximum of `max` units.
    pub fn apply(
        &self,
        sku: &Sku,
        current: Option<LineState>,
        max: u32,
    ) -> Result<LineOutcome, CartError> {
        let outcome = match (*self, current) {
            (LineEdit::Add(q), None) => LineOutcome::Write(q.get()),
            (LineEdit::Add(q), Some(line)) => LineOutcome::Write(line.quantity + q.get()),
            (LineEdit::Set { quantity, .. }, None) => LineOutcome::Write(quantity.get()),
            (
                LineEdit::Set {
                    quantity,
                    base_version,
                },
                Some(line),
            ) => {
                if !LineEdit::concurrent_with(base_version, line) {
                    // Written even when the value is the same: the line now
                    // carries this edit's version, so an edit concurrent
                    // with it is recognised as such, whichever lands first.
                    LineOutcome::Write(quantity.get())
                } else if quantity.get() > line.quantity {
                    LineOutcome::Write(quantity.get())
                } else {
                    LineOutcome::Unchanged
                }
            }
            (LineEdit::Remove { .. }, None) => LineOutcome::Unchanged,
            (LineEdit::Remove { base_version }, Some(line)) => {
                if LineEdit::concurrent_with(base_version, line) {
                    LineOutcome::Unchanged
                } else {
                    LineOutcome::Delete
                }
            }
        };
        match outcome {
            LineOutcome::Write(q) if q > max => Err(CartError::LineQuantityAboveMax {
                sku: sku.clone(),
                max,
                requested: u64::from(q),
            }),
            outcome => Ok(outcome),
        }
    }
}

/// The quantity of a SKU after merging a guest line into a customer line:
/// the larger of the two (see the module notes for why).
pub fn merged_quantity(customer: Option<u32>, guest: u32) -> u32 {
    customer.map_or(guest, |c| c.max(guest))
}

/// Two carts' lines merged with [`merged_quantity`]: the union of the SKUs.
pub fn merge_lines(
    customer: &BTreeMap<Sku, u32>,
    guest: &BTreeMap<Sku, u32>,
) -> BTreeMap<Sku, u32> {
    let mut merged = customer.clone();
    for (sku, &quantity) in guest {
        merged.insert(
            sku.clone(),
            merged_quantity(customer.get(sku).copied(), quantity),
        );
    }
    merged
}

/// Removes what a completed checkout bought from the cart's lines: each
/// bought quantity is subtracted and a line that reaches zero goes, so items
/// added after the hand-off stay in the cart for next time.
pub fn after_purchase(
    lines: &BTreeMap<Sku, u32>,
    bought: &BTreeMap<Sku, u32>,
) -> BTreeMap<Sku, u32> {
    lines
        .iter()
        .filter_map(|(sku, &quantity)| {
            let left = quantity.saturating_sub(bought.get(sku).copied().unwrap_or(0));
            (left > 0).then(|| (sku.clone(), left))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(raw: &str) -> Sku {
        Sku::parse(raw).unwrap()
    }

    fn q(n: i64) -> Quantity {
        Quantity::parse(n).unwrap()
    }

    fn line(quantity: u32, changed_at_version: i64) -> Option<LineState> {
        Some(LineState {
            quantity,
            changed_at_version,
        })
    }

    /// Applies edits one after another as the database would, bumping the
    /// version on every change, and returns the final quantity (0: no line).
    fn run(start: Option<LineState>, start_version: i64, edits: &[LineEdit]) -> u32 {
        let sku = sku("TEE-M");
        let mut state = start;
        let mut version = start_version;
        for edit in edits {
            match edit.apply(&sku, state, 99).expect("within the maximum") {
                LineOutcome::Write(quantity) => {
                    version += 1;
                    state = Some(LineState {
                        quantity,
                        changed_at_version: version,
                    });
                }
                LineOutcome::Delete => {
                    version += 1;
                    state = None;
                }
                LineOutcome::Unchanged => {}
            }
        }
        state.map_or(0, |s| s.quantity)
    }

    /// A tiny deterministic generator, so the property tests need no crate
    /// and every failure reproduces.
    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut all = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, first.clone());
                all.push(tail);
            }
        }
        all
    }

    #[test]
    fn adding_a_new_sku_creates_the_line_and_adding_again_increments_it() {
        let s = sku("TEE-M");
        assert_eq!(
            LineEdit::Add(q(2)).apply(&s, None, 99),
            Ok(LineOutcome::Write(2))
        );
        assert_eq!(
            LineEdit::Add(q(2)).apply(&s, line(3, 1), 99),
            Ok(LineOutcome::Write(5))
        );
    }

    #[test]
    fn an_add_past_the_line_maximum_is_refused_with_the_numbers() {
        let err = LineEdit::Add(q(5))
            .apply(&sku("TEE-M"), line(97, 1), 99)
            .unwrap_err();
        assert_eq!(
            err,
            CartError::LineQuantityAboveMax {
                sku: sku("TEE-M"),
                max: 99,
                requested: 102
            }
        );
        assert!(
            LineEdit::Add(q(2))
                .apply(&sku("TEE-M"), line(97, 1), 99)
                .is_ok()
        );
        assert!(
            LineEdit::Set {
                quantity: q(21),
                base_version: None
            }
            .apply(&sku("TEE-M"), None, 20)
            .is_err()
        );
    }

    #[test]
    fn an_edit_based_on_the_latest_line_replaces_it_even_downwards() {
        let set = LineEdit::Set {
            quantity: q(1),
            base_version: Some(5),
        };
        assert_eq!(
            set.apply(&sku("A"), line(4, 5), 99),
            Ok(LineOutcome::Write(1))
        );
        let set = LineEdit::Set {
            quantity: q(1),
            base_version: None,
        };
        assert_eq!(
            set.apply(&sku("A"), line(4, 9), 99),
            Ok(LineOutcome::Write(1))
        );
        let remove = LineEdit::Remove {
            base_version: Some(7),
        };
        assert_eq!(
            remove.apply(&sku("A"), line(4, 5), 99),
            Ok(LineOutcome::Delete)
        );
    }

    #[test]
    fn a_set_concurrent_with_a_newer_write_keeps_the_larger_quantity() {
        let set = LineEdit::Set {
            quantity: q(2),
            base_version: Some(4),
        };
        assert_eq!(
            set.apply(&sku("A"), line(6, 5), 99),
            Ok(LineOutcome::Unchanged)
        );
        let set = LineEdit::Set {
            quantity: q(8),
            base_version: Some(4),
        };
        assert_eq!(
            set.apply(&sku("A"), line(6, 5), 99),
            Ok(LineOutcome::Write(8))
        );
    }

    #[test]
    fn a_removal_concurrent_with_an_edit_loses_to_the_edit() {
        let remove = LineEdit::Remove {
            base_version: Some(4),
        };
        assert_eq!(
            remove.apply(&sku("A"), line(3, 5), 99),
            Ok(LineOutcome::Unchanged)
        );
    }

    #[test]
    fn removing_a_missing_line_or_repeating_a_concurrent_set_changes_nothing() {
        assert_eq!(
            LineEdit::Remove { base_version: None }.apply(&sku("A"), None, 99),
            Ok(LineOutcome::Unchanged)
        );
        let retried = LineEdit::Set {
            quantity: q(3),
            base_version: Some(1),
        };
        assert_eq!(
            retried.apply(&sku("A"), line(3, 2), 99),
            Ok(LineOutcome::Unchanged)
        );
    }

    #[test]
    fn a_set_to_the_same_value_from_the_latest_state_is_still_recorded() {
        let same = LineEdit::Set {
            quantity: q(3),
            base_version: Some(2),
        };
        assert_eq!(
            same.apply(&sku("A"), line(3, 2), 99),
            Ok(LineOutcome::Write(3))
        );
    }

    #[test]
    fn concurrent_sets_end_in_the_largest_quantity_whatever_their_order() {
        let mut rng = Xorshift(0x5eed_cafe);
        for _ in 0..300 {
            let start_version = 10 + rng.below(5) as i64;
            let start = if rng.below(4) == 0 {
                None
            } else {
                line(1 + rng.below(20) as u32, start_version)
            };
            let devices = 1 + rng.below(4) as usize;
            let edits: Vec<LineEdit> = (0..devices)
                .map(|_| LineEdit::Set {
                    quantity: q(1 + rng.below(30) as i64),
                    base_version: Some(start_version),
                })
                .collect();
            let expected = edits
                .iter()
                .map(|e| match e {
                    LineEdit::Set { quantity, .. } => quantity.get(),
                    _ => unreachable!(),
                })
                .max()
                .unwrap();
            for order in permutations(&edits) {
                // The first edit seen from the latest state simply replaces
                // the line, so the result never depends on what was there.
                assert_eq!(
                    run(start, start_version, &order),
                    expected,
                    "{start:?} {order:?}"
                );
            }
        }
    }

    #[test]
    fn concurrent_sets_and_removals_converge_whatever_their_order() {
        let mut rng = Xorshift(0xfeed_beef);
        for _ in 0..300 {
            let start = line(1 + rng.below(20) as u32, 3);
            let edits: Vec<LineEdit> = (0..1 + rng.below(4))
                .map(|_| {
                    if rng.below(3) == 0 {
                        LineEdit::Remove {
                            base_version: Some(3),
                        }
                    } else {
                        LineEdit::Set {
                            quantity: q(1 + rng.below(30) as i64),
                            base_version: Some(3),
                        }
                    }
                })
                .collect();
            let outcomes: Vec<u32> = permutations(&edits)
                .iter()
                .map(|order| run(start, 3, order))
                .collect();
            assert!(
                outcomes.windows(2).all(|w| w[0] == w[1]),
                "{edits:?} gave {outcomes:?}"
            );
            let largest_set = edits
                .iter()
                .filter_map(|e| match e {
                    LineEdit::Set { quantity, .. } => Some(quantity.get()),
                    _ => None,
                })
                .max();
            assert_eq!(outcomes[0], largest_set.unwrap_or(0), "{edits:?}");
        }
    }

    #[test]
    fn concurrent_adds_all_count_whatever_their_order() {
        let mut rng = Xorshift(0xadd5);
        for _ in 0..200 {
            let start = if rng.below(2) == 0 {
                None
            } else {
                line(1 + rng.below(10) as u32, 2)
            };
            let adds: Vec<LineEdit> = (0..1 + rng.below(4))
                .map(|_| LineEdit::Add(q(1 + rng.below(9) as i64)))
                .collect();
            let sum: u32 = adds
                .iter()
                .map(|e| match e {
                    LineEdit::Add(q) => q.get(),
                    _ => unreachable!(),
                })
                .sum::<u32>()
                + start.map_or(0, |s| s.quantity);
            for order in permutations(&adds) {
                assert_eq!(run(start, 2, &order), sum);
            }
        }
    }

    fn random_cart(rng: &mut Xorshift) -> BTreeMap<Sku, u32> {
        (0..rng.below(6))
            .map(|_| (sku(&format!("S{}", rng.below(8))), 1 + rng.below(99) as u32))
            .collect()
    }

    #[test]
    fn merging_is_idempotent_commutative_and_associative() {
        let mut rng = Xorshift(0x3e3e);
        for _ in 0..500 {
            let (a, b, c) = (
                random_cart(&mut rng),
                random_cart(&mut rng),
                random_cart(&mut rng),
            );
            let ab = merge_lines(&a, &b);
            assert_eq!(
                merge_lines(&ab, &b),
                ab,
                "merging the same guest cart twice is merging it once"
            );
            assert_eq!(ab, merge_lines(&b, &a));
            assert_eq!(merge_lines(&ab, &c), merge_lines(&a, &merge_lines(&b, &c)));
        }
    }

    #[test]
    fn a_merge_loses_no_line_and_doubles_nothing() {
        let mut rng = Xorshift(0x1057);
        for _ in 0..500 {
            let (customer, guest) = (random_cart(&mut rng), random_cart(&mut rng));
            let merged = merge_lines(&customer, &guest);
            for (sku, quantity) in customer.iter().chain(guest.iter()) {
                assert!(merged[sku] >= *quantity, "a unit was lost");
            }
            for (sku, quantity) in &merged {
                let most = customer.get(sku).max(guest.get(sku)).copied().unwrap();
                assert_eq!(*quantity, most, "{sku} doubled");
                assert!(*quantity <= 99, "a merge never passes the line maximum");
            }
        }
    }

    #[test]
    fn a_purchase_removes_what_was_bought_and_keeps_what_was_added_later() {
        let lines = BTreeMap::from([(sku("A"), 2), (sku("B"), 1), (sku("C"), 4)]);
        let bought = BTreeMap::from([(sku("A"), 2), (sku("C"), 1), (sku("D"), 1)]);
        assert_eq!(
            after_purchase(&lines, &bought),
            BTreeMap::from([(sku("B"), 1), (sku("C"), 3)])
        );
        assert!(after_purchase(&bought, &bought).is_empty());
    }
}

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
        Utc::now()
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

//! The test clock (`--test-clock`): the guests' `wasi:clocks/wall-clock` reads
//! real time plus an offset that black-box tests set through the host's own
//! `POST /_edge/clock` route.
//!
//! Why in the host? Time-dependent rules (expiring pickups, return windows,
//! SLA alerts, coupon validity) must be testable end to end against the real
//! compiled components, and the components must not carry test-only code:
//! they read the WASI wall clock as on any Spin host, and only this host can
//! move it. The monotonic clock is left alone, so timeouts and durations
//! inside a guest stay real.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wasmtime_wasi::HostWallClock;

/// A shared, adjustable offset from real wall-clock time.
#[derive(Debug, Clone, Default)]
pub struct TestClock {
    offset_millis: Arc<AtomicI64>,
}

/// The body of `POST /_edge/clock`: exactly one of the two fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// Seconds to add to real time (negative moves the clock back).
    pub offset_seconds: Option<i64>,
    /// An absolute instant the clock should read now (RFC 3339).
    pub now: Option<String>,
}

/// What `GET`/`POST /_edge/clock` answer.
#[derive(Debug, Serialize)]
pub struct ClockState {
    /// The time guests read now (RFC 3339, UTC).
    pub now: String,
    /// The current offset from real time, in whole seconds.
    pub offset_seconds: i64,
}

/// Why a clock request is refused.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// The body is not the expected JSON.
    #[error("invalid JSON body: {0}")]
    Json(#[from] serde_json::Error),
    /// Neither or both fields were given.
    #[error("give exactly one of `offset_seconds` and `now`")]
    Ambiguous,
    /// `now` is not an RFC 3339 instant.
    #[error("`now` is not an RFC 3339 date-time: {0}")]
    BadInstant(#[from] chrono::ParseError),
}

impl TestClock {
    /// The time guests read.
    pub fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        real + chrono::Duration::milliseconds(self.offset_millis.load(Ordering::Relaxed))
    }

    /// Applies a control request and returns the new state.
    pub fn apply(&self, body: &[u8]) -> Result<ClockState, ClockError> {
        let request: ClockRequest = serde_json::from_slice(body)?;
        let offset_millis = match (request.offset_seconds, request.now) {
            (Some(secs), None) => secs.saturating_mul(1_000),
            (None, Some(now)) => {
                let target = DateTime::parse_from_rfc3339(&now)?.with_timezone(&Utc);
                (target - Utc::now()).num_milliseconds()
            }
            _ => return Err(ClockError::Ambiguous),
        };
        self.offset_millis.store(offset_millis, Ordering::Relaxed);
        Ok(self.state())
    }

    /// The current state.
    pub fn state(&self) -> ClockState {
        ClockState {
            now: self
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            offset_seconds: self.offset_millis.load(Ordering::Relaxed).div_euclid(1_000),
        }
    }

    /// The WASI wall clock guests get.
    pub fn guest_clock(&self) -> GuestWallClock {
        GuestWallClock(self.clone())
    }
}

/// `wasi:clocks/wall-clock` backed by a [`TestClock`].
pub struct GuestWallClock(TestClock);

impl HostWallClock for GuestWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let offset = self.0.offset_millis.load(Ordering::Relaxed);
        let shifted = real.as_millis() as i128 + i128::from(offset);
        Duration::from_millis(u64::try_from(shifted.max(0)).unwrap_or(u64::MAX))
            + Duration::from_nanos(u64::from(real.subsec_nanos() % 1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_moves_the_guest_clock() {
        let clock = TestClock::default();
        let before = clock.guest_clock().now();
        let state = clock.apply(br#"{"offset_seconds": 86400}"#).unwrap();
        assert_eq!(state.offset_seconds, 86_400);
        let after = clock.guest_clock().now();
        let moved = after.as_secs() as i64 - before.as_secs() as i64;
        assert!((86_399..=86_401).contains(&moved), "moved {moved}");
    }

    #[test]
    fn an_absolute_instant_sets_the_guest_clock() {
        let clock = TestClock::default();
        clock.apply(br#"{"now": "2030-01-02T03:04:05Z"}"#).unwrap();
        let secs = clock.guest_clock().now().as_secs() as i64;
        let expected = DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .timestamp();
        assert!((secs - expected).abs() <= 1, "{secs} vs {expected}");
    }

    #[test]
    fn a_negative_offset_moves_the_clock_back() {
        let clock = TestClock::default();
        clock.apply(br#"{"offset_seconds": -3600}"#).unwrap();
        let real = Utc::now().timestamp();
        let guest = clock.guest_clock().now().as_secs() as i64;
        assert!((real - 3600 - guest).abs() <= 1);
    }

    #[test]
    fn ambiguous_or_malformed_requests_are_refused() {
        let clock = TestClock::default();
        assert!(matches!(clock.apply(b"{}"), Err(ClockError::Ambiguous)));
        assert!(matches!(
            clock.apply(br#"{"offset_seconds": 1, "now": "2030-01-01T00:00:00Z"}"#),
            Err(ClockError::Ambiguous)
        ));
        assert!(matches!(
            clock.apply(br#"{"now": "tomorrow"}"#),
            Err(ClockError::BadInstant(_))
        ));
        assert!(matches!(clock.apply(b"nope"), Err(ClockError::Json(_))));
        assert_eq!(clock.state().offset_seconds, 0);
    }
}

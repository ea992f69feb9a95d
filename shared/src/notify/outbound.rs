//! Outbound HTTP, behind one narrow port.
//!
//! Everything that leaves the edge for a notification (a Web Push message,
//! a webhook call) is one [`OutboundRequest`] handed to an [`Outbound`].
//! The component passes the Spin implementation (`spin_sdk::http::send`,
//! bounded by the manifest's `allowed_outbound_hosts`); native tests pass
//! [`RecordingOutbound`], which keeps every request and answers as told, so
//! delivery rules are tested without a network.

use std::fmt;

/// One POST to a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub url: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutboundRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the receiver answered; the body is not needed to decide anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundResponse {
    pub status: u16,
}

/// Why a request got no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundError {
    /// The manifest does not allow this host (Spin's `HttpRequestDenied`).
    Denied(String),
    /// Connection refused, DNS, TLS, timeout: try again later.
    Transport(String),
}

impl fmt::Display for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboundError::Denied(why) => write!(f, "outbound request denied: {why}"),
            OutboundError::Transport(why) => write!(f, "outbound request failed: {why}"),
        }
    }
}

impl std::error::Error for OutboundError {}

/// How long an outbound call may take: connecting, and then the whole
/// answer. A receiver that accepts and never answers costs one of these, not
/// the rest of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: std::time::Duration,
    pub total: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: std::time::Duration::from_secs(2),
            total: std::time::Duration::from_secs(4),
        }
    }
}

/// Sends requests and waits for the answers' statuses.
///
/// Every request is sent whole with its `Content-Length` (never chunked:
/// push services read exactly the declared length), within `timeouts`.
pub trait Outbound {
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, OutboundError>;

    /// Sends `requests` at once (independent receivers, so one slow one
    /// delays none of the others) and returns one answer per request, in
    /// order; an unanswered one is [`OutboundError::Transport`] once
    /// `timeouts.total` has passed. The default sends them one by one.
    fn send_all(
        &self,
        requests: &[OutboundRequest],
        timeouts: Timeouts,
    ) -> Vec<Result<OutboundResponse, OutboundError>> {
        let _ = timeouts;
        requests.iter().map(|r| self.send(r)).collect()
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use recording::RecordingOutbound;

#[cfg(not(target_arch = "wasm32"))]
mod recording {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// A fake receiver for native tests: records every request and answers
    /// with the scripted outcomes in order, then with `fallback`.
    pub struct RecordingOutbound {
        sent: RefCell<Vec<OutboundRequest>>,
        script: RefCell<VecDeque<Result<OutboundResponse, OutboundError>>>,
        fallback: Result<OutboundResponse, OutboundError>,
    }

    impl RecordingOutbound {
        /// Every request answered `status`.
        pub fn answering(status: u16) -> RecordingOutbound {
            RecordingOutbound {
                sent: RefCell::new(Vec::new()),
                script: RefCell::new(VecDeque::new()),
                fallback: Ok(OutboundResponse { status }),
            }
        }

        /// Every request failing as if the receiver were down.
        pub fn down() -> RecordingOutbound {
            RecordingOutbound {
                sent: RefCell::new(Vec::new()),
                script: RefCell::new(VecDeque::new()),
                fallback: Err(OutboundError::Transport("connection refused".into())),
            }
        }

        /// Answers the next request with `outcome` (then the next scripted
        /// one, then the fallback).
        pub fn then(self, outcome: Result<OutboundResponse, OutboundError>) -> RecordingOutbound {
            self.script.borrow_mut().push_back(outcome);
            self
        }

        pub fn sent(&self) -> Vec<OutboundRequest> {
            self.sent.borrow().clone()
        }
    }

    impl Outbound for RecordingOutbound {
        fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, OutboundError> {
            self.sent.borrow_mut().push(request.clone());
            self.script
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| self.fallback.clone())
        }
    }
}

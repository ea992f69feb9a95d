//! The common crate of the omnichannel edge.
//!
//! Every component links this crate. It holds the domain's value types and
//! rules (pure Rust, tested natively), the storage ports each component
//! persists through, and the HTTP conventions and authentication every
//! endpoint shares, so that a rule lives in exactly one place and the web
//! shop, the app, the kiosk and the till can never disagree.

pub mod auth;
pub mod cart;
pub mod catalog;
pub mod channel;
pub mod clock;
pub mod geo;
pub mod host;
pub mod hours;
pub mod identity;
pub mod ids;
pub mod insights;
pub mod money;
pub mod notify;
pub mod orders;
pub mod pipeline;
pub mod promotions;
pub mod qr;
pub mod quantity;
pub mod returns;
pub mod schema;
pub mod stock;
pub mod storage;
pub mod web;

/// Test support for the components' native tests; never built for wasm.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

//! The `pickups` component: one order status model, pickup codes and status notifications.
//!
//! A thin HTTP edge: parse the request, check the caller, call the domain in
//! `omni_shared`, persist through the storage ports, render the response.
//! [`handle`] is plain Rust over spin-sdk's Request/Response values so it is
//! tested natively; only [`entry`] is wasm-specific.

use omni_shared::host::Host;
use spin_sdk::http::{Request, Response};

pub const COMPONENT: &str = "pickups";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The route prefix this component serves (spin.toml routes `/api/orders/...`).
pub const PREFIX: &str = "/api/orders";

pub fn handle(req: Request, _host: &dyn Host) -> Response {
    let path = req.path().trim_end_matches('/');
    if path == concat!("/api/orders", "/health") {
        return omni_shared::pipeline::health_response(COMPONENT, VERSION);
    }
    Response::new(404, "")
}

/// The Spin entry point. Why spin-sdk 5.2 and not the p3 SDK that Spin 4's
/// templates use? 5.2's `#[http_component]` targets wasi:http 0.2, which Spin
/// 3, Spin 4, SpinKube and managed edge platforms all run unchanged.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn entry(req: Request) -> Response {
    handle(req, &omni_shared::host::SpinHost::default())
}

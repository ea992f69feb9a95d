//! The `returns` component: one RMA system for every channel and store, with exact refunds.
//!
//! A thin HTTP edge: parse the request, check the caller, call the domain in
//! `omni_shared`, persist through the storage ports, render the response.
//! [`handle`] is plain Rust over spin-sdk's Request/Response values so it is
//! tested natively; only [`entry`] is wasm-specific.

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "returns";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[Route::new(Method::Get, "/api/returns/health", health)];

pub fn handle(req: Request, host: &dyn Host) -> Response {
    pipeline::serve(COMPONENT, ROUTES, req, host)
}

fn health(_: &Ctx<'_>) -> Result<Response, Problem> {
    Ok(pipeline::health_response(COMPONENT, VERSION))
}

/// The Spin entry point. Why spin-sdk 5.2 and not the p3 SDK that Spin 4's
/// templates use? 5.2's `#[http_component]` targets wasi:http 0.2, which Spin
/// 3, Spin 4, SpinKube and managed edge platforms all run unchanged.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn entry(req: Request) -> Response {
    handle(req, &omni_shared::host::SpinHost::default())
}

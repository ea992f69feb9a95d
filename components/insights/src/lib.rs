//! The `insights` component: the figures omnichannel retail is run by, for
//! operations, under `/api/insights`, and the page that charts them at
//! `/insights/`.
//!
//! Read-only: every route reads the shared database and writes nothing
//! (the schema's indexes for these reads ship with the other migrations).
//! The definitions of the figures live in `omni_shared::insights`; this
//! crate parses the scope (dates in the retailer's time zone, the
//! `retailer_time_zone` variable; optional store and channel), checks that
//! the caller is ops, and renders.
//!
//! Why is the page served by this component and not the kiosk's? It
//! deploys with the figures it shows: an operator who runs insights gets
//! its page, and a store that runs kiosks does not carry an ops page.

mod assets;
mod figures;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "insights";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/insights/health", health),
    Route::new(Method::Get, "/api/insights/sales", figures::sales),
    Route::new(Method::Get, "/api/insights/journeys", figures::journeys),
    Route::new(Method::Get, "/api/insights/stores", figures::stores),
    Route::new(Method::Get, "/api/insights/returns", figures::returns),
    Route::new(Method::Get, "/api/insights/promotions", figures::promotions),
];

pub fn handle(req: Request, host: &dyn Host) -> Response {
    if let Some(response) = assets::PAGE.serve(&req) {
        return response;
    }
    pipeline::serve(COMPONENT, ROUTES, req, host)
}

fn health(_: &Ctx<'_>) -> Result<Response, Problem> {
    Ok(pipeline::health_response(COMPONENT, VERSION))
}

/// The Spin entry point (spin-sdk 5.2, wasi:http 0.2: see the catalog
/// component for why).
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn entry(request: spin_sdk::http::IncomingRequest, out: spin_sdk::http::ResponseOutparam) {
    omni_shared::pipeline::serve_spin(request, out, handle).await;
}

#[cfg(test)]
mod tests;

//! The `availability` component: real-time available-to-promise per store,
//! click & collect reservations that lock stock, stock feeds from the POS
//! and ERP, and fulfilment options for a basket.
//!
//! A thin HTTP edge: each module is one resource with a single path
//! parse -> check caller -> apply -> respond; the rules (ATP, labels, the
//! reservation guard, feed sequencing, ready-by, routing scores) live in
//! `omni_shared::stock`, where the pickups and returns components reuse
//! them. [`handle`] is plain Rust over spin-sdk's Request/Response values,
//! tested natively; only [`entry`] is wasm-specific.
//!
//! Who may call what:
//!
//! | routes | caller |
//! | --- | --- |
//! | lookups (`nearby`, `basket`, `fulfilment-options`, store details) | anyone (`fulfilment-options`: in a channel the caller may act in, see `omni_shared::auth::channel_claim`) |
//! | `POST /api/reservations` | the customer, or a store device for a customer in its own store |
//! | a reservation's read and release | its customer, a device of its store, ops |
//! | stock feed, sweep, settings changes | ops |
//! | a shelf's full numbers, settings reads | ops, or a device of that store |
//!
//! One SKU, store and channel get one answer: `nearby`, `basket`,
//! `fulfilment-options` and a reservation all refuse a pickup of an item
//! not sold on a shop floor (`Assortment::sold_in(Channel::Pos)`), with the
//! same reason.

mod basket;
mod feed;
mod nearby;
mod options;
mod query;
mod render;
mod reservations;
mod shelf;
mod stores;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "availability";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/availability/health", health),
    Route::new(Method::Get, "/api/availability/nearby", nearby::lookup),
    Route::new(Method::Post, "/api/availability/basket", basket::lookup),
    Route::new(
        Method::Post,
        "/api/availability/fulfilment-options",
        options::compute,
    ),
    Route::new(Method::Post, "/api/availability/feed", feed::apply),
    Route::new(Method::Get, "/api/stores/{store_id}", stores::get),
    Route::new(
        Method::Get,
        "/api/stores/{store_id}/stock/{sku}",
        shelf::get,
    ),
    Route::new(
        Method::Get,
        "/api/stores/{store_id}/stock-settings",
        shelf::get_settings,
    ),
    Route::new(
        Method::Put,
        "/api/stores/{store_id}/stock-settings",
        shelf::put_settings,
    ),
    Route::new(Method::Post, "/api/reservations", reservations::create),
    Route::new(Method::Post, "/api/reservations/sweep", reservations::sweep),
    Route::new(
        Method::Get,
        "/api/reservations/{reservation_id}",
        reservations::get,
    ),
    Route::new(
        Method::Post,
        "/api/reservations/{reservation_id}/release",
        reservations::release,
    ),
];

pub fn handle(req: Request, host: &dyn Host) -> Response {
    pipeline::serve(COMPONENT, ROUTES, req, host)
}

fn health(_: &Ctx<'_>) -> Result<Response, Problem> {
    Ok(pipeline::health_response(COMPONENT, VERSION))
}

/// The Spin entry point. Why spin-sdk 5.2 and not the p3 SDK that Spin 4's
/// templates use? 5.2's `#[http_component]` targets wasi:http 0.2, which Spin
/// 3, Spin 4, SpinKube and managed edge platforms all run unchanged.
///
/// Why the wasi:http form (request, response-outparam)? So that a body over
/// [`omni_shared::pipeline::BODY_CEILING`] is refused before it is read:
/// Spin hands the component every body whatever its size.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn entry(request: spin_sdk::http::IncomingRequest, out: spin_sdk::http::ResponseOutparam) {
    omni_shared::pipeline::serve_spin(request, out, handle).await;
}

#[cfg(test)]
mod tests;

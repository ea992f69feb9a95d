//! The `catalog` component: master data in, from the back office, and out, to
//! every channel: sellable items, base prices, channel assortment and stores.
//!
//! A thin HTTP edge: each module is one resource with a single path
//! parse -> apply -> respond; the rules (what a valid SKU, price or store is,
//! which channel may sell what) live in `omni_shared::catalog`. [`handle`] is
//! plain Rust over spin-sdk's Request/Response values, tested natively; only
//! [`entry`] is wasm-specific.

mod assortment;
mod batch;
mod items;
mod prices;
mod stores;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "catalog";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/catalog/health", health),
    Route::new(Method::Post, "/api/catalog/items", items::upsert),
    Route::new(Method::Get, "/api/catalog/items", items::list),
    Route::new(Method::Get, "/api/catalog/items/{sku}", items::get),
    Route::new(Method::Post, "/api/catalog/prices", prices::upsert),
    Route::new(Method::Post, "/api/catalog/assortment", assortment::set),
    Route::new(Method::Post, "/api/catalog/stores", stores::upsert),
    Route::new(Method::Get, "/api/catalog/stores", stores::list),
    Route::new(Method::Get, "/api/catalog/stores/{store_id}", stores::get),
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

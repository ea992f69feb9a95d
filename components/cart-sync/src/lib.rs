//! The `cart-sync` component: one cart per customer across web, app, kiosk and till.
//!
//! A thin HTTP edge: parse the request, check the caller, call the domain in
//! `omni_shared::cart`, persist through the storage ports, render the
//! response. Each module is one resource with a single path
//! parse -> apply -> respond; the rules (line edits under concurrency, the
//! guest merge, pricing through the promotion engine, checkout snapshots and
//! hand-off codes, expiry) live in the shared crate. [`handle`] is plain Rust
//! over spin-sdk's Request/Response values so it is tested natively; only
//! [`entry`] is wasm-specific. How concurrent edits combine is written down
//! in CONCURRENCY.md beside this crate.

mod carts;
mod checkouts;
mod coupons;
mod edit;
mod lines;
mod merge;
mod ops;
mod render;
mod request;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "cart-sync";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Literal routes come before `{cart_id}` ones: the router takes the first
/// match, so `/api/carts/me` is never read as a cart id.
pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/carts/health", health),
    Route::new(Method::Post, "/api/carts", carts::create),
    Route::new(Method::Get, "/api/carts/me", carts::mine),
    Route::new(Method::Get, "/api/carts/events", ops::events),
    Route::new(Method::Post, "/api/carts/expire", ops::expire),
    Route::new(
        Method::Get,
        "/api/carts/checkouts/{checkout_id}",
        checkouts::get,
    ),
    Route::new(
        Method::Get,
        "/api/carts/handoff/{code}",
        checkouts::load_by_code,
    ),
    Route::new(
        Method::Post,
        "/api/carts/handoff/{code}/complete",
        checkouts::complete,
    ),
    Route::new(Method::Get, "/api/carts/{cart_id}", carts::get),
    Route::new(Method::Post, "/api/carts/{cart_id}/lines", lines::add),
    Route::new(Method::Delete, "/api/carts/{cart_id}/lines", lines::clear),
    Route::new(Method::Put, "/api/carts/{cart_id}/lines/{sku}", lines::set),
    Route::new(
        Method::Delete,
        "/api/carts/{cart_id}/lines/{sku}",
        lines::remove,
    ),
    Route::new(
        Method::Post,
        "/api/carts/{cart_id}/coupons",
        coupons::attach,
    ),
    Route::new(
        Method::Delete,
        "/api/carts/{cart_id}/coupons/{code}",
        coupons::detach,
    ),
    Route::new(Method::Post, "/api/carts/{cart_id}/merge", merge::merge),
    Route::new(
        Method::Post,
        "/api/carts/{cart_id}/checkouts",
        checkouts::create,
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

//! The `coupons` component: one promotion engine whose answer is the same at
//! the till and in the web shop.
//!
//! A thin HTTP edge over `omni_shared::promotions`, where the engine, the
//! storage and the redemption rules live (the cart component evaluates
//! through the same functions). Each module is one resource with a single
//! path parse -> check caller -> apply -> respond; [`problems`] turns every
//! domain error into problem+json in one place. [`handle`] is plain Rust
//! over spin-sdk's Request/Response values, tested natively; only [`entry`]
//! is wasm-specific.
//!
//! Who may call what:
//! - validate: anyone (storefront, app, store devices, ops); only a customer
//!   token or a store device may name a customer;
//! - redemptions: the customer of the order, or a store device of its store;
//! - `/api/promotions/...` administration: the ops role.
//!
//! The channel a basket names is a claim the caller's credential must
//! allow, by the one rule every component applies
//! (`omni_shared::auth::channel_claim`): a guest or a customer acts in `web`
//! or `app`, a store device in `pos` or `kiosk`, ops in any channel; any
//! other claim is 403 `channel-not-allowed` and evaluates or counts nothing.
//!
//! Prices are never taken from the caller: validation and redemption price
//! the basket's SKUs from the catalog (see [`validate`] and
//! `omni_shared::promotions::cart`), so the engine's answer is computed on
//! the one base price every channel shares.

mod batches;
mod codes;
mod customers;
mod entropy;
mod problems;
mod promotions;
mod redemptions;
mod validate;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "coupons";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/coupons/health", health),
    Route::new(Method::Post, "/api/coupons/validate", validate::validate),
    Route::new(
        Method::Post,
        "/api/coupons/redemptions",
        redemptions::reserve,
    ),
    Route::new(
        Method::Get,
        "/api/coupons/redemptions/{id}",
        redemptions::get,
    ),
    Route::new(
        Method::Post,
        "/api/coupons/redemptions/{id}/commit",
        redemptions::commit,
    ),
    Route::new(
        Method::Post,
        "/api/coupons/redemptions/{id}/release",
        redemptions::release,
    ),
    Route::new(Method::Post, "/api/promotions", promotions::create),
    Route::new(Method::Get, "/api/promotions", promotions::list),
    Route::new(Method::Post, "/api/promotions/import", promotions::import),
    Route::new(Method::Post, "/api/promotions/customers", customers::upsert),
    Route::new(Method::Get, "/api/promotions/{id}", promotions::get),
    Route::new(Method::Put, "/api/promotions/{id}", promotions::replace),
    Route::new(
        Method::Post,
        "/api/promotions/{id}/pause",
        promotions::pause,
    ),
    Route::new(
        Method::Post,
        "/api/promotions/{id}/resume",
        promotions::resume,
    ),
    Route::new(
        Method::Get,
        "/api/promotions/{id}/versions/{version}",
        promotions::version,
    ),
    Route::new(Method::Post, "/api/promotions/{id}/codes", codes::add),
    Route::new(
        Method::Post,
        "/api/promotions/{id}/code-batches",
        batches::create,
    ),
    Route::new(
        Method::Get,
        "/api/promotions/{id}/code-batches",
        batches::list,
    ),
    Route::new(
        Method::Get,
        "/api/promotions/{id}/code-batches/{batch_id}",
        batches::get,
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

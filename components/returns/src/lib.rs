//! The `returns` component: one RMA system for every channel and store, with
//! exact refunds, under `/api/returns` and `/api/return-policy`.
//!
//! A thin HTTP edge: each module is one resource with a single path
//! parse -> check caller -> apply -> respond; the rules (the policy, the
//! window, refunds from what was paid, the case statuses, return codes,
//! restock and exchange reservations) live in `omni_shared::returns`.
//! [`handle`] is plain Rust over spin-sdk's Request/Response values so it is
//! tested natively; only [`entry`] is wasm-specific.
//!
//! Who may call what:
//!
//! | routes | caller |
//! | --- | --- |
//! | the policy (GET) | anyone; PUT: ops |
//! | open a return | the customer for their own order or receipt; a store device (any order, any receipt); ops |
//! | a case, the list | its customer; any store device (lists need a customer or order filter); ops |
//! | the return code | the case's customer |
//! | scan, intake, record a till receipt | a store device (the receipt: of its own store) |
//! | inspect, refund, exchange, reject, close | the device of the store that received the goods, or ops |
//!
//! The `channel` a request names is a claim its caller must be allowed
//! (`omni_shared::auth::channel_claim`): customers `web`/`app`, store
//! devices `pos`/`kiosk`, ops any channel and `back_office`; another is 403
//! `channel-not-allowed` before anything changes. Without one, the caller's
//! usual channel is recorded (app, pos, back_office).

mod body;
mod cases;
mod codes;
mod moves;
mod policy;
mod receipts;
mod render;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "returns";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/returns/health", health),
    Route::new(Method::Get, "/api/return-policy", policy::get),
    Route::new(Method::Put, "/api/return-policy", policy::put),
    Route::new(Method::Post, "/api/returns", cases::create),
    Route::new(Method::Get, "/api/returns", cases::list),
    Route::new(Method::Post, "/api/returns/lookups", codes::look_up),
    Route::new(Method::Post, "/api/returns/intakes", codes::intake),
    Route::new(Method::Post, "/api/returns/receipts", receipts::create),
    Route::new(Method::Get, "/api/returns/{case_number}", cases::get),
    Route::new(
        Method::Get,
        "/api/returns/{case_number}/return-code",
        codes::code,
    ),
    Route::new(
        Method::Post,
        "/api/returns/{case_number}/inspect",
        moves::inspect,
    ),
    Route::new(
        Method::Post,
        "/api/returns/{case_number}/refund",
        moves::refund,
    ),
    Route::new(
        Method::Post,
        "/api/returns/{case_number}/exchange",
        moves::exchange,
    ),
    Route::new(
        Method::Post,
        "/api/returns/{case_number}/reject",
        moves::reject,
    ),
    Route::new(
        Method::Post,
        "/api/returns/{case_number}/close",
        moves::close,
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

//! The `kiosk` component: the page a store kiosk or till opens full-screen
//! at `/kiosk/`, and the customer identity code under `/api/identity`.
//!
//! Two halves with one deployment:
//!
//! - [`assets`]: the page itself (HTML, one script, one style sheet, the
//!   Polish and English strings), compiled into the .wasm, so a store device
//!   needs nothing but this app: no CDN, no web fonts, no build step. The
//!   page talks to the other components' APIs with the device's token
//!   (pickups, returns, cart hand-off) and to [`identity`] here.
//! - [`identity`]: the app asks for a short-lived signed code for the
//!   signed-in customer; only a store device resolves it, into that
//!   customer's orders ready at this store, open returns and coupons. The
//!   rules live in `omni_shared::identity`.
//!
//! Why are the static files not in [`ROUTES`]? `ROUTES` is the JSON API,
//! which `openapi.yaml` documents route for route (a test enforces it); the
//! page's files are not an API, and the router's patterns cannot name the
//! directory path `/kiosk/` itself. [`handle`] serves them first, by exact
//! name, and hands everything else to the shared pipeline.

mod assets;
mod identity;

use omni_shared::host::Host;
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "kiosk";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/identity/health", health),
    Route::new(Method::Get, "/api/identity/whoami", identity::whoami),
    Route::new(Method::Post, "/api/identity/codes", identity::issue),
    Route::new(Method::Post, "/api/identity/lookups", identity::look_up),
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

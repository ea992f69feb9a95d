//! The `pickups` component: one order status model, pickup codes and status
//! notifications, under `/api/orders` and `/api/notifications`.
//!
//! A thin HTTP edge: each module is one resource with a single path
//! parse -> check caller -> apply -> respond; the rules (the transition
//! table, the SLA clock, pickup codes, message wording, Web Push crypto,
//! the outbox) live in `omni_shared::orders` and `omni_shared::notify`.
//! [`handle`] is plain Rust over spin-sdk's Request/Response values, tested
//! natively; only [`entry`] and the Spin [`outbound`] are wasm-specific.
//!
//! Who may call what:
//!
//! | routes | caller |
//! | --- | --- |
//! | place an order | the customer for themself; a device of the store, or ops, for a named customer |
//! | an order, its history, a transition | its customer, a device of its store, ops (the table says which moves each may make) |
//! | the pickup code | the order's customer |
//! | a pickup scan | a device of the order's store |
//! | sweep, outbox | ops |
//! | SLA report | ops; a store device for its own store |
//! | push subscriptions, preferences | the customer, for themself |
//! | the VAPID public key | anyone (the app needs it before login) |
//!
//! # Why is delivery after the response?
//!
//! A status change enqueues its notifications in its own transaction and
//! answers at once; the first delivery attempt runs in the same instance
//! *after* the response has been sent ([`FollowUp`]), so a slow push service
//! never slows a till, and the sweep retries what failed. wasi:http lets a
//! handler keep running once its response is complete; Spin and the local
//! edge host both honour that.

mod orders;
#[cfg(target_arch = "wasm32")]
mod outbound;
mod outbox;
mod pickup;
mod preferences;
mod render;
mod settings;
mod subscriptions;
mod sweep;
mod transitions;

use omni_shared::host::Host;
use omni_shared::notify::Outbound;
use omni_shared::notify::outbox::{DeliveryReport, Scope, deliver};
use omni_shared::pipeline::{self, Ctx, Handler};
use omni_shared::web::Problem;
use omni_shared::web::route::Route;
use spin_sdk::http::{Method, Request, Response};

pub const COMPONENT: &str = "pickups";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub static ROUTES: &[Route<Handler>] = &[
    Route::new(Method::Get, "/api/orders/health", health),
    Route::new(Method::Post, "/api/orders", orders::create),
    Route::new(Method::Get, "/api/orders", orders::list),
    Route::new(Method::Post, "/api/orders/sweep", sweep::run),
    Route::new(Method::Get, "/api/orders/sla", sweep::report),
    Route::new(
        Method::Post,
        "/api/orders/pickup-handovers",
        pickup::hand_over,
    ),
    Route::new(Method::Post, "/api/orders/pickup-lookups", pickup::lookup),
    Route::new(Method::Get, "/api/orders/{order_id}", orders::get),
    Route::new(
        Method::Get,
        "/api/orders/{order_id}/history",
        orders::history,
    ),
    Route::new(
        Method::Post,
        "/api/orders/{order_id}/transitions",
        transitions::apply,
    ),
    Route::new(
        Method::Get,
        "/api/orders/{order_id}/pickup-code",
        pickup::code,
    ),
    Route::new(
        Method::Get,
        "/api/notifications/vapid-public-key",
        subscriptions::vapid_key,
    ),
    Route::new(
        Method::Post,
        "/api/notifications/push-subscriptions",
        subscriptions::register,
    ),
    Route::new(
        Method::Get,
        "/api/notifications/push-subscriptions",
        subscriptions::list,
    ),
    Route::new(
        Method::Delete,
        "/api/notifications/push-subscriptions/{subscription_id}",
        subscriptions::remove,
    ),
    Route::new(
        Method::Get,
        "/api/notifications/preferences",
        preferences::get,
    ),
    Route::new(
        Method::Put,
        "/api/notifications/preferences",
        preferences::put,
    ),
    Route::new(Method::Get, "/api/notifications/outbox", outbox::list),
];

pub fn handle(req: Request, host: &dyn Host) -> Response {
    pipeline::serve(COMPONENT, ROUTES, req, host)
}

fn health(_: &Ctx<'_>) -> Result<Response, Problem> {
    Ok(pipeline::health_response(COMPONENT, VERSION))
}

/// Deliveries at most per follow-up: an order's own (a push per device and
/// the gateway), or a batch for the sweep (a larger backlog takes another).
const ORDER_LIMIT: u32 = 20;
const SWEEP_LIMIT: u32 = 200;

/// What the instance does once its response is out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    Nothing,
    /// The first attempts of what a write just queued for this order.
    Order(String),
    /// Every due notification, retries included (after the sweep).
    Sweep,
}

impl FollowUp {
    /// Successful POSTs under `/api/orders` may have queued notifications:
    /// the sweep's are delivered as a batch, an order's (placed, moved,
    /// scanned) right away; the order is the one the answer names.
    pub fn after(method: &Method, path: &str, response: &Response) -> FollowUp {
        if *method != Method::Post || !(200..300).contains(response.status()) {
            return FollowUp::Nothing;
        }
        if path == "/api/orders/sweep" {
            return FollowUp::Sweep;
        }
        if path != "/api/orders" && !path.starts_with("/api/orders/") {
            return FollowUp::Nothing;
        }
        // Only the id is read; serde skips the rest of the body unbuilt,
        // since this runs before the response goes out.
        #[derive(serde::Deserialize)]
        struct Named {
            order_id: String,
        }
        serde_json::from_slice::<Named>(response.body())
            .map_or(FollowUp::Nothing, |named| FollowUp::Order(named.order_id))
    }

    /// Delivers through `outbound`. Failures are logged: the rows stay in
    /// the outbox for the sweep.
    pub fn run(self, host: &dyn Host, outbound: &dyn Outbound) -> Option<DeliveryReport> {
        let (scope, limit) = match &self {
            FollowUp::Nothing => return None,
            FollowUp::Order(order) => (Scope::NewFor(order), ORDER_LIMIT),
            FollowUp::Sweep => (Scope::Due, SWEEP_LIMIT),
        };
        let config = settings::delivery_config(host);
        let cache = host.key_value().ok();
        let outcome = host.sql().and_then(|sql| {
            deliver(
                sql,
                cache,
                outbound,
                &config,
                scope,
                host.clock().now(),
                limit,
            )
        });
        match outcome {
            Ok(report) => Some(report),
            Err(e) => {
                eprintln!("pickups: delivering notifications: {e}");
                None
            }
        }
    }
}

/// The Spin entry point. Why spin-sdk 5.2 and not the p3 SDK that Spin 4's
/// templates use? 5.2's `#[http_component]` targets wasi:http 0.2, which Spin
/// 3, Spin 4, SpinKube and managed edge platforms all run unchanged.
///
/// Why the wasi:http form (request, response-outparam)? It lets the
/// response go out complete before the notifications are delivered (see
/// the module docs).
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn entry(request: spin_sdk::http::IncomingRequest, out: spin_sdk::http::ResponseOutparam) {
    let host = omni_shared::host::SpinHost::default();
    let (response, follow_up) = match omni_shared::pipeline::read_request(request, &host) {
        Ok(req) => {
            let (method, path) = (req.method().clone(), req.path().to_owned());
            let trace = omni_shared::pipeline::trace_label(&req);
            let response = handle(req, &host);
            omni_shared::pipeline::report_statements(trace, response.status().to_owned());
            let follow_up = FollowUp::after(&method, &path, &response);
            (response, follow_up)
        }
        Err(refused) => (refused, FollowUp::Nothing),
    };
    omni_shared::pipeline::respond(out, response).await;
    follow_up.run(&host, &outbound::SpinOutbound);
}

#[cfg(test)]
mod tests;

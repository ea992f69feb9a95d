//! The customer identity code over HTTP: the app asks for one, a store
//! device scans it, and any signed-in device asks who it is.
//!
//! | route | caller |
//! | --- | --- |
//! | `POST /api/identity/codes` | a customer, for themself |
//! | `POST /api/identity/lookups` | a store device; the answer is about its own store |
//! | `GET /api/identity/whoami` | any signed-in caller (the kiosk's header) |

use omni_shared::auth::Caller;
use omni_shared::identity::{self, IdentityCode};
use omni_shared::orders::{Order, timestamp};
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::ActivePromotion;
use omni_shared::returns::Rma;
use omni_shared::stock::{StockError, load_store};
use omni_shared::web::{Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// `POST /api/identity/codes`: a fresh code and its QR for the signed-in
/// customer. The body is empty or `{}`; nothing is stored, so issuing
/// again is harmless and needs no Idempotency-Key.
pub fn issue(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let customer = caller.require_customer()?;
    if !ctx.req.body().is_empty() {
        let _: EmptyBody = parse_json(ctx.req)?;
    }
    let issued = IdentityCode::issue(customer, &ctx.code_signing_secret()?, ctx.now());
    let qr_svg = omni_shared::qr::svg(issued.code()).map_err(|e| Problem::internal(&e))?;
    let mut response = json_response(
        200,
        &json!({
            "customer_id": customer.as_str(),
            "code": issued.code(),
            "qr_svg": qr_svg,
            "expires_at": timestamp(issued.expires_at()),
        }),
    );
    // The code stands for the customer for five minutes: never cached.
    response.set_header("cache-control", "no-store");
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyBody {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    code: String,
}

/// `POST /api/identity/lookups` `{code}`: a store device resolves a
/// customer's code into what the customer has at this store.
pub fn look_up(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let store = caller.require_store()?;
    let body: ScanBody = parse_json(ctx.req)?;
    let now = ctx.now();
    let customer = identity::resolve(&body.code, &ctx.code_signing_secret()?, now)?;
    let found = identity::at_store(ctx.sql()?, &customer, store, now)?;
    let mut response = json_response(
        200,
        &json!({
            "customer_id": found.customer.as_str(),
            "store_id": store.as_str(),
            "orders_ready_here": found.orders_ready_here.iter().map(order).collect::<Vec<_>>(),
            "coupons": found.coupons.iter().map(coupon).collect::<Vec<_>>(),
            "open_returns": found.open_returns.iter().map(open_return).collect::<Vec<_>>(),
        }),
    );
    response.set_header("cache-control", "no-store");
    Ok(response)
}

/// What the till needs to find the parcel and hand it over: lines, what
/// was paid, the pickup window, and the version for a conditional hand-over
/// (`If-Match` on the order's transition).
fn order(order: &Order) -> Value {
    json!({
        "order_id": order.id.as_str(),
        "status": order.status.as_str(),
        "version": order.version,
        "lines": order.lines.iter().map(|l| json!({
            "sku": l.sku.as_str(),
            "name": l.name,
            "quantity": l.quantity,
            "paid": l.paid,
        })).collect::<Vec<_>>(),
        "total_paid": order.total_paid,
        "ready_at": order.ready_at.map(timestamp),
        "pickup_until": order.pickup_until.map(timestamp),
    })
}

/// Enough to tell the customer where their return stands and to find the
/// case; the full case is the returns component's.
fn open_return(rma: &Rma) -> Value {
    json!({
        "rma_id": rma.id.as_str(),
        "case_number": rma.case_number.to_string(),
        "status": rma.status.as_str(),
        "order_id": rma.source_id,
        "lines": rma.lines.iter().map(|l| json!({
            "sku": l.sku.as_str(),
            "name": l.name,
            "quantity": l.quantity,
        })).collect::<Vec<_>>(),
        "refund_total": rma.refund_total(),
    })
}

fn coupon(active: &ActivePromotion) -> Value {
    let promotion = &active.promotion;
    json!({
        "promotion_id": promotion.id().to_string(),
        "name": promotion.name(),
        "kind": promotion.benefit().kind(),
        "benefit": promotion.to_row().benefit,
        "ends_at": promotion.window().ends_at().map(timestamp),
    })
}

/// `GET /api/identity/whoami`: the verified caller, and for a store device
/// the store it acts for (name and address from the catalog), which the
/// kiosk shows in its header so staff see at once which store a device
/// serves. A store the catalog does not know is `store: null`, not an
/// error: the device can still work, and the header says so.
pub fn whoami(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    let body = match &caller {
        Caller::Anonymous => return Err(Problem::unauthorized("sign in with a bearer token")),
        Caller::Customer(id) => json!({ "role": "customer", "customer_id": id.as_str() }),
        Caller::Ops { operator } => json!({ "role": "ops", "operator": operator }),
        Caller::StoreDevice { store, device } => {
            let found = match load_store(ctx.sql()?, store) {
                Ok(found) => Some(found),
                Err(StockError::UnknownStore(_)) => None,
                Err(e) => return Err(Problem::from(e)),
            };
            json!({
                "role": "store",
                "store_id": store.as_str(),
                "device": device,
                "store": found.map(|s| json!({
                    "store_id": s.id().as_str(),
                    "name": s.name(),
                    "city": s.address().city(),
                    "street": s.address().street(),
                    "time_zone": s.time_zone().to_string(),
                })),
            })
        }
    };
    let mut response = json_response(200, &body);
    response.set_header("cache-control", "no-store");
    Ok(response)
}

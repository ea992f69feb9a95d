//! Web Push subscriptions of the signed-in customer, and the VAPID public
//! key the app subscribes with.

use crate::settings;
use omni_shared::notify::subscriptions::{self, Stored};
use omni_shared::notify::{PushSubscription, SubscriptionId};
use omni_shared::orders::timestamp;
use omni_shared::pipeline::Ctx;
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// The browser's `PushSubscription.toJSON()`, as the app posts it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionBody {
    endpoint: String,
    /// Browsers send it (usually `null`); push services report expiry by
    /// 404/410, which is what is acted on.
    #[serde(default, rename = "expirationTime")]
    _expiration_time: Option<Value>,
    keys: KeysBody,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysBody {
    p256dh: String,
    auth: String,
}

fn rendered(stored: &Stored) -> Value {
    json!({
        "subscription_id": stored.id.as_str(),
        "endpoint": stored.subscription.endpoint(),
        "created_at": timestamp(stored.created_at),
        "updated_at": timestamp(stored.updated_at),
    })
}

/// `POST /api/notifications/push-subscriptions`: 201 when new, 200 when the
/// same endpoint was registered again.
pub fn register(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let customer = ctx.caller()?.require_customer()?.clone();
    let body: SubscriptionBody = parse_json(ctx.req)?;
    let subscription = PushSubscription::parse(
        &body.endpoint,
        &body.keys.p256dh,
        &body.keys.auth,
        settings::allow_http_push(ctx),
    )?;
    let (stored, new) = subscriptions::register(ctx.sql()?, &customer, &subscription, ctx.now())?;
    let mut response = json_response(if new { 201 } else { 200 }, &rendered(&stored));
    response.set_header(
        "location",
        format!("/api/notifications/push-subscriptions/{}", stored.id),
    );
    Ok(response)
}

/// `GET /api/notifications/push-subscriptions`.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let customer = ctx.caller()?.require_customer()?.clone();
    let query = Query::parse(ctx.req.query())?.only(&["limit", "cursor"])?;
    let page = PageRequest::parse(query.get("limit"), query.get("cursor"), 50, 100, 1)?;
    let all = subscriptions::list(ctx.sql()?, &customer)?;
    let (all, next_cursor) = page.page_of(all, |s| s.id.to_string());
    Ok(json_response(
        200,
        &json!({ "subscriptions": all.iter().map(rendered).collect::<Vec<_>>(), "next_cursor": next_cursor }),
    ))
}

/// `DELETE /api/notifications/push-subscriptions/{subscription_id}`: 204.
pub fn remove(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let customer = ctx.caller()?.require_customer()?.clone();
    let id = SubscriptionId::parse(ctx.param("subscription_id"))?;
    subscriptions::remove(ctx.sql()?, &customer, &id)?;
    Ok(Response::new(204, ()))
}

/// `GET /api/notifications/vapid-public-key`: what the app passes to
/// `pushManager.subscribe` as `applicationServerKey`.
pub fn vapid_key(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    match settings::vapid(ctx.host)? {
        Some(vapid) => {
            let mut response = json_response(200, &json!({ "public_key": vapid.public_key() }));
            response.set_header("cache-control", "public, max-age=3600");
            Ok(response)
        }
        None => Err(
            Problem::new(404, "web-push-disabled", "Web Push Disabled").with_detail(
                "this deployment has no VAPID key (vapid_private_key), so it sends no Web Push",
            ),
        ),
    }
}

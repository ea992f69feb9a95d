//! The component's Spin variables, read per request (Spin gives each
//! request a fresh instance) and checked, naming the variable on error.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `pickup_sla_alert_percent` | 80 | share of the SLA after which an unready order is at risk |
//! | `pickup_expiry_days` | 7 | days a ready order waits before it expires |
//! | `vapid_private_key` | empty: Web Push off | P-256 key, base64url (32 bytes) or PEM |
//! | `vapid_subject` | `mailto:` contact | RFC 8292 `sub` claim |
//! | `notification_webhook_url` | empty: webhook off | the e-mail/SMS gateway or push relay |
//! | `notification_webhook_secret` | empty | HMAC-SHA256 key, at least 32 bytes |
//! | `push_allow_http_endpoints` | `false` | tests only: accept `http://` push endpoints |

use omni_shared::host::Host;
use omni_shared::notify::outbox::DeliveryConfig;
use omni_shared::notify::{Vapid, WebhookTarget};
use omni_shared::orders::OrderPolicy;
use omni_shared::orders::transition::Settings;
use omni_shared::pipeline::Ctx;
use omni_shared::web::Problem;

fn variable(host: &dyn Host, name: &str) -> Option<String> {
    host.variable(name)
        .ok()
        .flatten()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn misconfigured(name: &str, why: &dyn std::fmt::Display) -> Problem {
    Problem::internal(&format!("component \"pickups\": variable {name}: {why}"))
}

/// The SLA/expiry policy and whether the webhook is on.
pub fn order_settings(ctx: &Ctx<'_>) -> Result<Settings, Problem> {
    let policy = OrderPolicy::from_settings(
        variable(ctx.host, "pickup_sla_alert_percent").as_deref(),
        variable(ctx.host, "pickup_expiry_days").as_deref(),
    )
    .map_err(Problem::from)?;
    let webhook_configured = webhook(ctx.host)?.is_some();
    Ok(Settings {
        policy,
        webhook_configured,
    })
}

/// The gateway webhook, if configured; a URL without a usable secret is a
/// deployment error, not "off".
pub fn webhook(host: &dyn Host) -> Result<Option<WebhookTarget>, Problem> {
    let Some(url) = variable(host, "notification_webhook_url") else {
        return Ok(None);
    };
    let secret = variable(host, "notification_webhook_secret").unwrap_or_default();
    WebhookTarget::new(&url, secret.as_bytes())
        .map(Some)
        .map_err(|e| {
            let name = match e {
                omni_shared::notify::webhook::WebhookError::BadUrl => "notification_webhook_url",
                omni_shared::notify::webhook::WebhookError::WeakSecret => {
                    "notification_webhook_secret"
                }
            };
            misconfigured(name, &e)
        })
}

/// The VAPID identity, if Web Push is configured.
pub fn vapid(host: &dyn Host) -> Result<Option<Vapid>, Problem> {
    let Some(key) = variable(host, "vapid_private_key") else {
        return Ok(None);
    };
    let subject = variable(host, "vapid_subject").unwrap_or_default();
    Vapid::parse(&key, &subject).map(Some).map_err(|e| {
        let name = match e {
            omni_shared::notify::webpush::VapidError::BadSubject => "vapid_subject",
            _ => "vapid_private_key",
        };
        misconfigured(name, &e)
    })
}

/// The senders for a delivery run; a misconfigured one is logged (by
/// [`Problem::internal`]) and left out, so its rows wait with the reason.
pub fn delivery_config(host: &dyn Host) -> DeliveryConfig {
    let total = variable(host, "notification_timeout_ms")
        .and_then(|ms| ms.parse::<u64>().ok())
        .filter(|ms| (100..=60_000).contains(ms))
        .map(std::time::Duration::from_millis);
    let timeouts = total.map_or_else(omni_shared::notify::Timeouts::default, |total| {
        omni_shared::notify::Timeouts {
            connect: total / 2,
            total,
        }
    });
    DeliveryConfig {
        vapid: vapid(host).ok().flatten(),
        webhook: webhook(host).ok().flatten(),
        timeouts,
    }
}

/// Whether `http://` push endpoints are accepted: only where a test
/// manifest says so (a local push receiver); real push services are https.
pub fn allow_http_push(ctx: &Ctx<'_>) -> bool {
    variable(ctx.host, "push_allow_http_endpoints").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

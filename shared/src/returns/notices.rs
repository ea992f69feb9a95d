//! The customer's return status messages, queued in the same outbox and on
//! the same channels as pickup notifications (see [`crate::notify`]).
//!
//! A row is inserted in the case's own transaction with the outbox's
//! dedupe key `(order_id, event, channel, recipient)`, where `order_id`
//! holds the case number (the subject the customer knows) and `event` is
//! `return_<status>`. The pickups component's delivery (its sweep, and any
//! run over due rows) sends them: the returns component has no outbound
//! hosts of its own, so a slow push service never slows a kiosk intake.
//! The webhook row is queued only when the deployment gives the returns
//! component `notification_webhook_url` too, as for pickups.

use super::model::Rma;
use super::status::RmaStatus;
use super::timestamp;
use crate::notify::{Locale, preferences, subscriptions};
use crate::storage::{Sql, StorageError};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The statuses a customer is told about; `inspected` and `closed` are
/// back-room steps.
pub fn event(status: RmaStatus) -> Option<&'static str> {
    match status {
        RmaStatus::Opened => Some("return_opened"),
        RmaStatus::Received => Some("return_received"),
        RmaStatus::Refunded => Some("return_refunded"),
        RmaStatus::Exchanged => Some("return_exchanged"),
        RmaStatus::Rejected => Some("return_rejected"),
        RmaStatus::Inspected | RmaStatus::Closed => None,
    }
}

/// The title and body for `rma` in its current status.
pub fn render(rma: &Rma, locale: Locale) -> (String, String) {
    let n = rma.case_number.as_str();
    let store = rma
        .received
        .as_ref()
        .map(|(s, _)| s.as_str())
        .unwrap_or_default();
    let refund = rma
        .refunded
        .as_ref()
        .map(|(m, _)| m.to_string())
        .unwrap_or_else(|| rma.refund_total().to_string());
    match (locale, rma.status) {
        (Locale::Pl, RmaStatus::Opened) => (
            format!("Zwrot {n} otwarty"),
            "Pokaż kod zwrotu z aplikacji w dowolnym naszym sklepie. Etykieta nie jest potrzebna."
                .to_owned(),
        ),
        (Locale::Pl, RmaStatus::Received) => (
            format!("Zwrot {n} przyjęty"),
            format!("Przyjęliśmy zwracane produkty w sklepie {store}."),
        ),
        (Locale::Pl, RmaStatus::Refunded) => (
            format!("Zwrot {n} rozliczony"),
            format!("Zwracamy {refund}."),
        ),
        (Locale::Pl, RmaStatus::Exchanged) => (
            format!("Wymiana {n} gotowa"),
            "Nowy rozmiar czeka na Ciebie w sklepie.".to_owned(),
        ),
        (Locale::Pl, _) => (
            format!("Zwrot {n} odrzucony"),
            "Skontaktuj się ze sklepem, aby poznać szczegóły.".to_owned(),
        ),
        (Locale::En, RmaStatus::Opened) => (
            format!("Return {n} opened"),
            "Show the return code in the app at any of our stores. No label needed.".to_owned(),
        ),
        (Locale::En, RmaStatus::Received) => (
            format!("Return {n} received"),
            format!("We received your items at store {store}."),
        ),
        (Locale::En, RmaStatus::Refunded) => (
            format!("Return {n} refunded"),
            format!("We are refunding {refund}."),
        ),
        (Locale::En, RmaStatus::Exchanged) => (
            format!("Exchange {n} ready"),
            "Your new size is waiting for you in the store.".to_owned(),
        ),
        (Locale::En, _) => (
            format!("Return {n} rejected"),
            "Please contact the store for the details.".to_owned(),
        ),
    }
}

/// Queues the message for `rma`'s current status on every channel the
/// customer allows; a case without a customer (an anonymous till sale)
/// has no one to tell. Returns how many rows were new.
pub fn enqueue(
    tx: &dyn Sql,
    rma: &Rma,
    webhook_configured: bool,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let (Some(customer), Some(event)) = (&rma.customer, event(rma.status)) else {
        return Ok(0);
    };
    let prefs = preferences::load(tx, customer)?;
    let locale = prefs.locale.unwrap_or(rma.locale);
    let (title, body) = render(rma, locale);
    let n = rma.case_number.as_str();
    let data = json!({
        "case_number": n,
        "status": rma.status.as_str(),
        "order_id": rma.source_id,
        "refund_total": rma.refund_total(),
        "received_store_id": rma.received.as_ref().map(|(s, _)| s.as_str()),
    });
    let mut added = 0;
    if prefs.push {
        let push = json!({
            "order_id": n, "event": event, "title": title, "body": body, "lang": locale.as_str(),
            "tag": format!("return-{n}"), "url": format!("/returns/{n}"), "data": data,
        });
        for id in subscriptions::ids_for(tx, customer)? {
            added += insert(tx, n, event, "web_push", id.as_str(), &push, now)?;
        }
    }
    let channels = prefs.gateway_channels();
    if webhook_configured && !channels.is_empty() {
        let hook = json!({
            "type": "return.status_changed", "audience": "customer", "order_id": n, "event": event,
            "customer_id": customer.as_str(), "channels": channels, "marketing_consent": prefs.marketing_consent,
            "locale": locale.as_str(), "message": {"title": title, "body": body}, "data": data,
            "occurred_at": timestamp(now),
        });
        added += insert(tx, n, event, "webhook", "gateway", &hook, now)?;
    }
    Ok(added)
}

fn insert(
    tx: &dyn Sql,
    subject: &str,
    event: &str,
    channel: &str,
    recipient: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let at = timestamp(now);
    let rows = tx.execute(
        "INSERT INTO notification_outbox (order_id, event, channel, recipient, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (order_id, event, channel, recipient) DO NOTHING RETURNING id",
        &[subject.into(), event.into(), channel.into(), recipient.into(), payload.to_string().into(), at.into()],
    )?;
    Ok(u32::from(!rows.is_empty()))
}

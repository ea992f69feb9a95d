//! The outbox: notifications are inserted here inside the transaction that
//! changes the order, and delivered from here afterwards (see the module
//! docs of [`crate::notify`] for the guarantees).
//!
//! A row's life:
//!
//! ```text
//!  pending ──claim (lease)──▶ sending ──2xx──▶ delivered
//!     ▲                          │
//!     └──── backoff ◀── error ───┤── push 404/410 ──▶ dropped (subscription forgotten)
//!                                └── MAX_ATTEMPTS reached ──▶ failed
//! ```
//!
//! "Sending" is not a state in SQL: it is a pending row whose
//! `claimed_until` lies in the future. Whoever claims it (one guarded
//! UPDATE) owns the attempt until the lease ends; the outcome is written
//! with the lease as a compare-and-swap token, so a deliverer that lost its
//! lease (it ran past it) cannot overwrite the next owner's result.

use super::message::{Event, Locale, Message};
use super::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse, Timeouts};
use super::preferences::Preferences;
use super::subscriptions;
use super::webhook::WebhookTarget;
use super::webpush::{self, Vapid};
use super::{parse_timestamp, timestamp};
use crate::ids::{CustomerId, StoreId};
use crate::storage::{KeyValue, Row, Sql, StorageError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

/// Attempts before a row is given up as `failed` (about 2 hours of
/// backoff in all: enough to ride out a receiver's outage or deploy).
pub const MAX_ATTEMPTS: i64 = 8;
/// How long one claim lasts: far longer than one HTTP call may take.
pub const LEASE: Duration = Duration::seconds(60);
/// How long a push service keeps an undelivered message for an offline
/// phone: a day covers a pickup notice's useful life.
pub const PUSH_TTL_SECONDS: u32 = 86_400;

/// The wait before attempt `n + 1` after `n` failed attempts: 30 s, 1 min,
/// 2 min, ... doubling, capped at 6 hours.
pub fn backoff(failed_attempts: i64) -> Duration {
    let exponent = (failed_attempts.max(1) - 1).min(20) as u32;
    Duration::seconds(30 * 2_i64.pow(exponent)).min(Duration::hours(6))
}

/// Which rows a delivery run takes.
///
/// Why does the run after a request take only that order's new rows? Its
/// cost is then bounded by what the request itself queued (a push per
/// device, a webhook call), so a backlog left by an outage never lands on
/// the next till's request; the sweep owns backlogs and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The never-tried rows of one order: the first attempt, right after
    /// the request that queued them has answered.
    NewFor(&'a str),
    /// Every row that is due, retries included: the sweep.
    Due,
}

/// The senders, as configured by the deployment; a missing one leaves its
/// rows pending (with the reason) until it is configured.
#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    pub vapid: Option<Vapid>,
    pub webhook: Option<WebhookTarget>,
    /// Per call: connecting, and the whole answer.
    pub timeouts: Timeouts,
}

/// How many calls one delivery run has in flight at once.
pub const CONCURRENCY: usize = 8;

/// How long one delivery run may go on starting calls: well under any edge
/// runtime's request deadline, so the run always records what it did.
pub const RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(12);

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub attempted: u32,
    pub delivered: u32,
    pub retrying: u32,
    pub failed: u32,
    pub dropped: u32,
}

/// What a notification says and about which order, before it has
/// recipients.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice<'a> {
    pub order_id: &'a str,
    pub event: Event,
    pub locale: Locale,
    pub message: &'a Message,
    /// Extra members the receiver may use (status, store, tracking link).
    pub data: Value,
}

/// Queues `notice` for the customer on every channel they allow: one push
/// per registered subscription, and one webhook call for the gateway when
/// one is configured and the customer allows any of its channels. Returns
/// how many rows were new (a repeat of the same event adds none).
///
/// `prefs` are the customer's, read by the caller in the same transaction
/// (it needs them first, to choose the message's language).
pub fn enqueue_for_customer(
    tx: &dyn Sql,
    notice: &Notice<'_>,
    customer: &CustomerId,
    prefs: &Preferences,
    webhook_configured: bool,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let subscriptions = if prefs.push {
        subscriptions::ids_for(tx, customer)?
    } else {
        Vec::new()
    };
    enqueue_for_recipients(
        tx,
        notice,
        customer,
        prefs,
        &subscriptions,
        webhook_configured,
        now,
    )
}

/// [`enqueue_for_customer`] with the customer's push subscriptions read by
/// the caller (before its transaction, to keep the lock short): a
/// subscription registered in between gets the next notice, as it would
/// had it come a moment later.
pub fn enqueue_for_recipients(
    tx: &dyn Sql,
    notice: &Notice<'_>,
    customer: &CustomerId,
    prefs: &Preferences,
    subscriptions: &[subscriptions::SubscriptionId],
    webhook_configured: bool,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let mut added = 0;
    for row in rows_for_recipients(
        notice,
        customer,
        prefs,
        subscriptions,
        webhook_configured,
        now,
    ) {
        added += insert(tx, notice, row.channel, &row.recipient, &row.payload, now)?;
    }
    Ok(added)
}

/// One outbox row to queue: the channel, who receives it, what is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub channel: &'static str,
    pub recipient: String,
    pub payload: Value,
}

/// The rows [`enqueue_for_recipients`] queues, for a caller that writes
/// them itself (an order move in one statement).
pub fn rows_for_recipients(
    notice: &Notice<'_>,
    customer: &CustomerId,
    prefs: &Preferences,
    subscriptions: &[subscriptions::SubscriptionId],
    webhook_configured: bool,
    now: DateTime<Utc>,
) -> Vec<OutboxRow> {
    let mut rows = Vec::new();
    if prefs.push {
        let push = json!({
            "order_id": notice.order_id,
            "event": notice.event.as_str(),
            "title": notice.message.title,
            "body": notice.message.body,
            "lang": notice.locale.as_str(),
            "tag": format!("order-{}", notice.order_id),
            "url": format!("/orders/{}", notice.order_id),
            "data": notice.data,
        });
        for id in subscriptions {
            rows.push(OutboxRow {
                channel: "web_push",
                recipient: id.as_str().to_owned(),
                payload: push.clone(),
            });
        }
    }
    let channels = prefs.gateway_channels();
    if webhook_configured && !channels.is_empty() {
        let hook = json!({
            "type": notice.event.webhook_type(),
            "audience": "customer",
            "order_id": notice.order_id,
            "event": notice.event.as_str(),
            "customer_id": customer.as_str(),
            "channels": channels,
            "marketing_consent": prefs.marketing_consent,
            "locale": notice.locale.as_str(),
            "message": notice.message,
            "data": notice.data,
            "occurred_at": timestamp(now),
        });
        rows.push(OutboxRow {
            channel: "webhook",
            recipient: "gateway".to_owned(),
            payload: hook,
        });
    }
    rows
}

/// Queues a store alert (SLA at risk or breached) for the gateway, which
/// forwards it to the store's devices or staff. Without a configured
/// webhook the alert is still visible in the order and the store's list.
pub fn enqueue_for_store(
    tx: &dyn Sql,
    notice: &Notice<'_>,
    store: &StoreId,
    webhook_configured: bool,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    if !webhook_configured {
        return Ok(0);
    }
    let hook = json!({
        "type": notice.event.webhook_type(),
        "audience": "store",
        "order_id": notice.order_id,
        "event": notice.event.as_str(),
        "store_id": store.as_str(),
        "locale": notice.locale.as_str(),
        "message": notice.message,
        "data": notice.data,
        "occurred_at": timestamp(now),
    });
    insert(tx, notice, "webhook", "gateway", &hook, now)
}

fn insert(
    tx: &dyn Sql,
    notice: &Notice<'_>,
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
        &[
            notice.order_id.into(),
            notice.event.as_str().into(),
            channel.into(),
            recipient.into(),
            payload.to_string().into(),
            at.into(),
        ],
    )?;
    Ok(u32::from(!rows.is_empty()))
}

/// How many rows are due at `now` (what a delivery run would take).
pub fn due_count(sql: &dyn Sql, now: DateTime<Utc>) -> Result<i64, StorageError> {
    sql.execute(
        "SELECT count(*) AS n FROM notification_outbox
         WHERE state = 'pending' AND next_attempt_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)",
        &[timestamp(now).into()],
    )?
    .first()
    .map(|r| r.integer("n"))
    .transpose()
    .map(Option::unwrap_or_default)
}

/// Delivers up to `limit` rows of `scope`, one at a time, with no
/// transaction open while a receiver is called.
///
/// `cache` (the key-value store) keeps VAPID headers between runs; without
/// it every push is signed afresh.
pub fn deliver(
    sql: &dyn Sql,
    cache: Option<&dyn KeyValue>,
    outbound: &dyn Outbound,
    config: &DeliveryConfig,
    scope: Scope<'_>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<DeliveryReport, StorageError> {
    let candidates = match scope {
        Scope::NewFor(order) => sql.execute(
            "SELECT id, attempts FROM notification_outbox
             WHERE order_id = ?3 AND state = 'pending' AND attempts = 0 AND next_attempt_at <= ?1
               AND (claimed_until IS NULL OR claimed_until <= ?1)
             ORDER BY id LIMIT ?2",
            &[timestamp(now).into(), limit.into(), order.into()],
        )?,
        Scope::Due => sql.execute(
            "SELECT id, attempts FROM notification_outbox
             WHERE state = 'pending' AND next_attempt_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
             ORDER BY next_attempt_at, id LIMIT ?2",
            &[timestamp(now).into(), limit.into()],
        )?,
    };
    let mut report = DeliveryReport::default();
    // Claim every candidate first (each claim counts its attempt before any
    // call, so a run killed mid-call still moves the row towards its
    // limit), prepare what needs no call, then send the rest in batches.
    let mut to_send: Vec<(Claim, OutboundRequest)> = Vec::new();
    for row in candidates.iter() {
        let id = row.integer("id")?;
        if row.integer("attempts")? >= MAX_ATTEMPTS {
            if give_up(sql, id, now)? {
                report.failed += 1;
            }
            continue;
        }
        let Some(claim) = claim(sql, id, now)? else {
            continue; // another deliverer took it
        };
        report.attempted += 1;
        match prepare(sql, cache, config, &claim, now)? {
            Prepared::Send(request) => to_send.push((claim, request)),
            Prepared::Settled(outcome) => {
                report.count(&outcome, claim.attempts);
                settle(sql, &claim, outcome, now)?;
            }
        }
    }
    let started = std::time::Instant::now();
    let mut batches = to_send.chunks(CONCURRENCY);
    for batch in batches.by_ref() {
        let requests: Vec<OutboundRequest> = batch.iter().map(|(_, r)| r.clone()).collect();
        let answers = outbound.send_all(&requests, config.timeouts);
        for ((claim, _), answer) in batch.iter().zip(answers) {
            let outcome = interpret(sql, claim, answer)?;
            report.count(&outcome, claim.attempts);
            settle(sql, claim, outcome, now)?;
        }
        if started.elapsed() + config.timeouts.total > RUN_BUDGET {
            break;
        }
    }
    // Out of budget: the rest were not tried; their attempts do not count.
    for batch in batches {
        for (claim, _) in batch {
            report.attempted -= 1;
            unclaim(sql, claim)?;
        }
    }
    Ok(report)
}

impl DeliveryReport {
    fn count(&mut self, outcome: &Outcome, attempts: i64) {
        match outcome {
            Outcome::Delivered(_) => self.delivered += 1,
            Outcome::Retry { .. } if attempts >= MAX_ATTEMPTS => self.failed += 1,
            Outcome::Retry { .. } => self.retrying += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Drop { .. } => self.dropped += 1,
        }
    }
}

/// A row whose every attempt so far died unfinished (the instance was
/// killed mid-call, so no attempt was ever settled) stops at the limit too:
/// `failed`, and no further call.
fn give_up(sql: &dyn Sql, id: i64, now: DateTime<Utc>) -> Result<bool, StorageError> {
    let rows = sql.execute(
        "UPDATE notification_outbox SET state = 'failed', claimed_until = NULL,
             last_error = COALESCE(last_error, 'no attempt finished') || ' (gave up after ' || attempts || ' attempts)'
         WHERE id = ?1 AND state = 'pending' AND attempts >= ?2 AND (claimed_until IS NULL OR claimed_until <= ?3)
         RETURNING id",
        &[id.into(), MAX_ATTEMPTS.into(), timestamp(now).into()],
    )?;
    Ok(!rows.is_empty())
}

/// Gives a claimed row back untried: its attempt is not counted.
fn unclaim(sql: &dyn Sql, claim: &Claim) -> Result<(), StorageError> {
    sql.execute(
        "UPDATE notification_outbox SET claimed_until = NULL, attempts = attempts - 1
         WHERE id = ?1 AND claimed_until = ?2",
        &[claim.id.into(), claim.lease.as_str().into()],
    )
    .map(drop)
}

struct Claim {
    id: i64,
    order_id: String,
    event: String,
    channel: String,
    recipient: String,
    payload: String,
    attempts: i64,
    lease: String,
}

enum Outcome {
    Delivered(u16),
    Retry { status: Option<u16>, error: String },
    Fail(String),
    Drop { status: Option<u16>, error: String },
}

fn claim(sql: &dyn Sql, id: i64, now: DateTime<Utc>) -> Result<Option<Claim>, StorageError> {
    let lease = timestamp(now + LEASE);
    let rows = sql.execute(
        "UPDATE notification_outbox SET claimed_until = ?2, attempts = attempts + 1
         WHERE id = ?1 AND state = 'pending' AND next_attempt_at <= ?3 AND (claimed_until IS NULL OR claimed_until <= ?3)
           AND attempts < ?4
         RETURNING id, order_id, event, channel, recipient, payload, attempts",
        &[id.into(), lease.as_str().into(), timestamp(now).into(), MAX_ATTEMPTS.into()],
    )?;
    rows.first()
        .map(|r| {
            Ok(Claim {
                id: r.integer("id")?,
                order_id: r.text("order_id")?.to_owned(),
                event: r.text("event")?.to_owned(),
                channel: r.text("channel")?.to_owned(),
                recipient: r.text("recipient")?.to_owned(),
                payload: r.text("payload")?.to_owned(),
                attempts: r.integer("attempts")?,
                lease: lease.clone(),
            })
        })
        .transpose()
}

/// A claimed row: a request to send, or an outcome known without a call.
enum Prepared {
    Send(OutboundRequest),
    Settled(Outcome),
}

fn prepare(
    sql: &dyn Sql,
    cache: Option<&dyn KeyValue>,
    config: &DeliveryConfig,
    claim: &Claim,
    now: DateTime<Utc>,
) -> Result<Prepared, StorageError> {
    let settled = |outcome: Outcome| Ok(Prepared::Settled(outcome));
    let request = match claim.channel.as_str() {
        "web_push" => {
            let Some(stored) = subscriptions::load(sql, &claim.recipient)? else {
                return settled(Outcome::Drop {
                    status: None,
                    error: "the subscription was removed".into(),
                });
            };
            let Some(vapid) = &config.vapid else {
                return settled(Outcome::Retry {
                    status: None,
                    error: "Web Push is not configured (vapid_private_key)".into(),
                });
            };
            let endpoint = stored.subscription.endpoint();
            let body = match webpush::encrypt(claim.payload.as_bytes(), stored.subscription.keys())
            {
                Ok(body) => body,
                Err(e @ webpush::PushError::TooLong { .. }) => {
                    return settled(Outcome::Fail(e.to_string()));
                }
                Err(e) => {
                    return settled(Outcome::Retry {
                        status: None,
                        error: e.to_string(),
                    });
                }
            };
            let signed = match cache {
                Some(cache) => vapid.authorization_cached(endpoint, now, cache),
                None => vapid.authorization(endpoint, now),
            };
            let authorization = match signed {
                Ok(header) => header,
                Err(e) => return settled(Outcome::Fail(e.to_string())),
            };
            let urgency = if claim.event == Event::ReadyForPickup.as_str() {
                "high"
            } else {
                "normal"
            };
            OutboundRequest {
                url: endpoint.to_owned(),
                headers: vec![
                    ("content-type".into(), "application/octet-stream".into()),
                    ("content-encoding".into(), "aes128gcm".into()),
                    ("ttl".into(), PUSH_TTL_SECONDS.to_string()),
                    ("urgency".into(), urgency.into()),
                    ("topic".into(), topic(&claim.order_id)),
                    ("authorization".into(), authorization),
                ],
                body,
            }
        }
        "webhook" => {
            let Some(target) = &config.webhook else {
                return settled(Outcome::Retry {
                    status: None,
                    error: "the webhook is not configured".into(),
                });
            };
            let body = claim.payload.as_bytes().to_vec();
            OutboundRequest {
                url: target.url().to_owned(),
                headers: target.headers(claim.id, now.timestamp(), &body),
                body,
            }
        }
        other => return settled(Outcome::Fail(format!("unknown channel {other:?}"))),
    };
    Ok(Prepared::Send(request))
}

/// What a receiver's answer means for the row.
fn interpret(
    sql: &dyn Sql,
    claim: &Claim,
    answer: Result<OutboundResponse, OutboundError>,
) -> Result<Outcome, StorageError> {
    Ok(match answer {
        Ok(response) if (200..300).contains(&response.status) => {
            Outcome::Delivered(response.status)
        }
        Ok(response) if claim.channel == "web_push" && matches!(response.status, 404 | 410) => {
            // RFC 8030 §7.3: the subscription has expired or was removed.
            subscriptions::forget(sql, &claim.recipient)?;
            Outcome::Drop {
                status: Some(response.status),
                error: "the push service no longer knows the subscription".into(),
            }
        }
        Ok(response) => Outcome::Retry {
            status: Some(response.status),
            error: format!("answered {}", response.status),
        },
        Err(e @ (OutboundError::Transport(_) | OutboundError::Denied(_))) => Outcome::Retry {
            status: None,
            error: e.to_string(),
        },
    })
}

fn settle(
    sql: &dyn Sql,
    claim: &Claim,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let at = timestamp(now);
    let (state, next, status, error, delivered) = match outcome {
        Outcome::Delivered(status) => (
            "delivered",
            at.clone(),
            Some(status),
            None,
            Some(at.clone()),
        ),
        Outcome::Retry { status, error } if claim.attempts >= MAX_ATTEMPTS => {
            ("failed", at.clone(), status, Some(error), None)
        }
        Outcome::Retry { status, error } => (
            "pending",
            timestamp(now + backoff(claim.attempts)),
            status,
            Some(error),
            None,
        ),
        Outcome::Fail(error) => ("failed", at.clone(), None, Some(error), None),
        Outcome::Drop { status, error } => ("dropped", at.clone(), status, Some(error), None),
    };
    sql.execute(
        "UPDATE notification_outbox SET state = ?3, next_attempt_at = ?4, last_status = ?5, last_error = ?6,
             delivered_at = ?7, claimed_until = NULL
         WHERE id = ?1 AND (claimed_until = ?2 OR (?3 = 'dropped' AND state = 'dropped' AND claimed_until IS NULL))",
        &[
            claim.id.into(),
            claim.lease.as_str().into(),
            state.into(),
            next.into(),
            status.map(u32::from).into(),
            error.into(),
            delivered.into(),
        ],
    )
    .map(drop)
}

/// RFC 8030 §5.4: at most 32 characters of the URL-safe base64 alphabet.
/// A newer message with the same topic replaces an undelivered older one,
/// so a phone that was offline sees the order's latest status only.
fn topic(order_id: &str) -> String {
    order_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(32)
        .collect()
}

/// One outbox row as ops see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub order_id: String,
    pub event: String,
    pub channel: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    #[serde(with = "crate::clock::wire_format")]
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    #[serde(with = "crate::clock::wire_format")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::clock::wire_format::option")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub payload: Value,
}

/// The outbox rows of one order (or of all), newest first, up to `limit`,
/// below the row id `before` when paging on.
pub fn entries(
    sql: &dyn Sql,
    order_id: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Entry>, StorageError> {
    let rows = sql.execute(
        "SELECT id, order_id, event, channel, recipient, state, attempts, next_attempt_at, last_status, last_error,
             created_at, delivered_at, payload
         FROM notification_outbox WHERE (?1 IS NULL OR order_id = ?1) AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT ?2",
        &[order_id.into(), limit.into(), before.into()],
    )?;
    rows.iter().map(entry).collect()
}

fn entry(row: Row<'_>) -> Result<Entry, StorageError> {
    Ok(Entry {
        id: row.integer("id")?,
        order_id: row.text("order_id")?.to_owned(),
        event: row.text("event")?.to_owned(),
        channel: row.text("channel")?.to_owned(),
        recipient: row.text("recipient")?.to_owned(),
        state: row.text("state")?.to_owned(),
        attempts: row.integer("attempts")?,
        next_attempt_at: parse_timestamp(row.text("next_attempt_at")?)?,
        last_status: row.opt_integer("last_status")?,
        last_error: row.opt_text("last_error")?.map(str::to_owned),
        created_at: parse_timestamp(row.text("created_at")?)?,
        delivered_at: row
            .opt_text("delivered_at")?
            .map(parse_timestamp)
            .transpose()?,
        payload: serde_json::from_str(row.text("payload")?)
            .map_err(|e| StorageError::Decode(e.to_string()))?,
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::notify::outbound::{OutboundResponse, RecordingOutbound};
    use crate::notify::preferences::{Choice, save};
    use crate::notify::subscriptions::{PushSubscription, register};
    use crate::notify::webhook;
    use crate::storage::native::{NativeSql, SqliteDb};
    use chrono::TimeZone;

    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const VAPID_KEY: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const HOOK_SECRET: &[u8] = b"webhook-secret-of-at-least-32-bytes!";

    struct Fixture {
        _dir: tempfile::TempDir,
        sql: NativeSql,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("o.db")).connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        Fixture { _dir: dir, sql }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn me() -> CustomerId {
        CustomerId::parse("C-1").unwrap()
    }

    fn prefs(sql: &dyn Sql) -> Preferences {
        crate::notify::preferences::load(sql, &me()).unwrap()
    }

    fn config() -> DeliveryConfig {
        DeliveryConfig {
            vapid: Some(Vapid::parse(VAPID_KEY, "mailto:push@retailer.example").unwrap()),
            webhook: Some(
                WebhookTarget::new("https://gateway.example/hooks", HOOK_SECRET).unwrap(),
            ),
            timeouts: Timeouts::default(),
        }
    }

    fn subscribe(sql: &dyn Sql, n: usize) {
        let sub = PushSubscription::parse(
            &format!("https://push.example.net/w/{n}"),
            P256DH,
            AUTH,
            false,
        )
        .unwrap();
        register(sql, &me(), &sub, now()).unwrap();
    }

    fn enqueue(sql: &dyn Sql, event: Event) -> u32 {
        let message = Message {
            title: "t".into(),
            body: "b".into(),
        };
        let notice = Notice {
            order_id: "ORD-1",
            event,
            locale: Locale::Pl,
            message: &message,
            data: json!({}),
        };
        enqueue_for_customer(sql, &notice, &me(), &prefs(sql), true, now()).unwrap()
    }

    #[test]
    fn one_row_per_order_event_channel_and_device_however_often_it_is_queued() {
        let f = fixture();
        subscribe(&f.sql, 1);
        subscribe(&f.sql, 2);
        assert_eq!(
            enqueue(&f.sql, Event::ReadyForPickup),
            3,
            "two devices and the gateway"
        );
        assert_eq!(
            enqueue(&f.sql, Event::ReadyForPickup),
            0,
            "a repeat adds nothing"
        );
        assert_eq!(enqueue(&f.sql, Event::PickedUp), 3);
        assert_eq!(entries(&f.sql, Some("ORD-1"), None, 100).unwrap().len(), 6);
    }

    #[test]
    fn channel_preferences_are_respected_and_marketing_consent_is_not_needed() {
        let f = fixture();
        subscribe(&f.sql, 1);
        let choice = Choice {
            locale: None,
            push: false,
            email: false,
            sms: false,
            marketing_consent: false,
        };
        save(&f.sql, &me(), choice, |_| true, now()).unwrap();
        assert_eq!(
            enqueue(&f.sql, Event::ReadyForPickup),
            0,
            "every channel off: nothing"
        );
        save(
            &f.sql,
            &me(),
            Choice {
                sms: true,
                ..choice
            },
            |_| true,
            now(),
        )
        .unwrap();
        assert_eq!(
            enqueue(&f.sql, Event::Cancelled),
            1,
            "the gateway only, for SMS, without marketing consent"
        );
        let rows = entries(&f.sql, Some("ORD-1"), None, 10).unwrap();
        assert_eq!(rows[0].channel, "webhook");
        assert_eq!(rows[0].payload["channels"], json!(["sms"]));
        assert_eq!(rows[0].payload["marketing_consent"], json!(false));
    }

    #[test]
    fn a_delivered_row_is_sent_once_with_vapid_and_a_verifiable_webhook_signature() {
        let f = fixture();
        subscribe(&f.sql, 1);
        enqueue(&f.sql, Event::ReadyForPickup);
        let outbound = RecordingOutbound::answering(201);
        let report = deliver(
            &f.sql,
            None,
            &outbound,
            &config(),
            Scope::NewFor("ORD-1"),
            now(),
            10,
        )
        .unwrap();
        assert_eq!((report.attempted, report.delivered), (2, 2));
        let again = deliver(
            &f.sql,
            None,
            &outbound,
            &config(),
            Scope::Due,
            now() + Duration::hours(1),
            10,
        )
        .unwrap();
        assert_eq!(again, DeliveryReport::default(), "nothing is sent twice");
        let sent = outbound.sent();
        let push = sent
            .iter()
            .find(|r| r.url.starts_with("https://push.example.net"))
            .unwrap();
        assert_eq!(push.header("content-encoding"), Some("aes128gcm"));
        assert_eq!(push.header("urgency"), Some("high"));
        assert_eq!(push.header("topic"), Some("ORD-1"));
        assert!(
            push.header("authorization")
                .unwrap()
                .starts_with("vapid t=")
        );
        let hook = sent
            .iter()
            .find(|r| r.url == "https://gateway.example/hooks")
            .unwrap();
        let ts: i64 = hook.header("webhook-timestamp").unwrap().parse().unwrap();
        assert!(webhook::verify(
            HOOK_SECRET,
            ts,
            &hook.body,
            hook.header("webhook-signature").unwrap()
        ));
        assert!(
            entries(&f.sql, Some("ORD-1"), None, 10)
                .unwrap()
                .iter()
                .all(|e| e.state == "delivered")
        );
    }

    #[test]
    fn failures_back_off_exponentially_and_only_the_sweep_retries() {
        let f = fixture();
        subscribe(&f.sql, 1);
        let message = Message {
            title: "t".into(),
            body: "b".into(),
        };
        let notice = Notice {
            order_id: "ORD-1",
            event: Event::Shipped,
            locale: Locale::En,
            message: &message,
            data: json!({}),
        };
        enqueue_for_customer(&f.sql, &notice, &me(), &prefs(&f.sql), false, now()).unwrap();
        let down = RecordingOutbound::down();
        let first = deliver(
            &f.sql,
            None,
            &down,
            &config(),
            Scope::NewFor("ORD-1"),
            now(),
            10,
        )
        .unwrap();
        assert_eq!((first.attempted, first.retrying), (1, 1));
        assert_eq!(
            deliver(
                &f.sql,
                None,
                &down,
                &config(),
                Scope::NewFor("ORD-1"),
                now() + Duration::hours(1),
                10
            )
            .unwrap()
            .attempted,
            0,
            "retries belong to the sweep"
        );
        assert_eq!(
            deliver(
                &f.sql,
                None,
                &down,
                &config(),
                Scope::Due,
                now() + Duration::seconds(29),
                10
            )
            .unwrap()
            .attempted,
            0
        );
        let up = RecordingOutbound::answering(201);
        let retry = deliver(
            &f.sql,
            None,
            &up,
            &config(),
            Scope::Due,
            now() + Duration::seconds(30),
            10,
        )
        .unwrap();
        assert_eq!((retry.attempted, retry.delivered), (1, 1));
        let row = &entries(&f.sql, Some("ORD-1"), None, 1).unwrap()[0];
        assert_eq!((row.state.as_str(), row.attempts), ("delivered", 2));
        assert_eq!(enqueue_other_order(&f.sql), 1);
        assert_eq!(
            deliver(
                &f.sql,
                None,
                &up,
                &config(),
                Scope::NewFor("ORD-1"),
                now() + Duration::hours(1),
                10
            )
            .unwrap()
            .attempted,
            0,
            "another order's new rows are not this request's"
        );
    }

    fn enqueue_other_order(sql: &dyn Sql) -> u32 {
        let message = Message {
            title: "t".into(),
            body: "b".into(),
        };
        let notice = Notice {
            order_id: "ORD-2",
            event: Event::Placed,
            locale: Locale::En,
            message: &message,
            data: json!({}),
        };
        enqueue_for_customer(sql, &notice, &me(), &prefs(sql), false, now()).unwrap()
    }

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_six_hours() {
        let waits: Vec<i64> = (1..=12).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits[..5], [30, 60, 120, 240, 480]);
        assert_eq!(*waits.last().unwrap(), 6 * 3600);
    }

    #[test]
    fn a_row_is_failed_after_the_last_attempt() {
        let f = fixture();
        subscribe(&f.sql, 1);
        enqueue(&f.sql, Event::Delivered);
        let down = RecordingOutbound::answering(500);
        let mut at = now();
        for _ in 0..MAX_ATTEMPTS {
            deliver(&f.sql, None, &down, &config(), Scope::Due, at, 10).unwrap();
            at += Duration::hours(7);
        }
        let states: Vec<String> = entries(&f.sql, Some("ORD-1"), None, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.state)
            .collect();
        assert_eq!(states, vec!["failed", "failed"]);
        assert_eq!(
            deliver(&f.sql, None, &down, &config(), Scope::Due, at, 10)
                .unwrap()
                .attempted,
            0
        );
    }

    #[test]
    fn a_gone_subscription_is_forgotten_and_its_pushes_dropped() {
        let f = fixture();
        subscribe(&f.sql, 1);
        enqueue(&f.sql, Event::Placed);
        enqueue(&f.sql, Event::Cancelled);
        let gone = RecordingOutbound::answering(200).then(Ok(OutboundResponse { status: 410 }));
        let report = deliver(&f.sql, None, &gone, &config(), Scope::Due, now(), 1).unwrap();
        assert_eq!(report.dropped, 1);
        assert!(subscriptions::list(&f.sql, &me()).unwrap().is_empty());
        let pushes: Vec<String> = entries(&f.sql, Some("ORD-1"), None, 10)
            .unwrap()
            .into_iter()
            .filter(|e| e.channel == "web_push")
            .map(|e| e.state)
            .collect();
        assert_eq!(pushes, vec!["dropped", "dropped"]);
        let answered: Vec<Option<i64>> = entries(&f.sql, Some("ORD-1"), None, 10)
            .unwrap()
            .into_iter()
            .filter(|e| e.channel == "web_push" && e.attempts > 0)
            .map(|e| e.last_status)
            .collect();
        assert_eq!(
            answered,
            vec![Some(410)],
            "the push service's 410 is recorded on the row it answered"
        );
    }

    #[test]
    fn a_row_whose_every_call_died_unfinished_still_stops_at_the_limit() {
        let f = fixture();
        subscribe(&f.sql, 1);
        enqueue(&f.sql, Event::Placed);
        let id = entries(&f.sql, Some("ORD-1"), None, 10)
            .unwrap()
            .into_iter()
            .find(|e| e.channel == "web_push")
            .unwrap()
            .id;
        // Each run claims the row and is killed in the call: nothing settles.
        let mut at = now();
        for _ in 0..MAX_ATTEMPTS {
            assert!(claim(&f.sql, id, at).unwrap().is_some());
            at += LEASE + Duration::seconds(1);
        }
        let sender = RecordingOutbound::answering(201);
        let report = deliver(&f.sql, None, &sender, &config(), Scope::Due, at, 10).unwrap();
        let row = entries(&f.sql, Some("ORD-1"), None, 10)
            .unwrap()
            .into_iter()
            .find(|e| e.id == id)
            .unwrap();
        assert_eq!((row.state.as_str(), row.attempts), ("failed", MAX_ATTEMPTS));
        assert!(report.failed >= 1);
        assert!(
            sender.sent().iter().all(|r| r.url.contains("gateway")),
            "no further push call for it"
        );
    }

    #[test]
    fn a_claimed_row_is_not_sent_by_a_second_deliverer_until_the_lease_lapses() {
        let f = fixture();
        subscribe(&f.sql, 1);
        let message = Message {
            title: "t".into(),
            body: "b".into(),
        };
        let notice = Notice {
            order_id: "ORD-1",
            event: Event::Placed,
            locale: Locale::En,
            message: &message,
            data: json!({}),
        };
        enqueue_for_customer(&f.sql, &notice, &me(), &prefs(&f.sql), false, now()).unwrap();
        let id = entries(&f.sql, Some("ORD-1"), None, 1).unwrap()[0].id;
        let held = claim(&f.sql, id, now()).unwrap().expect("first claim");
        assert!(
            claim(&f.sql, id, now()).unwrap().is_none(),
            "held by the first"
        );
        let outbound = RecordingOutbound::answering(201);
        assert_eq!(
            deliver(
                &f.sql,
                None,
                &outbound,
                &config(),
                Scope::Due,
                now() + Duration::seconds(59),
                10
            )
            .unwrap()
            .attempted,
            0
        );
        assert_eq!(
            deliver(
                &f.sql,
                None,
                &outbound,
                &config(),
                Scope::Due,
                now() + LEASE,
                10
            )
            .unwrap()
            .delivered,
            1
        );
        settle(
            &f.sql,
            &held,
            Outcome::Retry {
                status: None,
                error: "late".into(),
            },
            now() + LEASE,
        )
        .unwrap();
        assert_eq!(
            entries(&f.sql, Some("ORD-1"), None, 1).unwrap()[0].state,
            "delivered",
            "a lost lease writes nothing"
        );
    }

    #[test]
    fn without_senders_configured_rows_wait_with_the_reason() {
        let f = fixture();
        subscribe(&f.sql, 1);
        enqueue(&f.sql, Event::Placed);
        let outbound = RecordingOutbound::answering(201);
        let report = deliver(
            &f.sql,
            None,
            &outbound,
            &DeliveryConfig::default(),
            Scope::Due,
            now(),
            10,
        )
        .unwrap();
        assert_eq!(report.retrying, 2);
        assert!(outbound.sent().is_empty());
        assert!(
            entries(&f.sql, None, None, 10).unwrap().iter().all(|e| e
                .last_error
                .as_deref()
                .unwrap()
                .contains("configured"))
        );
    }
}

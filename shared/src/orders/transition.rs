//! Moving an order from one status to the next: the table's check, the
//! guarded UPDATE, the stock effect, the history row and the customer's
//! notifications, in one transaction.
//!
//! The transaction holds only the writes: the order, the customer's
//! notification preferences and push subscriptions are read before it, and
//! the guarded UPDATE (same status, same version) both re-checks what was
//! read and returns the changed order. A move that loses a race to another
//! is decided again on fresh reads (and refused as stale when the caller's
//! `If-Match` no longer holds). Why? Under Spin every statement is a host
//! call, and each one made while holding the write lock keeps every other
//! writer waiting.
//!
//! | move to | also |
//! | --- | --- |
//! | `ready_for_pickup` | the SLA result (`ready_at`), the pickup window (`pickup_until`) |
//! | `shipped` | the carrier and tracking link (required); the SLA result; the reservation is fulfilled (`on_hand` and `reserved` fall together at the shipping location) |
//! | `picked_up` | the reservation is fulfilled: `on_hand` and `reserved` fall together; where and when it was collected |
//! | `cancelled`, `expired` | the reservation is released: its units are back on sale; a coupon redemption is given back after commit |
//!
//! Why are coupon uses released after the commit and not inside? The
//! promotion area's `release` runs its own transaction; it is also
//! idempotent, so a failure there is logged and retried by nothing worse
//! than an operator, while the order's own change stays atomic.

use super::model::{Actor, Order, Tracking, Via};
use super::sla::OrderPolicy;
use super::status::{self, MoveRefused, OrderStatus};
use super::{OrderError, store, timestamp};
use crate::catalog::FieldError;
use crate::ids::OrderId;
use crate::notify::message::{self, MessageFacts};
use crate::notify::outbox::{self, Notice};
use crate::notify::{Event, preferences, subscriptions};
use crate::stock;
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// What a change asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub to: OrderStatus,
    pub via: Via,
    pub note: Option<String>,
    /// Required for `shipped`, refused otherwise.
    pub tracking: Option<Tracking>,
}

/// The deployment's settings every change needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    pub policy: OrderPolicy,
    /// Whether the gateway webhook is configured (else no webhook rows).
    pub webhook_configured: bool,
}

/// Moves order `id` as `actor` asks, if `version_ok` accepts its current
/// version (the If-Match check), and returns the order as changed.
pub fn transition(
    sql: &dyn Sql,
    id: &OrderId,
    change: &Move,
    actor: &Actor,
    settings: Settings,
    version_ok: impl Fn(i64) -> bool,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    /// Beyond this many lost races the order is too busy (503).
    const ATTEMPTS: u32 = 20;
    let read = |sql: &dyn Sql| -> Result<Order, OrderError> {
        let order = store::load(sql, id)?.ok_or(OrderError::NotFound)?;
        actor.may_see(&order)?;
        if !version_ok(order.version) {
            return Err(OrderError::Stale {
                current_version: order.version,
            });
        }
        Ok(order)
    };
    let order = if sql.open_units().get() > 0 {
        in_transaction(sql, |tx| {
            apply_in(tx, &read(tx)?, change, actor, settings, now)
        })?
    } else {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let order = read(sql)?;
            let audience = Audience::read(sql, &order, change)?;
            let outcome = if touches_stock(change.to) {
                in_transaction(sql, |tx| {
                    apply_with(tx, &order, change, actor, settings, &audience, now)
                })?
            } else {
                move_in_one_statement(sql, &order, change, actor, settings, &audience, now)?
            };
            match outcome {
                Some(changed) => break changed,
                None if attempt < ATTEMPTS => continue,
                None => return Err(OrderError::Storage(StorageError::Busy)),
            }
        }
    };
    after_commit(sql, &order, now);
    Ok(order)
}

/// Who hears of a move: the customer's preferences and push subscriptions,
/// read only when the move notifies them.
pub(crate) struct Audience {
    customer: Option<(preferences::Preferences, Vec<subscriptions::SubscriptionId>)>,
}

impl Audience {
    pub(crate) fn read(
        sql: &dyn Sql,
        order: &Order,
        change: &Move,
    ) -> Result<Audience, StorageError> {
        if change.to.customer_event().is_none() {
            return Ok(Audience { customer: None });
        }
        let prefs = preferences::load(sql, &order.customer)?;
        let subscriptions = if prefs.push {
            subscriptions::ids_for(sql, &order.customer)?
        } else {
            Vec::new()
        };
        Ok(Audience {
            customer: Some((prefs, subscriptions)),
        })
    }
}

/// [`transition`]'s work inside the caller's transaction, on `order` as
/// read in it (the sweep and the pickup scan call it too).
pub(crate) fn apply_in(
    tx: &dyn Sql,
    order: &Order,
    change: &Move,
    actor: &Actor,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let audience = Audience::read(tx, order, change)?;
    apply_with(tx, order, change, actor, settings, &audience, now)?.ok_or(OrderError::Stale {
        current_version: order.version + 1,
    })
}

/// Whether the move is allowed from the order's status for this actor,
/// with tracking exactly when it ships.
fn check_move(order: &Order, change: &Move, actor: &Actor) -> Result<(), OrderError> {
    status::check(order.status, change.to, order.fulfilment, actor.kind()).map_err(|refused| {
        match refused {
            MoveRefused::Illegal { from, to, allowed } => OrderError::Illegal {
                current: from,
                to,
                allowed,
            },
            MoveRefused::NotForActor {
                from, to, allowed, ..
            } => OrderError::NotForActor {
                current: from,
                to,
                allowed,
            },
        }
    })?;
    match (change.to, &change.tracking) {
        (OrderStatus::Shipped, None) => {
            return Err(OrderError::Invalid(vec![FieldError::new(
                "tracking",
                "a shipped order needs its carrier and tracking link",
            )]));
        }
        (to, Some(_)) if to != OrderStatus::Shipped => {
            return Err(OrderError::Invalid(vec![FieldError::new(
                "tracking",
                "only a shipped order has tracking",
            )]));
        }
        _ => {}
    }
    Ok(())
}

/// Moves whose stock effect (fulfil or release the reservation) keeps them
/// in a transaction; every other move is one statement.
fn touches_stock(to: OrderStatus) -> bool {
    matches!(
        to,
        OrderStatus::PickedUp
            | OrderStatus::Shipped
            | OrderStatus::Cancelled
            | OrderStatus::Expired
    )
}

/// The order as a move with no stock effect leaves it: the same changes
/// the `order_moves` trigger (and `apply_with`'s UPDATE) makes.
fn moved(order: &Order, change: &Move, settings: Settings, now: DateTime<Utc>) -> Order {
    let mut after = order.clone();
    let reaches_target = change.to == order.fulfilment.sla_target();
    after.status = change.to;
    after.version = order.version + 1;
    after.updated_at = now;
    if reaches_target {
        after.ready_at = Some(now);
        if now > order.ready_by {
            after.sla_breached_at = order.sla_breached_at.or(Some(order.ready_by));
        }
    }
    if change.to == OrderStatus::ReadyForPickup {
        after.pickup_until = Some(settings.policy.pickup_until(now));
    }
    if let Some(tracking) = &change.tracking {
        after.tracking = Some(tracking.clone());
    }
    after
}

/// A move with no stock effect as one guarded statement (see
/// [`super::MOVES`]); `None` when the order moved on after it was read.
fn move_in_one_statement(
    sql: &dyn Sql,
    order: &Order,
    change: &Move,
    actor: &Actor,
    settings: Settings,
    audience: &Audience,
    now: DateTime<Utc>,
) -> Result<Option<Order>, OrderError> {
    check_move(order, change, actor)?;
    let changed = moved(order, change, settings, now);
    let mut notices = Vec::new();
    if let (Some(event), Some((prefs, subscriptions))) =
        (change.to.customer_event(), &audience.customer)
    {
        let rows = with_customer_notice(&changed, event, prefs, now, |notice| {
            outbox::rows_for_recipients(
                notice,
                &changed.customer,
                prefs,
                subscriptions,
                settings.webhook_configured,
                now,
            )
        });
        for row in rows {
            notices.push(json!({
                "event": event.as_str(),
                "channel": row.channel,
                "recipient": row.recipient,
                "payload": row.payload.to_string(),
            }));
        }
    }
    let reaches_target = change.to == order.fulfilment.sla_target();
    let applied = sql.execute(
        "INSERT INTO order_moves (order_id, from_status, expected_version, to_status, at, ready_at, pickup_until, late,
             tracking_carrier, tracking_url, actor_kind, actor_id, via, note, notices)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         RETURNING order_id",
        &[
            order.id.as_str().into(),
            order.status.as_str().into(),
            order.version.into(),
            change.to.as_str().into(),
            timestamp(now).into(),
            reaches_target.then(|| timestamp(now)).into(),
            changed.pickup_until.filter(|_| change.to == OrderStatus::ReadyForPickup).map(timestamp).into(),
            i64::from(reaches_target && now > order.ready_by).into(),
            change.tracking.as_ref().map(|t| t.carrier.clone()).into(),
            change.tracking.as_ref().map(|t| t.url.clone()).into(),
            actor.kind().as_str().into(),
            actor.principal().into(),
            change.via.as_str().into(),
            change.note.as_deref().into(),
            Value::Array(notices).to_string().into(),
        ],
    )?;
    Ok((!applied.is_empty()).then_some(changed))
}

/// The move's writes, on `order` as read before them; `None` when the
/// order is no longer at that status and version (another move got in).
fn apply_with(
    tx: &dyn Sql,
    order: &Order,
    change: &Move,
    actor: &Actor,
    settings: Settings,
    audience: &Audience,
    now: DateTime<Utc>,
) -> Result<Option<Order>, OrderError> {
    check_move(order, change, actor)?;
    let reaches_target = change.to == order.fulfilment.sla_target();
    let ready_at = reaches_target.then(|| timestamp(now));
    let late = reaches_target && now > order.ready_by;
    let pickup_until = (change.to == OrderStatus::ReadyForPickup)
        .then(|| timestamp(settings.policy.pickup_until(now)));
    let collected_store = (change.to == OrderStatus::PickedUp)
        .then(|| actor.store().unwrap_or(&order.store).as_str().to_owned());
    let updated = tx.execute(
        &format!("UPDATE orders SET status = ?3, version = version + 1, updated_at = ?4,
             ready_at = COALESCE(?5, ready_at),
             pickup_until = COALESCE(?6, pickup_until),
             sla_breached_at = CASE WHEN ?7 = 1 THEN COALESCE(sla_breached_at, ready_by) ELSE sla_breached_at END,
             collected_at = CASE WHEN ?8 IS NULL THEN collected_at ELSE ?4 END,
             collected_store = COALESCE(?8, collected_store),
             collected_by = CASE WHEN ?8 IS NULL THEN collected_by ELSE ?9 END,
             tracking_carrier = COALESCE(?10, tracking_carrier),
             tracking_url = COALESCE(?11, tracking_url)
         WHERE id = ?1 AND status = ?2 AND version = ?12
         RETURNING {columns}", columns = store::COLUMNS),
        &[
            order.id.as_str().into(),
            order.status.as_str().into(),
            change.to.as_str().into(),
            timestamp(now).into(),
            ready_at.into(),
            pickup_until.into(),
            i64::from(late).into(),
            collected_store.into(),
            actor.principal().into(),
            change.tracking.as_ref().map(|t| t.carrier.clone()).into(),
            change.tracking.as_ref().map(|t| t.url.clone()).into(),
            order.version.into(),
        ],
    )?;
    let Some(row) = updated.first() else {
        return Ok(None);
    };
    // A move changes no line, so the lines read before stand.
    let changed = store::decode(row, order.lines.clone())?;
    let version = changed.version;
    if let Some(reservation) = &order.reservation {
        match change.to {
            // The goods leave the source: handed over, or given to the carrier.
            OrderStatus::PickedUp | OrderStatus::Shipped => {
                stock::fulfil_in(tx, reservation, now)?;
            }
            OrderStatus::Cancelled | OrderStatus::Expired => {
                stock::release_in(tx, reservation, now)?;
            }
            _ => {}
        }
    }
    store::record(
        tx,
        &order.id,
        version,
        Some(order.status),
        change.to,
        actor,
        change.via,
        change.note.as_deref(),
        now,
    )?;
    if let (Some(event), Some((prefs, subscriptions))) =
        (change.to.customer_event(), &audience.customer)
    {
        notify_recipients(tx, &changed, event, settings, prefs, subscriptions, now)?;
    }
    Ok(Some(changed))
}

/// What happens once a change is committed: a cancelled or expired
/// order's coupon uses are given back (see the module docs).
pub(crate) fn after_commit(sql: &dyn Sql, order: &Order, now: DateTime<Utc>) {
    if !matches!(order.status, OrderStatus::Cancelled | OrderStatus::Expired) {
        return;
    }
    use crate::promotions::redemption;
    match redemption::reservation_for_order(sql, &order.id) {
        Ok(Some(live)) => {
            if let Err(e) = redemption::release(sql, &live.reservation_id, now) {
                eprintln!(
                    "pickups: releasing the coupon uses of order {}: {e}",
                    order.id
                );
            }
        }
        Ok(None) => {}
        Err(e) => eprintln!(
            "pickups: reading the coupon uses of order {}: {e}",
            order.id
        ),
    }
}

/// Renders `event` in the customer's language and queues it on every
/// channel they allow.
pub(crate) fn notify_customer(
    tx: &dyn Sql,
    order: &Order,
    event: Event,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let prefs = preferences::load(tx, &order.customer)?;
    let subscriptions = if prefs.push {
        subscriptions::ids_for(tx, &order.customer)?
    } else {
        Vec::new()
    };
    notify_recipients(tx, order, event, settings, &prefs, &subscriptions, now)
}

/// [`notify_customer`] with the preferences and subscriptions read already.
fn notify_recipients(
    tx: &dyn Sql,
    order: &Order,
    event: Event,
    settings: Settings,
    prefs: &preferences::Preferences,
    subscriptions: &[subscriptions::SubscriptionId],
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    with_customer_notice(order, event, prefs, now, |notice| {
        outbox::enqueue_for_recipients(
            tx,
            notice,
            &order.customer,
            prefs,
            subscriptions,
            settings.webhook_configured,
            now,
        )
    })
}

/// Renders `event` in the customer's language (their preference, else the
/// order's) and hands the notice to `queue`.
fn with_customer_notice<R>(
    order: &Order,
    event: Event,
    prefs: &preferences::Preferences,
    now: DateTime<Utc>,
    queue: impl FnOnce(&Notice<'_>) -> R,
) -> R {
    let locale = prefs.locale.unwrap_or(order.locale);
    let rendered = message::render(event, locale, &facts(order, now));
    queue(&Notice {
        order_id: order.id.as_str(),
        event,
        locale,
        message: &rendered,
        data: data(order, locale),
    })
}

/// Renders a store alert in the store's language and queues it.
pub(crate) fn notify_store(
    tx: &dyn Sql,
    order: &Order,
    event: Event,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let locale = order.store_locale;
    let rendered = message::render(event, locale, &facts(order, now));
    let notice = Notice {
        order_id: order.id.as_str(),
        event,
        locale,
        message: &rendered,
        data: data(order, locale),
    };
    outbox::enqueue_for_store(tx, &notice, &order.store, settings.webhook_configured, now)
}

fn facts(order: &Order, now: DateTime<Utc>) -> MessageFacts<'_> {
    MessageFacts {
        order_id: order.id.as_str(),
        collect: order.fulfilment == super::Fulfilment::ClickAndCollect,
        store_name: &order.store_name,
        store_address: &order.store_address,
        time_zone: order.time_zone,
        ready_by: order.ready_by,
        pickup_until: order.pickup_until,
        collected_at: order.collected.as_ref().map(|c| c.at),
        carrier: order.tracking.as_ref().map(|t| t.carrier.as_str()),
        tracking_url: order.tracking.as_ref().map(|t| t.url.as_str()),
        now,
    }
}

/// The machine-readable members every notification carries beside its
/// words: the same status label the app shows.
fn data(order: &Order, locale: crate::notify::Locale) -> Value {
    json!({
        "status": order.status.as_str(),
        "status_label": order.status.label(locale),
        "fulfilment": order.fulfilment.as_str(),
        "store_id": order.store.as_str(),
        "store_name": order.store_name,
        "ready_by": timestamp(order.ready_by),
        "pickup_until": order.pickup_until.map(timestamp),
        "tracking_url": order.tracking.as_ref().map(|t| t.url.as_str()),
    })
}

//! Every change of a return case: opening it against an order or receipt,
//! the intake by return code at any store, and the staff's moves
//! (inspect, refund, exchange, reject, close). Each is one `BEGIN
//! IMMEDIATE` transaction with its guarded UPDATE, history row, stock effect
//! and notifications (see the area docs).
//!
//! An exchange is priced by list prices, not by what the returned unit
//! happened to cost after a discount: the customer pays (or gets back) the
//! replacement's list price minus the returned item's list price per unit,
//! and keeps the discount they had, so swapping a size at the same list
//! price settles at 0.00 (see `exchange_in`).

use super::case_number::CaseNumber;
use super::eligibility::window_ends_at;
use super::model::{Exchange, ExchangeLine, Rma, Source};
use super::policy::{DamagedItems, RefundMethod, ReturnPolicy};
use super::refund::refund_for_units;
use super::status::RmaStatus;
use super::store::{self, CaseRef};
use super::{LineRefusal, ReturnError, notices, receipts, timestamp};
use crate::auth::signed_code::{self, CodeError};
use crate::catalog::{CategoryPath, FieldError};
use crate::hours::TimeZone;
use crate::ids::{CustomerId, OrderId, RmaId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::notify::Locale;
use crate::orders::{Actor, ActorKind, OrderStatus, Via};
use crate::quantity::{Quantity, StockQuantity};
use crate::stock::{self, Basket, BasketLine, HoldTtl, ReservationRequest};
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// The purpose bound into every return code.
pub const PURPOSE: &str = "return";

/// How long an exchange's replacement is held: an hour at the store that
/// took the return (the customer is standing there), a day elsewhere
/// (they go and collect it).
pub const EXCHANGE_HOLD_HERE_MINUTES: u32 = 60;
pub const EXCHANGE_HOLD_ELSEWHERE_MINUTES: u32 = 24 * 60;

/// A line the customer or the till asks to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedLine {
    pub sku: Sku,
    pub quantity: Quantity,
    pub reason: Option<String>,
}

/// A return to open (already parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReturn {
    /// An order id or a receipt id (`RCP-...`).
    pub source_id: String,
    pub lines: Vec<RequestedLine>,
    pub refund_method: RefundMethod,
    pub via: Via,
}

/// The deployment's settings a change needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    pub webhook_configured: bool,
}

/// The state of an item at intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Back on the shelf at once.
    Sellable,
    /// Recorded on the case, never sold.
    Damaged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeLine {
    pub sku: Sku,
    pub quantity: Quantity,
    pub condition: Condition,
}

/// One swap of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRequest {
    pub sku: Sku,
    pub replacement: Sku,
    pub quantity: Quantity,
}

/// A staff move other than the intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    Inspect,
    Refund,
    /// Replacements, and the store to reserve them at (the receiving store
    /// when `None`).
    Exchange {
        lines: Vec<ExchangeRequest>,
        store: Option<StoreId>,
    },
    Reject,
    Close,
}

impl Move {
    pub fn target(&self) -> RmaStatus {
        match self {
            Move::Inspect => RmaStatus::Inspected,
            Move::Refund => RmaStatus::Refunded,
            Move::Exchange { .. } => RmaStatus::Exchanged,
            Move::Reject => RmaStatus::Rejected,
            Move::Close => RmaStatus::Closed,
        }
    }
}

/// A signed return code and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// The code of an opened case: the same code every time it is asked for
/// (the payload and expiry are fixed), so nothing about it is stored.
pub fn code_for(rma: &Rma, secret: &[u8], now: DateTime<Utc>) -> Result<ReturnCode, ReturnError> {
    if let Some((store, at)) = &rma.received {
        return Err(ReturnError::AlreadyReceived {
            at: *at,
            store: store.clone(),
        });
    }
    if rma.status != RmaStatus::Opened {
        return Err(ReturnError::Illegal {
            current: rma.status,
            to: RmaStatus::Received,
        });
    }
    if now >= rma.code_expires_at {
        return Err(ReturnError::CodeExpired {
            expired_at: Some(rma.code_expires_at),
        });
    }
    let code = signed_code::sign(
        PURPOSE,
        rma.id.as_str().as_bytes(),
        rma.code_expires_at,
        secret,
    );
    Ok(ReturnCode {
        code,
        expires_at: rma.code_expires_at,
    })
}

/// The case a genuine, unexpired return code names.
pub fn verify(code: &str, secret: &[u8], now: DateTime<Utc>) -> Result<RmaId, ReturnError> {
    match signed_code::verify_text(PURPOSE, code, secret, now) {
        Ok(id) => RmaId::parse(&id).map_err(|_| ReturnError::CodeInvalid),
        Err(CodeError::Expired) => Err(ReturnError::CodeExpired { expired_at: None }),
        Err(CodeError::Malformed | CodeError::BadSignature) => Err(ReturnError::CodeInvalid),
    }
}

/// May `actor` see `rma`? Another customer's is 404 (a case number reveals
/// nothing); any store may look a case up, since any store takes returns.
pub fn may_see(actor: &Actor, rma: &Rma) -> Result<(), ReturnError> {
    match actor.kind() {
        ActorKind::Customer if rma.customer.as_ref() == actor.customer() => Ok(()),
        ActorKind::Customer => Err(ReturnError::NotFound("return")),
        _ => Ok(()),
    }
}

/// May `actor` move `rma` on? The store holding the goods, or ops.
fn may_act(actor: &Actor, rma: &Rma) -> Result<(), ReturnError> {
    match actor.kind() {
        ActorKind::Ops | ActorKind::System => Ok(()),
        ActorKind::Customer => Err(ReturnError::Forbidden(
            "customers open returns; the store that receives them moves them on",
        )),
        ActorKind::StoreDevice => match &rma.received {
            Some((store, _)) if actor.store() == Some(store) => Ok(()),
            Some((store, _)) => Err(ReturnError::WrongStore {
                store: Some(store.clone()),
            }),
            None => Err(ReturnError::WrongStore { store: None }),
        },
    }
}

/// What was bought, from an order or a receipt.
struct Bought {
    source: Source,
    id: String,
    customer: Option<CustomerId>,
    currency: Currency,
    /// sku, name, quantity, paid
    lines: Vec<(Sku, String, u32, Money)>,
    handover: DateTime<Utc>,
    zone: TimeZone,
    locale: Locale,
}

fn bought(tx: &dyn Sql, source_id: &str, actor: &Actor) -> Result<Bought, ReturnError> {
    let owns = |customer: Option<&CustomerId>| {
        actor.kind() != ActorKind::Customer || customer == actor.customer()
    };
    if receipts::is_receipt_id(source_id) {
        let receipt =
            receipts::load(tx, source_id)?.ok_or(ReturnError::NotFound("order or receipt"))?;
        if !owns(receipt.customer.as_ref()) {
            return Err(ReturnError::NotFound("order or receipt"));
        }
        let store = stock::load_store(tx, &receipt.store)?;
        return Ok(Bought {
            source: Source::Receipt,
            id: receipt.id,
            customer: receipt.customer,
            currency: receipt.currency,
            lines: receipt
                .lines
                .into_iter()
                .map(|l| (l.sku, l.name, l.quantity, l.paid))
                .collect(),
            handover: receipt.sold_at,
            zone: store.time_zone(),
            locale: Locale::for_country(store.address().country().as_str()),
        });
    }
    let id = OrderId::parse(source_id).map_err(|_| ReturnError::NotFound("order or receipt"))?;
    let order =
        crate::orders::store::load(tx, &id)?.ok_or(ReturnError::NotFound("order or receipt"))?;
    if !owns(Some(&order.customer)) {
        return Err(ReturnError::NotFound("order or receipt"));
    }
    let handover = match (order.status, &order.collected) {
        (OrderStatus::PickedUp, Some(collected)) => collected.at,
        (OrderStatus::Delivered, _) => crate::orders::store::history(tx, &order.id)?
            .iter()
            .rev()
            .find(|h| h.to == OrderStatus::Delivered)
            .map(|h| h.at)
            .unwrap_or(order.updated_at),
        (status, _) => {
            return Err(ReturnError::NotHandedOver {
                status: status.as_str().to_owned(),
            });
        }
    };
    Ok(Bought {
        source: Source::Order,
        id: order.id.as_str().to_owned(),
        customer: Some(order.customer),
        currency: order.currency,
        lines: order
            .lines
            .into_iter()
            .map(|l| (l.sku, l.name, l.quantity, l.paid))
            .collect(),
        handover,
        zone: order.time_zone,
        locale: order.locale,
    })
}

fn category_of(tx: &dyn Sql, sku: &Sku) -> Result<Option<CategoryPath>, StorageError> {
    let rows = tx.execute(
        "SELECT category FROM catalog_items WHERE sku = ?1",
        &[sku.as_str().into()],
    )?;
    Ok(rows
        .first()
        .map(|r| {
            r.text("category")
                .map(|c| CategoryPath::parse(&c.split('/').collect::<Vec<_>>()).ok())
        })
        .transpose()?
        .flatten())
}

/// Opens a return as `actor` (see the module docs); 201's case.
pub fn open(
    sql: &dyn Sql,
    new: &NewReturn,
    actor: &Actor,
    policy: &ReturnPolicy,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Rma, ReturnError> {
    if actor.kind() == ActorKind::System {
        return Err(ReturnError::Forbidden("the system opens no returns"));
    }
    if actor.kind() == ActorKind::StoreDevice && !policy.in_store_returns() {
        return Err(ReturnError::NotOffered("returns in stores".into()));
    }
    if !policy.offers(new.refund_method) {
        return Err(ReturnError::NotOffered(format!(
            "refunds by {}",
            new.refund_method.as_str()
        )));
    }
    let hex: String = crate::notify::random_bytes::<8>()?
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let id = RmaId::parse(&format!("RET-{hex}")).map_err(|e| StorageError::Other(e.to_string()))?;
    in_transaction(sql, |tx| {
        let bought = bought(tx, &new.source_id, actor)?;
        let mut taken = store::returned_units(tx, &bought.id)?;
        let window_end = window_ends_at(bought.handover, bought.zone, policy.window_days());
        let mut refusals = Vec::new();
        // (source line, units, reason, offset)
        let mut planned: Vec<(usize, u32, Option<String>, u32)> = Vec::new();
        for (index, wanted) in new.lines.iter().enumerate() {
            let refuse = |code: &'static str, reason: String| LineRefusal {
                field: format!("lines[{index}]"),
                reason,
                code,
                sku: wanted.sku.as_str().to_owned(),
                returnable: None,
                window_ended_at: None,
            };
            let candidates: Vec<usize> = bought
                .lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.0 == wanted.sku)
                .map(|(i, _)| i)
                .collect();
            if candidates.is_empty() {
                refusals.push(refuse(
                    "not_on_order",
                    format!("{} was not bought on {}", wanted.sku, bought.id),
                ));
                continue;
            }
            if let Some(category) = category_of(tx, &wanted.sku)?
                && let Some(rule) = policy.excluded_by(&category)
            {
                refusals.push(refuse(
                    "not_returnable",
                    format!(
                        "items in {} cannot be returned (policy: {})",
                        category.segments().join("/"),
                        rule.segments().join("/")
                    ),
                ));
                continue;
            }
            if now >= window_end {
                refusals.push(LineRefusal {
                    window_ended_at: Some(timestamp(window_end)),
                    ..refuse(
                        "window_closed",
                        format!(
                            "the {}-day return window ended at {}",
                            policy.window_days(),
                            timestamp(window_end)
                        ),
                    )
                });
                continue;
            }
            let free: u32 = candidates
                .iter()
                .map(|&i| {
                    bought.lines[i]
                        .2
                        .saturating_sub(taken.get(&(i as u32)).copied().unwrap_or(0))
                })
                .sum();
            if wanted.quantity.get() > free {
                refusals.push(LineRefusal {
                    returnable: Some(free),
                    ..refuse(
                        "exceeds_returnable",
                        format!(
                            "{} unit(s) asked, {free} still returnable",
                            wanted.quantity.get()
                        ),
                    )
                });
                continue;
            }
            let mut remaining = wanted.quantity.get();
            for i in candidates {
                let already = taken.get(&(i as u32)).copied().unwrap_or(0);
                let take = bought.lines[i].2.saturating_sub(already).min(remaining);
                if take > 0 {
                    planned.push((i, take, wanted.reason.clone(), already));
                    taken.insert(i as u32, already + take);
                    remaining -= take;
                }
            }
        }
        if !refusals.is_empty() {
            return Err(ReturnError::Refused(refusals));
        }
        insert_case(tx, &id, &bought, new, actor, policy, now)?;
        for (index, (i, units, reason, offset)) in planned.iter().enumerate() {
            let (sku, name, line_quantity, paid) = &bought.lines[*i];
            let refund = refund_for_units(*paid, *line_quantity, *offset, *units)
                .map_err(|e| StorageError::Other(format!("refund of {sku}: {e}")))?;
            tx.execute(
                "INSERT INTO return_case_lines (case_id, line, source_line, sku, name, quantity, reason, line_quantity,
                     line_paid_minor, unit_offset, refund_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                &[
                    id.as_str().into(),
                    (index as i64).into(),
                    (*i as i64).into(),
                    sku.as_str().into(),
                    name.as_str().into(),
                    (*units).into(),
                    reason.as_deref().into(),
                    (*line_quantity).into(),
                    paid.to_minor_units().into(),
                    (*offset).into(),
                    refund.to_minor_units().into(),
                ],
            )?;
        }
        store::record(
            tx,
            &id,
            1,
            None,
            RmaStatus::Opened,
            actor,
            new.via,
            None,
            now,
        )?;
        finish(tx, &id, settings, now)
    })
}

fn insert_case(
    tx: &dyn Sql,
    id: &RmaId,
    bought: &Bought,
    new: &NewReturn,
    actor: &Actor,
    policy: &ReturnPolicy,
    now: DateTime<Utc>,
) -> Result<(), ReturnError> {
    let expires = now + Duration::days(i64::from(policy.return_code_days()));
    // Eight random digits: a clash is rare, and retried with fresh digits.
    for _ in 0..8 {
        let body = u64::from_be_bytes(crate::notify::random_bytes::<8>()?);
        let number = super::CaseNumber::from_body(body);
        let inserted = tx.execute(
            "INSERT INTO return_cases (id, case_number, source, source_id, customer_id, currency, status, version,
                 refund_method, locale, opened_channel, opened_store, code_expires_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'opened', 1, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
             ON CONFLICT (case_number) DO NOTHING RETURNING id",
            &[
                id.as_str().into(),
                number.as_str().into(),
                bought.source.as_str().into(),
                bought.id.as_str().into(),
                bought.customer.as_ref().map(CustomerId::as_str).into(),
                bought.currency.code().into(),
                new.refund_method.as_str().into(),
                bought.locale.as_str().into(),
                new.via.as_str().into(),
                actor.store().map(StoreId::as_str).into(),
                timestamp(expires).into(),
                timestamp(now).into(),
            ],
        )?;
        if !inserted.is_empty() {
            return Ok(());
        }
    }
    Err(StorageError::Other("no free case number after 8 tries".into()).into())
}

/// Reloads the case inside the transaction and queues its notification.
fn finish(
    tx: &dyn Sql,
    id: &RmaId,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Rma, ReturnError> {
    let rma = store::load(tx, &CaseRef::Id(id.clone()))?.ok_or(ReturnError::NotFound("return"))?;
    notices::enqueue(tx, &rma, settings.webhook_configured, now)?;
    Ok(rma)
}

/// What a store device presents for a case at the counter: the customer's
/// signed return code (scanned from the app), or the case number typed from
/// an e-mail or a printout by a customer without a phone. The number is
/// enough in the store, where the clerk holds the goods: it names one case
/// (its check digit refuses typos) and the receiving rules are the same.
#[derive(Debug, Clone)]
pub enum Presented<'a> {
    Code(&'a str),
    Number(CaseNumber),
}

impl Presented<'_> {
    /// The case presented: a code is verified first (a forged or expired
    /// one is refused); a number is looked up as it is.
    fn case_ref(&self, secret: &[u8], now: DateTime<Utc>) -> Result<CaseRef, ReturnError> {
        match self {
            Presented::Code(code) => verify(code, secret, now).map(CaseRef::Id),
            Presented::Number(number) => Ok(CaseRef::Number(number.clone())),
        }
    }

    /// What a case that is not there is called: a code that verified but
    /// names no case is not genuine; a typed number is simply not a case.
    fn missing(&self) -> ReturnError {
        match self {
            Presented::Code(_) => ReturnError::CodeInvalid,
            Presented::Number(_) => ReturnError::NotFound("return"),
        }
    }
}

/// A store device looks a case up by its return code or case number: the
/// case, changing nothing.
pub fn scan(
    sql: &dyn Sql,
    presented: &Presented<'_>,
    secret: &[u8],
    device: &Actor,
    now: DateTime<Utc>,
) -> Result<Rma, ReturnError> {
    if device.kind() != ActorKind::StoreDevice {
        return Err(ReturnError::Forbidden(
            "only a store device scans return codes",
        ));
    }
    let reference = presented.case_ref(secret, now)?;
    store::load(sql, &reference)?.ok_or_else(|| presented.missing())
}

/// A store device receives the goods of the case a return code (or a typed
/// case number) names: `opened -> received` at its store, once; sellable
/// units restocked there. `lines` `None` means everything on the case,
/// sellable.
#[allow(clippy::too_many_arguments)]
pub fn intake(
    sql: &dyn Sql,
    presented: &Presented<'_>,
    secret: &[u8],
    device: &Actor,
    via: Via,
    lines: Option<&[IntakeLine]>,
    policy: &ReturnPolicy,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Rma, ReturnError> {
    let Some(store_id) = device
        .store()
        .filter(|_| device.kind() == ActorKind::StoreDevice)
        .cloned()
    else {
        return Err(ReturnError::Forbidden(
            "only a store device receives returned goods",
        ));
    };
    if !policy.in_store_returns() {
        return Err(ReturnError::NotOffered("returns in stores".into()));
    }
    let reference = presented.case_ref(secret, now)?;
    // The case is read before the transaction, which then holds only the
    // writes: the guarded UPDATE (same status, same version) re-checks what
    // was read, and a lost race is decided again on a fresh read (which
    // then says who received it). Under Spin every statement made while
    // holding the write lock keeps every other writer waiting.
    let read = |sql: &dyn Sql| -> Result<(Rma, Vec<(u32, u32)>), ReturnError> {
        let rma = store::load(sql, &reference)?.ok_or_else(|| presented.missing())?;
        match (&rma.status, &rma.received) {
            (_, Some((store, at))) => {
                return Err(ReturnError::AlreadyReceived {
                    at: *at,
                    store: store.clone(),
                });
            }
            (RmaStatus::Opened, None) => {}
            (status, None) => {
                return Err(ReturnError::Illegal {
                    current: *status,
                    to: RmaStatus::Received,
                });
            }
        }
        let found = received_counts(&rma, lines)?;
        Ok((rma, found))
    };
    let nested = sql.open_units().get() > 0;
    for _ in 0..INTAKE_ATTEMPTS {
        let received = if nested {
            in_transaction(sql, |tx| {
                let (rma, found) = read(tx)?;
                receive_in(
                    tx, &rma, &found, &store_id, device, via, policy, settings, now,
                )
            })?
        } else {
            let (rma, found) = read(sql)?;
            in_transaction(sql, |tx| {
                receive_in(
                    tx, &rma, &found, &store_id, device, via, policy, settings, now,
                )
            })?
        };
        if let Some(rma) = received {
            return Ok(rma);
        }
    }
    Err(StorageError::Busy.into())
}

/// Beyond this many lost races the case is too busy (503).
const INTAKE_ATTEMPTS: u32 = 20;

/// The intake's writes on `rma` as read before them; `None` when another
/// move got in first.
#[allow(clippy::too_many_arguments)]
fn receive_in(
    tx: &dyn Sql,
    rma: &Rma,
    found: &[(u32, u32)],
    store_id: &StoreId,
    device: &Actor,
    via: Via,
    policy: &ReturnPolicy,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Option<Rma>, ReturnError> {
    let id = &rma.id;
    let changed = tx.execute(
        "UPDATE return_cases SET status = 'received', version = version + 1, received_store = ?3, received_at = ?4,
             updated_at = ?4
         WHERE id = ?1 AND status = 'opened' AND version = ?2 RETURNING version",
        &[id.as_str().into(), rma.version.into(), store_id.as_str().into(), timestamp(now).into()],
    )?;
    let Some(version) = changed.first().map(|r| r.integer("version")).transpose()? else {
        return Ok(None);
    };
    for (index, (line, (sellable, damaged))) in rma.lines.iter().zip(found).enumerate() {
        let refundable = match policy.damaged_items() {
            DamagedItems::Refund => sellable + damaged,
            DamagedItems::NoRefund => *sellable,
        };
        let refund = refund_for_units(
            line.line_paid,
            line.line_quantity,
            line.unit_offset,
            refundable,
        )
        .map_err(|e| StorageError::Other(format!("refund of {}: {e}", line.sku)))?;
        tx.execute(
            "UPDATE return_case_lines SET received_sellable = ?3, received_damaged = ?4, refund_minor = ?5
             WHERE case_id = ?1 AND line = ?2",
            &[
                id.as_str().into(),
                (index as i64).into(),
                (*sellable).into(),
                (*damaged).into(),
                refund.to_minor_units().into(),
            ],
        )?;
        if *sellable > 0 {
            let units = Quantity::parse_with_max(i64::from(*sellable), StockQuantity::MAX)
                .map_err(|e| StorageError::Other(e.to_string()))?;
            stock::restock_in(tx, store_id, &line.sku, units, now)?;
        }
    }
    store::record(
        tx,
        id,
        version,
        Some(RmaStatus::Opened),
        RmaStatus::Received,
        device,
        via,
        None,
        now,
    )?;
    finish(tx, id, settings, now).map(Some)
}

/// Per case line, the (sellable, damaged) units the intake found.
fn received_counts(
    rma: &Rma,
    lines: Option<&[IntakeLine]>,
) -> Result<Vec<(u32, u32)>, ReturnError> {
    let Some(lines) = lines else {
        return Ok(rma.lines.iter().map(|l| (l.quantity, 0)).collect());
    };
    let mut wanted: HashMap<&Sku, (u32, u32)> = HashMap::new();
    let mut errors = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !rma.lines.iter().any(|l| l.sku == line.sku) {
            errors.push(FieldError::new(
                format!("lines[{i}].sku"),
                format!("{} is not on this return", line.sku),
            ));
            continue;
        }
        let entry = wanted.entry(&line.sku).or_default();
        match line.condition {
            Condition::Sellable => entry.0 += line.quantity.get(),
            Condition::Damaged => entry.1 += line.quantity.get(),
        }
    }
    for (sku, (sellable, damaged)) in &wanted {
        let on_case: u32 = rma
            .lines
            .iter()
            .filter(|l| &&l.sku == sku)
            .map(|l| l.quantity)
            .sum();
        if sellable + damaged > on_case {
            errors.push(FieldError::new(
                "lines",
                format!(
                    "{sku}: {} unit(s) received, {on_case} on the return",
                    sellable + damaged
                ),
            ));
        }
    }
    if wanted.values().all(|(s, d)| s + d == 0) && errors.is_empty() {
        errors.push(FieldError::new(
            "lines",
            "at least one unit must be received",
        ));
    }
    if !errors.is_empty() {
        return Err(ReturnError::Invalid(errors));
    }
    // Spread each SKU's counts over its case lines in order, sellable first.
    let mut out = Vec::with_capacity(rma.lines.len());
    for line in &rma.lines {
        let entry = wanted.entry(&line.sku).or_default();
        let sellable = entry.0.min(line.quantity);
        let damaged = entry.1.min(line.quantity - sellable);
        entry.0 -= sellable;
        entry.1 -= damaged;
        out.push((sellable, damaged));
    }
    Ok(out)
}

/// A staff move: the receiving store's device or ops; If-Match through
/// `version_ok`.
#[allow(clippy::too_many_arguments)]
pub fn transition(
    sql: &dyn Sql,
    case: &CaseRef,
    change: &Move,
    actor: &Actor,
    via: Via,
    note: Option<&str>,
    version_ok: impl Fn(i64) -> bool,
    policy: &ReturnPolicy,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Rma, ReturnError> {
    let to = change.target();
    in_transaction(sql, |tx| {
        let rma = store::load(tx, case)?.ok_or(ReturnError::NotFound("return"))?;
        may_see(actor, &rma)?;
        may_act(actor, &rma)?;
        if !version_ok(rma.version) {
            return Err(ReturnError::Stale {
                current_version: rma.version,
            });
        }
        if !rma.status.may_become(to) {
            return Err(ReturnError::Illegal {
                current: rma.status,
                to,
            });
        }
        let (refund, exchange) = match change {
            Move::Refund => (Some(rma.refund_total()), None),
            Move::Exchange { lines, store } => {
                if !policy.exchanges() {
                    return Err(ReturnError::NotOffered("exchanges".into()));
                }
                let (refund, exchange) = exchange_in(tx, &rma, lines, store.as_ref(), now)?;
                (Some(refund), Some(exchange))
            }
            Move::Inspect | Move::Reject | Move::Close => (None, None),
        };
        let exchange_json = exchange
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StorageError::Other(e.to_string()))?;
        let changed = tx.execute(
            "UPDATE return_cases SET status = ?3, version = version + 1, updated_at = ?4,
                 refund_minor = COALESCE(?5, refund_minor),
                 refunded_at = CASE WHEN ?5 IS NULL THEN refunded_at ELSE ?4 END,
                 exchange = COALESCE(?6, exchange)
             WHERE id = ?1 AND status = ?2 AND version = ?7 RETURNING version",
            &[
                rma.id.as_str().into(),
                rma.status.as_str().into(),
                to.as_str().into(),
                timestamp(now).into(),
                refund.map(|m| m.to_minor_units()).into(),
                exchange_json.into(),
                rma.version.into(),
            ],
        )?;
        let version = changed
            .first()
            .map(|r| r.integer("version"))
            .transpose()?
            .ok_or(ReturnError::Stale {
                current_version: rma.version + 1,
            })?;
        store::record(
            tx,
            &rma.id,
            version,
            Some(rma.status),
            to,
            actor,
            via,
            note,
            now,
        )?;
        finish(tx, &rma.id, settings, now)
    })
}

/// Reserves the replacements and prices the difference; returns the refund
/// due (units not exchanged, plus a negative difference) and the record.
///
/// The difference is the list-price difference, per unit: (the
/// replacement's list price - the returned unit's list price) x units, both
/// read from the one price list (`prices`, the case's currency) at the
/// moment of the exchange. The returned units' paid value (their refund
/// shares) moves to the replacements whole, so the customer keeps the
/// discount they had: another size of the same product at the same list
/// price costs nothing and refunds nothing, a dearer one costs exactly the
/// list-price difference, a cheaper one refunds it, never more than was paid
/// for the units it replaces (refunds come only from paid amounts). The
/// swaps' differences net out; a positive total is charged, a negative one
/// added to the refund.
fn exchange_in(
    tx: &dyn Sql,
    rma: &Rma,
    lines: &[ExchangeRequest],
    at: Option<&StoreId>,
    now: DateTime<Utc>,
) -> Result<(Money, Exchange), ReturnError> {
    let Some((received_store, _)) = &rma.received else {
        return Err(ReturnError::Illegal {
            current: rma.status,
            to: RmaStatus::Exchanged,
        });
    };
    let store = at.unwrap_or(received_store).clone();
    // Units of each SKU received on the case, and the value of the first
    // units by their refund shares.
    let mut used: HashMap<Sku, u32> = HashMap::new();
    let mut records = Vec::new();
    let mut exchanged_value = 0_i64;
    let mut differences = 0_i64;
    let mut errors = Vec::new();
    for (i, swap) in lines.iter().enumerate() {
        let product = |sku: &Sku| -> Result<Option<String>, StorageError> {
            let rows = tx.execute(
                "SELECT product_id FROM catalog_items WHERE sku = ?1",
                &[sku.as_str().into()],
            )?;
            rows.first()
                .map(|r| r.text("product_id").map(str::to_owned))
                .transpose()
        };
        let refuse = |why| ReturnError::NotAnExchange {
            sku: swap.sku.clone(),
            replacement: swap.replacement.clone(),
            why,
        };
        if swap.sku == swap.replacement {
            return Err(refuse("the replacement is the same item"));
        }
        match (product(&swap.sku)?, product(&swap.replacement)?) {
            (Some(a), Some(b)) if a == b => {}
            (_, None) => return Err(refuse("the catalog has no such replacement")),
            _ => {
                return Err(refuse(
                    "an exchange is another size or colour of the same product",
                ));
            }
        }
        let list_price = |sku: &Sku| -> Result<Option<i64>, StorageError> {
            let price = tx.execute(
                "SELECT amount_minor FROM prices WHERE sku = ?1 AND currency = ?2",
                &[sku.as_str().into(), rma.currency.code().into()],
            )?;
            price.first().map(|r| r.integer("amount_minor")).transpose()
        };
        let Some(unit_price) = list_price(&swap.replacement)? else {
            return Err(refuse(
                "the replacement has no price in the return's currency",
            ));
        };
        let Some(returned_price) = list_price(&swap.sku)? else {
            return Err(refuse(
                "the returned item has no price in the return's currency",
            ));
        };
        // The returned units' value: their refund shares, line by line.
        let already = used.get(&swap.sku).copied().unwrap_or(0);
        let mut skip = already;
        let mut want = swap.quantity.get();
        let mut value = 0_i64;
        for line in rma.lines.iter().filter(|l| l.sku == swap.sku) {
            let received = line.received_sellable.unwrap_or(0) + line.received_damaged.unwrap_or(0);
            let here_skip = skip.min(received);
            skip -= here_skip;
            let take = (received - here_skip).min(want);
            if take > 0 {
                let before = refund_for_units(
                    line.line_paid,
                    line.line_quantity,
                    line.unit_offset,
                    here_skip,
                )
                .map_err(|e| StorageError::Other(e.to_string()))?;
                let upto = refund_for_units(
                    line.line_paid,
                    line.line_quantity,
                    line.unit_offset,
                    here_skip + take,
                )
                .map_err(|e| StorageError::Other(e.to_string()))?;
                value += upto.to_minor_units() - before.to_minor_units();
                want -= take;
            }
        }
        if want > 0 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!("more units of {} than were received", swap.sku),
            ));
            continue;
        }
        used.insert(swap.sku.clone(), already + swap.quantity.get());
        // The list-price difference per unit: the customer keeps the
        // discount the returned units had. A cheaper replacement never
        // refunds more than was paid for the units it replaces.
        let difference =
            ((unit_price - returned_price) * i64::from(swap.quantity.get())).max(-value);
        exchanged_value += value;
        differences += difference;
        records.push(ExchangeLine {
            sku: swap.sku.as_str().to_owned(),
            replacement_sku: swap.replacement.as_str().to_owned(),
            quantity: swap.quantity.get(),
            unit_price_minor: unit_price,
            returned_value_minor: value,
            returned_unit_price_minor: Some(returned_price),
            difference_minor: Some(difference),
        });
    }
    if !errors.is_empty() {
        return Err(ReturnError::Invalid(errors));
    }
    let basket_lines: Vec<BasketLine> = lines
        .iter()
        .map(|l| BasketLine::new(l.replacement.clone(), l.quantity))
        .collect();
    let basket = Basket::from_lines(basket_lines).map_err(ReturnError::Invalid)?;
    let minutes = if &store == received_store {
        EXCHANGE_HOLD_HERE_MINUTES
    } else {
        EXCHANGE_HOLD_ELSEWHERE_MINUTES
    };
    let customer = match &rma.customer {
        Some(customer) => customer.clone(),
        // A walk-in till sale has no customer id: the hold is the case's.
        None => {
            CustomerId::parse(rma.id.as_str()).map_err(|e| StorageError::Other(e.to_string()))?
        }
    };
    let request = ReservationRequest {
        store: store.clone(),
        customer,
        basket,
        hold: HoldTtl::minutes(minutes).unwrap_or_default(),
        requested_by: format!("returns:{}", rma.case_number),
    };
    let reservation = stock::reserve_in(tx, &request, now)?;
    let difference = differences;
    let refund_minor = rma.refund_total().to_minor_units() - exchanged_value + (-difference).max(0);
    let refund = Money::from_minor_units(refund_minor, rma.currency)
        .map_err(|e| StorageError::Other(e.to_string()))?;
    Ok((
        refund,
        Exchange {
            reservation_id: reservation.id.as_str().to_owned(),
            store_id: store.as_str().to_owned(),
            hold_until: reservation.expires_at.map(timestamp).unwrap_or_default(),
            lines: records,
            difference_minor: difference,
        },
    ))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::auth::Caller;
    use crate::channel::Channel;
    use crate::returns::receipts::{NewReceipt, SaleLine, record};
    use crate::stock::test_support::{Db, db, insert_item};
    use chrono::TimeZone;

    const SECRET: &[u8] = b"code-secret-that-is-at-least-32-bytes-long";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn pln(amount: &str) -> Money {
        Money::parse_non_negative(amount, Currency::Pln).unwrap()
    }

    fn sku(raw: &str) -> Sku {
        Sku::parse(raw).unwrap()
    }

    fn till() -> Actor {
        Actor::of(&Caller::StoreDevice {
            store: StoreId::parse("S1").unwrap(),
            device: "till-1".into(),
        })
        .unwrap()
    }

    /// The stock test database (stores S1, S2; items A and B of product P)
    /// with list prices A and B 100.00, DEAR 120.00, CHEAP 80.00, TINY
    /// 10.00 PLN, all of product P, and 10 of each at S1.
    fn shop() -> Db {
        let db = db();
        let sql = db.connect();
        for extra in ["DEAR", "CHEAP", "TINY"] {
            insert_item(&sql, extra, "both");
        }
        for (item, minor) in [
            ("A", 10_000_i64),
            ("B", 10_000),
            ("DEAR", 12_000),
            ("CHEAP", 8_000),
            ("TINY", 1_000),
        ] {
            sql.execute(
                "INSERT INTO prices (sku, currency, amount_minor, updated_at) VALUES (?1, 'PLN', ?2, 'x')",
                &[item.into(), minor.into()],
            )
            .unwrap();
            sql.execute(
                "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at) VALUES ('S1', ?1, 10, 0, 1, 'x')",
                &[item.into()],
            )
            .unwrap();
        }
        db
    }

    /// A till sale of `units` x A at 100.00 with `discount` off the order,
    /// one unit of it returned and received at S1: the received case.
    fn received_case(sql: &dyn Sql, units: u32, discount: &str) -> Rma {
        let receipt = record(
            sql,
            &NewReceipt {
                store: StoreId::parse("S1").unwrap(),
                customer: None,
                currency: Currency::Pln,
                lines: vec![SaleLine {
                    sku: sku("A"),
                    quantity: units,
                    unit_price: pln("100.00"),
                    line_discount: pln("0.00"),
                }],
                order_discounts: vec![pln(discount)],
                sold_at: now(),
            },
            "store:S1:till-1",
            now(),
        )
        .unwrap();
        let policy = ReturnPolicy::default();
        let new = NewReturn {
            source_id: receipt.id,
            lines: vec![RequestedLine {
                sku: sku("A"),
                quantity: Quantity::parse(1).unwrap(),
                reason: None,
            }],
            refund_method: RefundMethod::OriginalPayment,
            via: Via::Channel(Channel::Pos),
        };
        let opened = open(sql, &new, &till(), &policy, Settings::default(), now()).unwrap();
        let code = code_for(&opened, SECRET, now()).unwrap();
        intake(
            sql,
            &Presented::Code(&code.code),
            SECRET,
            &till(),
            Via::Channel(Channel::Pos),
            None,
            &policy,
            Settings::default(),
            now(),
        )
        .unwrap()
    }

    fn exchange(sql: &dyn Sql, rma: &Rma, replacement: &str) -> Rma {
        let swap = ExchangeRequest {
            sku: sku("A"),
            replacement: sku(replacement),
            quantity: Quantity::parse(1).unwrap(),
        };
        transition(
            sql,
            &CaseRef::Id(rma.id.clone()),
            &Move::Exchange {
                lines: vec![swap],
                store: None,
            },
            &till(),
            Via::Channel(Channel::Pos),
            None,
            |_| true,
            &ReturnPolicy::default(),
            Settings::default(),
            now(),
        )
        .unwrap()
    }

    /// (price difference, refunded) of an exchanged case, in minor units.
    fn settled(rma: &Rma) -> (i64, i64) {
        let exchange = rma.exchange.as_ref().expect("an exchange");
        (
            exchange.difference_minor,
            rma.refunded.as_ref().expect("settled").0.to_minor_units(),
        )
    }

    #[test]
    fn another_size_at_the_same_list_price_costs_nothing_on_a_discounted_order() {
        let db = shop();
        let sql = db.connect();
        // Two units at 100.00 with 11.84 off the order: each paid 94.08.
        let rma = received_case(&sql, 2, "11.84");
        assert_eq!(rma.refund_total(), pln("94.08"));
        let swapped = exchange(&sql, &rma, "B");
        assert_eq!(swapped.status, RmaStatus::Exchanged);
        // Not 100.00 - 94.08 = 5.92: the customer keeps the discount.
        assert_eq!(settled(&swapped), (0, 0));
        let line = &swapped.exchange.as_ref().unwrap().lines[0];
        assert_eq!(
            (
                line.unit_price_minor,
                line.returned_unit_price_minor,
                line.returned_value_minor,
                line.difference_minor
            ),
            (10_000, Some(10_000), 9_408, Some(0))
        );
    }

    #[test]
    fn a_dearer_or_cheaper_replacement_settles_exactly_the_list_price_difference() {
        let db = shop();
        let sql = db.connect();
        let dearer = exchange(&sql, &received_case(&sql, 2, "11.84"), "DEAR");
        assert_eq!(
            settled(&dearer),
            (2_000, 0),
            "120.00 - 100.00 is charged, whatever the discount"
        );
        let cheaper = exchange(&sql, &received_case(&sql, 2, "11.84"), "CHEAP");
        assert_eq!(
            settled(&cheaper),
            (-2_000, 2_000),
            "100.00 - 80.00 is refunded"
        );
    }

    #[test]
    fn a_cheaper_replacement_never_refunds_more_than_was_paid() {
        let db = shop();
        let sql = db.connect();
        // One unit at 100.00 with 60.00 off: it paid 40.00. Swapped for a
        // 10.00 variant, the list difference (90.00) is capped at 40.00.
        let rma = received_case(&sql, 1, "60.00");
        assert_eq!(rma.refund_total(), pln("40.00"));
        assert_eq!(settled(&exchange(&sql, &rma, "TINY")), (-4_000, 4_000));
    }
}

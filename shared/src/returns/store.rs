//! The returns area's SQL reads, the history writer and the policy row.
//! Case changes live with their rule in [`super::cases`].

use super::case_number::CaseNumber;
use super::model::{Exchange, HistoryEntry, Rma, RmaLine, Source};
use super::policy::{PolicyRow, RefundMethod, ReturnPolicy};
use super::status::RmaStatus;
use super::{decode_err, parse_timestamp, timestamp};
use crate::ids::{CustomerId, RmaId, Sku, StoreId};
use crate::money::{Currency, Money};
use crate::notify::Locale;
use crate::orders::{Actor, ActorKind, Via};
use crate::storage::{Row, Sql, SqlValue, StorageError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const COLUMNS: &str = "id, case_number, source, source_id, customer_id, currency, status, version, refund_method,
    locale, opened_channel, opened_store, code_expires_at, received_store, received_at, refund_minor, refunded_at,
    exchange, created_at, updated_at";

/// How a path or code names a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRef {
    Id(RmaId),
    Number(CaseNumber),
}

/// The case, lines and history included.
pub fn load(sql: &dyn Sql, reference: &CaseRef) -> Result<Option<Rma>, StorageError> {
    let (column, value) = match reference {
        CaseRef::Id(id) => ("id", id.as_str()),
        CaseRef::Number(number) => ("case_number", number.as_str()),
    };
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM return_cases WHERE {column} = ?1"),
        &[value.into()],
    )?;
    rows.first().map(|row| case(sql, row)).transpose()
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub customer: Option<CustomerId>,
    pub source_id: Option<String>,
    pub status: Option<RmaStatus>,
    /// Only cases after this one, newest first: (created_at, id) as stored.
    pub after: Option<(String, String)>,
}

pub const MAX_LIST: u32 = 100;

/// Cases matching `filter`, newest first.
pub fn list(sql: &dyn Sql, filter: &Filter, limit: u32) -> Result<Vec<Rma>, StorageError> {
    let rows = sql.execute(
        &format!(
            "SELECT {COLUMNS} FROM return_cases
             WHERE (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR source_id = ?2) AND (?3 IS NULL OR status = ?3)
               AND (?6 IS NULL OR created_at < ?5 OR (created_at = ?5 AND id < ?6))
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        ),
        &[
            filter.customer.as_ref().map(CustomerId::as_str).into(),
            filter.source_id.as_deref().into(),
            filter.status.map(RmaStatus::as_str).into(),
            limit.min(MAX_LIST + 1).into(),
            filter.after.as_ref().map(|(created, _)| created.as_str()).into(),
            filter.after.as_ref().map(|(_, id)| id.as_str()).into(),
        ],
    )?;
    rows.iter().map(|row| case(sql, row)).collect()
}

/// Units of each source line held by live (not rejected) cases of
/// `source_id`: after intake what was received, before it what was opened.
pub fn returned_units(sql: &dyn Sql, source_id: &str) -> Result<HashMap<u32, u32>, StorageError> {
    let rows = sql.execute(
        "SELECT l.source_line AS line,
                SUM(CASE WHEN l.received_sellable IS NULL THEN l.quantity
                         ELSE l.received_sellable + l.received_damaged END) AS units
         FROM return_case_lines l JOIN return_cases c ON c.id = l.case_id
         WHERE c.source_id = ?1 AND c.status <> 'rejected'
         GROUP BY l.source_line",
        &[source_id.into()],
    )?;
    rows.iter()
        .map(|r| {
            let line = u32::try_from(r.integer("line")?).map_err(|e| decode_err("line", e))?;
            let units = u32::try_from(r.integer("units")?).map_err(|e| decode_err("units", e))?;
            Ok((line, units))
        })
        .collect()
}

/// Appends one history row; `seq` is the version the change made.
pub(crate) fn record(
    tx: &dyn Sql,
    id: &RmaId,
    seq: i64,
    from: Option<RmaStatus>,
    to: RmaStatus,
    actor: &Actor,
    via: Via,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO return_history (case_id, seq, from_status, to_status, actor_kind, actor_id, via, store_id, note, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            id.as_str().into(),
            seq.into(),
            from.map(RmaStatus::as_str).into(),
            to.as_str().into(),
            actor.kind().as_str().into(),
            actor.principal().into(),
            via.as_str().into(),
            actor.store().map(StoreId::as_str).into(),
            note.into(),
            SqlValue::Text(timestamp(now)),
        ],
    )
    .map(drop)
}

/// The policy in force and its version; the default (version 0) until ops
/// save one.
pub fn load_policy(sql: &dyn Sql) -> Result<(ReturnPolicy, i64), StorageError> {
    let rows = sql.execute("SELECT data, version FROM return_policy WHERE id = 1", &[])?;
    let Some(row) = rows.first() else {
        return Ok((ReturnPolicy::default(), 0));
    };
    let stored: PolicyRow =
        serde_json::from_str(row.text("data")?).map_err(|e| decode_err("policy", e))?;
    let policy =
        ReturnPolicy::parse(&stored).map_err(|_| decode_err("policy", "fails its own rules"))?;
    Ok((policy, row.integer("version")?))
}

/// Saves `policy` if the stored version is `expected` (any version when
/// `None`); returns the new version, or `Err(current)` when stale.
pub fn save_policy(
    sql: &dyn Sql,
    policy: &ReturnPolicy,
    expected: Option<i64>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Result<i64, i64>, StorageError> {
    let data =
        serde_json::to_string(&policy.to_row()).map_err(|e| StorageError::Other(e.to_string()))?;
    // Twice at most: an unconditional save that loses the race to create
    // the first row updates the row the winner made.
    for _ in 0..2 {
        let updated = sql.execute(
            "UPDATE return_policy SET data = ?1, version = version + 1, updated_by = ?3, updated_at = ?4
             WHERE id = 1 AND (?2 IS NULL OR version = ?2)
             RETURNING version",
            &[data.as_str().into(), expected.into(), by.into(), timestamp(now).into()],
        )?;
        if let Some(row) = updated.first() {
            return Ok(Ok(row.integer("version")?));
        }
        if expected.is_some_and(|v| v != 0) {
            break;
        }
        // No row yet: the default (version 0) is in force.
        let inserted = sql.execute(
            "INSERT INTO return_policy (id, data, version, updated_by, updated_at) VALUES (1, ?1, 1, ?2, ?3)
             ON CONFLICT (id) DO NOTHING RETURNING version",
            &[data.as_str().into(), by.into(), timestamp(now).into()],
        )?;
        if let Some(row) = inserted.first() {
            return Ok(Ok(row.integer("version")?));
        }
        if expected.is_some() {
            break;
        }
    }
    Ok(Err(load_policy(sql)?.1))
}

fn history(sql: &dyn Sql, id: &str) -> Result<Vec<HistoryEntry>, StorageError> {
    sql.execute(
        "SELECT seq, from_status, to_status, actor_kind, actor_id, via, store_id, note, at FROM return_history
         WHERE case_id = ?1 ORDER BY seq",
        &[id.into()],
    )?
    .iter()
    .map(|row| {
        Ok(HistoryEntry {
            seq: row.integer("seq")?,
            from: row.opt_text("from_status")?.map(status).transpose()?,
            to: status(row.text("to_status")?)?,
            at: parse_timestamp(row.text("at")?)?,
            actor: ActorKind::parse(row.text("actor_kind")?).ok_or_else(|| decode_err("actor", "unknown kind"))?,
            actor_id: row.text("actor_id")?.to_owned(),
            channel: via(row.text("via")?)?,
            store: row.opt_text("store_id")?.map(StoreId::parse).transpose().map_err(|e| decode_err("store", e))?,
            note: row.opt_text("note")?.map(str::to_owned),
        })
    })
    .collect()
}

fn lines(sql: &dyn Sql, id: &str, currency: Currency) -> Result<Vec<RmaLine>, StorageError> {
    sql.execute(
        "SELECT sku, name, quantity, reason, source_line, line_quantity, line_paid_minor, unit_offset, refund_minor,
             received_sellable, received_damaged
         FROM return_case_lines WHERE case_id = ?1 ORDER BY line",
        &[id.into()],
    )?
    .iter()
    .map(|row| {
        let count = |column: &str| u32::try_from(row.integer(column)?).map_err(|e| decode_err(column, e));
        let opt_count = |column: &str| {
            row.opt_integer(column)?.map(|v| u32::try_from(v).map_err(|e| decode_err(column, e))).transpose()
        };
        let money = |column: &str| Money::from_minor_units(row.integer(column)?, currency).map_err(|e| decode_err(column, e));
        Ok(RmaLine {
            sku: Sku::parse(row.text("sku")?).map_err(|e| decode_err("sku", e))?,
            name: row.text("name")?.to_owned(),
            quantity: count("quantity")?,
            reason: row.opt_text("reason")?.map(str::to_owned),
            source_line: count("source_line")?,
            line_quantity: count("line_quantity")?,
            line_paid: money("line_paid_minor")?,
            unit_offset: count("unit_offset")?,
            refund: money("refund_minor")?,
            received_sellable: opt_count("received_sellable")?,
            received_damaged: opt_count("received_damaged")?,
        })
    })
    .collect()
}

fn status(raw: &str) -> Result<RmaStatus, StorageError> {
    RmaStatus::parse(raw).ok_or_else(|| decode_err("status", raw))
}

fn via(raw: &str) -> Result<Via, StorageError> {
    Via::parse(raw).map_err(|e| decode_err("channel", e))
}

fn case(sql: &dyn Sql, row: Row<'_>) -> Result<Rma, StorageError> {
    let id = row.text("id")?.to_owned();
    let currency = Currency::parse(row.text("currency")?).map_err(|e| decode_err("currency", e))?;
    let time = |column: &str| parse_timestamp(row.text(column)?);
    let opt_time = |column: &str| row.opt_text(column)?.map(parse_timestamp).transpose();
    let store = |raw: Option<&str>| {
        raw.map(StoreId::parse)
            .transpose()
            .map_err(|e| decode_err("store", e))
    };
    let received = match (
        store(row.opt_text("received_store")?)?,
        opt_time("received_at")?,
    ) {
        (Some(store), Some(at)) => Some((store, at)),
        _ => None,
    };
    let refunded = match (row.opt_integer("refund_minor")?, opt_time("refunded_at")?) {
        (Some(minor), Some(at)) => Some((
            Money::from_minor_units(minor, currency).map_err(|e| decode_err("refund", e))?,
            at,
        )),
        _ => None,
    };
    let exchange = row
        .opt_text("exchange")?
        .map(serde_json::from_str::<Exchange>)
        .transpose()
        .map_err(|e| decode_err("exchange", e))?;
    Ok(Rma {
        id: RmaId::parse(&id).map_err(|e| decode_err("id", e))?,
        case_number: CaseNumber::parse(row.text("case_number")?)
            .map_err(|e| decode_err("case number", e))?,
        source: if row.text("source")? == "receipt" {
            Source::Receipt
        } else {
            Source::Order
        },
        source_id: row.text("source_id")?.to_owned(),
        customer: row
            .opt_text("customer_id")?
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| decode_err("customer", e))?,
        currency,
        status: status(row.text("status")?)?,
        version: row.integer("version")?,
        refund_method: RefundMethod::parse(row.text("refund_method")?)
            .ok_or_else(|| decode_err("refund method", "unknown"))?,
        locale: Locale::parse(row.text("locale")?).map_err(|e| decode_err("locale", e))?,
        opened_channel: via(row.text("opened_channel")?)?,
        opened_store: store(row.opt_text("opened_store")?)?,
        code_expires_at: time("code_expires_at")?,
        received,
        refunded,
        exchange,
        lines: lines(sql, &id, currency)?,
        history: history(sql, &id)?,
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}

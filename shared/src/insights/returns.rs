//! Returns by channel of purchase against channel of return, the return
//! rate, refund totals and exchanges.
//!
//! Definitions, over return cases opened (`created_at`) within the range:
//! - the *channel of purchase* is the channel the returned order was placed
//!   in, or `pos` for a till receipt; the *channel of return* is the
//!   channel the return was started in (the app, the web shop, a kiosk or a
//!   till);
//! - a channel's *return rate* is the cases opened in the range against its
//!   orders / its orders placed (not cancelled) in the range; till receipts
//!   have no order count here, so `pos` has no rate;
//! - *refunds* sum what refunded cases paid back (exact, per currency);
//!   *exchanges* count cases settled by a replacement.
//!
//! The store filter is the store that received the goods (and, for the
//! rate's orders, the order's store); the channel filter is the channel of
//! purchase.

use super::{Amounts, Scope, filter_on, ratio};
use crate::channel::Channel;
use crate::storage::{Sql, SqlValue, StorageError};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Returns {
    pub cases: i64,
    /// Goods received at a store.
    pub received: i64,
    pub refunded: i64,
    pub refunds: Amounts,
    pub exchanged: i64,
    pub rejected: i64,
    pub matrix: Vec<Cell>,
    pub by_purchase_channel: Vec<Purchase>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cell {
    pub purchased: String,
    pub returned: String,
    pub cases: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Purchase {
    pub channel: String,
    /// Orders placed in the range in this channel, cancelled excluded.
    pub orders: Option<i64>,
    pub cases: i64,
    pub return_rate: Option<f64>,
}

pub fn report(sql: &dyn Sql, scope: &Scope) -> Result<Returns, StorageError> {
    let store = scope.store.as_ref().map(ToString::to_string);
    let channel = scope.channel.map(|c| c.as_str().to_owned());
    let mut params: Vec<SqlValue> = scope.bounds().to_vec();
    let mut received_at = String::new();
    filter_on(
        &mut received_at,
        &mut params,
        "c.received_store",
        store.clone(),
    );
    let mut purchased_in = String::new();
    filter_on(&mut purchased_in, &mut params, "purchased", channel.clone());
    let cases = sql.execute(
        &format!(
            "SELECT purchased, opened_channel, status, currency, count(*) AS cases,
                 sum(received_at IS NOT NULL) AS received, sum(coalesce(refund_minor, 0)) AS refund_minor
             FROM (SELECT c.*, CASE WHEN c.source = 'receipt' THEN 'pos'
                       ELSE (SELECT o.channel FROM orders o WHERE o.id = c.source_id) END AS purchased
                   FROM return_cases c INDEXED BY return_cases_by_opening
                   WHERE c.created_at >= ? AND c.created_at < ?{received_at}) cases
             WHERE true{purchased_in}
             GROUP BY purchased, opened_channel, status, currency"
        ),
        &params,
    )?;
    let mut report = Returns::default();
    for row in cases.iter() {
        let purchased = row.opt_text("purchased")?.unwrap_or("unknown");
        let returned = row.text("opened_channel")?;
        let count = row.integer("cases")?;
        report.cases += count;
        report.received += row.integer("received")?;
        match row.text("status")? {
            "refunded" => {
                report.refunded += count;
                report
                    .refunds
                    .add(row.text("currency")?, row.integer("refund_minor")?)?;
            }
            "exchanged" => report.exchanged += count,
            "rejected" => report.rejected += count,
            _ => {}
        }
        match report
            .matrix
            .iter_mut()
            .find(|c| c.purchased == purchased && c.returned == returned)
        {
            Some(cell) => cell.cases += count,
            None => report.matrix.push(Cell {
                purchased: purchased.to_owned(),
                returned: returned.to_owned(),
                cases: count,
            }),
        }
    }
    let rank = |channel: &str| Channel::ALL.iter().position(|c| c.as_str() == channel);
    report
        .matrix
        .sort_by_key(|c| (rank(&c.purchased), rank(&c.returned)));

    let mut params: Vec<SqlValue> = scope.bounds().to_vec();
    let mut filters = String::new();
    filter_on(&mut filters, &mut params, "store_id", store.clone());
    filter_on(&mut filters, &mut params, "channel", channel);
    let orders = sql.execute(
        &format!(
            "SELECT channel, count(*) AS orders FROM orders {index}
             WHERE created_at >= ? AND created_at < ? AND status <> 'cancelled'{filters}
             GROUP BY channel",
            index = if store.is_some() {
                ""
            } else {
                "INDEXED BY orders_sales_insights"
            },
        ),
        &params,
    )?;
    for channel in Channel::ALL
        .iter()
        .filter(|c| scope.channel.is_none_or(|only| only == **c))
    {
        let name = channel.as_str();
        let cases = report
            .matrix
            .iter()
            .filter(|c| c.purchased == name)
            .map(|c| c.cases)
            .sum();
        let placed = match channel {
            Channel::Pos => None,
            _ => Some(
                orders
                    .iter()
                    .find(|r| r.text("channel").is_ok_and(|c| c == name))
                    .map(|r| r.integer("orders"))
                    .transpose()?
                    .unwrap_or(0),
            ),
        };
        report.by_purchase_channel.push(Purchase {
            channel: name.to_owned(),
            orders: placed,
            cases,
            return_rate: placed.and_then(|placed| ratio(cases, placed)),
        });
    }
    Ok(report)
}

//! Orders and revenue by channel and by fulfilment, and the click & collect
//! share.
//!
//! Definitions (the OpenAPI document repeats them):
//! - an order *counts* when it was placed (`created_at`) within the range,
//!   whatever its status now;
//! - *revenue* is what was paid for counted orders that were neither
//!   cancelled nor expired uncollected (their money went back);
//! - the *click & collect share* is click & collect orders over all counted
//!   orders, cancelled ones excluded from both.
//!
//! The store filter is the order's store (where it is collected or shipped
//! from); the channel filter is the channel it was placed in.

use super::{Amounts, Scope, filter_on, ratio};
use crate::storage::{Sql, StorageError};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Sales {
    /// Orders placed in the range, any status.
    pub orders: i64,
    /// Of those, cancelled.
    pub cancelled: i64,
    /// Of those, expired uncollected at the store.
    pub expired: i64,
    pub revenue: Amounts,
    /// Click & collect orders / orders, cancelled excluded; `null` with none.
    pub click_and_collect_share: Option<f64>,
    pub by_channel: Vec<Slice>,
    pub by_fulfilment: Vec<Slice>,
}

/// One channel's or one fulfilment's part.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Slice {
    pub key: String,
    pub orders: i64,
    pub cancelled: i64,
    pub revenue: Amounts,
    /// This slice's orders / all orders, cancelled excluded from both.
    pub share: Option<f64>,
}

pub fn report(sql: &dyn Sql, scope: &Scope) -> Result<Sales, StorageError> {
    let mut query = String::from(
        "SELECT channel, fulfilment, currency, count(*) AS orders,
             sum(status = 'cancelled') AS cancelled,
             sum(status = 'expired') AS expired,
             sum(CASE WHEN status IN ('cancelled', 'expired') THEN 0 ELSE total_paid_minor END) AS paid
         FROM orders {index} WHERE created_at >= ? AND created_at < ?",
    )
    // One store's orders are few: its own index (store, time) finds them.
    .replace(
        "{index}",
        if scope.store.is_some() { "" } else { "INDEXED BY orders_sales_insights" },
    );
    let mut params = scope.bounds().to_vec();
    filter_on(
        &mut query,
        &mut params,
        "store_id",
        scope.store.as_ref().map(ToString::to_string),
    );
    filter_on(
        &mut query,
        &mut params,
        "channel",
        scope.channel.map(|c| c.as_str().to_owned()),
    );
    query.push_str(" GROUP BY channel, fulfilment, currency");

    let mut sales = Sales::default();
    let mut by_channel: BTreeMap<String, Slice> = BTreeMap::new();
    let mut by_fulfilment: BTreeMap<String, Slice> = BTreeMap::new();
    for row in sql.execute(&query, &params)?.iter() {
        let (orders, cancelled) = (row.integer("orders")?, row.integer("cancelled")?);
        let (currency, paid) = (row.text("currency")?, row.integer("paid")?);
        sales.orders += orders;
        sales.cancelled += cancelled;
        sales.expired += row.integer("expired")?;
        sales.revenue.add(currency, paid)?;
        for (slices, key) in [
            (&mut by_channel, row.text("channel")?),
            (&mut by_fulfilment, row.text("fulfilment")?),
        ] {
            let slice = slices.entry(key.to_owned()).or_insert_with(|| Slice {
                key: key.to_owned(),
                ..Slice::default()
            });
            slice.orders += orders;
            slice.cancelled += cancelled;
            slice.revenue.add(currency, paid)?;
        }
    }
    let live = sales.orders - sales.cancelled;
    let shared = |slices: BTreeMap<String, Slice>| -> Vec<Slice> {
        let mut slices: Vec<Slice> = slices
            .into_values()
            .map(|mut s| {
                s.share = ratio(s.orders - s.cancelled, live);
                s
            })
            .collect();
        slices.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.key.cmp(&b.key)));
        slices
    };
    sales.click_and_collect_share = match by_fulfilment.get("click_and_collect") {
        Some(s) => ratio(s.orders - s.cancelled, live),
        None => ratio(0, live),
    };
    sales.by_channel = shared(by_channel);
    sales.by_fulfilment = shared(by_fulfilment);
    Ok(sales)
}

//! Where the customer facts the rules read come from.
//!
//! - Segments, loyalty tier and order history from systems the edge never
//!   saw (the POS and ERP history before go-live, another loyalty platform)
//!   are fed by the back office as [`CustomerProfile`]s, one row per
//!   customer, replaced on each feed.
//! - Orders placed through the edge are recorded one by one, by order id, as
//!   they are placed ([`record_order`]; reserving a redemption records its
//!   order too) and cancelled ([`cancel_order`]).
//!
//! "Orders so far in a channel" is the fed history plus the recorded,
//! uncancelled orders. Why both? A shopper who so far bought only at the
//! till is known from the POS history; their first app order is known the
//! moment it is placed, without waiting for the next feed.
//!
//! Only what rules need is kept: no names, addresses or order contents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::engine::CustomerFacts;
use super::values::{Fulfilment, LoyaltyTier, PromotionId, Segment};
use super::{PromotionError, timestamp};
use crate::catalog::{BatchKeys, FieldError};
use crate::channel::Channel;
use crate::ids::{CustomerId, OrderId};
use crate::storage::{Sql, SqlValue, StorageError};

/// The most segments one customer may carry.
pub const MAX_SEGMENTS: usize = 50;
/// An order count beyond any real customer's history.
pub const MAX_ORDER_COUNT: u32 = 1_000_000;

/// One customer's fed facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerProfile {
    customer: CustomerId,
    segments: BTreeSet<Segment>,
    loyalty_tier: Option<LoyaltyTier>,
    order_history: BTreeMap<Channel, u32>,
}

impl CustomerProfile {
    pub fn customer(&self) -> &CustomerId {
        &self.customer
    }
}

/// The wire row: `{"customer_id", "segments": [...], "loyalty_tier",
/// "order_history": {"pos": 12}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerProfileRow {
    pub customer_id: String,
    #[serde(default)]
    pub segments: Vec<String>,
    #[serde(default)]
    pub loyalty_tier: Option<String>,
    #[serde(default)]
    pub order_history: BTreeMap<String, u32>,
}

impl TryFrom<CustomerProfileRow> for CustomerProfile {
    type Error = Vec<FieldError>;

    fn try_from(row: CustomerProfileRow) -> Result<CustomerProfile, Vec<FieldError>> {
        let mut errors = Vec::new();
        let customer = CustomerId::parse(&row.customer_id)
            .map_err(|e| errors.push(FieldError::new("customer_id", e)))
            .ok();
        if row.segments.len() > MAX_SEGMENTS {
            errors.push(FieldError::new(
                "segments",
                format!("at most {MAX_SEGMENTS} segments"),
            ));
        }
        let mut segments = BTreeSet::new();
        for (i, raw) in row.segments.iter().enumerate().take(MAX_SEGMENTS) {
            match Segment::parse(raw) {
                Ok(s) => {
                    segments.insert(s);
                }
                Err(e) => errors.push(FieldError::new(format!("segments[{i}]"), e)),
            }
        }
        let loyalty_tier = match row.loyalty_tier.as_deref() {
            None | Some("") => None,
            Some(raw) => LoyaltyTier::parse(raw)
                .map_err(|e| errors.push(FieldError::new("loyalty_tier", e)))
                .ok(),
        };
        let mut order_history = BTreeMap::new();
        for (raw, count) in &row.order_history {
            match Channel::parse(raw) {
                Ok(_) if *count > MAX_ORDER_COUNT => errors.push(FieldError::new(
                    format!("order_history.{raw}"),
                    format!("at most {MAX_ORDER_COUNT} orders"),
                )),
                Ok(channel) => {
                    order_history.insert(channel, *count);
                }
                Err(e) => errors.push(FieldError::new(
                    format!("order_history.{}", raw.chars().take(32).collect::<String>()),
                    e,
                )),
            }
        }
        match customer {
            Some(customer) if errors.is_empty() => Ok(CustomerProfile {
                customer,
                segments,
                loyalty_tier,
                order_history,
            }),
            _ => Err(errors),
        }
    }
}

impl BatchKeys for CustomerProfile {
    fn batch_keys(&self) -> Vec<(&'static str, String)> {
        vec![("customer_id", self.customer.to_string())]
    }
}

/// Replaces the fed facts of each customer (a feed row is the whole truth
/// for that customer, so a segment left out is a segment removed).
pub fn upsert_profiles(
    sql: &dyn Sql,
    profiles: &[CustomerProfile],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for profile in profiles {
        let segments: Vec<&str> = profile.segments.iter().map(Segment::as_str).collect();
        let history: BTreeMap<&str, u32> = profile
            .order_history
            .iter()
            .map(|(c, n)| (c.as_str(), *n))
            .collect();
        sql.execute(
            "INSERT INTO customer_profiles (customer_id, segments, loyalty_tier, order_history, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (customer_id) DO UPDATE SET segments = excluded.segments,
                 loyalty_tier = excluded.loyalty_tier, order_history = excluded.order_history,
                 updated_at = excluded.updated_at",
            &[
                profile.customer.as_str().into(),
                json_text(&segments)?.into(),
                profile.loyalty_tier.as_ref().map(|t| t.as_str().to_owned()).into(),
                json_text(&history)?.into(),
                timestamp(now).into(),
            ],
        )?;
    }
    Ok(())
}

/// Records an order placed through the edge, once per order id (a retry is
/// a no-op), so first-order rules see it at once.
pub fn record_order(
    sql: &dyn Sql,
    customer: &CustomerId,
    order: &OrderId,
    channel: Channel,
    fulfilment: Option<Fulfilment>,
    placed_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    sql.execute(
        "INSERT INTO customer_orders (order_id, customer_id, channel, fulfilment, placed_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (order_id) DO NOTHING",
        &[
            order.as_str().into(),
            customer.as_str().into(),
            channel.as_str().into(),
            fulfilment.map(|f| f.as_str().to_owned()).into(),
            timestamp(placed_at).into(),
        ],
    )
    .map(drop)
}

/// Marks a recorded order cancelled: it no longer counts as an order so far.
pub fn cancel_order(
    sql: &dyn Sql,
    order: &OrderId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    sql.execute(
        "UPDATE customer_orders SET cancelled_at = ?2 WHERE order_id = ?1 AND cancelled_at IS NULL",
        &[order.as_str().into(), timestamp(now).into()],
    )
    .map(drop)
}

/// Everything the rules may know about `customer` (a guest when `None`).
pub fn load_customer_facts(
    sql: &dyn Sql,
    customer: Option<&CustomerId>,
) -> Result<CustomerFacts, PromotionError> {
    load_facts_excluding(sql, customer, None)
}

/// [`load_customer_facts`] without `order` among the orders so far: an order
/// being placed is not its own predecessor.
pub(super) fn load_facts_excluding(
    sql: &dyn Sql,
    customer: Option<&CustomerId>,
    order: Option<&OrderId>,
) -> Result<CustomerFacts, PromotionError> {
    let Some(customer) = customer else {
        return Ok(CustomerFacts::guest());
    };
    let mut facts = CustomerFacts {
        customer: Some(customer.clone()),
        ..CustomerFacts::default()
    };
    let id: SqlValue = customer.as_str().into();
    let profile = sql.execute(
        "SELECT segments, loyalty_tier, order_history FROM customer_profiles WHERE customer_id = ?1",
        std::slice::from_ref(&id),
    )?;
    if let Some(row) = profile.first() {
        let segments: Vec<String> = from_json_text(row.text("segments")?)?;
        facts.segments = segments
            .iter()
            .filter_map(|s| Segment::parse(s).ok())
            .collect();
        facts.loyalty_tier = row
            .opt_text("loyalty_tier")?
            .and_then(|t| LoyaltyTier::parse(t).ok());
        let history: BTreeMap<String, u32> = from_json_text(row.text("order_history")?)?;
        for (channel, count) in history {
            if let Ok(channel) = Channel::parse(&channel) {
                facts.orders_by_channel.insert(channel, count);
            }
        }
    }
    let recorded = sql.execute(
        "SELECT channel, count(*) AS n FROM customer_orders
         WHERE customer_id = ?1 AND cancelled_at IS NULL AND order_id <> ?2 GROUP BY channel",
        &[
            id.clone(),
            order.map_or(String::new(), |o| o.to_string()).into(),
        ],
    )?;
    for row in recorded.iter() {
        if let Ok(channel) = Channel::parse(row.text("channel")?) {
            let n = u32::try_from(row.integer("n")?).unwrap_or(u32::MAX);
            let entry = facts.orders_by_channel.entry(channel).or_insert(0);
            *entry = entry.saturating_add(n);
        }
    }
    let uses = sql.execute(
        "SELECT promotion_id, count(*) AS n FROM redemption_uses
         WHERE customer_id = ?1 AND released = 0 GROUP BY promotion_id",
        &[id],
    )?;
    for row in uses.iter() {
        if let Ok(promotion) = PromotionId::parse(row.text("promotion_id")?) {
            facts.uses.insert(
                promotion,
                u32::try_from(row.integer("n")?).unwrap_or(u32::MAX),
            );
        }
    }
    Ok(facts)
}

fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Decode(e.to_string()))
}

fn from_json_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<CustomerProfile, Vec<FieldError>> {
        CustomerProfile::try_from(serde_json::from_value::<CustomerProfileRow>(value).unwrap())
    }

    #[test]
    fn a_profile_row_parses_segments_tier_and_history() {
        let profile =
            parse(json!({"customer_id": "C-1", "segments": ["offline-frequent"], "loyalty_tier": "gold", "order_history": {"pos": 12}}))
                .unwrap();
        assert_eq!(profile.order_history.get(&Channel::Pos), Some(&12));
        assert_eq!(profile.loyalty_tier.unwrap().as_str(), "gold");
    }

    #[test]
    fn bad_profile_fields_are_each_named() {
        let errors = parse(json!({"customer_id": "a b", "segments": ["Bad"], "loyalty_tier": "Gold", "order_history": {"till": 1, "pos": 2000000}}))
            .unwrap_err();
        let fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "customer_id",
                "segments[0]",
                "loyalty_tier",
                "order_history.pos",
                "order_history.till"
            ]
        );
    }
}

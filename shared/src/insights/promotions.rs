//! Promotions: redemptions and discount granted by channel, uses per
//! promotion, and the promotions whose global limit is reached.
//!
//! Definitions:
//! - a *redemption* counts when it was committed (the order was paid or the
//!   till sale completed) within the range; held and released ones granted
//!   nothing;
//! - its *discount* is the total it took off (exact, per currency);
//! - a promotion's *uses* are its committed uses in the range (one per
//!   redemption that applied it);
//! - *limits reached* lists the promotions whose `used` has reached their
//!   global limit now, whatever the range (a limit is a state, not a flow).
//!
//! The store filter is the store the redemption was made at (till and
//! kiosk sales; remote channels have none); the channel filter is the
//! redemption's channel.

use super::{Amounts, Scope, filter_on};
use crate::storage::{Sql, SqlValue, StorageError};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Promotions {
    pub redemptions: i64,
    pub discount: Amounts,
    pub by_channel: Vec<ChannelUse>,
    pub by_promotion: Vec<PromotionUse>,
    pub limits_reached: Vec<Limit>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChannelUse {
    pub channel: String,
    pub redemptions: i64,
    pub discount: Amounts,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PromotionUse {
    pub promotion_id: String,
    pub uses: i64,
    pub global_limit: Option<i64>,
    /// Uses counted against the limit now (all time).
    pub used: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Limit {
    pub promotion_id: String,
    pub global_limit: i64,
    pub used: i64,
}

pub fn report(sql: &dyn Sql, scope: &Scope) -> Result<Promotions, StorageError> {
    let mut filters = String::new();
    let mut params: Vec<SqlValue> = scope.bounds().to_vec();
    filter_on(
        &mut filters,
        &mut params,
        "r.store_id",
        scope.store.as_ref().map(ToString::to_string),
    );
    filter_on(
        &mut filters,
        &mut params,
        "r.channel",
        scope.channel.map(|c| c.as_str().to_owned()),
    );
    let committed = "r.state = 'committed' AND r.committed_at >= ? AND r.committed_at < ?";

    let mut report = Promotions::default();
    let mut channels: BTreeMap<String, ChannelUse> = BTreeMap::new();
    let per_channel = format!(
        "SELECT r.channel, r.currency, count(*) AS redemptions, sum(r.total_discount_minor) AS discount
         FROM redemptions r INDEXED BY redemptions_committed_by_channel
         WHERE {committed}{filters} GROUP BY r.channel, r.currency"
    );
    for row in sql.execute(&per_channel, &params)?.iter() {
        let channel = row.text("channel")?;
        let (count, currency, discount) = (
            row.integer("redemptions")?,
            row.text("currency")?,
            row.integer("discount")?,
        );
        let entry = channels
            .entry(channel.to_owned())
            .or_insert_with(|| ChannelUse {
                channel: channel.to_owned(),
                ..ChannelUse::default()
            });
        entry.redemptions += count;
        entry.discount.add(currency, discount)?;
        report.redemptions += count;
        report.discount.add(currency, discount)?;
    }
    report.by_channel = channels.into_values().collect();
    report.by_channel.sort_by(|a, b| {
        b.redemptions
            .cmp(&a.redemptions)
            .then_with(|| a.channel.cmp(&b.channel))
    });

    // Uses in promotion order, each checked against its redemption's
    // covering index entry: no sort, no table row read.
    let per_promotion = format!(
        "SELECT u.promotion_id, count(*) AS uses, p.global_limit, p.used
         FROM redemption_uses u INDEXED BY redemption_uses_by_promotion
         JOIN redemptions r INDEXED BY redemptions_committed_by_id ON r.id = u.redemption_id AND {committed}{filters}
         JOIN promotions p ON p.id = u.promotion_id
         WHERE u.released = 0
         GROUP BY u.promotion_id, p.global_limit, p.used ORDER BY uses DESC, u.promotion_id"
    );
    for row in sql.execute(&per_promotion, &params)?.iter() {
        report.by_promotion.push(PromotionUse {
            promotion_id: row.text("promotion_id")?.to_owned(),
            uses: row.integer("uses")?,
            global_limit: row.opt_integer("global_limit")?,
            used: row.integer("used")?,
        });
    }
    for row in sql
        .execute(
            "SELECT id, global_limit, used FROM promotions
             WHERE global_limit IS NOT NULL AND used >= global_limit ORDER BY id",
            &[],
        )?
        .iter()
    {
        report.limits_reached.push(Limit {
            promotion_id: row.text("id")?.to_owned(),
            global_limit: row.integer("global_limit")?,
            used: row.integer("used")?,
        });
    }
    Ok(report)
}

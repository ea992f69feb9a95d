//! Cross-channel journeys: carts started in one channel and finished in
//! another, the conversion of each starting channel, and carts abandoned by
//! the channel they started in.
//!
//! Definitions (from `cart_events`, one row per cart ending, dated when it
//! ended):
//! - a cart *converted* when a checkout of it was completed (paid at a till
//!   or placed as an order); `matrix[started][finished]` counts those
//!   conversions by the cart's first channel and the completing channel;
//! - a cart was *abandoned* when it expired with items in it (its value is
//!   its lines at list price);
//! - a *merged* cart (a guest cart joined to the customer's cart at login)
//!   ended in neither way: its lines live on in the other cart, so it is
//!   left out of both;
//! - a starting channel's *conversion* is converted / (converted +
//!   abandoned) of the carts started there; *cross-channel* ones finished
//!   in a different channel.
//!
//! The channel filter is the starting channel. Carts belong to no store, so
//! a store filter is refused by the component rather than ignored.

use super::{Amounts, Scope, filter_on, ratio};
use crate::channel::Channel;
use crate::storage::{Sql, StorageError};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Journeys {
    /// Conversions, one cell per (started, finished) pair that occurred.
    pub matrix: Vec<Cell>,
    /// One row per channel of [`Channel::ALL`] (in that order), also when
    /// nothing started there, so a chart keeps its axis.
    pub by_starting_channel: Vec<Start>,
    pub converted: i64,
    pub cross_channel: i64,
    pub abandoned: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cell {
    pub started: String,
    pub finished: String,
    pub carts: i64,
    /// What the converted carts were sold for.
    pub value: Amounts,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Start {
    pub channel: String,
    pub converted: i64,
    /// Converted and finished in another channel.
    pub cross_channel: i64,
    pub abandoned: i64,
    /// converted / (converted + abandoned); `null` with neither.
    pub conversion: Option<f64>,
    /// Abandoned carts' lines at list price.
    pub abandoned_value: Amounts,
}

pub fn report(sql: &dyn Sql, scope: &Scope) -> Result<Journeys, StorageError> {
    let mut query = String::from(
        "SELECT kind, channel_started, channel_finished, currency, count(*) AS carts, sum(value_minor) AS value
         FROM cart_events INDEXED BY cart_events_journeys WHERE occurred_at >= ? AND occurred_at < ? AND kind IN ('converted', 'abandoned')",
    );
    let mut params = scope.bounds().to_vec();
    filter_on(
        &mut query,
        &mut params,
        "channel_started",
        scope.channel.map(|c| c.as_str().to_owned()),
    );
    query.push_str(" GROUP BY kind, channel_started, channel_finished, currency");

    let mut journeys = Journeys {
        by_starting_channel: Channel::ALL
            .iter()
            .filter(|c| scope.channel.is_none_or(|only| only == **c))
            .map(|c| Start {
                channel: c.as_str().to_owned(),
                ..Start::default()
            })
            .collect(),
        ..Journeys::default()
    };
    for row in sql.execute(&query, &params)?.iter() {
        let (started, finished) = (row.text("channel_started")?, row.text("channel_finished")?);
        let (carts, currency, value) = (
            row.integer("carts")?,
            row.text("currency")?,
            row.integer("value")?,
        );
        let start = match journeys
            .by_starting_channel
            .iter_mut()
            .position(|s| s.channel == started)
        {
            Some(at) => &mut journeys.by_starting_channel[at],
            None => {
                journeys.by_starting_channel.push(Start {
                    channel: started.to_owned(),
                    ..Start::default()
                });
                journeys
                    .by_starting_channel
                    .last_mut()
                    .expect("just pushed")
            }
        };
        if row.text("kind")? == "abandoned" {
            start.abandoned += carts;
            start.abandoned_value.add(currency, value)?;
            journeys.abandoned += carts;
            continue;
        }
        start.converted += carts;
        journeys.converted += carts;
        if started != finished {
            start.cross_channel += carts;
            journeys.cross_channel += carts;
        }
        match journeys
            .matrix
            .iter_mut()
            .find(|c| c.started == started && c.finished == finished)
        {
            Some(cell) => {
                cell.carts += carts;
                cell.value.add(currency, value)?;
            }
            None => {
                let mut cell = Cell {
                    started: started.to_owned(),
                    finished: finished.to_owned(),
                    carts,
                    value: Amounts::default(),
                };
                cell.value.add(currency, value)?;
                journeys.matrix.push(cell);
            }
        }
    }
    for start in &mut journeys.by_starting_channel {
        start.conversion = ratio(start.converted, start.converted + start.abandoned);
    }
    let rank = |channel: &str| Channel::ALL.iter().position(|c| c.as_str() == channel);
    journeys
        .matrix
        .sort_by_key(|c| (rank(&c.started), rank(&c.finished)));
    Ok(journeys)
}

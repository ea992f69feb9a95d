//! `POST /api/orders/{order_id}/transitions`: move an order to its next
//! status (the customer cancels; the store accepts, picks, readies, hands
//! over or ships; ops repair). An optional `If-Match` makes the move
//! conditional on the version the client saw.

use crate::orders::{actor, order_id};
use crate::{render, settings};
use omni_shared::catalog::FieldError;
use omni_shared::orders::model::parse_note;
use omni_shared::orders::transition::{Move, transition};
use omni_shared::orders::{OrderError, OrderStatus, Tracking, Via};
use omni_shared::pipeline::Ctx;
use omni_shared::web::{IfMatch, Problem, parse_json};
use serde::Deserialize;
use spin_sdk::http::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    status: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    tracking: Option<TrackingBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackingBody {
    carrier: String,
    url: String,
}

pub fn apply(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = actor(ctx)?;
    let id = order_id(ctx)?;
    let if_match = IfMatch::from_request(ctx.req)?;
    let body: TransitionBody = parse_json(ctx.req)?;
    let mut errors = Vec::new();
    let to = OrderStatus::parse(&body.status);
    if to.is_none() {
        errors.push(FieldError::new(
            "status",
            format!(
                "unknown status {:?}; expected one of {}",
                body.status.chars().take(32).collect::<String>(),
                OrderStatus::ALL.map(OrderStatus::as_str).join(", ")
            ),
        ));
    }
    let via = match body.channel.as_deref().map(Via::parse).transpose() {
        Ok(via) => via.unwrap_or(Via::default_for(actor.kind())),
        Err(why) => {
            errors.push(FieldError::new("channel", why));
            Via::default_for(actor.kind())
        }
    };
    let note = parse_note(body.note.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let tracking = match body.tracking {
        Some(t) => Tracking::parse(&t.carrier, &t.url)
            .map_err(|e| errors.extend(e))
            .ok(),
        None => None,
    };
    let Some(to) = to.filter(|_| errors.is_empty()) else {
        return Err(OrderError::Invalid(errors).into());
    };
    if body.channel.is_some() {
        via.check_claim(&ctx.caller()?)?;
    }
    let settings = settings::order_settings(ctx)?;
    let change = Move {
        to,
        via,
        note,
        tracking,
    };
    let now = ctx.now();
    let order = transition(
        ctx.sql()?,
        &id,
        &change,
        &actor,
        settings,
        |v| if_match.matches(v),
        now,
    )?;
    Ok(render::order_response(200, &order, &actor, now))
}

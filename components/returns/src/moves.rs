//! The staff's moves on a received case: inspect, refund, exchange, reject,
//! close. The device of the receiving store or ops; If-Match honoured;
//! an illegal move is 409 with the statuses that may follow.

use crate::{body, render};
use omni_shared::catalog::FieldError;
use omni_shared::ids::{Sku, StoreId};
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::Quantity;
use omni_shared::returns::ReturnError;
use omni_shared::returns::cases::{ExchangeRequest, Move, transition};
use omni_shared::returns::store::load_policy;
use omni_shared::web::{IfMatch, Problem, parse_json};
use serde::Deserialize;
use spin_sdk::http::Response;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeBody {
    lines: Vec<SwapBody>,
    #[serde(default)]
    store_id: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwapBody {
    sku: String,
    replacement_sku: String,
    quantity: serde_json::Value,
}

fn run(
    ctx: &Ctx<'_>,
    change: Move,
    note: Option<String>,
    channel: Option<String>,
) -> Result<Response, Problem> {
    let (caller, actor) = body::caller(ctx)?;
    let via = body::via(&caller, &actor, channel.as_deref())?;
    let note = body::note(note.as_deref())?;
    let if_match = IfMatch::from_request(ctx.req)?;
    let reference = body::case_ref(ctx)?;
    let sql = ctx.sql()?;
    let (policy, _) = load_policy(sql)?;
    let rma = transition(
        sql,
        &reference,
        &change,
        &actor,
        via,
        note.as_deref(),
        |version| if_match.matches(version),
        &policy,
        body::settings(ctx),
        ctx.now(),
    )?;
    Ok(render::response(200, &rma, &actor, None))
}

fn simple(ctx: &Ctx<'_>, change: Move) -> Result<Response, Problem> {
    let body: NoteBody = if body::has_body(ctx) {
        parse_json(ctx.req)?
    } else {
        NoteBody::default()
    };
    run(ctx, change, body.note, body.channel)
}

pub fn inspect(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    simple(ctx, Move::Inspect)
}

pub fn refund(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    simple(ctx, Move::Refund)
}

pub fn reject(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    simple(ctx, Move::Reject)
}

pub fn close(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    simple(ctx, Move::Close)
}

/// `POST .../exchange` `{lines: [{sku, replacement_sku, quantity}], store_id?}`.
pub fn exchange(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let body: ExchangeBody = parse_json(ctx.req)?;
    let mut errors = Vec::new();
    if body.lines.is_empty() || body.lines.len() > 50 {
        errors.push(FieldError::new("lines", "1 to 50 swaps"));
    }
    let mut lines = Vec::new();
    for (i, swap) in body.lines.iter().enumerate() {
        let sku = Sku::parse(&swap.sku)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].sku"), e)))
            .ok();
        let replacement = Sku::parse(&swap.replacement_sku)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].replacement_sku"), e)))
            .ok();
        let quantity = Quantity::parse_json(&swap.quantity)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].quantity"), e)))
            .ok();
        if let (Some(sku), Some(replacement), Some(quantity)) = (sku, replacement, quantity) {
            lines.push(ExchangeRequest {
                sku,
                replacement,
                quantity,
            });
        }
    }
    let store = body
        .store_id
        .as_deref()
        .map(StoreId::parse)
        .transpose()
        .map_err(|e| errors.push(FieldError::new("store_id", e)))
        .ok()
        .flatten();
    if !errors.is_empty() {
        return Err(ReturnError::Invalid(errors).into());
    }
    run(
        ctx,
        Move::Exchange { lines, store },
        body.note,
        body.channel,
    )
}

//! Stock feeds from the POS and ERP (operators and integrations only).
//!
//! `POST /api/availability/feed` `{"feeds": [{"store_id", "sequence", "lines": [...]}]}`;
//! the rules (counts and deltas, stale and replayed sequences, all or
//! nothing) are in `omni_shared::stock::feed`.

use omni_shared::pipeline::Ctx;
use omni_shared::stock::{apply_feeds, parse_feeds};
use omni_shared::web::{Problem, json_response, parse_json_with_limit};
use serde::Deserialize;
use spin_sdk::http::Response;

/// A full store count of a few thousand lines fits; the edge host refuses
/// anything above 1 MiB before the component runs.
const BODY_LIMIT: usize = 512 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedBody {
    feeds: Vec<serde_json::Value>,
}

pub fn apply(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let caller = ctx.caller()?;
    caller.require_ops()?;
    let body: FeedBody = parse_json_with_limit(ctx.req, BODY_LIMIT)?;
    let feeds = parse_feeds(body.feeds)?;
    let outcome = apply_feeds(ctx.sql()?, &feeds, &caller.principal(), ctx.now())?;
    Ok(json_response(200, &outcome))
}

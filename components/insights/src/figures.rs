//! One handler per report; each is `GET` with the same scope parameters:
//! `from`, `to` (calendar days in the retailer's zone, inclusive; the last
//! 28 days by default), `store_id`, `channel`.

use omni_shared::hours::TimeZone;
use omni_shared::insights::{Scope, journeys, promotions, returns, sales, stores};
use omni_shared::pipeline::Ctx;
use omni_shared::web::query::Query;
use omni_shared::web::{Problem, json_response};
use serde::Serialize;
use serde_json::json;
use spin_sdk::http::Response;

/// `GET /api/insights/sales`
pub fn sales(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let scope = scope(ctx, Stores::Filterable)?;
    answer(&scope, "sales", &sales::report(ctx.sql()?, &scope)?)
}

/// `GET /api/insights/journeys`
pub fn journeys(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let scope = scope(ctx, Stores::NotApplicable)?;
    answer(&scope, "journeys", &journeys::report(ctx.sql()?, &scope)?)
}

/// `GET /api/insights/stores`
pub fn stores(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let scope = scope(ctx, Stores::Filterable)?;
    answer(
        &scope,
        "pickups",
        &stores::report(ctx.sql()?, &scope, ctx.now())?,
    )
}

/// `GET /api/insights/returns`
pub fn returns(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let scope = scope(ctx, Stores::Filterable)?;
    answer(&scope, "returns", &returns::report(ctx.sql()?, &scope)?)
}

/// `GET /api/insights/promotions`
pub fn promotions(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let scope = scope(ctx, Stores::Filterable)?;
    answer(
        &scope,
        "promotions",
        &promotions::report(ctx.sql()?, &scope)?,
    )
}

/// Whether a report's rows belong to a store.
#[derive(PartialEq)]
enum Stores {
    Filterable,
    /// Carts belong to no store: a store filter would silently answer for
    /// every store, so it is refused.
    NotApplicable,
}

fn scope(ctx: &Ctx<'_>, stores: Stores) -> Result<Scope, Problem> {
    ctx.caller()?.require_ops()?;
    let query = Query::parse(ctx.req.query())?.only(&["from", "to", "store_id", "channel"])?;
    if stores == Stores::NotApplicable && query.get("store_id").is_some() {
        return Err(Problem::bad_request(
            "store_id: carts belong to no store, so journeys cover every store; leave store_id out",
        ));
    }
    let raw_zone = ctx.required_variable("retailer_time_zone")?;
    let zone = TimeZone::parse(&raw_zone)
        .map_err(|e| Problem::internal(&format!("the retailer_time_zone variable: {e}")))?;
    Scope::parse(
        query.get("from"),
        query.get("to"),
        query.get("store_id"),
        query.get("channel"),
        zone,
        ctx.now(),
    )
    .map_err(|e| Problem::bad_request(e.to_string()))
}

/// `{"scope": {...}, "<name>": {...}}`, never cached: the figures move
/// with every order.
fn answer(scope: &Scope, name: &str, figures: &impl Serialize) -> Result<Response, Problem> {
    let mut body = json!({ "scope": scope.echo() });
    body[name] = serde_json::to_value(figures).map_err(|e| Problem::internal(&e))?;
    let mut response = json_response(200, &body);
    response.set_header("cache-control", "no-store");
    Ok(response)
}

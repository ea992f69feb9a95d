//! Batches of unique single-use codes (ops): generate, list, read.
//!
//! A batch request is bounded (10,000 codes): a request for ten million is
//! refused with 422 before anything is drawn or stored.

use omni_shared::catalog::FieldError;
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::{self, BatchRequest};
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

use crate::entropy;
use crate::problems::{invalid, problem};
use crate::promotions::{found, path_id};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBatch {
    count: serde_json::Value,
    #[serde(default)]
    prefix: Option<String>,
}

/// `POST /api/promotions/{id}/code-batches` `{"count": 500, "prefix":
/// "XMAS"}`: 201 with the batch and its codes. Honours `Idempotency-Key`, so
/// a retried request does not print a second batch.
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let operator = ctx.caller()?.require_ops()?.to_owned();
    let id = path_id(ctx)?;
    let body: CreateBatch = parse_json(ctx.req)?;
    let count = body
        .count
        .as_i64()
        .ok_or_else(|| invalid(vec![FieldError::new("count", "must be a whole number")]))?;
    let request = BatchRequest::parse(count, body.prefix.as_deref()).map_err(|e| {
        let field = if matches!(e, promotions::codes::BatchRequestError::Count { .. }) {
            "count"
        } else {
            "prefix"
        };
        invalid(vec![FieldError::new(field, e)])
    })?;
    let seed = entropy::seed()?;
    let sql = ctx.sql()?;
    let now = ctx.now();
    let scope = format!("ops:{operator} POST /api/promotions/{id}/code-batches");
    Ok(run_for_request(
        sql,
        &scope,
        ctx.req,
        now,
        || match promotions::create_batch(
            sql,
            &id,
            &request,
            &seed,
            &format!("ops:{operator}"),
            now,
        ) {
            Ok((batch, codes)) => {
                let mut response = json_response(201, &json!({ "batch": batch, "codes": codes }));
                response.set_header(
                    "location",
                    format!("/api/promotions/{id}/code-batches/{}", batch.batch_id),
                );
                response
            }
            Err(err) => problem(err).into_response(),
        },
    ))
}

/// `GET /api/promotions/{id}/code-batches`: every batch with its use count.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let id = path_id(ctx)?;
    let sql = ctx.sql()?;
    found(promotions::load_promotion(sql, &id).map_err(problem)?, &id)?;
    let query = Query::parse(ctx.req.query())?.only(&["limit", "cursor"])?;
    let page = PageRequest::parse(query.get("limit"), query.get("cursor"), 100, 500, 1)?;
    let batches = promotions::list_batches(sql, &id).map_err(problem)?;
    let (batches, next_cursor) = page.page_of(batches, |b| b.batch_id.clone());
    Ok(json_response(
        200,
        &json!({ "batches": batches, "next_cursor": next_cursor }),
    ))
}

/// `GET /api/promotions/{id}/code-batches/{batch_id}`: the batch and every
/// code with whether it was used.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let id = path_id(ctx)?;
    let batch_id = ctx.param("batch_id");
    let (batch, codes) = promotions::load_batch(ctx.sql()?, &id, batch_id)
        .map_err(problem)?
        .ok_or_else(|| {
            Problem::not_found(format!(
                "promotion {id} has no code batch {}",
                batch_id.chars().take(64).collect::<String>()
            ))
        })?;
    Ok(json_response(
        200,
        &json!({ "batch": batch, "codes": codes }),
    ))
}

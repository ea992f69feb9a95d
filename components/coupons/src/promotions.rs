//! Promotions administration (ops role): create, import, read, list,
//! replace, pause and resume. Every change makes a new version; a
//! redemption records the version it used, readable under `versions/{n}`.

use omni_shared::catalog::parse_batch;
use omni_shared::pipeline::Ctx;
use omni_shared::promotions::{
    self, PromotionEntry, PromotionId, PromotionRow, PromotionStatus, StoredPromotion,
};
use omni_shared::web::etag::IfMatch;
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::{
    PageRequest, Problem, json_response, parse_json, parse_json_with_limit, with_etag,
};
use serde_json::{Value, json};
use spin_sdk::http::Response;

use crate::customers::batch_problem;
use crate::problems::{invalid, problem};
use omni_shared::web::query::Query;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// An import of up to 1,000 definitions needs more than the default body.
const IMPORT_LIMIT: usize = 768 * 1024;

/// `POST /api/promotions`: one definition (with optional shared `codes`),
/// created at version 1, active. Honours `Idempotency-Key`.
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let operator = ctx.caller()?.require_ops()?.to_owned();
    let row: PromotionRow = parse_json(ctx.req)?;
    let entry = PromotionEntry::try_from(row).map_err(invalid)?;
    let sql = ctx.sql()?;
    let now = ctx.now();
    let scope = format!("ops:{operator} POST /api/promotions");
    Ok(run_for_request(sql, &scope, ctx.req, now, || {
        let created = promotions::create_promotion(
            sql,
            &entry.promotion,
            PromotionStatus::Active,
            &entry.codes,
            &format!("ops:{operator}"),
            now,
        );
        match created {
            Ok(stored) => {
                let mut response = with_etag(
                    json_response(201, &promotion_json(&stored, Some(&entry.codes))),
                    stored.version,
                );
                response.set_header(
                    "location",
                    format!("/api/promotions/{}", stored.promotion.id()),
                );
                response
            }
            Err(err) => problem(err).into_response(),
        }
    }))
}

/// `POST /api/promotions/import` `{"promotions": [PromotionRow...]}`:
/// creates or updates every definition, all or nothing; an unchanged one
/// keeps its version (so a seed can run again).
pub fn import(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let operator = ctx.caller()?.require_ops()?.to_owned();
    let mut body: serde_json::Map<String, Value> = parse_json_with_limit(ctx.req, IMPORT_LIMIT)?;
    if let Some(other) = body.keys().find(|k| *k != "promotions") {
        return Err(Problem::invalid_body(format!(
            "unknown field `{other}`; expected only `promotions`"
        )));
    }
    let rows = match body.remove("promotions") {
        Some(Value::Array(rows)) if !rows.is_empty() => rows,
        Some(Value::Array(_)) => {
            return Err(Problem::invalid_body(
                "`promotions` must hold at least one row",
            ));
        }
        Some(_) => {
            return Err(Problem::invalid_body(
                "`promotions` must be an array of rows",
            ));
        }
        None => return Err(Problem::invalid_body("missing field `promotions`")),
    };
    let entries = parse_batch::<PromotionRow, PromotionEntry>(rows).map_err(batch_problem)?;
    let entries: Vec<_> = entries
        .into_iter()
        .map(|e| (e.promotion, e.codes))
        .collect();
    let summary =
        promotions::import_promotions(ctx.sql()?, &entries, &format!("ops:{operator}"), ctx.now())
            .map_err(problem)?;
    Ok(json_response(200, &summary))
}

/// `GET /api/promotions/{id}`: the current definition with its version as
/// ETag, status, use count and shared codes.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let id = path_id(ctx)?;
    let sql = ctx.sql()?;
    let stored = found(promotions::load_promotion(sql, &id).map_err(problem)?, &id)?;
    let codes = promotions::shared_codes(sql, &id).map_err(problem)?;
    Ok(with_etag(
        json_response(200, &promotion_json(&stored, Some(&codes))),
        stored.version,
    ))
}

/// `GET /api/promotions?status=active&limit=50&cursor=C`: a page in id order.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let query = Query::parse(ctx.req.query())?.only(&["status", "limit", "cursor"])?;
    let status = query
        .get("status")
        .map(|s| {
            PromotionStatus::parse(s)
                .ok_or_else(|| Problem::bad_request("status must be active or paused"))
        })
        .transpose()?;
    let request = PageRequest::parse(
        query.get("limit"),
        query.get("cursor"),
        DEFAULT_PAGE,
        MAX_PAGE,
        1,
    )?;
    let after = request
        .after_part(0)
        .map(|a| {
            PromotionId::parse(a)
                .map_err(|_| Problem::bad_request("cursor: not a cursor this list gave out"))
        })
        .transpose()?;
    let mut page =
        promotions::list_promotions(ctx.sql()?, status, after.as_ref(), request.fetch().into())
            .map_err(problem)?;
    let next_cursor = request.finish(&mut page, |p| vec![p.promotion.id().to_string()]);
    let items: Vec<Value> = page.iter().map(|p| promotion_json(p, None)).collect();
    Ok(json_response(
        200,
        &json!({ "promotions": items, "next_cursor": next_cursor }),
    ))
}

/// `PUT /api/promotions/{id}` with `If-Match`: replaces the definition,
/// making the next version. Codes are bound separately.
pub fn replace(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let operator = ctx.caller()?.require_ops()?.to_owned();
    let id = path_id(ctx)?;
    let if_match = IfMatch::from_request(ctx.req)?.require()?;
    let mut row: PromotionRow = parse_json(ctx.req)?;
    if row.id.trim() != id.as_str() {
        return Err(invalid(vec![omni_shared::catalog::FieldError::new(
            "id",
            format!("must be {id}, the promotion in the path"),
        )]));
    }
    if !row.codes.is_empty() {
        return Err(invalid(vec![omni_shared::catalog::FieldError::new(
            "codes",
            format!(
                "bind codes with POST /api/promotions/{id}/codes; a definition change keeps its codes"
            ),
        )]));
    }
    let sql = ctx.sql()?;
    let current = found(promotions::load_promotion(sql, &id).map_err(problem)?, &id)?;
    // Codes stay bound across edits, so a definition that does not say
    // otherwise keeps needing one (rather than silently turning automatic).
    row.requires_code
        .get_or_insert(current.promotion.requires_code());
    let promotion = PromotionEntry::try_from(row).map_err(invalid)?.promotion;
    if_match
        .check(current.version)
        .map_err(|p| p.with_extension("current", promotion_json(&current, None)))?;
    let stored = promotions::replace_promotion(
        sql,
        &promotion,
        current.version,
        &format!("ops:{operator}"),
        ctx.now(),
    )
    .map_err(problem)?;
    Ok(with_etag(
        json_response(200, &promotion_json(&stored, None)),
        stored.version,
    ))
}

/// `POST /api/promotions/{id}/pause`: stops the promotion at once in every
/// channel (If-Match optional: in an emergency a pause must not need a read).
pub fn pause(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    set_status(ctx, PromotionStatus::Paused)
}

/// `POST /api/promotions/{id}/resume`.
pub fn resume(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    set_status(ctx, PromotionStatus::Active)
}

fn set_status(ctx: &Ctx<'_>, status: PromotionStatus) -> Result<Response, Problem> {
    let operator = ctx.caller()?.require_ops()?.to_owned();
    let id = path_id(ctx)?;
    let if_match = IfMatch::from_request(ctx.req)?;
    let sql = ctx.sql()?;
    let expected = match if_match {
        IfMatch::Absent | IfMatch::Any => None,
        tags => {
            let current = found(promotions::load_promotion(sql, &id).map_err(problem)?, &id)?;
            tags.check(current.version)?;
            Some(current.version)
        }
    };
    let stored = promotions::set_status(
        sql,
        &id,
        status,
        expected,
        &format!("ops:{operator}"),
        ctx.now(),
    )
    .map_err(problem)?;
    Ok(with_etag(
        json_response(200, &promotion_json(&stored, None)),
        stored.version,
    ))
}

/// `GET /api/promotions/{id}/versions/{version}`: a version as it was, for
/// a redemption that recorded it.
pub fn version(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    ctx.caller()?.require_ops()?;
    let id = path_id(ctx)?;
    let raw = ctx.param("version");
    let number: i64 = raw.parse().ok().filter(|v| *v >= 1).ok_or_else(|| {
        Problem::not_found(format!(
            "no version {:?} of promotion {id}",
            raw.chars().take(20).collect::<String>()
        ))
    })?;
    let version = promotions::load_version(ctx.sql()?, &id, number)
        .map_err(problem)?
        .ok_or_else(|| Problem::not_found(format!("no version {number} of promotion {id}")))?;
    Ok(json_response(
        200,
        &json!({
            "promotion_id": id,
            "version": version.version,
            "status": version.status,
            "changed_by": version.changed_by,
            "changed_at": version.changed_at,
            "definition": version.promotion.to_row(),
        }),
    ))
}

/// The promotion id in the path; one that cannot be an id is simply absent.
pub fn path_id(ctx: &Ctx<'_>) -> Result<PromotionId, Problem> {
    let raw = ctx.param("id");
    PromotionId::parse(raw).map_err(|_| {
        Problem::not_found(format!(
            "no promotion with id {:?}",
            raw.chars().take(64).collect::<String>()
        ))
    })
}

pub fn found(
    stored: Option<StoredPromotion>,
    id: &PromotionId,
) -> Result<StoredPromotion, Problem> {
    stored.ok_or_else(|| problem(promotions::PromotionError::UnknownPromotion(id.clone())))
}

/// The resource body: current definition plus its bookkeeping; shared codes
/// on single reads and on create.
pub fn promotion_json(stored: &StoredPromotion, codes: Option<&[promotions::CouponCode]>) -> Value {
    let mut body = json!({
        "promotion_id": stored.promotion.id(),
        "version": stored.version,
        "status": stored.status,
        "used": stored.used,
        "created_at": stored.created_at,
        "updated_at": stored.updated_at,
        "definition": stored.promotion.to_row(),
    });
    if let Some(codes) = codes {
        body["codes"] = json!(codes);
    }
    body
}

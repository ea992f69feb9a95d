//! Opening a return (`POST /api/returns`, idempotent by key), reading one,
//! listing them.

use crate::body;
use crate::render;
use omni_shared::catalog::FieldError;
use omni_shared::ids::CustomerId;
use omni_shared::ids::Sku;
use omni_shared::orders::ActorKind;
use omni_shared::pipeline::Ctx;
use omni_shared::quantity::Quantity;
use omni_shared::returns::cases::{NewReturn, RequestedLine, code_for, may_see, open};
use omni_shared::returns::store::{self, Filter, MAX_LIST, load_policy};
use omni_shared::returns::{RefundMethod, ReturnError, RmaStatus, timestamp};
use omni_shared::web::idempotency::run_for_request;
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response, parse_json};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

/// The most lines one return may hold.
const MAX_LINES: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    order_id: String,
    lines: Vec<LineBody>,
    #[serde(default)]
    refund_method: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    sku: String,
    quantity: serde_json::Value,
    #[serde(default)]
    reason: Option<String>,
}

fn new_return(body: CreateBody, via: omni_shared::orders::Via) -> Result<NewReturn, ReturnError> {
    let mut errors = Vec::new();
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("1 to {MAX_LINES} lines")));
    }
    let mut lines = Vec::new();
    for (i, line) in body.lines.iter().enumerate() {
        let sku = Sku::parse(&line.sku)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].sku"), e)))
            .ok();
        let quantity = Quantity::parse_json(&line.quantity)
            .map_err(|e| errors.push(FieldError::new(format!("lines[{i}].quantity"), e)))
            .ok();
        let reason = match line.reason.as_deref().map(str::trim) {
            Some(r)
                if r.is_empty() || r.chars().count() > 64 || r.chars().any(char::is_control) =>
            {
                errors.push(FieldError::new(
                    format!("lines[{i}].reason"),
                    "1 to 64 printable characters",
                ));
                None
            }
            other => other.map(str::to_owned),
        };
        if let (Some(sku), Some(quantity)) = (sku, quantity) {
            lines.push(RequestedLine {
                sku,
                quantity,
                reason,
            });
        }
    }
    let refund_method = match body.refund_method.as_deref() {
        None => Some(RefundMethod::OriginalPayment),
        Some(raw) => RefundMethod::parse(raw).or_else(|| {
            errors.push(FieldError::new(
                "refund_method",
                "must be original_payment or store_credit",
            ));
            None
        }),
    };
    let source_ok = !body.order_id.trim().is_empty() && body.order_id.len() <= 64;
    if !source_ok {
        errors.push(FieldError::new(
            "order_id",
            "an order id or a till receipt id (RCP-...)",
        ));
    }
    match refund_method {
        Some(refund_method) if errors.is_empty() => Ok(NewReturn {
            source_id: body.order_id.trim().to_owned(),
            lines,
            refund_method,
            via,
        }),
        _ => Err(ReturnError::Invalid(errors)),
    }
}

/// `POST /api/returns`: 201 with the case; opened by a customer (online) it
/// carries the return code and its QR.
pub fn create(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let (caller, actor) = body::caller(ctx)?;
    let body: CreateBody = parse_json(ctx.req)?;
    let via = body::via(&caller, &actor, body.channel.as_deref())?;
    let new = new_return(body, via)?;
    let sql = ctx.sql()?;
    let (policy, _) = load_policy(sql)?;
    let secret = ctx.code_signing_secret()?;
    let settings = body::settings(ctx);
    let now = ctx.now();
    let scope = format!("{} POST /api/returns", actor.principal());
    Ok(run_for_request(sql, &scope, ctx.req, now, || {
        match open(sql, &new, &actor, &policy, settings, now) {
            Ok(rma) => {
                let code = code_for(&rma, &secret, now).map(|c| render::code(&c)).ok();
                let mut response =
                    render::response(201, &rma, &actor, code.map(|c| ("return_code", c)));
                response.set_header("location", format!("/api/returns/{}", rma.case_number));
                response
            }
            Err(e) => Problem::from(e).into_response(),
        }
    }))
}

/// `GET /api/returns/{case_number}`.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = body::actor(ctx)?;
    let reference = body::case_ref(ctx)?;
    let rma = store::load(ctx.sql()?, &reference)?.ok_or(ReturnError::NotFound("return"))?;
    may_see(&actor, &rma)?;
    Ok(render::response(200, &rma, &actor, None))
}

/// `GET /api/returns?order_id=&customer_id=&status=&limit=&cursor=`: a
/// customer's own; a store device's for a named customer or order; ops all.
/// Newest first, a page at a time like every list.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let actor = body::actor(ctx)?;
    let query = Query::parse(ctx.req.query())?.only(&[
        "order_id",
        "customer_id",
        "status",
        "limit",
        "cursor",
    ])?;
    let customer = query
        .get("customer_id")
        .map(CustomerId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("customer_id: {e}")))?;
    let status = query
        .get("status")
        .map(|raw| {
            RmaStatus::parse(raw).ok_or_else(|| {
                Problem::bad_request(format!("status: not a return status: {raw:?}"))
            })
        })
        .transpose()?;
    let page = PageRequest::parse(query.get("limit"), query.get("cursor"), 50, MAX_LIST, 2)?;
    let source_id = query.get("order_id").map(str::to_owned);
    let customer = match actor.kind() {
        ActorKind::Customer => {
            let own = actor.customer().cloned();
            if customer.is_some() && customer != own {
                return Err(Problem::forbidden("customers list only their own returns"));
            }
            own
        }
        ActorKind::StoreDevice if customer.is_none() && source_id.is_none() => {
            return Err(ReturnError::Invalid(vec![FieldError::new(
                "customer_id",
                "a store device lists the returns of a named customer_id or order_id",
            )])
            .into());
        }
        _ => customer,
    };
    let filter = Filter {
        customer,
        source_id,
        status,
        after: page
            .after
            .as_ref()
            .map(|key| (key[0].clone(), key[1].clone())),
    };
    let mut cases = store::list(ctx.sql()?, &filter, page.fetch())?;
    let next_cursor = page.finish(&mut cases, |rma| {
        vec![timestamp(rma.created_at), rma.id.to_string()]
    });
    let items: Vec<_> = cases.iter().map(|rma| render::case(rma, &actor)).collect();
    let mut response = json_response(
        200,
        &json!({"returns": items, "count": items.len(), "next_cursor": next_cursor}),
    );
    response.set_header("cache-control", "no-store");
    Ok(response)
}

//! What every handler shares: the caller as an actor, the channel a request
//! names, the case a path names, settings, and small parsing helpers.

use omni_shared::auth::Caller;
use omni_shared::catalog::FieldError;
use omni_shared::ids::RmaId;
use omni_shared::orders::{Actor, Via};
use omni_shared::pipeline::Ctx;
use omni_shared::returns::cases::Settings;
use omni_shared::returns::store::CaseRef;
use omni_shared::returns::{CaseNumber, ReturnError};
use omni_shared::web::Problem;

/// The caller as an actor; anonymous callers get 401.
pub fn actor(ctx: &Ctx<'_>) -> Result<Actor, Problem> {
    caller(ctx).map(|(_, actor)| actor)
}

/// The verified caller and the actor it is; anonymous callers get 401.
pub fn caller(ctx: &Ctx<'_>) -> Result<(Caller, Actor), Problem> {
    let caller = ctx.caller()?;
    let actor = Actor::of(&caller).ok_or_else(|| {
        Problem::unauthorized("sign in: returns need a customer, store or ops token")
    })?;
    Ok((caller, actor))
}

/// The channel a request names, or the caller's usual one
/// ([`Via::default_for`]: a customer the app, a store device its till, ops
/// the back office).
///
/// A named channel is a claim the caller's credential must allow, by the
/// rule every component applies ([`Via::check_claim`]): a customer acts in
/// `web` or `app`, a store device in `pos` or `kiosk`, ops in any channel;
/// `back_office` is the operators' alone. Another claim is 403
/// `channel-not-allowed`, before anything is read or changed, so a case's
/// history never records a channel its actor could not have used.
pub fn via(caller: &Caller, actor: &Actor, raw: Option<&str>) -> Result<Via, Problem> {
    let Some(raw) = raw else {
        return Ok(Via::default_for(actor.kind()));
    };
    let via = Via::parse(raw)
        .map_err(|why| ReturnError::Invalid(vec![FieldError::new("channel", why)]))?;
    via.check_claim(caller)?;
    Ok(via)
}

/// The case a path names: a case number (`RMA-1234-5678-6`) or an RMA id
/// (`RET-...`). A malformed one names no case (404), but a case number
/// with a wrong check digit says so, since that is a typo worth showing.
pub fn case_ref(ctx: &Ctx<'_>) -> Result<CaseRef, Problem> {
    let raw = ctx.param("case_number");
    if raw.len() == 20 && raw.to_ascii_uppercase().starts_with("RET-") {
        return RmaId::parse(&raw.to_ascii_uppercase())
            .map(CaseRef::Id)
            .map_err(|_| ReturnError::NotFound("return").into());
    }
    match CaseNumber::parse(raw) {
        Ok(number) => Ok(CaseRef::Number(number)),
        Err(omni_shared::returns::case_number::CaseNumberError::CheckDigit) => {
            Err(Problem::not_found(format!(
                "no such return: {}",
                omni_shared::returns::case_number::CaseNumberError::CheckDigit
            )))
        }
        Err(_) => Err(ReturnError::NotFound("return").into()),
    }
}

/// Whether the gateway webhook is configured for this component too.
pub fn settings(ctx: &Ctx<'_>) -> Settings {
    let url = ctx
        .host
        .variable("notification_webhook_url")
        .ok()
        .flatten()
        .unwrap_or_default();
    Settings {
        webhook_configured: !url.trim().is_empty(),
    }
}

/// A note on a change: printable, at most 500 characters.
pub fn note(raw: Option<&str>) -> Result<Option<String>, ReturnError> {
    omni_shared::orders::model::parse_note(raw).map_err(|e| ReturnError::Invalid(vec![e]))
}

/// Whether the request carries a body at all (commands take an optional one).
pub fn has_body(ctx: &Ctx<'_>) -> bool {
    !ctx.req.body().iter().all(u8::is_ascii_whitespace)
}

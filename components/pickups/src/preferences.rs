//! `GET`/`PUT /api/notifications/preferences`: the signed-in customer's
//! channels, language and marketing consent, with ETag/If-Match.

use omni_shared::notify::Locale;
use omni_shared::notify::preferences::{self, Choice, Preferences};
use omni_shared::orders::timestamp;
use omni_shared::pipeline::Ctx;
use omni_shared::web::{IfMatch, Problem, json_response, parse_json, with_etag};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferencesBody {
    /// `null` (or absent) follows each order's language.
    #[serde(default)]
    locale: Option<Locale>,
    channels: ChannelsBody,
    marketing_consent: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelsBody {
    push: bool,
    email: bool,
    sms: bool,
}

fn respond(prefs: &Preferences) -> Response {
    let body = json!({
        "locale": prefs.locale.map(Locale::as_str),
        "channels": { "push": prefs.push, "email": prefs.email, "sms": prefs.sms },
        "marketing_consent": prefs.marketing_consent,
        "transactional_notices": "always sent on the chosen channels; marketing consent is not needed for them",
        "version": prefs.version,
        "updated_at": prefs.updated_at.map(timestamp),
    });
    with_etag(json_response(200, &body), prefs.version)
}

pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let customer = ctx.caller()?.require_customer()?.clone();
    Ok(respond(&preferences::load(ctx.sql()?, &customer)?))
}

pub fn put(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let customer = ctx.caller()?.require_customer()?.clone();
    let if_match = IfMatch::from_request(ctx.req)?;
    let body: PreferencesBody = parse_json(ctx.req)?;
    let choice = Choice {
        locale: body.locale,
        push: body.channels.push,
        email: body.channels.email,
        sms: body.channels.sms,
        marketing_consent: body.marketing_consent,
    };
    let saved = preferences::save(
        ctx.sql()?,
        &customer,
        choice,
        |v| if_match.matches(v),
        ctx.now(),
    )?;
    Ok(respond(&saved))
}

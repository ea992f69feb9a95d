//! The single path every cart change takes: check the caller, expire a
//! stale cart, check `If-Match`, apply the change, answer with the cart.
//!
//! A change runs in one `BEGIN IMMEDIATE` transaction, so the version that
//! `If-Match` is checked against is the version the change bumps, and the
//! expiry of a stale cart commits even though the change is then refused.
//!
//! Line edits, the hot path, take no transaction ([`edit_line`]): they are
//! decided from reads and committed with one statement guarded by the
//! version those reads saw, and decided again when another device's edit
//! got in first. `If-Match` is checked against the same version, so its
//! meaning is unchanged.

use chrono::{DateTime, Utc};
use omni_shared::cart::access::{Intent, authorize};
use omni_shared::cart::lines::LineEdit;
use omni_shared::cart::store::{self, CartHeader, GuardedEdit};
use omni_shared::cart::{CartError, CartPolicy, CartStatus, expiry};
use omni_shared::channel::Channel;
use omni_shared::ids::Sku;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Sql, in_transaction};
use omni_shared::web::etag::etag;
use omni_shared::web::{IfMatch, Problem};
use spin_sdk::http::Response;

use crate::render;
use crate::request::{self, Shopper};

/// What a change gets to work with.
pub struct Change<'a> {
    pub tx: &'a dyn Sql,
    pub header: &'a CartHeader,
    pub channel: Channel,
    pub policy: &'a CartPolicy,
    pub now: DateTime<Utc>,
}

/// Runs `change` on the cart named by the path and answers 200 with the
/// cart as it is afterwards (unchanged when the change was a no-op), or,
/// with `Prefer: return=minimal`, 204 with only the new ETag.
///
/// Why offer the minimal answer? Loading, pricing and rendering a whole cart
/// is most of a change's cost; a device that keeps its own copy (or reads
/// the cart once after a burst of edits) needs only the new version.
///
/// `change` returns whether it changed the cart; every change bumps the
/// version exactly once, which is how the new ETag is known without a read.
pub fn edit_cart(
    ctx: &Ctx<'_>,
    change: impl FnOnce(&Change<'_>) -> Result<bool, CartError>,
) -> Result<Response, Problem> {
    let Edit {
        id,
        shopper,
        if_match,
        minimal,
        policy,
        now,
    } = Edit::read(ctx)?;
    let sql = ctx.sql()?;
    let outcome = in_transaction(
        sql,
        |tx| -> Result<Result<(Channel, i64), CartError>, CartError> {
            let header = store::header(tx, &id)?.ok_or(CartError::NotFound)?;
            authorize(&shopper.caller, shopper.secret(), &header, Intent::Edit)?;
            if expiry::expire_if_stale(tx, &header, &policy, now)? {
                // Committed: the cart is expired whatever this request wanted.
                return Ok(Err(CartError::NotActive {
                    status: CartStatus::Expired,
                    merged_into: None,
                }));
            }
            header.ensure_active()?;
            if !if_match.matches(header.version) {
                return Err(CartError::Stale {
                    current_version: header.version,
                });
            }
            let channel = shopper.channel_for(&header);
            let changed = change(&Change {
                tx,
                header: &header,
                channel,
                policy: &policy,
                now,
            })?;
            Ok(Ok((channel, header.version + i64::from(changed))))
        },
    );
    answer(ctx, sql, &id, shopper.channel, &policy, minimal, outcome)
}

/// How often a line edit is decided again after losing a race before it
/// stops racing: then it takes the write lock and decides inside it (the
/// transaction path), so a device that keeps losing on the hottest line is
/// served in turn instead of answered 503.
const LINE_EDIT_ATTEMPTS: u32 = 12;

/// Applies one line edit (see the module docs).
///
/// Inside an idempotent request (an `Idempotency-Key`), whose answer must
/// commit with its effect, the edit takes [`edit_cart`]'s transaction; so
/// does the rare edit of a cart that has gone stale and must expire first.
pub fn edit_line(ctx: &Ctx<'_>, sku: &Sku, edit: &LineEdit) -> Result<Response, Problem> {
    let in_transaction_path = |ctx: &Ctx<'_>| {
        edit_cart(ctx, |c| {
            store::edit_line(c.tx, c.header, sku, edit, c.channel, c.policy, c.now)
        })
    };
    let sql = ctx.sql()?;
    if sql.open_units().get() > 0 {
        return in_transaction_path(ctx);
    }
    let Edit {
        id,
        shopper,
        if_match,
        minimal,
        policy,
        now,
    } = Edit::read(ctx)?;
    /// One decision and its guarded commit.
    enum Attempt {
        Done(Channel, i64),
        /// The cart must expire first: the transaction path does that.
        Stale,
        Raced,
    }
    let attempt = || -> Result<Attempt, CartError> {
        let header = store::header(sql, &id)?.ok_or(CartError::NotFound)?;
        authorize(&shopper.caller, shopper.secret(), &header, Intent::Edit)?;
        if expiry::is_stale(&header, &policy, now) {
            return Ok(Attempt::Stale);
        }
        header.ensure_active()?;
        if !if_match.matches(header.version) {
            return Err(CartError::Stale {
                current_version: header.version,
            });
        }
        let channel = shopper.channel_for(&header);
        Ok(
            match store::edit_line_guarded(sql, &header, sku, edit, channel, &policy, now)? {
                GuardedEdit::Changed { version } => Attempt::Done(channel, version),
                GuardedEdit::Unchanged => Attempt::Done(channel, header.version),
                GuardedEdit::Raced => Attempt::Raced,
            },
        )
    };
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        match attempt() {
            Ok(Attempt::Raced) if attempts < LINE_EDIT_ATTEMPTS => continue,
            Ok(Attempt::Raced) => return in_transaction_path(ctx),
            Ok(Attempt::Stale) => return in_transaction_path(ctx),
            Ok(Attempt::Done(channel, version)) => break Ok((channel, version)),
            Err(error) => break Err(error),
        }
    };
    answer(
        ctx,
        sql,
        &id,
        shopper.channel,
        &policy,
        minimal,
        outcome.map(Ok),
    )
}

/// The answer to a change: the cart (or 204 with the new ETag when the
/// client prefers it minimal), or the refusal with the cart as it is.
fn answer(
    ctx: &Ctx<'_>,
    sql: &dyn Sql,
    id: &omni_shared::ids::CartId,
    shopper_channel: Option<Channel>,
    policy: &CartPolicy,
    minimal: bool,
    outcome: Result<Result<(Channel, i64), CartError>, CartError>,
) -> Result<Response, Problem> {
    match outcome {
        Ok(Ok((_, version))) if minimal => Ok(Response::builder()
            .status(204)
            .header("etag", etag(version))
            .header("preference-applied", "return=minimal")
            .build()),
        Ok(Ok((channel, _))) => render::current_response(ctx, sql, id, 200, Some(channel), policy),
        Ok(Err(error)) | Err(error) => Err(render::refusal(
            ctx,
            sql,
            id,
            shopper_channel,
            policy,
            error,
        )),
    }
}

/// What every change reads from its request before touching the cart.
struct Edit {
    id: omni_shared::ids::CartId,
    shopper: Shopper,
    if_match: IfMatch,
    minimal: bool,
    policy: CartPolicy,
    now: DateTime<Utc>,
}

impl Edit {
    fn read(ctx: &Ctx<'_>) -> Result<Edit, Problem> {
        Ok(Edit {
            id: request::cart_id(ctx)?,
            shopper: Shopper::from_ctx(ctx)?,
            if_match: IfMatch::from_request(ctx.req)?,
            minimal: prefers_minimal(ctx),
            policy: request::policy(ctx)?,
            now: ctx.now(),
        })
    }
}

/// Whether the request asked for `Prefer: return=minimal` (RFC 7240).
fn prefers_minimal(ctx: &Ctx<'_>) -> bool {
    ctx.req
        .header("prefer")
        .and_then(|v| v.as_str())
        .is_some_and(|v| {
            v.split([',', ';'])
                .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
        })
}

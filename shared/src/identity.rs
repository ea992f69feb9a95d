//! The customer's in-store identity code: the QR the app shows so that a
//! store device can see, in one scan, that customer's orders waiting at
//! this store, open returns and the coupons that apply to them.
//!
//! The code is [`crate::auth::signed_code`] with its own purpose
//! ([`PURPOSE`]) over `cid:` and the customer id, valid for [`TTL_MINUTES`].
//! The purpose is bound into the tag, so an identity code never passes as a
//! pickup, return or hand-off code, nor the reverse. The `cid:` prefix is
//! not a security measure: it lets the kiosk page tell an identity code
//! from the other codes by decoding the (signed, not secret) payload before
//! it asks the server, as it does with `ORD-` pickup and `chk_` hand-off
//! payloads. A `:` cannot occur in any id ([`crate::ids`]), so the prefix
//! never collides with another code's payload.
//!
//! # Why short-lived and not single-use?
//!
//! The code reveals nothing by itself (only a store device can resolve it,
//! and the answer goes to staff), and the same customer is often scanned
//! twice in a minute (at the kiosk, then at the till). Five minutes keeps a
//! screenshot from becoming a standing pass to the customer's data while
//! sparing the shopper a fresh QR for each scan; the app asks for a new code
//! whenever it shows one. Nothing about a code is stored.
//!
//! # What a scan shows
//!
//! [`at_store`] gathers, read-only: the customer's orders that are ready
//! for pickup at the scanning store ([`crate::orders::store::list`]) and the
//! automatic promotions on offer to them in the till channel
//! ([`crate::promotions::offered_to`]: segment, loyalty tier and first-order
//! conditions met, active now, limits not used up), and their open return
//! cases ([`crate::returns::store::list`]: opened, received or inspected,
//! whichever store or channel they belong to, since any store takes a
//! return back).

use crate::auth::signed_code::{self, CodeError};
use crate::channel::Channel;
use crate::ids::{CustomerId, StoreId};
use crate::orders::store::{Filter, MAX_LIST, list};
use crate::orders::{Order, OrderStatus};
use crate::promotions::{self, ActivePromotion, PromotionError};
use crate::returns::{Rma, RmaStatus};
use crate::storage::StorageError;
use crate::web::problem::Problem;
use chrono::{DateTime, Duration, Utc};
use std::fmt;

/// The purpose bound into every identity code.
pub const PURPOSE: &str = "customer-identity";

/// How long a code works once issued.
pub const TTL_MINUTES: i64 = 5;

/// What the signed payload starts with, before the customer id.
pub const PAYLOAD_PREFIX: &str = "cid:";

/// An identity code and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCode {
    code: String,
    expires_at: DateTime<Utc>,
}

impl IdentityCode {
    /// The code for `customer`, issued at `now`.
    pub fn issue(customer: &CustomerId, secret: &[u8], now: DateTime<Utc>) -> IdentityCode {
        let expires_at = now + Duration::minutes(TTL_MINUTES);
        let payload = format!("{PAYLOAD_PREFIX}{customer}");
        IdentityCode {
            code: signed_code::sign(PURPOSE, payload.as_bytes(), expires_at, secret),
            expires_at,
        }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    /// The signed expiry: whole seconds, as the code carries it.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at.timestamp(), 0).unwrap_or(self.expires_at)
    }
}

/// The customer a genuine, current identity code names.
pub fn resolve(code: &str, secret: &[u8], now: DateTime<Utc>) -> Result<CustomerId, IdentityError> {
    let payload = signed_code::verify_text(PURPOSE, code, secret, now).map_err(|e| match e {
        CodeError::Expired => IdentityError::Expired,
        CodeError::Malformed | CodeError::BadSignature => IdentityError::Invalid,
    })?;
    let id = payload
        .strip_prefix(PAYLOAD_PREFIX)
        .ok_or(IdentityError::Invalid)?;
    CustomerId::parse(id).map_err(|_| IdentityError::Invalid)
}

/// A customer as a store device sees them after the scan.
#[derive(Debug, Clone)]
pub struct CustomerAtStore {
    pub customer: CustomerId,
    /// Ready for pickup at the scanning store, newest first.
    pub orders_ready_here: Vec<Order>,
    /// Automatic promotions on offer to this customer at the till, by id.
    pub coupons: Vec<ActivePromotion>,
    /// Return cases not yet settled (opened, received, inspected), newest
    /// first.
    pub open_returns: Vec<Rma>,
}

/// Whether a return case still needs something from a store: bringing the
/// items in (opened), or a refund or exchange (received, inspected).
pub fn is_open_return(status: RmaStatus) -> bool {
    matches!(
        status,
        RmaStatus::Opened | RmaStatus::Received | RmaStatus::Inspected
    )
}

/// Everything the scan shows about `customer` at `store` (see the module
/// docs); reads only.
pub fn at_store(
    sql: &dyn crate::storage::Sql,
    customer: &CustomerId,
    store: &StoreId,
    now: DateTime<Utc>,
) -> Result<CustomerAtStore, IdentityError> {
    let filter = Filter {
        customer: Some(customer.clone()),
        store: Some(store.clone()),
        status: Some(OrderStatus::ReadyForPickup),
        at_risk_at: None,
        queue: false,
        after: None,
    };
    let orders_ready_here = list(sql, &filter, MAX_LIST)?;
    let facts = promotions::load_customer_facts(sql, Some(customer))?;
    let coupons = promotions::load_active(sql, now, &[])?
        .into_iter()
        .filter(|active| promotions::offered_to(active, Channel::Pos, &facts, now).is_ok())
        .collect();
    let cases = crate::returns::store::Filter {
        customer: Some(customer.clone()),
        ..Default::default()
    };
    let open_returns = crate::returns::store::list(sql, &cases, crate::returns::store::MAX_LIST)?
        .into_iter()
        .filter(|rma| is_open_return(rma.status))
        .collect();
    Ok(CustomerAtStore {
        customer: customer.clone(),
        orders_ready_here,
        coupons,
        open_returns,
    })
}

/// Why an identity code or scan was refused. Each variant's doc names its
/// HTTP status and problem `type`; [`From<IdentityError> for Problem`] is
/// the one place they are rendered.
#[derive(Debug)]
pub enum IdentityError {
    /// 403 `identity-code-invalid`: not a genuine identity code (forged,
    /// altered, another secret, or a code of another kind).
    Invalid,
    /// 410 `identity-code-expired`: genuine, but older than its five
    /// minutes; the customer refreshes the QR in the app.
    Expired,
    /// 500 (503 when busy): logged, never shown.
    Storage(StorageError),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Invalid => write!(f, "this is not a genuine customer identity code"),
            IdentityError::Expired => {
                write!(
                    f,
                    "this identity code has expired: ask the customer to refresh the code in the app"
                )
            }
            IdentityError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for IdentityError {}

impl From<StorageError> for IdentityError {
    fn from(e: StorageError) -> Self {
        IdentityError::Storage(e)
    }
}

/// The promotion reads used here only fail in storage; anything else would
/// be a bug in them, reported as an internal error rather than hidden.
impl From<PromotionError> for IdentityError {
    fn from(e: PromotionError) -> Self {
        match e {
            PromotionError::Storage(e) => IdentityError::Storage(e),
            other => IdentityError::Storage(StorageError::Other(other.to_string())),
        }
    }
}

impl From<IdentityError> for Problem {
    fn from(err: IdentityError) -> Problem {
        let detail = err.to_string();
        match err {
            IdentityError::Invalid => {
                Problem::new(403, "identity-code-invalid", "Invalid Identity Code")
                    .with_detail(detail)
            }
            IdentityError::Expired => {
                Problem::new(410, "identity-code-expired", "Identity Code Expired")
                    .with_detail(detail)
            }
            IdentityError::Storage(e) => Problem::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SECRET: &[u8] = b"a-code-secret-of-at-least-32-bytes!!";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn ada() -> CustomerId {
        CustomerId::parse("cust-ada").unwrap()
    }

    #[test]
    fn a_code_names_its_customer_for_five_minutes() {
        let issued = IdentityCode::issue(&ada(), SECRET, now());
        assert_eq!(issued.expires_at(), now() + Duration::minutes(5));
        assert_eq!(resolve(issued.code(), SECRET, now()).unwrap(), ada());
        let last_second = now() + Duration::minutes(5) - Duration::seconds(1);
        assert_eq!(resolve(issued.code(), SECRET, last_second).unwrap(), ada());
    }

    #[test]
    fn an_expired_code_is_refused_as_expired() {
        let issued = IdentityCode::issue(&ada(), SECRET, now());
        let later = now() + Duration::minutes(5);
        assert!(matches!(
            resolve(issued.code(), SECRET, later),
            Err(IdentityError::Expired)
        ));
        let problem = Problem::from(resolve(issued.code(), SECRET, later).unwrap_err());
        assert_eq!(
            (problem.status(), problem.slug()),
            (410, "identity-code-expired")
        );
    }

    #[test]
    fn forged_and_altered_codes_are_refused_as_invalid() {
        let issued = IdentityCode::issue(&ada(), SECRET, now());
        let other_secret = b"another-secret-of-at-least-32-bytes!";
        let mut altered = issued.code().to_owned();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        for bad in [altered.as_str(), "", "not a code", &"A".repeat(80)] {
            assert!(
                matches!(resolve(bad, SECRET, now()), Err(IdentityError::Invalid)),
                "{bad:?}"
            );
        }
        assert!(matches!(
            resolve(issued.code(), other_secret, now()),
            Err(IdentityError::Invalid)
        ));
        let problem = Problem::from(IdentityError::Invalid);
        assert_eq!(
            (problem.status(), problem.slug()),
            (403, "identity-code-invalid")
        );
    }

    #[test]
    fn codes_of_other_kinds_never_pass_as_identity_codes() {
        let expires = now() + Duration::minutes(5);
        let pickup = signed_code::sign("pickup", b"cid:cust-ada", expires, SECRET);
        assert!(matches!(
            resolve(&pickup, SECRET, now()),
            Err(IdentityError::Invalid)
        ));
        // The right purpose but no prefix: not something this module issued.
        let bare = signed_code::sign(PURPOSE, b"cust-ada", expires, SECRET);
        assert!(matches!(
            resolve(&bare, SECRET, now()),
            Err(IdentityError::Invalid)
        ));
        let issued = IdentityCode::issue(&ada(), SECRET, now());
        assert!(
            signed_code::verify(crate::orders::pickup::PURPOSE, issued.code(), SECRET, now())
                .is_err()
        );
    }

    #[test]
    fn only_unsettled_return_cases_are_open() {
        let open: Vec<RmaStatus> = RmaStatus::ALL
            .into_iter()
            .filter(|s| is_open_return(*s))
            .collect();
        assert_eq!(
            open,
            [RmaStatus::Opened, RmaStatus::Received, RmaStatus::Inspected]
        );
    }

    #[test]
    fn the_payload_is_readable_with_its_prefix_so_a_page_can_recognise_the_code() {
        use base64::Engine;
        let issued = IdentityCode::issue(&ada(), SECRET, now());
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(issued.code())
            .unwrap();
        let payload = &bytes[5..bytes.len() - signed_code::TAG_LEN];
        assert_eq!(payload, b"cid:cust-ada");
        assert!(issued.code().len() < 80, "{}", issued.code());
    }
}

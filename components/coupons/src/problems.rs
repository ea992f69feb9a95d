//! The one place where promotion errors become problem+json.
//!
//! | error | status | `type` slug |
//! | --- | --- | --- |
//! | bad fields in a body | 422 | `invalid-body` (with `errors: [{field, reason}]`) |
//! | a cart line's price or category not the catalog's, an unknown or unpriced SKU | 422 | `invalid-body` (`cart.lines[i].<field>`, the catalog's value in words) |
//! | a channel the caller may not act in | 403 | `channel-not-allowed` (with `allowed_channels`; from `auth::channel_claim`) |
//! | unknown promotion, reservation or batch | 404 | `not-found` |
//! | a code no promotion has | 422 | `unknown-coupon-code` (with `codes`) |
//! | a code that does not apply at redemption | 409 | `coupon-refused` (with `refused`) |
//! | the discount changed since the shopper saw it | 409 | `discount-changed` (with `evaluation`) |
//! | create with an id in use | 409 | `promotion-exists` |
//! | a code bound elsewhere | 409 | `code-taken` |
//! | codes for an automatic promotion | 409 | `automatic-promotion` |
//! | a second live redemption of an order | 409 | `order-already-redeemed` |
//! | commit after release | 409 | `illegal-transition` (with `current`) |
//! | stale If-Match | 412 | `precondition-failed` |
//! | idempotency key reused / missing | 422 / 400 | `idempotency-key-reused` / `bad-request` |
//! | guards failing under contention | 503 | `unavailable` |

use omni_shared::catalog::FieldError;
use omni_shared::promotions::{Evaluation, PromotionError};
use omni_shared::web::Problem;
use omni_shared::web::etag::etag;
use serde_json::{Value, json};

pub fn problem(err: PromotionError) -> Problem {
    match err {
        PromotionError::Invalid(errors) => invalid(errors),
        PromotionError::UnknownPromotion(_) | PromotionError::UnknownReservation(_) => {
            Problem::not_found(err.to_string())
        }
        PromotionError::AlreadyExists(_) => {
            Problem::new(409, "promotion-exists", "Promotion Exists").with_detail(err.to_string())
        }
        PromotionError::VersionMismatch { current } => {
            Problem::precondition_failed(err.to_string())
                .with_extension("current_etag", Value::String(etag(current)))
                .with_header("etag", etag(current))
        }
        PromotionError::CodeTaken(ref code) => Problem::new(409, "code-taken", "Code Taken")
            .with_detail(err.to_string())
            .with_extension("code", json!(code)),
        PromotionError::AutomaticPromotion(_) => {
            Problem::new(409, "automatic-promotion", "Automatic Promotion")
                .with_detail(err.to_string())
        }
        PromotionError::CodesRefused(ref evaluation) => {
            let unknown = unknown_codes(evaluation);
            if unknown.is_empty() {
                Problem::new(409, "coupon-refused", "Coupon Refused")
                    .with_detail(err.to_string())
                    .with_extension("refused", json!(evaluation.refused))
            } else {
                unknown_code(&unknown)
            }
        }
        PromotionError::DiscountChanged { ref evaluation, .. } => {
            Problem::new(409, "discount-changed", "Discount Changed")
                .with_detail(err.to_string())
                .with_extension("evaluation", json!(evaluation))
        }
        PromotionError::KeyReused => Problem::idempotency_key_reused(),
        PromotionError::BadKey => Problem::bad_request(err.to_string()),
        PromotionError::OrderAlreadyReserved {
            ref reservation, ..
        } => Problem::new(409, "order-already-redeemed", "Order Already Redeemed")
            .with_detail(err.to_string())
            .with_extension("redemption_id", json!(reservation)),
        PromotionError::InvalidTransition { state, .. } => {
            Problem::new(409, "illegal-transition", "Illegal Status Transition")
                .with_detail(err.to_string())
                .with_extension("current", json!(state))
        }
        PromotionError::Contention => Problem::unavailable(1),
        PromotionError::Storage(storage) => Problem::from(storage),
    }
}

/// 422 `invalid-body` naming every bad field.
pub fn invalid(errors: Vec<FieldError>) -> Problem {
    let detail = match errors.first() {
        Some(first) => format!("{} problem(s) in the request, first: {first}", errors.len()),
        None => "the request is invalid".to_owned(),
    };
    Problem::invalid_body(detail).with_extension("errors", json!(errors))
}

/// 422 `unknown-coupon-code`: codes no promotion has. Bad input, so nothing
/// is evaluated or counted; the detail reads out at the till.
pub fn unknown_code(codes: &[String]) -> Problem {
    Problem::new(422, "unknown-coupon-code", "Unknown Coupon Code")
        .with_detail(format!("unknown code {}", codes.join(", ")))
        .with_extension("codes", json!(codes))
}

pub fn unknown_codes(evaluation: &Evaluation) -> Vec<String> {
    evaluation
        .refused
        .iter()
        .filter(|r| r.refusal.reason() == "unknown-code")
        .map(|r| r.code.to_string())
        .collect()
}

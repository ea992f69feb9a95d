//! Signed short codes for QR hand-offs: pickup codes, return codes, a cart
//! handed from the app to a till, a customer's in-store identity code.
//!
//! A code is one base64url string (no padding, so it survives URLs and QR
//! byte mode unchanged) of `version (1) || expires_at (4, Unix seconds, big
//! endian) || payload || tag (16)`. The tag is HMAC-SHA256 truncated to 16
//! bytes (128 bits, ample against forgery) over the purpose and everything
//! before the tag, so a pickup code can never pass as a return code even with
//! the same payload and secret: the purpose is bound, not carried. An order
//! id as payload gives a code of about 50 characters, a small QR.
//!
//! The payload is signed, not encrypted: anyone holding the code can read it,
//! so it carries ids, never personal data. Single use is not decided here:
//! the component records a redeemed code in SQL with a guarded statement.
//!
//! Why not a JWT? Three JSON parts and a header would triple the QR's size
//! for no gain: the purpose and the expiry are the only claims a code needs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Bytes of HMAC tag kept in a code.
pub const TAG_LEN: usize = 16;

/// Codes longer than this are refused before decoding.
pub const MAX_CODE_LEN: usize = 1024;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 4;
/// Separates this use of the secret from any other HMAC made with it.
const DOMAIN: &[u8] = b"omnichannel-edge/signed-code/v1";

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    /// Not a code at all: bad base64url, too short or too long, an unknown
    /// version, or (for [`verify_text`]) a payload that is not UTF-8.
    Malformed,
    /// The tag does not verify: forged, altered, signed with another secret,
    /// or issued for another purpose.
    BadSignature,
    /// Genuine but past its expiry.
    Expired,
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Malformed => write!(f, "the code is not a valid code"),
            CodeError::BadSignature => {
                write!(f, "the code is not genuine or is meant for something else")
            }
            CodeError::Expired => write!(f, "the code has expired"),
        }
    }
}

impl std::error::Error for CodeError {}

/// Signs `payload` for `purpose` until `expires_at` (Unix seconds, clamped
/// to 1970..2106). `secret` should be at least 32 random bytes.
pub fn sign(purpose: &str, payload: &[u8], expires_at: DateTime<Utc>, secret: &[u8]) -> String {
    let expires = u32::try_from(expires_at.timestamp().max(0)).unwrap_or(u32::MAX);
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&expires.to_be_bytes());
    bytes.extend_from_slice(payload);
    let tag = mac(purpose, &bytes, secret).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Returns the payload of a genuine, unexpired code for `purpose`. The tag
/// is compared in constant time and checked before the expiry, so a forged
/// code learns nothing from the answer.
pub fn verify(
    purpose: &str,
    code: &str,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<u8>, CodeError> {
    if code.len() > MAX_CODE_LEN {
        return Err(CodeError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(code.trim())
        .map_err(|_| CodeError::Malformed)?;
    if bytes.len() < HEADER_LEN + TAG_LEN || bytes[0] != VERSION {
        return Err(CodeError::Malformed);
    }
    let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    mac(purpose, signed, secret)
        .verify_truncated_left(tag)
        .map_err(|_| CodeError::BadSignature)?;
    let expires = u32::from_be_bytes([signed[1], signed[2], signed[3], signed[4]]);
    if now.timestamp() >= i64::from(expires) {
        return Err(CodeError::Expired);
    }
    Ok(signed[HEADER_LEN..].to_vec())
}

/// [`verify`] for a text payload (an order id, an RMA id).
pub fn verify_text(
    purpose: &str,
    code: &str,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<String, CodeError> {
    String::from_utf8(verify(purpose, code, secret, now)?).map_err(|_| CodeError::Malformed)
}

fn mac(purpose: &str, signed: &[u8], secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(DOMAIN);
    // Length-prefixed, so no purpose/payload split can collide with another.
    mac.update(&(purpose.len() as u64).to_be_bytes());
    mac.update(purpose.as_bytes());
    mac.update(signed);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const SECRET: &[u8] = b"a-code-secret-of-at-least-32-bytes!!";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn pickup_code() -> String {
        sign(
            "pickup",
            b"ORD-2026-000123",
            now() + Duration::days(7),
            SECRET,
        )
    }

    #[test]
    fn a_code_round_trips_its_payload() {
        assert_eq!(
            verify("pickup", &pickup_code(), SECRET, now()),
            Ok(b"ORD-2026-000123".to_vec())
        );
        assert_eq!(
            verify_text("pickup", &pickup_code(), SECRET, now()).as_deref(),
            Ok("ORD-2026-000123")
        );
    }

    #[test]
    fn codes_are_compact_url_safe_text() {
        let code = pickup_code();
        assert!(code.len() <= 50, "{} characters: {code}", code.len());
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{code}"
        );
    }

    #[test]
    fn an_empty_payload_is_allowed() {
        let code = sign("handoff", b"", now() + Duration::minutes(5), SECRET);
        assert_eq!(verify("handoff", &code, SECRET, now()), Ok(Vec::new()));
    }

    #[test]
    fn a_tampered_code_is_refused() {
        let code = pickup_code();
        let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        for position in [HEADER_LEN, 2, bytes.len() - 1] {
            bytes[position] ^= 0x01;
            let tampered = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(
                verify("pickup", &tampered, SECRET, now()),
                Err(CodeError::BadSignature),
                "byte {position}"
            );
            bytes[position] ^= 0x01;
        }
    }

    #[test]
    fn a_code_for_another_purpose_is_refused() {
        assert_eq!(
            verify("return", &pickup_code(), SECRET, now()),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn a_code_signed_with_another_secret_is_refused() {
        let other = b"another-secret-of-at-least-32-bytes!";
        assert_eq!(
            verify("pickup", &pickup_code(), other, now()),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn an_expired_code_is_refused() {
        let expires = now() + Duration::minutes(10);
        let code = sign("handoff", b"cart-1", expires, SECRET);
        assert!(verify("handoff", &code, SECRET, expires - Duration::seconds(1)).is_ok());
        assert_eq!(
            verify("handoff", &code, SECRET, expires),
            Err(CodeError::Expired)
        );
        assert_eq!(
            verify("handoff", &code, SECRET, expires + Duration::days(1)),
            Err(CodeError::Expired)
        );
    }

    #[test]
    fn purpose_and_payload_boundaries_cannot_be_shifted() {
        // "pickup" + "X..." must not verify as "pickupX" + "...".
        let code = sign("a", b"bc", now() + Duration::days(1), SECRET);
        let bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        let shifted =
            URL_SAFE_NO_PAD.encode([&bytes[..HEADER_LEN], &bytes[HEADER_LEN + 1..]].concat());
        assert_eq!(
            verify("ab", &shifted, SECRET, now()),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let code = pickup_code();
        let mut wrong_version = URL_SAFE_NO_PAD.decode(&code).unwrap();
        wrong_version[0] = 2;
        for bad in [
            String::new(),
            "short".to_owned(),
            format!("{code}="),
            format!("{code}!"),
            format!("+{code}"),
            URL_SAFE_NO_PAD.encode(wrong_version),
            "A".repeat(MAX_CODE_LEN + 4),
        ] {
            assert_eq!(
                verify("pickup", &bad, SECRET, now()),
                Err(CodeError::Malformed),
                "{bad:.30}"
            );
        }
    }

    #[test]
    fn a_non_utf8_payload_is_malformed_as_text() {
        let code = sign("x", &[0xff, 0xfe], now() + Duration::days(1), SECRET);
        assert_eq!(
            verify_text("x", &code, SECRET, now()),
            Err(CodeError::Malformed)
        );
    }
}

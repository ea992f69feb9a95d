//! The signed webhook to the retailer's e-mail/SMS gateway (or a mobile
//! push relay): a JSON POST whose signature proves it came from this edge
//! and was not replayed much later.
//!
//! Headers on every call:
//!
//! | header | value |
//! | --- | --- |
//! | `webhook-id` | the outbox row id: the same on every retry, so the receiver dedupes |
//! | `webhook-timestamp` | Unix seconds when this attempt was signed |
//! | `webhook-signature` | `v1=` + lower-case hex HMAC-SHA256(secret, `<timestamp>.<body>`) |
//!
//! Why the timestamp inside the MAC? A receiver that refuses timestamps
//! older than a few minutes cannot be fed a captured call again later; the
//! body alone would verify forever.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Where the webhook goes and the shared secret that signs it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    url: String,
    secret: Vec<u8>,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Why the webhook settings are unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// The URL is not http(s).
    BadUrl,
    /// A secret shorter than 32 bytes could be guessed.
    WeakSecret,
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::BadUrl => write!(f, "must be an https:// (or http://) URL"),
            WebhookError::WeakSecret => write!(f, "must be at least 32 bytes"),
        }
    }
}

impl std::error::Error for WebhookError {}

/// The shortest secret accepted, as for HS256 tokens.
pub const MIN_SECRET_LEN: usize = 32;

impl WebhookTarget {
    pub fn new(url: &str, secret: &[u8]) -> Result<WebhookTarget, WebhookError> {
        let url = url.trim();
        if super::webpush::origin(url).is_none() {
            return Err(WebhookError::BadUrl);
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(WebhookError::WeakSecret);
        }
        Ok(WebhookTarget {
            url: url.to_owned(),
            secret: secret.to_vec(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `webhook-signature` value for `body` sent at `timestamp`.
    pub fn signature(&self, timestamp: i64, body: &[u8]) -> String {
        format!("v1={}", hex(&mac(&self.secret, timestamp, body)))
    }

    /// The three headers of one attempt.
    pub fn headers(&self, id: i64, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
        vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), id.to_string()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), self.signature(timestamp, body)),
        ]
    }
}

/// Checks a received signature in constant time: what a receiver does (and
/// what the tests do).
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_tag) = signature.strip_prefix("v1=") else {
        return false;
    };
    let Some(tag) = unhex(hex_tag) else {
        return false;
    };
    let mut check = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    check.update(timestamp.to_string().as_bytes());
    check.update(b".");
    check.update(body);
    check.verify_slice(&tag).is_ok()
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"webhook-secret-of-at-least-32-bytes!";

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' |
        //   openssl dgst -sha256 -hmac 'webhook-secret-of-at-least-32-bytes!'
        let target = WebhookTarget::new("https://gateway.example/hooks", SECRET).unwrap();
        assert_eq!(
            target.signature(1_700_000_000, br#"{"a":1}"#),
            "v1=e895186cf76e4a345914eef5a546c95943eac26d390e7765e50e4107b9bbd974"
        );
    }

    #[test]
    fn a_signature_verifies_only_for_its_timestamp_body_and_secret() {
        let target = WebhookTarget::new("https://gateway.example/hooks", SECRET).unwrap();
        let signature = target.signature(1_700_000_000, b"{}");
        assert!(verify(SECRET, 1_700_000_000, b"{}", &signature));
        assert!(!verify(SECRET, 1_700_000_001, b"{}", &signature));
        assert!(!verify(SECRET, 1_700_000_000, b"{ }", &signature));
        assert!(!verify(
            b"another-secret-of-at-least-32-bytes!",
            1_700_000_000,
            b"{}",
            &signature
        ));
        assert!(!verify(SECRET, 1_700_000_000, b"{}", "v2=00"));
        assert!(!verify(SECRET, 1_700_000_000, b"{}", "v1=zz"));
    }

    #[test]
    fn every_attempt_carries_id_timestamp_and_signature_headers() {
        let target = WebhookTarget::new("https://gateway.example/hooks", SECRET).unwrap();
        let headers = target.headers(42, 1_700_000_000, b"{}");
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("webhook-id"), Some("42"));
        assert_eq!(get("webhook-timestamp"), Some("1700000000"));
        assert!(verify(
            SECRET,
            1_700_000_000,
            b"{}",
            get("webhook-signature").unwrap()
        ));
    }

    #[test]
    fn settings_need_an_http_url_and_a_long_secret() {
        assert_eq!(
            WebhookTarget::new("gateway.example", SECRET),
            Err(WebhookError::BadUrl)
        );
        assert_eq!(
            WebhookTarget::new("https://gateway.example", b"short"),
            Err(WebhookError::WeakSecret)
        );
        assert!(
            !format!(
                "{:?}",
                WebhookTarget::new("https://g.example", SECRET).unwrap()
            )
            .contains("webhook-secret")
        );
    }
}

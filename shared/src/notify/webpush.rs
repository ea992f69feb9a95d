//! Web Push as the browsers' push services expect it: the payload encrypted
//! for one subscription with RFC 8291 (`aes128gcm`, RFC 8188), and the
//! sender identified with RFC 8292 VAPID.
//!
//! Encryption, per message:
//!
//! 1. a fresh P-256 key pair (the application server's, `as_*`) and a
//!    fresh 16-byte salt;
//! 2. `ecdh_secret` = ECDH(`as_private`, the subscription's `p256dh`);
//! 3. `IKM` = HKDF-SHA-256(salt = the subscription's `auth`, `ecdh_secret`,
//!    info = `"WebPush: info\0" || ua_public || as_public`, 32 bytes);
//! 4. `CEK` (16 bytes) and `NONCE` (12 bytes) = HKDF-SHA-256(salt, `IKM`)
//!    with the `aes128gcm` and `nonce` infos of RFC 8188;
//! 5. one record: AES-128-GCM(`CEK`, `NONCE`, plaintext || 0x02), after the
//!    header `salt || rs (4096) || 65 || as_public`.
//!
//! Why one record? A notification is a few hundred bytes and RFC 8291
//! allows 4096 octets per message, so [`MAX_PLAINTEXT`] is enforced instead
//! of splitting.
//!
//! VAPID: an ES256 JWT `{aud: origin of the push endpoint, exp: now + 12 h,
//! sub: mailto: or https: contact}` signed with the key from the
//! `vapid_private_key` Spin variable, sent as
//! `Authorization: vapid t=<jwt>, k=<public key>`. The push service checks
//! the JWT against the key the browser subscribed with, so only this
//! retailer can push to its customers.

use crate::storage::KeyValue;
use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hkdf::Hkdf;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;
use std::fmt;

/// The record size written in the header: the whole message is one record.
pub const RECORD_SIZE: u32 = 4096;
/// Header (86) + tag (16) + delimiter (1) + plaintext fit in 4096 octets,
/// the payload every push service must accept.
pub const MAX_PLAINTEXT: usize = 4096 - 86 - 16 - 1;
/// How long a VAPID JWT is valid (RFC 8292 allows at most 24 hours).
pub const VAPID_LIFETIME: Duration = Duration::hours(12);

/// An uncompressed P-256 point: `0x04 || x || y`.
pub const PUBLIC_KEY_LEN: usize = 65;
/// The subscription's authentication secret.
pub const AUTH_LEN: usize = 16;

/// Why a push message could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// `p256dh` is not 65 bytes or not a point on P-256.
    BadPublicKey,
    /// `auth` is not 16 bytes.
    BadAuthSecret,
    /// The plaintext is longer than [`MAX_PLAINTEXT`].
    TooLong { len: usize },
    /// No random bytes, or the cipher refused (never with valid sizes).
    Crypto(String),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::BadPublicKey => {
                write!(
                    f,
                    "p256dh must be a base64url uncompressed P-256 public key (65 bytes)"
                )
            }
            PushError::BadAuthSecret => write!(f, "auth must be a base64url 16-byte secret"),
            PushError::TooLong { len } => {
                write!(f, "a {len}-byte payload exceeds {MAX_PLAINTEXT} bytes")
            }
            PushError::Crypto(why) => write!(f, "push encryption failed: {why}"),
        }
    }
}

impl std::error::Error for PushError {}

/// Decodes base64url with or without padding (browsers send it bare,
/// some libraries pad it).
pub fn decode_base64url(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim();
    URL_SAFE_NO_PAD
        .decode(raw)
        .or_else(|_| URL_SAFE.decode(raw))
        .ok()
}

/// A subscription's keys, checked: the point is on the curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    p256dh: [u8; PUBLIC_KEY_LEN],
    auth: [u8; AUTH_LEN],
}

impl SubscriptionKeys {
    pub fn parse(p256dh: &str, auth: &str) -> Result<SubscriptionKeys, PushError> {
        let public = decode_base64url(p256dh)
            .and_then(|bytes| <[u8; PUBLIC_KEY_LEN]>::try_from(bytes).ok())
            .filter(|bytes| bytes[0] == 0x04 && PublicKey::from_sec1_bytes(bytes).is_ok())
            .ok_or(PushError::BadPublicKey)?;
        let auth = decode_base64url(auth)
            .and_then(|bytes| <[u8; AUTH_LEN]>::try_from(bytes).ok())
            .ok_or(PushError::BadAuthSecret)?;
        Ok(SubscriptionKeys {
            p256dh: public,
            auth,
        })
    }

    /// The keys as the browser gave them (base64url, no padding).
    pub fn p256dh_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.p256dh)
    }

    pub fn auth_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }
}

/// Encrypts `plaintext` for `keys` with a fresh key pair and salt.
pub fn encrypt(plaintext: &[u8], keys: &SubscriptionKeys) -> Result<Vec<u8>, PushError> {
    let salt = super::random_bytes::<16>().map_err(|e| PushError::Crypto(e.to_string()))?;
    // A random 32-byte string is a valid scalar except with probability
    // about 2^-32; draw again in that case.
    for _ in 0..4 {
        let candidate =
            super::random_bytes::<32>().map_err(|e| PushError::Crypto(e.to_string()))?;
        if let Ok(secret) = SecretKey::from_slice(&candidate) {
            return encrypt_with(plaintext, keys, &secret, &salt);
        }
    }
    Err(PushError::Crypto("no valid ephemeral key".into()))
}

/// [`encrypt`] with a given ephemeral key and salt: deterministic, so it is
/// checked against RFC 8291's worked example.
pub fn encrypt_with(
    plaintext: &[u8],
    keys: &SubscriptionKeys,
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, PushError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(PushError::TooLong {
            len: plaintext.len(),
        });
    }
    let ua_public =
        PublicKey::from_sec1_bytes(&keys.p256dh).map_err(|_| PushError::BadPublicKey)?;
    let as_public = as_secret.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua_public.as_affine());

    let mut key_info = Vec::with_capacity(14 + 2 * PUBLIC_KEY_LEN);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(&keys.p256dh);
    key_info.extend_from_slice(as_public.as_bytes());
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|e| PushError::Crypto(e.to_string()))?;

    let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    content
        .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|e| PushError::Crypto(e.to_string()))?;
    content
        .expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|e| PushError::Crypto(e.to_string()))?;

    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    // The padding delimiter of the last (only) record.
    record.push(0x02);
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|e| PushError::Crypto(e.to_string()))?;
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), record.as_slice())
        .map_err(|e| PushError::Crypto(e.to_string()))?;

    let mut body = Vec::with_capacity(86 + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(PUBLIC_KEY_LEN as u8);
    body.extend_from_slice(as_public.as_bytes());
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// Why the VAPID configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VapidError {
    /// Not a base64url 32-byte P-256 private key, nor a PEM one.
    BadPrivateKey,
    /// RFC 8292 §2.1: a `mailto:` or `https:` URI the push service can use
    /// to reach the sender.
    BadSubject,
    /// The endpoint has no origin to put in `aud`.
    BadEndpoint,
}

impl fmt::Display for VapidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VapidError::BadPrivateKey => write!(
                f,
                "must be a P-256 private key: 32 bytes in base64url (as web-push tools print it) or a PEM"
            ),
            VapidError::BadSubject => write!(f, "must be a mailto: or https: URI"),
            VapidError::BadEndpoint => write!(f, "the push endpoint has no https or http origin"),
        }
    }
}

impl std::error::Error for VapidError {}

/// The application server's VAPID identity.
///
/// Why is the public key computed lazily and the JWT cached? Each is a
/// P-256 scalar multiplication, which costs milliseconds in wasm; a push
/// needs two more (the ephemeral key and ECDH) that cannot be saved, but a
/// JWT for one push service is good for hours, so
/// [`Vapid::authorization_cached`] signs one per audience and reuses it.
#[derive(Clone)]
pub struct Vapid {
    secret: SecretKey,
    public: std::sync::OnceLock<[u8; PUBLIC_KEY_LEN]>,
    subject: String,
}

impl fmt::Debug for Vapid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key never reaches a log.
        f.debug_struct("Vapid")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A cached JWT is reused while it has at least this long left.
const REUSE_MARGIN: Duration = Duration::hours(1);

impl Vapid {
    /// Reads the private key (base64url raw scalar, or PKCS#8 / SEC1 PEM)
    /// and the contact subject.
    pub fn parse(private_key: &str, subject: &str) -> Result<Vapid, VapidError> {
        let private_key = private_key.trim();
        let secret = if private_key.starts_with("-----BEGIN") {
            SecretKey::from_pkcs8_pem(private_key)
                .or_else(|_| SecretKey::from_sec1_pem(private_key))
                .map_err(|_| VapidError::BadPrivateKey)?
        } else {
            let bytes = decode_base64url(private_key).ok_or(VapidError::BadPrivateKey)?;
            if bytes.len() != 32 {
                return Err(VapidError::BadPrivateKey);
            }
            SecretKey::from_slice(&bytes).map_err(|_| VapidError::BadPrivateKey)?
        };
        let subject = subject.trim();
        let valid_subject = subject
            .strip_prefix("mailto:")
            .is_some_and(|rest| rest.contains('@') && !rest.contains(' '))
            || subject
                .strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '));
        if !valid_subject {
            return Err(VapidError::BadSubject);
        }
        Ok(Vapid {
            secret,
            public: std::sync::OnceLock::new(),
            subject: subject.to_owned(),
        })
    }

    fn public_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.public.get_or_init(|| {
            let point = self.secret.public_key().to_encoded_point(false);
            point
                .as_bytes()
                .try_into()
                .expect("an uncompressed P-256 point is 65 bytes")
        })
    }

    /// The public key as the app passes it to `pushManager.subscribe` as
    /// `applicationServerKey` (base64url, no padding).
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_bytes())
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The `Authorization` header for a message to `endpoint` at `now`,
    /// freshly signed.
    pub fn authorization(&self, endpoint: &str, now: DateTime<Utc>) -> Result<String, VapidError> {
        let audience = origin(endpoint).ok_or(VapidError::BadEndpoint)?;
        Ok(self.sign(&audience, now))
    }

    /// [`Vapid::authorization`], reusing a header signed earlier for the
    /// same push service while it has over an hour to run. The cache may be
    /// stale or lose entries (Spin's key-value store): either only costs a
    /// fresh signature.
    pub fn authorization_cached(
        &self,
        endpoint: &str,
        now: DateTime<Utc>,
        cache: &dyn KeyValue,
    ) -> Result<String, VapidError> {
        let audience = origin(endpoint).ok_or(VapidError::BadEndpoint)?;
        let key = self.cache_key(&audience);
        let cached = cache
            .get(&key)
            .ok()
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some((exp, header)) = cached.as_deref().and_then(|text| text.split_once('\n'))
            && exp
                .parse::<i64>()
                .is_ok_and(|exp| exp - now.timestamp() > REUSE_MARGIN.num_seconds())
            && exp
                .parse::<i64>()
                .is_ok_and(|exp| exp <= (now + VAPID_LIFETIME).timestamp())
        {
            return Ok(header.to_owned());
        }
        let header = self.sign(&audience, now);
        let entry = format!("{}\n{header}", (now + VAPID_LIFETIME).timestamp());
        let _ = cache.set(&key, entry.as_bytes());
        Ok(header)
    }

    /// One cache entry per key and push service; the name is a hash, so it
    /// reveals neither the key nor the audience.
    fn cache_key(&self, audience: &str) -> String {
        use sha2::Digest;
        let mut hash = Sha256::new();
        hash.update(b"omnichannel-edge/vapid-jwt/v1\0");
        hash.update(self.secret.to_bytes());
        hash.update(audience.as_bytes());
        let digest = hash.finalize();
        format!(
            "notify:vapid-jwt:{}",
            digest[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    fn sign(&self, audience: &str, now: DateTime<Utc>) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": (now + VAPID_LIFETIME).timestamp(),
            "sub": self.subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let key = SigningKey::from(&self.secret);
        let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
        let jwt = format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        );
        format!("vapid t={jwt}, k={}", self.public_key())
    }
}

/// `scheme://host[:port]` of a URL: the JWT's audience.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "https" | "http") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};

    // RFC 8291 §5 and Appendix A: the worked example.
    const PLAINTEXT: &[u8] = b"When I grow up, I want to be a watermelon";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const ENCRYPTED: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    fn b64(raw: &str) -> Vec<u8> {
        decode_base64url(raw).unwrap()
    }

    fn example_keys() -> SubscriptionKeys {
        SubscriptionKeys::parse(UA_PUBLIC, AUTH).unwrap()
    }

    /// The receiving side of RFC 8291, written from the RFC for the test
    /// (the black-box suite decrypts with an independent implementation).
    fn decrypt(body: &[u8], ua_private: &SecretKey, keys: &SubscriptionKeys) -> Vec<u8> {
        let salt = &body[..16];
        let idlen = body[20] as usize;
        let as_public = PublicKey::from_sec1_bytes(&body[21..21 + idlen]).unwrap();
        let shared =
            p256::ecdh::diffie_hellman(ua_private.to_nonzero_scalar(), as_public.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&keys.p256dh);
        info.extend_from_slice(&body[21..21 + idlen]);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .unwrap();
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();
        let mut plain = Aes128Gcm::new_from_slice(&cek)
            .unwrap()
            .decrypt(&Nonce::from(nonce), &body[21 + idlen..])
            .unwrap();
        assert_eq!(plain.pop(), Some(0x02), "last-record delimiter");
        plain
    }

    #[test]
    fn encryption_reproduces_the_rfc_8291_example_byte_for_byte() {
        let as_secret = SecretKey::from_slice(&b64(AS_PRIVATE)).unwrap();
        assert_eq!(
            as_secret.public_key().to_encoded_point(false).as_bytes(),
            b64(AS_PUBLIC).as_slice()
        );
        let salt: [u8; 16] = b64(SALT).try_into().unwrap();
        let body = encrypt_with(PLAINTEXT, &example_keys(), &as_secret, &salt).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), ENCRYPTED);
    }

    #[test]
    fn a_fresh_message_decrypts_with_the_subscribers_private_key() {
        let ua_private = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        let first = encrypt(b"{\"title\":\"ready\"}", &example_keys()).unwrap();
        let second = encrypt(b"{\"title\":\"ready\"}", &example_keys()).unwrap();
        assert_ne!(first, second, "a fresh salt and key for every message");
        assert_eq!(&first[16..20], &RECORD_SIZE.to_be_bytes());
        assert_eq!(
            decrypt(&first, &ua_private, &example_keys()),
            b"{\"title\":\"ready\"}"
        );
    }

    #[test]
    fn oversized_payloads_are_refused() {
        let long = vec![b'x'; MAX_PLAINTEXT + 1];
        assert_eq!(
            encrypt(&long, &example_keys()),
            Err(PushError::TooLong {
                len: MAX_PLAINTEXT + 1
            })
        );
        let ua_private = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        let max = vec![b'y'; MAX_PLAINTEXT];
        let body = encrypt(&max, &example_keys()).unwrap();
        assert_eq!(body.len(), 4096);
        assert_eq!(decrypt(&body, &ua_private, &example_keys()), max);
    }

    #[test]
    fn subscription_keys_of_the_wrong_length_or_off_the_curve_are_refused() {
        let short = URL_SAFE_NO_PAD.encode([4u8; 64]);
        let off_curve = URL_SAFE_NO_PAD.encode([4u8; 65]);
        let compressed = URL_SAFE_NO_PAD.encode(&b64(UA_PUBLIC)[..33]);
        for bad in [
            short.as_str(),
            off_curve.as_str(),
            compressed.as_str(),
            "not base64!",
            "",
        ] {
            assert_eq!(
                SubscriptionKeys::parse(bad, AUTH),
                Err(PushError::BadPublicKey),
                "{bad}"
            );
        }
        for bad in ["", "AAAA", &URL_SAFE_NO_PAD.encode([1u8; 17])] {
            assert_eq!(
                SubscriptionKeys::parse(UA_PUBLIC, bad),
                Err(PushError::BadAuthSecret),
                "{bad}"
            );
        }
        let padded = URL_SAFE.encode(b64(AUTH));
        assert!(
            SubscriptionKeys::parse(UA_PUBLIC, &padded).is_ok(),
            "padding is accepted"
        );
    }

    #[test]
    fn the_vapid_header_carries_a_verifiable_es256_jwt_for_the_endpoints_origin() {
        let vapid = Vapid::parse(AS_PRIVATE, "mailto:push@retailer.example").unwrap();
        assert_eq!(vapid.public_key(), AS_PUBLIC);
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let header = vapid
            .authorization("https://push.example.net:8443/wpush/v2/abc?x=1", now)
            .unwrap();
        let rest = header.strip_prefix("vapid t=").unwrap();
        let (jwt, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, AS_PUBLIC);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let head: serde_json::Value = serde_json::from_slice(&b64(parts[0])).unwrap();
        assert_eq!(head, serde_json::json!({"typ": "JWT", "alg": "ES256"}));
        let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["sub"], "mailto:push@retailer.example");
        assert_eq!(claims["exp"], (now + Duration::hours(12)).timestamp());
        let key = VerifyingKey::from_sec1_bytes(&b64(k)).unwrap();
        let signature = Signature::from_slice(&b64(parts[2])).unwrap();
        assert!(
            key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
                .is_ok()
        );
    }

    #[test]
    fn a_vapid_header_is_reused_per_push_service_until_an_hour_before_it_expires() {
        struct Memory(std::cell::RefCell<std::collections::HashMap<String, Vec<u8>>>);
        impl KeyValue for Memory {
            fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::storage::StorageError> {
                Ok(self.0.borrow().get(key).cloned())
            }
            fn set(&self, key: &str, value: &[u8]) -> Result<(), crate::storage::StorageError> {
                self.0.borrow_mut().insert(key.to_owned(), value.to_vec());
                Ok(())
            }
            fn delete(&self, key: &str) -> Result<(), crate::storage::StorageError> {
                self.0.borrow_mut().remove(key);
                Ok(())
            }
        }
        let cache = Memory(Default::default());
        let vapid = Vapid::parse(AS_PRIVATE, "mailto:push@retailer.example").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let first = vapid
            .authorization_cached("https://push.example.net/a", now, &cache)
            .unwrap();
        let same_service = vapid
            .authorization_cached(
                "https://push.example.net/b",
                now + Duration::hours(10),
                &cache,
            )
            .unwrap();
        assert_eq!(first, same_service, "one signature per push service");
        let other_service = vapid
            .authorization_cached("https://fcm.example.com/a", now, &cache)
            .unwrap();
        assert_ne!(first, other_service);
        let renewed = vapid
            .authorization_cached(
                "https://push.example.net/a",
                now + Duration::hours(11),
                &cache,
            )
            .unwrap();
        assert_ne!(first, renewed, "renewed with under an hour left");
        assert_eq!(cache.0.borrow().len(), 2);
        assert!(
            cache
                .0
                .borrow()
                .keys()
                .all(|k| !k.contains("push.example") && k.starts_with("notify:vapid-jwt:"))
        );
    }

    #[test]
    fn vapid_keys_and_subjects_are_checked() {
        assert_eq!(
            Vapid::parse("", "mailto:a@b.example").unwrap_err(),
            VapidError::BadPrivateKey
        );
        assert_eq!(
            Vapid::parse(AUTH, "mailto:a@b.example").unwrap_err(),
            VapidError::BadPrivateKey
        );
        for subject in [
            "",
            "ops@retailer.example",
            "http://retailer.example",
            "mailto:nobody",
        ] {
            assert_eq!(
                Vapid::parse(AS_PRIVATE, subject).unwrap_err(),
                VapidError::BadSubject,
                "{subject:?}"
            );
        }
        assert!(Vapid::parse(AS_PRIVATE, "https://retailer.example/contact").is_ok());
        assert!(
            !format!(
                "{:?}",
                Vapid::parse(AS_PRIVATE, "mailto:a@b.example").unwrap()
            )
            .contains(AS_PRIVATE)
        );
    }

    #[test]
    fn a_pem_private_key_is_accepted_too() {
        use p256::pkcs8::EncodePrivateKey;
        let secret = SecretKey::from_slice(&b64(AS_PRIVATE)).unwrap();
        let pem = secret.to_pkcs8_pem(Default::default()).unwrap();
        assert_eq!(
            Vapid::parse(&pem, "mailto:a@b.example")
                .unwrap()
                .public_key(),
            AS_PUBLIC
        );
    }

    #[test]
    fn origins_are_scheme_and_authority_only() {
        assert_eq!(
            origin("https://FCM.googleapis.com/fcm/send/x").as_deref(),
            Some("https://fcm.googleapis.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:40000/push").as_deref(),
            Some("http://127.0.0.1:40000")
        );
        for bad in ["ftp://x/y", "https:///x", "https://user@host/x", "nope"] {
            assert_eq!(origin(bad), None, "{bad}");
        }
    }
}

//! JWT verification (HS256, ES256) and minting for tests and demo tokens.
//!
//! Why hand-rolled instead of a JWT crate? The accepted subset is tiny (two
//! algorithms, compact serialisation, a fixed claim set), the crates pull in
//! RSA and a wider `alg` surface we would then have to switch off, and every
//! byte counts in the .wasm. What is easy to get wrong is done strictly:
//! base64url without padding and with canonical trailing bits, the `alg`
//! allow-list, constant-time HMAC comparison, the signature checked before any
//! claim is trusted, and ES256 signatures in JOSE's raw `r || s` form.

use super::{AuthConfig, AuthError, Claims, LEEWAY_SECONDS, Role};
use crate::auth::Audience;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

/// Tokens longer than this are refused before decoding: ours are a few
/// hundred bytes, and a request should not make us parse megabytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Mints an HS256 token (tests, demo tokens, the local edge host).
pub fn sign_hs256(claims: &Claims, secret: &[u8]) -> String {
    let input = signing_input("HS256", claims);
    let tag = hmac_sha256(secret, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Mints an ES256 token; the signature is deterministic (RFC 6979).
pub fn sign_es256(claims: &Claims, key: &SigningKey) -> String {
    let input = signing_input("ES256", claims);
    let signature: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Verifies a compact JWT and returns its claims; see the module docs of
/// [`crate::auth`] for every check.
pub fn verify(token: &str, config: &AuthConfig, now: DateTime<Utc>) -> Result<Claims, AuthError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::MalformedToken);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::MalformedToken);
    };
    let header: Header = decode_json(header_b64)?;
    if header.crit.is_some() || !header.typ.as_deref().is_none_or(acceptable_typ) {
        return Err(AuthError::UnsupportedHeader);
    }
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let signature = decode(signature_b64)?;
    match header.alg.as_str() {
        "HS256" => {
            let secret = config
                .hs256_secret
                .as_deref()
                .ok_or(AuthError::AlgorithmNotConfigured("HS256"))?;
            let mut mac =
                <Hmac<Sha256>>::new_from_slice(secret).map_err(|_| AuthError::BadSignature)?;
            mac.update(signing_input.as_bytes());
            mac.verify_slice(&signature)
                .map_err(|_| AuthError::BadSignature)?;
        }
        "ES256" => {
            let key = config
                .es256_key
                .as_ref()
                .ok_or(AuthError::AlgorithmNotConfigured("ES256"))?;
            if signature.len() != 64 {
                return Err(AuthError::BadSignature);
            }
            let signature =
                Signature::from_slice(&signature).map_err(|_| AuthError::BadSignature)?;
            key.verify(signing_input.as_bytes(), &signature)
                .map_err(|_| AuthError::BadSignature)?;
        }
        other => return Err(AuthError::UnsupportedAlgorithm(shorten(other))),
    }
    let raw: RawClaims = decode_json(payload_b64)?;
    raw.check(config, now)
}

fn acceptable_typ(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case("at+jwt")
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The payload as sent, every claim optional, so a missing claim is named
/// rather than reported as a parse failure.
#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<Audience>,
    sub: Option<String>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    role: Option<String>,
    store_id: Option<String>,
}

impl RawClaims {
    fn check(self, config: &AuthConfig, now: DateTime<Utc>) -> Result<Claims, AuthError> {
        let now = now.timestamp();
        let exp = numeric_date(self.exp, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
        let nbf = numeric_date(self.nbf, "nbf")?;
        let iat = numeric_date(self.iat, "iat")?;
        if now >= exp.saturating_add(LEEWAY_SECONDS) {
            return Err(AuthError::Expired);
        }
        if [nbf, iat]
            .into_iter()
            .flatten()
            .any(|t| t > now.saturating_add(LEEWAY_SECONDS))
        {
            return Err(AuthError::NotYetValid);
        }
        let iss = self.iss.ok_or(AuthError::MissingClaim("iss"))?;
        if iss != config.issuer {
            return Err(AuthError::WrongIssuer);
        }
        let aud = self.aud.ok_or(AuthError::MissingClaim("aud"))?;
        if !aud.contains(&config.audience) {
            return Err(AuthError::WrongAudience);
        }
        let role = match self
            .role
            .as_deref()
            .ok_or(AuthError::MissingClaim("role"))?
        {
            "customer" => Role::Customer,
            "store" => Role::Store,
            "ops" => Role::Ops,
            _ => return Err(AuthError::InvalidClaim("role")),
        };
        Ok(Claims {
            iss,
            aud,
            sub: self.sub.ok_or(AuthError::MissingClaim("sub"))?,
            exp,
            nbf,
            iat,
            role,
            store_id: self.store_id,
        })
    }
}

/// RFC 7519's NumericDate may have a fraction; whole seconds are enough
/// here, so it is floored (an `exp` of 10.9 expires at 10).
fn numeric_date(value: Option<Value>, claim: &'static str) -> Result<Option<i64>, AuthError> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(AuthError::InvalidClaim(claim)),
        Some(_) => Err(AuthError::InvalidClaim(claim)),
    }
}

fn decode(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::MalformedToken)
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, AuthError> {
    serde_json::from_slice(&decode(part)?).map_err(|_| AuthError::MalformedToken)
}

fn signing_input(alg: &str, claims: &Claims) -> String {
    let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
    // Claims hold only strings and integers, which always serialise.
    let payload = serde_json::to_vec(claims).expect("claims serialise to JSON");
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

fn hmac_sha256(secret: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// An attacker-chosen `alg` goes into an error message: keep it short and
/// printable.
fn shorten(alg: &str) -> String {
    alg.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Caller;
    use crate::ids::StoreId;
    use chrono::{Duration, TimeZone};
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    use serde_json::json;

    const SECRET: &[u8] = b"an-hs256-secret-of-32-bytes-at-least!";
    const ISS: &str = "https://id.example";
    const AUD: &str = "omnichannel-edge";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn es_key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn pem(key: &SigningKey) -> String {
        key.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    fn hs_config() -> AuthConfig {
        AuthConfig::new(ISS, AUD, Some(SECRET), None).unwrap()
    }

    fn es_config() -> AuthConfig {
        AuthConfig::new(ISS, AUD, None, Some(&pem(&es_key(7)))).unwrap()
    }

    /// Claims as JSON, so tests can also send shapes `Claims` cannot hold.
    fn payload() -> Value {
        json!({
            "iss": ISS,
            "aud": AUD,
            "sub": "cust-1",
            "exp": now().timestamp() + 600,
            "iat": now().timestamp(),
            "role": "customer",
        })
    }

    fn with(mut payload: Value, changes: Value) -> Value {
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                payload.as_object_mut().unwrap().remove(k);
            } else {
                payload[k] = v.clone();
            }
        }
        payload
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn hs_token(header: Value, payload: &Value) -> String {
        let input = format!("{}.{}", b64(&header), b64(payload));
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(hmac_sha256(SECRET, input.as_bytes()))
        )
    }

    fn hs(payload: &Value) -> String {
        hs_token(json!({"alg": "HS256", "typ": "JWT"}), payload)
    }

    fn check(token: &str, config: &AuthConfig, expected: Result<(), AuthError>) {
        assert_eq!(verify(token, config, now()).map(drop), expected, "{token}");
    }

    #[test]
    fn a_valid_hs256_token_is_accepted() {
        let claims = verify(&hs(&payload()), &hs_config(), now()).unwrap();
        assert_eq!(claims.sub, "cust-1");
        assert_eq!(claims.role, Role::Customer);
    }

    #[test]
    fn minted_tokens_verify() {
        let caller = Caller::StoreDevice {
            store: StoreId::parse("waw-01").unwrap(),
            device: "kiosk-1".into(),
        };
        let claims = Claims::for_caller(&caller, ISS, AUD, now(), Duration::minutes(5)).unwrap();
        assert_eq!(
            verify(&sign_hs256(&claims, SECRET), &hs_config(), now()),
            Ok(claims.clone())
        );
        assert_eq!(
            verify(&sign_es256(&claims, &es_key(7)), &es_config(), now()),
            Ok(claims)
        );
    }

    #[test]
    fn a_valid_es256_token_is_accepted() {
        let claims = Claims::for_caller(
            &Caller::Ops {
                operator: "erp".into(),
            },
            ISS,
            AUD,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        let token = sign_es256(&claims, &es_key(7));
        assert_eq!(verify(&token, &es_config(), now()).unwrap().role, Role::Ops);
    }

    #[test]
    fn an_es256_token_signed_with_another_key_is_refused() {
        let claims = Claims::for_caller(
            &Caller::Ops {
                operator: "erp".into(),
            },
            ISS,
            AUD,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        check(
            &sign_es256(&claims, &es_key(8)),
            &es_config(),
            Err(AuthError::BadSignature),
        );
    }

    #[test]
    fn an_es256_signature_in_der_form_is_refused() {
        let claims = Claims::for_caller(
            &Caller::Ops {
                operator: "erp".into(),
            },
            ISS,
            AUD,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        let token = sign_es256(&claims, &es_key(7));
        let (input, _) = token.rsplit_once('.').unwrap();
        let der: Signature = es_key(7).sign(input.as_bytes());
        let der_token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(der.to_der().as_bytes())
        );
        check(&der_token, &es_config(), Err(AuthError::BadSignature));
    }

    #[test]
    fn both_algorithms_work_when_both_keys_are_configured() {
        let both = AuthConfig::new(ISS, AUD, Some(SECRET), Some(&pem(&es_key(7)))).unwrap();
        let claims = Claims::for_caller(
            &Caller::Ops {
                operator: "erp".into(),
            },
            ISS,
            AUD,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        check(&sign_hs256(&claims, SECRET), &both, Ok(()));
        check(&sign_es256(&claims, &es_key(7)), &both, Ok(()));
    }

    #[test]
    fn an_algorithm_without_a_configured_key_is_refused() {
        check(
            &hs(&payload()),
            &es_config(),
            Err(AuthError::AlgorithmNotConfigured("HS256")),
        );
    }

    #[test]
    fn expired_tokens_are_refused_after_the_leeway() {
        let exp = now().timestamp();
        let within = with(payload(), json!({"exp": exp - LEEWAY_SECONDS + 1}));
        check(&hs(&within), &hs_config(), Ok(()));
        let past = with(payload(), json!({"exp": exp - LEEWAY_SECONDS}));
        check(&hs(&past), &hs_config(), Err(AuthError::Expired));
        let long_past = with(payload(), json!({"exp": exp - 3600, "iat": exp - 7200}));
        check(&hs(&long_past), &hs_config(), Err(AuthError::Expired));
    }

    #[test]
    fn tokens_not_yet_valid_are_refused_beyond_the_leeway() {
        let t = now().timestamp();
        check(
            &hs(&with(payload(), json!({"nbf": t + LEEWAY_SECONDS}))),
            &hs_config(),
            Ok(()),
        );
        let early = with(payload(), json!({"nbf": t + LEEWAY_SECONDS + 1}));
        check(&hs(&early), &hs_config(), Err(AuthError::NotYetValid));
        let issued_later = with(payload(), json!({"iat": t + 3600}));
        check(
            &hs(&issued_later),
            &hs_config(),
            Err(AuthError::NotYetValid),
        );
    }

    #[test]
    fn fractional_numeric_dates_are_floored() {
        let t = now().timestamp();
        check(
            &hs(&with(payload(), json!({"exp": (t + 60) as f64 + 0.5}))),
            &hs_config(),
            Ok(()),
        );
        let expired = with(payload(), json!({"exp": (t - LEEWAY_SECONDS) as f64 + 0.9}));
        check(&hs(&expired), &hs_config(), Err(AuthError::Expired));
    }

    #[test]
    fn a_token_without_exp_is_refused() {
        check(
            &hs(&with(payload(), json!({"exp": null}))),
            &hs_config(),
            Err(AuthError::MissingClaim("exp")),
        );
        check(
            &hs(&with(payload(), json!({"exp": "soon"}))),
            &hs_config(),
            Err(AuthError::InvalidClaim("exp")),
        );
    }

    #[test]
    fn a_wrong_or_missing_issuer_is_refused() {
        let other = with(payload(), json!({"iss": "https://evil.example"}));
        check(&hs(&other), &hs_config(), Err(AuthError::WrongIssuer));
        check(
            &hs(&with(payload(), json!({"iss": null}))),
            &hs_config(),
            Err(AuthError::MissingClaim("iss")),
        );
    }

    #[test]
    fn a_wrong_audience_is_refused_and_arrays_are_searched() {
        check(
            &hs(&with(payload(), json!({"aud": "pos-backend"}))),
            &hs_config(),
            Err(AuthError::WrongAudience),
        );
        check(
            &hs(&with(payload(), json!({"aud": ["a", "b"]}))),
            &hs_config(),
            Err(AuthError::WrongAudience),
        );
        check(
            &hs(&with(payload(), json!({"aud": ["a", AUD]}))),
            &hs_config(),
            Ok(()),
        );
        check(
            &hs(&with(payload(), json!({"aud": null}))),
            &hs_config(),
            Err(AuthError::MissingClaim("aud")),
        );
    }

    #[test]
    fn a_tampered_payload_or_signature_is_refused() {
        let token = hs(&payload());
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = input.split_once('.').unwrap();
        let forged_payload = b64(&with(payload(), json!({"role": "ops"})));
        check(
            &format!("{header}.{forged_payload}.{signature}"),
            &hs_config(),
            Err(AuthError::BadSignature),
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[0] ^= 1;
        check(
            &format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes)),
            &hs_config(),
            Err(AuthError::BadSignature),
        );
        check(
            &format!("{input}."),
            &hs_config(),
            Err(AuthError::BadSignature),
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let claims = Claims::for_caller(
            &Caller::Ops {
                operator: "erp".into(),
            },
            ISS,
            AUD,
            now(),
            Duration::hours(1),
        )
        .unwrap();
        let token = sign_hs256(&claims, b"another-secret-that-is-32-bytes-long");
        check(&token, &hs_config(), Err(AuthError::BadSignature));
    }

    #[test]
    fn alg_none_is_refused_even_without_a_signature() {
        let unsigned = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&payload()));
        check(
            &unsigned,
            &hs_config(),
            Err(AuthError::UnsupportedAlgorithm("none".into())),
        );
        let none_upper = format!("{}.{}.", b64(&json!({"alg": "None"})), b64(&payload()));
        check(
            &none_upper,
            &hs_config(),
            Err(AuthError::UnsupportedAlgorithm("None".into())),
        );
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        for alg in ["HS512", "RS256", "PS256", "ES384", "hs256", "EdDSA"] {
            let token = hs_token(json!({"alg": alg, "typ": "JWT"}), &payload());
            check(
                &token,
                &hs_config(),
                Err(AuthError::UnsupportedAlgorithm(alg.into())),
            );
        }
    }

    #[test]
    fn es256_tokens_cannot_be_verified_with_the_public_key_as_an_hmac_secret() {
        // The classic algorithm-confusion attack: HS256 keyed with the PEM.
        let pem = pem(&es_key(7));
        let input = format!("{}.{}", b64(&json!({"alg": "HS256"})), b64(&payload()));
        let forged = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(hmac_sha256(pem.as_bytes(), input.as_bytes()))
        );
        check(
            &forged,
            &es_config(),
            Err(AuthError::AlgorithmNotConfigured("HS256")),
        );
    }

    #[test]
    fn crit_headers_and_foreign_types_are_refused() {
        let crit = hs_token(json!({"alg": "HS256", "crit": ["exp"]}), &payload());
        check(&crit, &hs_config(), Err(AuthError::UnsupportedHeader));
        let dpop = hs_token(json!({"alg": "HS256", "typ": "dpop+jwt"}), &payload());
        check(&dpop, &hs_config(), Err(AuthError::UnsupportedHeader));
        check(
            &hs_token(json!({"alg": "HS256"}), &payload()),
            &hs_config(),
            Ok(()),
        );
        check(
            &hs_token(
                json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}),
                &payload(),
            ),
            &hs_config(),
            Ok(()),
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = hs(&payload());
        let (input, signature) = good.rsplit_once('.').unwrap();
        let cases = [
            "".to_owned(),
            "abc".to_owned(),
            "a.b".to_owned(),
            format!("{good}.extra"),
            format!("{input}.{signature}="),
            format!("{input}.{signature}+"),
            format!("%%%.{}", input.split_once('.').unwrap().1),
            format!(
                "{}.{}.{signature}",
                b64(&json!({"alg": "HS256"})),
                URL_SAFE_NO_PAD.encode("not json")
            ),
            "x".repeat(MAX_TOKEN_LEN + 1),
        ];
        for token in cases {
            let result = verify(&token, &hs_config(), now());
            assert!(
                matches!(
                    result,
                    Err(AuthError::MalformedToken | AuthError::BadSignature)
                ),
                "{token:.40}: {result:?}"
            );
        }
        let padded = format!(
            "{}=.{}",
            input.split_once('.').unwrap().0,
            input.split_once('.').unwrap().1
        );
        assert_eq!(
            verify(&padded, &hs_config(), now()),
            Err(AuthError::MalformedToken)
        );
    }

    #[test]
    fn store_tokens_need_a_store_id() {
        let store = with(payload(), json!({"role": "store", "sub": "till-3"}));
        let claims = verify(&hs(&store), &hs_config(), now()).unwrap();
        assert_eq!(
            Caller::from_claims(&claims),
            Err(AuthError::MissingClaim("store_id"))
        );
        let bad = with(store.clone(), json!({"store_id": "no such/store"}));
        let claims = verify(&hs(&bad), &hs_config(), now()).unwrap();
        assert_eq!(
            Caller::from_claims(&claims),
            Err(AuthError::InvalidClaim("store_id"))
        );
        let good = with(store, json!({"store_id": "waw-01"}));
        let header = format!("Bearer {}", hs(&good));
        assert_eq!(
            Caller::from_authorization(Some(&header), &hs_config(), now()),
            Ok(Caller::StoreDevice {
                store: StoreId::parse("WAW-01").unwrap(),
                device: "till-3".into()
            })
        );
    }

    #[test]
    fn unknown_roles_and_bad_subjects_are_refused() {
        let header = |p: &Value| format!("Bearer {}", hs(p));
        let admin = with(payload(), json!({"role": "admin"}));
        assert_eq!(
            verify(&hs(&admin), &hs_config(), now()),
            Err(AuthError::InvalidClaim("role"))
        );
        let no_role = with(payload(), json!({"role": null}));
        assert_eq!(
            verify(&hs(&no_role), &hs_config(), now()),
            Err(AuthError::MissingClaim("role"))
        );
        let no_sub = with(payload(), json!({"sub": null}));
        assert_eq!(
            verify(&hs(&no_sub), &hs_config(), now()),
            Err(AuthError::MissingClaim("sub"))
        );
        let bad_customer = with(payload(), json!({"sub": "not a customer id"}));
        assert_eq!(
            Caller::from_authorization(Some(&header(&bad_customer)), &hs_config(), now()),
            Err(AuthError::InvalidClaim("sub"))
        );
        let empty_operator = with(payload(), json!({"role": "ops", "sub": ""}));
        assert_eq!(
            Caller::from_authorization(Some(&header(&empty_operator)), &hs_config(), now()),
            Err(AuthError::InvalidClaim("sub"))
        );
    }
}

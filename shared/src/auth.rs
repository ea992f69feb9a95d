//! Who is calling: bearer JWTs turned into a [`Caller`], role checks that
//! answer 401/403 problems, and signed short codes for QR hand-offs.
//!
//! Every endpoint starts from a `Caller`: a customer sees only their own
//! carts, orders and returns; a store device acts only for its own store;
//! back-office operations need the ops role. The component reads the issuer,
//! audience and keys from its Spin variables and passes them to
//! [`AuthConfig::new`]; nothing here reads configuration itself.
//!
//! # Tokens
//!
//! RFC 7519 JWTs in `Authorization: Bearer <token>`, signed with HS256 (a
//! shared secret of at least 32 bytes) or ES256 (P-256, verified with a PEM
//! public key; the signature is the raw 64-byte `r || s`, not DER). Every
//! other `alg`, including `none`, is refused, and so is a header with `crit`
//! or a `typ` other than `JWT`/`at+jwt`.
//!
//! | claim | required | meaning |
//! | --- | --- | --- |
//! | `iss` | yes | must equal the configured issuer exactly |
//! | `aud` | yes | a string or an array; must contain the configured audience |
//! | `sub` | yes | customer: the `CustomerId`; store: the device id; ops: the operator or integration name |
//! | `exp` | yes | expiry (seconds since the epoch); a token without one is refused |
//! | `nbf` | no | not valid before this instant |
//! | `iat` | no | issue instant; one in the future is refused |
//! | `role` | yes | `"customer"`, `"store"` or `"ops"` |
//! | `store_id` | when `role` is `store` | the `StoreId` the device acts for |
//!
//! Clocks on tills and edge nodes drift, so `exp`, `nbf` and `iat` are
//! checked with a leeway of [`LEEWAY_SECONDS`] (30 s): a token is accepted
//! until 30 s after `exp` and from 30 s before `nbf`.
//!
//! Errors map to 401 `unauthorized` with a `WWW-Authenticate: Bearer`
//! challenge; a valid token of the wrong role is 403 `forbidden` (the
//! `require_*` helpers).

pub mod channel_claim;
pub mod jwt;
pub mod signed_code;

pub use jwt::{sign_es256, sign_hs256};

use crate::ids::{CustomerId, StoreId};
use crate::web::problem::Problem;
use chrono::{DateTime, Utc};
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use spin_sdk::http::Request;
use std::fmt;

/// Allowed clock skew, in seconds, when checking `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: i64 = 30;

/// The shortest HS256 secret accepted: RFC 7518 §3.2 asks for a key at
/// least as long as the hash output.
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// Who may call, as verified from the request's bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No `Authorization` header: public endpoints (availability, the
    /// return policy, guest carts) still answer.
    Anonymous,
    /// A shopper, in any channel.
    Customer(CustomerId),
    /// A kiosk or till acting for one store.
    StoreDevice { store: StoreId, device: String },
    /// The back office or an integration (ERP, OMS, POS feeds).
    Ops { operator: String },
}

/// The `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Store,
    Ops,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Store => "store",
            Role::Ops => "ops",
        }
    }
}

/// `aud`: RFC 7519 allows a single string or an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims of a token this service accepts (see the module docs), as
/// minted by [`sign_hs256`] / [`sign_es256`] for tests and demo tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: Audience,
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

impl Claims {
    /// The claims that identify `caller`, valid from `issued_at` for
    /// `lifetime`; `None` for [`Caller::Anonymous`], which has no token.
    pub fn for_caller(
        caller: &Caller,
        issuer: &str,
        audience: &str,
        issued_at: DateTime<Utc>,
        lifetime: chrono::Duration,
    ) -> Option<Claims> {
        let (sub, role, store_id) = match caller {
            Caller::Anonymous => return None,
            Caller::Customer(id) => (id.to_string(), Role::Customer, None),
            Caller::StoreDevice { store, device } => {
                (device.clone(), Role::Store, Some(store.to_string()))
            }
            Caller::Ops { operator } => (operator.clone(), Role::Ops, None),
        };
        Some(Claims {
            iss: issuer.to_owned(),
            aud: Audience::One(audience.to_owned()),
            sub,
            exp: (issued_at + lifetime).timestamp(),
            nbf: None,
            iat: Some(issued_at.timestamp()),
            role,
            store_id,
        })
    }
}

/// The verification settings of one component, built once per request from
/// its Spin variables.
#[derive(Clone)]
pub struct AuthConfig {
    issuer: String,
    audience: String,
    hs256_secret: Option<Vec<u8>>,
    es256_key: Option<VerifyingKey>,
}

impl AuthConfig {
    /// At least one key is required. An empty secret or PEM counts as absent,
    /// since an unset Spin variable usually arrives as `""`.
    pub fn new(
        issuer: &str,
        audience: &str,
        hs256_secret: Option<&[u8]>,
        es256_public_pem: Option<&str>,
    ) -> Result<AuthConfig, AuthConfigError> {
        if issuer.trim().is_empty() {
            return Err(AuthConfigError::EmptyIssuer);
        }
        if audience.trim().is_empty() {
            return Err(AuthConfigError::EmptyAudience);
        }
        let hs256_secret = hs256_secret.filter(|s| !s.is_empty());
        let es256_public_pem = es256_public_pem.map(str::trim).filter(|p| !p.is_empty());
        if let Some(secret) = hs256_secret
            && secret.len() < MIN_HS256_SECRET_LEN
        {
            return Err(AuthConfigError::Hs256SecretTooShort { len: secret.len() });
        }
        let es256_key = es256_public_pem
            .map(|pem| {
                VerifyingKey::from_public_key_pem(pem)
                    .map_err(|_| AuthConfigError::InvalidEs256PublicKey)
            })
            .transpose()?;
        if hs256_secret.is_none() && es256_key.is_none() {
            return Err(AuthConfigError::NoKey);
        }
        Ok(AuthConfig {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            hs256_secret: hs256_secret.map(<[u8]>::to_vec),
            es256_key,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}

impl fmt::Debug for AuthConfig {
    /// The secret stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("hs256", &self.hs256_secret.as_ref().map(|_| "<secret>"))
            .field("es256", &self.es256_key.is_some())
            .finish()
    }
}

/// Why the auth settings are unusable; reported at start-up with the
/// component's name and variable by the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfigError {
    EmptyIssuer,
    EmptyAudience,
    /// Neither an HS256 secret nor an ES256 public key was given.
    NoKey,
    Hs256SecretTooShort {
        len: usize,
    },
    /// The ES256 key is not a PEM `PUBLIC KEY` on the P-256 curve.
    InvalidEs256PublicKey,
}

impl fmt::Display for AuthConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfigError::EmptyIssuer => write!(f, "the token issuer must not be empty"),
            AuthConfigError::EmptyAudience => write!(f, "the token audience must not be empty"),
            AuthConfigError::NoKey => write!(
                f,
                "neither an HS256 secret nor an ES256 public key is configured"
            ),
            AuthConfigError::Hs256SecretTooShort { len } => write!(
                f,
                "the HS256 secret has {len} bytes; at least {MIN_HS256_SECRET_LEN} are required"
            ),
            AuthConfigError::InvalidEs256PublicKey => {
                write!(
                    f,
                    "the ES256 public key is not a PEM-encoded P-256 public key"
                )
            }
        }
    }
}

impl std::error::Error for AuthConfigError {}

/// Why a request's credentials were refused. Every variant is answered 401
/// `unauthorized` (see [`From<AuthError> for Problem`](Problem)); the detail
/// says which check failed, which helps a client decide to refresh a token
/// and tells an attacker nothing the token did not already show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// `Authorization` is present but not `Bearer <token>`.
    MalformedHeader,
    /// The token is not three base64url parts of JSON, or is too long.
    MalformedToken,
    /// `alg` is `none` or an algorithm this service never accepts (HS512,
    /// RS256, ...). Holds the offending value, shortened.
    UnsupportedAlgorithm(String),
    /// `alg` is HS256 or ES256 but no key for it is configured.
    AlgorithmNotConfigured(&'static str),
    /// The header has `crit` or an unexpected `typ`.
    UnsupportedHeader,
    /// The signature does not verify: tampered, or signed with another key.
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is still in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    WrongAudience,
    /// A required claim is absent (`exp`, `iss`, `aud`, `sub`, `role`, or
    /// `store_id` for a store device).
    MissingClaim(&'static str),
    /// A claim has the wrong type or an unusable value (an unknown role, a
    /// `sub` that is not a valid customer id, ...).
    InvalidClaim(&'static str),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MalformedHeader => {
                write!(f, "the Authorization header must be \"Bearer <token>\"")
            }
            AuthError::MalformedToken => write!(f, "the bearer token is not a well-formed JWT"),
            AuthError::UnsupportedAlgorithm(alg) => {
                write!(
                    f,
                    "tokens signed with {alg:?} are not accepted; use HS256 or ES256"
                )
            }
            AuthError::AlgorithmNotConfigured(alg) => {
                write!(f, "{alg} tokens are not accepted here")
            }
            AuthError::UnsupportedHeader => {
                write!(f, "the token header has an unsupported typ or crit")
            }
            AuthError::BadSignature => write!(f, "the token signature is invalid"),
            AuthError::Expired => write!(f, "the token has expired"),
            AuthError::NotYetValid => write!(f, "the token is not valid yet"),
            AuthError::WrongIssuer => write!(f, "the token was issued by an unknown issuer"),
            AuthError::WrongAudience => write!(f, "the token is meant for another audience"),
            AuthError::MissingClaim(claim) => write!(f, "the token has no {claim} claim"),
            AuthError::InvalidClaim(claim) => write!(f, "the token's {claim} claim is invalid"),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Problem {
        let challenge = match err {
            AuthError::MalformedHeader => {
                r#"Bearer realm="omnichannel-edge", error="invalid_request""#
            }
            _ => r#"Bearer realm="omnichannel-edge", error="invalid_token""#,
        };
        Problem::unauthorized(err.to_string()).with_header("www-authenticate", challenge)
    }
}

impl Caller {
    /// Verifies the `Authorization` header value: absent is
    /// [`Caller::Anonymous`]; present, it must be a valid bearer token.
    pub fn from_authorization(
        header: Option<&str>,
        config: &AuthConfig,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        let Some(header) = header else {
            return Ok(Caller::Anonymous);
        };
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or(AuthError::MalformedHeader)?;
        let token = token.trim_start_matches(' ');
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
            return Err(AuthError::MalformedHeader);
        }
        let claims = jwt::verify(token, config, now)?;
        Caller::from_claims(&claims)
    }

    /// [`Caller::from_authorization`] on the request's header; a header that
    /// is not UTF-8 is malformed rather than anonymous.
    pub fn from_request(
        req: &Request,
        config: &AuthConfig,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        let header = match req.header("authorization") {
            None => None,
            Some(value) => Some(value.as_str().ok_or(AuthError::MalformedHeader)?),
        };
        Caller::from_authorization(header, config, now)
    }

    /// The caller a verified token names.
    pub fn from_claims(claims: &Claims) -> Result<Caller, AuthError> {
        match claims.role {
            Role::Customer => CustomerId::parse(&claims.sub)
                .map(Caller::Customer)
                .map_err(|_| AuthError::InvalidClaim("sub")),
            Role::Store => {
                let store = claims
                    .store_id
                    .as_deref()
                    .ok_or(AuthError::MissingClaim("store_id"))?;
                let store =
                    StoreId::parse(store).map_err(|_| AuthError::InvalidClaim("store_id"))?;
                Ok(Caller::StoreDevice {
                    store,
                    device: principal_name(&claims.sub)?,
                })
            }
            Role::Ops => Ok(Caller::Ops {
                operator: principal_name(&claims.sub)?,
            }),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Anonymous => None,
            Caller::Customer(_) => Some(Role::Customer),
            Caller::StoreDevice { .. } => Some(Role::Store),
            Caller::Ops { .. } => Some(Role::Ops),
        }
    }

    /// A stable text naming the caller, for idempotency scopes and audit
    /// lines: `customer:C-1`, `store:WAW-01:till-3`, `ops:erp`, `anonymous`.
    pub fn principal(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::Customer(id) => format!("customer:{id}"),
            Caller::StoreDevice { store, device } => format!("store:{store}:{device}"),
            Caller::Ops { operator } => format!("ops:{operator}"),
        }
    }

    /// The customer, or 401 (anonymous) / 403 (another role).
    pub fn require_customer(&self) -> Result<&CustomerId, Problem> {
        match self {
            Caller::Customer(id) => Ok(id),
            other => Err(other.refusal(Role::Customer)),
        }
    }

    /// The store a device acts for, or 401 / 403.
    pub fn require_store(&self) -> Result<&StoreId, Problem> {
        match self {
            Caller::StoreDevice { store, .. } => Ok(store),
            other => Err(other.refusal(Role::Store)),
        }
    }

    /// A store device of exactly `store`: a till in one store never acts on
    /// another store's pickups, returns or stock.
    pub fn require_store_for(&self, store: &StoreId) -> Result<(), Problem> {
        if self.require_store()? == store {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this device may act only for its own store, not {store}"
            )))
        }
    }

    /// The operator or integration name, or 401 / 403.
    pub fn require_ops(&self) -> Result<&str, Problem> {
        match self {
            Caller::Ops { operator } => Ok(operator),
            other => Err(other.refusal(Role::Ops)),
        }
    }

    fn refusal(&self, needed: Role) -> Problem {
        match self {
            Caller::Anonymous => {
                Problem::unauthorized(format!("this operation needs a {} token", needed.as_str()))
            }
            _ => Problem::forbidden(format!("this operation needs the {} role", needed.as_str())),
        }
    }
}

/// Device and operator names are free text from a trusted issuer, but they
/// end up in logs and idempotency scopes, so they stay short and printable.
fn principal_name(sub: &str) -> Result<String, AuthError> {
    let valid = !sub.is_empty() && sub.chars().count() <= 128 && !sub.chars().any(char::is_control);
    if valid {
        Ok(sub.to_owned())
    } else {
        Err(AuthError::InvalidClaim("sub"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn config() -> AuthConfig {
        AuthConfig::new("https://id.example", "omnichannel-edge", Some(SECRET), None).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn bearer(caller: &Caller) -> String {
        let claims = Claims::for_caller(
            caller,
            "https://id.example",
            "omnichannel-edge",
            now(),
            Duration::minutes(15),
        )
        .unwrap();
        format!("Bearer {}", sign_hs256(&claims, SECRET))
    }

    fn customer() -> Caller {
        Caller::Customer(CustomerId::parse("cust-1").unwrap())
    }

    fn till() -> Caller {
        Caller::StoreDevice {
            store: StoreId::parse("WAW-01").unwrap(),
            device: "till-3".into(),
        }
    }

    fn ops() -> Caller {
        Caller::Ops {
            operator: "erp-feed".into(),
        }
    }

    #[test]
    fn a_missing_header_is_anonymous() {
        assert_eq!(
            Caller::from_authorization(None, &config(), now()),
            Ok(Caller::Anonymous)
        );
    }

    #[test]
    fn each_role_round_trips_through_a_token() {
        for caller in [customer(), till(), ops()] {
            let header = bearer(&caller);
            assert_eq!(
                Caller::from_authorization(Some(&header), &config(), now()),
                Ok(caller)
            );
        }
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_read_from_requests() {
        let header = bearer(&customer()).replacen("Bearer", "bearer", 1);
        let req = Request::builder()
            .uri("/x")
            .header("Authorization", header)
            .build();
        assert_eq!(Caller::from_request(&req, &config(), now()), Ok(customer()));
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_malformed() {
        for header in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "",
            "Token abc",
            "Bearer a b",
        ] {
            assert_eq!(
                Caller::from_authorization(Some(header), &config(), now()),
                Err(AuthError::MalformedHeader),
                "{header:?}"
            );
        }
    }

    #[test]
    fn config_needs_a_key_and_a_long_enough_secret() {
        let new =
            |secret: Option<&[u8]>, pem: Option<&str>| AuthConfig::new("iss", "aud", secret, pem);
        assert_eq!(new(None, None).unwrap_err(), AuthConfigError::NoKey);
        assert_eq!(
            new(Some(b""), Some("  ")).unwrap_err(),
            AuthConfigError::NoKey
        );
        assert_eq!(
            new(Some(b"short"), None).unwrap_err(),
            AuthConfigError::Hs256SecretTooShort { len: 5 }
        );
        assert_eq!(
            new(None, Some("not a pem")).unwrap_err(),
            AuthConfigError::InvalidEs256PublicKey
        );
        assert_eq!(
            AuthConfig::new(" ", "aud", Some(SECRET), None).unwrap_err(),
            AuthConfigError::EmptyIssuer
        );
        assert_eq!(
            AuthConfig::new("iss", "", Some(SECRET), None).unwrap_err(),
            AuthConfigError::EmptyAudience
        );
        assert!(new(Some(SECRET), None).is_ok());
    }

    #[test]
    fn the_secret_never_appears_in_debug_output() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains("0123456789"), "{shown}");
    }

    #[test]
    fn require_helpers_accept_the_right_role() {
        assert_eq!(customer().require_customer().unwrap().as_str(), "cust-1");
        assert_eq!(till().require_store().unwrap().as_str(), "WAW-01");
        assert_eq!(ops().require_ops().unwrap(), "erp-feed");
        assert!(
            till()
                .require_store_for(&StoreId::parse("waw-01").unwrap())
                .is_ok()
        );
    }

    #[test]
    fn require_helpers_answer_401_to_anonymous_and_403_to_other_roles() {
        let anonymous = Caller::Anonymous;
        for problem in [
            anonymous.require_customer().unwrap_err(),
            anonymous.require_store().unwrap_err(),
            anonymous.require_ops().unwrap_err(),
        ] {
            assert_eq!((problem.status(), problem.slug()), (401, "unauthorized"));
            assert!(problem.header("www-authenticate").is_some());
        }
        for problem in [
            customer().require_ops().unwrap_err(),
            customer().require_store().unwrap_err(),
            till().require_customer().unwrap_err(),
            ops().require_customer().unwrap_err(),
        ] {
            assert_eq!((problem.status(), problem.slug()), (403, "forbidden"));
        }
    }

    #[test]
    fn a_store_device_may_not_act_for_another_store() {
        let problem = till()
            .require_store_for(&StoreId::parse("KRK-02").unwrap())
            .unwrap_err();
        assert_eq!(problem.status(), 403);
    }

    #[test]
    fn auth_errors_become_401_problems_with_a_bearer_challenge() {
        let problem = Problem::from(AuthError::Expired);
        assert_eq!((problem.status(), problem.slug()), (401, "unauthorized"));
        assert_eq!(problem.detail(), Some("the token has expired"));
        assert!(
            problem
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_token")
        );
        let problem = Problem::from(AuthError::MalformedHeader);
        assert!(
            problem
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_request")
        );
    }

    #[test]
    fn principals_name_the_caller_for_scopes() {
        assert_eq!(customer().principal(), "customer:cust-1");
        assert_eq!(till().principal(), "store:WAW-01:till-3");
        assert_eq!(ops().principal(), "ops:erp-feed");
        assert_eq!(Caller::Anonymous.principal(), "anonymous");
    }

    #[test]
    fn anonymous_callers_have_no_claims() {
        assert!(
            Claims::for_caller(&Caller::Anonymous, "i", "a", now(), Duration::minutes(1)).is_none()
        );
    }
}

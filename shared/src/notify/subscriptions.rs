//! Web Push subscriptions: what a browser or app hands over after
//! `pushManager.subscribe` (an endpoint at its push service and two keys),
//! kept per customer until they remove it or the push service says it is
//! gone (404/410).
//!
//! Why is the id derived from the endpoint? A browser re-subscribing (after
//! a reinstall, or on every app start, as many apps do) sends the same
//! endpoint again; one row per endpoint makes registration idempotent, and
//! an endpoint that moves to another account (a shared tablet) follows the
//! latest customer who registered it.

use super::webpush::{PushError, SubscriptionKeys};
use super::{NotifyError, parse_timestamp, timestamp};
use crate::ids::CustomerId;
use crate::storage::{Row, Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// The most subscriptions one customer keeps: phones, tablets and browsers
/// with room to spare; more is a misbehaving client.
pub const MAX_PER_CUSTOMER: usize = 10;
/// Push service endpoints are a few hundred characters at most.
pub const MAX_ENDPOINT_LEN: usize = 1024;

/// `psub_` and 32 hex digits of the endpoint's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SubscriptionId(String);

impl SubscriptionId {
    /// A malformed id names no subscription, so it is
    /// [`NotifyError::NoSuchSubscription`] (404), like an unknown one.
    pub fn parse(raw: &str) -> Result<SubscriptionId, NotifyError> {
        let raw = raw.trim();
        let hex = raw
            .strip_prefix("psub_")
            .ok_or(NotifyError::NoSuchSubscription)?;
        if hex.len() != 32
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(NotifyError::NoSuchSubscription);
        }
        Ok(SubscriptionId(raw.to_owned()))
    }

    fn of_endpoint(endpoint: &str) -> SubscriptionId {
        let digest = Sha256::digest(endpoint.as_bytes());
        SubscriptionId(format!(
            "psub_{}",
            digest[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid subscription: an https endpoint (http only where the deployment
/// allows it, i.e. in tests) and keys that encrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    endpoint: String,
    keys: SubscriptionKeys,
}

impl PushSubscription {
    pub fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        allow_http: bool,
    ) -> Result<PushSubscription, NotifyError> {
        let endpoint = endpoint.trim();
        let bad = |reason: &str| NotifyError::InvalidSubscription {
            field: "endpoint",
            reason: reason.to_owned(),
        };
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(bad(&format!(
                "is longer than {MAX_ENDPOINT_LEN} characters"
            )));
        }
        if endpoint
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
            || endpoint.contains('#')
        {
            return Err(bad("must be a URL without spaces or a fragment"));
        }
        let scheme_ok =
            endpoint.starts_with("https://") || (allow_http && endpoint.starts_with("http://"));
        if !scheme_ok {
            return Err(bad("must be an https:// URL of a push service"));
        }
        if super::webpush::origin(endpoint).is_none() {
            return Err(bad("has no host"));
        }
        let keys = SubscriptionKeys::parse(p256dh, auth).map_err(|e| {
            let field = if e == PushError::BadAuthSecret {
                "keys.auth"
            } else {
                "keys.p256dh"
            };
            NotifyError::InvalidSubscription {
                field,
                reason: e.to_string(),
            }
        })?;
        Ok(PushSubscription {
            endpoint: endpoint.to_owned(),
            keys,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn keys(&self) -> &SubscriptionKeys {
        &self.keys
    }

    pub fn id(&self) -> SubscriptionId {
        SubscriptionId::of_endpoint(&self.endpoint)
    }
}

/// A registered subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: SubscriptionId,
    pub customer: CustomerId,
    pub subscription: PushSubscription,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Registers (or refreshes) `subscription` for `customer`; `true` when it
/// is new to this customer. One transaction, so two devices registering at
/// once cannot both pass the per-customer limit.
pub fn register(
    sql: &dyn Sql,
    customer: &CustomerId,
    subscription: &PushSubscription,
    now: DateTime<Utc>,
) -> Result<(Stored, bool), NotifyError> {
    let id = subscription.id();
    in_transaction(sql, |tx| {
        let before = tx.execute(
            "SELECT customer_id FROM push_subscriptions WHERE id = ?1",
            &[id.as_str().into()],
        )?;
        let mine = before
            .first()
            .map(|r| r.text("customer_id").map(|c| c == customer.as_str()))
            .transpose()?;
        if mine != Some(true) {
            let count = tx
                .execute(
                    "SELECT count(*) AS n FROM push_subscriptions WHERE customer_id = ?1",
                    &[customer.as_str().into()],
                )?
                .first()
                .map(|r| r.integer("n"))
                .transpose()?
                .unwrap_or(0);
            if count >= MAX_PER_CUSTOMER as i64 {
                return Err(NotifyError::TooManySubscriptions {
                    max: MAX_PER_CUSTOMER,
                });
            }
        }
        let at = timestamp(now);
        let rows = tx.execute(
            "INSERT INTO push_subscriptions (id, customer_id, endpoint, p256dh, auth, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, p256dh = excluded.p256dh,
                 auth = excluded.auth, updated_at = excluded.updated_at,
                 created_at = CASE WHEN push_subscriptions.customer_id = excluded.customer_id
                                   THEN push_subscriptions.created_at ELSE excluded.created_at END
             RETURNING id, customer_id, endpoint, p256dh, auth, created_at, updated_at",
            &[
                id.as_str().into(),
                customer.as_str().into(),
                subscription.endpoint().into(),
                subscription.keys().p256dh_text().into(),
                subscription.keys().auth_text().into(),
                at.into(),
            ],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StorageError::Decode("upsert returned no row".into()))?;
        Ok((stored(row)?, mine != Some(true)))
    })
}

/// The customer's subscriptions, oldest first.
pub fn list(sql: &dyn Sql, customer: &CustomerId) -> Result<Vec<Stored>, StorageError> {
    sql.execute(
        "SELECT id, customer_id, endpoint, p256dh, auth, created_at, updated_at FROM push_subscriptions
         WHERE customer_id = ?1 ORDER BY created_at, id",
        &[customer.as_str().into()],
    )?
    .iter()
    .map(stored)
    .collect()
}

/// The ids of the customer's subscriptions: who a push goes to.
pub fn ids_for(sql: &dyn Sql, customer: &CustomerId) -> Result<Vec<SubscriptionId>, StorageError> {
    sql.execute(
        "SELECT id FROM push_subscriptions WHERE customer_id = ?1 ORDER BY id",
        &[customer.as_str().into()],
    )?
    .iter()
    .map(|r| r.text("id").map(|id| SubscriptionId(id.to_owned())))
    .collect()
}

pub fn load(sql: &dyn Sql, id: &str) -> Result<Option<Stored>, StorageError> {
    sql.execute(
        "SELECT id, customer_id, endpoint, p256dh, auth, created_at, updated_at FROM push_subscriptions WHERE id = ?1",
        &[id.into()],
    )?
    .first()
    .map(stored)
    .transpose()
}

/// Removes the customer's own subscription; another's or an unknown one is
/// [`NotifyError::NoSuchSubscription`]. Pending pushes to it are dropped.
pub fn remove(
    sql: &dyn Sql,
    customer: &CustomerId,
    id: &SubscriptionId,
) -> Result<(), NotifyError> {
    in_transaction(sql, |tx| {
        let gone = tx.execute(
            "DELETE FROM push_subscriptions WHERE id = ?1 AND customer_id = ?2 RETURNING id",
            &[id.as_str().into(), customer.as_str().into()],
        )?;
        if gone.is_empty() {
            return Err(NotifyError::NoSuchSubscription);
        }
        drop_pending(tx, id.as_str())?;
        Ok(())
    })
}

/// Forgets a subscription the push service no longer knows (404/410).
pub fn forget(sql: &dyn Sql, id: &str) -> Result<(), StorageError> {
    sql.execute("DELETE FROM push_subscriptions WHERE id = ?1", &[id.into()])?;
    drop_pending(sql, id)
}

fn drop_pending(sql: &dyn Sql, id: &str) -> Result<(), StorageError> {
    sql.execute(
        "UPDATE notification_outbox SET state = 'dropped', last_error = 'subscription removed', claimed_until = NULL
         WHERE channel = 'web_push' AND recipient = ?1 AND state = 'pending'",
        &[id.into()],
    )
    .map(drop)
}

fn stored(row: Row<'_>) -> Result<Stored, StorageError> {
    let decode = |what: &str, e: &dyn fmt::Display| {
        StorageError::Decode(format!("stored subscription {what}: {e}"))
    };
    let subscription = PushSubscription {
        endpoint: row.text("endpoint")?.to_owned(),
        keys: SubscriptionKeys::parse(row.text("p256dh")?, row.text("auth")?)
            .map_err(|e| decode("keys", &e))?,
    };
    Ok(Stored {
        id: SubscriptionId(row.text("id")?.to_owned()),
        customer: CustomerId::parse(row.text("customer_id")?)
            .map_err(|e| decode("customer", &e))?,
        subscription,
        created_at: parse_timestamp(row.text("created_at")?)?,
        updated_at: parse_timestamp(row.text("updated_at")?)?,
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::native::SqliteDb;
    use chrono::TimeZone;

    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn sub(n: usize) -> PushSubscription {
        PushSubscription::parse(
            &format!("https://push.example.net/w/{n}"),
            P256DH,
            AUTH,
            false,
        )
        .unwrap()
    }

    fn customer(id: &str) -> CustomerId {
        CustomerId::parse(id).unwrap()
    }

    #[test]
    fn endpoints_must_be_https_outside_tests() {
        let err = PushSubscription::parse("http://push.example.net/w/1", P256DH, AUTH, false)
            .unwrap_err();
        assert!(
            matches!(
                err,
                NotifyError::InvalidSubscription {
                    field: "endpoint",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(PushSubscription::parse("http://127.0.0.1:4000/w/1", P256DH, AUTH, true).is_ok());
        for bad in [
            "",
            "https://",
            "https:// x",
            "https://a/b#c",
            "ftp://a/b",
            "https://u@a/b",
        ] {
            assert!(
                PushSubscription::parse(bad, P256DH, AUTH, true).is_err(),
                "{bad:?}"
            );
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_ENDPOINT_LEN));
        assert!(PushSubscription::parse(&long, P256DH, AUTH, false).is_err());
    }

    #[test]
    fn bad_keys_name_the_field() {
        let err = PushSubscription::parse("https://a.example/1", "AAAA", AUTH, false).unwrap_err();
        assert!(
            matches!(
                err,
                NotifyError::InvalidSubscription {
                    field: "keys.p256dh",
                    ..
                }
            ),
            "{err:?}"
        );
        let err =
            PushSubscription::parse("https://a.example/1", P256DH, "AAAA", false).unwrap_err();
        assert!(
            matches!(
                err,
                NotifyError::InvalidSubscription {
                    field: "keys.auth",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn registering_again_refreshes_one_row_and_a_new_owner_takes_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("n.db")).connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        let (first, new) = register(&sql, &customer("C-1"), &sub(1), now()).unwrap();
        assert!(new);
        let (again, new) = register(&sql, &customer("C-1"), &sub(1), now()).unwrap();
        assert!(!new);
        assert_eq!(first.id, again.id);
        assert_eq!(list(&sql, &customer("C-1")).unwrap().len(), 1);
        let (moved, new) = register(&sql, &customer("C-2"), &sub(1), now()).unwrap();
        assert!(new);
        assert_eq!(moved.customer, customer("C-2"));
        assert!(list(&sql, &customer("C-1")).unwrap().is_empty());
        assert_eq!(
            SubscriptionId::parse(first.id.as_str()),
            Ok(first.id.clone())
        );
    }

    #[test]
    fn a_customer_keeps_at_most_the_maximum_number_of_subscriptions() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("n.db")).connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        for n in 0..MAX_PER_CUSTOMER {
            register(&sql, &customer("C-1"), &sub(n), now()).unwrap();
        }
        let err = register(&sql, &customer("C-1"), &sub(99), now()).unwrap_err();
        assert_eq!(
            err,
            NotifyError::TooManySubscriptions {
                max: MAX_PER_CUSTOMER
            }
        );
        assert!(
            register(&sql, &customer("C-1"), &sub(0), now()).is_ok(),
            "refreshing is not adding"
        );
    }

    #[test]
    fn only_the_owner_removes_a_subscription() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("n.db")).connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        let (stored, _) = register(&sql, &customer("C-1"), &sub(1), now()).unwrap();
        assert_eq!(
            remove(&sql, &customer("C-2"), &stored.id),
            Err(NotifyError::NoSuchSubscription)
        );
        assert_eq!(remove(&sql, &customer("C-1"), &stored.id), Ok(()));
        assert_eq!(
            remove(&sql, &customer("C-1"), &stored.id),
            Err(NotifyError::NoSuchSubscription)
        );
        assert!(SubscriptionId::parse("psub_XYZ").is_err());
    }
}

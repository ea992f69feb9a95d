//! A customer's notification choices: which channels, which language, and
//! whether marketing is allowed.
//!
//! Order status notices are transactional, so they go out whatever
//! `marketing_consent` says; the channels chosen here are always honoured.
//! A customer who never chose gets [`Preferences::default`]: push and
//! e-mail on, SMS off (it costs the retailer per message), no marketing.

use super::message::Locale;
use super::{NotifyError, parse_timestamp, timestamp};
use crate::ids::CustomerId;
use crate::storage::{Sql, StorageError, in_transaction};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// The language of notifications; `None` follows each order's.
    pub locale: Option<Locale>,
    /// Web Push to browsers and the app (and the mobile push relay).
    pub push: bool,
    pub email: bool,
    pub sms: bool,
    /// Marketing only; never consulted for order status notices.
    pub marketing_consent: bool,
    /// 0 until the customer first saves; the ETag afterwards.
    pub version: i64,
    #[serde(with = "crate::clock::wire_format::option")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            locale: None,
            push: true,
            email: true,
            sms: false,
            marketing_consent: false,
            version: 0,
            updated_at: None,
        }
    }
}

impl Preferences {
    /// The channels the retailer's gateway (or push relay) should use, in a
    /// fixed order: what the webhook's `channels` member lists.
    pub fn gateway_channels(&self) -> Vec<&'static str> {
        [
            ("email", self.email),
            ("sms", self.sms),
            ("push", self.push),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }
}

/// What a customer asks for (the version and time are the store's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub locale: Option<Locale>,
    pub push: bool,
    pub email: bool,
    pub sms: bool,
    pub marketing_consent: bool,
}

pub fn load(sql: &dyn Sql, customer: &CustomerId) -> Result<Preferences, StorageError> {
    let rows = sql.execute(
        "SELECT locale, push, email, sms, marketing_consent, version, updated_at
         FROM notification_preferences WHERE customer_id = ?1",
        &[customer.as_str().into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(Preferences::default());
    };
    let locale = row
        .opt_text("locale")?
        .map(Locale::parse)
        .transpose()
        .map_err(|e| StorageError::Decode(e.to_string()))?;
    Ok(Preferences {
        locale,
        push: row.integer("push")? == 1,
        email: row.integer("email")? == 1,
        sms: row.integer("sms")? == 1,
        marketing_consent: row.integer("marketing_consent")? == 1,
        version: row.integer("version")?,
        updated_at: Some(parse_timestamp(row.text("updated_at")?)?),
    })
}

/// Replaces the customer's preferences. With `expected_version`, a stale
/// one is [`NotifyError::StalePreferences`] and nothing changes.
pub fn save(
    sql: &dyn Sql,
    customer: &CustomerId,
    choice: Choice,
    expected_version: impl Fn(i64) -> bool,
    now: DateTime<Utc>,
) -> Result<Preferences, NotifyError> {
    in_transaction(sql, |tx| {
        let current = load(tx, customer)?;
        if !expected_version(current.version) {
            return Err(NotifyError::StalePreferences {
                current_version: current.version,
            });
        }
        let flag = |on: bool| i64::from(on);
        tx.execute(
            "INSERT INTO notification_preferences (customer_id, locale, push, email, sms, marketing_consent, version, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
             ON CONFLICT (customer_id) DO UPDATE SET locale = excluded.locale, push = excluded.push,
                 email = excluded.email, sms = excluded.sms, marketing_consent = excluded.marketing_consent,
                 version = notification_preferences.version + 1, updated_at = excluded.updated_at",
            &[
                customer.as_str().into(),
                choice.locale.map(Locale::as_str).into(),
                flag(choice.push).into(),
                flag(choice.email).into(),
                flag(choice.sms).into(),
                flag(choice.marketing_consent).into(),
                timestamp(now).into(),
            ],
        )?;
        Ok(load(tx, customer)?)
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::native::SqliteDb;
    use chrono::TimeZone;

    #[test]
    fn customers_who_never_chose_get_push_and_email_without_marketing() {
        let prefs = Preferences::default();
        assert_eq!(prefs.gateway_channels(), vec!["email", "push"]);
        assert!(!prefs.marketing_consent);
    }

    #[test]
    fn saving_bumps_the_version_and_a_stale_version_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sql = SqliteDb::at(dir.path().join("p.db")).connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let me = CustomerId::parse("C-1").unwrap();
        let choice = Choice {
            locale: Some(Locale::En),
            push: false,
            email: true,
            sms: true,
            marketing_consent: false,
        };
        let saved = save(&sql, &me, choice, |_| true, now).unwrap();
        assert_eq!(
            (saved.version, saved.locale, saved.push, saved.sms),
            (1, Some(Locale::En), false, true)
        );
        assert_eq!(saved.gateway_channels(), vec!["email", "sms"]);
        let stale = save(
            &sql,
            &me,
            Choice {
                sms: false,
                ..choice
            },
            |v| v == 0,
            now,
        )
        .unwrap_err();
        assert_eq!(stale, NotifyError::StalePreferences { current_version: 1 });
        assert!(load(&sql, &me).unwrap().sms, "unchanged");
        assert_eq!(
            save(
                &sql,
                &me,
                Choice {
                    sms: false,
                    ..choice
                },
                |v| v == 1,
                now
            )
            .unwrap()
            .version,
            2
        );
    }
}

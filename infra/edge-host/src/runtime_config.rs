//! `--runtime-config-file`: Spin's runtime configuration TOML, read with
//! Spin's keys, so one file serves `spin up --runtime-config-file` and
//! `edge-host up --runtime-config-file` alike.
//!
//! What is read (the stores this app uses; only the `default` label):
//! - `[key_value_store.default]` with `type = "spin"` (SQLite in Spin's
//!   table layout; `path`, else `<state-dir>/sqlite_key_value.db`) or
//!   `type = "redis"` with `url` (every key as is in that Redis database,
//!   as Spin's Redis store keeps them);
//! - `[sqlite_database.default]` with `type = "spin"` (`path`, else
//!   `<state-dir>/sqlite_db.db`).
//!
//! Relative paths are resolved from the working directory, as Spin 4 does.
//!
//! Anything else is refused with the key named, never ignored: a setting
//! the host does not honour (a Vault variables provider, another store
//! label, a PostgreSQL-backed store) would otherwise run the app somewhere
//! other than where the operator thinks. Spin accepts more kinds; those are
//! the divergences, listed in the edge host's README.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a runtime configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Where the `default` key-value store lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyValueStore {
    /// SQLite, in Spin's layout.
    Spin { path: Option<PathBuf> },
    /// A Redis server (`redis://host:port/db`, `rediss://` for TLS).
    Redis { url: String },
}

/// Where the `default` SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SqliteDatabase {
    Spin { path: Option<PathBuf> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key_value_store: BTreeMap<String, KeyValueStore>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, SqliteDatabase>,
}

/// The stores a runtime configuration names; `None` where it names none
/// (the state directory's defaults apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub key_value: Option<KeyValueStore>,
    pub sqlite: Option<SqliteDatabase>,
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<RuntimeConfig, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| RuntimeConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<RuntimeConfig, String> {
        let mut file: File = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
        for (kind, labels) in [
            (
                "key_value_store",
                file.key_value_store.keys().cloned().collect::<Vec<_>>(),
            ),
            (
                "sqlite_database",
                file.sqlite_database.keys().cloned().collect(),
            ),
        ] {
            if let Some(other) = labels.into_iter().find(|l| l != "default") {
                return Err(format!(
                    "[{kind}.{other}]: the app uses only the `default` store, so another label would configure nothing"
                ));
            }
        }
        if let Some(KeyValueStore::Redis { url }) = file.key_value_store.get("default") {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(format!(
                    "[key_value_store.default] url: {url:?} is not a redis:// or rediss:// URL"
                ));
            }
        }
        Ok(RuntimeConfig {
            key_value: file.key_value_store.remove("default"),
            sqlite: file.sqlite_database.remove("default"),
        })
    }
}

/// A configured `path`, or the state directory's default file.
pub fn path_or(configured: Option<&PathBuf>, state_dir: &Path, default_file: &str) -> PathBuf {
    configured
        .cloned()
        .unwrap_or_else(|| state_dir.join(default_file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projects_own_file_reads_as_spin_reads_it() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../spin/runtime-config.toml"
        ))
        .unwrap();
        let config = RuntimeConfig::parse(&text).unwrap();
        assert_eq!(
            config.key_value,
            Some(KeyValueStore::Spin {
                path: Some(".spin/prod/key-value.db".into())
            })
        );
        assert_eq!(
            config.sqlite,
            Some(SqliteDatabase::Spin {
                path: Some(".spin/prod/omnichannel.db".into())
            })
        );
        let redis = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../spin/runtime-config-redis.toml"
        ))
        .unwrap();
        assert!(matches!(
            RuntimeConfig::parse(&redis).unwrap().key_value,
            Some(KeyValueStore::Redis { .. })
        ));
    }

    #[test]
    fn redis_and_defaults_are_read_and_every_unknown_key_is_refused_by_name() {
        let config = RuntimeConfig::parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379/2\"\n",
        )
        .unwrap();
        assert_eq!(
            config.key_value,
            Some(KeyValueStore::Redis {
                url: "redis://127.0.0.1:6379/2".into()
            })
        );
        assert_eq!(config.sqlite, None);
        assert_eq!(RuntimeConfig::parse("").unwrap(), RuntimeConfig::default());
        for (text, named) in [
            (
                "[[variables_provider]]\ntype = \"vault\"\n",
                "variables_provider",
            ),
            (
                "[key_value_store.default]\ntype = \"spin\"\npaht = \"x.db\"\n",
                "paht",
            ),
            (
                "[key_value_store.default]\ntype = \"azure_cosmos\"\n",
                "azure_cosmos",
            ),
            (
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"x\"\n",
                "libsql",
            ),
            ("[key_value_store.cache]\ntype = \"spin\"\n", "cache"),
            (
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"http://x\"\n",
                "url",
            ),
            ("[key_value_store.default]\ntype = \"redis\"\n", "url"),
        ] {
            let refused = RuntimeConfig::parse(text).unwrap_err();
            assert!(refused.contains(named), "{text}: {refused}");
        }
    }
}

//! Promotions, their versions and their codes in SQL.
//!
//! The current definition of a promotion lives in `promotions` as its wire
//! JSON, with the columns a query filters on beside it (status, whether it
//! needs a code, its window as UTC instants, its global limit and use
//! count). Every change writes the whole definition and status to
//! `promotion_versions` under the next version number, so a redemption that
//! recorded "version 3" can always show what version 3 said.
//!
//! Every change is one guarded statement or one `BEGIN IMMEDIATE`
//! transaction: an edit names the version it read (`WHERE version = ?`), a
//! code is bound with `ON CONFLICT DO NOTHING`, a batch inserts all its codes
//! or none.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use super::cart::CartSnapshot;
use super::codes::{self, BatchRequest};
use super::definition::{Promotion, PromotionRow, Target, codec};
use super::engine::{ActivePromotion, CodeState, PromotionStatus};
use super::values::{CouponCode, PromotionId};
use super::{PromotionError, timestamp};
use crate::catalog::CategoryPath;
use crate::ids::Sku;
use crate::storage::{Row, Rows, Sql, SqlValue, StorageError, in_transaction};

/// A promotion as stored: its current definition, version, status and use
/// count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPromotion {
    pub promotion: Promotion,
    pub version: i64,
    pub status: PromotionStatus,
    pub used: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// One past or current version of a promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionVersion {
    pub promotion: Promotion,
    pub version: i64,
    pub status: PromotionStatus,
    pub changed_by: String,
    pub changed_at: String,
}

/// A batch of unique codes, as created or listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeBatch {
    pub batch_id: String,
    pub promotion_id: PromotionId,
    pub prefix: String,
    pub count: u32,
    pub used: u32,
    pub created_by: String,
    pub created_at: String,
}

/// One code of a batch and whether it was redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchCode {
    pub code: CouponCode,
    pub used: bool,
}

/// What an import did, per promotion id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImportSummary {
    pub created: Vec<PromotionId>,
    pub updated: Vec<PromotionId>,
    pub unchanged: Vec<PromotionId>,
}

/// Loads what one evaluation needs: every active automatic promotion inside
/// its window at `now`, and every promotion bound to one of `codes` whatever
/// its state, so a paused or expired one can be refused with its reason.
/// Codes no promotion has are simply absent (the engine answers "unknown
/// code").
pub fn load_active(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    codes: &[CouponCode],
) -> Result<Vec<ActivePromotion>, PromotionError> {
    let rows = sql.execute(
        &format!(
            "SELECT id, version, status, used, {} FROM promotions
             WHERE requires_code = 0 AND status = 'active'
               AND (starts_at IS NULL OR starts_at <= ?1) AND (ends_at IS NULL OR ends_at > ?1)
             ORDER BY id",
            hot_columns("")
        ),
        &[timestamp(now).into()],
    )?;
    with_codes(sql, rows, codes)
}

/// [`load_active`] narrowed to the automatic promotions that can discount
/// one of `cart`'s lines (by the `promotion_targets` index), which is what
/// keeps a basket's evaluation fast with thousands of live promotions: the
/// engine's answer is the same, since a promotion that covers no line never
/// applies. Promotions reached through `codes` are loaded whatever they
/// target, so a code for other items is refused with its reason.
pub fn load_for_cart(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    cart: &CartSnapshot,
    codes: &[CouponCode],
) -> Result<Vec<ActivePromotion>, PromotionError> {
    let keys: BTreeSet<String> = std::iter::once("cart".to_owned())
        .chain(
            cart.lines()
                .iter()
                .flat_map(|line| line_keys(&line.sku, &line.category)),
        )
        .collect();
    let placeholders = (2..keys.len() + 2)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut params: Vec<SqlValue> = vec![timestamp(now).into()];
    params.extend(keys.into_iter().map(SqlValue::from));
    let columns = hot_columns("");
    let rows = sql.execute(
        &format!(
            // The unary `+` keeps SQLite from scanning every automatic
            // promotion through `promotions_automatic`: the few ids the
            // target index yields are looked up by primary key instead.
            "SELECT id, version, status, used, {columns} FROM promotions
             WHERE +requires_code = 0 AND +status = 'active'
               AND (starts_at IS NULL OR starts_at <= ?1) AND (ends_at IS NULL OR ends_at > ?1)
               AND id IN (SELECT promotion_id FROM promotion_targets WHERE key IN ({placeholders}))
             ORDER BY id"
        ),
        &params,
    )?;
    with_codes(sql, rows, codes)
}

/// The index keys a line can be reached by: its SKU and every prefix of its
/// category path (a promotion on `men` covers `men/t-shirts`).
fn line_keys(sku: &Sku, category: &CategoryPath) -> impl Iterator<Item = String> {
    let segments = category.segments();
    std::iter::once(format!("sku:{sku}"))
        .chain((1..=segments.len()).map(|n| format!("cat:{}", segments[..n].join("/"))))
}

/// The index keys a promotion is filed under.
fn target_keys(promotion: &Promotion) -> Vec<String> {
    match promotion.target() {
        Target::Cart => vec!["cart".to_owned()],
        Target::Skus(skus) => skus.iter().map(|s| format!("sku:{s}")).collect(),
        Target::Categories(categories) => categories.iter().map(|c| format!("cat:{c}")).collect(),
    }
}

fn write_targets(sql: &dyn Sql, promotion: &Promotion) -> Result<(), StorageError> {
    sql.execute(
        "DELETE FROM promotion_targets WHERE promotion_id = ?1",
        &[promotion.id().as_str().into()],
    )?;
    for chunk in target_keys(promotion).chunks(200) {
        let mut params: Vec<SqlValue> = vec![promotion.id().as_str().into()];
        let values = chunk
            .iter()
            .enumerate()
            .map(|(i, key)| {
                params.push(key.as_str().into());
                format!("(?{}, ?1)", i + 2)
            })
            .collect::<Vec<_>>()
            .join(", ");
        sql.execute(
            &format!("INSERT INTO promotion_targets (key, promotion_id) VALUES {values} ON CONFLICT DO NOTHING"),
            &params,
        )?;
    }
    Ok(())
}

/// Adds the promotions bound to `codes` to the automatic ones in `rows`.
fn with_codes(
    sql: &dyn Sql,
    rows: Rows,
    codes: &[CouponCode],
) -> Result<Vec<ActivePromotion>, PromotionError> {
    let mut loaded: BTreeMap<String, ActivePromotion> = BTreeMap::new();
    for row in rows.iter() {
        loaded.insert(row.text("id")?.to_owned(), active_from(row)?);
    }
    if !codes.is_empty() {
        let placeholders = (1..=codes.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let params: Vec<SqlValue> = codes.iter().map(|c| c.as_str().into()).collect();
        let rows = sql.execute(
            &format!(
                "SELECT c.code, c.max_uses, c.used AS code_used, p.id, p.version, p.status, p.used, {}
                 FROM coupon_codes c JOIN promotions p ON p.id = c.promotion_id
                 WHERE c.code IN ({placeholders}) ORDER BY c.code",
                hot_columns("p.")
            ),
            &params,
        )?;
        for row in rows.iter() {
            let id = row.text("id")?.to_owned();
            let state = CodeState {
                code: CouponCode::parse(row.text("code")?)
                    .map_err(|e| decode("coupon_codes.code", e))?,
                max_uses: row.opt_integer("max_uses")?.map(count),
                used: count(row.integer("code_used")?),
            };
            if !loaded.contains_key(&id) {
                loaded.insert(id.clone(), active_from(row)?);
            }
            loaded
                .get_mut(&id)
                .expect("inserted above")
                .codes
                .push(state);
        }
    }
    Ok(loaded.into_values().collect())
}

/// What evaluation reads: the compact form, and the JSON only for a row
/// whose compact form is missing or of another layout version (written by
/// another release), which is then read the slow way.
fn hot_columns(prefix: &str) -> String {
    format!(
        "{prefix}compiled, CASE WHEN {prefix}compiled IS NULL OR hex(substr({prefix}compiled, 1, 1)) <> '{:02X}'
             THEN {prefix}definition END AS definition",
        codec::VERSION
    )
}

fn active_from(row: Row<'_>) -> Result<ActivePromotion, StorageError> {
    let promotion = match (row.value("compiled")?, row.opt_text("definition")?) {
        (_, Some(json)) => decode_definition(json)?,
        (SqlValue::Blob(bytes), None) => codec::decode(bytes).map_err(|_| {
            StorageError::Decode(format!(
                "promotions.compiled of {}: unreadable",
                row.text("id").unwrap_or("?")
            ))
        })?,
        _ => {
            return Err(StorageError::Decode(
                "promotions.compiled: neither compact form nor JSON".into(),
            ));
        }
    };
    Ok(ActivePromotion {
        promotion,
        version: row.integer("version")?,
        status: status_from(row)?,
        used: count(row.integer("used")?),
        codes: Vec::new(),
    })
}

/// Creates a promotion at version 1 with its shared codes, atomically: an id
/// or a code that exists already refuses the whole creation.
pub fn create_promotion(
    sql: &dyn Sql,
    promotion: &Promotion,
    status: PromotionStatus,
    codes: &[CouponCode],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<StoredPromotion, PromotionError> {
    in_transaction(sql, |tx| {
        insert_new(tx, promotion, status, actor, now)?;
        bind_codes(tx, promotion.id(), codes, now)?;
        load_promotion(tx, promotion.id())?
            .ok_or_else(|| PromotionError::UnknownPromotion(promotion.id().clone()))
    })
}

/// Replaces the definition of a promotion whose current version is
/// `expected_version`, making the next version. A concurrent edit makes the
/// guard fail: [`PromotionError::VersionMismatch`].
pub fn replace_promotion(
    sql: &dyn Sql,
    promotion: &Promotion,
    expected_version: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<StoredPromotion, PromotionError> {
    in_transaction(sql, |tx| {
        let current = load_promotion(tx, promotion.id())?
            .ok_or_else(|| PromotionError::UnknownPromotion(promotion.id().clone()))?;
        if current.version != expected_version {
            return Err(PromotionError::VersionMismatch {
                current: current.version,
            });
        }
        write_definition(tx, promotion, current.version, actor, now)
    })
}

/// Pauses or resumes a promotion. Setting the status it already has changes
/// nothing (no new version), so a retried pause is harmless.
pub fn set_status(
    sql: &dyn Sql,
    id: &PromotionId,
    status: PromotionStatus,
    expected_version: Option<i64>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<StoredPromotion, PromotionError> {
    in_transaction(sql, |tx| {
        let current =
            load_promotion(tx, id)?.ok_or_else(|| PromotionError::UnknownPromotion(id.clone()))?;
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(PromotionError::VersionMismatch {
                current: current.version,
            });
        }
        if current.status == status {
            return Ok(current);
        }
        let rows = tx.execute(
            "UPDATE promotions SET status = ?3, version = version + 1, updated_at = ?4
             WHERE id = ?1 AND version = ?2 RETURNING version",
            &[
                id.as_str().into(),
                current.version.into(),
                status.as_str().into(),
                timestamp(now).into(),
            ],
        )?;
        let version = rows
            .first()
            .ok_or(PromotionError::VersionMismatch {
                current: current.version,
            })?
            .integer("version")?;
        insert_version(tx, &current.promotion, version, status, actor, now)?;
        load_promotion(tx, id)?.ok_or_else(|| PromotionError::UnknownPromotion(id.clone()))
    })
}

/// Creates or updates every promotion of a feed, with its shared codes, all
/// or nothing. A definition identical to the current one is left at its
/// version, so re-running a seed changes nothing.
pub fn import_promotions(
    sql: &dyn Sql,
    entries: &[(Promotion, Vec<CouponCode>)],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, PromotionError> {
    in_transaction(sql, |tx| {
        let mut summary = ImportSummary::default();
        for (promotion, codes) in entries {
            match load_promotion(tx, promotion.id())? {
                None => {
                    insert_new(tx, promotion, PromotionStatus::Active, actor, now)?;
                    summary.created.push(promotion.id().clone());
                }
                Some(current) if current.promotion == *promotion => {
                    summary.unchanged.push(promotion.id().clone())
                }
                Some(current) => {
                    write_definition(tx, promotion, current.version, actor, now)?;
                    summary.updated.push(promotion.id().clone());
                }
            }
            bind_codes(tx, promotion.id(), codes, now)?;
        }
        Ok(summary)
    })
}

/// Binds shared codes (any number of uses) to a promotion that needs one.
pub fn add_codes(
    sql: &dyn Sql,
    id: &PromotionId,
    codes: &[CouponCode],
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    in_transaction(sql, |tx| {
        let current =
            load_promotion(tx, id)?.ok_or_else(|| PromotionError::UnknownPromotion(id.clone()))?;
        if !current.promotion.requires_code() {
            return Err(PromotionError::AutomaticPromotion(id.clone()));
        }
        bind_codes(tx, id, codes, now)
    })
}

/// Creates a batch of single-use codes for a promotion that needs one, from
/// `seed` (see [`codes`]). All codes are inserted or none.
pub fn create_batch(
    sql: &dyn Sql,
    id: &PromotionId,
    request: &BatchRequest,
    seed: &[u8; 32],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(CodeBatch, Vec<CouponCode>), PromotionError> {
    let batch_id = format!("B-{}", &hex(seed)[..20]);
    in_transaction(sql, |tx| {
        let current =
            load_promotion(tx, id)?.ok_or_else(|| PromotionError::UnknownPromotion(id.clone()))?;
        if !current.promotion.requires_code() {
            return Err(PromotionError::AutomaticPromotion(id.clone()));
        }
        tx.execute(
            "INSERT INTO coupon_batches (id, promotion_id, prefix, count, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                batch_id.as_str().into(),
                id.as_str().into(),
                request.prefix().into(),
                request.count().into(),
                actor.into(),
                timestamp(now).into(),
            ],
        )?;
        // A collision with an existing code is astronomically rare; the
        // codes it displaced are drawn again from a derived seed.
        let mut inserted: Vec<CouponCode> = Vec::with_capacity(request.count() as usize);
        let mut round_seed = *seed;
        for _ in 0..8 {
            let missing = request.count() as usize - inserted.len();
            if missing == 0 {
                break;
            }
            let round = BatchRequest::parse(
                missing as i64,
                Some(request.prefix()).filter(|p| !p.is_empty()),
            )
            .expect("a smaller count with the same prefix is valid");
            let fresh = codes::generate(&round_seed, &round, &|c| inserted.contains(c));
            for chunk in fresh.chunks(100) {
                inserted.extend(insert_batch_codes(tx, id, &batch_id, chunk, now)?);
            }
            round_seed = sha256(&round_seed);
        }
        if inserted.len() != request.count() as usize {
            return Err(PromotionError::Storage(StorageError::Other(
                "could not draw enough distinct codes".into(),
            )));
        }
        let batch = CodeBatch {
            batch_id: batch_id.clone(),
            promotion_id: id.clone(),
            prefix: request.prefix().to_owned(),
            count: request.count(),
            used: 0,
            created_by: actor.to_owned(),
            created_at: timestamp(now),
        };
        Ok((batch, inserted))
    })
}

fn insert_batch_codes(
    sql: &dyn Sql,
    id: &PromotionId,
    batch_id: &str,
    chunk: &[CouponCode],
    now: DateTime<Utc>,
) -> Result<Vec<CouponCode>, StorageError> {
    let mut params: Vec<SqlValue> =
        vec![id.as_str().into(), batch_id.into(), timestamp(now).into()];
    let values = chunk
        .iter()
        .enumerate()
        .map(|(i, code)| {
            params.push(code.as_str().into());
            format!("(?{}, ?1, ?2, 1, 0, ?3)", i + 4)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sql.execute(
        &format!(
            "INSERT INTO coupon_codes (code, promotion_id, batch_id, max_uses, used, created_at) VALUES {values}
             ON CONFLICT (code) DO NOTHING RETURNING code"
        ),
        &params,
    )?;
    rows.iter()
        .map(|r| CouponCode::parse(r.text("code")?).map_err(|e| decode("coupon_codes.code", e)))
        .collect()
}

/// The batches of a promotion with how many of their codes were used.
pub fn list_batches(sql: &dyn Sql, id: &PromotionId) -> Result<Vec<CodeBatch>, PromotionError> {
    let rows = sql.execute(
        "SELECT b.id, b.prefix, b.count, b.created_by, b.created_at,
                (SELECT count(*) FROM coupon_codes c WHERE c.batch_id = b.id AND c.used > 0) AS used
         FROM coupon_batches b WHERE b.promotion_id = ?1 ORDER BY b.created_at, b.id",
        &[id.as_str().into()],
    )?;
    rows.iter()
        .map(|r| batch_from(r, id))
        .collect::<Result<_, StorageError>>()
        .map_err(Into::into)
}

/// One batch with every code and whether it was used.
pub fn load_batch(
    sql: &dyn Sql,
    id: &PromotionId,
    batch_id: &str,
) -> Result<Option<(CodeBatch, Vec<BatchCode>)>, PromotionError> {
    let rows = sql.execute(
        "SELECT b.id, b.prefix, b.count, b.created_by, b.created_at,
                (SELECT count(*) FROM coupon_codes c WHERE c.batch_id = b.id AND c.used > 0) AS used
         FROM coupon_batches b WHERE b.promotion_id = ?1 AND b.id = ?2",
        &[id.as_str().into(), batch_id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let batch = batch_from(row, id)?;
    let codes = sql.execute(
        "SELECT code, used FROM coupon_codes WHERE batch_id = ?1 ORDER BY code",
        &[batch_id.into()],
    )?;
    let codes = codes
        .iter()
        .map(|r| {
            Ok(BatchCode {
                code: CouponCode::parse(r.text("code")?)
                    .map_err(|e| decode("coupon_codes.code", e))?,
                used: r.integer("used")? > 0,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(Some((batch, codes)))
}

fn batch_from(row: Row<'_>, id: &PromotionId) -> Result<CodeBatch, StorageError> {
    Ok(CodeBatch {
        batch_id: row.text("id")?.to_owned(),
        promotion_id: id.clone(),
        prefix: row.text("prefix")?.to_owned(),
        count: count(row.integer("count")?),
        used: count(row.integer("used")?),
        created_by: row.text("created_by")?.to_owned(),
        created_at: row.text("created_at")?.to_owned(),
    })
}

/// The current state of one promotion.
pub fn load_promotion(
    sql: &dyn Sql,
    id: &PromotionId,
) -> Result<Option<StoredPromotion>, PromotionError> {
    let rows = sql.execute(
        "SELECT id, version, status, used, definition, created_at, updated_at FROM promotions WHERE id = ?1",
        &[id.as_str().into()],
    )?;
    rows.first()
        .map(stored_from)
        .transpose()
        .map_err(Into::into)
}

/// The shared (not batch) codes of a promotion.
pub fn shared_codes(sql: &dyn Sql, id: &PromotionId) -> Result<Vec<CouponCode>, PromotionError> {
    let rows = sql.execute(
        "SELECT code FROM coupon_codes WHERE promotion_id = ?1 AND batch_id IS NULL ORDER BY code",
        &[id.as_str().into()],
    )?;
    rows.iter()
        .map(|r| CouponCode::parse(r.text("code")?).map_err(|e| decode("coupon_codes.code", e)))
        .collect::<Result<_, StorageError>>()
        .map_err(Into::into)
}

/// A page of promotions in id order, optionally of one status.
pub fn list_promotions(
    sql: &dyn Sql,
    status: Option<PromotionStatus>,
    after: Option<&PromotionId>,
    limit: u32,
) -> Result<Vec<StoredPromotion>, PromotionError> {
    let rows = sql.execute(
        "SELECT id, version, status, used, definition, created_at, updated_at FROM promotions
         WHERE id > ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3",
        &[
            after.map_or(String::new(), |a| a.to_string()).into(),
            status.map(|s| s.as_str().to_owned()).into(),
            limit.into(),
        ],
    )?;
    rows.iter()
        .map(stored_from)
        .collect::<Result<_, StorageError>>()
        .map_err(Into::into)
}

/// One version of a promotion, as it was.
pub fn load_version(
    sql: &dyn Sql,
    id: &PromotionId,
    version: i64,
) -> Result<Option<PromotionVersion>, PromotionError> {
    let rows = sql.execute(
        "SELECT version, status, definition, changed_by, changed_at FROM promotion_versions
         WHERE promotion_id = ?1 AND version = ?2",
        &[id.as_str().into(), version.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(PromotionVersion {
        promotion: decode_definition(row.text("definition")?)?,
        version: row.integer("version")?,
        status: status_from(row)?,
        changed_by: row.text("changed_by")?.to_owned(),
        changed_at: row.text("changed_at")?.to_owned(),
    }))
}

fn insert_new(
    sql: &dyn Sql,
    promotion: &Promotion,
    status: PromotionStatus,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    let now_text = timestamp(now);
    let rows = sql.execute(
        "INSERT INTO promotions (id, version, status, requires_code, starts_at, ends_at, global_limit, used, definition, compiled, created_at, updated_at)
         VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?9, ?8, ?8)
         ON CONFLICT (id) DO NOTHING RETURNING id",
        &[
            promotion.id().as_str().into(),
            status.as_str().into(),
            i64::from(promotion.requires_code()).into(),
            promotion.window().starts_at().map(timestamp).into(),
            promotion.window().ends_at().map(timestamp).into(),
            promotion.conditions().global_limit.into(),
            encode_definition(promotion)?.into(),
            now_text.into(),
            codec::encode(promotion).into(),
        ],
    )?;
    if rows.is_empty() {
        return Err(PromotionError::AlreadyExists(promotion.id().clone()));
    }
    write_targets(sql, promotion)?;
    insert_version(sql, promotion, 1, status, actor, now)
}

fn write_definition(
    sql: &dyn Sql,
    promotion: &Promotion,
    expected_version: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<StoredPromotion, PromotionError> {
    let rows = sql.execute(
        "UPDATE promotions SET version = version + 1, requires_code = ?3, starts_at = ?4, ends_at = ?5,
             global_limit = ?6, definition = ?7, updated_at = ?8, compiled = ?9
         WHERE id = ?1 AND version = ?2 RETURNING version, status",
        &[
            promotion.id().as_str().into(),
            expected_version.into(),
            i64::from(promotion.requires_code()).into(),
            promotion.window().starts_at().map(timestamp).into(),
            promotion.window().ends_at().map(timestamp).into(),
            promotion.conditions().global_limit.into(),
            encode_definition(promotion)?.into(),
            timestamp(now).into(),
            codec::encode(promotion).into(),
        ],
    )?;
    let row = rows.first().ok_or(PromotionError::VersionMismatch {
        current: expected_version + 1,
    })?;
    let version = row.integer("version")?;
    let status = status_from(row)?;
    write_targets(sql, promotion)?;
    insert_version(sql, promotion, version, status, actor, now)?;
    load_promotion(sql, promotion.id())?
        .ok_or_else(|| PromotionError::UnknownPromotion(promotion.id().clone()))
}

fn insert_version(
    sql: &dyn Sql,
    promotion: &Promotion,
    version: i64,
    status: PromotionStatus,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    sql.execute(
        "INSERT INTO promotion_versions (promotion_id, version, status, definition, changed_by, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            promotion.id().as_str().into(),
            version.into(),
            status.as_str().into(),
            encode_definition(promotion)?.into(),
            actor.into(),
            timestamp(now).into(),
        ],
    )?;
    Ok(())
}

/// Binds shared codes; a code bound to another promotion refuses the whole
/// unit, and one already bound to this promotion is left as it is.
fn bind_codes(
    sql: &dyn Sql,
    id: &PromotionId,
    codes: &[CouponCode],
    now: DateTime<Utc>,
) -> Result<(), PromotionError> {
    for code in codes {
        let rows = sql.execute(
            "INSERT INTO coupon_codes (code, promotion_id, batch_id, max_uses, used, created_at)
             VALUES (?1, ?2, NULL, NULL, 0, ?3) ON CONFLICT (code) DO NOTHING RETURNING code",
            &[
                code.as_str().into(),
                id.as_str().into(),
                timestamp(now).into(),
            ],
        )?;
        if rows.is_empty() {
            let owner = sql.execute(
                "SELECT promotion_id FROM coupon_codes WHERE code = ?1",
                &[code.as_str().into()],
            )?;
            let same =
                owner.first().map(|r| r.text("promotion_id")).transpose()? == Some(id.as_str());
            if !same {
                return Err(PromotionError::CodeTaken(code.clone()));
            }
        }
    }
    Ok(())
}

fn stored_from(row: Row<'_>) -> Result<StoredPromotion, StorageError> {
    Ok(StoredPromotion {
        promotion: decode_definition(row.text("definition")?)?,
        version: row.integer("version")?,
        status: status_from(row)?,
        used: count(row.integer("used")?),
        created_at: row.text("created_at")?.to_owned(),
        updated_at: row.text("updated_at")?.to_owned(),
    })
}

fn status_from(row: Row<'_>) -> Result<PromotionStatus, StorageError> {
    let raw = row.text("status")?;
    PromotionStatus::parse(raw)
        .ok_or_else(|| StorageError::Decode(format!("promotion status {raw:?}")))
}

fn encode_definition(promotion: &Promotion) -> Result<String, StorageError> {
    serde_json::to_string(&promotion.to_row()).map_err(|e| StorageError::Decode(e.to_string()))
}

/// Stored definitions were valid when written; one that no longer parses
/// is a storage fault (logged, 500), never silently skipped.
pub(super) fn decode_definition(text: &str) -> Result<Promotion, StorageError> {
    let row: PromotionRow =
        serde_json::from_str(text).map_err(|e| decode("promotions.definition", e))?;
    Promotion::try_from(row).map_err(|errors| {
        let joined = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        decode("promotions.definition", joined)
    })
}

fn decode(what: &str, err: impl std::fmt::Display) -> StorageError {
    StorageError::Decode(format!("{what}: {err}"))
}

/// Counts are never negative (CHECK constraints) and far below `u32::MAX`.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

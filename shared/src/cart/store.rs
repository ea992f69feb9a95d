//! The cart's SQL: creating carts, reading one whole, and the guarded writes
//! of lines, coupons and merges.
//!
//! Functions that change a cart take the cart's [`CartHeader`] read inside
//! the caller's `BEGIN IMMEDIATE` transaction ([`crate::storage::in_transaction`]):
//! the write lock is held from that read to the commit, so the version a
//! change is checked against is the version it bumps. Each change bumps the
//! version exactly once, in the same transaction as the rows it covers, so
//! an ETag always names one state of the cart.
//!
//! [`load`] reads a cart in one statement (header, lines with their catalog
//! data and prices, and coupon codes), so a concurrent commit can never give
//! a body whose lines belong to another version than its ETag.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::lines::{LineEdit, LineOutcome, LineState, merged_quantity};
use super::secret::{GuestSecret, new_cart_id};
use super::{CartError, CartPolicy, CartStatus, expiry, parse_timestamp, timestamp};
use crate::catalog::{Assortment, CategoryPath};
use crate::channel::Channel;
use crate::ids::{CartId, CustomerId, Sku};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;
use crate::storage::{Row, Sql, StorageError};

/// Whose cart it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Customer(CustomerId),
    /// A guest cart, opened only with the secret whose hash this is.
    Guest {
        secret_sha256: String,
    },
}

/// A cart's own row, without its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct CartHeader {
    pub id: CartId,
    pub owner: Owner,
    /// The channel the cart was created in.
    pub channel: Channel,
    /// The channel of the last change (where the shopper was last seen).
    pub last_channel: Channel,
    pub currency: Currency,
    pub status: CartStatus,
    pub version: i64,
    pub merged_into: Option<CartId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CartHeader {
    pub fn customer(&self) -> Option<&CustomerId> {
        match &self.owner {
            Owner::Customer(id) => Some(id),
            Owner::Guest { .. } => None,
        }
    }

    /// `Ok` for an active cart; otherwise why it cannot be edited.
    pub fn ensure_active(&self) -> Result<(), CartError> {
        match self.status {
            CartStatus::Active => Ok(()),
            status => Err(CartError::NotActive {
                status,
                merged_into: self.merged_into.clone(),
            }),
        }
    }
}

/// One line with what the catalog says about its SKU and the base price in
/// the cart's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct CartLine {
    pub sku: Sku,
    pub name: String,
    pub category: CategoryPath,
    pub assortment: Assortment,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub added_at_version: i64,
    pub changed_at_version: i64,
}

/// A whole cart as one consistent read.
#[derive(Debug, Clone, PartialEq)]
pub struct Cart {
    pub header: CartHeader,
    /// In the order they were added (ties by SKU).
    pub lines: Vec<CartLine>,
    /// The attached coupon codes, sorted.
    pub coupons: Vec<String>,
}

impl Cart {
    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity.get()).sum()
    }
}

const HEADER_COLUMNS: &str = "c.id, c.customer_id, c.secret_sha256, c.channel, c.last_channel, c.currency, \
     c.status, c.version, c.merged_into, c.created_at, c.updated_at";
/// As many NULLs as [`HEADER_COLUMNS`] has columns.
const NO_HEADER: &str = "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL";

/// The cart's header, or `None` when there is no such cart.
pub fn header(sql: &dyn Sql, id: &CartId) -> Result<Option<CartHeader>, CartError> {
    let rows = sql.execute(
        &format!("SELECT {HEADER_COLUMNS} FROM carts c WHERE c.id = ?1"),
        &[id.as_str().into()],
    )?;
    rows.first()
        .map(header_from_row)
        .transpose()
        .map_err(CartError::from)
}

/// The id of the customer's active cart, if they have one.
pub fn active_cart_of(sql: &dyn Sql, customer: &CustomerId) -> Result<Option<CartId>, CartError> {
    let rows = sql.execute(
        "SELECT id FROM carts WHERE customer_id = ?1 AND status = 'active'",
        &[customer.as_str().into()],
    )?;
    rows.first()
        .map(|r| cart_id(r.text("id")?))
        .transpose()
        .map_err(CartError::from)
}

/// The whole cart in one statement, or `None` when there is no such cart.
///
/// One compound SELECT: its first row is the cart (with its coupon codes),
/// the others its lines. One statement reads one snapshot, so the lines
/// always belong to the version read with them; and the header's columns
/// travel once rather than once per line (NULLs elsewhere), which matters
/// on an edge host where every value crosses into the guest.
pub fn load(sql: &dyn Sql, id: &CartId) -> Result<Option<Cart>, CartError> {
    let rows = sql.execute(
        &format!(
            "SELECT 0 AS part, {HEADER_COLUMNS},
                (SELECT group_concat(code, ' ') FROM cart_coupons WHERE cart_id = ?1) AS coupons,
                NULL AS sku, NULL AS quantity, NULL AS added_at_version, NULL AS changed_at_version,
                NULL AS category, NULL AS assortment, NULL AS name, NULL AS amount_minor
             FROM carts c WHERE c.id = ?1
             UNION ALL
             SELECT 1, {NO_HEADER}, NULL,
                l.sku, l.quantity, l.added_at_version, l.changed_at_version,
                i.category, i.assortment, json_extract(i.data, '$.name'), p.amount_minor
             FROM carts k
             JOIN cart_lines l ON l.cart_id = k.id
             LEFT JOIN catalog_items i ON i.sku = l.sku
             LEFT JOIN prices p ON p.sku = l.sku AND p.currency = k.currency
             WHERE k.id = ?1
             ORDER BY part, added_at_version, sku"
        ),
        &[id.as_str().into()],
    )?;
    let mut rows = rows.iter();
    let Some(first) = rows.next().filter(|r| r.integer("part") == Ok(0)) else {
        return Ok(None);
    };
    let header = header_from_row(first)?;
    let mut coupons: Vec<String> = first
        .opt_text("coupons")?
        .map(|c| c.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    coupons.sort();
    let lines = rows
        .map(|row| line_from_row(row, header.currency))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Cart {
        header,
        lines,
        coupons,
    }))
}

/// The SKUs and quantities of a cart, for merges and purchases.
pub fn quantities(sql: &dyn Sql, id: &CartId) -> Result<BTreeMap<Sku, u32>, CartError> {
    let rows = sql.execute(
        "SELECT sku, quantity FROM cart_lines WHERE cart_id = ?1",
        &[id.as_str().into()],
    )?;
    rows.iter()
        .map(|r| Ok((sku(r.text("sku")?)?, count(r.integer("quantity")?)?)))
        .collect::<Result<_, StorageError>>()
        .map_err(CartError::from)
}

/// Creates a guest cart and returns it with its secret (shown once).
pub fn create_guest(
    sql: &dyn Sql,
    channel: Channel,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<(CartId, GuestSecret), CartError> {
    let id = new_cart_id()?;
    let secret = GuestSecret::generate()?;
    insert(
        sql,
        &id,
        None,
        Some(&secret.sha256_hex()),
        channel,
        currency,
        now,
    )?;
    Ok((id, secret))
}

/// The customer's active cart, created if they have none; `true` when it was
/// created now. A stale active cart is expired first (recording it as
/// abandoned), so an old cart never blocks a new one.
///
/// Why create-or-get rather than 409 when one exists? "One cart across
/// channels" means the app, the web and the kiosk may all ask for the
/// customer's cart at start-up; each must get the same one, and a retried
/// request must not fail. The existing cart keeps its channel and currency.
pub fn create_or_get_customer_cart(
    sql: &dyn Sql,
    customer: &CustomerId,
    channel: Channel,
    currency: Currency,
    policy: &CartPolicy,
    now: DateTime<Utc>,
) -> Result<(CartId, bool), CartError> {
    crate::storage::in_transaction(sql, |tx| {
        customer_cart_in(tx, customer, channel, currency, policy, now)
    })
}

/// [`create_or_get_customer_cart`] inside the caller's transaction.
fn customer_cart_in(
    tx: &dyn Sql,
    customer: &CustomerId,
    channel: Channel,
    currency: Currency,
    policy: &CartPolicy,
    now: DateTime<Utc>,
) -> Result<(CartId, bool), CartError> {
    if let Some(id) = active_cart_of(tx, customer)? {
        let current = header(tx, &id)?.ok_or(CartError::NotFound)?;
        if !expiry::expire_if_stale(tx, &current, policy, now)? {
            return Ok((id, false));
        }
    }
    let id = new_cart_id()?;
    insert(tx, &id, Some(customer), None, channel, currency, now)?;
    Ok((id, true))
}

fn insert(
    sql: &dyn Sql,
    id: &CartId,
    customer: Option<&CustomerId>,
    secret_sha256: Option<&str>,
    channel: Channel,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<(), CartError> {
    let now = timestamp(now);
    sql.execute(
        "INSERT INTO carts (id, customer_id, secret_sha256, channel, last_channel, currency, status, version,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, 'active', 1, ?6, ?6)",
        &[
            id.as_str().into(),
            customer.map(CustomerId::as_str).into(),
            secret_sha256.into(),
            channel.as_str().into(),
            currency.code().into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// Bumps the cart's version for a change made in `channel`; returns the new
/// version, which the changed rows record.
fn bump(tx: &dyn Sql, id: &CartId, channel: Channel, now: DateTime<Utc>) -> Result<i64, CartError> {
    let rows = tx.execute(
        "UPDATE carts SET version = version + 1, updated_at = ?2, last_channel = ?3 WHERE id = ?1 RETURNING version",
        &[id.as_str().into(), timestamp(now).into(), channel.as_str().into()],
    )?;
    Ok(rows
        .first()
        .ok_or(CartError::NotFound)?
        .integer("version")?)
}

/// What the catalog and the cart say about one SKU, in one read.
struct SkuFacts {
    known: bool,
    assortment: Option<Assortment>,
    price_minor: Option<i64>,
    line: Option<LineState>,
    line_count: usize,
}

fn sku_facts(
    tx: &dyn Sql,
    cart: &CartId,
    sku: &Sku,
    currency: Currency,
) -> Result<SkuFacts, CartError> {
    let rows = tx.execute(
        "SELECT i.sku AS known, i.assortment, p.amount_minor, l.quantity, l.changed_at_version,
             (SELECT count(*) FROM cart_lines WHERE cart_id = ?1) AS line_count
         FROM (SELECT ?2 AS sku) k
         LEFT JOIN catalog_items i ON i.sku = k.sku
         LEFT JOIN prices p ON p.sku = k.sku AND p.currency = ?3
         LEFT JOIN cart_lines l ON l.cart_id = ?1 AND l.sku = k.sku",
        &[
            cart.as_str().into(),
            sku.as_str().into(),
            currency.code().into(),
        ],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StorageError::Decode("the facts query returned no row".into()))?;
    let line = match (
        row.opt_integer("quantity")?,
        row.opt_integer("changed_at_version")?,
    ) {
        (Some(quantity), Some(changed_at_version)) => Some(LineState {
            quantity: count(quantity)?,
            changed_at_version,
        }),
        _ => None,
    };
    Ok(SkuFacts {
        known: row.opt_text("known")?.is_some(),
        assortment: row.opt_text("assortment")?.map(assortment).transpose()?,
        price_minor: row.opt_integer("amount_minor")?,
        line,
        line_count: usize::try_from(row.integer("line_count")?).unwrap_or(usize::MAX),
    })
}

/// What a line edit comes to, decided from the cart's header and the SKU's
/// facts.
enum LineDecision {
    Unchanged,
    Write(u32),
    Delete,
}

/// The rules of a line edit: an add or set must name a SKU the catalog
/// sells, priced in the cart's currency and sold in `channel`; a removal
/// needs none of that, so a line whose item left the range can still be
/// taken out; a new line must fit under [`CartPolicy::MAX_LINES`].
fn decide_line(
    header: &CartHeader,
    sku: &Sku,
    edit: &LineEdit,
    facts: &SkuFacts,
    channel: Channel,
    policy: &CartPolicy,
) -> Result<LineDecision, CartError> {
    header.ensure_active()?;
    if !matches!(edit, LineEdit::Remove { .. }) {
        if !facts.known {
            return Err(CartError::UnknownSku(sku.clone()));
        }
        if facts.price_minor.is_none() {
            return Err(CartError::NoPrice {
                skus: vec![sku.clone()],
                currency: header.currency,
            });
        }
        if let Err(refusal) = facts.assortment.unwrap_or_default().sold_in(channel) {
            return Err(CartError::NotSoldIn {
                sku: sku.clone(),
                refusal,
            });
        }
    }
    match edit.apply(sku, facts.line, policy.max_line_quantity())? {
        LineOutcome::Unchanged => Ok(LineDecision::Unchanged),
        LineOutcome::Write(_)
            if facts.line.is_none() && facts.line_count >= CartPolicy::MAX_LINES =>
        {
            Err(CartError::TooManyLines {
                max: CartPolicy::MAX_LINES,
            })
        }
        LineOutcome::Write(quantity) => Ok(LineDecision::Write(quantity)),
        LineOutcome::Delete => Ok(LineDecision::Delete),
    }
}

/// Applies one line edit made in `channel` to the cart whose `header` was read
/// in this transaction; `true` when the cart changed.
pub fn edit_line(
    tx: &dyn Sql,
    header: &CartHeader,
    sku: &Sku,
    edit: &LineEdit,
    channel: Channel,
    policy: &CartPolicy,
    now: DateTime<Utc>,
) -> Result<bool, CartError> {
    header.ensure_active()?;
    let facts = sku_facts(tx, &header.id, sku, header.currency)?;
    match decide_line(header, sku, edit, &facts, channel, policy)? {
        LineDecision::Unchanged => Ok(false),
        LineDecision::Write(quantity) => {
            let version = bump(tx, &header.id, channel, now)?;
            write_line(tx, &header.id, sku, quantity, version)?;
            Ok(true)
        }
        LineDecision::Delete => {
            bump(tx, &header.id, channel, now)?;
            tx.execute(
                "DELETE FROM cart_lines WHERE cart_id = ?1 AND sku = ?2",
                &[header.id.as_str().into(), sku.as_str().into()],
            )?;
            Ok(true)
        }
    }
}

/// What a [`edit_line_guarded`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardedEdit {
    /// Committed; the cart is now at `version`.
    Changed { version: i64 },
    /// The edit changes nothing (the line already says so).
    Unchanged,
    /// The cart moved on after `header` was read: read it again and decide
    /// again.
    Raced,
}

/// [`edit_line`] without a transaction: the SKU's facts are read on their
/// own, the edit decided, and the outcome committed with one guarded
/// statement that applies only while the cart is still active at
/// `header.version` (see [`crate::cart::GUARDED_LINE_WRITES`]). The write
/// lock is held for that one statement, not across the request.
pub fn edit_line_guarded(
    sql: &dyn Sql,
    header: &CartHeader,
    sku: &Sku,
    edit: &LineEdit,
    channel: Channel,
    policy: &CartPolicy,
    now: DateTime<Utc>,
) -> Result<GuardedEdit, CartError> {
    header.ensure_active()?;
    let facts = sku_facts(sql, &header.id, sku, header.currency)?;
    let quantity = match decide_line(header, sku, edit, &facts, channel, policy)? {
        LineDecision::Unchanged => return Ok(GuardedEdit::Unchanged),
        LineDecision::Write(quantity) => quantity,
        LineDecision::Delete => 0,
    };
    let applied = sql.execute(
        "INSERT INTO cart_line_writes (cart_id, sku, quantity, expected_version, channel, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING expected_version + 1 AS version",
        &[
            header.id.as_str().into(),
            sku.as_str().into(),
            quantity.into(),
            header.version.into(),
            channel.as_str().into(),
            timestamp(now).into(),
        ],
    )?;
    match applied.first() {
        Some(row) => Ok(GuardedEdit::Changed {
            version: row.integer("version")?,
        }),
        None => Ok(GuardedEdit::Raced),
    }
}

fn write_line(
    tx: &dyn Sql,
    cart: &CartId,
    sku: &Sku,
    quantity: u32,
    version: i64,
) -> Result<(), CartError> {
    tx.execute(
        "INSERT INTO cart_lines (cart_id, sku, quantity, added_at_version, changed_at_version)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = excluded.quantity,
             changed_at_version = excluded.changed_at_version",
        &[
            cart.as_str().into(),
            sku.as_str().into(),
            quantity.into(),
            version.into(),
        ],
    )?;
    Ok(())
}

/// Empties the cart: every line, or with `base_version` only the lines not
/// changed since (a line another device edited concurrently survives, as a
/// concurrent removal loses to an edit). Coupons stay attached: they are the
/// shopper's codes, not items. `true` when a line was removed.
pub fn clear(
    tx: &dyn Sql,
    header: &CartHeader,
    base_version: Option<i64>,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<bool, CartError> {
    header.ensure_active()?;
    let removed = tx.execute(
        "DELETE FROM cart_lines WHERE cart_id = ?1 AND (?2 IS NULL OR changed_at_version <= ?2) RETURNING sku",
        &[header.id.as_str().into(), base_version.into()],
    )?;
    if removed.is_empty() {
        return Ok(false);
    }
    bump(tx, &header.id, channel, now)?;
    Ok(true)
}

/// Attaches a coupon code (already checked by the caller against the
/// promotion engine); `true` when it was not attached before.
pub fn attach_coupon(
    tx: &dyn Sql,
    header: &CartHeader,
    code: &str,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<bool, CartError> {
    header.ensure_active()?;
    let rows = tx.execute(
        "SELECT count(*) AS attached, coalesce(sum(code = ?2), 0) AS this_one FROM cart_coupons WHERE cart_id = ?1",
        &[header.id.as_str().into(), code.into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StorageError::Decode("count returned no row".into()))?;
    if row.integer("this_one")? > 0 {
        return Ok(false);
    }
    if row.integer("attached")? >= CartPolicy::MAX_COUPONS as i64 {
        return Err(CartError::TooManyCoupons {
            max: CartPolicy::MAX_COUPONS,
        });
    }
    let version = bump(tx, &header.id, channel, now)?;
    tx.execute(
        "INSERT INTO cart_coupons (cart_id, code, attached_at_version) VALUES (?1, ?2, ?3)",
        &[header.id.as_str().into(), code.into(), version.into()],
    )?;
    Ok(true)
}

/// Detaches a coupon code; `true` when it was attached. Detaching a code
/// that is not attached changes nothing and is not an error, so a retried
/// request gets the same answer.
pub fn detach_coupon(
    tx: &dyn Sql,
    header: &CartHeader,
    code: &str,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<bool, CartError> {
    header.ensure_active()?;
    let removed = tx.execute(
        "DELETE FROM cart_coupons WHERE cart_id = ?1 AND code = ?2 RETURNING code",
        &[header.id.as_str().into(), code.into()],
    )?;
    if removed.is_empty() {
        return Ok(false);
    }
    bump(tx, &header.id, channel, now)?;
    Ok(true)
}

/// Merges the guest cart `guest` (read in this transaction) into the
/// customer's active cart, creating that cart when they have none, and
/// returns the customer's cart id.
///
/// Same-SKU lines combine by [`merged_quantity`] (the larger quantity),
/// coupon codes are united, and the guest cart becomes `merged`, pointing at
/// the customer's cart, and read-only. Merging a guest cart already merged
/// into this customer's cart returns that cart and changes nothing; one
/// merged into another customer's cart is a conflict.
///
/// Nothing is dropped: when the customer's cart is in another currency and
/// a guest SKU has no price in it, or the union would pass the line or
/// coupon limits, the merge is refused whole and the guest cart stays as it
/// was.
pub fn merge_guest(
    tx: &dyn Sql,
    guest: &CartHeader,
    customer: &CustomerId,
    channel: Channel,
    policy: &CartPolicy,
    now: DateTime<Utc>,
) -> Result<CartId, CartError> {
    if !matches!(guest.owner, Owner::Guest { .. }) {
        return Err(CartError::NotAGuestCart);
    }
    if guest.status == CartStatus::Merged {
        let target = guest
            .merged_into
            .as_ref()
            .ok_or(CartError::MergedElsewhere)?;
        let owner = header(tx, target)?.and_then(|h| h.customer().cloned());
        return if owner.as_ref() == Some(customer) {
            Ok(target.clone())
        } else {
            Err(CartError::MergedElsewhere)
        };
    }
    guest.ensure_active()?;
    let (target_id, _) =
        customer_cart_in(tx, customer, guest.channel, guest.currency, policy, now)?;
    let target = header(tx, &target_id)?.ok_or(CartError::NotFound)?;

    let unpriced = tx.execute(
        "SELECT l.sku FROM cart_lines l LEFT JOIN prices p ON p.sku = l.sku AND p.currency = ?2
         WHERE l.cart_id = ?1 AND p.sku IS NULL ORDER BY l.sku",
        &[guest.id.as_str().into(), target.currency.code().into()],
    )?;
    if !unpriced.is_empty() {
        let skus = unpriced
            .iter()
            .map(|r| sku(r.text("sku")?))
            .collect::<Result<Vec<_>, _>>()?;
        return Err(CartError::NoPrice {
            skus,
            currency: target.currency,
        });
    }
    let theirs = quantities(tx, &guest.id)?;
    let ours = quantities(tx, &target.id)?;
    let union = ours.len() + theirs.keys().filter(|s| !ours.contains_key(*s)).count();
    if union > CartPolicy::MAX_LINES {
        return Err(CartError::TooManyLines {
            max: CartPolicy::MAX_LINES,
        });
    }

    let version = bump(tx, &target.id, channel, now)?;
    for (sku, &quantity) in &theirs {
        let current = ours.get(sku).copied();
        let merged = merged_quantity(current, quantity);
        if current != Some(merged) {
            write_line(tx, &target.id, sku, merged, version)?;
        }
    }
    tx.execute(
        "INSERT INTO cart_coupons (cart_id, code, attached_at_version)
         SELECT ?1, code, ?3 FROM cart_coupons WHERE cart_id = ?2 AND true
         ON CONFLICT (cart_id, code) DO NOTHING",
        &[
            target.id.as_str().into(),
            guest.id.as_str().into(),
            version.into(),
        ],
    )?;
    let coupons = tx.execute(
        "SELECT count(*) AS n FROM cart_coupons WHERE cart_id = ?1",
        &[target.id.as_str().into()],
    )?;
    if coupons
        .first()
        .map(|r| r.integer("n"))
        .transpose()?
        .unwrap_or(0)
        > CartPolicy::MAX_COUPONS as i64
    {
        return Err(CartError::TooManyCoupons {
            max: CartPolicy::MAX_COUPONS,
        });
    }
    let marked = tx.execute(
        "UPDATE carts SET status = 'merged', merged_into = ?2, version = version + 1, updated_at = ?3
         WHERE id = ?1 AND status = 'active' RETURNING id",
        &[guest.id.as_str().into(), target.id.as_str().into(), timestamp(now).into()],
    )?;
    if marked.is_empty() {
        return Err(CartError::NotActive {
            status: guest.status,
            merged_into: guest.merged_into.clone(),
        });
    }
    expiry::record(tx, guest, expiry::EventKind::Merged, channel, None, now)?;
    Ok(target.id)
}

fn header_from_row(row: Row<'_>) -> Result<CartHeader, StorageError> {
    let owner = match (row.opt_text("customer_id")?, row.opt_text("secret_sha256")?) {
        (Some(customer), None) => Owner::Customer(
            CustomerId::parse(customer).map_err(|e| StorageError::Decode(e.to_string()))?,
        ),
        (None, Some(hash)) => Owner::Guest {
            secret_sha256: hash.to_owned(),
        },
        _ => {
            return Err(StorageError::Decode(
                "a cart is either a customer's or a guest's".into(),
            ));
        }
    };
    Ok(CartHeader {
        id: cart_id(row.text("id")?)?,
        owner,
        channel: channel(row.text("channel")?)?,
        last_channel: channel(row.text("last_channel")?)?,
        currency: currency(row.text("currency")?)?,
        status: CartStatus::parse(row.text("status")?)?,
        version: row.integer("version")?,
        merged_into: row.opt_text("merged_into")?.map(cart_id).transpose()?,
        created_at: parse_timestamp(row.text("created_at")?)?,
        updated_at: parse_timestamp(row.text("updated_at")?)?,
    })
}

/// A line of [`load`]. Its SKU always has a catalog row and a price in the
/// cart's currency: a line is only written after both were checked, and the
/// catalog never deletes items or prices, so a gap is a storage fault.
fn line_from_row(row: Row<'_>, cart_currency: Currency) -> Result<CartLine, StorageError> {
    let sku = sku(row.text("sku")?)?;
    let missing = |what: &str| StorageError::Decode(format!("cart line {sku} has no {what}"));
    // The name is read by SQLite's json_extract from the catalog's stored
    // row, so the cart never parses whole catalog documents.
    let name = row
        .opt_text("name")?
        .ok_or_else(|| missing("catalog item"))?
        .to_owned();
    let category_text = row
        .opt_text("category")?
        .ok_or_else(|| missing("category"))?;
    let segments: Vec<&str> = category_text.split('/').collect();
    let category =
        CategoryPath::parse(&segments).map_err(|e| StorageError::Decode(e.to_string()))?;
    let price = row
        .opt_integer("amount_minor")?
        .ok_or_else(|| missing("price"))?;
    let quantity = row.integer("quantity")?;
    Ok(CartLine {
        name,
        category,
        assortment: assortment(
            row.opt_text("assortment")?
                .ok_or_else(|| missing("assortment"))?,
        )?,
        quantity: Quantity::parse_with_max(quantity, CartPolicy::MAX_LINE_QUANTITY_CEILING)
            .map_err(|e| StorageError::Decode(format!("cart line {sku}: {e}")))?,
        unit_price: Money::from_minor_units(price, cart_currency)
            .map_err(|e| StorageError::Decode(e.to_string()))?,
        added_at_version: row.integer("added_at_version")?,
        changed_at_version: row.integer("changed_at_version")?,
        sku,
    })
}

fn decode<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StorageError> {
    result.map_err(|e| StorageError::Decode(e.to_string()))
}

pub(super) fn cart_id(raw: &str) -> Result<CartId, StorageError> {
    decode(CartId::parse(raw))
}

pub(super) fn sku(raw: &str) -> Result<Sku, StorageError> {
    decode(Sku::parse(raw))
}

pub(super) fn channel(raw: &str) -> Result<Channel, StorageError> {
    decode(Channel::parse(raw))
}

pub(super) fn currency(raw: &str) -> Result<Currency, StorageError> {
    decode(Currency::parse(raw))
}

fn assortment(raw: &str) -> Result<Assortment, StorageError> {
    decode(Assortment::parse(raw))
}

pub(super) fn count(raw: i64) -> Result<u32, StorageError> {
    u32::try_from(raw).map_err(|_| StorageError::Decode(format!("{raw} is not a count")))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::in_transaction;
    use crate::storage::native::SqliteDb;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    /// A migrated database with SKUs `S0`..`S3` at 1.00 PLN.
    fn database(dir: &tempfile::TempDir) -> crate::storage::native::NativeSql {
        let sql = SqliteDb::at(dir.path().join("cart.db")).connect().unwrap();
        crate::schema::apply(&sql).unwrap();
        for i in 0..4 {
            let sku = format!("S{i}");
            sql.execute(
                "INSERT INTO catalog_items (sku, product_id, category, assortment, data, updated_at)
                 VALUES (?1, 'P', 'home', 'both', '{\"name\": \"Item\"}', 'now')",
                &[sku.as_str().into()],
            )
            .unwrap();
            sql.execute("INSERT INTO prices (sku, currency, amount_minor, updated_at) VALUES (?1, 'PLN', 100, 'now')", &[sku.as_str().into()])
                .unwrap();
        }
        sql
    }

    fn edit(sql: &dyn Sql, id: &CartId, sku: &Sku, change: &LineEdit) -> Result<bool, CartError> {
        in_transaction(sql, |tx| {
            let header = header(tx, id)?.ok_or(CartError::NotFound)?;
            edit_line(
                tx,
                &header,
                sku,
                change,
                Channel::Web,
                &CartPolicy::default(),
                now(),
            )
        })
    }

    #[test]
    fn the_stored_cart_follows_the_line_rules_for_any_sequence_of_edits() {
        let dir = tempfile::tempdir().unwrap();
        let sql = database(&dir);
        let mut seed = 0xdead_beef_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..20 {
            let (id, _) = create_guest(&sql, Channel::Web, Currency::Pln, now()).unwrap();
            let mut model: BTreeMap<Sku, LineState> = BTreeMap::new();
            let mut version = 1;
            for _ in 0..40 {
                let sku = Sku::parse(&format!("S{}", next(4))).unwrap();
                let base = (next(3) > 0).then(|| (version - next(4) as i64).max(1));
                let quantity = Quantity::parse(1 + next(9) as i64).unwrap();
                let change = match next(3) {
                    0 => LineEdit::Add(quantity),
                    1 => LineEdit::Set {
                        quantity,
                        base_version: base,
                    },
                    _ => LineEdit::Remove { base_version: base },
                };
                let expected = change.apply(&sku, model.get(&sku).copied(), 99);
                let changed = edit(&sql, &id, &sku, &change);
                match expected {
                    Err(e) => assert_eq!(changed, Err(e)),
                    Ok(LineOutcome::Unchanged) => assert_eq!(changed, Ok(false)),
                    Ok(LineOutcome::Write(q)) => {
                        assert_eq!(changed, Ok(true));
                        version += 1;
                        model.insert(
                            sku,
                            LineState {
                                quantity: q,
                                changed_at_version: version,
                            },
                        );
                    }
                    Ok(LineOutcome::Delete) => {
                        assert_eq!(changed, Ok(true));
                        version += 1;
                        model.remove(&sku);
                    }
                }
                let cart = load(&sql, &id).unwrap().unwrap();
                assert_eq!(cart.header.version, version);
                let stored: BTreeMap<Sku, LineState> = cart
                    .lines
                    .iter()
                    .map(|l| {
                        (
                            l.sku.clone(),
                            LineState {
                                quantity: l.quantity.get(),
                                changed_at_version: l.changed_at_version,
                            },
                        )
                    })
                    .collect();
                assert_eq!(stored, model);
            }
        }
    }

    #[test]
    fn the_line_rows_of_a_load_have_one_null_per_header_column() {
        assert_eq!(
            HEADER_COLUMNS.split(',').count(),
            NO_HEADER.split(',').count()
        );
    }

    #[test]
    fn a_refused_edit_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let sql = database(&dir);
        let (id, _) = create_guest(&sql, Channel::Web, Currency::Pln, now()).unwrap();
        let unknown = Sku::parse("NOPE").unwrap();
        let err = edit(
            &sql,
            &id,
            &unknown,
            &LineEdit::Add(Quantity::parse(1).unwrap()),
        )
        .unwrap_err();
        assert_eq!(err, CartError::UnknownSku(unknown));
        let eur = create_guest(&sql, Channel::Web, Currency::Eur, now())
            .unwrap()
            .0;
        let s0 = Sku::parse("S0").unwrap();
        assert!(matches!(
            edit(&sql, &eur, &s0, &LineEdit::Add(Quantity::parse(1).unwrap())),
            Err(CartError::NoPrice { .. })
        ));
        for cart in [id, eur] {
            let loaded = load(&sql, &cart).unwrap().unwrap();
            assert!(loaded.lines.is_empty());
            assert_eq!(loaded.header.version, 1);
        }
    }
}

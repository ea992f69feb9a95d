//! Base prices: bulk upsert by operators. One price per SKU and currency, the
//! same in every channel (the wire row has no channel on purpose).

use crate::batch;
use omni_shared::catalog::{FieldError, PriceEntry, PriceRow};
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Sql, StorageError};
use omni_shared::web::Problem;
use spin_sdk::http::Response;

/// `POST /api/catalog/prices` `{"prices": [{"sku", "amount", "currency"}...]}`.
pub fn upsert(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    batch::upsert::<PriceRow, PriceEntry>(ctx, "prices", write)
}

/// Prices are stored in minor units (exact integers); a price for a SKU the
/// catalog does not know is a row error, so a feed cannot price a typo.
fn write(sql: &dyn Sql, entry: &PriceEntry, now: &str) -> Result<Option<FieldError>, StorageError> {
    let price = entry.price();
    let rows = sql.execute(
        "INSERT INTO prices (sku, currency, amount_minor, updated_at)
         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM catalog_items WHERE sku = ?1)
         ON CONFLICT (sku, currency) DO UPDATE SET amount_minor = excluded.amount_minor,
             updated_at = excluded.updated_at
         RETURNING sku",
        &[
            entry.sku().as_str().into(),
            price.currency().code().into(),
            price.to_minor_units().into(),
            now.into(),
        ],
    )?;
    Ok(rows.is_empty().then(|| FieldError {
        field: "sku".into(),
        reason: format!(
            "no catalog item has SKU {}; load the item first",
            entry.sku()
        ),
    }))
}

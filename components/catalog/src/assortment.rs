//! Channel assortment: which SKUs are sold online only, in stores only, or
//! both. Operators change it without resending whole items.

use crate::batch;
use omni_shared::catalog::{Assortment, BatchKeys, FieldError};
use omni_shared::ids::Sku;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Sql, StorageError};
use omni_shared::web::Problem;
use serde::Deserialize;
use spin_sdk::http::Response;

/// `POST /api/catalog/assortment` `{"assortment": [{"sku", "assortment"}...]}`.
pub fn set(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    batch::upsert::<AssortmentRow, AssortmentChange>(ctx, "assortment", write)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssortmentRow {
    sku: String,
    assortment: String,
}

pub struct AssortmentChange {
    sku: Sku,
    assortment: Assortment,
}

impl TryFrom<AssortmentRow> for AssortmentChange {
    type Error = Vec<FieldError>;

    fn try_from(row: AssortmentRow) -> Result<Self, Self::Error> {
        let sku = Sku::parse(&row.sku).map_err(|e| FieldError {
            field: "sku".into(),
            reason: e.to_string(),
        });
        let assortment = Assortment::parse(&row.assortment).map_err(|e| FieldError {
            field: "assortment".into(),
            reason: e.to_string(),
        });
        match (sku, assortment) {
            (Ok(sku), Ok(assortment)) => Ok(AssortmentChange { sku, assortment }),
            (sku, assortment) => Err(sku.err().into_iter().chain(assortment.err()).collect()),
        }
    }
}

impl BatchKeys for AssortmentChange {
    fn batch_keys(&self) -> Vec<(&'static str, String)> {
        vec![("sku", self.sku.to_string())]
    }
}

fn write(
    sql: &dyn Sql,
    change: &AssortmentChange,
    now: &str,
) -> Result<Option<FieldError>, StorageError> {
    let rows = sql.execute(
        "UPDATE catalog_items SET assortment = ?2, updated_at = ?3 WHERE sku = ?1 RETURNING sku",
        &[
            change.sku.as_str().into(),
            change.assortment.as_str().into(),
            now.into(),
        ],
    )?;
    Ok(rows.is_empty().then(|| FieldError {
        field: "sku".into(),
        reason: format!("no catalog item has SKU {}", change.sku),
    }))
}

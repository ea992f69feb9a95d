//! Sellable items: bulk upsert (operators) and reads (every channel).

use crate::batch;
use omni_shared::catalog::{Assortment, CatalogItem, CatalogItemRow, FieldError};
use omni_shared::ids::Sku;
use omni_shared::money::Money;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Row, Sql, StorageError};
use omni_shared::web::query::Query;
use omni_shared::web::{PageRequest, Problem, json_response};
use serde_json::{Value, json};
use spin_sdk::http::Response;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// `POST /api/catalog/items` `{"items": [CatalogItemRow...]}`.
pub fn upsert(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    batch::upsert::<CatalogItemRow, CatalogItem>(ctx, "items", write)
}

/// The assortment column is the authority (the assortment feed changes it
/// alone), so the stored row leaves it out rather than hold a second copy.
fn write(sql: &dyn Sql, item: &CatalogItem, now: &str) -> Result<Option<FieldError>, StorageError> {
    let mut row = CatalogItemRow::from(item);
    row.assortment = None;
    let data = serde_json::to_string(&row).map_err(|e| StorageError::Decode(e.to_string()))?;
    sql.execute(
        "INSERT INTO catalog_items (sku, product_id, category, assortment, data, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id,
             category = excluded.category, assortment = excluded.assortment,
             data = excluded.data, updated_at = excluded.updated_at",
        &[
            item.sku().as_str().into(),
            item.product_id().as_str().into(),
            item.category().to_string().into(),
            item.assortment().as_str().into(),
            data.into(),
            now.into(),
        ],
    )?;
    Ok(None)
}

/// `GET /api/catalog/items/{sku}`: the item with its base prices.
pub fn get(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let sku = Sku::parse(ctx.param("sku")).map_err(|e| Problem::not_found(e.to_string()))?;
    let sql = ctx.sql()?;
    let rows = sql.execute(
        "SELECT sku, assortment, data FROM catalog_items WHERE sku = ?1",
        &[sku.as_str().into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| Problem::not_found(format!("no item with SKU {sku}")))?;
    let mut item = item_json(row)?;
    item["prices"] = prices_of(sql, &[sku])?.pop().unwrap_or_default();
    Ok(json_response(200, &item))
}

/// `GET /api/catalog/items?category=women/dresses&limit=50&cursor=C`: a
/// page of items in SKU order; `next_cursor` is the cursor of the next page.
/// `product_id` narrows it to one product's variants (its sizes and
/// colours), as an exchange at the counter lists them.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let query =
        Query::parse(ctx.req.query())?.only(&["category", "product_id", "limit", "cursor"])?;
    let page = PageRequest::parse(
        query.get("limit"),
        query.get("cursor"),
        DEFAULT_PAGE,
        MAX_PAGE,
        1,
    )?;
    let category = query
        .get("category")
        .map(|value| {
            let segments: Vec<&str> = value.split('/').collect();
            omni_shared::catalog::CategoryPath::parse(&segments)
                .map(|path| path.to_string())
                .map_err(|e| Problem::bad_request(format!("category: {e}")))
        })
        .transpose()?;
    let product = query
        .get("product_id")
        .map(|value| {
            omni_shared::ids::ProductId::parse(value)
                .map(|p| p.to_string())
                .map_err(|e| Problem::bad_request(format!("product_id: {e}")))
        })
        .transpose()?;
    let sql = ctx.sql()?;
    let rows = sql.execute(
        "SELECT sku, assortment, data FROM catalog_items
         WHERE sku > ?1 AND (?2 IS NULL OR category = ?2 OR category LIKE ?2 || '/%')
           AND (?4 IS NULL OR product_id = ?4)
         ORDER BY sku LIMIT ?3",
        &[
            page.after_part(0).unwrap_or("").into(),
            category.into(),
            page.fetch().into(),
            product.into(),
        ],
    )?;
    let mut items = rows.iter().map(item_json).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = page.finish(&mut items, |item| {
        vec![item["sku"].as_str().unwrap_or_default().to_owned()]
    });
    let skus: Vec<Sku> = items
        .iter()
        .filter_map(|i| i["sku"].as_str())
        .filter_map(|s| Sku::parse(s).ok())
        .collect();
    for (item, prices) in items.iter_mut().zip(prices_of(sql, &skus)?) {
        item["prices"] = prices;
    }
    Ok(json_response(
        200,
        &json!({ "items": items, "next_cursor": next_cursor }),
    ))
}

/// The stored row as the wire form, with the authoritative assortment.
fn item_json(row: Row<'_>) -> Result<Value, StorageError> {
    let mut item: CatalogItemRow =
        serde_json::from_str(row.text("data")?).map_err(|e| StorageError::Decode(e.to_string()))?;
    let assortment = Assortment::parse(row.text("assortment")?)
        .map_err(|e| StorageError::Decode(e.to_string()))?;
    item.assortment = Some(assortment.as_str().to_owned());
    serde_json::to_value(item).map_err(|e| StorageError::Decode(e.to_string()))
}

/// The base prices of each SKU, in the order given, as `[{amount, currency}]`.
fn prices_of(sql: &dyn Sql, skus: &[Sku]) -> Result<Vec<Value>, StorageError> {
    skus.iter()
        .map(|sku| {
            let rows = sql.execute(
                "SELECT currency, amount_minor FROM prices WHERE sku = ?1 ORDER BY currency",
                &[sku.as_str().into()],
            )?;
            let prices = rows
                .iter()
                .map(|r| {
                    let currency = omni_shared::money::Currency::parse(r.text("currency")?)
                        .map_err(|e| StorageError::Decode(e.to_string()))?;
                    let money = Money::from_minor_units(r.integer("amount_minor")?, currency)
                        .map_err(|e| StorageError::Decode(e.to_string()))?;
                    Ok(json!({ "amount": money.amount().to_string(), "currency": currency.code() }))
                })
                .collect::<Result<Vec<_>, StorageError>>()?;
            Ok(Value::Array(prices))
        })
        .collect()
}

//! Sellable items: bulk upsert (operators) and reads (every channel).

use crate::batch;
use omni_shared::catalog::{Assortment, CatalogItem, CatalogItemRow, FieldError};
use omni_shared::ids::Sku;
use omni_shared::money::Money;
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Row, Sql, SqlValue, StorageError};
use omni_shared::web::query::form_decode;
use omni_shared::web::{Problem, json_response};
use serde_json::{Value, json};
use spin_sdk::http::Response;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

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

/// `GET /api/catalog/items?category=women/dresses&after=SKU&limit=50`: a page
/// of items in SKU order; `next_after` is the cursor of the next page.
/// `product_id` narrows it to one product's variants (its sizes and
/// colours), as an exchange at the counter lists them.
pub fn list(ctx: &Ctx<'_>) -> Result<Response, Problem> {
    let query = ListQuery::parse(ctx.req.query())?;
    let sql = ctx.sql()?;
    let rows = sql.execute(
        "SELECT sku, assortment, data FROM catalog_items
         WHERE sku > ?1 AND (?2 IS NULL OR category = ?2 OR category LIKE ?2 || '/%')
           AND (?4 IS NULL OR product_id = ?4)
         ORDER BY sku LIMIT ?3",
        &[
            query.after.into(),
            query.category.into(),
            SqlValue::Integer(query.limit + 1),
            query.product.into(),
        ],
    )?;
    let mut items = rows.iter().map(item_json).collect::<Result<Vec<_>, _>>()?;
    let next_after = if items.len() as i64 > query.limit {
        items.truncate(query.limit as usize);
        items
            .last()
            .and_then(|i| i["sku"].as_str())
            .map(str::to_owned)
    } else {
        None
    };
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
        &json!({ "items": items, "next_after": next_after }),
    ))
}

struct ListQuery {
    category: Option<String>,
    product: Option<String>,
    after: String,
    limit: i64,
}

impl ListQuery {
    fn parse(query: &str) -> Result<ListQuery, Problem> {
        let mut parsed = ListQuery {
            category: None,
            product: None,
            after: String::new(),
            limit: DEFAULT_PAGE,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = form_decode(value).ok_or_else(|| {
                Problem::bad_request(format!("`{name}` is not valid percent-encoded UTF-8"))
            })?;
            match name {
                "category" => {
                    let segments: Vec<&str> = value.split('/').collect();
                    let path = omni_shared::catalog::CategoryPath::parse(&segments)
                        .map_err(|e| Problem::bad_request(format!("category: {e}")))?;
                    parsed.category = Some(path.to_string());
                }
                "product_id" => {
                    let product = omni_shared::ids::ProductId::parse(&value)
                        .map_err(|e| Problem::bad_request(format!("product_id: {e}")))?;
                    parsed.product = Some(product.to_string());
                }
                "after" => {
                    parsed.after = Sku::parse(&value)
                        .map_err(|e| Problem::bad_request(format!("after: {e}")))?
                        .to_string();
                }
                "limit" => {
                    parsed.limit = value
                        .parse::<i64>()
                        .ok()
                        .filter(|l| (1..=MAX_PAGE).contains(l))
                        .ok_or_else(|| {
                            Problem::bad_request(format!(
                                "limit must be a whole number from 1 to {MAX_PAGE}"
                            ))
                        })?;
                }
                other => {
                    return Err(Problem::bad_request(format!(
                        "unknown query parameter `{other}`; expected category, product_id, after or limit"
                    )));
                }
            }
        }
        Ok(parsed)
    }
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

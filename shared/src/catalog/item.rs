//! One sellable SKU as the back office describes it: its product, name,
//! category, size, colour, barcode and channel assortment.
//!
//! Why one row per SKU rather than a product with nested variants? Stock,
//! prices, reservations and returns are all per SKU, and a flat row is what
//! ERP exports produce; the product id groups variants when a page needs it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use super::{Assortment, BatchKeys, CatalogError, FieldError, Fields, joined, optional_text, text};
use crate::channel::Channel;
use crate::ids::{Gtin, ProductId, Sku};

pub(super) const MAX_SEGMENT_LEN: usize = 40;

/// Where a SKU sits in the category tree, `["women", "dresses"]`: 1 to 5
/// lowercase slugs. Return policies and coupons name categories, so the path
/// must compare exactly; uppercase is refused rather than folded so a feed
/// cannot hold two spellings of one category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryPath(Vec<String>);

impl CategoryPath {
    pub const MAX_DEPTH: usize = 5;

    pub fn parse<S: AsRef<str>>(segments: &[S]) -> Result<CategoryPath, CatalogError> {
        if segments.is_empty() || segments.len() > CategoryPath::MAX_DEPTH {
            return Err(CatalogError::CategoryDepth {
                max: CategoryPath::MAX_DEPTH,
            });
        }
        segments
            .iter()
            .map(|s| {
                let s = s.as_ref();
                if is_slug(s) {
                    Ok(s.to_owned())
                } else {
                    Err(CatalogError::CategorySegment {
                        segment: s.chars().take(MAX_SEGMENT_LEN + 1).collect(),
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(CategoryPath)
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// Whether this path is `ancestor` or lies below it: a rule on
    /// "underwear" covers "underwear/briefs".
    pub fn starts_with(&self, ancestor: &CategoryPath) -> bool {
        self.0.starts_with(&ancestor.0)
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SEGMENT_LEN
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl fmt::Display for CategoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

impl Serialize for CategoryPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CategoryPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Vec::<String>::deserialize(d)?;
        CategoryPath::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The wire form of one SKU. `size`, `colour` and `gtin` are optional (blank
/// counts as absent); `assortment` defaults to `both`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogItemRow {
    pub sku: String,
    pub product_id: String,
    pub name: String,
    pub category: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assortment: Option<String>,
}

/// One sellable SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    sku: Sku,
    product_id: ProductId,
    name: String,
    category: CategoryPath,
    size: Option<String>,
    colour: Option<String>,
    gtin: Option<Gtin>,
    assortment: Assortment,
}

impl CatalogItem {
    pub const MAX_NAME_LEN: usize = 200;
    pub const MAX_SIZE_LEN: usize = 20;
    pub const MAX_COLOUR_LEN: usize = 40;

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn product_id(&self) -> &ProductId {
        &self.product_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn category(&self) -> &CategoryPath {
        &self.category
    }

    pub fn size(&self) -> Option<&str> {
        self.size.as_deref()
    }

    pub fn colour(&self) -> Option<&str> {
        self.colour.as_deref()
    }

    pub fn gtin(&self) -> Option<&Gtin> {
        self.gtin.as_ref()
    }

    pub fn assortment(&self) -> Assortment {
        self.assortment
    }

    /// Shorthand for the assortment rule of this SKU.
    pub fn sold_in(&self, channel: Channel) -> Result<(), super::NotSoldIn> {
        self.assortment.sold_in(channel)
    }
}

impl TryFrom<CatalogItemRow> for CatalogItem {
    type Error = Vec<FieldError>;

    fn try_from(row: CatalogItemRow) -> Result<Self, Self::Error> {
        let mut fields = Fields::default();
        let sku = fields.check("sku", Sku::parse(&row.sku));
        let product_id = fields.check("product_id", ProductId::parse(&row.product_id));
        let name = fields.check("name", text(&row.name, CatalogItem::MAX_NAME_LEN));
        let category = fields.check("category", CategoryPath::parse(&row.category));
        let size = fields.check(
            "size",
            optional_text(row.size.as_deref(), CatalogItem::MAX_SIZE_LEN),
        );
        let colour = fields.check(
            "colour",
            optional_text(row.colour.as_deref(), CatalogItem::MAX_COLOUR_LEN),
        );
        let gtin = fields.check(
            "gtin",
            row.gtin
                .as_deref()
                .filter(|g| !g.trim().is_empty())
                .map(Gtin::parse)
                .transpose(),
        );
        let assortment = fields.check(
            "assortment",
            row.assortment
                .as_deref()
                .map_or(Ok(Assortment::Both), Assortment::parse),
        );
        let (
            Some(sku),
            Some(product_id),
            Some(name),
            Some(category),
            Some(size),
            Some(colour),
            Some(gtin),
            Some(assortment),
        ) = (
            sku, product_id, name, category, size, colour, gtin, assortment,
        )
        else {
            return Err(fields.errors);
        };
        Ok(CatalogItem {
            sku,
            product_id,
            name,
            category,
            size,
            colour,
            gtin,
            assortment,
        })
    }
}

impl From<&CatalogItem> for CatalogItemRow {
    fn from(item: &CatalogItem) -> Self {
        CatalogItemRow {
            sku: item.sku.to_string(),
            product_id: item.product_id.to_string(),
            name: item.name.clone(),
            category: item.category.segments().to_vec(),
            size: item.size.clone(),
            colour: item.colour.clone(),
            gtin: item.gtin.as_ref().map(Gtin::to_string),
            assortment: Some(item.assortment.as_str().to_owned()),
        }
    }
}

impl BatchKeys for CatalogItem {
    /// A SKU appears once per batch, and so does a barcode: a till that
    /// scans one GTIN must find exactly one SKU.
    fn batch_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![("sku", self.sku.to_string())];
        if let Some(gtin) = &self.gtin {
            keys.push(("gtin", gtin.to_string()));
        }
        keys
    }
}

impl Serialize for CatalogItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CatalogItemRow::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for CatalogItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let row = CatalogItemRow::deserialize(d)?;
        CatalogItem::try_from(row).map_err(|errors| serde::de::Error::custom(joined(&errors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(value: serde_json::Value) -> CatalogItemRow {
        serde_json::from_value(value).unwrap()
    }

    fn dress() -> serde_json::Value {
        json!({
            "sku": "dress-lin-blu-38", "product_id": "dress-lin", "name": "Linen dress",
            "category": ["women", "dresses"], "size": "38", "colour": "blue",
            "gtin": "4006381333931", "assortment": "online_only"
        })
    }

    #[test]
    fn a_complete_row_becomes_an_item() {
        let item = CatalogItem::try_from(row(dress())).unwrap();
        assert_eq!(item.sku().as_str(), "DRESS-LIN-BLU-38");
        assert_eq!(item.product_id().as_str(), "DRESS-LIN");
        assert_eq!(item.category().to_string(), "women/dresses");
        assert_eq!((item.size(), item.colour()), (Some("38"), Some("blue")));
        assert_eq!(item.gtin().map(Gtin::as_str), Some("4006381333931"));
        assert_eq!(item.assortment(), Assortment::OnlineOnly);
        assert!(item.sold_in(Channel::Pos).is_err());
    }

    #[test]
    fn optional_fields_may_be_absent_or_blank_and_assortment_defaults_to_both() {
        let item = CatalogItem::try_from(row(json!({
            "sku": "tee-1", "product_id": "tee", "name": "Tee", "category": ["men"], "size": "", "gtin": " "
        })))
        .unwrap();
        assert_eq!(
            (item.size(), item.colour(), item.gtin()),
            (None, None, None)
        );
        assert_eq!(item.assortment(), Assortment::Both);
    }

    #[test]
    fn every_bad_field_of_a_row_is_reported() {
        let errors = CatalogItem::try_from(row(json!({
            "sku": "a b", "product_id": "", "name": " ", "category": ["Women"],
            "size": "x".repeat(21), "gtin": "4006381333932", "assortment": "online"
        })))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "sku",
                "product_id",
                "name",
                "category",
                "size",
                "gtin",
                "assortment"
            ]
        );
        assert!(
            errors[5].reason.contains("check digit"),
            "{}",
            errors[5].reason
        );
    }

    #[test]
    fn category_paths_are_one_to_five_lowercase_slugs() {
        assert!(
            CategoryPath::parse(&["women", "dresses", "maxi-dresses", "summer-2026", "linen"])
                .is_ok()
        );
        let empty: [&str; 0] = [];
        assert_eq!(
            CategoryPath::parse(&empty),
            Err(CatalogError::CategoryDepth { max: 5 })
        );
        assert_eq!(
            CategoryPath::parse(&["a", "b", "c", "d", "e", "f"]),
            Err(CatalogError::CategoryDepth { max: 5 })
        );
        for bad in [
            "Women",
            "women ",
            "",
            "-x",
            "x-",
            "a--b",
            "ł",
            "a_b",
            "a/b",
            &"a".repeat(41),
        ] {
            assert!(
                matches!(
                    CategoryPath::parse(&[bad]),
                    Err(CatalogError::CategorySegment { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_category_covers_the_categories_below_it() {
        let underwear = CategoryPath::parse(&["underwear"]).unwrap();
        let briefs = CategoryPath::parse(&["underwear", "briefs"]).unwrap();
        let under = CategoryPath::parse(&["under"]).unwrap();
        assert!(briefs.starts_with(&underwear));
        assert!(underwear.starts_with(&underwear));
        assert!(!underwear.starts_with(&briefs));
        assert!(
            !underwear.starts_with(&under),
            "segments, not string prefixes"
        );
    }

    #[test]
    fn unknown_columns_are_refused() {
        let mut value = dress();
        value["colour_code"] = json!("BLU");
        assert!(serde_json::from_value::<CatalogItemRow>(value).is_err());
    }

    #[test]
    fn items_round_trip_through_their_wire_form() {
        let item = CatalogItem::try_from(row(dress())).unwrap();
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["sku"], "DRESS-LIN-BLU-38");
        assert_eq!(serde_json::from_value::<CatalogItem>(json).unwrap(), item);
        let mut bad = dress();
        bad["category"] = json!([]);
        let err = serde_json::from_value::<CatalogItem>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("category:"), "{err}");
    }
}

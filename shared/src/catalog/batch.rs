//! All-or-nothing batches: a feed of rows is either entirely valid or
//! refused with every problem listed by row and field.
//!
//! Why report every row rather than stop at the first? An operator fixing a
//! 1,000-row export wants one round trip, not one per typo.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;

use super::FieldError;

/// The most rows one batch may hold: large enough for a day's changes, small
/// enough that one request stays within the edge's body and time limits.
pub const MAX_BATCH_ROWS: usize = 1_000;

/// Keys that must be unique within one batch, as `(field, key)` pairs: the
/// field is where a duplicate is reported.
pub trait BatchKeys {
    fn batch_keys(&self) -> Vec<(&'static str, String)>;
}

/// One problem in one row: `row` is the 0-based index in the batch, `field`
/// the wire name (empty when the row as a whole is wrong).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "row {}: {}", self.row, self.reason)
        } else {
            write!(f, "row {}: {}: {}", self.row, self.field, self.reason)
        }
    }
}

/// Why a batch was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// More rows than [`MAX_BATCH_ROWS`]; nothing was looked at (413).
    TooManyRows { max: usize, found: usize },
    /// At least one row is invalid; every problem found is listed (422).
    InvalidRows(Vec<RowError>),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::TooManyRows { max, found } => {
                write!(
                    f,
                    "a batch holds at most {max} rows, this one has {found}; split it"
                )
            }
            BatchError::InvalidRows(errors) => {
                write!(f, "{} problem(s) in the batch", errors.len())?;
                if let Some(first) = errors.first() {
                    write!(f, ", first: {first}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BatchError {}

/// Parses every row of a batch as an `R` wire row, then into a `T`, and
/// checks `T`'s keys for duplicates within the batch. Either all rows come
/// back, in order, or every problem does.
///
/// `parse_batch::<StoreRow, Store>(rows)`, `parse_batch::<PriceRow,
/// PriceEntry>(rows)`, `parse_batch::<CatalogItemRow, CatalogItem>(rows)`.
pub fn parse_batch<R, T>(rows: Vec<serde_json::Value>) -> Result<Vec<T>, BatchError>
where
    R: DeserializeOwned,
    T: TryFrom<R, Error = Vec<FieldError>> + BatchKeys,
{
    if rows.len() > MAX_BATCH_ROWS {
        return Err(BatchError::TooManyRows {
            max: MAX_BATCH_ROWS,
            found: rows.len(),
        });
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::with_capacity(rows.len());
    let mut first_seen: HashMap<(&'static str, String), usize> = HashMap::new();
    for (index, value) in rows.iter().enumerate() {
        let row_errors = |field_errors: Vec<FieldError>| {
            field_errors.into_iter().map(move |e| RowError {
                row: index,
                field: e.field,
                reason: e.reason,
            })
        };
        // A derived struct would also accept a positional array; a feed whose
        // columns can shift silently is exactly what rows must not be.
        if !value.is_object() {
            errors.push(RowError {
                row: index,
                field: String::new(),
                reason: "a row must be a JSON object".into(),
            });
            continue;
        }
        let wire = match R::deserialize(value) {
            Ok(wire) => wire,
            Err(e) => {
                errors.extend(row_errors(shape_errors::<R>(value, &e)));
                continue;
            }
        };
        let item = match T::try_from(wire) {
            Ok(item) => item,
            Err(field_errors) => {
                errors.extend(row_errors(field_errors));
                continue;
            }
        };
        for (field, key) in item.batch_keys() {
            if let Some(first) = first_seen.get(&(field, key.clone())) {
                errors.push(RowError {
                    row: index,
                    field: field.to_owned(),
                    reason: format!("{key} already appears in row {first}"),
                });
            } else {
                first_seen.insert((field, key), index);
            }
        }
        parsed.push(item);
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(BatchError::InvalidRows(errors))
    }
}

/// Turns a serde error on one (object) row into field errors.
///
/// serde names the field of a missing or unknown key but not the object it
/// sits in, nor the field of a value of the wrong JSON type ("invalid type:
/// floating point `129.99`, expected a string"). Two probes recover that:
/// - a missing key is top-level if the error comes at the end of the row,
///   which an extra key sorting after every column reveals (the row then
///   fails on that key first);
/// - otherwise the field is found by removing each key in turn: the key
///   whose removal changes the error is the one serde stopped at.
fn shape_errors<R: DeserializeOwned>(
    value: &serde_json::Value,
    error: &serde_json::Error,
) -> Vec<FieldError> {
    let message = error.to_string();
    let Some(object) = value.as_object() else {
        return vec![FieldError::new("", "a row must be a JSON object")];
    };
    let named = backticked(&message);
    let differs = |probe: serde_json::Map<String, serde_json::Value>| match R::deserialize(
        &serde_json::Value::Object(probe),
    ) {
        Ok(_) => true,
        Err(other) => other.to_string() != message,
    };
    let missing = message.starts_with("missing field");
    if let Some(name) = named.filter(|_| missing) {
        let mut probe = object.clone();
        probe.insert(END_PROBE.to_owned(), serde_json::Value::Null);
        if differs(probe) {
            return vec![FieldError::new(name, "is required")];
        }
    }
    let culprit = object.keys().find(|key| {
        let mut without = object.clone();
        without.remove(key.as_str());
        differs(without)
    });
    let reason = if missing {
        "is required".to_owned()
    } else {
        message.clone()
    };
    match (culprit, named) {
        // A missing or unknown key inside a nested object: `address.zip`.
        (Some(parent), Some(name)) if name != parent && !message.starts_with("invalid") => {
            vec![FieldError::new(format!("{parent}.{name}"), reason)]
        }
        (Some(field), _) => vec![FieldError::new(field.as_str(), reason)],
        (None, _) => vec![FieldError::new("", message)],
    }
}

/// A key no row has and that sorts after every column name.
const END_PROBE: &str = "~end-of-row-probe";

/// The first `name` in a serde message such as "unknown field `name`, ...".
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::super::{CatalogItem, CatalogItemRow, PriceEntry, PriceRow, Store, StoreRow};
    use super::*;
    use serde_json::{Value, json};

    fn item(sku: &str) -> Value {
        json!({"sku": sku, "product_id": "tee", "name": "Tee", "category": ["men", "t-shirts"]})
    }

    fn price(sku: &str, amount: Value, currency: &str) -> Value {
        json!({"sku": sku, "amount": amount, "currency": currency})
    }

    fn invalid_rows<T: fmt::Debug>(result: Result<T, BatchError>) -> Vec<(usize, String, String)> {
        match result {
            Err(BatchError::InvalidRows(errors)) => errors
                .into_iter()
                .map(|e| (e.row, e.field, e.reason))
                .collect(),
            other => panic!("expected invalid rows, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_batch_comes_back_whole_and_in_order() {
        let rows = vec![item("tee-s"), item("tee-m"), item("tee-l")];
        let items = parse_batch::<CatalogItemRow, CatalogItem>(rows).unwrap();
        let skus: Vec<&str> = items.iter().map(|i| i.sku().as_str()).collect();
        assert_eq!(skus, ["TEE-S", "TEE-M", "TEE-L"]);
    }

    #[test]
    fn an_empty_batch_is_valid() {
        assert_eq!(parse_batch::<PriceRow, PriceEntry>(vec![]).unwrap(), vec![]);
    }

    #[test]
    fn a_batch_with_a_bad_row_reports_the_row_number_and_reason() {
        let rows = vec![item("tee-s"), item("tee m"), item("tee-l")];
        let errors = invalid_rows(parse_batch::<CatalogItemRow, CatalogItem>(rows));
        assert_eq!(errors.len(), 1);
        let (row, field, reason) = &errors[0];
        assert_eq!((*row, field.as_str()), (1, "sku"));
        assert!(reason.contains("' '"), "{reason}");
    }

    #[test]
    fn every_bad_row_is_reported_not_just_the_first() {
        let rows = vec![
            price("a", json!("10.00"), "PLN"),
            price("b", json!("10.001"), "PLN"),
            price("c", json!("10.00"), "PLN"),
            price("d", json!("-3"), "EUR"),
            price("e b", json!("1"), "ABC"),
        ];
        let errors = invalid_rows(parse_batch::<PriceRow, PriceEntry>(rows));
        let located: Vec<(usize, &str)> = errors.iter().map(|(r, f, _)| (*r, f.as_str())).collect();
        assert_eq!(
            located,
            [(1, "amount"), (3, "amount"), (4, "sku"), (4, "currency")]
        );
    }

    #[test]
    fn a_price_sent_as_a_json_number_is_reported_on_its_field() {
        let rows = vec![price("a", json!(129.99), "PLN")];
        let errors = invalid_rows(parse_batch::<PriceRow, PriceEntry>(rows));
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].0, errors[0].1.as_str()), (0, "amount"));
        assert!(errors[0].2.contains("expected a string"), "{}", errors[0].2);
    }

    #[test]
    fn missing_and_unknown_columns_are_reported_by_name() {
        let rows = vec![
            json!({"sku": "a", "amount": "1.00"}),
            json!({"sku": "a", "amount": "1.00", "currency": "PLN", "channel": "app"}),
            json!(["a", "1.00", "PLN"]),
        ];
        let errors = invalid_rows(parse_batch::<PriceRow, PriceEntry>(rows));
        assert_eq!(
            (errors[0].0, errors[0].1.as_str(), errors[0].2.as_str()),
            (0, "currency", "is required")
        );
        assert_eq!((errors[1].0, errors[1].1.as_str()), (1, "channel"));
        assert!(errors[1].2.contains("unknown field"), "{}", errors[1].2);
        assert_eq!(
            (errors[2].0, errors[2].1.as_str(), errors[2].2.as_str()),
            (2, "", "a row must be a JSON object")
        );
    }

    #[test]
    fn problems_inside_a_nested_object_name_the_path() {
        let day = ["09:00-21:00"];
        let store = json!({
            "store_id": "waw-01", "name": "Warszawa", "kind": "store",
            "address": {"street": "Marszałkowska 104", "city": "Warszawa", "postal_code": "00-017", "country": "PL"},
            "geo": {"lat": 52.23, "lon": 21.0},
            "time_zone": "Europe/Warsaw",
            "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": []},
            "pickup_sla_minutes": 120
        });
        let mut unknown = store.clone();
        unknown["address"]["zip"] = json!("00-017");
        let mut missing = store.clone();
        missing["address"].as_object_mut().unwrap().remove("city");
        let mut wrong_type = store.clone();
        wrong_type["geo"]["lat"] = json!("52.23");
        let errors = invalid_rows(parse_batch::<StoreRow, Store>(vec![
            store, unknown, missing, wrong_type,
        ]));
        let located: Vec<(usize, &str)> = errors.iter().map(|(r, f, _)| (*r, f.as_str())).collect();
        assert_eq!(
            located,
            [(1, "address.zip"), (2, "address.city"), (3, "geo")]
        );
    }

    #[test]
    fn duplicate_skus_within_a_batch_are_an_error() {
        let rows = vec![item("tee-s"), item("tee-m"), item("TEE-S")];
        let errors = invalid_rows(parse_batch::<CatalogItemRow, CatalogItem>(rows));
        assert_eq!(
            errors,
            [(2, "sku".into(), "TEE-S already appears in row 0".into())]
        );
    }

    #[test]
    fn duplicate_barcodes_within_a_batch_are_an_error() {
        let mut first = item("tee-s");
        first["gtin"] = json!("4006381333931");
        let mut second = item("tee-m");
        second["gtin"] = json!("4006381333931");
        let errors = invalid_rows(parse_batch::<CatalogItemRow, CatalogItem>(vec![
            first, second,
        ]));
        assert_eq!(
            errors,
            [(
                1,
                "gtin".into(),
                "4006381333931 already appears in row 0".into()
            )]
        );
    }

    #[test]
    fn one_price_per_sku_and_currency() {
        let rows = vec![
            price("tee", json!("10.00"), "PLN"),
            price("tee", json!("2.50"), "EUR"),
            price("tee", json!("11.00"), "PLN"),
        ];
        let errors = invalid_rows(parse_batch::<PriceRow, PriceEntry>(rows));
        assert_eq!(
            errors,
            [(
                2,
                "sku".into(),
                "TEE in PLN already appears in row 0".into()
            )]
        );
    }

    #[test]
    fn duplicate_store_ids_within_a_batch_are_an_error() {
        let day = ["09:00-21:00"];
        let store = |id: &str| {
            json!({
                "store_id": id, "name": "Store", "kind": "warehouse",
                "address": {"street": "Magazynowa 1", "city": "Stryków", "postal_code": "95-010", "country": "PL"},
                "geo": {"lat": 51.9, "lon": 19.6},
                "time_zone": "Europe/Warsaw",
                "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": [], "sun": []},
                "pickup_sla_minutes": 240, "services": ["ship_from_store"]
            })
        };
        let stores = parse_batch::<StoreRow, Store>(vec![store("dc-1"), store("dc-2")]).unwrap();
        assert_eq!(stores.len(), 2);
        let errors = invalid_rows(parse_batch::<StoreRow, Store>(vec![
            store("dc-1"),
            store("dc-2"),
            store("dc-1"),
        ]));
        assert_eq!(
            errors,
            [(2, "store_id".into(), "DC-1 already appears in row 0".into())]
        );
    }

    #[test]
    fn batches_over_a_thousand_rows_are_refused_whole() {
        let rows: Vec<Value> = (0..=MAX_BATCH_ROWS)
            .map(|i| item(&format!("sku-{i}")))
            .collect();
        assert_eq!(
            parse_batch::<CatalogItemRow, CatalogItem>(rows).unwrap_err(),
            BatchError::TooManyRows {
                max: 1_000,
                found: 1_001
            }
        );
        let rows: Vec<Value> = (0..MAX_BATCH_ROWS)
            .map(|i| item(&format!("sku-{i}")))
            .collect();
        assert_eq!(
            parse_batch::<CatalogItemRow, CatalogItem>(rows)
                .unwrap()
                .len(),
            1_000
        );
    }

    #[test]
    fn row_errors_serialize_for_the_problem_body() {
        let error = RowError {
            row: 3,
            field: "amount".into(),
            reason: "must not be negative".into(),
        };
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"row": 3, "field": "amount", "reason": "must not be negative"})
        );
        assert_eq!(error.to_string(), "row 3: amount: must not be negative");
    }
}

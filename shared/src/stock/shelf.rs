//! Reading shelves: one SKU across the stores near a point, a basket at one
//! location, a basket across every location. Reads only; every number comes
//! back as a [`StockLevel`] whose `reserved` already ignores expired holds.

use super::level::{StockLevel, effective_reserved};
use super::settings::MAX_SETTING;
use super::timestamp;
use crate::catalog::Store;
use crate::geo::{GeoPoint, Radius};
use crate::ids::{Sku, StoreId};
use crate::quantity::StockQuantity;
use crate::storage::{Row, Sql, SqlValue, StorageError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// One store near the shopper, with its shelf of the SKU asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyShelf {
    pub store: Store,
    pub distance_km: f64,
    pub level: StockLevel,
    pub low_stock_threshold: StockQuantity,
}

/// Kilometres per degree of latitude, rounded down so the bounding box is
/// never smaller than the circle it stands for.
const KM_PER_DEGREE: f64 = 110.0;

const MICRODEGREES: f64 = 1_000_000.0;

/// The stores (not warehouses: nobody collects from one) within `radius` of
/// `origin`, nearest first (ties by id), at most `limit`, each with its
/// shelf of `sku` (empty when the feeds never mentioned it there).
///
/// Why two queries? The first reads only the positions inside a bounding
/// box, however many stores a city has; the exact great-circle distance
/// then ranks them, and only the `limit` nearest have their stored row and
/// shelf read by the second. Why does the first return one concatenated
/// row (`id lat lon,id lat lon,...`) rather than a row per store? Each row
/// and value crossing the Spin SQLite interface is a separate allocation in
/// the guest: with 500 stores in range, one text value is several times
/// cheaper than 1,500 values, and ids (letters, digits, `-_.`) never hold
/// the separators. Positions travel as whole microdegrees (about 0.1 m),
/// which SQLite prints far faster than a REAL.
pub fn shelves_near(
    sql: &dyn Sql,
    sku: &Sku,
    origin: GeoPoint,
    radius: Radius,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<NearbyShelf>, StorageError> {
    let (lat_min, lat_max, lon_min, lon_max) = bounding_box(origin, radius);
    let rows = sql.execute(
        "SELECT group_concat(id || ' ' || CAST(round(lat * 1000000) AS INTEGER) || ' '
             || CAST(round(lon * 1000000) AS INTEGER), ',') AS points FROM stores
         WHERE kind = 'store' AND lat BETWEEN ?1 AND ?2 AND lon BETWEEN ?3 AND ?4",
        &[
            SqlValue::Real(lat_min),
            SqlValue::Real(lat_max),
            SqlValue::Real(lon_min),
            SqlValue::Real(lon_max),
        ],
    )?;
    let points = rows
        .first()
        .map(|row| row.opt_text("points"))
        .transpose()?
        .flatten()
        .unwrap_or_default();
    let mut near: Vec<(f64, &str)> = Vec::new();
    for point in points.split(',').filter(|p| !p.is_empty()) {
        let mut parts = point.split(' ');
        let (Some(id), Some(lat), Some(lon)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(StorageError::Decode(format!("store position {point:?}")));
        };
        let (Ok(lat), Ok(lon)) = (lat.parse::<i64>(), lon.parse::<i64>()) else {
            return Err(StorageError::Decode(format!("store position {point:?}")));
        };
        // The catalog checked every coordinate on the way in.
        let Ok(at) = GeoPoint::parse(lat as f64 / MICRODEGREES, lon as f64 / MICRODEGREES) else {
            continue;
        };
        let distance_km = origin.distance_km(&at);
        if distance_km <= radius.km() {
            near.push((distance_km, id));
        }
    }
    near.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    near.truncate(limit);
    if near.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..near.len()).map(|i| format!("?{}", i + 3)).collect();
    let statement = format!(
        "SELECT st.id, st.data, s.on_hand, {reserved} AS reserved, s.display_min, t.low_stock_threshold
         FROM stores st
         LEFT JOIN stock s ON s.store = st.id AND s.sku = ?1
         LEFT JOIN stock_settings t ON t.store = st.id
         WHERE st.id IN ({list})",
        reserved = effective_reserved("?2"),
        list = placeholders.join(", ")
    );
    let mut params: Vec<SqlValue> = vec![sku.as_str().into(), timestamp(now).into()];
    params.extend(near.iter().map(|(_, id)| SqlValue::from(*id)));
    let mut found: HashMap<String, NearbyShelf> = HashMap::with_capacity(near.len());
    for row in sql.execute(&statement, &params)?.iter() {
        let store: Store = serde_json::from_str(row.text("data")?)
            .map_err(|e| StorageError::Decode(format!("stored store: {e}")))?;
        let shelf = NearbyShelf {
            distance_km: 0.0,
            level: level_of(&row)?,
            low_stock_threshold: threshold_of(&row)?,
            store,
        };
        found.insert(row.text("id")?.to_owned(), shelf);
    }
    Ok(near
        .into_iter()
        .filter_map(|(distance_km, id)| {
            found.remove(id).map(|shelf| NearbyShelf {
                distance_km,
                ..shelf
            })
        })
        .collect())
}

/// The shelves of `skus` at one location; SKUs it holds no row for are
/// left out (their level is [`StockLevel::EMPTY`]).
pub fn levels_at(
    sql: &dyn Sql,
    store: &StoreId,
    skus: &[&Sku],
    now: DateTime<Utc>,
) -> Result<HashMap<Sku, StockLevel>, StorageError> {
    if skus.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (0..skus.len()).map(|i| format!("?{}", i + 3)).collect();
    let statement = format!(
        "SELECT s.sku, s.on_hand, {reserved} AS reserved, s.display_min FROM stock s
         WHERE s.store = ?1 AND s.sku IN ({list})",
        reserved = effective_reserved("?2"),
        list = placeholders.join(", ")
    );
    let mut params: Vec<SqlValue> = vec![store.as_str().into(), timestamp(now).into()];
    params.extend(skus.iter().map(|s| SqlValue::from(s.as_str())));
    let rows = sql.execute(&statement, &params)?;
    rows.iter()
        .map(|row| {
            Ok((
                Sku::parse(row.text("sku")?).map_err(|e| StorageError::Decode(e.to_string()))?,
                level_of(&row)?,
            ))
        })
        .collect()
}

/// One shelf ([`StockLevel::EMPTY`] when there is no row).
pub fn level_at(
    sql: &dyn Sql,
    store: &StoreId,
    sku: &Sku,
    now: DateTime<Utc>,
) -> Result<StockLevel, StorageError> {
    Ok(levels_at(sql, store, &[sku], now)?
        .remove(sku)
        .unwrap_or(StockLevel::EMPTY))
}

/// Every location's shelves of `skus`, by location: what fulfilment routing
/// chooses from. Locations holding none of them are left out.
pub fn shelves_holding(
    sql: &dyn Sql,
    skus: &[&Sku],
    now: DateTime<Utc>,
) -> Result<HashMap<StoreId, HashMap<Sku, StockLevel>>, StorageError> {
    let mut by_store: HashMap<StoreId, HashMap<Sku, StockLevel>> = HashMap::new();
    if skus.is_empty() {
        return Ok(by_store);
    }
    let placeholders: Vec<String> = (0..skus.len()).map(|i| format!("?{}", i + 2)).collect();
    let statement = format!(
        "SELECT s.store, s.sku, s.on_hand, {reserved} AS reserved, s.display_min FROM stock s
         WHERE s.sku IN ({list})",
        reserved = effective_reserved("?1"),
        list = placeholders.join(", ")
    );
    let mut params: Vec<SqlValue> = vec![timestamp(now).into()];
    params.extend(skus.iter().map(|s| SqlValue::from(s.as_str())));
    for row in sql.execute(&statement, &params)?.iter() {
        let decode = |e: crate::ids::IdError| StorageError::Decode(e.to_string());
        let store = StoreId::parse(row.text("store")?).map_err(decode)?;
        let sku = Sku::parse(row.text("sku")?).map_err(decode)?;
        by_store
            .entry(store)
            .or_default()
            .insert(sku, level_of(&row)?);
    }
    Ok(by_store)
}

/// `(lat_min, lat_max, lon_min, lon_max)` of a box holding the circle. Near
/// a pole or across the antimeridian the longitude range is left whole: the
/// exact distance check still decides, the box only saves work.
fn bounding_box(origin: GeoPoint, radius: Radius) -> (f64, f64, f64, f64) {
    let lat_delta = radius.km() / KM_PER_DEGREE;
    let lat_min = origin.lat() - lat_delta;
    let lat_max = origin.lat() + lat_delta;
    let widest = lat_min.abs().max(lat_max.abs());
    if widest >= 89.0 {
        return (lat_min, lat_max, -180.0, 180.0);
    }
    let lon_delta = radius.km() / (KM_PER_DEGREE * widest.to_radians().cos());
    let (lon_min, lon_max) = (origin.lon() - lon_delta, origin.lon() + lon_delta);
    if lon_min < -180.0 || lon_max > 180.0 {
        return (lat_min, lat_max, -180.0, 180.0);
    }
    (lat_min, lat_max, lon_min, lon_max)
}

/// The shelf of a row from a LEFT JOIN: no stock row is an empty shelf.
fn level_of(row: &Row<'_>) -> Result<StockLevel, StorageError> {
    match row.opt_integer("on_hand")? {
        None => Ok(StockLevel::EMPTY),
        Some(on_hand) => Ok(StockLevel::from_columns(
            on_hand,
            row.opt_integer("reserved")?.unwrap_or(0),
            row.opt_integer("display_min")?.unwrap_or(0),
        )),
    }
}

fn threshold_of(row: &Row<'_>) -> Result<StockQuantity, StorageError> {
    let n = row
        .opt_integer("low_stock_threshold")?
        .unwrap_or(i64::from(super::level::DEFAULT_LOW_STOCK_THRESHOLD))
        .clamp(0, i64::from(MAX_SETTING));
    Ok(StockQuantity::parse(n).unwrap_or(StockQuantity::ZERO))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::stock::test_support::{db, insert_store, store_json};
    use serde_json::json;

    fn put(sql: &dyn Sql, store: &str, sku: &str, on_hand: i64, reserved: i64, display_min: i64) {
        sql.execute(
            "INSERT INTO stock (store, sku, on_hand, reserved, display_min, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'x')",
            &[store.into(), sku.into(), on_hand.into(), reserved.into(), display_min.into()],
        )
        .unwrap();
    }

    fn warsaw() -> GeoPoint {
        GeoPoint::parse(52.2297, 21.0122).unwrap()
    }

    #[test]
    fn nearby_stores_come_nearest_first_within_the_radius_without_warehouses() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S2", "A", 5, 1, 1);
        put(&sql, "WH", "A", 500, 0, 0);
        let sku = Sku::parse("A").unwrap();
        let now = Utc::now();
        let near =
            shelves_near(&sql, &sku, warsaw(), Radius::parse(10.0).unwrap(), 20, now).unwrap();
        let ids: Vec<&str> = near.iter().map(|s| s.store.id().as_str()).collect();
        assert_eq!(ids, ["S1", "S2"]);
        assert_eq!(near[0].level, StockLevel::EMPTY, "S1 never had a row for A");
        assert_eq!(near[1].level.available_to_promise().get(), 3);
        assert!(near[0].distance_km < near[1].distance_km);
        let one = shelves_near(&sql, &sku, warsaw(), Radius::parse(10.0).unwrap(), 1, now).unwrap();
        assert_eq!(one.len(), 1);
        let tight =
            shelves_near(&sql, &sku, warsaw(), Radius::parse(1.0).unwrap(), 20, now).unwrap();
        assert_eq!(tight.len(), 1, "S2 is 2.5 km away");
    }

    #[test]
    fn the_bounding_box_never_cuts_off_a_store_inside_the_circle() {
        let db = db();
        let sql = db.connect();
        // Due east and due north of the origin, just inside 50 km.
        insert_store(
            &sql,
            &store_json("EAST", "store", 52.2297, 21.0122 + 0.73, json!({})),
        );
        insert_store(
            &sql,
            &store_json("NORTH", "store", 52.2297 + 0.449, 21.0122, json!({})),
        );
        let sku = Sku::parse("A").unwrap();
        let near = shelves_near(
            &sql,
            &sku,
            warsaw(),
            Radius::parse(50.0).unwrap(),
            50,
            Utc::now(),
        )
        .unwrap();
        for id in ["EAST", "NORTH"] {
            let shelf = near
                .iter()
                .find(|s| s.store.id().as_str() == id)
                .unwrap_or_else(|| panic!("{id} missing"));
            assert!(
                shelf.distance_km <= 50.0 && shelf.distance_km > 49.0,
                "{id} {}",
                shelf.distance_km
            );
        }
    }

    #[test]
    fn expired_holds_do_not_count_as_reserved_in_reads() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 10, 4, 1);
        sql.execute(
            "INSERT INTO reservations (id, store, customer, state, expires_at, created_by, created_at, updated_at)
             VALUES ('R1', 'S1', 'C', 'held', '2026-01-01T10:00:00.000Z', 'c', 'x', 'x'),
                    ('R2', 'S1', 'C', 'held', '2026-01-01T12:00:00.000Z', 'c', 'x', 'x')",
            &[],
        )
        .unwrap();
        sql.execute(
            "INSERT INTO reservation_lines (reservation_id, line, store, sku, quantity, held_until)
             VALUES ('R1', 0, 'S1', 'A', 3, '2026-01-01T10:00:00.000Z'),
                    ('R2', 0, 'S1', 'A', 1, '2026-01-01T12:00:00.000Z')",
            &[],
        )
        .unwrap();
        let at = |raw: &str| {
            DateTime::parse_from_rfc3339(raw)
                .unwrap()
                .with_timezone(&Utc)
        };
        let (store, sku) = (StoreId::parse("S1").unwrap(), Sku::parse("A").unwrap());
        assert_eq!(
            level_at(&sql, &store, &sku, at("2026-01-01T09:59:59Z"))
                .unwrap()
                .reserved()
                .get(),
            4
        );
        assert_eq!(
            level_at(&sql, &store, &sku, at("2026-01-01T10:00:00Z"))
                .unwrap()
                .reserved()
                .get(),
            1
        );
        assert_eq!(
            level_at(&sql, &store, &sku, at("2026-01-01T12:00:00Z"))
                .unwrap()
                .reserved()
                .get(),
            0
        );
    }

    #[test]
    fn shelves_holding_a_basket_are_grouped_by_location() {
        let db = db();
        let sql = db.connect();
        put(&sql, "S1", "A", 5, 0, 1);
        put(&sql, "S1", "B", 2, 0, 1);
        put(&sql, "WH", "A", 50, 0, 0);
        let (a, b) = (Sku::parse("A").unwrap(), Sku::parse("B").unwrap());
        let all = shelves_holding(&sql, &[&a, &b], Utc::now()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[&StoreId::parse("S1").unwrap()].len(), 2);
        assert_eq!(
            all[&StoreId::parse("WH").unwrap()][&a]
                .available_to_promise()
                .get(),
            50
        );
    }
}

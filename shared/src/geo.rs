//! Where stores and shoppers are: a checked latitude/longitude and the search
//! radius for "stores near me".
//!
//! Floats are right here (unlike money): a position is a measurement, and a
//! metre of error changes no answer. What must never get in is a NaN or an
//! out-of-range coordinate, which would make every distance comparison lie.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Why a coordinate or radius was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeoError {
    LatitudeOutOfRange { found: f64 },
    LongitudeOutOfRange { found: f64 },
    RadiusOutOfRange { found: f64 },
    NotFinite { what: &'static str },
}

impl fmt::Display for GeoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeoError::LatitudeOutOfRange { found } => {
                write!(f, "latitude {found} is outside -90..=90")
            }
            GeoError::LongitudeOutOfRange { found } => {
                write!(f, "longitude {found} is outside -180..=180")
            }
            GeoError::RadiusOutOfRange { found } => {
                write!(
                    f,
                    "radius {found} km must be above 0 and at most {} km",
                    Radius::MAX_KM
                )
            }
            GeoError::NotFinite { what } => write!(f, "{what} must be a finite number"),
        }
    }
}

impl std::error::Error for GeoError {}

/// The mean Earth radius (IUGG); the spherical model is within 0.5% of the
/// ellipsoid, plenty for ranking stores.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point on Earth in WGS 84 degrees. Serialized as `{"lat": .., "lon": ..}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    pub fn parse(lat: f64, lon: f64) -> Result<GeoPoint, GeoError> {
        if !lat.is_finite() {
            return Err(GeoError::NotFinite { what: "latitude" });
        }
        if !lon.is_finite() {
            return Err(GeoError::NotFinite { what: "longitude" });
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::LatitudeOutOfRange { found: lat });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::LongitudeOutOfRange { found: lon });
        }
        Ok(GeoPoint { lat, lon })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance by the haversine formula, which stays accurate
    /// for the short distances between a shopper and nearby stores (where
    /// the spherical law of cosines loses precision).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_phi = (other.lat - self.lat).to_radians();
        let d_lambda = (other.lon - self.lon).to_radians();
        let h =
            (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
        // Clamping guards asin against rounding just above 1 for antipodes.
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }

    /// Whether `other` lies within `radius` of this point.
    pub fn is_within(&self, other: &GeoPoint, radius: Radius) -> bool {
        self.distance_km(other) <= radius.km()
    }
}

impl<'de> Deserialize<'de> for GeoPoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            lat: f64,
            lon: f64,
        }
        let wire = Wire::deserialize(d)?;
        GeoPoint::parse(wire.lat, wire.lon).map_err(serde::de::Error::custom)
    }
}

/// A search radius in kilometres: above zero and at most
/// [`Radius::MAX_KM`], so a "near me" query can never ask for the whole
/// store network.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Radius(f64);

impl Radius {
    pub const MAX_KM: f64 = 500.0;

    pub fn parse(km: f64) -> Result<Radius, GeoError> {
        if !km.is_finite() {
            return Err(GeoError::NotFinite { what: "radius" });
        }
        if km <= 0.0 || km > Radius::MAX_KM {
            return Err(GeoError::RadiusOutOfRange { found: km });
        }
        Ok(Radius(km))
    }

    pub fn km(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Radius {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Radius::parse(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::parse(lat, lon).unwrap()
    }

    #[test]
    fn coordinates_on_the_limits_parse() {
        for (lat, lon) in [
            (90.0, 180.0),
            (-90.0, -180.0),
            (0.0, 0.0),
            (52.2297, 21.0122),
        ] {
            assert!(GeoPoint::parse(lat, lon).is_ok(), "{lat},{lon}");
        }
    }

    #[test]
    fn coordinates_out_of_range_or_not_finite_are_rejected() {
        assert_eq!(
            GeoPoint::parse(90.0001, 0.0),
            Err(GeoError::LatitudeOutOfRange { found: 90.0001 })
        );
        assert_eq!(
            GeoPoint::parse(0.0, -180.5),
            Err(GeoError::LongitudeOutOfRange { found: -180.5 })
        );
        assert_eq!(
            GeoPoint::parse(f64::NAN, 0.0),
            Err(GeoError::NotFinite { what: "latitude" })
        );
        assert_eq!(
            GeoPoint::parse(0.0, f64::INFINITY),
            Err(GeoError::NotFinite { what: "longitude" })
        );
    }

    #[test]
    fn the_distance_from_warsaw_to_krakow_is_about_252_km() {
        let warsaw = point(52.2297, 21.0122);
        let krakow = point(50.0647, 19.9450);
        let d = warsaw.distance_km(&krakow);
        assert!((d - 252.0).abs() < 2.0, "{d}");
        assert!(
            (krakow.distance_km(&warsaw) - d).abs() < 1e-9,
            "distance is symmetric"
        );
        assert_eq!(warsaw.distance_km(&warsaw), 0.0);
    }

    #[test]
    fn distances_across_the_antimeridian_and_to_the_antipode_are_right() {
        let d = point(0.0, 179.5).distance_km(&point(0.0, -179.5));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        let half_circumference = std::f64::consts::PI * EARTH_RADIUS_KM;
        let antipode = point(0.0, 0.0).distance_km(&point(0.0, 180.0));
        assert!((antipode - half_circumference).abs() < 1e-6, "{antipode}");
    }

    #[test]
    fn radius_must_be_positive_and_at_most_500_km() {
        assert_eq!(Radius::parse(500.0).map(Radius::km), Ok(500.0));
        assert_eq!(Radius::parse(0.5).map(Radius::km), Ok(0.5));
        for bad in [0.0, -1.0, 500.01] {
            assert_eq!(
                Radius::parse(bad),
                Err(GeoError::RadiusOutOfRange { found: bad })
            );
        }
        assert_eq!(
            Radius::parse(f64::NAN),
            Err(GeoError::NotFinite { what: "radius" })
        );
        let warsaw = point(52.2297, 21.0122);
        assert!(warsaw.is_within(&point(50.0647, 19.9450), Radius::parse(260.0).unwrap()));
        assert!(!warsaw.is_within(&point(50.0647, 19.9450), Radius::parse(240.0).unwrap()));
    }

    #[test]
    fn points_deserialize_only_when_valid() {
        let p: GeoPoint = serde_json::from_str(r#"{"lat":52.2,"lon":21}"#).unwrap();
        assert_eq!((p.lat(), p.lon()), (52.2, 21.0));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"lat":52.2,"lon":21.0}"#
        );
        for bad in [
            r#"{"lat":95,"lon":21}"#,
            r#"{"lat":"52","lon":21}"#,
            r#"{"lat":52,"lon":21,"alt":3}"#,
            r#"{"lat":52}"#,
        ] {
            assert!(serde_json::from_str::<GeoPoint>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Radius>("0").is_err());
        assert_eq!(serde_json::from_str::<Radius>("25").unwrap().km(), 25.0);
    }
}

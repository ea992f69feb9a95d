//! Query strings of the lookups: each parameter at most once, every one
//! known, values percent-decoded, and a bad one a 400 naming it.

use omni_shared::geo::{GeoPoint, Radius};
use omni_shared::web::Problem;
use omni_shared::web::query::form_decode;

/// The parameters of one query string, consumed by name.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Result<Query, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode(name).ok_or_else(|| {
                Problem::bad_request("a parameter name is not valid percent-encoded UTF-8")
            })?;
            let value = form_decode(value).ok_or_else(|| {
                Problem::bad_request(format!("`{name}` is not valid percent-encoded UTF-8"))
            })?;
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(Problem::bad_request(format!("`{name}` is given twice")));
            }
            pairs.push((name, value));
        }
        Ok(Query { pairs })
    }

    /// Takes the parameter out, so [`Query::finish`] can spot unknown ones.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let index = self.pairs.iter().position(|(n, _)| n == name)?;
        Some(self.pairs.remove(index).1)
    }

    pub fn required(&mut self, name: &str) -> Result<String, Problem> {
        self.take(name).ok_or_else(|| {
            Problem::bad_request(format!("the query parameter `{name}` is required"))
        })
    }

    /// A finite number; `what` names it in the error.
    pub fn number(&mut self, name: &str) -> Result<Option<f64>, Problem> {
        self.take(name)
            .map(|raw| {
                raw.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| {
                        Problem::bad_request(format!("`{name}` must be a number, not {raw:?}"))
                    })
            })
            .transpose()
    }

    /// A whole number in `range`, or `default` when absent.
    pub fn whole(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
        default: u32,
    ) -> Result<u32, Problem> {
        match self.take(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "`{name}` must be a whole number from {} to {}, not {raw:?}",
                        range.start(),
                        range.end()
                    ))
                }),
        }
    }

    /// `lat` and `lon`, both required and in range.
    pub fn point(&mut self) -> Result<GeoPoint, Problem> {
        let lat = self
            .number("lat")?
            .ok_or_else(|| Problem::bad_request("the query parameter `lat` is required"))?;
        let lon = self
            .number("lon")?
            .ok_or_else(|| Problem::bad_request("the query parameter `lon` is required"))?;
        GeoPoint::parse(lat, lon).map_err(|e| Problem::bad_request(e.to_string()))
    }

    /// `radius_km`: above 0 and at most [`Radius::MAX_KM`], or `default_km`.
    pub fn radius(&mut self, default_km: f64) -> Result<Radius, Problem> {
        let km = self.number("radius_km")?.unwrap_or(default_km);
        Radius::parse(km).map_err(|e| Problem::bad_request(e.to_string()))
    }

    /// Every parameter must have been taken: a misspelt one (`radius=5`) is
    /// refused rather than silently replaced by its default.
    pub fn finish(self, expected: &str) -> Result<(), Problem> {
        match self.pairs.first() {
            None => Ok(()),
            Some((name, _)) => Err(Problem::bad_request(format!(
                "unknown query parameter `{name}`; expected {expected}"
            ))),
        }
    }
}

//! Base prices: one per SKU and currency.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{BatchKeys, CatalogError, FieldError, Fields, joined};
use crate::ids::Sku;
use crate::money::{Currency, Money};

/// The wire form of a base price. The amount is a JSON string (`"129.99"`);
/// a JSON number is refused so no float ever rounds a price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRow {
    pub sku: String,
    pub amount: String,
    pub currency: String,
}

/// The base price of a SKU in one currency.
///
/// There is deliberately no channel field: the base price is identical on
/// the web, in the app, at the kiosk, at the till and in the call centre.
/// Any difference a shopper sees comes from an explicit, visible promotion
/// rule (an app-only coupon, a loyalty benefit), never from a second price
/// list, so a per-channel price cannot even be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceEntry {
    sku: Sku,
    price: Money,
}

impl PriceEntry {
    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn price(&self) -> Money {
        self.price
    }
}

impl TryFrom<PriceRow> for PriceEntry {
    type Error = Vec<FieldError>;

    fn try_from(row: PriceRow) -> Result<Self, Self::Error> {
        let mut fields = Fields::default();
        let sku = fields.check("sku", Sku::parse(&row.sku));
        let currency = fields.check("currency", Currency::parse(&row.currency));
        // Without a valid currency the amount's decimal places cannot be
        // judged, so the amount is checked only once the currency is known.
        let price = currency.and_then(|currency| {
            let price = Money::parse_non_negative(&row.amount, currency)
                .map_err(|e| FieldError::new("amount", e))
                .and_then(|p| {
                    if p.is_zero() {
                        Err(FieldError::new("amount", CatalogError::ZeroPrice))
                    } else {
                        Ok(p)
                    }
                });
            price.map_err(|e| fields.errors.push(e)).ok()
        });
        let (Some(sku), Some(price)) = (sku, price) else {
            return Err(fields.errors);
        };
        Ok(PriceEntry { sku, price })
    }
}

impl From<&PriceEntry> for PriceRow {
    fn from(entry: &PriceEntry) -> Self {
        PriceRow {
            sku: entry.sku.to_string(),
            amount: entry.price.amount().to_string(),
            currency: entry.price.currency().code().to_owned(),
        }
    }
}

impl BatchKeys for PriceEntry {
    /// One base price per SKU and currency.
    fn batch_keys(&self) -> Vec<(&'static str, String)> {
        vec![("sku", format!("{} in {}", self.sku, self.price.currency()))]
    }
}

impl Serialize for PriceEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PriceRow::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for PriceEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let row = PriceRow::deserialize(d)?;
        PriceEntry::try_from(row).map_err(|errors| serde::de::Error::custom(joined(&errors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn price(sku: &str, amount: &str, currency: &str) -> Result<PriceEntry, Vec<FieldError>> {
        PriceEntry::try_from(PriceRow {
            sku: sku.into(),
            amount: amount.into(),
            currency: currency.into(),
        })
    }

    #[test]
    fn a_valid_price_row_becomes_a_price_entry() {
        let entry = price("tee-1", "129.9", "PLN").unwrap();
        assert_eq!(entry.sku().as_str(), "TEE-1");
        assert_eq!(entry.price().to_string(), "129.90 PLN");
        assert_eq!(
            serde_json::to_value(&entry).unwrap(),
            json!({"sku": "TEE-1", "amount": "129.90", "currency": "PLN"})
        );
    }

    #[test]
    fn zero_negative_and_over_precise_prices_are_refused() {
        for (amount, currency, reason) in [
            ("0.00", "PLN", "above zero"),
            ("-1.00", "PLN", "negative"),
            ("100.5", "JPY", "no decimal places"),
            ("12,50", "EUR", "decimal amount"),
        ] {
            let errors = price("tee-1", amount, currency).unwrap_err();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].field, "amount");
            assert!(
                errors[0].reason.contains(reason),
                "{amount} {currency}: {}",
                errors[0].reason
            );
        }
    }

    #[test]
    fn an_unknown_currency_is_reported_on_the_currency_field() {
        let errors = price("a b", "10.00", "ZZZ").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sku", "currency"]);
    }

    #[test]
    fn a_price_row_has_no_channel_column() {
        let with_channel =
            json!({"sku": "tee-1", "amount": "10.00", "currency": "PLN", "channel": "app"});
        let err = serde_json::from_value::<PriceRow>(with_channel)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `channel`"), "{err}");
    }

    #[test]
    fn prices_as_json_numbers_are_refused() {
        let as_number = json!({"sku": "tee-1", "amount": 129.99, "currency": "PLN"});
        assert!(serde_json::from_value::<PriceEntry>(as_number).is_err());
    }
}

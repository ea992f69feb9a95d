//! The one return policy every channel reads: the window, what may not be
//! returned, the condition rules, the refund methods, whether stores take
//! returns, and its schema.org `MerchantReturnPolicy` rendering.
//!
//! Why one stored document and not per-channel settings? "Return it
//! wherever is convenient" only holds if the storefront's promise, the
//! app's eligibility check and the kiosk's intake read the same numbers;
//! the policy is one row, versioned (its ETag), edited only by ops.

use crate::catalog::{CategoryPath, CountryCode, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The window when ops never set one: 30 days, the common retail promise
/// (above the EU's 14-day statutory withdrawal period for distance sales).
pub const DEFAULT_WINDOW_DAYS: u16 = 30;
/// A year at most: longer is a warranty claim, not a return.
pub const MAX_WINDOW_DAYS: u16 = 365;
/// How long a return QR stays valid after the return is opened.
pub const DEFAULT_RETURN_CODE_DAYS: u16 = 14;
pub const MAX_RETURN_CODE_DAYS: u16 = 90;

/// How a refund is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Back to the card or wallet the order was paid with.
    OriginalPayment,
    /// A store-credit voucher.
    StoreCredit,
}

impl RefundMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundMethod::OriginalPayment => "original_payment",
            RefundMethod::StoreCredit => "store_credit",
        }
    }

    pub fn parse(raw: &str) -> Option<RefundMethod> {
        [RefundMethod::OriginalPayment, RefundMethod::StoreCredit]
            .into_iter()
            .find(|m| m.as_str() == raw)
    }

    fn schema_org(self) -> &'static str {
        match self {
            RefundMethod::OriginalPayment => "https://schema.org/FullRefund",
            RefundMethod::StoreCredit => "https://schema.org/StoreCreditRefund",
        }
    }
}

/// What happens to an item that arrives damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DamagedItems {
    /// Refunded in full (a faulty item is the retailer's problem under EU
    /// consumer law), recorded, never sold again.
    Refund,
    /// Taken back and recorded, but not refunded (damage the customer
    /// caused); the staff reject or close the case.
    NoRefund,
}

/// The return policy. Built only by [`ReturnPolicy::parse`] or
/// [`ReturnPolicy::default`], so a stored policy is always a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPolicy {
    window_days: u16,
    non_returnable: Vec<CategoryPath>,
    conditions: Vec<String>,
    damaged_items: DamagedItems,
    refund_methods: Vec<RefundMethod>,
    in_store_returns: bool,
    exchanges: bool,
    return_code_days: u16,
    countries: Vec<CountryCode>,
}

impl Default for ReturnPolicy {
    /// 30 days; underwear, swimwear and gift cards excluded for hygiene and
    /// fraud reasons; unworn with tags; both refund methods; any store.
    fn default() -> Self {
        let category = |path: &[&str]| CategoryPath::parse(path).expect("a valid default category");
        ReturnPolicy {
            window_days: DEFAULT_WINDOW_DAYS,
            non_returnable: vec![
                category(&["underwear"]),
                category(&["swimwear"]),
                category(&["gift-cards"]),
            ],
            conditions: vec![
                "Unworn and unwashed, with the original tags attached".to_owned(),
                "Faulty items are always taken back and refunded".to_owned(),
            ],
            damaged_items: DamagedItems::Refund,
            refund_methods: vec![RefundMethod::OriginalPayment, RefundMethod::StoreCredit],
            in_store_returns: true,
            exchanges: true,
            return_code_days: DEFAULT_RETURN_CODE_DAYS,
            countries: ["PL", "DE"]
                .iter()
                .map(|c| CountryCode::parse(c).expect("a valid country"))
                .collect(),
        }
    }
}

/// The policy as it travels (`PUT /api/return-policy` and the GET answer's
/// editable part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRow {
    pub window_days: i64,
    pub non_returnable_categories: Vec<Vec<String>>,
    pub conditions: Vec<String>,
    pub damaged_items: String,
    pub refund_methods: Vec<String>,
    pub in_store_returns: bool,
    pub exchanges: bool,
    pub return_code_days: i64,
    pub applicable_countries: Vec<String>,
}

impl ReturnPolicy {
    /// Checks every field and reports all that are wrong.
    pub fn parse(row: &PolicyRow) -> Result<ReturnPolicy, Vec<FieldError>> {
        let mut errors = Vec::new();
        let window_days = u16::try_from(row.window_days)
            .ok()
            .filter(|d| (1..=MAX_WINDOW_DAYS).contains(d));
        if window_days.is_none() {
            errors.push(FieldError::new(
                "window_days",
                format!("must be a whole number from 1 to {MAX_WINDOW_DAYS}"),
            ));
        }
        let return_code_days = u16::try_from(row.return_code_days)
            .ok()
            .filter(|d| (1..=MAX_RETURN_CODE_DAYS).contains(d));
        if return_code_days.is_none() {
            errors.push(FieldError::new(
                "return_code_days",
                format!("must be a whole number from 1 to {MAX_RETURN_CODE_DAYS}"),
            ));
        }
        let mut non_returnable = Vec::new();
        if row.non_returnable_categories.len() > 100 {
            errors.push(FieldError::new(
                "non_returnable_categories",
                "at most 100 categories",
            ));
        }
        for (i, path) in row.non_returnable_categories.iter().take(100).enumerate() {
            match CategoryPath::parse(path) {
                Ok(path) if !non_returnable.contains(&path) => non_returnable.push(path),
                Ok(_) => {}
                Err(e) => errors.push(FieldError::new(
                    format!("non_returnable_categories[{i}]"),
                    e,
                )),
            }
        }
        if row.conditions.len() > 20
            || row.conditions.iter().any(|c| {
                c.trim().is_empty() || c.chars().count() > 200 || c.chars().any(char::is_control)
            })
        {
            errors.push(FieldError::new(
                "conditions",
                "at most 20 rules of 1 to 200 printable characters",
            ));
        }
        let damaged_items = match row.damaged_items.as_str() {
            "refund" => Some(DamagedItems::Refund),
            "no_refund" => Some(DamagedItems::NoRefund),
            _ => {
                errors.push(FieldError::new(
                    "damaged_items",
                    "must be refund or no_refund",
                ));
                None
            }
        };
        let mut refund_methods = Vec::new();
        for (i, raw) in row.refund_methods.iter().enumerate() {
            match RefundMethod::parse(raw) {
                Some(method) if !refund_methods.contains(&method) => refund_methods.push(method),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    format!("refund_methods[{i}]"),
                    "must be original_payment or store_credit",
                )),
            }
        }
        if row.refund_methods.is_empty() {
            errors.push(FieldError::new(
                "refund_methods",
                "at least one refund method is needed",
            ));
        }
        let mut countries = Vec::new();
        for (i, raw) in row.applicable_countries.iter().take(50).enumerate() {
            match CountryCode::parse(raw) {
                Ok(country) if !countries.contains(&country) => countries.push(country),
                Ok(_) => {}
                Err(e) => errors.push(FieldError::new(format!("applicable_countries[{i}]"), e)),
            }
        }
        if row.applicable_countries.is_empty() || row.applicable_countries.len() > 50 {
            errors.push(FieldError::new(
                "applicable_countries",
                "1 to 50 ISO 3166-1 alpha-2 codes",
            ));
        }
        match (window_days, return_code_days, damaged_items) {
            (Some(window_days), Some(return_code_days), Some(damaged_items))
                if errors.is_empty() =>
            {
                Ok(ReturnPolicy {
                    window_days,
                    non_returnable,
                    conditions: row.conditions.iter().map(|c| c.trim().to_owned()).collect(),
                    damaged_items,
                    refund_methods,
                    in_store_returns: row.in_store_returns,
                    exchanges: row.exchanges,
                    return_code_days,
                    countries,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn window_days(&self) -> u16 {
        self.window_days
    }

    pub fn return_code_days(&self) -> u16 {
        self.return_code_days
    }

    pub fn damaged_items(&self) -> DamagedItems {
        self.damaged_items
    }

    pub fn in_store_returns(&self) -> bool {
        self.in_store_returns
    }

    pub fn exchanges(&self) -> bool {
        self.exchanges
    }

    pub fn offers(&self, method: RefundMethod) -> bool {
        self.refund_methods.contains(&method)
    }

    /// The excluded category covering `category`, if any: a rule on
    /// `underwear` covers `underwear/briefs`.
    pub fn excluded_by(&self, category: &CategoryPath) -> Option<&CategoryPath> {
        self.non_returnable
            .iter()
            .find(|rule| category.starts_with(rule))
    }

    /// The editable fields, as `PUT` takes them.
    pub fn to_row(&self) -> PolicyRow {
        PolicyRow {
            window_days: i64::from(self.window_days),
            non_returnable_categories: self
                .non_returnable
                .iter()
                .map(|c| c.segments().to_vec())
                .collect(),
            conditions: self.conditions.clone(),
            damaged_items: match self.damaged_items {
                DamagedItems::Refund => "refund".into(),
                DamagedItems::NoRefund => "no_refund".into(),
            },
            refund_methods: self
                .refund_methods
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            in_store_returns: self.in_store_returns,
            exchanges: self.exchanges,
            return_code_days: i64::from(self.return_code_days),
            applicable_countries: self
                .countries
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
        }
    }

    /// The policy as schema.org's `MerchantReturnPolicy` (what search
    /// engines read from the storefront's JSON-LD): the window, the methods,
    /// the refund types and free in-store returns. Excluded categories have
    /// no property there; they are listed beside it in our own document.
    pub fn schema_org(&self) -> Value {
        let mut methods = Vec::new();
        if self.in_store_returns {
            methods.push("https://schema.org/ReturnInStore");
        }
        let mut refund_types: Vec<&str> =
            self.refund_methods.iter().map(|m| m.schema_org()).collect();
        if self.exchanges {
            refund_types.push("https://schema.org/ExchangeRefund");
        }
        json!({
            "@context": "https://schema.org",
            "@type": "MerchantReturnPolicy",
            "applicableCountry": self.countries.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "returnPolicyCategory": "https://schema.org/MerchantReturnFiniteReturnWindow",
            "merchantReturnDays": self.window_days,
            "returnMethod": methods,
            "returnFees": "https://schema.org/FreeReturn",
            "refundType": refund_types,
            "itemCondition": ["https://schema.org/NewCondition"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_round_trips_through_its_wire_shape() {
        let policy = ReturnPolicy::default();
        assert_eq!(ReturnPolicy::parse(&policy.to_row()), Ok(policy));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut row = ReturnPolicy::default().to_row();
        row.window_days = 0;
        row.return_code_days = 91;
        row.non_returnable_categories = vec![vec!["Underwear".into()]];
        row.damaged_items = "sometimes".into();
        row.refund_methods = vec!["cash".into()];
        row.applicable_countries = vec![];
        let fields: Vec<String> = ReturnPolicy::parse(&row)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "window_days",
                "return_code_days",
                "non_returnable_categories[0]",
                "damaged_items",
                "refund_methods[0]",
                "applicable_countries"
            ]
        );
    }

    #[test]
    fn an_excluded_category_covers_the_categories_below_it() {
        let policy = ReturnPolicy::default();
        let briefs = CategoryPath::parse(&["underwear", "briefs"]).unwrap();
        let tees = CategoryPath::parse(&["men", "t-shirts"]).unwrap();
        assert_eq!(
            policy.excluded_by(&briefs).map(|c| c.segments().join("/")),
            Some("underwear".into())
        );
        assert_eq!(policy.excluded_by(&tees), None);
    }

    #[test]
    fn schema_org_names_the_window_methods_and_refund_types() {
        let view = ReturnPolicy::default().schema_org();
        assert_eq!(view["@type"], "MerchantReturnPolicy");
        assert_eq!(view["merchantReturnDays"], 30);
        assert_eq!(
            view["returnMethod"],
            json!(["https://schema.org/ReturnInStore"])
        );
        assert_eq!(
            view["refundType"],
            json!([
                "https://schema.org/FullRefund",
                "https://schema.org/StoreCreditRefund",
                "https://schema.org/ExchangeRefund"
            ])
        );
    }
}

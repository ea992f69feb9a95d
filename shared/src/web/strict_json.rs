//! Deserialising a parsed JSON document into a request's wire type, with
//! two promises serde_json alone does not keep:
//!
//! - **Objects only where an object is documented.** serde maps a JSON
//!   array onto a struct by position, so `["by array", "pos"]` would be
//!   taken as `{"note": "by array", "channel": "pos"}`. Here a struct accepts
//!   a JSON object and nothing else, at every depth.
//! - **Messages for people, naming the field.** An error says where
//!   (`lines[0].quantity`) and what was expected in JSON's words ("a whole
//!   number", "an object"), never a Rust type name.
//!
//! It walks a [`serde_json::Value`] the way serde_json's own `&Value`
//! deserializer does, with `deserialize_struct` refusing anything but an
//! object and every error tagged with the path where it arose.

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;
use std::fmt;

/// A shape error: where in the document, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// `lines[0].quantity`; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ShapeError {
            path: String::new(),
            message: in_json_words(&msg.to_string()),
        }
    }
}

impl ShapeError {
    /// Tags an error raised below `path` with it, unless a deeper level did.
    fn at(mut self, path: &str) -> ShapeError {
        if self.path.is_empty() {
            self.path = path.to_owned();
        }
        self
    }
}

/// Deserialises `value` into `T` (see the module docs).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ShapeError> {
    T::deserialize(Strict {
        value,
        path: String::new(),
    })
}

/// The JSON name of a value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Strict<'a> {
    value: &'a Value,
    path: String,
}

fn child(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

impl<'de> de::Deserializer<'de> for Strict<'_> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let path = self.path.clone();
        let outcome = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter(),
                index: 0,
                path: &self.path,
            }),
            Value::Object(map) => visitor.visit_map(Members {
                members: map.iter(),
                pending: None,
                path: &self.path,
            }),
        };
        outcome.map_err(|e| e.at(&path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        match self.value {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(ShapeError {
                path: self.path.clone(),
                message: format!("must be a JSON object, not {}", kind(other)),
            }),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        let path = self.path.clone();
        match self.value {
            Value::String(s) => {
                let variant: StrDeserializer<'_, ShapeError> = s.as_str().into_deserializer();
                visitor.visit_enum(variant).map_err(|e| e.at(&path))
            }
            other => Err(ShapeError {
                path,
                message: format!(
                    "must be one of the documented names (a string), not {}",
                    kind(other)
                ),
            }),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

struct Items<'a, 'p> {
    items: std::slice::Iter<'a, Value>,
    index: usize,
    path: &'p str,
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.index);
        self.index += 1;
        seed.deserialize(Strict {
            value,
            path: path.clone(),
        })
        .map(Some)
        .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Members<'a, 'p> {
    members: serde_json::map::Iter<'a>,
    pending: Option<(&'a String, &'a Value)>,
    path: &'p str,
}

impl<'de> MapAccess<'de> for Members<'_, '_> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        let Some((key, value)) = self.members.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        let key_de: StrDeserializer<'_, ShapeError> = key.as_str().into_deserializer();
        seed.deserialize(key_de)
            .map(Some)
            .map_err(|e| e.at(self.path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ShapeError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        let path = child(self.path, key);
        seed.deserialize(Strict {
            value,
            path: path.clone(),
        })
        .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// Rewrites serde's wording of an expectation in JSON's words: no Rust type
/// name reaches a client.
fn in_json_words(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected u8", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u128", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected i8", "expected a whole number"),
        ("expected i16", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected i128", "expected a whole number"),
        ("expected isize", "expected a whole number"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
        ("expected unit", "expected null"),
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: unit value", "invalid type: null"),
        ("invalid type: floating point", "invalid type: number"),
        ("invalid type: integer", "invalid type: number"),
    ];
    let mut text = message.to_owned();
    for (from, to) in WORDS {
        // Whole words only: `expected u32` but not `expected u32x`.
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(from) {
            let end = at + from.len();
            let boundary = rest[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            out.push_str(&rest[..at]);
            out.push_str(if boundary { to } else { from });
            rest = &rest[end..];
        }
        out.push_str(rest);
        text = out;
    }
    // `expected struct Name`, `expected tuple struct Name`, `expected
    // newtype struct Name`, `expected enum Name`, optionally `with N elements`.
    for (kind, words) in [
        ("expected tuple struct ", "expected an array"),
        ("expected newtype struct ", "expected a value"),
        ("expected struct ", "expected an object"),
        ("expected struct variant ", "expected an object"),
        ("expected enum ", "expected one of the documented names"),
    ] {
        while let Some(at) = text.find(kind) {
            let after = &text[at + kind.len()..];
            let mut end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(after.len());
            if let Some(tail) = after[end..].strip_prefix(" with ") {
                let digits = tail
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(tail.len());
                for suffix in [" elements", " element"] {
                    if tail[digits..].starts_with(suffix) {
                        end += " with ".len() + digits + suffix.len();
                        break;
                    }
                }
            }
            text = format!("{}{}{}", &text[..at], words, &after[end..]);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Basket {
        store_id: String,
        lines: Vec<Line>,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        channel: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Web,
        Pos,
    }

    fn refused(value: Value) -> ShapeError {
        from_value::<Basket>(&value).expect_err("refused")
    }

    #[test]
    fn a_well_formed_object_is_read_as_serde_json_would() {
        let value = json!({"store_id": "WAW-01", "lines": [{"sku": "A", "quantity": 2}], "note": null, "channel": "pos"});
        let basket: Basket = from_value(&value).unwrap();
        assert_eq!(basket, serde_json::from_value::<Basket>(value).unwrap());
    }

    #[test]
    fn an_array_a_scalar_or_null_where_an_object_is_documented_is_refused_at_every_depth() {
        for (value, path) in [
            (json!(["WAW-01", [["A", 1]]]), ""),
            (json!("WAW-01"), ""),
            (json!(null), ""),
            (json!(7), ""),
            (
                json!({"store_id": "WAW-01", "lines": [["A", 1]]}),
                "lines[0]",
            ),
        ] {
            let error = refused(value.clone());
            assert_eq!(error.path, path, "{value}");
            assert!(
                error.message.starts_with("must be a JSON object, not "),
                "{value}: {error}"
            );
        }
    }

    #[test]
    fn messages_name_the_field_in_json_words_and_never_a_rust_type() {
        let cases = [
            (
                json!({"store_id": "W", "lines": [{"sku": "A", "quantity": "two"}]}),
                "lines[0].quantity",
                "a whole number",
            ),
            (
                json!({"store_id": "W", "lines": [{"sku": "A", "quantity": 1.5}]}),
                "lines[0].quantity",
                "a whole number",
            ),
            (
                json!({"store_id": "W", "lines": {"sku": "A"}}),
                "lines",
                "an array",
            ),
            (
                json!({"store_id": "W", "lines": [], "channel": "kiosk"}),
                "channel",
                "unknown variant",
            ),
            (
                json!({"store_id": "W", "lines": [], "channel": ["web"]}),
                "channel",
                "documented names",
            ),
            (json!({"store_id": 5, "lines": []}), "store_id", "a string"),
            (
                json!({"store_id": "W", "lines": [], "extra": 1}),
                "",
                "unknown field `extra`",
            ),
            (json!({"lines": []}), "", "missing field `store_id`"),
        ];
        for (value, path, words) in cases {
            let error = refused(value.clone());
            assert_eq!(error.path, path, "{value}: {error}");
            assert!(error.message.contains(words), "{value}: {error}");
            for rust in ["u32", "struct", "Basket", "Line", "sequence", "Kind"] {
                assert!(
                    !error.message.contains(rust),
                    "{value}: {error} leaks {rust}"
                );
            }
        }
    }

    #[test]
    fn serde_wording_is_rewritten_whole_words_only() {
        assert_eq!(
            in_json_words("invalid type: sequence, expected struct BasketBody with 2 elements"),
            "invalid type: array, expected an object"
        );
        assert_eq!(
            in_json_words("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `-1`, expected a whole number"
        );
        assert_eq!(in_json_words("expected u32x"), "expected u32x");
    }
}

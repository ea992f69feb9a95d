//! Spin variables: application variables (`[variables]`, values from
//! `SPIN_VARIABLE_<NAME>` or the default) and the component variables built
//! from them with `{{ name }}` templates, which is all a component can read.
//!
//! Values are resolved once at start-up, not per `get`: Spin's environment
//! provider reads the same process environment, which cannot change under a
//! running host, and resolving early is what lets a missing required variable
//! stop the host before it serves anything.

use std::collections::BTreeMap;

/// The prefix of the environment variables that set application variables.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// The environment variable that sets application variable `name`.
pub fn env_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// Whether `name` is a valid Spin variable name: lowercase ASCII letters,
/// digits and underscores, starting with a letter.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A component variable's value as written: text with `{{ name }}` holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable(String),
}

/// Why a template cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without its `}}`.
    #[error("unterminated `{{{{` in template")]
    Unterminated,
    /// The text between `{{` and `}}` is not a variable name.
    #[error(
        "`{0}` is not a valid variable name (lowercase letters, digits and `_`, starting with a letter)"
    )]
    InvalidReference(String),
}

impl Template {
    /// Parses a template such as `"{{ region }}.db.example.com"`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or(TemplateError::Unterminated)?;
            let name = after[..close].trim();
            if !is_valid_name(name) {
                return Err(TemplateError::InvalidReference(name.to_owned()));
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The application variables this template refers to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Fills the holes; `None` if a referenced variable has no value.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Variable(v) => out.push_str(values.get(v)?),
            }
        }
        Some(out)
    }
}

/// The resolved variables one component may read through
/// `fermyon:spin/variables`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentVariables {
    values: BTreeMap<String, String>,
}

/// What `fermyon:spin/variables.get` reports, as Spin reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The name is not a valid variable name.
    #[error("invalid variable name {0:?}")]
    InvalidName(String),
    /// The component declares no such variable.
    #[error("no variable for {0:?}")]
    Undefined(String),
}

impl ComponentVariables {
    /// Wraps already-rendered values.
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self { values }
    }

    /// Looks a variable up by the name the component uses.
    pub fn get(&self, name: &str) -> Result<&str, LookupError> {
        if !is_valid_name(name) {
            return Err(LookupError::InvalidName(name.to_owned()));
        }
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| LookupError::Undefined(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_mix_text_and_references() {
        let t = Template::parse("https://{{ region }}.db.{{domain}}/x").unwrap();
        assert_eq!(t.references().collect::<Vec<_>>(), ["region", "domain"]);
        let values = BTreeMap::from([
            ("region".to_owned(), "eu".to_owned()),
            ("domain".to_owned(), "example.com".to_owned()),
        ]);
        assert_eq!(t.render(&values).unwrap(), "https://eu.db.example.com/x");
    }

    #[test]
    fn rendering_with_a_missing_value_fails() {
        let t = Template::parse("{{ a }}").unwrap();
        assert_eq!(t.render(&BTreeMap::new()), None);
    }

    #[test]
    fn plain_text_is_a_template_without_references() {
        let t = Template::parse("fixed").unwrap();
        assert_eq!(t.references().count(), 0);
        assert_eq!(t.render(&BTreeMap::new()).unwrap(), "fixed");
    }

    #[test]
    fn malformed_templates_are_rejected() {
        assert_eq!(Template::parse("{{ a "), Err(TemplateError::Unterminated));
        assert_eq!(
            Template::parse("{{ Upper }}"),
            Err(TemplateError::InvalidReference("Upper".into()))
        );
        assert_eq!(
            Template::parse("{{}}"),
            Err(TemplateError::InvalidReference(String::new()))
        );
    }

    #[test]
    fn variable_names_follow_spin_rules() {
        assert!(is_valid_name("token_secret2"));
        assert!(!is_valid_name("2fast"));
        assert!(!is_valid_name("has-dash"));
        assert!(!is_valid_name("Upper"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn the_environment_name_is_the_uppercase_name_with_the_spin_prefix() {
        assert_eq!(env_name("token_secret"), "SPIN_VARIABLE_TOKEN_SECRET");
    }

    #[test]
    fn lookups_distinguish_invalid_and_undefined_names() {
        let vars = ComponentVariables::new(BTreeMap::from([("a".to_owned(), "1".to_owned())]));
        assert_eq!(vars.get("a"), Ok("1"));
        assert_eq!(vars.get("b"), Err(LookupError::Undefined("b".into())));
        assert_eq!(vars.get("B!"), Err(LookupError::InvalidName("B!".into())));
    }
}

//! Conformance of every answer to the OpenAPI documents.
//!
//! Each component documents its routes in `components/<name>/openapi.yaml`
//! (a component deploys alone, so its contract travels with it). Every reply
//! a black-box test receives from a documented path is checked here: the
//! operation must be documented, the status must be listed (or covered by
//! `default`), and a JSON body must validate against the schema. A test
//! therefore fails on any drift between the code and the documents, not only
//! on the assertions it spells out.

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// The component documents, read once per test process.
pub struct Specs {
    docs: Vec<Doc>,
    validators: Mutex<HashMap<(usize, String), Arc<jsonschema::Validator>>>,
}

struct Doc {
    component: String,
    root: Value,
}

pub const COMPONENTS: &[&str] = &[
    "catalog",
    "cart-sync",
    "coupons",
    "availability",
    "pickups",
    "returns",
    "kiosk",
    "insights",
];

pub fn specs() -> &'static Specs {
    static SPECS: OnceLock<Specs> = OnceLock::new();
    SPECS.get_or_init(|| Specs::load(&crate::workspace_root()))
}

impl Specs {
    fn load(root: &Path) -> Specs {
        let docs = COMPONENTS
            .iter()
            .filter_map(|component| {
                let path = root.join("components").join(component).join("openapi.yaml");
                let text = std::fs::read_to_string(&path).ok()?;
                let root: Value = serde_norway::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
                Some(Doc {
                    component: (*component).to_owned(),
                    root,
                })
            })
            .collect();
        Specs {
            docs,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `component`'s document has an operation for `method` at the
    /// path template `pattern` (`/api/carts/{id}`; parameter names may differ).
    pub fn documents(&self, component: &str, method: &str, pattern: &str) -> bool {
        self.docs
            .iter()
            .filter(|d| d.component == component)
            .any(|doc| {
                doc.paths().any(|(template, item)| {
                    same_template(template, pattern)
                        && item.get(&method.to_ascii_lowercase()).is_some()
                })
            })
    }

    /// Every documented `(method, path template)` of `component`.
    pub fn operations(&self, component: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for doc in self.docs.iter().filter(|d| d.component == component) {
            for (template, item) in doc.paths() {
                for method in ["get", "put", "post", "delete", "patch"] {
                    if item.get(method).is_some() {
                        out.push((method.to_ascii_uppercase(), template.to_owned()));
                    }
                }
            }
        }
        out
    }

    pub fn has_document(&self, component: &str) -> bool {
        self.docs.iter().any(|d| d.component == component)
    }

    /// Checks one reply; panics with the reason when it does not conform.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let path = path.split('?').next().unwrap_or(path);
        // The most literal template wins (`/carts/me` over `/carts/{id}`),
        // as the components' routers and Spin's own routing prefer.
        let Some((index, template, item)) = self
            .docs
            .iter()
            .enumerate()
            .flat_map(|(i, doc)| doc.paths().map(move |(t, item)| (i, t, item)))
            .filter(|(_, template, _)| matches_path(template, path))
            .min_by_key(|(_, template, _)| {
                segments(template)
                    .iter()
                    .filter(|s| is_parameter(s))
                    .count()
            })
            .map(|(i, t, item)| (i, t.to_owned(), item))
        else {
            return; // not an app route (the host's own, or no route at all)
        };
        let doc = &self.docs[index];
        let method_lower = method.to_ascii_lowercase();
        let operation = match item.get(&method_lower) {
            Some(operation) => operation,
            // HEAD falls back to GET; OPTIONS is CORS; 405 is the generic
            // answer to a method the path does not support.
            None if method_lower == "head" || method_lower == "options" || status == 405 => return,
            None => panic!(
                "OpenAPI ({}): {method} {template} is served but not documented",
                doc.component
            ),
        };
        let responses = &operation["responses"];
        let (key, response) = match responses.get(status.to_string()) {
            Some(r) => (status.to_string(), r),
            None => match responses.get("default") {
                Some(r) => ("default".to_owned(), r),
                None => panic!(
                    "OpenAPI ({}): {method} {template} answered {status}, which is not documented",
                    doc.component
                ),
            },
        };
        let (response, pointer) = doc.resolve_response(
            response,
            &format!(
                "/paths/{}/{method_lower}/responses/{key}",
                escape(&template)
            ),
        );
        let Some(content) = response.get("content") else {
            assert!(
                body.is_empty() || status == 204,
                "OpenAPI ({}): {method} {template} {status} documents no body but got one",
                doc.component
            );
            return;
        };
        let media = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some(media_object) = content.get(&media) else {
            panic!(
                "OpenAPI ({}): {method} {template} {status} answered {media:?}, documented: {:?}",
                doc.component,
                content.as_object().map(|o| o.keys().collect::<Vec<_>>())
            );
        };
        if !media.ends_with("json") || media_object.get("schema").is_none() {
            return;
        }
        let schema_pointer = format!("{pointer}/content/{}/schema", escape(&media));
        let validator = self.validator(index, &schema_pointer);
        let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "OpenAPI ({}): {method} {path} {status}: body is not JSON: {e}",
                doc.component
            )
        });
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "OpenAPI ({}): {method} {path} {status} does not match {schema_pointer}:\n  {}\nbody: {instance}",
            doc.component,
            errors.join("\n  ")
        );
    }

    /// Checks a JSON document against the schema at `pointer` (a JSON
    /// pointer into `component`'s document, e.g. the request body of one of
    /// its `webhooks`); panics with the reasons when it does not conform.
    pub fn check_schema(&self, component: &str, pointer: &str, instance: &Value) {
        let index = self
            .docs
            .iter()
            .position(|d| d.component == component)
            .unwrap_or_else(|| panic!("no document for {component}"));
        let validator = self.validator(index, pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "OpenAPI ({component}): {instance} does not match {pointer}:\n  {}",
            errors.join("\n  ")
        );
    }

    /// A validator whose root is the whole document, so `#/components/...`
    /// references resolve, with `$ref` pointing at the schema to apply.
    fn validator(&self, index: usize, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().expect("validator cache");
        cache
            .entry((index, pointer.to_owned()))
            .or_insert_with(|| {
                let mut root = self.docs[index].root.clone();
                // A JSON pointer in a URI fragment: braces of path templates
                // must be percent-encoded to form a valid URI reference.
                let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
                root["$ref"] = Value::String(format!("#{fragment}"));
                root["$schema"] =
                    Value::String("https://json-schema.org/draft/2020-12/schema".into());
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&root)
                    .unwrap_or_else(|e| {
                        panic!(
                            "OpenAPI ({}): schema at {pointer} does not compile: {e}",
                            self.docs[index].component
                        )
                    });
                Arc::new(validator)
            })
            .clone()
    }
}

impl Doc {
    fn paths(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Follows a response-level `$ref` (an OpenAPI reference, not a schema
    /// one), returning the response object and its JSON pointer.
    fn resolve_response<'a>(&'a self, response: &'a Value, pointer: &str) -> (&'a Value, String) {
        match response.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let target = reference.trim_start_matches('#');
                let resolved = self.root.pointer(target).unwrap_or_else(|| {
                    panic!("OpenAPI ({}): dangling $ref {reference}", self.component)
                });
                (resolved, target.to_owned())
            }
            None => (response, pointer.to_owned()),
        }
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_end_matches('/').split('/').collect()
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// Whether a concrete path matches a template: literal segments equal,
/// parameters non-empty.
fn matches_path(template: &str, path: &str) -> bool {
    let (t, p) = (segments(template), segments(path));
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if is_parameter(t) {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

fn same_template(a: &str, b: &str) -> bool {
    let (a, b) = (segments(a), segments(b));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(a, b)| (is_parameter(a) && is_parameter(b)) || a == b)
}

//! Reading `spin.toml` (manifest version 2) into a checked [`App`]: routes,
//! components, their stores, databases, outbound hosts and variables.
//!
//! The manifest stays the single source of truth: edge-host reads the same
//! file `spin up` reads and refuses, before serving, what `spin up` would
//! refuse (an unknown component in a trigger, a missing source file, a store
//! label no runtime config defines, a required variable without a value, a
//! template naming an unknown variable). Each error names the key that is
//! wrong, e.g. `component "cart-sync": key_value_stores: unknown label "x"`.
//! Keys Spin accepts but this host cannot honour (file mounts, AI models,
//! component dependencies, remote sources) are refused too, so nothing in the
//! manifest is silently ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::outbound::{OutboundHostError, OutboundPolicy};
use crate::routes::{RouteError, RoutePattern};
use crate::variables::{self, ComponentVariables, Template, TemplateError};

/// The only store and database label that exists without a runtime config
/// file, in Spin as here.
pub const DEFAULT_LABEL: &str = "default";

/// A checked application, ready to load.
#[derive(Debug, Clone)]
pub struct App {
    /// `[application] name`.
    pub name: String,
    /// `[application] version`, if given.
    pub version: Option<String>,
    /// The directory holding the manifest; sources are relative to it.
    pub dir: PathBuf,
    /// Components in id order.
    pub components: Vec<ComponentConfig>,
    /// `[[trigger.http]]` entries in manifest order (private routes left out).
    pub routes: Vec<(RoutePattern, String)>,
    /// `[application.tool.edge-host] schedule`: the routes this host calls
    /// on a timer (Spin keeps `tool` tables for tools and ignores them).
    pub schedule: Vec<ScheduledCall>,
    /// The application variables, resolved (the scheduler signs its ops
    /// token with the JWT settings the components verify with).
    pub variables: BTreeMap<String, String>,
}

/// One entry of the schedule: `POST route` every `every_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledCall {
    pub route: String,
    pub every_seconds: u64,
}

/// `[application.tool.edge-host]`: only `schedule`, unknown keys refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEdgeHostTool {
    #[serde(default)]
    schedule: Vec<ScheduledCall>,
}

/// One `[component.<id>]` table, checked and with variables resolved.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    /// The component id (the table name).
    pub id: String,
    /// Absolute path of the `.wasm` file.
    pub source: PathBuf,
    /// Key-value store labels the component may open.
    pub key_value_stores: BTreeSet<String>,
    /// SQLite database labels the component may open.
    pub sqlite_databases: BTreeSet<String>,
    /// Where outbound HTTP may go.
    pub allowed_outbound_hosts: OutboundPolicy,
    /// Component variables with their rendered values.
    pub variables: ComponentVariables,
    /// `environment`: WASI environment variables of the component.
    pub environment: BTreeMap<String, String>,
}

/// A manifest the host refuses to run, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read manifest {path}: {source}")]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has a key Spin does not know (the TOML
    /// error names the key and the line).
    #[error("{path}: {source}")]
    Syntax {
        /// The manifest path.
        path: PathBuf,
        /// The parser's error.
        source: Box<toml::de::Error>,
    },
    /// Only manifest version 2 (Spin 2 and later) is understood.
    #[error("spin_manifest_version: expected 2, found {0}")]
    Version(String),
    /// A problem with an `[application]` key.
    #[error("application: {key}: {problem}")]
    Application {
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// A problem with a `[component.<id>]` key.
    #[error("component \"{component}\": {key}: {problem}")]
    Component {
        /// The component id.
        component: String,
        /// The key, possibly dotted (`variables.api_url`).
        key: String,
        /// What is wrong.
        problem: Problem,
    },
    /// A problem with one `[[trigger.http]]` entry.
    #[error("trigger.http[{index}]: {key}: {problem}")]
    Trigger {
        /// Zero-based position in the manifest.
        index: usize,
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// A trigger type other than `http`.
    #[error("trigger.{0}: only HTTP triggers are supported by edge-host")]
    TriggerType(String),
    /// A problem with an application variable.
    #[error("variables.{name}: {problem}")]
    Variable {
        /// The variable name.
        name: String,
        /// What is wrong.
        problem: Problem,
    },
}

/// What is wrong with one key.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The value has the wrong shape (the TOML error explains).
    #[error("{0}")]
    Shape(Box<toml::de::Error>),
    /// A store or database label no runtime config defines.
    #[error("unknown label {0:?}")]
    UnknownLabel(String),
    /// A trigger names a component that does not exist.
    #[error("unknown component {0:?}")]
    UnknownComponent(String),
    /// A source file that does not exist.
    #[error("file not found: {0}")]
    FileNotFound(PathBuf),
    /// A malformed route.
    #[error("invalid route {0:?}: {1}")]
    Route(String, RouteError),
    /// A malformed `allowed_outbound_hosts` entry.
    #[error("{0}")]
    OutboundHost(OutboundHostError),
    /// A template refers to an application variable that is not declared.
    #[error("unknown application variable {0:?}")]
    UnknownVariable(String),
    /// A malformed template.
    #[error("{0}")]
    Template(TemplateError),
    /// A required variable with no value in the environment.
    #[error("required variable has no value (set {0})")]
    MissingValue(String),
    /// A schedule entry that is not a path called at least every second.
    #[error(
        "schedule entry {0:?}: the route must be a path (\"/api/...\") and every_seconds at least 1"
    )]
    Schedule(String),
    /// Both `default` and `required = true`.
    #[error("a variable cannot have both a default and `required = true`")]
    DefaultAndRequired,
    /// Neither `default` nor `required = true`.
    #[error("a variable needs either a default or `required = true`")]
    NoDefaultNotRequired,
    /// A variable name Spin would refuse.
    #[error(
        "invalid variable name {0:?} (lowercase letters, digits and `_`, starting with a letter)"
    )]
    InvalidName(String),
    /// A key Spin accepts that edge-host cannot honour.
    #[error("{0} is not supported by edge-host")]
    Unsupported(&'static str),
    /// A required key is missing or empty.
    #[error("is required")]
    Missing,
}

/// Reads and checks a manifest; `env` looks up environment variables (the
/// process environment in production, a map in tests).
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<App, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.to_owned(),
        source,
    })?;
    let dir = path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    parse(&text, path, &dir, env)
}

/// Checks manifest text whose sources are relative to `dir`.
pub fn parse(
    text: &str,
    path: &Path,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<App, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Syntax {
        path: path.to_owned(),
        source: Box::new(e),
    })?;
    match &raw.spin_manifest_version {
        toml::Value::Integer(2) => {}
        toml::Value::String(s) if s == "2" => {}
        other => return Err(ManifestError::Version(other.to_string())),
    }
    if raw.application.name.trim().is_empty() {
        return Err(ManifestError::Application {
            key: "name",
            problem: Problem::Missing,
        });
    }

    let app_values = resolve_application_variables(&raw.variables, env)?;
    let schedule = schedule(raw.application.tool.as_ref())?;

    let mut components = Vec::new();
    for (id, rc) in &raw.component {
        components.push(check_component(id, rc, dir, &raw.variables, &app_values)?);
    }

    let mut routes = Vec::new();
    for (kind, value) in &raw.trigger {
        if kind != "http" {
            return Err(ManifestError::TriggerType(kind.clone()));
        }
        let triggers: Vec<RawHttpTrigger> =
            value
                .clone()
                .try_into()
                .map_err(|e| ManifestError::Trigger {
                    index: 0,
                    key: "http",
                    problem: Problem::Shape(Box::new(e)),
                })?;
        for (index, t) in triggers.into_iter().enumerate() {
            let err = |key, problem| ManifestError::Trigger {
                index,
                key,
                problem,
            };
            if t.executor.is_some_and(|e| !e.is_spin()) {
                return Err(err("executor", Problem::Unsupported("the Wagi executor")));
            }
            if t.static_response.is_some() {
                return Err(err(
                    "static_response",
                    Problem::Unsupported("static_response"),
                ));
            }
            let component = match t.component {
                Some(toml::Value::String(c)) => c,
                Some(_) => {
                    return Err(err(
                        "component",
                        Problem::Unsupported("an inline component"),
                    ));
                }
                None => return Err(err("component", Problem::Missing)),
            };
            if !raw.component.contains_key(&component) {
                return Err(err("component", Problem::UnknownComponent(component)));
            }
            match t.route {
                RawRoute::Path(route) => {
                    let pattern = RoutePattern::parse(&route)
                        .map_err(|e| err("route", Problem::Route(route.clone(), e)))?;
                    routes.push((pattern, component));
                }
                // A private component is reachable only by service chaining,
                // which edge-host does not do: it simply gets no route.
                RawRoute::Private { private: true } => {}
                RawRoute::Private { private: false } => {
                    return Err(err("route", Problem::Unsupported("`{ private = false }`")));
                }
            }
        }
    }

    Ok(App {
        name: raw.application.name.clone(),
        version: raw.application.version.clone(),
        dir: dir.to_owned(),
        components,
        routes,
        schedule,
        variables: app_values,
    })
}

/// The edge host's schedule from `[application.tool.edge-host]`, checked:
/// each route a path, each interval at least a second.
fn schedule(tool: Option<&toml::Value>) -> Result<Vec<ScheduledCall>, ManifestError> {
    let err = |problem| ManifestError::Application {
        key: "tool.edge-host",
        problem,
    };
    let Some(ours) = tool.and_then(|t| t.get("edge-host")) else {
        return Ok(Vec::new());
    };
    let parsed: RawEdgeHostTool = ours
        .clone()
        .try_into()
        .map_err(|e| err(Problem::Shape(Box::new(e))))?;
    for call in &parsed.schedule {
        if !call.route.starts_with('/') || call.every_seconds == 0 {
            return Err(err(Problem::Schedule(call.route.clone())));
        }
    }
    Ok(parsed.schedule)
}

fn resolve_application_variables(
    declared: &BTreeMap<String, RawVariable>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ManifestError> {
    let mut values = BTreeMap::new();
    for (name, v) in declared {
        let err = |problem| ManifestError::Variable {
            name: name.clone(),
            problem,
        };
        if !variables::is_valid_name(name) {
            return Err(err(Problem::InvalidName(name.clone())));
        }
        match (&v.default, v.required) {
            (Some(_), true) => return Err(err(Problem::DefaultAndRequired)),
            (None, false) => return Err(err(Problem::NoDefaultNotRequired)),
            _ => {}
        }
        let value = env(&variables::env_name(name)).or_else(|| v.default.clone());
        match value {
            Some(value) => {
                values.insert(name.clone(), value);
            }
            None => return Err(err(Problem::MissingValue(variables::env_name(name)))),
        }
    }
    Ok(values)
}

fn check_component(
    id: &str,
    rc: &RawComponent,
    dir: &Path,
    declared: &BTreeMap<String, RawVariable>,
    app_values: &BTreeMap<String, String>,
) -> Result<ComponentConfig, ManifestError> {
    let err = |key: &str, problem| ManifestError::Component {
        component: id.to_owned(),
        key: key.to_owned(),
        problem,
    };
    let source = match &rc.source {
        toml::Value::String(s) => dir.join(s),
        toml::Value::Table(_) => {
            return Err(err(
                "source",
                Problem::Unsupported("a remote (url/digest) source"),
            ));
        }
        _ => return Err(err("source", Problem::Missing)),
    };
    if !source.is_file() {
        return Err(err("source", Problem::FileNotFound(source)));
    }
    for (key, present) in [
        ("files", !rc.files.is_empty()),
        ("ai_models", !rc.ai_models.is_empty()),
        (
            "dependencies",
            rc.dependencies.as_ref().is_some_and(|d| !is_empty_table(d)),
        ),
        ("allowed_http_hosts", !rc.allowed_http_hosts.is_empty()),
    ] {
        if present {
            let what = match key {
                "files" => "mounting files",
                "ai_models" => "AI inferencing",
                "dependencies" => "component dependencies",
                _ => "the pre-v2 allowed_http_hosts (use allowed_outbound_hosts)",
            };
            return Err(err(key, Problem::Unsupported(what)));
        }
    }
    for (key, labels) in [
        ("key_value_stores", &rc.key_value_stores),
        ("sqlite_databases", &rc.sqlite_databases),
    ] {
        if let Some(label) = labels.iter().find(|l| l.as_str() != DEFAULT_LABEL) {
            return Err(err(key, Problem::UnknownLabel(label.clone())));
        }
    }
    // Entries may name application variables, as in Spin
    // (`"{{ notification_gateway_origin }}"`); an empty rendering allows
    // nothing.
    let mut rendered_hosts = Vec::with_capacity(rc.allowed_outbound_hosts.len());
    for text in &rc.allowed_outbound_hosts {
        let key = "allowed_outbound_hosts";
        let template = Template::parse(text).map_err(|e| err(key, Problem::Template(e)))?;
        if let Some(unknown) = template.references().find(|r| !declared.contains_key(*r)) {
            return Err(err(key, Problem::UnknownVariable(unknown.to_owned())));
        }
        let host = template
            .render(app_values)
            .expect("every declared variable has a value once resolution succeeded");
        if !host.trim().is_empty() {
            rendered_hosts.push(host);
        }
    }
    let allowed_outbound_hosts = OutboundPolicy::parse(&rendered_hosts)
        .map_err(|e| err("allowed_outbound_hosts", Problem::OutboundHost(e)))?;

    let mut values = BTreeMap::new();
    for (name, text) in &rc.variables {
        let key = format!("variables.{name}");
        if !variables::is_valid_name(name) {
            return Err(err(&key, Problem::InvalidName(name.clone())));
        }
        let template = Template::parse(text).map_err(|e| err(&key, Problem::Template(e)))?;
        if let Some(unknown) = template.references().find(|r| !declared.contains_key(*r)) {
            return Err(err(&key, Problem::UnknownVariable(unknown.to_owned())));
        }
        let value = template
            .render(app_values)
            .expect("every declared variable has a value once resolution succeeded");
        values.insert(name.clone(), value);
    }

    Ok(ComponentConfig {
        id: id.to_owned(),
        source,
        key_value_stores: rc.key_value_stores.iter().cloned().collect(),
        sqlite_databases: rc.sqlite_databases.iter().cloned().collect(),
        allowed_outbound_hosts,
        variables: ComponentVariables::new(values),
        environment: rc.environment.clone(),
    })
}

fn is_empty_table(v: &toml::Value) -> bool {
    v.as_table().is_some_and(|t| t.is_empty())
}

// The raw manifest, field for field as Spin's v2 schema has it. Unknown keys
// are errors, as in Spin.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: BTreeMap<String, toml::Value>,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "Spin's keys are accepted even where edge-host does not use them"
)]
struct RawApplication {
    name: String,
    version: Option<String>,
    description: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    targets: Option<toml::Value>,
    trigger: Option<toml::Value>,
    tool: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    default: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    #[allow(dead_code, reason = "secrets are never logged by this host anyway")]
    secret: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "Spin's keys are accepted even where edge-host does not use them"
)]
struct RawComponent {
    source: toml::Value,
    description: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<toml::Value>,
    #[serde(default)]
    exclude_files: Vec<String>,
    #[serde(default)]
    allowed_http_hosts: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    ai_models: Vec<String>,
    build: Option<toml::Value>,
    tool: Option<toml::Value>,
    #[serde(default)]
    dependencies_inherit_configuration: bool,
    dependencies: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "Spin's keys are accepted even where edge-host does not use them"
)]
struct RawHttpTrigger {
    id: Option<String>,
    route: RawRoute,
    component: Option<toml::Value>,
    executor: Option<RawExecutor>,
    static_response: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
struct RawExecutor {
    #[serde(rename = "type")]
    kind: String,
}

impl RawExecutor {
    fn is_spin(&self) -> bool {
        matches!(self.kind.as_str(), "spin" | "http")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a.wasm"), b"\0asm").unwrap();
            Self { dir }
        }

        fn parse(&self, text: &str, env: &[(&str, &str)]) -> Result<App, ManifestError> {
            let env: BTreeMap<String, String> = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            parse(text, Path::new("spin.toml"), self.dir.path(), &|k: &str| {
                env.get(k).cloned()
            })
        }
    }

    const HEADER: &str = r#"
spin_manifest_version = 2
[application]
name = "shop"
version = "1.2.3"
"#;

    fn manifest(rest: &str) -> String {
        format!("{HEADER}{rest}")
    }

    /// `check_error(manifest body, env, expected error text)`.
    fn check_error(rest: &str, env: &[(&str, &str)], expected: &str) {
        let err = Fixture::new().parse(&manifest(rest), env).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn a_complete_manifest_is_read() {
        let app = Fixture::new()
            .parse(
                &manifest(
                    r#"
[variables]
token_secret = { required = true, secret = true }
region = { default = "eu" }

[[trigger.http]]
route = "/api/carts/..."
component = "cart-sync"

[[trigger.http]]
route = { private = true }
component = "cart-sync"

[component.cart-sync]
source = "a.wasm"
description = "carts"
key_value_stores = ["default"]
sqlite_databases = ["default"]
allowed_outbound_hosts = ["https://push.example.com", "http://127.0.0.1:*"]
environment = { RUST_LOG = "info" }
[component.cart-sync.variables]
secret = "{{ token_secret }}"
endpoint = "https://{{ region }}.example.com"
[component.cart-sync.build]
command = "cargo build --target wasm32-wasip2 --release"
"#,
                ),
                &[("SPIN_VARIABLE_TOKEN_SECRET", "s3cret")],
            )
            .unwrap();
        assert_eq!(app.name, "shop");
        assert_eq!(app.version.as_deref(), Some("1.2.3"));
        assert_eq!(app.routes.len(), 1);
        assert_eq!(app.routes[0].0.raw(), "/api/carts/...");
        let c = &app.components[0];
        assert_eq!(c.id, "cart-sync");
        assert!(c.source.ends_with("a.wasm"));
        assert!(c.key_value_stores.contains("default"));
        assert!(c.sqlite_databases.contains("default"));
        assert!(
            c.allowed_outbound_hosts
                .allows("http", "127.0.0.1", Some(9))
        );
        assert!(
            !c.allowed_outbound_hosts
                .allows("https", "example.com", None)
        );
        assert_eq!(c.variables.get("secret"), Ok("s3cret"));
        assert_eq!(c.variables.get("endpoint"), Ok("https://eu.example.com"));
        assert_eq!(c.environment["RUST_LOG"], "info");
    }

    #[test]
    fn the_environment_overrides_a_default() {
        let app = Fixture::new()
            .parse(
                &manifest(
                    r#"
[variables]
region = { default = "eu" }
[component.a]
source = "a.wasm"
variables = { r = "{{ region }}" }
"#,
                ),
                &[("SPIN_VARIABLE_REGION", "us")],
            )
            .unwrap();
        assert_eq!(app.components[0].variables.get("r"), Ok("us"));
    }

    #[test]
    fn an_unknown_store_label_names_the_component_and_key() {
        check_error(
            "[component.cart-sync]\nsource = \"a.wasm\"\nkey_value_stores = [\"default\", \"x\"]\n",
            &[],
            r#"component "cart-sync": key_value_stores: unknown label "x""#,
        );
        check_error(
            "[component.c]\nsource = \"a.wasm\"\nsqlite_databases = [\"orders\"]\n",
            &[],
            r#"component "c": sqlite_databases: unknown label "orders""#,
        );
    }

    #[test]
    fn a_trigger_for_an_unknown_component_is_refused() {
        check_error(
            "[[trigger.http]]\nroute = \"/x\"\ncomponent = \"ghost\"\n[component.a]\nsource = \"a.wasm\"\n",
            &[],
            r#"trigger.http[0]: component: unknown component "ghost""#,
        );
    }

    #[test]
    fn a_missing_source_file_is_refused() {
        let fixture = Fixture::new();
        let err = fixture
            .parse(&manifest("[component.a]\nsource = \"missing.wasm\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(r#"component "a": source: file not found: "#),
            "{err}"
        );
        assert!(err.ends_with("missing.wasm"), "{err}");
    }

    #[test]
    fn a_required_variable_without_value_is_refused() {
        check_error(
            "[variables]\ntoken_secret = { required = true }\n",
            &[],
            "variables.token_secret: required variable has no value (set SPIN_VARIABLE_TOKEN_SECRET)",
        );
    }

    #[test]
    fn a_template_naming_an_unknown_variable_is_refused() {
        check_error(
            "[component.a]\nsource = \"a.wasm\"\nvariables = { x = \"{{ nope }}\" }\n",
            &[],
            r#"component "a": variables.x: unknown application variable "nope""#,
        );
    }

    #[test]
    fn variables_need_exactly_one_of_default_and_required() {
        check_error(
            "[variables]\nv = { default = \"1\", required = true }\n",
            &[],
            "variables.v: a variable cannot have both a default and `required = true`",
        );
        check_error(
            "[variables]\nv = { secret = true }\n",
            &[],
            "variables.v: a variable needs either a default or `required = true`",
        );
    }

    #[test]
    fn a_bad_outbound_host_names_the_key() {
        check_error(
            "[component.a]\nsource = \"a.wasm\"\nallowed_outbound_hosts = [\"example.com\"]\n",
            &[],
            "component \"a\": allowed_outbound_hosts: `example.com` has no scheme: write it as `https://example.com` (or `http://`, `*://`)",
        );
    }

    #[test]
    fn an_outbound_host_may_name_an_application_variable_as_in_spin() {
        let text = r#"
[variables]
gateway = { default = "http://127.0.0.1:3100" }
off = { default = "" }
[component.a]
source = "a.wasm"
allowed_outbound_hosts = ["{{ gateway }}", "{{ off }}"]
"#;
        let app = Fixture::new().parse(&manifest(text), &[]).unwrap();
        assert!(
            app.components[0]
                .allowed_outbound_hosts
                .allows("http", "127.0.0.1", Some(3100))
        );
        assert!(
            !app.components[0]
                .allowed_outbound_hosts
                .allows("http", "127.0.0.1", Some(3101))
        );
        let moved = Fixture::new()
            .parse(
                &manifest(text),
                &[("SPIN_VARIABLE_GATEWAY", "https://gw.example.com")],
            )
            .unwrap();
        assert!(
            moved.components[0]
                .allowed_outbound_hosts
                .allows("https", "gw.example.com", None)
        );
        check_error(
            "[component.a]\nsource = \"a.wasm\"\nallowed_outbound_hosts = [\"{{ nope }}\"]\n",
            &[],
            "component \"a\": allowed_outbound_hosts: unknown application variable \"nope\"",
        );
    }

    #[test]
    fn a_schedule_is_read_from_the_edge_host_tool_table_and_checked() {
        let app = Fixture::new()
            .parse(
                &manifest("[application.tool.edge-host]\nschedule = [{ route = \"/api/x/sweep\", every_seconds = 30 }]\n[component.a]\nsource = \"a.wasm\"\n"),
                &[],
            )
            .unwrap();
        assert_eq!(
            app.schedule,
            vec![ScheduledCall {
                route: "/api/x/sweep".into(),
                every_seconds: 30
            }]
        );
        for bad in [
            "schedule = [{ route = \"api\", every_seconds = 30 }]",
            "schedule = [{ route = \"/a\", every_seconds = 0 }]",
            "scedule = []",
        ] {
            let err = Fixture::new()
                .parse(
                    &manifest(&format!(
                        "[application.tool.edge-host]\n{bad}\n[component.a]\nsource = \"a.wasm\"\n"
                    )),
                    &[],
                )
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("application: tool.edge-host:"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_bad_route_names_the_trigger() {
        check_error(
            "[[trigger.http]]\nroute = \"/a/.../b\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n",
            &[],
            "trigger.http[0]: route: invalid route \"/a/.../b\": `...` is only allowed as the last segment (`/prefix/...`)",
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = Fixture::new()
            .parse(
                &manifest("[component.a]\nsource = \"a.wasm\"\nkv_stores = [\"default\"]\n"),
                &[],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `kv_stores`"), "{err}");
    }

    #[test]
    fn unsupported_spin_features_are_refused_not_ignored() {
        check_error(
            "[component.a]\nsource = \"a.wasm\"\nfiles = [\"static/**\"]\n",
            &[],
            "component \"a\": files: mounting files is not supported by edge-host",
        );
        check_error(
            "[[trigger.redis]]\nchannel = \"x\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n",
            &[],
            "trigger.redis: only HTTP triggers are supported by edge-host",
        );
    }

    #[test]
    fn only_manifest_version_two_is_read() {
        let err = Fixture::new()
            .parse(
                "spin_manifest_version = 1\n[application]\nname = \"x\"\n",
                &[],
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "spin_manifest_version: expected 2, found 1"
        );
    }
}

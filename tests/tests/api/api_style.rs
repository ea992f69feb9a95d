//! One API style across the eight OpenAPI documents (issue 19), checked
//! over the documents themselves, as docs/API-STYLE.md writes it down:
//! lists page by `limit` + opaque `cursor` and answer `next_cursor`; a read
//! is a lookup and never named like an action; every `errors[]` item is
//! `{field, reason[, code]}`; a category is its path's segments; every
//! instant is a date-time; "reservation" means a stock hold only; retired
//! names stay retired. A black-box test then pages through every list.

use blackbox_tests::openapi::COMPONENTS;
use blackbox_tests::{customer, ops, seeded_app, store_device, token, workspace_root};
use serde_json::Value;
use std::collections::BTreeSet;

fn documents() -> Vec<(&'static str, Value)> {
    COMPONENTS
        .iter()
        .map(|component| {
            let path = workspace_root()
                .join("components")
                .join(component)
                .join("openapi.yaml");
            let doc: Value = serde_norway::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (*component, doc)
        })
        .collect()
}

/// Every operation: (component, method, path, operation).
fn operations(docs: &[(&'static str, Value)]) -> Vec<(&'static str, String, String, Value)> {
    let mut out = Vec::new();
    for (component, doc) in docs {
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    out.push((*component, method.clone(), path.clone(), operation.clone()));
                }
            }
        }
    }
    out
}

/// Resolves a local `$ref` once (the documents keep their schemas local).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => doc.pointer(&format!("/{pointer}")).unwrap_or(value),
        None => value,
    }
}

/// Every (name, schema) property anywhere under `value`, with where it is.
fn properties<'a>(value: &'a Value, at: String, out: &mut Vec<(String, String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            if let Some(props) = map.get("properties").and_then(Value::as_object) {
                for (name, schema) in props {
                    out.push((at.clone(), name.clone(), schema));
                }
            }
            for (key, child) in map {
                properties(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                properties(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Searches answer their best matches within their own bounds and are not
/// lists (nothing to page through): nearby stores within a radius.
const SEARCHES: [&str; 1] = ["nearbyAvailability"];

#[test]
fn every_list_pages_by_limit_and_cursor_and_answers_next_cursor() {
    let docs = documents();
    let mut problems = Vec::new();
    for (component, method, path, operation) in operations(&docs) {
        let id = operation["operationId"].as_str().unwrap_or("").to_owned();
        let params: BTreeSet<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        for retired in ["after", "offset", "page", "page_size"] {
            if params.contains(retired) {
                problems.push(format!(
                    "{component} {method} {path}: `{retired}` (lists page by `cursor`)"
                ));
            }
        }
        if method != "get" || SEARCHES.contains(&id.as_str()) {
            continue;
        }
        let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
        let doc = &docs.iter().find(|(c, _)| *c == component).unwrap().1;
        let schema = resolve(doc, schema);
        let has_array = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, p)| p["type"] == "array");
        let is_list = id.starts_with("list") || has_array && params.contains("limit");
        if !is_list {
            continue;
        }
        if !id.starts_with("list") {
            problems.push(format!(
                "{component} {path}: a list's operationId starts with `list` ({id})"
            ));
        }
        for needed in ["limit", "cursor"] {
            if !params.contains(needed) {
                problems.push(format!("{component} {path}: a list takes `{needed}`"));
            }
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !required.contains(&"next_cursor") {
            problems.push(format!("{component} {path}: a list answers `next_cursor`"));
        }
    }
    assert!(
        problems.is_empty(),
        "lists that do not page alike:\n{}",
        problems.join("\n")
    );
}

#[test]
fn reads_are_lookups_and_actions_say_what_they_do() {
    let docs = documents();
    let mut problems = Vec::new();
    for (component, method, path, operation) in operations(&docs) {
        let id = operation["operationId"].as_str().unwrap_or("");
        if path.ends_with("scans") || path.ends_with("-scans") {
            problems.push(format!("{component} {method} {path}: name a read a lookup, an action by what it does (not `scans`)"));
        }
        if path.ends_with("lookups") && !id.starts_with("lookUp") {
            problems.push(format!(
                "{component} {path}: a lookup's operationId starts with `lookUp` ({id})"
            ));
        }
        if id.starts_with("lookUp") && !path.ends_with("lookups") {
            problems.push(format!(
                "{component} {path}: `{id}` reads, so its path is a `lookups` resource"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn field_errors_categories_instants_and_names_have_one_shape() {
    let docs = documents();
    let mut problems = Vec::new();
    for (component, doc) in &docs {
        let mut found = Vec::new();
        properties(doc, String::new(), &mut found);
        for (at, name, schema) in found {
            let schema = resolve(doc, schema);
            match name.as_str() {
                "errors" => {
                    let items = resolve(doc, &schema["items"]);
                    let required: Vec<&str> = items["required"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if required != ["field", "reason"]
                        || items["properties"]["field"]["type"] != "string"
                        || items["properties"]["reason"]["type"] != "string"
                    {
                        problems.push(format!(
                            "{component} {at}: errors[] items are {{field, reason[, code]}}"
                        ));
                    }
                }
                "category" if schema["type"] != "array" || schema["items"]["type"] != "string" => {
                    problems.push(format!(
                        "{component} {at}: a category is its path's segments (array of strings)"
                    ));
                }
                n if n.ends_with("_at") => {
                    let instant = schema["format"] == "date-time"
                        || schema["$ref"]
                            .as_str()
                            .is_some_and(|r| r.contains("Instant"))
                        || schema["type"]
                            .as_array()
                            .is_some_and(|t| t.contains(&Value::from("null")))
                            && schema["format"] == "date-time"
                        || schema["oneOf"].as_array().is_some_and(|alts| {
                            alts.iter().any(|a| {
                                a["format"] == "date-time"
                                    || a["$ref"].as_str().is_some_and(|r| r.contains("Instant"))
                            })
                        });
                    if !instant && !at.contains("/parameters") {
                        problems.push(format!(
                            "{component} {at}: `{n}` is an instant (format: date-time)"
                        ));
                    }
                }
                "reservation_id" if !["availability", "pickups", "returns"].contains(component) => {
                    problems.push(format!("{component} {at}: `reservation` names a stock hold; a coupon use is a redemption"));
                }
                "next_after" => problems.push(format!(
                    "{component} {at}: `next_after` is retired (next_cursor)"
                )),
                _ => {}
            }
        }
        let text = serde_json::to_string(doc).unwrap();
        for retired in [
            "problem:unknown-coupon\"",
            "`unknown-coupon`",
            "order-already-reserved",
            "pickup-scans",
            "/scans",
        ] {
            if text.contains(retired) {
                problems.push(format!(
                    "{component}: the retired name {retired} is still documented"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every problem the code can answer: one status and one title per `type`,
/// and the retired synonyms gone (`unknown-coupon`, `invalid-transition`,
/// `reservation-state`: one condition, one type, in every component).
#[test]
fn one_problem_type_per_condition_in_every_component() {
    let mut sources = Vec::new();
    let mut stack = vec![
        workspace_root().join("shared/src"),
        workspace_root().join("components"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
                sources.push(path);
            }
        }
    }
    let mut seen: std::collections::BTreeMap<String, (String, String, String)> =
        std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("Problem::new(") {
            let args: Vec<&str> = text[at + "Problem::new(".len()..]
                .splitn(4, ',')
                .take(3)
                .map(str::trim)
                .collect();
            let [status, slug, title] = args[..] else {
                continue;
            };
            let (Some(slug), Some(title)) = (
                slug.strip_prefix('"').and_then(|s| s.strip_suffix('"')),
                title
                    .trim_end_matches(')')
                    .strip_prefix('"')
                    .and_then(|t| t.split('"').next()),
            ) else {
                continue;
            };
            let place = path
                .strip_prefix(workspace_root())
                .unwrap()
                .display()
                .to_string();
            match seen.get(slug) {
                Some((s, t, first)) if s != status || t != title => {
                    problems.push(format!(
                        "`{slug}`: {status} {title:?} in {place}, but {s} {t:?} in {first}"
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(
                        slug.to_owned(),
                        (status.to_owned(), title.to_owned(), place),
                    );
                }
            }
        }
    }
    for retired in [
        "unknown-coupon",
        "invalid-transition",
        "reservation-state",
        "order-already-reserved",
    ] {
        if seen.contains_key(retired) {
            problems.push(format!("`{retired}` is retired: one condition, one type"));
        }
    }
    assert!(seen.len() > 40, "the problem types were found: {seen:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The guide the rules come from exists and names each rule.
#[test]
fn the_api_style_guide_writes_the_rules_down() {
    let guide = std::fs::read_to_string(workspace_root().join("docs/API-STYLE.md"))
        .expect("docs/API-STYLE.md");
    for rule in [
        "next_cursor",
        "lookup",
        "errors[]",
        "category",
        "problem",
        "Money",
        "date-time",
        "redemption",
    ] {
        assert!(guide.contains(rule), "the guide covers {rule}");
    }
}

/// Every list of a seeded app, paged with `limit=1`: each page holds one
/// row, the cursors walk every row once, and a damaged cursor is a 400.
#[test]
fn every_list_can_be_walked_one_row_at_a_time() {
    let app = seeded_app();
    let ops = token(&ops());
    // Something in each list: a promotion, an order (and its notices), a
    // return needs a collected order, which the returns tests cover; a cart
    // event comes from a converted cart.
    let promotion = serde_json::json!({"id": blackbox_tests::unique("PAGE").replace('-', ""), "name": "Paging", "time_zone": "Europe/Warsaw", "benefit": {"type": "percent_off", "percent": "5"}});
    assert_eq!(
        app.post("/api/promotions", Some(&ops), &promotion).status,
        201
    );
    let stock = std::fs::read(workspace_root().join("infra/demo/stock.json")).unwrap();
    assert_eq!(
        app.send(
            "POST",
            "/api/availability/feed",
            Some(&ops),
            &[],
            Some(&stock)
        )
        .status,
        200
    );
    let who = blackbox_tests::unique("C");
    for _ in 0..2 {
        let shopper = token(&customer(&who));
        let held = app.post("/api/reservations", Some(&shopper), &serde_json::json!({"store_id": "WAW-01", "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]}));
        assert_eq!(held.status, 201, "{}", held.text());
        let placed = app.post("/api/orders", Some(&shopper), &serde_json::json!({"fulfilment": "click_and_collect", "reservation_id": held.json()["reservation_id"], "channel": "app"}));
        assert_eq!(placed.status, 201, "{}", placed.text());
    }
    let device = token(&store_device("WAW-01"));
    let lists: [(&str, &str, &str); 7] = [
        ("/api/catalog/items", "items", ""),
        ("/api/catalog/stores", "stores", ""),
        ("/api/promotions", "promotions", "ops"),
        ("/api/orders", "orders", "device"),
        ("/api/notifications/outbox", "entries", "ops"),
        ("/api/returns", "returns", "ops"),
        ("/api/carts/events", "events", "ops"),
    ];
    for (path, key, who) in lists {
        let caller = match who {
            "ops" => Some(ops.as_str()),
            "device" => Some(device.as_str()),
            _ => None,
        };
        let everything = app.get(&format!("{path}?limit=100"), caller);
        assert_eq!(everything.status, 200, "{path}: {}", everything.text());
        let all = everything.json()[key].as_array().unwrap().len();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}?limit=1&cursor={c}"),
                None => format!("{path}?limit=1"),
            };
            let page = app.get(&url, caller);
            assert_eq!(page.status, 200, "{url}: {}", page.text());
            let page = page.json();
            let rows = page[key].as_array().unwrap();
            assert!(rows.len() <= 1, "{url}: limit=1 holds one row");
            seen.extend(rows.iter().map(|r| r.to_string()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
            assert!(
                seen.len() <= all.min(100) + 1,
                "{path}: the cursor walk never ends"
            );
        }
        if all < 100 {
            assert_eq!(
                seen.len(),
                all,
                "{path}: one row at a time visits every row once"
            );
            let unique: BTreeSet<&String> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "{path}: no row twice");
        }
        let damaged = app.get(&format!("{path}?limit=1&cursor=not-a-cursor!"), caller);
        assert_eq!(
            damaged.status,
            400,
            "{path}: a damaged cursor is 400: {}",
            damaged.text()
        );
    }
}

//! `omni-demo seed BASE_URL [--data DIR]`: loads the demo retailer through
//! the public API as a back office would, and says what it changed.
//!
//! Running it again is safe and cheap: each batch is compared with what the
//! app already holds and only the rows that differ are sent, so a newcomer
//! who edits one stock count or one price and seeds again sees exactly that
//! change reported (and nothing refused as a stale feed). Promotion dates
//! are written relative to today (`{today-3}`, `{today+30}`) so the demo's
//! offers are always current; customer profiles give the segment and
//! loyalty offers someone to apply to.

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One call to the app with the ops token; a refusal is an error that
/// names the call and the problem the app answered.
pub(crate) struct Api {
    pub(crate) base: String,
    token: String,
    agent: ureq::Agent,
}

impl Api {
    /// An API client for `base` calling with `token`.
    pub(crate) fn new(base: &str, token: String) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .into();
        Api {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent,
        }
    }

    /// The same app, called with another bearer token.
    pub(crate) fn with_token(&self, token: String) -> Api {
        Api {
            base: self.base.clone(),
            token,
            agent: self.agent.clone(),
        }
    }

    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        self.call_with(method, path, body, &[])
    }

    /// [`Api::call`] with extra request headers (`x-channel`, `if-match`).
    pub(crate) fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Value)> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())?;
        let mut response = self.agent.run(request).with_context(|| {
            format!(
                "{method} {}{path}: the app does not answer (is it running?)",
                self.base
            )
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()?;
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok((status, value))
    }

    pub(crate) fn get(&self, path: &str) -> Result<Option<Value>> {
        match self.call("GET", path, None)? {
            (200, value) => Ok(Some(value)),
            (404, _) => Ok(None),
            (status, problem) => bail!("GET {path} answered {status}: {}", explain(&problem)),
        }
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Result<Value> {
        match self.call("POST", path, Some(body))? {
            (200 | 201, value) => Ok(value),
            (status, problem) => bail!("POST {path} answered {status}: {}", explain(&problem)),
        }
    }
}

/// A problem document in one line: its title, detail and field errors.
pub(crate) fn explain(problem: &Value) -> String {
    let mut text = format!(
        "{} {}",
        problem["title"].as_str().unwrap_or("(no problem document)"),
        problem["detail"].as_str().unwrap_or("")
    );
    for error in problem["errors"].as_array().into_iter().flatten().take(5) {
        text.push_str(&format!(
            "; {}: {}",
            error["field"].as_str().unwrap_or("?"),
            error["reason"].as_str().unwrap_or("?")
        ));
    }
    text
}

pub fn run(args: &[String]) -> Result<()> {
    let base = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .context("usage: omni-demo seed BASE_URL [--data DIR]")?
        .trim_end_matches('/')
        .to_owned();
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let data = flag("--data")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("infra/demo"));
    let token = crate::token(
        &["--role", "ops", "--sub", "demo-seed", "--ttl-secs", "600"].map(String::from),
    )?;
    let api = Api::new(&base, token);

    let stores = read(&data, "stores.json")?;
    let items = read(&data, "items.json")?;
    let prices = read(&data, "prices.json")?;
    let stock = read(&data, "stock.json")?;
    let promotions = read_promotions(&data.join("promotions.json"))?;
    let customers = read(&data, "customers.json")?;

    seed_stores(&api, rows(&stores, "stores")?)?;
    let held = held_items(&api)?;
    seed_items(&api, rows(&items, "items")?, &held)?;
    seed_prices(&api, rows(&prices, "prices")?, &held)?;
    seed_stock(&api, rows(&stock, "feeds")?)?;
    let imported = api.post("/api/promotions/import", &promotions)?;
    let names = |key: &str| {
        imported[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    report(
        "promotions",
        imported["created"].as_array().map_or(0, Vec::len)
            + imported["updated"].as_array().map_or(0, Vec::len),
        &[names("created"), names("updated")]
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        imported["unchanged"].as_array().map_or(0, Vec::len),
    );
    let written = api.post("/api/promotions/customers", &customers)?;
    println!(
        "{:<18} {} written (each replaces that customer's fed facts)",
        "customer profiles", written["upserted"]
    );
    Ok(())
}

pub(crate) fn read(dir: &Path, name: &str) -> Result<Value> {
    let path = dir.join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

pub(crate) fn rows<'a>(file: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
    file[key]
        .as_array()
        .with_context(|| format!("the demo file has no `{key}` array"))
}

/// `promotions.json` with `{today}`, `{today-N}` and `{today+N}` replaced by
/// dates relative to today (UTC), so the demo's dated offers are current.
fn read_promotions(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let rendered = omni_shared::testing::render_relative_dates(&text, Utc::now().date_naive())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    serde_json::from_str(&rendered).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// One line per batch: how many rows changed (named, up to a few) and how
/// many were already as the file says.
fn report(what: &str, changed: usize, names: &str, unchanged: usize) {
    if changed == 0 {
        println!("{what:<18} {unchanged} unchanged");
    } else {
        println!("{what:<18} {changed} changed ({names}), {unchanged} unchanged");
    }
}

fn shorten(names: &[String]) -> String {
    if names.len() <= 6 {
        names.join(", ")
    } else {
        format!("{}, … and {} more", names[..5].join(", "), names.len() - 5)
    }
}

/// Does the app's row hold every field the file's row names, with the same value?
fn same(file_row: &Value, held: Option<&Value>) -> bool {
    let Some(held) = held else { return false };
    file_row
        .as_object()
        .is_some_and(|fields| fields.iter().all(|(k, v)| held.get(k) == Some(v)))
}

fn seed_stores(api: &Api, rows: &[Value]) -> Result<()> {
    let held = every_row(api, "/api/catalog/stores?limit=500", "stores", "store_id")?;
    let changed: Vec<&Value> = rows
        .iter()
        .filter(|r| !same(r, r["store_id"].as_str().and_then(|id| held.get(id))))
        .collect();
    if !changed.is_empty() {
        api.post("/api/catalog/stores", &json!({ "stores": changed }))?;
    }
    let names: Vec<String> = changed
        .iter()
        .filter_map(|r| r["store_id"].as_str().map(str::to_owned))
        .collect();
    report(
        "stores",
        changed.len(),
        &shorten(&names),
        rows.len() - changed.len(),
    );
    Ok(())
}

/// Every item the app holds, by SKU, with its base prices.
fn held_items(api: &Api) -> Result<BTreeMap<String, Value>> {
    every_row(api, "/api/catalog/items?limit=200", "items", "sku")
}

/// Every row of a list (`path` with its `limit`), page after page by
/// `next_cursor`, by its `id` member.
fn every_row(api: &Api, path: &str, rows: &str, id: &str) -> Result<BTreeMap<String, Value>> {
    let mut held = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}&cursor={cursor}"),
            None => path.to_owned(),
        };
        let Some(page) = api.get(&url)? else { break };
        for row in page[rows].as_array().into_iter().flatten() {
            if let Some(key) = row[id].as_str() {
                held.insert(key.to_owned(), row.clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(held)
}

fn seed_items(api: &Api, rows: &[Value], held: &BTreeMap<String, Value>) -> Result<()> {
    let changed: Vec<&Value> = rows
        .iter()
        .filter(|r| !same(r, r["sku"].as_str().and_then(|s| held.get(s))))
        .collect();
    for chunk in changed.chunks(1000) {
        api.post("/api/catalog/items", &json!({ "items": chunk }))?;
    }
    let names: Vec<String> = changed
        .iter()
        .filter_map(|r| r["sku"].as_str().map(str::to_owned))
        .collect();
    report(
        "items",
        changed.len(),
        &shorten(&names),
        rows.len() - changed.len(),
    );
    Ok(())
}

/// Two decimal texts name the same amount (`59.9` and `59.90`).
fn same_amount(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
        let whole = whole.trim_start_matches('0');
        format!("{whole}.{}", fraction.trim_end_matches('0'))
    };
    norm(a) == norm(b)
}

fn seed_prices(api: &Api, rows: &[Value], held: &BTreeMap<String, Value>) -> Result<()> {
    let held_price = |sku: &str, currency: &str| -> Option<String> {
        held.get(sku)?["prices"]
            .as_array()?
            .iter()
            .find(|p| p["currency"] == currency)?["amount"]
            .as_str()
            .map(str::to_owned)
    };
    let changed: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            let (sku, currency, amount) = (
                r["sku"].as_str().unwrap_or(""),
                r["currency"].as_str().unwrap_or(""),
                r["amount"].as_str().unwrap_or(""),
            );
            !held_price(sku, currency).is_some_and(|held| same_amount(&held, amount))
        })
        .collect();
    for chunk in changed.chunks(1000) {
        api.post("/api/catalog/prices", &json!({ "prices": chunk }))?;
    }
    let names: Vec<String> = changed
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["sku"].as_str().unwrap_or("?"),
                r["currency"].as_str().unwrap_or("?")
            )
        })
        .collect();
    report(
        "prices",
        changed.len(),
        &shorten(&names),
        rows.len() - changed.len(),
    );
    Ok(())
}

/// Stock counts: the shelves whose count or display minimum differs from
/// the file, sent as one feed per store with a fresh sequence number (the
/// current time in milliseconds), so a re-seed after an edit is applied and
/// never refused as stale.
pub(crate) fn seed_stock(api: &Api, feeds: &[Value]) -> Result<()> {
    let sequence = Utc::now().timestamp_millis();
    let (mut changed, mut unchanged, mut names, mut out) = (0, 0, Vec::new(), Vec::new());
    for feed in feeds {
        let store = feed["store_id"]
            .as_str()
            .context("a stock feed without store_id")?;
        let mut lines = Vec::new();
        for line in feed["lines"].as_array().into_iter().flatten() {
            let sku = line["sku"].as_str().context("a stock line without sku")?;
            let shelf = api.get(&format!("/api/stores/{store}/stock/{sku}"))?;
            let held = shelf.as_ref().and_then(|s| s["on_hand"].as_i64());
            let same_count = line
                .get("on_hand")
                .is_none_or(|want| held.is_some() && want.as_i64() == held);
            let same_min = line
                .get("display_min")
                .is_none_or(|want| shelf.as_ref().is_some_and(|s| &s["display_min"] == want));
            if same_count && same_min {
                unchanged += 1;
                continue;
            }
            changed += 1;
            names.push(match (held, line["on_hand"].as_i64()) {
                (Some(before), Some(after)) if before != after => {
                    format!("{store} {sku} {before} → {after}")
                }
                _ => format!("{store} {sku}"),
            });
            lines.push(line.clone());
        }
        if !lines.is_empty() {
            out.push(json!({"store_id": store, "sequence": sequence, "lines": lines}));
        }
    }
    if !out.is_empty() {
        api.post("/api/availability/feed", &json!({ "feeds": out }))?;
    }
    report("stock", changed, &shorten(&names), unchanged);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_compare_by_value_not_by_text() {
        assert!(same_amount("59.90", "59.9"));
        assert!(same_amount("249.99", "249.99"));
        assert!(!same_amount("249.99", "249.90"));
        assert!(same_amount("10", "10.00"));
    }
}

//! `omni-demo`: mints bearer tokens the way the retailer's identity provider
//! would, with the HS256 secret the running app verifies against, so a
//! newcomer can call every endpoint with curl.
//!
//! Usage:
//! - `omni-demo token --role customer|store|ops --sub ID [--store ID] [--ttl-secs N]`
//!   reading `SPIN_VARIABLE_JWT_HS256_SECRET`, and the issuer and audience
//!   from `SPIN_VARIABLE_JWT_ISSUER` / `SPIN_VARIABLE_JWT_AUDIENCE` or
//!   spin.toml's defaults;
//! - `omni-demo vapid-public PRIVATE_KEY`: the VAPID public key (what the
//!   app's service worker subscribes with) of a base64url P-256 private key;
//! - `omni-demo gateway [--listen 127.0.0.1:3100] [--log FILE]`: a stand-in
//!   for the retailer's e-mail/SMS gateway. It checks each webhook call's
//!   signature (`SPIN_VARIABLE_NOTIFICATION_WEBHOOK_SECRET`) and prints the
//!   notice as the customer or the store would read it, one line each, also
//!   appended to FILE;
//! - `omni-demo seed BASE_URL [--data DIR]`: loads the demo retailer
//!   through the API and reports what it changed (see [`seed`]);
//! - `omni-demo journeys BASE_URL`: walks the five golden paths against the
//!   running app and prints each call and its answer (see [`journeys`]);
//! - `omni-demo history BASE_URL [--weeks 5]`: weeks of shopping across
//!   channels and stores, through the API with the edge host's test clock,
//!   for the insights page (see [`history`]);
//! - `omni-demo latency-proxy --listen ADDR --upstream ADDR --delay-ms N
//!   [--reset-every-ms N]`: a TCP delay line (and link breaker) between the
//!   nodes and PostgreSQL, for the far-database benchmark and tests (see
//!   [`latency_proxy`]).
//!
//! The secrets come from the environment or, when it has none, from
//! `.spin/demo-secrets.env`, the file `make run` writes.

use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use omni_shared::auth::{Caller, Claims, sign_hs256};
use omni_shared::ids::{CustomerId, StoreId};
use omni_shared::notify::webpush::Vapid;

mod history;
mod journeys;
mod latency_proxy;
mod seed;

const DEFAULT_ISSUER: &str = "https://auth.omnichannel-edge.local";
const DEFAULT_AUDIENCE: &str = "omnichannel-edge";

/// Errors are one plain message on stderr and exit status 1 (no backtrace:
/// this is a tool for people, and every error says what to do).
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("omni-demo: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("token") => {
            println!("{}", token(&args[1..])?);
            Ok(())
        }
        Some("vapid-public") => {
            let private = args
                .get(1)
                .context("usage: omni-demo vapid-public PRIVATE_KEY")?;
            let vapid = Vapid::parse(private, "mailto:demo@omnichannel-edge.local")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", vapid.public_key());
            Ok(())
        }
        Some("gateway") => gateway(&args[1..]),
        Some("seed") => seed::run(&args[1..]),
        Some("journeys") => journeys::run(&args[1..]),
        Some("history") => history::run(&args[1..]),
        Some("latency-proxy") => latency_proxy::run(&args[1..]),
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

const USAGE: &str =
    "usage: omni-demo token --role customer|store|ops --sub ID [--store ID] [--ttl-secs N]
       omni-demo vapid-public PRIVATE_KEY
       omni-demo gateway [--listen 127.0.0.1:3100] [--log FILE]
       omni-demo seed BASE_URL [--data infra/demo]
       omni-demo journeys BASE_URL
       omni-demo history BASE_URL [--weeks 5]
       omni-demo latency-proxy --listen ADDR --upstream ADDR --delay-ms N [--reset-every-ms N]
Secrets come from SPIN_VARIABLE_* in the environment, else from .spin/demo-secrets.env (written by make run).";

/// The gateway stand-in: answers 204 to a genuine call, 401 to a forged
/// one, and shows each notice.
fn gateway(args: &[String]) -> Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let listen = flag("--listen").unwrap_or_else(|| "127.0.0.1:3100".into());
    let log = flag("--log");
    let secret = secret("SPIN_VARIABLE_NOTIFICATION_WEBHOOK_SECRET")?;
    let listener =
        std::net::TcpListener::bind(&listen).with_context(|| format!("listening on {listen}"))?;
    eprintln!(
        "gateway stand-in on http://{listen}: every notice is printed{}",
        log.as_deref()
            .map(|l| format!(" and appended to {l}"))
            .unwrap_or_default()
    );
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        let mut headers = Vec::new();
        reader.read_line(&mut line)?;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.trim_end().split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let Some(length) = find("content-length").and_then(|l| l.parse::<usize>().ok()) else {
            stream.write_all(
                b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )?;
            continue;
        };
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let timestamp = find("webhook-timestamp")
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or_default();
        let signature = find("webhook-signature").unwrap_or_default();
        if !omni_shared::notify::webhook::verify(secret.as_bytes(), timestamp, &body, &signature) {
            eprintln!("gateway stand-in: refused a call whose signature does not verify");
            stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )?;
            continue;
        }
        stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")?;
        let notice: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let to = match notice["audience"].as_str() {
            Some("store") => format!("store {}", notice["store_id"].as_str().unwrap_or("?")),
            _ => format!(
                "customer {} by {}",
                notice["customer_id"].as_str().unwrap_or("?"),
                notice["channels"]
            ),
        };
        let shown = format!(
            "{} {} [{}] to {to}: {} | {}",
            notice["occurred_at"].as_str().unwrap_or(""),
            notice["order_id"].as_str().unwrap_or(""),
            notice["locale"].as_str().unwrap_or(""),
            notice["message"]["title"].as_str().unwrap_or(""),
            notice["message"]["body"].as_str().unwrap_or(""),
        );
        println!("{shown}");
        if let Some(path) = &log {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(file, "{shown}")?;
        }
    }
    Ok(())
}

/// A secret from the environment, else from the demo secrets file `make
/// run` writes; missing from both, an error that says where to get it.
fn secret(name: &str) -> Result<String> {
    if let Ok(value) = std::env::var(name) {
        return Ok(value);
    }
    let file = std::env::var("STATE_DIR").unwrap_or_else(|_| ".spin".into()) + "/demo-secrets.env";
    let found = std::fs::read_to_string(&file).ok().and_then(|text| {
        text.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix('=')
                .map(str::to_owned)
        })
    });
    found.with_context(|| {
        format!(
            "{name} is not set and {file} has none: run `make run` once (it writes {file}), \
             then `set -a; source {file}; set +a`, or export the secret your app runs with"
        )
    })
}

pub(crate) fn token(args: &[String]) -> Result<String> {
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let role = flag("--role").context("--role is required")?;
    let sub = flag("--sub").context("--sub is required")?;
    let ttl: i64 = flag("--ttl-secs")
        .map(|t| t.parse())
        .transpose()
        .context("--ttl-secs must be a whole number")?
        .unwrap_or(3600);
    let caller = match role.as_str() {
        "customer" => Caller::Customer(CustomerId::parse(&sub)?),
        "store" => Caller::StoreDevice {
            store: StoreId::parse(&flag("--store").context("--store is required for role store")?)?,
            device: sub,
        },
        "ops" => Caller::Ops { operator: sub },
        other => bail!("unknown role {other:?}; expected customer, store or ops"),
    };
    signed(&caller, Utc::now(), Duration::seconds(ttl))
}

/// A bearer token for `caller` issued at `issued_at` (the guests' clock,
/// which the history moves) and valid for `ttl`.
pub(crate) fn signed(
    caller: &Caller,
    issued_at: chrono::DateTime<Utc>,
    ttl: Duration,
) -> Result<String> {
    let secret = secret("SPIN_VARIABLE_JWT_HS256_SECRET")?;
    let issuer =
        std::env::var("SPIN_VARIABLE_JWT_ISSUER").unwrap_or_else(|_| DEFAULT_ISSUER.into());
    let audience =
        std::env::var("SPIN_VARIABLE_JWT_AUDIENCE").unwrap_or_else(|_| DEFAULT_AUDIENCE.into());
    let claims =
        Claims::for_caller(caller, &issuer, &audience, issued_at, ttl).context("no claims")?;
    Ok(sign_hs256(&claims, secret.as_bytes()))
}

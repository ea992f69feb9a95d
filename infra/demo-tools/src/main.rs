//! `omni-demo`: mints bearer tokens the way the retailer's identity provider
//! would, with the HS256 secret the running app verifies against, so a
//! newcomer can call every endpoint with curl.
//!
//! Usage: `omni-demo token --role customer|store|ops --sub ID [--store ID] [--ttl-secs N]`
//! reading `SPIN_VARIABLE_JWT_HS256_SECRET`, and the issuer and audience from
//! `SPIN_VARIABLE_JWT_ISSUER` / `SPIN_VARIABLE_JWT_AUDIENCE` or spin.toml's
//! defaults.

use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use omni_shared::auth::{Caller, Claims, sign_hs256};
use omni_shared::ids::{CustomerId, StoreId};

const DEFAULT_ISSUER: &str = "https://auth.omnichannel-edge.local";
const DEFAULT_AUDIENCE: &str = "omnichannel-edge";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("token") => {
            println!("{}", token(&args[1..])?);
            Ok(())
        }
        _ => bail!("usage: omni-demo token --role customer|store|ops --sub ID [--store ID] [--ttl-secs N]"),
    }
}

fn token(args: &[String]) -> Result<String> {
    let flag = |name: &str| {
        args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
    };
    let role = flag("--role").context("--role is required")?;
    let sub = flag("--sub").context("--sub is required")?;
    let ttl: i64 = flag("--ttl-secs").map(|t| t.parse()).transpose().context("--ttl-secs must be a whole number")?.unwrap_or(3600);
    let caller = match role.as_str() {
        "customer" => Caller::Customer(CustomerId::parse(&sub)?),
        "store" => Caller::StoreDevice {
            store: StoreId::parse(&flag("--store").context("--store is required for role store")?)?,
            device: sub,
        },
        "ops" => Caller::Ops { operator: sub },
        other => bail!("unknown role {other:?}; expected customer, store or ops"),
    };
    let secret = std::env::var("SPIN_VARIABLE_JWT_HS256_SECRET").context("SPIN_VARIABLE_JWT_HS256_SECRET is not set")?;
    let issuer = std::env::var("SPIN_VARIABLE_JWT_ISSUER").unwrap_or_else(|_| DEFAULT_ISSUER.into());
    let audience = std::env::var("SPIN_VARIABLE_JWT_AUDIENCE").unwrap_or_else(|_| DEFAULT_AUDIENCE.into());
    let claims = Claims::for_caller(&caller, &issuer, &audience, Utc::now(), Duration::seconds(ttl)).context("no claims")?;
    Ok(sign_hs256(&claims, secret.as_bytes()))
}

//! Scheduled work declared with the app: `[application.tool.edge-host]
//! schedule` in spin.toml lists routes to `POST` every so many seconds (the
//! sweeps: holds, pickups, notices, carts). Spin keeps `tool` tables for
//! tools and ignores them, so the same manifest runs under `spin up`; a
//! Spin deployment runs the same calls from a cron job
//! (`infra/k8s/sweeps-cronjob.yaml`).
//!
//! Each call goes through the node's own HTTP front door, exactly as the
//! cron job's would, with a bearer token the host signs for the call
//! (HS256 with the app's `jwt_hs256_secret`, role `ops`, five minutes, at
//! the guests' clock so a test clock moved ahead still accepts it).

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::manifest::ScheduledCall;

/// What the scheduler signs its token with.
#[derive(Clone)]
pub struct Signer {
    pub issuer: String,
    pub audience: String,
    pub secret: Vec<u8>,
}

impl Signer {
    /// An HS256 JWT for `role: ops`, valid five minutes from `now`.
    pub fn token(&self, now: DateTime<Utc>) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.issuer, "aud": self.audience, "sub": "edge-host-scheduler", "role": "ops",
            "iat": now.timestamp(), "exp": now.timestamp() + 300,
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

/// Starts one timer per call; each `POST`s its route to `addr` every
/// `every` (the entry's interval unless `every_override` is set) and logs the
/// answer. `now` is the guests' clock.
pub fn spawn(
    addr: SocketAddr,
    calls: &[ScheduledCall],
    signer: Signer,
    every_override: Option<Duration>,
    now: impl Fn() -> DateTime<Utc> + Send + Sync + Clone + 'static,
) {
    for call in calls {
        let every = every_override.unwrap_or(Duration::from_secs(call.every_seconds));
        let (route, signer, now) = (call.route.clone(), signer.clone(), now.clone());
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer.tick().await; // the first tick is immediate: wait one period first
            loop {
                timer.tick().await;
                match post(addr, &route, &signer.token(now())).await {
                    Ok(status) if (200..300).contains(&status) => {}
                    Ok(status) => eprintln!("edge-host: schedule: POST {route} answered {status}"),
                    Err(e) => eprintln!("edge-host: schedule: POST {route}: {e}"),
                }
            }
        });
    }
}

/// One `POST route` with an empty JSON object; returns the status.
async fn post(addr: SocketAddr, route: &str, token: &str) -> std::io::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST {route} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\n\
         content-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP status line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_an_hs256_jwt_for_ops_that_verifies_with_the_secret() {
        let signer = Signer {
            issuer: "iss".into(),
            audience: "aud".into(),
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
        };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let token = signer.token(now);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (claims["role"].as_str(), claims["exp"].as_i64()),
            (Some("ops"), Some(1_800_000_300))
        );
        let mut mac = <Hmac<Sha256>>::new_from_slice(&signer.secret).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .expect("the signature verifies");
    }
}

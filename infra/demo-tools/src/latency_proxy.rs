//! `omni-demo latency-proxy`: a TCP delay line between app nodes and their
//! PostgreSQL, to measure and test the app as it runs when the database is
//! a region away. Every chunk read from either side is written to the other
//! `delay / 2` later (so a round trip gains `delay`), without holding up
//! the chunks behind it; with `--reset-every-ms N`, each connection is cut
//! (both ways, as a broken link would) after a random lifetime between N/2
//! and 3N/2 ms.
//!
//! Usage: `omni-demo latency-proxy --listen 127.0.0.1:6543 --upstream
//! 127.0.0.1:5432 --delay-ms 20 [--reset-every-ms 3000]`

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn run(args: &[String]) -> Result<()> {
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let listen = flag("--listen").context("--listen ADDRESS is required")?;
    let upstream = flag("--upstream").context("--upstream ADDRESS is required")?;
    let delay = Duration::from_millis(
        flag("--delay-ms")
            .unwrap_or_else(|| "20".into())
            .parse()
            .context("--delay-ms is whole milliseconds")?,
    );
    let reset: Option<u64> = flag("--reset-every-ms")
        .map(|v| v.parse().context("--reset-every-ms is whole milliseconds"))
        .transpose()?;
    let listener = TcpListener::bind(&listen).with_context(|| format!("listening on {listen}"))?;
    eprintln!(
        "latency proxy {listen} -> {upstream}: +{} ms per round trip{}",
        delay.as_millis(),
        reset
            .map(|ms| format!(", connections cut after ~{ms} ms"))
            .unwrap_or_default()
    );
    for (n, client) in listener.incoming().enumerate() {
        let Ok(client) = client else { continue };
        let upstream = upstream.clone();
        std::thread::spawn(move || {
            if let Err(e) = link(client, &upstream, delay, reset.map(|ms| lifetime(ms, n))) {
                eprintln!("latency proxy: {e:#}");
            }
        });
    }
    Ok(())
}

/// A lifetime between half and one and a half of `ms`, spread by `n`.
fn lifetime(ms: u64, n: usize) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let spread = RandomState::new().hash_one(n) % ms.max(1);
    Duration::from_millis(ms / 2 + spread)
}

fn link(
    client: TcpStream,
    upstream: &str,
    delay: Duration,
    cut_after: Option<Duration>,
) -> Result<()> {
    let server =
        TcpStream::connect(upstream).with_context(|| format!("connecting to {upstream}"))?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let half = delay / 2;
    let (c, s) = (client.try_clone()?, server.try_clone()?);
    std::thread::spawn(move || pump(c, s, half));
    let (s, c) = (server.try_clone()?, client.try_clone()?);
    std::thread::spawn(move || pump(s, c, half));
    if let Some(after) = cut_after {
        std::thread::sleep(after);
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    }
    Ok(())
}

/// Copies `from` to `to`, each chunk `delay` after it was read.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (sender, receiver) = mpsc::channel::<(Instant, Vec<u8>)>();
    let mut writer = to.try_clone().expect("clone a socket");
    let writing = std::thread::spawn(move || {
        for (read_at, bytes) in receiver {
            let due = read_at + delay;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if writer.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = writer.shutdown(Shutdown::Write);
    });
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if sender.send((Instant::now(), buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(sender);
    let _ = writing.join();
    let _ = to.flush();
}

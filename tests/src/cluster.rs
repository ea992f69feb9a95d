//! Several nodes of the app sharing one truth: a real PostgreSQL (one
//! database) and a real Redis, both started for the test on loopback, and
//! `n` app processes started together on their own ports with
//! `infra/spin/runtime-config-cluster.toml` and the `database_url`
//! variable, as `make run-cluster` starts them.

use crate::postgres::{Postgres, app_variables};
use crate::redis::RedisServer;
use crate::{AppOptions, TestApp, spawn_app, workspace_root};
use std::path::PathBuf;

/// A slow, breaking link between the nodes and PostgreSQL
/// (`omni-demo latency-proxy`).
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// Added to every round trip.
    pub delay_ms: u64,
    /// Each connection is cut after about this long, when set.
    pub reset_every_ms: Option<u64>,
}

pub struct Cluster {
    pub nodes: Vec<TestApp>,
    /// What every node starts with beyond the cluster's own settings.
    extra: AppOptions,
    /// The latency proxy the nodes reach PostgreSQL through, if any.
    proxy: Option<std::process::Child>,
    pub postgres: Postgres,
    pub redis: RedisServer,
    /// The app's database on [`Self::postgres`].
    pub database: String,
    scratch: tempfile::TempDir,
}

impl Cluster {
    /// A fresh database and `nodes` nodes, started at once; none has
    /// touched the database yet (each migrates on its first SQL use).
    pub fn start(nodes: usize) -> Cluster {
        Self::start_with(nodes, None)
    }

    /// [`Self::start`] with the nodes reaching PostgreSQL through `link`.
    pub fn start_with(nodes: usize, link: Option<Link>) -> Cluster {
        Self::start_configured(nodes, link, AppOptions::default())
    }

    /// [`Self::start_with`], every node also started with `extra`'s
    /// environment, flags and test clock.
    pub fn start_configured(nodes: usize, link: Option<Link>, extra: AppOptions) -> Cluster {
        let postgres = Postgres::start();
        let redis = RedisServer::start();
        let direct = postgres.create_database();
        let database = direct.rsplit('/').next().unwrap_or_default().to_owned();
        let (url, proxy) = match link {
            None => (direct, None),
            Some(link) => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port();
                let mut command =
                    std::process::Command::new(workspace_root().join("target/host/omni-demo"));
                command
                    .arg("latency-proxy")
                    .args(["--listen", &format!("127.0.0.1:{port}")])
                    .args(["--upstream", &format!("127.0.0.1:{}", postgres.port)])
                    .args(["--delay-ms", &link.delay_ms.to_string()]);
                if let Some(ms) = link.reset_every_ms {
                    command.args(["--reset-every-ms", &ms.to_string()]);
                }
                let child = command
                    .spawn()
                    .expect("start omni-demo latency-proxy (make test builds it)");
                let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    assert!(
                        std::time::Instant::now() < until,
                        "the latency proxy did not listen"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                (
                    format!("postgres://postgres@127.0.0.1:{port}/{database}"),
                    Some(child),
                )
            }
        };
        let scratch = tempfile::tempdir().expect("a scratch directory");
        let template = std::fs::read_to_string(
            workspace_root().join("infra/spin/runtime-config-cluster.toml"),
        )
        .expect("the cluster runtime config");
        let config = scratch.path().join("runtime-config.toml");
        std::fs::write(
            &config,
            template.replace("redis://127.0.0.1:6379/0", &redis.url()),
        )
        .expect("write the runtime config");
        let mut cluster = Cluster {
            nodes: Vec::new(),
            extra,
            proxy,
            postgres,
            redis,
            database,
            scratch,
        };
        cluster.nodes = std::thread::scope(|scope| {
            let starting: Vec<_> = (0..nodes)
                .map(|_| {
                    let options = cluster.options(&url, config.clone());
                    scope.spawn(move || spawn_app(options).expect("a node starts"))
                })
                .collect();
            starting
                .into_iter()
                .map(|h| h.join().expect("node"))
                .collect()
        });
        cluster
    }

    /// The options of one more node of this cluster.
    fn options(&self, url: &str, runtime_config: PathBuf) -> AppOptions {
        let mut env = app_variables(url);
        env.extend(self.extra.env.iter().cloned());
        AppOptions {
            runtime_config: Some(runtime_config),
            env,
            extra_args: self.extra.extra_args.clone(),
            test_clock: self.extra.test_clock,
            ..AppOptions::default()
        }
    }

    /// Starts one more node on the same database and Redis (directly, not
    /// through a link).
    pub fn add_node(&mut self) -> &TestApp {
        let url = format!("{}/{}", self.server_url(), self.database);
        let config = self.scratch.path().join("runtime-config.toml");
        let node = spawn_app(self.options(&url, config)).expect("a node starts");
        self.nodes.push(node);
        self.nodes.last().expect("just pushed")
    }

    fn server_url(&self) -> String {
        let admin = self.postgres.address();
        admin
            .rsplit_once('/')
            .map(|(s, _)| s.to_owned())
            .unwrap_or(admin)
    }

    /// The node request `i` goes to: round robin.
    pub fn node(&self, i: usize) -> &TestApp {
        &self.nodes[i % self.nodes.len()]
    }

    /// `sql` run by psql in the app's database, unaligned, tuples only.
    pub fn sql(&self, sql: &str) -> String {
        self.postgres.psql_in(&self.database, sql)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The nodes first (they drop with `nodes`), then the proxy.
        self.nodes.clear();
        if let Some(mut proxy) = self.proxy.take() {
            let _ = proxy.kill();
            let _ = proxy.wait();
        }
    }
}

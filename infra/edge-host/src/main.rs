//! The `edge-host` command line: `edge-host up` reads a Spin manifest and
//! serves it until SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use edge_host::runtime::{self, CacheOutcome, EngineOptions, StateOptions};
use edge_host::server::{EdgeServer, ServeOptions};
use edge_host::variables;
use edge_host::{manifest, schedule};

#[derive(Parser)]
#[command(
    name = "edge-host",
    version,
    about = "Run a Spin app's components locally on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app described by a Spin manifest, as `spin up` would.
    Up(UpArgs),
}

#[derive(Args)]
struct UpArgs {
    /// The Spin manifest (`spin up -f` is accepted too).
    #[arg(
        short = 'f',
        long = "manifest",
        visible_alias = "from",
        default_value = "spin.toml"
    )]
    manifest: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Where databases, logs and the compilation cache live
    /// [default: `.spin/` next to the manifest].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Let tests move the guests' wall clock through `POST /_edge/clock`.
    #[arg(long)]
    test_clock: bool,
    /// Stop a component still running after this many seconds (504).
    #[arg(long, default_value_t = 30)]
    deadline_secs: u64,
    /// Refuse request bodies larger than this (413) before any guest runs.
    /// By default there is no host limit, as under Spin: every body reaches
    /// the component, which refuses what is too large itself.
    #[arg(long)]
    max_body_bytes: Option<u64>,
    /// Set an application variable, overriding SPIN_VARIABLE_<NAME>.
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// Compile every component afresh, neither reading nor writing the cache.
    #[arg(long)]
    no_compile_cache: bool,
    /// Compilation cache directory [default: `<state-dir>/cache`].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Do not print one line per request.
    #[arg(long)]
    quiet: bool,
    /// Requests that can run at once (pooling allocator instance slots).
    #[arg(long, default_value_t = EngineOptions::default().max_instances)]
    max_instances: u32,
    /// Bytes of each linear memory kept resident between instances.
    #[arg(long, default_value_t = EngineOptions::default().memory_keep_resident)]
    memory_keep_resident: usize,
    /// Bytes of each table kept resident between instances.
    #[arg(long, default_value_t = EngineOptions::default().table_keep_resident)]
    table_keep_resident: usize,
    /// Reset whole keep-resident regions instead of only dirtied pages.
    #[arg(long)]
    no_pagemap_scan: bool,
    /// Do not run the manifest's schedule (`[application.tool.edge-host]`).
    #[arg(long)]
    no_schedule: bool,
    /// Spin's runtime configuration (the same file `spin up
    /// --runtime-config-file` reads): where the key-value store (SQLite or
    /// Redis) and the SQLite database live.
    #[arg(long, value_name = "FILE")]
    runtime_config_file: Option<PathBuf>,
    /// Run every scheduled call this often instead of its own interval
    /// (tests and demos).
    #[arg(long, value_name = "SECONDS")]
    schedule_every_secs: Option<u64>,
}

/// Why `edge-host up` could not serve.
#[derive(Debug, thiserror::Error)]
enum UpError {
    /// A `--variable` argument without `=`.
    #[error("--variable {0}: expected NAME=VALUE")]
    Variable(String),
    /// The manifest was refused.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// Compiling, linking or opening state failed.
    #[error(transparent)]
    Start(#[from] runtime::StartError),
    /// The runtime configuration file was refused.
    #[error("--runtime-config-file {0}")]
    RuntimeConfig(#[from] edge_host::runtime_config::RuntimeConfigError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The listen address cannot be bound.
    #[error("--listen {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => match up(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("Error: {message}");
                ExitCode::FAILURE
            }
        },
    }
}

fn up(args: UpArgs) -> Result<(), UpError> {
    let started = Instant::now();
    let mut overrides = BTreeMap::new();
    for assignment in &args.variables {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| UpError::Variable(assignment.clone()))?;
        overrides.insert(variables::env_name(name), value.to_owned());
    }
    let env = |key: &str| {
        overrides
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
    };
    let app = manifest::load(&args.manifest, &env)?;

    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| app.dir.join(".spin"));
    let cache_dir = if args.no_compile_cache {
        None
    } else {
        Some(
            args.cache_dir
                .clone()
                .unwrap_or_else(|| state_dir.join("cache")),
        )
    };
    let engine_options = EngineOptions {
        max_instances: args.max_instances,
        memory_keep_resident: args.memory_keep_resident,
        table_keep_resident: args.table_keep_resident,
        pagemap_scan: !args.no_pagemap_scan,
        ..EngineOptions::default()
    };
    let engine = runtime::engine(&engine_options)?;
    let loaded = runtime::load(
        &app,
        &engine,
        &StateOptions {
            state_dir: state_dir.clone(),
            cache_dir,
            test_clock: args.test_clock,
            runtime_config: match &args.runtime_config_file {
                Some(path) => edge_host::runtime_config::RuntimeConfig::load(path)?,
                None => edge_host::runtime_config::RuntimeConfig::default(),
            },
        },
    )?;
    for report in &loaded.compile_report {
        let how = match report.outcome {
            CacheOutcome::Hit => "loaded from cache",
            CacheOutcome::Miss => "compiled (cached for next start)",
            CacheOutcome::Disabled => "compiled (cache disabled)",
        };
        eprintln!(
            "edge-host: {} {how} in {:.0} ms",
            report.source.display(),
            report.elapsed.as_secs_f64() * 1e3
        );
    }
    runtime::start_epoch_ticker(&engine);

    let server = Arc::new(EdgeServer::new(
        loaded,
        app.routes.clone(),
        ServeOptions {
            deadline: Duration::from_secs(args.deadline_secs),
            max_body_bytes: args.max_body_bytes,
            log_requests: !args.quiet,
        },
        app.name.clone(),
        app.version.clone(),
    ));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(UpError::Runtime)?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|source| UpError::Listen {
                addr: args.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| UpError::Listen {
            addr: args.listen,
            source,
        })?;
        let entries: Vec<_> = server.router().entries().collect();
        for (unreachable, effective) in server.router().shadowed() {
            eprintln!(
                "edge-host: route {:?} of component {:?} is a duplicate of component {:?}'s and will never be used",
                entries[unreachable].0.raw(),
                entries[unreachable].1,
                entries[effective].1,
            );
        }
        println!("Serving app {:?} from {}", app.name, args.manifest.display());
        println!("State in {}", state_dir.display());
        println!("Available Routes:");
        for (route, component) in &entries {
            let prefix = route.based().strip_suffix("/...").unwrap_or(route.based());
            let shown = if prefix.is_empty() { "/" } else { prefix };
            let wildcard = if route.is_wildcard() { " (wildcard)" } else { "" };
            println!("  {component}: http://{addr}{shown}{wildcard}");
        }
        if args.test_clock {
            println!("Test clock: POST http://{addr}/_edge/clock {{\"offset_seconds\": N}}");
        }
        eprintln!(
            "edge-host: ready in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        start_schedule(&app, &args, addr, &server);
        println!("edge-host listening on http://{addr}");
        server.serve(listener, shutdown_signal()).await;
        println!("edge-host stopped");
        Ok(())
    })
}

/// Starts the manifest's schedule, unless `--no-schedule` or there is
/// nothing to sign its ops token with (said on stderr).
fn start_schedule(app: &manifest::App, args: &UpArgs, addr: SocketAddr, server: &Arc<EdgeServer>) {
    if args.no_schedule || app.schedule.is_empty() {
        return;
    }
    let variable = |name: &str| app.variables.get(name).filter(|v| !v.is_empty()).cloned();
    let (Some(issuer), Some(audience), Some(secret)) = (
        variable("jwt_issuer"),
        variable("jwt_audience"),
        variable("jwt_hs256_secret"),
    ) else {
        eprintln!(
            "edge-host: schedule off: the app has no jwt_issuer, jwt_audience and jwt_hs256_secret to sign its calls with"
        );
        return;
    };
    let signer = schedule::Signer {
        issuer,
        audience,
        secret: secret.into_bytes(),
    };
    let every = args.schedule_every_secs.map(Duration::from_secs);
    let clock = Arc::clone(server);
    schedule::spawn(addr, &app.schedule, signer, every, move || {
        clock.guest_now()
    });
    for call in &app.schedule {
        let secs = args.schedule_every_secs.unwrap_or(call.every_seconds);
        println!("Scheduled: POST {} every {secs} s", call.route);
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edge-host: cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

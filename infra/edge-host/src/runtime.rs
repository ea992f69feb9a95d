//! Turning a checked [`App`] into something that can serve: the wasmtime
//! engine (pooling allocator, epoch interruption), one compiled and
//! pre-instantiated component per manifest entry, and the shared services.
//!
//! Why pre-instantiate? Every request gets a fresh instance (P2 semantics:
//! nothing survives between requests), so instantiation is on the hot path.
//! `ProxyPre` resolves every import against the linker once at start, and
//! the pooling allocator hands out pre-reserved memory and table slots, which
//! makes instantiation a few microseconds.
//!
//! Why keep memory resident? When an instance ends, its pool slot is reset.
//! By default that returns the pages to the kernel (`madvise`), and the next
//! instance faults them back in; keeping the first megabytes of each linear
//! memory and table resident (reset with `memset` instead) nearly doubled
//! throughput on the components' small heaps.
//!
//! Why a compilation cache? Cranelift takes seconds per component on two
//! cores; the compiled artefact is stored under `<state-dir>/cache/`, keyed
//! by the SHA-256 of the wasm bytes, the wasmtime version and the engine's
//! compatibility hash, so a restart with unchanged components skips it.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::bindings::SpinCapabilities;
use crate::clock::TestClock;
use crate::manifest::{App, DEFAULT_LABEL};
use crate::state::{ComponentContext, HostState, Services};
use crate::{db, kv, sqlite};

/// The wasmtime version compiled artefacts belong to (pinned in Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// How often the epoch advances: the granularity of deadlines and of the
/// yields that keep a busy guest from monopolising an executor thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine tuning; the defaults suit the app's components on a small node.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Concurrent component instances (requests in flight) the pool holds;
    /// 1000 as in Spin. Slots are address-space reservations, not memory:
    /// idle slots cost nothing.
    pub max_instances: u32,
    /// Largest linear memory one instance may grow to.
    pub max_memory_bytes: usize,
    /// Bytes of each linear memory kept resident between instances.
    pub memory_keep_resident: usize,
    /// Bytes of each table kept resident between instances.
    pub table_keep_resident: usize,
    /// Reset only dirtied pages where the kernel supports `PAGEMAP_SCAN`.
    pub pagemap_scan: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instances: 1000,
            max_memory_bytes: 128 << 20,
            memory_keep_resident: 2 << 20,
            table_keep_resident: 64 << 10,
            pagemap_scan: true,
        }
    }
}

/// Where the state lives and whether compiled code is cached.
#[derive(Debug, Clone)]
pub struct StateOptions {
    /// `--state-dir`: databases and logs.
    pub state_dir: PathBuf,
    /// Compiled-component cache directory; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// `--test-clock`.
    pub test_clock: bool,
    /// `--runtime-config-file`: where the stores live (Spin's keys).
    pub runtime_config: crate::runtime_config::RuntimeConfig,
}

/// A component ready to instantiate per request.
pub struct LoadedComponent {
    /// Configuration, log files and permissions.
    pub context: Arc<ComponentContext>,
    /// The pre-instantiated component.
    pub pre: ProxyPre<HostState>,
}

/// Everything needed to serve the app.
pub struct Runtime {
    /// The engine (shared with the epoch ticker).
    pub engine: Engine,
    /// Components by id.
    pub components: HashMap<String, LoadedComponent>,
    /// Shared databases and clock.
    pub services: Arc<Services>,
    /// How each distinct source was obtained, for the start-up report.
    pub compile_report: Vec<CompileReport>,
}

/// How one `.wasm` file became machine code.
#[derive(Debug, Clone)]
pub struct CompileReport {
    /// The source file.
    pub source: PathBuf,
    /// Whether the cache was used.
    pub outcome: CacheOutcome,
    /// Time spent.
    pub elapsed: Duration,
}

/// Whether a component came from the compilation cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache.
    Hit,
    /// Compiled and written to the cache.
    Miss,
    /// Compiled; the cache is disabled.
    Disabled,
}

/// Start-up failures after the manifest itself checked out.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The engine configuration was refused.
    #[error("cannot create the wasmtime engine: {0:#}")]
    Engine(wasmtime::Error),
    /// A source could not be read.
    #[error("component {component:?}: source: cannot read {path}: {source}")]
    Read {
        /// Component id.
        component: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A source is not a valid component.
    #[error("component {component:?}: source {path}: cannot compile: {error:#}")]
    Compile {
        /// Component id.
        component: String,
        /// The file.
        path: PathBuf,
        /// wasmtime's error.
        error: wasmtime::Error,
    },
    /// The component imports something this host does not provide, or does
    /// not export `wasi:http/incoming-handler`.
    #[error("component {component:?}: cannot be linked: {error:#}")]
    Link {
        /// Component id.
        component: String,
        /// wasmtime's error.
        error: wasmtime::Error,
    },
    /// The state directory or a log file cannot be created.
    #[error("{path}: {source}")]
    State {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A database cannot be opened.
    #[error(transparent)]
    Database(#[from] db::DbError),
    /// A store named by the runtime configuration cannot be used.
    #[error("runtime configuration: {0}")]
    Store(String),
}

/// Creates the engine with the pooling allocator and epoch interruption.
pub fn engine(options: &EngineOptions) -> Result<Engine, StartError> {
    let mut pool = PoolingAllocationConfig::new();
    let instances = options.max_instances;
    pool.total_component_instances(instances);
    // A Rust wasip2 component instantiates a handful of core modules (the
    // program plus small shims); leave ample room for them.
    pool.total_core_instances(instances * 8);
    pool.total_memories(instances * 2);
    pool.total_tables(instances * 4);
    pool.total_stacks(instances);
    pool.max_memory_size(options.max_memory_bytes);
    pool.linear_memory_keep_resident(options.memory_keep_resident);
    pool.table_keep_resident(options.table_keep_resident);
    // With PAGEMAP_SCAN (Linux 6.7+) only the pages an instance dirtied are
    // reset, instead of memset-ing the whole keep-resident prefix (which,
    // with a Rust guest's 1 MiB stack at the bottom of memory, is over a
    // megabyte per request).
    pool.pagemap_scan(if options.pagemap_scan {
        Enabled::Auto
    } else {
        Enabled::No
    });

    let mut config = Config::new();
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(StartError::Engine)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] for the life of the
/// process.
pub fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn epoch ticker");
}

/// The linker every component is pre-instantiated against: all of WASI 0.2,
/// the wasi:http client and types, and the three Spin interfaces.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    SpinCapabilities::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Compiles (or loads from cache), links and pre-instantiates every
/// component, and opens the databases the manifest grants.
pub fn load(app: &App, engine: &Engine, state: &StateOptions) -> Result<Runtime, StartError> {
    let state_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StartError::State { path, source }
    };
    let logs = state.state_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(state_err(&logs))?;
    if let Some(cache) = &state.cache_dir {
        std::fs::create_dir_all(cache).map_err(state_err(cache))?;
    }

    let linker = linker(engine).map_err(StartError::Engine)?;
    let mut compiled: HashMap<PathBuf, Component> = HashMap::new();
    let mut compile_report = Vec::new();
    let mut components = HashMap::new();
    for config in &app.components {
        let component = match compiled.get(&config.source) {
            Some(c) => c.clone(),
            None => {
                let started = Instant::now();
                let (c, outcome) = compile(
                    engine,
                    &config.id,
                    &config.source,
                    state.cache_dir.as_deref(),
                )?;
                compile_report.push(CompileReport {
                    source: config.source.clone(),
                    outcome,
                    elapsed: started.elapsed(),
                });
                compiled.insert(config.source.clone(), c.clone());
                c
            }
        };
        let link_err = |error| StartError::Link {
            component: config.id.clone(),
            error,
        };
        let pre = linker.instantiate_pre(&component).map_err(link_err)?;
        let pre = ProxyPre::new(pre).map_err(link_err)?;

        let open_log = |suffix: &str| {
            let path = logs.join(format!("{}_{suffix}.txt", config.id));
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map(OutputFile::new)
                .map_err(state_err(&path))
        };
        let context =
            ComponentContext::new(config.clone(), open_log("stdout")?, open_log("stderr")?);
        components.insert(
            config.id.clone(),
            LoadedComponent {
                context: Arc::new(context),
                pre,
            },
        );
    }

    let wants = |f: fn(&crate::manifest::ComponentConfig) -> bool| app.components.iter().any(f);
    use crate::runtime_config::{KeyValueStore, SqliteDatabase, path_or};
    let kv = if wants(|c| c.key_value_stores.contains(DEFAULT_LABEL)) {
        Some(match &state.runtime_config.key_value {
            Some(KeyValueStore::Redis { url }) => kv::KvBackend::redis(url).map_err(|e| {
                StartError::Store(format!("[key_value_store.default] url {url:?}: {e}"))
            })?,
            Some(KeyValueStore::Spin { path }) => {
                let path = path_or(path.as_ref(), &state.state_dir, "sqlite_key_value.db");
                create_parent(&path)?;
                kv::KvBackend::Sqlite(db::Database::open(&path, kv::SCHEMA)?)
            }
            None => kv::KvBackend::Sqlite(db::Database::open(
                &state.state_dir.join("sqlite_key_value.db"),
                kv::SCHEMA,
            )?),
        })
    } else {
        None
    };
    let sqlite = if wants(|c| c.sqlite_databases.contains(DEFAULT_LABEL)) {
        let path = match &state.runtime_config.sqlite {
            Some(SqliteDatabase::Spin { path }) => {
                path_or(path.as_ref(), &state.state_dir, "sqlite_db.db")
            }
            None => state.state_dir.join("sqlite_db.db"),
        };
        create_parent(&path)?;
        Some(sqlite::open_default(&path)?)
    } else {
        None
    };
    let services = Arc::new(Services {
        kv,
        sqlite,
        clock: state.test_clock.then(TestClock::default),
        pg: Arc::default(),
    });
    Ok(Runtime {
        engine: engine.clone(),
        components,
        services,
        compile_report,
    })
}

/// Creates the directory a configured store file is in, as Spin does.
fn create_parent(path: &Path) -> Result<(), StartError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|source| StartError::State {
            path: parent.to_owned(),
            source,
        }),
        None => Ok(()),
    }
}

/// The cache file name for `wasm` under this engine.
pub fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(wasm);
    hasher.write(WASMTIME_VERSION.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher
        .0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn compile(
    engine: &Engine,
    id: &str,
    path: &Path,
    cache_dir: Option<&Path>,
) -> Result<(Component, CacheOutcome), StartError> {
    let bytes = std::fs::read(path).map_err(|source| StartError::Read {
        component: id.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    let compile_err = |error| StartError::Compile {
        component: id.to_owned(),
        path: path.to_owned(),
        error,
    };
    let Some(dir) = cache_dir else {
        let c = Component::new(engine, &bytes).map_err(compile_err)?;
        return Ok((c, CacheOutcome::Disabled));
    };
    let cached = dir.join(format!("{}.cwasm", cache_key(engine, &bytes)));
    if cached.is_file() {
        // SAFETY: files in the cache directory are written only by
        // `Component::serialize` below (atomically, via rename) for this
        // engine's compatibility hash; wasmtime still checks the header and
        // version, and a file it refuses is simply recompiled.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(c) => return Ok((c, CacheOutcome::Hit)),
            Err(e) => eprintln!(
                "edge-host: ignoring unusable cache entry {}: {e:#}",
                cached.display()
            ),
        }
    }
    let c = Component::new(engine, &bytes).map_err(compile_err)?;
    match c.serialize() {
        Ok(serialized) => {
            let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
            let written =
                std::fs::write(&tmp, &serialized).and_then(|()| std::fs::rename(&tmp, &cached));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                eprintln!(
                    "edge-host: cannot write cache entry {}: {e}",
                    cached.display()
                );
            }
        }
        Err(e) => eprintln!("edge-host: cannot serialise {}: {e:#}", path.display()),
    }
    Ok((c, CacheOutcome::Miss))
}

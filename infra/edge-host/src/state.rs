//! The per-request store data (`T` in `Store<T>`): WASI and wasi:http
//! contexts, the guest's resource table, and what the component is allowed
//! to reach. One is built for every request and dropped with its instance,
//! which is what makes a trap in one request invisible to the next.

use std::future::Future;
use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::bindings::fermyon::spin::variables;
use crate::clock::TestClock;
use crate::db::Database;
use crate::manifest::ComponentConfig;
use crate::variables::LookupError;

/// What a component may use, shared by all its requests.
pub struct ComponentContext {
    /// The checked manifest entry.
    pub config: ComponentConfig,
    /// `environment` as a list, ready for the WASI context.
    environment: Vec<(String, String)>,
    /// Guest stdout, appended to `<state-dir>/logs/<id>_stdout.txt`.
    stdout: OutputFile,
    /// Guest stderr, appended to `<state-dir>/logs/<id>_stderr.txt`.
    stderr: OutputFile,
}

impl ComponentContext {
    /// Wraps a component's configuration with its log files.
    pub fn new(config: ComponentConfig, stdout: OutputFile, stderr: OutputFile) -> Self {
        let environment = config
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            config,
            environment,
            stdout,
            stderr,
        }
    }
}

/// Host services shared by every component and request.
#[derive(Default)]
pub struct Services {
    /// The `default` key-value store, if any component lists it.
    pub kv: Option<crate::kv::KvBackend>,
    /// The `default` SQLite database, if any component lists it.
    pub sqlite: Option<Arc<Database>>,
    /// The test clock, with `--test-clock`.
    pub clock: Option<TestClock>,
    /// Idle outbound PostgreSQL clients.
    pub pg: Arc<crate::pg::PgPool>,
}

/// The data of one request's `Store`.
pub struct HostState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    gate: OutboundGate,
    component: Arc<ComponentContext>,
    services: Arc<Services>,
    /// Key-value stores this instance holds open (Spin caps them at 256).
    pub(crate) open_kv_stores: usize,
}

impl HostState {
    /// Fresh state for one request to `component`.
    pub fn new(component: Arc<ComponentContext>, services: Arc<Services>) -> Self {
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(component.stdout.clone())
            .stderr(component.stderr.clone())
            .envs(&component.environment);
        if let Some(clock) = &services.clock {
            wasi.wall_clock(clock.guest_clock());
        }
        Self {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            gate: OutboundGate {
                component: Arc::clone(&component),
            },
            component,
            services,
            open_kv_stores: 0,
        }
    }

    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    pub(crate) fn component(&self) -> &ComponentConfig {
        &self.component.config
    }

    pub(crate) fn services(&self) -> &Services {
        &self.services
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

/// Enforces `allowed_outbound_hosts` on every outgoing request.
struct OutboundGate {
    component: Arc<ComponentContext>,
}

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;
type SendFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), wasmtime_wasi_http::Error>>
        + Send,
>;

impl WasiHttpHooks for OutboundGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: IoFuture,
    ) -> SendFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https");
        let host = uri.host().unwrap_or_default();
        let config = &self.component.config;
        if !config
            .allowed_outbound_hosts
            .allows(scheme, host, uri.port_u16())
        {
            // Spin tells the operator how to fix this, not only the guest.
            eprintln!(
                "edge-host: component {:?} tried to make an HTTP request to non-allowed host \
                 {scheme}://{}; allowed_outbound_hosts = {}",
                config.id,
                uri.authority().map(|a| a.as_str()).unwrap_or_default(),
                config.allowed_outbound_hosts,
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

impl variables::Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        Ok(match self.component.config.variables.get(&name) {
            Ok(value) => Ok(value.to_owned()),
            Err(e @ LookupError::InvalidName(_)) => {
                Err(variables::Error::InvalidName(e.to_string()))
            }
            Err(e @ LookupError::Undefined(_)) => Err(variables::Error::Undefined(e.to_string())),
        })
    }
}

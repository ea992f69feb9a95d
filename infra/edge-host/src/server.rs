//! The HTTP/1.1 front: route each request to its component, hand it over the
//! way Spin does (spin-* headers, absolute URI), run a fresh instance under a
//! deadline, and turn every failure into problem+json while the node keeps
//! serving.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use crate::problem::HostProblem;
use crate::routes::{RouteMatch, Router};
use crate::runtime::{LoadedComponent, Runtime};
use crate::state::HostState;

/// The response body type: a guest's streamed body or a host-made one.
pub type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;
type GuestRequestBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// Request-handling limits.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A guest still running after this is stopped (504).
    pub deadline: Duration,
    /// Larger request bodies are refused (413) before any guest runs; `None`
    /// (the default) hands every body to the guest, as Spin does.
    pub max_body_bytes: Option<u64>,
    /// Print one line per request.
    pub log_requests: bool,
}

/// The running node: routes, components and limits.
pub struct EdgeServer {
    runtime: Runtime,
    router: Router<String>,
    options: ServeOptions,
    app_name: String,
    app_version: Option<String>,
}

/// The error a guest gets stopped with when its deadline passes.
#[derive(Debug)]
struct DeadlineExceeded;

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request deadline passed")
    }
}

impl std::error::Error for DeadlineExceeded {}

/// Why a guest produced no response.
enum Failure {
    Deadline,
    Error(wasmtime::Error),
}

const HOST_LABEL: &str = "edge-host";
const CLOCK_PATH: &str = "/_edge/clock";
const WELL_KNOWN: &str = "/.well-known/spin/";

impl EdgeServer {
    /// Assembles the server from a loaded runtime and the manifest's routes.
    pub fn new(
        runtime: Runtime,
        routes: Vec<(crate::routes::RoutePattern, String)>,
        options: ServeOptions,
        app_name: String,
        app_version: Option<String>,
    ) -> Self {
        Self {
            runtime,
            router: Router::new(routes),
            options,
            app_name,
            app_version,
        }
    }

    /// The guests' wall clock: the test clock when there is one.
    pub fn guest_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.runtime
            .services
            .clock
            .as_ref()
            .map_or_else(chrono::Utc::now, |clock| clock.now())
    }

    /// The routing table, for the start-up banner and its warnings.
    pub fn router(&self) -> &Router<String> {
        &self.router
    }

    /// Serves connections from `listener` until `shutdown` resolves, then
    /// stops accepting and waits for in-flight requests to finish.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (stream, client) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep going.
                    eprintln!("edge-host: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let server = Arc::clone(&self);
            let service = service_fn(move |req| {
                let server = Arc::clone(&server);
                async move { Ok::<_, Infallible>(server.handle(req, client).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                // Client-side resets are not the node's problem; nothing to log.
                let _ = conn.await;
            });
        }
        drop(listener);
        let grace = self.options.deadline + Duration::from_secs(5);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(grace) => {
                eprintln!("edge-host: requests still in flight after {grace:?}; stopping anyway");
            }
        }
        if let Some(kv) = &self.runtime.services.kv {
            kv.shutdown();
        }
        if let Some(db) = &self.runtime.services.sqlite {
            db.shutdown();
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, client: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let (target, response) = self.dispatch(req, client).await;
        if self.options.log_requests {
            let elapsed = started.elapsed();
            // One write per line, so concurrent requests never interleave.
            let line = format!(
                "{method} {path} {target} {} {:.3}ms\n",
                response.status().as_u16(),
                elapsed.as_secs_f64() * 1e3
            );
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
        response
    }

    async fn dispatch(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
    ) -> (String, Response<Body>) {
        let path = req.uri().path();
        if path.starts_with(WELL_KNOWN) {
            return (HOST_LABEL.into(), self.well_known(path));
        }
        if path == CLOCK_PATH && self.runtime.services.clock.is_some() {
            return (HOST_LABEL.into(), self.clock_route(req).await);
        }
        let Some(route) = self.router.route(path) else {
            return ("-".into(), not_found());
        };
        let target = route.target.clone();
        let component = &self.runtime.components[&target];
        let response = match self.prepare(req, &route, client).await {
            Ok(req) => self.run_guest(component, req).await,
            Err(problem) => problem,
        };
        (target, response)
    }

    fn well_known(&self, path: &str) -> Response<Body> {
        match &path[WELL_KNOWN.len()..] {
            "health" => text(StatusCode::OK, "OK"),
            "info" => {
                // Spin's shape: pretty JSON, name and version only.
                let mut info = serde_json::json!({ "name": self.app_name });
                if let Some(version) = &self.app_version {
                    info["version"] = version.clone().into();
                }
                let body = serde_json::to_string_pretty(&info).expect("info serialises");
                let mut r = Response::new(full(Bytes::from(body)));
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
            _ => not_found(),
        }
    }

    async fn clock_route(&self, req: Request<Incoming>) -> Response<Body> {
        let clock = self
            .runtime
            .services
            .clock
            .as_ref()
            .expect("checked by caller");
        let state = match *req.method() {
            Method::GET => clock.state(),
            Method::POST => {
                let body = match Limited::new(req.into_body(), 64 << 10).collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(_) => {
                        return host_problem(HostProblem::BadRequest, Some("unreadable body"));
                    }
                };
                match clock.apply(&body) {
                    Ok(state) => state,
                    Err(e) => return host_problem(HostProblem::BadRequest, Some(&e.to_string())),
                }
            }
            _ => return host_problem(HostProblem::MethodNotAllowed, Some("use GET or POST")),
        };
        let mut r = Response::new(full(Bytes::from(
            serde_json::to_vec(&state).expect("clock state serialises"),
        )));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }

    /// Enforces the body limit (when one is set) and adds what Spin tells a component about
    /// its request.
    async fn prepare(
        &self,
        req: Request<Incoming>,
        route: &RouteMatch<'_, String>,
        client: SocketAddr,
    ) -> Result<Request<GuestRequestBody>, Response<Body>> {
        let (mut parts, body) = req.into_parts();
        let body: GuestRequestBody = match self.options.max_body_bytes {
            None => body.boxed_unsync(),
            Some(limit) => {
                let too_large = || {
                    host_problem(
                        HostProblem::PayloadTooLarge,
                        Some(&format!("the request body exceeds {limit} bytes")),
                    )
                };
                match body.size_hint().exact() {
                    Some(len) if len > limit => return Err(too_large()),
                    // A declared length within the limit: hyper enforces it, stream it.
                    Some(_) => body.boxed_unsync(),
                    // Chunked: read up to the limit before any guest runs.
                    None => match Limited::new(body, limit as usize).collect().await {
                        Ok(collected) => Full::new(collected.to_bytes())
                            .map_err(|never: Infallible| match never {})
                            .boxed_unsync(),
                        Err(e) if e.is::<LengthLimitError>() => return Err(too_large()),
                        Err(_) => {
                            return Err(host_problem(
                                HostProblem::BadRequest,
                                Some("the request body could not be read"),
                            ));
                        }
                    },
                }
            }
        };

        // Spin hands the guest an absolute URI built from the Host header.
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let full_url = format!("http://{host}{path_and_query}");
        if let Ok(uri) = full_url.parse::<Uri>() {
            parts.uri = uri;
        } else {
            return Err(host_problem(
                HostProblem::BadRequest,
                Some("invalid Host header"),
            ));
        }
        let spin_headers = [
            ("spin-full-url", full_url.clone()),
            ("spin-path-info", route.path_info.clone()),
            ("spin-matched-route", route.route.based().to_owned()),
            ("spin-base-path", "/".to_owned()),
            ("spin-raw-component-route", route.route.raw().to_owned()),
            (
                "spin-component-route",
                route.route.raw_without_wildcard().to_owned(),
            ),
            ("spin-client-addr", client.to_string()),
        ];
        let captures = route.captures.iter().map(|(name, value)| {
            (
                format!("spin-path-match-{}", name.to_ascii_lowercase()),
                value.clone(),
            )
        });
        for (name, value) in spin_headers
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .chain(captures)
        {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                parts.headers.insert(name, value);
            }
        }
        Ok(Request::from_parts(parts, body))
    }

    async fn run_guest(
        &self,
        component: &LoadedComponent,
        req: Request<GuestRequestBody>,
    ) -> Response<Body> {
        let id = component.context.config.id.clone();
        let deadline = Instant::now() + self.options.deadline;
        let mut store = Store::new(
            &self.runtime.engine,
            HostState::new(
                Arc::clone(&component.context),
                Arc::clone(&self.runtime.services),
            ),
        );
        // Every epoch tick, a running guest yields to the executor (so a busy
        // loop cannot starve other requests) and is stopped past its deadline.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Error::new(DeadlineExceeded))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let handles = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .and_then(|req| {
                let out = store.data_mut().http().new_response_outparam(sender)?;
                Ok((req, out))
            });
        let (guest_req, out) = match handles {
            Ok(pair) => pair,
            Err(e) => return self.failed(&id, Failure::Error(e)),
        };
        let pre = component.pre.clone();
        // The instance runs in its own task: it may keep streaming the body
        // after the response head is sent, and a deadline drops it whole.
        let task = tokio::spawn(async move {
            let run = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, guest_req, out)
                    .await
            };
            match tokio::time::timeout_at(deadline.into(), run).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(Failure::Error(e)),
                Err(_) => Err(Failure::Deadline),
            }
        });
        match receiver.await {
            Ok(Ok(response)) => {
                // Failures after the head was sent can only cut the body
                // short; log them so they are not lost.
                tokio::spawn(async move {
                    if let Ok(Err(failure)) = task.await {
                        log_failure(&id, &failure, "after sending the response head");
                    }
                });
                response
            }
            Ok(Err(code)) => {
                eprintln!("edge-host: component {id:?} answered with error code {code:?}");
                host_problem(HostProblem::ComponentFailed, None)
            }
            Err(_) => {
                let failure = match task.await {
                    Ok(Ok(())) => Failure::Error(wasmtime::format_err!(
                        "the component returned without setting a response"
                    )),
                    Ok(Err(failure)) => failure,
                    Err(join) => Failure::Error(wasmtime::format_err!("host task failed: {join}")),
                };
                self.failed(&id, failure)
            }
        }
    }

    fn failed(&self, id: &str, failure: Failure) -> Response<Body> {
        log_failure(id, &failure, "");
        let secs = self.options.deadline.as_secs_f64();
        match classify(&failure) {
            HostProblem::DeadlineExceeded => host_problem(
                HostProblem::DeadlineExceeded,
                Some(&format!("the component ran longer than {secs} s")),
            ),
            problem => host_problem(problem, None),
        }
    }
}

fn classify(failure: &Failure) -> HostProblem {
    match failure {
        Failure::Deadline => HostProblem::DeadlineExceeded,
        Failure::Error(e) if e.downcast_ref::<DeadlineExceeded>().is_some() => {
            HostProblem::DeadlineExceeded
        }
        Failure::Error(e)
            if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                .is_some() =>
        {
            HostProblem::Overloaded
        }
        Failure::Error(_) => HostProblem::ComponentFailed,
    }
}

fn log_failure(id: &str, failure: &Failure, when: &str) {
    let when = if when.is_empty() {
        String::new()
    } else {
        format!(" {when}")
    };
    match failure {
        Failure::Deadline => eprintln!("edge-host: component {id:?} stopped at its deadline{when}"),
        Failure::Error(e) => eprintln!("edge-host: component {id:?} failed{when}: {e:#}"),
    }
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// What Spin answers for a path no route matches: 404 with an empty body.
fn not_found() -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn host_problem(problem: HostProblem, detail: Option<&str>) -> Response<Body> {
    problem.response(detail).map(full)
}

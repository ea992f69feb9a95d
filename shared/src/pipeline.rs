//! The request pipeline every component runs: CORS preflight, routing, the
//! handler, rendering of problems, CORS headers on the answer.
//!
//! Why one pipeline in the shared crate? So that "who is calling", "what does
//! an error look like" and "which origins may call" are answered once: a
//! component is a route table of handlers, each a single path
//! parse -> apply -> respond returning `Result<Response, Problem>`.

use crate::auth::{AuthConfig, Caller};
use crate::host::Host;
use crate::storage::{KeyValue, Sql};
use crate::web::Cors;
use crate::web::problem::Problem;
use crate::web::route::{self, Params, Route};
use chrono::{DateTime, Utc};
use spin_sdk::http::{Request, Response};

/// A handler of one route.
pub type Handler = fn(&Ctx<'_>) -> Result<Response, Problem>;

/// Everything a handler may use for one request.
pub struct Ctx<'r> {
    pub req: &'r Request,
    pub host: &'r dyn Host,
    pub params: Params<'r>,
    component: &'static str,
    /// The caller, verified once per request.
    caller: std::cell::OnceCell<Result<Caller, Problem>>,
}

impl<'r> Ctx<'r> {
    /// A path parameter of the matched route.
    pub fn param(&self, name: &str) -> &str {
        &self.params[name]
    }

    /// Now, to the millisecond every stored and served instant keeps.
    pub fn now(&self) -> DateTime<Utc> {
        crate::clock::to_millis(self.host.clock().now())
    }

    pub fn sql(&self) -> Result<&dyn Sql, Problem> {
        self.host.sql().map_err(Problem::from)
    }

    pub fn key_value(&self) -> Result<&dyn KeyValue, Problem> {
        self.host.key_value().map_err(Problem::from)
    }

    /// The verified caller. A missing `Authorization` header is `Anonymous`;
    /// a present but bad one is 401, never silently anonymous.
    pub fn caller(&self) -> Result<Caller, Problem> {
        self.caller
            .get_or_init(|| {
                let config = self.auth_config()?;
                Caller::from_request(self.req, &config, self.now()).map_err(Problem::from)
            })
            .clone()
    }

    /// A Spin variable the manifest must provide; its absence is a deployment
    /// error, logged with the component and the variable's name.
    pub fn required_variable(&self, name: &str) -> Result<String, Problem> {
        match self.host.variable(name) {
            Ok(Some(value)) if !value.is_empty() => Ok(value),
            Ok(_) => Err(self.misconfigured(name, "is not set")),
            Err(err) => Err(self.misconfigured(name, &err.to_string())),
        }
    }

    /// The secret that signs QR codes (handoff, pickup, return, identity).
    pub fn code_signing_secret(&self) -> Result<Vec<u8>, Problem> {
        self.required_variable("code_signing_secret")
            .map(String::into_bytes)
    }

    fn auth_config(&self) -> Result<AuthConfig, Problem> {
        let issuer = self.required_variable("jwt_issuer")?;
        let audience = self.required_variable("jwt_audience")?;
        let secret = self.host.variable("jwt_hs256_secret").ok().flatten();
        let pem = self.host.variable("jwt_es256_public_key").ok().flatten();
        AuthConfig::new(
            &issuer,
            &audience,
            secret.as_deref().map(str::as_bytes),
            pem.as_deref(),
        )
        .map_err(|err| {
            self.misconfigured("jwt_hs256_secret / jwt_es256_public_key", &err.to_string())
        })
    }

    fn misconfigured(&self, variable: &str, why: &str) -> Problem {
        Problem::internal(&format!(
            "component {:?}: variable {variable}: {why}",
            self.component
        ))
    }
}

/// Serves one request from `routes`.
pub fn serve(
    component: &'static str,
    routes: &[Route<Handler>],
    req: Request,
    host: &dyn Host,
) -> Response {
    let cors = Cors::from_list(
        &host
            .variable("cors_origins")
            .ok()
            .flatten()
            .unwrap_or_default(),
    );
    if let Some(preflight) = cors.preflight(&req) {
        return preflight;
    }
    let path = req.path().to_owned();
    let mut response = match route::find(routes, req.method(), &path) {
        Ok(found) => {
            let ctx = Ctx {
                req: &req,
                host,
                params: found.params,
                component,
                caller: std::cell::OnceCell::new(),
            };
            // A token that is presented must verify on every route, public
            // reads included: a client with an expired or tampered token
            // learns so (401 with WWW-Authenticate) instead of silently
            // getting the anonymous answer. No header means anonymous.
            let presented = req.header("authorization").is_some();
            match presented.then(|| ctx.caller()).transpose() {
                Err(problem) => problem.into_response(),
                Ok(_) => (found.handler)(&ctx).unwrap_or_else(Problem::into_response),
            }
        }
        Err(problem) => problem.into_response(),
    };
    cors.apply(&req, &mut response);
    response
}

/// The answer to `GET <prefix>/health`. It touches no storage on purpose: it
/// says the component is deployed and routed, which is what a load balancer
/// and the host benchmark need; storage faults show on the endpoints using it.
pub fn health_response(component: &str, version: &str) -> Response {
    let body = serde_json::json!({ "component": component, "version": version, "status": "ok" });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(body.to_string())
        .build()
}

/// The largest request body a component reads, whatever its route: the
/// bulk loads' own limits sit below it, every other route's 64 KiB limit
/// well below.
///
/// Why does the component enforce it, not the runtime? Spin hands every
/// body to the component whatever its size; a component that buffered the
/// whole body before its route's limit applied could be made to hold
/// gigabytes. So the entry point refuses a declared length over the ceiling
/// without reading a byte, and stops reading an undeclared (chunked) body
/// at the ceiling.
pub const BODY_CEILING: usize = 1024 * 1024;

#[cfg(target_arch = "wasm32")]
pub use spin_entry::{read_request, report_statements, respond, serve_spin, trace_label};

#[cfg(target_arch = "wasm32")]
mod spin_entry {
    use super::*;
    use spin_sdk::http::{IncomingRequest, OutgoingResponse, ResponseOutparam};

    /// A component's whole Spin entry point: the request read (or refused,
    /// see [`read_request`]), `handle`d with Spin's capabilities, its
    /// statements reported when traced, the answer sent.
    pub async fn serve_spin(
        incoming: IncomingRequest,
        out: ResponseOutparam,
        handle: fn(Request, &dyn Host) -> Response,
    ) {
        let host = crate::host::SpinHost::default();
        let response = match read_request(incoming, &host) {
            Ok(req) => {
                let trace = trace_label(&req);
                let response = handle(req, &host);
                report_statements(trace, *response.status());
                response
            }
            Err(refused) => refused,
        };
        respond(out, response).await;
    }

    /// The request as a [`Request`] with its whole body, or the answer when
    /// the body is over [`BODY_CEILING`] (413, with CORS headers so a
    /// storefront can read it) or unreadable (400).
    pub fn read_request(incoming: IncomingRequest, host: &dyn Host) -> Result<Request, Response> {
        let head = Request::builder()
            .method(incoming.method())
            .uri(incoming.uri())
            .headers(incoming.headers())
            .build();
        let declared = head
            .header("content-length")
            .and_then(|v| v.as_str())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > BODY_CEILING as u64) {
            return Err(refuse(
                &head,
                host,
                Problem::payload_too_large(BODY_CEILING),
            ));
        }
        let body = match read_body(&incoming) {
            Ok(body) => body,
            Err(problem) => return Err(refuse(&head, host, problem)),
        };
        let mut request = head;
        *request.body_mut() = body;
        Ok(request)
    }

    /// Reads the body in chunks, stopping past the ceiling.
    fn read_body(incoming: &IncomingRequest) -> Result<Vec<u8>, Problem> {
        use wasi::io::streams::StreamError;
        let unreadable = || Problem::bad_request("the request body could not be read");
        let Ok(body) = incoming.consume() else {
            return Ok(Vec::new());
        };
        let stream = body.stream().map_err(|()| unreadable())?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > BODY_CEILING {
                        return Err(Problem::payload_too_large(BODY_CEILING));
                    }
                }
                Err(StreamError::Closed) => return Ok(bytes),
                Err(StreamError::LastOperationFailed(_)) => return Err(unreadable()),
            }
        }
    }

    fn refuse(head: &Request, host: &dyn Host, problem: Problem) -> Response {
        let mut response = problem.into_response();
        let cors = Cors::from_list(
            &host
                .variable("cors_origins")
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
        cors.apply(head, &mut response);
        response
    }

    /// With `OMNI_SQL_TRACE=1` in the component's environment, the request's
    /// `METHOD path` (query left out) to report its statements under.
    pub fn trace_label(request: &Request) -> Option<String> {
        crate::storage::spin::take_statement_counts();
        std::env::var("OMNI_SQL_TRACE")
            .is_ok_and(|v| v == "1")
            .then(|| format!("{} {}", request.method(), request.path()))
    }

    /// Logs, to the component's stderr, the statements the request ran.
    pub fn report_statements(label: Option<String>, status: u16) {
        if let Some(label) = label {
            let (all, locked) = crate::storage::spin::take_statement_counts();
            eprintln!(
                "sql-trace {label} {status}: {all} statements, {locked} holding the write lock"
            );
        }
    }

    /// Sends `response` whole through the outparam: once this returns, the
    /// client has the complete answer (pickups delivers notices after it).
    pub async fn respond(out: ResponseOutparam, mut response: Response) {
        let body = std::mem::take(response.body_mut());
        match OutgoingResponse::try_from(response) {
            Ok(outgoing) => {
                if let Err(e) = out.set_with_body(outgoing, body).await {
                    eprintln!("sending the response: {e}");
                }
            }
            Err(e) => eprintln!("converting the response: {e}"),
        }
    }
}

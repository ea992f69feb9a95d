//! Spin's side of the outbound port: wasi:http 0.2 outgoing requests,
//! limited by the manifest's `allowed_outbound_hosts` (push services and the
//! gateway are added there per deployment).
//!
//! Why not `spin_sdk::http::send`? It streams the body without a
//! `Content-Length` (chunked: a push service that reads the declared length
//! reads nothing) and sets no timeouts, so one receiver that never answers
//! holds the instance until the runtime kills it. Here every request
//! declares its length, carries connect and first-byte timeouts
//! (`request-options`), and several are in flight at once: the instance
//! polls all their futures and a deadline together.

use omni_shared::notify::{Outbound, OutboundError, OutboundRequest, OutboundResponse, Timeouts};

/// Sends through the host's wasi:http outgoing handler.
pub struct SpinOutbound;

impl Outbound for SpinOutbound {
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        self.send_all(std::slice::from_ref(request), Timeouts::default())
            .pop()
            .unwrap_or_else(|| Err(OutboundError::Transport("no answer".into())))
    }

    fn send_all(
        &self,
        requests: &[OutboundRequest],
        timeouts: Timeouts,
    ) -> Vec<Result<OutboundResponse, OutboundError>> {
        #[cfg(target_arch = "wasm32")]
        return wasi_http::send_all(requests, timeouts);
        // Natively there is no wasi:http to send through (tests use
        // RecordingOutbound); say so rather than pretend.
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = timeouts;
            requests
                .iter()
                .map(|r| {
                    Err(OutboundError::Transport(format!(
                        "{}: outbound HTTP needs a Spin runtime",
                        host_of(&r.url)
                    )))
                })
                .collect()
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod wasi_http {
    use super::*;
    use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
    use spin_sdk::wit::wasi::http0_2_0::types::{
        ErrorCode, Fields, FutureIncomingResponse, Method, OutgoingBody, OutgoingRequest,
        RequestOptions, Scheme,
    };

    /// One request in flight, or its answer already.
    enum Flight {
        Waiting(FutureIncomingResponse),
        Done(Result<OutboundResponse, OutboundError>),
    }

    pub fn send_all(
        requests: &[OutboundRequest],
        timeouts: Timeouts,
    ) -> Vec<Result<OutboundResponse, OutboundError>> {
        let mut flights: Vec<Flight> = requests
            .iter()
            .map(|r| start(r, timeouts).map_or_else(|e| Flight::Done(Err(e)), Flight::Waiting))
            .collect();
        let deadline = wasi::clocks::monotonic_clock::subscribe_duration(nanos(timeouts.total));
        loop {
            let waiting: Vec<usize> = (0..flights.len())
                .filter(|i| matches!(flights[*i], Flight::Waiting(_)))
                .collect();
            if waiting.is_empty() || deadline.ready() {
                break;
            }
            let pollables: Vec<wasi::io::poll::Pollable> = waiting
                .iter()
                .map(|i| match &flights[*i] {
                    Flight::Waiting(future) => future.subscribe(),
                    Flight::Done(_) => unreachable!("only waiting flights"),
                })
                .collect();
            let mut refs: Vec<&wasi::io::poll::Pollable> = pollables.iter().collect();
            refs.push(&deadline);
            wasi::io::poll::poll(&refs);
            drop(refs);
            drop(pollables);
            for i in waiting {
                if let Flight::Waiting(future) = &flights[i]
                    && let Some(answer) = future.get()
                {
                    flights[i] = Flight::Done(match answer {
                        Ok(Ok(response)) => Ok(OutboundResponse {
                            status: response.status(),
                        }),
                        Ok(Err(code)) => Err(error(&requests[i].url, code)),
                        Err(()) => Err(OutboundError::Transport(
                            "the answer was already taken".into(),
                        )),
                    });
                }
            }
        }
        flights
            .into_iter()
            .zip(requests)
            .map(|(flight, request)| match flight {
                Flight::Done(answer) => answer,
                // Dropping the future cancels the request.
                Flight::Waiting(_) => Err(OutboundError::Transport(format!(
                    "{} did not answer within {} ms",
                    host_of(&request.url),
                    timeouts.total.as_millis()
                ))),
            })
            .collect()
    }

    fn nanos(d: std::time::Duration) -> u64 {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Sends the head, then the whole body with its declared length.
    fn start(
        request: &OutboundRequest,
        timeouts: Timeouts,
    ) -> Result<FutureIncomingResponse, OutboundError> {
        let bad = |what: &str| OutboundError::Transport(format!("{what} of {}", request.url));
        let (scheme, rest) = request
            .url
            .split_once("://")
            .ok_or_else(|| bad("no scheme"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let mut headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
            .collect();
        headers.push((
            "content-length".into(),
            request.body.len().to_string().into_bytes(),
        ));
        let fields = Fields::from_list(&headers).map_err(|e| bad(&format!("headers ({e:?})")))?;
        let outgoing = OutgoingRequest::new(fields);
        outgoing
            .set_method(&Method::Post)
            .map_err(|()| bad("method"))?;
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => Scheme::Other(other.to_owned()),
        };
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| bad("scheme"))?;
        outgoing
            .set_authority(Some(authority))
            .map_err(|()| bad("authority"))?;
        outgoing
            .set_path_with_query(Some(path))
            .map_err(|()| bad("path"))?;
        let body = outgoing.body().map_err(|()| bad("body"))?;
        let options = RequestOptions::new();
        // A host that does not support a timeout keeps its own; the
        // deadline in `send_all` still bounds the wait.
        let _ = options.set_connect_timeout(Some(nanos(timeouts.connect)));
        let _ = options.set_first_byte_timeout(Some(nanos(timeouts.total)));
        let _ = options.set_between_bytes_timeout(Some(nanos(timeouts.total)));
        let future = outgoing_handler::handle(outgoing, Some(options))
            .map_err(|code| error(&request.url, code))?;
        {
            let stream = body.write().map_err(|()| bad("body stream"))?;
            for chunk in request.body.chunks(4096) {
                stream.blocking_write_and_flush(chunk).map_err(|e| {
                    OutboundError::Transport(format!(
                        "sending the body to {}: {e}",
                        host_of(&request.url)
                    ))
                })?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|code| error(&request.url, code))?;
        Ok(future)
    }

    fn error(url: &str, code: ErrorCode) -> OutboundError {
        match code {
            ErrorCode::HttpRequestDenied => {
                OutboundError::Denied(format!("{} is not in allowed_outbound_hosts", host_of(url)))
            }
            other => OutboundError::Transport(format!("{}: {other:?}", host_of(url))),
        }
    }
}

fn host_of(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url)
}

//! Spin's side of the outbound port: `spin_sdk::http::send`, limited by the
//! manifest's `allowed_outbound_hosts` (push services and the gateway are
//! added there per deployment), and the streaming response the entry point
//! completes before delivering.

use omni_shared::notify::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use spin_sdk::http::{ErrorCode, Method, OutgoingResponse, Request, Response, ResponseOutparam, SendError};

/// Sends through the host's wasi:http outgoing handler.
pub struct SpinOutbound;

impl Outbound for SpinOutbound {
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let mut builder = Request::builder();
        builder.method(Method::Post).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder.header(name.as_str(), value.as_str());
        }
        builder.body(request.body.clone());
        // The response body is read and dropped: only the status decides.
        let sent: Result<Response, SendError> = spin_sdk::http::run(spin_sdk::http::send(builder.build()));
        match sent {
            Ok(response) => Ok(OutboundResponse { status: *response.status() }),
            Err(SendError::Http(ErrorCode::HttpRequestDenied)) => {
                Err(OutboundError::Denied(format!("{} is not in allowed_outbound_hosts", host_of(&request.url))))
            }
            // A host outside allowed_outbound_hosts often shows up here
            // first, as the request body's stream closing.
            Err(SendError::Io(e)) => Err(OutboundError::Transport(format!(
                "the request to {} could not be sent ({e}); is the host in allowed_outbound_hosts?",
                host_of(&request.url)
            ))),
            Err(e) => Err(OutboundError::Transport(e.to_string())),
        }
    }
}

fn host_of(url: &str) -> &str {
    url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or(url)
}

/// Sends `response` whole through `out`: once this returns, the client has
/// the complete answer.
pub async fn respond(out: ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    match OutgoingResponse::try_from(response) {
        Ok(outgoing) => {
            if let Err(e) = out.set_with_body(outgoing, body).await {
                eprintln!("pickups: sending the response: {e}");
            }
        }
        Err(e) => eprintln!("pickups: converting the response: {e}"),
    }
}

//! The requests in flight: lists, one request, control answers, errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ControlAction, Direction, Timestamp};

/// Who answered: carried by every list.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// When the answer was made (RFC 3339).
    pub server_time: Timestamp,
    /// The process id.
    pub pid: u32,
    /// The host name.
    pub host: String,
    /// The service name.
    pub service: String,
}

/// `GET /requests`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RequestList {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// The requests, after filters, sort and limit.
    pub requests: Vec<Request>,
}

/// One request in flight.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Request {
    /// Unique in the process.
    pub id: u64,
    /// The W3C trace it belongs to: 32 lowercase hex digits.
    #[serde(default)]
    pub trace_id: String,
    /// Its own span: 16 lowercase hex digits. An outbound call sends it in `traceparent`,
    /// so the request it causes in the next service has it as `parent_span_id`.
    #[serde(default)]
    pub span_id: String,
    /// The span that caused it: for an inbound request, the outbound call of the service
    /// that sent it; for an outbound call, the inbound request it was made for. `None`
    /// for the first request of a trace.
    #[serde(default)]
    pub parent_span_id: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Direction,
    /// The method.
    pub method: String,
    /// The target, redacted.
    pub uri: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: String,
    /// The client's address, when known.
    pub peer: Option<String>,
    /// The route pattern, when known.
    pub route: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: Timestamp,
    /// Time in flight at `server_time`, in milliseconds.
    pub elapsed_ms: f64,
    /// What it is doing.
    pub status: String,
    /// Time in that status, in milliseconds.
    pub status_elapsed_ms: f64,
    /// Status transitions, oldest first; only in `GET /requests/{id}` and `/recent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Transition>>,
    /// Older transitions dropped to keep the history bounded.
    pub history_dropped: u64,
    /// Attributes set by the handler.
    pub attributes: BTreeMap<String, String>,
    /// The inbound request an outbound call was made for.
    pub parent: Option<u64>,
    /// The outbound calls of an inbound request still in flight.
    pub children: Vec<u64>,
    /// Bytes received (see the core's `EntrySnapshot::bytes_in`).
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Milliseconds since the last sign of progress.
    pub idle_ms: f64,
    /// The response status, once there is a response head.
    pub response_status: Option<u16>,
    /// An operator asked it to cancel.
    pub cancel_requested: bool,
    /// It forbids cancelling and terminating.
    pub cancel_forbidden: bool,
    /// What the operator said when cancelling or terminating.
    pub control_message: Option<String>,
    /// Milliseconds after its start at which its caller stops waiting (a gRPC call's
    /// `grpc-timeout`); `None` without a deadline.
    #[serde(default)]
    pub deadline_ms: Option<f64>,
    /// Still in flight after its deadline.
    #[serde(default)]
    pub past_deadline: bool,
    /// Nobody waits for it any more: an outbound call whose inbound request has ended.
    #[serde(default)]
    pub orphan: bool,
}

/// One status transition.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Transition {
    /// The status entered.
    pub status: String,
    /// When (RFC 3339).
    pub at: Timestamp,
    /// Milliseconds after the request started.
    pub offset_ms: f64,
}

/// `GET /requests/{id}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RequestReply {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// The request, with its history.
    pub request: Request,
}

/// `DELETE /requests/{id}` and `POST /requests/{id}/cancel`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ControlReply {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// `terminate` or `cancel`.
    pub action: ControlAction,
    /// The request as it was before.
    pub request: Request,
    /// For a cancel: milliseconds until it is terminated if still in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_ms: Option<f64>,
}

/// An error answer: `{"error": "..."}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// What went wrong and what to do about it.
    pub error: String,
}

impl RequestList {
    /// A list from who answered and the requests.
    pub fn new(origin: Origin, requests: Vec<Request>) -> RequestList {
        RequestList { origin, requests }
    }
}

impl RequestReply {
    /// A reply from who answered and the request.
    pub fn new(origin: Origin, request: Request) -> RequestReply {
        RequestReply { origin, request }
    }
}

impl ControlReply {
    /// A reply from who answered, what was done, the request as it was before, and a
    /// cancel's grace.
    pub fn new(
        origin: Origin,
        action: ControlAction,
        request: Request,
        grace_ms: Option<f64>,
    ) -> ControlReply {
        ControlReply {
            origin,
            action,
            request,
            grace_ms,
        }
    }
}

impl ErrorBody {
    /// `{"error": error}`.
    pub fn new(error: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_reads_and_writes_the_apis_json() {
        let json = json!({
            "server_time": "2026-11-29T20:00:01.500Z",
            "pid": 7, "host": "h", "service": "s",
            "requests": [{
                "id": 41, "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331", "parent_span_id": null,
                "direction": "outbound", "method": "GET", "uri": "/a", "version": "HTTP/1.1",
                "peer": null, "route": null, "started_at": "2026-11-29T20:00:00.000Z",
                "elapsed_ms": 1500.0, "status": "awaiting", "status_elapsed_ms": 2.5,
                "history": [{"status": "awaiting", "at": "2026-11-29T20:00:01.250Z",
                             "offset_ms": 1250.0}],
                "history_dropped": 0, "attributes": {"k": "v"}, "parent": 3,
                "children": [], "bytes_in": 1, "bytes_out": 2, "idle_ms": 0.5,
                "response_status": null, "cancel_requested": false,
                "cancel_forbidden": false, "control_message": null, "deadline_ms": null,
                "past_deadline": false, "orphan": true
            }]
        });
        let list: RequestList = serde_json::from_value(json.clone()).unwrap();
        let request = &list.requests[0];
        assert_eq!(request.direction, Direction::Outbound);
        assert_eq!(request.started_at.to_string(), "2026-11-29T20:00:00.000Z");
        assert_eq!(
            list.origin.server_time.to_string(),
            "2026-11-29T20:00:01.500Z"
        );
        assert_eq!(serde_json::to_value(&list).unwrap(), json);
    }

    #[test]
    fn a_newer_servers_direction_still_reads() {
        let mut request = serde_json::to_value(Request::default()).unwrap();
        request["direction"] = json!("batch");
        request["a_field_from_later"] = json!(1);
        let request: Request = serde_json::from_value(request).unwrap();
        assert_eq!(request.direction, Direction::Unknown);
    }

    #[test]
    fn an_error_body() {
        let body = serde_json::to_string(&ErrorBody::new("no such request")).unwrap();
        assert_eq!(body, r#"{"error":"no such request"}"#);
    }
}

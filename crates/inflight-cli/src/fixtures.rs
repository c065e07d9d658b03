//! Requests as admin ports list them, for the unit tests of the commands that join
//! endpoints.

use std::collections::BTreeMap;

use inflight_core::wire::Request;

/// The trace of the fixtures.
pub(crate) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A request of [`TRACE`] with span `span` (16 hex digits made from the number) and
/// `parent_span`, `age_ms` old.
pub(crate) fn request(id: u64, direction: &str, span: u64, parent_span: Option<u64>) -> Request {
    Request {
        id,
        trace_id: TRACE.into(),
        span_id: format!("{span:016x}"),
        parent_span_id: parent_span.map(|span| format!("{span:016x}")),
        direction: direction.into(),
        method: "GET".into(),
        uri: if direction == "outbound" {
            "http://store:3002/blob/1".into()
        } else {
            "/fetch/1".into()
        },
        version: "HTTP/1.1".into(),
        peer: None,
        route: None,
        started_at: "2026-11-29T20:00:00.000Z".into(),
        elapsed_ms: 1000.0,
        status: "in handler".into(),
        status_elapsed_ms: 1000.0,
        history: None,
        history_dropped: 0,
        attributes: BTreeMap::new(),
        parent: None,
        children: Vec::new(),
        bytes_in: 0,
        bytes_out: 0,
        idle_ms: 0.0,
        response_status: None,
        cancel_requested: false,
        cancel_forbidden: false,
        control_message: None,
        deadline_ms: None,
        past_deadline: false,
        orphan: false,
    }
}

/// `request` with an age and, for an outbound call, its parent's id.
pub(crate) fn aged(mut request: Request, elapsed_ms: f64, parent: Option<u64>) -> Request {
    request.elapsed_ms = elapsed_ms;
    request.status_elapsed_ms = elapsed_ms;
    request.parent = parent;
    request
}

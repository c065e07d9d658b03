//! Requests as admin ports list them, for the unit tests of the commands that join
//! endpoints.

use inflight_wire::{Direction, Request};

/// The trace of the fixtures.
pub(crate) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A request of [`TRACE`] with span `span` (16 hex digits made from the number) and
/// `parent_span`, `age_ms` old.
pub(crate) fn request(id: u64, direction: &str, span: u64, parent_span: Option<u64>) -> Request {
    let direction = match direction {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        _ => Direction::Unknown,
    };
    let mut request = Request::default();
    request.id = id;
    request.trace_id = TRACE.into();
    request.span_id = format!("{span:016x}");
    request.parent_span_id = parent_span.map(|span| format!("{span:016x}"));
    request.direction = direction;
    request.method = "GET".into();
    request.uri = if direction == Direction::Outbound {
        "http://store:3002/blob/1".into()
    } else {
        "/fetch/1".into()
    };
    request.version = "HTTP/1.1".into();
    request.started_at = "2026-11-29T20:00:00.000Z".parse().unwrap();
    request.elapsed_ms = 1000.0;
    request.status = "in handler".into();
    request.status_elapsed_ms = 1000.0;
    request
}

/// `request` with an age and, for an outbound call, its parent's id.
pub(crate) fn aged(mut request: Request, elapsed_ms: f64, parent: Option<u64>) -> Request {
    request.elapsed_ms = elapsed_ms;
    request.status_elapsed_ms = elapsed_ms;
    request.parent = parent;
    request
}

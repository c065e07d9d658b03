//! The table's values in the admin API's JSON types: the one place that knows both
//! `inflight-core` and `inflight-wire`, which know nothing of each other.

use inflight_core::{Direction, Ending, EntrySnapshot, Finished, KeptRequest, StatusChange};
use inflight_wire::{FinishedRequest, Timestamp, millis};

/// The wire form of a snapshot entry; `history` says whether to include its status
/// history (`GET /requests/{id}`, `/recent` and `/traces` do, lists do not).
pub fn request(entry: &EntrySnapshot, history: bool) -> inflight_wire::Request {
    let mut request = inflight_wire::Request::default();
    request.id = entry.id;
    request.trace_id = entry.trace_id.to_string();
    request.span_id = entry.span_id.to_string();
    request.parent_span_id = entry.parent_span_id.map(|span| span.to_string());
    request.direction = direction(entry.direction);
    request.method = entry.method.to_string();
    request.uri = entry.uri.clone();
    request.version = format!("{:?}", entry.version);
    request.peer = entry.peer.map(|peer| peer.to_string());
    request.route = entry.route.clone();
    request.started_at = Timestamp::from(entry.started_at);
    request.elapsed_ms = millis(entry.age);
    request.status = entry.status.clone();
    request.status_elapsed_ms = millis(entry.status_age);
    request.history = history.then(|| entry.history.iter().map(transition).collect());
    request.history_dropped = entry.history_dropped;
    request.attributes = entry.attributes.iter().cloned().collect();
    request.parent = entry.parent;
    request.children = entry.children.clone();
    request.bytes_in = entry.bytes_in;
    request.bytes_out = entry.bytes_out;
    request.idle_ms = millis(entry.idle);
    request.response_status = entry.response_status.map(|status| status.as_u16());
    request.cancel_requested = entry.cancel_requested;
    request.cancel_forbidden = entry.cancel_forbidden;
    request.control_message = entry.control_message.clone();
    request.deadline_ms = entry.deadline.map(millis);
    request.past_deadline = entry.past_deadline;
    request.orphan = entry.orphan;
    request
}

/// The wire form of a kept request: whole when its copy was kept (a failed, terminated
/// or dropped-early request), else compact, its history the time per status.
pub(crate) fn kept(kept: &KeptRequest) -> FinishedRequest {
    if let Some(finished) = &kept.detail {
        return finished_request(finished);
    }
    // What a record does not keep stays at its default: no version, peer, parent,
    // attributes or children, byte counts 0.
    let mut request = inflight_wire::Request::default();
    request.id = kept.id;
    request.trace_id = kept.trace.trace_id.to_string();
    request.span_id = kept.trace.span_id.to_string();
    request.parent_span_id = kept.trace.parent_span_id.map(|span| span.to_string());
    request.direction = direction(kept.direction);
    request.method = kept.method.to_string();
    request.uri = kept.uri.clone();
    request.route = kept.routed.then(|| kept.family.to_string());
    request.started_at = Timestamp::from(kept.started_at);
    request.elapsed_ms = millis(kept.duration);
    request.status = kept.ending.as_str().to_owned();
    request.response_status = kept.response_status.map(|status| status.as_u16());
    request.history = Some(
        kept.history()
            .map(|(status, offset)| {
                let mut transition = inflight_wire::Transition::default();
                transition.status = status.to_owned();
                transition.at = Timestamp::from(kept.started_at + offset);
                transition.offset_ms = millis(offset);
                transition
            })
            .collect(),
    );
    let mut finished = FinishedRequest::default();
    finished.request = request;
    finished.ending = ending(kept.ending);
    finished.ended_at = Timestamp::from(kept.ended_at);
    finished.duration_ms = millis(kept.duration);
    finished
}

/// The wire form of a whole copy of a request that ended.
pub(crate) fn finished_request(finished: &Finished) -> FinishedRequest {
    let mut wire = FinishedRequest::default();
    wire.request = request(&finished.entry, true);
    wire.ending = ending(finished.ending);
    wire.ended_at = Timestamp::from(finished.ended_at);
    wire.duration_ms = millis(finished.duration);
    wire.grpc_status = finished.grpc_status.as_ref().map(|status| status.code);
    wire.grpc_message = finished
        .grpc_status
        .as_ref()
        .and_then(|status| status.message.clone());
    wire
}

fn transition(change: &StatusChange) -> inflight_wire::Transition {
    let mut transition = inflight_wire::Transition::default();
    transition.status = change.status.clone();
    transition.at = Timestamp::from(change.at);
    transition.offset_ms = millis(change.offset);
    transition
}

/// A request's direction as the API writes it.
pub fn direction(direction: Direction) -> inflight_wire::Direction {
    match direction {
        Direction::Inbound => inflight_wire::Direction::Inbound,
        Direction::Outbound => inflight_wire::Direction::Outbound,
        Direction::Work => inflight_wire::Direction::Work,
    }
}

/// How a request ended, as the API writes it.
pub fn ending(ending: Ending) -> inflight_wire::Ending {
    match ending {
        Ending::Completed => inflight_wire::Ending::Completed,
        Ending::Failed => inflight_wire::Ending::Failed,
        Ending::BodyFailed => inflight_wire::Ending::BodyFailed,
        Ending::DroppedEarly => inflight_wire::Ending::DroppedEarly,
        Ending::Terminated => inflight_wire::Ending::Terminated,
        // The table's `Ending` is non-exhaustive; a new ending needs a wire value first
        // (the test below checks that every ending has one).
        _ => inflight_wire::Ending::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ending_keeps_its_string() {
        for core in Ending::ALL {
            assert_eq!(ending(core).as_str(), core.as_str());
        }
        for core in Direction::ALL {
            assert_eq!(direction(core).as_str(), core.as_str());
        }
    }
}

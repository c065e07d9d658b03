//! `GET /traces/{id}`: what this process has of one trace, in flight and recently
//! ended; and the trace ids clients send, for it and for `/requests?trace=`.

use std::collections::HashSet;

use http::StatusCode;
use inflight_core::TraceId;
use inflight_wire::{FinishedWindow, TraceReply};

use crate::reply::{Failure, Reply, json};
use crate::state::State;
use crate::to_wire;

/// A trace id as a client sends it: 32 hex digits, either case.
///
/// `Ok(None)` is the all-zero id: well formed, but W3C reserves it for "no trace", so it
/// matches nothing.
pub(crate) fn parse_trace_id(text: &str) -> Result<Option<TraceId>, String> {
    if text.len() != 32 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(format!(
            "a trace id is 32 hex digits, like 4bf92f3577b34da6a3ce929d0e0e4736; not {text:?}"
        ));
    }
    Ok(text.parse().ok())
}

pub(crate) fn trace(state: &State, id: &str) -> Result<Reply, Failure> {
    let trace = parse_trace_id(id).map_err(Failure::bad_request)?;
    let table = &state.config.table;
    let mut requests = Vec::new();
    let mut finished = Vec::new();
    let kept = match trace {
        Some(trace) => {
            // In flight first, then what ended: a request that ends in between is then
            // in both, and shown as ended, rather than in neither.
            let in_flight: Vec<u64> = table
                .snapshot_summary()
                .entries
                .iter()
                .filter(|entry| entry.trace_id == trace)
                .map(|entry| entry.id)
                .collect();
            // Only this trace's requests are copied with their histories.
            let mut entries: Vec<_> = in_flight
                .into_iter()
                .filter_map(|id| table.get(id))
                .collect();
            let kept = table.kept_in_trace(trace);
            let mut hops: Vec<_> = kept.requests.iter().collect();
            hops.sort_by_key(|hop| (hop.started_at, hop.id));
            finished = hops.iter().map(|hop| to_wire::kept(hop)).collect();
            let ended: HashSet<u64> = hops.iter().map(|hop| hop.id).collect();
            entries.retain(|entry| !ended.contains(&entry.id));
            entries.sort_by_key(|entry| (entry.started_at, entry.id));
            requests = entries
                .iter()
                .map(|entry| to_wire::request(entry, true))
                .collect();
            kept
        }
        None => table.kept_counts(),
    };
    let mut window = FinishedWindow::default();
    window.capacity = kept.capacity as u64;
    window.max_age_seconds = kept.keep_for.as_secs_f64();
    window.held = kept.held as u64;
    window.ended = kept.ended;
    window.kept = kept.kept;
    let mut reply = TraceReply::default();
    reply.origin = state.origin();
    reply.trace_id = trace.map_or_else(|| id.to_ascii_lowercase(), |trace| trace.to_string());
    reply.requests = requests;
    reply.finished = finished;
    reply.finished_window = window;
    Ok(json(StatusCode::OK, &reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_trace_ids() {
        let known = "4bf92f3577b34da6a3ce929d0e0e4736";
        let parsed = parse_trace_id(known).unwrap().unwrap();
        assert_eq!(parsed.to_string(), known);
        let upper = parse_trace_id(&known.to_uppercase()).unwrap().unwrap();
        assert_eq!(upper, parsed);
        assert_eq!(parse_trace_id(&"0".repeat(32)).unwrap(), None);
        for bad in [
            "",
            "4bf9",
            &format!("{known}0"),
            &format!("{}g", &known[1..]),
            &format!(" {}", &known[1..]),
            "+bf92f3577b34da6a3ce929d0e0e4736",
        ] {
            assert!(parse_trace_id(bad).is_err(), "{bad:?}");
        }
    }
}

//! The stuck-request watchdog: one line when a request has been in flight too long, one
//! more when it finally ends (what a servlet container's stuck-thread valve does for
//! threads). A scan costs one walk of the requests in flight past the threshold, linear
//! in their number; how a reported request ended is read from the table's kept records
//! (a request that slow is always kept).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use inflight_core::{Elapsed, EntrySnapshot, KeptRequest, Table, TraceId};

/// Requests reported stuck and not yet seen to end.
#[derive(Default)]
pub(crate) struct Watchdog {
    reported: HashMap<u64, TraceId>,
}

impl Watchdog {
    /// Reports requests that passed `after` since the last scan, and the end of those
    /// reported before that are no longer in flight.
    pub(crate) fn scan(&mut self, table: &Table, after: Duration) {
        let stuck = table.snapshot_older_than(after);
        let still: HashSet<u64> = stuck.entries.iter().map(|entry| entry.id).collect();
        let gone: HashMap<u64, TraceId> = self
            .reported
            .iter()
            .filter(|(id, _)| !still.contains(id))
            .map(|(id, trace)| (*id, *trace))
            .collect();
        if !gone.is_empty() {
            let kept = table.kept_with_ids(|id| gone.contains_key(&id));
            let mut told = HashSet::new();
            for request in &kept.requests {
                if told.insert(request.id) {
                    emit(&ended_line(request), request.trace.trace_id);
                }
            }
            for (id, trace) in &gone {
                self.reported.remove(id);
                if !told.contains(id) {
                    // Written over by newer records before this scan.
                    emit(
                        &format!("inflight: request #{id} is no longer in flight; trace={trace}"),
                        *trace,
                    );
                }
            }
        }
        for entry in &stuck.entries {
            if self.reported.insert(entry.id, entry.trace_id).is_none() {
                emit(&stuck_line(entry), entry.trace_id);
            }
        }
    }
}

fn ended_line(request: &KeptRequest) -> String {
    let status = request
        .response_status
        .map_or_else(String::new, |status| format!(", {}", status.as_u16()));
    let uri = request
        .detail
        .as_ref()
        .map_or(&request.uri, |finished| &finished.entry.uri);
    format!(
        "inflight: request #{} ended after {} ({}{status}): {} {uri:?}; trace={}",
        request.id,
        Elapsed(request.duration),
        request.ending,
        request.method,
        request.trace.trace_id,
    )
}

fn stuck_line(entry: &EntrySnapshot) -> String {
    let mut line = format!(
        "inflight: request #{} stuck: {} {} {:?} in flight for {} [{} for {}]",
        entry.id,
        entry.direction,
        entry.method,
        entry.uri,
        Elapsed(entry.age),
        entry.status,
        Elapsed(entry.status_age),
    );
    if !entry.history.is_empty() {
        line.push_str("; history:");
        for change in &entry.history {
            let _ = write!(line, " {} {},", Elapsed(change.offset), change.status);
        }
        line.pop();
    }
    if !entry.children.is_empty() {
        line.push_str("; children:");
        for child in &entry.children {
            let _ = write!(line, " #{child}");
        }
    }
    // The trace id finds the request's hops in other services' dumps and logs.
    let _ = write!(line, "; trace={}", entry.trace_id);
    line
}

/// Writes `line` to stderr, and as a `tracing` event with the trace id as a field.
fn emit(line: &str, trace: TraceId) {
    eprintln!("{line}");
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "inflight::watchdog", trace_id = %trace, "{line}");
    #[cfg(not(feature = "tracing"))]
    let _ = trace;
}

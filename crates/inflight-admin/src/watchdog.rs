//! The stuck-request watchdog: one line when a request has been in flight too long, one
//! more when it finally ends (what a servlet container's stuck-thread valve does for
//! threads).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use inflight_core::{Elapsed, EntrySnapshot, FinishedRequest, Table, TraceId};

/// Requests reported stuck and not yet seen to end.
#[derive(Default)]
pub(crate) struct Watchdog {
    reported: HashMap<u64, TraceId>,
}

impl Watchdog {
    /// Reports requests that passed `after` since the last scan.
    pub(crate) fn scan(&mut self, table: &Table, after: Duration) {
        let stuck = table.snapshot_older_than(after);
        for entry in &stuck.entries {
            if self.reported.insert(entry.id, entry.trace_id).is_none() {
                emit(&stuck_line(entry), entry.trace_id);
            }
        }
        // Reported requests that left without their end being seen (the record was
        // dropped because the drain fell behind).
        let gone: Vec<(u64, TraceId)> = self
            .reported
            .iter()
            .filter(|(id, _)| !stuck.entries.iter().any(|entry| entry.id == **id))
            .map(|(id, trace)| (*id, *trace))
            .collect();
        for (id, trace) in gone {
            self.reported.remove(&id);
            emit(
                &format!("inflight: request #{id} is no longer in flight; trace={trace}"),
                trace,
            );
        }
    }

    /// Reports the end of a request reported stuck.
    pub(crate) fn ended(&mut self, finished: &FinishedRequest<'_>) {
        if self.reported.is_empty() || self.reported.remove(&finished.id()).is_none() {
            return;
        }
        let status = finished
            .response_status()
            .map_or_else(String::new, |status| format!(", {}", status.as_u16()));
        let trace = finished.trace().trace_id;
        emit(
            &format!(
                "inflight: request #{} ended after {} ({}{status}): {} {:?}; trace={trace}",
                finished.id(),
                Elapsed(finished.duration()),
                finished.ending(),
                finished.method(),
                finished.uri(),
            ),
            trace,
        );
    }
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

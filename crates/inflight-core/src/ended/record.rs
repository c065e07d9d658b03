//! What is kept of an ended request: one fixed-size record, written by the request's own
//! thread into its shard's ring, read back on demand.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

use super::statuses::StatusNames;
use crate::clock::{self, Nanos};
use crate::entry::{Entry, View};
use crate::snapshot::Direction;
use crate::table::{Ending, Finished};
use crate::trace::{SpanId, TraceContext, TraceId};

/// Distinct statuses a record keeps, with the time spent in each; a request with more
/// counts the rest under `(other)` in the last one.
pub(crate) const RECORD_STATUSES: usize = 4;
/// Bytes of the target a record keeps; a longer one is cut and marked (`…`).
pub(crate) const RECORD_URI: usize = 38;

const CUT: u8 = 1;
const DETAIL: u8 = 2;
const ROUTED: u8 = 4;

/// One ended request, in 128 bytes.
#[derive(Clone, Copy)]
pub(crate) struct Record {
    pub(crate) id: u64,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    /// All zero: the request began its trace.
    parent_span_id: [u8; 8],
    start: Nanos,
    pub(crate) duration: u64,
    pub(crate) family: u16,
    response_status: u16,
    method: u8,
    direction: u8,
    ending: u8,
    flags: u8,
    trace_flags: u8,
    status_ids: [u16; RECORD_STATUSES],
    /// Microseconds in each status, saturated.
    status_micros: [u32; RECORD_STATUSES],
    uri_len: u8,
    uri: [u8; RECORD_URI],
}

impl Record {
    /// An empty slot of a ring.
    pub(crate) const EMPTY: Record = Record {
        id: 0,
        trace_id: [0; 16],
        span_id: [0; 8],
        parent_span_id: [0; 8],
        start: 0,
        duration: 0,
        family: 0,
        response_status: 0,
        method: 0,
        direction: 0,
        ending: 0,
        flags: 0,
        trace_flags: 0,
        status_ids: [0; RECORD_STATUSES],
        status_micros: [0; RECORD_STATUSES],
        uri_len: 0,
        uri: [0; RECORD_URI],
    };

    /// The record of `entry`, ended `now` after `duration` nanoseconds.
    pub(crate) fn of(
        entry: &Entry,
        view: &View<'_>,
        ending: Ending,
        duration: u64,
        family: u16,
        detail: bool,
        statuses: &StatusNames,
    ) -> Record {
        let trace = entry.trace;
        let (method, response_status) = entry.method_and_status_codes();
        let mut record = Record {
            id: entry.id(),
            trace_id: trace.trace_id.to_bytes(),
            span_id: trace.span_id.to_bytes(),
            parent_span_id: trace.parent_span_id.map_or([0; 8], SpanId::to_bytes),
            start: entry.start,
            duration,
            family,
            response_status,
            method,
            direction: entry.direction as u8,
            ending: ending as u8,
            flags: if detail { DETAIL } else { 0 },
            trace_flags: trace.flags,
            status_ids: [0; RECORD_STATUSES],
            status_micros: [0; RECORD_STATUSES],
            uri_len: 0,
            uri: [0; RECORD_URI],
        };
        if entry.with_route(|route| route.is_some()) {
            record.flags |= ROUTED;
        }
        let raw = entry.raw_uri();
        let mut len = raw.len().min(RECORD_URI);
        while !raw.is_char_boundary(len) {
            len -= 1;
        }
        record.uri[..len].copy_from_slice(&raw.as_bytes()[..len]);
        record.uri_len = len as u8;
        if len < raw.len() {
            record.flags |= CUT;
        }
        let mut kept = 0;
        entry.for_each_status(
            entry.start + duration,
            view.not_reading_after,
            |status, stay| {
                let id = statuses.id_of(status);
                let micros = u32::try_from(stay / 1_000).unwrap_or(u32::MAX);
                let at = match record.status_ids[..kept].iter().position(|s| *s == id) {
                    Some(at) => at,
                    None if kept < RECORD_STATUSES => {
                        kept += 1;
                        record.status_ids[kept - 1] = id;
                        kept - 1
                    }
                    None => {
                        record.status_ids[RECORD_STATUSES - 1] = StatusNames::OTHER;
                        RECORD_STATUSES - 1
                    }
                };
                record.status_micros[at] = record.status_micros[at].saturating_add(micros);
            },
        );
        record.flags |= (kept as u8) << 4;
        record
    }

    pub(crate) fn trace_id(&self) -> Option<TraceId> {
        TraceId::from_bytes(self.trace_id)
    }

    pub(crate) fn ended(&self) -> Nanos {
        self.start.saturating_add(self.duration)
    }

    pub(crate) fn has_detail(&self) -> bool {
        self.flags & DETAIL != 0
    }

    fn statuses(&self) -> usize {
        usize::from(self.flags >> 4).min(RECORD_STATUSES)
    }
}

/// A request that ended and was kept: every failed, terminated or dropped-early request,
/// every one slower than its family's threshold, and a sample of the rest (see
/// [`Table::kept`](crate::Table::kept)).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeptRequest {
    /// Its id.
    pub id: u64,
    /// Where it sat in its trace.
    pub trace: TraceContext,
    /// Inbound, outbound or work.
    pub direction: Direction,
    /// The request method (`WORK` for work).
    pub method: Method,
    /// The target, redacted; only its first 38 bytes are kept, a longer one ends in `…`.
    pub uri: String,
    /// Its family: the route (or the path without one), the target `host:port`, or work's
    /// name.
    pub family: Arc<str>,
    /// Whether the family is a route (set by the handler or axum's `MatchedPath`).
    pub routed: bool,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How long it was in flight.
    pub duration: Duration,
    /// The response status, if a response head was produced.
    pub response_status: Option<StatusCode>,
    /// How it ended.
    pub ending: Ending,
    /// Each status it had and the time spent in it, in the order first entered; at most
    /// four, the fourth counting every later one as `(other)`.
    pub statuses: Vec<(String, Duration)>,
    /// The whole request with its status history, for a failed, terminated or
    /// dropped-early request the byte budget still holds.
    pub detail: Option<Arc<Finished>>,
}

impl KeptRequest {
    pub(crate) fn of(
        record: &Record,
        families: &[super::names::Family],
        statuses: &StatusNames,
        view: &View<'_>,
        detail: Option<Arc<Finished>>,
    ) -> KeptRequest {
        let raw = std::str::from_utf8(&record.uri[..usize::from(record.uri_len)]).unwrap_or("");
        let mut uri = view.redact(raw);
        if record.flags & CUT != 0 {
            uri.push('…');
        }
        let started_at = clock::wall(record.start);
        let duration = Duration::from_nanos(record.duration);
        let family = families
            .get(usize::from(record.family))
            .map_or_else(|| Arc::from(""), |family| family.name.clone());
        let direction = match record.direction {
            0 => Direction::Inbound,
            1 => Direction::Outbound,
            _ => Direction::Work,
        };
        let statuses = (0..record.statuses())
            .map(|at| {
                (
                    statuses.name(record.status_ids[at]),
                    Duration::from_micros(u64::from(record.status_micros[at])),
                )
            })
            .collect();
        KeptRequest {
            id: record.id,
            trace: TraceContext {
                trace_id: TraceId::from_bytes(record.trace_id).unwrap_or_else(TraceId::random),
                span_id: SpanId::from_bytes(record.span_id).unwrap_or_else(SpanId::random),
                parent_span_id: SpanId::from_bytes(record.parent_span_id),
                flags: record.trace_flags,
            },
            direction,
            method: crate::entry::method_of_code(record.method, direction),
            uri,
            family,
            routed: record.flags & ROUTED != 0,
            started_at,
            ended_at: started_at + duration,
            duration,
            response_status: StatusCode::from_u16(record.response_status).ok(),
            ending: Ending::from_code(record.ending),
            statuses,
            detail,
        }
    }

    /// The statuses as a history: each with when it was entered, as an offset from the
    /// start.
    pub fn history(&self) -> impl Iterator<Item = (&str, Duration)> {
        let mut offset = Duration::ZERO;
        self.statuses.iter().map(move |(status, stay)| {
            let at = offset;
            offset += *stay;
            (status.as_str(), at)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_128_bytes() {
        assert_eq!(std::mem::size_of::<Record>(), 128);
        assert_eq!(
            std::mem::size_of_val(super::super::Ring::new(4).records_for_test()),
            4 * 128
        );
    }
}

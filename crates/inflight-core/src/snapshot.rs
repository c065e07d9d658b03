//! Owned copies of the table, taken while requests keep flowing.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode, Version};

use crate::trace::{SpanId, TraceId};

/// Whether a request came into this process or went out of it, or is work of the
/// process's own that is not an HTTP request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Served by this process (tracked by [`InFlightLayer`](crate::InFlightLayer)).
    Inbound,
    /// Sent by this process (tracked by [`InFlightClientLayer`](crate::InFlightClientLayer)).
    Outbound,
    /// A unit of work that is not an HTTP request, such as a queue message being consumed
    /// (tracked by [`work`](crate::work())).
    Work,
}

impl Direction {
    /// Every direction, in the order the dump's header counts them.
    pub const ALL: [Direction; 3] = [Direction::Inbound, Direction::Outbound, Direction::Work];

    /// `"inbound"`, `"outbound"` or `"work"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Work => "work",
        }
    }

    /// Whether outbound calls made while this is the current request are its children:
    /// inbound requests and work.
    pub(crate) fn has_children(self) -> bool {
        self != Direction::Outbound
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every request in flight at one moment, oldest first.
///
/// Taken by [`Table::snapshot`](crate::Table::snapshot). Taking it never holds up requests
/// for long: the table is copied a few thousand entries at a time.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Snapshot {
    /// Wall-clock time the snapshot was taken; ages are relative to it.
    pub taken_at: SystemTime,
    /// This process's id.
    pub pid: u32,
    /// How long inflight has been running in this process.
    pub uptime: Duration,
    /// The requests, oldest first.
    pub entries: Vec<EntrySnapshot>,
}

impl Snapshot {
    /// Inbound requests, oldest first.
    pub fn inbound(&self) -> impl Iterator<Item = &EntrySnapshot> {
        self.entries
            .iter()
            .filter(|e| e.direction == Direction::Inbound)
    }

    /// Outbound requests, oldest first.
    pub fn outbound(&self) -> impl Iterator<Item = &EntrySnapshot> {
        self.entries
            .iter()
            .filter(|e| e.direction == Direction::Outbound)
    }

    /// Work in flight, oldest first.
    pub fn work(&self) -> impl Iterator<Item = &EntrySnapshot> {
        self.entries
            .iter()
            .filter(|e| e.direction == Direction::Work)
    }

    /// The entry with this id, if it was in flight.
    pub fn get(&self, id: u64) -> Option<&EntrySnapshot> {
        self.entries.iter().find(|e| e.id == id)
    }
}

/// One request as it was when the snapshot was taken.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EntrySnapshot {
    /// Unique in this process; what the admin API and the dump call the request.
    pub id: u64,
    /// Inbound, outbound or work.
    pub direction: Direction,
    /// The request method; `WORK` for [work](crate::work()).
    pub method: Method,
    /// The target, redacted: no userinfo, and no values of sensitive query parameters.
    /// Inbound requests show what the client sent (`/fetch/1?x=2`), outbound ones the full
    /// URL (`http://slownode:8484/blob/x`), work its name (`consume orders/3`).
    pub uri: String,
    /// The request's HTTP version.
    pub version: Version,
    /// The client's address, when the server put one in the request extensions
    /// (a `SocketAddr`, or axum's `ConnectInfo<SocketAddr>`).
    pub peer: Option<SocketAddr>,
    /// The route pattern: set by the handler, or axum's `MatchedPath`; work's name.
    pub route: Option<String>,
    /// Wall-clock time the request started.
    pub started_at: SystemTime,
    /// How long the request has been in flight.
    pub age: Duration,
    /// What the request is doing now: `in handler`, `awaiting slownode:8484`,
    /// `writing body`, `client not reading`, `awaiting headers`, `reading body`,
    /// `caller not reading`, or a status the handler set.
    pub status: String,
    /// How long the request has had its current status.
    pub status_age: Duration,
    /// Status transitions, oldest first, bounded by the table's history limit.
    pub history: Vec<StatusChange>,
    /// How many older transitions were dropped to keep `history` bounded.
    pub history_dropped: u64,
    /// Attributes set by the handler, in the order first set.
    pub attributes: Vec<(String, String)>,
    /// For an outbound call made while serving an inbound request or work: that request's
    /// id. For work started while serving an inbound request: that request's id.
    pub parent: Option<u64>,
    /// The W3C trace the request belongs to.
    pub trace_id: TraceId,
    /// The request's own span.
    pub span_id: SpanId,
    /// The span that caused it: the caller's outbound call for an inbound request (in the
    /// service that sent it), the inbound request for an outbound call. `None` for the
    /// first request of a trace.
    pub parent_span_id: Option<SpanId>,
    /// For an inbound request or work: its outbound calls still in flight.
    pub children: Vec<u64>,
    /// Bytes received: the response body for outbound calls; for inbound requests the
    /// request body's announced size (the layer leaves request bodies untouched).
    pub bytes_in: u64,
    /// Bytes sent: the response body for inbound requests; for outbound calls the
    /// request body's announced size.
    pub bytes_out: u64,
    /// Time since the last sign of progress: start, response head, or a body frame.
    pub idle: Duration,
    /// The response status, once the response head exists.
    pub response_status: Option<StatusCode>,
    /// An operator asked the handler to cancel (see [`cancelled`](crate::cancelled)).
    pub cancel_requested: bool,
    /// The handler forbade cancelling and terminating
    /// ([`RequestHandle::forbid_cancel`](crate::RequestHandle::forbid_cancel)).
    pub cancel_forbidden: bool,
    /// What the operator said when cancelling or terminating.
    pub control_message: Option<String>,
    /// How long after its start the caller stops waiting: a gRPC call's `grpc-timeout`.
    pub deadline: Option<Duration>,
    /// Still in flight after its [`deadline`](EntrySnapshot::deadline): whoever asked has
    /// given up by now, so the work is wasted unless something else needs it.
    pub past_deadline: bool,
    /// Nobody waits for it any more: an outbound call whose inbound request has ended (a
    /// call made from a task the request spawned, say).
    pub orphan: bool,
}

/// One entry of a request's status history.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusChange {
    /// The status entered.
    pub status: String,
    /// Wall-clock time it was entered.
    pub at: SystemTime,
    /// Time since the request started.
    pub offset: Duration,
}

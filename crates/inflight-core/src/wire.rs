//! The JSON of the admin API: what `inflight-admin` serves and the `inflight` CLI reads.
//!
//! Times are RFC 3339 strings in UTC with milliseconds; durations are milliseconds as
//! numbers, measured at the list's `server_time`, so clients compute ages without
//! trusting their own clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::snapshot::{EntrySnapshot, StatusChange};

mod time;
pub use time::{millis, rfc3339};

/// Who answered: carried by every list.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Origin {
    /// When the answer was made (RFC 3339).
    pub server_time: String,
    /// The process id.
    pub pid: u32,
    /// The host name.
    pub host: String,
    /// The service name.
    pub service: String,
}

/// `GET /requests`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestList {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// The requests, after filters, sort and limit.
    pub requests: Vec<Request>,
}

/// One request in flight.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
    pub direction: String,
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
    pub started_at: String,
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
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Transition {
    /// The status entered.
    pub status: String,
    /// When (RFC 3339).
    pub at: String,
    /// Milliseconds after the request started.
    pub offset_ms: f64,
}

/// `GET /requests/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestReply {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// The request, with its history.
    pub request: Request,
}

/// `DELETE /requests/{id}` and `POST /requests/{id}/cancel`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ControlReply {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// `terminate` or `cancel`.
    pub action: String,
    /// The request as it was before.
    pub request: Request,
    /// For a cancel: milliseconds until it is terminated if still in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_ms: Option<f64>,
}

/// `GET /recent`: the last finished requests of each route, by latency bucket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecentReport {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// Finished requests that could not be recorded because the recorder fell behind.
    pub dropped: u64,
    /// One family per route (inbound) or target `host:port` (outbound).
    pub families: Vec<RecentFamily>,
}

/// The recent requests of one route or target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecentFamily {
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The route (or path when there is none), or the target `host:port`.
    pub name: String,
    /// How many finished since the admin server started.
    pub finished: u64,
    /// The latency buckets, `≥0s` first; each holds the 10 latest requests at least that
    /// slow, newest first.
    pub buckets: Vec<RecentBucket>,
    /// The 10 latest that failed: 5xx, service or body error, dropped early, terminated.
    pub errors: Vec<FinishedRequest>,
}

/// One latency bucket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecentBucket {
    /// `≥0s`, `≥50ms`, `≥100ms`, `≥200ms`, `≥500ms`, `≥1s`, `≥10s` or `≥100s`.
    pub bucket: String,
    /// The bucket's lower bound in milliseconds.
    pub min_ms: u64,
    /// Newest first.
    pub samples: Vec<FinishedRequest>,
}

/// A request that ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinishedRequest {
    /// The request as it was when it ended, with its history.
    pub request: Request,
    /// `completed`, `failed`, `body_failed`, `dropped_early` or `terminated`.
    pub ending: String,
    /// When it ended (RFC 3339).
    pub ended_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// A gRPC call that ended `failed` with a `grpc-status` other than 0: the code.
    #[serde(default)]
    pub grpc_status: Option<u32>,
    /// ... and its `grpc-message`, percent-decoded.
    #[serde(default)]
    pub grpc_message: Option<String>,
}

/// `GET /traces/{id}`: what this process knows of one trace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceReply {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// The trace asked for.
    pub trace_id: String,
    /// Its requests in flight here, oldest first.
    pub requests: Vec<Request>,
    /// Its requests that ended here recently, oldest first: what the ring of finished
    /// requests still holds (see `finished_window`). Those that completed are kept
    /// compact: no `history` (`status` is `completed`), `version` empty, `peer` and
    /// `parent` `None`, no `attributes` or `children`, byte counts 0. Those that did not
    /// are kept whole.
    pub finished: Vec<FinishedRequest>,
    /// What the ring of finished requests keeps, so an empty `finished` can be read.
    pub finished_window: FinishedWindow,
}

/// The bounds of the ring of recently finished requests behind `GET /traces/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinishedWindow {
    /// The most finished requests it holds.
    pub capacity: u64,
    /// How long it holds one, in seconds.
    pub max_age_seconds: f64,
    /// How many it holds now.
    pub held: u64,
}

/// `GET /profile`: where time went, per route and status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileReport {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// When this window started (RFC 3339).
    pub window_start: String,
    /// How long the window has been, in seconds.
    pub window_seconds: f64,
    /// Routes by total time, largest first.
    pub routes: Vec<ProfileRoute>,
}

/// Time spent by the finished requests of one route.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileRoute {
    /// `inbound` or `outbound`.
    pub direction: String,
    /// As in `/recent`.
    pub name: String,
    /// Requests finished in the window.
    pub requests: u64,
    /// Their total time in flight, in milliseconds.
    pub total_ms: f64,
    /// Mean time in flight.
    pub mean_ms: f64,
    /// Time per status, largest total first.
    pub statuses: Vec<ProfileStatus>,
}

/// Time spent in one status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileStatus {
    /// The status.
    pub status: String,
    /// How many times a request was in it.
    pub count: u64,
    /// Total time in it, in milliseconds.
    pub total_ms: f64,
    /// Mean time per stay.
    pub mean_ms: f64,
    /// Median stay.
    pub p50_ms: f64,
    /// 95th percentile stay.
    pub p95_ms: f64,
    /// 99th percentile stay.
    pub p99_ms: f64,
    /// Longest stay.
    pub max_ms: f64,
}

/// `GET /healthz`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthReport {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// `free` or `busy`.
    pub state: String,
    /// Why it is busy; empty when free.
    pub reasons: Vec<String>,
    /// The service's version.
    pub version: String,
    /// The git commit it was built from, if known.
    pub git_commit: Option<String>,
    /// The compiler that built it.
    pub rustc: String,
    /// Seconds since the admin server started.
    pub uptime_seconds: f64,
    /// Inbound requests in flight.
    pub inbound: u64,
    /// Outbound requests in flight.
    pub outbound: u64,
    /// Age of the oldest inbound request, in milliseconds, when a busy rule on that age is
    /// set (finding it walks the table); `None` otherwise, or when none is in flight.
    pub oldest_inbound_ms: Option<f64>,
}

/// An error answer: `{"error": "..."}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// What went wrong and what to do about it.
    pub error: String,
}

impl Request {
    /// The wire form of a snapshot entry; `history` says whether to include the history.
    pub fn from_snapshot(entry: &EntrySnapshot, history: bool) -> Request {
        Request {
            id: entry.id,
            trace_id: entry.trace_id.to_string(),
            span_id: entry.span_id.to_string(),
            parent_span_id: entry.parent_span_id.map(|span| span.to_string()),
            direction: entry.direction.as_str().to_owned(),
            method: entry.method.to_string(),
            uri: entry.uri.clone(),
            version: format!("{:?}", entry.version),
            peer: entry.peer.map(|peer| peer.to_string()),
            route: entry.route.clone(),
            started_at: rfc3339(entry.started_at),
            elapsed_ms: millis(entry.age),
            status: entry.status.clone(),
            status_elapsed_ms: millis(entry.status_age),
            history: history.then(|| entry.history.iter().map(Transition::from).collect()),
            history_dropped: entry.history_dropped,
            attributes: entry.attributes.iter().cloned().collect(),
            parent: entry.parent,
            children: entry.children.clone(),
            bytes_in: entry.bytes_in,
            bytes_out: entry.bytes_out,
            idle_ms: millis(entry.idle),
            response_status: entry.response_status.map(|status| status.as_u16()),
            cancel_requested: entry.cancel_requested,
            cancel_forbidden: entry.cancel_forbidden,
            control_message: entry.control_message.clone(),
            deadline_ms: entry.deadline.map(millis),
            past_deadline: entry.past_deadline,
            orphan: entry.orphan,
        }
    }
}

impl From<&StatusChange> for Transition {
    fn from(change: &StatusChange) -> Transition {
        Transition {
            status: change.status.clone(),
            at: rfc3339(change.at),
            offset_ms: millis(change.offset),
        }
    }
}

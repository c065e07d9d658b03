//! Reports over many requests: recent, traces, profiles, health.

use serde::{Deserialize, Serialize};

use crate::{Direction, Ending, HealthState, Origin, Request, Timestamp};

/// `GET /recent`: the last finished requests of each route, by latency bucket.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RecentReport {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// Ended requests a consumer of the table's stream (`Table::subscribe`) had no room
    /// for. The reports here lose none: each request records itself as it ends.
    pub dropped: u64,
    /// How many requests ended in all.
    #[serde(default)]
    pub ended: u64,
    /// How many of them were kept as records: every failed, terminated, dropped-early
    /// and slow one, and a sample of the rest chosen by trace id (everything below a few
    /// thousand a second). `buckets` and `errors` show kept requests only.
    #[serde(default)]
    pub kept: u64,
    /// One family per route (inbound) or target `host:port` (outbound).
    pub families: Vec<RecentFamily>,
}

/// The recent requests of one route or target.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RecentFamily {
    /// `inbound` or `outbound`.
    pub direction: Direction,
    /// The route (or path when there is none), or the target `host:port`.
    pub name: String,
    /// How many ended since the process started: exact, not a sample.
    pub finished: u64,
    /// The latency buckets, `≥0s` first; each holds the 10 latest requests at least that
    /// slow, newest first.
    pub buckets: Vec<RecentBucket>,
    /// The 10 latest that failed: 5xx, service or body error, dropped early, terminated.
    pub errors: Vec<FinishedRequest>,
}

/// One latency bucket.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RecentBucket {
    /// `≥0s`, `≥50ms`, `≥100ms`, `≥200ms`, `≥500ms`, `≥1s`, `≥10s` or `≥100s`.
    pub bucket: String,
    /// The bucket's lower bound in milliseconds.
    pub min_ms: u64,
    /// Newest first.
    pub samples: Vec<FinishedRequest>,
}

/// A request that ended.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct FinishedRequest {
    /// The request as it was when it ended, with its history.
    pub request: Request,
    /// `completed`, `failed`, `body_failed`, `dropped_early` or `terminated`.
    pub ending: Ending,
    /// When it ended (RFC 3339).
    pub ended_at: Timestamp,
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
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
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
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct FinishedWindow {
    /// The most finished requests it holds.
    pub capacity: u64,
    /// How long it holds one, in seconds.
    pub max_age_seconds: f64,
    /// How many it holds now.
    pub held: u64,
    /// How many requests ended in all.
    #[serde(default)]
    pub ended: u64,
    /// How many of them were kept: every failed, terminated, dropped-early and slow
    /// one, and the traces the sample chose (every service of a trace chooses alike).
    #[serde(default)]
    pub kept: u64,
}

/// `GET /profile`: where time went, per route and status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ProfileReport {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// When this window started (RFC 3339).
    pub window_start: Timestamp,
    /// How long the window has been, in seconds.
    pub window_seconds: f64,
    /// Routes by total time, largest first.
    pub routes: Vec<ProfileRoute>,
    /// How many kept requests of the window the time per status comes from. Like a CPU
    /// profile, `statuses` is a sample (see `/recent`'s `kept`); `requests` and
    /// `total_ms` of each route count every request.
    #[serde(default)]
    pub sampled: u64,
}

/// Time spent by the finished requests of one route.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ProfileRoute {
    /// `inbound` or `outbound`.
    pub direction: Direction,
    /// As in `/recent`.
    pub name: String,
    /// Requests finished in the window: exact.
    pub requests: u64,
    /// Their total time in flight, in milliseconds.
    pub total_ms: f64,
    /// Mean time in flight.
    pub mean_ms: f64,
    /// Time per status, largest total first.
    pub statuses: Vec<ProfileStatus>,
}

/// Time spent in one status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ProfileStatus {
    /// The status.
    pub status: String,
    /// How many kept requests were in it.
    pub count: u64,
    /// Total time in it, in milliseconds.
    pub total_ms: f64,
    /// Mean time in it per request.
    pub mean_ms: f64,
    /// Median time in it per request.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Longest.
    pub max_ms: f64,
}

/// `GET /healthz`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct HealthReport {
    /// Who answered.
    #[serde(flatten)]
    pub origin: Origin,
    /// `free` or `busy`.
    pub state: HealthState,
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

impl RecentReport {
    /// A report from who answered, the requests the recorder dropped, and the families.
    pub fn new(origin: Origin, dropped: u64, families: Vec<RecentFamily>) -> RecentReport {
        RecentReport {
            origin,
            dropped,
            ended: 0,
            kept: 0,
            families,
        }
    }
}

impl ProfileReport {
    /// A report from who answered, the window, and the routes.
    pub fn new(
        origin: Origin,
        window_start: Timestamp,
        window_seconds: f64,
        routes: Vec<ProfileRoute>,
    ) -> ProfileReport {
        ProfileReport {
            origin,
            window_start,
            window_seconds,
            routes,
            sampled: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn health_reads_its_state() {
        let report = HealthReport {
            state: HealthState::Busy,
            ..HealthReport::default()
        };
        let mut json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["state"], "busy");
        assert_eq!(json["server_time"], "1970-01-01T00:00:00.000Z");
        json["state"] = json!("draining");
        let report: HealthReport = serde_json::from_value(json).unwrap();
        assert_eq!(report.state, HealthState::Unknown);
    }

    #[test]
    fn a_finished_request_keeps_its_ending() {
        let finished = FinishedRequest {
            ending: Ending::DroppedEarly,
            ..FinishedRequest::default()
        };
        let json = serde_json::to_value(&finished).unwrap();
        assert_eq!(json["ending"], "dropped_early");
        assert_eq!(json["request"]["direction"], "inbound");
        let back: FinishedRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, finished);
    }

    #[test]
    fn a_family_with_a_bad_time_is_an_error_naming_it() {
        let mut json = serde_json::to_value(FinishedRequest::default()).unwrap();
        json["ended_at"] = json!("tomorrow");
        let error = serde_json::from_value::<FinishedRequest>(json).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\"tomorrow\" is not an RFC 3339 time"),
            "{error}"
        );
    }
}

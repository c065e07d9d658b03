//! How requests end, what the table counts of them, and why an operator's request can
//! fail.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::snapshot::EntrySnapshot;

/// How many requests a table has seen end, by the way they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// Requests that started.
    pub started: u64,
    /// Ended with the response complete (body at end of stream, or a response without body).
    pub completed: u64,
    /// The service returned an error instead of a response, or a gRPC call failed.
    pub failed: u64,
    /// The response body returned an error.
    pub body_failed: u64,
    /// The response future or body was dropped before the end: client went away, timeout,
    /// panic, or the caller dropped the response.
    pub dropped_early: u64,
    /// Terminated by an operator.
    pub terminated: u64,
}

impl Totals {
    pub(crate) fn add(&mut self, other: &Totals) {
        self.started += other.started;
        self.completed += other.completed;
        self.failed += other.failed;
        self.body_failed += other.body_failed;
        self.dropped_early += other.dropped_early;
        self.terminated += other.terminated;
    }

    pub(crate) fn from_counters(counters: [u64; 6]) -> Totals {
        let [
            started,
            completed,
            failed,
            body_failed,
            dropped_early,
            terminated,
        ] = counters;
        Totals {
            started,
            completed,
            failed,
            body_failed,
            dropped_early,
            terminated,
        }
    }
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ending {
    /// The response is complete: its body reached end of stream, or it had none.
    Completed = 0,
    /// The service returned an error instead of a response, or a gRPC call ended with a
    /// `grpc-status` other than 0 (see
    /// [`FinishedRequest::grpc_status`](crate::FinishedRequest::grpc_status)).
    Failed = 1,
    /// The response body returned an error.
    BodyFailed = 2,
    /// The response future or body was dropped before the end: the client went away, a
    /// timeout fired, the handler panicked, or the caller dropped the response.
    DroppedEarly = 3,
    /// An operator terminated it ([`Table::terminate`](crate::Table::terminate)).
    Terminated = 4,
}

impl Ending {
    /// Every way a request ends.
    pub const ALL: [Ending; 5] = [
        Ending::Completed,
        Ending::Failed,
        Ending::BodyFailed,
        Ending::DroppedEarly,
        Ending::Terminated,
    ];

    /// The ending of a number written by `ending as u8`.
    pub(crate) fn from_code(code: u8) -> Ending {
        match code {
            0 => Ending::Completed,
            1 => Ending::Failed,
            2 => Ending::BodyFailed,
            3 => Ending::DroppedEarly,
            _ => Ending::Terminated,
        }
    }

    /// `completed`, `failed`, `body_failed`, `dropped_early` or `terminated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Failed => "failed",
            Ending::BodyFailed => "body_failed",
            Ending::DroppedEarly => "dropped_early",
            Ending::Terminated => "terminated",
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request that ended, as an owned copy: what
/// [`FinishedRequest::to_finished`](crate::FinishedRequest::to_finished) makes of
/// the few requests a consumer keeps.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Finished {
    /// The request as it was when it ended (`age` is its duration), with its whole
    /// status history.
    pub entry: EntrySnapshot,
    /// How it ended.
    pub ending: Ending,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How long it was in flight.
    pub duration: Duration,
    /// For a gRPC call that failed with a `grpc-status`: its code and message.
    pub grpc_status: Option<crate::GrpcStatus>,
}

/// Why [`Table::terminate`](crate::Table::terminate) or [`Table::cancel`](crate::Table::cancel) did nothing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ControlError {
    /// No request with this id is in flight.
    NotFound(u64),
    /// The request forbade it ([`RequestHandle::forbid_cancel`](crate::RequestHandle::forbid_cancel));
    /// here is the request.
    Forbidden(Box<EntrySnapshot>),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::NotFound(id) => write!(f, "no request #{id} is in flight"),
            ControlError::Forbidden(entry) => write!(
                f,
                "request #{} forbids cancelling and terminating",
                entry.id
            ),
        }
    }
}

impl std::error::Error for ControlError {}

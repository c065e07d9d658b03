//! What the ring keeps of one finished request: a compact copy in one allocation (its
//! URL) for the many that completed, the whole request for the few that did not.

use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};
use inflight_core::{Direction, Ending, Finished, FinishedRequest, TraceContext};
use inflight_wire::{FinishedRequest as WireFinished, Request as WireRequest, Timestamp, millis};

use crate::families::Families;
use crate::recent::finished_request;
use crate::to_wire;

/// A finished request as the ring keeps it.
pub(crate) enum Hop {
    /// Completed: what a trace's timeline shows, read from the request in place.
    Compact(Compact),
    /// Failed, dropped or terminated: everything, with the operator's message if any.
    Whole(Box<Finished>),
}

/// The parts of a completed request a trace's timeline shows: no status history, which
/// would cost the admin thread more than all the rest (its statuses formatted, two more
/// allocations).
pub(crate) struct Compact {
    id: u64,
    trace: TraceContext,
    direction: Direction,
    method: Method,
    response_status: Option<StatusCode>,
    ended_at: SystemTime,
    duration: Duration,
    uri: Box<str>,
    /// The family (see `families.rs`) named by the request's route, when it had one.
    route: Option<u32>,
}

impl Hop {
    /// `family` is the request's family; it names the route when the request had one.
    pub(crate) fn new(request: &FinishedRequest<'_>, family: usize) -> Hop {
        if request.ending() != Ending::Completed {
            return Hop::Whole(Box::new(request.to_finished()));
        }
        let routed = request.with_route(|route| route.is_some());
        Hop::Compact(Compact {
            id: request.id(),
            trace: request.trace(),
            direction: request.direction(),
            method: request.method(),
            response_status: request.response_status(),
            ended_at: request.ended_at(),
            duration: request.duration(),
            uri: request.uri().into_boxed_str(),
            route: routed.then(|| u32::try_from(family).ok()).flatten(),
        })
    }

    pub(crate) fn id(&self) -> u64 {
        match self {
            Hop::Compact(hop) => hop.id,
            Hop::Whole(finished) => finished.entry.id,
        }
    }

    pub(crate) fn started_at(&self) -> SystemTime {
        match self {
            Hop::Compact(hop) => started(hop.ended_at, hop.duration),
            Hop::Whole(finished) => finished.entry.started_at,
        }
    }

    /// The JSON form, as in `/recent`.
    pub(crate) fn to_wire(&self, families: &Families) -> WireFinished {
        match self {
            Hop::Whole(finished) => finished_request(finished),
            Hop::Compact(hop) => hop.to_wire(families),
        }
    }
}

fn started(ended_at: SystemTime, duration: Duration) -> SystemTime {
    ended_at.checked_sub(duration).unwrap_or(ended_at)
}

impl Compact {
    fn to_wire(&self, families: &Families) -> WireFinished {
        let started_at = started(self.ended_at, self.duration);
        // What the ring did not keep stays at its default: no history, no version, peer,
        // parent, attributes or children, byte counts 0.
        let mut request = WireRequest::default();
        request.id = self.id;
        request.trace_id = self.trace.trace_id.to_string();
        request.span_id = self.trace.span_id.to_string();
        request.parent_span_id = self.trace.parent_span_id.map(|span| span.to_string());
        request.direction = to_wire::direction(self.direction);
        request.method = self.method.to_string();
        request.uri = self.uri.to_string();
        request.route = self
            .route
            .and_then(|family| families.get(family as usize))
            .map(|(_, name)| name.clone());
        request.started_at = Timestamp::from(started_at);
        request.elapsed_ms = millis(self.duration);
        request.status = Ending::Completed.as_str().to_owned();
        request.response_status = self.response_status.map(|status| status.as_u16());
        let mut finished = WireFinished::default();
        finished.request = request;
        finished.ending = inflight_wire::Ending::Completed;
        finished.ended_at = Timestamp::from(self.ended_at);
        finished.duration_ms = millis(self.duration);
        finished
    }
}

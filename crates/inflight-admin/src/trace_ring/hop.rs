//! What the ring keeps of one finished request: a compact copy in three allocations for
//! the many that completed, the whole request for the few that did not.

use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};
use inflight_core::wire::{
    FinishedRequest as WireFinished, Request as WireRequest, Transition, millis, rfc3339,
};
use inflight_core::{Direction, Ending, Finished, FinishedRequest, TraceContext};

use crate::recent::finished_request;

/// A finished request as the ring keeps it.
pub(crate) enum Hop {
    /// Completed: what a trace's timeline shows, read from the request in place.
    Compact(Compact),
    /// Failed, dropped or terminated: everything, with the operator's message if any.
    Whole(Box<Finished>),
}

/// The parts of a completed request a trace's timeline shows.
pub(crate) struct Compact {
    id: u64,
    trace: TraceContext,
    direction: Direction,
    method: Method,
    response_status: Option<StatusCode>,
    ended_at: SystemTime,
    duration: Duration,
    /// The URI, then the route, then each status, one after the other.
    text: Box<str>,
    uri_len: u32,
    route_len: Option<u32>,
    /// Each status's length in `text` and how long the request had it, oldest first.
    statuses: Box<[(u32, Duration)]>,
}

/// Buffers reused from one request to the next while a batch is recorded.
#[derive(Default)]
pub(crate) struct Scratch {
    text: String,
    status: String,
    statuses: Vec<(u32, Duration)>,
}

fn len32(text: &str) -> u32 {
    u32::try_from(text.len()).unwrap_or(u32::MAX)
}

impl Hop {
    pub(crate) fn new(request: &FinishedRequest<'_>, scratch: &mut Scratch) -> Hop {
        if request.ending() != Ending::Completed {
            return Hop::Whole(Box::new(request.to_finished()));
        }
        let Scratch {
            text,
            status,
            statuses,
        } = scratch;
        text.clear();
        statuses.clear();
        text.push_str(&request.uri());
        let uri_len = len32(text);
        let route_len = request.with_route(|route| {
            route.map(|route| {
                text.push_str(route);
                len32(route)
            })
        });
        request.for_each_status(status, |status, stay| {
            text.push_str(status);
            statuses.push((len32(status), stay));
        });
        Hop::Compact(Compact {
            id: request.id(),
            trace: request.trace(),
            direction: request.direction(),
            method: request.method(),
            response_status: request.response_status(),
            ended_at: request.ended_at(),
            duration: request.duration(),
            text: Box::from(text.as_str()),
            uri_len,
            route_len,
            statuses: Box::from(statuses.as_slice()),
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
    pub(crate) fn to_wire(&self) -> WireFinished {
        match self {
            Hop::Whole(finished) => finished_request(finished),
            Hop::Compact(hop) => hop.to_wire(),
        }
    }
}

fn started(ended_at: SystemTime, duration: Duration) -> SystemTime {
    ended_at.checked_sub(duration).unwrap_or(ended_at)
}

impl Compact {
    fn to_wire(&self) -> WireFinished {
        let started_at = started(self.ended_at, self.duration);
        let uri_end = self.uri_len as usize;
        let route_end = uri_end + self.route_len.map_or(0, |len| len as usize);
        let mut at = route_end;
        // Counted back from the end: the table's history is bounded, and when its oldest
        // statuses were dropped the first one kept began after the start.
        let kept: Duration = self.statuses.iter().map(|(_, stay)| *stay).sum();
        let mut offset = self.duration.saturating_sub(kept);
        let mut history = Vec::with_capacity(self.statuses.len());
        for (len, stay) in self.statuses.iter() {
            let status = self.text.get(at..at + *len as usize).unwrap_or_default();
            at += *len as usize;
            history.push(Transition {
                status: status.to_owned(),
                at: rfc3339(started_at + offset),
                offset_ms: millis(offset),
            });
            offset += *stay;
        }
        let last_stay = self
            .statuses
            .last()
            .map_or(Duration::ZERO, |(_, stay)| *stay);
        WireFinished {
            request: WireRequest {
                id: self.id,
                trace_id: self.trace.trace_id.to_string(),
                span_id: self.trace.span_id.to_string(),
                parent_span_id: self.trace.parent_span_id.map(|span| span.to_string()),
                direction: self.direction.as_str().to_owned(),
                method: self.method.to_string(),
                uri: self.text.get(..uri_end).unwrap_or_default().to_owned(),
                version: String::new(),
                peer: None,
                route: self.route_len.map(|_| {
                    self.text
                        .get(uri_end..route_end)
                        .unwrap_or_default()
                        .to_owned()
                }),
                started_at: rfc3339(started_at),
                elapsed_ms: millis(self.duration),
                status: history.last().map(|t| t.status.clone()).unwrap_or_default(),
                status_elapsed_ms: millis(last_stay),
                history: Some(history),
                history_dropped: 0,
                attributes: Default::default(),
                parent: None,
                children: Vec::new(),
                bytes_in: 0,
                bytes_out: 0,
                idle_ms: 0.0,
                response_status: self.response_status.map(|status| status.as_u16()),
                cancel_requested: false,
                cancel_forbidden: false,
                control_message: None,
            },
            ending: Ending::Completed.as_str().to_owned(),
            ended_at: rfc3339(self.ended_at),
            duration_ms: millis(self.duration),
        }
    }
}

//! The hops of one trace, from what each endpoint knows of it: every request sent and
//! received, every reply sent and received, oldest first.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use inflight_wire::{Direction, Ending, FinishedRequest, Request, Timestamp, TraceReply};
use serde::Serialize;

use crate::tree::{self, Listed};
use crate::upstreams::target;

/// One hop.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Hop {
    /// When (RFC 3339, the clock of the service that saw it).
    pub(crate) time: String,
    /// Milliseconds after the trace's first hop, when both times could be read.
    pub(crate) offset_ms: Option<f64>,
    /// The admin port that told.
    pub(crate) endpoint: String,
    /// The service that saw the hop, and its host.
    pub(crate) service: String,
    pub(crate) host: String,
    /// `request sent`, `request received`, `reply sent` or `reply received`.
    pub(crate) kind: &'static str,
    /// The caller's service (`client` when the caller is not among the endpoints).
    pub(crate) from: String,
    /// The call's target `host:port`, or the route (or path) that received it.
    pub(crate) to: String,
    /// For a reply: how long the request took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<f64>,
    /// The request has not ended yet.
    pub(crate) in_flight: bool,
    /// For a request in flight: its age, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) age_ms: Option<f64>,
    /// How it ended when not well: its ending other than `completed`, or a 5xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The request's id at its endpoint, and its spans.
    pub(crate) id: u64,
    pub(crate) span_id: String,
    pub(crate) parent_span_id: Option<String>,
}

/// A request of the trace, in flight or ended, with who knows it.
struct Span<'a> {
    endpoint: &'a str,
    reply: &'a TraceReply,
    request: &'a Request,
    ended: Option<&'a FinishedRequest>,
}

/// The hops of a trace, oldest first, from the `/traces/{id}` answer of each endpoint.
pub(crate) fn hops(replies: &[(&str, &TraceReply)]) -> Vec<Hop> {
    let mut spans = Vec::new();
    for (endpoint, reply) in replies {
        spans.extend(reply.requests.iter().map(|request| Span {
            endpoint,
            reply,
            request,
            ended: None,
        }));
        spans.extend(reply.finished.iter().map(|finished| Span {
            endpoint,
            reply,
            request: &finished.request,
            ended: Some(finished),
        }));
    }
    let listed: Vec<Listed<'_>> = spans
        .iter()
        .map(|span| Listed {
            endpoint: span.endpoint,
            service: &span.reply.origin.service,
            request: span.request,
        })
        .collect();
    let parents = tree::parents(&listed);
    let depths = depths(&parents);
    // (hop, time, ends a request, depth)
    let mut hops: Vec<(Hop, Option<SystemTime>, bool, usize)> = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        let request = span.request;
        let outbound = request.direction == Direction::Outbound;
        let service = &span.reply.origin.service;
        let (from, to) = if outbound {
            (service.clone(), target(&request.uri))
        } else {
            let caller = parents[index].map(|parent| listed[parent].service);
            let route = request.route.clone().unwrap_or_else(|| path(&request.uri));
            (caller.unwrap_or("client").to_owned(), route)
        };
        let hop = |time: &Timestamp, kind: &'static str| Hop {
            time: time.to_string(),
            offset_ms: None,
            endpoint: span.endpoint.to_owned(),
            service: service.clone(),
            host: span.reply.origin.host.clone(),
            kind,
            from: from.clone(),
            to: to.clone(),
            duration_ms: None,
            in_flight: span.ended.is_none(),
            age_ms: None,
            error: None,
            id: request.id,
            span_id: request.span_id.clone(),
            parent_span_id: request.parent_span_id.clone(),
        };
        let depth = depths[index];
        let start = hop(
            &request.started_at,
            if outbound {
                "request sent"
            } else {
                "request received"
            },
        );
        match span.ended {
            None => hops.push((
                Hop {
                    age_ms: Some(request.elapsed_ms),
                    ..start
                },
                parse(&request.started_at),
                false,
                depth,
            )),
            Some(ended) => {
                hops.push((start, parse(&request.started_at), false, depth));
                let end = hop(
                    &ended.ended_at,
                    if outbound {
                        "reply received"
                    } else {
                        "reply sent"
                    },
                );
                hops.push((
                    Hop {
                        duration_ms: Some(ended.duration_ms),
                        error: error(ended),
                        ..end
                    },
                    parse(&ended.ended_at),
                    true,
                    depth,
                ));
            }
        }
    }
    // Times have milliseconds: within one, requests go down the chain and replies up.
    hops.sort_by(|(_, a, a_end, a_depth), (_, b, b_end, b_depth)| {
        let time = match (a, b) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        time.then(a_end.cmp(b_end)).then(if *a_end {
            b_depth.cmp(a_depth)
        } else {
            a_depth.cmp(b_depth)
        })
    });
    let first = hops.first().and_then(|(_, time, _, _)| *time);
    hops.into_iter()
        .map(|(mut hop, time, _, _)| {
            hop.offset_ms = first.zip(time).map(|(first, time)| {
                let offset = time.duration_since(first).unwrap_or(Duration::ZERO);
                offset.as_secs_f64() * 1000.0
            });
            hop
        })
        .collect()
}

fn parse(time: &Timestamp) -> Option<SystemTime> {
    time.to_system_time()
}

/// The path of a URI (an inbound request's URI is usually just that).
fn path(uri: &str) -> String {
    uri.parse::<http::Uri>()
        .map(|uri| uri.path().to_owned())
        .unwrap_or_else(|_| uri.to_owned())
}

fn error(ended: &FinishedRequest) -> Option<String> {
    if ended.ending != Ending::Completed {
        return Some(ended.ending.as_str().replace('_', " "));
    }
    ended
        .request
        .response_status
        .filter(|status| *status >= 500)
        .map(|status| format!("HTTP {status}"))
}

/// The depth of each request in a forest without cycles.
fn depths(parents: &[Option<usize>]) -> Vec<usize> {
    parents
        .iter()
        .map(|parent| {
            let (mut depth, mut current) = (0, *parent);
            // `parents` has no cycle and no chain deeper than the tree's bound.
            while let Some(parent) = current {
                depth += 1;
                current = parents[parent];
                if depth > tree::MAX_DEPTH {
                    break;
                }
            }
            depth
        })
        .collect()
}

#[cfg(test)]
mod tests;

use super::*;
use crate::fixtures::{TRACE, aged, request};

fn reply(service: &str, requests: Vec<Request>, finished: Vec<FinishedRequest>) -> TraceReply {
    let mut reply = TraceReply::default();
    reply.origin.server_time = "2026-11-29T20:00:01.000Z".parse().unwrap();
    reply.origin.pid = 1;
    reply.origin.host = "box".into();
    reply.origin.service = service.into();
    reply.trace_id = TRACE.into();
    reply.requests = requests;
    reply.finished = finished;
    reply.finished_window.capacity = 1024;
    reply.finished_window.max_age_seconds = 60.0;
    reply.finished_window.held = 3;
    reply
}

fn at(mut request: Request, millis: u32) -> Request {
    request.started_at = format!("2026-11-29T20:00:00.{millis:03}Z").parse().unwrap();
    request
}

fn ended(request: Request, millis: u32, ending: &str, status: u16) -> FinishedRequest {
    let started: u32 = request.started_at.to_string()[20..23].parse().unwrap_or(0);
    let mut request = request;
    request.response_status = Some(status);
    let mut finished = FinishedRequest::default();
    finished.request = request;
    finished.ending = serde_json::from_value(ending.into()).unwrap();
    finished.ended_at = format!("2026-11-29T20:00:00.{millis:03}Z").parse().unwrap();
    finished.duration_ms = f64::from(millis - started);
    finished
}

/// Finished requests that completed come compact, without their `parent` id: the edge's
/// call is joined to its request by span.
#[test]
fn hops_of_a_chain_oldest_first_with_errors_and_spans_in_flight() {
    let mut route = at(request(1, "inbound", 0xa, None), 0);
    route.route = Some("/fetch/{n}".into());
    let edge = reply(
        "edge",
        vec![],
        vec![
            ended(route, 120, "completed", 200),
            ended(
                at(aged(request(2, "outbound", 0xb, Some(0xa)), 0.0, None), 0),
                119,
                "completed",
                503,
            ),
        ],
    );
    let api = reply(
        "api",
        vec![at(
            aged(request(7, "outbound", 0xf, Some(0xc)), 950.0, Some(5)),
            50,
        )],
        vec![ended(
            at(request(5, "inbound", 0xc, Some(0xb)), 2),
            118,
            "completed",
            503,
        )],
    );
    let store = reply(
        "store",
        vec![],
        vec![ended(
            at(request(9, "inbound", 0xe, Some(0xd)), 3),
            110,
            "terminated",
            503,
        )],
    );
    let hops = hops(&[("edge:1", &edge), ("api:2", &api), ("store:3", &store)]);
    let seen: Vec<(&str, &str, &str, &str, Option<&str>)> = hops
        .iter()
        .map(|hop| {
            (
                hop.service.as_str(),
                hop.kind,
                hop.from.as_str(),
                hop.to.as_str(),
                hop.error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("edge", "request received", "client", "/fetch/{n}", None),
            ("edge", "request sent", "edge", "store:3002", None),
            ("api", "request received", "edge", "/fetch/1", None),
            // Its caller (span 0xd) is not among the endpoints.
            ("store", "request received", "client", "/fetch/1", None),
            ("api", "request sent", "api", "store:3002", None),
            (
                "store",
                "reply sent",
                "client",
                "/fetch/1",
                Some("terminated")
            ),
            ("api", "reply sent", "edge", "/fetch/1", Some("HTTP 503")),
            (
                "edge",
                "reply received",
                "edge",
                "store:3002",
                Some("HTTP 503")
            ),
            ("edge", "reply sent", "client", "/fetch/{n}", None),
        ]
    );
    let in_flight: Vec<&Hop> = hops.iter().filter(|hop| hop.in_flight).collect();
    assert_eq!(in_flight.len(), 1);
    assert_eq!((in_flight[0].id, in_flight[0].age_ms), (7, Some(950.0)));
    assert_eq!(hops[0].offset_ms, Some(0.0));
    assert_eq!(hops.last().and_then(|hop| hop.offset_ms), Some(120.0));
    assert_eq!(hops.last().and_then(|hop| hop.duration_ms), Some(120.0));
}

/// A time that is not RFC 3339 is a broken answer: reading it fails, naming the time,
/// rather than placing a hop nowhere.
#[test]
fn unreadable_times_are_an_error_and_nothing_is_no_hops() {
    let mut edge = serde_json::to_value(reply(
        "edge",
        vec![request(1, "inbound", 0xa, None)],
        vec![],
    ))
    .unwrap();
    edge["requests"][0]["started_at"] = "yesterday".into();
    let error = serde_json::from_value::<TraceReply>(edge).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("\"yesterday\" is not an RFC 3339 time"),
        "{error}"
    );
    assert!(super::hops(&[]).is_empty());
}

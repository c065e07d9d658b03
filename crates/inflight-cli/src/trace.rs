//! `inflight trace ID` and `inflight kill --trace ID`: one trace across every endpoint.

mod kill;
mod timeline;

pub(crate) use kill::kill_trace;

use inflight_wire::TraceId;
use inflight_wire::TraceReply;
use serde::Serialize;

use crate::Failure;
use crate::client::Api;
use crate::commands::{LsError, all_answered, fetch_each};
use crate::endpoints::Endpoint;
use crate::render::{TextTable, ms};
use timeline::Hop;

#[derive(Serialize)]
struct TraceJson<'a> {
    trace_id: String,
    hops: Vec<Hop>,
    errors: Vec<LsError<'a>>,
}

/// `15:04:05.123` of an RFC 3339 time; the time as it is when it is not one.
fn clock(time: &str) -> &str {
    time.get(11..23)
        .filter(|_| time.as_bytes().get(10) == Some(&b'T'))
        .unwrap_or(time)
}

/// A duration for the timeline: milliseconds under a second (`80.46ms`), where hops
/// within one service are apart; `1m34.00s` above.
fn fine(milliseconds: f64) -> String {
    if milliseconds < 1000.0 {
        format!("{:.2}ms", milliseconds.max(0.0))
    } else {
        ms(milliseconds)
    }
}

fn render(hops: &[Hop]) -> String {
    let mut table = TextTable::new(
        &[
            "TIME",
            "+",
            "SERVICE@HOST",
            "KIND",
            "FROM -> TO",
            "DURATION",
            "ERROR",
        ],
        &[1],
    );
    for hop in hops {
        table.row(vec![
            clock(&hop.time).to_owned(),
            hop.offset_ms.map(fine).unwrap_or_default(),
            format!("{}@{}", hop.service, hop.host),
            hop.kind.to_owned(),
            format!("{} -> {}", hop.from, hop.to),
            match (hop.duration_ms, hop.age_ms) {
                (Some(duration), _) => fine(duration),
                (None, Some(age)) => format!("in flight for {}", ms(age)),
                (None, None) => String::new(),
            },
            hop.error.clone().unwrap_or_default(),
        ]);
    }
    table.render()
}

/// Prints the hops of `trace` from every endpoint. A trace no endpoint knows is an empty
/// answer (exit 0); an endpoint that fails makes the run fail (exit 1) after the others
/// are printed.
pub(crate) async fn trace(
    api: &Api,
    endpoints: &[Endpoint],
    trace: TraceId,
    json: bool,
) -> Result<(), Failure> {
    let answers: Vec<(Endpoint, Result<TraceReply, String>)> =
        fetch_each(api, endpoints, &format!("/traces/{trace}")).await;
    let mut replies = Vec::new();
    let mut errors = Vec::new();
    for (endpoint, answer) in &answers {
        match answer {
            Ok(reply) => replies.push((endpoint.name.as_str(), reply)),
            Err(error) => errors.push(LsError {
                endpoint: &endpoint.name,
                error,
            }),
        }
    }
    let hops = timeline::hops(&replies);
    let failed = errors.len();
    if json {
        let out = TraceJson {
            trace_id: trace.to_string(),
            hops,
            errors,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        if hops.is_empty() && replies.len() == endpoints.len() {
            outln!(
                "no endpoint knows trace {trace}: nothing of it in flight, nor among the requests that ended recently"
            );
        } else if hops.is_empty() && !replies.is_empty() {
            outln!(
                "none of the {} endpoints that answered knows trace {trace}",
                replies.len()
            );
        } else if !hops.is_empty() {
            let at: std::collections::BTreeSet<&str> =
                hops.iter().map(|hop| hop.endpoint.as_str()).collect();
            outln!(
                "trace {trace}: {} hops at {} of {} endpoints",
                hops.len(),
                at.len(),
                endpoints.len()
            );
            out!("{}", render(&hops));
        }
        for error in &errors {
            eprintln!("inflight: {}", error.error);
        }
    }
    all_answered(failed, endpoints.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        assert_eq!(clock("2026-11-29T20:31:04.123Z"), "20:31:04.123");
        assert_eq!(clock("soon"), "soon");
        assert_eq!(
            clock("2026-11-29 20:31:04.123Z"),
            "2026-11-29 20:31:04.123Z"
        );
    }
}

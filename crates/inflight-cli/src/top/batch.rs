//! `inflight top --batch`: no screen, one line per refresh saying how many endpoints
//! answered in time, then one line per endpoint that did not, for logs and for measuring
//! how large a fleet one `top` keeps fresh.
//!
//! ```text
//! refresh 3: 200 endpoints, 199 answered (slowest 41ms), 1 failing; 1400 requests
//!   127.0.0.1:9301 ✗ no answer for 2.00s
//! ```

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use inflight_wire::Elapsed;

use super::Update;
use crate::endpoints::Endpoint;

/// What one endpoint did during the current refresh.
#[derive(Default)]
struct Seen {
    /// Its requests, when it answered with a list this refresh.
    answered: Option<usize>,
    /// Why it failed: the error it answered with, or the poll it left unanswered.
    failing: Option<String>,
    /// When its unanswered poll was sent.
    asked: Option<Instant>,
}

pub(super) fn run(
    mut endpoints: Vec<Endpoint>,
    refresh: Duration,
    iterations: Option<u64>,
    updates: &Receiver<Update>,
) -> Result<(), String> {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut slowest = Duration::ZERO;
    let mut started: Option<Instant> = None;
    let mut printed = 0;
    while let Ok(update) = updates.recv() {
        match update {
            Update::Round(at) => {
                if started.is_some() {
                    printed += 1;
                    report(printed, &endpoints, &seen, slowest, refresh, at);
                    if iterations.is_some_and(|n| printed >= n) {
                        return Ok(());
                    }
                }
                started = Some(at);
                slowest = Duration::ZERO;
                // The polls still unanswered from before come next, as `Late`.
                seen.clear();
            }
            Update::Answer {
                endpoint,
                result,
                asked,
                at,
            } => {
                slowest = slowest.max(at.saturating_duration_since(asked));
                let seen = seen.entry(endpoint.base).or_default();
                seen.asked = None;
                match result {
                    Ok(list) => seen.answered = Some(list.requests.len()),
                    Err(error) => seen.failing = Some(error),
                }
            }
            Update::Late(late) => {
                for (endpoint, since) in late {
                    seen.entry(endpoint.base).or_default().asked = Some(since);
                }
            }
            Update::Endpoints(now) => endpoints = now,
            Update::Notice(text) => eprintln!("inflight: {text}"),
            Update::History(..) => {}
        }
    }
    Ok(())
}

fn report(
    number: u64,
    endpoints: &[Endpoint],
    seen: &HashMap<String, Seen>,
    slowest: Duration,
    refresh: Duration,
    now: Instant,
) {
    let mut answered = 0;
    let mut requests = 0;
    let mut failing = Vec::new();
    for endpoint in endpoints {
        let this = seen.get(&endpoint.base);
        match this.and_then(|seen| seen.answered) {
            Some(count) => {
                answered += 1;
                requests += count;
            }
            None => {
                let reason = match this {
                    Some(Seen {
                        failing: Some(error),
                        ..
                    }) => error
                        .strip_prefix(&format!("{endpoint}: "))
                        .unwrap_or(error)
                        .to_owned(),
                    Some(Seen {
                        asked: Some(since), ..
                    }) => format!(
                        "no answer for {}",
                        Elapsed(now.saturating_duration_since(*since))
                    ),
                    _ => format!("no answer within {}", Elapsed(refresh)),
                };
                failing.push(format!("  {endpoint} ✗ {reason}"));
            }
        }
    }
    outln!(
        "refresh {number}: {} endpoints, {answered} answered (slowest {}), {} failing; {requests} requests",
        endpoints.len(),
        Elapsed(slowest),
        failing.len(),
    );
    for line in failing {
        outln!("{line}");
    }
}

//! Polling the endpoints for `top`: every refresh, each endpoint that is not still busy
//! with an earlier poll is asked, and its answer goes to the screen the moment it comes.
//!
//! Nothing waits for the slowest endpoint: a refresh starts on time whether or not the
//! last one finished, an endpoint still busy is not asked twice (its poll runs on to the
//! time limit) and is reported late, and the bound on calls in flight lives in [`Api`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use inflight_wire::RequestList;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{Interval, MissedTickBehavior};

use super::Update;
use crate::Failure;
use crate::client::Api;
use crate::endpoints::{Endpoint, Sources};

/// Polls until the screen goes away (a send fails).
pub(super) async fn run(
    api: Api,
    mut endpoints: Vec<Endpoint>,
    refresh: Duration,
    rediscover: Option<(Sources, Duration)>,
    updates: Sender<Update>,
    poll_now: Arc<Notify>,
) {
    // The base URL of each endpoint with a poll in flight, and when it was sent.
    let mut busy: HashMap<String, Instant> = HashMap::new();
    let mut polls: JoinSet<String> = JoinSet::new();
    let mut ticks = interval(refresh, false);
    let mut discovery = rediscover.map(|(sources, every)| (sources, interval(every, true)));
    let (found_tx, mut found) = tokio::sync::mpsc::channel(1);
    let mut discovering = false;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = poll_now.notified() => ticks.reset(),
            Some(done) = polls.join_next() => {
                if let Ok(base) = done {
                    busy.remove(&base);
                }
                continue;
            }
            _ = tick(discovery.as_mut().map(|(_, every)| every)), if !discovering => {
                if let Some((sources, _)) = &discovery {
                    discovering = true;
                    let (api, sources, found_tx) = (api.clone(), sources.clone(), found_tx.clone());
                    tokio::spawn(async move {
                        let _ = found_tx.send(sources.resolve(&api).await).await;
                    });
                }
                continue;
            }
            Some(result) = found.recv() => {
                discovering = false;
                let update = match result {
                    Ok(now) => {
                        let notice = changes(&endpoints, &now);
                        endpoints = now;
                        if updates.send(Update::Endpoints(endpoints.clone())).is_err() {
                            return;
                        }
                        notice
                    }
                    Err(Failure::Usage(error) | Failure::Failed(error)) => Some(format!(
                        "cannot discover the endpoints again, keeping {}: {error}",
                        endpoints.len()
                    )),
                };
                if let Some(notice) = update
                    && updates.send(Update::Notice(notice)).is_err()
                {
                    return;
                }
                continue;
            }
        }
        let now = Instant::now();
        if updates.send(Update::Round(now)).is_err() {
            return;
        }
        let late: Vec<(Endpoint, Instant)> = endpoints
            .iter()
            .filter_map(|endpoint| Some((endpoint.clone(), *busy.get(&endpoint.base)?)))
            .collect();
        if !late.is_empty() && updates.send(Update::Late(late)).is_err() {
            return;
        }
        for endpoint in &endpoints {
            if busy.contains_key(&endpoint.base) {
                continue;
            }
            busy.insert(endpoint.base.clone(), now);
            let (api, endpoint, updates) = (api.clone(), endpoint.clone(), updates.clone());
            polls.spawn(async move {
                let result = api.get::<RequestList>(&endpoint, "/requests").await;
                let base = endpoint.base.clone();
                // A screen that went away is noticed at the next refresh.
                let _ = updates.send(Update::Answer {
                    endpoint,
                    result,
                    asked: now,
                    at: Instant::now(),
                });
                base
            });
        }
    }
}

/// An interval that does not try to catch up after a stall; the first tick comes at
/// once, or after one period when `later`.
fn interval(period: Duration, later: bool) -> Interval {
    let period = period.max(Duration::from_millis(10));
    let start = tokio::time::Instant::now() + if later { period } else { Duration::ZERO };
    let mut interval = tokio::time::interval_at(start, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// The next tick, or never.
async fn tick(interval: Option<&mut Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What a new discovery changed, to say so.
fn changes(before: &[Endpoint], now: &[Endpoint]) -> Option<String> {
    let new = now
        .iter()
        .filter(|e| !before.iter().any(|b| b.base == e.base))
        .count();
    let gone = before
        .iter()
        .filter(|b| !now.iter().any(|e| e.base == b.base))
        .count();
    match (new, gone) {
        (0, 0) => None,
        (new, 0) => Some(format!("{new} new endpoints found")),
        (0, gone) => Some(format!("{gone} endpoints gone")),
        (new, gone) => Some(format!("{new} new endpoints found, {gone} gone")),
    }
}
